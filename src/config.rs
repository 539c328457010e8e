//! The config stage: takes a TOML file (the contract in `DESIGN.md`, "Config") and gives a
//! validated [`Config`] with every default filled in.
//!
//! - Durations are human-readable strings (`"15m"`, `"30s"`, `"1h 30m"`); sizes are strings such
//!   as `"10MiB"`, `"512KiB"`, `"1MB"` or `"1000"` (bytes), see [`parse_size`].
//! - Unknown keys, wrong types and malformed values are a [`Error::Parse`] carrying toml's own
//!   message, which names the key, the line and the column.
//! - Values that parse but make no sense (a `ftp://` feed, a duplicate feed, `concurrency = 0`,
//!   a bad duration, …) are an [`Error::Invalid`] naming the file, the line and the key, such as
//!   `poll.interval`, `feed[3].url` or `alerts.webhook[1].secret_file` (`[[feed]]` and
//!   `[[alerts.webhook]]` entries are numbered from 1, in file order).
//!
//! What this stage does not do: it does not read webhook secrets (a webhook only names the
//! variable or file holding its secret), does not create or open the database or the alert log,
//! does not resolve relative paths (they stay relative to the working directory, as written),
//! does not contact any feed, and leaves the built-in topic terms to the topic stage (an absent
//! `[topic] groups` is `None`).

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;
use url::Url;

use crate::model::{AlertKind, FilterMode};

/// Default database file.
pub const DEFAULT_DATABASE: &str = "data/storywatch.db";
/// Default log level when `RUST_LOG` is not set.
pub const DEFAULT_LOG_LEVEL: &str = "info";
/// The log levels `log_level` takes.
pub const LOG_LEVELS: &[&str] = &["error", "warn", "info", "debug", "trace"];
/// Default size of the write-ahead log past which the daemon warns.
pub const DEFAULT_WAL_WARN_SIZE: u64 = 256 * 1024 * 1024;
/// Default alert log (JSON lines).
pub const DEFAULT_ALERT_LOG: &str = "data/alerts.jsonl";
/// Config file used when neither `--config` nor `$STORYWATCH_CONFIG` is given, if it exists.
pub const LOCAL_CONFIG: &str = "config/storywatch.toml";
/// Config file used as the last resort.
pub const SYSTEM_CONFIG: &str = "/etc/storywatch/storywatch.toml";
/// The environment variable naming the config file.
pub const CONFIG_ENV: &str = "STORYWATCH_CONFIG";

/// Why a config could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be read.
    #[error("cannot read config {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file is not valid TOML, has an unknown key, or a value of the wrong type. `message`
    /// is toml's own, naming the key; it is kept to one line, as a log line must be.
    #[error("cannot parse config {}: line {line}, column {column} (`{source_line}`): {message}", path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        /// The offending line, trimmed and cut at 80 characters.
        source_line: String,
        message: String,
    },
    /// A value parsed but is not acceptable.
    #[error("{}:{line}: {key}: {message}", path.display())]
    Invalid {
        path: PathBuf,
        /// 1-based line of the offending value.
        line: usize,
        /// Dotted key, such as `poll.interval` or `feed[2].url`.
        key: String,
        message: String,
    },
}

/// The validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Where it was loaded from.
    pub path: PathBuf,
    /// SQLite database file (default `data/storywatch.db`).
    pub database: PathBuf,
    /// A folder of seed articles besides the built-in ones (default none). It exists when the
    /// config loaded.
    pub seeds: Option<PathBuf>,
    /// Log level when `RUST_LOG` is not set (default `info`).
    pub log_level: String,
    /// Size of the write-ahead log past which the daemon warns (default 256 MiB): a reader
    /// holding a transaction open keeps checkpoints from shrinking it.
    pub wal_warn_size: u64,
    pub poll: Poll,
    pub topic: TopicConfig,
    pub alerts: Alerts,
    pub pages: Pages,
    /// The feeds, in file order. May be empty.
    pub feeds: Vec<FeedConfig>,
}

/// `[poll]`: scheduling and fetching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Poll {
    /// Default interval between polls of a feed (default 15m, at least 1s).
    pub interval: Duration,
    /// Requests in flight at once, over all feeds (default 16).
    pub concurrency: usize,
    /// Requests in flight at once to one host (default 2).
    pub per_host: usize,
    /// Total timeout of one fetch (default 30s).
    pub timeout: Duration,
    /// Connect timeout of one fetch (default 10s).
    pub connect_timeout: Duration,
    /// A body larger than this (also after decompression) is abandoned (default 10 MiB).
    pub max_body: u64,
    /// User-Agent header; `None`: the fetch stage's own.
    pub user_agent: Option<String>,
}

impl Default for Poll {
    fn default() -> Self {
        Poll {
            interval: Duration::from_secs(15 * 60),
            concurrency: 16,
            per_host: 2,
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            max_body: 10 * 1024 * 1024,
            user_agent: None,
        }
    }
}

/// `[pages]`: the article page of every tracked story.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pages {
    /// Whether pages are fetched at all (default true); a feed may opt out with `pages = false`.
    pub enabled: bool,
    /// Ages since an article was first seen at which its page is checked again, strictly
    /// increasing (default 15m, 1h, 3h, 12h, 1d, 3d, 7d, 30d). The page is fetched when the
    /// article is first tracked, then at each age; after the last, no more. May be empty: the
    /// first fetch only.
    pub recheck: Vec<Duration>,
    /// Page fetches in flight at once, a budget apart from the feeds' (default 4).
    pub concurrency: usize,
    /// Total timeout of one page fetch (default 30s).
    pub timeout: Duration,
    /// A page larger than this (also after decompression) is abandoned (default 5 MiB).
    pub max_body: u64,
    /// Whether robots.txt is honoured (default true).
    pub robots: bool,
    /// Whether each page revision's HTML is kept too, compressed (default false).
    pub keep_html: bool,
}

/// The default page schedule: ages since first seen.
pub fn default_recheck() -> Vec<Duration> {
    [
        15 * 60,
        3600,
        3 * 3600,
        12 * 3600,
        86_400,
        3 * 86_400,
        7 * 86_400,
        30 * 86_400,
    ]
    .into_iter()
    .map(Duration::from_secs)
    .collect()
}

impl Default for Pages {
    fn default() -> Self {
        Pages {
            enabled: true,
            recheck: default_recheck(),
            concurrency: 4,
            timeout: Duration::from_secs(30),
            max_body: 5 * 1024 * 1024,
            robots: true,
            keep_html: false,
        }
    }
}

/// `[topic]`: which items are relevant.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicConfig {
    /// Group name → terms; a story must be about every group. `None`: the topic stage's
    /// built-in groups. Never `Some` of an empty map, nor a group without terms, nor an empty
    /// term.
    pub groups: Option<BTreeMap<String, Vec<String>>>,
    /// Terms added to groups (built-in or configured) by name.
    pub extra: BTreeMap<String, Vec<String>>,
    /// Exclusion terms, added to the built-in ones.
    pub exclude: Vec<String>,
    /// Score from which a story is relevant, in (0, 1] (default 1).
    pub threshold: f64,
}

impl Default for TopicConfig {
    fn default() -> TopicConfig {
        TopicConfig {
            groups: None,
            extra: BTreeMap::new(),
            exclude: Vec::new(),
            threshold: crate::topic::DEFAULT_THRESHOLD,
        }
    }
}

/// `[alerts]`: the alert log and the webhooks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alerts {
    /// JSON-lines alert log (default `data/alerts.jsonl`); `None` when disabled with
    /// `log = false` or `log = ""`.
    pub log: Option<PathBuf>,
    /// A change of fewer words than this (and no title change) raises no alert (default 1).
    pub min_words_changed: u32,
    /// `[[alerts.webhook]]` entries, in file order.
    pub webhooks: Vec<Webhook>,
}

impl Default for Alerts {
    fn default() -> Self {
        Alerts {
            log: Some(PathBuf::from(DEFAULT_ALERT_LOG)),
            min_words_changed: 1,
            webhooks: Vec::new(),
        }
    }
}

