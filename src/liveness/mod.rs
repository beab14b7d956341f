//! Liveness: the challenge geometry and the measurements behind a verdict (SPEC §1–2).
//!
//! Sans-IO: nothing here reads a clock, draws random numbers, touches a device or draws.
//! The target is drawn from the OS CSPRNG by the caller and passed in as a [`TargetDraw`].

pub(crate) mod checks;
pub(crate) mod geometry;
pub mod light;
pub(crate) mod motion;
pub mod session;
pub mod surround;

pub use geometry::{ChallengeGeometry, TargetDraw};
