//! The daemon: opens the store, loads seeds, and drives the one-feed pipeline over the feeds
//! and the one-page pipeline over the article pages that are due, once (`poll`: the feeds,
//! then the pages) or on schedule until told to stop (`run`: both at once).
//!
//! Every spawned task is owned: feed polls and page checks live in `JoinSet`s that the loop
//! drains or aborts on shutdown, and the outbox is drained by the loop itself. Concurrency is
//! bounded three times: a limit for feeds (`poll.concurrency`), a budget of its own for pages
//! (`pages.concurrency`), and `poll.per_host` requests in flight per host, shared by both, of
//! which pages take at most one: with `per_host` of 2 or more a feed always finds a slot, so
//! page work never holds up the feeds, and one publisher is not hammered.
//!
//! Nothing passing stops the daemon: a database locked by an analyst or on a full disk is
//! waited out at start and on every write ([`crate::store::patience`]), alert log lines the
//! log's disk refused are retried every second, and the schedule follows the wall clock
//! when it is moved back ([`scheduler::Clock`]).

pub mod pages;
pub mod pipeline;
pub mod scheduler;
pub mod systemd;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use crate::alert::webhook::{self, Endpoint};
use crate::alert::{self, LOG_SINK, log::LogSink};
use crate::config::{Config, FeedConfig};
use crate::fetch::{self, Fetcher, Limits};
use crate::model::{AlertKind, ArticleId, FeedId};
use crate::seed;
use crate::store::patience::Health;
use crate::store::{self, FeedState, PageOutcome, PageState, SeedOutcome, Store};
use crate::topic::{self, Topic};
use pipeline::Outcome;

/// How long in-flight polls may run on after a stop is asked for; past it they are abandoned
/// (their transaction either committed or never started), so the process exits within 10 s.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The longest the scheduler sleeps between looks at the schedule: also how soon it notices a
/// feed whose `next_poll_at` was changed behind its back.
const MAX_SLEEP: Duration = Duration::from_secs(30);

