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
use crate::store::{self, Store};

/// The formats `storywatch export` writes.
#[derive(Debug, Subcommand)]
pub(super) enum ExportFormat {
    /// An Atom feed (RFC 4287) of recent alerts, new and changed, newest first: the last 100,
    /// or all since --since.
    Atom {
        /// Only alerts raised at or after this date (2026-11-28, midnight UTC) or RFC 3339
        /// time (2026-11-28T04:00:00Z).
        #[arg(long, value_name = "DATE", value_parser = parse_since)]
        since: Option<DateTime<Utc>>,
    },
}

fn parse_since(text: &str) -> Result<DateTime<Utc>, String> {
    crate::model::parse_date_or_time(text).ok_or_else(|| {
        "expected a date (2026-11-28) or an RFC 3339 time (2026-11-28T04:00:00Z)".to_owned()
    })
}

/// `report ARTICLE`: the article's HTML page.
pub(super) fn report(config: &Config, article: i64) -> ExitCode {
    let story = Store::open_read_only(&config.database)
        .and_then(|conn| store::load_story(&conn, ArticleId(article)));
    match story {
        Ok(Some(story)) => write_out(&crate::report::render_story(&story, Utc::now())),
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
    let read = Store::open_read_only(&config.database).and_then(|conn| {
        let alerts = store::recent_alerts(&conn, since, limit)?;
        let created = store::database_created_at(&conn)?;
        Ok((alerts, created))
    });
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
