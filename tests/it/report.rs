//! `report` and `export atom` on a database built by the real pipeline: a new story, then an
//! edit of its title and body. The outputs are checked by parsing them: the report as XML (it
//! is written to be well-formed), the Atom feed with feed-rs and as XML.

use roxmltree::{Document, Node, ParsingOptions};

use crate::{Env, feed, fixture, text};

const OLD_TITLE: &str = "North Korea and Russia sign deal on Tumen River road bridge";
const NEW_TITLE: &str = "North Korea & Russia sign deal on Tumen River road bridge";
const EDIT_FROM: &str = "<p>The bridge is expected to open in 2026.</p>";
/// The edit adds markup as text (`&lt;b&gt;` in the feed's HTML is the text "<b>"), which
/// every output must keep as text.
const EDIT_TO: &str = "<p>The bridge is expected to open in 2027, officials said, calling it &lt;b&gt;historic&lt;/b&gt;.</p>";

/// A database with one story (revision 1, a `new` alert) edited once (revision 2 with a new
/// title and body, a `changed` alert). Returns the article id.
fn edited_story(env: &Env) -> i64 {
    let original = fixture("nknews.xml");
    assert_eq!(original.matches(EDIT_FROM).count(), 1, "fixture changed");
    let old_title = format!("<title>{OLD_TITLE}</title>");
    assert_eq!(original.matches(&old_title).count(), 1, "fixture changed");
    env.server.feed("/nk.xml", original.clone());
    env.write_config(&[feed("NK News", "/nk.xml")], "");
    env.poll();
    let edited = original.replace(EDIT_FROM, EDIT_TO).replace(
        &old_title,
        "<title>North Korea &amp; Russia sign deal on Tumen River road bridge</title>",
    );
    env.server.feed("/nk.xml", edited);
    env.poll();
    assert_eq!(
        env.count("SELECT COUNT(*) FROM alerts WHERE kind = 'changed' AND title_changed = 1"),
        1,
        "the edit must raise a changed alert with a title change"
    );
    env.db()
        .query_row(
            "SELECT article_id FROM alerts WHERE kind = 'changed'",
            [],
            |r| r.get(0),
        )
        .expect("changed alert")
}

/// The text under `node`, leaving out what is inside `<skip>` elements: with `del` left out,
/// a compared text reads as the new revision; with `ins` left out, as the old one.
fn side(node: Node<'_, '_>, skip: &str) -> String {
    node.descendants()
        .filter(|n| n.is_text())
        .filter(|n| !n.ancestors().any(|a| a.has_tag_name(skip)))
        .filter_map(|n| n.text())
        .collect()
}

fn texts_of(node: Node<'_, '_>, tag: &str) -> Vec<String> {
    node.descendants()
        .filter(|n| n.has_tag_name(tag))
        .map(|n| side(n, "\0"))
        .collect()
}

fn stdout(out: &std::process::Output) -> String {
    assert!(out.status.success(), "{}", text(out));
    String::from_utf8(out.stdout.clone()).expect("utf-8")
}

