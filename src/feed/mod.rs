//! The parse and normalize stage.
//!
//! Takes the raw bytes of a fetched feed (RSS 0.9x/1.0/2.0, Atom 0.3/1.0 or JSON Feed), the
//! charset the server declared and the feed's URL; gives one [`Item`] per entry with a stable
//! identity and comparable text:
//! - bytes to UTF-8 first: a byte-order mark, else UTF-8 when the bytes are valid UTF-8, else
//!   the XML declaration's `encoding`, else the `Content-Type` charset, else a `<meta charset>`,
//!   else UTF-8 with U+FFFD for the bytes that are not (so one broken item does not sink the
//!   others). Russian and Korean publishers still serve windows-1251, KOI8-R and EUC-KR;
//!   encoding_rs implements the WHATWG Encoding Standard's decoders for them;
//! - feed-rs reads the document; when it rejects it, panics on it (quietly: see
//!   [`catch_quietly`]) or finds fewer entries than the document holds, the [`liberal`] reader
//!   reads it as feedparser would, and the caller is told why ([`Recovery`]);
//! - DTDs are never read and entities beyond XML's five and character references are never
//!   expanded (quick-xml and the liberal reader leave them as text), so billion-laughs and
//!   external-entity documents parse harmlessly;
//! - identity in layers: the canonical link, else the feed's guid, else (an entry with
//!   neither) a key from its title (else body, else enclosure) and date, because feed-rs would
//!   otherwise invent a random id and the entry would be "new" on every poll; an entry with a
//!   guid but no link has that key as well, so a reissued guid finds its story again. The keys
//!   of one document are judged together ([`distinct_stories`]): a guid, or a link of entries
//!   with distinct guids, that several entries share identifies none of them;
//! - text: HTML to plain text (blocks to lines, scripts and styles dropped, entities
//!   decoded: feed-rs leaves `&nbsp;` and friends as they are), Unicode NFC, invisible and
//!   control characters dropped and whitespace collapsed;
//! - a content hash over a form that also folds quote styles, so an edit of whitespace,
//!   quotes, soft hyphens or invisible characters is not an edit;
//! - bounds: a title is cut at 2 KiB and a body at 1 MiB of text (the raw HTML at four times
//!   that before conversion). No news story is longer, and every later stage (topic scan,
//!   hash, diff, store) then works on bounded text whatever a feed sends;
//! - distrust of what publishers get wrong: a date more than a day ahead of `now` is unknown
//!   (never trusted for ordering), and a story listed twice is kept once.
//!
//! It does not judge relevance (topic) or compare with earlier revisions (store, diff).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::panic::AssertUnwindSafe;

use chrono::{DateTime, TimeDelta, Utc};
use encoding_rs::Encoding;
use sha2::{Digest, Sha256};
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};
use url::Url;

use crate::model::{ArticleKey, BodyKind, Item};

pub mod liberal;

/// Errors of the parse stage.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("not a feed: {reason}")]
    NotAFeed { reason: String },
}

/// Query parameters that only track where a reader came from; dropped from canonical links.
const TRACKING_PARAMS: &[&str] = &[
    "fbclid",
    "gclid",
    "dclid",
    "gbraid",
    "wbraid",
    "msclkid",
    "mc_cid",
    "mc_eid",
    "igshid",
    "_ga",
    "_gl",
    "yclid",
    "ref_src",
    "cmpid",
    "ocid",
    "mkt_tok",
    "oly_enc_id",
    "oly_anon_id",
    "__twitter_impression",
    "spm",
    "rss",
    "ito",
];

/// Elements whose content is never text.
const SKIPPED_ELEMENTS: &[&str] = &[
    "script", "style", "noscript", "template", "iframe", "svg", "head", "object", "math", "select",
    "textarea",
];

/// Elements that start a new line.
const BLOCK_ELEMENTS: &[&str] = &[
    "p",
    "div",
    "br",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "tr",
    "section",
    "article",
    "figure",
    "figcaption",
    "pre",
    "hr",
    "table",
    "header",
    "footer",
    "aside",
    "nav",
    "dd",
    "dt",
    "dl",
    "main",
    "address",
    "details",
    "summary",
    "caption",
    "tbody",
    "thead",
    "tfoot",
];

/// A digest of a feed body as fetched: equal digests mean equal bytes, which parse to equal
/// items, so a body seen before need not be parsed again.
pub fn body_digest(body: &[u8]) -> String {
    sha256_hex(body)
}

/// How far ahead of `now` a publication date may be before it is taken for a mistake (time
/// zones and clocks that run a little fast stay within it).
const FUTURE_TOLERANCE: TimeDelta = TimeDelta::days(1);

/// The most text kept of an entry's title and body, in bytes (cut at a character boundary).
const MAX_TITLE_LEN: usize = 2 * 1024;
const MAX_BODY_LEN: usize = 1024 * 1024;
/// Markup is most of an HTML body: raw HTML is cut at four times the text kept from it.
const RAW_PER_TEXT: usize = 4;

/// How much of the start of a body is searched for an XML declaration or `<meta charset>`.
const SNIFF_LEN: usize = 1024;

/// A parsed feed: its items, and how the document was read when feed-rs could not read it all.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub items: Vec<Item>,
    /// Set when the liberal reader read the document (see [`liberal`]): feed-rs rejected it,
    /// panicked on it or found fewer entries than it holds.
    pub recovery: Option<Recovery>,
}

/// Why a document was read by the liberal reader rather than by feed-rs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// What feed-rs said (or the panic message of the XML parser inside it).
    pub cause: String,
    /// Whether feed-rs (or quick-xml inside it) panicked, which is a bug of theirs worth a
    /// warning, where a rejected document is the publisher's.
    pub panicked: bool,
}

/// One entry as a parser read it, before normalization: what feed-rs's model and the liberal
/// reader both give.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawEntry {
    /// The feed's guid or id (empty when it gave none).
    pub id: String,
    /// The title, as text or HTML.
    pub title: Option<String>,
    /// Links with their `rel`, in document order.
    pub links: Vec<(String, Option<String>)>,
    /// The full content, as HTML.
    pub content: Option<String>,
    /// The summary or description, as HTML.
    pub summary: Option<String>,
    pub published: Option<DateTime<Utc>>,
    pub updated: Option<DateTime<Utc>>,
    /// The URL of the first enclosure (a podcast episode's file): no link, but an identity.
    pub enclosure: Option<String>,
}

impl From<feed_rs::model::Entry> for RawEntry {
    fn from(entry: feed_rs::model::Entry) -> Self {
        RawEntry {
            id: entry.id,
            title: entry.title.map(|t| t.content),
            links: entry.links.into_iter().map(|l| (l.href, l.rel)).collect(),
            content: entry.content.and_then(|c| c.body),
            summary: entry.summary.map(|s| s.content),
            published: entry.published,
            updated: entry.updated,
            enclosure: entry
                .media
                .into_iter()
                .flat_map(|m| m.content)
                .find_map(|c| c.url)
                .map(String::from),
        }
    }
}

