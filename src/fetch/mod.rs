//! The fetch stage: one HTTP GET of one feed, one article page or one host's robots.txt.
//!
//! Takes a URL and the validators stored from its last answer (ETag, Last-Modified) and gives
//! either `Fetched::NotModified` or the body with its new validators and the URL that
//! answered (after redirects). Pages are asked for as HTML, with their own body limit; whether
//! robots.txt lets storywatch fetch a page is [`robots`]'s to say, from [`Fetcher::robots`],
//! kept per host for an hour by a [`RobotsCache`]. It bounds every
//! request: a connect timeout, a total timeout that also covers reading the body (reqwest has
//! none by default, and a read timeout does not stop a server that drips a byte at a time), at
//! most 5 redirects and only to http(s) URLs (a feed redirected to `ftp:` or `file:` is an
//! error that says so), and a body limit enforced while streaming the *decompressed* body, so a
//! small gzip or brotli bomb is abandoned after `max_body` bytes instead of inflating in
//! memory. A body that is gzip without saying so (no `Content-Encoding`: a `.xml.gz` file, or
//! a server that compressed twice) is inflated under the same limit, as feedparser does. It
//! hands the parser the raw bytes and the `charset` the server declared; it does not
//! decode text, parse, schedule or retry: a failure is returned, and the scheduler decides when
//! to come back.

pub mod robots;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{self, HeaderMap};
use reqwest::{StatusCode, redirect};
use url::Url;

/// The User-Agent sent when the config sets none. Some publishers (TASS among them) reject the
/// defaults of HTTP libraries, and a clear name lets webmasters know who polls them.
pub const DEFAULT_USER_AGENT: &str = concat!(
    "storywatch/",
    env!("CARGO_PKG_VERSION"),
    " (news feed monitor; polite conditional GET)"
);

/// How many redirects one request follows.
const MAX_REDIRECTS: usize = 5;

/// The longest a robots.txt may take to arrive: a host too slow for it is asked again later.
pub const ROBOTS_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest `Retry-After` honoured: a server asking for more is polled again after a day.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// Errors of the fetch stage. Each names the feed URL it happened to.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot build the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    #[error("{url}: timed out after {}s", after.as_secs())]
    Timeout { url: String, after: Duration },
    #[error("{url}: cannot connect: {reason}")]
    Connect { url: String, reason: String },
    /// A redirect not followed: too many hops, or to a place that is not http(s).
    #[error("{url}: {reason}")]
    Redirect { url: String, reason: String },
    #[error("{url}: HTTP {status}")]
    Status {
        url: String,
        status: u16,
        /// The server's `Retry-After`, when it sent one with a 429 or 503.
        retry_after: Option<Duration>,
    },
    #[error("{url}: response body exceeds {} ({key})", crate::config::format_size(*limit))]
    TooLarge {
        url: String,
        limit: u64,
        /// The setting that sets the limit (`poll.max_body`, `pages.max_body`).
        key: &'static str,
    },
    #[error("{url}: {reason}")]
    Request { url: String, reason: String },
}

impl Error {
    /// The HTTP status, when the server answered with an error status.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// How long the server asked us to wait, if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// Validators from the previous answer, sent back for a conditional GET (RFC 9110 §13.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// What one fetch gave.
#[derive(Debug, Clone, PartialEq)]
pub enum Fetched {
    /// `304 Not Modified`: nothing to parse.
    NotModified,
    /// A 2xx answer with its (decompressed) body.
    Body {
        status: u16,
        /// The URL that answered, after redirects.
        url: Url,
        body: Vec<u8>,
        /// The `charset` parameter of the `Content-Type` header, when the server sent one.
        charset: Option<String>,
        validators: Validators,
    },
}

/// Limits of every fetch.
#[derive(Debug, Clone)]
pub struct Limits {
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub max_body: u64,
    pub user_agent: String,
}

/// The feed fetcher: one HTTP client shared by every feed (connection pooling per host).
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    limits: Limits,
}

