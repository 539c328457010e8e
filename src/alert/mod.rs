//! Alerts leave the database through sinks.
//!
//! Takes pending deliveries from the store's outbox; gives the alert JSON of DESIGN.md to each
//! sink: the JSON-lines log ([`log`]) and webhooks ([`webhook`]). [`atom`] is a view of the
//! alerts, not a sink: an Atom feed exported on request. Delivery is at least once: a
//! delivery is marked done only after the sink has the alert, and every alert carries a stable
//! `id` for deduplication. It does not decide which alerts exist (the store does).

pub mod atom;
pub mod log;
pub mod webhook;

use serde_json::{Value, json};

use crate::store::PendingAlert;

/// Sink name of the JSON-lines alert log in `deliveries.sink`.
pub const LOG_SINK: &str = "log";

/// Version of the alert JSON format.
pub const FORMAT_VERSION: u32 = 1;

/// Errors of the sinks.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("alert log {path}: {source}")]
    Log {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] crate::store::Error),
}

/// The alert JSON of DESIGN.md: the alert log's line and the webhook body.
pub fn alert_json(alert: &PendingAlert) -> Value {
    let mut value = json!({
        "version": FORMAT_VERSION,
        "id": alert.id,
        "kind": alert.kind.as_str(),
        "created_at": alert.created_at,
        "article": {
            "id": alert.article_id,
            "title": alert.title,
            "url": alert.url,
            "feed": alert.feed,
            "published_at": alert.published_at,
            "matched_terms": alert.matched_terms,
        },
        "revision": alert.revision,
        "previous_revision": alert.previous_revision,
        "body_kind": alert.body_kind.as_str(),
    });
    if let (Some(reason), Some(map)) = (&alert.reason, value.as_object_mut()) {
        map.insert("reason".into(), json!(reason));
    }
    if let (Some(diff), Some(map)) = (&alert.diff, value.as_object_mut()) {
        map.insert(
            "diff".into(),
            json!({
                "unified": diff.unified,
                "words_added": diff.words_added,
                "words_removed": diff.words_removed,
                "title_changed": diff.title_changed,
            }),
        );
    }
    value
}
