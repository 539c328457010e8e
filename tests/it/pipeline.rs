//! The pipeline end to end: poll, store, revise, alert, through the real binary.

use crate::server::{Reply, gzip_bomb};
use crate::{Env, Feed, feed, fixture, text};

const EDIT_FROM: &str = "The bridge is expected to open in 2026.";

#[test]
fn a_relevant_item_becomes_an_article_with_revision_one_and_a_new_alert() {
    let env = Env::start();
    env.server.feed("/nk.xml", fixture("nknews.xml"));
    env.write_config(&[feed("NK News", "/nk.xml")], "");
    env.poll();

    // Off-topic items are not stored: the seed plus the one relevant story.
    assert_eq!(
        env.count("SELECT COUNT(*) FROM articles WHERE origin = 'feed'"),
        1
    );
    let (id, title, url, terms): (i64, String, String, String) = env
        .db()
        .query_row(
            "SELECT id, title, url, matched_terms FROM articles WHERE origin = 'feed'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .expect("article");
    assert_eq!(
        title,
        "North Korea and Russia sign deal on Tumen River road bridge"
    );
    assert!(!url.contains("utm_"), "tracking parameters kept: {url}");
    assert!(
        terms.contains("North Korea") && terms.contains("Russia"),
        "{terms}"
    );
    assert_eq!(
        env.count(&format!("SELECT COUNT(*) FROM revisions WHERE article_id = {id} AND number = 1 AND body_kind = 'content'")),
        1
    );
    // Why it was kept: the score and the terms, on the article and on its revision.
    let (article_score, revision_score, revision_terms): (f64, f64, String) = env
        .db()
        .query_row(
            "SELECT a.topic_score, r.topic_score, r.matched_terms
             FROM articles a JOIN revisions r ON r.article_id = a.id WHERE a.id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("scores");
    assert_eq!((article_score, revision_score), (1.0, 1.0));
    assert_eq!(revision_terms, terms);
    assert_eq!(
        env.count("SELECT COUNT(*) FROM alerts WHERE kind = 'new'"),
        1
    );
    assert_eq!(
        env.count("SELECT COUNT(*) FROM deliveries WHERE status = 'delivered'"),
        1
    );

    let log = env.alert_log();
    assert_eq!(log.len(), 1);
    let alert = &log[0];
    assert_eq!(alert["version"], 1);
    assert_eq!(alert["kind"], "new");
    assert_eq!(alert["article"]["id"], id);
    assert_eq!(alert["article"]["feed"], "NK News");
    assert_eq!(alert["revision"], 1);
    assert!(alert["previous_revision"].is_null());
    assert_eq!(alert["body_kind"], "content");
    assert!(alert.get("diff").is_none());
    let alert_id: String = env
        .db()
        .query_row("SELECT id FROM alerts", [], |r| r.get(0))
        .expect("alert id");
    assert_eq!(alert["id"], alert_id.as_str());
}

#[test]
fn an_edit_makes_revision_two_and_a_changed_alert_but_noise_does_not() {
    let env = Env::start();
    let original = fixture("nknews.xml");
    assert_eq!(
        original.matches(EDIT_FROM).count(),
        1,
        "fixture must hold the sentence once"
    );
    env.server.feed("/nk.xml", original.clone());
    env.write_config(&[feed("NK News", "/nk.xml")], "");
    env.poll();

    let edited = original.replace(
        EDIT_FROM,
        "The bridge is expected to open in 2027, officials said &#8220;soon&#8221;.",
    );
    env.server.feed("/nk.xml", edited.clone());
    env.poll();
    assert_eq!(
        env.count("SELECT COUNT(*) FROM revisions WHERE number = 2"),
        1
    );
    assert_eq!(
        env.count("SELECT COUNT(*) FROM alerts WHERE kind = 'changed'"),
        1
    );
    let (diff, added, removed, title_changed): (String, i64, i64, bool) = env
        .db()
        .query_row(
            "SELECT diff, words_added, words_removed, title_changed FROM alerts WHERE kind = 'changed'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .expect("changed alert");
    assert!(
        diff.contains("-The bridge is expected to open in 2026."),
        "{diff}"
    );
    assert!(
        diff.contains("+The bridge is expected to open in 2027, officials said “soon”."),
        "{diff}"
    );
    assert!(
        added >= 4 && removed >= 1,
        "added {added}, removed {removed}"
    );
    assert!(!title_changed);
    let log = env.alert_log();
    assert_eq!(log.len(), 2);
    assert_eq!(log[1]["kind"], "changed");
    assert_eq!(log[1]["revision"], 2);
    assert_eq!(log[1]["previous_revision"], 1);
    assert_eq!(log[1]["body_kind"], "content");
    assert_eq!(log[1]["diff"]["words_removed"], removed);

    // Only quote style, non-breaking spaces and a soft hyphen differ: no revision.
    let noise = edited.replace("&#8220;soon&#8221;", "\"soon\"").replace(
        "The bridge is expected",
        "The&nbsp;bri&#173;dge  is expected",
    );
    env.server.feed("/nk.xml", noise);
    env.poll();
    assert_eq!(env.count("SELECT COUNT(*) FROM revisions WHERE article_id = (SELECT article_id FROM alerts LIMIT 1)"), 2);
    assert_eq!(env.count("SELECT COUNT(*) FROM alerts"), 2);

    // Back to the first text (an A/B flip): recorded as revision 3, but no new alert.
    env.server.feed("/nk.xml", original);
    env.poll();
    assert_eq!(
        env.count("SELECT COUNT(*) FROM revisions WHERE number = 3"),
        1
    );
    assert_eq!(env.count("SELECT COUNT(*) FROM alerts"), 2);
    assert_eq!(env.alert_log().len(), 2);
}

#[test]
fn an_unchanged_feed_is_asked_conditionally_and_stores_nothing() {
    let env = Env::start();
    env.server.feed("/nk.xml", fixture("nknews.xml"));
    env.write_config(&[feed("NK News", "/nk.xml")], "");
    env.poll();
    env.poll();
    let seen = env.server.seen("/nk.xml");
    assert_eq!(seen.len(), 2);
    assert!(!seen[0].headers.contains_key("if-none-match"));
    assert_eq!(
        seen[1].headers.get("if-none-match").map(String::as_str),
        Some("\"v1\"")
    );
    assert!(seen[1].headers.contains_key("if-modified-since"));
    assert!(seen[0].headers["user-agent"].starts_with("storywatch/"));
    assert_eq!(
        env.count("SELECT COUNT(*) FROM fetches WHERE http_status = 304"),
        1
    );
    assert_eq!(env.count("SELECT COUNT(*) FROM revisions"), 2); // the seed's and the story's
    assert_eq!(env.count("SELECT COUNT(*) FROM alerts"), 1);
}

#[test]
fn a_filter_none_feed_stores_every_item_and_other_formats_parse() {
    let env = Env::start();
    env.server.feed("/kcna.xml", fixture("kcna-watch.xml"));
    env.server.set(
        "/atom.xml",
        Reply::Feed {
            body: fixture("atom.xml").into(),
            content_type: "application/atom+xml".into(),
        },
    );
    env.server.set(
        "/feed.json",
        Reply::Feed {
            body: fixture("jsonfeed.json").into(),
            content_type: "application/feed+json".into(),
        },
    );
    env.write_config(
        &[
            Feed {
                name: "KCNA Watch",
                path: "/kcna.xml",
                filter: "none",
            },
            feed("Atom", "/atom.xml"),
            feed("JSON", "/feed.json"),
        ],
        "",
    );
    env.poll();
    let per_feed = |name: &str| {
        env.count(&format!(
            "SELECT COUNT(*) FROM articles a JOIN feeds f ON f.id = a.feed_id WHERE f.name = '{name}'"
        ))
    };
    assert_eq!(
        per_feed("KCNA Watch"),
        2,
        "filter = none keeps off-topic items"
    );
    assert_eq!(per_feed("Atom"), 1, "only the relevant Atom entry");
    assert_eq!(per_feed("JSON"), 1, "only the relevant JSON Feed item");
}

#[test]
fn an_item_titled_like_the_seed_is_the_seeded_article() {
    let env = Env::start();
    env.server.feed("/censor.xml", fixture("seed-match.xml"));
    env.write_config(&[feed("Censor.NET", "/censor.xml")], "");
    env.poll();
    assert_eq!(env.count("SELECT COUNT(*) FROM articles"), 1);
    let (origin, url): (String, Option<String>) = env
        .db()
        .query_row("SELECT origin, url FROM articles", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .expect("article");
    assert_eq!(origin, "seed");
    assert!(url.is_some_and(|u| u.starts_with("https://censor.net/")));
    // The feed's summary is kept as a revision of its own kind, compared only with its kind.
    assert_eq!(
        env.count("SELECT COUNT(*) FROM revisions WHERE body_kind = 'summary'"),
        1
    );
    assert_eq!(env.count("SELECT COUNT(*) FROM alerts"), 0);
    assert!(env.alert_log().is_empty());
}

#[test]
fn an_item_without_guid_or_link_polled_three_times_is_one_article() {
    let env = Env::start();
    env.write_config(&[feed("No guid", "/noguid.xml")], "");
    for _ in 0..3 {
        // A new version each time, so the body is served (200) and parsed again.
        env.server.feed("/noguid.xml", fixture("no-guid.xml"));
        env.poll();
    }
    assert_eq!(
        env.count("SELECT COUNT(*) FROM fetches WHERE http_status = 200"),
        3
    );
    assert_eq!(
        env.count("SELECT COUNT(*) FROM articles WHERE origin = 'feed'"),
        1
    );
    assert_eq!(env.count("SELECT COUNT(*) FROM alerts"), 1);
}

#[test]
fn broken_feeds_fail_alone_in_the_same_pass_as_a_good_one() {
    let env = Env::start();
    env.server.feed("/good.xml", fixture("nknews.xml"));
    env.server.set(
        "/500.xml",
        Reply::Status {
            status: 500,
            body: b"oops".to_vec(),
        },
    );
    env.server.feed(
        "/invalid.xml",
        // Cut before its root element: the liberal reader keeps what a document cut later
        // holds, but there is nothing here.
        "<?xml version=\"1.0\"?>\n<rs",
    );
    env.server.set(
        "/page.xml",
        Reply::Status {
            status: 200,
            body: fixture("not-a-feed.html").into(),
        },
    );
    let big = format!(
        "<rss version=\"2.0\"><channel>{}</channel></rss>",
        "<!-- padding -->".repeat(20_000)
    );
    env.server.feed("/big.xml", big);
    env.server.set(
        "/bomb.xml",
        Reply::Gzip {
            compressed: gzip_bomb(64 << 20),
        },
    );
    env.server.set("/drip.xml", Reply::Drip);
    env.server
        .set("/busy.xml", Reply::Busy { retry_after: 7200 });
    let broken = [
        ("Busy", "/busy.xml", "HTTP 503"),
        ("HTTP 500", "/500.xml", "HTTP 500"),
        ("Cut before its root", "/invalid.xml", "not a feed"),
        ("HTML page", "/page.xml", "not a feed"),
        ("Too big", "/big.xml", "max_body"),
        ("Gzip bomb", "/bomb.xml", "max_body"),
        ("Never ends", "/drip.xml", "timed out"),
    ];
    let mut feeds = vec![feed("Good", "/good.xml")];
    feeds.extend(broken.iter().map(|(name, path, _)| feed(name, path)));
    env.write_config(&feeds, "timeout = \"3s\"\nmax_body = \"256KiB\"");
    let started = std::time::Instant::now();
    let out = env.poll();
    assert!(
        started.elapsed().as_secs() < 30,
        "a broken feed stalled the pass: {}",
        text(&out)
    );

    for (name, _, expected) in broken {
        let (error, failures): (Option<String>, i64) = env
            .db()
            .query_row(
                "SELECT last_error, consecutive_failures FROM feeds WHERE name = ?1",
                [name],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("feed row");
        let error = error.unwrap_or_default();
        assert!(
            error.contains(expected),
            "{name}: last_error {error:?} lacks {expected:?}"
        );
        assert!(
            error.contains("127.0.0.1"),
            "{name}: error does not name the feed URL: {error}"
        );
        assert_eq!(failures, 1, "{name}");
        assert_eq!(
            env.count(&format!(
                "SELECT COUNT(*) FROM fetches f JOIN feeds d ON d.id = f.feed_id
                 WHERE d.name = '{name}' AND f.error IS NOT NULL"
            )),
            1,
            "{name}"
        );
    }
    assert_eq!(
        env.count("SELECT COUNT(*) FROM articles WHERE origin = 'feed'"),
        1
    );
    assert_eq!(env.count("SELECT COUNT(*) FROM feeds WHERE name = 'Good' AND last_error IS NULL AND last_success_at IS NOT NULL"), 1);
    assert_eq!(env.alert_log().len(), 1);
}

#[test]
fn no_more_than_per_host_requests_are_in_flight_to_one_host() {
    let env = Env::start();
    let paths: Vec<String> = (0..6).map(|i| format!("/slow{i}.xml")).collect();
    for path in &paths {
        env.server.set(
            path,
            Reply::Slow {
                body: fixture("kcna-watch.xml").into(),
                delay: std::time::Duration::from_millis(400),
            },
        );
    }
    let names: Vec<String> = (0..6).map(|i| format!("Slow {i}")).collect();
    let feeds: Vec<Feed<'_>> = names.iter().zip(&paths).map(|(n, p)| feed(n, p)).collect();
    env.write_config(&feeds, "per_host = 2");
    env.poll();
    assert_eq!(
        env.count("SELECT COUNT(*) FROM feeds WHERE last_success_at IS NOT NULL"),
        6
    );
    assert_eq!(env.server.max_slow_in_flight(), 2);
}

#[test]
fn an_alert_that_could_not_be_written_is_written_by_the_next_run() {
    let env = Env::start();
    env.server.feed("/nk.xml", fixture("nknews.xml"));
    env.write_config(&[feed("NK News", "/nk.xml")], "");
    // The alert log's path is taken by a folder: the alert is committed but cannot be written.
    std::fs::create_dir_all(env.path("data/alerts.jsonl")).expect("block the log path");
    let out = env.run(&["poll", "--all"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("alerts.jsonl"), "{}", text(&out));
    assert_eq!(
        env.count("SELECT COUNT(*) FROM deliveries WHERE status = 'pending'"),
        1
    );

    std::fs::remove_dir(env.path("data/alerts.jsonl")).expect("unblock");
    env.run(&["poll"]); // nothing is due; the outbox is drained all the same
    assert_eq!(env.server.seen("/nk.xml").len(), 1);
    assert_eq!(
        env.count("SELECT COUNT(*) FROM deliveries WHERE status = 'delivered'"),
        1
    );
    let log = env.alert_log();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["kind"], "new");
}

#[test]
fn the_same_body_again_without_validators_is_not_parsed_again() {
    let env = Env::start();
    // A server that sends no ETag or Last-Modified and answers every GET with the full body.
    env.server.set(
        "/nk.xml",
        Reply::Status {
            status: 200,
            body: fixture("nknews.xml").into(),
        },
    );
    env.write_config(&[feed("NK News", "/nk.xml")], "");
    env.poll();
    env.poll();
    assert_eq!(
        env.count("SELECT COUNT(*) FROM fetches WHERE http_status = 200"),
        2
    );
    // The second answer was recognized by its digest: recorded, but no items were parsed.
    assert_eq!(
        env.count("SELECT COUNT(*) FROM fetches WHERE http_status = 200 AND items IS NULL"),
        1
    );
    assert_eq!(env.count("SELECT COUNT(*) FROM revisions"), 2); // the seed's and the story's
    assert_eq!(env.count("SELECT COUNT(*) FROM alerts"), 1);

    // A changed body is parsed again.
    let mut edited = fixture("nknews.xml").into_bytes();
    edited.extend_from_slice(b"\n");
    env.server.set(
        "/nk.xml",
        Reply::Status {
            status: 200,
            body: edited,
        },
    );
    env.poll();
    assert_eq!(
        env.count("SELECT COUNT(*) FROM fetches WHERE http_status = 200 AND items IS NOT NULL"),
        2
    );
}

/// A document that panics quick-xml inside feed-rs (a second XML declaration, found by
/// fuzzing), holding two stories.
const PANICS_FEED_RS: &str = "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>t</title>\
    <item><title>North Korea and Russia open a rail link</title><link>https://panic.example.org/1</link>\
    <description>Pasted: <?xml version=\"1.0\" encoding=\"windows-1251\"?></description></item>\
    <item><title>Second story</title><link>https://panic.example.org/2</link></item>\
    </channel></rss>";

/// A new installation with one unfiltered feed serving [`PANICS_FEED_RS`].
fn panicking_feed_env() -> Env {
    let env = Env::start();
    env.server.feed("/panics.xml", PANICS_FEED_RS);
    env.write_config(
        &[Feed {
            name: "Panics",
            path: "/panics.xml",
            filter: "none",
        }],
        "",
    );
    env
}

#[test]
fn a_parser_panic_is_one_warning_naming_the_feed_and_its_stories_are_kept() {
    let env = panicking_feed_env();
    let out = env.poll();
    let stderr = String::from_utf8_lossy(&out.stderr);
    for raw in ["panicked", "thread '", "backtrace"] {
        assert!(!stderr.contains(raw), "panic text printed: {stderr}");
    }
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.contains("WARN")).collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(
        warnings[0].contains("Panics") && warnings[0].contains("set_encoding"),
        "the warning names the feed and the cause: {}",
        warnings[0]
    );
    assert_eq!(
        env.count("SELECT COUNT(*) FROM articles WHERE origin = 'feed'"),
        2
    );

    // `run` logs it the same way (a new installation: the feed is due at once).
    let env = panicking_feed_env();
    let daemon = env.spawn_run();
    assert!(
        crate::wait_for(std::time::Duration::from_secs(20), || {
            std::fs::read_to_string(env.path("daemon.log"))
                .is_ok_and(|log| log.contains("set_encoding"))
        }),
        "no warning from run"
    );
    let status = daemon.stop(std::time::Duration::from_secs(10));
    assert!(status.success());
    let log = std::fs::read_to_string(env.path("daemon.log")).expect("daemon.log");
    for raw in ["panicked", "thread '", "backtrace"] {
        assert!(!log.contains(raw), "panic text printed: {log}");
    }
}

#[test]
fn a_gzip_body_served_without_content_encoding_is_read() {
    use std::io::Write as _;
    let env = Env::start();
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gzip.write_all(fixture("nknews.xml").as_bytes())
        .expect("gzip");
    env.server.set(
        "/feed.xml.gz",
        Reply::Raw {
            status: 200,
            headers: vec![("Content-Type".into(), "application/x-gzip".into())],
            body: gzip.finish().expect("gzip"),
        },
    );
    env.write_config(&[feed("NK News", "/feed.xml.gz")], "");
    env.poll();
    assert_eq!(
        env.count("SELECT COUNT(*) FROM articles WHERE origin = 'feed'"),
        1
    );
    assert_eq!(
        env.count("SELECT COUNT(*) FROM feeds WHERE last_error IS NULL"),
        1
    );
}
