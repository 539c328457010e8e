//! `storywatch extract` as a user meets it: a page on disk, on standard input, or fetched from
//! a real HTTP server on loopback with the host's robots.txt honoured.

use std::io::Write as _;
use std::process::Stdio;

use crate::server::Reply;
use crate::{Env, text};

/// A real article page (Mozilla Readability's test page 001, a blog post).
fn page() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/corpora/pages-readability/001/source.html"
    ))
    .expect("the shared page corpus")
}

fn html(body: Vec<u8>) -> Reply {
    Reply::Raw {
        status: 200,
        headers: vec![("Content-Type".into(), "text/html; charset=utf-8".into())],
        body,
    }
}

const TITLE: &str = "Get your Frontend JavaScript Code Covered | Code";
const FIRST: &str = "So finally you're testing your frontend JavaScript code?";

#[test]
fn a_page_on_disk_or_standard_input_is_extracted_without_a_config() {
    let env = Env::start();
    let file = env.path("page.html");
    std::fs::write(&file, page()).expect("page");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_storywatch"))
        .args(["--config", "/nonexistent/storywatch.toml", "extract"])
        .arg(&file)
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with(&format!("title      {TITLE}\n")),
        "{stdout}"
    );
    assert!(stdout.contains(&format!("\n\n{FIRST}")), "{stdout}");

    let mut child = env
        .command()
        .args([
            "extract",
            "-",
            "--json",
            "--url",
            "https://codeblog.example/coverage",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&page())
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success(), "{}", text(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["title"], TITLE);
    assert!(
        json["text"]
            .as_str()
            .is_some_and(|t| t.starts_with(FIRST) && t.contains("\n\n"))
    );
    assert_eq!(json["published_at"], "2013-09-29T00:00:00Z");
    for key in ["canonical_url", "modified_at"] {
        assert!(json.get(key).is_some(), "{key} missing: {json}");
    }

    let out = env.run(&["extract", "no-such-page.html"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-page.html"));
}

#[test]
fn a_url_is_fetched_as_the_daemon_would_robots_included() {
    let env = Env::start();
    env.write_config(&[], "");
    env.server.set("/2026/story", html(page()));
    env.server.set("/private/story", html(page()));
    env.server.set(
        "/robots.txt",
        Reply::Raw {
            status: 200,
            headers: vec![("Content-Type".into(), "text/plain".into())],
            body: b"User-agent: *\nDisallow: /private/\n".to_vec(),
        },
    );
    let out = env.run(&["extract", &env.server.url("/2026/story")]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains(FIRST));
    let seen = env.server.seen("/2026/story");
    assert_eq!(seen.len(), 1);

    let out = env.run(&["extract", &env.server.url("/private/story")]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("robots.txt") && stderr.contains("storywatch"),
        "{stderr}"
    );
    assert!(
        env.server.seen("/private/story").is_empty(),
        "fetched against robots.txt"
    );

    let out = env.run(&["extract", &env.server.url("/gone")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("404"));
}

/// A hostile page is bounded as a hostile feed is: a gzip bomb and a 50 MiB text node stop at
/// the body limit, a page that never ends at the timeout, 100,000-deep nesting is refused
/// before any DOM is built; each is exit 1 with the reason, quickly.
#[test]
fn hostile_pages_are_bounded_in_time_and_memory() {
    let env = Env::start();
    env.write_config(&[], "\n[pages]\ntimeout = \"3s\"\nmax_body = \"5MiB\"");
    env.server.set(
        "/bomb",
        Reply::Gzip {
            compressed: crate::server::gzip_bomb(256 << 20),
        },
    );
    env.server.set("/drip", Reply::Drip);
    let text_node = format!(
        "<html><body><article><p>{}</p></article></body></html>",
        "Pyongyang ".repeat(5 << 20)
    );
    env.server.set("/huge", html(text_node.into_bytes()));
    let deep = format!("<html><body>{}text", "<div>".repeat(100_000));
    env.server.set("/deep", html(deep.into_bytes()));
    let cases = [
        ("/bomb", "exceeds"),
        ("/huge", "exceeds"),
        ("/drip", "timed out"),
        ("/deep", "nests elements deeper"),
    ];
    for (path, says) in cases {
        let started = std::time::Instant::now();
        let out = env.run(&["extract", &env.server.url(path)]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{path}: {stderr}");
        assert!(stderr.contains(says), "{path}: {stderr}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{path} took {:?}",
            started.elapsed()
        );
    }
}
