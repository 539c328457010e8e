//! Crashes and an alert log handled behind the daemon's back: the real `storywatch run`
//! SIGKILLed at random moments of heavy passes, and its alert log renamed, deleted or torn.
//!
//! After every kill a separate connection checks what a crash must never do: corrupt the
//! database, take back a committed revision, number revisions with gaps or twice, or leave a
//! revision without its alert (or an alert without its revision). At the end the alert log
//! must hold every alert, whole lines only, with at most one repeat per kill.
//!
//! The kill moments and the edits come from one seed, printed at the start; set
//! `STORYWATCH_FAULT_SEED` to that number to replay a run (the timing of the daemon itself
//! cannot be replayed, so a replay hits nearby moments, not the very same instruction).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::Connection;

use crate::server::{Reply, Server};
use crate::{Env, Feed, feed, wait_for};

/// The seed of a run's random choices: `STORYWATCH_FAULT_SEED`, else a fresh one. Printed, so
/// a failure can be replayed.
pub(crate) fn fault_seed(test: &str) -> u64 {
    let seed = match std::env::var("STORYWATCH_FAULT_SEED") {
        Ok(value) => value
            .trim()
            .parse()
            .expect("STORYWATCH_FAULT_SEED is a number (u64)"),
        Err(_) => fastrand::u64(..),
    };
    eprintln!("{test}: fault seed {seed} (replay with STORYWATCH_FAULT_SEED={seed})");
    seed
}

/// Sentences of the kind the wire services write about the two countries; an item's body is
/// a few of them, so every body is on topic and an edit changes whole sentences.
const SENTENCES: &[&str] = &[
    "Pyongyang and Moscow agreed to expand rail freight through the Khasan-Rajin link.",
    "Russian officials said a delegation from the Kremlin would visit Pyongyang next month.",
    "South Korean intelligence said North Korea had shipped more artillery shells to Russia.",
    "The two governments opened the road bridge over the Tumen River to lorries.",
    "Satellite images showed new cargo traffic at the port of Rajin.",
    "Analysts in Seoul said the treaty on comprehensive strategic partnership was being put into practice.",
    "Moscow denied that North Korean troops were fighting in the Kursk region.",
    "A North Korean trade fair in Vladivostok drew buyers from across the Russian Far East.",
    "Russian tourists returned to the Wonsan-Kalma beach resort for the summer season.",
    "Kim Jong Un inspected a factory that Russian engineers had helped to modernise.",
    "The Russian foreign minister praised the friendship between the two countries.",
    "Ukrainian officials said debris from North Korean missiles had been found near Kharkiv.",
    "Japanese and American diplomats called the arms transfers a breach of UN sanctions.",
    "The Bank of Russia opened correspondent accounts for a North Korean lender, the report said.",
    "Flights between Pyongyang and Moscow were increased to four a week.",
    "Students from Kim Il Sung University began a semester at a university in Novosibirsk.",
];

/// What the headlines are about; with the wire and the story number they make a title.
const SUBJECTS: &[&str] = &[
    "deepen military cooperation",
    "expand trade across the Tumen River",
    "sign a new aviation agreement",
    "hold talks on labour exports",
    "open a second border crossing",
    "discuss satellite technology",
    "step up energy deliveries",
    "widen student exchanges",
];

/// The feeds the test serves. Every item's text follows from (seed, feed, item, version);
/// an edit bumps an item's version and republishes its feed (a new ETag).
pub(crate) struct Newsroom {
    seed: u64,
    names: Vec<String>,
    paths: Vec<String>,
    pub(crate) versions: Vec<Vec<u32>>,
}

impl Newsroom {
    pub(crate) fn new(seed: u64, feeds: usize, items: usize) -> Newsroom {
        Newsroom {
            seed,
            names: (0..feeds).map(|f| format!("Wire {f}")).collect(),
            paths: (0..feeds).map(|f| format!("/wire-{f}.xml")).collect(),
            versions: vec![vec![1; items]; feeds],
        }
    }

