//! Seed articles: the stories the database starts from.
//!
//! Takes Markdown seed files, each opening with TOML front matter between `+++` lines
//! (`title`, `source`, optional `url`, `published`, `language`); gives one normalized
//! [`Item`] per file with body kind `seed`, for the store to load as a baseline.
//!
//! The seeds shipped in `seeds/` are built into the binary, so the database is seeded wherever
//! storywatch runs and whatever its working directory; a configured `seeds` folder adds more,
//! and a file there with a built-in seed's name replaces it. It does not write anything:
//! loading is the store's, and raises no alert.

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;

use crate::feed;
use crate::model::{ArticleKey, BodyKind, Item};

/// Errors reading seeds; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read seeds folder {path}: {source}")]
    ReadDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read seed {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("seed {path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

/// One seed article, ready for the store.
#[derive(Debug, Clone, PartialEq)]
pub struct Seed {
    /// The file name without extension: the seed's identity across edits.
    pub name: String,
    pub source: Option<String>,
    pub language: Option<String>,
    pub item: Item,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    title: String,
    source: Option<String>,
    url: Option<String>,
    published: Option<toml::value::Datetime>,
    language: Option<String>,
}

/// The seeds built into the binary: the files of the repository's `seeds/` folder.
const BUILT_IN: &[(&str, &str)] = &[(
    "dprk-russia-economic-ties.md",
    include_str!("../seeds/dprk-russia-economic-ties.md"),
)];

/// The seeds to load: the built-in ones, then those of `dir` when one is configured, in name
/// order. A file of `dir` named like a built-in seed replaces it.
pub fn all_seeds(dir: Option<&Path>) -> Result<Vec<Seed>, Error> {
    let mut seeds = built_in_seeds()?;
    if let Some(dir) = dir {
        for seed in read_seeds(dir)? {
            match seeds.iter_mut().find(|s| s.name == seed.name) {
                Some(built_in) => *built_in = seed,
                None => seeds.push(seed),
            }
        }
    }
    seeds.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(seeds)
}

/// The seeds built into the binary.
pub fn built_in_seeds() -> Result<Vec<Seed>, Error> {
    BUILT_IN
        .iter()
        .map(|(file, text)| parse_seed(text, Path::new(file)))
        .collect()
}

/// Reads every `*.md` file of `dir`, in name order. The folder must exist: a configured folder
/// that is missing is a mistake to report, not an empty set of seeds.
pub fn read_seeds(dir: &Path) -> Result<Vec<Seed>, Error> {
    let entries = std::fs::read_dir(dir).map_err(|source| Error::ReadDir {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut paths = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| Error::ReadDir {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "md") {
            paths.push(path);
        }
    }
    paths.sort();
    paths.iter().map(|p| read_seed(p)).collect()
}

/// Reads one seed file.
pub fn read_seed(path: &Path) -> Result<Seed, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_seed(&text, path)
}

/// Parses the text of one seed file; `path` names it in errors and gives the seed its name.
fn parse_seed(text: &str, path: &Path) -> Result<Seed, Error> {
    let invalid = |message: String| Error::Invalid {
        path: path.to_path_buf(),
        message,
    };
    let (front, body) = split_front_matter(text)
        .ok_or_else(|| invalid("does not start with TOML front matter between +++ lines".into()))?;
    let front: FrontMatter =
        toml::from_str(front).map_err(|e| invalid(format!("front matter: {e}")))?;
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .ok_or_else(|| invalid("has no file name".into()))?;
    let title = feed::normalize_text(&front.title).replace('\n', " ");
    if title.is_empty() {
        return Err(invalid("title is empty".into()));
    }
    let url = match &front.url {
        Some(raw) => Some(
            feed::canonical_url(raw, None)
                .ok_or_else(|| invalid(format!("url {raw:?} is not an http(s) URL")))?,
        ),
        None => None,
    };
    let published_at =
        match &front.published {
            Some(dt) => Some(parse_published(dt).ok_or_else(|| {
                invalid(format!("published {dt} is not a date or a UTC date-time"))
            })?),
            None => None,
        };
    let body = feed::normalize_text(body);
    let mut keys = vec![ArticleKey(format!("seed:{name}"))];
    if let Some(url) = &url {
        keys.insert(0, ArticleKey(format!("url:{url}")));
    }
    let item = Item {
        keys,
        title_keys: feed::title_keys(&title),
        url,
        guid: None,
        content_hash: feed::content_hash(&title, &body),
        title,
        body,
        body_kind: BodyKind::Seed,
        published_at,
    };
    Ok(Seed {
        name,
        source: front.source,
        language: front.language,
        item,
    })
}

/// Splits `+++\n<toml>\n+++\n<body>` into its two parts.
fn split_front_matter(text: &str) -> Option<(&str, &str)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let rest = text.strip_prefix("+++")?.trim_start_matches([' ', '\t']);
    let rest = rest
        .strip_prefix("\r\n")
        .or_else(|| rest.strip_prefix('\n'))?;
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "+++" {
            return Some((&rest[..offset], &rest[offset + line.len()..]));
        }
        offset += line.len();
    }
    None
}

