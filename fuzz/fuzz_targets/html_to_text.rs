//! Fuzz target: arbitrary text → `storywatch::feed::html_to_text` and `normalize_text`, whose
//! output must be normalized text (`fuzz/invariants.rs`). Bytes that are not UTF-8 become
//! U+FFFD, as the parse stage would make them.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../invariants.rs"]
mod invariants;

fuzz_target!(|data: &[u8]| invariants::check_html(&String::from_utf8_lossy(data)));
