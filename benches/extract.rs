//! Extraction time per page over the shared page corpora (`../shared/corpora/pages-*`), beside
//! Python trafilatura on the same pages in the same run when `BENCH_FLOOR` names its command
//! (`benches/extract.sh` sets it up). Prints the median and mean per page, and the ratio.
//!
//! Settings (environment): `BENCH_RUNS` (default 5) timed runs of each page, of which the
//! median counts; `BENCH_PAGES` (default all) to take only the first N pages.

use std::path::{Path, PathBuf};
use std::time::Instant;

fn pages() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpora");
    let mut pages = Vec::new();
    for entry in std::fs::read_dir(root.join("pages-readability")).expect("pages-readability") {
        pages.push(entry.expect("entry").path().join("source.html"));
    }
    for entry in std::fs::read_dir(root.join("pages-trafilatura")).expect("pages-trafilatura") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "html") {
            pages.push(path);
        }
    }
    pages.sort();
    pages
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let mut pages = pages();
    if let Some(n) = std::env::var("BENCH_PAGES")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        pages.truncate(n);
    }
    let decoded = tempfile::tempdir().expect("tempdir");
    let mut per_page = Vec::with_capacity(pages.len());
    for (i, page) in pages.iter().enumerate() {
        let body = std::fs::read(page).expect("page");
        // The floor gets the text storywatch decodes, so both read the same characters.
        let text = storywatch::extract::decode_page(&body, None);
        std::fs::write(decoded.path().join(format!("{i:04}.html")), text.as_bytes())
            .expect("decoded page");
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs.max(1) {
            let started = Instant::now();
            let _ = std::hint::black_box(storywatch::extract::extract_article(
                std::hint::black_box(&body),
                None,
                None,
            ));
            times.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        per_page.push(median(&mut times));
    }
    let mean = per_page.iter().sum::<f64>() / per_page.len() as f64;
    let storywatch = median(&mut per_page);
    println!(
        "extract | storywatch: {} pages, median {storywatch:.2} ms, mean {mean:.2} ms a page",
        pages.len()
    );
    let Ok(floor) = std::env::var("BENCH_FLOOR") else {
        println!(
            "extract | no BENCH_FLOOR: Python trafilatura not run (benches/extract.sh runs it)"
        );
        return;
    };
    let mut words = floor.split_whitespace();
    let program = words.next().expect("a command");
    let out = std::process::Command::new(program)
        .args(words)
        .arg(decoded.path())
        .arg(runs.to_string())
        .output()
        .expect("run the floor");
    if !out.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&out.stderr));
        panic!("the floor failed: {}", out.status);
    }
    let report = String::from_utf8_lossy(&out.stdout);
    print!("{report}");
    let floor_median = report
        .lines()
        .find_map(|l| l.split("median ").nth(1))
        .and_then(|rest| rest.split(' ').next())
        .and_then(|v| v.parse::<f64>().ok());
    if let Some(floor_median) = floor_median {
        println!(
            "extract | Python trafilatura / storywatch, medians: {:.1}x",
            floor_median / storywatch
        );
    } else {
        eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    }
}