#[test]
fn report_shows_every_revision_with_the_changed_words_marked() {
    let env = Env::start();
    let article = edited_story(&env);
    let url: String = env
        .db()
        .query_row("SELECT url FROM articles WHERE id = ?1", [article], |r| {
            r.get(0)
        })
        .expect("url");

    let html = stdout(&env.run(&["report", &article.to_string()]));
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    let options = ParsingOptions {
        allow_dtd: true,
        ..ParsingOptions::default()
    };
    let doc = Document::parse_with_options(&html, options)
        .unwrap_or_else(|e| panic!("report is not well-formed: {e}\n{html}"));
    let root = doc.root_element();
    assert!(root.has_tag_name("html"));

    // Self-contained: nothing to run, nothing to fetch, the only outside link is the story.
    let ids: Vec<&str> = doc
        .descendants()
        .filter_map(|n| n.attribute("id"))
        .collect();
    for node in doc.descendants().filter(|n| n.is_element()) {
        let name = node.tag_name().name();
        assert!(
            !matches!(
                name,
                "script" | "iframe" | "object" | "embed" | "img" | "link" | "base" | "form"
            ),
            "<{name}> in the report"
        );
        for attribute in node.attributes() {
            let key = attribute.name();
            assert!(key != "src" && !key.starts_with("on"), "{key} on <{name}>");
            if key == "href" {
                let href = attribute.value();
                match href.strip_prefix('#') {
                    Some(target) => assert!(ids.contains(&target), "dangling link {href}"),
                    None => assert_eq!(href, url, "a link that is not the story"),
                }
            }
        }
    }
    let style: String = texts_of(root, "style").concat();
    assert!(style.contains("@media print"), "not printable: {style}");
    assert!(!style.contains("url(") && !style.contains("@import"));

    // The article: current title, link, feed, terms.
    let h1 = texts_of(root, "h1");
    assert_eq!(h1, [NEW_TITLE]);
    assert!(html.contains(&format!("<a href=\"{}\">", url.replace('&', "&amp;"))));
    let dl = texts_of(root, "dd").join("\n");
    assert!(dl.contains("NK News"), "{dl}");
    assert!(dl.contains("North Korea") && dl.contains("Russia"), "{dl}");

    let section = |number: u32| {
        doc.descendants()
            .find(|n| n.attribute("id") == Some(&format!("r{number}")))
            .unwrap_or_else(|| panic!("no section for revision {number}"))
    };
    let (first, second) = (section(1), section(2));
    assert!(doc.descendants().all(|n| n.attribute("id") != Some("r3")));

    // Revision 1 has nothing to compare with: its own title, nothing marked.
    assert_eq!(texts_of(first, "h3"), [OLD_TITLE]);
    assert!(texts_of(first, "del").is_empty() && texts_of(first, "ins").is_empty());
    assert!(side(first, "\0").contains("open in 2026."));

    // Revision 2: the title change reads both ways, word by word.
    let title = second
        .descendants()
        .find(|n| n.has_tag_name("h3"))
        .expect("revision 2 title");
    assert_eq!(side(title, "del"), NEW_TITLE);
    assert_eq!(side(title, "ins"), OLD_TITLE);
    assert_eq!(texts_of(title, "del"), ["and"]);
    assert_eq!(texts_of(title, "ins"), ["&"]);

    // The body change: the old year struck, the new words added, markup kept as text.
    let removed = texts_of(second, "del").join(" | ");
    let added = texts_of(second, "ins").join(" | ");
    assert!(removed.contains("2026."), "removed: {removed}");
    assert!(
        added.contains("2027,") && added.contains("officials said"),
        "added: {added}"
    );
    assert!(added.contains("<b>historic</b>"), "added: {added}");
    assert!(doc.descendants().all(|n| !n.has_tag_name("b")));
    let body = second
        .descendants()
        .find(|n| n.attribute("class") == Some("text"))
        .expect("revision 2 text");
    assert!(
        side(body, "del").contains("open in 2027, officials said, calling it <b>historic</b>.")
    );
    assert!(side(body, "ins").contains("open in 2026."));
    // Unchanged paragraphs are there in full, unmarked.
    assert!(side(body, "\0").contains("Friendship Bridge"));
}