/// Parses a feed body and normalizes every entry. `charset` is the `Content-Type` header's,
/// if any; `now` bounds the publication dates believed. feed-rs reads the document first;
/// when it rejects it, panics, or finds fewer entries than the document holds, the liberal
/// reader reads it as feedparser would. Every entry is kept, whatever it lacks (see
/// [`anonymous_key`]), once per story.
pub fn parse_feed(
    body: &[u8],
    charset: Option<&str>,
    feed_url: &Url,
    now: DateTime<Utc>,
) -> Result<Parsed, Error> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::NotAFeed {
            reason: "the body is empty".into(),
        });
    }
    let text = to_utf8(body, charset);
    let (entries, recovery) = match read_strictly(text.as_bytes(), feed_url) {
        // None at all is worth a second look too: entry tags in another case (`<Item>`), or
        // in a dialect feed-rs does not know.
        Ok(entries) if !entries.is_empty() && entries.len() >= liberal::count_entry_tags(&text) => {
            (entries, None)
        }
        Ok(entries) => match liberal::read_entries(&text) {
            Ok(more) if more.len() > entries.len() => {
                let cause = format!(
                    "feed-rs read {} of the document's {} entries",
                    entries.len(),
                    more.len()
                );
                let panicked = false;
                (more, Some(Recovery { cause, panicked }))
            }
            _ => (entries, None),
        },
        Err(recovery) => match liberal::read_entries(&text) {
            Ok(entries) => (entries, Some(recovery)),
            Err(liberal::NotAFeed(reason)) => {
                let reason = if recovery.panicked {
                    format!("the XML parser failed: {}", recovery.cause)
                } else {
                    format!("{reason} ({})", recovery.cause)
                };
                return Err(Error::NotAFeed { reason });
            }
        },
    };
    Ok(Parsed {
        items: normalize_entries(entries, feed_url, now),
        recovery,
    })
}

/// Parses a feed body with the liberal reader alone, as [`parse_feed`] does when feed-rs
/// fails. For tests that hold the two readers to the same items, and for looking into a feed.
pub fn parse_feed_liberally(
    body: &[u8],
    charset: Option<&str>,
    feed_url: &Url,
    now: DateTime<Utc>,
) -> Result<Vec<Item>, Error> {
    let entries = liberal::read_entries(&to_utf8(body, charset))
        .map_err(|liberal::NotAFeed(reason)| Error::NotAFeed { reason })?;
    Ok(normalize_entries(entries, feed_url, now))
}

/// Normalizes the entries of one document and keeps one item per story.
fn normalize_entries(entries: Vec<RawEntry>, feed_url: &Url, now: DateTime<Utc>) -> Vec<Item> {
    let host = feed_url.host_str().unwrap_or_default().to_ascii_lowercase();
    let latest = now + FUTURE_TOLERANCE;
    let entries = entries
        .into_iter()
        .map(|entry| normalize_entry(entry, feed_url, &host, latest))
        .collect();
    distinct_stories(entries, &host)
}

/// The entries feed-rs reads, or why it read none.
fn read_strictly(body: &[u8], feed_url: &Url) -> Result<Vec<RawEntry>, Recovery> {
    let parser = feed_rs::parser::Builder::new()
        .base_uri(Some(feed_url.as_str()))
        // feed-rs invents an id for an entry without one (a hash of link and title, which
        // changes with the title, or a random UUID); an empty id tells us there was none.
        .id_generator(|_, _, _| String::new())
        .build();
    // quick-xml (inside feed-rs) asserts instead of failing on some malformed documents: an XML
    // declaration naming another encoding after the start of the document panics it. That is
    // this document's parse error, not the poller's; nothing outlives the call to be left
    // inconsistent by the unwinding.
    match catch_quietly(|| parser.parse(body)) {
        Ok(Ok(feed)) => Ok(feed.entries.into_iter().map(RawEntry::from).collect()),
        Ok(Err(error)) => Err(Recovery {
            cause: error.to_string(),
            panicked: false,
        }),
        Err(message) => Err(Recovery {
            cause: message,
            panicked: true,
        }),
    }
}