/// One `[[alerts.webhook]]`. Its `Debug` shows only the URL's scheme and host: Slack and
/// Discord put a token in the path.
#[derive(Clone, PartialEq, Eq)]
pub struct Webhook {
    /// http or https endpoint. May itself be a secret (Slack and Discord put a token in it), so
    /// [`Config::describe`] shows only its scheme and host.
    pub url: Url,
    /// Environment variable holding the signing secret (never both this and `secret_file`).
    pub secret_env: Option<String>,
    /// File holding the signing secret.
    pub secret_file: Option<PathBuf>,
    /// Body format (default json).
    pub format: WebhookFormat,
    /// Which alerts this endpoint gets (default all), without duplicates, never empty.
    pub kinds: Vec<AlertKind>,
    /// Timeout of one delivery attempt (default 15s).
    pub timeout: Duration,
    /// Waits between attempts; after the last the delivery is `failed`. Never empty.
    /// Default 5s, 5m, 30m, 2h, 5h, 10h, 10h.
    pub retry: Vec<Duration>,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field(
                "url",
                &format!(
                    "{}://{}/…",
                    self.url.scheme(),
                    self.url.host_str().unwrap_or("")
                ),
            )
            .field("secret_env", &self.secret_env)
            .field("secret_file", &self.secret_file)
            .field("format", &self.format)
            .field("kinds", &self.kinds)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .finish()
    }
}

/// The default webhook retry schedule.
pub fn default_retry() -> Vec<Duration> {
    [5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600]
        .into_iter()
        .map(Duration::from_secs)
        .collect()
}

/// How a webhook body is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebhookFormat {
    /// The alert JSON, signed per Standard Webhooks.
    #[default]
    Json,
    /// A short Slack message with a link.
    Slack,
    /// A short Discord message with a link.
    Discord,
}

impl WebhookFormat {
    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookFormat::Json => "json",
            WebhookFormat::Slack => "slack",
            WebhookFormat::Discord => "discord",
        }
    }
}

/// One `[[feed]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedConfig {
    /// Display name, trimmed, unique, not empty.
    pub name: String,
    /// http or https, unique.
    pub url: Url,
    /// Own poll interval; `None`: `poll.interval`.
    pub interval: Option<Duration>,
    pub filter: FilterMode,
    /// Whether the pages of this feed's articles are fetched (default true; `[pages] enabled`
    /// must be true too).
    pub pages: bool,
}

impl FeedConfig {
    /// This feed's poll interval: its own, else the `[poll]` default.
    pub fn interval(&self, poll: &Poll) -> Duration {
        self.interval.unwrap_or(poll.interval)
    }
}

/// Reads and validates the config file at `path`.
pub fn load(path: &Path) -> Result<Config, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text, path)
}

/// Parses and validates config text; `path` is recorded in the [`Config`] and in errors.
pub fn parse(text: &str, path: &Path) -> Result<Config, Error> {
    let ctx = Ctx { text, path };
    let raw: RawConfig = toml::from_str(text).map_err(|e| {
        let start = e.span().map_or(0, |span| span.start);
        // Spans fall on character boundaries; `get` keeps a surprise from panicking.
        let before = text.get(..start).unwrap_or(text);
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Error::Parse {
            path: path.to_path_buf(),
            line: ctx.line(&(start..start)),
            column: before[line_start..].chars().count() + 1,
            source_line: text[line_start..]
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .chars()
                .take(80)
                .collect(),
            message: e.message().split_whitespace().collect::<Vec<_>>().join(" "),
        }
    })?;
    ctx.build(raw)
}

/// Which config file to use: `--config`, else `$STORYWATCH_CONFIG` (when set and not empty),
/// else `config/storywatch.toml` if it exists, else `/etc/storywatch/storywatch.toml`.
pub fn locate(cli: Option<&Path>, env: Option<&OsStr>) -> PathBuf {
    locate_with(cli, env, |p| p.exists())
}

fn locate_with(cli: Option<&Path>, env: Option<&OsStr>, exists: impl Fn(&Path) -> bool) -> PathBuf {
    if let Some(p) = cli {
        return p.to_path_buf();
    }
    if let Some(e) = env.filter(|e| !e.is_empty()) {
        return PathBuf::from(e);
    }
    let local = Path::new(LOCAL_CONFIG);
    if exists(local) {
        local.to_path_buf()
    } else {
        PathBuf::from(SYSTEM_CONFIG)
    }
}

/// Parses a size: a whole number with an optional unit, case-insensitive, the `B` optional:
/// `B` (bytes), `KiB`/`MiB`/`GiB` (1024-based), `KB`/`MB`/`GB` (1000-based). Whitespace may
/// separate number and unit. `"10MiB"` = 10485760, `"1MB"` = 1000000, `"512"` = 512.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let digits = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(digits);
    if number.is_empty() {
        return Err(format!(
            "`{s}` is not a size (expected a whole number and an optional unit, such as \"10MiB\", \"512KiB\", \"1MB\" or \"1000\")"
        ));
    }
    let unit = unit.trim_start().to_ascii_lowercase();
    let unit = unit.strip_suffix('b').unwrap_or(&unit);
    let factor: u64 = match unit {
        "" => 1,
        "k" => 1_000,
        "m" => 1_000_000,
        "g" => 1_000_000_000,
        "ki" => 1 << 10,
        "mi" => 1 << 20,
        "gi" => 1 << 30,
        _ => {
            return Err(format!(
                "`{s}` has an unknown size unit (expected B, KiB, MiB, GiB, KB, MB or GB)"
            ));
        }
    };
    number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(factor))
        .ok_or_else(|| format!("`{s}` is too large"))
}

/// Formats a size as `10 MiB` when it is a whole number of KiB/MiB/GiB, else in bytes.
pub fn format_size(n: u64) -> String {
    for (bits, unit) in [(30u32, "GiB"), (20, "MiB"), (10, "KiB")] {
        if n != 0 && n.trailing_zeros() >= bits {
            return format!("{} {unit}", n >> bits);
        }
    }
    format!("{n} B")
}

/// `s` as a TOML string, quoted and escaped, for writing config text (`name = "…"`).
pub fn quote(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

impl Config {
    /// The resolved settings and feeds, as `storywatch check` prints them: human readable,
    /// aligned, every default shown. Secrets are never printed: a webhook shows the name of its
    /// secret's variable or file and only the scheme and host of its URL; a URL password is
    /// masked.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        let d = |d: Duration| humantime::format_duration(d).to_string();
        let kv = |out: &mut String, k: &str, v: &str| {
            let _ = writeln!(out, "  {k:<18} {v}");
        };

        let _ = writeln!(out, "config {}", self.path.display());
        kv(&mut out, "database", &self.database.display().to_string());
        let seeds = match &self.seeds {
            Some(dir) => format!("built in, and {}", dir.display()),
            None => "built in".to_owned(),
        };
        kv(&mut out, "seeds", &seeds);
        kv(&mut out, "log_level", &self.log_level);
        kv(&mut out, "wal_warn_size", &format_size(self.wal_warn_size));

        out.push_str("\n[poll]\n");
        let p = &self.poll;
        kv(&mut out, "interval", &d(p.interval));
        kv(&mut out, "concurrency", &p.concurrency.to_string());
        kv(&mut out, "per_host", &p.per_host.to_string());
        kv(&mut out, "timeout", &d(p.timeout));
        kv(&mut out, "connect_timeout", &d(p.connect_timeout));
        kv(
            &mut out,
            "max_body",
            &format!("{} ({} bytes)", format_size(p.max_body), p.max_body),
        );
        kv(
            &mut out,
            "user_agent",
            p.user_agent.as_deref().unwrap_or("(built-in)"),
        );

        out.push_str("\n[topic]\n");
        match &self.topic.groups {
            None => kv(
                &mut out,
                "groups",
                "built-in defaults (DPRK and Russia terms in English, Korean and Russian)",
            ),
            Some(groups) => {
                for (name, terms) in groups {
                    kv(&mut out, name, &terms.join(", "));
                }
            }
        }
        for (name, terms) in &self.topic.extra {
            kv(&mut out, &format!("extra.{name}"), &terms.join(", "));
        }
        if !self.topic.exclude.is_empty() {
            kv(&mut out, "exclude", &self.topic.exclude.join(", "));
        }
        kv(
            &mut out,
            "threshold",
            &format!(
                "{} (a story must be about every group)",
                self.topic.threshold
            ),
        );

        out.push_str("\n[pages]\n");
        let pg = &self.pages;
        kv(&mut out, "enabled", &pg.enabled.to_string());
        let recheck: Vec<String> = pg.recheck.iter().map(|r| d(*r)).collect();
        kv(
            &mut out,
            "recheck",
            &if recheck.is_empty() {
                "none (the first fetch only)".to_owned()
            } else {
                format!("{} (ages since first seen)", recheck.join(", "))
            },
        );
        kv(&mut out, "concurrency", &pg.concurrency.to_string());
        kv(&mut out, "timeout", &d(pg.timeout));
        kv(
            &mut out,
            "max_body",
            &format!("{} ({} bytes)", format_size(pg.max_body), pg.max_body),
        );
        kv(&mut out, "robots", &pg.robots.to_string());
        kv(&mut out, "keep_html", &pg.keep_html.to_string());

        out.push_str("\n[alerts]\n");
        let a = &self.alerts;
        kv(
            &mut out,
            "log",
            &a.log
                .as_ref()
                .map_or("(disabled)".to_owned(), |l| l.display().to_string()),
        );
        kv(
            &mut out,
            "min_words_changed",
            &a.min_words_changed.to_string(),
        );
        if a.webhooks.is_empty() {
            kv(&mut out, "webhooks", "none");
        }
        for (i, w) in a.webhooks.iter().enumerate() {
            let _ = writeln!(out, "  webhook {}", i + 1);
            let kv = |out: &mut String, k: &str, v: &str| {
                let _ = writeln!(out, "    {k:<16} {v}");
            };
            kv(&mut out, "url", &redacted_webhook_url(&w.url));
            let secret = match (&w.secret_env, &w.secret_file) {
                (Some(env), _) => format!("from environment variable {env}"),
                (None, Some(file)) => format!("from file {}", file.display()),
                (None, None) => "none (unsigned)".to_owned(),
            };
            kv(&mut out, "secret", &secret);
            kv(&mut out, "format", w.format.as_str());
            let kinds: Vec<&str> = w.kinds.iter().map(|k| k.as_str()).collect();
            kv(&mut out, "kinds", &kinds.join(", "));
            kv(&mut out, "timeout", &d(w.timeout));
            let retry: Vec<String> = w.retry.iter().map(|r| d(*r)).collect();
            kv(
                &mut out,
                "retry",
                &format!(
                    "{} ({} attempts, then failed)",
                    retry.join(", "),
                    w.retry.len() + 1
                ),
            );
        }

        if self.feeds.is_empty() {
            out.push_str("\nfeeds: none configured (nothing will be polled)\n");
            return out;
        }
        let _ = writeln!(out, "\nfeeds ({})", self.feeds.len());
        let rows: Vec<[String; 5]> = self
            .feeds
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let interval = match f.interval {
                    Some(i) => d(i),
                    None => format!("{} (default)", d(self.poll.interval)),
                };
                let mut filter = match f.filter {
                    FilterMode::Topic => "topic",
                    FilterMode::None => "none",
                }
                .to_owned();
                if !f.pages {
                    filter.push_str(", no pages");
                }
                [
                    (i + 1).to_string(),
                    f.name.clone(),
                    interval,
                    filter,
                    redacted_password(&f.url),
                ]
            })
            .collect();
        let header = ["#", "NAME", "INTERVAL", "FILTER", "URL"];
        let mut widths = header.map(width);
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(width(cell));
            }
        }
        let mut line = |cells: [&str; 5]| {
            let mut l = String::from("  ");
            for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
                if i == 4 {
                    l.push_str(cell);
                } else {
                    let pad = w - width(cell);
                    l.push_str(cell);
                    l.push_str(&" ".repeat(pad + 2));
                }
            }
            out.push_str(l.trim_end());
            out.push('\n');
        };
        line(header);
        for row in &rows {
            line([&row[0], &row[1], &row[2], &row[3], &row[4]]);
        }
        out
    }
}

