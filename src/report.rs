//! The story report: one article and every revision of it as a self-contained HTML page.
//!
//! Takes a [`Story`] read from the store; gives an HTML5 page with its CSS inline and nothing
//! else (no scripts, images, fonts or style sheets to fetch), readable in any browser, offline
//! and on paper. Each revision is shown in full with the words changed since the previous
//! revision of the same kind struck through (`<del>`) or underlined (`<ins>`), title
//! included: a summary is compared only with a summary, as the pipeline compares them. The
//! page is also well-formed XML (void elements closed, only XML's own entities), so XML tools
//! can read it.
//!
//! It also holds the HTML pieces the Atom export reuses: [`escape`], [`safe_link`] and the
//! rendering of word-level changes. It does not compute diffs itself ([`crate::diff`] does) nor
//! read the database.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use crate::diff::{self, Edit, Segment};
use crate::model::{AlertKind, format_time};
use crate::store::{ArticleInfo, RevisionRow, baseline};

/// The version named in the page and the Atom feed's generator.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Escapes text for HTML and XML, in element content and in quoted attributes alike. Characters
/// XML 1.0 does not allow at all (C0 controls other than tab and line breaks, U+FFFE, U+FFFF)
/// are dropped: one of them in a feed's text would make the whole page or feed unreadable to a
/// strict parser.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c < ' ' || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// `url` when it is an http(s) URL, the only kind a page or feed links to: a feed that gives
/// a `javascript:` or `data:` link must not get it into a reader's page.
pub fn safe_link(url: &str) -> Option<&str> {
    url::Url::parse(url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .map(|_| url)
}

/// How much of a compared text to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extent {
    /// Every paragraph.
    Whole,
    /// Only the paragraphs with a change, an ellipsis where others are left out.
    Changed,
}

/// A compared text as HTML paragraphs (`<p>`, one a line of the stored text), removed words
/// in `<del>`, added words in `<ins>`.
pub fn paragraphs_html(segments: &[Segment], extent: Extent) -> String {
    let paragraphs = paragraphs(segments);
    let mut html = String::new();
    let mut skipped = false;
    for paragraph in &paragraphs {
        if extent == Extent::Changed && !paragraph.iter().any(|&(edit, text)| is_change(edit, text))
        {
            skipped = true;
            continue;
        }
        if skipped {
            html.push_str("<p class=\"gap\">…</p>\n");
            skipped = false;
        }
        html.push_str("<p>");
        for &(edit, text) in paragraph {
            push_run(&mut html, edit, text);
        }
        html.push_str("</p>\n");
    }
    if skipped && !html.is_empty() {
        html.push_str("<p class=\"gap\">…</p>\n");
    }
    html
}

/// A compared line (a title) as inline HTML, removed words in `<del>`, added in `<ins>`.
pub fn inline_html(segments: &[Segment]) -> String {
    let mut html = String::new();
    for segment in segments {
        push_run(&mut html, segment.edit, &segment.text.replace('\n', " "));
    }
    html
}

/// A text with nothing to compare it with, as segments.
pub fn unchanged(text: &str) -> Vec<Segment> {
    vec![Segment {
        edit: Edit::Kept,
        text: text.to_owned(),
    }]
}

/// Words removed and added in a comparison: (removed, added).
pub fn count_words(segments: &[Segment]) -> (usize, usize) {
    let count = |edit| {
        segments
            .iter()
            .filter(|s| s.edit == edit)
            .map(|s| s.text.split_whitespace().count())
            .sum()
    };
    (count(Edit::Removed), count(Edit::Added))
}

/// Whether a run is a change a reader can see: a change of spaces alone is not.
fn is_change(edit: Edit, text: &str) -> bool {
    edit != Edit::Kept && !text.trim().is_empty()
}

/// The segments cut into paragraphs at line breaks; blank paragraphs are left out.
fn paragraphs(segments: &[Segment]) -> Vec<Vec<(Edit, &str)>> {
    let mut paragraphs = vec![Vec::new()];
    for segment in segments {
        for (i, piece) in segment.text.split('\n').enumerate() {
            if i > 0 {
                paragraphs.push(Vec::new());
            }
            if let Some(paragraph) = paragraphs.last_mut().filter(|_| !piece.is_empty()) {
                paragraph.push((segment.edit, piece));
            }
        }
    }
    paragraphs.retain(|p| p.iter().any(|(_, text)| !text.trim().is_empty()));
    paragraphs
}

