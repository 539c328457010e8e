//! The topic filter against a labeled set of real published headlines with their ledes
//! (`tests/fixtures/topic-eval.jsonl`, each row with its publisher and URL): precision and
//! recall of "relevant" (label `both`), per part and language.
//!
//! The set was split once, by a hash of each row's URL, into a `tune` part (rules and terms
//! may be tuned on it; its misclassified rows are printed) and a frozen `test` part, which no
//! rule, term or weight was tuned on: only its figures are printed, and the test fails when
//! its precision or recall is below [`FLOOR`]. `cargo test --test it topic_eval -- --nocapture`
//! prints them.

use std::collections::{BTreeMap, HashSet};

use storywatch::topic::{Spec, Topic};

const LABELS: &[&str] = &[
    "both",
    "dprk_only",
    "russia_only",
    "neither",
    "mention_only",
];

/// The floor on the frozen part, for precision and recall alike: a regression guard under
/// what the filter reaches there (precision 0.925 and recall 0.970 when this was written).
/// Issue 14's target, 0.95 for both, is not reached yet for precision; raise this to 0.95
/// when it is.
const FLOOR: f64 = 0.90;

#[derive(Default)]
struct Tally {
    rows: usize,
    true_pos: usize,
    false_pos: usize,
    false_neg: usize,
}

impl Tally {
    fn add(&mut self, truth: bool, predicted: bool) {
        self.rows += 1;
        match (truth, predicted) {
            (true, true) => self.true_pos += 1,
            (false, true) => self.false_pos += 1,
            (true, false) => self.false_neg += 1,
            (false, false) => {}
        }
    }

    fn precision(&self) -> f64 {
        ratio(self.true_pos, self.true_pos + self.false_pos)
    }

    fn recall(&self) -> f64 {
        ratio(self.true_pos, self.true_pos + self.false_neg)
    }
}

fn ratio(n: usize, d: usize) -> f64 {
    if d == 0 { 1.0 } else { n as f64 / d as f64 }
}

#[test]
fn topic_eval_holds_its_precision_and_recall_on_the_frozen_part() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/topic-eval.jsonl"
    ))
    .expect("evaluation set");
    let topic = Topic::new(&Spec::default()).expect("default topic");
    // (part, language) → tally; "all" for every language.
    let mut tallies: BTreeMap<(String, String), Tally> = BTreeMap::new();
    let mut by_label: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut urls = HashSet::new();
    let mut misses = Vec::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let row: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("line {}: {e}", n + 1));
        let field = |k: &str| {
            row[k]
                .as_str()
                .unwrap_or_else(|| panic!("line {}: no {k}", n + 1))
                .to_owned()
        };
        let (lang, label, split, url, title) = (
            field("lang"),
            field("label"),
            field("split"),
            field("url"),
            field("title"),
        );
        assert!(
            LABELS.contains(&label.as_str()),
            "line {}: label {label}",
            n + 1
        );
        assert!(
            ["en", "ko", "ru", "uk"].contains(&lang.as_str()),
            "line {}: lang {lang}",
            n + 1
        );
        assert!(
            ["tune", "test"].contains(&split.as_str()),
            "line {}: split {split}",
            n + 1
        );
        assert!(url.starts_with("http"), "line {}: url {url}", n + 1);
        assert!(
            !field("publisher").is_empty(),
            "line {}: no publisher",
            n + 1
        );
        assert!(urls.insert(url.clone()), "line {}: duplicate {url}", n + 1);
        let verdict = topic.evaluate(&title, &field("lede"));
        let truth = label == "both";
        for key in [lang.clone(), "all".to_owned()] {
            tallies
                .entry((split.clone(), key))
                .or_default()
                .add(truth, verdict.relevant);
        }
        *by_label.entry((split.clone(), label.clone())).or_default() += 1;
        if truth != verdict.relevant && split == "tune" {
            misses.push(format!(
                "  {lang} {label:<12} score {:.2} {title}",
                verdict.score
            ));
        }
    }
    println!("labels: {by_label:?}");
    println!(
        "{:<5} {:<5} {:>5} {:>9} {:>7}",
        "part", "lang", "rows", "precision", "recall"
    );
    for ((split, lang), t) in &tallies {
        println!(
            "{split:<5} {lang:<5} {:>5} {:>9.3} {:>7.3}",
            t.rows,
            t.precision(),
            t.recall()
        );
    }
    println!(
        "misclassified in the tune part ({}):\n{}",
        misses.len(),
        misses.join("\n")
    );
    let rows = |split: &str, lang: &str| {
        tallies
            .get(&(split.to_owned(), lang.to_owned()))
            .map_or(0, |t| t.rows)
    };
    assert!(
        rows("tune", "all") + rows("test", "all") >= 600,
        "the set needs 600 rows"
    );
    assert!(rows("test", "all") >= 200, "the frozen part needs 200 rows");
    for lang in ["ko", "ru"] {
        assert!(
            rows("tune", lang) + rows("test", lang) >= 150,
            "{lang}: 150 rows needed"
        );
    }
    let frozen = &tallies[&("test".to_owned(), "all".to_owned())];
    assert!(
        frozen.precision() >= FLOOR && frozen.recall() >= FLOOR,
        "frozen part: precision {:.3}, recall {:.3} (floor {FLOOR})",
        frozen.precision(),
        frozen.recall()
    );
}
