//! The differential test against Python's feedparser, the reference of feed readers: over a
//! corpus of real-world feeds (`tests/fixtures/feeds-real/`, each file's source in its
//! `MANIFEST.tsv`), storywatch's feed stage must keep at least as many distinct entries as
//! feedparser finds (`feedparser-counts.tsv`, made by `feedparser_counts.py` there, so CI
//! needs no Python), for every file not on the allow-list (`ALLOWLIST.tsv`, each with its
//! reason). An allow-listed file that is no longer short fails too, so the list stays true.
//!
//! `STORYWATCH_FEED_CORPUS=DIR` runs it on another folder of the same layout (a held-out
//! set); `--nocapture` prints the figures and every file that is short.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::Utc;
use storywatch::model::BodyKind;
use url::Url;

/// A file's counts: feedparser's distinct entries, and the reason it may be short.
struct Expected {
    distinct: usize,
    allowed: Option<String>,
}

fn corpus_dir() -> PathBuf {
    std::env::var_os("STORYWATCH_FEED_CORPUS").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/feeds-real"),
        PathBuf::from,
    )
}

/// The rows of a TSV file with a header line; `#` lines are comments.
fn tsv_rows(path: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .skip(1)
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect()
}

fn expectations(dir: &Path) -> HashMap<String, Expected> {
    let mut expected: HashMap<String, Expected> = tsv_rows(&dir.join("feedparser-counts.tsv"))
        .into_iter()
        .map(|row| {
            let distinct = row[2].parse().expect("a count");
            (
                row[0].clone(),
                Expected {
                    distinct,
                    allowed: None,
                },
            )
        })
        .collect();
    let allow = dir.join("ALLOWLIST.tsv");
    if allow.exists() {
        for row in tsv_rows(&allow) {
            let entry = expected
                .get_mut(&row[0])
                .unwrap_or_else(|| panic!("ALLOWLIST.tsv names {}, which has no count", row[0]));
            let reason = row.get(1).cloned().unwrap_or_default();
            assert!(
                !reason.trim().is_empty(),
                "{}: allowed without a reason",
                row[0]
            );
            entry.allowed = Some(reason);
        }
    }
    expected
}

