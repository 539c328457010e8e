//! The liberal reader: the entries a feed reader would show of a document that feed-rs rejects
//! or reads short.
//!
//! feed-rs is strict where real feeds are not. One empty `<media:description/>` fails a whole
//! document ("missing text"), an undefined entity or a bare `&` in one item does too, and
//! Atom 0.3 (`http://purl.org/atom/ns#`) and RSS 0.90 documents parse to no entries. Python's
//! feedparser, the reference of feed readers, keeps reading in all these cases; this module
//! does what it does, for the entries only:
//! - XML is read by a tolerant scanner, not a validating parser: a tag left open is closed by
//!   its parent's end tag, an end tag that closes nothing is ignored, a document cut short keeps
//!   the entries it has, entities are left for the HTML-to-text step to decode (which knows
//!   HTML's), and nothing outside the document (DTDs, external entities) is ever read;
//! - entries are the `item` and `entry` elements of any RSS, RDF or Atom dialect, their fields
//!   taken from their own child elements (RSS, Atom 0.3 and 1.0, Dublin Core, `content:`,
//!   Media RSS and iTunes fallbacks), never from nested ones such as an Atom `<source>`;
//! - JSON Feed is read whatever its `version` says (or without one), and a field of the wrong
//!   type is ignored rather than failing the item.
//!
//! A document without an RSS, RDF or Atom root element (or a JSON object with `items`) is not a
//! feed, and is reported as such. It takes UTF-8 text and gives [`RawEntry`] values for the
//! normalize step, links resolved against `xml:base` where the document sets one; it does not
//! normalize text or judge identity.

use std::borrow::Cow;
use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use url::Url;

use super::RawEntry;

/// Why a document read liberally is still not a feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotAFeed(pub String);

/// The root elements (local names, any case) that make an XML document a feed (a lone Atom
/// entry is one, RFC 4287 §4.1.2).
const FEED_ROOTS: &[&str] = &["rss", "rdf", "feed", "channel", "entry"];

/// How deep the scanner follows nesting; feeds nest a dozen levels, and deeper elements are
/// read as empty.
const MAX_DEPTH: usize = 256;
/// How many open elements one end tag may close: a search of the whole stack for an end tag
/// that matches nothing would make a hostile document quadratic.
const MAX_CLOSED_AT_ONCE: usize = 64;

/// Reads the entries of a feed document, XML or JSON. Text before the first `<` (a PHP warning
/// printed ahead of the feed, stray bytes) is skipped, as feedparser skips it.
pub fn read_entries(text: &str) -> Result<Vec<RawEntry>, NotAFeed> {
    let text = text.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
    match text.as_bytes().first() {
        Some(b'{') => read_json(text),
        _ => match text.find('<') {
            Some(at) => read_xml(&text[at..]),
            None => Err(NotAFeed("neither XML nor JSON".into())),
        },
    }
}

/// How many `item` and `entry` start tags a document holds, counted without parsing: more than
/// feed-rs returned means it read the document short.
pub fn count_entry_tags(text: &str) -> usize {
    // Every feed pays for this count, so it searches for the two names (SIMD substring
    // search; they are rare in a document) and looks around each, instead of at every tag.
    // Names are matched in lower case, as XML spells them; `<Item>` documents are counted
    // when feed-rs found nothing in them (see `parse_feed`).
    let bytes = text.as_bytes();
    let mut count = 0;
    for name in [&b"item"[..], b"entry"] {
        for at in memchr::memmem::find_iter(bytes, name) {
            let ends = bytes
                .get(at + name.len())
                .is_some_and(|b| b.is_ascii_whitespace() || *b == b'>' || *b == b'/');
            if ends && opens_tag_at(bytes, at) {
                count += 1;
            }
        }
    }
    count
}

/// Whether the name at `at` is a start tag's: `<item`, or `<prefix:item`.
fn opens_tag_at(bytes: &[u8], at: usize) -> bool {
    match at.checked_sub(1).map(|i| bytes[i]) {
        Some(b'<') => true,
        Some(b':') => {
            let colon = at - 1;
            let prefix = bytes[..colon]
                .iter()
                .rev()
                .take(MAX_PREFIX)
                .take_while(|b| is_name_byte(**b) && **b != b':')
                .count();
            prefix > 0 && colon > prefix && bytes[colon - prefix - 1] == b'<'
        }
        _ => false,
    }
}

/// The longest namespace prefix [`opens_tag_at`] looks back over.
const MAX_PREFIX: usize = 32;

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b':' | b'_' | b'-' | b'.') || b >= 0x80
}

// ---------------------------------------------------------------------------------------------
// XML

