//! livegate: the firmware service of a face-liveness door terminal.
//!
//! Data flow (each arrow is a module boundary):
//!
//! ```text
//! camera ──frame──▶ vision ──observation──▶ liveness ──verdict──▶ mqtt / screen / gpio
//!                   (detector, mesh, pose)   (challenge, checks)
//! ```
//!
//! What exists so far:
//!
//! | module | owns |
//! |---|---|
//! | [`vision`] | face detection, 468-point landmarks (int8), tracking, head pose |
//! | [`models`] | where the shipped ONNX networks live and how to load the set |
//! | [`liveness`] | challenge geometry, the sans-IO session, the checks, the verdict |
//! | [`camera`] | the `Camera` seam, V4L2 capture (negotiation, conversion, reconnect), the replay camera (recorded sessions), the synthetic camera |
//! | [`pipeline`] | one challenge wired: face tracker + keypoint tracker + session |
//! | [`gpio`] | start button (debounced) and relay pulse on `pass`, rppal behind embedded-hal pins |
//! | [`entropy`] | the OS CSPRNG: challenge targets and ids |
//! | [`screen`] | the UI drawn from a plain `View` onto any embedded-graphics target; PNG, framebuffer, SPI TFT, window; the drawing thread |
//! | [`cmd`] | the subcommands behind `main.rs` (`inspect`, `verify`, `synth`, `evaluate`, `bench`) |
//!
//! Threads and tasks are listed here as the service grows (camera capture, inference and
//! drawing on named threads; MQTT and timers on tokio).
//!
//! | thread / task | owns | fed by |
//! |---|---|---|
//! | `screen` (std thread, [`screen::ScreenThread`]) | the display; draws at most at its refresh rate | a newest-wins slot of `screen::View` (stale views dropped, never blocks the sender) |

pub mod camera;
pub mod cmd;
pub mod entropy;
pub mod gpio;
pub mod liveness;
pub mod models;
pub mod pipeline;
pub mod screen;
pub mod vision;