thread_local! {
    /// Set while [`catch_quietly`] runs its closure on this thread.
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f`, catching a panic as its message. The panic is not printed: Rust's default hook
/// writes `thread '…' panicked at …` (and a backtrace) to stderr, which journald shows as a
/// crash, where the caller reports it as one log line. Panics elsewhere print as before.
pub(crate) fn catch_quietly<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(std::cell::Cell::get) {
                previous(info);
            }
        }));
    });
    QUIET.with(|q| q.set(true));
    let result = std::panic::catch_unwind(AssertUnwindSafe(f));
    QUIET.with(|q| q.set(false));
    result.map_err(|panic| {
        panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".to_owned())
    })
}

/// The body as UTF-8 (see the module doc for the order of evidence). A declaration that named
/// another encoding is rewritten to say UTF-8, so the XML parser does not decode twice.
fn to_utf8<'a>(body: &'a [u8], charset: Option<&str>) -> Cow<'a, str> {
    let utf8 = std::str::from_utf8(body).ok();
    let valid_utf8 = utf8.is_some();
    let encoding = Encoding::for_bom(body)
        .map(|(encoding, _)| encoding)
        .or_else(|| utf16_without_bom(body))
        .or_else(|| valid_utf8.then_some(encoding_rs::UTF_8))
        .or_else(|| xml_declared_encoding(body).and_then(Encoding::for_label))
        .or_else(|| charset.and_then(|c| Encoding::for_label(c.trim().as_bytes())))
        .or_else(|| meta_charset(body, SNIFF_LEN).and_then(Encoding::for_label))
        .unwrap_or(encoding_rs::UTF_8);
    let declared = xml_declared_encoding(body).and_then(Encoding::for_label);
    if encoding == encoding_rs::UTF_8
        && declared.is_none_or(|d| d == encoding_rs::UTF_8)
        && let Some(text) = utf8
    {
        return Cow::Borrowed(text);
    }
    // `decode` replaces malformed sequences with U+FFFD and drops a byte-order mark.
    let (text, _, _) = encoding.decode(body);
    Cow::Owned(declare_utf8(&text))
}

/// UTF-16 told by its first character, `<`, when there is no byte-order mark (XML 1.0
/// Appendix F). Such a body is valid UTF-8 as far as its ASCII goes, NULs and all, so this
/// comes before the UTF-8 check.
fn utf16_without_bom(body: &[u8]) -> Option<&'static Encoding> {
    match body {
        [b'<', 0, c, 0, ..] if c.is_ascii_graphic() => Some(encoding_rs::UTF_16LE),
        [0, b'<', 0, c, ..] if c.is_ascii_graphic() => Some(encoding_rs::UTF_16BE),
        _ => None,
    }
}

/// The `encoding` of an XML declaration at the start of `body`, as bytes.
fn xml_declared_encoding(body: &[u8]) -> Option<&[u8]> {
    let head = &body[..body.len().min(SNIFF_LEN)];
    let start = head.iter().position(|b| !b.is_ascii_whitespace())?;
    let decl = head[start..].strip_prefix(b"<?xml")?;
    let decl = &decl[..memchr::memmem::find(decl, b"?>")?];
    attribute_value(decl, b"encoding")
}

/// The charset of a `<meta charset=…>` or `<meta http-equiv … content="…; charset=…">` in the
/// first `within` bytes of `body`: an HTML page served where a feed should be, and the
/// extract stage's pages.
pub(crate) fn meta_charset(body: &[u8], within: usize) -> Option<&[u8]> {
    let head = &body[..body.len().min(within)];
    let lower = head.to_ascii_lowercase();
    let meta = memchr::memmem::find(&lower, b"<meta")?;
    let at = meta + memchr::memmem::find(&lower[meta..], b"charset=")? + b"charset=".len();
    let value = &head[at..];
    let value = value.strip_prefix(b"\"").unwrap_or(value);
    let value = value.strip_prefix(b"'").unwrap_or(value);
    let end = value
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || b"-_:.".contains(b)))
        .unwrap_or(value.len());
    Some(&value[..end]).filter(|v| !v.is_empty())
}

/// The value of `name="…"` or `name='…'` in the text of a declaration.
fn attribute_value<'a>(decl: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    attribute_range(decl, name).map(|range| &decl[range])
}

/// Where the value of `name="…"` or `name='…'` lies in `decl`, quotes excluded.
fn attribute_range(decl: &[u8], name: &[u8]) -> Option<std::ops::Range<usize>> {
    let mut at = memchr::memmem::find(decl, name)? + name.len();
    let skip_space = |mut i: usize| {
        while decl.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        i
    };
    at = skip_space(at);
    if decl.get(at) != Some(&b'=') {
        return None;
    }
    at = skip_space(at + 1);
    let quote = *decl.get(at).filter(|q| **q == b'"' || **q == b'\'')?;
    let start = at + 1;
    let len = decl[start..].iter().position(|b| *b == quote)?;
    Some(start..start + len)
}

/// `text` with its XML declaration's encoding, if any, replaced by UTF-8.
fn declare_utf8(text: &str) -> String {
    let start = text.len() - text.trim_start().len();
    let Some(decl_len) = text[start..]
        .strip_prefix("<?xml")
        .and_then(|d| d.find("?>"))
        .map(|end| end + "<?xml".len())
    else {
        return text.to_owned();
    };
    let decl = &text.as_bytes()[start..start + decl_len];
    let Some(value) = attribute_range(decl, b"encoding") else {
        return text.to_owned();
    };
    // The declaration is ASCII up to its end, so these are character boundaries.
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..start + value.start]);
    out.push_str("UTF-8");
    out.push_str(&text[start + value.end..]);
    out
}

/// Keeps one item per story, judging the keys of one document together:
/// - a guid that several entries share (a CMS that writes `0` everywhere) identifies none of
///   them;
/// - a link that several entries with distinct guids share (a podcast's show page on every
///   episode, a link blog) identifies none of those: each is its guid's story;
/// - an entry's anonymous key (see [`anonymous_key`]) is a key of it when it has no link, or
///   when its only other keys were dropped; it is dropped in turn when another entry of the
///   document shares it and it is not all the entry has, so it cannot join two stories in the
///   store.
///
/// An entry whose strongest key repeats an earlier entry's is the same story listed twice:
/// the first is kept.
fn distinct_stories(entries: Vec<Normalized>, host: &str) -> Vec<Item> {
    let mut items: Vec<Item> = Vec::with_capacity(entries.len());
    let mut extra: Vec<(Option<String>, Option<String>)> = Vec::with_capacity(entries.len());
    for entry in entries {
        items.push(entry.item);
        extra.push((entry.enclosure, entry.anchored_url));
    }
    // Links that several entries share but whose anchors tell apart are the anchored links.
    let mut anchors_by_url: HashMap<String, HashSet<&str>> = HashMap::new();
    for (item, (_, anchored)) in items.iter().zip(&extra) {
        if let (Some(url), Some(anchored)) = (&item.url, anchored) {
            anchors_by_url
                .entry(url.clone())
                .or_default()
                .insert(anchored.as_str());
        }
    }
    let anchored_urls: HashSet<String> = anchors_by_url
        .into_iter()
        .filter(|(_, anchors)| anchors.len() > 1)
        .map(|(url, _)| url)
        .collect();
    for (item, (_, anchored)) in items.iter_mut().zip(&extra) {
        if let Some(anchored) = anchored
            && item.url.as_ref().is_some_and(|u| anchored_urls.contains(u))
        {
            let plain = format!("url:{}", item.url.as_deref().unwrap_or_default());
            for key in item.keys.iter_mut().filter(|k| k.0 == plain) {
                key.0 = format!("url:{anchored}");
            }
            item.url = Some(anchored.clone());
        }
    }
    drop_shared_keys(&mut items, "guid:", |_| true);
    // Which links are shared by entries that carry (unshared) guids of their own.
    let mut guids_by_url: HashMap<String, HashSet<String>> = HashMap::new();
    for item in &items {
        if let (Some(url), Some(guid)) = (key_of(item, "url:"), key_of(item, "guid:")) {
            guids_by_url
                .entry(url.to_owned())
                .or_default()
                .insert(guid.to_owned());
        }
    }
    for (item, (enclosure, anchored)) in items.iter_mut().zip(extra) {
        let shared_link = key_of(item, "url:")
            .is_some_and(|url| guids_by_url.get(url).is_some_and(|g| g.len() > 1));
        if shared_link && key_of(item, "guid:").is_some() {
            item.keys.retain(|k| !k.0.starts_with("url:"));
        }
        // An anchored link is a key only while its page holds several entries: the anonymous
        // key finds the story again when it is alone there.
        let weak_link = item.url.is_none() || shared_link || anchored.is_some();
        if weak_link || item.keys.is_empty() {
            let key = anonymous_key(
                host,
                &item.title_keys,
                &item.body,
                enclosure.as_deref(),
                item.published_at,
            );
            if !item.keys.contains(&key) {
                item.keys.push(key);
            }
        }
    }
    drop_shared_keys(&mut items, "anon:", |item| item.keys.len() > 1);
    let mut seen = HashSet::new();
    items.retain(|item| seen.insert(item.keys[0].clone()));
    items
}

/// The item's key of one kind (`url:`, `guid:`, `anon:`), if it has one.
fn key_of<'a>(item: &'a Item, kind: &str) -> Option<&'a str> {
    item.keys
        .iter()
        .find(|k| k.0.starts_with(kind))
        .map(|k| k.0.as_str())
}

/// Drops the keys of one kind that several items share, from the items `applies` to.
fn drop_shared_keys(items: &mut [Item], kind: &str, applies: impl Fn(&Item) -> bool) {
    let mut uses: HashMap<String, usize> = HashMap::new();
    for item in items.iter() {
        for key in item.keys.iter().filter(|k| k.0.starts_with(kind)) {
            *uses.entry(key.0.clone()).or_default() += 1;
        }
    }
    for item in items.iter_mut() {
        if applies(item) {
            item.keys
                .retain(|k| !k.0.starts_with(kind) || uses.get(&k.0).is_none_or(|n| *n == 1));
        }
    }
}

/// The key of an entry by what it says rather than by a link or guid: its title and
/// publication day; for an entry without a title (a post that is all description, as
/// Scripting News writes them) its body and day; for one with neither, its enclosure (a
/// podcast episode) and day; and an entry with nothing at all is known by its day alone.
fn anonymous_key(
    host: &str,
    title_keys: &[ArticleKey],
    body: &str,
    enclosure: Option<&str>,
    published_at: Option<DateTime<Utc>>,
) -> ArticleKey {
    let date = published_at
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default();
    let text = match (title_keys.first(), enclosure) {
        (Some(first), _) => Cow::Borrowed(first.0.as_str()),
        (None, _) if !body.is_empty() => Cow::Owned(format!("body:{}", fold_quotes(body))),
        (None, Some(enclosure)) => Cow::Owned(format!("enclosure:{enclosure}")),
        (None, None) => Cow::Borrowed("empty"),
    };
    ArticleKey(format!(
        "anon:{host}/{}",
        sha256_hex(format!("{text}|{date}").as_bytes())
    ))
}

/// One entry as an [`Item`], with what [`distinct_stories`] judges its identity by besides.
struct Normalized {
    item: Item,
    /// The first enclosure's canonical URL, for [`anonymous_key`].
    enclosure: Option<String>,
    /// The canonical link with its fragment, when it has one.
    anchored_url: Option<String>,
}

fn normalize_entry(
    entry: RawEntry,
    feed_url: &Url,
    host: &str,
    latest: DateTime<Utc>,
) -> Normalized {
    let link = entry
        .links
        .iter()
        .find(|(_, rel)| rel.as_deref().is_none_or(|r| r == "alternate"))
        .or_else(|| entry.links.first());
    let (url, anchored_url) = match link.and_then(|(href, _)| canonical_link(href, Some(feed_url)))
    {
        Some((url, anchored)) => (Some(url), anchored),
        None => (None, None),
    };
    let guid = Some(entry.id.trim().to_owned()).filter(|g| !g.is_empty());
    let title = entry
        .title
        .as_deref()
        .map(|t| bounded_text(t, MAX_TITLE_LEN).replace('\n', " "))
        .unwrap_or_default();
    let content = entry
        .content
        .as_deref()
        .map(|c| bounded_text(c, MAX_BODY_LEN))
        .filter(|c| !c.is_empty());
    let (body, body_kind) = match content {
        Some(content) => (content, BodyKind::Content),
        None => (
            entry
                .summary
                .as_deref()
                .map(|s| bounded_text(s, MAX_BODY_LEN))
                .unwrap_or_default(),
            BodyKind::Summary,
        ),
    };
    // A date far ahead is a publisher's mistake (2099 placeholders, swapped day and year):
    // unknown is better than a story that sorts first for decades.
    let published_at: Option<DateTime<Utc>> =
        entry.published.or(entry.updated).filter(|at| *at <= latest);
    let title_keys = title_keys(&title);
    let enclosure = entry
        .enclosure
        .as_deref()
        .and_then(|e| canonical_url(e, Some(feed_url)));

    // Without a link, the anonymous key is a key too (added by `distinct_stories`): a guid
    // alone is all that tells such a story apart, and publishers reissue guids (a CMS
    // migration), which must not make every story new again.
    let mut keys = Vec::with_capacity(3);
    if let Some(url) = &url {
        keys.push(ArticleKey(format!("url:{url}")));
    }
    if let Some(guid) = &guid {
        keys.push(ArticleKey(format!("guid:{host}/{guid}")));
    }
    let item = Item {
        keys,
        title_keys,
        url,
        guid,
        content_hash: content_hash(&title, &body),
        title,
        body,
        body_kind,
        published_at,
    };
    Normalized {
        item,
        enclosure,
        anchored_url,
    }
}

/// HTML to normalized text of at most `max` bytes; the raw HTML is cut first, so a 50 MiB
/// text node costs no more than a long article.
fn bounded_text(html: &str, max: usize) -> String {
    let mut text = html_to_text(clip(html, max.saturating_mul(RAW_PER_TEXT)));
    // A cut after a space or line break would leave it at the end, untrimmed.
    let kept = clip(&text, max).trim_end().len();
    text.truncate(kept);
    text
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn clip(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The canonical form of a link, resolved against `base`: lower-case scheme and host, no
/// default port, no fragment, no tracking parameters (other parameters kept as written, in
/// order). Only http and https links have one.
pub fn canonical_url(raw: &str, base: Option<&Url>) -> Option<String> {
    canonical_link(raw, base).map(|(url, _)| url)
}

/// The canonical form of a link (see [`canonical_url`]), and the same with its fragment when
/// it has a non-empty one: a page of several entries (a diary, a programme) tells them apart
/// by their anchors alone.
fn canonical_link(raw: &str, base: Option<&Url>) -> Option<(String, Option<String>)> {
    let raw = raw.trim();
    let mut url = match base {
        Some(base) => base.join(raw).ok()?,
        None => Url::parse(raw).ok()?,
    };
    if url.scheme() != "http" && url.scheme() != "https" {
        return None;
    }
    // The url crate already lower-cases scheme and host and drops default ports.
    let fragment = url
        .fragment()
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(str::to_owned);
    url.set_fragment(None);
    if let Some(query) = url.query() {
        let kept: Vec<&str> = query
            .split('&')
            .filter(|pair| !pair.is_empty() && !is_tracking_param(pair))
            .collect();
        let kept = kept.join("&");
        url.set_query(if kept.is_empty() { None } else { Some(&kept) });
    }
    let with_fragment = fragment.map(|f| {
        let mut anchored = url.clone();
        anchored.set_fragment(Some(&f));
        String::from(anchored)
    });
    Some((url.into(), with_fragment))
}

fn is_tracking_param(pair: &str) -> bool {
    let key = pair
        .split('=')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    key.starts_with("utm_") || TRACKING_PARAMS.contains(&key.as_str())
}

/// HTML (or text that may hold entities) to normalized plain text. A hand-written scanner,
/// linear in the input and tolerant of broken markup: a `<` that opens no tag is text.
pub fn html_to_text(html: &str) -> String {
    let bytes = html.as_bytes();
    let mut out = String::with_capacity(html.len());
    let mut i = 0;
    while i < bytes.len() {
        let Some(offset) = html[i..].find('<') else {
            out.push_str(&html[i..]);
            break;
        };
        out.push_str(&html[i..i + offset]);
        i += offset;
        let rest = &html[i..];
        if let Some(comment) = rest.strip_prefix("<!--") {
            i = comment.find("-->").map_or(bytes.len(), |e| i + 4 + e + 3);
            continue;
        }
        if let Some(cdata) = rest.strip_prefix("<![CDATA[") {
            let end = cdata.find("]]>").unwrap_or(cdata.len());
            out.push_str(&cdata[..end]);
            i += 9 + end + 3.min(cdata.len() - end);
            continue;
        }
        let closing = bytes.get(i + 1) == Some(&b'/');
        let name_start = i + 1 + usize::from(closing);
        let name_len = bytes[name_start.min(bytes.len())..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric())
            .count();
        let starts_like_tag = bytes
            .get(name_start)
            .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'!' || *b == b'?');
        if !starts_like_tag {
            out.push('<');
            i += 1;
            continue;
        }
        let name = html[name_start..name_start + name_len].to_ascii_lowercase();
        let end = tag_end(bytes, name_start + name_len);
        if !closing && SKIPPED_ELEMENTS.contains(&name.as_str()) {
            let self_closing = end >= 2 && bytes[end - 2] == b'/';
            i = if self_closing {
                end
            } else {
                skip_element(bytes, end, &name)
            };
            continue;
        }
        if BLOCK_ELEMENTS.contains(&name.as_str()) {
            out.push('\n');
        } else if name == "td" || name == "th" {
            out.push(' ');
        }
        i = end;
    }
    normalize_text(&html_escape::decode_html_entities(&out))
}

/// The index just past the `>` that ends a tag, skipping `>` inside quoted attribute values;
/// a tag missing its `>` ends where the next one starts. Shared by `html_to_text` and the
/// liberal reader's scanner.
fn tag_end(bytes: &[u8], from: usize) -> usize {
    let mut quote = None;
    let mut i = from;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            // A `<` inside a quoted value means the quote was never closed (`<div "="">`):
            // the tag ends at its first `>`, or a broken attribute would swallow the text.
            Some(_) if b == b'<' => {
                return bytes[from..]
                    .iter()
                    .position(|c| *c == b'>')
                    .map_or(bytes.len(), |o| from + o + 1);
            }
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'"' || b == b'\'' => quote = Some(b),
            None if b == b'>' => return i + 1,
            None if b == b'<' => return i,
            None => {}
        }
        i += 1;
    }
    bytes.len()
}

