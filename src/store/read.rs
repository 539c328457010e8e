//! Reading the database for people: feed health, tracked articles, an article's revisions.
//!
//! Takes a read-only connection (the daemon may be writing: WAL lets a reader see the last
//! committed state without waiting) and gives plain rows. The lists come from the views of
//! `migrations/0003_views.sql`, so the commands show what the README's queries show. It does
//! not format anything and never writes.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{Error, Store, latest_migration, schema_version};
use crate::model::{AlertKind, ArticleId};

/// A read-only view of the database.
pub struct Reader {
    pub(super) conn: Connection,
}

/// One feed's polling state, from the `feed_health` view.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedHealth {
    pub name: String,
    pub url: String,
    /// False once the feed was removed from the config: no longer polled, history kept.
    pub active: bool,
    pub last_polled_at: Option<String>,
    pub last_success_at: Option<String>,
    pub consecutive_failures: i64,
    pub last_error: Option<String>,
    pub next_poll_at: Option<String>,
    /// Articles first found in this feed.
    pub articles: i64,
}

/// One watched page, as `storywatch pages` shows it (the `page_health` view).
#[derive(Debug, Clone, PartialEq)]
pub struct PageHealth {
    pub article_id: i64,
    pub title: String,
    pub url: String,
    pub feed: Option<String>,
    /// False while its feed has `pages = false` or has left the config.
    pub active: bool,
    /// `None` once the schedule is over.
    pub next_check_at: Option<String>,
    pub last_checked_at: Option<String>,
    pub last_success_at: Option<String>,
    pub last_status: Option<i64>,
    pub consecutive_failures: i64,
    pub last_error: Option<String>,
    /// When the page was found gone (a `removed` alert), while it stays gone.
    pub removed_at: Option<String>,
    pub page_revisions: i64,
}

/// Which pages [`Reader::pages`] lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageFilter {
    /// Every watched page, the next due first.
    All,
    /// Pages due now.
    Due,
    /// Pages whose last check failed, were refused by robots.txt, or that are gone.
    Failing,
}

/// Which articles [`Reader::articles`] lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArticleFilter {
    /// Only articles with at least one `changed` alert (since `since`, when given).
    pub changed: bool,
    /// Stored-format timestamp: articles first seen since then, or with `changed`, changed
    /// since then.
    pub since: Option<String>,
    /// Only articles first found in this feed or with a revision from it (name, any case).
    pub feed: Option<String>,
}

/// One tracked article with its current revision and its changes.
#[derive(Debug, Clone, PartialEq)]
pub struct ArticleRow {
    pub id: ArticleId,
    /// The current revision's title.
    pub title: String,
    pub url: Option<String>,
    /// `feed` or `seed`.
    pub origin: String,
    pub feed: Option<String>,
    pub first_seen_at: String,
    pub published_at: Option<String>,
    pub revision_number: i64,
    pub revision_count: i64,
    pub body_kind: String,
    pub observed_at: String,
    pub topic_score: Option<f64>,
    pub matched_terms: Vec<String>,
    /// `changed` alerts (those since the filter's `since`, with `changed`) and their sums.
    pub changes: i64,
    pub last_changed_at: Option<String>,
    pub words_added: i64,
    pub words_removed: i64,
}

/// What an article is, for the heading of its history, diff or report.
#[derive(Debug, Clone, PartialEq)]
pub struct ArticleInfo {
    pub id: ArticleId,
    /// The title of its latest revision.
    pub title: String,
    pub url: Option<String>,
    /// `feed` or `seed`.
    pub origin: String,
    /// The feed that first found it; `None` for a seed no feed has carried yet.
    pub feed: Option<String>,
    pub first_seen_at: String,
    pub last_seen_at: String,
    pub published_at: Option<String>,
    pub matched_terms: Vec<String>,
    pub topic_score: Option<f64>,
    /// Seeds only: the source and language their file declares.
    pub source: Option<String>,
    pub language: Option<String>,
}

/// One revision of an article, with the alert it raised, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct RevisionRow {
    pub number: i64,
    pub title: String,
    pub body: String,
    /// `seed`, `summary`, `content` or `page`: a revision is compared only with its own kind.
    pub body_kind: String,
    pub content_hash: String,
    pub observed_at: String,
    /// The feed the text came from; `None` for a seed.
    pub feed: Option<String>,
    pub topic_score: Option<f64>,
    /// The alert this revision raised (its id and kind), if any.
    pub alert: Option<(String, AlertKind)>,
}

