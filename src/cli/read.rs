//! The read commands: `feeds`, `pages`, `articles`, `history` and `diff`.
//!
//! Takes rows from the store's [`Reader`] (a read-only connection, so they answer while the
//! daemon writes) and gives text for people or JSON for programs. Tables fit an 80-column
//! terminal, measured in display columns so Korean titles fit too. A word diff is coloured in
//! a terminal (deletions red and struck through, insertions green) and marked
//! `[-removed-]{+added+}` when piped or when `NO_COLOR` is set. The diffs themselves come from
//! [`crate::diff`]; nothing here compares texts.

use std::fmt::Write as _;
use std::io::{IsTerminal, Write as _};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::diff::{self, Edit, INSERTED, RESET, Segment, WordDiff};
use crate::model::{ArticleId, format_time};
use crate::store::{
    ArticleFilter, ArticleInfo, ArticleRow, FeedHealth, PageFilter, PageHealth, Reader, RevisionRow,
};

/// The width every table fits in.
const WIDTH: usize = 80;

/// Errors of the read commands.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] crate::store::Error),
    #[error("no article {0}")]
    NoArticle(ArticleId),
    #[error("article {article} has no revision {number} (it has 1 to {last})")]
    NoRevision {
        article: ArticleId,
        number: i64,
        last: i64,
    },
    #[error("article {0} has only one revision: nothing to compare")]
    OneRevision(ArticleId),
    #[error("no feed named {name:?}; the feeds are: {known}")]
    NoFeed { name: String, known: String },
    #[error("cannot write the output: {0}")]
    Output(std::io::Error),
}

/// How `diff` shows a change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum DiffFormat {
    /// The changed paragraphs with the changed words marked.
    #[default]
    Words,
    /// A unified diff of title and paragraphs, as in the alert.
    Unified,
    /// Everything as one JSON object.
    Json,
}

/// Whether output is coloured: only on a terminal, and never when `NO_COLOR` is set to
/// anything (<https://no-color.org>).
fn colour() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Writes a command's output. A reader that goes away early (`storywatch articles | head`)
/// is not an error.
pub(super) fn emit(text: &str) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::Output(error)),
        _ => Ok(()),
    }
}

fn json_text(value: &Value) -> String {
    // Serializing a `Value` cannot fail.
    format!("{value:#}\n")
}

/// `feeds`: each feed's health.
pub fn feeds(reader: &Reader, as_json: bool) -> Result<(), Error> {
    let feeds = reader.feed_health()?;
    if as_json {
        let list: Vec<Value> = feeds
            .iter()
            .map(|f| {
                json!({
                    "name": f.name, "url": f.url, "active": f.active,
                    "last_polled_at": f.last_polled_at, "last_success_at": f.last_success_at,
                    "consecutive_failures": f.consecutive_failures, "last_error": f.last_error,
                    "next_poll_at": f.next_poll_at, "articles": f.articles,
                })
            })
            .collect();
        return emit(&json_text(&Value::Array(list)));
    }
    emit(&feeds_table(&feeds))
}

/// `pages`: the watched pages and their checks.
pub fn pages(reader: &Reader, filter: PageFilter, as_json: bool) -> Result<(), Error> {
    let pages = reader.pages(filter, Utc::now())?;
    if as_json {
        let list: Vec<Value> = pages
            .iter()
            .map(|p| {
                json!({
                    "article_id": p.article_id, "title": p.title, "url": p.url, "feed": p.feed,
                    "active": p.active, "next_check_at": p.next_check_at,
                    "last_checked_at": p.last_checked_at, "last_success_at": p.last_success_at,
                    "last_status": p.last_status, "consecutive_failures": p.consecutive_failures,
                    "last_error": p.last_error, "removed_at": p.removed_at,
                    "page_revisions": p.page_revisions,
                })
            })
            .collect();
        return emit(&json_text(&Value::Array(list)));
    }
    emit(&pages_table(&pages, filter))
}

fn page_status(page: &PageHealth) -> String {
    if page.removed_at.is_some() {
        "removed".to_owned()
    } else if page.last_checked_at.is_none() {
        "never checked".to_owned()
    } else if page.consecutive_failures > 0 {
        match page.consecutive_failures {
            1 => "1 failure".to_owned(),
            n => format!("{n} failures"),
        }
    } else if page.last_error.is_some() {
        "refused".to_owned()
    } else if !page.active {
        "paused".to_owned()
    } else {
        "ok".to_owned()
    }
}

