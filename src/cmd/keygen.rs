//! `livegate keygen`: make the verdict-signing key (0600; never overwrites) and its `seq`
//! counter, and print the public key. `livegate seq`: show or restore the counter.

use std::path::{Path, PathBuf};

use super::{Exit, LOG_TARGET};
use crate::config::Config;
use crate::verdict::SeqFile;
use crate::verdict::signing::DeviceKey;

/// What `livegate keygen` is asked to do.
#[derive(Debug, Clone)]
pub struct KeygenCommand {
    /// Where to write the key (default: `[signing] key_file` of `config`).
    pub out: Option<PathBuf>,
    /// Where the verdict counter goes (default: `seq` beside `out` when that is given, else
    /// `[signing] seq_file` of `config`).
    pub seq: Option<PathBuf>,
    /// The config file (the defaults when it does not exist).
    pub config: PathBuf,
}

/// The `[signing]` section of `config`, or the defaults when the file does not exist.
fn signing(config: &Path) -> anyhow::Result<crate::verdict::SigningConfig> {
    Ok(if config.exists() { Config::load(config)?.signing } else { Config::default().signing })
}

/// Writes the key file from `out` or the config (defaults when it is absent), starts its
/// verdict counter at 0 unless one is there (it then goes on), and prints the public key on
/// stdout.
///
/// # Errors
/// A config that does not load, an existing key file, a key or counter that cannot be written.
pub fn exec(cmd: KeygenCommand) -> anyhow::Result<Exit> {
    let signing = signing(&cmd.config)?;
    let seq = match (cmd.seq, &cmd.out) {
        (Some(seq), _) => seq,
        (None, Some(out)) => out.with_file_name("seq"),
        (None, None) => signing.seq_file,
    };
    let path = cmd.out.unwrap_or(signing.key_file);
    for dir in [&path, &seq].iter().filter_map(|p| p.parent()).filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let key = DeviceKey::generate()?;
    key.save(&path)?;
    tracing::info!(
        target: LOG_TARGET,
        "wrote {} (keep it secret; give controllers the public key below)",
        path.display()
    );
    let last = SeqFile::start(&seq)?;
    tracing::info!(target: LOG_TARGET, "verdict counter {}: the next verdict is seq {}", seq.display(), last + 1);
    println!("{}", key.public_hex());
    Ok(Exit::Success)
}

/// What `livegate seq` is asked to do.
#[derive(Debug, Clone)]
pub struct SeqCommand {
    /// Set the last used `seq` to this (never lower than the file's).
    pub set: Option<u64>,
    /// The config file naming `[signing] seq_file` (the defaults when it does not exist).
    pub config: PathBuf,
}

/// Prints the last used `seq`, or sets it (`--set N`: the last `seq` the door controllers
/// accepted, after the file was lost).
///
/// # Errors
/// A config that does not load, an unreadable counter, or a `--set` below the counter or
/// above 2^53 − 1.
pub fn exec_seq(cmd: SeqCommand) -> anyhow::Result<Exit> {
    let path = signing(&cmd.config)?.seq_file;
    match cmd.set {
        None => match SeqFile::read(&path)? {
            Some(last) => println!("{last}"),
            None => anyhow::bail!(
                "{}: no verdict counter (`livegate seq --set N` makes one; N = the last seq the controllers accepted)",
                path.display()
            ),
        },
        Some(n) => {
            let before = SeqFile::set(&path, n)?;
            let was = before.map_or_else(|| "none".to_owned(), |b| b.to_string());
            tracing::info!(
                target: LOG_TARGET,
                "{}: last used seq set to {n} (was {was}); the next verdict is seq {}",
                path.display(),
                n + 1
            );
        }
    }
    Ok(Exit::Success)
}
