//! `storywatch demo` and OPML import and export, through the real binary.

use std::path::Path;
use std::process::{Command, Output};

use crate::text;

/// The binary, run in `dir` with no config to find there or in the environment.
fn storywatch(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_storywatch"));
    cmd.current_dir(dir)
        .env_remove("STORYWATCH_CONFIG")
        .env_remove("RUST_LOG");
    cmd
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run storywatch")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn repo_config() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config/storywatch.toml")
}

/// The (name, url) of every `[[feed]]` of a TOML text.
fn feeds_of(toml_text: &str) -> Vec<(String, String)> {
    let value: toml::Value = toml::from_str(toml_text).expect("TOML");
    value
        .get("feed")
        .and_then(|f| f.as_array())
        .map(|feeds| {
            feeds
                .iter()
                .map(|f| {
                    (
                        f["name"].as_str().expect("name").to_owned(),
                        f["url"].as_str().expect("url").to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn demo_runs_without_a_config_and_prints_the_changed_alert_and_its_word_diff() {
    let cwd = tempfile::tempdir().expect("tempdir");
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = run(storywatch(cwd.path())
        .arg("demo")
        // A config named but missing: the demo must not look for one.
        .env("STORYWATCH_CONFIG", cwd.path().join("missing.toml"))
        // Its temporary folder goes here, so the test can see it removed.
        .env("TMPDIR", tmp.path()));
    assert!(out.status.success(), "{}", text(&out));
    let stdout = stdout(&out);

    // Five relevant stories out of nine, each a `new` alert read back from the alert log.
    assert_eq!(stdout.matches("\n   new      ").count(), 5, "{stdout}");
    assert!(stdout.contains("5 of the 9 stories"), "{stdout}");
    // The untouched feed is answered 304; the edited story is caught as revision 2.
    assert!(stdout.contains("1 answered 304 Not Modified"), "{stdout}");
    let changed = stdout
        .lines()
        .position(|l| l.starts_with("   changed  "))
        .unwrap_or_else(|| panic!("no changed alert: {stdout}"));
    let alert: Vec<&str> = stdout.lines().skip(changed).take(4).collect();
    let alert = alert.join("\n");
    assert!(
        alert.contains("North Korea and Russia begin trial runs on Tumen River"),
        "{alert}"
    );
    assert!(alert.contains("revision 1 → 2"), "{alert}");
    assert!(alert.contains("title changed"), "{alert}");
    // The word diff, plain when piped: removed and added words marked in place.
    assert!(stdout.contains("Word diff, revision 1 → 2"), "{stdout}");
    assert!(
        stdout.contains("The line [-will-]{+could+} carry"),
        "{stdout}"
    );
    assert!(stdout.contains("[-500,000-]"), "{stdout}");
    assert!(stdout.contains("[-open freight rail link"), "{stdout}");
    assert!(!stdout.contains('\x1b'), "colour codes in a pipe: {stdout}");

    // Nothing left behind: no temporary folder, nothing in the working directory.
    let left: Vec<_> = std::fs::read_dir(tmp.path()).expect("tmp").collect();
    assert!(left.is_empty(), "left in TMPDIR: {left:?}");
    let written: Vec<_> = std::fs::read_dir(cwd.path()).expect("cwd").collect();
    assert!(
        written.is_empty(),
        "written to the working directory: {written:?}"
    );
}

#[test]
fn exporting_the_default_config_and_importing_it_again_gives_the_same_feeds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(storywatch(dir.path())
        .arg("--config")
        .arg(repo_config())
        .args(["feeds", "export"]));
    assert!(out.status.success(), "{}", text(&out));
    let opml = stdout(&out);
    assert!(opml.starts_with("<?xml"), "{opml}");
    assert!(opml.contains("<opml version=\"2.0\">"), "{opml}");
    // The Google News queries hold `&`, escaped in the attribute.
    assert!(opml.contains("&amp;hl=en-US"), "{opml}");
    let path = dir.path().join("storywatch.opml");
    std::fs::write(&path, &opml).expect("write opml");

    // Printing needs no config: none is given and none is found in the working directory.
    let out = run(storywatch(dir.path()).args(["feeds", "import", "storywatch.opml"]));
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(stderr(&out), "", "nothing skipped");
    let imported = feeds_of(&stdout(&out));
    let configured = feeds_of(&std::fs::read_to_string(repo_config()).expect("config"));
    assert_eq!(configured.len(), 17);
    assert_eq!(imported, configured);
}

/// An OPML file as a feed reader exports it: folders, a feed the default config has, a name
/// it uses for another URL, and a new feed whose URL holds `&`.
const SUBSCRIPTIONS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>Subscriptions</title></head>
  <body>
    <outline text="Korea" title="Korea">
      <outline type="rss" text="NK News" title="NK News (reader's name)" xmlUrl="https://www.nknews.org/feed/" htmlUrl="https://www.nknews.org/"/>
      <outline type="rss" text="Daily NK" xmlUrl="https://www.dailynk.com/korean/feed/"/>
    </outline>
    <outline text="Russia">
      <outline text="Wire">
        <outline type="rss" text="Interfax &amp; Co" xmlUrl="https://interfax.example.org/rss?lang=en&amp;section=world"/>
      </outline>
    </outline>
  </body>
</opml>
"#;

#[test]
fn import_write_appends_to_the_config_keeps_its_comments_and_check_passes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("storywatch.toml");
    let original = std::fs::read_to_string(repo_config()).expect("config");
    assert!(original.contains("\n# "), "the copy must have comments");
    std::fs::write(&config, &original).expect("copy config");
    std::fs::write(dir.path().join("subs.opml"), SUBSCRIPTIONS).expect("opml");
    let import = || {
        run(storywatch(dir.path()).arg("--config").arg(&config).args([
            "feeds",
            "import",
            "subs.opml",
            "--write",
        ]))
    };

    let out = import();
    assert!(out.status.success(), "{}", text(&out));
    assert!(stdout(&out).contains("appended 2 feeds"), "{}", text(&out));
    assert!(
        stderr(&out).contains("already in the config as \"NK News\""),
        "{}",
        text(&out)
    );
    let written = std::fs::read_to_string(&config).expect("config");
    // Everything that was there is still there, byte for byte; the feeds come after it.
    assert!(written.starts_with(&original), "{written}");
    let added = &written[original.len()..];
    assert!(
        added.contains("# Imported from subs.opml by `storywatch feeds import`."),
        "{added}"
    );
    let feeds = feeds_of(&written);
    assert_eq!(feeds.len(), 19);
    assert_eq!(
        feeds[17..],
        [
            (
                "Daily NK (www.dailynk.com)".to_owned(),
                "https://www.dailynk.com/korean/feed/".to_owned()
            ),
            (
                "Interfax & Co".to_owned(),
                "https://interfax.example.org/rss?lang=en&section=world".to_owned()
            ),
        ]
    );

    let out = run(storywatch(dir.path())
        .arg("--config")
        .arg(&config)
        .arg("check"));
    assert!(out.status.success(), "{}", text(&out));
    assert!(stdout(&out).contains("Interfax & Co"), "{}", text(&out));

    // Again: every feed is there now, so nothing is written.
    let out = import();
    assert!(out.status.success(), "{}", text(&out));
    assert!(stderr(&out).contains("no feed to add"), "{}", text(&out));
    assert_eq!(std::fs::read_to_string(&config).expect("config"), written);
}

#[test]
fn import_write_leaves_a_config_alone_when_it_would_no_longer_load() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("storywatch.toml");
    // Feeds as an inline array: a `[[feed]]` table appended after it is a TOML error.
    let original = "# my feeds\nfeed = [{ name = \"A\", url = \"https://a.example.org/rss\" }]\n";
    std::fs::write(&config, original).expect("config");
    std::fs::write(dir.path().join("subs.opml"), SUBSCRIPTIONS).expect("opml");
    let out = run(storywatch(dir.path()).arg("--config").arg(&config).args([
        "feeds",
        "import",
        "subs.opml",
        "--write",
    ]));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(stderr(&out).contains("left as it was"), "{}", text(&out));
    assert_eq!(std::fs::read_to_string(&config).expect("config"), original);
}

#[test]
fn a_malformed_or_foreign_file_is_an_error_that_names_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = [
        // (name, file, content, expected in stderr)
        (
            "unclosed_outline",
            "broken.opml",
            "<opml version=\"2.0\">\n<body>\n<outline text=\"A\" xmlUrl=\"https://a.example.org/\">\n</body>\n</opml>\n",
            "storywatch: cannot import broken.opml: line 4",
        ),
        (
            "truncated",
            "truncated.opml",
            "<opml version=\"2.0\">\n<body>\n<outline text=\"A\" xmlUrl=\"https://a.example.org/\"/>\n",
            "storywatch: cannot import truncated.opml: line 4, column 1: the document ends before <body> is closed",
        ),
        (
            "a_feed_not_a_subscription_list",
            "feed.opml",
            "<?xml version=\"1.0\"?>\n<rss version=\"2.0\"><channel><title>x</title></channel></rss>\n",
            "storywatch: cannot import feed.opml: not an OPML document: the root element is <rss>",
        ),
    ];
    for (name, file, content, expected) in cases {
        std::fs::write(dir.path().join(file), content).expect("write");
        let out = run(storywatch(dir.path()).args(["feeds", "import", file]));
        assert_eq!(out.status.code(), Some(1), "{name}: {}", text(&out));
        assert!(stderr(&out).contains(expected), "{name}: {}", text(&out));
        assert_eq!(stdout(&out), "", "{name}");
    }
    let out = run(storywatch(dir.path()).args(["feeds", "import", "absent.opml"]));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        stderr(&out).contains("cannot import absent.opml"),
        "{}",
        text(&out)
    );
}

#[test]
fn an_outline_with_a_bad_url_is_named_and_skipped_and_the_rest_imported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let opml = r#"<opml version="1.1"><body>
        <outline text="Podcast app leftovers" xmlUrl="feed://old.example.org/rss"/>
        <outline text="Good" xmlUrl="https://good.example.org/rss"/>
    </body></opml>"#;
    std::fs::write(dir.path().join("mixed.opml"), opml).expect("write");
    let out = run(storywatch(dir.path()).args(["feeds", "import", "mixed.opml"]));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        stderr(&out).contains(
            "mixed.opml: skipped \"Podcast app leftovers\" (feed://old.example.org/rss): not an http or https URL"
        ),
        "{}",
        text(&out)
    );
    assert_eq!(
        feeds_of(&stdout(&out)),
        [("Good".to_owned(), "https://good.example.org/rss".to_owned())]
    );
}
