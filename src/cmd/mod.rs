//! The subcommands. `main.rs` parses arguments and maps errors to exit codes; these do the work.

pub mod bench;
pub mod bench_frames;
pub mod demo;
pub mod engine_check;
pub mod evaluate;
pub mod evaluate_report;
pub mod evaluate_sessions;
pub mod inspect;
pub mod overlay;
pub mod procstat;
pub mod record;
pub mod screens;
pub mod settings;
pub mod synth;
pub mod verify;
