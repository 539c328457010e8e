//! `report` and `export`: the review outputs, written to standard output for a file or a
//! pipe. Both run on the read-only [`Reader`], so they work beside a running daemon; the store
//! reads the rows and the views ([`crate::report`], [`crate::alert::atom`]) render them.

use chrono::{DateTime, Utc};
use clap::Subcommand;

use super::read::{Error, emit};
use crate::model::ArticleId;
use crate::store::Reader;

/// The formats `storywatch export` writes.
#[derive(Debug, Subcommand)]
pub(super) enum ExportFormat {
    /// An Atom feed (RFC 4287) of recent alerts, new and changed, newest first: the last 100,
    /// or all since --since.
    Atom {
        /// Only alerts raised since DATE: 2026-11-28 (midnight UTC), an RFC 3339 time
        /// (2026-11-28T04:00:00Z), today, or a time ago (24h, 7d).
        #[arg(long, value_name = "DATE", value_parser = parse_since)]
        since: Option<DateTime<Utc>>,
    },
}

fn parse_since(text: &str) -> Result<DateTime<Utc>, String> {
    crate::model::parse_since(text, Utc::now())
}

/// `report ARTICLE`: the article's HTML page.
pub(super) fn report(reader: &Reader, id: ArticleId) -> Result<(), Error> {
    let info = reader.article(id)?.ok_or(Error::NoArticle(id))?;
    let revisions = reader.revisions(id)?;
    emit(&crate::report::render_story(&info, &revisions, Utc::now()))
}

/// `export FORMAT`: recent alerts for other programs.
pub(super) fn export(reader: &Reader, format: ExportFormat) -> Result<(), Error> {
    let ExportFormat::Atom { since } = format;
    // With a start date, every alert since then; without, the newest few, as a feed holds.
    let limit = since
        .is_none()
        .then_some(crate::alert::atom::DEFAULT_ENTRIES);
    let alerts = reader.recent_alerts(since, limit)?;
    let id = crate::alert::atom::feed_id(reader.created_at()?.as_deref().unwrap_or_default());
    emit(&crate::alert::atom::render_feed(&alerts, &id, Utc::now()))
}
