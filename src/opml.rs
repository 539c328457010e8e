//! OPML, the outline format feed readers exchange subscriptions in (OPML 2.0,
//! <http://opml.org/spec2.opml>).
//!
//! Takes an OPML document and gives its feeds (every `<outline>` with an `xmlUrl`, folders
//! flattened, named by `title`, else `text`), renders them as `[[feed]]` blocks, and appends
//! them to a config file as plain text at its end, so its comments and layout stay as they
//! were. Gives the config's feeds back as an OPML 2.0 document. It does not fetch the feeds,
//! nor carry `interval` or `filter` through OPML (readers have no such attributes): imported
//! feeds get the defaults.
//!
//! One bad outline (a URL that is not http or https, a feed listed twice) is reported by name
//! and skipped; the rest are imported. A document that is not well-formed XML, or not OPML,
//! is an error with its line and column.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};
use url::Url;

use crate::config::{self, Config};

/// Why an OPML document could not be read, or a config not appended to.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Not well-formed XML.
    #[error("line {line}, column {column}: {message}")]
    Xml {
        line: usize,
        column: usize,
        message: String,
    },
    /// Well-formed, but its root element is not `<opml>`.
    #[error("not an OPML document: the root element is <{0}>, not <opml>")]
    NotOpml(String),
    /// No element at all.
    #[error("not an OPML document: it has no elements")]
    Empty,
    #[error("cannot read config {}: {source}", path.display())]
    ReadConfig {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot append to config {}: {source}", path.display())]
    WriteConfig {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The config with the new blocks would not load; nothing was written.
    #[error("the config would not load with the imported feeds, so it was left as it was: {0}")]
    Config(#[from] config::Error),
}

/// One feed of an OPML document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feed {
    pub name: String,
    pub url: Url,
}

/// An outline that was not imported, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Its name, as the document gives it.
    pub name: String,
    /// Its `xmlUrl`, as the document gives it.
    pub url: String,
    pub reason: SkipReason,
}

/// Why an outline was not imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// The URL does not parse, or is not http or https.
    BadUrl(String),
    /// The same URL came earlier in the document, under this name.
    Duplicate(String),
    /// The config already has this URL, under this name.
    Configured(String),
}

impl SkipReason {
    /// Whether the outline is wrong (rather than already there).
    pub fn is_error(&self) -> bool {
        matches!(self, SkipReason::BadUrl(_))
    }
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\" ({}): ", self.name, self.url)?;
        match &self.reason {
            SkipReason::BadUrl(why) => write!(f, "{why}"),
            SkipReason::Duplicate(first) => write!(f, "listed twice (also as \"{first}\")"),
            SkipReason::Configured(name) => write!(f, "already in the config as \"{name}\""),
        }
    }
}

/// The feeds of one OPML document, and the outlines that were skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Import {
    /// In document order, with unique names and URLs.
    pub feeds: Vec<Feed>,
    pub skipped: Vec<Skipped>,
}

impl Import {
    /// This import as an addition to `config`: feeds whose URL the config has are skipped,
    /// and a name the config already uses gets the feed's host, or a number, appended.
    pub fn without_configured(self, config: &Config) -> Import {
        let configured: HashMap<&Url, &str> = config
            .feeds
            .iter()
            .map(|f| (&f.url, f.name.as_str()))
            .collect();
        let mut taken: HashSet<String> = config.feeds.iter().map(|f| f.name.clone()).collect();
        let mut out = Import {
            feeds: Vec::new(),
            skipped: self.skipped,
        };
        for feed in self.feeds {
            if let Some(name) = configured.get(&feed.url) {
                out.skipped.push(Skipped {
                    name: feed.name,
                    url: feed.url.to_string(),
                    reason: SkipReason::Configured((*name).to_owned()),
                });
                continue;
            }
            let name = unique_name(&feed.name, &feed.url, &mut taken);
            out.feeds.push(Feed { name, ..feed });
        }
        out
    }
}

