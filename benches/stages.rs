//! Each stage of the pipeline on its own, so a regression shows where it is: parse and
//! normalize one feed, the topic filter (a 5,000-word article, a headline and lede, building
//! the matcher), the diff of two 1,500-word revisions, and the store of one feed's items (all
//! new, and all unchanged). `cargo bench --bench stages` (criterion; one case:
//! `cargo bench --bench stages -- evaluate`); figures in BENCHMARKS.md. The whole pass is
//! `benches/pipeline.rs`.

use std::hint::black_box;

use chrono::Utc;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use storywatch::diff;
use storywatch::feed;
use storywatch::model::FeedId;
use storywatch::store::{Candidate, FeedWrite, FetchRecord, Store};
use storywatch::topic::{Spec, Topic};
use url::Url;

#[path = "support/synth.rs"]
mod synth;

/// The seed article's text (real prose about North Korea and Russia), repeated to `words`.
fn article(words: usize) -> String {
    let seed = include_str!("../seeds/dprk-russia-economic-ties.md");
    let prose: Vec<&str> = seed
        .split("+++")
        .last()
        .unwrap_or(seed)
        .split_whitespace()
        .collect();
    prose
        .iter()
        .cycle()
        .take(words)
        .copied()
        .collect::<Vec<_>>()
        .join(" ")
}

/// One synthetic feed of 20 news-length items, as the pipeline bench serves it.
fn feed_body() -> Vec<u8> {
    synth::FeedState::new(7, 20).render().into_bytes()
}

fn feed_url() -> Url {
    Url::parse("http://127.0.0.1/feeds/7.xml").expect("a valid URL")
}

fn parse(c: &mut Criterion) {
    let body = feed_body();
    let url = feed_url();
    let now = chrono::Utc::now();
    c.bench_function("parse and normalize one feed (20 items)", |b| {
        b.iter(|| feed::parse_feed(black_box(&body), None, &url, now))
    });
    // What a feed that feed-rs rejects costs instead: the liberal reader alone.
    c.bench_function("read one feed liberally and normalize (20 items)", |b| {
        b.iter(|| feed::parse_feed_liberally(black_box(&body), None, &url, now))
    });
}

fn topic(c: &mut Criterion) {
    let topic = Topic::new(&Spec::default()).expect("default topic");
    let long = article(5_000);
    c.bench_function("evaluate 5000-word article", |b| {
        b.iter(|| {
            topic.evaluate(
                black_box("North Korea and Russia deepen economic ties"),
                black_box(&long),
            )
        })
    });
    let lede = article(60);
    c.bench_function("evaluate headline and 60-word lede", |b| {
        b.iter(|| topic.evaluate(black_box("Putin arrives in Pyongyang"), black_box(&lede)))
    });
    c.bench_function("build default topic", |b| {
        b.iter(|| Topic::new(black_box(&Spec::default())))
    });
}

/// Two revisions of a 1,500-word story (paragraphs of 50 words): the second rewrites a
/// sentence in three paragraphs and adds one.
fn revisions() -> (String, String) {
    let words: Vec<String> = article(1_500).split(' ').map(str::to_owned).collect();
    let paragraphs: Vec<String> = words.chunks(50).map(|p| p.join(" ")).collect();
    let mut edited = paragraphs.clone();
    for i in [3, 14, 25] {
        edited[i] = edited[i]
            .replacen(' ', " reportedly ", 1)
            .replace("Russia", "Moscow");
    }
    edited.insert(
        20,
        "The Kremlin did not respond to a request for comment.".into(),
    );
    (paragraphs.join("\n"), edited.join("\n"))
}

fn diff_stage(c: &mut Criterion) {
    let (old, new) = revisions();
    let title = "North Korea and Russia deepen economic ties";
    c.bench_function("diff two 1500-word revisions", |b| {
        b.iter(|| {
            diff::compare_revisions(
                black_box((title, &old)),
                black_box((title, &new)),
                ("revision 1", "revision 2"),
                diff::DEADLINE,
            )
        })
    });
}

/// The candidates of one feed, every item relevant, with keys made unique by `round`.
fn candidates(items: &[storywatch::model::Item], round: u64) -> Vec<Candidate> {
    items
        .iter()
        .map(|item| {
            let mut item = item.clone();
            for key in &mut item.keys {
                key.0.push_str(&format!("#{round}"));
            }
            Candidate {
                item,
                relevant: true,
                matched_terms: vec!["North Korea".into(), "Russia".into()],
                score: 1.0,
            }
        })
        .collect()
}

fn write(feed: FeedId, candidates: &[Candidate]) -> FeedWrite<'_> {
    FeedWrite {
        feed,
        etag: Some("\"v1\"".into()),
        last_modified: None,
        body_hash: None,
        fetch: FetchRecord::default(),
        next_poll_at: Utc::now(),
        candidates,
        sinks: &[],
        min_words_changed: 1,
        track_pages: true,
    }
}

fn store(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = Store::open(&dir.path().join("bench.db")).expect("store");
    let feeds = store
        .sync_feeds(&[("Bench".into(), feed_url().to_string())])
        .expect("feed");
    let feed = feeds[0].id;
    let items = feed::parse_feed(&feed_body(), None, &feed_url(), chrono::Utc::now())
        .expect("feed parses")
        .items;

    let mut round = 0;
    c.bench_function("store one feed's items (20 new)", |b| {
        b.iter_batched(
            || {
                round += 1;
                candidates(&items, round)
            },
            |candidates| {
                store
                    .record_feed(&write(feed, &candidates), Utc::now())
                    .expect("write")
            },
            BatchSize::SmallInput,
        )
    });
    // The same items again: every one found by its key and its hash unchanged.
    let seen = candidates(&items, 0);
    store
        .record_feed(&write(feed, &seen), Utc::now())
        .expect("write");
    c.bench_function("store one feed's items (20 unchanged)", |b| {
        b.iter(|| {
            store
                .record_feed(&write(feed, &seen), Utc::now())
                .expect("write")
        })
    });
}

criterion_group!(benches, parse, topic, diff_stage, store);
criterion_main!(benches);
