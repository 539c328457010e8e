//! Fuzz target: arbitrary bytes → `storywatch::feed::parse_feed` → every normalized item
//! checked against the stage's promises (`fuzz/invariants.rs`). A first byte below 8 picks the
//! `Content-Type` charset (see `invariants::split_input`); the URL and "now" are fixed.
//!
//! `parse_feed` catches a panic of the XML parser (feed-rs and quick-xml) and returns it as a
//! parse error. libfuzzer-sys aborts on every panic, caught or not, so the hook set here lets
//! those through quietly; a panic anywhere else still aborts at once, and a parser panic that
//! `parse_feed` failed to catch aborts below with its message.

#![no_main]

use std::cell::RefCell;
use std::panic::{self, PanicHookInfo};

use libfuzzer_sys::fuzz_target;

#[path = "../invariants.rs"]
mod invariants;

thread_local! {
    /// The last parser panic, printed if it was not caught after all.
    static PARSER_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Whether the panic was raised in the code `parse_feed` guards with `catch_unwind`.
fn in_xml_parser(info: &PanicHookInfo<'_>) -> bool {
    info.location().is_some_and(|at| {
        ["/feed-rs-", "/quick-xml-"]
            .iter()
            .any(|krate| at.file().contains(krate))
    })
}

/// Wraps libfuzzer-sys's abort-on-panic hook (set before this runs): parser panics are noted,
/// not fatal.
fn let_parser_panics_through() {
    let abort = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        if in_xml_parser(info) {
            PARSER_PANIC.with(|p| *p.borrow_mut() = Some(info.to_string()));
        } else {
            abort(info);
        }
    }));
}

fuzz_target!(init: let_parser_panics_through(), |data: &[u8]| {
    if panic::catch_unwind(|| invariants::check_feed(data)).is_err() {
        let message = PARSER_PANIC.with(|p| p.borrow_mut().take());
        eprintln!("parse_feed let a parser panic through: {}", message.unwrap_or_default());
        std::process::abort();
    }
});
