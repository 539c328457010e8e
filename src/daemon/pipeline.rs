//! One feed, top to bottom: fetch, parse and normalize, topic, store. The only place that
//! knows the order of the stages. A failure of any stage is this feed's failure only: it is
//! recorded in `fetches` and `feeds.last_error`, the feed is backed off, and the caller goes on.

use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;

use super::Context;
use super::scheduler;
use crate::config::FeedConfig;
use crate::fetch::{Fetched, Validators};
use crate::model::FilterMode;
use crate::store::{self, Candidate, FeedState, FeedWrite, FetchRecord, patience};

/// What one poll of one feed came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// `304 Not Modified`, or a 200 with the very body stored last time.
    NotModified,
    Updated {
        items: u64,
        new_articles: u64,
        changed_articles: u64,
    },
    Failed(String),
}

/// Errors that stop a feed's poll from being recorded at all: only the database.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] store::Error),
    #[error("a parse task stopped unexpectedly: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Polls one feed and records the result.
pub async fn poll_feed(
    ctx: Arc<Context>,
    feed: FeedState,
    config: FeedConfig,
) -> Result<Outcome, Error> {
    let started_at = Utc::now();
    let clock = Instant::now();
    let interval = config.interval(&ctx.config.poll);
    let validators = Validators {
        etag: feed.etag.clone(),
        last_modified: feed.last_modified.clone(),
    };
    let fetched = ctx.fetcher.fetch_feed(&config.url, &validators).await;
    let mut record = FetchRecord {
        started_at,
        ..FetchRecord::default()
    };

    let (status, body, charset, validators) = match fetched {
        Ok(Fetched::NotModified) => {
            record.http_status = Some(304);
            record.duration_ms = elapsed_ms(clock);
            let next =
                scheduler::next_after_success(Utc::now(), interval, scheduler::sample_jitter());
            patience::write(&ctx.store, &ctx.db_health, move |s| {
                s.record_not_modified(feed.id, &record, None, next)
            })
            .await?;
            return Ok(Outcome::NotModified);
        }
        Ok(Fetched::Body {
            status,
            body,
            charset,
            validators,
            ..
        }) => (status, body, charset, validators),
        Err(error) => {
            record.http_status = error.status();
            let message = error.to_string();
            let retry_after = error.retry_after();
            return record_failure(&ctx, feed, record, clock, interval, message, retry_after).await;
        }
    };
    record.http_status = Some(status);
    record.bytes = Some(body.len() as u64);

    // Hashing, parsing, normalizing and matching are CPU work: keep them off the async
    // workers.
    let url = config.url.clone();
    let topic = Arc::clone(&ctx.topic);
    let filter = config.filter;
    let stored_digest = feed.body_hash.clone();
    let (digest, parsed) = tokio::task::spawn_blocking(move || {
        // Many servers ignore validators and send the same bytes again: those bytes would
        // parse to the very items stored last time, so they are not parsed.
        let digest = crate::feed::body_digest(&body);
        if stored_digest.as_deref() == Some(digest.as_str()) {
            return (digest, None);
        }
        let parsed =
            crate::feed::parse_feed(&body, charset.as_deref(), &url, Utc::now()).map(|parsed| {
                let candidates = parsed
                    .items
                    .into_iter()
                    .map(|item| {
                        let verdict = topic.evaluate(&item.title, &item.body);
                        Candidate {
                            relevant: filter == FilterMode::None || verdict.relevant,
                            matched_terms: verdict.matched_terms,
                            score: verdict.score,
                            item,
                        }
                    })
                    .collect::<Vec<_>>();
                (candidates, parsed.recovery)
            });
        (digest, Some(parsed))
    })
    .await?;
    let candidates = match parsed {
        None => {
            record.duration_ms = elapsed_ms(clock);
            let next =
                scheduler::next_after_success(Utc::now(), interval, scheduler::sample_jitter());
            let validators = Some((validators.etag, validators.last_modified));
            patience::write(&ctx.store, &ctx.db_health, move |s| {
                s.record_not_modified(feed.id, &record, validators.clone(), next)
            })
            .await?;
            return Ok(Outcome::NotModified);
        }
        Some(Ok((candidates, recovery))) => {
            if let Some(recovery) = recovery {
                // A panic inside feed-rs is its bug, which deserves a warning each time;
                // a document it rejects is the publisher's, and read liberally all the same.
                if recovery.panicked {
                    tracing::warn!(feed = %config.name, url = %config.url, cause = %recovery.cause,
                        "feed-rs failed on this feed with an internal error; read it with the liberal reader");
                } else {
                    tracing::debug!(feed = %config.name, url = %config.url, cause = %recovery.cause,
                        "read with the liberal reader");
                }
            }
            candidates
        }
        Some(Err(error)) => {
            let message = format!("{}: {error}", config.url);
            return record_failure(&ctx, feed, record, clock, interval, message, None).await;
        }
    };

    record.items = Some(candidates.len() as u64);
    record.duration_ms = elapsed_ms(clock);
    let next = scheduler::next_after_success(Utc::now(), interval, scheduler::sample_jitter());
    let items = candidates.len() as u64;
    let sinks = Arc::clone(&ctx.sinks);
    let min_words_changed = ctx.config.alerts.min_words_changed;
    let track_pages = ctx.config.pages.enabled && config.pages;
    // The write is retried as it is while the database is locked or the disk full: the
    // candidates wait in memory, and the feed is not fetched again meanwhile.
    let counts = patience::write(&ctx.store, &ctx.db_health, move |s| {
        let write = FeedWrite {
            feed: feed.id,
            etag: validators.etag.clone(),
            last_modified: validators.last_modified.clone(),
            body_hash: Some(digest.clone()),
            fetch: record.clone(),
            next_poll_at: next,
            candidates: &candidates,
            sinks: &sinks,
            min_words_changed,
            track_pages,
        };
        s.record_feed(&write, Utc::now())
    })
    .await?;
    Ok(Outcome::Updated {
        items,
        new_articles: counts.new_articles,
        changed_articles: counts.changed_articles,
    })
}

async fn record_failure(
    ctx: &Context,
    feed: FeedState,
    mut record: FetchRecord,
    clock: Instant,
    interval: std::time::Duration,
    message: String,
    retry_after: Option<std::time::Duration>,
) -> Result<Outcome, Error> {
    record.duration_ms = elapsed_ms(clock);
    record.error = Some(message.clone());
    let failures = feed.consecutive_failures.saturating_add(1);
    let next = scheduler::next_after_failure(
        Utc::now(),
        interval,
        failures,
        retry_after,
        scheduler::sample_jitter(),
    );
    patience::write(&ctx.store, &ctx.db_health, move |s| {
        s.record_failure(feed.id, &record, next)
    })
    .await?;
    Ok(Outcome::Failed(message))
}

fn elapsed_ms(clock: Instant) -> u64 {
    u64::try_from(clock.elapsed().as_millis()).unwrap_or(u64::MAX)
}