/// The index just past `</name ...>`, or the end of input when the element is never closed.
fn skip_element(bytes: &[u8], mut i: usize, name: &str) -> usize {
    while i + 2 <= bytes.len() {
        if bytes[i] == b'<' && bytes[i + 1] == b'/' {
            let after = i + 2 + name.len();
            if after <= bytes.len() && bytes[i + 2..after].eq_ignore_ascii_case(name.as_bytes()) {
                return tag_end(bytes, after);
            }
        }
        i += 1;
    }
    bytes.len()
}

/// Characters that carry no visible text: soft hyphen, zero-width characters, word joiner,
/// byte-order mark and bidirectional controls.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{200B}'..='\u{200F}' | '\u{2060}' | '\u{FEFF}'
        | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Unicode NFC, invisible and control characters removed, every kind of space made a plain
/// space, runs of spaces collapsed, lines trimmed and blank lines dropped: paragraphs are
/// separated by one `\n`.
pub fn normalize_text(s: &str) -> String {
    // NFC comes last: a character dropped between a letter and its combining mark ("e", soft
    // hyphen, U+0301) leaves a pair that composes. Composing creates no space, invisible or
    // control character, so the text stays collapsed.
    let text = collapse_spaces(s);
    // NFC decomposes and recomposes every character, which costs more than the rest of the
    // stage together; text the quick check finds composed already (all ASCII, and nearly all
    // news copy, RFC 5198 asks for NFC on the wire) is NFC as it stands (UAX #15, §9).
    if text.is_ascii() || is_nfc_quick(text.chars()) == IsNormalized::Yes {
        text
    } else {
        text.nfc().collect()
    }
}