fn parse_published(dt: &toml::value::Datetime) -> Option<DateTime<Utc>> {
    let text = dt.to_string();
    if let Ok(t) = DateTime::parse_from_rfc3339(&text) {
        return Some(t.with_timezone(&Utc));
    }
    let date = NaiveDate::parse_from_str(&text, "%Y-%m-%d").ok()?;
    Some(date.and_hms_opt(0, 0, 0)?.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_matter_is_split_from_the_body() {
        let cases = [
            (
                "plain",
                "+++\ntitle = \"T\"\n+++\nBody\n",
                Some(("title = \"T\"\n", "Body\n")),
            ),
            (
                "crlf",
                "+++\r\ntitle = \"T\"\r\n+++\r\nBody",
                Some(("title = \"T\"\r\n", "Body")),
            ),
            ("no_front_matter", "Title\nBody", None),
            ("unterminated", "+++\ntitle = \"T\"\nBody", None),
        ];
        for (name, text, expected) in cases {
            assert_eq!(split_front_matter(text), expected, "{name}");
        }
    }

    #[test]
    fn the_built_in_seeds_are_the_files_of_the_seeds_folder() {
        let folder = read_seeds(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/seeds")))
            .expect("seeds read");
        assert_eq!(built_in_seeds().expect("built in"), folder);
    }

    #[test]
    fn a_folder_adds_seeds_and_replaces_a_built_in_one_of_its_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let seed = |title: &str| format!("+++\ntitle = \"{title}\"\n+++\nBody\n");
        std::fs::write(dir.path().join("extra.md"), seed("Extra")).expect("write");
        std::fs::write(dir.path().join("notes.txt"), "not a seed").expect("write");
        let titles = |seeds: Vec<Seed>| {
            seeds
                .into_iter()
                .map(|s| (s.name, s.item.title))
                .collect::<Vec<_>>()
        };
        let ft = "North Korea and Russia deepen economic ties - FT".to_owned();
        assert_eq!(
            titles(all_seeds(None).expect("built in")),
            [("dprk-russia-economic-ties".to_owned(), ft.clone())]
        );
        assert_eq!(
            titles(all_seeds(Some(dir.path())).expect("with folder")),
            [
                ("dprk-russia-economic-ties".to_owned(), ft),
                ("extra".to_owned(), "Extra".to_owned())
            ]
        );
        std::fs::write(
            dir.path().join("dprk-russia-economic-ties.md"),
            seed("Edited"),
        )
        .expect("write");
        assert_eq!(
            titles(all_seeds(Some(dir.path())).expect("replaced")),
            [
                ("dprk-russia-economic-ties".to_owned(), "Edited".to_owned()),
                ("extra".to_owned(), "Extra".to_owned())
            ]
        );
        let missing = dir.path().join("missing");
        let err = all_seeds(Some(&missing)).expect_err("missing folder");
        assert!(err.to_string().contains("missing"), "{err}");
    }

    #[test]
    fn the_shipped_seed_reads_as_the_ft_story() {
        let seeds = built_in_seeds().expect("seeds read");
        assert_eq!(seeds.len(), 1);
        let seed = &seeds[0];
        assert_eq!(
            seed.item.title,
            "North Korea and Russia deepen economic ties - FT"
        );
        assert_eq!(
            seed.source.as_deref(),
            Some("Censor.NET, citing the Financial Times")
        );
        assert_eq!(seed.language.as_deref(), Some("en"));
        assert_eq!(seed.item.url, None);
        assert_eq!(seed.item.published_at, None);
        assert!(
            seed.item
                .body
                .starts_with("After the agreement between the DPRK and Russia")
        );
        assert!(
            seed.item
                .body
                .ends_with("even after the fighting in Ukraine stops.")
        );
        assert_eq!(seed.item.body_kind, BodyKind::Seed);
    }

    #[test]
    fn bad_front_matter_names_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("bad.md");
        std::fs::write(&path, "+++\ntitle = \"T\"\nauthor = \"x\"\n+++\nBody").expect("write");
        let err = read_seed(&path).expect_err("unknown key");
        let text = err.to_string();
        assert!(text.contains("bad.md") && text.contains("author"), "{text}");
    }
}