/// What revision `i` of an article's `revisions` (oldest first) is compared with, as the
/// pipeline compares it: the previous revision of the same kind (a summary with a summary),
/// and an earlier one of that kind with the very same text (a headline A/B test flipping
/// back), which the pipeline records without alerting again.
pub fn baseline(revisions: &[RevisionRow], i: usize) -> (Option<&RevisionRow>, Option<i64>) {
    let revision = &revisions[i];
    let mut earlier = revisions[..i]
        .iter()
        .rev()
        .filter(|r| r.body_kind == revision.body_kind);
    let previous = earlier.next();
    let same_as = earlier
        .find(|r| r.content_hash == revision.content_hash)
        .map(|r| r.number);
    (previous, same_as)
}

impl Reader {
    /// Opens the database at `path` read-only. It must exist and be migrated to the schema
    /// this binary reads (the views came with migration 3): a read-only connection cannot
    /// migrate, and a missing view would only fail later with a less helpful message.
    pub fn open(path: &Path) -> Result<Reader, Error> {
        let conn = Store::open_read_only(path)?;
        let found = schema_version(&conn)?;
        let needed = latest_migration();
        if found < needed {
            return Err(Error::OlderSchema {
                path: path.to_path_buf(),
                found,
                needed,
            });
        }
        Ok(Reader { conn })
    }

