//! Topic stage: decides whether a story is about North Korea *and* Russia.
//!
//! **Takes** a set of named term groups (from the config, or
//! [`default_groups`]) and, per story, an already-normalized title and body
//! (NFC, whitespace collapsed to single spaces, markup stripped).
//!
//! **Gives** a [`Verdict`]: the story is relevant when at least one term of
//! *every* group matches, plus the configured terms (as written) that matched.
//!
//! **Does not** fetch, normalize, strip HTML, score, or store anything, and it
//! does not report match positions. Text is only case-folded internally.
//!
//! # Matching rules
//!
//! Terms and text are folded the same way before matching: Unicode
//! lower-casing, `’` → `'`, and `ё` → `е`. A term is split on whitespace into
//! words; consecutive words must be separated by exactly one whitespace
//! character in the text (the text is normalized, so that is one space).
//! Every term must start at a word boundary (the previous character, if any,
//! is not alphanumeric). What may follow each word depends on its script:
//!
//! * **Latin / other**: whole word. The character after the last word must not
//!   be alphanumeric, so `Russia` does not match `Russian` or `Russiagate`,
//!   but `DPRK` matches `DPRK's` / `DPRK’s`. List adjectives explicitly.
//! * **Cyrillic** (Russian is inflected): up to two trailing letters from
//!   `а я о е ё ы и ь й у ю` are stripped as long as at least 4 letters
//!   remain, and the stem may be followed by 0–3 Cyrillic letters, then a
//!   non-alphanumeric character (or, mid-term, the separating space). So
//!   `Россия` matches `России`, `Россией`; `Москва` matches `Москвы`;
//!   `российский` matches `российского`, `российская`. Single-word terms whose
//!   stem would be shorter than 4 letters match exactly (no suffix). In
//!   multi-word terms every word is inflected this way (`Северная Корея`
//!   matches `Северной Кореи`; `Ким Чен Ын` matches `Ким Чен Ына`), and the
//!   short-stem exception does not apply: the other words give enough context.
//! * **Hangul**: Korean attaches particles without a space, so anything may
//!   follow the last word (`북한은`, `러시아와`). The left boundary still
//!   applies, so `남북한` ("the two Koreas") does **not** match `북한`.
//!
//! All occurrences of all terms are found, including terms that overlap or
//! lie inside a longer term of another group (Aho-Corasick overlapping search).

use std::collections::{BTreeMap, HashMap};

use aho_corasick::AhoCorasick;

/// Errors building a [`Topic`] from configured groups.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A group has no terms.
    #[error("topic group {group:?} has no terms")]
    EmptyGroup {
        /// Name of the offending group.
        group: String,
    },
    /// A group contains a term that is empty or only whitespace.
    #[error("topic group {group:?} contains an empty term")]
    EmptyTerm {
        /// Name of the offending group.
        group: String,
    },
    /// No groups were configured at all.
    #[error("no topic groups configured")]
    NoGroups,
    /// The Aho-Corasick automaton could not be built.
    #[error("building topic matcher: {0}")]
    Build(#[from] aho_corasick::BuildError),
}

