//! Patience with a database, or a disk, that is briefly unavailable.
//!
//! An analyst's `sqlite3` holding `BEGIN IMMEDIATE`, a full disk, an I/O error: these pass,
//! and the write that met them succeeds afterwards. [`write`] retries such a write (a
//! [`Error::is_transient`] error) with a short, capped backoff until it succeeds, holding its
//! data meanwhile, so nothing fetched is dropped and nothing stored is touched. A [`Health`]
//! turns a run of failures into an *episode*: one log line when it starts, one when it ends,
//! however many tasks and attempts met it.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{Error, SharedStore, Store, lock};

/// The first wait after a failed attempt; it doubles up to [`MAX_WAIT`].
const FIRST_WAIT: Duration = Duration::from_millis(50);

/// The longest wait between attempts: once the fault passes, the backlog is written within
/// about this long (plus, for a lock, nothing: SQLite's busy handler sees the release).
const MAX_WAIT: Duration = Duration::from_secs(1);

/// The waits between attempts: [`FIRST_WAIT`], doubling up to [`MAX_WAIT`].
#[derive(Debug)]
pub struct Backoff(Duration);

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff(FIRST_WAIT)
    }
}

impl Backoff {
    /// The wait before the next attempt.
    pub fn next_wait(&mut self) -> Duration {
        let wait = self.0;
        self.0 = (wait * 2).min(MAX_WAIT);
        wait
    }
}

/// The state of one resource (the database, the alert log) over a run: fine, or in an
/// episode of failures since a moment. Shared by every task that uses the resource.
#[derive(Debug)]
pub struct Health {
    resource: &'static str,
    episode: Mutex<Option<Instant>>,
}

impl Health {
    pub fn new(resource: &'static str) -> Arc<Health> {
        Arc::new(Health {
            resource,
            episode: Mutex::new(None),
        })
    }

    /// Records a failure; logs it only when it starts an episode. `busy` failures (another
    /// connection's lock) are a warning, anything else an error.
    pub fn failed(&self, error: &dyn std::fmt::Display, busy: bool) {
        let mut episode = self.episode.lock().unwrap_or_else(|p| p.into_inner());
        if episode.is_some() {
            tracing::debug!(resource = self.resource, error = %error, "still failing");
            return;
        }
        *episode = Some(Instant::now());
        if busy {
            tracing::warn!(resource = self.resource, error = %error, "locked by another connection: waiting for it, retrying");
        } else {
            tracing::error!(resource = self.resource, error = %error, "cannot write: keeping what is pending and retrying until it can");
        }
    }

    /// Records a success; logs the end of an episode, if one was running.
    pub fn recovered(&self) {
        let mut episode = self.episode.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(since) = episode.take() {
            tracing::info!(
                resource = self.resource,
                after_ms = u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX),
                "writable again"
            );
        }
    }

    /// Whether an episode is running.
    #[cfg(test)]
    fn failing(&self) -> bool {
        self.episode
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }
}

/// Runs `f` on the write connection (on a blocking thread, as [`super::with_store`]) until it
/// succeeds or fails for good: a transient failure is reported to `health` and the same `f`,
/// still holding its data, is tried again after a wait. Cancelling the future between attempts
/// is safe: an attempt's transaction either committed or rolled back.
pub async fn write<T, F>(store: &SharedStore, health: &Health, mut f: F) -> Result<T, Error>
where
    T: Send + 'static,
    F: FnMut(&mut Store) -> Result<T, Error> + Send + 'static,
{
    let mut backoff = Backoff::default();
    loop {
        let shared = Arc::clone(store);
        let (back, result) = tokio::task::spawn_blocking(move || {
            let result = f(&mut lock(&shared));
            (f, result)
        })
        .await?;
        match result {
            Ok(value) => {
                health.recovered();
                return Ok(value);
            }
            Err(error) if error.is_transient() => {
                health.failed(&error, error.is_busy());
                f = back;
                tokio::time::sleep(backoff.next_wait()).await;
            }
            Err(error) => return Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_write_locked_out_by_another_connection_waits_and_then_lands() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("db.sqlite");
        let store: SharedStore = Arc::new(Mutex::new(Store::open(&path).expect("open")));
        let analyst = rusqlite::Connection::open(&path).expect("analyst");
        analyst.execute_batch("BEGIN IMMEDIATE").expect("lock");
        let health = Health::new("database");

        let writer = tokio::spawn({
            let (store, health) = (Arc::clone(&store), Arc::clone(&health));
            async move {
                write(&store, &health, |s| {
                    s.sync_feeds(&[("A".into(), "http://127.0.0.1/a".into())])
                })
                .await
            }
        });
        // One attempt waits WRITE_BUSY_TIMEOUT; the lock outlasts it, so a retry is needed.
        let deadline = Instant::now() + Duration::from_secs(60);
        while !health.failing() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(health.failing(), "the lock should have started an episode");
        assert!(!writer.is_finished());
        analyst.execute_batch("COMMIT").expect("release");

        let feeds = writer.await.expect("join").expect("write lands");
        assert_eq!(feeds.len(), 1);
        assert!(!health.failing(), "the episode ends with the write");
    }

    #[tokio::test]
    async fn a_permanent_error_is_returned_at_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store: SharedStore = Arc::new(Mutex::new(
            Store::open(&dir.path().join("db.sqlite")).expect("open"),
        ));
        let health = Health::new("database");
        let error = write(&store, &health, |s| {
            s.ping()?;
            Err::<(), _>(Error::Sqlite(rusqlite::Error::InvalidQuery))
        })
        .await
        .expect_err("not retried");
        assert!(!error.is_transient());
        assert!(!health.failing());
    }
}