/// One piece of an XML document as the tolerant scanner sees it.
#[derive(Debug, PartialEq)]
enum Token<'a> {
    /// A start tag: its name, the text of its attributes, whether it closes itself, and where
    /// its content starts.
    Start {
        name: &'a str,
        attrs: &'a str,
        empty: bool,
        at: usize,
        content_at: usize,
    },
    /// An end tag: its name and where the tag starts.
    End { name: &'a str, at: usize },
    /// Anything else: text, CDATA, comments, declarations.
    Other,
}

/// A tolerant XML scanner: it never fails, and every byte belongs to one token.
struct Scanner<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Scanner<'a> {
    fn new(text: &'a str) -> Self {
        Scanner { text, at: 0 }
    }
}

impl<'a> Iterator for Scanner<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        let text = self.text;
        let bytes = text.as_bytes();
        if self.at >= text.len() {
            return None;
        }
        let start = self.at;
        if bytes[start] != b'<' {
            self.at = text[start..].find('<').map_or(text.len(), |o| start + o);
            return Some(Token::Other);
        }
        let rest = &text[start..];
        let skip_to = |end: &str, from: usize| {
            text[from..]
                .find(end)
                .map_or(text.len(), |o| from + o + end.len())
        };
        if rest.starts_with("<!--") {
            self.at = skip_to("-->", start + 4);
            return Some(Token::Other);
        }
        if rest.starts_with("<![CDATA[") {
            self.at = skip_to("]]>", start + 9);
            return Some(Token::Other);
        }
        if rest.starts_with("<?") {
            self.at = skip_to("?>", start + 2);
            return Some(Token::Other);
        }
        if rest.starts_with("<!") {
            // A DOCTYPE with an internal subset ends at `]>`; it is skipped, never read.
            let close = text[start..].find('>').map_or(text.len(), |o| start + o);
            let subset = text[start..close].contains('[');
            self.at = if subset {
                skip_to("]>", start + 2)
            } else {
                (close + 1).min(text.len())
            };
            return Some(Token::Other);
        }
        let closing = bytes.get(start + 1) == Some(&b'/');
        let name_at = start + 1 + usize::from(closing);
        let name_len = bytes[name_at.min(text.len())..]
            .iter()
            .take_while(|b| is_name_byte(**b))
            .count();
        if name_len == 0 || !bytes[name_at].is_ascii_alphabetic() && bytes[name_at] < 0x80 {
            // A `<` that opens no tag is text.
            self.at = start + 1;
            return Some(Token::Other);
        }
        let name = &text[name_at..name_at + name_len];
        let end = super::tag_end(bytes, name_at + name_len);
        self.at = end;
        if closing {
            return Some(Token::End { name, at: start });
        }
        let inner_end = if bytes[end - 1] == b'>' { end - 1 } else { end };
        let empty = inner_end > name_at + name_len && bytes[inner_end - 1] == b'/';
        let attrs_end = if empty { inner_end - 1 } else { inner_end };
        Some(Token::Start {
            name,
            attrs: &text[name_at + name_len..attrs_end.max(name_at + name_len)],
            empty,
            at: start,
            content_at: end,
        })
    }
}

/// The value of attribute `name` (any prefix, any case) in the text of a tag.
fn attr<'a>(attrs: &'a str, name: &str) -> Option<&'a str> {
    let bytes = attrs.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        while i < bytes.len() && !is_name_byte(bytes[i]) {
            i += 1;
        }
        let key_start = i;
        while i < bytes.len() && is_name_byte(bytes[i]) {
            i += 1;
        }
        let key = &attrs[key_start..i];
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if bytes.get(i) != Some(&b'=') {
            continue;
        }
        i += 1;
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let (value_start, value_end) = match bytes.get(i) {
            Some(q @ (b'"' | b'\'')) => {
                let start = i + 1;
                let end = attrs[start..]
                    .find(char::from(*q))
                    .map_or(attrs.len(), |o| start + o);
                (start, end)
            }
            _ => {
                let start = i;
                let end = attrs[start..]
                    .find(|c: char| c.is_ascii_whitespace())
                    .map_or(attrs.len(), |o| start + o);
                (start, end)
            }
        };
        i = value_end + 1;
        if key.eq_ignore_ascii_case(name) {
            return Some(&attrs[value_start..value_end]);
        }
    }
    None
}

/// Splits `prefix:local` into its parts.
fn split_name(name: &str) -> (Option<&str>, &str) {
    match name.split_once(':') {
        Some((prefix, local)) => (Some(prefix), local),
        None => (None, name),
    }
}

/// Whether a namespace is one of the feed formats' own (RSS 0.90 to 2.0, RDF, Atom 0.3 and
/// 1.0), whose `item` and `entry` elements are entries.
fn is_feed_namespace(uri: &str) -> bool {
    let uri = uri.to_ascii_lowercase();
    ["atom", "rss", "netscape.com", "rdf", "userland.com"]
        .iter()
        .any(|part| uri.contains(part))
}