#[test]
fn report_of_a_missing_article_fails_and_a_bad_id_is_a_usage_error() {
    let env = Env::start();
    edited_story(&env);
    let out = env.run(&["report", "9999"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no article 9999"),
        "{}",
        text(&out)
    );
    assert!(out.stdout.is_empty());
    let out = env.run(&["report", "seven"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

/// An alert id as the feed's entry id: `urn:uuid:` and the 32 hex digits in 8-4-4-4-12.
fn uuid_urn(hex: &str) -> String {
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[test]
fn export_atom_lists_new_and_changed_alerts_newest_first() {
    let env = Env::start();
    let article = edited_story(&env);
    let url: String = env
        .db()
        .query_row("SELECT url FROM articles WHERE id = ?1", [article], |r| {
            r.get(0)
        })
        .expect("url");
    let alerts: Vec<(String, String, String)> = {
        let db = env.db();
        let mut stmt = db
            .prepare("SELECT id, kind, created_at FROM alerts ORDER BY seq DESC")
            .expect("alerts");
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .expect("alerts")
            .collect::<Result<_, _>>()
            .expect("alerts")
    };
    assert_eq!(alerts.len(), 2);
    assert_eq!(
        (alerts[0].1.as_str(), alerts[1].1.as_str()),
        ("changed", "new")
    );
    let time = |s: &str| {
        chrono::DateTime::parse_from_rfc3339(s)
            .expect("stored time")
            .with_timezone(&chrono::Utc)
    };

    let xml = stdout(&env.run(&["export", "atom"]));
    let feed = feed_rs::parser::parse(xml.as_bytes())
        .unwrap_or_else(|e| panic!("feed-rs cannot read the export: {e}\n{xml}"));
    assert_eq!(feed.feed_type, feed_rs::model::FeedType::Atom);
    assert!(feed.id.starts_with("urn:uuid:"), "{}", feed.id);
    assert_eq!(feed.updated, Some(time(&alerts[0].2)));
    assert!(
        feed.authors
            .iter()
            .any(|a| a.name.as_deref() == Some("storywatch"))
    );
    assert_eq!(feed.entries.len(), 2, "{xml}");

    let titles: Vec<String> = feed
        .entries
        .iter()
        .map(|e| {
            e.title
                .as_ref()
                .map(|t| t.content.clone())
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(
        titles,
        [format!("Changed: {NEW_TITLE}"), format!("New: {OLD_TITLE}")]
    );
    for (entry, (id, _, created_at)) in feed.entries.iter().zip(&alerts) {
        assert_eq!(entry.id, uuid_urn(id));
        assert_eq!(entry.updated, Some(time(created_at)));
        let authors: Vec<&str> = entry
            .authors
            .iter()
            .filter_map(|a| a.name.as_deref())
            .collect();
        assert_eq!(authors, ["NK News"]);
        let links: Vec<(&str, Option<&str>)> = entry
            .links
            .iter()
            .map(|l| (l.href.as_str(), l.rel.as_deref()))
            .collect();
        assert_eq!(links, [(url.as_str(), Some("alternate"))]);
    }

    // The changed entry carries the word-level diff as HTML; the story's markup stays text.
    let changed = feed.entries[0]
        .content
        .as_ref()
        .and_then(|c| c.body.clone())
        .expect("changed entry content");
    assert!(changed.contains("<del>2026.</del>"), "{changed}");
    assert!(
        changed
            .contains("<ins>2027, officials said, calling it &lt;b&gt;historic&lt;/b&gt;.</ins>"),
        "{changed}"
    );
    assert!(
        changed.contains("<del>and</del><ins>&amp;</ins>"),
        "{changed}"
    );
    assert!(
        !changed.contains("Friendship Bridge"),
        "unchanged paragraphs left out"
    );
    let new = feed.entries[1]
        .content
        .as_ref()
        .and_then(|c| c.body.clone())
        .expect("new entry content");
    assert!(
        new.contains("open in 2026.") && !new.contains("<del>"),
        "{new}"
    );

    // RFC 4287 as written, read strictly: every entry has one id, title, updated and author.
    let doc = Document::parse(&xml).unwrap_or_else(|e| panic!("not well-formed: {e}"));
    let root = doc.root_element();
    assert_eq!(
        (root.tag_name().namespace(), root.tag_name().name()),
        (Some("http://www.w3.org/2005/Atom"), "feed")
    );
    for entry in root.children().filter(|n| n.has_tag_name("entry")) {
        for required in ["id", "title", "updated", "author"] {
            assert_eq!(
                entry
                    .children()
                    .filter(|n| n.has_tag_name(required))
                    .count(),
                1,
                "entry {required}"
            );
        }
    }

    // Ids are stable: a second export names the feed and the entries the same.
    let again = feed_rs::parser::parse(stdout(&env.run(&["export", "atom"])).as_bytes())
        .expect("second export");
    assert_eq!(again.id, feed.id);
    let ids = |f: &feed_rs::model::Feed| f.entries.iter().map(|e| e.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&again), ids(&feed));
}

#[test]
fn export_atom_since_filters_by_date_and_rejects_a_bad_one() {
    let env = Env::start();
    edited_story(&env);
    let entries = |since: &str| {
        let xml = stdout(&env.run(&["export", "atom", "--since", since]));
        feed_rs::parser::parse(xml.as_bytes())
            .unwrap_or_else(|e| panic!("{since}: {e}\n{xml}"))
            .entries
            .len()
    };
    assert_eq!(entries("2999-01-01"), 0);
    assert_eq!(entries("2999-01-01T00:00:00Z"), 0);
    assert_eq!(entries("2000-01-01"), 2);
    assert_eq!(entries("2000-01-01T09:00:00+09:00"), 2);

    let out = env.run(&["export", "atom", "--since", "last week"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("2026-11-28"));
}
