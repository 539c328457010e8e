//! The diff stage: compares two revisions of an article.
//!
//! Takes the previous and the new normalized title and body; gives a unified diff for people
//! (one line a paragraph, as bodies are stored) and the counts alerts are decided on: words
//! added, words removed, whether the title changed. Word counts come from a word-level diff
//! with a deadline, so a pathological pair cannot stall the daemon: past the deadline similar
//! returns a coarser, still correct, diff. It does not decide what is noise (the normalize
//! stage's content hash does that) nor whether to alert.
//!
//! For reading a change, [`word_diff`] gives the changed paragraphs with the changed words
//! marked inside them; how they are shown (colours, markers, JSON) is the reader's business.

use std::time::Duration;

use similar::{ChangeTag, TextDiff};

/// How long one diff may take before similar falls back to a coarser answer.
pub const DEADLINE: Duration = Duration::from_millis(500);

/// The difference between two revisions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diff {
    /// A unified diff of title and body, one line a paragraph.
    pub unified: String,
    pub words_added: u64,
    pub words_removed: u64,
    pub title_changed: bool,
}

impl Diff {
    /// Whether this change is worth an alert: a title change, or at least `min_words`
    /// words added or removed.
    pub fn is_significant(&self, min_words: u32) -> bool {
        self.title_changed || self.words_added + self.words_removed >= u64::from(min_words.max(1))
    }
}

/// Compares revision `from` (old title and body) with revision `to`.
pub fn compare_revisions(
    old: (&str, &str),
    new: (&str, &str),
    labels: (&str, &str),
    deadline: Duration,
) -> Diff {
    let old_text = format!("{}\n\n{}\n", old.0, old.1);
    let new_text = format!("{}\n\n{}\n", new.0, new.1);

    let words = TextDiff::configure()
        .timeout(deadline)
        .diff_words(old_text.as_str(), new_text.as_str());
    let (mut words_added, mut words_removed) = (0, 0);
    for change in words.iter_all_changes() {
        // Tokens are words and runs of whitespace; only words count.
        if change.value().trim().is_empty() {
            continue;
        }
        match change.tag() {
            ChangeTag::Insert => words_added += 1,
            ChangeTag::Delete => words_removed += 1,
            ChangeTag::Equal => {}
        }
    }

    let lines = TextDiff::configure()
        .timeout(deadline)
        .diff_lines(old_text.as_str(), new_text.as_str());
    let unified = lines
        .unified_diff()
        .context_radius(1)
        .header(labels.0, labels.1)
        .to_string();

    Diff {
        unified,
        words_added,
        words_removed,
        title_changed: old.0 != new.0,
    }
}

/// A run of text in a word diff: unchanged, or a change from `removed` to `added` (one of them
/// may be empty). Whitespace around a change stays in the neighbouring `Same` runs, so a
/// reader can mark the change without swallowing the spaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Same(String),
    Changed { removed: String, added: String },
}

/// One place where the body changed: a run of paragraphs on each side, 1-based, and the
/// words that changed in them. A side's count is 0 where paragraphs were only added or
/// removed; its first paragraph is then the one the change comes after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hunk {
    pub old_first: usize,
    pub old_count: usize,
    pub new_first: usize,
    pub new_count: usize,
    pub segments: Vec<Segment>,
}

/// A change for people to read: the title's words when it changed, and each changed run of
/// paragraphs, without the unchanged ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WordDiff {
    pub title: Option<Vec<Segment>>,
    pub hunks: Vec<Hunk>,
}

/// Compares two revisions (title, body) paragraph by paragraph, then word by word inside the
/// changed paragraphs, so an edit in one paragraph of a long story shows as that paragraph.
pub fn word_diff(old: (&str, &str), new: (&str, &str), deadline: Duration) -> WordDiff {
    let title = (old.0 != new.0).then(|| word_segments(old.0, new.0, deadline));
    // A final line break on both sides, so an unchanged last paragraph followed by a new one
    // is not taken for an edited one.
    let old_body = format!("{}\n", old.1);
    let new_body = format!("{}\n", new.1);
    let lines = TextDiff::configure()
        .timeout(deadline)
        .diff_lines(old_body.as_str(), new_body.as_str());
    let paragraphs = |slices: &mut dyn Iterator<Item = &str>, range: &std::ops::Range<usize>| {
        let text: String = slices.skip(range.start).take(range.len()).collect();
        text.trim_end_matches('\n').to_owned()
    };
    let mut hunks = Vec::new();
    for group in lines.grouped_ops(0) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        let old_range = first.old_range().start..last.old_range().end;
        let new_range = first.new_range().start..last.new_range().end;
        let old_text = paragraphs(&mut lines.iter_old_slices(), &old_range);
        let new_text = paragraphs(&mut lines.iter_new_slices(), &new_range);
        hunks.push(Hunk {
            old_first: paragraph_number(&old_range),
            old_count: old_range.len(),
            new_first: paragraph_number(&new_range),
            new_count: new_range.len(),
            segments: word_segments(&old_text, &new_text, deadline),
        });
    }
    WordDiff { title, hunks }
}

