//! The store: the only module that holds SQL.
//!
//! It takes plain data from the other stages (feed states, normalized items with their topic
//! verdict, fetch outcomes, alert deliveries) and keeps them in one SQLite file in WAL mode, so
//! that analysts can read it with `sqlite3` while the daemon writes. One [`Store`] owns the
//! write connection; read-only commands open their own connection with [`Store::open_read_only`],
//! or a [`Reader`] for the read commands (`feeds`, `articles`, `history`, `diff`).
//!
//! Migrations are the numbered files in `migrations/`, embedded in the binary, applied in
//! order inside a transaction each and recorded in `schema_migrations`; a database written by
//! a newer binary is refused rather than guessed at.

mod articles;
mod export;
mod feeds;
mod outbox;
mod pages;
pub mod patience;
mod read;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior};

pub use articles::{Candidate, FeedWrite, SeedOutcome};
pub use export::{AlertChange, RevisionText};
pub use feeds::{FeedState, FetchRecord};
pub use outbox::{DeliveryRow, PendingAlert, PendingDiff, QueueHead, Sink, list_deliveries};
pub use pages::{GONE_AFTER, PageCheck, PageOutcome, PageState, PageText, PageWrite};
pub use read::{
    ArticleFilter, ArticleInfo, ArticleRow, FeedHealth, PageFilter, PageHealth, Reader,
    RevisionRow, baseline,
};

/// Errors of the store stage.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot create the database folder {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open database {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error(
        "database {path} has schema version {found}, newer than this storywatch supports ({supported}); \
         run a newer storywatch or restore a backup"
    )]
    NewerSchema {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error(
        "database {path} has schema version {found}, older than this storywatch reads ({needed}); \
         run `storywatch migrate` (or restart the daemon) to upgrade it"
    )]
    OlderSchema {
        path: PathBuf,
        found: i64,
        needed: i64,
    },
    #[error("migration {number} ({name}) failed: {source}")]
    Migration {
        number: i64,
        name: &'static str,
        source: rusqlite::Error,
    },
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("a database task stopped unexpectedly: {0}")]
    Task(#[from] tokio::task::JoinError),
}

impl Error {
    /// Whether the error is the database's passing state rather than a fault of the data or
    /// the code: locked by another connection (an analyst's transaction), the disk full, an
    /// I/O error. The same write succeeds once the state passes, so the daemon waits and
    /// retries it instead of giving up (see [`patience`]).
    pub fn is_transient(&self) -> bool {
        let sqlite = match self {
            Error::Open { source, .. }
            | Error::Migration { source, .. }
            | Error::Sqlite(source) => source,
            Error::CreateDir { source, .. } => {
                return source.kind() == std::io::ErrorKind::StorageFull;
            }
            _ => return false,
        };
        matches!(
            sqlite.sqlite_error_code(),
            Some(
                ErrorCode::DatabaseBusy
                    | ErrorCode::DatabaseLocked
                    | ErrorCode::DiskFull
                    | ErrorCode::SystemIoFailure
            )
        )
    }

    /// Whether the error is another connection holding the database's write lock.
    pub fn is_busy(&self) -> bool {
        matches!(
            self,
            Error::Open { source, .. } | Error::Migration { source, .. } | Error::Sqlite(source)
                if matches!(
                    source.sqlite_error_code(),
                    Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
                )
        )
    }
}

/// The write connection as the async parts share it.
pub type SharedStore = std::sync::Arc<std::sync::Mutex<Store>>;

/// Runs `f` on the write connection on a blocking thread: SQLite calls block, and must not
/// stall the async workers.
pub async fn with_store<T, F>(store: &SharedStore, f: F) -> Result<T, Error>
where
    T: Send + 'static,
    F: FnOnce(&mut Store) -> Result<T, Error> + Send + 'static,
{
    let store = std::sync::Arc::clone(store);
    tokio::task::spawn_blocking(move || f(&mut lock(&store))).await?
}