/// Terminal columns of `s`: East Asian wide characters (Hangul, CJK, full-width forms) take
/// two, so a table with Korean feed names stays aligned.
fn width(s: &str) -> usize {
    s.chars()
        .map(|c| match u32::from(c) {
            0x1100..=0x115F
            | 0x2E80..=0x303E
            | 0x3041..=0x33FF
            | 0x3400..=0x4DBF
            | 0x4E00..=0x9FFF
            | 0xA000..=0xA4CF
            | 0xAC00..=0xD7A3
            | 0xF900..=0xFAFF
            | 0xFE30..=0xFE4F
            | 0xFF00..=0xFF60
            | 0xFFE0..=0xFFE6
            | 0x20000..=0x3FFFD => 2,
            _ => 1,
        })
        .sum()
}

/// A webhook URL may carry a token in its path or query (Slack, Discord): show scheme and host.
fn redacted_webhook_url(url: &Url) -> String {
    let mut s = format!("{}://{}", url.scheme(), url.host_str().unwrap_or(""));
    if let Some(port) = url.port() {
        let _ = write!(s, ":{port}");
    }
    if url.path() != "/" || url.query().is_some() {
        s.push_str("/… (path hidden)");
    }
    s
}

/// A URL with any password replaced by `***`.
fn redacted_password(url: &Url) -> String {
    if url.password().is_some() {
        let mut u = url.clone();
        let _ = u.set_password(Some("***"));
        u.to_string()
    } else {
        url.to_string()
    }
}

// ---------------------------------------------------------------------------------------------
// Raw, as written in the file.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    database: Option<Spanned<PathBuf>>,
    seeds: Option<Spanned<PathBuf>>,
    log_level: Option<Spanned<String>>,
    wal_warn_size: Option<Spanned<RawSize>>,
    #[serde(default)]
    poll: RawPoll,
    #[serde(default)]
    topic: RawTopic,
    #[serde(default)]
    alerts: RawAlerts,
    #[serde(default)]
    pages: RawPages,
    #[serde(default)]
    feed: Vec<RawFeed>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPoll {
    interval: Option<Spanned<String>>,
    concurrency: Option<Spanned<usize>>,
    per_host: Option<Spanned<usize>>,
    timeout: Option<Spanned<String>>,
    connect_timeout: Option<Spanned<String>>,
    max_body: Option<Spanned<RawSize>>,
    user_agent: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPages {
    enabled: Option<bool>,
    recheck: Option<Spanned<Vec<Spanned<String>>>>,
    concurrency: Option<Spanned<usize>>,
    timeout: Option<Spanned<String>>,
    max_body: Option<Spanned<RawSize>>,
    robots: Option<bool>,
    keep_html: Option<bool>,
}

/// A size: a string with a unit, or a bare integer of bytes.
enum RawSize {
    Bytes(u64),
    Text(String),
}

impl<'de> Deserialize<'de> for RawSize {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = RawSize;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a size such as \"10MiB\", \"512KiB\", \"1MB\" or a number of bytes")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<RawSize, E> {
                Ok(RawSize::Bytes(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<RawSize, E> {
                u64::try_from(v)
                    .map(RawSize::Bytes)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(v), &self))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawSize, E> {
                Ok(RawSize::Text(v.to_owned()))
            }
        }
        d.deserialize_any(V)
    }
}