/// The 1-based number of a range's first paragraph; for an empty range, the paragraph before it.
fn paragraph_number(range: &std::ops::Range<usize>) -> usize {
    if range.is_empty() {
        range.start
    } else {
        range.start + 1
    }
}

/// The word diff of two texts as runs. Unchanged whitespace between two changed words joins
/// the change, so a rewritten sentence reads as one change rather than word by word.
fn word_segments(old: &str, new: &str, deadline: Duration) -> Vec<Segment> {
    let words = TextDiff::configure().timeout(deadline).diff_words(old, new);
    let mut out = Vec::new();
    let mut change = Pending::default();
    for token in words.iter_all_changes() {
        let value = token.value();
        match token.tag() {
            ChangeTag::Equal if change.is_open() && value.trim().is_empty() => {
                change.gap.push_str(value);
            }
            ChangeTag::Equal => {
                change.flush(&mut out);
                push_same(&mut out, value);
            }
            ChangeTag::Delete => change.push(value, true),
            ChangeTag::Insert => change.push(value, false),
        }
    }
    change.flush(&mut out);
    out
}

/// The change being gathered by [`word_segments`].
#[derive(Default)]
struct Pending {
    removed: String,
    added: String,
    /// Unchanged whitespace since the last changed token: part of the change if another
    /// changed token follows, else unchanged text after it.
    gap: String,
    open: bool,
}

impl Pending {
    fn is_open(&self) -> bool {
        self.open
    }

    fn push(&mut self, value: &str, removed: bool) {
        if self.open {
            self.removed.push_str(&self.gap);
            self.added.push_str(&self.gap);
        }
        self.gap.clear();
        if removed {
            self.removed.push_str(value);
        } else {
            self.added.push_str(value);
        }
        self.open = true;
    }

    fn flush(&mut self, out: &mut Vec<Segment>) {
        if !self.open {
            return;
        }
        let (removed, added) = (self.removed.trim(), self.added.trim());
        if removed.is_empty() && added.is_empty() {
            // Only spacing changed: show the new spacing.
            push_same(out, &self.added);
        } else {
            // The whitespace at the edges of the change stays outside it, as the text now
            // has it (or had it, for a removal).
            let side = if added.is_empty() {
                &self.removed
            } else {
                &self.added
            };
            push_same(out, &side[..side.len() - side.trim_start().len()]);
            out.push(Segment::Changed {
                removed: removed.to_owned(),
                added: added.to_owned(),
            });
            push_same(out, &side[side.trim_end().len()..]);
        }
        push_same(out, &self.gap);
        *self = Pending::default();
    }
}

