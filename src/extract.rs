//! The extract stage: an article page's HTML to what storywatch stores of it.
//!
//! Takes the bytes of a fetched page, the charset its server declared and the page's URL;
//! gives the article's title, its body text as paragraphs, its canonical URL and its published
//! and modified times, where the page says them:
//! - bytes to text: a byte-order mark, else UTF-8 when the bytes are valid UTF-8 and not all
//!   ASCII (a legacy encoding almost never is), else the `Content-Type` charset, else the
//!   page's `<meta charset>` or `http-equiv` charset, else windows-1252 (as browsers do).
//!   Korean and Russian publishers still serve EUC-KR and windows-1251;
//! - the article: dom_smoothie, a port of Mozilla's Readability (the reader view of Firefox),
//!   finds the article's container and drops navigation, related links, share bars, comments
//!   and ads; its text keeps the paragraph structure, and each paragraph is normalized as feed
//!   text is ([`crate::feed::normalize_text`]), so an edit of whitespace, soft hyphens or
//!   invisible characters is no edit;
//! - only the article's own text: before Readability reads the page, what is not the story's
//!   text is taken out (figures and captions, buttons and form fields, `<nav>`, `<aside>`,
//!   `<footer>`, date lines: [`drop_furniture`]), since Readability keeps whatever of it sits
//!   in the article's container; the title, stored on its own, is not the body's first line;
//! - the whole article: Readability keeps one container and its like siblings, so an article
//!   cut into many blocks loses most of its text; when the result holds much less of the page's
//!   prose than the page has, the element that holds the prose is read instead
//!   ([`survey_prose`]);
//! - stable text: what changes on every load of a page is not the article, so relative times
//!   and counters ("Updated 5 minutes ago · 1,234 views", "3시간 전", "15 комментариев") are
//!   taken out of the short lines around it ([`without_volatile_phrases`]);
//! - metadata: the title and dates from the page's meta tags and JSON-LD, the canonical URL
//!   from `<link rel="canonical">`, else `og:url`, canonical as feed links are (no tracking
//!   parameters, no fragment);
//! - bounds: a page of more than [`MAX_ELEMENTS`] elements is refused, nesting deeper than
//!   [`MAX_NESTING`] is refused before parsing (a DOM walk that deep would exhaust the
//!   stack), and a panic inside the extractor is this page's error, not the daemon's.
//!
//! It does not fetch, compare or store: the page fetcher, the store and the diff do.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use encoding_rs::Encoding;
use url::Url;

use crate::feed;

/// Errors of the extract stage; each says why the page gave no article.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no article found: {0}")]
    NoArticle(String),
    #[error("the page nests elements deeper than {MAX_NESTING}")]
    TooDeep,
    #[error("the extractor failed: {0}")]
    Panicked(String),
}

/// The most elements a page may have (a long live blog has some 20,000).
pub const MAX_ELEMENTS: usize = 200_000;
/// The deepest nesting of elements read (real pages stay under 100).
pub const MAX_NESTING: usize = 1_000;

/// What storywatch stores of an article page.
#[derive(Debug, Clone, PartialEq)]
pub struct Article {
    /// The article's title, normalized.
    pub title: String,
    /// The body as normalized paragraphs, none empty.
    pub paragraphs: Vec<String>,
    /// The page's canonical URL, made canonical as feed links are.
    pub canonical_url: Option<String>,
    pub published_at: Option<DateTime<Utc>>,
    pub modified_at: Option<DateTime<Utc>>,
}

impl Article {
    /// The body as stored: one paragraph a line, as feed bodies are.
    pub fn text(&self) -> String {
        self.paragraphs.join("\n")
    }
}