#[test]
fn real_feeds_keep_every_entry_feedparser_finds() {
    let dir = corpus_dir();
    let expected = expectations(&dir);
    let manifest: Vec<String> = tsv_rows(&dir.join("MANIFEST.tsv"))
        .into_iter()
        .map(|row| row[0].clone())
        .collect();
    let url = Url::parse("https://corpus.example.org/feed").expect("url");
    let (mut files, mut wanted, mut kept_total) = (0usize, 0usize, 0usize);
    let mut short = Vec::new();
    let mut failures = Vec::new();
    let mut names: Vec<&String> = expected.keys().collect();
    names.sort();
    for name in names {
        let want = &expected[name];
        assert!(
            manifest.contains(name),
            "{name} is counted but not in MANIFEST.tsv"
        );
        let path = dir.join("files").join(name);
        let body = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let kept = match storywatch::feed::parse_feed(&body, None, &url, Utc::now()) {
            Ok(parsed) => parsed.items.len(),
            Err(error) if want.distinct > 0 => {
                eprintln!("feed corpus | {name}: {error}");
                0
            }
            Err(_) => 0,
        };
        files += 1;
        wanted += want.distinct;
        kept_total += kept.min(want.distinct);
        if kept < want.distinct {
            short.push(format!("{name}: {kept} of {}", want.distinct));
            if want.allowed.is_none() {
                failures.push(format!(
                    "{name}: kept {kept} of feedparser's {}",
                    want.distinct
                ));
            }
        } else if let Some(reason) = &want.allowed {
            failures.push(format!(
                "{name}: allow-listed ({reason}) but no longer short ({kept} of {}): remove it",
                want.distinct
            ));
        }
    }
    let share = if wanted == 0 {
        1.0
    } else {
        kept_total as f64 / wanted as f64
    };
    eprintln!(
        "feed corpus | {files} files, {wanted} distinct entries per feedparser, {kept_total} kept \
         ({:.2}%), {} files short",
        share * 100.0,
        short.len()
    );
    for line in &short {
        eprintln!("feed corpus | short: {line}");
    }
    assert!(files > 0, "no files in {}", dir.display());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The liberal reader reads a document as feed-rs does wherever feed-rs reads it all: a feed
/// read liberally on one poll (one bad item) and strictly on the next (the item gone) keeps
/// its stories' identities and texts, so nothing is new or edited twice. Compared over the
/// corpus files feed-rs reads without recovery.
#[test]
fn the_liberal_reader_gives_the_items_feed_rs_gives() {
    let dir = corpus_dir();
    let url = Url::parse("https://corpus.example.org/feed").expect("url");
    let now = Utc::now();
    let (mut compared, mut items_compared) = (0, 0);
    let mut differences = Vec::new();
    let mut names: Vec<String> = expectations(&dir).into_keys().collect();
    names.sort();
    for name in names {
        let body = std::fs::read(dir.join("files").join(&name)).expect("corpus file");
        let Ok(strict) = storywatch::feed::parse_feed(&body, None, &url, now) else {
            continue;
        };
        if strict.recovery.is_some() {
            continue;
        }
        let liberal = storywatch::feed::parse_feed_liberally(&body, None, &url, now)
            .unwrap_or_else(|e| panic!("{name}: feed-rs reads it, the liberal reader fails: {e}"));
        compared += 1;
        items_compared += strict.items.len();
        if liberal.len() != strict.items.len() {
            differences.push(format!(
                "{name}: {} items strictly, {} liberally",
                strict.items.len(),
                liberal.len()
            ));
            continue;
        }
        for (s, l) in strict.items.iter().zip(&liberal) {
            // Identity must agree. A title, body or date feed-rs lost or cut (unescaped HTML in
            // a title or description, markup beside CDATA, `content:encoded` it skipped, a
            // date format it does not know) may be there liberally: more text, not another.
            // And HTML escaped inside unescaped HTML (Reddit's descriptions) is decoded once by
            // the liberal reader, as an XHTML reader would, where feed-rs decodes it twice.
            let richer_body = l.body.starts_with(&s.body)
                || (s.body_kind == BodyKind::Summary && l.body_kind == BodyKind::Content)
                || ["&lt;", "&gt;", "&amp;"].iter().any(|e| l.body.contains(e));
            // The anonymous key is made of the title (else body) and date, so it differs where
            // the title does.
            let strong = |keys: &[storywatch::model::ArticleKey]| {
                keys.iter()
                    .filter(|k| !k.0.starts_with("anon:"))
                    .cloned()
                    .collect::<Vec<_>>()
            };
            let keys_agree = if s.title == l.title {
                s.keys == l.keys
            } else {
                strong(&s.keys) == strong(&l.keys)
            };
            let field = if !keys_agree {
                Some(format!("keys {:?} / {:?}", s.keys, l.keys))
            } else if !l.title.starts_with(&s.title) {
                Some(format!("title {:?} / {:?}", s.title, l.title))
            } else if s.content_hash != l.content_hash && !richer_body {
                Some(format!(
                    "body ({:?}) {:?} / ({:?}) {:?}",
                    s.body_kind,
                    s.body.chars().take(120).collect::<String>(),
                    l.body_kind,
                    l.body.chars().take(120).collect::<String>()
                ))
            } else if s.published_at.is_some() && s.published_at != l.published_at {
                Some(format!("date {:?} / {:?}", s.published_at, l.published_at))
            } else {
                None
            };
            if let Some(field) = field {
                differences.push(format!("{name}: {field}"));
                break;
            }
        }
    }
    eprintln!(
        "feed corpus | liberal and strict readers compared on {compared} files, \
         {items_compared} items: {} files differ",
        differences.len()
    );
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}