/// Group name → terms, each with its place in the file.
type RawGroups = BTreeMap<String, Spanned<Vec<Spanned<String>>>>;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTopic {
    groups: Option<Spanned<RawGroups>>,
    extra: Option<Spanned<RawGroups>>,
    exclude: Option<Spanned<Vec<Spanned<String>>>>,
    threshold: Option<Spanned<f64>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAlerts {
    log: Option<Spanned<RawLog>>,
    min_words_changed: Option<u32>,
    #[serde(default)]
    webhook: Vec<RawWebhook>,
}

/// `log = "path"`, or `log = false` to disable (`log = true`: the default path).
enum RawLog {
    Enabled(bool),
    Path(PathBuf),
}

impl<'de> Deserialize<'de> for RawLog {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = RawLog;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a file path, or false to disable the alert log")
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<RawLog, E> {
                Ok(RawLog::Enabled(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawLog, E> {
                Ok(RawLog::Path(PathBuf::from(v)))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebhook {
    url: Spanned<String>,
    secret_env: Option<Spanned<String>>,
    secret_file: Option<Spanned<PathBuf>>,
    #[serde(default)]
    format: WebhookFormat,
    kinds: Option<Spanned<Vec<AlertKind>>>,
    timeout: Option<Spanned<String>>,
    retry: Option<Spanned<Vec<Spanned<String>>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFeed {
    name: Spanned<String>,
    url: Spanned<String>,
    interval: Option<Spanned<String>>,
    #[serde(default)]
    filter: FilterMode,
    pages: Option<bool>,
}

// ---------------------------------------------------------------------------------------------
// Validation.

struct Ctx<'a> {
    text: &'a str,
    path: &'a Path,
}

impl Ctx<'_> {
    fn line(&self, span: &Range<usize>) -> usize {
        let end = span.start.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1
    }

    fn invalid(&self, span: &Range<usize>, key: &str, message: impl Into<String>) -> Error {
        Error::Invalid {
            path: self.path.to_path_buf(),
            line: self.line(span),
            key: key.to_owned(),
            message: message.into(),
        }
    }

    fn duration(&self, v: &Spanned<String>, key: &str) -> Result<Duration, Error> {
        humantime::parse_duration(v.get_ref().trim()).map_err(|e| {
            self.invalid(
                &v.span(),
                key,
                format!(
                    "`{}` is not a duration ({e}); write e.g. \"30s\", \"15m\", \"1h 30m\"",
                    v.get_ref()
                ),
            )
        })
    }

    /// A duration that must not be zero.
    fn positive(&self, v: &Spanned<String>, key: &str) -> Result<Duration, Error> {
        let d = self.duration(v, key)?;
        if d.is_zero() {
            return Err(self.invalid(&v.span(), key, "must be greater than zero"));
        }
        Ok(d)
    }

    /// A poll interval: at least one second.
    fn interval(&self, v: &Spanned<String>, key: &str) -> Result<Duration, Error> {
        let d = self.duration(v, key)?;
        if d < Duration::from_secs(1) {
            return Err(self.invalid(&v.span(), key, "must be at least 1s"));
        }
        Ok(d)
    }

    fn http_url(&self, v: &Spanned<String>, key: &str) -> Result<Url, Error> {
        let url = Url::parse(v.get_ref().trim()).map_err(|e| {
            self.invalid(
                &v.span(),
                key,
                format!("`{}` is not a URL: {e}", v.get_ref()),
            )
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
            return Err(self.invalid(
                &v.span(),
                key,
                format!("`{}` is not an http or https URL", v.get_ref()),
            ));
        }
        Ok(url)
    }

    fn path(
        &self,
        v: Option<Spanned<PathBuf>>,
        key: &str,
        default: &str,
    ) -> Result<PathBuf, Error> {
        match v {
            None => Ok(PathBuf::from(default)),
            Some(v) if v.get_ref().as_os_str().is_empty() => {
                Err(self.invalid(&v.span(), key, "must not be empty"))
            }
            Some(v) => Ok(v.into_inner()),
        }
    }

    /// The optional folder of extra seeds: named, it must be a folder that exists, or its
    /// seeds would be missing without a word.
    fn seeds(&self, v: Option<Spanned<PathBuf>>) -> Result<Option<PathBuf>, Error> {
        let Some(v) = v else {
            return Ok(None);
        };
        let span = v.span();
        let dir = self.path(Some(v), "seeds", "")?;
        if dir.is_dir() {
            return Ok(Some(dir));
        }
        let shown = std::path::absolute(&dir).unwrap_or_else(|_| dir.clone());
        let what = if dir.exists() {
            "is not a folder"
        } else {
            "does not exist"
        };
        Err(self.invalid(
            &span,
            "seeds",
            format!(
                "{} {what} (a relative path is taken from the working directory); the \
                 built-in seed needs no folder, so remove the key or create the folder",
                shown.display()
            ),
        ))
    }

    /// A size that must not be zero.
    fn size(&self, v: &Spanned<RawSize>, key: &str) -> Result<u64, Error> {
        let n = match v.get_ref() {
            RawSize::Bytes(n) => *n,
            RawSize::Text(s) => parse_size(s).map_err(|m| self.invalid(&v.span(), key, m))?,
        };
        if n == 0 {
            return Err(self.invalid(&v.span(), key, "must be greater than zero"));
        }
        Ok(n)
    }

    fn log_level(&self, v: Option<Spanned<String>>) -> Result<String, Error> {
        let Some(v) = v else {
            return Ok(DEFAULT_LOG_LEVEL.to_owned());
        };
        let level = v.get_ref().trim().to_ascii_lowercase();
        if !LOG_LEVELS.contains(&level.as_str()) {
            return Err(self.invalid(
                &v.span(),
                "log_level",
                format!("`{}` is not one of {}", v.get_ref(), LOG_LEVELS.join(", ")),
            ));
        }
        Ok(level)
    }

    fn build(&self, raw: RawConfig) -> Result<Config, Error> {
        Ok(Config {
            path: self.path.to_path_buf(),
            database: self.path(raw.database, "database", DEFAULT_DATABASE)?,
            seeds: self.seeds(raw.seeds)?,
            log_level: self.log_level(raw.log_level)?,
            wal_warn_size: match &raw.wal_warn_size {
                Some(v) => self.size(v, "wal_warn_size")?,
                None => DEFAULT_WAL_WARN_SIZE,
            },
            poll: self.poll(raw.poll)?,
            topic: self.topic(raw.topic)?,
            alerts: self.alerts(raw.alerts)?,
            pages: self.pages(raw.pages)?,
            feeds: self.feeds(raw.feed)?,
        })
    }

    fn poll(&self, raw: RawPoll) -> Result<Poll, Error> {
        let mut poll = Poll::default();
        if let Some(v) = &raw.interval {
            poll.interval = self.interval(v, "poll.interval")?;
        }
        for (v, key, slot) in [
            (&raw.concurrency, "poll.concurrency", &mut poll.concurrency),
            (&raw.per_host, "poll.per_host", &mut poll.per_host),
        ] {
            if let Some(v) = v {
                if *v.get_ref() == 0 {
                    return Err(self.invalid(&v.span(), key, "must be at least 1"));
                }
                *slot = *v.get_ref();
            }
        }
        if let Some(v) = &raw.timeout {
            poll.timeout = self.positive(v, "poll.timeout")?;
        }
        if let Some(v) = &raw.connect_timeout {
            poll.connect_timeout = self.positive(v, "poll.connect_timeout")?;
        }
        if let Some(v) = &raw.max_body {
            poll.max_body = self.size(v, "poll.max_body")?;
        }
        if let Some(v) = raw.user_agent {
            let ua = v.get_ref().trim();
            if ua.is_empty() || ua.chars().any(char::is_control) {
                return Err(self.invalid(
                    &v.span(),
                    "poll.user_agent",
                    "must be non-empty printable text (leave it out for the built-in one)",
                ));
            }
            poll.user_agent = Some(ua.to_owned());
        }
        Ok(poll)
    }

    fn pages(&self, raw: RawPages) -> Result<Pages, Error> {
        let mut pages = Pages::default();
        if let Some(v) = raw.enabled {
            pages.enabled = v;
        }
        if let Some(list) = raw.recheck {
            let mut ages: Vec<Duration> = Vec::with_capacity(list.get_ref().len());
            for (i, v) in list.get_ref().iter().enumerate() {
                let key = format!("pages.recheck[{}]", i + 1);
                let age = self.positive(v, &key)?;
                if let Some(last) = ages.last().filter(|last| **last >= age) {
                    return Err(self.invalid(
                        &v.span(),
                        &key,
                        format!(
                            "ages since first seen must increase: {} does not come after {}",
                            humantime::format_duration(age),
                            humantime::format_duration(*last)
                        ),
                    ));
                }
                ages.push(age);
            }
            pages.recheck = ages;
        }
        if let Some(v) = &raw.concurrency {
            if *v.get_ref() == 0 {
                return Err(self.invalid(
                    &v.span(),
                    "pages.concurrency",
                    "must be at least 1 (set `enabled = false` to fetch no pages)",
                ));
            }
            pages.concurrency = *v.get_ref();
        }
        if let Some(v) = &raw.timeout {
            pages.timeout = self.positive(v, "pages.timeout")?;
        }
        if let Some(v) = &raw.max_body {
            pages.max_body = self.size(v, "pages.max_body")?;
        }
        if let Some(v) = raw.robots {
            pages.robots = v;
        }
        if let Some(v) = raw.keep_html {
            pages.keep_html = v;
        }
        Ok(pages)
    }

    fn topic(&self, raw: RawTopic) -> Result<TopicConfig, Error> {
        let mut topic = TopicConfig::default();
        if let Some(groups) = raw.groups {
            if groups.get_ref().is_empty() {
                return Err(self.invalid(
                    &groups.span(),
                    "topic.groups",
                    "needs at least one group (leave `groups` out for the built-in defaults)",
                ));
            }
            topic.groups = Some(self.term_groups(groups, "topic.groups")?);
        }
        if let Some(extra) = raw.extra {
            let span = extra.span();
            let extra = self.term_groups(extra, "topic.extra")?;
            let known: Vec<String> = match &topic.groups {
                Some(groups) => groups.keys().cloned().collect(),
                None => crate::topic::default_groups().into_keys().collect(),
            };
            if let Some(name) = extra.keys().find(|name| !known.contains(name)) {
                return Err(self.invalid(
                    &span,
                    &format!("topic.extra.{name}"),
                    format!(
                        "there is no topic group {name:?} (groups: {})",
                        known.join(", ")
                    ),
                ));
            }
            topic.extra = extra;
        }
        if let Some(exclude) = raw.exclude {
            topic.exclude = self.terms(exclude.into_inner(), "topic.exclude")?;
        }
        if let Some(threshold) = raw.threshold {
            let t = *threshold.get_ref();
            if !(t > 0.0 && t <= 1.0) {
                return Err(self.invalid(
                    &threshold.span(),
                    "topic.threshold",
                    format!("{t} is not in (0, 1]: 1 needs every group in the title or lede, or three times later; 1/3 accepts a passing mention"),
                ));
            }
            topic.threshold = t;
        }
        Ok(topic)
    }

    /// Validates a table of named term lists (`topic.groups`, `topic.extra`).
    fn term_groups(
        &self,
        groups: Spanned<RawGroups>,
        key: &str,
    ) -> Result<BTreeMap<String, Vec<String>>, Error> {
        let span = groups.span();
        let mut out = BTreeMap::new();
        for (name, terms) in groups.into_inner() {
            if name.trim().is_empty() {
                return Err(self.invalid(&span, key, "a group name is empty"));
            }
            let group_key = format!("{key}.{name}");
            if terms.get_ref().is_empty() {
                return Err(self.invalid(
                    &terms.span(),
                    &group_key,
                    "a group needs at least one term",
                ));
            }
            out.insert(name, self.terms(terms.into_inner(), &group_key)?);
        }
        Ok(out)
    }

    /// Trims terms, drops duplicates, refuses empty ones.
    fn terms(&self, terms: Vec<Spanned<String>>, key: &str) -> Result<Vec<String>, Error> {
        let mut list: Vec<String> = Vec::new();
        for (i, term) in terms.into_iter().enumerate() {
            let t = term.get_ref().trim();
            if t.is_empty() {
                return Err(self.invalid(
                    &term.span(),
                    &format!("{key}[{}]", i + 1),
                    "a term must not be empty",
                ));
            }
            if !list.iter().any(|x| x == t) {
                list.push(t.to_owned());
            }
        }
        Ok(list)
    }

    fn alerts(&self, raw: RawAlerts) -> Result<Alerts, Error> {
        let mut alerts = Alerts::default();
        if let Some(log) = raw.log {
            alerts.log = match log.into_inner() {
                RawLog::Enabled(true) => Some(PathBuf::from(DEFAULT_ALERT_LOG)),
                RawLog::Enabled(false) => None,
                RawLog::Path(p) if p.as_os_str().is_empty() => None,
                RawLog::Path(p) => Some(p),
            };
        }
        if let Some(n) = raw.min_words_changed {
            alerts.min_words_changed = n;
        }
        for (i, w) in raw.webhook.into_iter().enumerate() {
            alerts.webhooks.push(self.webhook(w, i + 1)?);
        }
        Ok(alerts)
    }

    fn webhook(&self, raw: RawWebhook, n: usize) -> Result<Webhook, Error> {
        let key = |k: &str| format!("alerts.webhook[{n}].{k}");
        let url = self.http_url(&raw.url, &key("url"))?;
        if let (Some(_), Some(file)) = (&raw.secret_env, &raw.secret_file) {
            return Err(self.invalid(
                &file.span(),
                &key("secret_file"),
                "set either secret_env or secret_file, not both",
            ));
        }
        let secret_env = match raw.secret_env {
            Some(v) => {
                let name = v.get_ref().trim();
                if name.is_empty() || name.contains(['=', '\0']) {
                    return Err(self.invalid(
                        &v.span(),
                        &key("secret_env"),
                        "must be the name of an environment variable",
                    ));
                }
                Some(name.to_owned())
            }
            None => None,
        };
        let secret_file = match raw.secret_file {
            Some(v) if v.get_ref().as_os_str().is_empty() => {
                return Err(self.invalid(&v.span(), &key("secret_file"), "must not be empty"));
            }
            v => v.map(Spanned::into_inner),
        };
        let kinds = match raw.kinds {
            None => AlertKind::ALL.to_vec(),
            Some(v) => {
                if v.get_ref().is_empty() {
                    return Err(self.invalid(
                        &v.span(),
                        &key("kinds"),
                        "needs at least one of \"new\", \"changed\", \"removed\" (leave it out for all)",
                    ));
                }
                let mut kinds = Vec::new();
                for k in v.into_inner() {
                    if !kinds.contains(&k) {
                        kinds.push(k);
                    }
                }
                kinds
            }
        };
        let timeout = match &raw.timeout {
            Some(v) => self.positive(v, &key("timeout"))?,
            None => Duration::from_secs(15),
        };
        let retry = match raw.retry {
            None => default_retry(),
            Some(list) => {
                if list.get_ref().is_empty() {
                    return Err(self.invalid(
                        &list.span(),
                        &key("retry"),
                        "needs at least one wait (leave it out for the default schedule)",
                    ));
                }
                list.get_ref()
                    .iter()
                    .enumerate()
                    .map(|(i, v)| self.duration(v, &format!("{}[{}]", key("retry"), i + 1)))
                    .collect::<Result<_, _>>()?
            }
        };
        Ok(Webhook {
            url,
            secret_env,
            secret_file,
            format: raw.format,
            kinds,
            timeout,
            retry,
        })
    }

    fn feeds(&self, raw: Vec<RawFeed>) -> Result<Vec<FeedConfig>, Error> {
        let mut names: HashMap<String, usize> = HashMap::new();
        let mut urls: HashMap<Url, usize> = HashMap::new();
        let mut feeds = Vec::with_capacity(raw.len());
        for (i, f) in raw.into_iter().enumerate() {
            let n = i + 1;
            let key = |k: &str| format!("feed[{n}].{k}");
            let name = f.name.get_ref().trim();
            if name.is_empty() {
                return Err(self.invalid(&f.name.span(), &key("name"), "must not be empty"));
            }
            if let Some(first) = names.insert(name.to_owned(), n) {
                return Err(self.invalid(
                    &f.name.span(),
                    &key("name"),
                    format!("duplicate feed name `{name}` (also feed[{first}])"),
                ));
            }
            let url = self.http_url(&f.url, &key("url"))?;
            if let Some(first) = urls.insert(url.clone(), n) {
                return Err(self.invalid(
                    &f.url.span(),
                    &key("url"),
                    format!("duplicate feed url `{url}` (also feed[{first}])"),
                ));
            }
            let interval = match &f.interval {
                Some(v) => Some(self.interval(v, &key("interval"))?),
                None => None,
            };
            feeds.push(FeedConfig {
                name: name.to_owned(),
                url,
                interval,
                filter: f.filter,
                pages: f.pages.unwrap_or(true),
            });
        }
        Ok(feeds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Result<Config, Error> {
        parse(text, Path::new("test.toml"))
    }

    fn ok(text: &str) -> Config {
        match p(text) {
            Ok(c) => c,
            Err(e) => panic!("expected ok, got: {e}\n---\n{text}"),
        }
    }

    /// Asserts an `Invalid` error with this key and line.
    fn invalid(text: &str, key: &str, line: usize) -> String {
        match p(text) {
            Err(Error::Invalid {
                line: l, key: k, ..
            }) if k == key && l == line => p(text).err().map(|e| e.to_string()).unwrap_or_default(),
            other => panic!("expected Invalid {key} at line {line}, got {other:?}\n---\n{text}"),
        }
    }

    const FEED: &str = "[[feed]]\nname = \"A\"\nurl = \"https://a.example/feed\"\n";

    #[test]
    fn defaults_applied_for_a_minimal_config() {
        for text in ["", "# nothing\n", "[poll]\n[alerts]\n"] {
            let c = ok(text);
            assert_eq!(c.path, Path::new("test.toml"));
            assert_eq!(c.database, Path::new("data/storywatch.db"));
            assert_eq!(c.seeds, None);
            assert_eq!(c.poll, Poll::default());
            assert_eq!(c.poll.interval, Duration::from_secs(900));
            assert_eq!(c.poll.concurrency, 16);
            assert_eq!(c.poll.per_host, 2);
            assert_eq!(c.poll.timeout, Duration::from_secs(30));
            assert_eq!(c.poll.connect_timeout, Duration::from_secs(10));
            assert_eq!(c.poll.max_body, 10_485_760);
            assert_eq!(c.poll.user_agent, None);
            assert_eq!(c.topic.groups, None);
            assert_eq!(c.alerts.log, Some(PathBuf::from("data/alerts.jsonl")));
            assert_eq!(c.alerts.min_words_changed, 1);
            assert!(c.alerts.webhooks.is_empty());
            assert!(c.feeds.is_empty());
        }
    }

    #[test]
    fn feed_and_webhook_defaults() {
        let c = ok(&format!(
            "{FEED}[[alerts.webhook]]\nurl = \"https://hooks.example/x\"\n"
        ));
        let f = &c.feeds[0];
        assert_eq!(f.name, "A");
        assert_eq!(f.url.as_str(), "https://a.example/feed");
        assert_eq!(f.interval, None);
        assert_eq!(f.interval(&c.poll), Duration::from_secs(900));
        assert_eq!(f.filter, FilterMode::Topic);
        let w = &c.alerts.webhooks[0];
        assert_eq!(w.format, WebhookFormat::Json);
        assert_eq!(w.kinds, AlertKind::ALL.to_vec());
        assert_eq!(w.timeout, Duration::from_secs(15));
        assert_eq!(w.retry, default_retry());
        assert_eq!(w.retry.len(), 7);
        assert_eq!(w.retry[3], Duration::from_secs(7200));
        assert_eq!(
            (w.secret_env.as_ref(), w.secret_file.as_ref()),
            (None, None)
        );
    }

    #[test]
    fn design_example_parses_with_every_value() {
        let text = r#"database = "var/sw.db"
seeds = "seeds"

[poll]
interval = "1h 30m"
concurrency = 4
per_host = 1
timeout = "20s"
connect_timeout = "5s"
max_body = "512KiB"
user_agent = "storywatch-test/1"

[topic]
groups = { dprk = ["North Korea", "DPRK", "Pyongyang", "북한", "КНДР"], russia = ["Russia", "Moscow", "Kremlin", "러시아", "Россия"] }

[alerts]
log = "var/alerts.jsonl"
min_words_changed = 3

[[alerts.webhook]]
url = "https://example.org/hooks/storywatch"
secret_env = "STORYWATCH_WEBHOOK_SECRET"
format = "json"
kinds = ["new", "changed"]
timeout = "15s"
retry = ["5s", "5m", "30m", "2h", "5h", "10h", "10h"]

[[alerts.webhook]]
url = "https://hooks.slack.com/services/T000/B000/XXXX"
secret_file = "/run/credentials/storywatch/webhook"
format = "slack"
kinds = ["changed"]
retry = ["1m"]

[[feed]]
name = "NK News"
url = "https://www.nknews.org/feed/"
interval = "10m"
filter = "topic"

[[feed]]
name = "  Dedicated  "
url = "http://example.com/nk-russia.xml"
filter = "none"
"#;
        let c = ok(text);
        assert_eq!(c.database, Path::new("var/sw.db"));
        // cargo runs unit tests in the package's folder, where `seeds/` exists.
        assert_eq!(c.seeds.as_deref(), Some(Path::new("seeds")));
        assert_eq!(c.poll.interval, Duration::from_secs(5400));
        assert_eq!(c.poll.concurrency, 4);
        assert_eq!(c.poll.per_host, 1);
        assert_eq!(c.poll.timeout, Duration::from_secs(20));
        assert_eq!(c.poll.connect_timeout, Duration::from_secs(5));
        assert_eq!(c.poll.max_body, 524_288);
        assert_eq!(c.poll.user_agent.as_deref(), Some("storywatch-test/1"));
        let groups = c.topic.groups.as_ref().expect("groups");
        assert_eq!(groups.len(), 2);
        assert_eq!(groups["dprk"][3], "북한");
        assert_eq!(groups["russia"][4], "Россия");
        assert_eq!(c.alerts.log, Some(PathBuf::from("var/alerts.jsonl")));
        assert_eq!(c.alerts.min_words_changed, 3);
        let w = &c.alerts.webhooks;
        assert_eq!(
            w[0].secret_env.as_deref(),
            Some("STORYWATCH_WEBHOOK_SECRET")
        );
        assert_eq!(w[0].retry, default_retry());
        assert_eq!(w[1].format, WebhookFormat::Slack);
        assert_eq!(
            w[1].secret_file.as_deref(),
            Some(Path::new("/run/credentials/storywatch/webhook"))
        );
        assert_eq!(w[1].kinds, vec![AlertKind::Changed]);
        assert_eq!(w[1].retry, vec![Duration::from_secs(60)]);
        assert_eq!(c.feeds.len(), 2);
        assert_eq!(c.feeds[0].interval(&c.poll), Duration::from_secs(600));
        assert_eq!(c.feeds[1].name, "Dedicated");
        assert_eq!(c.feeds[1].filter, FilterMode::None);
        assert_eq!(c.feeds[1].interval(&c.poll), Duration::from_secs(5400));
    }

    #[test]
    fn alert_log_can_be_disabled() {
        for (text, want) in [
            ("[alerts]\nlog = false\n", None),
            ("[alerts]\nlog = \"\"\n", None),
            ("[alerts]\nlog = true\n", Some("data/alerts.jsonl")),
            (
                "[alerts]\nlog = \"/var/log/a.jsonl\"\n",
                Some("/var/log/a.jsonl"),
            ),
        ] {
            assert_eq!(ok(text).alerts.log, want.map(PathBuf::from), "{text}");
        }
    }

    #[test]
    fn unknown_key_is_a_parse_error_naming_key_and_line() {
        let cases: &[(&str, &str, usize)] = &[
            ("database = \"x\"\nbogus = 1\n", "bogus", 2),
            (
                "[poll]\ninterval = \"15m\"\nintervall = \"10m\"\n",
                "intervall",
                3,
            ),
            (
                "[[feed]]\nname = \"A\"\nurl = \"https://a.example/\"\n\n[[feed]]\nname = \"B\"\nurl = \"https://b.example/\"\nfliter = \"none\"\n",
                "fliter",
                8,
            ),
            (
                "[alerts]\nlog = \"x\"\n[[alerts.webhooks]]\nurl = \"https://h.example/\"\n",
                "webhooks",
                3,
            ),
            (
                "[alerts]\n[[alerts.webhook]]\nurl = \"https://h.example/\"\nsecret = \"hunter2\"\n",
                "secret",
                4,
            ),
            ("[topic]\ngroup = { a = [\"b\"] }\n", "group", 2),
            ("[feeds]\nname = \"x\"\n", "feeds", 1),
        ];
        for (text, key, line) in cases {
            match p(text) {
                Err(e @ Error::Parse { .. }) => {
                    let msg = e.to_string();
                    assert!(msg.contains(&format!("`{key}`")), "{key}: {msg}");
                    assert!(
                        msg.contains(&format!("line {line},")),
                        "{key} line {line}: {msg}"
                    );
                    assert!(msg.contains("test.toml"), "{msg}");
                }
                other => panic!("{key}: expected Parse error, got {other:?}"),
            }
        }
    }

    #[test]
    fn wrong_types_and_bad_enums_are_parse_errors_with_line() {
        for (text, needle, line) in [
            ("[poll]\nconcurrency = \"16\"\n", "concurrency", 2),
            ("[poll]\nconcurrency = -1\n", "-1", 2),
            (
                "[[feed]]\nname = \"A\"\nurl = \"https://a.example/\"\nfilter = \"all\"\n",
                "all",
                4,
            ),
            (
                "[alerts]\n[[alerts.webhook]]\nurl = \"https://h.example/\"\nformat = \"teams\"\n",
                "teams",
                4,
            ),
            (
                "[alerts]\n[[alerts.webhook]]\nurl = \"https://h.example/\"\nkinds = [\"old\"]\n",
                "old",
                4,
            ),
            ("[[feed]]\nname = \"A\"\n", "url", 1),
            ("database = \n", "", 1),
            ("[poll]\nmax_body = true\n", "a size such as", 2),
            ("[poll]\nmax_body = -5\n", "a size such as", 2),
            ("[alerts]\nlog = 3\n", "or false to disable", 2),
        ] {
            match p(text) {
                Err(e @ Error::Parse { .. }) => {
                    let msg = e.to_string();
                    assert!(msg.contains(needle), "{needle}: {msg}");
                    assert!(msg.contains(&format!("line {line},")), "{needle}: {msg}");
                }
                other => panic!("{text}: expected Parse error, got {other:?}"),
            }
        }
    }

    #[test]
    fn bad_duration_names_key_and_line() {
        let msg = invalid(
            "database = \"x\"\n\n[poll]\ninterval = \"15 minutes please\"\n",
            "poll.interval",
            4,
        );
        assert!(msg.starts_with("test.toml:4: poll.interval: "), "{msg}");
        assert!(msg.contains("15 minutes please"), "{msg}");
        for (text, key, line) in [
            (format!("{FEED}interval = \"soon\"\n"), "feed[1].interval", 4),
            (
                format!("{FEED}[[feed]]\nname = \"B\"\nurl = \"https://b.example/\"\ninterval = \"5\"\n"),
                "feed[2].interval",
                7,
            ),
            ("[poll]\ntimeout = \"x\"\n".to_owned(), "poll.timeout", 2),
            ("[poll]\nconnect_timeout = \"1 fortnight\"\n".to_owned(), "poll.connect_timeout", 2),
            (
                "[[alerts.webhook]]\nurl = \"https://h.example/\"\ntimeout = \"quick\"\n".to_owned(),
                "alerts.webhook[1].timeout",
                3,
            ),
            (
                "[[alerts.webhook]]\nurl = \"https://h.example/\"\nretry = [\"5s\",\n  \"later\"]\n"
                    .to_owned(),
                "alerts.webhook[1].retry[2]",
                4,
            ),
        ] {
            invalid(&text, key, line);
        }
    }

    #[test]
    fn durations_below_minimum_are_invalid() {
        for (text, key, line) in [
            (
                "[poll]\ninterval = \"500ms\"\n".to_owned(),
                "poll.interval",
                2,
            ),
            ("[poll]\ninterval = \"0s\"\n".to_owned(), "poll.interval", 2),
            (
                format!("{FEED}interval = \"999ms\"\n"),
                "feed[1].interval",
                4,
            ),
            ("[poll]\ntimeout = \"0s\"\n".to_owned(), "poll.timeout", 2),
            (
                "[poll]\nconnect_timeout = \"0ms\"\n".to_owned(),
                "poll.connect_timeout",
                2,
            ),
            (
                "[[alerts.webhook]]\nurl = \"https://h.example/\"\ntimeout = \"0s\"\n".to_owned(),
                "alerts.webhook[1].timeout",
                3,
            ),
        ] {
            invalid(&text, key, line);
        }
        assert_eq!(
            ok("[poll]\ninterval = \"1s\"\n").poll.interval,
            Duration::from_secs(1)
        );
    }

    #[test]
    fn sizes_parse() {
        for (s, want) in [
            ("10MiB", 10_485_760),
            ("1MB", 1_000_000),
            ("512", 512),
            ("512KiB", 524_288),
            ("512kib", 524_288),
            ("1GiB", 1 << 30),
            ("2GB", 2_000_000_000),
            ("1000B", 1000),
            ("1000b", 1000),
            ("10 MiB", 10_485_760),
            (" 3k ", 3000),
            ("3Ki", 3072),
            ("1mi", 1 << 20),
            ("0", 0),
        ] {
            assert_eq!(parse_size(s), Ok(want), "{s}");
        }
        for s in [
            "ten",
            "",
            "MiB",
            "10 MeB",
            "1.5MiB",
            "-1",
            "10MiBs",
            "99999999999999999999",
            "20000000000GiB",
        ] {
            assert!(parse_size(s).is_err(), "{s}");
        }
    }

    #[test]
    fn sizes_format() {
        for (n, want) in [
            (10_485_760, "10 MiB"),
            (524_288, "512 KiB"),
            (1 << 30, "1 GiB"),
            (1_000_000, "1000000 B"),
            (1536, "1536 B"),
            (0, "0 B"),
        ] {
            assert_eq!(format_size(n), want, "{n}");
        }
    }

    #[test]
    fn max_body_accepts_sizes_and_rejects_bad_ones_with_line() {
        for (v, want) in [
            ("\"10MiB\"", 10_485_760),
            ("\"1MB\"", 1_000_000),
            ("\"512\"", 512),
            ("4096", 4096),
        ] {
            assert_eq!(
                ok(&format!("[poll]\nmax_body = {v}\n")).poll.max_body,
                want,
                "{v}"
            );
        }
        let msg = invalid("[poll]\n\nmax_body = \"ten\"\n", "poll.max_body", 3);
        assert!(msg.contains("ten"), "{msg}");
        invalid("[poll]\nmax_body = \"0KiB\"\n", "poll.max_body", 2);
        invalid("[poll]\nmax_body = 0\n", "poll.max_body", 2);
    }

    #[test]
    fn poll_limits_must_be_positive() {
        invalid("[poll]\nconcurrency = 0\n", "poll.concurrency", 2);
        invalid(
            "[poll]\nconcurrency = 3\nper_host = 0\n",
            "poll.per_host",
            3,
        );
        invalid("[poll]\nuser_agent = \"  \"\n", "poll.user_agent", 2);
    }

    #[test]
    fn feed_validation() {
        let cases: Vec<(String, &str, usize, &str)> = vec![
            (
                format!("{FEED}\n[[feed]]\nname = \"B\"\nurl = \"https://a.example/feed\"\n"),
                "feed[2].url",
                7,
                "duplicate feed url",
            ),
            (
                // the same URL once the host case and default port are normalized
                format!("{FEED}\n[[feed]]\nname = \"B\"\nurl = \"HTTPS://A.example:443/feed\"\n"),
                "feed[2].url",
                7,
                "duplicate feed url",
            ),
            (
                format!("{FEED}\n[[feed]]\nname = \" A \"\nurl = \"https://b.example/\"\n"),
                "feed[2].name",
                6,
                "duplicate feed name",
            ),
            (
                "[[feed]]\nname = \"  \"\nurl = \"https://a.example/\"\n".to_owned(),
                "feed[1].name",
                2,
                "empty",
            ),
            (
                "[[feed]]\nname = \"A\"\nurl = \"ftp://a.example/feed\"\n".to_owned(),
                "feed[1].url",
                3,
                "not an http or https URL",
            ),
            (
                "[[feed]]\nname = \"A\"\nurl = \"file:///etc/passwd\"\n".to_owned(),
                "feed[1].url",
                3,
                "not an http or https URL",
            ),
            (
                "[[feed]]\nname = \"A\"\nurl = \"www.nknews.org/feed\"\n".to_owned(),
                "feed[1].url",
                3,
                "not a URL",
            ),
        ];
        for (text, key, line, needle) in cases {
            let msg = invalid(&text, key, line);
            assert!(msg.contains(needle), "{msg}");
        }
    }

    #[test]
    fn webhook_validation() {
        let msg = invalid(
            "[alerts]\n[[alerts.webhook]]\nurl = \"https://h.example/\"\nsecret_env = \"S\"\nsecret_file = \"/run/s\"\n",
            "alerts.webhook[1].secret_file",
            5,
        );
        assert!(msg.contains("not both"), "{msg}");
        invalid(
            "[[alerts.webhook]]\nurl = \"https://h.example/\"\n[[alerts.webhook]]\nurl = \"mailto:x@h.example\"\n",
            "alerts.webhook[2].url",
            4,
        );
        invalid(
            "[[alerts.webhook]]\nurl = \"https://h.example/\"\nretry = []\n",
            "alerts.webhook[1].retry",
            3,
        );
        invalid(
            "[[alerts.webhook]]\nurl = \"https://h.example/\"\nkinds = []\n",
            "alerts.webhook[1].kinds",
            3,
        );
        invalid(
            "[[alerts.webhook]]\nurl = \"https://h.example/\"\nsecret_env = \"\"\n",
            "alerts.webhook[1].secret_env",
            3,
        );
    }

    #[test]
    fn topic_groups_validation() {
        invalid("[topic]\ngroups = {}\n", "topic.groups", 2);
        invalid(
            "[topic]\ngroups = { dprk = [\"DPRK\"], russia = [] }\n",
            "topic.groups.russia",
            2,
        );
        invalid(
            "[topic.groups]\ndprk = [\"DPRK\"]\nrussia = [\n  \"Russia\",\n  \" \",\n]\n",
            "topic.groups.russia[2]",
            5,
        );
        let c = ok("[topic.groups]\ndprk = [\" DPRK \", \"DPRK\", \"북한\"]\n");
        let groups = c.topic.groups.expect("groups");
        assert_eq!(groups["dprk"], vec!["DPRK", "북한"]);
    }

    #[test]
    fn a_seeds_folder_that_is_missing_is_an_error_at_its_line() {
        let message = invalid(
            "database = \"x.db\"\nseeds = \"no-such-folder\"\n",
            "seeds",
            2,
        );
        assert!(
            message.contains("no-such-folder") && message.contains("does not exist"),
            "{message}"
        );
        let message = invalid("seeds = \"Cargo.toml\"\n", "seeds", 1);
        assert!(message.contains("is not a folder"), "{message}");
    }

    #[test]
    fn invalid_error_display_has_path_line_key() {
        let e = p("[poll]\nconcurrency = 0\n").expect_err("invalid");
        assert_eq!(
            e.to_string(),
            "test.toml:2: poll.concurrency: must be at least 1"
        );
    }

    #[test]
    fn load_reads_file_and_reports_missing_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sw.toml");
        std::fs::write(&path, FEED).expect("write");
        let c = load(&path).expect("load");
        assert_eq!(c.path, path);
        assert_eq!(c.feeds.len(), 1);

        let missing = dir.path().join("missing.toml");
        match load(&missing) {
            Err(e @ Error::Read { .. }) => {
                assert!(e.to_string().starts_with("cannot read config "), "{e}");
                assert!(e.to_string().contains("missing.toml"), "{e}");
            }
            other => panic!("expected Read error, got {other:?}"),
        }
    }

    #[test]
    fn locate_precedence() {
        let cli = Path::new("/cli.toml");
        let env = OsStr::new("/env.toml");
        let yes = |_: &Path| true;
        let no = |_: &Path| false;
        for (cli, env, local_exists, want) in [
            (Some(cli), Some(env), true, "/cli.toml"),
            (Some(cli), None, false, "/cli.toml"),
            (None, Some(env), true, "/env.toml"),
            (None, Some(OsStr::new("")), true, LOCAL_CONFIG),
            (None, None, true, LOCAL_CONFIG),
            (None, None, false, SYSTEM_CONFIG),
            (None, Some(OsStr::new("")), false, SYSTEM_CONFIG),
        ] {
            let got = if local_exists {
                locate_with(cli, env, yes)
            } else {
                locate_with(cli, env, no)
            };
            assert_eq!(got, PathBuf::from(want), "{cli:?} {env:?} {local_exists}");
        }
        assert_eq!(locate(Some(cli), Some(env)), PathBuf::from("/cli.toml"));
        assert_eq!(locate(None, Some(env)), PathBuf::from("/env.toml"));
    }

    #[test]
    fn describe_lists_feeds_and_hides_secrets() {
        let text = r#"
[alerts]
[[alerts.webhook]]
url = "https://discord.com/api/webhooks/123/SECRET-TOKEN-IN-PATH"
secret_env = "SW_SECRET"
format = "discord"
[[alerts.webhook]]
url = "https://hooks.example/?token=QUERYSECRET"
secret_file = "/run/credentials/sw/hook"

[[feed]]
name = "NK News"
url = "https://www.nknews.org/feed/"
interval = "10m"

[[feed]]
name = "Private"
url = "https://user:PASSWORD@private.example/rss"
filter = "none"
"#;
        let c = ok(text);
        let d = c.describe();
        for needle in [
            "test.toml",
            "data/storywatch.db",
            "15m",
            "10 MiB",
            "built-in defaults",
            "data/alerts.jsonl",
            "min_words_changed",
            "SW_SECRET",
            "/run/credentials/sw/hook",
            "discord.com",
            "5s, 5m, 30m, 2h, 5h, 10h, 10h",
            "NK News",
            "https://www.nknews.org/feed/",
            "10m",
            "Private",
            "private.example",
            "feeds (2)",
        ] {
            assert!(d.contains(needle), "missing {needle}:\n{d}");
        }
        for secret in ["SECRET-TOKEN-IN-PATH", "QUERYSECRET", "PASSWORD"] {
            assert!(!d.contains(secret), "leaked {secret}:\n{d}");
        }
        // the feed table is aligned: every URL starts in the same column
        let cols: Vec<usize> = d
            .lines()
            .filter(|l| l.contains("https://www.nknews") || l.contains("private.example"))
            .filter_map(|l| l.find("https://"))
            .collect();
        assert_eq!(cols.len(), 2, "{d}");
        assert_eq!(cols[0], cols[1], "{d}");
    }

    #[test]
    fn describe_says_when_there_are_no_feeds() {
        let d = ok("").describe();
        assert!(d.contains("feeds: none configured"), "{d}");
        assert!(d.contains("webhooks"), "{d}");
        assert!(d.contains("none"), "{d}");
        let d = ok("[topic.groups]\na = [\"x\", \"y\"]\n").describe();
        assert!(d.contains("x, y"), "{d}");
        assert!(d.contains("threshold          1 "), "{d}");
    }

    #[test]
    fn topic_extra_exclude_and_threshold() {
        let c = ok(
            "[topic]\nextra = { dprk = [\"Hwasong\", \"Hwasong\"] }\nexclude = [\"Moscow Mitte\"]\nthreshold = 0.5\n",
        );
        assert_eq!(c.topic.extra["dprk"], ["Hwasong"]);
        assert_eq!(c.topic.exclude, ["Moscow Mitte"]);
        assert_eq!(c.topic.threshold, 0.5);
        assert_eq!(ok("[topic]\nthreshold = 1\n").topic.threshold, 1.0);
        assert_eq!(ok("").topic.threshold, crate::topic::DEFAULT_THRESHOLD);
        invalid("[topic]\nthreshold = 0\n", "topic.threshold", 2);
        invalid("[topic]\n\nthreshold = 1.5\n", "topic.threshold", 3);
        invalid(
            "[topic]\nextra = { korea = [\"x\"] }\n",
            "topic.extra.korea",
            2,
        );
        invalid("[topic]\nexclude = [\"a\", \" \"]\n", "topic.exclude[2]", 2);
        // extra names a configured group.
        let c = ok("[topic]\ngroups = { a = [\"x\"] }\nextra = { a = [\"y\"] }\n");
        assert_eq!(c.topic.extra["a"], ["y"]);
        invalid(
            "[topic]\ngroups = { a = [\"x\"] }\nextra = { dprk = [\"y\"] }\n",
            "topic.extra.dprk",
            3,
        );
    }

    #[test]
    fn describe_aligns_wide_feed_names() {
        let d = ok("[[feed]]\nname = \"북한 러시아\"\nurl = \"https://a.example/\"\n[[feed]]\nname = \"Latin name\"\nurl = \"https://b.example/\"\n").describe();
        let cols: Vec<usize> = d
            .lines()
            .filter(|l| l.contains("https://"))
            .map(|l| width(&l[..l.find("https://").unwrap_or(0)]))
            .collect();
        assert_eq!(cols.len(), 2, "{d}");
        assert_eq!(cols[0], cols[1], "{d}");
    }

    #[test]
    fn shipped_config_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/storywatch.toml");
        let c = load(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(c.feeds.len() >= 15, "only {} feeds", c.feeds.len());
        assert_eq!(c.database, Path::new("data/storywatch.db"));
        assert_eq!(c.poll, Poll::default());
        assert_eq!(c.topic.groups, None);
        assert_eq!(c.alerts, Alerts::default());
        for f in &c.feeds {
            assert!(f.url.scheme() == "https", "{}", f.url);
        }
        let d = c.describe();
        assert!(d.contains("NK News"), "{d}");
    }

    #[test]
    fn pages_defaults_and_settings() {
        let c = ok("");
        assert_eq!(c.pages, Pages::default());
        assert!(c.pages.enabled && c.pages.robots && !c.pages.keep_html);
        assert_eq!(c.pages.recheck.len(), 8);
        assert_eq!(c.pages.recheck[7], Duration::from_secs(30 * 86_400));
        assert_eq!(c.pages.max_body, 5 * 1024 * 1024);

        let c = ok(r#"
[pages]
enabled = false
recheck = ["10m", "2h"]
concurrency = 2
timeout = "20s"
max_body = "1MiB"
robots = false
keep_html = true

[[feed]]
name = "A"
url = "https://a.example/feed"
pages = false

[[feed]]
name = "B"
url = "https://b.example/feed"
"#);
        let p = &c.pages;
        assert!(!p.enabled && !p.robots && p.keep_html);
        assert_eq!(
            p.recheck,
            vec![Duration::from_secs(600), Duration::from_secs(7200)]
        );
        assert_eq!((p.concurrency, p.timeout), (2, Duration::from_secs(20)));
        assert_eq!(p.max_body, 1024 * 1024);
        assert!(!c.feeds[0].pages && c.feeds[1].pages);
        let d = c.describe();
        assert!(d.contains("10m, 2h (ages since first seen)"), "{d}");
        assert!(d.contains("topic, no pages"), "{d}");
        assert!(ok("[pages]\nrecheck = []\n").pages.recheck.is_empty());
    }

    #[test]
    fn bad_pages_settings_name_the_key_and_line() {
        let msg = invalid(
            "[pages]\nrecheck = [\"1h\",\n  \"15m\"]\n",
            "pages.recheck[2]",
            3,
        );
        assert!(msg.contains("must increase"), "{msg}");
        invalid("[pages]\nrecheck = [\"soon\"]\n", "pages.recheck[1]", 2);
        invalid("[pages]\nrecheck = [\"0s\"]\n", "pages.recheck[1]", 2);
        invalid("[pages]\n\nconcurrency = 0\n", "pages.concurrency", 3);
        invalid("[pages]\ntimeout = \"0s\"\n", "pages.timeout", 2);
        invalid("[pages]\nmax_body = \"lots\"\n", "pages.max_body", 2);
        assert!(matches!(
            p("[pages]\nkeep = true\n"),
            Err(Error::Parse { line: 2, .. })
        ));
        let kinds = ok("[[alerts.webhook]]\nurl = \"https://h.example/\"\nkinds = [\"removed\"]\n");
        assert_eq!(kinds.alerts.webhooks[0].kinds, vec![AlertKind::Removed]);
    }
}