/// Reads the feeds of an OPML document: every `<outline>` with an `xmlUrl`, wherever it is
/// nested (folders are flattened). Its name is its `title`, else its `text`, else the URL's
/// host. A URL listed twice is imported once; a name listed twice gets the host appended.
pub fn import(text: &str) -> Result<Import, Error> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = Reader::from_str(text);
    let mut seen_root = false;
    // The elements open at this point: quick-xml checks that end tags match, but leaves an
    // element never closed, or a second root, to its caller.
    let mut open: Vec<String> = Vec::new();
    let mut import = Import::default();
    let mut urls: HashMap<Url, String> = HashMap::new();
    let mut names = HashSet::new();
    loop {
        // Where the next event starts: the position errors about an element point to.
        let at = usize::try_from(reader.buffer_position()).unwrap_or(text.len());
        let event = reader
            .read_event()
            .map_err(|e| xml_error(text, reader.error_position(), &e))?;
        let (element, empty) = match event {
            Event::Start(element) => (element, false),
            Event::Empty(element) => (element, true),
            Event::End(_) => {
                open.pop();
                continue;
            }
            Event::Eof => match open.last() {
                Some(tag) => {
                    let message = format!("the document ends before <{tag}> is closed");
                    return Err(xml_message(text, text.len(), message));
                }
                None => break,
            },
            _ => continue,
        };
        let tag = element.local_name().as_ref().to_owned();
        if !empty {
            open.push(tag.clone());
        }
        if open.len() <= usize::from(!empty) {
            if seen_root {
                let message = format!("<{tag}> after the root element has ended");
                return Err(xml_message(text, at, message));
            }
            if tag != "opml" {
                return Err(Error::NotOpml(tag));
            }
            seen_root = true;
            continue;
        }
        if tag != "outline" {
            continue;
        }
        let Some(outline) =
            read_outline(&element).map_err(|e| xml_message(text, at, e.to_string()))?
        else {
            // A folder, or a plain outline: its children, if any, come as their own events.
            continue;
        };
        let url = match feed_url(&outline.url) {
            Ok(url) => url,
            Err(why) => {
                import.skipped.push(Skipped {
                    name: outline.name,
                    url: outline.url,
                    reason: SkipReason::BadUrl(why),
                });
                continue;
            }
        };
        if let Some(first) = urls.get(&url) {
            import.skipped.push(Skipped {
                name: outline.name,
                url: outline.url,
                reason: SkipReason::Duplicate(first.clone()),
            });
            continue;
        }
        let name = if outline.name.is_empty() {
            url.host_str().unwrap_or_default().to_owned()
        } else {
            outline.name
        };
        let name = unique_name(&name, &url, &mut names);
        urls.insert(url.clone(), name.clone());
        import.feeds.push(Feed { name, url });
    }
    if !seen_root {
        return Err(Error::Empty);
    }
    Ok(import)
}

/// The name and `xmlUrl` of a feed outline, as written.
struct Outline {
    name: String,
    url: String,
}

/// A feed outline's name and URL; `None` for an outline without `xmlUrl` (a folder).
fn read_outline(element: &BytesStart<'_>) -> Result<Option<Outline>, quick_xml::Error> {
    let (mut url, mut title, mut text) = (None, String::new(), String::new());
    for attribute in element.attributes() {
        let attribute = attribute?;
        let value = attribute.normalized_value(XmlVersion::Implicit1_0)?;
        let key = attribute.key.local_name();
        // The specification spells it `xmlUrl`; some old exporters wrote `xmlURL` or `xmlurl`.
        if key.as_ref().eq_ignore_ascii_case("xmlurl") {
            url = Some(value.trim().to_owned());
        } else if key.as_ref() == "title" {
            title = collapse_whitespace(&value);
        } else if key.as_ref() == "text" {
            text = collapse_whitespace(&value);
        }
    }
    Ok(url.map(|url| Outline {
        name: if title.is_empty() { text } else { title },
        url,
    }))
}

fn collapse_whitespace(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A feed URL as the config accepts it: http or https, with a host.
fn feed_url(raw: &str) -> Result<Url, String> {
    let url = Url::parse(raw).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err("not an http or https URL".to_owned());
    }
    Ok(url)
}

/// `name`, or when it is taken, `name (host)`, else `name (2)`, `name (3)`…; marks it taken.
fn unique_name(name: &str, url: &Url, taken: &mut HashSet<String>) -> String {
    let with_host = format!("{name} ({})", url.host_str().unwrap_or_default());
    for candidate in [name.to_owned(), with_host] {
        if taken.insert(candidate.clone()) {
            return candidate;
        }
    }
    let mut n = 2u64;
    loop {
        let candidate = format!("{name} ({n})");
        if taken.insert(candidate.clone()) {
            return candidate;
        }
        n += 1;
    }
}

/// An error of the XML reader at byte `position` of `text`, with its line and column.
fn xml_error(text: &str, position: u64, error: &quick_xml::Error) -> Error {
    let position = usize::try_from(position).unwrap_or(text.len());
    xml_message(text, position, error.to_string())
}

