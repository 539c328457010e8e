//! A real HTTP/1.1 server on 127.0.0.1 (port 0) for the tests: serves feed files per path,
//! honours ETag/Last-Modified validators like a well-behaved publisher, records every request,
//! and can misbehave on purpose (errors, endless or dripping bodies, compression bombs, resets
//! mid-body). [`NotTls`] is a port that answers a TLS ClientHello with garbage.

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the server answers on one path.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A feed: 200 with the body, its ETag and Last-Modified; 304 when the request's
    /// validators match.
    Feed { body: Vec<u8>, content_type: String },
    /// A fixed status and body.
    Status { status: u16, body: Vec<u8> },
    /// A feed answered after a delay, counting how many such requests are in flight at once.
    Slow { body: Vec<u8>, delay: Duration },
    /// A webhook receiver: answers the given statuses in turn, then 200 for good.
    Hook { statuses: Vec<u16> },
    /// A redirect to `location`.
    Redirect { status: u16, location: String },
    /// Accepts the request and never answers.
    Hang,
    /// `503 Service Unavailable` with `Retry-After: seconds`.
    Busy { retry_after: u64 },
    /// 200 with a gzip-compressed body (`Content-Encoding: gzip`).
    Gzip { compressed: Vec<u8> },
    /// 200 with headers, then a body that never ends (a byte a second).
    Drip,
    /// A fixed status, headers and body bytes, as given (Content-Length is added).
    Raw {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// 200 with no Content-Length, then a body that never ends, as fast as it is read.
    Endless,
    /// Headers promising a longer body, `partial` of it, then a TCP reset (RST, not FIN).
    Reset { partial: Vec<u8> },
}

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
    /// When the request was read, and the status it was answered with.
    pub at: std::time::Instant,
    pub status: Option<u16>,
}

#[derive(Default)]
struct State {
    routes: HashMap<String, (Reply, u64)>,
    seen: Vec<Seen>,
    slow_in_flight: usize,
    slow_max_in_flight: usize,
}

/// The running server; stops when dropped.
pub struct Server {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Server {
    pub fn start() -> Server {
        let state = Arc::new(Mutex::new(State::default()));
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let shared = Arc::clone(&state);
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("test runtime");
            runtime.block_on(async move {
                let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
                addr_tx
                    .send(listener.local_addr().expect("addr"))
                    .expect("send addr");
                let accept = async {
                    loop {
                        let Ok((stream, _)) = listener.accept().await else {
                            continue;
                        };
                        tokio::spawn(serve(stream, Arc::clone(&shared)));
                    }
                };
                tokio::select! {
                    _ = accept => {}
                    _ = stop_rx => {}
                }
            });
        });
        let addr = addr_rx.recv().expect("server address");
        Server {
            addr,
            state,
            _stop: stop_tx,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Sets what `path` answers. A feed's version (its ETag) changes with every call.
    pub fn set(&self, path: &str, reply: Reply) {
        let mut state = self.state.lock().expect("state");
        let version = state.routes.get(path).map_or(1, |(_, v)| v + 1);
        state.routes.insert(path.to_owned(), (reply, version));
    }

    pub fn feed(&self, path: &str, body: impl Into<Vec<u8>>) {
        self.set(
            path,
            Reply::Feed {
                body: body.into(),
                content_type: "application/rss+xml; charset=utf-8".into(),
            },
        );
    }

    /// The most `Slow` requests that were in flight at once.
    pub fn max_slow_in_flight(&self) -> usize {
        self.state.lock().expect("state").slow_max_in_flight
    }

    /// Requests seen on `path`.
    pub fn seen(&self, path: &str) -> Vec<Seen> {
        let state = self.state.lock().expect("state");
        state
            .seen
            .iter()
            .filter(|s| s.path == path)
            .cloned()
            .collect()
    }
}

async fn serve(mut stream: TcpStream, state: Arc<Mutex<State>>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let path = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("/")
        .to_owned();
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    let (route, seen_index) = {
        let mut state = state.lock().expect("state");
        let route = state.routes.get(&path).cloned();
        // A receiver's status is decided here, in arrival order.
        let status = match route {
            Some((Reply::Hook { ref statuses }, _)) => {
                let answered = state.seen.iter().filter(|s| s.path == path).count();
                Some(statuses.get(answered).copied().unwrap_or(200))
            }
            _ => None,
        };
        state.seen.push(Seen {
            path: path.clone(),
            headers: headers.clone(),
            body,
            at: std::time::Instant::now(),
            status,
        });
        (route, state.seen.len() - 1)
    };
    let Some((reply, version)) = route else {
        let _ = write_response(&mut stream, 404, &[], b"not found").await;
        return;
    };
    match reply {
        Reply::Feed { body, content_type } => {
            let etag = format!("\"v{version}\"");
            let modified = format!("Sat, 28 Nov 2026 04:{:02}:00 GMT", version % 60);
            if headers.get("if-none-match") == Some(&etag) {
                let _ = write_response(&mut stream, 304, &[("ETag", &etag)], b"").await;
                return;
            }
            let extra = [
                ("Content-Type", content_type.as_str()),
                ("ETag", etag.as_str()),
                ("Last-Modified", modified.as_str()),
            ];
            let _ = write_response(&mut stream, 200, &extra, &body).await;
        }
        Reply::Status { status, body } => {
            let _ = write_response(&mut stream, status, &[], &body).await;
        }
        Reply::Slow { body, delay } => {
            {
                let mut s = state.lock().expect("state");
                s.slow_in_flight += 1;
                s.slow_max_in_flight = s.slow_max_in_flight.max(s.slow_in_flight);
            }
            tokio::time::sleep(delay).await;
            state.lock().expect("state").slow_in_flight -= 1;
            let _ = write_response(
                &mut stream,
                200,
                &[("Content-Type", "application/rss+xml")],
                &body,
            )
            .await;
        }
        Reply::Hook { .. } => {
            let status = state.lock().expect("state").seen[seen_index]
                .status
                .unwrap_or(200);
            let _ = write_response(&mut stream, status, &[], b"ok").await;
        }
        Reply::Redirect { status, location } => {
            let _ = write_response(&mut stream, status, &[("Location", &location)], b"").await;
        }
        Reply::Hang => {
            tokio::time::sleep(Duration::from_secs(600)).await;
        }
        Reply::Busy { retry_after } => {
            let value = retry_after.to_string();
            let _ = write_response(&mut stream, 503, &[("Retry-After", &value)], b"busy").await;
        }
        Reply::Gzip { compressed } => {
            let extra = [
                ("Content-Type", "application/rss+xml"),
                ("Content-Encoding", "gzip"),
            ];
            let _ = write_response(&mut stream, 200, &extra, &compressed).await;
        }
        Reply::Raw {
            status,
            headers,
            body,
        } => {
            let extra: Vec<(&str, &str)> = headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let _ = write_response(&mut stream, status, &extra, &body).await;
        }
        Reply::Endless => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n\
                        Connection: close\r\n\r\n<rss version=\"2.0\"><channel>";
            if stream.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let filler = b"<!-- endless -->".repeat(4096);
            // Ends when the client hangs up.
            while stream.write_all(&filler).await.is_ok() {}
        }
        Reply::Reset { partial } => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n\
                 Content-Length: {}\r\n\r\n",
                partial.len() * 4
            );
            if stream.write_all(head.as_bytes()).await.is_err()
                || stream.write_all(&partial).await.is_err()
                || stream.flush().await.is_err()
            {
                return;
            }
            // Linger 0: closing sends RST instead of FIN, as a crashed proxy does.
            let _ = stream.set_zero_linger();
            drop(stream);
        }
        Reply::Drip => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n\
                        Connection: close\r\n\r\n<rss>";
            if stream.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            for _ in 0..600 {
                tokio::time::sleep(Duration::from_secs(1)).await;
                if stream.write_all(b" ").await.is_err() {
                    return;
                }
            }
        }
    }
}