    /// Every feed, configured ones first, by name.
    pub fn feed_health(&self) -> Result<Vec<FeedHealth>, Error> {
        let mut stmt = self.conn.prepare(
            "SELECT name, url, active, last_polled_at, last_success_at, consecutive_failures,
                    last_error, next_poll_at, articles
             FROM feed_health
             ORDER BY active DESC, name COLLATE NOCASE, feed_id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(FeedHealth {
                name: r.get(0)?,
                url: r.get(1)?,
                active: r.get(2)?,
                last_polled_at: r.get(3)?,
                last_success_at: r.get(4)?,
                consecutive_failures: r.get(5)?,
                last_error: r.get(6)?,
                next_poll_at: r.get(7)?,
                articles: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Watched pages, the next due first (those whose schedule is over last).
    pub fn pages(
        &self,
        filter: PageFilter,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<PageHealth>, Error> {
        let condition = match filter {
            PageFilter::All => "1",
            PageFilter::Due => "active = 1 AND next_check_at IS NOT NULL AND next_check_at <= ?1",
            PageFilter::Failing => "last_error IS NOT NULL OR removed_at IS NOT NULL",
        };
        let mut stmt = self.conn.prepare(&format!(
            "SELECT article_id, title, url, feed, active, next_check_at, last_checked_at,
                    last_success_at, last_status, consecutive_failures, last_error, removed_at,
                    page_revisions
             FROM page_health WHERE ({condition}) AND ?1 IS NOT NULL
             ORDER BY next_check_at IS NULL, next_check_at, article_id"
        ))?;
        let rows = stmt.query_map([crate::model::format_time(now)], |r| {
            Ok(PageHealth {
                article_id: r.get(0)?,
                title: r.get(1)?,
                url: r.get(2)?,
                feed: r.get(3)?,
                active: r.get(4)?,
                next_check_at: r.get(5)?,
                last_checked_at: r.get(6)?,
                last_success_at: r.get(7)?,
                last_status: r.get(8)?,
                consecutive_failures: r.get(9)?,
                last_error: r.get(10)?,
                removed_at: r.get(11)?,
                page_revisions: r.get(12)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// The names of the feeds, to tell a mistyped `--feed` from a quiet one.
    pub fn feed_names(&self) -> Result<Vec<String>, Error> {
        let mut stmt = self
            .conn
            .prepare("SELECT name FROM feeds ORDER BY name COLLATE NOCASE")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Tracked articles, newest first: by first sighting, or with `changed` by last change.
    pub fn articles(&self, filter: &ArticleFilter) -> Result<Vec<ArticleRow>, Error> {
        let mut stmt = self.conn.prepare(
            "SELECT l.article_id, l.title, l.url, l.origin, l.feed, l.first_seen_at,
                    a.published_at, l.revision_number, l.revision_count, l.body_kind,
                    l.observed_at, l.topic_score, a.matched_terms,
                    COALESCE(c.changes, 0), c.last_changed_at,
                    COALESCE(c.words_added, 0), COALESCE(c.words_removed, 0)
             FROM latest_revisions l
             JOIN articles a ON a.id = l.article_id
             LEFT JOIN (
                 SELECT article_id, COUNT(*) AS changes, MAX(created_at) AS last_changed_at,
                        SUM(words_added) AS words_added, SUM(words_removed) AS words_removed
                 FROM changes
                 WHERE ?1 = 0 OR ?2 IS NULL OR created_at >= ?2
                 GROUP BY article_id
             ) c ON c.article_id = l.article_id
             WHERE (?1 = 0 OR c.changes IS NOT NULL)
               AND (?1 = 1 OR ?2 IS NULL OR l.first_seen_at >= ?2)
               AND (?3 IS NULL OR EXISTS (
                   SELECT 1 FROM feeds f
                   WHERE f.name = ?3 COLLATE NOCASE
                     AND (f.id = a.feed_id
                          OR f.id IN (SELECT feed_id FROM revisions WHERE article_id = a.id))))
             ORDER BY CASE WHEN ?1 = 1 THEN c.last_changed_at ELSE l.first_seen_at END DESC,
                      l.article_id DESC",
        )?;
        let rows = stmt.query_map(
            params![filter.changed, filter.since, filter.feed],
            article_from_row,
        )?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// One article, or `None` when there is no such id.
    pub fn article(&self, id: ArticleId) -> Result<Option<ArticleInfo>, Error> {
        let article = self
            .conn
            .query_row(
                "SELECT a.id, a.title, a.url, a.origin, f.name, a.first_seen_at, a.last_seen_at,
                        a.published_at, a.matched_terms, a.topic_score, a.source, a.language
                 FROM articles a LEFT JOIN feeds f ON f.id = a.feed_id
                 WHERE a.id = ?1",
                [id.0],
                |r| {
                    Ok(ArticleInfo {
                        id: ArticleId(r.get(0)?),
                        title: r.get(1)?,
                        url: r.get(2)?,
                        origin: r.get(3)?,
                        feed: r.get(4)?,
                        first_seen_at: r.get(5)?,
                        last_seen_at: r.get(6)?,
                        published_at: r.get(7)?,
                        matched_terms: terms(&r.get::<_, String>(8)?),
                        topic_score: r.get(9)?,
                        source: r.get(10)?,
                        language: r.get(11)?,
                    })
                },
            )
            .optional()?;
        Ok(article)
    }

    /// Every revision of an article, oldest first.
    pub fn revisions(&self, id: ArticleId) -> Result<Vec<RevisionRow>, Error> {
        let mut stmt = self.conn.prepare(
            "SELECT r.number, r.title, r.body, r.body_kind, r.content_hash, r.observed_at,
                    f.name, r.topic_score, al.id, al.kind
             FROM revisions r
             LEFT JOIN feeds f ON f.id = r.feed_id
             LEFT JOIN alerts al ON al.seq =
                 (SELECT MIN(seq) FROM alerts WHERE revision_id = r.id)
             WHERE r.article_id = ?1
             ORDER BY r.number",
        )?;
        let rows = stmt.query_map([id.0], |r| {
            let alert_id: Option<String> = r.get(8)?;
            let kind: Option<String> = r.get(9)?;
            Ok(RevisionRow {
                number: r.get(0)?,
                title: r.get(1)?,
                body: r.get(2)?,
                body_kind: r.get(3)?,
                content_hash: r.get(4)?,
                observed_at: r.get(5)?,
                feed: r.get(6)?,
                topic_score: r.get(7)?,
                alert: alert_id.zip(kind.as_deref().map(alert_kind)),
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }
}

/// `alerts.kind`; the table's CHECK allows only the known kinds.
pub(super) fn alert_kind(kind: &str) -> AlertKind {
    AlertKind::parse(kind).unwrap_or(AlertKind::New)
}

/// A `matched_terms` JSON array as the store wrote it; a malformed one (edited by hand) reads
/// as no terms.
pub(super) fn terms(json: &str) -> Vec<String> {
    serde_json::from_str(json).unwrap_or_default()
}

fn article_from_row(r: &Row<'_>) -> rusqlite::Result<ArticleRow> {
    let terms_json: String = r.get(12)?;
    Ok(ArticleRow {
        id: ArticleId(r.get(0)?),
        title: r.get(1)?,
        url: r.get(2)?,
        origin: r.get(3)?,
        feed: r.get(4)?,
        first_seen_at: r.get(5)?,
        published_at: r.get(6)?,
        revision_number: r.get(7)?,
        revision_count: r.get(8)?,
        body_kind: r.get(9)?,
        observed_at: r.get(10)?,
        topic_score: r.get(11)?,
        matched_terms: terms(&terms_json),
        changes: r.get(13)?,
        last_changed_at: r.get(14)?,
        words_added: r.get(15)?,
        words_removed: r.get(16)?,
    })
}