/// One run: kept text as it is, a change in `<del>` or `<ins>` with its outer spaces left
/// outside, so the highlight covers words only.
fn push_run(html: &mut String, edit: Edit, text: &str) {
    let tag = match edit {
        Edit::Kept => None,
        Edit::Removed => Some("del"),
        Edit::Added => Some("ins"),
    };
    let core = text.trim();
    match tag {
        Some(tag) if !core.is_empty() => {
            let lead = &text[..text.len() - text.trim_start().len()];
            let trail = &text[text.trim_end().len()..];
            let _ = write!(html, "{}<{tag}>{}</{tag}>{}", lead, escape(core), trail);
        }
        _ => html.push_str(&escape(text)),
    }
}

/// One revision compared with the previous revision of its kind.
struct Compared<'a> {
    revision: &'a RevisionRow,
    /// The revision it is compared with: `None` for the first text of its kind.
    baseline: Option<&'a RevisionRow>,
    /// An earlier revision of the same kind with the same text (a headline A/B test flipping
    /// back), which the pipeline records without alerting again.
    repeat_of: Option<i64>,
    title: Vec<Segment>,
    body: Vec<Segment>,
    removed: usize,
    added: usize,
}

fn compare(revisions: &[RevisionRow]) -> Vec<Compared<'_>> {
    revisions
        .iter()
        .enumerate()
        .map(|(i, revision)| {
            let (baseline, repeat_of) = baseline(revisions, i);
            let (title, body) = match baseline {
                Some(old) => (
                    diff::word_segments(&old.title, &revision.title, diff::DEADLINE),
                    diff::word_segments(&old.body, &revision.body, diff::DEADLINE),
                ),
                None => (unchanged(&revision.title), unchanged(&revision.body)),
            };
            let (title_removed, title_added) = count_words(&title);
            let (body_removed, body_added) = count_words(&body);
            Compared {
                revision,
                baseline,
                repeat_of,
                title,
                body,
                removed: title_removed + body_removed,
                added: title_added + body_added,
            }
        })
        .collect()
}

/// What kind of text a `body_kind` is, for people.
fn kind_name(kind: &str) -> &str {
    match kind {
        "seed" => "seed text",
        "summary" => "feed summary",
        "content" => "full text from the feed",
        "page" => "page text",
        other => other,
    }
}

/// A stored timestamp as a `<time>` element, read as "2026-11-28 04:00 UTC".
fn time_html(stored: &str) -> String {
    let shown = match chrono::DateTime::parse_from_rfc3339(stored) {
        Ok(t) => t
            .with_timezone(&Utc)
            .format("%Y-%m-%d %H:%M UTC")
            .to_string(),
        Err(_) => stored.to_owned(),
    };
    format!(
        "<time datetime=\"{}\">{}</time>",
        escape(stored),
        escape(&shown)
    )
}

/// What changed in a revision, in a few words.
fn change_summary(c: &Compared<'_>) -> String {
    let Some(baseline) = c.baseline else {
        return format!("first {}", kind_name(&c.revision.body_kind));
    };
    let mut summary = format!(
        "{} {} added, {} removed since revision {}",
        c.added,
        if c.added == 1 { "word" } else { "words" },
        c.removed,
        baseline.number
    );
    if baseline.title != c.revision.title {
        summary.push_str("; title changed");
    }
    if let Some(number) = c.repeat_of {
        let _ = write!(summary, "; the same text as revision {number}");
    }
    summary
}

fn alert_name(alert: Option<&(String, AlertKind)>) -> &'static str {
    match alert {
        Some((_, kind)) => kind.as_str(),
        None => "none",
    }
}