async fn write_response(
    stream: &mut TcpStream,
    status: u16,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    stream.shutdown().await
}

/// A gzip stream that inflates to `inflated` zero bytes, built by the test (never committed).
pub fn gzip_bomb(inflated: usize) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    let mut left = inflated;
    while left > 0 {
        let n = left.min(zeros.len());
        encoder.write_all(&zeros[..n]).expect("compress");
        left -= n;
    }
    encoder.finish().expect("compress")
}

/// A brotli stream that inflates to `inflated` zero bytes, built by the test (never committed).
pub fn brotli_bomb(inflated: usize) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut encoder = brotli::CompressorWriter::new(&mut out, 1 << 16, 5, 22);
        let zeros = vec![0u8; 1 << 20];
        let mut left = inflated;
        while left > 0 {
            let n = left.min(zeros.len());
            encoder.write_all(&zeros[..n]).expect("compress");
            left -= n;
        }
    }
    out
}

/// A port that speaks no TLS: it reads the ClientHello and answers bytes that are not a TLS
/// record, then closes. Stops when dropped.
pub struct NotTls {
    pub addr: SocketAddr,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl NotTls {
    pub fn start() -> NotTls {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("test runtime");
            runtime.block_on(async move {
                let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
                addr_tx
                    .send(listener.local_addr().expect("addr"))
                    .expect("send addr");
                let accept = async {
                    loop {
                        let Ok((mut stream, _)) = listener.accept().await else {
                            continue;
                        };
                        tokio::spawn(async move {
                            let mut hello = [0u8; 1024];
                            let _ = stream.read(&mut hello).await;
                            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
                            let _ = stream.shutdown().await;
                        });
                    }
                };
                tokio::select! {
                    _ = accept => {}
                    _ = stop_rx => {}
                }
            });
        });
        let addr = addr_rx.recv().expect("not-tls address");
        NotTls {
            addr,
            _stop: stop_tx,
        }
    }
}

/// A loopback port nothing listens on: bound, then released.
pub fn refused_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a port")
        .port()
}