    fn feeds(&self) -> Vec<Feed<'_>> {
        self.names
            .iter()
            .zip(&self.paths)
            .map(|(name, path)| feed(name, path))
            .collect()
    }

    pub(crate) fn publish_all(&self, server: &Server) {
        for f in 0..self.paths.len() {
            self.publish(server, f);
        }
    }

    fn publish(&self, server: &Server, f: usize) {
        let items: String = (0..self.versions[f].len())
            .map(|i| {
                let link = self.link(f, i);
                format!(
                    "<item><title>{}</title><link>{link}</link><guid>{link}</guid>\
                     <pubDate>Sat, 28 Nov 2026 04:{:02}:00 GMT</pubDate>\
                     <description>{}</description></item>\n",
                    self.title(f, i),
                    i % 60,
                    self.body(f, i, self.versions[f][i])
                )
            })
            .collect();
        server.feed(
            &self.paths[f],
            format!(
                "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel>\
                 <title>{}</title><link>https://wire{f}.example.org/</link>\
                 <description>Korea desk</description>\n{items}</channel></rss>\n",
                self.names[f]
            ),
        );
    }

    fn link(&self, f: usize, i: usize) -> String {
        format!("https://wire{f}.example.org/2026/11/28/story-{i}")
    }

    fn title(&self, f: usize, i: usize) -> String {
        format!(
            "North Korea and Russia {} (wire {f}, story {i})",
            SUBJECTS[(f * 7 + i) % SUBJECTS.len()]
        )
    }

    /// Four sentences picked for this version and one with a figure only this version has:
    /// every version is a text never seen before, and differs from the last by whole words.
    fn body(&self, f: usize, i: usize, version: u32) -> String {
        let mut rng = fastrand::Rng::with_seed(
            self.seed ^ ((f as u64) << 40) ^ ((i as u64) << 20) ^ u64::from(version),
        );
        let mut picked: Vec<&str> = Vec::with_capacity(5);
        while picked.len() < 4 {
            let sentence = SENTENCES[rng.usize(..SENTENCES.len())];
            if !picked.contains(&sentence) {
                picked.push(sentence);
            }
        }
        let figure = format!(
            "Customs recorded {} containers on the route by update {version}.",
            rng.u32(100..100_000)
        );
        picked.push(&figure);
        picked.join(" ")
    }

    /// The figure sentence's tail: what the latest stored text of an item must contain.
    fn version_mark(&self, f: usize, i: usize) -> String {
        format!("by update {}.", self.versions[f][i])
    }

    /// Edits `items` random items in each of `feeds` random feeds and republishes those feeds.
    pub(crate) fn edit(
        &mut self,
        rng: &mut fastrand::Rng,
        server: &Server,
        feeds: usize,
        items: usize,
    ) {
        for _ in 0..feeds {
            let f = rng.usize(..self.versions.len());
            for _ in 0..items {
                let i = rng.usize(..self.versions[f].len());
                self.versions[f][i] += 1;
            }
            self.publish(server, f);
        }
    }
}

/// Polls every second (the shortest interval the config allows), four feeds in flight at once
/// (they all live on one host).
pub(crate) fn write_fast_config(env: &Env, room: &Newsroom) {
    env.write_config(&room.feeds(), "per_host = 4");
    env.edit_config("interval = \"1h\"", "interval = \"1s\"");
}

/// Edits (two items in each of `feeds` feeds) every 100 ms for `span`.
fn keep_editing(
    room: &mut Newsroom,
    rng: &mut fastrand::Rng,
    server: &Server,
    feeds: usize,
    span: Duration,
) {
    let until = Instant::now() + span;
    loop {
        room.edit(rng, server, feeds, 2);
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(Duration::from_millis(100)));
    }
}

/// One revision as a check sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Revision {
    article_id: i64,
    number: i64,
    content_hash: String,
}

/// What the database held at one check.
#[derive(Debug, Default)]
struct Snapshot {
    revisions: HashMap<i64, Revision>,
    alerts: usize,
    articles: i64,
}

/// Checks the database after a kill, against what earlier checks saw.
#[derive(Default)]
struct Audit {
    seen: HashMap<i64, Revision>,
    checks: usize,
    integrity_ok: usize,
    /// Checks that found revisions the check before had not: the run before wrote some.
    grew: usize,
}