/// Errors that stop the daemon or a pass.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] store::Error),
    #[error(transparent)]
    Seed(#[from] seed::Error),
    #[error("topic: {0}")]
    Topic(#[from] topic::Error),
    #[error(transparent)]
    Fetch(#[from] fetch::Error),
    #[error(transparent)]
    Pipeline(#[from] pipeline::Error),
    #[error(transparent)]
    Alert(#[from] alert::Error),
    #[error(transparent)]
    Webhook(#[from] webhook::Error),
    #[error("the database cannot change on reload ({} to {}): restart storywatch instead", from.display(), to.display())]
    DatabaseMoved {
        from: std::path::PathBuf,
        to: std::path::PathBuf,
    },
}

/// Everything a feed poll needs, shared by every task.
pub struct Context {
    pub config: Config,
    pub store: store::SharedStore,
    pub fetcher: Fetcher,
    pub topic: Arc<Topic>,
    /// Sinks a new alert gets a delivery row for (those that take its kind).
    pub sinks: Arc<Vec<store::Sink>>,
    pub log_sink: Option<LogSink>,
    pub endpoints: Vec<Endpoint>,
    /// Signalled when alerts are committed, so webhook workers look at their queues.
    pub wake: watch::Sender<()>,
    /// Episodes of the database refusing writes (locked, disk full), shared across reloads.
    pub db_health: Arc<Health>,
    /// Episodes of the alert log refusing appends (its disk full).
    pub log_health: Arc<Health>,
    /// Each host's robots.txt, for the page checks.
    pub robots: fetch::RobotsCache,
    /// Failures in a row of each host's pages.
    pub page_hosts: pages::HostBackoff,
    /// Each configured feed's position in `config.feeds`, by URL.
    feed_index: HashMap<String, usize>,
}

/// The configured webhook endpoints, with their secrets loaded: a missing secret is an error
/// that names its variable or file (and never shows the secret).
pub fn webhook_endpoints(config: &Config) -> Result<Vec<Endpoint>, Error> {
    let user_agent = user_agent(config);
    let mut endpoints = Vec::with_capacity(config.alerts.webhooks.len());
    for hook in &config.alerts.webhooks {
        endpoints.push(Endpoint::from_config(hook, &user_agent)?);
    }
    Ok(endpoints)
}

fn user_agent(config: &Config) -> String {
    config
        .poll
        .user_agent
        .clone()
        .unwrap_or_else(|| fetch::DEFAULT_USER_AGENT.to_owned())
}

/// The one HTTP client of the fetch stage, with the config's limits and User-Agent.
pub fn fetcher(config: &Config) -> Result<Fetcher, fetch::Error> {
    Fetcher::new(Limits {
        timeout: config.poll.timeout,
        connect_timeout: config.poll.connect_timeout,
        max_body: config.poll.max_body,
        user_agent: user_agent(config),
    })
}

/// Opens the database (migrating it) and loads the seeds: what `migrate` does, and what every
/// start does first.
pub fn open_store(config: &Config) -> Result<Store, Error> {
    let mut store = Store::open(&config.database)?;
    load_seeds(&mut store, config)?;
    Ok(store)
}

fn load_seeds(store: &mut Store, config: &Config) -> Result<(), Error> {
    let now = Utc::now();
    for seed in seed::all_seeds(config.seeds.as_deref())? {
        let outcome = store.load_seed(
            &seed.name,
            &seed.item,
            seed.source.as_deref(),
            seed.language.as_deref(),
            now,
        )?;
        match outcome {
            SeedOutcome::Created(id) => {
                tracing::info!(seed = %seed.name, article_id = id.0, "loaded seed")
            }
            SeedOutcome::Revised(id) => {
                tracing::info!(seed = %seed.name, article_id = id.0, "seed edited: new revision")
            }
            SeedOutcome::Unchanged(_) => {}
        }
    }
    Ok(())
}

impl Context {
    /// Builds the context: store, seeds, feeds synced with the config, HTTP client, topic.
    pub fn start(config: Config) -> Result<Context, Error> {
        let store = open_store(&config)?;
        Context::build(
            config,
            Arc::new(Mutex::new(store)),
            Health::new("database"),
            Health::new("alert log"),
        )
    }

    /// [`Context::start`], patient with a database that is locked (an analyst's transaction)
    /// or on a full disk: waits and tries again, with one log line for the episode, until it
    /// starts or `shutdown` turns true (then `None`). Other errors are returned at once.
    pub async fn start_patiently(
        config: &Config,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<Option<Context>, Error> {
        let health = Health::new("database");
        let mut backoff = store::patience::Backoff::default();
        loop {
            let attempt = config.clone();
            let result = tokio::task::spawn_blocking(move || Context::start(attempt))
                .await
                .map_err(pipeline::Error::from)?;
            let error = match result {
                Ok(ctx) => {
                    health.recovered();
                    return Ok(Some(ctx));
                }
                Err(error) => error,
            };
            let busy = match &error {
                Error::Store(e) if e.is_transient() => e.is_busy(),
                _ => return Err(error),
            };
            health.failed(&error, busy);
            tokio::select! {
                _ = shutdown.wait_for(|stop| *stop) => return Ok(None),
                _ = tokio::time::sleep(backoff.next_wait()) => {}
            }
        }
    }

    /// A context for a reloaded config, on the same database: the seeds are read again, the
    /// feeds synced, the topic, HTTP client and webhooks rebuilt. Nothing changes when the new
    /// config is refused.
    pub fn reload(&self, config: Config) -> Result<Context, Error> {
        if config.database != self.config.database {
            return Err(Error::DatabaseMoved {
                from: self.config.database.clone(),
                to: config.database.clone(),
            });
        }
        load_seeds(&mut store::lock(&self.store), &config)?;
        let ctx = Context::build(
            config,
            Arc::clone(&self.store),
            Arc::clone(&self.db_health),
            Arc::clone(&self.log_health),
        )?;
        ctx.carry_over(&self.config)?;
        Ok(ctx)
    }

    /// Carries the schedule over from the `old` config. A feed whose interval changed has its
    /// next poll moved by the difference (and never later than the new interval from now), so
    /// a shorter interval takes effect now rather than after the old one; a feed in backoff keeps its backoff. When the
    /// topic or a feed's filter changed, the feed's validators are dropped: a `304 Not
    /// Modified` would otherwise keep items that are relevant now from being looked at again.
    fn carry_over(&self, old: &Config) -> Result<(), Error> {
        let topic_changed = self.config.topic != old.topic;
        let store = store::lock(&self.store);
        for feed in store.active_feeds()? {
            let (Some(now), Some(before)) = (
                self.feed_config(&feed),
                old.feeds.iter().find(|f| f.url.as_str() == feed.url),
            ) else {
                continue;
            };
            if topic_changed || now.filter != before.filter {
                store.forget_validators(feed.id)?;
            }
            let (Some(next), 0) = (feed.next_poll_at, feed.consecutive_failures) else {
                continue;
            };
            let to = now.interval(&self.config.poll);
            let from = before.interval(&old.poll);
            if to == from {
                continue;
            }
            let (Ok(to), Ok(from)) = (
                chrono::TimeDelta::from_std(to),
                chrono::TimeDelta::from_std(from),
            ) else {
                continue;
            };
            // The jitter was a share of the old interval: never wait longer than the new one.
            let latest = Utc::now() + to;
            let shifted = to
                .checked_sub(&from)
                .and_then(|delta| next.checked_add_signed(delta))
                .map_or(latest, |at| at.min(latest));
            store.set_next_poll(feed.id, shifted)?;
        }
        Ok(())
    }

    fn build(
        config: Config,
        store: store::SharedStore,
        db_health: Arc<Health>,
        log_health: Arc<Health>,
    ) -> Result<Context, Error> {
        let topic = Topic::new(&topic::Spec::from_config(&config.topic))?;
        let fetcher = fetcher(&config)?;
        let endpoints = webhook_endpoints(&config)?;
        let log_sink = config.alerts.log.clone().map(LogSink::new);
        let mut sinks: Vec<store::Sink> = log_sink
            .iter()
            .map(|_| store::Sink {
                name: LOG_SINK.to_owned(),
                kinds: AlertKind::ALL.to_vec(),
            })
            .collect();
        sinks.extend(endpoints.iter().map(Endpoint::sink));
        let ctx = Context {
            store,
            fetcher,
            topic: Arc::new(topic),
            sinks: Arc::new(sinks),
            log_sink,
            endpoints,
            wake: watch::channel(()).0,
            db_health,
            log_health,
            robots: fetch::RobotsCache::default(),
            page_hosts: pages::HostBackoff::default(),
            feed_index: config
                .feeds
                .iter()
                .enumerate()
                .map(|(i, feed)| (feed.url.to_string(), i))
                .collect(),
            config,
        };
        ctx.sync_feeds()?;
        Ok(ctx)
    }

    /// Makes the stored feeds and watched pages match the config; returns the active feeds.
    fn sync_feeds(&self) -> Result<Vec<FeedState>, Error> {
        let configured: Vec<(String, String)> = self
            .config
            .feeds
            .iter()
            .map(|f| (f.name.clone(), f.url.to_string()))
            .collect();
        let mut store = store::lock(&self.store);
        let feeds = store.sync_feeds(&configured)?;
        let watched: Vec<FeedId> = feeds
            .iter()
            .filter(|f| self.config.pages.enabled && self.feed_config(f).is_some_and(|c| c.pages))
            .map(|f| f.id)
            .collect();
        let started = store.sync_pages(&watched, Utc::now())?;
        if started > 0 {
            tracing::info!(
                pages = started,
                "watching the pages of articles tracked before"
            );
        }
        Ok(feeds)
    }

    /// The config of a stored feed, found by URL in the index built with the context: the
    /// scheduler asks for every feed at every turn, and a search would be quadratic.
    fn feed_config(&self, feed: &FeedState) -> Option<&FeedConfig> {
        self.feed_index
            .get(&feed.url)
            .and_then(|&i| self.config.feeds.get(i))
    }
}

/// What one pass did, for `poll`'s summary.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PassSummary {
    pub polled: u64,
    pub not_modified: u64,
    pub failed: u64,
    pub new_articles: u64,
    pub changed_articles: u64,
    pub delivered: u64,
    pub pages_checked: u64,
    /// Pages whose text changed enough for a `changed` alert.
    pub pages_changed: u64,
    /// Pages that this pass found gone (a `removed` alert).
    pub pages_removed: u64,
    pub pages_failed: u64,
}

/// Limits on requests in flight: feeds overall, pages overall, and per host.
struct Limiter {
    feeds: Arc<Semaphore>,
    pages: Arc<Semaphore>,
    per_host_limit: usize,
    hosts: Mutex<HashMap<String, HostSlots>>,
}

/// One host's slots: `per_host` shared by feeds and pages, and one for pages, so that pages
/// hold at most one of the shared slots.
#[derive(Clone)]
struct HostSlots {
    shared: Arc<Semaphore>,
    page: Arc<Semaphore>,
}

impl Limiter {
    fn new(config: &Config) -> Limiter {
        Limiter {
            feeds: Arc::new(Semaphore::new(config.poll.concurrency.max(1))),
            pages: Arc::new(Semaphore::new(config.pages.concurrency.max(1))),
            per_host_limit: config.poll.per_host.max(1),
            hosts: Mutex::new(HashMap::new()),
        }
    }

    fn host(&self, host: String) -> HostSlots {
        let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        hosts
            .entry(host)
            .or_insert_with(|| HostSlots {
                shared: Arc::new(Semaphore::new(self.per_host_limit)),
                page: Arc::new(Semaphore::new(1)),
            })
            .clone()
    }
}

/// Spawns the poll of one feed into `tasks`, waiting for its turn under the limits.
fn spawn_poll(
    tasks: &mut JoinSet<(FeedId, Result<Outcome, pipeline::Error>)>,
    ctx: &Arc<Context>,
    limiter: &Arc<Limiter>,
    feed: FeedState,
    config: FeedConfig,
) {
    let ctx = Arc::clone(ctx);
    let limiter = Arc::clone(limiter);
    tasks.spawn(async move {
        let id = feed.id;
        let host = limiter.host(crate::model::host_of(&config.url));
        // The semaphores are never closed, so acquiring cannot fail.
        let (Ok(_global), Ok(_host)) = (limiter.feeds.acquire().await, host.shared.acquire().await)
        else {
            return (id, Ok(Outcome::Failed("poll limiter closed".into())));
        };
        let name = feed.name.clone();
        let result = pipeline::poll_feed(ctx, feed, config).await;
        match &result {
            Ok(Outcome::Failed(error)) => {
                tracing::warn!(feed = %name, error = %error, "poll failed")
            }
            Ok(Outcome::Updated {
                items,
                new_articles,
                changed_articles,
            }) => tracing::info!(
                feed = %name,
                items,
                new = new_articles,
                changed = changed_articles,
                "polled"
            ),
            Ok(Outcome::NotModified) => tracing::debug!(feed = %name, "not modified"),
            Err(error) => tracing::error!(feed = %name, error = %error, "cannot record poll"),
        }
        (id, result)
    });
}

type PageTasks = JoinSet<(ArticleId, Result<PageOutcome, store::Error>)>;

/// Spawns the check of one page into `tasks`, waiting for its turn under the limits.
fn spawn_page(tasks: &mut PageTasks, ctx: &Arc<Context>, limiter: &Arc<Limiter>, page: PageState) {
    let ctx = Arc::clone(ctx);
    let limiter = Arc::clone(limiter);
    tasks.spawn(async move {
        let id = page.article;
        let host = limiter.host(page.host.clone());
        // The host's page slot first: pages queued for one host wait for it without holding
        // the budget that other hosts' pages need.
        let (Ok(_page), Ok(_budget), Ok(_host)) = (
            host.page.acquire().await,
            limiter.pages.acquire().await,
            host.shared.acquire().await,
        ) else {
            return (id, Ok(PageOutcome::Failed));
        };
        let url = page.url.clone();
        let result = pages::check_page(ctx, page).await;
        match &result {
            Ok(PageOutcome::Failed) => {
                tracing::debug!(article_id = id.0, url = %url, "page check failed")
            }
            Ok(PageOutcome::Revised { alerted: true }) => {
                tracing::info!(article_id = id.0, url = %url, "page changed")
            }
            Ok(PageOutcome::Gone { alerted: true }) => {
                tracing::info!(article_id = id.0, url = %url, "page removed")
            }
            Ok(outcome) => tracing::debug!(article_id = id.0, url = %url, ?outcome, "page checked"),
            Err(error) => {
                tracing::error!(article_id = id.0, error = %error, "cannot record page check")
            }
        }
        (id, result)
    });
}

fn tally_page(summary: &mut PassSummary, result: &Result<PageOutcome, store::Error>) {
    if let Ok(PageOutcome::Postponed) = result {
        return;
    }
    summary.pages_checked += 1;
    match result {
        Ok(PageOutcome::Revised { alerted: true }) => summary.pages_changed += 1,
        Ok(PageOutcome::Gone { alerted: true }) => summary.pages_removed += 1,
        Ok(PageOutcome::Failed) | Err(_) => summary.pages_failed += 1,
        Ok(_) => {}
    }
}

/// Whether a page check wrote an alert.
fn page_alerted(result: &Result<PageOutcome, store::Error>) -> bool {
    matches!(
        result,
        Ok(PageOutcome::Revised { alerted: true } | PageOutcome::Gone { alerted: true })
    )
}

/// How many page checks the loop keeps queued per slot of `pages.concurrency`: enough that a
/// slot never waits for the loop, few enough that 20,000 due pages are not 20,000 tasks.
const PAGE_QUEUE: usize = 2;

/// Checks every page due when the pass starts (every page still on its schedule with `all`),
/// including those of the articles this pass just found, each once, in batches by article
/// id, until none is left or `shutdown` turns true.
async fn page_pass(
    ctx: &Arc<Context>,
    limiter: &Arc<Limiter>,
    all: bool,
    summary: &mut PassSummary,
    shutdown: &mut watch::Receiver<bool>,
) -> Result<(), Error> {
    let batch = ctx.config.pages.concurrency * PAGE_QUEUE * 8;
    // Stored times are compared as text: a four-digit year keeps them comparable.
    let at = if all {
        Utc::now() + chrono::TimeDelta::days(365 * 1000)
    } else {
        Utc::now()
    };
    let mut after = ArticleId(0);
    loop {
        if *shutdown.borrow() {
            return Ok(());
        }
        let due =
            store::with_store(&ctx.store, move |s| s.due_pages_after(at, after, batch)).await?;
        let Some(last) = due.last() else {
            return Ok(());
        };
        after = last.article;
        let mut tasks = PageTasks::new();
        for page in due {
            spawn_page(&mut tasks, ctx, limiter, page);
        }
        loop {
            tokio::select! {
                joined = tasks.join_next() => match joined {
                    Some(Ok((_, result))) => tally_page(summary, &result),
                    Some(Err(error)) => tracing::error!(error = %error, "page task failed"),
                    None => break,
                },
                _ = shutdown.wait_for(|stop| *stop) => {
                    drain(&mut tasks, |(_, result)| tally_page(summary, &result)).await;
                    return Ok(());
                }
            }
        }
    }
}

/// Appends pending alerts to the alert log.
pub async fn deliver_alerts(ctx: &Arc<Context>) -> Result<u64, Error> {
    let Some(sink) = ctx.log_sink.clone() else {
        return Ok(0);
    };
    let store = Arc::clone(&ctx.store);
    let written =
        tokio::task::spawn_blocking(move || sink.deliver_pending(&mut store::lock(&store)))
            .await
            .map_err(pipeline::Error::from)??;
    Ok(written as u64)
}

fn tally(summary: &mut PassSummary, result: &Result<Outcome, pipeline::Error>) {
    summary.polled += 1;
    match result {
        Ok(Outcome::NotModified) => summary.not_modified += 1,
        Ok(Outcome::Updated {
            new_articles,
            changed_articles,
            ..
        }) => {
            summary.new_articles += new_articles;
            summary.changed_articles += changed_articles;
        }
        Ok(Outcome::Failed(_)) | Err(_) => summary.failed += 1,
    }
}

/// Waits for in-flight tasks up to [`SHUTDOWN_GRACE`], then abandons the rest; `done` sees
/// each that finished.
async fn drain<T: 'static>(tasks: &mut JoinSet<T>, mut done: impl FnMut(T)) {
    let deadline = tokio::time::Instant::now() + SHUTDOWN_GRACE;
    while !tasks.is_empty() {
        match tokio::time::timeout_at(deadline, tasks.join_next()).await {
            Ok(Some(Ok(result))) => done(result),
            Ok(Some(Err(error))) => tracing::error!(error = %error, "task failed"),
            Ok(None) => break,
            Err(_) => {
                tracing::warn!(
                    abandoned = tasks.len(),
                    "stopping: abandoning work in flight"
                );
                tasks.abort_all();
                while tasks.join_next().await.is_some() {}
                break;
            }
        }
    }
}

/// One pass over the feeds that are due (every active feed with `all`), then the pages that
/// are due (every page on its schedule with `all`), then the outbox.
/// Stops early, like `run`, when `shutdown` turns true.
pub async fn poll_pass(
    ctx: Arc<Context>,
    all: bool,
    mut shutdown: watch::Receiver<bool>,
) -> Result<PassSummary, Error> {
    let limiter = Arc::new(Limiter::new(&ctx.config));
    let mut summary = poll_feeds(&ctx, &limiter, all, &mut shutdown).await?;
    if ctx.config.pages.enabled {
        page_pass(&ctx, &limiter, all, &mut summary, &mut shutdown).await?;
    }
    summary.delivered = deliver_alerts(&ctx).await?;
    let mut workers = spawn_webhooks(&ctx, webhook::Mode::UntilIdle, shutdown);
    while let Some(joined) = workers.join_next().await {
        match joined {
            Ok(Ok(n)) => summary.delivered += n,
            Ok(Err(error)) => tracing::error!(error = %error, "webhook delivery stopped"),
            Err(error) => tracing::error!(error = %error, "webhook task failed"),
        }
    }
    Ok(summary)
}

/// The page half of [`poll_pass`] alone, without delivering alerts: every page due (every
/// page on its schedule with `all`). The benchmark measures pages with it.
pub async fn check_pages(
    ctx: &Arc<Context>,
    all: bool,
    mut shutdown: watch::Receiver<bool>,
) -> Result<PassSummary, Error> {
    let limiter = Arc::new(Limiter::new(&ctx.config));
    let mut summary = PassSummary::default();
    page_pass(ctx, &limiter, all, &mut summary, &mut shutdown).await?;
    Ok(summary)
}

/// The feed half of [`poll_pass`] alone, without delivering alerts. The benchmark measures
/// feeds with it.
pub async fn poll_feeds_only(
    ctx: &Arc<Context>,
    all: bool,
    mut shutdown: watch::Receiver<bool>,
) -> Result<PassSummary, Error> {
    let limiter = Arc::new(Limiter::new(&ctx.config));
    poll_feeds(ctx, &limiter, all, &mut shutdown).await
}

/// Polls the feeds that are due (every active one with `all`) under `limiter`.
async fn poll_feeds(
    ctx: &Arc<Context>,
    limiter: &Arc<Limiter>,
    all: bool,
    shutdown: &mut watch::Receiver<bool>,
) -> Result<PassSummary, Error> {
    let feeds = ctx.sync_feeds()?;
    let mut tasks = JoinSet::new();
    let now = Utc::now();
    for feed in feeds {
        let Some(config) = ctx.feed_config(&feed) else {
            continue;
        };
        if all || scheduler::is_due(feed.next_poll_at, now, config.interval(&ctx.config.poll)) {
            let config = config.clone();
            spawn_poll(&mut tasks, ctx, limiter, feed, config);
        }
    }
    let mut summary = PassSummary::default();
    loop {
        tokio::select! {
            joined = tasks.join_next() => match joined {
                Some(Ok((_, result))) => tally(&mut summary, &result),
                Some(Err(error)) => tracing::error!(error = %error, "poll task failed"),
                None => break,
            },
            _ = shutdown.wait_for(|stop| *stop) => {
                drain(&mut tasks, |(_, result)| tally(&mut summary, &result)).await;
                break;
            }
        }
    }
    Ok(summary)
}

/// One delivery task per webhook endpoint, so a slow or dead endpoint delays no other sink.
fn spawn_webhooks(
    ctx: &Arc<Context>,
    mode: webhook::Mode,
    shutdown: watch::Receiver<bool>,
) -> JoinSet<Result<u64, store::Error>> {
    let mut workers = JoinSet::new();
    for endpoint in &ctx.endpoints {
        workers.spawn(webhook::deliver(
            endpoint.clone(),
            Arc::clone(&ctx.store),
            mode,
            Arc::clone(&ctx.db_health),
            ctx.wake.subscribe(),
            shutdown.clone(),
        ));
    }
    workers
}

/// How soon a write refused by a locked database or a full disk is tried again by the loop
/// (pending alert log lines, the schedule).
const RETRY: Duration = Duration::from_secs(1);

/// How often the write-ahead log is checkpointed and its size checked.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(60);

/// Polls on schedule until `shutdown` turns true; then takes no new work, lets polls in flight
/// finish within [`SHUTDOWN_GRACE`], delivers what they produced and returns. Each message on
/// `reload` reloads the config from its file; a config that does not load is refused with one
/// log line and the running one stays in force.
pub async fn run(
    mut ctx: Arc<Context>,
    mut shutdown: watch::Receiver<bool>,
    mut reload: tokio::sync::mpsc::Receiver<()>,
) -> Result<(), Error> {
    let mut limiter = Arc::new(Limiter::new(&ctx.config));
    let mut tasks = JoinSet::new();
    let mut in_flight: HashSet<FeedId> = HashSet::new();
    let mut page_tasks = PageTasks::new();
    let mut pages_in_flight: HashSet<ArticleId> = HashSet::new();
    let mut summary = PassSummary::default();
    repair_log(&ctx).await;
    // Alerts committed before a crash are delivered first.
    // When alert log lines are left behind, the moment to try them again: kept across turns
    // of the loop, which wakes more often than that.
    let mut log_retry = retry_after_failure(deliver_log(&ctx).await);
    let (mut workers_stop, mut webhooks) = start_webhooks(&ctx);
    let mut watchdog = systemd::watchdog_period().map(tokio::time::interval);
    let mut checkpoint = tokio::time::interval(CHECKPOINT_EVERY);
    let mut wal_warned = false;
    systemd::ready(&status_line(&ctx, &summary).await);
    tracing::info!(feeds = ctx.config.feeds.len(), "storywatch running");
    let mut clock = scheduler::Clock::new(Utc::now(), std::time::Instant::now());
    // The feeds are looked at when one of them may have become due: at the deadline the last
    // look computed, and after a poll, a reload or a move of the clock; not after every page
    // check, which come hundreds a second and change no feed's schedule.
    let mut feeds_at = tokio::time::Instant::now();
    let mut scan_feeds = true;
    loop {
        let now = Utc::now();
        if let Some(back) = clock.moved_back(now, std::time::Instant::now()) {
            tracing::warn!(
                by_s = back.num_seconds(),
                "the clock moved back: moving the schedule back with it"
            );
            let moved = store::patience::write(&ctx.store, &ctx.db_health, move |s| {
                s.shift_schedule(-back)
            });
            tokio::select! {
                _ = shutdown.wait_for(|stop| *stop) => break,
                moved = moved => { moved?; }
            }
            scan_feeds = true;
        }
        if scan_feeds || tokio::time::Instant::now() >= feeds_at {
            scan_feeds = false;
            // The longest until the next look: shortened below to the next poll due.
            let (feeds, mut wait) = match store::with_store(&ctx.store, |s| s.active_feeds()).await
            {
                Ok(feeds) => (feeds, MAX_SLEEP),
                Err(error) if error.is_transient() => {
                    ctx.db_health.failed(&error, error.is_busy());
                    (Vec::new(), RETRY)
                }
                Err(error) => return Err(error.into()),
            };
            for feed in feeds {
                if in_flight.contains(&feed.id) {
                    continue;
                }
                let Some(config) = ctx.feed_config(&feed) else {
                    continue;
                };
                let interval = config.interval(&ctx.config.poll);
                if scheduler::is_due(feed.next_poll_at, now, interval) {
                    in_flight.insert(feed.id);
                    let config = config.clone();
                    spawn_poll(&mut tasks, &ctx, &limiter, feed, config);
                } else if let Some(next) = feed.next_poll_at {
                    wait = wait.min((next - now).to_std().unwrap_or(Duration::ZERO));
                }
            }
            feeds_at = tokio::time::Instant::now() + wait;
        }
        // The longest this turn sleeps: until the next look at the feeds, or the next page.
        let mut sleep = feeds_at.saturating_duration_since(tokio::time::Instant::now());
        if ctx.config.pages.enabled {
            match schedule_pages(&ctx, &limiter, &mut page_tasks, &mut pages_in_flight).await {
                Ok(Some(next)) => {
                    sleep = sleep.min((next - Utc::now()).to_std().unwrap_or(Duration::ZERO));
                }
                Ok(None) => {}
                Err(error) if error.is_transient() => {
                    ctx.db_health.failed(&error, error.is_busy());
                    sleep = sleep.min(RETRY);
                }
                Err(error) => return Err(error.into()),
            }
        }
        tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => break,
            Some(joined) = tasks.join_next() => {
                match joined {
                    Ok((id, result)) => {
                        in_flight.remove(&id);
                        scan_feeds = true;
                        tally(&mut summary, &result);
                        if let Ok(Outcome::Updated { .. }) = result {
                            ctx.wake.send_replace(());
                            log_retry = retry_after_failure(deliver_log(&ctx).await);
                        }
                        systemd::status(&status_line(&ctx, &summary).await);
                    }
                    // A panicked poll: its feed stays in flight for the rest of this run
                    // rather than being polled in a loop; the error says which task.
                    Err(error) => tracing::error!(error = %error, "poll task failed"),
                }
            }
            Some(joined) = page_tasks.join_next() => {
                match joined {
                    Ok((id, result)) => {
                        pages_in_flight.remove(&id);
                        tally_page(&mut summary, &result);
                        if page_alerted(&result) {
                            ctx.wake.send_replace(());
                            log_retry = retry_after_failure(deliver_log(&ctx).await);
                        }
                    }
                    // As a panicked poll: the page stays in flight for the rest of this run.
                    Err(error) => tracing::error!(error = %error, "page task failed"),
                }
            }
            Some(()) = reload.recv() => {
                systemd::reloading();
                match crate::config::load(&ctx.config.path).map_err(|e| e.to_string()).and_then(|config| ctx.reload(config).map_err(|e| e.to_string())) {
                    Ok(new) => {
                        ctx = Arc::new(new);
                        scan_feeds = true;
                        limiter = Arc::new(Limiter::new(&ctx.config));
                        // Webhook workers restart with the new endpoints; an attempt cut short
                        // stays pending and is made again.
                        let _ = workers_stop.send(true);
                        webhooks.abort_all();
                        (workers_stop, webhooks) = start_webhooks(&ctx);
                        tracing::info!(feeds = ctx.config.feeds.len(), "config reloaded");
                    }
                    Err(error) => tracing::error!(error = %error, "config reload refused; the running config stays in force"),
                }
                systemd::ready(&status_line(&ctx, &summary).await);
            }
            _ = tick(&mut watchdog) => {
                // Sent from the scheduler loop, and only when the database answers: a stuck
                // loop or database is what the watchdog is for.
                if store::with_store(&ctx.store, |s| s.ping()).await.is_ok() {
                    systemd::watchdog();
                }
            }
            _ = checkpoint.tick() => {
                let warn_at = ctx.config.wal_warn_size;
                match store::with_store(&ctx.store, |s| s.checkpoint()).await {
                    Ok(bytes) if bytes > warn_at && !wal_warned => {
                        wal_warned = true;
                        tracing::warn!(backlog_bytes = bytes, limit = warn_at, "the write-ahead log keeps growing: a reader is holding a transaction open; keep queries short (sqlite3 -readonly)");
                    }
                    Ok(bytes) if bytes <= warn_at => wal_warned = false,
                    Ok(_) => {}
                    Err(error) => tracing::warn!(error = %error, "checkpoint failed"),
                }
            }
            _ = tokio::time::sleep_until(log_retry.unwrap_or_else(tokio::time::Instant::now)), if log_retry.is_some() => {
                log_retry = retry_after_failure(deliver_log(&ctx).await);
            }
            _ = tokio::time::sleep(sleep) => {}
        }
    }
    systemd::stopping();
    tracing::info!(
        in_flight = tasks.len(),
        pages_in_flight = page_tasks.len(),
        "stopping"
    );
    // Both drained at once, within one grace period; pages tallied apart, then added.
    let mut pages_summary = PassSummary::default();
    tokio::join!(
        drain(&mut tasks, |(_, result)| tally(&mut summary, &result)),
        drain(&mut page_tasks, |(_, result)| tally_page(
            &mut pages_summary,
            &result
        )),
    );
    summary.pages_checked += pages_summary.pages_checked;
    summary.pages_changed += pages_summary.pages_changed;
    summary.pages_removed += pages_summary.pages_removed;
    summary.pages_failed += pages_summary.pages_failed;
    deliver_log(&ctx).await;
    // Webhook workers saw the stop too; one in the middle of an attempt gets the grace period
    // (its delivery stays pending if abandoned: at least once, never lost).
    let _ = workers_stop.send(true);
    let deadline = tokio::time::Instant::now() + SHUTDOWN_GRACE;
    while let Ok(Some(_)) = tokio::time::timeout_at(deadline, webhooks.join_next()).await {}
    webhooks.abort_all();
    tracing::info!(
        polled = summary.polled,
        new = summary.new_articles,
        changed = summary.changed_articles,
        failed = summary.failed,
        "stopped"
    );
    Ok(())
}

/// Spawns the checks of due pages that are not in flight, keeping at most [`PAGE_QUEUE`]
/// per slot of `pages.concurrency` queued; returns when the next page not yet spawned is
/// due, for the loop's sleep (`None`: none is scheduled, or the queue is full and a finished
/// check wakes the loop).
async fn schedule_pages(
    ctx: &Arc<Context>,
    limiter: &Arc<Limiter>,
    tasks: &mut PageTasks,
    in_flight: &mut HashSet<ArticleId>,
) -> Result<Option<chrono::DateTime<Utc>>, store::Error> {
    let room = (ctx.config.pages.concurrency * PAGE_QUEUE).saturating_sub(in_flight.len());
    if room == 0 {
        return Ok(None);
    }
    let limit = room + in_flight.len();
    let due = store::with_store(&ctx.store, move |s| s.due_pages(Utc::now(), limit)).await?;
    let mut spawned = 0;
    for page in due {
        if spawned < room && in_flight.insert(page.article) {
            spawn_page(tasks, ctx, limiter, page);
            spawned += 1;
        }
    }
    if spawned == room {
        return Ok(None);
    }
    store::with_store(&ctx.store, |s| s.next_page_due_after(Utc::now())).await
}

/// The webhook workers of `ctx`, with the sender that stops them.
fn start_webhooks(ctx: &Arc<Context>) -> (watch::Sender<bool>, JoinSet<Result<u64, store::Error>>) {
    let (stop, stopped) = watch::channel(false);
    let workers = spawn_webhooks(ctx, webhook::Mode::Forever, stopped);
    (stop, workers)
}

/// Waits for the next watchdog tick, or forever when systemd asked for no watchdog.
async fn tick(interval: &mut Option<tokio::time::Interval>) {
    match interval {
        Some(interval) => {
            interval.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// The one-line `STATUS=` summary: feeds, the last pass, pending alerts.
async fn status_line(ctx: &Context, summary: &PassSummary) -> String {
    let pending = store::with_store(&ctx.store, |s| s.pending_count())
        .await
        .map_or_else(|_| "?".to_owned(), |n| n.to_string());
    format!(
        "{} feeds; {} polls ({} failed), {} new and {} changed articles, {} page checks ({} changed, {} removed) since start; {} deliveries pending",
        ctx.config.feeds.len(),
        summary.polled,
        summary.failed,
        summary.new_articles,
        summary.changed_articles,
        summary.pages_checked,
        summary.pages_changed,
        summary.pages_removed,
        pending
    )
}

/// Cuts a line torn by a crash off the alert log before anything else happens. A log that
/// cannot be repaired now is reported, and repaired (or reported) again at the next append.
async fn repair_log(ctx: &Context) {
    let Some(sink) = ctx.log_sink.clone() else {
        return;
    };
    match tokio::task::spawn_blocking(move || sink.repair()).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            tracing::warn!(sink = LOG_SINK, error = %error, "cannot repair the alert log")
        }
        Err(error) => tracing::warn!(sink = LOG_SINK, error = %error, "alert log repair stopped"),
    }
}

/// When to try again after an attempt that left work `behind`: after [`RETRY`], or never.
fn retry_after_failure(behind: bool) -> Option<tokio::time::Instant> {
    behind.then(|| tokio::time::Instant::now() + RETRY)
}

/// Appends pending alerts to the alert log; returns whether some are left behind, to be
/// retried after [`RETRY`]. A failure is reported to the health of what failed (the log's
/// disk or the database), so an episode is logged once however often it is retried.
async fn deliver_log(ctx: &Arc<Context>) -> bool {
    match deliver_alerts(ctx).await {
        Ok(n) => {
            if n > 0 {
                tracing::debug!(sink = LOG_SINK, delivered = n, "alerts delivered");
                ctx.db_health.recovered();
            }
            ctx.log_health.recovered();
            false
        }
        Err(error @ Error::Alert(alert::Error::Log { .. })) => {
            ctx.log_health.failed(&error, false);
            true
        }
        Err(Error::Alert(alert::Error::Store(error))) if error.is_transient() => {
            ctx.db_health.failed(&error, error.is_busy());
            true
        }
        Err(error) => {
            tracing::warn!(sink = LOG_SINK, error = %error, "alert delivery failed");
            true
        }
    }
}
