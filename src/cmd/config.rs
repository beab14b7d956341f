//! `livegate config`: print the default config or the key table, or validate a file.

use std::path::PathBuf;

use super::Exit;
use crate::config::{Config, DEFAULT_TOML, key_table};

/// What `livegate config` is asked to do.
#[derive(Debug, Clone, Default)]
pub struct ConfigCommand {
    /// Validate this file instead of printing the defaults.
    pub check: Option<PathBuf>,
    /// Print the key table of docs/configuration.md (key · default · meaning) instead.
    pub table: bool,
}

/// Prints the key table (`table`), validates `check` and prints `FILE: ok`, or prints the
/// default config.
///
/// # Errors
/// The file's first problem (naming the key and line).
pub fn exec(cmd: ConfigCommand) -> anyhow::Result<Exit> {
    if cmd.table {
        print!("{}", key_table());
    } else if let Some(path) = cmd.check {
        Config::load(&path)?;
        println!("{}: ok", path.display());
    } else {
        print!("{DEFAULT_TOML}");
    }
    Ok(Exit::Success)
}