impl Audit {
    /// Every invariant a crash must keep; panics naming the first one broken.
    fn check(&mut self, env: &Env, moment: &str) -> Snapshot {
        let db = env.db();
        self.checks += 1;
        let integrity: String = db
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .expect("integrity_check");
        assert_eq!(integrity, "ok", "{moment}: database corrupt");
        self.integrity_ok += 1;
        let foreign: i64 = db
            .query_row("SELECT COUNT(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .expect("foreign_key_check");
        assert_eq!(foreign, 0, "{moment}: rows pointing at nothing");

        let revisions = read_revisions(&db);
        for (id, before) in &self.seen {
            assert_eq!(
                revisions.get(id),
                Some(before),
                "{moment}: revision {id} was committed before and is gone or changed"
            );
        }
        if revisions.len() > self.seen.len() {
            self.grew += 1;
        }
        check_numbering(&db, moment);
        let alerts = check_alerts(&db, moment);
        let articles: i64 = db
            .query_row(
                "SELECT COUNT(*) FROM articles WHERE origin = 'feed'",
                [],
                |r| r.get(0),
            )
            .expect("articles");
        self.seen = revisions.clone();
        Snapshot {
            revisions,
            alerts,
            articles,
        }
    }
}

fn read_revisions(db: &Connection) -> HashMap<i64, Revision> {
    let mut stmt = db
        .prepare("SELECT id, article_id, number, content_hash FROM revisions")
        .expect("prepare");
    stmt.query_map([], |r| {
        Ok((
            r.get(0)?,
            Revision {
                article_id: r.get(1)?,
                number: r.get(2)?,
                content_hash: r.get(3)?,
            },
        ))
    })
    .expect("revisions")
    .collect::<Result<_, _>>()
    .expect("revision rows")
}

/// Each article's revisions are numbered 1..n, once each.
fn check_numbering(db: &Connection, moment: &str) {
    let mut stmt = db
        .prepare(
            "SELECT article_id, COUNT(*), COUNT(DISTINCT number), MIN(number), MAX(number)
             FROM revisions GROUP BY article_id",
        )
        .expect("prepare");
    let rows: Vec<(i64, i64, i64, i64, i64)> = stmt
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .expect("numbering")
        .collect::<Result<_, _>>()
        .expect("numbering rows");
    for (article, count, distinct, min, max) in rows {
        assert!(
            count == distinct && min == 1 && max == count,
            "{moment}: article {article} has {count} revisions numbered {min}..{max} \
             ({distinct} distinct numbers)"
        );
    }
    let orphans: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM articles a
             WHERE NOT EXISTS (SELECT 1 FROM revisions r WHERE r.article_id = a.id)",
            [],
            |r| r.get(0),
        )
        .expect("orphans");
    assert_eq!(orphans, 0, "{moment}: articles without a revision");
}

/// The alert a revision of a feed article must have, from the rules of the store: revision 1
/// is `new`; a later one is `changed` against the latest earlier revision of its body kind,
/// unless it is the first text of its kind, or a text that kind had before (no alert). Every
/// edit of this test changes whole words, so the word threshold never silences one.
fn expected_alerts(db: &Connection) -> HashMap<i64, (String, Option<i64>)> {
    let mut stmt = db
        .prepare(
            "SELECT r.id, r.article_id, r.number, r.body_kind, r.content_hash
             FROM revisions r JOIN articles a ON a.id = r.article_id
             WHERE a.origin = 'feed'
             ORDER BY r.article_id, r.number",
        )
        .expect("prepare");
    let rows: Vec<(i64, i64, i64, String, String)> = stmt
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .expect("feed revisions")
        .collect::<Result<_, _>>()
        .expect("feed revision rows");
    let mut expected = HashMap::new();
    let mut article = None;
    // Per body kind: the latest revision id and every hash seen.
    let mut kinds: HashMap<String, (i64, HashSet<String>)> = HashMap::new();
    for (id, article_id, number, kind, hash) in rows {
        if article != Some(article_id) {
            article = Some(article_id);
            kinds.clear();
        }
        let alert = match kinds.get(&kind) {
            _ if number == 1 => Some(("new".to_owned(), None)),
            Some((latest, hashes)) if !hashes.contains(&hash) => {
                Some(("changed".to_owned(), Some(*latest)))
            }
            _ => None,
        };
        if let Some(alert) = alert {
            expected.insert(id, alert);
        }
        let entry = kinds.entry(kind).or_default();
        entry.0 = id;
        entry.1.insert(hash);
    }
    expected
}