/// Extracts the article of a page. `charset` is the `Content-Type` header's, if any; `url` is
/// the page's, to resolve relative links (the canonical URL among them).
pub fn extract_article(
    body: &[u8],
    charset: Option<&str>,
    url: Option<&Url>,
) -> Result<Article, Error> {
    let html = decode_page(body, charset);
    if nesting_depth(&html) > MAX_NESTING {
        return Err(Error::TooDeep);
    }
    let config = dom_smoothie::Config {
        text_mode: dom_smoothie::TextMode::Formatted,
        max_elements_to_parse: MAX_ELEMENTS,
        ..Default::default()
    };
    let extracted = feed::catch_quietly(|| -> Result<_, dom_smoothie::ReadabilityError> {
        let mut readability = dom_smoothie::Readability::new(
            html.as_ref(),
            url.map(Url::as_str),
            Some(config.clone()),
        )?;
        let canonical = readability
            .doc
            .select("link[rel~='canonical']")
            .attr("href")
            .or_else(|| {
                readability
                    .doc
                    .select("meta[property='og:url']")
                    .attr("content")
            })
            .map(|href| href.to_string());
        // Readability reads the published time and JSON-LD's dates; news sites also say them
        // in Open Graph's article tags and schema.org microdata.
        let meta = |selectors: &[&str]| {
            selectors.iter().find_map(|selector| {
                let found = readability.doc.select(selector);
                found
                    .attr("content")
                    .or_else(|| found.attr("datetime"))
                    .map(|v| v.to_string())
            })
        };
        let published = meta(&[
            "meta[property='article:published_time']",
            "meta[itemprop='datePublished']",
            "meta[name='pubdate']",
            "time[itemprop='datePublished']",
        ]);
        let modified = meta(&[
            "meta[property='article:modified_time']",
            "meta[property='og:updated_time']",
            "meta[itemprop='dateModified']",
            "time[itemprop='dateModified']",
        ]);
        drop_furniture(&readability);
        let prose = survey_prose(&readability, false);
        let mut article = readability.parse()?;
        // Readability keeps one container and the siblings that score like it; an article
        // cut into many blocks (a CMS's "paragraph" components, a lead apart from the body)
        // loses most of its text that way. When the result holds much less than the page's
        // prose and an element holds more of it, the page is parsed again to read that
        // element (Readability changed the first parse's document).
        let got = article.text_content.chars().count();
        if got * SHORT_RESULT.1 < prose.chars * SHORT_RESULT.0
            && prose.in_container.is_some_and(|held| held > got)
        {
            // The page parsed before; should it not parse again, Readability's result stands.
            let again =
                dom_smoothie::Readability::new(html.as_ref(), url.map(Url::as_str), Some(config));
            if let Ok(again) = again {
                drop_furniture(&again);
                if let Some(text) = survey_prose(&again, true).text
                    && text.chars().count() > got
                {
                    article.text_content = text.into();
                }
            }
        }
        Ok((article, canonical, published, modified))
    })
    .map_err(Error::Panicked)?;
    let (article, canonical, published, modified) =
        extracted.map_err(|e| Error::NoArticle(e.to_string()))?;
    let title = feed::normalize_text(&article.title).replace('\n', " ");
    let mut paragraphs: Vec<String> = article
        .text_content
        .lines()
        .map(|line| without_volatile_phrases(&feed::normalize_text(line)))
        .filter(|p| !p.is_empty())
        .collect();
    if paragraphs.len() > 1
        && paragraphs
            .first()
            .is_some_and(|first| is_the_title(first, &title))
    {
        paragraphs.remove(0);
    }
    if paragraphs.is_empty() {
        return Err(Error::NoArticle("the article has no text".into()));
    }
    let canonical_url = canonical
        .or(article.url)
        .and_then(|href| feed::canonical_url(&href, url));
    let date = |raw: Option<String>| raw.as_deref().and_then(feed::liberal::parse_date);
    Ok(Article {
        title,
        paragraphs,
        canonical_url,
        published_at: date(article.published_time).or_else(|| date(published)),
        modified_at: date(article.modified_time).or_else(|| date(modified)),
    })
}

/// What a page holds that is not the article's text, taken out of the page before Readability
/// looks for the article, so that it is neither scored nor kept inside the article's container:
/// - figures and their captions (a photo's caption and credit are not the story; a figure that
///   holds a table is the article's table, and stays), and short elements whose class says
///   caption or credit (`<p class="wp-caption-text">`, `<span class="image-credit">`), which
///   many sites use instead of `<figcaption>`;
/// - controls: buttons, form fields and their options ("Play video", "Share", "Show more",
///   a player's "Current time 0:00");
/// - navigation, asides (related links, pull-outs, newsletter boxes) and footers, wherever
///   they stand: HTML says what they are, and none of them is the article's own text;
/// - `<time>` elements standing between blocks (a date line) rather than inside a sentence.
///
/// Readability keeps these when they sit inside the article's container, which the common
/// article-body benchmarks (scrapinghub's article-extraction-benchmark, trafilatura's
/// evaluation) count as extra text; trafilatura drops the same elements.
fn drop_furniture(readability: &dom_smoothie::Readability) {
    let doc = &readability.doc;
    doc.select(
        "figure:not(:has(table)), figcaption, button, input, select, option, textarea, \
         nav, aside, footer",
    )
    .remove();
    for caption in doc
        .select("[class*='caption'], [class*='Caption'], [class*='credit'], [class*='Credit']")
        .iter()
    {
        // A short element only: a container whose class merely mentions captions may hold
        // the whole story.
        if caption.text().chars().count() <= MAX_CAPTION_CHARS {
            caption.remove();
        }
    }
    for time in doc.select("time").iter() {
        if !time.ancestors(None).is("p, li, td, blockquote") {
            time.remove();
        }
    }
}

