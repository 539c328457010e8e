//! Storage faults and a moving clock under the real `storywatch run`: an analyst's
//! `BEGIN IMMEDIATE` held for 30 s (while the daemon runs, and while it starts), the disk under
//! the database and alert log full (a 4 MiB tmpfs: mounting needs root, so these skip with a
//! printed reason otherwise; CI runs as root), and the wall clock moved a day back and forward
//! (libfaketime, which CI installs; skipped with a reason when it is missing).
//!
//! What must hold: the daemon never exits, logs one line when an episode starts, writes its
//! backlog by itself once the fault passes, and loses no alert on the way. The figures the
//! closing note quotes are printed with `eprintln!` (`cargo test faults -- --nocapture`).

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

use crate::crash::{Newsroom, alert_ids, daemon_log_tail, fault_seed, log_ids, write_fast_config};
use crate::{Daemon, Env, feed, wait_for};

/// How long the analyst holds the write lock.
const LOCK_HELD: Duration = Duration::from_secs(30);

/// Feeds and items of each test's newsroom: small, the faults are the subject.
const FEEDS: usize = 4;
const ITEMS: usize = 10;

/// The ids of the whole lines of an alert log being written (a line being appended is not
/// counted yet); [`log_ids`] judges the file once the daemon has stopped.
fn logged(path: &Path) -> HashSet<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let whole = &text[..text.rfind('\n').map_or(0, |end| end + 1)];
    whole
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|alert| alert["id"].as_str().map(str::to_owned))
        .collect()
}

/// The alert ids stored so far; none while the daemon has not created the database yet.
fn stored(env: &Env) -> HashSet<String> {
    let read = || -> rusqlite::Result<HashSet<String>> {
        let db = Connection::open_with_flags(
            env.path("data/storywatch.db"),
            OpenFlags::SQLITE_OPEN_READ_ONLY,
        )?;
        let mut stmt = db.prepare("SELECT id FROM alerts")?;
        stmt.query_map([], |r| r.get(0))?.collect()
    };
    read().unwrap_or_default()
}

/// Whether the database holds `alerts` alerts and the log at `log` has every one of them.
fn all_logged(env: &Env, log: &Path, alerts: usize) -> bool {
    let ids = stored(env);
    ids.len() == alerts && ids.is_subset(&logged(log))
}

/// Items edited so far: each is one `changed` alert once the daemon has seen it.
fn edited(room: &Newsroom) -> usize {
    room.versions.iter().flatten().filter(|&&v| v > 1).count()
}

/// The daemon's log lines that contain every one of `needles`.
fn log_lines(env: &Env, needles: &[&str]) -> usize {
    std::fs::read_to_string(env.path("daemon.log"))
        .unwrap_or_default()
        .lines()
        .filter(|line| needles.iter().all(|n| line.contains(n)))
        .count()
}

fn integrity(env: &Env) -> String {
    env.db()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check")
}

/// Starts the daemon on a newsroom of [`FEEDS`] × [`ITEMS`], its alert log at `log`, and
/// waits for its first pass to be stored and logged (one `new` alert per item).
fn start_newsroom(env: &Env, seed: u64, log: &Path) -> (Newsroom, Daemon) {
    let room = Newsroom::new(seed, FEEDS, ITEMS);
    room.publish_all(&env.server);
    write_fast_config(env, &room);
    let default = env.path("data/alerts.jsonl");
    if log != default {
        env.edit_config(&format!("{default:?}"), &format!("{log:?}"));
    }
    let daemon = env.spawn_run();
    assert!(
        wait_for(Duration::from_secs(60), || all_logged(
            env,
            log,
            FEEDS * ITEMS
        )),
        "the first pass was not stored and logged:\n{}",
        daemon_log_tail(env)
    );
    (room, daemon)
}

/// Stops the daemon, which must exit 0, and checks the log's lines: whole, and every alert in
/// the database among them.
fn stop_and_check_log(env: &Env, daemon: Daemon, log: &Path) {
    let status = daemon.stop(Duration::from_secs(15));
    assert!(status.success(), "{status:?}:\n{}", daemon_log_tail(env));
    let lines: HashSet<String> = log_ids(log).into_iter().collect();
    let missing = alert_ids(env).difference(&lines).count();
    assert_eq!(missing, 0, "alerts missing from the log");
    assert_eq!(integrity(env), "ok");
}