/// Built-in default groups: `"dprk"` and `"russia"`, with English, Korean and
/// Russian terms. A story is relevant when it mentions both.
pub fn default_groups() -> BTreeMap<String, Vec<String>> {
    const DPRK: &[&str] = &[
        "North Korea",
        "North Korean",
        "North Koreans",
        "DPRK",
        "Pyongyang",
        "Kim Jong Un",
        "Kim Jong-un",
        "Kim Yo Jong",
        "Choe Son Hui",
        "KCNA",
        "Workers' Party of Korea",
        "Korean People's Army",
        "북한",
        "조선민주주의인민공화국",
        "김정은",
        "평양",
        "КНДР",
        "Северная Корея",
        "северокорейский",
        "Пхеньян",
        "Ким Чен Ын",
    ];
    const RUSSIA: &[&str] = &[
        "Russia",
        "Russian",
        "Russians",
        "Moscow",
        "Kremlin",
        "Putin",
        "Lavrov",
        "Shoigu",
        "Belousov",
        "Peskov",
        "Vladivostok",
        "Primorye",
        "Duma",
        "러시아",
        "푸틴",
        "모스크바",
        "크렘린",
        "Россия",
        "российский",
        "Москва",
        "Кремль",
        "Путин",
        "Лавров",
        "Шойгу",
        "Владивосток",
    ];
    let to_vec = |terms: &[&str]| terms.iter().map(|t| (*t).to_owned()).collect();
    BTreeMap::from([
        ("dprk".to_owned(), to_vec(DPRK)),
        ("russia".to_owned(), to_vec(RUSSIA)),
    ])
}

/// Script class of one word of a term; decides what may follow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Script {
    /// Whole word, nothing may follow.
    Latin,
    /// Up to `max_suffix` Cyrillic letters may follow the stem.
    Cyrillic { max_suffix: usize },
    /// Anything may follow when this is the last word (particles).
    Hangul,
}

/// One folded word of a term.
#[derive(Debug, Clone)]
struct Word {
    /// Folded text (the stem, for Cyrillic words).
    text: String,
    script: Script,
}

/// One distinct configured term.
#[derive(Debug)]
struct Term {
    /// The term as written in the config (reported in [`Verdict`]).
    display: String,
    /// Indices of the groups containing this term.
    groups: Vec<usize>,
    /// Folded words; the first one is the automaton pattern.
    words: Vec<Word>,
}

/// The compiled topic matcher. Build once with [`Topic::new`] and share it
/// (it is `Send + Sync` and [`Topic::evaluate`] takes `&self`).
#[derive(Debug)]
pub struct Topic {
    /// Automaton over the distinct folded first words of all terms.
    automaton: AhoCorasick,
    /// Pattern id → indices into `terms` that start with that pattern.
    by_pattern: Vec<Vec<usize>>,
    terms: Vec<Term>,
    group_count: usize,
}

/// Result of [`Topic::evaluate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// True when every configured group has at least one matching term.
    pub relevant: bool,
    /// The configured terms (as written in the config) that matched, in
    /// first-match order (title first, then body), no duplicates.
    pub matched_terms: Vec<String>,
}

/// Letters stripped from the end of Cyrillic words to get the stem.
const CYRILLIC_INFLECTABLE: &[char] = &['а', 'я', 'о', 'е', 'ё', 'ы', 'и', 'ь', 'й', 'у', 'ю'];
/// Minimum stem length (in letters) for suffix matching of Cyrillic words.
const MIN_STEM: usize = 4;
/// Maximum number of Cyrillic letters allowed after a stem.
const MAX_SUFFIX: usize = 3;

/// Appends the folded form of `s` to `out` (lower-case, `’`→`'`, `ё`→`е`).
fn fold_into(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '\u{2019}' => out.push('\''),
            'ё' | 'Ё' => out.push('е'),
            _ => out.extend(c.to_lowercase()),
        }
    }
}

fn is_cyrillic(c: char) -> bool {
    matches!(c, '\u{0400}'..='\u{052F}' | '\u{1C80}'..='\u{1C8F}' | '\u{2DE0}'..='\u{2DFF}' | '\u{A640}'..='\u{A69F}')
}

fn is_hangul(c: char) -> bool {
    matches!(c, '\u{AC00}'..='\u{D7A3}' | '\u{1100}'..='\u{11FF}' | '\u{3130}'..='\u{318F}' | '\u{A960}'..='\u{A97F}' | '\u{D7B0}'..='\u{D7FF}')
}

