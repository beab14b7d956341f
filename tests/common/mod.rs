//! Helpers shared by the integration tests: running the `livegate` binary, and skipping a test
//! that cannot run here (never in CI).
// Each test crate that includes this module uses only part of it.
#![allow(dead_code)]

use std::process::{Command, Output};

/// Runs the built `livegate` with `args` from the crate's root and returns what it did.
pub fn livegate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_livegate"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .unwrap()
}

/// Whether this is CI (`CI` set, as `.ci/run` does): there every test must run, none skips.
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false")
}

/// A test that cannot run here for `why`: fails when `required` (CI), else leaves one
/// `SKIPPED` line, written past libtest's capture so that a plain `cargo test` shows it.
pub fn skip(required: bool, why: &str) {
    use std::io::Write;
    assert!(!required, "cannot run: {why}");
    let _ = writeln!(std::io::stderr(), "SKIPPED: {why}");
}