#[test]
fn an_analyst_lock_held_thirty_seconds_while_running_is_waited_out_and_the_backlog_written() {
    let seed = fault_seed("faults::lock_running");
    let mut rng = fastrand::Rng::with_seed(seed);
    let env = Env::start();
    let log = env.path("data/alerts.jsonl");
    let (mut room, mut daemon) = start_newsroom(&env, seed, &log);

    let analyst = env.db();
    analyst.execute_batch("BEGIN IMMEDIATE").expect("lock");
    let before = alert_ids(&env).len();
    room.edit(&mut rng, &env.server, 1, 3);
    std::thread::sleep(LOCK_HELD);
    assert!(daemon.running(), "exited:\n{}", daemon_log_tail(&env));
    assert_eq!(alert_ids(&env).len(), before, "written through a lock?");
    analyst.execute_batch("COMMIT").expect("release");
    let released = Instant::now();

    let expected = FEEDS * ITEMS + edited(&room);
    assert!(
        wait_for(Duration::from_secs(30), || all_logged(&env, &log, expected)),
        "the backlog was not written after the lock:\n{}",
        daemon_log_tail(&env)
    );
    let caught_up = released.elapsed();
    let warnings = log_lines(&env, &["WARN", "locked by another connection"]);
    eprintln!(
        "faults::lock_running: lock held {LOCK_HELD:?}; {warnings} warning(s); backlog of {} \
         alert(s) written and logged {caught_up:?} after COMMIT",
        edited(&room)
    );
    assert_eq!(
        warnings,
        1,
        "one warning per episode:\n{}",
        daemon_log_tail(&env)
    );
    stop_and_check_log(&env, daemon, &log);
}

#[test]
fn an_analyst_lock_held_thirty_seconds_at_startup_is_waited_out() {
    let seed = fault_seed("faults::lock_startup");
    let env = Env::start();
    let log = env.path("data/alerts.jsonl");
    let room = Newsroom::new(seed, FEEDS, ITEMS);
    room.publish_all(&env.server);
    write_fast_config(&env, &room);
    let out = env.run(&["migrate"]);
    assert!(out.status.success(), "{}", crate::text(&out));

    let analyst = env.db();
    analyst.execute_batch("BEGIN IMMEDIATE").expect("lock");
    let mut daemon = env.spawn_run();
    std::thread::sleep(LOCK_HELD);
    assert!(daemon.running(), "exited:\n{}", daemon_log_tail(&env));
    analyst.execute_batch("COMMIT").expect("release");
    let released = Instant::now();

    assert!(
        wait_for(Duration::from_secs(30), || all_logged(
            &env,
            &log,
            FEEDS * ITEMS
        )),
        "nothing written after the lock:\n{}",
        daemon_log_tail(&env)
    );
    let caught_up = released.elapsed();
    let warnings = log_lines(&env, &["WARN", "locked by another connection"]);
    eprintln!(
        "faults::lock_startup: lock held {LOCK_HELD:?} from before the start; {warnings} \
         warning(s); {} alerts written and logged {caught_up:?} after COMMIT",
        FEEDS * ITEMS
    );
    assert_eq!(
        warnings,
        1,
        "one warning per episode:\n{}",
        daemon_log_tail(&env)
    );
    stop_and_check_log(&env, daemon, &log);
}

/// A tmpfs of `size` mounted on `path` for the life of the value.
struct Tmpfs {
    path: PathBuf,
}