impl Fetcher {
    pub fn new(limits: Limits) -> Result<Fetcher, Error> {
        install_crypto_provider();
        let client = reqwest::Client::builder()
            .user_agent(limits.user_agent.clone())
            .connect_timeout(limits.connect_timeout)
            .timeout(limits.timeout)
            .redirect(redirect::Policy::custom(follow_redirect))
            .build()
            .map_err(Error::Client)?;
        Ok(Fetcher { client, limits })
    }

    /// GETs a feed, conditionally when `validators` has anything.
    pub async fn fetch_feed(&self, url: &Url, validators: &Validators) -> Result<Fetched, Error> {
        self.fetch(
            url,
            validators,
            Want::Feed,
            self.limits.max_body,
            self.limits.timeout,
        )
        .await
    }

    /// GETs an article page, conditionally when `validators` has anything, with its own body
    /// limit and timeout (`[pages]`). Whether robots.txt allows it is the caller's to ask first
    /// ([`Fetcher::robots`]).
    pub async fn fetch_page(
        &self,
        url: &Url,
        validators: &Validators,
        max_body: u64,
        timeout: Duration,
    ) -> Result<Fetched, Error> {
        self.fetch(url, validators, Want::Page, max_body, timeout)
            .await
    }

    /// What the host of `url` allows storywatch (its product token, the User-Agent's first
    /// word) to fetch, from its `/robots.txt` (RFC 9309 §2.3.1: a 4xx allows everything; a 5xx,
    /// a timeout or no answer allows nothing, until it is asked again). It gets at most
    /// [`ROBOTS_TIMEOUT`] (or the fetch timeout, if shorter).
    pub async fn robots(&self, url: &Url) -> robots::Robots {
        let mut robots_url = url.clone();
        robots_url.set_path("/robots.txt");
        robots_url.set_query(None);
        robots_url.set_fragment(None);
        let fetched = self
            .fetch(
                &robots_url,
                &Validators::default(),
                Want::Robots,
                robots::MAX_ROBOTS_LEN as u64,
                ROBOTS_TIMEOUT.min(self.limits.timeout),
            )
            .await;
        match fetched {
            Ok(Fetched::Body { body, .. }) => {
                robots::Robots::parse(&String::from_utf8_lossy(&body), &self.product_token())
            }
            Ok(Fetched::NotModified) => robots::Robots::allow_all(),
            // A robots.txt longer than the limit is read as far as the limit (RFC 9309 §2.5);
            // refused whole here, it allows everything rather than nothing.
            Err(Error::TooLarge { .. }) => robots::Robots::allow_all(),
            Err(Error::Status { status, .. }) if (400..500).contains(&status) => {
                robots::Robots::allow_all()
            }
            Err(_) => robots::Robots::disallow_all(),
        }
    }

    /// The product token robots.txt groups name: the User-Agent up to its first `/` or space.
    pub fn product_token(&self) -> String {
        self.limits
            .user_agent
            .split(['/', ' '])
            .next()
            .unwrap_or("storywatch")
            .to_owned()
    }

    async fn fetch(
        &self,
        url: &Url,
        validators: &Validators,
        want: Want,
        max_body: u64,
        limit: Duration,
    ) -> Result<Fetched, Error> {
        // reqwest's own timeout covers the body too; this outer one is the guarantee that no
        // await in here outlives the limit, whatever the server does.
        let fetched = self.fetch_inner(url, validators, want, max_body, limit);
        match tokio::time::timeout(limit, fetched).await {
            Ok(result) => result,
            Err(_) => Err(Error::Timeout {
                url: url.to_string(),
                after: limit,
            }),
        }
    }

