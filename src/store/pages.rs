//! Article pages: which are watched, which are due, and what one check of one page writes.
//!
//! A page is watched from the moment its article is tracked (the row is written in the same
//! transaction as the article). Its schedule lives in `pages.next_check_at`, computed by the
//! scheduler and merely kept here, so a restart resumes it. One check is one transaction: the
//! page revision (compared only with earlier page revisions), its `changed` or `removed`
//! alert with their deliveries, the validators and the next check, or nothing.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, Transaction, TransactionBehavior, params};

use super::articles::{Mark, NewAlert, TextOutcome, add_keys, insert_alert, record_text};
use super::feeds::parse_time;
use super::{Error, Sink, Store};
use crate::model::{AlertKind, ArticleId, ArticleKey, FeedId, Item, format_time};

/// Checks in a row that answer 404 or 410 before a page counts as removed.
pub const GONE_AFTER: u32 = 2;

/// What the page scheduler and fetcher need to know about one watched page.
#[derive(Debug, Clone, PartialEq)]
pub struct PageState {
    pub article: ArticleId,
    pub url: String,
    pub host: String,
    /// The article's title, for a page whose own title cannot be found.
    pub title: String,
    /// When the schedule started: the article first seen, or the page's last change.
    pub schedule_from: DateTime<Utc>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub consecutive_failures: u32,
}

/// A page that answered, with its article extracted.
#[derive(Debug, Clone)]
pub struct PageText {
    /// The page as a `page` item: its title and text, and their hash.
    pub item: Item,
    /// The page's canonical URL, remembered as one more key of the article.
    pub canonical_url: Option<String>,
    pub status: u16,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// The topic verdict on the page's text.
    pub matched_terms: Vec<String>,
    pub score: f64,
    /// The page as served, gzip-compressed, when `keep_html` is on.
    pub html_gzip: Option<Vec<u8>>,
}

/// What one check of one page found.
#[derive(Debug, Clone)]
pub enum PageCheck {
    /// The page answered and its article was extracted.
    Text(Box<PageText>),
    /// `304 Not Modified`.
    NotModified,
    /// `404 Not Found` or `410 Gone`.
    Gone { status: u16 },
    /// Redirected to its site's front page (`url`).
    FrontPage { url: String },
    /// The fetch or the extraction failed.
    Failed { status: Option<u16>, error: String },
    /// Not fetched, as robots.txt asks.
    Refused { reason: String },
}

/// Everything one check of one page writes.
#[derive(Debug)]
pub struct PageWrite<'a> {
    pub article: ArticleId,
    pub check: PageCheck,
    /// The next check if the text did not change (or the check failed); `None`: no more.
    pub next: Option<DateTime<Utc>>,
    /// The next check if the text changed: the schedule restarted at its first step.
    pub next_if_changed: Option<DateTime<Utc>>,
    pub sinks: &'a [Sink],
    pub min_words_changed: u32,
}

/// What one check came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageOutcome {
    /// The same text as the last page revision, or `304 Not Modified`.
    Unchanged,
    /// The first page revision of the article: its baseline.
    First,
    /// A new page revision (a `changed` alert when `alerted`).
    Revised {
        alerted: bool,
    },
    /// The page counts as gone; `alerted` when this check raised the `removed` alert.
    Gone {
        alerted: bool,
    },
    /// Not gone yet: a first 404 or 410.
    Missing,
    Failed,
    Refused,
    /// Not fetched: its host is backed off, and the check waits with the host's other pages.
    Postponed,
    /// The page is no longer watched (its row is gone).
    NotWatched,
}

/// Starts watching the page at `url` of `article`: due at once, its schedule counted from
/// `since`. A page already watched, or a URL that is not http(s), is left alone.
pub(super) fn watch_page(
    tx: &Transaction<'_>,
    article: ArticleId,
    url: &str,
    since: DateTime<Utc>,
) -> Result<(), Error> {
    let Some(host) = http_host(url) else {
        return Ok(());
    };
    tx.prepare_cached(
        "INSERT OR IGNORE INTO pages (article_id, url, host, schedule_from, next_check_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        article.0,
        url,
        host,
        format_time(since),
        format_time(since)
    ])?;
    Ok(())
}