/// The longest element read as a caption or credit by its class.
const MAX_CAPTION_CHARS: usize = 400;

/// A result is short when it holds less than this share (numerator, denominator) of the
/// page's prose ([`survey_prose`]).
const SHORT_RESULT: (usize, usize) = (7, 10);
/// The shortest `<p>` counted as prose: shorter ones are labels, teasers' kickers, bylines.
const MIN_PROSE_CHARS: usize = 80;
/// The prose's container holds at least this share of the page's prose…
const CONTAINER_PROSE_SHARE: (usize, usize) = (8, 10);
/// …and at least this share of its own text is prose (a page's whole body, with its teasers,
/// menus and lists, is not the article's container).
const CONTAINER_DENSITY: (usize, usize) = (2, 3);
/// How far above a paragraph its container is looked for (real pages nest an article's
/// paragraphs a few levels under it; the bound keeps a hostile page's cost linear).
const MAX_CONTAINER_DEPTH: usize = 32;

/// Whether a `<p>` of `chars` characters, `link_chars` of them in links, is the article's
/// prose: long enough, and not a link list or a teaser.
fn is_prose(chars: usize, link_chars: usize) -> bool {
    chars >= MIN_PROSE_CHARS && link_chars * 4 <= chars
}

/// What [`survey_prose`] finds of a page's prose.
#[derive(Debug, PartialEq)]
struct Prose {
    /// Characters of prose ([`is_prose`]) on the page, outside comment threads.
    chars: usize,
    /// Characters of prose in the prose's container, if an element qualifies as one.
    in_container: Option<usize>,
    /// The container's text, when asked for.
    text: Option<String>,
}

/// Words of a class or id that mark readers' comments.
const COMMENTS: &[&str] = &["comment", "respond", "disqus"];
/// Words of a class or id that mark what a prose container holds beside the article.
const NOT_ARTICLE: &[&str] = &[
    "share",
    "social",
    "related",
    "tags",
    "newsletter",
    "promo",
    "sidebar",
    "widget",
    "byline",
    "author",
];
/// The blocks a prose container's text is read from.
const BLOCKS: &[&str] = &[
    "p",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "li",
    "blockquote",
    "pre",
    "dd",
    "dt",
    "td",
    "th",
];

/// Whether an element's class or id holds one of `words`, or (with `hidden`) it is hidden.
/// A macro, as the element's type is dom_smoothie's DOM's, which this crate does not name.
macro_rules! marked {
    ($node:expr, $words:expr, $hidden:expr) => {{
        let node = $node;
        let names = format!(
            "{} {}",
            node.attr("class").unwrap_or_default(),
            node.attr("id").unwrap_or_default()
        )
        .to_lowercase();
        $words.iter().any(|word| names.contains(word))
            || $hidden
                && (node.has_attr("hidden")
                    || node.attr("aria-hidden").as_deref() == Some("true")
                    || node.attr("style").is_some_and(|style| {
                        let style = style.replace(' ', "");
                        style.contains("display:none") || style.contains("visibility:hidden")
                    }))
    }};
}

