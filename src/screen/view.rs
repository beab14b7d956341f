//! What the screen shows, as plain data. The pipeline builds a [`View`] from the session's
//! state and sends it to the drawing thread; [`super::draw()`] turns it into pixels. Nothing here
//! knows about displays, so every screen can be rendered in a test or by `livegate screens`.

use std::sync::Arc;

use image::RgbImage;

use crate::liveness::ChallengeGeometry;
pub use crate::liveness::session::Prompt;

pub use super::text::Language;
use crate::liveness::session::{Phase, Reason};

/// One complete screen: the scene plus the status glyphs.
#[derive(Debug, Clone, PartialEq)]
pub struct View {
    pub scene: Scene,
    pub status: Status,
    /// The language of every word on it.
    pub language: Language,
}

/// The health glyphs in the corner. A broker outage is only a glyph: the terminal keeps
/// checking visitors locally and spools verdicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    pub camera_ok: bool,
    pub broker_connected: bool,
}

impl Default for Status {
    fn default() -> Self {
        Self { camera_ok: true, broker_connected: true }
    }
}

/// The states a visitor can meet.
#[derive(Debug, Clone, PartialEq)]
pub enum Scene {
    /// Nothing going on: invite the visitor.
    Idle,
    /// A challenge in progress, with the camera preview.
    Challenge(Challenge),
    /// The visitor may enter.
    Pass,
    /// The check failed; the reason picks the plain-language advice.
    Fail { reason: Reason },
    /// A state ran out of time.
    Timeout { reason: Reason },
    /// Too many failed attempts; the terminal refuses challenges for a while.
    Lockout { remaining_ms: u64 },
    /// The terminal cannot check anyone right now.
    Error(Fault),
}

/// Why the terminal cannot work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// No camera device, or it stopped delivering frames.
    CameraMissing,
    /// The face models could not be loaded.
    ModelsMissing,
    /// Anything else; the text is for staff, shown small.
    Other(String),
}

/// A challenge in progress.
#[derive(Debug, Clone, PartialEq)]
pub struct Challenge {
    /// The newest camera frame (raw, not mirrored: drawing mirrors it).
    pub frame: Option<Arc<RgbImage>>,
    /// Area and target in camera pixels.
    pub geometry: ChallengeGeometry,
    /// The nose tip in camera pixels, when a face is seen.
    pub nose: Option<[f32; 2]>,
    pub phase: Phase,
    /// Time left in the current state: fraction of its timeout (1 = all of it) and ms.
    pub remaining_fraction: f32,
    pub remaining_ms: u64,
    /// What the visitor is asked to do (worded by `text::instruction`).
    pub prompt: Prompt,
    /// The light challenge's colours, filling the screen's halves behind the guidance
    /// (issue 18).
    pub flash: Option<crate::liveness::light::Flash>,
}
