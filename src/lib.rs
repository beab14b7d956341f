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
//! | [`camera`] | the `Camera` seam, the replay camera (recorded sessions), the synthetic camera |
//! | [`pipeline`] | one challenge wired: face tracker + keypoint tracker + session |
//! | [`config`] | the TOML configuration tree, its defaults and validation |
//! | [`mqtt`] | topics and payloads, verdict signing, the spool, TLS, the MQTT task |
//! | [`service`] | `livegate run`: requests → challenges → signed, spooled verdicts |
//! | [`cmd`] | the subcommands behind `main.rs` (`inspect`, `verify`, `synth`, `evaluate`, `bench`) |
//!
//! Threads and tasks of `livegate run` (see [`service`] for the channels between them):
//!
//! | name | kind | work |
//! |---|---|---|
//! | `challenge` | std thread | camera frames, inference, the challenge session |
//! | service | tokio task | requests, busy/lockout, `seq`, signing |
//! | MQTT | tokio task | rumqttc event loop, spool, PUBACKs, reconnect backoff |

pub mod camera;
pub mod cmd;
pub mod config;
pub mod liveness;
pub mod models;
pub mod mqtt;
pub mod pipeline;
pub mod service;
pub mod vision;
