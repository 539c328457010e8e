//! The daemon under a supervisor: sd_notify messages on a datagram socket the test owns,
//! SIGHUP reloads, and journald-ready log lines.

use std::os::unix::net::UnixDatagram;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::{Env, feed, fixture, text};

/// A fake systemd: the socket `NOTIFY_SOCKET` points to, with every message received.
struct Notify {
    socket: UnixDatagram,
    messages: Vec<(Instant, String)>,
}

impl Notify {
    fn bind(env: &Env) -> Notify {
        let socket = UnixDatagram::bind(env.path("notify.sock")).expect("bind notify socket");
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .expect("timeout");
        Notify {
            socket,
            messages: Vec::new(),
        }
    }

    /// Reads messages until one contains `needle` (returning its index) or `limit` passes.
    fn wait_for(&mut self, needle: &str, limit: Duration) -> Option<usize> {
        let start = Instant::now();
        let mut buf = [0u8; 4096];
        let seen = self.messages.len();
        loop {
            if let Some(i) = self.messages[seen..]
                .iter()
                .position(|(_, m)| m.contains(needle))
            {
                return Some(seen + i);
            }
            if start.elapsed() > limit {
                return None;
            }
            if let Ok(n) = self.socket.recv(&mut buf) {
                self.messages.push((
                    Instant::now(),
                    String::from_utf8_lossy(&buf[..n]).into_owned(),
                ));
            }
        }
    }

    /// Reads every message that arrives within `span`.
    fn collect(&mut self, span: Duration) {
        let _ = self.wait_for("\u{0}never", span);
    }
}

fn spawn(env: &Env, stderr: &str) -> Child {
    env.command()
        .arg("run")
        .env("NOTIFY_SOCKET", env.path("notify.sock"))
        .env("WATCHDOG_USEC", "1000000")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(env.path(stderr)).expect("stderr file"))
        .spawn()
        .expect("spawn run")
}

fn kill(child: &Child, signal: &str) {
    std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status()
        .expect("kill");
}

#[test]
fn ready_watchdog_reload_and_stopping_reach_systemd() {
    let env = Env::start();
    env.server.feed("/nk.xml", fixture("nknews.xml"));
    env.server.feed("/kcna.xml", fixture("kcna-watch.xml"));
    env.write_config(&[feed("NK News", "/nk.xml")], "");
    let mut notify = Notify::bind(&env);
    let mut child = spawn(&env, "stderr.log");

    let ready = notify
        .wait_for("READY=1", Duration::from_secs(20))
        .expect("READY=1");
    assert!(
        env.path("data/storywatch.db").exists(),
        "READY before the database exists"
    );
    assert!(
        notify.messages[ready].1.contains("STATUS="),
        "{:?}",
        notify.messages[ready]
    );

    // WATCHDOG_USEC = 1 s: a ping about every 0.5 s.
    let from = notify.messages.len();
    notify.collect(Duration::from_millis(2600));
    let pings: Vec<Instant> = notify.messages[from..]
        .iter()
        .filter(|(_, m)| m.contains("WATCHDOG=1"))
        .map(|(at, _)| *at)
        .collect();
    assert!(
        (3..=7).contains(&pings.len()),
        "{} watchdog pings in 2.6 s",
        pings.len()
    );
    for pair in pings.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(gap < Duration::from_millis(900), "watchdog gap {gap:?}");
    }

    // A feed added to the config file is polled after SIGHUP.
    let config = env.path("storywatch.toml");
    let mut text_now = std::fs::read_to_string(&config).expect("config");
    text_now.push_str(&format!(
        "\n[[feed]]\nname = \"KCNA Watch\"\nurl = {:?}\nfilter = \"none\"\n",
        env.server.url("/kcna.xml")
    ));
    std::fs::write(&config, &text_now).expect("write config");
    kill(&child, "HUP");
    let reloading = notify
        .wait_for("RELOADING=1", Duration::from_secs(10))
        .expect("RELOADING=1");
    assert!(notify.messages[reloading].1.contains("MONOTONIC_USEC="));
    notify
        .wait_for("READY=1", Duration::from_secs(10))
        .expect("READY=1 after reload");
    let start = Instant::now();
    while env.server.seen("/kcna.xml").is_empty() && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        !env.server.seen("/kcna.xml").is_empty(),
        "added feed not polled"
    );

    kill(&child, "TERM");
    notify
        .wait_for("STOPPING=1", Duration::from_secs(10))
        .expect("STOPPING=1");
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(0));
}