/// The page's style: readable on screen (light and dark), printable in black and white
/// (struck and underlined words, links written out). No `url()` and no `@import`: the page
/// fetches nothing.
const CSS: &str = "
:root { color-scheme: light dark; --fg: #1b1b1b; --bg: #fff; --muted: #5f6368; --rule: #d9d9d9;
  --del-fg: #8e1616; --del-bg: #fde2e2; --ins-fg: #0c5a1c; --ins-bg: #d9f3dd; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e8e8e8; --bg: #161719; --muted: #a7abb0; --rule: #3a3c40;
    --del-fg: #ffb3b3; --del-bg: #4c1d1d; --ins-fg: #b7f0c0; --ins-bg: #183d20; }
}
html { background: var(--bg); color: var(--fg); }
body { font: 17px/1.6 Georgia, 'Times New Roman', serif; max-width: 46rem; margin: 2rem auto;
  padding: 0 1rem; }
header, nav, .meta, footer, dl, table { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; }
.kicker { color: var(--muted); font-size: 0.85rem; margin: 0; text-transform: uppercase;
  letter-spacing: 0.05em; }
h1 { font-size: 1.7rem; line-height: 1.25; margin: 0.3rem 0 1rem; }
h2 { font-size: 1.2rem; margin: 0 0 0.3rem; }
h3 { font-size: 1.35rem; line-height: 1.3; margin: 0.6rem 0; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 1rem; font-size: 0.9rem; }
dt { color: var(--muted); }
dd { margin: 0; overflow-wrap: anywhere; }
a { color: inherit; }
table { border-collapse: collapse; font-size: 0.85rem; width: 100%; }
th, td { text-align: left; padding: 0.25rem 0.5rem; border-bottom: 1px solid var(--rule);
  vertical-align: top; }
th { color: var(--muted); font-weight: 600; }
.revision { border-top: 2px solid var(--rule); margin-top: 2rem; padding-top: 1rem; }
.meta { color: var(--muted); font-size: 0.85rem; margin: 0; }
.gap, .empty { color: var(--muted); }
del { color: var(--del-fg); background: var(--del-bg); text-decoration: line-through; }
ins { color: var(--ins-fg); background: var(--ins-bg); text-decoration: underline; }
del + ins { margin-left: 0.2em; }
del, ins { border-radius: 2px; padding: 0 1px; -webkit-print-color-adjust: exact;
  print-color-adjust: exact; }
footer { color: var(--muted); font-size: 0.8rem; border-top: 1px solid var(--rule);
  margin-top: 3rem; padding-top: 0.5rem; }
