//! Feed rows: which feeds exist, their HTTP validators and their schedule.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, TransactionBehavior, params};

use super::{Error, Store};
use crate::model::{FeedId, format_time};

/// What the scheduler and the fetcher need to know about one feed.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedState {
    pub id: FeedId,
    pub name: String,
    pub url: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// `None` for a feed never polled: it is due at once.
    pub next_poll_at: Option<DateTime<Utc>>,
    pub consecutive_failures: u32,
    /// The digest of the last body parsed and stored ([`crate::feed::body_digest`]).
    pub body_hash: Option<String>,
}

/// One row of `fetches`: what one poll of one feed did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FetchRecord {
    pub started_at: DateTime<Utc>,
    pub duration_ms: u64,
    pub http_status: Option<u16>,
    pub bytes: Option<u64>,
    pub items: Option<u64>,
    pub new_articles: Option<u64>,
    pub changed_articles: Option<u64>,
    pub error: Option<String>,
}

const FEED_COLUMNS: &str =
    "id, name, url, etag, last_modified, next_poll_at, consecutive_failures, body_hash";

fn feed_from_row(row: &Row<'_>) -> rusqlite::Result<FeedState> {
    Ok(FeedState {
        id: FeedId(row.get(0)?),
        name: row.get(1)?,
        url: row.get(2)?,
        etag: row.get(3)?,
        last_modified: row.get(4)?,
        next_poll_at: row
            .get::<_, Option<String>>(5)?
            .and_then(|s| parse_time(&s)),
        consecutive_failures: row.get(6)?,
        body_hash: row.get(7)?,
    })
}

/// Reads a stored timestamp; a value that does not parse is treated as absent.
pub(crate) fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