/// Builds the folded word list of a term (already checked non-empty).
fn compile_words(term: &str) -> Vec<Word> {
    let mut folded = String::with_capacity(term.len());
    fold_into(term, &mut folded);
    let raw: Vec<&str> = folded.split_whitespace().collect();
    let multi = raw.len() > 1;
    raw.iter()
        .map(|w| {
            if w.chars().any(is_hangul) {
                Word {
                    text: (*w).to_owned(),
                    script: Script::Hangul,
                }
            } else if w.chars().any(is_cyrillic) {
                cyrillic_word(w, multi)
            } else {
                Word {
                    text: (*w).to_owned(),
                    script: Script::Latin,
                }
            }
        })
        .collect()
}

/// Stems a folded Cyrillic word; see the module docs for the rule.
fn cyrillic_word(word: &str, multi: bool) -> Word {
    let mut stem = word;
    let mut stripped = 0;
    let mut too_short = false;
    while stripped < 2 {
        let Some(last) = stem.chars().next_back() else {
            break;
        };
        if !CYRILLIC_INFLECTABLE.contains(&last) {
            break;
        }
        let shorter = &stem[..stem.len() - last.len_utf8()];
        if shorter.chars().count() < MIN_STEM {
            // Only the first strip decides exactness: a later strip that would
            // go too short just stops (e.g. "корея" → "коре", not "кор").
            too_short = stripped == 0;
            break;
        }
        stem = shorter;
        stripped += 1;
    }
    let short = too_short || stem.chars().count() < MIN_STEM;
    let max_suffix = if short && !multi { 0 } else { MAX_SUFFIX };
    Word {
        text: stem.to_owned(),
        script: Script::Cyrillic { max_suffix },
    }
}

impl Topic {
    /// Compiles the groups into one matcher.
    ///
    /// Fails with [`Error::NoGroups`] if `groups` is empty, [`Error::EmptyGroup`]
    /// if a group has no terms, [`Error::EmptyTerm`] if a term is blank.
    /// A term listed in several groups (exactly as written) counts for each.
    pub fn new(groups: &BTreeMap<String, Vec<String>>) -> Result<Topic, Error> {
        if groups.is_empty() {
            return Err(Error::NoGroups);
        }
        let mut terms: Vec<Term> = Vec::new();
        let mut term_index: HashMap<&str, usize> = HashMap::new();
        for (gi, (name, list)) in groups.iter().enumerate() {
            if list.is_empty() {
                return Err(Error::EmptyGroup {
                    group: name.clone(),
                });
            }
            for raw in list {
                if raw.trim().is_empty() {
                    return Err(Error::EmptyTerm {
                        group: name.clone(),
                    });
                }
                match term_index.get(raw.as_str()) {
                    Some(&ti) => {
                        if !terms[ti].groups.contains(&gi) {
                            terms[ti].groups.push(gi);
                        }
                    }
                    None => {
                        term_index.insert(raw.as_str(), terms.len());
                        terms.push(Term {
                            display: raw.clone(),
                            groups: vec![gi],
                            words: compile_words(raw),
                        });
                    }
                }
            }
        }

        let mut patterns: Vec<&str> = Vec::new();
        let mut pattern_index: HashMap<&str, usize> = HashMap::new();
        let mut by_pattern: Vec<Vec<usize>> = Vec::new();
        for (ti, term) in terms.iter().enumerate() {
            let first = term.words[0].text.as_str();
            let pi = *pattern_index.entry(first).or_insert_with(|| {
                patterns.push(first);
                by_pattern.push(Vec::new());
                patterns.len() - 1
            });
            by_pattern[pi].push(ti);
        }
        // Standard match kind so that overlapping search reports every
        // occurrence of every pattern (a term inside another term included).
        let automaton = AhoCorasick::new(&patterns)?;

        Ok(Topic {
            automaton,
            by_pattern,
            terms,
            group_count: groups.len(),
        })
    }