@media print {
  :root { --fg: #000; --bg: #fff; --muted: #444; --rule: #999;
    --del-fg: #000; --del-bg: #eee; --ins-fg: #000; --ins-bg: #fff; }
  body { font-size: 11pt; max-width: none; margin: 0; padding: 0; }
  nav a { text-decoration: none; }
  header a::after { content: ' (' attr(href) ')'; font-size: 0.85em; }
  ins { font-weight: bold; }
  h1, h2, h3 { break-after: avoid; }
  tr, .meta { break-inside: avoid; }
}
";

/// The report page for `story` and its `revisions` (oldest first), generated at `now`.
pub fn render_story(story: &ArticleInfo, revisions: &[RevisionRow], now: DateTime<Utc>) -> String {
    let compared = compare(revisions);
    let lang = story
        .language
        .as_deref()
        .map(|l| format!(" lang=\"{}\"", escape(l)))
        .unwrap_or_default();
    let title = if story.title.is_empty() {
        "(untitled)"
    } else {
        &story.title
    };
    let mut html = String::with_capacity(
        8 * 1024
            + revisions
                .iter()
                .map(|r| 2 * (r.body.len() + r.title.len()))
                .sum::<usize>(),
    );
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n\
         <meta name=\"generator\" content=\"storywatch {VERSION}\"/>\n\
         <title>{} · storywatch</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        escape(title)
    );

    // What the article is.
    let _ = write!(
        html,
        "<header>\n<p class=\"kicker\">storywatch report · article {}</p>\n<h1{lang}>{}</h1>\n<dl>\n",
        story.id,
        escape(title)
    );
    let url = match story.url.as_deref() {
        Some(url) => match safe_link(url) {
            Some(link) => format!("<a href=\"{}\">{}</a>", escape(link), escape(url)),
            None => escape(url),
        },
        None => "none".to_owned(),
    };
    let origin = match (story.origin.as_str(), story.source.as_deref()) {
        ("seed", Some(source)) => format!("seed article, from {}", escape(source)),
        ("seed", None) => "seed article".to_owned(),
        _ => "feed".to_owned(),
    };
    let terms = if story.matched_terms.is_empty() {
        "none".to_owned()
    } else {
        escape(&story.matched_terms.join(", "))
    };
    let fields = [
        ("URL", url),
        (
            "Feed",
            escape(story.feed.as_deref().unwrap_or("none (seeded)")),
        ),
        ("Origin", origin),
        ("First seen", time_html(&story.first_seen_at)),
        ("Last seen", time_html(&story.last_seen_at)),
        (
            "Published",
            story
                .published_at
                .as_deref()
                .map_or_else(|| "unknown".to_owned(), time_html),
        ),
        ("Matched terms", terms),
        (
            "Topic score",
            story
                .topic_score
                .map_or_else(|| "none".to_owned(), |s| format!("{s:.2}")),
        ),
        ("Revisions", revisions.len().to_string()),
    ];
    for (name, value) in fields {
        let _ = writeln!(html, "<dt>{name}</dt><dd>{value}</dd>");
    }
    html.push_str("</dl>\n</header>\n");

    // The revisions at a glance.
    html.push_str(
        "<nav aria-label=\"Revisions\">\n<h2>Revisions</h2>\n<table>\n<thead><tr><th>#</th>\
         <th>Observed</th><th>Change</th><th>Alert</th></tr></thead>\n<tbody>\n",
    );
    for c in &compared {
        let _ = writeln!(
            html,
            "<tr><td><a href=\"#r{n}\">{n}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            time_html(&c.revision.observed_at),
            escape(&change_summary(c)),
            alert_name(c.revision.alert.as_ref()),
            n = c.revision.number,
        );
    }
    html.push_str("</tbody>\n</table>\n</nav>\n<main>\n");

    // Every revision in full, changes highlighted.
    for c in &compared {
        let r = c.revision;
        let _ = writeln!(
            html,
            "<section class=\"revision\" id=\"r{}\">\n<h2>Revision {}</h2>",
            r.number, r.number
        );
        let mut meta = format!(
            "{} · observed {}",
            escape(kind_name(&r.body_kind)),
            time_html(&r.observed_at)
        );
        if let Some(feed) = &r.feed {
            let _ = write!(meta, " in {}", escape(feed));
        }
        if c.baseline.is_some() {
            let _ = write!(meta, " · {}", escape(&change_summary(c)));
        } else {
            meta.push_str(" · the first text of its kind: nothing to compare with");
        }
        match &r.alert {
            Some((id, kind)) => {
                let _ = write!(meta, " · {} alert {}", kind.as_str(), escape(id));
            }
            None if c.baseline.is_some() => {
                meta.push_str(" · no alert (a repeated text, or below min_words_changed)")
            }
            None => {}
        }
        let _ = writeln!(html, "<p class=\"meta\">{meta}</p>");
        let _ = writeln!(
            html,
            "<h3 class=\"title\"{lang}>{}</h3>",
            inline_html(&c.title)
        );
        let body = paragraphs_html(&c.body, Extent::Whole);
        if body.is_empty() {
            html.push_str("<p class=\"empty\">(no text)</p>\n");
        } else {
            let _ = write!(html, "<div class=\"text\"{lang}>\n{body}</div>\n");
        }
        html.push_str("</section>\n");
    }

    let _ = write!(
        html,
        "</main>\n<footer>\n<p>Generated by storywatch {VERSION} on {}. Each revision is compared \
         with the previous revision of the same kind (a summary with a summary, a full text with \
         a full text): removed words are struck through, added words underlined.</p>\n\
         </footer>\n</body>\n</html>\n",
        time_html(&format_time(now))
    );
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(edit: Edit, text: &str) -> Segment {
        Segment {
            edit,
            text: text.to_owned(),
        }
    }

    #[test]
    fn escape_makes_markup_text_and_drops_what_xml_forbids() {
        let cases = [
            ("markup", "<b>x</b>", "&lt;b&gt;x&lt;/b&gt;"),
            (
                "entities",
                "Tom & \"Jerry\" 'n'",
                "Tom &amp; &quot;Jerry&quot; &#39;n&#39;",
            ),
            ("controls", "a\u{0}b\u{1b}c\td\ne", "abc\td\ne"),
            ("non_characters", "x\u{FFFE}\u{FFFF}y", "xy"),
            ("other_scripts", "북한 КНДР", "북한 КНДР"),
        ];
        for (name, text, escaped) in cases {
            assert_eq!(escape(text), escaped, "{name}");
        }
    }

    #[test]
    fn only_http_links_are_links() {
        let cases = [
            ("https", "https://example.org/a?b=1&c=2", true),
            ("http", "http://example.org/", true),
            ("javascript", "javascript:alert(1)", false),
            ("data", "data:text/html,<script>x</script>", false),
            ("relative", "/story", false),
        ];
        for (name, url, linked) in cases {
            assert_eq!(safe_link(url).is_some(), linked, "{name}");
        }
    }

    #[test]
    fn changes_are_marked_with_their_spaces_outside() {
        let segments = [
            seg(Edit::Kept, "in "),
            seg(Edit::Removed, "2026."),
            seg(Edit::Added, " 2027, <soon>."),
        ];
        assert_eq!(
            paragraphs_html(&segments, Extent::Whole),
            "<p>in <del>2026.</del> <ins>2027, &lt;soon&gt;.</ins></p>\n"
        );
    }

    #[test]
    fn changed_extent_keeps_changed_paragraphs_and_marks_the_gaps() {
        let segments = [
            seg(Edit::Kept, "One.\nTwo "),
            seg(Edit::Removed, "a"),
            seg(Edit::Added, "b"),
            seg(Edit::Kept, ".\nThree.\nFour.\nFive "),
            seg(Edit::Added, "c"),
            seg(Edit::Kept, "."),
        ];
        assert_eq!(
            paragraphs_html(&segments, Extent::Changed),
            "<p class=\"gap\">…</p>\n<p>Two <del>a</del><ins>b</ins>.</p>\n\
             <p class=\"gap\">…</p>\n<p>Five <ins>c</ins>.</p>\n"
        );
        // A title-only change shows no paragraph at all.
        assert_eq!(
            paragraphs_html(&unchanged("One.\nTwo."), Extent::Changed),
            ""
        );
    }

    #[test]
    fn a_removed_paragraph_is_a_paragraph_of_its_own() {
        let segments = diff::word_segments(
            "First.\nSecond one.\nThird.",
            "First.\nThird.",
            diff::DEADLINE,
        );
        assert_eq!(
            paragraphs_html(&segments, Extent::Whole),
            "<p>First.</p>\n<p><del>Second one.</del></p>\n<p>Third.</p>\n"
        );
    }

    fn revision(number: i64, kind: &str, body: &str) -> RevisionRow {
        RevisionRow {
            number,
            title: "T".into(),
            body: body.into(),
            body_kind: kind.into(),
            content_hash: format!("hash of {body}"),
            observed_at: "2026-11-28T04:00:00Z".into(),
            feed: None,
            topic_score: None,
            alert: None,
        }
    }

    #[test]
    fn a_revision_is_compared_with_the_previous_one_of_its_kind() {
        let revisions = [
            revision(1, "summary", "Short one."),
            revision(2, "content", "The full text."),
            revision(3, "summary", "Short two."),
            revision(4, "summary", "Short one."),
        ];
        let compared = compare(&revisions);
        let baselines: Vec<Option<i64>> = compared
            .iter()
            .map(|c| c.baseline.map(|b| b.number))
            .collect();
        assert_eq!(baselines, [None, None, Some(1), Some(3)]);
        let repeats: Vec<Option<i64>> = compared.iter().map(|c| c.repeat_of).collect();
        assert_eq!(repeats, [None, None, None, Some(1)]);
        assert_eq!((compared[2].removed, compared[2].added), (1, 1));
        assert_eq!(
            change_summary(&compared[3]),
            "1 word added, 1 removed since revision 3; the same text as revision 1"
        );
    }

    #[test]
    fn the_style_is_xml_text_and_fetches_nothing() {
        for forbidden in ["<", "&", "url(", "@import"] {
            assert!(!CSS.contains(forbidden), "{forbidden}");
        }
        assert!(CSS.contains("@media print"));
    }
}
