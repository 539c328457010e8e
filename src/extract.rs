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
        let mut readability =
            dom_smoothie::Readability::new(html.as_ref(), url.map(Url::as_str), Some(config))?;
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
        let article = readability.parse()?;
        Ok((article, canonical, published, modified))
    })
    .map_err(Error::Panicked)?;
    let (article, canonical, published, modified) =
        extracted.map_err(|e| Error::NoArticle(e.to_string()))?;
    let paragraphs: Vec<String> = article
        .text_content
        .lines()
        .map(|line| without_volatile_phrases(&feed::normalize_text(line)))
        .filter(|p| !p.is_empty())
        .collect();
    if paragraphs.is_empty() {
        return Err(Error::NoArticle("the article has no text".into()));
    }
    let canonical_url = canonical
        .or(article.url)
        .and_then(|href| feed::canonical_url(&href, url));
    let date = |raw: Option<String>| raw.as_deref().and_then(feed::liberal::parse_date);
    Ok(Article {
        title: feed::normalize_text(&article.title).replace('\n', " "),
        paragraphs,
        canonical_url,
        published_at: date(article.published_time).or_else(|| date(published)),
        modified_at: date(article.modified_time).or_else(|| date(modified)),
    })
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