/// The page's prose and the element that holds it: the smallest element holding most of the
/// page's prose ([`CONTAINER_PROSE_SHARE`]) and mostly prose itself ([`CONTAINER_DENSITY`]).
/// Readers' comments are prose too, so a paragraph in a comment thread is not counted. With
/// `read`, the container's text is read too, which changes the document (so it is asked of a
/// page parsed anew): its blocks (paragraphs, headings, list items, quotes, cells) in order,
/// one a line, but not a block that is mostly links or sits in a share bar, a related-links
/// box, a tag list, a byline, a comment thread or a hidden element.
fn survey_prose(readability: &dom_smoothie::Readability, read: bool) -> Prose {
    let doc = &readability.doc;
    let mut in_comments = HashMap::new();
    // Per element: the element, how deep it stands, and the prose it holds.
    let mut held = HashMap::new();
    let mut chars = 0;
    'paragraphs: for p in doc.select("p").nodes() {
        let text_chars = p.text().chars().count();
        if text_chars < MIN_PROSE_CHARS {
            continue;
        }
        let links: usize = p
            .find(&["a"])
            .iter()
            .map(|a| a.text().chars().count())
            .sum();
        if !is_prose(text_chars, links) {
            continue;
        }
        let ancestors = p.ancestors(None);
        for ancestor in &ancestors {
            let comments = *in_comments
                .entry(ancestor.id)
                .or_insert_with(|| marked!(ancestor, COMMENTS, false));
            if comments || ancestor.has_name("noscript") || ancestor.has_name("template") {
                continue 'paragraphs;
            }
        }
        chars += text_chars;
        let depth = ancestors.len();
        for (up, ancestor) in ancestors.into_iter().take(MAX_CONTAINER_DEPTH).enumerate() {
            held.entry(ancestor.id)
                .or_insert((ancestor, depth - up, 0))
                .2 += text_chars;
        }
    }
    let mut prose = Prose {
        chars,
        in_container: None,
        text: None,
    };
    // The elements holding most of the prose nest one in another: the deepest is the smallest.
    let Some((container, _, in_container)) = held
        .into_values()
        .filter(|(_, _, held)| held * CONTAINER_PROSE_SHARE.1 >= chars * CONTAINER_PROSE_SHARE.0)
        .max_by_key(|(_, depth, _)| *depth)
    else {
        return prose;
    };
    let container_chars = container.text().chars().count();
    if in_container * CONTAINER_DENSITY.1 < container_chars * CONTAINER_DENSITY.0 {
        return prose;
    }
    prose.in_container = Some(in_container);
    if !read {
        return prose;
    }
    doc.select("script, style, noscript, template").remove();
    let is_block = |name: Option<&str>| name.is_some_and(|name| BLOCKS.contains(&name));
    let mut outside = HashMap::new();
    // Blocks holding blocks: a list item's paragraphs are read, not the item too.
    let mut outer = HashSet::new();
    let mut blocks = Vec::new();
    'blocks: for block in container.descendants_it() {
        if !is_block(block.node_name().as_deref()) {
            continue;
        }
        let ancestors = block.ancestors(Some(MAX_CONTAINER_DEPTH));
        let inside = ancestors.iter().take_while(|a| a.id != container.id);
        for node in inside.clone() {
            if is_block(node.node_name().as_deref()) {
                outer.insert(node.id);
            }
        }
        for node in inside.chain(std::iter::once(&block)) {
            let not_article = *outside.entry(node.id).or_insert_with(|| {
                marked!(node, NOT_ARTICLE, true) || marked!(node, COMMENTS, false)
            });
            if not_article {
                continue 'blocks;
            }
        }
        blocks.push(block);
    }
    let mut lines = Vec::new();
    for block in blocks.iter().filter(|b| !outer.contains(&b.id)) {
        let text = block.formatted_text();
        let text = text.trim();
        let links: usize = block
            .find(&["a"])
            .iter()
            .map(|a| a.text().chars().count())
            .sum();
        let text_chars = text.chars().count();
        // A block that is mostly links is a link list's entry, not the article's text.
        if text_chars > 0 && links * 2 <= text_chars {
            lines.push(text.to_owned());
        }
    }
    prose.text = Some(lines.join("\n"));
    prose
}

/// Whether a line of the body is the article's title again (an `<h1>` inside the article's
/// container): the page's title, or a part of it long enough not to be a common phrase (the
/// page's `<title>` often adds the site's name or a section). The title is stored on its own.
fn is_the_title(line: &str, title: &str) -> bool {
    line == title || line.chars().count() >= 15 && title.contains(line)
}

/// How many words a line may have to be read as page furniture (a byline, a meta line); a
/// longer one is the article's own text, whatever it says.
const FURNITURE_WORDS: usize = 25;

/// A short line without what changes from one load of a page to the next: relative times
/// ("Updated 5 minutes ago", "3시간 전", "2 часа назад") and counters ("1,234 views",
/// "댓글 12", "15 комментариев"). A line that is nothing else is dropped whole. A phrase is
/// taken out only where a number counts something (a word of time or counting beside a
/// count), so "Kim's day in Moscow" keeps its words, and a clock time or a date stays. The
/// article's own sentences (longer lines) are left alone: "three hours ago, officials said"
/// is news.
fn without_volatile_phrases(line: &str) -> String {
    let words: Vec<&str> = line.split(' ').collect();
    if words.len() > FURNITURE_WORDS {
        return line.to_owned();
    }
    let kinds: Vec<Volatile> = words.iter().map(|w| volatile_kind(w)).collect();
    let mut drop = vec![false; words.len()];
    let mut i = 0;
    while i < words.len() {
        let joins = |k: Volatile| matches!(k, Volatile::Word | Volatile::Count | Volatile::Counted);
        if !joins(kinds[i]) {
            i += 1;
            continue;
        }
        let end = (i..words.len())
            .find(|&j| !joins(kinds[j]))
            .unwrap_or(words.len());
        let run = &kinds[i..end];
        let counts = run
            .iter()
            .any(|k| matches!(k, Volatile::Count | Volatile::Counted));
        let says = run
            .iter()
            .any(|k| matches!(k, Volatile::Word | Volatile::Counted));
        if counts && says {
            drop[i..end].iter_mut().for_each(|d| *d = true);
        }
        i = end;
    }
    // A separator left between two dropped phrases, or at an end, goes too.
    let mut kept: Vec<(&str, Volatile)> = Vec::with_capacity(words.len());
    for ((word, kind), dropped) in words.iter().zip(&kinds).zip(&drop) {
        let separator = *kind == Volatile::Separator;
        let after_separator = kept.last().is_none_or(|(_, k)| *k == Volatile::Separator);
        if !(*dropped || separator && after_separator) {
            kept.push((word, *kind));
        }
    }
    while kept.last().is_some_and(|(_, k)| *k == Volatile::Separator) {
        kept.pop();
    }
    let kept: Vec<&str> = kept.into_iter().map(|(w, _)| w).collect();
    let text = kept.join(" ");
    let text = text.trim_end_matches([',', ':', ';']);
    if text.chars().any(char::is_alphanumeric) {
        text.to_owned()
    } else {
        String::new()
    }
}

