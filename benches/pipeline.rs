//! The load benchmark: storywatch's real pass (what `poll --all` runs: [`Context::start`] and
//! [`daemon::poll_pass`]) against a loopback server of N synthetic feeds of K items each,
//! with a temporary database.
//!
//! `cargo bench --bench pipeline`, sized by environment variables:
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `BENCH_FEEDS` | 1000 | N, feeds served |
//! | `BENCH_ITEMS` | 20 | K, items per feed |
//! | `BENCH_RUNS` | 1 | runs of the four passes (each on a fresh database); medians over runs |
//! | `BENCH_RSS_PASSES` | 0 | when set, a further run of that many passes, RSS after each |
//! | `BENCH_FLOOR` | unset | a command (`python3 benches/floor.py`) doing the same passes naively against the same server, for the ratio |
//! | `BENCH_PAGES` | unset | when set, the page benchmark instead: the stories link to article pages on the server, and after one poll of every feed the page passes run (see [`page_bench`]) |
//!
//! Passes, in this order each run: `cold` (every item new), `changed` (5% of items edited,
//! 1% new), `304` (every feed answers Not Modified) and `200` (the server ignores validators
//! and sends the same bodies again). Each prints wall time, CPU time of this process, items/s
//! (items served by the feeds polled, over wall time), peak RSS during the pass, the database
//! size (main file and WAL) and the normalized text it holds.
//!
//! The server runs in a child process (this binary again, `BENCH_ROLE=server`), so its CPU
//! time and memory are not counted as storywatch's; it shares the machine's cores, as a real
//! network would not, so wall times are pessimistic. It pre-renders every feed body, so a
//! request costs it a copy. It listens on several loopback addresses (127.0.0.1–127.0.0.H) so
//! that the daemon's per-host limit sees many publishers, as it would in the field.
//!
//! With `BENCH_PAGES`, the server also serves each story's article page (about 40 KiB of a
//! news site's markup: navigation, byline, share bar, a related list with view counters and a
//! newsletter box around the story, the furniture different on every load) with an ETag per
//! story revision, and the feed passes make way for page passes: the first check of every
//! tracked story's page, the same pages again with validators ignored, again as `304`s, and
//! after a generation of edits. `BENCH_PAGES=1 BENCH_FEEDS=10000 BENCH_ITEMS=6` is 10,000
//! feeds with some 20,000 tracked stories.
//!
//! It does not check speed: it measures and prints. CI runs it at a small N to prove it runs.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use storywatch::daemon::{self, Context};

#[path = "support/synth.rs"]
mod synth;

