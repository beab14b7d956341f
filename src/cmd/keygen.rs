//! `livegate keygen`: make the verdict-signing key (0600; never overwrites) and print the
//! public key.

use std::path::PathBuf;

use super::{Exit, LOG_TARGET};
use crate::config::Config;
use crate::verdict::signing::DeviceKey;

/// What `livegate keygen` is asked to do.
#[derive(Debug, Clone)]
pub struct KeygenCommand {
    /// Where to write the key (default: `[signing] key_file` of `config`).
    pub out: Option<PathBuf>,
    /// The config file (the defaults when it does not exist).
    pub config: PathBuf,
}

/// Writes the key file from `out` or the config (defaults when it is absent) and prints the
/// public key on stdout.
///
/// # Errors
/// A config that does not load, an existing key file, or one that cannot be written.
pub fn exec(cmd: KeygenCommand) -> anyhow::Result<Exit> {
    let path = match cmd.out {
        Some(p) => p,
        None if cmd.config.exists() => Config::load(&cmd.config)?.signing.key_file,
        None => Config::default().signing.key_file,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let key = DeviceKey::generate()?;
    key.save(&path)?;
    tracing::info!(
        target: LOG_TARGET,
        "wrote {} (keep it secret; give controllers the public key below)",
        path.display()
    );
    println!("{}", key.public_hex());
    Ok(Exit::Success)
}
