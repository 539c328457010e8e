//! The outbox: alerts waiting for a sink. Every sink has a delivery row per alert, written in
//! the same transaction as the alert, so an alert committed before a crash or during an outage
//! is delivered later. Sinks read their pending rows in alert order and mark each one.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use super::feeds::parse_time;
use super::{Error, Store};
use crate::model::{AlertKind, BodyKind, format_time};

/// A sink as the outbox knows it: its name in `deliveries.sink` and the alert kinds it takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sink {
    pub name: String,
    pub kinds: Vec<AlertKind>,
}

/// The head of one sink's queue: the oldest alert still pending for it.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueHead {
    pub alert: PendingAlert,
    /// Attempts made so far.
    pub attempts: u32,
    /// Not before this time (a retry's backoff); `None` for at once.
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// One delivery, as `storywatch alerts` lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryRow {
    pub alert_id: String,
    pub kind: String,
    pub created_at: String,
    pub title: String,
    pub sink: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: Option<String>,
    pub last_error: Option<String>,
}

/// Deliveries, newest alert first; only those with `status` when given.
pub fn list_deliveries(conn: &Connection, status: Option<&str>) -> Result<Vec<DeliveryRow>, Error> {
    let mut stmt = conn.prepare(
        "SELECT a.id, a.kind, a.created_at, r.title, d.sink, d.status, d.attempts,
                d.next_attempt_at, d.last_error
         FROM deliveries d
         JOIN alerts a ON a.id = d.alert_id
         JOIN revisions r ON r.id = a.revision_id
         WHERE ?1 IS NULL OR d.status = ?1
         ORDER BY a.seq DESC, d.sink",
    )?;
    let rows = stmt.query_map([status], |r| {
        Ok(DeliveryRow {
            alert_id: r.get(0)?,
            kind: r.get(1)?,
            created_at: r.get(2)?,
            title: r.get(3)?,
            sink: r.get(4)?,
            status: r.get(5)?,
            attempts: r.get(6)?,
            next_attempt_at: r.get(7)?,
            last_error: r.get(8)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

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
    /// Which text the alerted revision is (`summary`, `content`, `page`).
    pub body_kind: BodyKind,
    /// Why a `removed` alert's page counts as gone (`HTTP 404 on two checks in a row`).
    pub reason: Option<String>,
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
    /// Alerts pending for `sink` and due at `now`, oldest first, at most `limit`, each with
    /// its `seq`: those after `after` (a `seq` this returned), or from the oldest pending one.
    ///
    /// Paging by `seq` walks the alerts in their order once, probing each one's delivery row,
    /// so delivering a backlog of n alerts costs n steps, not n² / limit (sorting every
    /// pending alert again for each page).
    pub fn pending_alerts(
        &self,
        sink: &str,
        now: DateTime<Utc>,
        after: Option<i64>,
        limit: usize,
    ) -> Result<Vec<(i64, PendingAlert)>, Error> {
        let after = match after {
            Some(seq) => seq,
            None => {
                let first: Option<i64> = self
                    .conn
                    .prepare_cached(
                        "SELECT MIN(a.seq) FROM deliveries d JOIN alerts a ON a.id = d.alert_id
                         WHERE d.sink = ?1 AND d.status = 'pending'",
                    )?
                    .query_row([sink], |r| r.get(0))?;
                match first {
                    Some(seq) => seq - 1,
                    None => return Ok(Vec::new()),
                }
            }
        };
        // CROSS JOIN keeps alerts the outer loop, walked by seq (its rowid) from `after`.
        let mut stmt = self.conn.prepare_cached(
            "SELECT a.id, a.kind, a.created_at, a.article_id, r.title, ar.url, f.name,
                 ar.published_at, ar.matched_terms, r.number, p.number,
                 a.diff, a.words_added, a.words_removed, a.title_changed, d.attempts,
                 d.next_attempt_at, r.body_kind, a.reason, a.seq
             FROM alerts a
             CROSS JOIN deliveries d ON d.alert_id = a.id AND d.sink = ?1
             JOIN revisions r ON r.id = a.revision_id
             JOIN articles ar ON ar.id = a.article_id
             LEFT JOIN revisions p ON p.id = a.previous_revision_id
             LEFT JOIN feeds f ON f.id = COALESCE(r.feed_id, ar.feed_id)
             WHERE a.seq > ?4 AND d.status = 'pending'
               AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= ?2)
             ORDER BY a.seq
             LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![sink, format_time(now), limit as i64, after], |r| {
            Ok((r.get(19)?, alert_from_row(r)?))
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
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
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

/// The columns [`alert_from_row`] reads: the delivery's attempts and next attempt among them,
/// the revision's body kind last.
const ALERT_SELECT: &str =
    "SELECT a.id, a.kind, a.created_at, a.article_id, r.title, ar.url, f.name,
        ar.published_at, ar.matched_terms, r.number, p.number,
        a.diff, a.words_added, a.words_removed, a.title_changed, d.attempts, d.next_attempt_at,
        r.body_kind, a.reason
     FROM deliveries d
     JOIN alerts a ON a.id = d.alert_id
     JOIN revisions r ON r.id = a.revision_id
     JOIN articles ar ON ar.id = a.article_id
     LEFT JOIN revisions p ON p.id = a.previous_revision_id
     LEFT JOIN feeds f ON f.id = COALESCE(r.feed_id, ar.feed_id)";

fn alert_from_row(r: &Row<'_>) -> rusqlite::Result<PendingAlert> {
    let kind: String = r.get(1)?;
    let terms: String = r.get(8)?;
    let diff: Option<String> = r.get(11)?;
    Ok(PendingAlert {
        id: r.get(0)?,
        kind: super::read::alert_kind(&kind),
        created_at: r.get(2)?,
        article_id: r.get(3)?,
        title: r.get(4)?,
        url: r.get(5)?,
        feed: r.get(6)?,
        published_at: r.get(7)?,
        matched_terms: serde_json::from_str(&terms).unwrap_or_default(),
        revision: r.get(9)?,
        previous_revision: r.get(10)?,
        body_kind: {
            let kind: String = r.get(17)?;
            BodyKind::parse(&kind).ok_or_else(|| {
                rusqlite::Error::FromSqlConversionFailure(
                    17,
                    rusqlite::types::Type::Text,
                    format!("unknown body_kind {kind:?}").into(),
                )
            })?
        },
        reason: r.get(18)?,
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
}

impl Store {
    /// The oldest alert still pending for `sink`, due or not: a sink delivers in alert order,
    /// so a later alert waits behind one in backoff.
    pub fn queue_head(&self, sink: &str) -> Result<Option<QueueHead>, Error> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "{ALERT_SELECT}
             WHERE d.sink = ?1 AND d.status = 'pending'
             ORDER BY a.seq
             LIMIT 1"
        ))?;
        let head = stmt
            .query_row([sink], |r| {
                Ok(QueueHead {
                    alert: alert_from_row(r)?,
                    attempts: r.get(15)?,
                    next_attempt_at: r.get::<_, Option<String>>(16)?.and_then(|s| parse_time(&s)),
                })
            })
            .optional()?;
        Ok(head)
    }

    /// Puts failed deliveries back in the queue with a fresh retry schedule: the one of alert
    /// `id`, or all of them. Returns how many.
    pub fn requeue_failed(&mut self, id: Option<&str>, now: DateTime<Utc>) -> Result<usize, Error> {
        Ok(self.conn.execute(
            "UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?2
             WHERE status = 'failed' AND (?1 IS NULL OR alert_id = ?1)",
            params![id, format_time(now)],
        )?)
    }
}