/// An entry's field, in the order of preference among the elements that may give it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Field {
    Title(u8),
    Id(u8),
    Content(u8),
    Summary(u8),
    Published(u8),
    Updated(u8),
}

/// Which field a child element of an entry gives. `own` says the element is in the entry's
/// own vocabulary; `prefix` is its namespace prefix and `ns` the namespace it maps to, when
/// declared.
fn field_of(own: bool, prefix: Option<&str>, ns: Option<&str>, local: &str) -> Option<Field> {
    let local = local.to_ascii_lowercase();
    let ns = ns.unwrap_or_default().to_ascii_lowercase();
    let dc = ns.contains("purl.org/dc") || prefix == Some("dc");
    let media = ns.contains("search.yahoo.com/mrss") || prefix == Some("media");
    let itunes = ns.contains("itunes.com") || prefix == Some("itunes");
    let content_ns = ns.contains("purl.org/rss/1.0/modules/content") || prefix == Some("content");
    // RSS items borrow Atom's dates (`<atom:updated>`), as feed-rs reads them.
    let atom = ns.contains("w3.org/2005/atom");
    Some(match local.as_str() {
        "title" if own => Field::Title(0),
        "title" if dc => Field::Title(1),
        "title" if itunes => Field::Title(2),
        "title" if media => Field::Title(3),
        "guid" | "id" if own => Field::Id(0),
        "encoded" if content_ns => Field::Content(0),
        "content" | "body" | "fullitem" if own => Field::Content(1),
        "body" if ns.contains("xhtml") || prefix == Some("xhtml") => Field::Content(2),
        "description" | "summary" if own => Field::Summary(0),
        "description" if dc => Field::Summary(1),
        "summary" if itunes => Field::Summary(2),
        "subtitle" if itunes => Field::Summary(3),
        "description" if media => Field::Summary(4),
        "pubdate" | "published" | "issued" if own => Field::Published(0),
        "date" if dc => Field::Published(1),
        "published" if atom => Field::Published(2),
        "created" if own || dc => Field::Published(3),
        "updated" | "modified" if own || dc => Field::Updated(0),
        "updated" if atom => Field::Updated(1),
        _ => return None,
    })
}

/// An entry being read: each field's best value so far, with its preference.
#[derive(Default)]
struct EntryDraft {
    title: Option<(Field, String)>,
    id: Option<(Field, String)>,
    content: Option<(Field, String)>,
    summary: Option<(Field, String)>,
    published: Option<(Field, DateTime<Utc>)>,
    updated: Option<(Field, DateTime<Utc>)>,
    links: Vec<(String, Option<String>)>,
    enclosure: Option<String>,
    /// The `xml:base` in force for the entry (XML Base, which RFC 4287 §2 adopts), against which
    /// its relative links resolve.
    base: Option<Url>,
}

impl EntryDraft {
    fn offer(&mut self, field: Field, value: String) {
        fn keep<T>(slot: &mut Option<(Field, T)>, field: Field, value: T) {
            if slot.as_ref().is_none_or(|(f, _)| field < *f) {
                *slot = Some((field, value));
            }
        }
        if value.trim().is_empty() {
            return;
        }
        match field {
            Field::Title(_) => keep(&mut self.title, field, value),
            Field::Id(_) => keep(&mut self.id, field, value.trim().to_owned()),
            Field::Content(_) => keep(&mut self.content, field, value),
            Field::Summary(_) => keep(&mut self.summary, field, value),
            Field::Published(_) => {
                if let Some(at) = parse_date(&value) {
                    keep(&mut self.published, field, at);
                }
            }
            Field::Updated(_) => {
                if let Some(at) = parse_date(&value) {
                    keep(&mut self.updated, field, at);
                }
            }
        }
    }

    fn add_link(&mut self, href: &str, rel: Option<String>) {
        let href = href.trim();
        let resolved = self.base.as_ref().and_then(|base| base.join(href).ok());
        let href = resolved.map_or_else(|| href.to_owned(), String::from);
        self.links.push((href, rel));
    }

    fn finish(self) -> RawEntry {
        RawEntry {
            id: self.id.map(|(_, v)| v).unwrap_or_default(),
            title: self.title.map(|(_, v)| v),
            links: self.links,
            content: self.content.map(|(_, v)| v),
            summary: self.summary.map(|(_, v)| v),
            published: self.published.map(|(_, v)| v),
            updated: self.updated.map(|(_, v)| v),
            enclosure: self.enclosure,
        }
    }
}

/// An open child element of an entry whose text is wanted.
struct OpenField {
    /// None for an RSS `link` (no `href`), whose text is the link.
    field: Option<Field>,
    content_at: usize,
    /// Whether the element holds markup (inline XHTML, or HTML left unescaped).
    has_markup: bool,
}

