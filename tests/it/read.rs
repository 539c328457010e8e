//! The views and the read commands (`feeds`, `articles`, `history`, `diff`) on a database
//! built by the real pipeline: a new story, then an edit of it (revision 2 and a `changed`
//! alert). The commands run while another connection holds a write transaction open, as when
//! the daemon writes, and their stdout is a pipe, so the word diff is plain.

use std::process::Output;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use unicode_width::UnicodeWidthStr;

use crate::server::Reply;
use crate::{Env, Feed, feed, fixture, text};

const STORY_TITLE: &str = "North Korea and Russia sign deal on Tumen River road bridge";
/// Long enough that no table can show it whole.
const LONG_TITLE: &str = "North Korea and Russia sign deal on Tumen River road bridge, the first fixed road link between the two countries' border regions, officials in Pyongyang and Moscow said on Tuesday";
/// A wide-character title (Hangul is two columns a syllable), from the unfiltered feed.
const KOREAN_TITLE: &str = "전국탁구선수권대회가 신의주에서 폐막되었다는 소식과 함께 북한과 러시아의 체육 교류가 확대되고 있다는 평가가 나왔다";
const EDIT_FROM: &str = "The bridge is expected to open in 2026.";
const EDIT_TO: &str = "The bridge is expected to open in 2027, officials said &#8220;soon&#8221;.";

/// A database with the seed, one NK News story edited once, two KCNA Watch items, and a feed
/// that fails.
struct Built {
    env: Env,
    story: i64,
    seed: i64,
}

fn build() -> Built {
    let env = Env::start();
    let story = fixture("nknews.xml").replace(STORY_TITLE, LONG_TITLE);
    assert_eq!(story.matches(EDIT_FROM).count(), 1);
    env.server.feed("/nk.xml", story.clone());
    env.server.feed(
        "/kcna.xml",
        fixture("kcna-watch.xml").replace(
            "National table-tennis championships close in Sinuiju",
            KOREAN_TITLE,
        ),
    );
    env.server.set(
        "/broken.xml",
        Reply::Status {
            status: 503,
            body: b"down for maintenance".to_vec(),
        },
    );
    env.write_config(
        &[
            feed("NK News", "/nk.xml"),
            Feed {
                name: "KCNA Watch",
                path: "/kcna.xml",
                filter: "none",
            },
            feed("Broken", "/broken.xml"),
        ],
        "",
    );
    env.poll();
    env.server
        .feed("/nk.xml", story.replace(EDIT_FROM, EDIT_TO));
    env.poll();
    assert_eq!(
        env.count("SELECT COUNT(*) FROM alerts WHERE kind = 'changed'"),
        1
    );
    let id = |sql: &str| env.count(sql);
    let story = id("SELECT id FROM articles WHERE url LIKE '%tumen-river-road-bridge%'");
    let seed = id("SELECT id FROM articles WHERE origin = 'seed'");
    Built { env, story, seed }
}

/// Holds a write transaction open on the database (a reserved lock and an uncommitted row),
/// as the daemon does while it writes a feed's results.
fn hold_write_lock(env: &Env) -> Connection {
    let conn = env.db();
    conn.execute_batch(
        "BEGIN IMMEDIATE;
         INSERT INTO feeds (name, url) VALUES ('Uncommitted', 'https://uncommitted.example/feed');",
    )
    .expect("write transaction");
    conn
}

/// Runs a read command, which must succeed, and quickly: a reader waiting for the writer's
/// lock would wait out the 30-second busy timeout.
fn read(env: &Env, args: &[&str]) -> String {
    let started = Instant::now();
    let out = env.run(args);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{args:?} waited for the writer"
    );
    assert!(out.status.success(), "{args:?}: {}", text(&out));
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

fn json(env: &Env, args: &[&str]) -> serde_json::Value {
    let out = read(env, args);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?} is not JSON ({e}): {out}"))
}

fn ids(list: &serde_json::Value) -> Vec<i64> {
    list.as_array()
        .expect("a JSON array")
        .iter()
        .map(|a| a["id"].as_i64().expect("id"))
        .collect()
}

fn assert_fits_80_columns(args: &[&str], out: &str) {
    for line in out.lines() {
        assert!(
            line.width() <= 80,
            "{args:?}: a line of {} columns: {line}",
            line.width()
        );
    }
}

