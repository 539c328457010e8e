//! Articles, their keys and revisions, and the alerts a feed's items raise: written for one
//! feed in one transaction, so the article, its new revision, the alert and its delivery rows
//! are stored together or not at all.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Transaction, TransactionBehavior, params};

use super::feeds::{FetchRecord, insert_fetch, mark_success, to_sql_int};
use super::{Error, Sink, Store};
use crate::diff::{self, Diff};
use crate::model::{AlertKind, ArticleId, FeedId, Item, format_time};

/// One normalized item with the topic stage's verdict on it.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub item: Item,
    /// Whether the item may start a new article (relevant, or its feed is unfiltered).
    /// An article already tracked is updated whatever its verdict: once tracked, always tracked.
    pub relevant: bool,
    pub matched_terms: Vec<String>,
    /// The topic score of this text (0.0–1.0).
    pub score: f64,
}

/// The topic verdict stored with a revision: matched terms (JSON) and score. Seeds have none.
#[derive(Clone, Copy, Default)]
pub(super) struct Mark<'a> {
    pub terms: Option<&'a str>,
    pub score: Option<f64>,
}

/// Everything one successful poll of one feed writes.
#[derive(Debug)]
pub struct FeedWrite<'a> {
    pub feed: FeedId,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// The digest of the body these candidates were parsed from, kept so the same body is
    /// not parsed again.
    pub body_hash: Option<String>,
    pub fetch: FetchRecord,
    pub next_poll_at: DateTime<Utc>,
    pub candidates: &'a [Candidate],
    /// The sinks a new alert gets a pending delivery row for (those that take its kind).
    pub sinks: &'a [Sink],
    pub min_words_changed: u32,
    /// Whether the pages of the articles this feed starts are watched (`[pages]`).
    pub track_pages: bool,
}

/// What loading one seed did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedOutcome {
    Created(ArticleId),
    Revised(ArticleId),
    Unchanged(ArticleId),
}

/// What recording one text against an article did.
pub(super) enum TextOutcome {
    /// Same content hash as the latest revision of its kind: nothing written.
    Unchanged,
    /// The first revision of its kind: a baseline, not an edit.
    First { revision: i64 },
    /// A new revision that raises no alert: a text identical to an older revision, or a
    /// change below the threshold.
    Quiet { revision: i64 },
    /// A new revision worth a `changed` alert.
    Edited {
        revision: i64,
        previous: i64,
        diff: Diff,
    },
}

impl TextOutcome {
    /// The revision written, if one was.
    pub(super) fn revision(&self) -> Option<i64> {
        match self {
            TextOutcome::Unchanged => None,
            TextOutcome::First { revision }
            | TextOutcome::Quiet { revision }
            | TextOutcome::Edited { revision, .. } => Some(*revision),
        }
    }
}

/// Counts of what one feed write did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteCounts {
    pub new_articles: u64,
    pub changed_articles: u64,
}