/// The pages as a table: article, status, next check, page revisions, then the URL and any
/// error on lines of their own.
fn pages_table(pages: &[PageHealth], filter: PageFilter) -> String {
    if pages.is_empty() {
        return match filter {
            PageFilter::All => "no pages watched yet: they are fetched once articles are tracked\n",
            PageFilter::Due => "no page is due\n",
            PageFilter::Failing => "no page is failing\n",
        }
        .to_owned();
    }
    let title_width = WIDTH - (6 + 14 + 16 + 5 + 4 * 2);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>6}  {}  {}  {}  {:>5}",
        "ID",
        fit("TITLE", title_width),
        fit("STATUS", 14),
        fit("NEXT CHECK", 16),
        "REVS"
    );
    for page in pages {
        let next = match (&page.next_check_at, page.active) {
            (Some(next), true) => short_time(Some(next)),
            (Some(_), false) => "paused".to_owned(),
            (None, _) => "done".to_owned(),
        };
        let _ = writeln!(
            out,
            "{:>6}  {}  {}  {}  {:>5}",
            page.article_id,
            fit(&page.title, title_width),
            fit(&page_status(page), 14),
            fit(&next, 16),
            page.page_revisions
        );
        let _ = writeln!(out, "        {}", truncate(&one_line(&page.url), WIDTH - 8));
        if let Some(error) = &page.last_error {
            let _ = writeln!(out, "        {}", truncate(&one_line(error), WIDTH - 8));
        }
    }
    out
}

fn feed_status(feed: &FeedHealth) -> String {
    if !feed.active {
        "removed".to_owned()
    } else if feed.last_polled_at.is_none() {
        "never polled".to_owned()
    } else {
        match feed.consecutive_failures {
            0 => "ok".to_owned(),
            1 => "1 failure".to_owned(),
            n => format!("{n} failures"),
        }
    }
}

/// The feeds as a table; a failing feed's last error follows on its own line.
fn feeds_table(feeds: &[FeedHealth]) -> String {
    if feeds.is_empty() {
        return "no feeds yet: add [[feed]] tables to the config and poll\n".to_owned();
    }
    // Fixed columns: status, last success, next poll, articles, and the gaps between.
    let name_width = WIDTH - (12 + 16 + 16 + 8 + 4 * 2);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}  {}  {}  {}  {:>8}",
        fit("NAME", name_width),
        fit("STATUS", 12),
        fit("LAST SUCCESS", 16),
        fit("NEXT POLL", 16),
        "ARTICLES"
    );
    for feed in feeds {
        let next = if feed.active {
            short_time(feed.next_poll_at.as_deref())
        } else {
            "-".to_owned()
        };
        let _ = writeln!(
            out,
            "{}  {}  {}  {}  {:>8}",
            fit(&feed.name, name_width),
            fit(&feed_status(feed), 12),
            fit(&short_time(feed.last_success_at.as_deref()), 16),
            fit(&next, 16),
            feed.articles
        );
        if let Some(error) = feed.last_error.as_deref().filter(|_| feed.active) {
            let line = format!("    last error: {}", one_line(error));
            let _ = writeln!(out, "{}", truncate(&line, WIDTH));
        }
    }
    out
}

/// `articles`: tracked articles, newest first.
pub fn articles(reader: &Reader, filter: &ArticleFilter, as_json: bool) -> Result<(), Error> {
    if let Some(name) = &filter.feed {
        let names = reader.feed_names()?;
        // The same match as the query's (SQLite's NOCASE folds ASCII only).
        if !names.iter().any(|n| n.eq_ignore_ascii_case(name)) {
            return Err(Error::NoFeed {
                name: name.clone(),
                known: names.join(", "),
            });
        }
    }
    let rows = reader.articles(filter)?;
    if as_json {
        let list: Vec<Value> = rows.iter().map(article_json).collect();
        return emit(&json_text(&Value::Array(list)));
    }
    emit(&articles_table(&rows, filter.changed))
}

fn article_json(a: &ArticleRow) -> Value {
    json!({
        "id": a.id.0, "title": a.title, "url": a.url, "origin": a.origin, "feed": a.feed,
        "first_seen_at": a.first_seen_at, "published_at": a.published_at,
        "revision": a.revision_number, "revisions": a.revision_count,
        "body_kind": a.body_kind, "observed_at": a.observed_at,
        "topic_score": a.topic_score, "matched_terms": a.matched_terms,
        "changes": a.changes, "last_changed_at": a.last_changed_at,
        "words_added": a.words_added, "words_removed": a.words_removed,
    })
}

