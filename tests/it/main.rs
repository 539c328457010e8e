//! Integration tests: the real `storywatch` binary against a real HTTP server on 127.0.0.1
//! serving the feed files of `tests/fixtures/`, with a real SQLite file in a temp dir.
//! One test binary, so the suite links once.

mod cli;
mod crash;
mod demo;
mod extract;
mod extract_eval;
mod faults;
mod feed_corpus;
mod fuzz_regressions;
mod hostile;
mod pages;
mod pipeline;
mod read;
mod report;
mod server;
mod systemd;
mod topic_eval;
mod upgrade;
mod webhooks;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use rusqlite::Connection;
use server::Server;

/// A temporary installation: a folder with a config, a database and an alert log, and a
/// loopback server for its feeds.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub server: Server,
}

/// One `[[feed]]` of a test config.
pub struct Feed<'a> {
    pub name: &'a str,
    /// A path on the test server, or a whole URL (`http://nonexistent.invalid/…`).
    pub path: &'a str,
    pub filter: &'a str,
}

pub fn feed<'a>(name: &'a str, path: &'a str) -> Feed<'a> {
    Feed {
        name,
        path,
        filter: "topic",
    }
}

impl Env {
    /// A fresh folder with a copy of the shipped seeds, and a server with no routes yet.
    pub fn start() -> Env {
        let dir = tempfile::tempdir().expect("tempdir");
        let seeds = dir.path().join("seeds");
        std::fs::create_dir(&seeds).expect("seeds folder");
        for entry in std::fs::read_dir(seeds_dir()).expect("shipped seeds") {
            let entry = entry.expect("seed entry");
            std::fs::copy(entry.path(), seeds.join(entry.file_name())).expect("copy seed");
        }
        Env {
            dir,
            server: Server::start(),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `storywatch.toml` with the given feeds and extra `[poll]` lines.
    pub fn write_config(&self, feeds: &[Feed<'_>], poll: &str) {
        let mut text = format!(
            "database = {:?}\nseeds = {:?}\n\n[poll]\ninterval = \"1h\"\n{poll}\n\n[alerts]\nlog = {:?}\n",
            self.path("data/storywatch.db"),
            self.path("seeds"),
            self.path("data/alerts.jsonl"),
        );
        // The feeds of most tests link to pages on the internet, which tests must not
        // contact: tests of pages set up their own `[pages]`.
        if !poll.contains("[pages]") {
            text.push_str("\n[pages]\nenabled = false\n");
        }
        for f in feeds {
            let url = if f.path.starts_with('/') {
                self.server.url(f.path)
            } else {
                f.path.to_owned()
            };
            text.push_str(&format!(
                "\n[[feed]]\nname = {:?}\nurl = {:?}\nfilter = {:?}\n",
                f.name, url, f.filter
            ));
        }
        std::fs::write(self.path("storywatch.toml"), text).expect("write config");
    }

    /// Replaces `from` (which must be there) by `to` in the config.
    pub fn edit_config(&self, from: &str, to: &str) {
        let path = self.path("storywatch.toml");
        let text = std::fs::read_to_string(&path).expect("config");
        assert!(text.contains(from), "{from} is not in the config");
        std::fs::write(path, text.replace(from, to)).expect("write config");
    }

    /// Appends TOML (webhook tables) to the config.
    pub fn append_config(&self, toml: &str) {
        let path = self.path("storywatch.toml");
        let mut text = std::fs::read_to_string(&path).expect("config");
        text.push('\n');
        text.push_str(toml);
        std::fs::write(path, text).expect("write config");
    }

    pub fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_storywatch"));
        cmd.arg("--config")
            .arg(self.path("storywatch.toml"))
            .current_dir(self.dir.path())
            .env_remove("STORYWATCH_CONFIG")
            .env("RUST_LOG", "info");
        cmd
    }

    /// Starts `storywatch run` on this installation.
    pub fn spawn_run(&self) -> Daemon {
        let mut cmd = self.command();
        cmd.arg("run");
        self.spawn(cmd)
    }

    /// Starts `cmd` (this installation's [`Env::command`] with more set) as a [`Daemon`]. Its
    /// stderr is appended to `daemon.log` in the folder, for a failing test to show.
    pub fn spawn(&self, mut cmd: Command) -> Daemon {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path("daemon.log"))
            .expect("daemon.log");
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn storywatch");
        Daemon { child }
    }

    /// Runs the binary with `args`; returns its output.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().expect("run storywatch")
    }

    /// `poll --all`, which must succeed.
    pub fn poll(&self) -> Output {
        let out = self.run(&["poll", "--all"]);
        assert!(out.status.success(), "poll failed: {}", text(&out));
        out
    }

    pub fn db(&self) -> Connection {
        Connection::open(self.path("data/storywatch.db")).expect("open db")
    }

    pub fn count(&self, sql: &str) -> i64 {
        self.db().query_row(sql, [], |r| r.get(0)).expect(sql)
    }

    /// [`Env::count`] while the daemon may still be creating the database: `None` until the
    /// file and its tables are there.
    pub fn try_count(&self, sql: &str) -> Option<i64> {
        if !self.path("data/storywatch.db").exists() {
            return None;
        }
        self.db().query_row(sql, [], |r| r.get(0)).ok()
    }

    /// The alert log's lines, parsed.
    pub fn alert_log(&self) -> Vec<serde_json::Value> {
        let text = std::fs::read_to_string(self.path("data/alerts.jsonl")).unwrap_or_default();
        text.lines()
            .map(|l| serde_json::from_str(l).expect("alert line is JSON"))
            .collect()
    }
}

/// A running `storywatch run`. Dropped while still running (a test that panics), it is
/// SIGKILLed and reaped, so no daemon outlives its test.
pub struct Daemon {
    child: Child,
}

impl Daemon {
    /// Sends `signal` ("TERM", "HUP", ...) to the daemon.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Whether the daemon is still running.
    pub fn running(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    /// SIGKILL, as a crash or the OOM killer would; returns once the process is gone.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits for the exit up to `limit`.
    pub fn stop(mut self, limit: Duration) -> ExitStatus {
        self.signal("TERM");
        self.wait_exit(limit)
    }

    /// Waits for the daemon to exit, up to `limit`; fails past that (and the drop kills it).
    pub fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                start.elapsed() < limit,
                "storywatch did not exit within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Waits up to `limit` for `done`, checking every 25 ms; whether it came.
pub fn wait_for(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    done()
}

pub fn seeds_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds")
}

/// A fixture's text.
pub fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A fixture's bytes, for files that are not UTF-8 on purpose.
pub fn fixture_bytes(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// stdout and stderr of a run, for assertion messages.
pub fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
