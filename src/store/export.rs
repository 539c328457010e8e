//! Reading the alerts for export: the recent alerts with the texts they compare (the Atom
//! feed of `export atom`), on the read-only [`Reader`]. Plain rows; comparing and rendering is
//! the views' job.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::read::{alert_kind, terms};
use super::{Error, Reader};
use crate::model::{AlertKind, ArticleId, format_time};

/// One alert with the texts it is about, as the Atom export shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertChange {
    pub id: String,
    pub kind: AlertKind,
    pub created_at: String,
    pub article_id: ArticleId,
    pub url: Option<String>,
    /// The feed the alerted revision was seen in.
    pub feed: Option<String>,
    pub matched_terms: Vec<String>,
    pub revision: RevisionText,
    /// The revision a `changed` alert compares with; `None` for `new`.
    pub previous: Option<RevisionText>,
    pub words_added: Option<i64>,
    pub words_removed: Option<i64>,
    pub title_changed: bool,
    /// Why a `removed` alert's page counts as gone.
    pub reason: Option<String>,
}

/// The number and text of one revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevisionText {
    pub number: i64,
    pub title: String,
    pub body: String,
}

impl Reader {
    /// Alerts of every kind, newest first: those created at or after `since` when given, and at
    /// most `limit` of them when given.
    pub fn recent_alerts(
        &self,
        since: Option<DateTime<Utc>>,
        limit: Option<u32>,
    ) -> Result<Vec<AlertChange>, Error> {
        let mut stmt = self.conn.prepare(
            "SELECT a.id, a.kind, a.created_at, a.article_id, ar.url, f.name, ar.matched_terms,
                r.number, r.title, r.body, p.number, p.title, p.body,
                a.words_added, a.words_removed, a.title_changed, a.reason
         FROM alerts a
         JOIN articles ar ON ar.id = a.article_id
         JOIN revisions r ON r.id = a.revision_id
         LEFT JOIN revisions p ON p.id = a.previous_revision_id
         LEFT JOIN feeds f ON f.id = COALESCE(r.feed_id, ar.feed_id)
         WHERE ?1 IS NULL OR a.created_at >= ?1
         ORDER BY a.seq DESC
         LIMIT ?2",
        )?;
        // Timestamps are stored as fixed-width UTC text, so comparing text compares instants.
        // SQLite reads a negative LIMIT as no limit.
        let rows = stmt.query_map(
            params![since.map(format_time), limit.map_or(-1, i64::from)],
            |r| {
                let previous = match r.get::<_, Option<i64>>(10)? {
                    Some(number) => Some(RevisionText {
                        number,
                        title: r.get(11)?,
                        body: r.get(12)?,
                    }),
                    None => None,
                };
                Ok(AlertChange {
                    id: r.get(0)?,
                    kind: alert_kind(&r.get::<_, String>(1)?),
                    created_at: r.get(2)?,
                    article_id: ArticleId(r.get(3)?),
                    url: r.get(4)?,
                    feed: r.get(5)?,
                    matched_terms: terms(&r.get::<_, String>(6)?),
                    revision: RevisionText {
                        number: r.get(7)?,
                        title: r.get(8)?,
                        body: r.get(9)?,
                    },
                    previous,
                    words_added: r.get(13)?,
                    words_removed: r.get(14)?,
                    title_changed: r.get::<_, Option<bool>>(15)?.unwrap_or(false),
                    reason: r.get(16)?,
                })
            },
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// When the database was created (its first migration), the seed of identifiers that must stay
    /// the same for the life of the database, such as the Atom feed's id.
    pub fn created_at(&self) -> Result<Option<String>, Error> {
        Ok(self
            .conn
            .query_row(
                "SELECT applied_at FROM schema_migrations WHERE version = 1",
                [],
                |r| r.get(0),
            )
            .optional()?)
    }
}