/// An error at byte `position` of `text`, with its line and column.
fn xml_message(text: &str, position: usize, message: String) -> Error {
    let position = position.min(text.len());
    // Positions fall on character boundaries for the reader's own errors; `get` keeps a
    // surprise from panicking.
    let before = text.get(..position).unwrap_or(text);
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Error::Xml {
        line: before.matches('\n').count() + 1,
        column: before[line_start..].chars().count() + 1,
        message,
    }
}

/// The feeds as `[[feed]]` blocks of the config, each after a blank line.
pub fn render(feeds: &[Feed]) -> String {
    let mut out = String::new();
    for feed in feeds {
        out.push_str(&format!(
            "\n[[feed]]\nname = {}\nurl = {}\n",
            config::quote(&feed.name),
            config::quote(feed.url.as_str())
        ));
    }
    out
}

/// Appends `feeds` to the config file at `path` as `[[feed]]` blocks after a comment naming
/// `source`. The file's text is kept as it is, comments included: the blocks go at its end.
/// The config is loaded with the blocks first, and nothing is written if it would not load.
pub fn append(path: &Path, feeds: &[Feed], source: &str) -> Result<(), Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::ReadConfig {
        path: path.to_path_buf(),
        source,
    })?;
    let mut added = String::new();
    if !text.is_empty() && !text.ends_with('\n') {
        added.push('\n');
    }
    // A file name may hold anything; a line break would end the comment.
    let source: String = source.chars().filter(|c| !c.is_control()).collect();
    added.push_str(&format!(
        "\n# Imported from {source} by `storywatch feeds import`.\n"
    ));
    added.push_str(&render(feeds));
    config::parse(&format!("{text}{added}"), path)?;
    let write = || -> std::io::Result<()> {
        let mut file = std::fs::OpenOptions::new().append(true).open(path)?;
        file.write_all(added.as_bytes())?;
        file.sync_data()
    };
    write().map_err(|source| Error::WriteConfig {
        path: path.to_path_buf(),
        source,
    })
}

/// The config's feeds as an OPML 2.0 document, one `<outline type="rss">` a feed.
pub fn export(config: &Config) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <opml version=\"2.0\">\n  <head>\n    <title>storywatch feeds</title>\n  </head>\n  <body>\n",
    );
    for feed in &config.feeds {
        let name = attribute(&feed.name);
        out.push_str(&format!(
            "    <outline type=\"rss\" text=\"{name}\" title=\"{name}\" xmlUrl=\"{}\"/>\n",
            attribute(feed.url.as_str())
        ));
    }
    out.push_str("  </body>\n</opml>\n");
    out
}

