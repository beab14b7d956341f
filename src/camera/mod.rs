//! Where frames come from. One tiny trait at the hardware seam; V4L2 and the synthetic
//! camera arrive with their issues, the replay camera reads recorded sessions (SPEC §6).

pub mod replay;
pub mod synthetic;

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
}

/// A source of frames; `Ok(None)` when it has no more.
pub trait Camera {
    /// The next frame.
    ///
    /// # Errors
    /// [`CameraError`] when the frame cannot be had; a single bad frame is not the end of the
    /// source, callers may continue.
    fn next_frame(&mut self) -> Result<Option<Frame>, CameraError>;
}
