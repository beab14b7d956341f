//! Where frames come from. One tiny trait at the hardware seam: the live V4L2 camera (with
//! its pure helpers: pixel conversion, format negotiation, the reconnect policy, the frame
//! intake, the exposure/white balance/gain lock), the replay camera for recorded sessions
//! (SPEC §6) and the synthetic camera.

pub(crate) mod capture;
mod config;
pub mod controls;
pub mod convert;
pub(crate) mod intake;
pub(crate) mod mjpeg;
pub(crate) mod negotiate;
pub(crate) mod recovery;
pub(crate) mod replay;
pub mod synthetic;
pub(crate) mod v4l2;

pub use capture::CaptureThread;
pub use config::{CameraConfig, CameraSource};
pub use controls::{ControlState, ControlsReport};
pub use intake::CameraStats;
pub use recovery::CameraStatus;
pub use v4l2::{V4l2Camera, V4l2Options};

use crate::liveness::light::LightPlan;
use image::RgbImage;

/// One camera frame and its capture time (ms on a monotonic clock, or recorded).
#[derive(Debug, Clone)]
pub struct Frame {
    pub image: RgbImage,
    pub t_ms: u64,
}

/// Errors of a frame source.
#[derive(Debug, thiserror::Error)]
pub enum CameraError {
    /// The source is unusable as a whole (missing or malformed session, no device).
    #[error("{0}")]
    Unusable(String),
    /// One frame could not be read or decoded.
    #[error("frame {index} ({name}): {reason}")]
    BadFrame { index: usize, name: String, reason: String },
    /// The device is absent or went away (unplugged); a live camera keeps retrying.
    #[error("{0}")]
    Disconnected(String),
    /// The device exists but the service user may not open it.
    #[error("{0}")]
    PermissionDenied(String),
    /// The stream delivered no good frame for the stall timeout and was restarted.
    #[error("{0}")]
    Stalled(String),
}

/// A source of frames; `Ok(None)` when it has no more.
pub trait Camera {
    /// The next frame.
    ///
    /// # Errors
    /// [`CameraError`] when the frame cannot be had; a single bad frame is not the end of the
    /// source, callers may continue.
    fn next_frame(&mut self) -> Result<Option<Frame>, CameraError>;

    /// Whether this camera's frames can show the light challenge's flashes (issue 18): told
    /// the sequence when the Nose state begins. By default they cannot (a recording).
    fn light(&mut self, _plan: &LightPlan) -> Lit {
        Lit::No
    }
}

/// Whether a camera's frames show the terminal's flashes ([`Camera::light`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lit {
    /// The camera renders them itself (the synthetic camera).
    Rendered,
    /// A live camera: they show when the terminal's screen flashes them.
    Screen,
    /// They cannot show (a recorded session replayed).
    No,
}