/// An entry element being read.
struct OpenEntry<'a> {
    depth: usize,
    /// The entry element's namespace prefix: its own fields share it (`a:entry`, `a:title`),
    /// or have none.
    prefix: Option<&'a str>,
    draft: EntryDraft,
    child: Option<OpenField>,
}

fn read_xml(text: &str) -> Result<Vec<RawEntry>, NotAFeed> {
    let mut namespaces: HashMap<&str, &str> = HashMap::new();
    let mut stack: Vec<&str> = Vec::new();
    let mut root: Option<&str> = None;
    let mut document_base: Option<Url> = None;
    let mut entries = Vec::new();
    let mut entry: Option<OpenEntry<'_>> = None;
    for token in Scanner::new(text) {
        match token {
            Token::Start {
                name,
                attrs,
                empty,
                at,
                content_at,
            } => {
                declare_namespaces(attrs, &mut namespaces);
                let (prefix, local) = split_name(name);
                // Beyond MAX_DEPTH an element is taken as empty, so a hostile document costs
                // neither memory nor time for its nesting.
                let empty = empty
                    || carries_its_data_in_attributes(local, attrs)
                    || stack.len() >= MAX_DEPTH;
                if root.is_none() {
                    root = Some(local);
                    document_base = attr(attrs, "xml:base").and_then(|b| Url::parse(b.trim()).ok());
                }
                let is_entry_tag = (local.eq_ignore_ascii_case("item")
                    || local.eq_ignore_ascii_case("entry"))
                    && prefix
                        .is_none_or(|p| namespaces.get(p).is_none_or(|uri| is_feed_namespace(uri)));
                // A new entry inside the open one or one of its fields: the open one (and its
                // field) was never closed, as entries do not nest.
                if is_entry_tag
                    && entry.as_ref().is_some_and(|e| stack.len() <= e.depth + 1)
                    && let Some(mut open) = entry.take()
                {
                    if let Some(child) = open.child.take() {
                        end_child(&mut open.draft, child, text, at);
                    }
                    stack.truncate(open.depth - 1);
                    entries.push(open.draft.finish());
                }
                if !empty {
                    stack.push(name);
                }
                match &mut entry {
                    None if is_entry_tag => {
                        let base = match attr(attrs, "xml:base") {
                            Some(own) => match &document_base {
                                Some(outer) => outer.join(own.trim()).ok(),
                                None => Url::parse(own.trim()).ok(),
                            },
                            None => document_base.clone(),
                        };
                        entry = Some(OpenEntry {
                            depth: stack.len() + usize::from(empty),
                            prefix,
                            draft: EntryDraft {
                                base,
                                ..EntryDraft::default()
                            },
                            child: None,
                        });
                        if empty {
                            // `<item/>`: an entry with nothing in it.
                            if let Some(open) = entry.take() {
                                entries.push(open.draft.finish());
                            }
                        }
                    }
                    None => {}
                    Some(open) => {
                        let child_depth = open.depth + 1;
                        let depth = stack.len() + usize::from(empty);
                        if depth == child_depth {
                            start_child(open, prefix, local, attrs, empty, content_at, &namespaces);
                        } else if depth > child_depth
                            && let Some(child) = &mut open.child
                        {
                            child.has_markup = true;
                        }
                    }
                }
            }
            Token::End { name, at } => {
                // Close up to the matching open element, among the innermost few; an end tag
                // that closes nothing is ignored.
                let searched = stack.len().saturating_sub(MAX_CLOSED_AT_ONCE);
                let Some(position) = stack[searched..]
                    .iter()
                    .rposition(|open| open.eq_ignore_ascii_case(name))
                    .map(|p| searched + p)
                else {
                    continue;
                };
                stack.truncate(position);
                let depth = stack.len();
                if let Some(open) = &mut entry {
                    if depth < open.depth {
                        if let Some(child) = open.child.take() {
                            end_child(&mut open.draft, child, text, at);
                        }
                        if let Some(open) = entry.take() {
                            entries.push(open.draft.finish());
                        }
                    } else if depth == open.depth
                        && let Some(child) = open.child.take()
                    {
                        end_child(&mut open.draft, child, text, at);
                    }
                }
            }
            Token::Other => {}
        }
    }
    // A document cut short keeps the entry it was in.
    if let Some(mut open) = entry.take() {
        if let Some(child) = open.child.take() {
            end_child(&mut open.draft, child, text, text.len());
        }
        entries.push(open.draft.finish());
    }
    match root {
        Some(root) if FEED_ROOTS.iter().any(|r| root.eq_ignore_ascii_case(r)) => Ok(entries),
        Some(root) => Err(NotAFeed(format!(
            "the root element is <{root}>, not an RSS, RDF or Atom feed"
        ))),
        None => Err(NotAFeed("no XML element".into())),
    }
}

