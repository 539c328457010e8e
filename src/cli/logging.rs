//! Logging to stderr through tracing-subscriber: plain text for people, JSON for log shippers,
//! and, when journald reads stderr (`JOURNAL_STREAM` is set), lines without timestamps or
//! colours (journald adds its own) that start with the syslog priority of their level
//! (`<3>` error, `<4>` warn, `<6>` info, `<7>` debug), so `journalctl -p warning` works.
//! sd-daemon(3) documents the prefix.

use std::fmt;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::{self, FormatEvent, FormatFields};
use tracing_subscriber::fmt::{FmtContext, format::Writer};
use tracing_subscriber::registry::LookupSpan;

/// Log format on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Sets the global subscriber. The level comes from `RUST_LOG`, else `level` (the config's).
pub fn init(format: LogFormat, level: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let journald = std::env::var_os("JOURNAL_STREAM").is_some();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match (format, journald) {
        (LogFormat::Json, _) => builder.json().try_init(),
        (LogFormat::Text, true) => builder
            .with_ansi(false)
            .event_format(Journald(
                format::Format::default()
                    .without_time()
                    .with_level(false)
                    .with_ansi(false),
            ))
            .try_init(),
        (LogFormat::Text, false) => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init(),
    };
    // Err only when a subscriber is already set: keep that one.
    drop(result);
}

/// Prefixes each line with the syslog priority of its level.
struct Journald<F>(F);

impl<S, N, F> FormatEvent<S, N> for Journald<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        writer.write_str(priority(*event.metadata().level()))?;
        self.0.format_event(ctx, writer, event)
    }
}

fn priority(level: Level) -> &'static str {
    match level {
        Level::ERROR => "<3>",
        Level::WARN => "<4>",
        Level::INFO => "<6>",
        _ => "<7>",
    }
}