    async fn fetch_inner(
        &self,
        url: &Url,
        validators: &Validators,
        want: Want,
        max_body: u64,
        limit: Duration,
    ) -> Result<Fetched, Error> {
        let mut request = self
            .client
            .get(url.clone())
            .timeout(limit)
            .header(header::ACCEPT, want.accept());
        if let Some(etag) = &validators.etag {
            request = request.header(header::IF_NONE_MATCH, etag);
        }
        if let Some(modified) = &validators.last_modified {
            request = request.header(header::IF_MODIFIED_SINCE, modified);
        }
        let mut response = request.send().await.map_err(|e| self.classify(url, e))?;
        let status = response.status();
        if status == StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified);
        }
        if status.is_redirection() {
            // reqwest hands back a redirect it cannot follow (a `file:` Location is not even
            // an HTTP URI to it) instead of calling the policy; say why.
            if let Some(reason) = refused_location(&response) {
                return Err(Error::Redirect {
                    url: url.to_string(),
                    reason: reason.to_string(),
                });
            }
        }
        if !status.is_success() {
            let retry_after = match status {
                StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => {
                    retry_after(response.headers(), Utc::now())
                }
                _ => None,
            };
            return Err(Error::Status {
                url: url.to_string(),
                status: status.as_u16(),
                retry_after,
            });
        }
        let validators = Validators {
            etag: header_text(response.headers(), header::ETAG),
            last_modified: header_text(response.headers(), header::LAST_MODIFIED),
        };
        let charset = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(charset_param);
        let max = max_body;
        let answered = response.url().clone();
        // A declared length over the limit is refused before reading anything. With
        // compression the length is that of the compressed body, so the stream is checked too.
        if response.content_length().is_some_and(|n| n > max) {
            return Err(Error::TooLarge {
                url: url.to_string(),
                limit: max,
                key: want.limit_key(),
            });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.classify(url, e))? {
            if body.len() as u64 + chunk.len() as u64 > max {
                return Err(Error::TooLarge {
                    url: url.to_string(),
                    limit: max,
                    key: want.limit_key(),
                });
            }
            body.extend_from_slice(&chunk);
        }
        let body = inflate_undeclared_gzip(body, max).map_err(|reason| match reason {
            Inflate::TooLarge => Error::TooLarge {
                url: url.to_string(),
                limit: max,
                key: want.limit_key(),
            },
            Inflate::Corrupt(reason) => Error::Request {
                url: url.to_string(),
                reason: format!("the body is gzip that does not inflate: {reason}"),
            },
        })?;
        Ok(Fetched::Body {
            status: status.as_u16(),
            url: answered,
            body,
            charset,
            validators,
        })
    }

    fn classify(&self, url: &Url, error: reqwest::Error) -> Error {
        let url = url.to_string();
        if error.is_timeout() {
            Error::Timeout {
                url,
                after: self.limits.timeout,
            }
        } else if error.is_redirect() {
            let refused = std::iter::successors(std::error::Error::source(&error), |e| e.source())
                .find_map(|e| e.downcast_ref::<RedirectRefused>());
            Error::Redirect {
                url,
                reason: refused.map_or_else(|| error_chain(&error), ToString::to_string),
            }
        } else if error.is_connect() {
            Error::Connect {
                url,
                reason: error_chain(&error),
            }
        } else {
            Error::Request {
                url,
                reason: error_chain(&error),
            }
        }
    }
}

/// How long a host's robots.txt is trusted before it is asked for again.
pub const ROBOTS_TTL: Duration = Duration::from_secs(3600);

/// Each host's robots.txt, fetched once per [`ROBOTS_TTL`] and shared by every page of the
/// host: tasks asking for a host being fetched wait for that one fetch.
#[derive(Debug, Default)]
pub struct RobotsCache {
    hosts: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<CachedRobots>>>>>,
}

#[derive(Debug)]
struct CachedRobots {
    at: std::time::Instant,
    robots: robots::Robots,
}