/// What one word of a short line is, for [`without_volatile_phrases`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Volatile {
    /// A word of the text.
    No,
    /// A separator: `·`, `|`, `—`.
    Separator,
    /// A count: digits, with `,` or `.` between them.
    Count,
    /// A word of time or counting ("minutes", "ago", "views", "назад", "조회수").
    Word,
    /// A count and its word in one ("5분", "3시간", "조회수1,234", "댓글12").
    Counted,
}

/// Words of relative time and of counting in English, Korean and Russian.
const VOLATILE_WORDS: &[&str] = &[
    "updated",
    "posted",
    "published",
    "ago",
    "second",
    "seconds",
    "sec",
    "secs",
    "minute",
    "minutes",
    "min",
    "mins",
    "hour",
    "hours",
    "hr",
    "hrs",
    "day",
    "days",
    "week",
    "weeks",
    "month",
    "months",
    "views",
    "view",
    "comments",
    "comment",
    "shares",
    "share",
    "likes",
    "like",
    "reads",
    "replies",
    "reply",
    "전",
    "분",
    "시간",
    "일",
    "초",
    "조회",
    "조회수",
    "댓글",
    "공유",
    "좋아요",
    "назад",
    "обновлено",
    "опубликовано",
    "секунд",
    "секунду",
    "секунды",
    "минуту",
    "минуты",
    "минут",
    "час",
    "часа",
    "часов",
    "день",
    "дня",
    "дней",
    "просмотр",
    "просмотра",
    "просмотров",
    "просмотры",
    "комментарий",
    "комментария",
    "комментариев",
    "комментарии",
];

fn volatile_kind(word: &str) -> Volatile {
    let word = word.trim_matches(|c: char| !c.is_alphanumeric());
    if word.is_empty() {
        return Volatile::Separator;
    }
    let lower = word.to_lowercase();
    if VOLATILE_WORDS.contains(&lower.as_str()) {
        return Volatile::Word;
    }
    let is_count = |s: &str| {
        !s.is_empty()
            && s.starts_with(|c: char| c.is_ascii_digit())
            && s.chars().all(|c| c.is_ascii_digit() || c == ',')
    };
    if is_count(&lower) {
        return Volatile::Count;
    }
    // Korean glues the count to its word, either way round.
    let digits_end = lower
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_digit() || *c == ','))
        .map_or(lower.len(), |(i, _)| i);
    let (number, unit) = lower.split_at(digits_end);
    if is_count(number) && VOLATILE_WORDS.contains(&unit) {
        return Volatile::Counted;
    }
    if let Some(rest) = ["조회수", "조회", "댓글", "공유"]
        .iter()
        .find_map(|w| lower.strip_prefix(w))
        && is_count(rest)
    {
        return Volatile::Counted;
    }
    Volatile::No
}

/// The page as text (see the module doc for the order of evidence).
pub fn decode_page<'a>(body: &'a [u8], charset: Option<&str>) -> std::borrow::Cow<'a, str> {
    if let Some((encoding, bom)) = Encoding::for_bom(body) {
        let (text, _) = encoding.decode_without_bom_handling(&body[bom..]);
        return text;
    }
    if let Ok(text) = std::str::from_utf8(body)
        && !text.is_ascii()
    {
        return std::borrow::Cow::Borrowed(text);
    }
    let encoding = charset
        .and_then(|c| Encoding::for_label(c.trim().as_bytes()))
        // HTML's prescan reads 1 KiB; pages put long scripts first, so 4 KiB here.
        .or_else(|| feed::meta_charset(body, 4096).and_then(Encoding::for_label))
        // HTML's rule: a page that says UTF-16 where it cannot be (it is ASCII-compatible
        // bytes) is UTF-8.
        .map(|e| {
            if e.name().starts_with("UTF-16") {
                encoding_rs::UTF_8
            } else {
                e
            }
        })
        .unwrap_or_else(|| {
            if std::str::from_utf8(body).is_ok() {
                encoding_rs::UTF_8
            } else {
                encoding_rs::WINDOWS_1252
            }
        });
    let (text, _) = encoding.decode_without_bom_handling(body);
    text
}

