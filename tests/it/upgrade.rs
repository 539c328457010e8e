//! A database made by the release before the identity changes of issue 12 keeps its articles
//! and history under the new binary. That release merged a podcast's episodes, which share one
//! `<link>`, into one article (6 episodes, 1 article, edited once); it is now one article per
//! guid, and the article it had keeps its id, its revisions and its alerts.

use crate::{Env, Feed, feed, fixture, text};

#[test]
fn a_database_from_the_previous_release_keeps_its_articles_and_history() {
    let env = Env::start();
    std::fs::create_dir_all(env.path("data")).expect("data folder");
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/upgrade/release-before-issue-12.db"
        ),
        env.path("data/storywatch.db"),
    )
    .expect("copy the old database");
    env.server
        .feed("/podcast.xml", fixture("upgrade/podcast-7.xml"));
    env.server.feed("/nknews.xml", fixture("nknews.xml"));
    env.write_config(
        &[
            Feed {
                name: "Podcast",
                path: "/podcast.xml",
                filter: "none",
            },
            feed("NK News", "/nknews.xml"),
        ],
        "",
    );
    assert_eq!(
        env.count("SELECT COUNT(*) FROM alerts"),
        3,
        "the old database as made"
    );
    let out = env.run(&["poll", "--all"]);
    assert!(out.status.success(), "{}", text(&out));

    // The old podcast article is the newest episode's, as before, with its two revisions.
    let (id, guid, revisions): (i64, String, i64) = env
        .db()
        .query_row(
            "SELECT a.id, a.guid, (SELECT COUNT(*) FROM revisions r WHERE r.article_id = a.id)
             FROM articles a WHERE a.id = 3",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("the old podcast article");
    assert_eq!(
        (id, guid.as_str(), revisions),
        (3, "korea-russia-hour-006", 2)
    );
    // Every episode is an article of its own now: the 5 the old release merged away and the
    // new one are new, and only they.
    assert_eq!(
        env.count(
            "SELECT COUNT(DISTINCT guid) FROM articles
             WHERE url = 'https://podcast.example.org/korea-russia-hour'"
        ),
        7
    );
    assert_eq!(
        env.count("SELECT COUNT(*) FROM articles WHERE url = 'https://podcast.example.org/korea-russia-hour'"),
        7
    );
    assert_eq!(
        env.count("SELECT COUNT(*) FROM alerts WHERE kind = 'new'") - 2,
        6
    );
    assert_eq!(
        env.count("SELECT COUNT(*) FROM alerts WHERE kind = 'changed'"),
        1
    );
    // The seed and the NK News story are untouched: no second seed, no new revision.
    assert_eq!(
        env.count("SELECT COUNT(*) FROM articles WHERE origin = 'seed'"),
        1
    );
    assert_eq!(
        env.count("SELECT COUNT(*) FROM revisions WHERE article_id IN (1, 2)"),
        2
    );
    assert_eq!(
        env.count("SELECT COUNT(*) FROM alerts WHERE article_id IN (1, 2)"),
        1,
        "the NK News story's one new alert, from the old release"
    );

    // The same feeds again (re-sent, so parsed again): nothing new, nothing changed.
    env.server.feed(
        "/podcast.xml",
        format!("{}\n", fixture("upgrade/podcast-7.xml")),
    );
    let alerts = env.count("SELECT COUNT(*) FROM alerts");
    env.poll();
    assert_eq!(env.count("SELECT COUNT(*) FROM alerts"), alerts);
    let integrity: String = env
        .db()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity");
    assert_eq!(integrity, "ok");
}