/// The articles as a table: when each was first seen, or with `changed` when it last changed
/// and how many words its changes added and removed.
fn articles_table(rows: &[ArticleRow], changed: bool) -> String {
    if rows.is_empty() {
        return "no articles match\n".to_owned();
    }
    let id_width = rows
        .iter()
        .map(|r| r.id.0.to_string().len())
        .max()
        .unwrap_or(2)
        .max(2);
    let feed_width = if changed { 10 } else { 12 };
    // The last fixed column: revisions, or the words changed.
    let (last_header, last_width) = if changed { ("WORDS", 9) } else { ("REV", 3) };
    // KIND: the body kind of the current revision (summary, content, page, seed).
    let title_width = WIDTH - (id_width + 16 + feed_width + 7 + last_width + 5 * 2);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>id_width$}  {}  {}  {}  {:>last_width$}  TITLE",
        "ID",
        fit(
            if changed {
                "CHANGED (UTC)"
            } else {
                "FIRST SEEN (UTC)"
            },
            16
        ),
        fit("FEED", feed_width),
        fit("KIND", 7),
        last_header,
    );
    for row in rows {
        let (when, last) = if changed {
            (
                row.last_changed_at.as_deref(),
                format!("+{} -{}", row.words_added, row.words_removed),
            )
        } else {
            (
                Some(row.first_seen_at.as_str()),
                row.revision_count.to_string(),
            )
        };
        let feed = match (&row.feed, row.origin.as_str()) {
            (Some(feed), _) => feed.clone(),
            (None, "seed") => "(seed)".to_owned(),
            (None, _) => "-".to_owned(),
        };
        let _ = writeln!(
            out,
            "{:>id_width$}  {}  {}  {}  {:>last_width$}  {}",
            row.id.0,
            fit(&short_time(when), 16),
            fit(&feed, feed_width),
            fit(&row.body_kind, 7),
            last,
            truncate(&one_line(&row.title), title_width),
        );
    }
    out
}

/// What one revision changed, as `history` shows it.
struct RevisionChange<'a> {
    revision: &'a RevisionRow,
    /// The earlier revision of the same body kind it is compared with.
    previous: Option<&'a RevisionRow>,
    /// An earlier revision with the very same text (a headline A/B test flipping back).
    same_as: Option<i64>,
    diff: Option<diff::Diff>,
    /// The title differs from the revision just before (of any kind).
    new_title: bool,
}

fn revision_changes(revisions: &[RevisionRow]) -> Vec<RevisionChange<'_>> {
    revisions
        .iter()
        .enumerate()
        .map(|(i, revision)| {
            let earlier = &revisions[..i];
            let (previous, same_as) = crate::store::baseline(revisions, i);
            let diff = previous.map(|p| {
                diff::compare_revisions(
                    (&p.title, &p.body),
                    (&revision.title, &revision.body),
                    (
                        &format!("revision {}", p.number),
                        &format!("revision {}", revision.number),
                    ),
                    diff::DEADLINE,
                )
            });
            RevisionChange {
                revision,
                previous,
                same_as,
                diff,
                new_title: earlier.last().is_some_and(|p| p.title != revision.title),
            }
        })
        .collect()
}

/// Reads an article and its revisions, or says there is no such article.
fn article_with_revisions(
    reader: &Reader,
    id: ArticleId,
) -> Result<(ArticleInfo, Vec<RevisionRow>), Error> {
    let article = reader.article(id)?.ok_or(Error::NoArticle(id))?;
    let revisions = reader.revisions(id)?;
    Ok((article, revisions))
}