/// Locks the store. A panic while holding the lock cannot leave a transaction half applied
/// (rusqlite rolls back on drop), so a poisoned lock is safe to take over.
pub fn lock(store: &std::sync::Mutex<Store>) -> std::sync::MutexGuard<'_, Store> {
    store
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One embedded migration.
struct Migration {
    number: i64,
    name: &'static str,
    sql: &'static str,
}

/// Every migration this binary knows, in order. A new file in `migrations/` is added here.
const MIGRATIONS: &[Migration] = &[
    Migration {
        number: 1,
        name: "0001_core",
        sql: include_str!("../../migrations/0001_core.sql"),
    },
    Migration {
        number: 2,
        name: "0002_topic_score",
        sql: include_str!("../../migrations/0002_topic_score.sql"),
    },
    Migration {
        number: 3,
        name: "0003_views",
        sql: include_str!("../../migrations/0003_views.sql"),
    },
    Migration {
        number: 4,
        name: "0004_feed_body_hash",
        sql: include_str!("../../migrations/0004_feed_body_hash.sql"),
    },
    Migration {
        number: 5,
        name: "0005_pages",
        sql: include_str!("../../migrations/0005_pages.sql"),
    },
];

/// How long a read-only command waits for a lock held by another connection (a checkpoint
/// resetting the log) before it reports `SQLITE_BUSY`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// How long one write waits for the write lock held by another connection (an analyst's
/// `BEGIN IMMEDIATE`). Short, so the write connection is not tied up for long: the daemon
/// retries the write (see [`patience`]) and answers the watchdog between attempts.
const WRITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The write side of the database.
pub struct Store {
    conn: Connection,
}

impl Store {
    /// Opens (creating it and its folder if missing) the database at `path` and applies every
    /// pending migration.
    pub fn open(path: &Path) -> Result<Store, Error> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| Error::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let conn = Connection::open(path).map_err(|source| Error::Open {
            path: path.to_path_buf(),
            source,
        })?;
        conn.busy_timeout(WRITE_BUSY_TIMEOUT)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // NORMAL is durable across application crashes in WAL mode; only a power loss can
        // take back the last transactions, and the outbox makes that harmless.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // After a checkpoint resets the WAL, truncate it back to this size rather than keep
        // the high-water mark on disk.
        conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
        // Checkpoint every 32 MiB of log rather than SQLite's 4 MiB: the writer dirties the
        // same index pages (article keys, alert ids) commit after commit, and each checkpoint
        // copies every page once however often it changed. A feed write went from 2.9 to 2.1 ms
        // (`cargo bench --bench stages -- store`); 64 MiB gained nothing more.
        conn.pragma_update(None, "wal_autocheckpoint", 8192)?;
        let mut store = Store { conn };
        store.migrate(path)?;
        Ok(store)
    }

    /// Opens the database read-only, for the read commands. It must already exist and be of a
    /// schema this binary knows.
    pub fn open_read_only(path: &Path) -> Result<Connection, Error> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|source| Error::Open {
            path: path.to_path_buf(),
            source,
        })?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        known_schema_version(&conn, path)?;
        Ok(conn)
    }

    /// Answers when the database does: the watchdog's proof of life.
    pub fn ping(&self) -> Result<(), Error> {
        self.conn.query_row("SELECT 1", [], |_| Ok(()))?;
        Ok(())
    }

    /// Copies what it can of the write-ahead log into the database without waiting for
    /// readers (a passive checkpoint), and returns the bytes it could not copy yet. A reader
    /// holding a transaction open pins what was written after its snapshot, so this backlog
    /// (and the WAL file) grows until the reader lets go; then it falls to zero, the WAL is
    /// reused from its start, and `journal_size_limit` cuts the file back.
    pub fn checkpoint(&self) -> Result<u64, Error> {
        let (log, copied): (i64, i64) =
            self.conn
                .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                    Ok((r.get(1)?, r.get(2)?))
                })?;
        let page_size: i64 = self.conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
        Ok(u64::try_from((log - copied).max(0) * page_size).unwrap_or(0))
    }

    fn migrate(&mut self, path: &Path) -> Result<(), Error> {
        self.conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version    INTEGER PRIMARY KEY,
                 name       TEXT NOT NULL,
                 applied_at TEXT NOT NULL
             )",
        )?;
        let found = known_schema_version(&self.conn, path)?;
        if found >= latest_migration() {
            return Ok(());
        }
        // Foreign keys are off while migrations run, as SQLite's procedure for rebuilding a
        // table asks (it cannot be changed inside a transaction); each migration checks them
        // before it commits.
        self.conn.pragma_update(None, "foreign_keys", "OFF")?;
        let applied = self.apply_migrations(found);
        self.conn.pragma_update(None, "foreign_keys", "ON")?;
        applied
    }

    fn apply_migrations(&mut self, found: i64) -> Result<(), Error> {
        for migration in MIGRATIONS.iter().filter(|m| m.number > found) {
            let wrap = |source| Error::Migration {
                number: migration.number,
                name: migration.name,
                source,
            };
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(wrap)?;
            tx.execute_batch(migration.sql).map_err(wrap)?;
            let broken: Option<String> = tx
                .query_row("PRAGMA foreign_key_check", [], |r| r.get(0))
                .optional()
                .map_err(wrap)?;
            if let Some(table) = broken {
                return Err(wrap(rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY),
                    Some(format!(
                        "a row of {table} refers to a row that does not exist"
                    )),
                )));
            }
            tx.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
                rusqlite::params![
                    migration.number,
                    migration.name,
                    crate::model::format_time(chrono::Utc::now())
                ],
            )
            .map_err(wrap)?;
            tx.commit().map_err(wrap)?;
            tracing::info!(migration = migration.name, "applied migration");
        }
        Ok(())
    }
}