fn failed(out: &Output, code: i32, message: &str) {
    assert_eq!(out.status.code(), Some(code), "{}", text(out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(message),
        "{}",
        text(out)
    );
}

/// A `feed_health` row: name, active, consecutive failures, last error, whether it ever
/// succeeded, whether its next poll is set, articles.
type Health = (String, bool, i64, Option<String>, bool, bool, i64);

#[test]
fn the_views_answer_for_a_database_built_by_the_pipeline() {
    let Built { env, story, seed } = build();
    let db = env.db();

    let articles = env.count("SELECT COUNT(*) FROM articles");
    assert_eq!(articles, 4, "the seed, the story and two KCNA items");
    assert_eq!(env.count("SELECT COUNT(*) FROM latest_revisions"), articles);
    let latest: (
        String,
        Option<String>,
        String,
        String,
        i64,
        i64,
        String,
        Option<f64>,
    ) = db
        .query_row(
            "SELECT title, url, origin, feed, revision_number, revision_count, body_kind,
                    topic_score
             FROM latest_revisions WHERE article_id = ?1",
            [story],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                ))
            },
        )
        .expect("the story's latest revision");
    assert_eq!(latest.0, LONG_TITLE);
    assert!(latest.1.is_some_and(|u| !u.contains("utm_")));
    assert_eq!(
        (latest.2.as_str(), latest.3.as_str(), latest.4, latest.5),
        ("feed", "NK News", 2, 2)
    );
    assert_eq!(latest.6, "content");
    assert_eq!(latest.7, Some(1.0));
    let revision_id: i64 = db
        .query_row(
            "SELECT revision_id FROM latest_revisions WHERE article_id = ?1",
            [story],
            |r| r.get(0),
        )
        .expect("revision id");
    assert_eq!(
        revision_id,
        env.count(&format!(
            "SELECT id FROM revisions WHERE article_id = {story} AND number = 2"
        ))
    );
    let seed_row: (String, Option<String>, i64) = db
        .query_row(
            "SELECT origin, feed, revision_number FROM latest_revisions WHERE article_id = ?1",
            [seed],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("the seed");
    assert_eq!(seed_row, ("seed".to_owned(), None, 1));

    let (alert, article, title, feed, from, to, added, removed, title_changed): (
        String,
        i64,
        String,
        String,
        i64,
        i64,
        i64,
        i64,
        bool,
    ) = db
        .query_row(
            "SELECT alert_id, article_id, title, feed, from_revision, to_revision, words_added,
                    words_removed, title_changed
             FROM changes",
            [],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                ))
            },
        )
        .expect("exactly one change");
    assert_eq!(env.count("SELECT COUNT(*) FROM changes"), 1);
    assert_eq!(
        alert,
        db.query_row("SELECT id FROM alerts WHERE kind = 'changed'", [], |r| {
            r.get::<_, String>(0)
        })
        .expect("alert")
    );
    assert_eq!(
        (article, title.as_str(), feed.as_str()),
        (story, LONG_TITLE, "NK News")
    );
    assert_eq!((from, to), (1, 2));
    assert!(added >= 4 && removed >= 1, "+{added} -{removed}");
    assert!(!title_changed);
    // The README's "what was edited today, and how much?".
    let today: (i64, i64, i64) = db
        .query_row(
            "SELECT COUNT(*), SUM(words_added), SUM(words_removed) FROM changes
             WHERE created_at >= date('now')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("today's changes");
    assert_eq!(today, (1, added, removed));

    let mut stmt = db
        .prepare(
            "SELECT name, active, consecutive_failures, last_error, last_success_at IS NOT NULL,
                    next_poll_at IS NOT NULL, articles
             FROM feed_health ORDER BY name",
        )
        .expect("feed_health");
    let health: Vec<Health> = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(health.len(), 3, "{health:?}");
    let (name, active, failures, error, succeeded, scheduled, articles) = &health[0];
    assert_eq!(
        (
            name.as_str(),
            *active,
            *failures,
            *succeeded,
            *scheduled,
            *articles
        ),
        ("Broken", true, 2, false, true, 0)
    );
    assert!(
        error.as_deref().is_some_and(|e| e.contains("503")),
        "{error:?}"
    );
    assert_eq!(
        health[1..],
        [
            ("KCNA Watch".to_owned(), true, 0, None, true, true, 2),
            ("NK News".to_owned(), true, 0, None, true, true, 1),
        ]
    );
}