/// Elements whose data is in their attributes (an enclosure, a thumbnail, an Atom link), taken
/// as empty however they are written: publishers with HTML habits leave them open
/// (`<enclosure url="…">`), which would otherwise swallow the rest of the entry.
fn carries_its_data_in_attributes(local: &str, attrs: &str) -> bool {
    let is = |name: &str| local.eq_ignore_ascii_case(name);
    is("enclosure")
        || is("thumbnail")
        || (is("link") || is("image")) && attr(attrs, "href").is_some()
        || is("content") && attr(attrs, "url").is_some()
        || is("category") && attr(attrs, "term").is_some()
}

/// Records the `xmlns:prefix="uri"` declarations of a tag (the whole document shares one map:
/// real feeds do not rebind their prefixes).
fn declare_namespaces<'a>(attrs: &'a str, namespaces: &mut HashMap<&'a str, &'a str>) {
    let mut rest = attrs;
    while let Some(at) = rest.find("xmlns:") {
        let after = &rest[at + 6..];
        let prefix_len = after
            .bytes()
            .take_while(|b| is_name_byte(*b) && *b != b':')
            .count();
        let prefix = &after[..prefix_len];
        if let Some(uri) = attr(after, prefix).filter(|_| !prefix.is_empty()) {
            namespaces.insert(prefix, uri);
        }
        rest = &after[prefix_len..];
    }
}

#[allow(clippy::too_many_arguments)]
fn start_child(
    open: &mut OpenEntry<'_>,
    prefix: Option<&str>,
    local: &str,
    attrs: &str,
    empty: bool,
    content_at: usize,
    namespaces: &HashMap<&str, &str>,
) {
    let ns = prefix.and_then(|p| namespaces.get(p).copied());
    // An RSS item's `atom:link` is another vocabulary's (feed-rs ignores it too).
    let own = prefix.is_none() || prefix == open.prefix;
    if local.eq_ignore_ascii_case("link") && own {
        match attr(attrs, "href") {
            Some(href) => {
                let rel = attr(attrs, "rel").map(str::to_owned);
                open.draft.add_link(&decode_xml(href), rel);
            }
            None if !empty => {
                open.child = Some(OpenField {
                    field: None,
                    content_at,
                    has_markup: false,
                });
            }
            None => {}
        }
        return;
    }
    if local.eq_ignore_ascii_case("enclosure")
        || local.eq_ignore_ascii_case("content")
            && ns.is_some_and(|ns| ns.contains("search.yahoo.com/mrss"))
    {
        if open.draft.enclosure.is_none()
            && let Some(url) = attr(attrs, "url").or_else(|| attr(attrs, "href"))
        {
            open.draft.enclosure = Some(decode_xml(url));
        }
        return;
    }
    let Some(field) = field_of(own, prefix, ns, local) else {
        return;
    };
    if empty {
        return;
    }
    // Atom content given by reference has no text here.
    if matches!(field, Field::Content(_)) && attr(attrs, "src").is_some() {
        return;
    }
    open.child = Some(OpenField {
        field: Some(field),
        content_at,
        has_markup: false,
    });
}

/// Records the text of a child that ends at `end` (where its end tag, or whatever closed it,
/// starts).
fn end_child(draft: &mut EntryDraft, child: OpenField, text: &str, end: usize) {
    let inner = &text[child.content_at.min(end)..end];
    let value = element_text(inner, child.has_markup);
    match child.field {
        Some(field) => draft.offer(field, value),
        None => {
            if !value.trim().is_empty() {
                draft.add_link(&value, None);
            }
        }
    }
}

/// The text of an element: CDATA sections as they are, the rest with XML's own entities
/// decoded when it holds no markup (other entities, `&nbsp;`, `&eacute;`, stay for the
/// HTML-to-text step, which knows HTML's; a bare `&` stays a `&`). With markup (inline XHTML,
/// or HTML left unescaped beside a CDATA section) the rest stays as written, for the
/// HTML-to-text step to read as HTML, CDATA markup included.
fn element_text(inner: &str, markup: bool) -> String {
    fn outside(text: &str, markup: bool) -> Cow<'_, str> {
        if markup {
            Cow::Borrowed(text)
        } else {
            Cow::Owned(decode_xml(text))
        }
    }
    let mut out = String::with_capacity(inner.len());
    let mut rest = inner;
    while let Some(at) = rest.find("<![CDATA[") {
        out.push_str(&outside(&rest[..at], markup));
        let cdata = &rest[at + 9..];
        let end = cdata.find("]]>").unwrap_or(cdata.len());
        out.push_str(&cdata[..end]);
        rest = &cdata[(end + 3).min(cdata.len())..];
    }
    out.push_str(&outside(rest, markup));
    out
}