impl RobotsCache {
    /// Whether the host of `url` lets `fetcher` fetch it.
    pub async fn allows(&self, fetcher: &Fetcher, url: &Url) -> bool {
        let origin = url.origin().ascii_serialization();
        let slot = {
            let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(hosts.entry(origin).or_default())
        };
        let mut cached = slot.lock().await;
        if let Some(hit) = cached.as_ref().filter(|c| c.at.elapsed() < ROBOTS_TTL) {
            return hit.robots.allows_url(url);
        }
        let robots = fetcher.robots(url).await;
        let allowed = robots.allows_url(url);
        *cached = Some(CachedRobots {
            at: std::time::Instant::now(),
            robots,
        });
        allowed
    }
}

/// What a fetch is for, which is what it asks the server for.
#[derive(Debug, Clone, Copy)]
enum Want {
    Feed,
    Page,
    Robots,
}

impl Want {
    fn accept(self) -> &'static str {
        match self {
            Want::Feed => {
                "application/rss+xml, application/atom+xml, application/feed+json, \
                 application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5"
            }
            Want::Page => "text/html, application/xhtml+xml;q=0.9, */*;q=0.5",
            Want::Robots => "text/plain, */*;q=0.5",
        }
    }

    /// The setting whose limit a body over it exceeds.
    fn limit_key(self) -> &'static str {
        match self {
            Want::Feed => "poll.max_body",
            Want::Page => "pages.max_body",
            Want::Robots => "the robots.txt limit",
        }
    }
}

/// Why a gzip body could not be inflated.
#[derive(Debug, PartialEq)]
enum Inflate {
    TooLarge,
    Corrupt(String),
}

/// The body inflated when it starts with the gzip magic number (RFC 1952 §2.3.1), which no
/// feed, XML or JSON, can start with; any other body as it is. At most `max` bytes inflated.
fn inflate_undeclared_gzip(body: Vec<u8>, max: u64) -> Result<Vec<u8>, Inflate> {
    use std::io::Read as _;
    if !body.starts_with(&[0x1f, 0x8b]) {
        return Ok(body);
    }
    let mut inflated = Vec::new();
    flate2::read::MultiGzDecoder::new(body.as_slice())
        .take(max.saturating_add(1))
        .read_to_end(&mut inflated)
        .map_err(|e| Inflate::Corrupt(e.to_string()))?;
    if inflated.len() as u64 > max {
        return Err(Inflate::TooLarge);
    }
    Ok(inflated)
}

/// Why a redirect was not followed; reqwest puts it under its "error following redirect".
#[derive(Debug, thiserror::Error)]
enum RedirectRefused {
    #[error("more than {MAX_REDIRECTS} redirects (the last to {0})")]
    TooMany(String),
    /// A feed has no business on another scheme, and `file:` would read the local disk.
    #[error("redirect to non-http URL {0}")]
    NotHttp(String),
}

/// The redirect policy: at most [`MAX_REDIRECTS`] hops, each to an http or https URL.
fn follow_redirect(attempt: redirect::Attempt<'_>) -> redirect::Action {
    // `previous` starts with the URL first asked for, which is not a redirect.
    if attempt.previous().len() > MAX_REDIRECTS {
        let next = attempt.url().to_string();
        return attempt.error(RedirectRefused::TooMany(next));
    }
    match attempt.url().scheme() {
        "http" | "https" => attempt.follow(),
        _ => {
            let next = attempt.url().to_string();
            attempt.error(RedirectRefused::NotHttp(next))
        }
    }
}

/// Why the `Location` of a redirect that reqwest did not follow is refused, when it names a
/// non-http(s) URL.
fn refused_location(response: &reqwest::Response) -> Option<RedirectRefused> {
    let location = header_text(response.headers(), header::LOCATION)?;
    let next = response.url().join(&location).ok()?;
    match next.scheme() {
        "http" | "https" => None,
        _ => Some(RedirectRefused::NotHttp(next.to_string())),
    }
}

/// The `charset` parameter of a `Content-Type` value (RFC 9110 §8.3), unquoted.
fn charset_param(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"').to_owned())
            .filter(|v| !v.is_empty())
    })
}