#[test]
fn read_commands_answer_while_another_connection_writes() {
    let Built { env, story, seed } = build();
    let writer = hold_write_lock(&env);
    let story_arg = story.to_string();

    // feeds: the committed feeds only, healthy, in 80 columns.
    let feeds = read(&env, &["feeds"]);
    assert!(
        feeds.contains("NK News") && feeds.contains("KCNA Watch"),
        "{feeds}"
    );
    assert!(!feeds.contains("Uncommitted"), "{feeds}");
    assert_eq!(
        feeds.lines().filter(|l| l.contains("  ok  ")).count(),
        2,
        "{feeds}"
    );
    let broken = feeds
        .lines()
        .position(|l| l.starts_with("Broken "))
        .expect("Broken");
    let lines: Vec<&str> = feeds.lines().collect();
    assert!(lines[broken].contains("  2 failures  "), "{feeds}");
    assert!(
        lines[broken + 1].starts_with("    last error: ") && lines[broken + 1].contains("503"),
        "{feeds}"
    );
    assert_fits_80_columns(&["feeds"], &feeds);
    let feeds = json(&env, &["feeds", "--json"]);
    let feeds = feeds.as_array().expect("array");
    assert_eq!(feeds.len(), 3);
    assert!(
        feeds
            .iter()
            .any(|f| f["name"] == "NK News" && f["articles"] == 1)
    );

    // articles: all of them, newest first, the long titles cut to fit.
    let table = read(&env, &["articles"]);
    assert_fits_80_columns(&["articles"], &table);
    assert!(table.lines().count() >= 5, "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.trim_start().starts_with(&format!("{story} "))
                && l.contains("North Korea and Russia sign")
                && l.ends_with('…')),
        "{table}"
    );
    assert!(table.contains("전국탁구선수권대회가"), "{table}");
    let all = json(&env, &["articles", "--json"]);
    assert_eq!(ids(&all).len(), 4);
    assert_eq!(ids(&all).last(), Some(&seed), "the seed was seen first");
    let row = all
        .as_array()
        .and_then(|a| a.iter().find(|a| a["id"] == story))
        .expect("the story");
    assert_eq!(row["title"], LONG_TITLE);
    assert_eq!(row["revisions"], 2);
    assert_eq!(row["changes"], 1);
    assert_eq!(row["feed"], "NK News");

    // --changed: only the edited story, with its word counts.
    let changed = json(&env, &["articles", "--changed", "--json"]);
    assert_eq!(ids(&changed), vec![story]);
    let (added, removed) = (
        changed[0]["words_added"].clone(),
        changed[0]["words_removed"].clone(),
    );
    let table = read(&env, &["articles", "--changed"]);
    assert_fits_80_columns(&["articles", "--changed"], &table);
    assert!(table.contains(&format!("+{added} -{removed}")), "{table}");
    assert_eq!(table.lines().count(), 2, "{table}");

    // --feed, any case; an unknown feed is named as such.
    assert_eq!(
        ids(&json(&env, &["articles", "--feed", "NK News", "--json"])),
        vec![story]
    );
    let kcna = ids(&json(&env, &["articles", "--feed", "kcna watch", "--json"]));
    assert_eq!(kcna.len(), 2);
    assert!(!kcna.contains(&story));
    failed(
        &env.run(&["articles", "--feed", "Nope"]),
        1,
        "no feed named \"Nope\"",
    );

    // --since: dates, RFC 3339 times and durations ago.
    assert_eq!(
        ids(&json(
            &env,
            &["articles", "--since", "2000-01-01", "--json"]
        ))
        .len(),
        4
    );
    assert_eq!(
        ids(&json(
            &env,
            &["articles", "--since", "2999-01-01", "--json"]
        ))
        .len(),
        0
    );
    assert_eq!(
        ids(&json(
            &env,
            &["articles", "--since", "2999-01-01T00:00:00+09:00", "--json"]
        ))
        .len(),
        0
    );
    let recent = ids(&json(&env, &["articles", "--since", "1h", "--json"]));
    assert!(recent.contains(&story), "{recent:?}");
    assert_eq!(
        ids(&json(
            &env,
            &["articles", "--changed", "--since", "today", "--json"]
        )),
        vec![story]
    );
    assert_eq!(
        ids(&json(
            &env,
            &["articles", "--changed", "--since", "2999-01-01", "--json"]
        ))
        .len(),
        0
    );
    failed(
        &env.run(&["articles", "--since", "soonish"]),
        2,
        "is not a date",
    );

    // history: both revisions, the second alerted.
    let history = read(&env, &["history", &story_arg]);
    assert!(
        history.starts_with(&format!("article {story}: {LONG_TITLE}\n")),
        "{history}"
    );
    let rows: Vec<&str> = history
        .lines()
        .filter(|l| l.contains("  content  "))
        .collect();
    assert_eq!(rows.len(), 2, "{history}");
    assert!(rows[0].trim_start().starts_with('1') && rows[0].contains("first content text"));
    assert!(
        rows[1].trim_start().starts_with('2')
            && rows[1].contains(&format!("+{added} -{removed} words, alerted")),
        "{history}"
    );
    let history = json(&env, &["history", &story_arg, "--json"]);
    let revisions = history["revisions"].as_array().expect("revisions");
    assert_eq!(revisions.len(), 2);
    // The first revision raised the `new` alert, the second the `changed` one.
    assert_eq!(revisions[0]["alert_kind"], "new");
    assert_eq!(revisions[1]["alert_kind"], "changed");
    assert!(revisions[1]["alert_id"].is_string());
    assert_eq!(revisions[1]["compared_with"], 1);
    assert_eq!(revisions[1]["words_added"], added);

    // diff: the last two revisions, plain because stdout is a pipe.
    let diff = read(&env, &["diff", &story_arg]);
    assert!(!diff.contains('\x1b'), "{diff}");
    assert!(diff.contains("revision 1 ("), "{diff}");
    assert!(
        diff.contains(&format!("{added} words added, {removed} removed")),
        "{diff}"
    );
    assert!(diff.contains("@@ paragraph 3 @@\n"), "{diff}");
    assert!(
        diff.contains(
            "The bridge is expected to open in [-2026.-]{+2027, officials said “soon”.+}\n"
        ),
        "{diff}"
    );
    assert!(
        !diff.contains("Moscow will pay"),
        "unchanged paragraphs shown: {diff}"
    );
    assert_eq!(read(&env, &["diff", &story_arg, "1", "2"]), diff);
    let unified = read(&env, &["diff", &story_arg, "--format", "unified"]);
    assert!(
        unified.contains("--- revision 1\n+++ revision 2\n"),
        "{unified}"
    );
    assert!(
        unified.contains("\n-The bridge is expected to open in 2026.\n"),
        "{unified}"
    );
    assert!(
        unified.contains("\n+The bridge is expected to open in 2027, officials said “soon”.\n"),
        "{unified}"
    );
    let diff = json(&env, &["diff", &story_arg, "--format", "json"]);
    assert_eq!(
        (diff["from"]["number"].clone(), diff["to"]["number"].clone()),
        (1.into(), 2.into())
    );
    assert_eq!(diff["words_added"], added);
    assert_eq!(diff["title_changed"], false);
    assert!(diff["title"].is_null());
    let hunks = diff["hunks"].as_array().expect("hunks");
    assert_eq!(hunks.len(), 1);
    assert_eq!(hunks[0]["new_first"], 3);
    let segments = hunks[0]["segments"].as_array().expect("segments");
    let removed = serde_json::json!({"op": "removed", "text": "2026."});
    let at = segments.iter().position(|s| *s == removed);
    assert!(
        at.is_some_and(|i| segments.get(i + 1)
            == Some(&serde_json::json!({"op": "added", "text": "2027, officials said “soon”."}))),
        "{diff}"
    );

    failed(
        &env.run(&["diff", &seed.to_string()]),
        1,
        "only one revision",
    );
    failed(
        &env.run(&["diff", &story_arg, "1", "5"]),
        1,
        "has no revision 5",
    );
    failed(&env.run(&["history", "9999"]), 1, "no article 9999");

    // alerts, report and export read beside the writer too.
    let alerts = read(&env, &["alerts"]);
    assert!(
        alerts.contains("changed") && alerts.contains("new"),
        "{alerts}"
    );
    let report = read(&env, &["report", &story_arg]);
    assert!(report.contains("<del>2026.</del>"), "{report}");
    let atom = read(&env, &["export", "atom"]);
    let feed = feed_rs::parser::parse(atom.as_bytes()).expect("the export parses");
    assert!(
        feed.entries.iter().any(|e| e
            .title
            .as_ref()
            .is_some_and(|t| t.content.contains(LONG_TITLE))),
        "{atom}"
    );

    // The writer was never in the way, and its row is still uncommitted.
    writer.execute_batch("ROLLBACK").expect("rollback");
}

#[test]
fn a_database_without_the_views_is_refused_with_the_way_forward() {
    let env = Env::start();
    env.write_config(&[], "");
    let out = env.run(&["migrate"]);
    assert!(out.status.success(), "{}", text(&out));
    // As a database last migrated by an older storywatch would be.
    env.db()
        .execute_batch(
            "DROP VIEW latest_revisions; DROP VIEW changes; DROP VIEW feed_health;
             DROP VIEW page_health; DROP TABLE page_html; DROP TABLE pages;
             ALTER TABLE feeds DROP COLUMN body_hash;
             DELETE FROM schema_migrations WHERE version >= 3;",
        )
        .expect("downgrade");
    failed(&env.run(&["articles"]), 1, "run `storywatch migrate`");
    let out = env.run(&["migrate"]);
    assert!(out.status.success(), "{}", text(&out));
    let articles = read(&env, &["articles"]);
    assert!(articles.contains("(seed)"), "{articles}");
}