/// `history`: the revisions of one article.
pub fn history(reader: &Reader, id: ArticleId, as_json: bool) -> Result<(), Error> {
    let (article, revisions) = article_with_revisions(reader, id)?;
    let changes = revision_changes(&revisions);
    if as_json {
        let list: Vec<Value> = changes
            .iter()
            .map(|c| {
                let r = c.revision;
                json!({
                    "number": r.number, "observed_at": r.observed_at, "body_kind": r.body_kind,
                    "feed": r.feed, "title": r.title, "topic_score": r.topic_score,
                    "compared_with": c.previous.map(|p| p.number),
                    "same_as": c.same_as,
                    "words_added": c.diff.as_ref().map(|d| d.words_added),
                    "words_removed": c.diff.as_ref().map(|d| d.words_removed),
                    "title_changed": c.diff.as_ref().map(|d| d.title_changed),
                    "alert_id": r.alert.as_ref().map(|(id, _)| id),
                    "alert_kind": r.alert.as_ref().map(|(_, kind)| kind.as_str()),
                })
            })
            .collect();
        return emit(&json_text(
            &json!({"article": article_json_info(&article), "revisions": list}),
        ));
    }
    let mut out = article_heading(&article);
    out.push('\n');
    let _ = writeln!(
        out,
        "{:>3}  {}  {}  {}  CHANGE",
        "REV",
        fit("OBSERVED (UTC)", 16),
        fit("KIND", 7),
        fit("FEED", 12)
    );
    let change_width = WIDTH - (3 + 16 + 7 + 12 + 4 * 2);
    for c in &changes {
        let r = c.revision;
        let change = match (c.same_as, &c.diff) {
            (Some(n), _) => format!("same text as revision {n}"),
            (None, None) => format!("first {} text", r.body_kind),
            (None, Some(d)) => format!(
                "+{} -{} words{}, {}",
                d.words_added,
                d.words_removed,
                if d.title_changed { " and title" } else { "" },
                if r.alert.is_some() {
                    "alerted"
                } else {
                    "no alert"
                }
            ),
        };
        let _ = writeln!(
            out,
            "{:>3}  {}  {}  {}  {}",
            r.number,
            fit(&short_time(Some(&r.observed_at)), 16),
            fit(&r.body_kind, 7),
            fit(r.feed.as_deref().unwrap_or("(seed)"), 12),
            truncate(&change, change_width)
        );
        if c.new_title {
            let line = format!("     title: {}", one_line(&r.title));
            let _ = writeln!(out, "{}", truncate(&line, WIDTH));
        }
    }
    emit(&out)
}

fn article_json_info(a: &ArticleInfo) -> Value {
    json!({
        "id": a.id.0, "title": a.title, "url": a.url, "origin": a.origin, "feed": a.feed,
        "first_seen_at": a.first_seen_at, "published_at": a.published_at, "source": a.source,
    })
}

/// Title, link and provenance of an article, a few lines long.
fn article_heading(article: &ArticleInfo) -> String {
    let mut out = format!("article {}: {}\n", article.id, one_line(&article.title));
    if let Some(url) = &article.url {
        let _ = writeln!(out, "{url}");
    }
    let from = match (&article.feed, &article.source) {
        (Some(feed), _) => format!(" in {feed}"),
        (None, Some(source)) => format!(" (seed: {source})"),
        (None, None) => String::new(),
    };
    let _ = writeln!(
        out,
        "first seen {} UTC{from}",
        short_time(Some(&article.first_seen_at))
    );
    out
}

/// `diff`: the change between two revisions of one article; by default the latest revision
/// against the one before it of the same body kind (a summary is compared with a summary),
/// else the one just before it.
pub fn diff(
    reader: &Reader,
    id: ArticleId,
    from: Option<i64>,
    to: Option<i64>,
    format: DiffFormat,
) -> Result<(), Error> {
    let (article, revisions) = article_with_revisions(reader, id)?;
    let last = revisions.last().map_or(0, |r| r.number);
    let find = |number: i64| {
        revisions
            .iter()
            .find(|r| r.number == number)
            .ok_or(Error::NoRevision {
                article: id,
                number,
                last,
            })
    };
    let new = find(to.unwrap_or(last))?;
    let old = match from {
        Some(number) => find(number)?,
        None => {
            let earlier: Vec<&RevisionRow> =
                revisions.iter().filter(|r| r.number < new.number).collect();
            earlier
                .iter()
                .rev()
                .find(|r| r.body_kind == new.body_kind)
                .or(earlier.last())
                .copied()
                .ok_or(Error::OneRevision(id))?
        }
    };
    let counts = diff::compare_revisions(
        (&old.title, &old.body),
        (&new.title, &new.body),
        (
            &format!("revision {}", old.number),
            &format!("revision {}", new.number),
        ),
        diff::DEADLINE,
    );
    let words = diff::word_diff(
        (&old.title, &old.body),
        (&new.title, &new.body),
        diff::DEADLINE,
    );
    let text = match format {
        DiffFormat::Unified => render_unified(&counts.unified, colour()),
        DiffFormat::Json => json_text(&diff_json(&article, old, new, &counts, &words)),
        DiffFormat::Words => {
            let mut out = article_heading(&article);
            let _ = writeln!(
                out,
                "revision {} ({}, {}) → revision {} ({}, {})",
                old.number,
                short_time(Some(&old.observed_at)),
                old.body_kind,
                new.number,
                short_time(Some(&new.observed_at)),
                new.body_kind
            );
            if old.body_kind != new.body_kind {
                let _ = writeln!(
                    out,
                    "note: a {} text against a {} text differ in kind, not only by edits",
                    old.body_kind, new.body_kind
                );
            }
            let _ = writeln!(
                out,
                "{} words added, {} removed{}\n",
                counts.words_added,
                counts.words_removed,
                if counts.title_changed {
                    ", title changed"
                } else {
                    ""
                }
            );
            out.push_str(&words.render(old.number, colour()));
            out
        }
    };
    emit(&text)
}