/// `s` escaped for a double-quoted XML attribute. Tabs and line breaks become character
/// references (a reader would otherwise turn them into spaces), and the control characters
/// XML 1.0 forbids are dropped.
fn attribute(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if c.is_control() && (c as u32) < 0x20 => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names_and_urls(import: &Import) -> Vec<(&str, &str)> {
        import
            .feeds
            .iter()
            .map(|f| (f.name.as_str(), f.url.as_str()))
            .collect()
    }

    #[test]
    fn nested_folders_are_flattened_and_names_come_from_title_then_text() {
        let opml = r#"<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head><title>My feeds</title></head>
  <body>
    <outline text="Korea" title="Korea">
      <outline type="rss" text="NK News text" title="NK News" xmlUrl="https://www.nknews.org/feed/"/>
      <outline text="Deeper">
        <outline type="rss" text="Daily NK" xmlUrl="https://www.dailynk.com/english/feed/"></outline>
      </outline>
    </outline>
    <outline type="rss" text="  Spaced
      name " xmlUrl="https://example.org/a?x=1&amp;y=2"/>
    <outline type="rss" xmlUrl="https://nameless.example.org/rss"/>
    <outline type="link" text="A web page, not a feed" url="https://example.org/"/>
  </body>
</opml>"#;
        let import = import(opml).expect("imports");
        assert_eq!(
            names_and_urls(&import),
            [
                ("NK News", "https://www.nknews.org/feed/"),
                ("Daily NK", "https://www.dailynk.com/english/feed/"),
                ("Spaced name", "https://example.org/a?x=1&y=2"),
                ("nameless.example.org", "https://nameless.example.org/rss"),
            ]
        );
        assert!(import.skipped.is_empty(), "{:?}", import.skipped);
    }

    #[test]
    fn duplicates_and_bad_urls_are_skipped_by_name() {
        let opml = r#"<opml version="2.0"><body>
            <outline text="One" xmlUrl="https://example.org/feed"/>
            <outline text="One again" xmlUrl="https://EXAMPLE.org:443/feed"/>
            <outline text="One" xmlUrl="https://other.example.org/feed"/>
            <outline text="Old scheme" xmlUrl="feed://example.org/rss"/>
            <outline text="Relative" xmlUrl="/rss.xml"/>
        </body></opml>"#;
        let import = import(opml).expect("imports");
        assert_eq!(
            names_and_urls(&import),
            [
                ("One", "https://example.org/feed"),
                ("One (other.example.org)", "https://other.example.org/feed"),
            ]
        );
        let skipped: Vec<(&str, bool)> = import
            .skipped
            .iter()
            .map(|s| (s.name.as_str(), s.reason.is_error()))
            .collect();
        assert_eq!(
            skipped,
            [
                ("One again", false),
                ("Old scheme", true),
                ("Relative", true)
            ]
        );
        assert_eq!(
            import.skipped[0].to_string(),
            "\"One again\" (https://EXAMPLE.org:443/feed): listed twice (also as \"One\")"
        );
    }

    #[test]
    fn malformed_documents_are_errors_with_a_position() {
        let cases = [
            // (name, document, expected start of the message)
            (
                "mismatched_end_tag",
                "<opml>\n<body>\n<outline text=\"a\" xmlUrl=\"https://e.org/\">\n</body></opml>",
                "line 4",
            ),
            (
                "unclosed_root",
                "<opml version=\"2.0\">\n<body>",
                "line 2, column 7: the document ends before <body> is closed",
            ),
            (
                "second_root",
                "<opml><body/></opml>\n<opml/>",
                "line 2, column 1: <opml> after the root element has ended",
            ),
            (
                "bad_attribute",
                "<opml>\n<body><outline text=\"a & b\" xmlUrl=\"https://e.org/\"/></body></opml>",
                "line 2",
            ),
            (
                "not_opml",
                "<rss version=\"2.0\"><channel/></rss>",
                "not an OPML document",
            ),
            ("no_element", "just text", "not an OPML document"),
        ];
        for (name, document, expected) in cases {
            let error = import(document).expect_err(name).to_string();
            assert!(error.starts_with(expected), "{name}: {error}");
        }
    }

    #[test]
    fn export_escapes_and_reads_back() {
        let text = r#"
[[feed]]
name = "Q&A <\"quoted\">"
url = "https://example.org/rss?a=1&b=2"

[[feed]]
name = "북한 러시아"
url = "https://news.example.org/rss?q=%EB%B6%81%ED%95%9C"
"#;
        let config = config::parse(text, Path::new("test.toml")).expect("config");
        let opml = export(&config);
        assert!(
            opml.contains("Q&amp;A &lt;&quot;quoted&quot;&gt;"),
            "{opml}"
        );
        let back = import(&opml).expect("reads back");
        let expected: Vec<(&str, &str)> = config
            .feeds
            .iter()
            .map(|f| (f.name.as_str(), f.url.as_str()))
            .collect();
        assert_eq!(names_and_urls(&back), expected);
    }

    #[test]
    fn rendered_blocks_parse_as_the_same_feeds() {
        let feeds = vec![Feed {
            name: "A \"quoted\" \\ name".into(),
            url: Url::parse("https://example.org/feed").expect("url"),
        }];
        let config = config::parse(&render(&feeds), Path::new("test.toml")).expect("config");
        assert_eq!(config.feeds[0].name, feeds[0].name);
        assert_eq!(config.feeds[0].url, feeds[0].url);
    }

    #[test]
    fn an_addition_skips_configured_urls_and_renames_taken_names() {
        let config = config::parse(
            "[[feed]]\nname = \"NK News\"\nurl = \"https://www.nknews.org/feed/\"\n",
            Path::new("test.toml"),
        )
        .expect("config");
        let opml = r#"<opml version="2.0"><body>
            <outline text="NK News (own name)" xmlUrl="https://www.nknews.org/feed/"/>
            <outline text="NK News" xmlUrl="https://www.nknews.org/other-feed/"/>
        </body></opml>"#;
        let import = import(opml).expect("imports").without_configured(&config);
        assert_eq!(
            names_and_urls(&import),
            [(
                "NK News (www.nknews.org)",
                "https://www.nknews.org/other-feed/"
            )]
        );
        assert_eq!(
            import.skipped[0].reason,
            SkipReason::Configured("NK News".into())
        );
    }
}
