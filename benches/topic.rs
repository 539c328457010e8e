//! The topic filter's cost: one 5,000-word article, a feed item (headline and lede), and
//! building the matcher. `cargo bench --bench topic`; figures in BENCHMARKS.md.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use storywatch::topic::{Spec, Topic};

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

criterion_group!(benches, topic);
criterion_main!(benches);
