//! Fuzz target: arbitrary bytes → `storywatch::feed::parse_feed` → every normalized item
//! checked against the stage's promises (`fuzz/invariants.rs`). A first byte below 8 picks the
//! `Content-Type` charset (see `invariants::split_input`); the URL and "now" are fixed.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../invariants.rs"]
mod invariants;

fuzz_target!(|data: &[u8]| invariants::check_feed(data));