impl Store {
    /// Writes one successful poll: validators, schedule, articles, revisions, alerts,
    /// deliveries and the `fetches` row, in one transaction.
    pub fn record_feed(
        &mut self,
        write: &FeedWrite<'_>,
        now: DateTime<Utc>,
    ) -> Result<WriteCounts, Error> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut counts = WriteCounts::default();
        for candidate in write.candidates {
            match record_candidate(&tx, write.feed, candidate, write, now)? {
                Some(AlertKind::New) => counts.new_articles += 1,
                Some(AlertKind::Changed) => counts.changed_articles += 1,
                Some(AlertKind::Removed) | None => {}
            }
        }
        tx.prepare_cached(
            "UPDATE feeds SET etag = ?2, last_modified = ?3, body_hash = ?4 WHERE id = ?1",
        )?
        .execute(params![
            write.feed.0,
            write.etag,
            write.last_modified,
            write.body_hash
        ])?;
        mark_success(&tx, write.feed, write.fetch.started_at, write.next_poll_at)?;
        let fetch = FetchRecord {
            new_articles: Some(counts.new_articles),
            changed_articles: Some(counts.changed_articles),
            ..write.fetch.clone()
        };
        insert_fetch(&tx, write.feed, &fetch)?;
        tx.commit()?;
        Ok(counts)
    }

    /// Loads one seed article idempotently: the first load creates it with revision 1 (kind
    /// `seed`), an edited seed file adds a revision, an unchanged one writes nothing. Seeds are
    /// the baseline and never raise an alert.
    pub fn load_seed(
        &mut self,
        name: &str,
        item: &Item,
        source: Option<&str>,
        language: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<SeedOutcome, Error> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let existing: Option<i64> = tx
            .query_row(
                "SELECT id FROM articles WHERE seed_name = ?1",
                [name],
                |r| r.get(0),
            )
            .optional()?;
        let outcome = match existing {
            Some(id) => {
                let id = ArticleId(id);
                tx.execute(
                    "UPDATE articles SET source = ?2, language = ?3, url = COALESCE(?4, url),
                         published_at = COALESCE(?5, published_at)
                     WHERE id = ?1",
                    params![
                        id.0,
                        source,
                        language,
                        item.url,
                        item.published_at.map(format_time)
                    ],
                )?;
                add_keys(&tx, id, item.keys.iter().chain(&item.title_keys))?;
                match record_text(&tx, id, None, item, Mark::default(), u32::MAX, now)? {
                    TextOutcome::Unchanged => SeedOutcome::Unchanged(id),
                    _ => SeedOutcome::Revised(id),
                }
            }
            None => {
                tx.execute(
                    "INSERT INTO articles (url, guid, feed_id, title, origin, first_seen_at,
                         last_seen_at, published_at, matched_terms, seed_name, source, language)
                     VALUES (?1, NULL, NULL, ?2, 'seed', ?3, ?3, ?4, '[]', ?5, ?6, ?7)",
                    params![
                        item.url,
                        item.title,
                        format_time(now),
                        item.published_at.map(format_time),
                        name,
                        source,
                        language
                    ],
                )?;
                let id = ArticleId(tx.last_insert_rowid());
                add_keys(&tx, id, item.keys.iter().chain(&item.title_keys))?;
                insert_revision(&tx, id, 1, item, None, Mark::default(), now)?;
                SeedOutcome::Created(id)
            }
        };
        tx.commit()?;
        Ok(outcome)
    }
}

