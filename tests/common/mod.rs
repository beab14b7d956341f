//! Helpers shared by the integration tests that run the `livegate` binary.

use std::process::{Command, Output};

/// Runs the built `livegate` with `args` from the crate's root and returns what it did.
pub fn livegate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_livegate"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .unwrap()
}
