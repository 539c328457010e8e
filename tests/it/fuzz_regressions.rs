//! Inputs the fuzz targets (`fuzz/`) found bugs with, kept as regression fixtures: every file
//! in `tests/fixtures/fuzz/` goes through the same checks as in the fuzzer
//! (`fuzz/invariants.rs`). The file name says which target it is for: `feed_items-…` is a feed
//! body (a first byte below 8 picks a `Content-Type` charset), `html_to_text-…` is text for
//! the HTML-to-text step. See "Fuzzing" in the README for how a finding becomes a file here.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

#[path = "../../fuzz/invariants.rs"]
mod invariants;

#[test]
fn fuzz_findings_stay_fixed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("fixture entry").path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());
    let mut failures = Vec::new();
    for path in &files {
        let name = path.file_name().expect("a file name").to_string_lossy();
        let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let check: fn(&[u8]) = if name.starts_with("feed_items-") {
            invariants::check_feed
        } else if name.starts_with("html_to_text-") {
            |data| invariants::check_html(&String::from_utf8_lossy(data))
        } else {
            panic!("{name}: a fixture's name starts with its target (feed_items- or html_to_text-)")
        };
        // Every file is checked, so one run lists every regression, not only the first.
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| check(&data))) {
            let message = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("a panic");
            failures.push(format!("{name}: {message}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