/// Records one candidate; returns the kind of alert it raised, if any.
fn record_candidate(
    tx: &Transaction<'_>,
    feed: FeedId,
    candidate: &Candidate,
    write: &FeedWrite<'_>,
    now: DateTime<Utc>,
) -> Result<Option<AlertKind>, Error> {
    let item = &candidate.item;
    let matched = if candidate.matched_terms.is_empty() {
        None
    } else {
        Some(serde_json::to_string(&candidate.matched_terms).unwrap_or_else(|_| "[]".into()))
    };
    let mark = Mark {
        terms: Some(matched.as_deref().unwrap_or("[]")),
        score: Some(candidate.score),
    };
    // Identity keys first; a seed without a URL is matched by its title.
    let article = match find_article(tx, item.keys.iter())? {
        Some(id) => Some(id),
        None => find_article(tx, item.title_keys.iter())?,
    };
    let Some(article) = article else {
        if !candidate.relevant {
            return Ok(None);
        }
        tx.prepare_cached(
            "INSERT INTO articles (url, guid, feed_id, title, origin, first_seen_at, last_seen_at,
                 published_at, matched_terms, topic_score)
             VALUES (?1, ?2, ?3, ?4, 'feed', ?5, ?5, ?6, COALESCE(?7, '[]'), ?8)",
        )?
        .execute(params![
            item.url,
            item.guid,
            feed.0,
            item.title,
            format_time(now),
            item.published_at.map(format_time),
            matched,
            candidate.score
        ])?;
        let id = ArticleId(tx.last_insert_rowid());
        add_keys(tx, id, item.keys.iter())?;
        let revision = insert_revision(tx, id, 1, item, Some(feed), mark, now)?;
        let alert = NewAlert {
            kind: AlertKind::New,
            article: id,
            revision,
            previous: None,
            diff: None,
            reason: None,
        };
        insert_alert(tx, &alert, write.sinks, now)?;
        if write.track_pages
            && let Some(url) = &item.url
        {
            super::pages::watch_page(tx, id, url, now)?;
        }
        return Ok(Some(AlertKind::New));
    };

    add_keys(tx, article, item.keys.iter())?;
    tx.prepare_cached(
        "UPDATE articles SET last_seen_at = ?2, url = COALESCE(url, ?3), guid = COALESCE(guid, ?4),
             feed_id = COALESCE(feed_id, ?5), published_at = COALESCE(published_at, ?6),
             matched_terms = COALESCE(?7, matched_terms)
         WHERE id = ?1",
    )?
    .execute(params![
        article.0,
        format_time(now),
        item.url,
        item.guid,
        feed.0,
        item.published_at.map(format_time),
        matched
    ])?;
    let text = record_text(
        tx,
        article,
        Some(feed),
        item,
        mark,
        write.min_words_changed,
        now,
    )?;
    if !matches!(text, TextOutcome::Unchanged) {
        // The article's score is its latest text's.
        tx.prepare_cached("UPDATE articles SET topic_score = ?2 WHERE id = ?1")?
            .execute(params![article.0, candidate.score])?;
    }
    match text {
        TextOutcome::Edited {
            revision,
            previous,
            diff,
        } => {
            let alert = NewAlert {
                kind: AlertKind::Changed,
                article,
                revision,
                previous: Some(previous),
                diff: Some(&diff),
                reason: None,
            };
            insert_alert(tx, &alert, write.sinks, now)?;
            Ok(Some(AlertKind::Changed))
        }
        _ => Ok(None),
    }
}

/// The first article any of `keys` belongs to.
fn find_article<'k>(
    tx: &Transaction<'_>,
    keys: impl Iterator<Item = &'k crate::model::ArticleKey>,
) -> Result<Option<ArticleId>, Error> {
    let mut stmt = tx.prepare_cached("SELECT article_id FROM article_keys WHERE key = ?1")?;
    for key in keys {
        if let Some(id) = stmt.query_row([&key.0], |r| r.get(0)).optional()? {
            return Ok(Some(ArticleId(id)));
        }
    }
    Ok(None)
}

/// Remembers every key an article was seen under. A key already owned by another article
/// stays with it: the first owner wins, so two stories never merge after the fact.
pub(super) fn add_keys<'k>(
    tx: &Transaction<'_>,
    article: ArticleId,
    keys: impl Iterator<Item = &'k crate::model::ArticleKey>,
) -> Result<(), Error> {
    let mut stmt =
        tx.prepare_cached("INSERT OR IGNORE INTO article_keys (key, article_id) VALUES (?1, ?2)")?;
    for key in keys {
        stmt.execute(params![key.0, article.0])?;
    }
    Ok(())
}