#[test]
fn a_broken_config_on_reload_is_refused_and_the_old_feeds_keep_going() {
    let env = Env::start();
    env.server.feed("/nk.xml", fixture("nknews.xml"));
    env.write_config(&[feed("NK News", "/nk.xml")], "");
    // A one-second interval, so the test sees the old feed polled again after the reload.
    let config = env.path("storywatch.toml");
    let good = std::fs::read_to_string(&config)
        .expect("config")
        .replace("interval = \"1h\"", "interval = \"1s\"");
    std::fs::write(&config, &good).expect("write");
    let mut notify = Notify::bind(&env);
    let mut child = spawn(&env, "stderr.log");
    notify
        .wait_for("READY=1", Duration::from_secs(20))
        .expect("READY=1");

    std::fs::write(&config, good.replace("[poll]\n", "[poll]\nbogus_key = 1\n")).expect("break");
    kill(&child, "HUP");
    notify
        .wait_for("RELOADING=1", Duration::from_secs(10))
        .expect("RELOADING=1");
    notify
        .wait_for("READY=1", Duration::from_secs(10))
        .expect("READY=1 after refusal");
    let before = env.server.seen("/nk.xml").len();
    // Nobody reads the notify socket meanwhile, as when systemd is busy: its queue fills up,
    // and the daemon must go on polling rather than wait on its supervisor.
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        env.server.seen("/nk.xml").len() > before,
        "the old feed stopped being polled"
    );

    kill(&child, "TERM");
    assert_eq!(child.wait().expect("wait").code(), Some(0));
    let log = std::fs::read_to_string(env.path("stderr.log")).expect("stderr");
    let refusal: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("reload refused"))
        .collect();
    assert_eq!(refusal.len(), 1, "{log}");
    assert!(refusal[0].contains("bogus_key"), "{}", refusal[0]);
}

#[test]
fn under_journald_log_lines_carry_a_priority_and_no_colours() {
    let env = Env::start();
    env.write_config(&[], "");
    let out = env
        .command()
        .env("JOURNAL_STREAM", "8:12345")
        .arg("migrate")
        .output()
        .expect("migrate");
    assert!(out.status.success(), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(!lines.is_empty(), "no log lines");
    for line in &lines {
        assert!(
            line.starts_with("<6>")
                || line.starts_with("<4>")
                || line.starts_with("<3>")
                || line.starts_with("<7>"),
            "{line:?}"
        );
        assert!(!line.contains('\u{1b}'), "ANSI code in {line:?}");
        assert!(!line.starts_with("<6>20"), "timestamp in {line:?}");
    }
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("<6>") && l.contains("applied migration")),
        "{stderr}"
    );
}

#[test]
fn a_reload_drops_removed_feeds_and_applies_new_intervals_and_topics() {
    let env = Env::start();
    env.server.feed("/nk.xml", fixture("nknews.xml"));
    env.server.feed("/kcna.xml", fixture("kcna-watch.xml"));
    env.write_config(&[feed("NK News", "/nk.xml")], "");
    let config = env.path("storywatch.toml");
    let base = std::fs::read_to_string(&config).expect("config");
    let kcna = format!(
        "\n[[feed]]\nname = \"KCNA Watch\"\nurl = {:?}\nfilter = \"none\"\ninterval = \"1s\"\n",
        env.server.url("/kcna.xml")
    );
    std::fs::write(&config, format!("{base}{kcna}")).expect("write");
    let mut notify = Notify::bind(&env);
    let mut child = spawn(&env, "stderr.log");
    notify
        .wait_for("READY=1", Duration::from_secs(20))
        .expect("READY=1");
    let start = Instant::now();
    while env.server.seen("/kcna.xml").len() < 2 && start.elapsed() < Duration::from_secs(10) {
        notify.collect(Duration::from_millis(100));
    }
    assert_eq!(env.server.seen("/nk.xml").len(), 1, "NK News is hourly");
    assert!(
        env.server.seen("/kcna.xml").len() >= 2,
        "KCNA Watch every second"
    );
    let relevant = "SELECT count(*) FROM articles WHERE title LIKE 'Seoul%'";
    assert_eq!(
        env.count(relevant),
        0,
        "the Seoul story is not on topic yet"
    );

    // KCNA Watch removed; NK News every second; a topic that the Seoul story matches.
    let reloaded = base.replace(
        "filter = \"topic\"\n",
        "filter = \"topic\"\ninterval = \"1s\"\n",
    ) + "\n[topic]\ngroups = { politics = [\"court reform\"] }\n";
    std::fs::write(&config, reloaded).expect("write");
    kill(&child, "HUP");
    notify
        .wait_for("RELOADING=1", Duration::from_secs(10))
        .expect("RELOADING=1");
    notify
        .wait_for("READY=1", Duration::from_secs(10))
        .expect("READY=1 after reload");
    let kcna_polls = env.server.seen("/kcna.xml").len();
    let start = Instant::now();
    while env.count(relevant) == 0 && start.elapsed() < Duration::from_secs(10) {
        notify.collect(Duration::from_millis(100));
    }
    assert_eq!(
        env.count(relevant),
        1,
        "new interval or topic not applied: {:?} {}",
        env.server
            .seen("/nk.xml")
            .iter()
            .map(|s| s.status)
            .collect::<Vec<_>>(),
        std::fs::read_to_string(env.path("stderr.log")).unwrap_or_default()
    );
    notify.collect(Duration::from_secs(2));
    assert!(
        env.server.seen("/kcna.xml").len() <= kcna_polls + 1,
        "a removed feed is still polled"
    );

    kill(&child, "TERM");
    assert_eq!(child.wait().expect("wait").code(), Some(0));
    assert_eq!(
        env.count("SELECT active FROM feeds WHERE name = 'KCNA Watch'"),
        0
    );
    assert!(
        env.count(
            "SELECT count(*) FROM articles a JOIN feeds f ON f.id = a.feed_id WHERE f.name = 'KCNA Watch'"
        ) > 0,
        "a removed feed's history is kept"
    );
}