/// The whitespace, invisible- and control-character half of [`normalize_text`]. Control
/// characters (an escape sequence, a NUL) are no text, and would reach a terminal as they are.
fn collapse_spaces(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    let mut pending_newline = false;
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || c.is_ascii_punctuation() {
            // The common case first: nothing to decide.
        } else if is_invisible(c) {
            continue;
        } else if matches!(
            c,
            '\n' | '\r' | '\u{2028}' | '\u{2029}' | '\u{0B}' | '\u{0C}' | '\u{85}'
        ) {
            pending_newline = !out.is_empty();
            pending_space = false;
            continue;
        } else if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        } else if c.is_control() {
            continue;
        }
        if pending_newline {
            out.push('\n');
        } else if pending_space {
            out.push(' ');
        }
        pending_newline = false;
        pending_space = false;
        out.push(c);
    }
    out
}

/// Folds quote styles to ASCII: an edit that only changes “curly” to "straight" quotes is
/// not an edit.
fn fold_quotes(s: &str) -> String {
    s.chars().map(fold_quote).collect()
}

/// One character of [`fold_quotes`]: a quote becomes `"` or `'`, anything else stays.
fn fold_quote(c: char) -> char {
    match c {
        '“' | '”' | '„' | '‟' | '«' | '»' | '″' | '〝' | '〞' | '＂' => '"',
        '‘' | '’' | '‚' | '‛' | '′' | '‹' | '›' | '＇' | '`' => '\'',
        c => c,
    }
}

/// Hex SHA-256 of the comparison form of title and body (quotes folded; whitespace and
/// invisible characters are already normalized away).
pub fn content_hash(title: &str, body: &str) -> String {
    let mut hasher = Sha256::new();
    hash_folded(&mut hasher, title);
    hasher.update(b"\n\n");
    hash_folded(&mut hasher, body);
    hex(&hasher.finalize())
}

