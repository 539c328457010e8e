//! The command line as a user meets it: exit codes, migrate and seeds, signals, restarts.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::server::Reply;
use crate::{Env, feed, fixture, text, wait_for};

#[test]
fn migrate_twice_leaves_one_seed_article_and_an_edited_seed_adds_a_revision() {
    let env = Env::start();
    env.write_config(&[], "");
    for _ in 0..2 {
        let out = env.run(&["migrate"]);
        assert!(out.status.success(), "{}", text(&out));
    }
    assert_eq!(
        env.count("SELECT COUNT(*) FROM articles WHERE origin = 'seed'"),
        1
    );
    assert_eq!(env.count("SELECT COUNT(*) FROM revisions"), 1);
    let (title, source, language, url): (String, String, String, Option<String>) = env
        .db()
        .query_row(
            "SELECT title, source, language, url FROM articles",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .expect("seed article");
    assert_eq!(title, "North Korea and Russia deepen economic ties - FT");
    assert_eq!(source, "Censor.NET, citing the Financial Times");
    assert_eq!(language, "en");
    assert_eq!(url, None);
    let shipped = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .expect("migrations folder")
        .count() as i64;
    assert_eq!(env.count("SELECT COUNT(*) FROM schema_migrations"), shipped);
    assert_eq!(
        env.db()
            .query_row("PRAGMA journal_mode", [], |r| r.get::<_, String>(0))
            .expect("pragma"),
        "wal"
    );

    let seed = env.path("seeds/dprk-russia-economic-ties.md");
    let text_before = std::fs::read_to_string(&seed).expect("seed");
    std::fs::write(
        &seed,
        text_before.replace("a new level", "an unprecedented level"),
    )
    .expect("edit");
    let out = env.run(&["migrate"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        env.count("SELECT COUNT(*) FROM revisions WHERE body_kind = 'seed'"),
        2
    );
    assert_eq!(
        env.count("SELECT COUNT(*) FROM alerts"),
        0,
        "seeds never alert"
    );
}

#[test]
fn the_seed_is_loaded_away_from_the_repository_and_a_missing_seeds_folder_is_named() {
    // A user's own config in a home folder, run from a folder with no seeds/ in it.
    let home = tempfile::tempdir().expect("home");
    let config = home.path().join("sw.toml");
    std::fs::write(
        &config,
        format!("database = {:?}\n", home.path().join("db/sw.db")),
    )
    .expect("config");
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_storywatch"))
            .arg("--config")
            .arg(&config)
            .args(args)
            .current_dir(home.path())
            .env_remove("STORYWATCH_CONFIG")
            .output()
            .expect("run storywatch")
    };
    let out = run(&["migrate"]);
    assert!(out.status.success(), "{}", text(&out));
    let db = rusqlite::Connection::open(home.path().join("db/sw.db")).expect("db");
    let title: String = db
        .query_row(
            "SELECT title FROM articles WHERE origin = 'seed'",
            [],
            |r| r.get(0),
        )
        .expect("the seed article");
    assert_eq!(title, "North Korea and Russia deepen economic ties - FT");

    let mut with_folder = std::fs::read_to_string(&config).expect("config");
    with_folder.push_str("seeds = \"my-seeds\"\n");
    std::fs::write(&config, with_folder).expect("config");
    let out = run(&["check"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("sw.toml:2: seeds:")
            && stderr.contains("my-seeds")
            && stderr.contains("does not exist"),
        "{stderr}"
    );
    // The daemon refuses to start on it too (a configuration error).
    assert_eq!(run(&["migrate"]).status.code(), Some(2));
}

#[test]
fn a_database_from_a_newer_storywatch_is_refused() {
    let env = Env::start();
    env.write_config(&[], "");
    assert!(env.run(&["migrate"]).status.success());
    env.db()
        .execute(
            "INSERT INTO schema_migrations VALUES (999, '0999_future', '2030-01-01T00:00:00Z')",
            [],
        )
        .expect("insert");
    let out = env.run(&["migrate"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("newer than this storywatch supports"),
        "{}",
        text(&out)
    );
}

#[test]
fn check_reports_config_errors_with_key_and_line() {
    let env = Env::start();
    env.write_config(&[feed("NK News", "/nk.xml")], "");
    let out = env.run(&["check"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("NK News"));

    let config = env.path("storywatch.toml");
    let good = std::fs::read_to_string(&config).expect("config");
    std::fs::write(
        &config,
        good.replace("[poll]\n", "[poll]\nintervall = \"5m\"\n"),
    )
    .expect("write");
    let out = env.run(&["check"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("intervall") && err.contains("line 5"), "{err}");
    // Other commands treat a bad config as a usage error.
    assert_eq!(env.run(&["poll"]).status.code(), Some(2));
    assert_eq!(env.run(&["frobnicate"]).status.code(), Some(2));
}

#[test]
fn sigterm_during_a_pass_exits_zero_within_ten_seconds_with_a_sound_database() {
    let env = Env::start();
    env.server.feed("/nk.xml", fixture("nknews.xml"));
    env.server.set("/drip.xml", Reply::Drip);
    env.write_config(
        &[feed("NK News", "/nk.xml"), feed("Drip", "/drip.xml")],
        "timeout = \"120s\"",
    );
    let mut daemon = env.spawn_run();
    assert!(
        wait_for(Duration::from_secs(20), || !env
            .server
            .seen("/drip.xml")
            .is_empty()
            && env.path("data/alerts.jsonl").exists()),
        "the pass did not start"
    );
    let asked = Instant::now();
    daemon.signal("TERM");
    let status = daemon.wait_exit(Duration::from_secs(15));
    assert!(
        asked.elapsed() < Duration::from_secs(10),
        "took {:?}",
        asked.elapsed()
    );
    assert_eq!(status.code(), Some(0));
    let check: String = env
        .db()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check");
    assert_eq!(check, "ok");
    assert_eq!(
        env.count("SELECT COUNT(*) FROM articles WHERE origin = 'feed'"),
        1
    );
}

#[test]
fn a_restart_resumes_the_schedule_instead_of_polling_everything() {
    let env = Env::start();
    env.server.feed("/nk.xml", fixture("nknews.xml"));
    env.write_config(&[feed("NK News", "/nk.xml")], "");
    let daemon = env.spawn_run();
    assert!(
        wait_for(Duration::from_secs(20), || env
            .try_count("SELECT COUNT(*) FROM fetches")
            == Some(1)),
        "first poll did not happen"
    );
    assert!(daemon.stop(Duration::from_secs(15)).success());
    let next: String = env
        .db()
        .query_row("SELECT next_poll_at FROM feeds", [], |r| r.get(0))
        .expect("next_poll_at");
    assert!(next.as_str() > "2026", "{next}");

    // Restarted well before the 1h interval: the feed is not due, so it is not polled.
    let daemon = env.spawn_run();
    std::thread::sleep(Duration::from_secs(3));
    assert!(daemon.stop(Duration::from_secs(15)).success());
    assert_eq!(env.server.seen("/nk.xml").len(), 1);
    assert_eq!(env.count("SELECT COUNT(*) FROM fetches"), 1);

    // `poll` without --all polls only what is due: nothing.
    let out = env.run(&["poll"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(env.server.seen("/nk.xml").len(), 1);
}

#[test]
fn topic_test_explains_its_verdict_and_follows_the_config() {
    let env = Env::start();
    env.write_config(&[], "");
    let out = env.run(&[
        "topic",
        "test",
        "--title",
        "Putin arrives in Pyongyang for talks",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let shown = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(shown.starts_with("relevant (score 1.00"), "{shown}");
    assert!(shown.contains("Pyongyang (title, 1.00)"), "{shown}");

    // A list of countries names them in passing: not relevant, exit 1.
    let out = env.run(&[
        "topic",
        "test",
        "--title",
        "US warns China, Russia, North Korea and Iran",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("in a list"));

    // A headline completed by its first sentence says so.
    let out = env.run(&[
        "topic",
        "test",
        "--title",
        "Leader seen honoring troops killed in Ukraine war",
        "State media showed leader Kim Jong Un honoring the coffins of his soldiers.",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let shown = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        shown.contains("Kim Jong Un (lede, completes the headline, 1.00)"),
        "{shown}"
    );
    assert!(shown.contains("Ukraine (title, 1.00)"), "{shown}");

    // The body from standard input, as HTML, with JSON out.
    let mut child = env
        .command()
        .args(["topic", "test", "-", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    std::io::Write::write_all(
        child.stdin.as_mut().expect("stdin"),
        "<p>Россия и КНДР подписали договор. Пхеньян и Москва его ратифицировали.</p>".as_bytes(),
    )
    .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(0));
    let verdict: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(verdict["relevant"], true);
    assert_eq!(verdict["groups"]["dprk"]["mentions"][0]["place"], "lede");
    assert_eq!(
        verdict["matched_terms"],
        serde_json::json!(["Россия", "КНДР", "Пхеньян", "Москва"])
    );

    // Extra terms, exclusions and the threshold come from [topic].
    let config = env.path("storywatch.toml");
    let base = std::fs::read_to_string(&config).expect("config");
    std::fs::write(
        &config,
        format!("{base}\n[topic]\nextra = {{ dprk = [\"Hwasong-19\"] }}\nexclude = [\"Moscow Oblast\"]\nthreshold = 0.3\n"),
    )
    .expect("write");
    let out = env.run(&[
        "topic",
        "test",
        "--title",
        "Hwasong-19 parts found in Russia",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let late = format!("{} Pyongyang.", "word ".repeat(80));
    let out = env.run(&["topic", "test", "--title", "Russia strikes Kyiv", &late]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "threshold 0.3 accepts a passing mention: {}",
        text(&out)
    );
    let out = env.run(&[
        "topic",
        "test",
        "--title",
        "Pyongyang delegation in Moscow Oblast",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));

    let out = env.run(&["topic", "test"]);
    assert_eq!(out.status.code(), Some(2));
}
