//! The diff stage: compares two revisions of an article.
//!
//! Takes the previous and the new normalized title and body; gives a unified diff for people
//! (one line a paragraph, as bodies are stored) and the counts alerts are decided on: words
//! added, words removed, whether the title changed. Word counts come from a word-level diff
//! with a deadline, so a pathological pair cannot stall the daemon: past the deadline similar
//! returns a coarser, still correct, diff. It does not decide what is noise (the normalize
//! stage's content hash does that) nor whether to alert.
//!
//! For reading a change: [`word_segments`] gives the same word-level diff as runs of kept,
//! removed and added text (the HTML report, the Atom export), and [`word_diff`] gives only the
//! changed paragraphs as such runs (the `diff` command). How they are shown (colours, markers,
//! HTML, JSON) is the reader's business.

use std::fmt::Write as _;
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

/// What happened to a run of text between two revisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    Kept,
    Removed,
    Added,
}

/// A run of text with one [`Edit`]: the word-level diff as a view shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub edit: Edit,
    pub text: String,
}

/// The word-level diff of `old` and `new` as runs: the kept and removed runs, in order, spell
/// `old`; the kept and added runs spell `new`. Within a paragraph, neighbouring changes
/// separated only by spaces become one removed run followed by one added run ("[-b c-]{+x
/// y+}", not "[-b-]{+x+} [-c-]{+y+}"), which reads as the phrase that was rewritten; a line
/// break is never pulled into a change, so a change stays within its paragraph.
pub fn word_segments(old: &str, new: &str, deadline: Duration) -> Vec<Segment> {
    let words = TextDiff::configure().timeout(deadline).diff_words(old, new);
    let mut segments = Vec::new();
    let (mut removed, mut added) = (String::new(), String::new());
    // Spaces seen after a change, kept back until it is known whether the change goes on.
    let mut held = String::new();
    for change in words.iter_all_changes() {
        let value = change.value();
        match change.tag() {
            ChangeTag::Equal
                if (!removed.is_empty() || !added.is_empty())
                    && value.trim().is_empty()
                    && !value.contains('\n') =>
            {
                held.push_str(value);
            }
            ChangeTag::Equal => {
                flush_change(&mut segments, &mut removed, &mut added);
                push_segment(&mut segments, Edit::Kept, &held);
                held.clear();
                push_segment(&mut segments, Edit::Kept, value);
            }
            tag => {
                // The held spaces sit inside the rewritten phrase: both sides had them.
                removed.push_str(&held);
                added.push_str(&held);
                held.clear();
                if tag == ChangeTag::Delete {
                    removed.push_str(value);
                } else {
                    added.push_str(value);
                }
            }
        }
    }
    flush_change(&mut segments, &mut removed, &mut added);
    push_segment(&mut segments, Edit::Kept, &held);
    segments
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

impl WordDiff {
    /// The word diff as text for a terminal: the title's change, then each changed run of
    /// paragraphs under a `@@ paragraph N @@` line (numbered in the newer revision, or for
    /// removed paragraphs in the older one, `from`). With `colour`, removed words are red and
    /// struck through and added words green; without, they are marked `[-removed-]{+added+}`.
    pub fn render(&self, from: i64, colour: bool) -> String {
        let mut blocks = Vec::new();
        if let Some(title) = &self.title {
            blocks.push(format!("title: {}", render_segments(title, colour)));
        }
        for hunk in &self.hunks {
            let place = if hunk.new_count > 0 {
                paragraphs(hunk.new_first, hunk.new_count)
            } else {
                format!(
                    "{} of revision {from}",
                    paragraphs(hunk.old_first, hunk.old_count)
                )
            };
            blocks.push(format!(
                "@@ {place} @@\n{}",
                render_segments(&hunk.segments, colour)
            ));
        }
        if blocks.is_empty() {
            return "no difference\n".to_owned();
        }
        blocks.join("\n\n") + "\n"
    }
}

/// "paragraph 3", "paragraphs 3-5".
fn paragraphs(first: usize, count: usize) -> String {
    if count <= 1 {
        format!("paragraph {first}")
    } else {
        format!("paragraphs {first}-{}", first + count - 1)
    }
}

/// Marks the changed words, with the spaces around them left unmarked. Each line of a change
/// is marked on its own, so a pager that resets styles at line ends, or a reader scanning for
/// `[-`, sees every line of it.
fn render_segments(segments: &[Segment], colour: bool) -> String {
    let mut out = String::new();
    for segment in segments {
        let (open, close) = match (segment.edit, colour) {
            (Edit::Kept, _) => {
                out.push_str(&segment.text);
                continue;
            }
            (Edit::Removed, true) => (DELETED, RESET),
            (Edit::Added, true) => (INSERTED, RESET),
            (Edit::Removed, false) => ("[-", "-]"),
            (Edit::Added, false) => ("{+", "+}"),
        };
        for (i, line) in segment.text.split('\n').enumerate() {
            if i > 0 {
                out.push('\n');
            }
            let core = line.trim();
            if core.is_empty() {
                out.push_str(line);
                continue;
            }
            let lead = &line[..line.len() - line.trim_start().len()];
            let trail = &line[line.trim_end().len()..];
            let _ = write!(out, "{lead}{open}{core}{close}{trail}");
        }
    }
    out
}

/// ANSI styles of a coloured word diff: removed words red and struck through, added green.
pub const DELETED: &str = "\x1b[31;9m";
pub const INSERTED: &str = "\x1b[32m";
pub const RESET: &str = "\x1b[0m";

/// Ends a change: its removed run, then its added run.
fn flush_change(segments: &mut Vec<Segment>, removed: &mut String, added: &mut String) {
    push_segment(segments, Edit::Removed, removed);
    push_segment(segments, Edit::Added, added);
    removed.clear();
    added.clear();
}

/// Appends `text`, merged into the last segment when that has the same edit.
fn push_segment(segments: &mut Vec<Segment>, edit: Edit, text: &str) {
    if text.is_empty() {
        return;
    }
    match segments.last_mut() {
        Some(last) if last.edit == edit => last.text.push_str(text),
        _ => segments.push(Segment {
            edit,
            text: text.to_owned(),
        }),
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

    /// The text a side of the diff spells: kept runs and those of `edit`.
    fn spell(segments: &[Segment], edit: Edit) -> String {
        segments
            .iter()
            .filter(|s| s.edit == Edit::Kept || s.edit == edit)
            .map(|s| s.text.as_str())
            .collect()
    }

    /// A diff as (edit, text) pairs.
    type Runs<'a> = Vec<(Edit, &'a str)>;

    fn runs(segments: &[Segment]) -> Runs<'_> {
        segments.iter().map(|s| (s.edit, s.text.as_str())).collect()
    }

    #[test]
    fn word_segments_group_a_rewritten_phrase_and_spell_both_sides() {
        use Edit::{Added, Kept, Removed};
        let cases: [(&str, &str, &str, Runs<'_>); 6] = [
            (
                "one_word_replaced",
                "The bridge opens in 2026.",
                "The bridge opens in 2027.",
                vec![
                    (Kept, "The bridge opens in "),
                    (Removed, "2026."),
                    (Added, "2027."),
                ],
            ),
            (
                "neighbouring_words_are_one_change",
                "a b c d",
                "a x y d",
                vec![(Kept, "a "), (Removed, "b c"), (Added, "x y"), (Kept, " d")],
            ),
            (
                "words_appended",
                "A b.",
                "A b. New words.",
                vec![(Kept, "A b."), (Added, " New words.")],
            ),
            (
                "identical",
                "Same text.",
                "Same text.",
                vec![(Kept, "Same text.")],
            ),
            (
                "a_line_break_is_never_pulled_into_a_change",
                "one two\nthree four",
                "one 2\nthree 4",
                vec![
                    (Kept, "one "),
                    (Removed, "two"),
                    (Added, "2"),
                    (Kept, "\nthree "),
                    (Removed, "four"),
                    (Added, "4"),
                ],
            ),
            (
                "paragraph_removed",
                "First.\nSecond one.\nThird.",
                "First.\nThird.",
                vec![
                    (Kept, "First.\n"),
                    (Removed, "Second one.\n"),
                    (Kept, "Third."),
                ],
            ),
        ];
        for (name, old, new, expected) in cases {
            let segments = word_segments(old, new, DEADLINE);
            assert_eq!(runs(&segments), expected, "{name}");
            assert_eq!(spell(&segments, Edit::Removed), old, "{name}: old side");
            assert_eq!(spell(&segments, Edit::Added), new, "{name}: new side");
        }
    }

    #[test]
    fn word_segments_spell_both_sides_of_a_pathological_pair() {
        let old: String = (0..5_000).map(|i| format!("w{} ", i % 97)).collect();
        let new: String = (0..5_000).map(|i| format!("w{} ", i % 89)).collect();
        let segments = word_segments(&old, &new, Duration::from_millis(50));
        assert_eq!(spell(&segments, Edit::Removed), old);
        assert_eq!(spell(&segments, Edit::Added), new);
    }

    fn seg(edit: Edit, text: &str) -> Segment {
        Segment {
            edit,
            text: text.to_owned(),
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
                    segments: vec![
                        seg(Edit::Kept, "The bridge opens in "),
                        seg(Edit::Removed, "2026."),
                        seg(Edit::Added, "2027."),
                    ],
                },
                Hunk {
                    old_first: 4,
                    old_count: 0,
                    new_first: 5,
                    new_count: 1,
                    segments: vec![seg(Edit::Added, "A new fifth.")],
                },
            ]
        );
    }

    #[test]
    fn word_diff_marks_a_title_change() {
        let d = word_diff(("Old title", "Body."), ("New title", "Body."), DEADLINE);
        assert_eq!(
            d.title,
            Some(vec![
                seg(Edit::Removed, "Old"),
                seg(Edit::Added, "New"),
                seg(Edit::Kept, " title"),
            ])
        );
        assert!(d.hunks.is_empty());
    }

    #[test]
    fn segments_are_marked_plain_or_coloured() {
        let seg = |edit, text: &str| Segment {
            edit,
            text: text.to_owned(),
        };
        let segments = vec![
            seg(Edit::Kept, "open in "),
            seg(Edit::Removed, "2026."),
            seg(Edit::Added, " 2027."),
            seg(Edit::Added, "One.\nTwo."),
        ];
        assert_eq!(
            render_segments(&segments, false),
            "open in [-2026.-] {+2027.+}{+One.+}\n{+Two.+}"
        );
        assert_eq!(
            render_segments(&segments, true),
            "open in \x1b[31;9m2026.\x1b[0m \x1b[32m2027.\x1b[0m\x1b[32mOne.\x1b[0m\n\x1b[32mTwo.\x1b[0m"
        );
    }

    #[test]
    fn removed_paragraphs_are_numbered_in_the_older_revision() {
        let words = word_diff(("T", "A.\nB.\nC."), ("T", "A.\nC."), DEADLINE);
        assert_eq!(
            words.render(4, false),
            "@@ paragraph 2 of revision 4 @@\n[-B.-]\n"
        );
    }
}
