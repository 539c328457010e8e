//! The command line: parses arguments, sets up logging, loads the config and runs one command.
//! The only place that turns errors into exit codes: 0 success, 1 runtime failure, 2 usage or
//! config error.

mod extract;
mod logging;
mod read;
mod report;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use tokio::sync::watch;

use crate::config::{self, Config};
use crate::daemon::{self, Context};
use crate::model::ArticleId;
use logging::LogFormat;

/// Exit code of a runtime failure.
const EXIT_FAILURE: u8 = 1;
/// Exit code of a usage or config error.
const EXIT_USAGE: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "storywatch",
    version,
    about = "Watches news feeds for North Korea–Russia coverage and alerts on new and silently edited stories"
)]
struct Cli {
    /// Config file (default: $STORYWATCH_CONFIG, else config/storywatch.toml, else
    /// /etc/storywatch/storywatch.toml).
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The daemon: poll on schedule until SIGTERM/SIGINT.
    Run,
    /// One pass over the feeds that are due, deliver alerts, exit.
    Poll {
        /// Poll every feed, due or not.
        #[arg(long)]
        all: bool,
    },
    /// Validate the config, print the resolved settings and feeds, exit 0/1.
    Check,
    /// Create or upgrade the database and load seeds, then exit.
    Migrate,
    /// Each feed's health: status, last success, next poll, articles found; `feeds import`
    /// and `feeds export` move the feed list in and out as OPML, the format feed readers
    /// exchange subscriptions in.
    Feeds {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        #[command(subcommand)]
        action: Option<FeedsAction>,
    },
    /// The watched article pages: next check, last check, failures. --due and --failing
    /// narrow the list.
    Pages {
        /// Only the pages due now.
        #[arg(long, conflicts_with = "failing")]
        due: bool,
        /// Only the pages whose last check failed or was refused, and those gone.
        #[arg(long)]
        failing: bool,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Tracked articles, newest first.
    Articles {
        /// Only articles with a `changed` alert, by last change.
        #[arg(long)]
        changed: bool,
        /// Only articles first seen (with --changed: changed) since DATE: 2026-11-28,
        /// 2026-11-28T04:00:00Z, today, or a time ago such as 24h or 7d.
        #[arg(long, value_name = "DATE", value_parser = read::since_arg)]
        since: Option<String>,
        /// Only articles from the feed of this name (any case).
        #[arg(long, value_name = "NAME")]
        feed: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// The revisions of one article.
    History {
        /// The article's id (see `articles`).
        article: i64,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// The change between two revisions of an article (default: the last two).
    Diff {
        /// The article's id (see `articles`).
        article: i64,
        /// The older revision (default: the one before TO of the same kind).
        from: Option<i64>,
        /// The newer revision (default: the latest).
        to: Option<i64>,
        /// How to show the change.
        #[arg(long, value_enum, default_value_t)]
        format: read::DiffFormat,
    },
    /// Alerts and their deliveries, newest first; `alerts retry` re-queues failed ones.
    Alerts {
        /// Only deliveries still pending.
        #[arg(long, conflicts_with = "failed")]
        pending: bool,
        /// Only deliveries that failed for good.
        #[arg(long)]
        failed: bool,
        #[command(subcommand)]
        action: Option<AlertsAction>,
    },
    /// The topic filter: `topic test` explains its verdict on a text.
    Topic {
        #[command(subcommand)]
        action: TopicAction,
    },
    /// One article and every revision of it, changes highlighted, as a self-contained HTML
    /// page on standard output: `storywatch report 7 > story.html`.
    Report {
        /// The article id (`articles.id`).
        article: i64,
    },
    /// Recent alerts for other programs, on standard output: `export atom > changes.xml`.
    #[command(subcommand_value_name = "FORMAT", subcommand_help_heading = "Formats")]
    Export {
        #[command(subcommand)]
        format: report::ExportFormat,
    },
    /// The whole cycle on bundled sample feeds, offline: poll, a silent edit, poll again, and
    /// the alerts and the diff. Needs no config and leaves nothing behind.
    Demo,
    /// The title, canonical URL, dates and text storywatch would store for an article page.
    Extract {
        /// An HTML file, `-` for standard input (the default), or an http(s) URL, fetched as
        /// the daemon would (its User-Agent and limits, and the host's robots.txt).
        source: Option<String>,
        /// The URL a file or standard input was served from, for its relative links.
        #[arg(long, value_name = "URL")]
        url: Option<String>,
        /// Print JSON: title, text (paragraphs separated by blank lines), canonical_url,
        /// published_at, modified_at.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum FeedsAction {
    /// Print the feeds of an OPML file as [[feed]] blocks for the config (no config needed),
    /// or append them to the config with --write.
    Import {
        /// The OPML file, as a feed reader exports it.
        file: PathBuf,
        /// Append the feeds to the config file, after its last line; feeds it has already are
        /// skipped. The file is left as it was if it would not load.
        #[arg(long)]
        write: bool,
    },
    /// Print the config's feeds as OPML 2.0, for a feed reader to import.
    Export,
}

#[derive(Debug, Subcommand)]
enum TopicAction {
    /// Judge a text with the config's topic settings: verdict, score and matched terms.
    /// Exits 0 when relevant, 1 when not.
    Test {
        /// The story's body (HTML or text), or `-` to read it from standard input.
        text: Option<String>,
        /// The story's headline.
        #[arg(long)]
        title: Option<String>,
        /// Print the verdict as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// What `feeds` can do besides listing the feeds' health.
#[derive(Debug, Subcommand)]
enum AlertsAction {
    /// Re-queue failed deliveries with a fresh retry schedule: of one alert, or --all.
    Retry {
        /// The alert id.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<String>,
        /// Every failed delivery.
        #[arg(long)]
        all: bool,
    },
}

/// Runs the command line; returns the process exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // clap prints help and version itself with exit code 0, usage errors with 2.
            let _ = error.print();
            return ExitCode::from(if error.use_stderr() { EXIT_USAGE } else { 0 });
        }
    };
    // These run without a config: the demo brings its own, and printing an OPML file's feeds
    // depends on nothing else.
    match &cli.command {
        Command::Demo => {
            // Quiet by default: the demo's own output tells the story.
            logging::init(cli.log_format, "warn");
            return with_runtime(demo);
        }
        Command::Feeds {
            action: Some(FeedsAction::Import { file, write: false }),
            ..
        } => return import_feeds(file, None),
        // A page on disk or standard input is read without a config; a URL is fetched with
        // the config's rules, below.
        Command::Extract { source, url, json } => {
            if let extract::Source::Local(path) = extract::Source::parse(source.as_deref()) {
                return print_article(extract::extract_local(path, url.as_deref()), *json);
            }
        }
        _ => {}
    }
    let path = config::locate(
        cli.config.as_deref(),
        std::env::var_os(config::CONFIG_ENV).as_deref(),
    );
    let config = match config::load(&path) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("storywatch: {error}");
            // `check` reports an invalid config as a failed check (1), the others as a
            // configuration error (2).
            return ExitCode::from(match cli.command {
                Command::Check => EXIT_FAILURE,
                _ => EXIT_USAGE,
            });
        }
    };
    logging::init(cli.log_format, &config.log_level);
    match cli.command {
        Command::Check => check(&config),
        Command::Extract { source, json, .. } => match extract::Source::parse(source.as_deref()) {
            extract::Source::Remote(url) => {
                print_article(extract::extract_remote(&config, &url), json)
            }
            // Handled above, without a config.
            extract::Source::Local(_) => ExitCode::from(EXIT_USAGE),
        },
        Command::Migrate => match daemon::open_store(&config) {
            Ok(_) => {
                println!("database {} is up to date", config.database.display());
                ExitCode::SUCCESS
            }
            Err(error) => fail(&error),
        },
        Command::Poll { all } => with_runtime(|| poll(config, all)),
        Command::Alerts {
            action: Some(AlertsAction::Retry { id, .. }),
            ..
        } => retry_alerts(&config, id.as_deref()),
        Command::Alerts {
            pending, failed, ..
        } => list_alerts(
            &config,
            if pending {
                Some("pending")
            } else if failed {
                Some("failed")
            } else {
                None
            },
        ),
        Command::Topic {
            action: TopicAction::Test { text, title, json },
        } => topic_test(&config, title.as_deref(), text.as_deref(), json),
        Command::Feeds { json, action: None } => read_command(&config, |r| read::feeds(r, json)),
        Command::Pages { due, failing, json } => {
            let filter = match (due, failing) {
                (true, _) => crate::store::PageFilter::Due,
                (_, true) => crate::store::PageFilter::Failing,
                _ => crate::store::PageFilter::All,
            };
            read_command(&config, |r| read::pages(r, filter, json))
        }
        Command::Feeds {
            action: Some(FeedsAction::Import { file, .. }),
            ..
        } => import_feeds(&file, Some(&config)),
        Command::Feeds {
            action: Some(FeedsAction::Export),
            ..
        } => {
            print!("{}", crate::opml::export(&config));
            ExitCode::SUCCESS
        }
        Command::Articles {
            changed,
            since,
            feed,
            json,
        } => {
            let filter = crate::store::ArticleFilter {
                changed,
                since,
                feed,
            };
            read_command(&config, |r| read::articles(r, &filter, json))
        }
        Command::History { article, json } => {
            read_command(&config, |r| read::history(r, ArticleId(article), json))
        }
        Command::Diff {
            article,
            from,
            to,
            format,
        } => read_command(&config, |r| {
            read::diff(r, ArticleId(article), from, to, format)
        }),
        Command::Run => with_runtime(|| run(config)),
        // Run above, before any config is looked for.
        Command::Demo => with_runtime(demo),
        Command::Report { article } => {
            read_command(&config, |r| report::report(r, ArticleId(article)))
        }
        Command::Export { format } => read_command(&config, |r| report::export(r, format)),
    }
}

/// Runs a read command on a read-only connection: it answers while the daemon writes.
fn read_command(
    config: &Config,
    command: impl FnOnce(&crate::store::Reader) -> Result<(), read::Error>,
) -> ExitCode {
    let result = crate::store::Reader::open(&config.database)
        .map_err(read::Error::from)
        .and_then(|reader| command(&reader));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("storywatch: {error}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

/// `feeds import`: prints the feeds of an OPML file as `[[feed]]` blocks, or appends them to
/// `config` when given (`--write`). Skipped outlines are reported on stderr by name; a URL
/// that is not http or https makes the exit code 1, after the other feeds are done.
fn import_feeds(file: &std::path::Path, config: Option<&Config>) -> ExitCode {
    let import = std::fs::read_to_string(file)
        .map_err(|e| e.to_string())
        .and_then(|text| crate::opml::import(&text).map_err(|e| e.to_string()));
    let import = match import {
        Ok(import) => import,
        Err(error) => {
            eprintln!("storywatch: cannot import {}: {error}", file.display());
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    let import = match config {
        Some(config) => import.without_configured(config),
        None => import,
    };
    for skipped in &import.skipped {
        eprintln!("storywatch: {}: skipped {skipped}", file.display());
    }
    let bad = import.skipped.iter().any(|s| s.reason.is_error());
    let names: Vec<&str> = import.feeds.iter().map(|f| f.name.as_str()).collect();
    match config {
        _ if import.feeds.is_empty() => {
            eprintln!("storywatch: {}: no feed to add", file.display());
        }
        None => {
            println!(
                "# {} feeds from {} (storywatch feeds import): add them to the config, or run with --write.",
                import.feeds.len(),
                file.display()
            );
            print!("{}", crate::opml::render(&import.feeds));
        }
        Some(config) => {
            let source = file
                .file_name()
                .unwrap_or(file.as_os_str())
                .to_string_lossy();
            if let Err(error) = crate::opml::append(&config.path, &import.feeds, &source) {
                eprintln!("storywatch: {error}");
                return ExitCode::from(EXIT_FAILURE);
            }
            println!(
                "appended {} feeds to {}: {}",
                import.feeds.len(),
                config.path.display(),
                names.join(", ")
            );
        }
    }
    if bad {
        ExitCode::from(EXIT_FAILURE)
    } else {
        ExitCode::SUCCESS
    }
}

/// Prints what `extract` found, or why it found nothing (exit 1).
fn print_article(article: Result<crate::extract::Article, extract::Error>, json: bool) -> ExitCode {
    match article {
        Ok(article) => {
            print!("{}", extract::render(&article, json));
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("storywatch: {error}");
            ExitCode::from(match error {
                extract::Error::BadUrl(_) => EXIT_USAGE,
                _ => EXIT_FAILURE,
            })
        }
    }
}

/// `demo`, stopped early (and still cleaned up) by SIGINT or SIGTERM.
fn demo() -> Result<(), crate::demo::Error> {
    tokio::runtime::Handle::current().block_on(async {
        let (stop, shutdown) = watch::channel(false);
        let signals = tokio::spawn(watch_signals(stop, None));
        let result = crate::demo::run(shutdown).await;
        signals.abort();
        result
    })
}

fn check(config: &Config) -> ExitCode {
    let spec = crate::topic::Spec::from_config(&config.topic);
    if let Err(error) = crate::topic::Topic::new(&spec) {
        eprintln!("storywatch: {}: topic: {error}", config.path.display());
        return ExitCode::from(EXIT_FAILURE);
    }
    if let Err(error) = crate::seed::all_seeds(config.seeds.as_deref()) {
        eprintln!("storywatch: {error}");
        return ExitCode::from(EXIT_FAILURE);
    }
    // Loads every webhook secret, so a missing variable or file is reported now.
    if let Err(error) = daemon::webhook_endpoints(config) {
        eprintln!("storywatch: {error}");
        return ExitCode::from(EXIT_FAILURE);
    }
    print!("{}", config.describe());
    println!("topic terms in force:");
    for (name, terms) in &spec.groups {
        println!("  {name}: {}", terms.join(", "));
    }
    println!("  exclude: {}", spec.exclude.join(", "));
    println!("config {} is valid", config.path.display());
    ExitCode::SUCCESS
}

/// `topic test`: the verdict of the configured topic on a headline and/or a body.
fn topic_test(config: &Config, title: Option<&str>, text: Option<&str>, json: bool) -> ExitCode {
    let body = match text {
        Some("-") => {
            let mut input = String::new();
            if let Err(error) = std::io::Read::read_to_string(&mut std::io::stdin(), &mut input) {
                eprintln!("storywatch: cannot read standard input: {error}");
                return ExitCode::from(EXIT_USAGE);
            }
            input
        }
        Some(text) => text.to_owned(),
        None if title.is_some() => String::new(),
        None => {
            eprintln!("storywatch: topic test needs a TEXT, `-` for standard input, or --title");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let topic = match crate::topic::Topic::new(&crate::topic::Spec::from_config(&config.topic)) {
        Ok(topic) => topic,
        Err(error) => {
            eprintln!("storywatch: {}: topic: {error}", config.path.display());
            return ExitCode::from(EXIT_USAGE);
        }
    };
    // The same text preparation as for a feed item.
    let title = crate::feed::html_to_text(title.unwrap_or_default());
    let body = crate::feed::html_to_text(&body);
    let verdict = topic.evaluate(&title, &body);
    if json {
        println!("{}", verdict_json(&verdict, topic.threshold()));
    } else {
        print!("{}", describe_verdict(&verdict, topic.threshold()));
    }
    if verdict.relevant {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILURE)
    }
}

fn place_name(place: crate::topic::Place) -> &'static str {
    match place {
        crate::topic::Place::Title => "title",
        crate::topic::Place::Lede => "lede",
        crate::topic::Place::Body => "body",
    }
}

/// The verdict for people: the decision, then each group's score and mentions.
fn describe_verdict(verdict: &crate::topic::Verdict, threshold: f64) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} (score {:.2}, threshold {:.2})",
        if verdict.relevant {
            "relevant"
        } else {
            "not relevant"
        },
        verdict.score,
        threshold
    );
    for group in &verdict.groups {
        let mentions: Vec<String> = group
            .mentions
            .iter()
            .map(|m| {
                let list = match (m.listed, m.completes) {
                    (true, _) => ", in a list",
                    (false, true) => ", completes the headline",
                    (false, false) => "",
                };
                format!(
                    "{} ({}{list}, {:.2})",
                    m.term,
                    place_name(m.place),
                    m.weight
                )
            })
            .collect();
        let mentions = if mentions.is_empty() {
            "no mention".to_owned()
        } else {
            mentions.join("; ")
        };
        let _ = writeln!(out, "  {:<8} {:.2}  {mentions}", group.name, group.score);
    }
    let _ = writeln!(out, "matched terms: {}", verdict.matched_terms.join(", "));
    out
}

fn verdict_json(verdict: &crate::topic::Verdict, threshold: f64) -> serde_json::Value {
    let groups: serde_json::Map<String, serde_json::Value> = verdict
        .groups
        .iter()
        .map(|g| {
            let mentions: Vec<serde_json::Value> = g
                .mentions
                .iter()
                .map(|m| {
                    serde_json::json!({
                        "term": m.term,
                        "place": place_name(m.place),
                        "listed": m.listed,
                        "completes": m.completes,
                        "weight": m.weight,
                    })
                })
                .collect();
            (
                g.name.clone(),
                serde_json::json!({"score": g.score, "mentions": mentions}),
            )
        })
        .collect();
    serde_json::json!({
        "relevant": verdict.relevant,
        "score": verdict.score,
        "threshold": threshold,
        "matched_terms": verdict.matched_terms,
        "groups": groups,
    })
}

/// Re-queues failed deliveries. Works beside a running daemon: its workers pick the
/// deliveries up on their next look at the queue.
fn retry_alerts(config: &Config, id: Option<&str>) -> ExitCode {
    let result = crate::store::Store::open(&config.database)
        .and_then(|mut store| store.requeue_failed(id, chrono::Utc::now()));
    match result {
        Ok(0) if id.is_some() => {
            eprintln!(
                "storywatch: alert {} has no failed delivery",
                id.unwrap_or_default()
            );
            ExitCode::from(EXIT_FAILURE)
        }
        Ok(n) => {
            println!("re-queued {n} failed deliveries");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("storywatch: {error}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

/// Lists deliveries, read-only, beside a running daemon.
fn list_alerts(config: &Config, status: Option<&str>) -> ExitCode {
    let rows = crate::store::Store::open_read_only(&config.database)
        .and_then(|conn| crate::store::list_deliveries(&conn, status));
    let rows = match rows {
        Ok(rows) => rows,
        Err(error) => {
            eprintln!("storywatch: {error}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    for row in rows {
        println!(
            "{}  {:<7}  {}  {:<9}  {}  attempts {}{}{}\n    {}",
            row.created_at,
            row.kind,
            row.alert_id,
            row.status,
            row.sink,
            row.attempts,
            row.next_attempt_at
                .map(|t| format!(", next {t}"))
                .unwrap_or_default(),
            row.last_error
                .map(|e| format!(", last error: {e}"))
                .unwrap_or_default(),
            row.title
        );
    }
    ExitCode::SUCCESS
}

fn with_runtime<E: std::fmt::Display>(f: impl FnOnce() -> Result<(), E> + Send) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("storywatch: cannot start the async runtime: {error}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    let _guard = runtime.enter();
    match f() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(&error),
    }
}

fn fail(error: &dyn std::fmt::Display) -> ExitCode {
    tracing::error!(error = %error, "storywatch failed");
    eprintln!("storywatch: {error}");
    ExitCode::from(EXIT_FAILURE)
}

fn poll(config: Config, all: bool) -> Result<(), daemon::Error> {
    let handle = tokio::runtime::Handle::current();
    handle.block_on(async {
        let ctx = Arc::new(Context::start(config)?);
        let (stop, shutdown) = watch::channel(false);
        let signals = tokio::spawn(watch_signals(stop, None));
        let summary = daemon::poll_pass(ctx, all, shutdown).await;
        signals.abort();
        let summary = summary?;
        println!(
            "polled {} feeds: {} not modified, {} failed; {} new, {} changed articles; {} alerts delivered",
            summary.polled,
            summary.not_modified,
            summary.failed,
            summary.new_articles,
            summary.changed_articles,
            summary.delivered
        );
        if summary.pages_checked > 0 {
            println!(
                "checked {} pages: {} changed, {} removed, {} failed",
                summary.pages_checked,
                summary.pages_changed,
                summary.pages_removed,
                summary.pages_failed
            );
        }
        Ok(())
    })
}

fn run(config: Config) -> Result<(), daemon::Error> {
    let handle = tokio::runtime::Handle::current();
    handle.block_on(async {
        let (stop, mut shutdown) = watch::channel(false);
        let (reload_tx, reload) = tokio::sync::mpsc::channel(1);
        let signals = tokio::spawn(watch_signals(stop, Some(reload_tx)));
        let result = match Context::start_patiently(&config, &mut shutdown).await {
            Ok(Some(ctx)) => daemon::run(Arc::new(ctx), shutdown, reload).await,
            Ok(None) => Ok(()),
            Err(error) => Err(error),
        };
        signals.abort();
        result
    })
}

/// Turns the first SIGTERM or SIGINT into a graceful stop (a second one exits at once), and
/// SIGHUP into a reload request when the command reloads.
async fn watch_signals(stop: watch::Sender<bool>, reload: Option<tokio::sync::mpsc::Sender<()>>) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
    ) else {
        tracing::error!("cannot install signal handlers: stop with SIGKILL");
        return;
    };
    let mut asked = false;
    loop {
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
            _ = hup.recv() => {
                match &reload {
                    // A reload already queued covers this one too.
                    Some(reload) => { let _ = reload.try_send(()); }
                    None => tracing::info!(signal = "SIGHUP", "ignored: nothing to reload"),
                }
                continue;
            }
        };
        if asked {
            tracing::warn!(signal = name, "second signal: exiting at once");
            std::process::exit(i32::from(EXIT_FAILURE));
        }
        asked = true;
        tracing::info!(signal = name, "stop requested");
        let _ = stop.send(true);
    }
}