/// Appends unchanged text, joining it to an unchanged run before it.
fn push_same(out: &mut Vec<Segment>, text: &str) {
    if text.is_empty() {
        return;
    }
    match out.last_mut() {
        Some(Segment::Same(same)) => same.push_str(text),
        _ => out.push(Segment::Same(text.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diff(old: (&str, &str), new: (&str, &str)) -> Diff {
        compare_revisions(old, new, ("revision 1", "revision 2"), DEADLINE)
    }

    #[test]
    fn counts_words_not_whitespace() {
        let cases = [
            // (name, old body, new body, added, removed)
            (
                "one_word_replaced",
                "The bridge opens in 2026.",
                "The bridge opens in 2027.",
                1,
                1,
            ),
            ("sentence_appended", "A b.", "A b. New words here.", 3, 0),
            ("paragraph_removed", "First.\nSecond one.", "First.", 0, 2),
            ("identical", "Same text.", "Same text.", 0, 0),
        ];
        for (name, old, new, added, removed) in cases {
            let d = diff(("T", old), ("T", new));
            assert_eq!((d.words_added, d.words_removed), (added, removed), "{name}");
            assert!(!d.title_changed, "{name}");
        }
    }

    #[test]
    fn title_change_is_flagged_and_significant() {
        let d = diff(("Old title", "Body."), ("New title", "Body."));
        assert!(d.title_changed);
        assert!(d.is_significant(100));
    }

    #[test]
    fn small_change_below_threshold_is_not_significant() {
        let d = diff(("T", "One two three."), ("T", "One two four."));
        assert!(d.is_significant(1));
        assert!(d.is_significant(2));
        assert!(!d.is_significant(3));
    }

    #[test]
    fn unified_diff_shows_the_edited_paragraph_with_labels() {
        let d = diff(
            (
                "T",
                "Kept.\nThe bridge is expected to open in 2026.\nAlso kept.",
            ),
            (
                "T",
                "Kept.\nThe bridge is expected to open in 2027.\nAlso kept.",
            ),
        );
        assert!(d.unified.contains("--- revision 1"), "{}", d.unified);
        assert!(d.unified.contains("+++ revision 2"));
        assert!(
            d.unified
                .contains("-The bridge is expected to open in 2026.")
        );
        assert!(
            d.unified
                .contains("+The bridge is expected to open in 2027.")
        );
    }

    #[test]
    fn pathological_pair_finishes_past_deadline() {
        let old: String = (0..20_000).map(|i| format!("w{} ", i % 97)).collect();
        let new: String = (0..20_000).map(|i| format!("w{} ", i % 89)).collect();
        let d = compare_revisions(
            ("T", &old),
            ("T", &new),
            ("a", "b"),
            Duration::from_millis(50),
        );
        assert!(d.words_added > 0 && d.words_removed > 0);
    }
    fn same(s: &str) -> Segment {
        Segment::Same(s.to_owned())
    }

    fn changed(removed: &str, added: &str) -> Segment {
        Segment::Changed {
            removed: removed.to_owned(),
            added: added.to_owned(),
        }
    }

    #[test]
    fn word_segments_mark_changes_and_keep_spaces_outside() {
        let cases = [
            (
                "one_word_replaced",
                "open in 2026 now",
                "open in 2027 now",
                vec![same("open in "), changed("2026", "2027"), same(" now")],
            ),
            (
                "word_removed",
                "a b c",
                "a c",
                vec![same("a "), changed("b", ""), same(" c")],
            ),
            (
                "words_appended",
                "A b.",
                "A b. New words.",
                vec![same("A b. "), changed("", "New words.")],
            ),
            (
                "rewritten_run_is_one_change",
                "x one two three y",
                "x uno dos tres y",
                vec![
                    same("x "),
                    changed("one two three", "uno dos tres"),
                    same(" y"),
                ],
            ),
            ("spacing_only", "a b", "a  b", vec![same("a  b")]),
            ("identical", "same", "same", vec![same("same")]),
        ];
        for (name, old, new, expected) in cases {
            assert_eq!(word_segments(old, new, DEADLINE), expected, "{name}");
        }
    }

    #[test]
    fn word_diff_shows_only_changed_paragraphs_with_their_numbers() {
        let old = "First.\nThe bridge opens in 2026.\nThird.\nFourth.";
        let new = "First.\nThe bridge opens in 2027.\nThird.\nFourth.\nA new fifth.";
        let d = word_diff(("T", old), ("T", new), DEADLINE);
        assert_eq!(d.title, None);
        assert_eq!(
            d.hunks,
            vec![
                Hunk {
                    old_first: 2,
                    old_count: 1,
                    new_first: 2,
                    new_count: 1,
                    segments: vec![same("The bridge opens in "), changed("2026.", "2027."),],
                },
                Hunk {
                    old_first: 4,
                    old_count: 0,
                    new_first: 5,
                    new_count: 1,
                    segments: vec![changed("", "A new fifth.")],
                },
            ]
        );
    }

    #[test]
    fn word_diff_marks_a_title_change() {
        let d = word_diff(("Old title", "Body."), ("New title", "Body."), DEADLINE);
        assert_eq!(d.title, Some(vec![changed("Old", "New"), same(" title")]));
        assert!(d.hunks.is_empty());
    }
}
