//! The subcommands. `main.rs` parses arguments and maps errors to exit codes; these do the work.
//!
//! Each subcommand is an `exec` function in its module, taking a plain options struct (no
//! clap types) and returning how it ended ([`Exit`]) or an error (exit 1).

pub mod bench;
pub(crate) mod bench_frames;
pub mod common;
pub mod config;
pub mod demo;
pub mod door;
pub(crate) mod engine_check;
pub mod evaluate;
pub(crate) mod evaluate_report;
pub mod evaluate_sessions;
pub mod inspect;
pub mod keygen;
pub(crate) mod overlay;
pub(crate) mod procstat;
pub mod record;
pub mod run;
pub mod screens;
pub(crate) mod settings;
pub mod synth;
pub mod verify;
pub mod version;

/// How a subcommand ended without an error; `main.rs` turns it into the exit code (an error
/// is exit 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Exit 0: done; for the commands that judge a challenge, it passed.
    Success,
    /// Exit 1: a verdict other than pass, or a flat-photo attack that passed the demo.
    Failure,
    /// Exit 2: unusable input (an image or a session that cannot be read).
    Unusable,
}

impl Exit {
    /// `Success` when `ok`, else `Failure`.
    pub fn success_if(ok: bool) -> Self {
        if ok { Self::Success } else { Self::Failure }
    }
}

/// The target of the commands' own log lines (`livegate`, the binary's), so that they read
/// as they did when `main.rs` wrote them.
const LOG_TARGET: &str = "livegate";