/// Every revision of a feed article has exactly the alert the rules call for, and every
/// alert exactly one log delivery; returns the number of alerts.
fn check_alerts(db: &Connection, moment: &str) -> usize {
    let expected = expected_alerts(db);
    let mut stmt = db
        .prepare(
            "SELECT al.id, al.revision_id, al.kind, al.previous_revision_id,
                    al.article_id = r.article_id,
                    (SELECT COUNT(*) FROM deliveries d WHERE d.alert_id = al.id AND d.sink = 'log')
             FROM alerts al JOIN revisions r ON r.id = al.revision_id",
        )
        .expect("prepare");
    let alerts: Vec<(String, i64, String, Option<i64>, bool, i64)> = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .expect("alerts")
        .collect::<Result<_, _>>()
        .expect("alert rows");
    let total: i64 = db
        .query_row("SELECT COUNT(*) FROM alerts", [], |r| r.get(0))
        .expect("alerts");
    assert_eq!(
        total as usize,
        alerts.len(),
        "{moment}: alerts without their revision"
    );
    let mut by_revision: HashMap<i64, Vec<(String, Option<i64>)>> = HashMap::new();
    for (id, revision, kind, previous, same_article, deliveries) in alerts {
        assert!(same_article, "{moment}: alert {id} names another article");
        assert_eq!(
            deliveries, 1,
            "{moment}: alert {id} has {deliveries} log deliveries"
        );
        by_revision
            .entry(revision)
            .or_default()
            .push((kind, previous));
    }
    for (revision, want) in &expected {
        let got = by_revision.get(revision).map(Vec::as_slice).unwrap_or(&[]);
        assert_eq!(
            got,
            std::slice::from_ref(want),
            "{moment}: revision {revision} should have exactly one {want:?} alert"
        );
    }
    let unexpected: Vec<&i64> = by_revision
        .keys()
        .filter(|r| !expected.contains_key(r))
        .collect();
    assert!(
        unexpected.is_empty(),
        "{moment}: alerts on revisions that call for none: {unexpected:?}"
    );
    expected.len()
}

/// The ids of an alert log's lines, in order; panics on a line that is not whole JSON (a torn
/// line: no final newline, or cut mid-object). A missing file has no lines.
pub(crate) fn log_ids(path: &Path) -> Vec<String> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => panic!("{}: {e}", path.display()),
    };
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "{}: the last line is torn: {:?}",
        path.display(),
        &text[text.rfind('\n').map_or(0, |p| p + 1)..]
    );
    text.lines()
        .enumerate()
        .map(|(n, line)| {
            let alert: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{}:{}: not JSON ({e}): {line}", path.display(), n + 1));
            alert["id"]
                .as_str()
                .unwrap_or_else(|| panic!("{}:{}: no id", path.display(), n + 1))
                .to_owned()
        })
        .collect()
}

/// Whether the file at `path` holds a whole line yet. For polling while the daemon writes:
/// a reader may see an append half done, so only [`log_ids`] after the stop judges lines.
fn has_a_line(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|bytes| bytes.contains(&b'\n'))
}

pub(crate) fn alert_ids(env: &Env) -> HashSet<String> {
    let db = env.db();
    let mut stmt = db.prepare("SELECT id FROM alerts").expect("prepare");
    stmt.query_map([], |r| r.get(0))
        .expect("alert ids")
        .collect::<Result<_, _>>()
        .expect("alert id rows")
}

fn last_fetch(env: &Env) -> i64 {
    env.count("SELECT COALESCE(MAX(id), 0) FROM fetches")
}