/// Compares `item` with the article's latest revision of the same body kind and writes a new
/// revision when the text changed.
pub(super) fn record_text(
    tx: &Transaction<'_>,
    article: ArticleId,
    feed: Option<FeedId>,
    item: &Item,
    mark: Mark<'_>,
    min_words_changed: u32,
    now: DateTime<Utc>,
) -> Result<TextOutcome, Error> {
    let kind = item.body_kind.as_str();
    // The hash decides; the old text is read only when there is a diff to make.
    let latest: Option<(i64, i64, bool)> = tx
        .prepare_cached(
            "SELECT id, number, content_hash = ?3 FROM revisions
             WHERE article_id = ?1 AND body_kind = ?2 ORDER BY number DESC LIMIT 1",
        )?
        .query_row(params![article.0, kind, item.content_hash], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    if latest.is_some_and(|l| l.2) {
        return Ok(TextOutcome::Unchanged);
    }
    let number: i64 = tx
        .prepare_cached("SELECT COALESCE(MAX(number), 0) + 1 FROM revisions WHERE article_id = ?1")?
        .query_row([article.0], |r| r.get(0))?;
    let revision = insert_revision(tx, article, number, item, feed, mark, now)?;
    tx.prepare_cached("UPDATE articles SET title = ?2 WHERE id = ?1")?
        .execute(params![article.0, item.title])?;
    let Some((previous, previous_number, _)) = latest else {
        // The first text of this kind is a baseline, not an edit.
        return Ok(TextOutcome::First { revision });
    };
    // A text seen before (a headline A/B test flipping back) is kept but not alerted again.
    let seen_before: Option<i64> = tx
        .prepare_cached(
            "SELECT 1 FROM revisions WHERE article_id = ?1 AND body_kind = ?2
                 AND content_hash = ?3 AND id <> ?4 LIMIT 1",
        )?
        .query_row(params![article.0, kind, item.content_hash, revision], |r| {
            r.get(0)
        })
        .optional()?;
    if seen_before.is_some() {
        return Ok(TextOutcome::Quiet { revision });
    }
    let (old_title, old_body): (String, String) = tx
        .prepare_cached("SELECT title, body FROM revisions WHERE id = ?1")?
        .query_row([previous], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let diff = diff::compare_revisions(
        (&old_title, &old_body),
        (&item.title, &item.body),
        (
            &format!("revision {previous_number}"),
            &format!("revision {number}"),
        ),
        diff::DEADLINE,
    );
    if !diff.is_significant(min_words_changed) {
        return Ok(TextOutcome::Quiet { revision });
    }
    Ok(TextOutcome::Edited {
        revision,
        previous,
        diff,
    })
}

fn insert_revision(
    tx: &Transaction<'_>,
    article: ArticleId,
    number: i64,
    item: &Item,
    feed: Option<FeedId>,
    mark: Mark<'_>,
    now: DateTime<Utc>,
) -> Result<i64, Error> {
    tx.prepare_cached(
        "INSERT INTO revisions (article_id, number, title, body, body_kind, content_hash,
             observed_at, feed_id, matched_terms, topic_score)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        article.0,
        number,
        item.title,
        item.body,
        item.body_kind.as_str(),
        item.content_hash,
        format_time(now),
        feed.map(|f| f.0),
        mark.terms,
        mark.score
    ])?;
    Ok(tx.last_insert_rowid())
}

/// One alert to write.
pub(super) struct NewAlert<'a> {
    pub kind: AlertKind,
    pub article: ArticleId,
    /// The alerted revision (for `removed`, the last text of the page that is gone).
    pub revision: i64,
    pub previous: Option<i64>,
    pub diff: Option<&'a Diff>,
    /// Why a page counts as gone.
    pub reason: Option<&'a str>,
}

/// Writes an alert and a pending delivery for each sink that takes its kind.
pub(super) fn insert_alert(
    tx: &Transaction<'_>,
    alert: &NewAlert<'_>,
    sinks: &[Sink],
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let NewAlert {
        kind,
        article,
        revision,
        previous,
        diff,
        reason,
    } = *alert;
    // Random, not sequential: ids must stay unique for receivers even across a database
    // that is recreated from scratch.
    let id = format!("{:032x}", fastrand::u128(..));
    tx.prepare_cached(
        "INSERT INTO alerts (id, kind, article_id, revision_id, previous_revision_id, created_at,
             diff, words_added, words_removed, title_changed, reason)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        id,
        kind.as_str(),
        article.0,
        revision,
        previous,
        format_time(now),
        diff.map(|d| d.unified.as_str()),
        diff.map(|d| to_sql_int(d.words_added)),
        diff.map(|d| to_sql_int(d.words_removed)),
        diff.map(|d| d.title_changed),
        reason
    ])?;
    let mut delivery = tx.prepare_cached(
        "INSERT INTO deliveries (alert_id, sink, status, attempts, next_attempt_at)
         VALUES (?1, ?2, 'pending', 0, ?3)",
    )?;
    for sink in sinks.iter().filter(|s| s.kinds.contains(&kind)) {
        delivery.execute(params![id, sink.name, format_time(now)])?;
    }
    Ok(())
}