/// XML's five entities and character references decoded; anything else left as written.
fn decode_xml(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let end = after.find(';').filter(|e| *e <= 10);
        let decoded = end.and_then(|end| {
            let name = &after[..end];
            let c = match name {
                "lt" => '<',
                "gt" => '>',
                "amp" => '&',
                "quot" => '"',
                "apos" => '\'',
                _ => {
                    let number = name.strip_prefix('#')?;
                    let code = match number.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => number.parse().ok()?,
                    };
                    char::from_u32(code)?
                }
            };
            Some((c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &after[end + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

// ---------------------------------------------------------------------------------------------
// JSON Feed

fn read_json(text: &str) -> Result<Vec<RawEntry>, NotAFeed> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| NotAFeed(format!("invalid JSON: {e}")))?;
    let items = value
        .get("items")
        .and_then(serde_json::Value::as_array)
        .ok_or_else(|| NotAFeed("a JSON document without an `items` array".into()))?;
    Ok(items.iter().filter_map(json_entry).collect())
}

fn json_entry(item: &serde_json::Value) -> Option<RawEntry> {
    let item = item.as_object()?;
    let text = |key: &str| {
        item.get(key)
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
            .filter(|s| !s.trim().is_empty())
    };
    // JSON Feed says `id` is a string; publishers write numbers too.
    let id = match item.get("id") {
        Some(serde_json::Value::String(s)) => s.trim().to_owned(),
        Some(serde_json::Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    let links = ["url", "external_url"]
        .iter()
        .filter_map(|key| text(key))
        .map(|href| (href, None))
        .collect();
    let enclosure = item
        .get("attachments")
        .and_then(serde_json::Value::as_array)
        .and_then(|a| a.first())
        .and_then(|a| a.get("url"))
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned);
    Some(RawEntry {
        id,
        title: text("title"),
        links,
        content: text("content_html").or_else(|| text("content_text")),
        summary: text("summary"),
        published: text("date_published").and_then(|d| parse_date(&d)),
        updated: text("date_modified").and_then(|d| parse_date(&d)),
        enclosure,
    })
}

// ---------------------------------------------------------------------------------------------
// Dates

/// A date as feeds write them: RFC 3339 (or near it), RFC 822/2822 with the usual mistakes
/// (a wrong or long weekday, `UTC` for `+0000`, long month names), or a bare date and time
/// taken as UTC.
pub fn parse_date(raw: &str) -> Option<DateTime<Utc>> {
    let s = raw.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(at) = DateTime::parse_from_rfc3339(s) {
        return Some(at.with_timezone(&Utc));
    }
    // `2026-11-28 04:00:00+00:00`, `2026-11-28T04:00:00+0000`
    let iso = s.replacen(' ', "T", 1);
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f%:z",
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M%:z",
    ] {
        if let Ok(at) = DateTime::parse_from_str(&iso, format) {
            return Some(at.with_timezone(&Utc));
        }
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(at) = NaiveDateTime::parse_from_str(iso.trim_end_matches('Z'), format) {
            return Some(at.and_utc());
        }
    }
    if let Ok(date) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return date.and_hms_opt(0, 0, 0).map(|at| at.and_utc());
    }
    parse_rfc2822_lenient(s)
}

fn parse_rfc2822_lenient(s: &str) -> Option<DateTime<Utc>> {
    // The weekday adds nothing and is often wrong or not English: drop it.
    let s = match s.split_once(',') {
        Some((day, rest)) if day.len() <= 10 && day.chars().all(char::is_alphabetic) => rest,
        _ => s,
    };
    let mut words: Vec<String> = Vec::new();
    for word in s.split_whitespace() {
        // A zone glued to the time ("13:47:03+0900").
        match word.find(['+', '-']) {
            Some(at) if at > 0 && word[..at].contains(':') => {
                words.push(word[..at].to_owned());
                words.push(word[at..].to_owned());
            }
            _ => words.push(word.to_owned()),
        }
    }
    for word in &mut words {
        if word.eq_ignore_ascii_case("UTC") || word.eq_ignore_ascii_case("Z") {
            *word = "+0000".into();
        } else if word.len() > 3 && word.chars().all(char::is_alphabetic) {
            // A long month name ("November"); a zone name is at most 4 letters.
            let short: String = word.chars().take(3).collect();
            if MONTHS.iter().any(|m| m.eq_ignore_ascii_case(&short)) {
                *word = short;
            }
        }
    }
    // Month before day ("Oct 7 2022 10:15:00 -0400").
    if words.len() >= 3
        && MONTHS.iter().any(|m| m.eq_ignore_ascii_case(&words[0]))
        && words[1].chars().all(|c| c.is_ascii_digit())
    {
        words.swap(0, 1);
    }
    // A time without seconds, or without a zone.
    if words.len() == 4 && words[3].contains(':') {
        words.push("+0000".into());
    }
    if let Some(time) = words.get_mut(3)
        && time.matches(':').count() == 1
    {
        time.push_str(":00");
    }
    let text = words.join(" ");
    DateTime::parse_from_rfc2822(&text)
        .ok()
        .map(|at| at.with_timezone(&Utc))
}

const MONTHS: &[&str] = &[
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn titles(entries: &[RawEntry]) -> Vec<&str> {
        entries
            .iter()
            .map(|e| e.title.as_deref().unwrap_or(""))
            .collect()
    }

    #[test]
    fn entries_are_read_from_every_dialect() {
        let cases = [
            (
                "rss_0_90",
                r#"<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://my.netscape.com/rdf/simple/0.9/">
<channel><title>c</title><link>http://ex.org/</link></channel>
<item><title>One</title><link>http://ex.org/1</link></item>
<item><title>Two</title><link>http://ex.org/2</link></item></rdf:RDF>"#,
                vec!["One", "Two"],
            ),
            (
                "atom_0_3",
                r#"<feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>f</title>
<entry><title>A</title><link rel="alternate" type="text/html" href="http://ex.org/a"/><id>tag:a</id>
<issued>2004-05-01T10:00:00Z</issued><content type="text/html" mode="escaped">&lt;p&gt;x&lt;/p&gt;</content></entry>
<entry><title>B</title><id>tag:b</id></entry></feed>"#,
                vec!["A", "B"],
            ),
            (
                "prefixed_atom",
                r#"<a:feed xmlns:a="http://www.w3.org/2005/Atom"><a:entry><a:title>P</a:title><a:id>1</a:id></a:entry></a:feed>"#,
                vec!["P"],
            ),
        ];
        for (name, doc, expected) in cases {
            let entries = read_entries(doc).expect(name);
            assert_eq!(titles(&entries), expected, "{name}");
        }
    }

    #[test]
    fn what_strict_parsers_reject_is_read() {
        let doc = r#"<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>t</title>
<item><title>Empty media</title><media:description/><guid>1</guid></item>
<item><title>Entity &eacute;t&eacute; &amp; bare & sign</title><guid>2</guid></item>
<item><title>Unclosed title<item><title>Unclosed item</title><guid>3</guid></item>
<item><title>Stray end</b></title><guid>4</guid></foo></item>
<item><enclosure url="https://ex.org/a.mp3" type="audio/mpeg"><title>Open enclosure</title><guid>4b</guid></item>
<item><title>Cut short</title><guid>5</guid>"#;
        let entries = read_entries(doc).expect("reads");
        let ids: Vec<&str> = entries.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["1", "2", "", "3", "4", "4b", "5"]);
        assert_eq!(
            entries[1].title.as_deref(),
            Some("Entity &eacute;t&eacute; & bare & sign")
        );
    }

    #[test]
    fn fields_come_from_the_entry_own_children() {
        let doc = r#"<feed xmlns="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/">
<entry><id>yt:1</id><title>Video</title><link rel="alternate" href="https://ex.org/v?a=1&amp;b=2"/>
<source><title>Other feed</title><id>other</id></source>
<media:group><media:title>Media title</media:title><media:description>About the video</media:description></media:group>
<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>Inline <b>markup</b></p></div></content>
<published>2026-11-28T04:00:00Z</published></entry></feed>"#;
        let entries = read_entries(doc).expect("reads");
        assert_eq!(entries.len(), 1);
        let e = &entries[0];
        assert_eq!(e.id, "yt:1");
        assert_eq!(e.title.as_deref(), Some("Video"));
        assert_eq!(
            e.links,
            [(
                "https://ex.org/v?a=1&b=2".to_owned(),
                Some("alternate".to_owned())
            )]
        );
        assert!(
            e.content
                .as_deref()
                .is_some_and(|c| c.contains("<b>markup</b>"))
        );
        assert_eq!(e.summary, None, "media:description is not the entry's own");
        assert!(e.published.is_some());
    }

    #[test]
    fn text_before_the_document_is_skipped() {
        let doc = "<b>Warning</b>: Undefined variable on line 3\n<?xml version=\"1.0\"?>\
                   <rss><channel><item><title>Kept</title></item></channel></rss>";
        // The stray `<b>` is the first element seen; a warning in plain text is skipped.
        assert!(read_entries(doc).is_err());
        let doc = "Warning: Undefined variable on line 3\n<?xml version=\"1.0\"?>\
                   <rss><channel><item><title>Kept</title></item></channel></rss>";
        assert_eq!(titles(&read_entries(doc).expect("reads")), ["Kept"]);
    }

    #[test]
    fn entry_tags_in_another_case_are_read() {
        let doc = "<RSS><CHANNEL><ITEM><TITLE>Upper</TITLE><LINK>http://ex.org/1</LINK></ITEM></CHANNEL></RSS>";
        let entries = read_entries(doc).expect("reads");
        assert_eq!(titles(&entries), ["Upper"]);
        assert_eq!(entries[0].links, [("http://ex.org/1".to_owned(), None)]);
    }

    #[test]
    fn cdata_is_kept_as_markup() {
        let doc = "<rss><channel><item><description><![CDATA[<p>A &amp; B</p>]]> &amp; more</description></item></channel></rss>";
        let entries = read_entries(doc).expect("reads");
        assert_eq!(
            entries[0].summary.as_deref(),
            Some("<p>A &amp; B</p> & more")
        );
    }

    #[test]
    fn json_feed_is_read_whatever_its_version() {
        let doc = r#"{"version":"http://jsonfeed.org/version/1","title":"t","items":[
            {"id":1,"url":"https://ex.org/1","title":"Number id","tags":"one string",
             "content_text":"Body","date_published":"2026-11-28T04:00:00+00:00"},
            {"id":"2","content_html":"<p>No title</p>"}, "not an object"]}"#;
        let entries = read_entries(doc).expect("reads");
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].id, "1");
        assert_eq!(entries[0].content.as_deref(), Some("Body"));
        assert!(entries[0].published.is_some());
        assert_eq!(entries[1].title, None);
        let no_version = r#"{"items":[{"id":"x"}]}"#;
        assert_eq!(read_entries(no_version).expect("reads").len(), 1);
    }

    #[test]
    fn documents_that_are_not_feeds_say_why() {
        let cases = [
            ("html", "<html><body><p>page</p></body></html>", "<html>"),
            ("json_without_items", r#"{"name":"x"}"#, "items"),
            ("text", "hello", "neither XML nor JSON"),
            ("text_then_html", "Error 500 <b>oops</b>", "<b>"),
            ("bad_json", "{nope", "invalid JSON"),
        ];
        for (name, doc, says) in cases {
            let err = read_entries(doc).expect_err(name);
            assert!(err.0.contains(says), "{name}: {}", err.0);
        }
    }

    #[test]
    fn hostile_nesting_is_read_in_linear_time() {
        let n = 200_000;
        let doc = format!(
            "<rss><channel><item><title>Kept</title><guid>1</guid></item>{}{}</channel></rss>",
            "<x>".repeat(n),
            "</y>".repeat(n)
        );
        let started = std::time::Instant::now();
        let entries = read_entries(&doc).expect("reads");
        assert_eq!(entries.len(), 1);
        // Quadratic would be 4e10 comparisons: minutes, not this.
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
    }

    #[test]
    fn entry_tags_are_counted() {
        let cases = [
            (
                "rss",
                "<rss><item>a</item><item x='1'>b</item><items/></rss>",
                2,
            ),
            (
                "atom_prefixed",
                "<a:feed><a:entry></a:entry><entry/></a:feed>",
                2,
            ),
            ("none", "<rss><channel></channel></rss>", 0),
            (
                "other_case_left_to_the_reader",
                "<rss><Item>a</Item></rss>",
                0,
            ),
        ];
        for (name, doc, expected) in cases {
            assert_eq!(count_entry_tags(doc), expected, "{name}");
        }
    }

    #[test]
    fn dates_are_read_as_feeds_write_them() {
        let cases = [
            (
                "rfc3339",
                "2026-11-28T04:00:00Z",
                Some("2026-11-28T04:00:00Z"),
            ),
            (
                "offset",
                "2026-11-28T13:00:00+09:00",
                Some("2026-11-28T04:00:00Z"),
            ),
            ("space_no_colon", "2026-11-28 04:00:00 +0000", None),
            (
                "iso_no_zone",
                "2026-11-28T04:00:00",
                Some("2026-11-28T04:00:00Z"),
            ),
            ("date_only", "2026-11-28", Some("2026-11-28T00:00:00Z")),
            (
                "rfc822",
                "Sat, 28 Nov 2026 04:00:00 GMT",
                Some("2026-11-28T04:00:00Z"),
            ),
            (
                "wrong_weekday",
                "Mon, 28 Nov 2026 04:00:00 +0000",
                Some("2026-11-28T04:00:00Z"),
            ),
            (
                "long_names",
                "Saturday, 28 November 2026 04:00 UTC",
                Some("2026-11-28T04:00:00Z"),
            ),
            (
                "no_zone",
                "28 Nov 2026 04:00:00",
                Some("2026-11-28T04:00:00Z"),
            ),
            ("nonsense", "next Tuesday", None),
        ];
        for (name, raw, expected) in cases {
            let got = parse_date(raw).map(crate::model::format_time);
            if name == "space_no_colon" {
                // Read one way or another, but never wrongly.
                assert!(got.is_none() || got.as_deref() == Some("2026-11-28T04:00:00Z"));
                continue;
            }
            assert_eq!(got.as_deref(), expected, "{name}");
        }
    }
}