/// The lower-case host of an http(s) URL.
fn http_host(url: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    url.host_str()?;
    Some(crate::model::host_of(&url))
}

const PAGE_COLUMNS: &str = "p.article_id, p.url, p.host, a.title, p.schedule_from, p.etag,
     p.last_modified, p.consecutive_failures";

fn page_from_row(row: &Row<'_>) -> rusqlite::Result<PageState> {
    let from: String = row.get(4)?;
    Ok(PageState {
        article: ArticleId(row.get(0)?),
        url: row.get(1)?,
        host: row.get(2)?,
        title: row.get(3)?,
        schedule_from: parse_time(&from).unwrap_or_default(),
        etag: row.get(5)?,
        last_modified: row.get(6)?,
        consecutive_failures: row.get(7)?,
    })
}

impl Store {
    /// Makes the watched pages match the config: every feed article with an http(s) URL whose
    /// feed is in `watched` is watched (an article tracked before pages were, or while its feed
    /// had `pages = false`, gets its first check now, its schedule counted from when it was
    /// first seen), and the pages of other feeds are set aside (`active = 0`), their schedule
    /// kept. Seed articles are the user's own baseline and are not fetched. Returns how many
    /// pages it started watching.
    pub fn sync_pages(&mut self, watched: &[FeedId], now: DateTime<Utc>) -> Result<u64, Error> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Set-based, so a start with 10,000 feeds and their articles costs one pass over
        // each table, and rows whose state is right are not written again.
        tx.execute_batch(
            "CREATE TEMP TABLE IF NOT EXISTS watched_feeds (id INTEGER PRIMARY KEY);
             DELETE FROM watched_feeds;",
        )?;
        {
            let mut insert =
                tx.prepare_cached("INSERT OR IGNORE INTO watched_feeds (id) VALUES (?1)")?;
            for feed in watched {
                insert.execute([feed.0])?;
            }
        }
        let missing: Vec<(i64, String, String)> = tx
            .prepare_cached(
                "SELECT a.id, a.url, a.first_seen_at FROM articles a
                 JOIN watched_feeds w ON w.id = a.feed_id
                 WHERE a.origin = 'feed' AND a.url IS NOT NULL
                   AND NOT EXISTS (SELECT 1 FROM pages p WHERE p.article_id = a.id)",
            )?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        let mut started = 0;
        for (id, url, first_seen) in missing {
            let Some(host) = http_host(&url) else {
                continue;
            };
            let since = parse_time(&first_seen).unwrap_or(now);
            tx.prepare_cached(
                "INSERT INTO pages (article_id, url, host, schedule_from, next_check_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![id, url, host, format_time(since), format_time(now)])?;
            started += 1;
        }
        tx.execute(
            "UPDATE pages SET active = 1 - active
             WHERE active <> EXISTS (SELECT 1 FROM articles a JOIN watched_feeds w ON w.id = a.feed_id
                                     WHERE a.id = pages.article_id)",
            [],
        )?;
        tx.commit()?;
        Ok(started)
    }