/// Waits until every feed has been polled after fetch `since` and the log sink has nothing
/// pending: with the feeds no longer edited, all there is to store is stored and delivered.
fn wait_drained(env: &Env, feeds: usize, since: i64) -> bool {
    let db = env.db();
    wait_for(Duration::from_secs(60), || {
        let (polled, pending): (i64, i64) = db
            .query_row(
                "SELECT (SELECT COUNT(DISTINCT feed_id) FROM fetches WHERE id > ?1),
                        (SELECT COUNT(*) FROM deliveries WHERE sink = 'log' AND status = 'pending')",
                [since],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("drain state");
        polled as usize >= feeds && pending == 0
    })
}

/// The daemon's log, for an assertion message.
pub(crate) fn daemon_log_tail(env: &Env) -> String {
    let text = std::fs::read_to_string(env.path("daemon.log")).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

#[test]
fn sigkill_at_random_moments_of_heavy_passes_loses_no_revision_and_no_alert() {
    const FEEDS: usize = 40;
    const ITEMS: usize = 50;
    const KILLS: usize = 32;
    let seed = fault_seed("crash::sigkill");
    let mut rng = fastrand::Rng::with_seed(seed);
    let clock = Instant::now();
    let env = Env::start();
    let mut room = Newsroom::new(seed, FEEDS, ITEMS);
    room.publish_all(&env.server);
    write_fast_config(&env, &room);
    let log = env.path("data/alerts.jsonl");

    let mut audit = Audit::default();
    for kill in 1..=KILLS {
        let daemon = env.spawn_run();
        // Edits keep coming while it runs, so every pass has revisions to write.
        let moment = Duration::from_millis(rng.u64(50..=1500));
        keep_editing(&mut room, &mut rng, &env.server, 4, moment);
        daemon.kill();
        audit.check(&env, &format!("after kill {kill} at {moment:?}"));
    }

    // A last start with the feeds at rest: it stores what the kills cut short and delivers
    // every alert, then stops cleanly.
    let since = last_fetch(&env);
    let daemon = env.spawn_run();
    let drained = wait_drained(&env, FEEDS, since);
    let status = daemon.stop(Duration::from_secs(15));
    assert!(drained, "never drained:\n{}", daemon_log_tail(&env));
    assert!(status.success(), "{status:?}:\n{}", daemon_log_tail(&env));
    let last = audit.check(&env, "after the last, clean stop");

    // Every item is one article whose latest text is the item's latest version.
    assert_eq!(last.articles, (FEEDS * ITEMS) as i64, "articles");
    let db = env.db();
    for f in 0..FEEDS {
        for i in 0..ITEMS {
            let body: String = db
                .query_row(
                    "SELECT r.body FROM articles a JOIN revisions r ON r.article_id = a.id
                     WHERE a.url = ?1 ORDER BY r.number DESC LIMIT 1",
                    [room.link(f, i)],
                    |r| r.get(0),
                )
                .unwrap_or_else(|e| panic!("{}: {e}", room.link(f, i)));
            let mark = room.version_mark(f, i);
            assert!(
                body.contains(&mark),
                "{}: not {mark}: {body}",
                room.link(f, i)
            );
        }
    }

    let lines = log_ids(&log);
    let logged: HashSet<&String> = lines.iter().collect();
    let ids = alert_ids(&env);
    let missing = ids.iter().filter(|id| !logged.contains(id)).count();
    let strangers = logged.iter().filter(|id| !ids.contains(**id)).count();
    let duplicates = lines.len() - logged.len();
    eprintln!(
        "crash::sigkill figures: kills {KILLS}, integrity ok {}/{}, checks finding new revisions {}, \
         articles {}, revisions {}, alerts {}, log lines {}, missing {missing}, \
         duplicates {duplicates}, seconds {:.1}",
        audit.integrity_ok,
        audit.checks,
        audit.grew,
        last.articles,
        last.revisions.len(),
        last.alerts,
        lines.len(),
        clock.elapsed().as_secs_f64()
    );
    assert_eq!(last.alerts, ids.len());
    assert_eq!(missing, 0, "alerts never written to the log");
    assert_eq!(
        strangers, 0,
        "log lines for alerts the database does not have"
    );
    assert!(
        duplicates <= KILLS,
        "{duplicates} repeated log lines after {KILLS} kills"
    );
    assert!(
        last.revisions.len() > FEEDS * ITEMS,
        "too few edits were stored to test anything: {}",
        last.revisions.len()
    );
}

/// How the alert log is taken away from the daemon.
#[derive(Debug, Clone, Copy)]
enum TakeAway {
    /// Renamed, as logrotate does without `copytruncate`.
    Rename,
    /// Deleted. A hard link is kept aside first, only so the test can still read what the
    /// file held: for the daemon the path is gone all the same.
    Delete,
    /// Renamed, then SIGHUP, as logrotate's `postrotate` would send.
    RenameAndReload,
}

#[test]
fn a_rotated_or_deleted_alert_log_is_recreated_and_holds_every_later_alert() {
    const FEEDS: usize = 4;
    let seed = fault_seed("crash::rotation");
    let mut rng = fastrand::Rng::with_seed(seed);
    let env = Env::start();
    let mut room = Newsroom::new(seed, FEEDS, 10);
    room.publish_all(&env.server);
    write_fast_config(&env, &room);
    let log = env.path("data/alerts.jsonl");
    let daemon = env.spawn_run();
    assert!(
        wait_for(Duration::from_secs(30), || has_a_line(&log)),
        "no first alert:\n{}",
        daemon_log_tail(&env)
    );

    let mut files: Vec<PathBuf> = Vec::new();
    for (n, how) in [
        TakeAway::Rename,
        TakeAway::Delete,
        TakeAway::RenameAndReload,
    ]
    .into_iter()
    .enumerate()
    {
        let away = env.path(&format!("data/alerts.jsonl.{n}"));
        match how {
            TakeAway::Rename => std::fs::rename(&log, &away).expect("rename"),
            TakeAway::Delete => {
                std::fs::hard_link(&log, &away).expect("link");
                std::fs::remove_file(&log).expect("delete");
            }
            TakeAway::RenameAndReload => {
                std::fs::rename(&log, &away).expect("rename");
                daemon.signal("HUP");
            }
        }
        files.push(away);
        // The next alerts land in a new file at the configured path.
        let deadline = Instant::now() + Duration::from_secs(30);
        while !has_a_line(&log) && Instant::now() < deadline {
            keep_editing(
                &mut room,
                &mut rng,
                &env.server,
                1,
                Duration::from_millis(300),
            );
        }
        assert!(
            has_a_line(&log),
            "{how:?}: no new alert log at the configured path:\n{}",
            daemon_log_tail(&env)
        );
    }
    files.push(log.clone());

    let since = last_fetch(&env);
    let drained = wait_drained(&env, FEEDS, since);
    let status = daemon.stop(Duration::from_secs(15));
    assert!(drained, "never drained:\n{}", daemon_log_tail(&env));
    assert!(status.success(), "{status:?}");
    let mut logged: HashSet<String> = HashSet::new();
    for file in &files {
        let ids = log_ids(file);
        assert!(!ids.is_empty(), "{} is empty", file.display());
        logged.extend(ids);
    }
    let ids = alert_ids(&env);
    let missing: Vec<&String> = ids.iter().filter(|id| !logged.contains(*id)).collect();
    eprintln!(
        "crash::rotation figures: alerts {}, files {}, missing {}",
        ids.len(),
        files.len(),
        missing.len()
    );
    assert!(missing.is_empty(), "alerts in no log file: {missing:?}");
}

#[test]
fn alerts_logged_just_before_a_kill_are_not_logged_again() {
    let env = Env::start();
    let room = Newsroom::new(7, 1, 5);
    room.publish_all(&env.server);
    env.write_config(&room.feeds(), "");
    env.poll();
    let log = env.path("data/alerts.jsonl");
    let logged = log_ids(&log);
    assert_eq!(logged.len(), 5);
    // What a kill leaves when it comes after the last three lines were appended (the last
    // one only half) and before their deliveries were marked.
    env.db()
        .execute(
            "UPDATE deliveries SET status = 'pending', delivered_at = NULL
             WHERE sink = 'log' AND alert_id IN (SELECT id FROM alerts ORDER BY seq DESC LIMIT 3)",
            [],
        )
        .expect("unmark");
    let text = std::fs::read_to_string(&log).expect("log");
    std::fs::write(&log, &text[..text.len() - 10]).expect("tear");

    env.poll();
    assert_eq!(
        log_ids(&log),
        logged,
        "each alert once, in order, the torn one written again whole"
    );
    assert_eq!(
        env.count("SELECT COUNT(*) FROM deliveries WHERE sink = 'log' AND status = 'pending'"),
        0
    );
}

#[test]
fn a_line_torn_by_a_crash_is_cut_when_the_daemon_starts() {
    let env = Env::start();
    // A feed that is gone: polled, but never the source of an alert.
    env.server.set(
        "/gone.xml",
        Reply::Status {
            status: 404,
            body: b"gone".to_vec(),
        },
    );
    env.write_config(&[feed("Gone", "/gone.xml")], "");
    let log = env.path("data/alerts.jsonl");
    std::fs::create_dir_all(env.path("data")).expect("data folder");
    let whole = "{\"version\":1,\"id\":\"9f0c\",\"kind\":\"new\",\"revision\":1}\n";
    std::fs::write(&log, format!("{whole}{{\"version\":1,\"id\":\"a7")).expect("torn log");

    let daemon = env.spawn_run();
    // The repair comes at the start, before the first poll.
    assert!(
        wait_for(Duration::from_secs(20), || !env
            .server
            .seen("/gone.xml")
            .is_empty()),
        "the feed was never polled:\n{}",
        daemon_log_tail(&env)
    );
    assert_eq!(
        std::fs::read_to_string(&log).expect("log"),
        whole,
        "the torn line is still there"
    );
    assert!(daemon.stop(Duration::from_secs(15)).success());
    assert_eq!(env.count("SELECT COUNT(*) FROM alerts"), 0);
}
