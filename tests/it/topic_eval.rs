//! The topic filter against a labeled set of real headlines and ledes
//! (`tests/fixtures/topic-eval.jsonl`): precision and recall of "relevant" (label `both`),
//! overall and per language. `cargo test --test it topic_eval -- --nocapture` prints them.

use std::collections::{BTreeMap, HashSet};

use storywatch::topic::{Spec, Topic};

const LABELS: &[&str] = &[
    "both",
    "dprk_only",
    "russia_only",
    "neither",
    "mention_only",
];

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
fn topic_eval_precision_and_recall_are_at_least_ninety_percent() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/topic-eval.jsonl"
    ))
    .expect("evaluation set");
    let topic = Topic::new(&Spec::default()).expect("default topic");
    let mut overall = Tally::default();
    let mut by_lang: BTreeMap<String, Tally> = BTreeMap::new();
    let mut by_label: BTreeMap<String, usize> = BTreeMap::new();
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
        let (lang, label, url, title) =
            (field("lang"), field("label"), field("url"), field("title"));
        assert!(
            LABELS.contains(&label.as_str()),
            "line {}: label {label}",
            n + 1
        );
        assert!(
            ["en", "ko", "ru"].contains(&lang.as_str()),
            "line {}: lang {lang}",
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
        overall.add(truth, verdict.relevant);
        by_lang
            .entry(lang.clone())
            .or_default()
            .add(truth, verdict.relevant);
        *by_label.entry(label.clone()).or_default() += 1;
        if truth != verdict.relevant {
            misses.push(format!(
                "  {lang} {label:<12} score {:.2} {title}",
                verdict.score
            ));
        }
    }
    println!("labels: {by_label:?}");
    println!("{:<8} {:>5} {:>9} {:>7}", "", "rows", "precision", "recall");
    for (name, t) in by_lang
        .iter()
        .map(|(k, t)| (k.as_str(), t))
        .chain([("overall", &overall)])
    {
        println!(
            "{name:<8} {:>5} {:>9.3} {:>7.3}",
            t.rows,
            t.precision(),
            t.recall()
        );
    }
    println!("misclassified ({}):\n{}", misses.len(), misses.join("\n"));
    assert!(
        overall.rows >= 150,
        "{} rows: the set needs 150",
        overall.rows
    );
    assert!(by_lang.len() == 3, "every language: {:?}", by_lang.keys());
    assert!(
        overall.precision() >= 0.90 && overall.recall() >= 0.90,
        "precision {:.3}, recall {:.3}",
        overall.precision(),
        overall.recall()
    );
}
