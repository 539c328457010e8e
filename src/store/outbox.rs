//! The outbox: alerts waiting for a sink. Every sink has a delivery row per alert, written in
//! the same transaction as the alert, so an alert committed before a crash or during an outage
//! is delivered later. Sinks read their pending rows in alert order and mark each one.

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::{Error, Store};
use crate::model::{AlertKind, format_time};

/// One alert as a sink needs it: everything the alert JSON of DESIGN.md carries.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingAlert {
    pub id: String,
    pub kind: AlertKind,
    pub created_at: String,
    pub article_id: i64,
    /// The title of the alerted revision.
    pub title: String,
    pub url: Option<String>,
    pub feed: Option<String>,
    pub published_at: Option<String>,
    pub matched_terms: Vec<String>,
    pub revision: i64,
    pub previous_revision: Option<i64>,
    pub diff: Option<PendingDiff>,
}

/// The diff part of a `changed` alert.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingDiff {
    pub unified: String,
    pub words_added: i64,
    pub words_removed: i64,
    pub title_changed: bool,
}

impl Store {
    /// Up to `limit` alerts whose delivery to `sink` is pending and due at `now`, oldest first.
    pub fn pending_alerts(
        &self,
        sink: &str,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<PendingAlert>, Error> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT a.id, a.kind, a.created_at, a.article_id, r.title, ar.url, f.name,
                    ar.published_at, ar.matched_terms, r.number, p.number,
                    a.diff, a.words_added, a.words_removed, a.title_changed
             FROM deliveries d
             JOIN alerts a ON a.id = d.alert_id
             JOIN revisions r ON r.id = a.revision_id
             JOIN articles ar ON ar.id = a.article_id
             LEFT JOIN revisions p ON p.id = a.previous_revision_id
             LEFT JOIN feeds f ON f.id = COALESCE(r.feed_id, ar.feed_id)
             WHERE d.sink = ?1 AND d.status = 'pending'
               AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= ?2)
             ORDER BY a.seq
             LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![sink, format_time(now), limit as i64], |r| {
            let kind: String = r.get(1)?;
            let terms: String = r.get(8)?;
            let diff: Option<String> = r.get(11)?;
            Ok(PendingAlert {
                id: r.get(0)?,
                kind: if kind == "changed" {
                    AlertKind::Changed
                } else {
                    AlertKind::New
                },
                created_at: r.get(2)?,
                article_id: r.get(3)?,
                title: r.get(4)?,
                url: r.get(5)?,
                feed: r.get(6)?,
                published_at: r.get(7)?,
                matched_terms: serde_json::from_str(&terms).unwrap_or_default(),
                revision: r.get(9)?,
                previous_revision: r.get(10)?,
                diff: match diff {
                    Some(unified) => Some(PendingDiff {
                        unified,
                        words_added: r.get::<_, Option<i64>>(12)?.unwrap_or(0),
                        words_removed: r.get::<_, Option<i64>>(13)?.unwrap_or(0),
                        title_changed: r.get::<_, Option<bool>>(14)?.unwrap_or(false),
                    }),
                    None => None,
                },
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Marks deliveries of `alerts` to `sink` done, in one transaction.
    pub fn mark_delivered(
        &mut self,
        alerts: &[String],
        sink: &str,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        let tx = self.conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "UPDATE deliveries SET status = 'delivered', attempts = attempts + 1,
                     delivered_at = ?3, last_error = NULL, next_attempt_at = NULL
                 WHERE alert_id = ?1 AND sink = ?2",
            )?;
            let now = format_time(now);
            for alert in alerts {
                stmt.execute(params![alert, sink, now])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Records a failed attempt: retried at `retry_at`, or `failed` for good when `None`.
    pub fn mark_attempt_failed(
        &mut self,
        alert: &str,
        sink: &str,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<(), Error> {
        self.conn.execute(
            "UPDATE deliveries SET attempts = attempts + 1, last_error = ?3,
                 status = CASE WHEN ?4 IS NULL THEN 'failed' ELSE 'pending' END,
                 next_attempt_at = ?4
             WHERE alert_id = ?1 AND sink = ?2",
            params![alert, sink, error, retry_at.map(format_time)],
        )?;
        Ok(())
    }

    /// How many deliveries are pending, over all sinks.
    pub fn pending_count(&self) -> Result<u64, Error> {
        let count: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM deliveries WHERE status = 'pending'",
            [],
            |r| r.get(0),
        )?;
        Ok(u64::try_from(count).unwrap_or(0))
    }
}