fn latest_migration() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.number)
}

/// The highest applied migration, refused when it is newer than this binary knows.
fn known_schema_version(conn: &Connection, path: &Path) -> Result<i64, Error> {
    let found = schema_version(conn)?;
    let supported = latest_migration();
    if found > supported {
        return Err(Error::NewerSchema {
            path: path.to_path_buf(),
            found,
            supported,
        });
    }
    Ok(found)
}

/// The highest applied migration, 0 for a new database.
fn schema_version(conn: &Connection) -> Result<i64, rusqlite::Error> {
    let has_table: Option<i64> = conn
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
            [],
            |row| row.get(0),
        )
        .optional()?;
    if has_table.is_none() {
        return Ok(0);
    }
    conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        [],
        |row| row.get(0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_rows(store: &Store, n: i64) {
        let first: i64 = store
            .conn
            .query_row("SELECT count(*) FROM feeds", [], |r| r.get(0))
            .expect("count");
        for i in first..first + n {
            store
                .conn
                .execute(
                    "INSERT INTO feeds (name, url) VALUES (?1, ?2)",
                    (
                        format!("f{i}"),
                        format!("https://x.example/{i}/{}", "p".repeat(2000)),
                    ),
                )
                .expect("insert");
        }
    }

    #[test]
    fn a_held_reader_grows_the_checkpoint_backlog_until_it_lets_go() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("db.sqlite");
        let store = Store::open(&path).expect("open");
        write_rows(&store, 10);
        store.checkpoint().expect("checkpoint");

        let reader = Connection::open(&path).expect("reader");
        reader.execute_batch("BEGIN").expect("begin");
        let _: i64 = reader
            .query_row("SELECT count(*) FROM feeds", [], |r| r.get(0))
            .expect("read");
        let mut backlog = Vec::new();
        for _ in 0..3 {
            write_rows(&store, 200);
            backlog.push(store.checkpoint().expect("checkpoint"));
        }
        assert!(backlog[0] > 200 * 2000, "{backlog:?}");
        assert!(backlog.windows(2).all(|w| w[1] > w[0]), "{backlog:?}");

        reader.execute_batch("COMMIT").expect("commit");
        drop(reader);
        assert_eq!(store.checkpoint().expect("checkpoint"), 0);
    }
}
