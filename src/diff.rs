//! The diff stage: compares two revisions of an article.
//!
//! Takes the previous and the new normalized title and body; gives a unified diff for people
//! (one line a paragraph, as bodies are stored) and the counts alerts are decided on: words
//! added, words removed, whether the title changed. Word counts come from a word-level diff
//! with a deadline, so a pathological pair cannot stall the daemon: past the deadline similar
//! returns a coarser, still correct, diff. It does not decide what is noise (the normalize
//! stage's content hash does that) nor whether to alert.

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

/// How a word diff marks its changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marks {
    /// wdiff's marks, readable anywhere: `[-removed-]{+added+}`.
    Plain,
    /// ANSI colours for a terminal: removed words red and struck through, added words green.
    Ansi,
}

impl Marks {
    fn wrap(self, tag: ChangeTag, words: &str) -> String {
        match (self, tag) {
            (_, ChangeTag::Equal) => words.to_owned(),
            (Marks::Plain, ChangeTag::Delete) => format!("[-{words}-]"),
            (Marks::Plain, ChangeTag::Insert) => format!("{{+{words}+}}"),
            (Marks::Ansi, ChangeTag::Delete) => format!("\x1b[31;9m{words}\x1b[0m"),
            (Marks::Ansi, ChangeTag::Insert) => format!("\x1b[32m{words}\x1b[0m"),
        }
    }
}

/// A word diff for people: the new title and body (one line a paragraph, a blank line after
/// the title, as [`compare_revisions`] lays them out) with removed and added words marked in
/// place. A stretch of changed words is marked once (`[-500,000-]{+up to 300,000+}`, not word
/// by word), and a mark never spans a paragraph break, so every line reads alone.
pub fn word_diff(old: (&str, &str), new: (&str, &str), marks: Marks, deadline: Duration) -> String {
    let old_text = format!("{}\n\n{}\n", old.0, old.1);
    let new_text = format!("{}\n\n{}\n", new.0, new.1);
    let words = TextDiff::configure()
        .timeout(deadline)
        .diff_words(old_text.as_str(), new_text.as_str());

    let mut out = String::with_capacity(new_text.len() + 64);
    // The open stretch of changes: its removed and added text, and the spaces seen since its
    // last change, which join the stretch only if another change follows.
    let (mut removed, mut added, mut gap) = (String::new(), String::new(), String::new());
    for change in words.iter_all_changes() {
        let value = change.value();
        let open = !removed.is_empty() || !added.is_empty();
        match change.tag() {
            ChangeTag::Equal if open && value.trim().is_empty() && !value.contains('\n') => {
                gap.push_str(value);
            }
            ChangeTag::Equal => {
                close_stretch(&mut out, &mut removed, &mut added, marks);
                out.push_str(&gap);
                gap.clear();
                out.push_str(value);
            }
            tag => {
                for text in [&mut removed, &mut added] {
                    if !text.is_empty() {
                        text.push_str(&gap);
                    }
                }
                gap.clear();
                if tag == ChangeTag::Delete {
                    removed.push_str(value);
                } else {
                    added.push_str(value);
                }
            }
        }
    }
    close_stretch(&mut out, &mut removed, &mut added, marks);
    out.push_str(&gap);
    out
}

/// Writes one stretch of changes, the removed text before the added, and empties it.
fn close_stretch(out: &mut String, removed: &mut String, added: &mut String, marks: Marks) {
    for (tag, text) in [(ChangeTag::Delete, &*removed), (ChangeTag::Insert, &*added)] {
        // Whitespace alone (a paragraph break added or removed) is not worth a mark; removed
        // whitespace is dropped so the text keeps the new layout.
        if text.trim().is_empty() {
            if tag == ChangeTag::Insert {
                out.push_str(text);
            }
            continue;
        }
        // Marks stop at line ends, so a removed or added paragraph is a line of its own.
        let mut lines = text.split('\n').peekable();
        while let Some(line) = lines.next() {
            let trimmed = line.trim();
            if !trimmed.is_empty() {
                let leading = line.len() - line.trim_start().len();
                let trailing = line.len() - line.trim_end().len();
                out.push_str(&line[..leading]);
                out.push_str(&marks.wrap(tag, trimmed));
                out.push_str(&line[line.len() - trailing..]);
            }
            if lines.peek().is_some() {
                out.push('\n');
            }
        }
    }
    removed.clear();
    added.clear();
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

    #[test]
    fn word_diff_marks_changed_stretches_in_place() {
        let cases = [
            // (name, old body, new body, expected body line(s))
            (
                "one_word_replaced",
                "The bridge opens in 2026.",
                "The bridge opens in 2027.",
                "The bridge opens in [-2026.-]{+2027.+}",
            ),
            (
                "a_stretch_is_marked_once",
                "The line will carry 500,000 tonnes a year.",
                "The line could carry up to 300,000 tonnes a year.",
                "The line [-will-]{+could+} carry [-500,000-]{+up to 300,000+} tonnes a year.",
            ),
            (
                "words_appended",
                "A b.",
                "A b. New words here.",
                "A b. {+New words here.+}",
            ),
            (
                "paragraph_removed_is_a_line_of_its_own",
                "First.\nSecond one.\nThird.",
                "First.\nThird.",
                "First.\n[-Second one.-]\nThird.",
            ),
            ("identical", "Same text.", "Same text.", "Same text."),
        ];
        for (name, old, new, expected) in cases {
            let out = word_diff(("T", old), ("T", new), Marks::Plain, DEADLINE);
            assert_eq!(out, format!("T\n\n{expected}\n"), "{name}");
        }
    }

    #[test]
    fn word_diff_marks_a_title_change_and_colours_in_ansi() {
        let plain = word_diff(
            ("Old title", "B."),
            ("New title", "B."),
            Marks::Plain,
            DEADLINE,
        );
        assert_eq!(plain, "[-Old-]{+New+} title\n\nB.\n");
        let ansi = word_diff(
            ("Old title", "B."),
            ("New title", "B."),
            Marks::Ansi,
            DEADLINE,
        );
        assert_eq!(ansi, "\x1b[31;9mOld\x1b[0m\x1b[32mNew\x1b[0m title\n\nB.\n");
    }
}
