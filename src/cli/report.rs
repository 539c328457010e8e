//! `report` and `export`: the review outputs, written to standard output for a file or a
//! pipe. Both open the database read-only, so they work beside a running daemon; the store
//! reads the rows and the views ([`crate::report`], [`crate::alert::atom`]) render them.

use std::io::Write as _;
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::Subcommand;

use super::EXIT_FAILURE;
use crate::config::Config;
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
pub(super) fn report(config: &Config, article: i64) -> ExitCode {
    let id = ArticleId(article);
    let story = Reader::open(&config.database).and_then(|reader| {
        let Some(info) = reader.article(id)? else {
            return Ok(None);
        };
        Ok(Some((info, reader.revisions(id)?)))
    });
    match story {
        Ok(Some((info, revisions))) => {
            write_out(&crate::report::render_story(&info, &revisions, Utc::now()))
        }
        Ok(None) => {
            eprintln!(
                "storywatch: no article {article} in {}",
                config.database.display()
            );
            ExitCode::from(EXIT_FAILURE)
        }
        Err(error) => {
            eprintln!("storywatch: {error}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

/// `export FORMAT`: recent alerts for other programs.
pub(super) fn export(config: &Config, format: ExportFormat) -> ExitCode {
    let ExportFormat::Atom { since } = format;
    // With a start date, every alert since then; without, the newest few, as a feed holds.
    let limit = since
        .is_none()
        .then_some(crate::alert::atom::DEFAULT_ENTRIES);
    let read = Reader::open(&config.database)
        .and_then(|reader| Ok((reader.recent_alerts(since, limit)?, reader.created_at()?)));
    match read {
        Ok((alerts, created)) => {
            let id = crate::alert::atom::feed_id(created.as_deref().unwrap_or_default());
            write_out(&crate::alert::atom::render_feed(&alerts, &id, Utc::now()))
        }
        Err(error) => {
            eprintln!("storywatch: {error}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

/// Writes a document to standard output. A reader that goes away early (`| head`) is not an
/// error of ours: the exit is quiet.
fn write_out(document: &str) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(document.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("storywatch: cannot write to standard output: {error}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}