/// The deepest nesting of the page's elements, counted cheaply: start tags open, end tags
/// close the innermost element of their name, and the void elements of HTML (`<br>`, `<img>`,
/// …) and the elements HTML closes by themselves when a sibling starts (`<p>`, `<li>`, …)
/// open nothing. An estimate, but never below the depth of a well-formed page.
fn nesting_depth(html: &str) -> usize {
    const OPEN_NOTHING: &[&str] = &[
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr", "p", "li", "dt", "dd", "option", "tr", "td", "th", "param",
    ];
    let bytes = html.as_bytes();
    let mut depth = 0usize;
    let mut deepest = 0usize;
    for at in memchr::memchr_iter(b'<', bytes) {
        let rest = &bytes[at + 1..];
        let closing = rest.first() == Some(&b'/');
        let name = &rest[usize::from(closing)..];
        let len = name
            .iter()
            .take(16)
            .take_while(|b| b.is_ascii_alphanumeric())
            .count();
        if len == 0 || !name[0].is_ascii_alphabetic() {
            continue;
        }
        if OPEN_NOTHING
            .iter()
            .any(|void| void.as_bytes().eq_ignore_ascii_case(&name[..len]))
        {
            continue;
        }
        if closing {
            depth = depth.saturating_sub(1);
        } else {
            let self_closing = rest
                .iter()
                .take(512)
                .position(|b| *b == b'>')
                .is_some_and(|end| end > 0 && rest[end - 1] == b'/');
            if !self_closing {
                depth += 1;
                deepest = deepest.max(depth);
            }
        }
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<!doctype html><html><head><meta charset="utf-8">
<title>North Korea and Russia open a road bridge | Example News</title>
<link rel="canonical" href="https://news.example.org/2026/11/bridge?utm_source=rss">
<meta property="article:published_time" content="2026-11-28T04:00:00Z">
<meta property="article:modified_time" content="2026-11-29T06:30:00+00:00">
</head><body>
<nav><a href="/">Home</a> <a href="/world">World</a> <a href="/korea">Korea</a></nav>
<article><h1>North Korea and Russia open a road bridge</h1>
<p>North Korea and Russia opened the first road bridge across the Tumen River on Friday, officials in both countries said, in a ceremony attended by ministers from Moscow and Pyongyang.</p>
<p>The bridge, about a kilometre long, links Khasan in Russia's Primorye region with Tumangang in North Korea. Trade between the two has grown since their 2024 treaty, and the crossing is meant to carry trucks that now wait for rail wagons.</p>
<p>Analysts said the bridge matters less for its traffic than as a sign of how closely the two governments now work together, from munitions to tourism and labour.</p>
</article>
<aside><h2>Related</h2><ul><li><a href="/a">Another story</a></li><li><a href="/b">And another</a></li></ul></aside>
<footer>© Example News. All rights reserved.</footer>
</body></html>"#;

    #[test]
    fn an_article_page_gives_its_text_title_canonical_url_and_dates() {
        let url = Url::parse("https://news.example.org/2026/11/bridge").expect("url");
        let article = extract_article(PAGE.as_bytes(), None, Some(&url)).expect("an article");
        assert!(
            article
                .title
                .starts_with("North Korea and Russia open a road bridge")
        );
        assert_eq!(article.paragraphs.len(), 3, "{:?}", article.paragraphs);
        assert!(article.paragraphs[0].starts_with("North Korea and Russia opened"));
        assert!(
            !article.text().contains("Another story"),
            "related links dropped"
        );
        assert!(!article.text().contains("All rights reserved"));
        assert_eq!(
            article.canonical_url.as_deref(),
            Some("https://news.example.org/2026/11/bridge")
        );
        assert_eq!(
            article
                .published_at
                .map(crate::model::format_time)
                .as_deref(),
            Some("2026-11-28T04:00:00Z")
        );
        assert_eq!(
            article
                .modified_at
                .map(crate::model::format_time)
                .as_deref(),
            Some("2026-11-29T06:30:00Z")
        );
    }

    #[test]
    fn pages_are_decoded_from_the_best_evidence() {
        let russian = "Россия и КНДР";
        let korean = "북한과 러시아";
        let cp1251 = encoding_rs::WINDOWS_1251.encode(russian).0.into_owned();
        let euc_kr = encoding_rs::EUC_KR.encode(korean).0.into_owned();
        let with_meta = |meta: &str, text: &[u8]| {
            let mut page = format!("<html><head>{meta}</head><body>").into_bytes();
            page.extend_from_slice(text);
            page
        };
        let cases: [(&str, Vec<u8>, Option<&str>, &str); 5] = [
            (
                "header",
                with_meta("", &cp1251),
                Some("windows-1251"),
                russian,
            ),
            (
                "meta_charset",
                with_meta("<meta charset=\"euc-kr\">", &euc_kr),
                None,
                korean,
            ),
            (
                "http_equiv",
                with_meta(
                    "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=windows-1251\">",
                    &cp1251,
                ),
                None,
                russian,
            ),
            (
                "valid_utf8_beats_a_wrong_meta",
                with_meta("<meta charset=\"gb2312\">", korean.as_bytes()),
                None,
                korean,
            ),
            (
                "nothing_said",
                with_meta("", "café".as_bytes()),
                None,
                "café",
            ),
        ];
        for (name, body, charset, expected) in cases {
            let text = decode_page(&body, charset);
            assert!(text.contains(expected), "{name}: {text}");
        }
    }

    /// The page above as it looks on one load: what a page's furniture says changes from load
    /// to load (related stories, "updated N minutes ago", counters, script tokens, markup).
    fn load(n: usize) -> String {
        let related = [
            "Kim visits Vladivostok",
            "Rail link reopens",
            "Lavrov in Pyongyang",
        ];
        PAGE.replace(
            "<article><h1>North Korea and Russia open a road bridge</h1>",
            &format!(
                "<script>window.csrf = \"token{n}\"; var nonce = {n};</script>\
                 <article{}><h1>North Korea and Russia open a road bridge</h1>\
                 <div class=\"meta\"><span class=\"updated\">Updated {} minutes ago</span> \
                 <span class=\"views\">{} views</span> <a class=\"comments\" href=\"#c\">{} comments</a></div>",
                if n % 2 == 0 { " class=\"story\"" } else { "  data-id=\"7\"" },
                n + 2,
                1_000 + 37 * n,
                n * 3,
            ),
        )
        .replace(
            "<li><a href=\"/a\">Another story</a></li>",
            &format!("<li><a href=\"/a\">{}</a></li>", related[n % related.len()]),
        )
        .replace(
            " officials in both",
            if n % 2 == 0 {
                " officials in both"
            } else {
                "\n   officials  in both"
            },
        )
    }

    #[test]
    fn what_changes_on_every_load_is_not_in_the_text() {
        let texts: Vec<String> = (0..6)
            .map(|n| {
                extract_article(load(n).as_bytes(), None, None)
                    .expect("an article")
                    .text()
            })
            .collect();
        for (n, text) in texts.iter().enumerate() {
            assert_eq!(text, &texts[0], "load {n} differs");
            for volatile in ["minutes ago", "views", "comments", "token", "Vladivostok"] {
                assert!(
                    !text.contains(volatile),
                    "load {n} keeps {volatile:?}: {text}"
                );
            }
        }
    }

    #[test]
    fn volatile_phrases_leave_short_lines() {
        let cases = [
            (
                "meta_line",
                "Updated 2 minutes ago · 1,037 views · 3 comments",
                "",
            ),
            (
                "byline_keeps_the_name",
                "By Kim Min-ji · Updated 5 hours ago",
                "By Kim Min-ji",
            ),
            (
                "korean",
                "입력 2026.11.28 14:05 · 3시간 전 · 조회수 1,234",
                "입력 2026.11.28 14:05",
            ),
            ("korean_glued", "댓글12 공유", ""),
            ("russian", "Обновлено 2 часа назад, 15 комментариев", ""),
            (
                "a_day_of_the_week_stays",
                "Kim's day in Moscow",
                "Kim's day in Moscow",
            ),
            (
                "a_bare_year_stays",
                "Photo: Reuters 2026",
                "Photo: Reuters 2026",
            ),
            (
                "a_sentence_stays",
                "Three hours ago, officials in Moscow said the bridge would open on Friday after \
                 months of delays, according to a statement published by the ministry and read \
                 out on state television to viewers across the country.",
                "Three hours ago, officials in Moscow said the bridge would open on Friday after \
                 months of delays, according to a statement published by the ministry and read \
                 out on state television to viewers across the country.",
            ),
        ];
        for (name, line, expected) in cases {
            assert_eq!(without_volatile_phrases(line), expected, "{name}");
        }
    }

    /// A paragraph of the test pages: long enough to be prose.
    fn prose(n: usize) -> String {
        format!(
            "Paragraph {n} of the story: officials in Moscow and Pyongyang said on Friday that \
             the new road bridge across the Tumen River would carry its first trucks in spring."
        )
    }

    #[test]
    fn captions_controls_asides_and_date_lines_are_not_the_text() {
        let page = format!(
            r#"<html><head><title>Bridge opens</title></head><body><article>
<h1>Bridge opens</h1><time datetime="2026-11-28">28 November 2026</time>
<button>Share</button>
<p>{}</p>
<figure><img src="a.jpg"><figcaption>The bridge at dawn. Photo: Agency</figcaption></figure>
<p>{}</p><p class="wp-caption-text">Trucks waiting at Khasan</p>
<aside><h2>Related</h2><p>Another story about something else entirely, with enough words to look like prose here.</p></aside>
<figure><table><tr><td>Crossing</td><td>Khasan to Tumangang</td></tr></table></figure>
<p>{} It opened on <time>Friday</time>.</p>
<footer>Tags: bridge, trade</footer>
</article></body></html>"#,
            prose(1),
            prose(2),
            prose(3)
        );
        let text = extract_article(page.as_bytes(), None, None)
            .expect("an article")
            .text();
        for furniture in [
            "Photo: Agency",
            "Trucks waiting",
            "Share",
            "Another story",
            "28 November",
            "Tags:",
        ] {
            assert!(!text.contains(furniture), "{furniture:?} kept: {text}");
        }
        for kept in [
            "Paragraph 1",
            "Paragraph 3",
            "Khasan to Tumangang",
            "opened on Friday",
        ] {
            assert!(text.contains(kept), "{kept:?} lost: {text}");
        }
    }

    #[test]
    fn the_title_is_not_the_bodys_first_paragraph() {
        let page = format!(
            "<html><head><title>Bridge opens on the Tumen | Example News</title></head><body>\
             <article><h1>Bridge opens on the Tumen</h1><p>{}</p><p>{}</p><p>{}</p></article>\
             </body></html>",
            prose(1),
            prose(2),
            prose(3)
        );
        let article = extract_article(page.as_bytes(), None, None).expect("an article");
        assert!(
            article.paragraphs[0].starts_with("Paragraph 1"),
            "{article:?}"
        );
        assert!(is_the_title("Bridge opens", "Bridge opens"));
        assert!(!is_the_title("Analysis", "Analysis of the bridge"));
    }

    #[test]
    fn the_prose_container_is_read_block_by_block_without_furniture_or_comments() {
        let blocks: String = (1..=6)
            .map(|n| {
                format!(
                    "<div class=\"item\"><div class=\"text\"><p>{}</p></div></div>",
                    prose(n)
                )
            })
            .collect();
        let page = format!(
            r#"<html><body><div id="menu"><p><a href="/">Home</a></p></div>
<div class="story"><h2>A heading</h2>{blocks}
<div class="share-bar"><p>Share this story with your friends on all the networks you use every day of the week.</p></div>
<ul><li>A list item of the story</li></ul></div>
<div id="comments"><p>A reader's comment that is long enough to count as prose if it were counted at all, which it is not.</p></div>
<script>var x = 1;</script></body></html>"#
        );
        let readability =
            dom_smoothie::Readability::new(page.as_str(), None, None).expect("a document");
        drop_furniture(&readability);
        let text = survey_prose(&readability, true).text.expect("a container");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.first(), Some(&"A heading"), "{text}");
        assert_eq!(lines.len(), 8, "{text}");
        assert!(lines[1].starts_with("Paragraph 1"));
        assert_eq!(lines[7], "A list item of the story");
        assert!(!text.contains("Share this") && !text.contains("comment"));
    }

    #[test]
    fn a_page_that_is_mostly_not_prose_has_no_prose_container() {
        let links: String = (0..200)
            .map(|n| format!("<li><a href=\"/{n}\">Story number {n}</a></li>"))
            .collect();
        let page = format!(
            "<html><body><div><p>{}</p><ul>{links}</ul></div></body></html>",
            prose(1)
        );
        let readability =
            dom_smoothie::Readability::new(page.as_str(), None, None).expect("a document");
        let prose = survey_prose(&readability, true);
        assert_eq!((prose.in_container, prose.text), (None, None));
    }

    #[test]
    fn hostile_pages_are_refused_cheaply() {
        let deep = format!("<html><body>{}text", "<div>".repeat(100_000));
        assert!(matches!(
            extract_article(deep.as_bytes(), None, None),
            Err(Error::TooDeep)
        ));
        // Paragraphs left open and void elements do not count as nesting.
        let flat = format!(
            "<html><body>{}</body></html>",
            "<p>text<br><img src=x>".repeat(5_000)
        );
        assert!(nesting_depth(&flat) < 10);
        let empty = "<html><body><script>var x = 1;</script></body></html>";
        assert!(extract_article(empty.as_bytes(), None, None).is_err());
    }
}