    /// Watched pages due at `now`, the longest overdue first, at most `limit`.
    pub fn due_pages(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<PageState>, Error> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {PAGE_COLUMNS} FROM pages p JOIN articles a ON a.id = p.article_id
             WHERE p.active = 1 AND p.next_check_at IS NOT NULL AND p.next_check_at <= ?1
             ORDER BY p.next_check_at LIMIT ?2"
        ))?;
        let rows = stmt.query_map(
            params![format_time(now), i64::try_from(limit).unwrap_or(i64::MAX)],
            page_from_row,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Watched pages due at `at` with an article id above `after`, by article id, at most
    /// `limit`: a pass over every due page walks them with this, once each, however their
    /// schedules move meanwhile.
    pub fn due_pages_after(
        &self,
        at: DateTime<Utc>,
        after: ArticleId,
        limit: usize,
    ) -> Result<Vec<PageState>, Error> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {PAGE_COLUMNS} FROM pages p JOIN articles a ON a.id = p.article_id
             WHERE p.active = 1 AND p.next_check_at IS NOT NULL AND p.next_check_at <= ?1
               AND p.article_id > ?2
             ORDER BY p.article_id LIMIT ?3"
        ))?;
        let rows = stmt.query_map(
            params![
                format_time(at),
                after.0,
                i64::try_from(limit).unwrap_or(i64::MAX)
            ],
            page_from_row,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// When the next watched page is due after `now`, if any is.
    pub fn next_page_due_after(&self, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, Error> {
        let next: Option<String> = self.conn.query_row(
            "SELECT MIN(next_check_at) FROM pages
             WHERE active = 1 AND next_check_at IS NOT NULL AND next_check_at > ?1",
            [format_time(now)],
            |r| r.get(0),
        )?;
        Ok(next.as_deref().and_then(parse_time))
    }

    /// Moves every check of `host`'s pages due before `until` to `until`: a host that fails
    /// every page is left alone for a while.
    pub fn postpone_host(&self, host: &str, until: DateTime<Utc>) -> Result<u64, Error> {
        let moved = self.conn.execute(
            "UPDATE pages SET next_check_at = ?2
             WHERE host = ?1 AND next_check_at IS NOT NULL AND next_check_at < ?2",
            params![host, format_time(until)],
        )?;
        Ok(moved as u64)
    }

    /// Writes one check of one page, in one transaction.
    pub fn record_page(
        &mut self,
        write: &PageWrite<'_>,
        now: DateTime<Utc>,
    ) -> Result<PageOutcome, Error> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let state: Option<(u32, bool)> = tx
            .query_row(
                "SELECT gone_checks, removed_at IS NOT NULL FROM pages WHERE article_id = ?1",
                [write.article.0],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((gone_checks, removed)) = state else {
            return Ok(PageOutcome::NotWatched);
        };
        let at = format_time(now);
        let next = write.next.map(format_time);
        let outcome = match &write.check {
            PageCheck::Text(text) => {
                let PageText {
                    item,
                    canonical_url,
                    status,
                    etag,
                    last_modified,
                    matched_terms,
                    score,
                    html_gzip,
                } = &**text;
                let (outcome, changed) = record_page_text(
                    &tx,
                    write,
                    item,
                    canonical_url.as_deref(),
                    (matched_terms, *score),
                    now,
                )?;
                if let (Some(html), Some(revision)) = (html_gzip, changed) {
                    tx.prepare_cached(
                        "INSERT OR REPLACE INTO page_html (revision_id, url, html_gzip)
                         VALUES (?1, ?2, ?3)",
                    )?
                    .execute(params![revision, item.url, html])?;
                }
                let restart = matches!(outcome, PageOutcome::Revised { .. });
                let next = if restart {
                    write.next_if_changed.map(format_time)
                } else {
                    next
                };
                tx.prepare_cached(
                    "UPDATE pages SET last_checked_at = ?2, last_success_at = ?2,
                         last_status = ?3, last_error = NULL, consecutive_failures = 0,
                         etag = ?4, last_modified = ?5, gone_checks = 0, removed_at = NULL,
                         next_check_at = ?6,
                         schedule_from = CASE WHEN ?7 THEN ?2 ELSE schedule_from END
                     WHERE article_id = ?1",
                )?
                .execute(params![
                    write.article.0,
                    at,
                    status,
                    etag,
                    last_modified,
                    next,
                    restart
                ])?;
                outcome
            }
            PageCheck::NotModified => {
                tx.prepare_cached(
                    "UPDATE pages SET last_checked_at = ?2, last_success_at = ?2,
                         last_status = 304, last_error = NULL, consecutive_failures = 0,
                         gone_checks = 0, removed_at = NULL, next_check_at = ?3
                     WHERE article_id = ?1",
                )?
                .execute(params![write.article.0, at, next])?;
                PageOutcome::Unchanged
            }
            PageCheck::Gone { status } => {
                let gone_checks = gone_checks.saturating_add(1);
                let gone = gone_checks >= GONE_AFTER;
                let alerted = gone && !removed;
                if alerted {
                    let reason = format!("HTTP {status} on {gone_checks} checks in a row");
                    raise_removed(&tx, write, &reason, now)?;
                }
                tx.prepare_cached(
                    "UPDATE pages SET last_checked_at = ?2, last_status = ?3, last_error = ?4,
                         gone_checks = ?5, next_check_at = ?6,
                         removed_at = CASE WHEN ?7 THEN ?2 ELSE removed_at END
                     WHERE article_id = ?1",
                )?
                .execute(params![
                    write.article.0,
                    at,
                    status,
                    format!("HTTP {status}"),
                    gone_checks,
                    next,
                    alerted
                ])?;
                if gone {
                    PageOutcome::Gone { alerted }
                } else {
                    PageOutcome::Missing
                }
            }
            PageCheck::FrontPage { url } => {
                let reason = format!("redirected to the site's front page {url}");
                if !removed {
                    raise_removed(&tx, write, &reason, now)?;
                }
                tx.prepare_cached(
                    "UPDATE pages SET last_checked_at = ?2, last_status = NULL, last_error = ?3,
                         gone_checks = 0, next_check_at = ?4,
                         removed_at = COALESCE(removed_at, ?2)
                     WHERE article_id = ?1",
                )?
                .execute(params![write.article.0, at, reason, next])?;
                PageOutcome::Gone { alerted: !removed }
            }
            PageCheck::Failed { status, error } => {
                tx.prepare_cached(
                    "UPDATE pages SET last_checked_at = ?2, last_status = ?3, last_error = ?4,
                         consecutive_failures = consecutive_failures + 1, next_check_at = ?5
                     WHERE article_id = ?1",
                )?
                .execute(params![write.article.0, at, status, error, next])?;
                PageOutcome::Failed
            }
            PageCheck::Refused { reason } => {
                tx.prepare_cached(
                    "UPDATE pages SET last_checked_at = ?2, last_status = NULL, last_error = ?3,
                         next_check_at = ?4
                     WHERE article_id = ?1",
                )?
                .execute(params![write.article.0, at, reason, next])?;
                PageOutcome::Refused
            }
        };
        tx.commit()?;
        Ok(outcome)
    }
}

/// Records the page's text as a `page` revision; returns the outcome and the revision
/// written, if any.
fn record_page_text(
    tx: &Transaction<'_>,
    write: &PageWrite<'_>,
    item: &Item,
    canonical_url: Option<&str>,
    (terms, score): (&[String], f64),
    now: DateTime<Utc>,
) -> Result<(PageOutcome, Option<i64>), Error> {
    if let Some(canonical) = canonical_url {
        let key = ArticleKey(format!("url:{canonical}"));
        add_keys(tx, write.article, std::iter::once(&key))?;
    }
    let terms = serde_json::to_string(terms).unwrap_or_else(|_| "[]".into());
    let mark = Mark {
        terms: Some(&terms),
        score: Some(score),
    };
    let text = record_text(
        tx,
        write.article,
        None,
        item,
        mark,
        write.min_words_changed,
        now,
    )?;
    let revision = text.revision();
    if revision.is_some() {
        // The article's score is its latest text's.
        tx.prepare_cached("UPDATE articles SET topic_score = ?2 WHERE id = ?1")?
            .execute(params![write.article.0, score])?;
    }
    let outcome = match text {
        TextOutcome::Unchanged => PageOutcome::Unchanged,
        TextOutcome::First { .. } => PageOutcome::First,
        TextOutcome::Quiet { .. } => PageOutcome::Revised { alerted: false },
        TextOutcome::Edited {
            revision,
            previous,
            diff,
        } => {
            let alert = NewAlert {
                kind: AlertKind::Changed,
                article: write.article,
                revision,
                previous: Some(previous),
                diff: Some(&diff),
                reason: None,
            };
            insert_alert(tx, &alert, write.sinks, now)?;
            PageOutcome::Revised { alerted: true }
        }
    };
    Ok((outcome, revision))
}

/// Raises the `removed` alert of a page, on its last page revision (else the article's latest
/// revision, when no page text was ever read).
fn raise_removed(
    tx: &Transaction<'_>,
    write: &PageWrite<'_>,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let revision: i64 = tx
        .prepare_cached(
            "SELECT id FROM revisions WHERE article_id = ?1
             ORDER BY body_kind = 'page' DESC, number DESC LIMIT 1",
        )?
        .query_row([write.article.0], |r| r.get(0))?;
    let alert = NewAlert {
        kind: AlertKind::Removed,
        article: write.article,
        revision,
        previous: None,
        diff: None,
        reason: Some(reason),
    };
    insert_alert(tx, &alert, write.sinks, now)
}