    /// Evaluates title + body (the title counts like the body here).
    pub fn evaluate(&self, title: &str, body: &str) -> Verdict {
        let mut buf = String::with_capacity(title.len().max(body.len()) + 8);
        let mut hits: Vec<(usize, usize)> = Vec::new();
        let mut seen = vec![false; self.terms.len()];
        let mut matched_terms = Vec::new();
        for text in [title, body] {
            buf.clear();
            fold_into(text, &mut buf);
            hits.clear();
            for m in self.automaton.find_overlapping_iter(buf.as_str()) {
                let start = m.start();
                if !left_boundary_ok(&buf, start) {
                    continue;
                }
                for &ti in &self.by_pattern[m.pattern().as_usize()] {
                    if !seen[ti] && term_matches_at(&self.terms[ti].words, &buf, start) {
                        hits.push((start, ti));
                    }
                }
            }
            hits.sort_unstable();
            for &(_, ti) in &hits {
                if !seen[ti] {
                    seen[ti] = true;
                    matched_terms.push(self.terms[ti].display.clone());
                }
            }
        }
        let mut covered = vec![false; self.group_count];
        for (ti, term) in self.terms.iter().enumerate() {
            if seen[ti] {
                for &g in &term.groups {
                    covered[g] = true;
                }
            }
        }
        Verdict {
            relevant: covered.iter().all(|&c| c),
            matched_terms,
        }
    }
}

/// True when no alphanumeric character directly precedes byte offset `start`.
fn left_boundary_ok(text: &str, start: usize) -> bool {
    text[..start]
        .chars()
        .next_back()
        .is_none_or(|c| !c.is_alphanumeric())
}