fn main() {
    if std::env::var("BENCH_ROLE").as_deref() == Ok("server") {
        server::serve();
        return;
    }
    if let Err(error) = bench() {
        eprintln!("pipeline bench: {error}");
        std::process::exit(1);
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn env_usize(name: &str, default: usize) -> Result<usize, BoxError> {
    match std::env::var(name) {
        Ok(v) => Ok(v.parse().map_err(|e| format!("{name}={v}: {e}"))?),
        Err(_) => Ok(default),
    }
}

/// The passes of one run, in order.
const PASSES: [Pass; 4] = [
    Pass::Cold,
    Pass::Changed,
    Pass::NotModified,
    Pass::Unchanged200,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Pass {
    Cold,
    Changed,
    NotModified,
    Unchanged200,
}

impl Pass {
    fn name(self) -> &'static str {
        match self {
            Pass::Cold => "cold",
            Pass::Changed => "changed",
            Pass::NotModified => "304",
            Pass::Unchanged200 => "200",
        }
    }
}

/// What one pass measured.
#[derive(Debug, Clone, Default)]
struct Figures {
    wall: f64,
    cpu: f64,
    items: u64,
    peak_rss: u64,
    db_bytes: u64,
    text_bytes: u64,
}

impl Figures {
    fn items_per_s(&self) -> f64 {
        self.items as f64 / self.wall.max(1e-9)
    }
}

fn bench() -> Result<(), BoxError> {
    let feeds = env_usize("BENCH_FEEDS", 1000)?;
    let items = env_usize("BENCH_ITEMS", 20)?;
    let runs = env_usize("BENCH_RUNS", 1)?.max(1);
    let rss_passes = env_usize("BENCH_RSS_PASSES", 0)?;
    let floor = std::env::var("BENCH_FLOOR").ok().filter(|s| !s.is_empty());
    let hosts = (feeds / 50).clamp(1, 200);

    let mut server = ServerProcess::start(feeds, items, hosts)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    if std::env::var_os("BENCH_PAGES").is_some() {
        let result = page_bench(&mut server, &runtime, feeds, items, hosts, runs);
        server.stop();
        return result;
    }
    println!(
        "pipeline bench: {feeds} feeds x {items} items on {hosts} loopback hosts, {} cores, {runs} run(s)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    let mut results: HashMap<(&str, Pass), Vec<Figures>> = HashMap::new();
    for run in 1..=runs {
        let dir = tempfile::tempdir()?;
        server.command("reset")?;
        let config = write_config(dir.path(), &server.urls(feeds), false)?;
        let ctx = Arc::new(Context::start(storywatch::config::load(&config)?)?);
        for pass in PASSES {
            prepare(&mut server, pass)?;
            let figures = runtime.block_on(storywatch_pass(&ctx, dir.path(), feeds * items))?;
            print_row(&format!("storywatch run {run}"), pass, &figures);
            results
                .entry(("storywatch", pass))
                .or_default()
                .push(figures);
        }
        drop(ctx);

        if let Some(command) = &floor {
            let floor_dir = tempfile::tempdir()?;
            server.command("reset")?;
            let mut floor = Floor::start(command, &server.urls(feeds), floor_dir.path())?;
            for pass in PASSES {
                prepare(&mut server, pass)?;
                let mut figures = floor.pass(pass)?;
                figures.items = (feeds * items) as u64;
                figures.db_bytes = db_size(&floor_dir.path().join("floor.db"));
                print_row(&format!("floor run {run}"), pass, &figures);
                results.entry(("floor", pass)).or_default().push(figures);
            }
        }
    }

    println!();
    println!("medians of {runs} run(s), N = {feeds}, K = {items}:");
    println!();
    println!(
        "| pass | wall s | CPU s | items/s | peak RSS MiB | DB MiB | text MiB | DB / text | floor wall s | floor CPU s | storywatch / floor (wall) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for pass in PASSES {
        let Some(ours) = results.get(&("storywatch", pass)) else {
            continue;
        };
        let m = median_figures(ours);
        let (floor_wall, floor_cpu, ratio) = match results.get(&("floor", pass)) {
            Some(theirs) => {
                let f = median_figures(theirs);
                (
                    format!("{:.2}", f.wall),
                    format!("{:.2}", f.cpu),
                    format!("{:.3}", m.wall / f.wall.max(1e-9)),
                )
            }
            None => ("-".into(), "-".into(), "-".into()),
        };
        println!(
            "| {} | {:.2} | {:.2} | {:.0} | {:.0} | {:.1} | {:.1} | {:.2} | {floor_wall} | {floor_cpu} | {ratio} |",
            pass.name(),
            m.wall,
            m.cpu,
            m.items_per_s(),
            mib(m.peak_rss),
            mib(m.db_bytes),
            mib(m.text_bytes),
            m.db_bytes as f64 / (m.text_bytes.max(1)) as f64,
        );
    }

    if rss_passes > 0 {
        println!();
        println!(
            "RSS after each of {rss_passes} passes (a fresh database; cold, then changed, 304 and 200 in turn):"
        );
        let dir = tempfile::tempdir()?;
        server.command("reset")?;
        let config = write_config(dir.path(), &server.urls(feeds), false)?;
        let ctx = Arc::new(Context::start(storywatch::config::load(&config)?)?);
        for n in 0..rss_passes {
            let pass = if n == 0 {
                Pass::Cold
            } else {
                PASSES[1 + (n - 1) % 3]
            };
            prepare(&mut server, pass)?;
            let figures = runtime.block_on(storywatch_pass(&ctx, dir.path(), feeds * items))?;
            println!(
                "pass {:>2} ({:<7}) wall {:>6.2} s, RSS now {:>5.1} MiB, peak in pass {:>5.1} MiB",
                n + 1,
                pass.name(),
                figures.wall,
                mib(rss_now()),
                mib(figures.peak_rss)
            );
        }
    }
    server.stop();
    Ok(())
}

/// The page passes of one run, in order: the first check of every tracked story's page, the
/// same pages again (the server ignoring validators, so each is fetched and extracted, its
/// furniture rotated), again with validators (every page `304`), and after a generation of
/// edits (5% of stories rewritten a sentence).
const PAGE_PASSES: [&str; 4] = ["first", "same 200", "304", "edited"];

/// `BENCH_PAGES=1`: the daemon's page throughput at N feeds whose stories link to pages on the
/// loopback server. Each run polls every feed once (tracking a third of the N x K stories),
/// then makes the page passes with [`daemon::check_pages`], the page half of `poll`, under
/// the default `[pages]` settings (4 in flight, robots.txt asked once per host).
fn page_bench(
    server: &mut ServerProcess,
    runtime: &tokio::runtime::Runtime,
    feeds: usize,
    items: usize,
    hosts: usize,
    runs: usize,
) -> Result<(), BoxError> {
    println!(
        "page bench: {feeds} feeds x {items} items on {hosts} loopback hosts, {} cores, {runs} run(s)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let mut results: HashMap<&str, Vec<(f64, f64, u64, u64)>> = HashMap::new();
    let mut tracked = 0;
    for run in 1..=runs {
        let dir = tempfile::tempdir()?;
        server.command("reset")?;
        server.command("validators on")?;
        let config = write_config(dir.path(), &server.urls(feeds), true)?;
        let ctx = Arc::new(Context::start(storywatch::config::load(&config)?)?);
        let (_stop, shutdown) = tokio::sync::watch::channel(false);
        let polled = runtime.block_on(daemon::poll_feeds_only(&ctx, true, shutdown.clone()))?;
        tracked = polled.new_articles;
        println!(
            "run {run}: {} feeds polled, {tracked} stories tracked",
            polled.polled
        );
        for pass in PAGE_PASSES {
            match pass {
                "same 200" => server.command("validators off")?,
                "304" => server.command("validators on")?,
                "edited" => server.command("edit")?,
                _ => {}
            }
            reset_peak_rss();
            let cpu = cpu_seconds()?;
            let start = Instant::now();
            let all = pass != "first";
            let summary = runtime.block_on(daemon::check_pages(&ctx, all, shutdown.clone()))?;
            let wall = start.elapsed().as_secs_f64();
            let cpu = cpu_seconds()? - cpu;
            let rss = peak_rss();
            println!(
                "run {run} {pass:<9} {:>6} pages in {wall:>7.2} s ({:>6.0}/s), cpu {cpu:>6.2} s, \
                 peak RSS {:>6.1} MiB; {} changed, {} failed",
                summary.pages_checked,
                summary.pages_checked as f64 / wall.max(1e-9),
                mib(rss),
                summary.pages_changed,
                summary.pages_failed
            );
            if summary.pages_failed > 0 {
                return Err(format!("{} page checks failed", summary.pages_failed).into());
            }
            results
                .entry(pass)
                .or_default()
                .push((wall, cpu, summary.pages_checked, rss));
        }
        let db = dir.path().join("storywatch.db");
        println!(
            "run {run}: database {:.1} MiB, text {:.1} MiB",
            mib(db_size(&db)),
            mib(text_bytes(&db)?)
        );
    }
    println!();
    println!(
        "medians of {runs} run(s), N = {feeds} feeds, K = {items}, {tracked} tracked stories:"
    );
    println!();
    println!("| page pass | pages | wall s | CPU s | pages/s | CPU ms/page | peak RSS MiB |");
    println!("|---|---|---|---|---|---|---|");
    for pass in PAGE_PASSES {
        let Some(rows) = results.get(pass) else {
            continue;
        };
        let wall = median(rows.iter().map(|r| r.0).collect());
        let cpu = median(rows.iter().map(|r| r.1).collect());
        let pages = median(rows.iter().map(|r| r.2 as f64).collect());
        let rss = median(rows.iter().map(|r| r.3 as f64).collect());
        println!(
            "| {pass} | {pages:.0} | {wall:.2} | {cpu:.2} | {:.0} | {:.2} | {:.0} |",
            pages / wall.max(1e-9),
            1000.0 * cpu / pages.max(1.0),
            rss / (1024.0 * 1024.0)
        );
    }
    Ok(())
}

/// Sets the server up for `pass`: a new generation of edits before `changed`, validators
/// honoured or not.
fn prepare(server: &mut ServerProcess, pass: Pass) -> Result<(), BoxError> {
    match pass {
        Pass::Cold | Pass::NotModified => server.command("validators on"),
        Pass::Changed => {
            server.command("validators on")?;
            server.command("edit")
        }
        Pass::Unchanged200 => server.command("validators off"),
    }
}

fn print_row(who: &str, pass: Pass, f: &Figures) {
    println!(
        "{who:<18} {:<8} wall {:>7.2} s  cpu {:>7.2} s  {:>8.0} items/s  peak RSS {:>6.1} MiB  db {:>7.1} MiB  text {:>7.1} MiB",
        pass.name(),
        f.wall,
        f.cpu,
        f.items_per_s(),
        mib(f.peak_rss),
        mib(f.db_bytes),
        mib(f.text_bytes),
    );
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

fn median_figures(all: &[Figures]) -> Figures {
    let m = |f: fn(&Figures) -> f64| median(all.iter().map(f).collect());
    Figures {
        wall: m(|f| f.wall),
        cpu: m(|f| f.cpu),
        items: m(|f| f.items as f64) as u64,
        peak_rss: m(|f| f.peak_rss as f64) as u64,
        db_bytes: m(|f| f.db_bytes as f64) as u64,
        text_bytes: m(|f| f.text_bytes as f64) as u64,
    }
}

/// A config for the benchmark: the shipped seeds, an alert log, the default poll settings,
/// one `[[feed]]` a URL.
fn write_config(dir: &Path, urls: &[String], pages: bool) -> Result<PathBuf, BoxError> {
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    let mut text = format!(
        "database = {:?}\nseeds = {:?}\nlog_level = \"warn\"\n\n[alerts]\nlog = {:?}\n\n\
         [pages]\nenabled = {pages}\n\n",
        dir.join("storywatch.db"),
        seeds,
        dir.join("alerts.jsonl"),
    );
    for (i, url) in urls.iter().enumerate() {
        text.push_str(&format!(
            "[[feed]]\nname = \"Feed {i}\"\nurl = \"{url}\"\n\n"
        ));
    }
    let path = dir.join("storywatch.toml");
    std::fs::write(&path, text)?;
    Ok(path)
}

/// One storywatch pass over every feed, measured.
async fn storywatch_pass(
    ctx: &Arc<Context>,
    dir: &Path,
    items: usize,
) -> Result<Figures, BoxError> {
    reset_peak_rss();
    let cpu = cpu_seconds()?;
    let start = Instant::now();
    let (_stop, shutdown) = tokio::sync::watch::channel(false);
    let summary = daemon::poll_pass(Arc::clone(ctx), true, shutdown).await?;
    let wall = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds()? - cpu;
    if summary.failed > 0 {
        return Err(format!("{} of {} polls failed", summary.failed, summary.polled).into());
    }
    let db = dir.join("storywatch.db");
    Ok(Figures {
        wall,
        cpu,
        items: items as u64,
        peak_rss: peak_rss(),
        db_bytes: db_size(&db),
        text_bytes: text_bytes(&db)?,
    })
}

/// Bytes of normalized title and body held in `revisions`.
fn text_bytes(db: &Path) -> Result<u64, BoxError> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let n: i64 = conn.query_row(
        "SELECT COALESCE(SUM(LENGTH(CAST(title AS BLOB)) + LENGTH(CAST(body AS BLOB))), 0) FROM revisions",
        [],
        |r| r.get(0),
    )?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// The database's size on disk: the main file and its write-ahead log.
fn db_size(db: &Path) -> u64 {
    let size = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    size(db) + size(Path::new(&wal))
}

/// User plus system CPU time of this process, from `/proc/self/stat` (clock ticks of 10 ms).
fn cpu_seconds() -> Result<f64, BoxError> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // The command name may hold spaces; the fields after it are plain.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| -> Result<f64, BoxError> {
        Ok(fields
            .get(i)
            .ok_or("short /proc/self/stat")?
            .parse::<f64>()?)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    Ok((ticks(11)? + ticks(12)?) / 100.0)
}

fn status_kib(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        })
        .unwrap_or(0)
        * 1024
}

/// Resets the kernel's peak-RSS mark (`VmHWM`), so each pass reports its own peak.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn peak_rss() -> u64 {
    status_kib("VmHWM:")
}

fn rss_now() -> u64 {
    status_kib("VmRSS:")
}

/// The feed server in its child process, driven by one-line commands on its stdin.
struct ServerProcess {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    addrs: Vec<SocketAddr>,
}

impl ServerProcess {
    fn start(feeds: usize, items: usize, hosts: usize) -> Result<ServerProcess, BoxError> {
        let mut child = Command::new(std::env::current_exe()?)
            .env("BENCH_ROLE", "server")
            .env("BENCH_FEEDS", feeds.to_string())
            .env("BENCH_ITEMS", items.to_string())
            .env("BENCH_HOSTS", hosts.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdin = child.stdin.take().ok_or("server stdin")?;
        let mut stdout = BufReader::new(child.stdout.take().ok_or("server stdout")?);
        let mut line = String::new();
        stdout.read_line(&mut line)?;
        let addrs = line
            .split_whitespace()
            .map(str::parse)
            .collect::<Result<Vec<SocketAddr>, _>>()?;
        if addrs.is_empty() {
            return Err("the feed server did not start".into());
        }
        Ok(ServerProcess {
            child,
            stdin,
            stdout,
            addrs,
        })
    }

    /// Feed `i` is served by host `i mod H`.
    fn urls(&self, feeds: usize) -> Vec<String> {
        (0..feeds)
            .map(|i| format!("http://{}/feeds/{i}.xml", self.addrs[i % self.addrs.len()]))
            .collect()
    }

    fn command(&mut self, command: &str) -> Result<(), BoxError> {
        writeln!(self.stdin, "{command}")?;
        self.stdin.flush()?;
        let mut line = String::new();
        self.stdout.read_line(&mut line)?;
        if line.trim() != "ok" {
            return Err(format!("feed server: {command}: {line}").into());
        }
        Ok(())
    }

    fn stop(mut self) {
        drop(self.stdin);
        let _ = self.child.wait();
    }
}

/// The naive floor (`benches/floor.py`), driven pass by pass on its stdin; it answers each
/// pass with one line: `wall cpu peak_rss_bytes text_bytes`.
struct Floor {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Floor {
    fn start(command: &str, urls: &[String], dir: &Path) -> Result<Floor, BoxError> {
        let list = dir.join("feeds.txt");
        std::fs::write(&list, urls.join("\n"))?;
        let mut words = command.split_whitespace();
        let program = words.next().ok_or("BENCH_FLOOR is empty")?;
        let mut child = Command::new(program)
            .args(words)
            .arg(&list)
            .arg(dir.join("floor.db"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdin = child.stdin.take().ok_or("floor stdin")?;
        let stdout = BufReader::new(child.stdout.take().ok_or("floor stdout")?);
        Ok(Floor {
            child,
            stdin,
            stdout,
        })
    }

    fn pass(&mut self, pass: Pass) -> Result<Figures, BoxError> {
        writeln!(self.stdin, "{}", pass.name())?;
        self.stdin.flush()?;
        let mut line = String::new();
        self.stdout.read_line(&mut line)?;
        let v: Vec<f64> = line
            .split_whitespace()
            .map(str::parse)
            .collect::<Result<_, _>>()
            .map_err(|e| format!("floor answered {line:?}: {e}"))?;
        let [wall, cpu, rss, text] = v[..] else {
            return Err(format!("floor answered {line:?}").into());
        };
        Ok(Figures {
            wall,
            cpu,
            items: 0,
            peak_rss: rss as u64,
            db_bytes: 0,
            text_bytes: text as u64,
        })
    }
}

impl Drop for Floor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The feed server: synthetic news feeds, pre-rendered, served over plain HTTP/1.1 with
/// keep-alive from a few threads.
mod server {
    use super::*;
    use synth::FeedState;

    struct Rendered {
        body: Arc<Vec<u8>>,
        etag: String,
        last_modified: String,
    }

    struct Shared {
        feeds: RwLock<Vec<Arc<Rendered>>>,
        validators: RwLock<bool>,
        /// With `BENCH_PAGES`: each feed's items, to serve their pages, and the base URL
        /// its items link to.
        states: RwLock<Vec<FeedState>>,
        page_bases: Option<Vec<String>>,
        /// Page loads so far: each load's furniture (counters, "updated N minutes ago",
        /// the related list) differs, as on a real site.
        loads: std::sync::atomic::AtomicU64,
    }

    pub fn serve() {
        if let Err(error) = run() {
            eprintln!("feed server: {error}");
            std::process::exit(1);
        }
    }

    fn run() -> Result<(), BoxError> {
        let feeds = env_usize("BENCH_FEEDS", 1000)?;
        let items = env_usize("BENCH_ITEMS", 20)?;
        let hosts = env_usize("BENCH_HOSTS", 1)?;
        let pages = std::env::var_os("BENCH_PAGES").is_some();
        let mut states: Vec<FeedState> = (0..feeds).map(|f| FeedState::new(f, items)).collect();
        let mut listeners = Vec::new();
        let mut addrs = Vec::new();
        for h in 0..hosts {
            let listener = TcpListener::bind(format!("127.0.0.{}:0", h + 1))?;
            addrs.push(listener.local_addr()?.to_string());
            listeners.push(listener);
        }
        // A feed's stories link to pages on the feed's own host.
        let page_bases = pages.then(|| {
            (0..feeds)
                .map(|f| format!("http://{}", addrs[f % addrs.len()]))
                .collect::<Vec<_>>()
        });
        let rendered = states
            .iter()
            .map(|s| Arc::new(render(s, page_bases.as_deref())))
            .collect();
        let shared = Arc::new(Shared {
            feeds: RwLock::new(rendered),
            validators: RwLock::new(true),
            states: RwLock::new(states.clone()),
            page_bases,
            loads: std::sync::atomic::AtomicU64::new(0),
        });
        for listener in listeners {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || accept(listener, shared));
        }
        let mut out = std::io::stdout();
        writeln!(out, "{}", addrs.join(" "))?;
        out.flush()?;
        let mut generation = 0u64;
        for line in std::io::stdin().lock().lines() {
            let line = line?;
            match line.trim() {
                "reset" => {
                    generation = 0;
                    states = (0..feeds).map(|f| FeedState::new(f, items)).collect();
                    rerender(&shared, &states, None)?;
                }
                "edit" => {
                    generation += 1;
                    let changed: Vec<bool> =
                        states.iter_mut().map(|s| s.edit(generation)).collect();
                    rerender(&shared, &states, Some(&changed))?;
                }
                "validators on" => *write(&shared.validators)? = true,
                "validators off" => *write(&shared.validators)? = false,
                other => return Err(format!("unknown command {other:?}").into()),
            }
            writeln!(out, "ok")?;
            out.flush()?;
        }
        Ok(())
    }

    fn write<T>(lock: &RwLock<T>) -> Result<std::sync::RwLockWriteGuard<'_, T>, BoxError> {
        lock.write().map_err(|_| "poisoned".into())
    }

    fn rerender(
        shared: &Shared,
        states: &[FeedState],
        only: Option<&[bool]>,
    ) -> Result<(), BoxError> {
        let mut feeds = write(&shared.feeds)?;
        for (i, state) in states.iter().enumerate() {
            if only.is_none_or(|c| c[i]) {
                feeds[i] = Arc::new(render(state, shared.page_bases.as_deref()));
            }
        }
        if shared.page_bases.is_some() {
            *write(&shared.states)? = states.to_vec();
        }
        Ok(())
    }

    fn render(state: &FeedState, page_bases: Option<&[String]>) -> Rendered {
        let base = page_bases.and_then(|b| b.get(state.id)).map(String::as_str);
        Rendered {
            body: Arc::new(state.render_linked(base).into_bytes()),
            etag: format!("\"{}-{}\"", state.id, state.version),
            last_modified: synth::http_date(state.version),
        }
    }

    /// Answers a request for the page of story `seq` of feed `feed`: 404 when the feed does
    /// not carry it, 304 when the request's ETag is the story's revision (and validators are
    /// honoured), else the page, its furniture fresh on every load.
    fn page(
        writer: &mut TcpStream,
        shared: &Shared,
        headers: &HashMap<String, String>,
        feed: usize,
        seq: u64,
    ) -> Result<(), BoxError> {
        let revision = shared
            .states
            .read()
            .ok()
            .and_then(|states| states.get(feed).and_then(|s| s.revision_of(seq)));
        let Some(revision) = revision else {
            writer.write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")?;
            return Ok(());
        };
        let etag = format!("\"p{feed}-{seq}-{revision}\"");
        let honour = shared.validators.read().map(|v| *v).unwrap_or(true);
        if honour && headers.get("if-none-match") == Some(&etag) {
            write!(writer, "HTTP/1.1 304 Not Modified\r\netag: {etag}\r\n\r\n")?;
            return Ok(());
        }
        let load = shared
            .loads
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let body = synth::page(feed, seq, revision, load);
        write!(
            writer,
            "HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\netag: {etag}\r\n\
             content-length: {}\r\n\r\n",
            body.len()
        )?;
        writer.write_all(body.as_bytes())?;
        Ok(writer.flush()?)
    }

    /// One thread a connection: the daemon keeps at most `concurrency` connections busy.
    fn accept(listener: TcpListener, shared: Arc<Shared>) {
        for stream in listener.incoming().flatten() {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || {
                let _ = connection(stream, &shared);
            });
        }
    }

    fn connection(stream: TcpStream, shared: &Shared) -> Result<(), BoxError> {
        stream.set_nodelay(true)?;
        let mut reader = BufReader::new(stream.try_clone()?);
        let mut writer = stream;
        loop {
            let mut request_line = String::new();
            if reader.read_line(&mut request_line)? == 0 {
                return Ok(());
            }
            let mut headers = HashMap::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line)? == 0 {
                    return Ok(());
                }
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                if let Some((k, v)) = line.split_once(':') {
                    headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
                }
            }
            if let Some(n) = headers.get("content-length").and_then(|n| n.parse().ok()) {
                let mut skip = vec![0u8; n];
                reader.read_exact(&mut skip)?;
            }
            let path = request_line.split_whitespace().nth(1).unwrap_or("/");
            if let Some((feed, seq)) = synth::parse_page_path(path) {
                page(&mut writer, shared, &headers, feed, seq)?;
                continue;
            }
            let feed = path
                .strip_prefix("/feeds/")
                .and_then(|p| p.strip_suffix(".xml"))
                .and_then(|n| n.parse::<usize>().ok());
            let rendered = feed.and_then(|i| {
                shared
                    .feeds
                    .read()
                    .ok()
                    .and_then(|feeds| feeds.get(i).cloned())
            });
            let Some(rendered) = rendered else {
                writer.write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")?;
                continue;
            };
            let honour = shared.validators.read().map(|v| *v).unwrap_or(true);
            // RFC 9110 §13.1.2: If-None-Match wins over If-Modified-Since.
            let fresh = honour
                && match headers.get("if-none-match") {
                    Some(tag) => *tag == rendered.etag,
                    None => headers.get("if-modified-since") == Some(&rendered.last_modified),
                };
            if fresh {
                write!(
                    writer,
                    "HTTP/1.1 304 Not Modified\r\netag: {}\r\nlast-modified: {}\r\n\r\n",
                    rendered.etag, rendered.last_modified
                )?;
            } else {
                write!(
                    writer,
                    "HTTP/1.1 200 OK\r\ncontent-type: application/rss+xml; charset=utf-8\r\n\
                     etag: {}\r\nlast-modified: {}\r\ncontent-length: {}\r\n\r\n",
                    rendered.etag,
                    rendered.last_modified,
                    rendered.body.len()
                )?;
                writer.write_all(&rendered.body)?;
            }
            writer.flush()?;
        }
    }
}