/// Makes ring the process's TLS crypto provider: reqwest is built without one (see
/// Cargo.toml). A second call, or a provider installed earlier, leaves it in place.
pub(crate) fn install_crypto_provider() {
    // Err means a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The error and its causes on one line: reqwest's top-level message alone ("error sending
/// request") does not say what went wrong.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
        source = cause_source(source);
    }
    text
}

fn cause_source<'a>(
    current: Option<&'a (dyn std::error::Error + 'static)>,
) -> Option<&'a (dyn std::error::Error + 'static)> {
    current.and_then(|c| c.source())
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// `Retry-After` as delay-seconds or an HTTP-date (RFC 9110 §10.2.3), capped at a day.
pub(crate) fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let value = header_text(headers, header::RETRY_AFTER)?;
    let delay = if let Ok(seconds) = value.parse::<u64>() {
        Duration::from_secs(seconds)
    } else {
        let at = DateTime::parse_from_rfc2822(&value)
            .ok()?
            .with_timezone(&Utc);
        (at - now).to_std().unwrap_or(Duration::ZERO)
    };
    Some(delay.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn charset_is_read_from_the_content_type() {
        let cases = [
            (
                "plain",
                "text/xml; charset=windows-1251",
                Some("windows-1251"),
            ),
            ("quoted", "text/xml;charset=\"KOI8-R\"", Some("KOI8-R")),
            ("upper_name", "text/xml; Charset=EUC-KR", Some("EUC-KR")),
            (
                "other_params",
                "text/xml; q=1; charset=utf-8",
                Some("utf-8"),
            ),
            ("none", "application/rss+xml", None),
            ("empty", "text/xml; charset=", None),
        ];
        for (name, value, expected) in cases {
            assert_eq!(charset_param(value).as_deref(), expected, "{name}");
        }
    }

    #[test]
    fn gzip_without_content_encoding_is_inflated_under_the_limit() {
        use std::io::Write as _;
        let gzip = |data: &[u8]| {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            encoder.write_all(data).expect("gzip");
            encoder.finish().expect("gzip")
        };
        let feed = b"<rss version=\"2.0\"><channel><title>t</title></channel></rss>".to_vec();
        type Case = (&'static str, Vec<u8>, u64, Result<Vec<u8>, Inflate>);
        let cases: [Case; 4] = [
            ("plain_body_untouched", feed.clone(), 1024, Ok(feed.clone())),
            ("gzip_inflated", gzip(&feed), 1024, Ok(feed.clone())),
            (
                "bomb_refused",
                gzip(&vec![b' '; 1 << 20]),
                1024,
                Err(Inflate::TooLarge),
            ),
            (
                "corrupt",
                vec![0x1f, 0x8b, 0, 0, 1, 2],
                1024,
                Err(Inflate::Corrupt(String::new())),
            ),
        ];
        for (name, body, max, expected) in cases {
            let got = inflate_undeclared_gzip(body, max);
            match (&got, &expected) {
                (Err(Inflate::Corrupt(_)), Err(Inflate::Corrupt(_))) => {}
                _ => assert_eq!(got, expected, "{name}"),
            }
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = DateTime::parse_from_rfc3339("2026-11-28T04:00:00Z")
            .expect("valid")
            .with_timezone(&Utc);
        let cases = [
            ("delay_seconds", "120", Some(Duration::from_secs(120))),
            (
                "http_date",
                "Sat, 28 Nov 2026 04:10:00 GMT",
                Some(Duration::from_secs(600)),
            ),
            (
                "date_in_the_past",
                "Sat, 28 Nov 2026 03:00:00 GMT",
                Some(Duration::ZERO),
            ),
            ("capped_at_a_day", "999999", Some(MAX_RETRY_AFTER)),
            ("garbage", "soon", None),
        ];
        for (name, value, expected) in cases {
            let mut headers = HeaderMap::new();
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static(value));
            assert_eq!(retry_after(&headers, now), expected, "{name}");
        }
    }
}
