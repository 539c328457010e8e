//! `storywatch demo`: the whole cycle in one command, with no internet, no config and nothing
//! left behind.
//!
//! It serves the bundled sample feeds of `demo/` (invented North Korea–Russia stories and some
//! off-topic ones) from a small HTTP/1.1 server on 127.0.0.1 inside the process, writes a
//! config and a database into a temporary folder, and drives the real daemon over them: one
//! [`daemon::poll_pass`], an edit of one story on the server (its title and some words of its
//! body), a second pass. It prints the `new` and `changed` alerts as the real alert log got
//! them, and the word diff between the two stored revisions; then it stops the server and
//! removes the folder.
//!
//! What it deliberately does not do: read any config or touch the default database, contact
//! anything but its own loopback server, or keep going when the edit is not caught (that is
//! an error, so a broken pipeline cannot pass for a working demo).

use std::collections::HashMap;
use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use url::Url;

use crate::config;
use crate::daemon::{self, Context, PassSummary};
use crate::diff::{self, RESET};
use crate::model::ArticleId;
use crate::store;

/// One bundled sample feed.
struct SampleFeed {
    name: &'static str,
    path: &'static str,
    format: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const FEEDS: [SampleFeed; 2] = [
    SampleFeed {
        name: "Sample Korea Desk",
        path: "/korea-desk.xml",
        format: "RSS 2.0",
        content_type: "application/rss+xml; charset=utf-8",
        body: include_str!("../demo/korea-desk.xml"),
    },
    SampleFeed {
        name: "Sample Eurasia Wire",
        path: "/eurasia-wire.xml",
        format: "Atom",
        content_type: "application/atom+xml; charset=utf-8",
        body: include_str!("../demo/eurasia-wire.xml"),
    },
];

/// The feed whose story the publisher edits between the two polls.
const EDITED_FEED: &str = "/korea-desk.xml";

/// A silent edit of one story: its headline and one sentence of its body, (before, after).
struct Edit {
    title: (&'static str, &'static str),
    body: (&'static str, &'static str),
}

/// The edit the demo's publisher makes: a softer headline and a smaller figure.
const EDIT: Edit = Edit {
    title: (
        "North Korea and Russia open freight rail link across the Tumen River",
        "North Korea and Russia begin trial runs on Tumen River freight link",
    ),
    body: (
        "The line will carry 500,000 tonnes of cargo a year once it reaches full capacity",
        "The line could carry up to 300,000 tonnes of cargo a year if the trial runs succeed",
    ),
};

impl Edit {
    /// The replacements in the feed's text; the title's include its tags, so that they can
    /// only match the title.
    fn replacements(&self) -> [(String, String); 2] {
        [
            (
                format!("<title>{}</title>", self.title.0),
                format!("<title>{}</title>", self.title.1),
            ),
            (self.body.0.to_owned(), self.body.1.to_owned()),
        ]
    }
}

/// How long the sample server waits on one connection before giving up on it.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest request head the sample server reads.
const MAX_HEAD: usize = 16 * 1024;

/// Width the word diff is wrapped to.
const WIDTH: usize = 78;

/// Why the demo could not run to its end.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot create a temporary folder: {0}")]
    TempDir(std::io::Error),
    #[error("cannot remove the temporary folder {}: {source}", path.display())]
    Cleanup {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot start the sample server on 127.0.0.1: {0}")]
    Bind(std::io::Error),
    #[error("cannot write the demo config {}: {source}", path.display())]
    WriteConfig {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the demo config does not load: {0}")]
    Config(#[from] config::Error),
    #[error("bundled sample feed {path}: {reason}")]
    Sample { path: &'static str, reason: String },
    #[error(transparent)]
    Daemon(#[from] daemon::Error),
    #[error(transparent)]
    Store(#[from] store::Error),
    #[error("cannot read the alert log {}: {reason}", path.display())]
    AlertLog { path: PathBuf, reason: String },
    #[error("the edit was not caught: the second poll raised no `changed` alert")]
    EditMissed,
    #[error("stopped by a signal")]
    Interrupted,
}

/// Runs the demo, printing as it goes; stops early (and still cleans up) when `shutdown`
/// turns true.
pub async fn run(shutdown: watch::Receiver<bool>) -> Result<(), Error> {
    let dir = tempfile::Builder::new()
        .prefix("storywatch-demo-")
        .tempdir()
        .map_err(Error::TempDir)?;
    let server = SampleServer::start().await?;
    let result = cycle(dir.path(), &server, shutdown).await;
    drop(server);
    let path = dir.path().to_path_buf();
    let cleanup = dir.close();
    // The cycle's own error says more than a failed cleanup after it.
    result?;
    cleanup.map_err(|source| Error::Cleanup {
        path: path.clone(),
        source,
    })?;
    println!();
    println!("Removed {} and stopped the sample server.", path.display());
    println!("Next: `storywatch check` shows the default config and its real feeds, and");
    println!("`storywatch run` watches them (see README.md).");
    Ok(())
}

/// The cycle itself: config, first poll, edit, second poll.
async fn cycle(
    dir: &Path,
    server: &SampleServer,
    shutdown: watch::Receiver<bool>,
) -> Result<(), Error> {
    let config_path = dir.join("storywatch.toml");
    let log_path = dir.join("alerts.jsonl");
    let database = dir.join("storywatch.db");
    let mut text = format!(
        "# Written by `storywatch demo`; removed when it ends.\n\
         database = {}\n\
         log_level = \"warn\"\n\n\
         [alerts]\nlog = {}\n\n\
         # The sample stories link to pages that do not exist.\n\
         [pages]\nenabled = false\n",
        config::quote(&database.to_string_lossy()),
        config::quote(&log_path.to_string_lossy()),
    );
    for feed in &FEEDS {
        text.push_str(&format!(
            "\n[[feed]]\nname = {}\nurl = {}\n",
            config::quote(feed.name),
            config::quote(&server.url(feed.path))
        ));
    }
    std::fs::write(&config_path, text).map_err(|source| Error::WriteConfig {
        path: config_path.clone(),
        source,
    })?;
    // The real loader, as `storywatch --config` would use it.
    let config = config::load(&config_path)?;

    println!("storywatch demo: the whole cycle on sample feeds, offline.");
    println!();
    println!(
        "A sample server on http://{} (inside this process) serves two invented feeds:",
        server.addr
    );
    let mut stories = 0;
    for feed in &FEEDS {
        let count = count_stories(feed, &server.url(feed.path))?;
        stories += count;
        println!(
            "  {:<20} {:<18} {:<8} {count} stories",
            feed.name, feed.path, feed.format
        );
    }
    println!(
        "The database, config and alert log live in {}.",
        dir.display()
    );

    let ctx = Arc::new(Context::start(config)?);
    let mut alerts = AlertLog::new(log_path);

    println!();
    println!("1. First poll: every relevant story is new.");
    let first = pass(&ctx, &shutdown).await?;
    println!("   {}.", describe_pass(&first));
    println!(
        "   {} of the {stories} stories are about North Korea and Russia; the topic filter dropped the rest.",
        first.new_articles
    );
    for alert in alerts.read_new()? {
        print_alert(&alert);
    }

    println!();
    println!("2. The publisher edits a story without saying so.");
    server.edit(EDITED_FEED, &EDIT)?;
    let publisher = FEEDS
        .iter()
        .find(|f| f.path == EDITED_FEED)
        .map_or(EDITED_FEED, |f| f.name);
    println!("   {publisher} changes the headline and one sentence of");
    println!("   \"{}\".", EDIT.title.0);

    println!();
    println!("3. Second poll: the edit is caught.");
    let second = pass(&ctx, &shutdown).await?;
    println!("   {}.", describe_pass(&second));
    let mut caught = false;
    for alert in alerts.read_new()? {
        print_alert(&alert);
        if alert.kind == "changed" {
            caught = true;
            print_word_diff(&database, &alert)?;
        }
    }
    if !caught {
        return Err(Error::EditMissed);
    }
    println!();
    println!(
        "The alerts above were read back from the alert log ({}),",
        alerts.path.display()
    );
    println!("one JSON line an alert; webhooks receive the same JSON.");
    Ok(())
}

/// One pass over every feed, through the daemon's own code.
async fn pass(ctx: &Arc<Context>, shutdown: &watch::Receiver<bool>) -> Result<PassSummary, Error> {
    let summary = daemon::poll_pass(Arc::clone(ctx), true, shutdown.clone()).await?;
    if *shutdown.borrow() {
        return Err(Error::Interrupted);
    }
    Ok(summary)
}

fn describe_pass(summary: &PassSummary) -> String {
    let mut text = format!("Polled {} feeds", summary.polled);
    if summary.not_modified > 0 {
        text.push_str(&format!(
            " ({} answered 304 Not Modified: its ETag matched)",
            summary.not_modified
        ));
    }
    if summary.failed > 0 {
        text.push_str(&format!(" ({} failed)", summary.failed));
    }
    text.push_str(&format!(
        ": {} new, {} changed {}",
        summary.new_articles,
        summary.changed_articles,
        if summary.changed_articles == 1 {
            "article"
        } else {
            "articles"
        }
    ));
    text
}

/// How many stories a sample feed holds, as the feed stage reads them.
fn count_stories(feed: &SampleFeed, url: &str) -> Result<usize, Error> {
    let sample = |reason: String| Error::Sample {
        path: feed.path,
        reason,
    };
    let url = Url::parse(url).map_err(|e| sample(e.to_string()))?;
    let items = crate::feed::parse_feed(feed.body.as_bytes(), None, &url, chrono::Utc::now())
        .map_err(|e| sample(e.to_string()))?;
    Ok(items.items.len())
}

/// An alert as the alert log holds it (the alert JSON of DESIGN.md), with what the demo shows.
#[derive(Debug, Deserialize)]
struct LoggedAlert {
    kind: String,
    article: LoggedArticle,
    revision: i64,
    previous_revision: Option<i64>,
    diff: Option<LoggedDiff>,
}

#[derive(Debug, Deserialize)]
struct LoggedArticle {
    id: i64,
    title: String,
    url: Option<String>,
    feed: Option<String>,
    matched_terms: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct LoggedDiff {
    words_added: i64,
    words_removed: i64,
    title_changed: bool,
}

/// The alert log, read as a user tailing it would: line by line, each line once.
struct AlertLog {
    path: PathBuf,
    lines_read: usize,
}

impl AlertLog {
    fn new(path: PathBuf) -> AlertLog {
        AlertLog {
            path,
            lines_read: 0,
        }
    }

    /// The alerts appended since the last call.
    fn read_new(&mut self) -> Result<Vec<LoggedAlert>, Error> {
        let error = |reason: String| Error::AlertLog {
            path: self.path.clone(),
            reason,
        };
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            // No alert yet: the log is created with its first line.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(error(e.to_string())),
        };
        let lines: Vec<&str> = text.lines().collect();
        let alerts = lines
            .get(self.lines_read..)
            .unwrap_or_default()
            .iter()
            .map(|line| serde_json::from_str(line).map_err(|e| error(e.to_string())))
            .collect::<Result<Vec<LoggedAlert>, Error>>()?;
        self.lines_read = lines.len();
        Ok(alerts)
    }
}

fn print_alert(alert: &LoggedAlert) {
    let article = &alert.article;
    println!();
    for (i, line) in wrap(&article.title, WIDTH - 12).iter().enumerate() {
        let kind = if i == 0 { alert.kind.as_str() } else { "" };
        println!("   {kind:<8} {line}");
    }
    let mut facts = vec![article.feed.clone().unwrap_or_default()];
    match (&alert.diff, alert.previous_revision) {
        (Some(diff), Some(previous)) => {
            facts.push(format!("revision {previous} → {}", alert.revision));
            facts.push(format!(
                "{} words added, {} removed{}",
                diff.words_added,
                diff.words_removed,
                if diff.title_changed {
                    ", title changed"
                } else {
                    ""
                }
            ));
        }
        _ => facts.push(format!("revision {}", alert.revision)),
    }
    for line in wrap(&facts.join(" · "), WIDTH - 12) {
        println!("            {line}");
    }
    for line in wrap(
        &format!("matched: {}", article.matched_terms.join(", ")),
        WIDTH - 12,
    ) {
        println!("            {line}");
    }
    if let Some(url) = &article.url {
        println!("            {url}");
    }
}

/// The word diff between the two revisions of a `changed` alert, read back from the database
/// as `storywatch diff` reads it, and shown as that command shows it.
fn print_word_diff(database: &Path, alert: &LoggedAlert) -> Result<(), Error> {
    let Some(previous) = alert.previous_revision else {
        return Ok(());
    };
    let revisions = store::Reader::open(database)?.revisions(ArticleId(alert.article.id))?;
    let text = |number| {
        revisions
            .iter()
            .find(|r| r.number == number)
            .map(|r| (r.title.as_str(), r.body.as_str()))
    };
    let (Some(old), Some(new)) = (text(previous), text(alert.revision)) else {
        return Ok(());
    };
    let colour = std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let legend = if colour {
        "removed in red and struck through, added in green"
    } else {
        "removed [-like this-], added {+like this+}"
    };
    let diff = diff::word_diff(old, new, diff::DEADLINE).render(previous, colour);
    println!();
    println!(
        "   Word diff, revision {previous} → {} ({legend}):",
        alert.revision
    );
    for block in diff.split("\n\n") {
        println!();
        for paragraph in block.lines() {
            for line in wrap(paragraph, WIDTH - 6) {
                println!("      {line}");
            }
        }
    }
    Ok(())
}

/// Wraps a paragraph at spaces to `width` visible characters. Colour codes take no room, and
/// a colour open at a line's end is closed there and opened again on the next line, so the
/// indentation before it is never coloured or struck through.
fn wrap(paragraph: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let (mut line, mut line_width) = (String::new(), 0);
    // The colour in force after the words so far, if any.
    let mut colour: Option<&str> = None;
    for word in paragraph.split(' ').filter(|w| !w.is_empty()) {
        let word_width = visible_width(word);
        if line_width > 0 && line_width + 1 + word_width > width {
            if colour.is_some() {
                line.push_str(RESET);
            }
            lines.push(std::mem::take(&mut line));
            line.push_str(colour.unwrap_or_default());
            line_width = 0;
        }
        if line_width > 0 {
            line.push(' ');
            line_width += 1;
        }
        line.push_str(word);
        line_width += word_width;
        for sequence in escape_sequences(word) {
            colour = (sequence != RESET).then_some(sequence);
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// The ANSI SGR sequences (`ESC [ … m`) in `s`, in order.
fn escape_sequences(s: &str) -> impl Iterator<Item = &str> {
    s.match_indices('\x1b')
        .filter_map(|(start, _)| s[start..].find('m').map(|end| &s[start..=start + end]))
}

/// Characters on screen: ANSI SGR sequences take none.
fn visible_width(s: &str) -> usize {
    let mut width = 0;
    let mut in_escape = false;
    for c in s.chars() {
        match (in_escape, c) {
            (false, '\x1b') => in_escape = true,
            (true, 'm') => in_escape = false,
            (true, _) => {}
            (false, _) => width += 1,
        }
    }
    width
}

/// What the sample server answers on one path: the feed's text and its version, the ETag.
struct Route {
    body: String,
    content_type: &'static str,
    version: u64,
}

/// The served feeds by path.
type RouteMap = HashMap<&'static str, Route>;
type Routes = Arc<Mutex<RouteMap>>;

fn lock_routes(routes: &Mutex<RouteMap>) -> std::sync::MutexGuard<'_, RouteMap> {
    // A panic in a connection task leaves the map whole: every update is one insert.
    routes
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The sample publisher: a minimal HTTP/1.1 server on 127.0.0.1 that serves the sample feeds
/// with an ETag, answers a matching `If-None-Match` with 304 as a well-behaved publisher
/// does (RFC 9110, 13.1.2), and closes every connection after one response. It stops when
/// dropped.
struct SampleServer {
    addr: SocketAddr,
    routes: Routes,
    task: JoinHandle<()>,
}

impl Drop for SampleServer {
    fn drop(&mut self) {
        // The accept loop owns the connection tasks: aborting it drops their JoinSet,
        // which aborts them too.
        self.task.abort();
    }
}

impl SampleServer {
    async fn start() -> Result<SampleServer, Error> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(Error::Bind)?;
        let addr = listener.local_addr().map_err(Error::Bind)?;
        let routes: Routes = Arc::new(Mutex::new(
            FEEDS
                .iter()
                .map(|feed| {
                    let route = Route {
                        body: feed.body.to_owned(),
                        content_type: feed.content_type,
                        version: 1,
                    };
                    (feed.path, route)
                })
                .collect(),
        ));
        let task = tokio::spawn(accept(listener, Arc::clone(&routes)));
        Ok(SampleServer { addr, routes, task })
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Makes `edit` in the feed at `path` and gives the feed a new ETag.
    fn edit(&self, path: &'static str, edit: &Edit) -> Result<(), Error> {
        let mut routes = lock_routes(&self.routes);
        let missing = |reason: String| Error::Sample { path, reason };
        let route = routes
            .get_mut(path)
            .ok_or_else(|| missing("not served".into()))?;
        for (before, after) in edit.replacements() {
            if !route.body.contains(&before) {
                return Err(missing(format!(
                    "does not hold the text the demo edits: {before}"
                )));
            }
            route.body = route.body.replacen(&before, &after, 1);
        }
        route.version += 1;
        Ok(())
    }
}

/// Accepts connections until aborted; each is served by a task this loop owns.
async fn accept(listener: TcpListener, routes: Routes) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(serve(stream, Arc::clone(&routes)));
                }
                Err(error) => {
                    // Out of file descriptors, most likely: wait rather than spin.
                    tracing::warn!(error = %error, "sample server: cannot accept");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(_) = connections.join_next() => {}
        }
    }
}

/// Reads one request head and answers it.
async fn serve(mut stream: TcpStream, routes: Routes) {
    let Ok(Some(head)) = tokio::time::timeout(IO_TIMEOUT, read_head(&mut stream)).await else {
        return;
    };
    let response = respond(&head, &routes);
    let _ = tokio::time::timeout(IO_TIMEOUT, async {
        stream.write_all(&response).await?;
        stream.shutdown().await
    })
    .await;
}

/// The request head (request line and headers), or `None` if the client left or sent more
/// than [`MAX_HEAD`] bytes of it.
async fn read_head(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            return Some(String::from_utf8_lossy(&buf[..end]).into_owned());
        }
        if buf.len() > MAX_HEAD {
            return None;
        }
    }
}

/// The full response to one request head.
fn respond(head: &str, routes: &Mutex<RouteMap>) -> Vec<u8> {
    let mut lines = head.split("\r\n");
    let mut request = lines.next().unwrap_or_default().split_whitespace();
    let (method, target) = (
        request.next().unwrap_or_default(),
        request.next().unwrap_or("/"),
    );
    if method != "GET" {
        return response(
            "405 Method Not Allowed",
            &[("Allow", "GET")],
            "text/plain",
            b"GET only\n",
        );
    }
    let if_none_match: Vec<String> = lines
        .filter_map(|line| line.split_once(':'))
        .filter(|(name, _)| name.trim().eq_ignore_ascii_case("if-none-match"))
        .flat_map(|(_, value)| {
            value
                .split(',')
                .map(|t| t.trim().to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    let routes = lock_routes(routes);
    let Some(route) = routes.get(target) else {
        return response("404 Not Found", &[], "text/plain", b"no such feed\n");
    };
    let etag = format!("\"v{}\"", route.version);
    // RFC 9110, 13.1.2: If-None-Match compares weakly, and `*` matches any current version.
    if if_none_match
        .iter()
        .any(|tag| tag == "*" || tag.trim_start_matches("W/") == etag)
    {
        return response("304 Not Modified", &[("ETag", &etag)], "", b"");
    }
    response(
        "200 OK",
        &[("ETag", &etag), ("Cache-Control", "no-cache")],
        route.content_type,
        route.body.as_bytes(),
    )
}

fn response(status: &str, headers: &[(&str, &str)], content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut head = format!("HTTP/1.1 {status}\r\nConnection: close\r\n");
    // A 304 has no body (RFC 9110, 15.4.5), so no length either.
    if !status.starts_with("304") {
        head.push_str(&format!(
            "Content-Type: {content_type}\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_fits_the_width_and_ignores_colour_codes() {
        let cases = [
            // (name, paragraph, width, lines)
            ("short", "a b c", 10, vec!["a b c"]),
            ("breaks_at_spaces", "aaa bbb ccc", 7, vec!["aaa bbb", "ccc"]),
            (
                "long_word_alone",
                "a bbbbbbbbbb c",
                5,
                vec!["a", "bbbbbbbbbb", "c"],
            ),
            (
                "colour_takes_no_room",
                "\x1b[32mabc\x1b[0m def",
                7,
                vec!["\x1b[32mabc\x1b[0m def"],
            ),
            (
                "colour_is_closed_and_reopened_across_a_break",
                "a \x1b[31;9mbb cc\x1b[0m d",
                4,
                vec!["a \x1b[31;9mbb\x1b[0m", "\x1b[31;9mcc\x1b[0m d"],
            ),
            ("empty", "", 10, vec![]),
        ];
        for (name, paragraph, width, expected) in cases {
            assert_eq!(wrap(paragraph, width), expected, "{name}");
        }
    }

    #[test]
    fn the_server_answers_a_matching_etag_with_304_and_unknown_paths_with_404() {
        let routes = Mutex::new(HashMap::from([(
            "/f.xml",
            Route {
                body: "<rss/>".into(),
                content_type: "application/rss+xml",
                version: 3,
            },
        )]));
        let status = |head: &str| {
            let response = respond(head, &routes);
            String::from_utf8_lossy(&response)
                .lines()
                .next()
                .unwrap_or_default()
                .to_owned()
        };
        let cases = [
            ("GET /f.xml HTTP/1.1\r\nHost: x", "HTTP/1.1 200 OK"),
            (
                "GET /f.xml HTTP/1.1\r\nIf-None-Match: \"v3\"",
                "HTTP/1.1 304 Not Modified",
            ),
            (
                "GET /f.xml HTTP/1.1\r\nif-none-match: \"v1\", W/\"v3\"",
                "HTTP/1.1 304 Not Modified",
            ),
            (
                "GET /f.xml HTTP/1.1\r\nIf-None-Match: \"v2\"",
                "HTTP/1.1 200 OK",
            ),
            ("GET /other HTTP/1.1", "HTTP/1.1 404 Not Found"),
            ("POST /f.xml HTTP/1.1", "HTTP/1.1 405 Method Not Allowed"),
        ];
        for (head, expected) in cases {
            assert_eq!(status(head), expected, "{head}");
        }
    }

    #[test]
    fn every_edit_applies_to_the_bundled_feed() {
        for (before, _) in EDIT.replacements() {
            let feed = FEEDS.iter().find(|f| f.path == EDITED_FEED);
            assert!(
                feed.is_some_and(|f| f.body.matches(&before).count() == 1),
                "{before}"
            );
        }
    }
}
