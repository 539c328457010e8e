//! What the parse-and-normalize stage promises about its output, checked on any input.
//!
//! Shared by the fuzz targets in `fuzz/fuzz_targets/` and by the regression test
//! `tests/it/fuzz_regressions.rs` (both include this file with `#[path]`), so an input the
//! fuzzer found and a fixture committed from it are judged by the same rules. Every check is a
//! property the code in `src/feed.rs` and `src/model.rs` states (see their docs), not a guess:
//! a violation is a bug in the stage, and a panic is one too.

// Each fuzz target uses one half of this file, the regression test both.
#![allow(dead_code)]

use std::collections::HashSet;

use chrono::{DateTime, TimeDelta, Utc};
use storywatch::feed::{canonical_url, content_hash, html_to_text, normalize_text, title_keys};
use storywatch::model::Item;
use unicode_normalization::is_nfc;
use url::Url;

/// The feed URL every input is parsed as coming from.
pub const FEED_URL: &str = "https://feeds.example.org/world/rss.xml";
/// The host part of [`FEED_URL`], as guid keys name it.
const FEED_HOST: &str = "feeds.example.org";

/// Longest normalized title and body, in bytes (`MAX_TITLE_LEN`, `MAX_BODY_LEN` in feed.rs).
const MAX_TITLE_LEN: usize = 2 * 1024;
const MAX_BODY_LEN: usize = 1024 * 1024;

/// The `Content-Type` charsets an input can pick with a first byte below 8 (see
/// [`split_input`]): none, the common ones, a wrong one and one that names no encoding.
const CHARSETS: [Option<&str>; 8] = [
    None,
    Some("utf-8"),
    Some("windows-1251"),
    Some("koi8-r"),
    Some("euc-kr"),
    Some("iso-8859-1"),
    Some("shift_jis"),
    Some("no-such-charset"),
];

/// The fixed "now" of every parse, so dates are judged the same on every run.
pub fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-28T12:00:00Z")
        .expect("a valid time")
        .with_timezone(&Utc)
}

/// Splits a fuzz input into the `Content-Type` charset and the body: a first byte below 8
/// (never the start of a feed) picks a charset from [`CHARSETS`] and is not part of the body;
/// anything else is all body, with no charset. So a real feed file is a valid input as it is.
pub fn split_input(data: &[u8]) -> (Option<&'static str>, &[u8]) {
    match data.first() {
        Some(&b) if usize::from(b) < CHARSETS.len() => (CHARSETS[usize::from(b)], &data[1..]),
        _ => (None, data),
    }
}

/// Parses `data` (see [`split_input`]) and checks every item; the parse itself may fail.
pub fn check_feed(data: &[u8]) {
    let (charset, body) = split_input(data);
    let url = Url::parse(FEED_URL).expect("a valid URL");
    let Ok(parsed) = storywatch::feed::parse_feed(body, charset, &url, now()) else {
        return;
    };
    let items = parsed.items;
    // A story listed twice is kept once, and a key that several entries share (a guid, a
    // link) identifies none of them: no two items share any key, or the store would join
    // them into one article.
    let mut keys = HashSet::new();
    for item in &items {
        check_item(item);
        for key in &item.keys {
            assert!(keys.insert(key), "two items with the key {key:?}");
        }
    }
    // Identity is stable: the same bytes give the same items (no invented random ids).
    let again = storywatch::feed::parse_feed(body, charset, &url, now());
    assert_eq!(
        again.ok().map(|p| p.items).as_ref(),
        Some(&items),
        "a second parse differs"
    );
}

