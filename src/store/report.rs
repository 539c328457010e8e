//! Read queries for the review outputs: one article with every revision of it (the HTML
//! report), and the recent alerts with the texts they compare (the Atom export). Read-only:
//! they run on the connection of [`Store::open_read_only`](super::Store::open_read_only),
//! beside a running daemon. They give plain rows; comparing and rendering is the views' job.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::Error;
use crate::model::{AlertKind, ArticleId, format_time};

/// One article as the report shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Story {
    pub id: ArticleId,
    /// The title of its latest revision.
    pub title: String,
    pub url: Option<String>,
    /// The feed it was first seen in; `None` for a seed no feed has carried yet.
    pub feed: Option<String>,
    /// `feed` or `seed`.
    pub origin: String,
    pub first_seen_at: String,
    pub last_seen_at: String,
    pub published_at: Option<String>,
    pub matched_terms: Vec<String>,
    pub topic_score: Option<f64>,
    /// Seeds only: the source and language their file declares.
    pub source: Option<String>,
    pub language: Option<String>,
    /// Every revision, by number.
    pub revisions: Vec<StoryRevision>,
}

/// One revision of a [`Story`].
#[derive(Debug, Clone, PartialEq)]
pub struct StoryRevision {
    pub number: i64,
    pub title: String,
    pub body: String,
    /// `seed`, `summary`, `content` or `page`: a revision is compared only with its own kind.
    pub body_kind: String,
    pub content_hash: String,
    pub observed_at: String,
    /// The feed it was seen in (`None` for a seed's text).
    pub feed: Option<String>,
    /// The alert this revision raised, if any.
    pub alert: Option<(String, AlertKind)>,
}

/// The article `id` with its revisions, or `None` when there is no such article.
pub fn load_story(conn: &Connection, id: ArticleId) -> Result<Option<Story>, Error> {
    let story = conn
        .query_row(
            "SELECT a.id, a.title, a.url, f.name, a.origin, a.first_seen_at, a.last_seen_at,
                    a.published_at, a.matched_terms, a.topic_score, a.source, a.language
             FROM articles a LEFT JOIN feeds f ON f.id = a.feed_id
             WHERE a.id = ?1",
            [id.0],
            |r| {
                Ok(Story {
                    id: ArticleId(r.get(0)?),
                    title: r.get(1)?,
                    url: r.get(2)?,
                    feed: r.get(3)?,
                    origin: r.get(4)?,
                    first_seen_at: r.get(5)?,
                    last_seen_at: r.get(6)?,
                    published_at: r.get(7)?,
                    matched_terms: terms(&r.get::<_, String>(8)?),
                    topic_score: r.get(9)?,
                    source: r.get(10)?,
                    language: r.get(11)?,
                    revisions: Vec::new(),
                })
            },
        )
        .optional()?;
    let Some(mut story) = story else {
        return Ok(None);
    };
    let mut stmt = conn.prepare(
        "SELECT r.number, r.title, r.body, r.body_kind, r.content_hash, r.observed_at, f.name,
                al.id, al.kind
         FROM revisions r
         LEFT JOIN feeds f ON f.id = r.feed_id
         LEFT JOIN alerts al ON al.seq =
             (SELECT MIN(seq) FROM alerts WHERE revision_id = r.id)
         WHERE r.article_id = ?1
         ORDER BY r.number",
    )?;
    let rows = stmt.query_map([id.0], |r| {
        let alert_id: Option<String> = r.get(7)?;
        let kind: Option<String> = r.get(8)?;
        Ok(StoryRevision {
            number: r.get(0)?,
            title: r.get(1)?,
            body: r.get(2)?,
            body_kind: r.get(3)?,
            content_hash: r.get(4)?,
            observed_at: r.get(5)?,
            feed: r.get(6)?,
            alert: alert_id.zip(kind.as_deref().map(alert_kind)),
        })
    })?;
    story.revisions = rows.collect::<Result<_, _>>()?;
    Ok(Some(story))
}

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
}

/// The number and text of one revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevisionText {
    pub number: i64,
    pub title: String,
    pub body: String,
}

/// Alerts of every kind, newest first: those created at or after `since` when given, and at
/// most `limit` of them when given.
pub fn recent_alerts(
    conn: &Connection,
    since: Option<DateTime<Utc>>,
    limit: Option<u32>,
) -> Result<Vec<AlertChange>, Error> {
    let mut stmt = conn.prepare(
        "SELECT a.id, a.kind, a.created_at, a.article_id, ar.url, f.name, ar.matched_terms,
                r.number, r.title, r.body, p.number, p.title, p.body,
                a.words_added, a.words_removed, a.title_changed
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
            })
        },
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// When the database was created (its first migration), the seed of identifiers that must stay
/// the same for the life of the database, such as the Atom feed's id.
pub fn database_created_at(conn: &Connection) -> Result<Option<String>, Error> {
    Ok(conn
        .query_row(
            "SELECT applied_at FROM schema_migrations WHERE version = 1",
            [],
            |r| r.get(0),
        )
        .optional()?)
}

/// `alerts.kind`; the table's CHECK allows only these two.
fn alert_kind(kind: &str) -> AlertKind {
    if kind == "changed" {
        AlertKind::Changed
    } else {
        AlertKind::New
    }
}

/// A `matched_terms` JSON array; a malformed one (edited by hand) reads as no terms.
fn terms(json: &str) -> Vec<String> {
    serde_json::from_str(json).unwrap_or_default()
}