impl Tmpfs {
    /// Mounts it; `None`, with the reason printed, when not root. As root a mount that fails
    /// fails the test: CI runs as root and must run these.
    fn mount(path: &Path, size: &str, test: &str) -> Option<Tmpfs> {
        let uid = Command::new("id").arg("-u").output().expect("id -u");
        if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
            eprintln!("{test}: skipped: mounting a tmpfs needs root");
            return None;
        }
        std::fs::create_dir_all(path).expect("mount point");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .status()
            .expect("mount");
        assert!(
            status.success(),
            "mount -t tmpfs on {} failed",
            path.display()
        );
        Some(Tmpfs {
            path: path.to_path_buf(),
        })
    }

    /// Fills the file system with a file, to the last byte it takes; returns the file.
    fn fill(&self) -> PathBuf {
        use std::io::Write;
        let filler = self.path.join("filler");
        let mut file = std::fs::File::create(&filler).expect("filler");
        let chunk = vec![0u8; 4096];
        for size in [4096, 512, 1] {
            while file.write_all(&chunk[..size]).is_ok() {}
        }
        filler
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

/// Error lines per resource (`database`, `alert log`) that begin an episode.
fn episodes(env: &Env) -> BTreeMap<String, usize> {
    let mut count = BTreeMap::new();
    for resource in ["\"database\"", "\"alert log\""] {
        let n = log_lines(env, &["ERROR", "cannot write", resource]);
        if n > 0 {
            count.insert(resource.trim_matches('"').to_owned(), n);
        }
    }
    count
}

#[test]
fn a_full_disk_under_the_database_and_log_is_one_error_and_resumes_by_itself() {
    let test = "faults::disk_full";
    let seed = fault_seed(test);
    let mut rng = fastrand::Rng::with_seed(seed);
    let env = Env::start();
    let Some(disk) = Tmpfs::mount(&env.path("data"), "4m", test) else {
        return;
    };
    let log = env.path("data/alerts.jsonl");
    let (mut room, mut daemon) = start_newsroom(&env, seed, &log);

    let filler = disk.fill();
    let before = alert_ids(&env).len();
    room.edit(&mut rng, &env.server, 1, 5);
    // Several poll intervals (1 s) against the full disk.
    assert!(
        wait_for(Duration::from_secs(30), || !episodes(&env).is_empty()),
        "the full disk was never met:\n{}",
        daemon_log_tail(&env)
    );
    std::thread::sleep(Duration::from_secs(5));
    assert!(daemon.running(), "exited:\n{}", daemon_log_tail(&env));
    assert_eq!(integrity(&env), "ok", "while full");
    let during = episodes(&env);

    std::fs::remove_file(&filler).expect("free the space");
    let freed = Instant::now();
    let expected = FEEDS * ITEMS + edited(&room);
    assert!(
        wait_for(Duration::from_secs(30), || all_logged(&env, &log, expected)),
        "nothing written after space returned ({} of {expected} alerts):\n{}",
        alert_ids(&env).len(),
        daemon_log_tail(&env)
    );
    let resumed = freed.elapsed();
    let recovered = log_lines(&env, &["INFO", "writable again"]);
    eprintln!(
        "{test}: error lines per resource while full: {during:?}; {before} alerts before, \
         {expected} after; all written and logged {resumed:?} after space returned (poll \
         interval 1 s); {recovered} recovery line(s)"
    );
    assert!(
        during.values().all(|&n| n == 1),
        "one error per episode: {during:?}\n{}",
        daemon_log_tail(&env)
    );
    assert!(recovered >= 1, "{}", daemon_log_tail(&env));
    stop_and_check_log(&env, daemon, &log);
}

#[test]
fn a_full_disk_under_the_alert_log_alone_is_one_error_and_the_log_catches_up() {
    let test = "faults::log_disk_full";
    let seed = fault_seed(test);
    let mut rng = fastrand::Rng::with_seed(seed);
    let env = Env::start();
    let Some(disk) = Tmpfs::mount(&env.path("logs"), "1m", test) else {
        return;
    };
    let log = env.path("logs/alerts.jsonl");
    let (mut room, mut daemon) = start_newsroom(&env, seed, &log);

    let filler = disk.fill();
    // Most of one feed's items: several KiB of lines, more than the slack a full tmpfs may
    // still have in the log file's last page (a couple of lines could fit there).
    room.edit(&mut rng, &env.server, 1, 30);
    let expected = FEEDS * ITEMS + edited(&room);
    // The alerts are committed; only their log lines wait.
    assert!(
        wait_for(Duration::from_secs(30), || alert_ids(&env).len()
            == expected
            && episodes(&env).contains_key("alert log")),
        "the full log disk was never met:\n{}",
        daemon_log_tail(&env)
    );
    std::thread::sleep(Duration::from_secs(3));
    assert!(daemon.running(), "exited:\n{}", daemon_log_tail(&env));
    assert!(!all_logged(&env, &log, expected), "logged on a full disk?");
    let during = episodes(&env);

    std::fs::remove_file(&filler).expect("free the space");
    let freed = Instant::now();
    assert!(
        wait_for(Duration::from_secs(30), || all_logged(&env, &log, expected)),
        "the log did not catch up:\n{}",
        daemon_log_tail(&env)
    );
    let caught_up = freed.elapsed();
    eprintln!(
        "{test}: error lines per resource while full: {during:?}; {} alerts waited for the \
         log, all logged {caught_up:?} after space returned",
        edited(&room)
    );
    assert_eq!(
        during.get("alert log"),
        Some(&1),
        "{during:?}\n{}",
        daemon_log_tail(&env)
    );
    assert_eq!(during.get("database"), None, "{during:?}");
    stop_and_check_log(&env, daemon, &log);
}

/// libfaketime's multithreaded library, where Debian installs it.
fn faketime() -> Option<PathBuf> {
    ["/usr/lib/x86_64-linux-gnu/faketime", "/usr/lib/faketime"]
        .iter()
        .map(|dir| Path::new(dir).join("libfaketimeMT.so.1"))
        .find(|lib| lib.exists())
}

#[test]
fn the_clock_moved_a_day_back_or_forward_neither_stalls_nor_storms_the_schedule() {
    let test = "faults::clock";
    let Some(lib) = faketime() else {
        eprintln!("{test}: skipped: libfaketime is not installed (apt-get install faketime)");
        return;
    };
    let env = Env::start();
    env.server.feed("/a.xml", crate::fixture("nknews.xml"));
    env.server.feed("/b.xml", crate::fixture("kcna-watch.xml"));
    env.write_config(&[feed("A", "/a.xml"), feed("B", "/b.xml")], "");
    env.edit_config("interval = \"1h\"", "interval = \"4s\"");
    // The daemon's wall clock is the real one plus the offset in this file, read at every
    // call; its monotonic clock is left alone, as a clock change leaves it.
    let offset = env.path("clock-offset");
    std::fs::write(&offset, "+0\n").expect("offset");
    let mut cmd = env.command();
    cmd.arg("run")
        .env("LD_PRELOAD", &lib)
        .env("FAKETIME_TIMESTAMP_FILE", &offset)
        .env("FAKETIME_NO_CACHE", "1")
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1");
    let mut daemon = env.spawn(cmd);
    let polls = || {
        ["/a.xml", "/b.xml"]
            .map(|path| env.server.seen(path).len())
            .into_iter()
            .min()
            .unwrap_or(0)
    };
    assert!(
        wait_for(Duration::from_secs(30), || polls() >= 1),
        "never polled:\n{}",
        daemon_log_tail(&env)
    );

    // Per feed, over 12 s at a 4 s interval: about 3 polls; 0 is a stall, dozens a storm.
    let window = Duration::from_secs(12);
    let mut figures = Vec::new();
    for (name, moved) in [("a day back", "-1d"), ("a day forward", "+1d")] {
        std::fs::write(&offset, format!("{moved}\n")).expect("offset");
        let counts = |env: &Env| ["/a.xml", "/b.xml"].map(|p| env.server.seen(p).len());
        let before = counts(&env);
        std::thread::sleep(window);
        let after = counts(&env);
        let made: Vec<usize> = after.iter().zip(before).map(|(a, b)| a - b).collect();
        figures.push(format!("{name}: {made:?} polls per feed in {window:?}"));
        assert!(daemon.running(), "exited:\n{}", daemon_log_tail(&env));
        assert!(
            made.iter().all(|&n| (2..=5).contains(&n)),
            "clock moved {name}: {made:?} polls per feed in {window:?}\n{}",
            daemon_log_tail(&env)
        );
    }
    eprintln!("{test}: interval 4 s; {}", figures.join("; "));
    let status = daemon.stop(Duration::from_secs(15));
    assert!(status.success(), "{status:?}");
}