impl Store {
    /// Makes the `feeds` table match the configured feeds (by URL): new feeds are added and due
    /// at once, renamed ones renamed, removed ones marked inactive (never deleted: their history
    /// stays). Returns the active feeds in config order.
    pub fn sync_feeds(&mut self, configured: &[(String, String)]) -> Result<Vec<FeedState>, Error> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute("UPDATE feeds SET active = 0", [])?;
        let mut feeds = Vec::with_capacity(configured.len());
        {
            let mut upsert = tx.prepare_cached(
                "INSERT INTO feeds (name, url, active) VALUES (?1, ?2, 1)
                 ON CONFLICT (url) DO UPDATE SET name = excluded.name, active = 1",
            )?;
            let mut select =
                tx.prepare_cached(&format!("SELECT {FEED_COLUMNS} FROM feeds WHERE url = ?1"))?;
            for (name, url) in configured {
                upsert.execute(params![name, url])?;
                feeds.push(select.query_row([url], feed_from_row)?);
            }
        }
        tx.commit()?;
        Ok(feeds)
    }

    /// The active feeds.
    pub fn active_feeds(&self) -> Result<Vec<FeedState>, Error> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {FEED_COLUMNS} FROM feeds WHERE active = 1 ORDER BY id"
        ))?;
        let feeds = stmt
            .query_map([], feed_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(feeds)
    }

    /// One feed by id, active or not.
    pub fn feed(&self, id: FeedId) -> Result<Option<FeedState>, Error> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {FEED_COLUMNS} FROM feeds WHERE id = ?1"))?;
        Ok(stmt.query_row([id.0], feed_from_row).optional()?)
    }

    /// Moves a feed's next poll, as when its interval changes on reload.
    pub fn set_next_poll(&self, feed: FeedId, at: DateTime<Utc>) -> Result<(), Error> {
        self.conn.execute(
            "UPDATE feeds SET next_poll_at = ?2 WHERE id = ?1",
            params![feed.0, format_time(at)],
        )?;
        Ok(())
    }

    /// Moves every feed's next poll and every page's next check by `by`, in one transaction:
    /// the schedule follows a wall clock that was moved.
    pub fn shift_schedule(&mut self, by: chrono::TimeDelta) -> Result<(), Error> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let scheduled: Vec<(i64, String)> = tx
            .prepare("SELECT id, next_poll_at FROM feeds WHERE next_poll_at IS NOT NULL")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        for (id, next) in scheduled {
            let Ok(next) = DateTime::parse_from_rfc3339(&next) else {
                continue;
            };
            tx.execute(
                "UPDATE feeds SET next_poll_at = ?2 WHERE id = ?1",
                params![id, format_time(next.with_timezone(&Utc) + by)],
            )?;
        }
        let pages: Vec<(i64, String, String)> = tx
            .prepare(
                "SELECT article_id, schedule_from, next_check_at FROM pages
                 WHERE next_check_at IS NOT NULL",
            )?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        for (id, from, next) in pages {
            let (Some(from), Some(next)) = (parse_time(&from), parse_time(&next)) else {
                continue;
            };
            tx.execute(
                "UPDATE pages SET schedule_from = ?2, next_check_at = ?3 WHERE article_id = ?1",
                params![id, format_time(from + by), format_time(next + by)],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Drops a feed's HTTP validators and body digest, so its next fetch is a full one and
    /// every item in it is judged again (after the topic or the feed's filter changed).
    pub fn forget_validators(&self, feed: FeedId) -> Result<(), Error> {
        self.conn.execute(
            "UPDATE feeds SET etag = NULL, last_modified = NULL, body_hash = NULL WHERE id = ?1",
            [feed.0],
        )?;
        Ok(())
    }

    /// Records a failed poll: the error in `feeds.last_error` and `fetches`, one more
    /// consecutive failure, and the backed-off next poll.
    pub fn record_failure(
        &mut self,
        feed: FeedId,
        fetch: &FetchRecord,
        next_poll_at: DateTime<Utc>,
    ) -> Result<(), Error> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "UPDATE feeds SET last_polled_at = ?2, next_poll_at = ?3, last_error = ?4,
                 consecutive_failures = consecutive_failures + 1
             WHERE id = ?1",
            params![
                feed.0,
                format_time(fetch.started_at),
                format_time(next_poll_at),
                fetch.error
            ],
        )?;
        insert_fetch(&tx, feed, fetch)?;
        tx.commit()?;
        Ok(())
    }

    /// Records a poll answered `304 Not Modified`, or with the very body stored last time
    /// (then with the validators it came with, `Some`): a success that changes nothing else.
    pub fn record_not_modified(
        &mut self,
        feed: FeedId,
        fetch: &FetchRecord,
        validators: Option<(Option<String>, Option<String>)>,
        next_poll_at: DateTime<Utc>,
    ) -> Result<(), Error> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Some((etag, last_modified)) = validators {
            tx.prepare_cached("UPDATE feeds SET etag = ?2, last_modified = ?3 WHERE id = ?1")?
                .execute(params![feed.0, etag, last_modified])?;
        }
        mark_success(&tx, feed, fetch.started_at, next_poll_at)?;
        insert_fetch(&tx, feed, fetch)?;
        tx.commit()?;
        Ok(())
    }
}

pub(super) fn mark_success(
    tx: &rusqlite::Transaction<'_>,
    feed: FeedId,
    at: DateTime<Utc>,
    next_poll_at: DateTime<Utc>,
) -> Result<(), Error> {
    let at = format_time(at);
    tx.prepare_cached(
        "UPDATE feeds SET last_polled_at = ?2, last_success_at = ?2, next_poll_at = ?3,
             consecutive_failures = 0, last_error = NULL
         WHERE id = ?1",
    )?
    .execute(params![feed.0, at, format_time(next_poll_at)])?;
    Ok(())
}

pub(super) fn insert_fetch(
    tx: &rusqlite::Transaction<'_>,
    feed: FeedId,
    fetch: &FetchRecord,
) -> Result<(), Error> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO fetches (feed_id, started_at, duration_ms, http_status, bytes, items,
             new_articles, changed_articles, error)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    stmt.execute(params![
        feed.0,
        format_time(fetch.started_at),
        to_sql_int(fetch.duration_ms),
        fetch.http_status,
        fetch.bytes.map(to_sql_int),
        fetch.items.map(to_sql_int),
        fetch.new_articles.map(to_sql_int),
        fetch.changed_articles.map(to_sql_int),
        fetch.error,
    ])?;
    Ok(())
}

/// SQLite integers are signed 64-bit; counts never come near the limit, and saturate if they do.
pub(super) fn to_sql_int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