/// Checks that all words of a term match at `start` (where the first word's
/// pattern was found and the left boundary already checked).
fn term_matches_at(words: &[Word], text: &str, start: usize) -> bool {
    let mut pos = start;
    for (i, word) in words.iter().enumerate() {
        if !text[pos..].starts_with(word.text.as_str()) {
            return false;
        }
        pos += word.text.len();
        let rest = &text[pos..];
        let last = i + 1 == words.len();
        // Consume the allowed suffix.
        match word.script {
            Script::Latin => {}
            Script::Hangul => {
                if last {
                    return true;
                }
            }
            Script::Cyrillic { max_suffix } => {
                let mut count = 0;
                let mut len = 0;
                for c in rest.chars() {
                    if !(is_cyrillic(c) && c.is_alphabetic()) {
                        break;
                    }
                    count += 1;
                    if count > max_suffix {
                        return false;
                    }
                    len += c.len_utf8();
                }
                pos += len;
            }
        }
        let next = text[pos..].chars().next();
        if last {
            return next.is_none_or(|c| !c.is_alphanumeric());
        }
        match next {
            Some(c) if c.is_whitespace() => pos += c.len_utf8(),
            _ => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups(spec: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        spec.iter()
            .map(|(g, ts)| {
                (
                    (*g).to_owned(),
                    ts.iter().map(|t| (*t).to_owned()).collect(),
                )
            })
            .collect()
    }

    fn default_topic() -> Topic {
        Topic::new(&default_groups()).expect("default groups compile")
    }

    #[test]
    fn topic_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Topic>();
    }

    #[test]
    fn default_groups_relevance_table() {
        let topic = default_topic();
        // (behaviour, title, body, relevant, matched terms in order)
        let cases: &[(&str, &str, &str, bool, &[&str])] = &[
            (
                "english story with both groups",
                "North Korea sends troops to Russia",
                "Kim Jong Un met Putin in Vladivostok; KCNA said the DPRK's ties deepen.",
                true,
                &[
                    "North Korea",
                    "Russia",
                    "Kim Jong Un",
                    "Putin",
                    "Vladivostok",
                    "KCNA",
                    "DPRK",
                ],
            ),
            (
                "south korea is not dprk",
                "South Korea and Russia",
                "Seoul and Moscow talk about Korea.",
                false,
                &["Russia", "Moscow"],
            ),
            (
                "only one group is not relevant",
                "Pyongyang parade",
                "North Koreans watched.",
                false,
                &["Pyongyang", "North Koreans"],
            ),
            (
                "adjective listed separately matches",
                "North Korean troops",
                "Russian officers",
                true,
                &["North Korean", "Russian"],
            ),
            (
                "no boundary inside a longer word",
                "Russiagate and Pyongyangers",
                "Kremlinology of DPRKish things",
                false,
                &[],
            ),
            (
                "possessive straight and curly apostrophes",
                "DPRK's envoy",
                "Russia’s foreign ministry and the Workers’ Party of Korea",
                true,
                &["DPRK", "Russia", "Workers' Party of Korea"],
            ),
            (
                "case insensitive latin",
                "PYONGYANG AND MOSCOW",
                "",
                true,
                &["Pyongyang", "Moscow"],
            ),
            (
                "inflected russian",
                "Пхеньян и Москва",
                "Делегация России прибыла в КНДР-овскую столицу.",
                true,
                &["Пхеньян", "Москва", "Россия", "КНДР"],
            ),
            (
                "case insensitive and inflected cyrillic",
                "ПХЕНЬЯНА",
                "визит в Кремль и переговоры с Путиным",
                true,
                &["Пхеньян", "Кремль", "Путин"],
            ),
            (
                "multi word cyrillic inflects every word",
                "Лидер Северной Кореи Ким Чен Ын",
                "российского президента и Москвы",
                true,
                &["Северная Корея", "Ким Чен Ын", "российский", "Москва"],
            ),
            (
                "adjective endings of cyrillic adjectives",
                "северокорейские военные",
                "в Россию",
                true,
                &["северокорейский", "Россия"],
            ),
            (
                "cyrillic suffix longer than three letters does not match",
                "Москвабад",
                "Пхеньянцевыми",
                false,
                &[],
            ),
            (
                "yo in text folds to ye",
                "Шойгу в Пхеньяне, Путин в Кремлё",
                "",
                true,
                &["Шойгу", "Пхеньян", "Путин", "Кремль"],
            ),
            (
                "korean particles attach",
                "북한과 러시아가 조약 체결",
                "김정은은 푸틴과 평양에서",
                true,
                &["북한", "러시아", "김정은", "푸틴", "평양"],
            ),
            (
                "korean 남북한 is not a dprk match",
                "남북한 관계와 러시아",
                "",
                false,
                &["러시아"],
            ),
            (
                "multi word latin with hyphen variant listed",
                "Kim Jong-un visits",
                "the Kremlin",
                true,
                &["Kim Jong-un", "Kremlin"],
            ),
            (
                "multi word must not span a missing word",
                "North and Korea",
                "Russia",
                false,
                &["Russia"],
            ),
            (
                "title and body do not join into a phrase",
                "Talks in the North",
                "Korea and Russia",
                false,
                &["Russia"],
            ),
            (
                "duplicates reported once, title before body",
                "Russia",
                "DPRK and Russia and DPRK",
                true,
                &["Russia", "DPRK"],
            ),
            ("empty input", "", "", false, &[]),
        ];
        for (name, title, body, relevant, terms) in cases {
            let v = topic.evaluate(title, body);
            assert_eq!(v.relevant, *relevant, "{name}: relevance ({v:?})");
            assert_eq!(v.matched_terms, *terms, "{name}: matched terms");
        }
    }

    #[test]
    fn custom_groups_table() {
        // (behaviour, groups, text, relevant, matched)
        type Case<'a> = (
            &'a str,
            &'a [(&'a str, &'a [&'a str])],
            &'a str,
            bool,
            &'a [&'a str],
        );
        let cases: &[Case] = &[
            (
                "russian does not match russia when only russia configured",
                &[("r", &["Russia"])],
                "Russian troops",
                false,
                &[],
            ),
            (
                "term inside another group's longer term still counted",
                &[("dprk", &["North Korea"]), ("korea", &["Korea"])],
                "North Korea fired",
                true,
                &["North Korea", "Korea"],
            ),
            (
                "overlapping terms sharing a first word",
                &[
                    ("a", &["North Korea", "North Koreans"]),
                    ("b", &["Koreans"]),
                ],
                "North Koreans",
                true,
                &["North Koreans", "Koreans"],
            ),
            (
                "same term in two groups satisfies both",
                &[("a", &["Pyongyang"]), ("b", &["Pyongyang", "Moscow"])],
                "Pyongyang only",
                true,
                &["Pyongyang"],
            ),
            (
                "first-match order follows text position not config order",
                &[("a", &["alpha", "beta"]), ("b", &["gamma"])],
                "gamma beta alpha",
                true,
                &["gamma", "beta", "alpha"],
            ),
            (
                "short cyrillic stem matches exactly",
                &[("a", &["Ким"])],
                "Кима и Ким",
                true,
                &["Ким"],
            ),
            (
                "short cyrillic stem rejects suffix",
                &[("a", &["Ким"])],
                "Кима",
                false,
                &[],
            ),
            (
                "yo in term folds to ye in text",
                &[("a", &["Семёнов"])],
                "Семенова",
                true,
                &["Семёнов"],
            ),
            (
                "short stem after strip matches exactly",
                &[("a", &["Путь"])],
                "Пути",
                false,
                &[],
            ),
        ];
        for (name, spec, text, relevant, terms) in cases {
            let topic = Topic::new(&groups(spec)).expect(name);
            let v = topic.evaluate("", text);
            assert_eq!(v.relevant, *relevant, "{name}: relevance ({v:?})");
            assert_eq!(v.matched_terms, *terms, "{name}: matched terms");
        }
    }

    #[test]
    fn new_errors() {
        type Groups = BTreeMap<String, Vec<String>>;
        let cases: &[(&str, Groups, &str)] = &[
            ("no groups", BTreeMap::new(), "no topic groups"),
            (
                "empty group",
                groups(&[("dprk", &["DPRK"]), ("russia", &[])]),
                "\"russia\"",
            ),
            (
                "empty term",
                groups(&[("dprk", &["DPRK", "  "])]),
                "\"dprk\"",
            ),
        ];
        for (name, g, needle) in cases {
            let err = Topic::new(g).expect_err(name);
            let msg = err.to_string();
            assert!(msg.contains(needle), "{name}: {msg}");
            match (*name, &err) {
                ("no groups", Error::NoGroups)
                | ("empty group", Error::EmptyGroup { .. })
                | ("empty term", Error::EmptyTerm { .. }) => {}
                _ => panic!("{name}: wrong variant {err:?}"),
            }
        }
    }

    #[test]
    fn stemming_of_defaults() {
        let cases: &[(&str, &str, Script)] = &[
            ("Россия", "росс", Script::Cyrillic { max_suffix: 3 }),
            ("Москва", "москв", Script::Cyrillic { max_suffix: 3 }),
            ("Кремль", "кремл", Script::Cyrillic { max_suffix: 3 }),
            ("КНДР", "кндр", Script::Cyrillic { max_suffix: 3 }),
            ("российский", "российск", Script::Cyrillic { max_suffix: 3 }),
            ("Шойгу", "шойг", Script::Cyrillic { max_suffix: 3 }),
            ("Ким", "ким", Script::Cyrillic { max_suffix: 0 }),
            ("Путь", "путь", Script::Cyrillic { max_suffix: 0 }),
        ];
        for (term, stem, script) in cases {
            let words = compile_words(term);
            assert_eq!(words.len(), 1, "{term}");
            assert_eq!(words[0].text, *stem, "{term}");
            assert_eq!(words[0].script, *script, "{term}");
        }
        let words = compile_words("Северная Корея");
        let stems: Vec<&str> = words.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(stems, ["северн", "коре"]);
    }
}