fn segments_json(segments: &[Segment]) -> Vec<Value> {
    segments
        .iter()
        .map(|s| {
            let op = match s.edit {
                Edit::Kept => "same",
                Edit::Removed => "removed",
                Edit::Added => "added",
            };
            json!({"op": op, "text": s.text})
        })
        .collect()
}

fn diff_json(
    article: &ArticleInfo,
    old: &RevisionRow,
    new: &RevisionRow,
    counts: &diff::Diff,
    words: &WordDiff,
) -> Value {
    let revision = |r: &RevisionRow| {
        json!({"number": r.number, "observed_at": r.observed_at, "body_kind": r.body_kind,
               "title": r.title, "feed": r.feed})
    };
    let hunks: Vec<Value> = words
        .hunks
        .iter()
        .map(|h| {
            json!({
                "old_first": h.old_first, "old_count": h.old_count,
                "new_first": h.new_first, "new_count": h.new_count,
                "segments": segments_json(&h.segments),
            })
        })
        .collect();
    json!({
        "article": article_json_info(article),
        "from": revision(old),
        "to": revision(new),
        "words_added": counts.words_added,
        "words_removed": counts.words_removed,
        "title_changed": counts.title_changed,
        "unified": counts.unified,
        "title": words.title.as_deref().map(segments_json),
        "hunks": hunks,
    })
}

/// A unified diff, its removed and added lines red and green in a terminal.
fn render_unified(unified: &str, colour: bool) -> String {
    if !colour {
        return unified.to_owned();
    }
    let mut out = String::new();
    for line in unified.split_inclusive('\n') {
        let body = line.trim_end_matches('\n');
        let style = match line.as_bytes().first() {
            _ if line.starts_with("---") || line.starts_with("+++") => None,
            Some(b'-') => Some("\x1b[31m"),
            Some(b'+') => Some(INSERTED),
            Some(b'@') => Some("\x1b[36m"),
            _ => None,
        };
        match style {
            Some(style) => {
                let _ = write!(out, "{style}{body}{RESET}{}", &line[body.len()..]);
            }
            None => out.push_str(line),
        }
    }
    out
}

/// `--since` as clap reads it: the time in the database's own format, so it compares with
/// the stored timestamps as text.
pub fn since_arg(text: &str) -> Result<String, String> {
    crate::model::parse_since(text, Utc::now()).map(format_time)
}

/// A stored timestamp as tables show it: `2026-11-28 04:00` (UTC), `-` when absent.
fn short_time(stored: Option<&str>) -> String {
    match stored {
        None => "-".to_owned(),
        Some(s) => DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc).format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_else(|_| s.to_owned()),
    }
}

/// Text on one line: line breaks and tabs become spaces, other control characters go, so a
/// table row stays one row.
fn one_line(text: &str) -> String {
    text.chars()
        .filter_map(|c| match c {
            '\n' | '\r' | '\t' => Some(' '),
            c if c.is_control() => None,
            c => Some(c),
        })
        .collect()
}

/// Cuts `text` to at most `width` display columns, ending it with `…` when cut.
fn truncate(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_owned();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

/// `text` cut or padded to exactly `width` display columns.
fn fit(text: &str, width: usize) -> String {
    let text = truncate(&one_line(text), width);
    let pad = width.saturating_sub(text.width());
    format!("{text}{}", " ".repeat(pad))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_counts_display_columns_and_ends_with_an_ellipsis() {
        let cases = [
            ("short_kept", "Short", 10, "Short"),
            ("exact_kept", "0123456789", 10, "0123456789"),
            ("long_cut", "0123456789AB", 10, "012345678…"),
            // Hangul is two columns wide: four syllables and the ellipsis fill nine.
            ("wide_cut", "북한과 러시아 협력", 10, "북한과 러…"),
        ];
        for (name, text, width, expected) in cases {
            let cut = truncate(text, width);
            assert_eq!(cut, expected, "{name}");
            assert!(cut.width() <= width, "{name}");
        }
        assert_eq!(fit("북한", 6).width(), 6);
    }
}