/// Feeds `s` to `hasher` as [`fold_quotes`] would give it, without copying the text: the runs
/// between quote characters go in as they are.
fn hash_folded(hasher: &mut Sha256, s: &str) {
    let mut start = 0;
    // Every quote that folds is outside ASCII but for the backtick, so the scan looks at
    // those bytes only and decodes a character only there.
    for (i, b) in s.bytes().enumerate() {
        if b != b'`' && b < 0xC0 {
            continue;
        }
        let Some(c) = s[i..].chars().next() else {
            continue;
        };
        let folded = fold_quote(c);
        if folded != c {
            hasher.update(&s.as_bytes()[start..i]);
            hasher.update([folded as u8]);
            start = i + c.len_utf8();
        }
    }
    hasher.update(&s.as_bytes()[start..]);
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Keys under which an article is matched by title (a seed without a URL): the title
/// lower-cased with quotes and punctuation folded, and, when it ends in a publisher suffix
/// (" - FT", " | Reuters", as Google News and Censor.NET write them) and at least four words
/// remain, the same without that suffix.
pub fn title_keys(title: &str) -> Vec<ArticleKey> {
    let mut keys = Vec::with_capacity(2);
    let full = fold_title(title);
    if full.is_empty() {
        return keys;
    }
    keys.push(ArticleKey(format!("title:{full}")));
    let cut = [" - ", " | ", " — ", " – "]
        .iter()
        .filter_map(|sep| title.rfind(sep))
        .max();
    if let Some(cut) = cut {
        let stripped = fold_title(&title[..cut]);
        if stripped.split(' ').count() >= 4 && stripped != full {
            keys.push(ArticleKey(format!("title:{stripped}")));
        }
    }
    keys
}

fn fold_title(title: &str) -> String {
    let folded: String = fold_quotes(title)
        .to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_becomes_plain_text() {
        let cases = [
            (
                "paragraphs_become_lines",
                "<p>One.</p><p>Two.</p>",
                "One.\nTwo.",
            ),
            ("br_breaks_a_line", "a<br/>b<BR>c", "a\nb\nc"),
            (
                "a_broken_quote_ends_at_the_tag",
                "<div \"=\"\">\n<p>Kept text.</p></div>",
                "Kept text.",
            ),
            (
                "a_quoted_gt_is_no_end",
                "<a title=\"x > y\">link</a> after",
                "link after",
            ),
            (
                "script_and_style_dropped",
                "<script>var x = '<p>';</script>Text<style>p{}</style>",
                "Text",
            ),
            (
                "entities_decoded",
                "Kim&nbsp;Jong&nbsp;Un&#8217;s &amp; Putin&#x2019;s &mdash; deal",
                "Kim Jong Un’s & Putin’s — deal",
            ),
            ("comments_removed", "a<!-- <p>hidden</p> -->b", "ab"),
            ("angle_bracket_in_text", "3 < 5 and 7<8", "3 < 5 and 7<8"),
            (
                "quoted_gt_in_attribute",
                "<a title=\"a > b\" href='x'>link</a> text",
                "link text",
            ),
            ("unclosed_tag_at_end", "text <b", "text"),
            (
                "nested_lists",
                "<ul><li>one<ul><li>two</li></ul></li><li>three</li></ul>",
                "one\ntwo\nthree",
            ),
            (
                "escaped_tags_stay_text",
                "&lt;b&gt;bold&lt;/b&gt;",
                "<b>bold</b>",
            ),
            (
                "cdata_kept_as_text",
                "<![CDATA[raw <text>]]>after",
                "raw <text>after",
            ),
            (
                "unclosed_script_drops_rest",
                "before<script>never closed",
                "before",
            ),
            (
                "table_cells_spaced",
                "<table><tr><td>a</td><td>b</td></tr></table>",
                "a b",
            ),
        ];
        for (name, html, text) in cases {
            assert_eq!(html_to_text(html), text, "{name}");
        }
    }

    #[test]
    fn text_is_normalized() {
        let cases = [
            (
                "nbsp_and_narrow_spaces",
                "a\u{00A0}b\u{202F}c\u{2009}d",
                "a b c d",
            ),
            ("soft_hyphen_removed", "Pyong\u{00AD}yang", "Pyongyang"),
            ("zero_width_removed", "Rus\u{200B}sia\u{FEFF}", "Russia"),
            (
                "crlf_and_blank_lines",
                "one\r\n\r\n\r\ntwo  \n  three",
                "one\ntwo\nthree",
            ),
            ("nfc", "e\u{301}", "é"),
            ("trimmed", "  \n text \n ", "text"),
            ("spaces_collapsed", "a \t  b", "a b"),
            (
                "control_characters_dropped",
                "red\u{1B}[0m\u{0}text\u{7F}",
                "red[0mtext",
            ),
            ("nfc_after_dropping", "Cafe\u{AD}\u{301}", "Café"),
        ];
        for (name, input, expected) in cases {
            assert_eq!(normalize_text(input), expected, "{name}");
        }
    }

    #[test]
    fn content_hash_is_the_hash_of_the_folded_text() {
        let cases = [
            ("ascii", "Title", "Plain text."),
            ("backtick", "`quoted`", "a ` b"),
            (
                "curly_and_korean",
                "“북한” – Россия’s",
                "«Moscow» ‘Pyongyang’ 러시아",
            ),
            ("quote_at_the_end", "t", "ends with ”"),
            ("empty", "", ""),
        ];
        for (name, title, body) in cases {
            let folded = format!("{}\n\n{}", fold_quotes(title), fold_quotes(body));
            assert_eq!(
                content_hash(title, body),
                sha256_hex(folded.as_bytes()),
                "{name}"
            );
        }
    }

    #[test]
    fn nfc_fast_path_agrees_with_full_normalization() {
        let cases = [
            ("composed_korean", "북한과 러시아"),
            ("decomposed_hangul", "\u{1108}\u{1161}"),
            ("composed_cyrillic_yo", "Ёлка и ёж"),
            ("decomposed_cyrillic", "\u{415}\u{308}лка"),
            ("combining_order", "a\u{323}\u{302}"),
        ];
        for (name, input) in cases {
            let full: String = input.nfc().collect();
            assert_eq!(normalize_text(input), full, "{name}");
        }
    }

    #[test]
    fn content_hash_ignores_noise_but_not_words() {
        let base = content_hash("Title", "He said “yes” to Moscow’s offer.");
        let cases = [
            (
                "quote_style_only",
                content_hash("Title", "He said \"yes\" to Moscow's offer."),
                true,
            ),
            (
                "whitespace_only_after_normalize",
                content_hash(
                    "Title",
                    &normalize_text("He  said “yes”\u{00A0}to Moscow’s offer."),
                ),
                true,
            ),
            (
                "word_changed",
                content_hash("Title", "He said “no” to Moscow’s offer."),
                false,
            ),
            (
                "title_changed",
                content_hash("Other", "He said “yes” to Moscow’s offer."),
                false,
            ),
        ];
        for (name, hash, same) in cases {
            assert_eq!(hash == base, same, "{name}");
        }
        assert_eq!(base.len(), 64);
    }

    #[test]
    fn links_are_canonical() {
        let base = Url::parse("https://www.nknews.org/feed/").expect("url");
        let cases = [
            (
                "tracking_removed",
                "https://www.nknews.org/a/?utm_source=rss&utm_medium=rss",
                Some("https://www.nknews.org/a/"),
            ),
            (
                "other_params_kept",
                "https://ex.org/a?id=5&fbclid=x&page=2",
                Some("https://ex.org/a?id=5&page=2"),
            ),
            (
                "fragment_dropped",
                "https://ex.org/a#comments",
                Some("https://ex.org/a"),
            ),
            (
                "host_and_scheme_lowered",
                "HTTPS://EX.Org/Path",
                Some("https://ex.org/Path"),
            ),
            (
                "default_port_dropped",
                "https://ex.org:443/a",
                Some("https://ex.org/a"),
            ),
            (
                "other_port_kept",
                "http://ex.org:8080/a",
                Some("http://ex.org:8080/a"),
            ),
            (
                "relative_resolved",
                "/2026/11/story/",
                Some("https://www.nknews.org/2026/11/story/"),
            ),
            ("not_http", "mailto:editor@ex.org", None),
            (
                "case_insensitive_tracking",
                "https://ex.org/a?UTM_Campaign=x",
                Some("https://ex.org/a"),
            ),
        ];
        for (name, raw, expected) in cases {
            assert_eq!(
                canonical_url(raw, Some(&base)).as_deref(),
                expected,
                "{name}"
            );
        }
    }

    #[test]
    fn title_keys_strip_a_publisher_suffix() {
        let keys = |t: &str| title_keys(t).into_iter().map(|k| k.0).collect::<Vec<_>>();
        assert_eq!(
            keys("North Korea and Russia deepen economic ties - FT"),
            [
                "title:north korea and russia deepen economic ties ft",
                "title:north korea and russia deepen economic ties"
            ]
        );
        assert_eq!(keys("Short one - FT"), ["title:short one ft"]);
        assert_eq!(keys("“Quoted”  Title’s"), ["title:quoted title s"]);
        assert!(keys("").is_empty());
    }

    fn url() -> Url {
        Url::parse("https://example.org/feed").expect("url")
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-28T12:00:00Z")
            .expect("valid")
            .with_timezone(&Utc)
    }

    fn rss_with(items: &str) -> String {
        format!("<rss version=\"2.0\"><channel><title>t</title>{items}</channel></rss>")
    }

    #[test]
    fn bytes_become_utf8_from_the_best_evidence() {
        let cyrillic = "Россия и КНДР";
        let cp1251 = encoding_rs::WINDOWS_1251.encode(cyrillic).0.into_owned();
        let koi8 = encoding_rs::KOI8_R.encode(cyrillic).0.into_owned();
        let doc = |decl: &str, text: &[u8]| {
            let mut d = format!("<?xml version=\"1.0\"{decl}?><t>").into_bytes();
            d.extend_from_slice(text);
            d.extend_from_slice(b"</t>");
            d
        };
        let expected = |decl: &str| format!("<?xml version=\"1.0\"{decl}?><t>{cyrillic}</t>");
        let cases: [(&str, Vec<u8>, Option<&str>, String); 7] = [
            (
                "declaration",
                doc(" encoding=\"windows-1251\"", &cp1251),
                None,
                expected(" encoding=\"UTF-8\""),
            ),
            ("header_only", doc("", &koi8), Some("KOI8-R"), expected("")),
            (
                "declaration_beats_header",
                doc(" encoding='koi8-r'", &koi8),
                Some("windows-1251"),
                expected(" encoding='UTF-8'"),
            ),
            (
                "valid_utf8_beats_a_wrong_label",
                doc(" encoding=\"windows-1251\"", cyrillic.as_bytes()),
                Some("windows-1251"),
                expected(" encoding=\"UTF-8\""),
            ),
            (
                "meta_charset",
                b"<html><head><meta charset=\"windows-1251\"></head>"
                    .iter()
                    .chain(&cp1251)
                    .copied()
                    .collect(),
                None,
                format!("<html><head><meta charset=\"windows-1251\"></head>{cyrillic}"),
            ),
            (
                "utf16_without_bom",
                format!("<?xml version=\"1.0\" encoding=\"UTF-16\"?><t>{cyrillic}</t>")
                    .encode_utf16()
                    .flat_map(u16::to_le_bytes)
                    .collect(),
                None,
                expected(" encoding=\"UTF-8\""),
            ),
            (
                "invalid_bytes_replaced",
                doc("", b"ok \xff ok"),
                None,
                expected("").replace(cyrillic, "ok \u{FFFD} ok"),
            ),
        ];
        for (name, body, charset, want) in cases {
            assert_eq!(to_utf8(&body, charset), want, "{name}");
        }
        let plain = b"<rss/>";
        assert!(
            matches!(to_utf8(plain, None), Cow::Borrowed(_)),
            "no copy for UTF-8"
        );
    }

    #[test]
    fn long_texts_are_cut_at_a_character_boundary() {
        let cases = [
            ("short_kept", "Москва", 100, "Москва"),
            ("cut_inside_a_letter", "Москва", 3, "М"),
            ("ascii_cut", "abcdef", 4, "abcd"),
        ];
        for (name, text, max, expected) in cases {
            assert_eq!(clip(text, max), expected, "{name}");
        }
        let huge = format!("<p>{}</p>", "Пхеньян ".repeat(400_000));
        let body = bounded_text(&huge, MAX_BODY_LEN);
        assert!(body.len() <= MAX_BODY_LEN && body.len() > MAX_BODY_LEN - 16);
        assert!(body.starts_with("Пхеньян Пхеньян"));
        // Found with the fuzz invariants (tests/fixtures/fuzz/): a cut after a space kept it.
        let cut_after_space = bounded_text(&"abc ".repeat(600), MAX_TITLE_LEN);
        assert_eq!(cut_after_space.len(), MAX_TITLE_LEN - 1);
        assert!(cut_after_space.ends_with("abc"));
    }

    #[test]
    fn dates_far_ahead_are_unknown() {
        let item = |date: &str| {
            rss_with(&format!(
                "<item><title>T</title><link>https://example.org/a</link><pubDate>{date}</pubDate></item>"
            ))
        };
        let cases = [
            ("year_2099", "Thu, 31 Dec 2099 23:59:00 GMT", None),
            ("nonsense", "next Tuesday", None),
            (
                "within_a_day",
                "Sat, 28 Nov 2026 23:00:00 GMT",
                Some("2026-11-28T23:00:00Z"),
            ),
            ("two_days_ahead", "Mon, 30 Nov 2026 12:00:00 GMT", None),
            (
                "past",
                "Fri, 27 Nov 2026 04:00:00 GMT",
                Some("2026-11-27T04:00:00Z"),
            ),
        ];
        for (name, date, expected) in cases {
            let items = parse_feed(item(date).as_bytes(), None, &url(), now())
                .expect(name)
                .items;
            assert_eq!(
                items[0]
                    .published_at
                    .map(crate::model::format_time)
                    .as_deref(),
                expected,
                "{name}"
            );
        }
    }

    #[test]
    fn a_shared_guid_identifies_nobody_and_a_repeated_story_is_kept_once() {
        let rss = rss_with(
            "<item><title>A</title><link>https://example.org/a</link><guid>0</guid></item>\
             <item><title>B</title><link>https://example.org/b</link><guid>0</guid></item>\
             <item><title>C</title><guid>0</guid></item>\
             <item><title>A again</title><link>https://example.org/a</link><guid>1</guid></item>\
             <item><title>D</title><guid>2</guid></item>",
        );
        let items = parse_feed(rss.as_bytes(), None, &url(), now())
            .expect("parses")
            .items;
        let keys: Vec<&str> = items.iter().map(|i| i.keys[0].0.as_str()).collect();
        assert_eq!(items.len(), 4, "{keys:?}");
        assert_eq!(keys[0], "url:https://example.org/a");
        assert_eq!(keys[1], "url:https://example.org/b");
        assert!(keys[2].starts_with("anon:example.org/"), "{keys:?}");
        assert_eq!(keys[3], "guid:example.org/2");
        assert!(
            items[3].keys[1].0.starts_with("anon:"),
            "a guid without a link has a fallback"
        );
        assert!(
            items
                .iter()
                .all(|i| i.keys.iter().all(|k| k.0 != "guid:example.org/0"))
        );
    }

    #[test]
    fn distinct_guids_sharing_a_link_are_distinct_stories() {
        let episode = |n: u32| {
            format!(
                "<item><title>Episode {n}</title><link>https://example.org/show</link>\
                 <guid isPermaLink=\"false\">ep-{n}</guid><pubDate>Sat, 2{n} Nov 2026 04:00:00 GMT</pubDate></item>"
            )
        };
        let rss = rss_with(&(1..=4).map(episode).collect::<String>());
        let items = parse_feed(rss.as_bytes(), None, &url(), now())
            .expect("parses")
            .items;
        assert_eq!(items.len(), 4);
        let mut keys = HashSet::new();
        for item in &items {
            assert!(
                item.keys[0].0.starts_with("guid:example.org/ep-"),
                "{:?}",
                item.keys
            );
            assert_eq!(item.url.as_deref(), Some("https://example.org/show"));
            assert!(
                item.keys.iter().all(|k| !k.0.starts_with("url:")),
                "the shared link is nobody's key"
            );
            for key in &item.keys {
                assert!(keys.insert(key.clone()), "{key:?} shared");
            }
        }
        // One entry alone on its link keeps it as its key, and the same link twice without
        // guids is one story listed twice.
        let rss = rss_with(
            "<item><title>A</title><link>https://example.org/a</link><guid>1</guid></item>\
             <item><title>B</title><link>https://example.org/b</link></item>\
             <item><title>B again</title><link>https://example.org/b</link></item>",
        );
        let items = parse_feed(rss.as_bytes(), None, &url(), now())
            .expect("parses")
            .items;
        let first: Vec<&str> = items.iter().map(|i| i.keys[0].0.as_str()).collect();
        assert_eq!(
            first,
            ["url:https://example.org/a", "url:https://example.org/b"]
        );
    }

    #[test]
    fn anchors_tell_apart_the_entries_of_one_page() {
        // A diary or a programme: one page, an anchor per entry, no guids.
        let entry = |anchor: &str, title: &str| {
            format!(
                "<item><title>{title}</title><link>https://example.org/diary/?2026-11#{anchor}</link></item>"
            )
        };
        let rss = rss_with(&format!(
            "{}{}{}",
            entry("a1", "First"),
            entry("a2", "Second"),
            "<item><title>Elsewhere</title><link>https://example.org/story#comments</link></item>"
        ));
        let items = parse_feed(rss.as_bytes(), None, &url(), now())
            .expect("parses")
            .items;
        let first: Vec<&str> = items.iter().map(|i| i.keys[0].0.as_str()).collect();
        assert_eq!(
            first,
            [
                "url:https://example.org/diary/?2026-11#a1",
                "url:https://example.org/diary/?2026-11#a2",
                "url:https://example.org/story",
            ],
            "an anchor alone on its page is dropped, as ever"
        );
        // Alone on its page later, an anchored entry is found again by its title and date.
        let alone = rss_with(&entry("a1", "First"));
        let later = parse_feed(alone.as_bytes(), None, &url(), now())
            .expect("parses")
            .items;
        assert_eq!(later[0].keys[0].0, "url:https://example.org/diary/?2026-11");
        assert_eq!(later[0].keys[1], items[0].keys[1]);
        assert!(later[0].keys[1].0.starts_with("anon:"));
    }

    #[test]
    fn entries_without_title_or_link_are_kept_by_guid_else_by_body_else_by_date() {
        let rss = rss_with(
            "<item><description>A post that is all text.</description><guid>https://example.org/2026/11/28#a1</guid>\
             <pubDate>Sat, 28 Nov 2026 04:00:00 GMT</pubDate></item>\
             <item><description>A second post, no guid.</description><pubDate>Sat, 28 Nov 2026 05:00:00 GMT</pubDate></item>\
             <item><description>A third post, no guid.</description><pubDate>Sat, 28 Nov 2026 06:00:00 GMT</pubDate></item>\
             <item><description>A third post, no guid.</description><pubDate>Sat, 28 Nov 2026 06:00:00 GMT</pubDate></item>\
             <item><pubDate>Sat, 28 Nov 2026 07:00:00 GMT</pubDate></item>",
        );
        let parse = || {
            parse_feed(rss.as_bytes(), None, &url(), now())
                .expect("parses")
                .items
        };
        let items = parse();
        let bodies: Vec<&str> = items.iter().map(|i| i.body.as_str()).collect();
        assert_eq!(
            bodies,
            [
                "A post that is all text.",
                "A second post, no guid.",
                "A third post, no guid.",
                ""
            ],
            "a repeated entry is kept once, an empty one by its date"
        );
        assert!(items[0].keys[0].0.starts_with("guid:"));
        assert!(items[1].keys[0].0.starts_with("anon:"));
        assert_ne!(items[1].keys, items[2].keys);
        assert_eq!(parse(), items, "the keys are stable");
    }

    #[test]
    fn rss_content_is_preferred_over_summary() {
        let rss = r#"<?xml version="1.0"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>t</title>
<item><title>Kim &amp;amp; Putin</title><link>https://example.org/a?utm_source=rss</link>
<guid isPermaLink="false">https://example.org/?p=1</guid>
<description>Short &amp;nbsp;summary</description>
<content:encoded><![CDATA[<p>Full&nbsp;text.</p><p>Second.</p>]]></content:encoded>
<pubDate>Sat, 28 Nov 2026 04:00:00 GMT</pubDate></item></channel></rss>"#;
        let items = parse_feed(rss.as_bytes(), None, &url(), now())
            .expect("parses")
            .items;
        assert_eq!(items.len(), 1);
        let item = &items[0];
        assert_eq!(item.title, "Kim & Putin");
        assert_eq!(item.body, "Full text.\nSecond.");
        assert_eq!(item.body_kind, BodyKind::Content);
        assert_eq!(item.url.as_deref(), Some("https://example.org/a"));
        assert_eq!(item.guid.as_deref(), Some("https://example.org/?p=1"));
        assert_eq!(item.keys[0].0, "url:https://example.org/a");
        assert_eq!(item.keys[1].0, "guid:example.org/https://example.org/?p=1");
        assert!(item.published_at.is_some());
    }

    #[test]
    fn atom_and_json_feed_parse() {
        let atom = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>urn:x</id><updated>2026-11-28T04:00:00Z</updated>
<entry><title>Story</title><id>urn:uuid:1</id><updated>2026-11-28T04:00:00Z</updated>
<link rel="alternate" href="/s/1"/><summary type="html">&lt;p&gt;Sum&lt;/p&gt;</summary></entry></feed>"#;
        let items = parse_feed(atom.as_bytes(), None, &url(), now())
            .expect("atom")
            .items;
        assert_eq!(items[0].url.as_deref(), Some("https://example.org/s/1"));
        assert_eq!(items[0].body, "Sum");
        assert_eq!(items[0].body_kind, BodyKind::Summary);

        let json = r#"{"version":"https://jsonfeed.org/version/1.1","title":"t","items":[
            {"id":"42","url":"https://example.org/j","title":"J","content_html":"<p>Body</p>"}]}"#;
        let items = parse_feed(json.as_bytes(), None, &url(), now())
            .expect("json feed")
            .items;
        assert_eq!(items[0].guid.as_deref(), Some("42"));
        assert_eq!(items[0].body, "Body");
    }

    #[test]
    fn entry_without_guid_or_link_has_a_stable_identity() {
        let rss = r#"<rss version="2.0"><channel><title>t</title>
<item><title>Russia and North Korea open air route</title><description>Text</description>
<pubDate>Sat, 28 Nov 2026 04:00:00 GMT</pubDate></item></channel></rss>"#;
        let first = parse_feed(rss.as_bytes(), None, &url(), now())
            .expect("parses")
            .items;
        let second = parse_feed(rss.as_bytes(), None, &url(), now())
            .expect("parses")
            .items;
        assert_eq!(first[0].guid, None);
        assert_eq!(first[0].keys, second[0].keys);
        assert!(first[0].keys[0].0.starts_with("anon:example.org/"));
    }

    #[test]
    fn a_panic_in_the_xml_parser_is_caught_and_the_feed_read_liberally() {
        // Found by fuzzing (tests/fixtures/fuzz/): quick-xml asserts on a second declaration.
        let rss = rss_with(
            "<item><title>A story</title>\
             <description>Pasted: <?xml version=\"1.0\" encoding=\"windows-1251\"?></description>\
             </item>",
        );
        let parsed = parse_feed(rss.as_bytes(), None, &url(), now()).expect("read liberally");
        let recovery = parsed.recovery.expect("a recovery");
        assert!(recovery.panicked);
        assert!(
            recovery.cause.starts_with("set_encoding()"),
            "{}",
            recovery.cause
        );
        assert_eq!(parsed.items[0].title, "A story");
    }

    #[test]
    fn garbage_is_not_a_feed() {
        for body in [
            &b""[..],
            b"<html><body>page</body></html>",
            b"\xff\xfe garbage",
        ] {
            assert!(parse_feed(body, None, &url(), now()).is_err());
        }
    }
}
