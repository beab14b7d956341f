//! livegate: the firmware service of a face-liveness door terminal.
//!
//! Data flow (each arrow is a module boundary):
//!
//! ```text
//! camera ──frame──▶ vision ──observation──▶ liveness ──verdict──▶ mqtt / screen / gpio
//!                   (detector, mesh, pose)   (challenge, checks)
//! ```
//!
//! The modules (no import cycles between them, and only `service` and `cmd` read the whole
//! configuration: `tests/boundaries.rs`):
//!
//! | module | owns |
//! |---|---|
//! | [`vision`] | face detection, 468-point landmarks (int8), tracking, head pose |
//! | [`models`] | where the shipped ONNX networks live and how to load the set |
//! | [`liveness`] | challenge geometry, the sans-IO session, the checks, the light challenge (flash sequence and the skin's response) |
//! | [`verdict`] | the verdict document, its construction, canonical JSON, signature, `seq`, expiry |
//! | [`durable`] | atomic, fsynced file writes (the spool, `seq`) |
//! | [`camera`] | the `Camera` seam, V4L2 capture (negotiation, conversion, reconnect), the replay camera (recorded sessions), the synthetic camera |
//! | [`pipeline`] | the one challenge loop: face tracker + keypoint tracker + session, frame by frame, for the service and every command |
//! | [`gpio`] | start button (debounced) and relay pulse on `pass`, rppal behind embedded-hal pins |
//! | [`entropy`] | the OS CSPRNG: challenge targets and ids |
//! | [`screen`] | the UI drawn from a plain `View` onto any embedded-graphics target; PNG, framebuffer, SPI TFT, window; the drawing thread |
//! | [`config`] | the TOML configuration file: aggregates each module's `[section]` type, defaults, validation, the key table |
//! | [`lockout`] | the lockout after repeated failures (sans-IO) |
//! | [`trigger`] | starting a challenge from a face held in view of the idle camera |
//! | [`logging`] | `tracing` set-up: levels, `RUST_LOG`, `[log] level`, journald lines |
//! | [`mqtt`] | topics and payloads, the spool, TLS, the MQTT task |
//! | [`door`] | the door controller's checks of a verdict (`livegate door`, sans-IO) |
//! | [`service`] | `livegate run`: requests → challenges → signed, spooled verdicts |
//! | [`cmd`] | every subcommand behind `main.rs` (`run`, `demo`, `keygen`, `seq`, `door`, `config`, `inspect`, `verify`, `record`, `synth`, `evaluate`, `bench`, `screens`, `--version`) |
//!
//! Threads and tasks of `livegate run` (see [`service`] for the channels between them):
//!
//! | name | kind | work | fed by |
//! |---|---|---|---|
//! | `challenge` | std thread | camera frames, inference, the challenge session | a job channel (capacity 1) |
//! | `detector` | scoped std thread ([`vision::FaceTracker`]) | the face detector on a frame where it runs beside the mesh (on the `count_interval_ms` timetable while tracking: every 3rd frame at 30 fps), joined before the frame's result | `challenge`, per detector frame |
//! | `camera` | std thread ([`camera::capture::CaptureThread`]) | V4L2 capture, reconnect, exposure/white-balance/gain lock for the Nose state | the device; control commands (lock, restore) between frames; hands on the newest frame only |
//! | `screen` | std thread ([`screen::ScreenThread`]) | the display, at most at its refresh rate | a newest-wins slot of `screen::View` (never blocks the sender) |
//! | service | tokio task | requests, busy/lockout, `seq`, signing | channels from MQTT and `challenge` |
//! | MQTT | tokio task | rumqttc event loop, spool, PUBACKs, reconnect backoff | the service task |

pub mod camera;
pub mod cmd;
pub mod config;
pub mod door;
pub mod durable;
pub mod entropy;
pub mod gpio;
pub mod liveness;
pub mod lockout;
pub mod logging;
pub mod models;
pub mod mqtt;
pub mod pipeline;
pub mod screen;
pub mod service;
pub mod trigger;
pub mod verdict;
pub mod vision;