/// The promises of [`Item`] and of `normalize_entry` in feed.rs.
pub fn check_item(item: &Item) {
    check_text(&item.title, "title", false);
    assert!(
        item.title.len() <= MAX_TITLE_LEN,
        "title of {} bytes",
        item.title.len()
    );
    check_text(&item.body, "body", true);
    assert!(
        item.body.len() <= MAX_BODY_LEN,
        "body of {} bytes",
        item.body.len()
    );

    // The hash is the hash of this title and body: 64 lower-case hex digits.
    assert_eq!(
        item.content_hash,
        content_hash(&item.title, &item.body),
        "content hash not of the item's text"
    );
    assert!(
        item.content_hash.len() == 64
            && item
                .content_hash
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "content hash {:?} is not hex SHA-256",
        item.content_hash
    );
    assert_eq!(
        item.title_keys,
        title_keys(&item.title),
        "title keys not of the title"
    );

    // Identity keys: never empty, strongest first, each a known kind with a value.
    assert!(!item.keys.is_empty(), "an item without keys");
    let distinct: HashSet<_> = item.keys.iter().collect();
    assert_eq!(
        distinct.len(),
        item.keys.len(),
        "repeated key in {:?}",
        item.keys
    );
    for key in &item.keys {
        let value = ["url:", "guid:", "anon:"]
            .iter()
            .find_map(|prefix| key.0.strip_prefix(prefix));
        assert!(
            value.is_some_and(|v| !v.is_empty()),
            "key {key:?} is not url:, guid: or anon: with a value"
        );
    }
    match &item.url {
        Some(url) => {
            // A link that several entries with distinct guids share is no key of theirs.
            let url_keys: Vec<_> = item
                .keys
                .iter()
                .filter(|k| k.0.starts_with("url:"))
                .collect();
            assert!(url_keys.len() <= 1, "several url keys: {:?}", item.keys);
            if !url_keys.is_empty() {
                assert_eq!(
                    item.keys[0].0,
                    format!("url:{url}"),
                    "url is not the first key"
                );
            }
            check_canonical_url(url);
        }
        None => assert!(
            item.keys.iter().all(|k| !k.0.starts_with("url:")),
            "url key without a url: {:?}",
            item.keys
        ),
    }
    if let Some(guid) = &item.guid {
        assert!(
            !guid.is_empty() && guid.trim() == guid,
            "guid {guid:?} is empty or not trimmed"
        );
    }
    for key in item.keys.iter().filter_map(|k| k.0.strip_prefix("guid:")) {
        let guid = key
            .strip_prefix(FEED_HOST)
            .and_then(|k| k.strip_prefix('/'));
        assert!(
            guid.is_some() && guid == item.guid.as_deref(),
            "guid key {key:?} is not of the item's guid {:?}",
            item.guid
        );
    }
    // A date more than a day ahead of now is unknown.
    if let Some(at) = item.published_at {
        assert!(
            at <= now() + TimeDelta::days(1),
            "date {at} far ahead was kept"
        );
    }
}

/// A canonical link: http(s), no fragment, no tracking parameter, and canonical again as it is.
fn check_canonical_url(url: &str) {
    assert!(
        url.starts_with("http://") || url.starts_with("https://"),
        "link {url:?} is not http(s)"
    );
    // An anchor is kept only where it tells apart entries sharing a page.
    let page = url.split('#').next().unwrap_or(url);
    assert_eq!(
        canonical_url(url, None).as_deref(),
        Some(page),
        "canonical link is not canonical"
    );
}

/// Text as `normalize_text` leaves it: NFC; no control or invisible character; the only
/// whitespace a single space between words, or in a body a single `\n` between lines (a title
/// has its line breaks made spaces); nothing to trim; and normalizing it again changes nothing.
pub fn check_text(text: &str, what: &str, newlines: bool) {
    assert!(is_nfc(text), "{what} is not NFC: {text:?}");
    for c in text.chars() {
        let allowed = c == ' ' || (newlines && c == '\n');
        assert!(
            allowed || !(c.is_control() || c.is_whitespace() || is_invisible(c)),
            "{what} holds {c:?}: {text:?}"
        );
    }
    for run in ["  ", "\n\n", " \n", "\n "] {
        assert!(!text.contains(run), "{what} holds {run:?}: {text:?}");
    }
    assert!(
        !text.starts_with([' ', '\n']) && !text.ends_with([' ', '\n']),
        "{what} is not trimmed: {text:?}"
    );
    assert_eq!(normalize_text(text), text, "{what} is not normalized");
}

/// `is_invisible` in feed.rs: characters that carry no visible text and are dropped.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{200B}'..='\u{200F}' | '\u{2060}' | '\u{FEFF}'
        | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `html_to_text` and `normalize_text` on any text: normalized output, `normalize_text`
/// idempotent, and text with no markup or entity (no `<`, no `&`) only normalized.
pub fn check_html(input: &str) {
    let text = html_to_text(input);
    check_text(&text, "html_to_text output", true);
    let normalized = normalize_text(input);
    check_text(&normalized, "normalize_text output", true);
    if !input.contains(['<', '&']) {
        assert_eq!(
            text, normalized,
            "text without markup changed beyond normalizing"
        );
    }
}
