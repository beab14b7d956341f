//! The optional third way to start a challenge (`[trigger] face_hold_ms`): a visitor who
//! stands in front of the terminal, face close enough, for a moment. Between challenges the
//! `challenge` thread looks at a few camera frames a second with the detector alone and
//! reports whether a near face is there; [`FaceHold`] (sans-IO) decides when that counts.
//! After each challenge the face must leave the view before it can start another, so a
//! visitor who just failed is not challenged again and again.

use image::RgbImage;
use serde::{Deserialize, Serialize};

use crate::vision::{FaceDetector, VisionError};

/// `[trigger]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TriggerConfig {
    /// A near face seen this long starts a challenge (0: off; needs the v4l2 camera).
    pub face_hold_ms: u64,
    /// "Near": the face box at least this fraction of the frame's width.
    pub face_min_width: f32,
}

impl Default for TriggerConfig {
    fn default() -> Self {
        Self { face_hold_ms: 0, face_min_width: 0.15 }
    }
}

/// How often the idle camera is looked at.
pub const WATCH_PERIOD_MS: u64 = 250;

/// Decides when a face held in view starts a challenge.
#[derive(Debug, Clone)]
pub struct FaceHold {
    hold_ms: u64,
    since: Option<u64>,
    /// False after a challenge until the view has been empty once.
    armed: bool,
}

impl FaceHold {
    pub fn new(hold_ms: u64) -> Self {
        Self { hold_ms, since: None, armed: true }
    }

    /// One look at the camera at `t_ms`; true when it should start a challenge now.
    pub fn update(&mut self, present: bool, t_ms: u64) -> bool {
        if !present {
            self.since = None;
            self.armed = true;
            return false;
        }
        if !self.armed {
            return false;
        }
        let since = *self.since.get_or_insert(t_ms);
        if t_ms.saturating_sub(since) >= self.hold_ms {
            self.armed = false;
            self.since = None;
            return true;
        }
        false
    }

    /// A challenge ran (however it started): wait for the view to empty before the next.
    pub fn disarm(&mut self) {
        self.armed = false;
        self.since = None;
    }
}

/// Whether a face at least `min_width` of the frame's width is in `img` (detector only).
///
/// # Errors
/// [`VisionError`] when the detector fails on the frame.
pub fn near_face(detector: &FaceDetector, img: &RgbImage, min_width: f32) -> Result<bool, VisionError> {
    let width = img.width().max(1) as f32;
    Ok(detector.detect(img)?.iter().any(|f| f.w / width >= min_width))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_face_held_long_enough_starts_once_and_must_leave_before_the_next() {
        let mut h = FaceHold::new(1_000);
        assert!(!h.update(true, 0));
        assert!(!h.update(true, 500));
        assert!(h.update(true, 1_000), "held for the whole second");
        assert!(!h.update(true, 5_000), "still there: not again");
        assert!(!h.update(false, 6_000));
        assert!(!h.update(true, 7_000));
        assert!(h.update(true, 8_000), "left and came back");
    }

    #[test]
    fn a_passer_by_does_not_start_and_a_challenge_disarms() {
        let mut h = FaceHold::new(1_000);
        assert!(!h.update(true, 0));
        assert!(!h.update(false, 400), "gone before the hold time");
        assert!(!h.update(true, 600));
        h.disarm();
        assert!(!h.update(true, 5_000), "after a challenge the visitor must step away first");
    }

    #[test]
    fn only_a_near_face_counts() {
        let models = crate::models::locate(None).unwrap();
        let (detector, _) = crate::models::load(&models, crate::models::Precision::Int8, 0.5).unwrap();
        let read = |p: &str| {
            image::open(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/").to_owned() + p).unwrap().to_rgb8()
        };
        let face = read("astronaut.png");
        assert!(near_face(&detector, &face, 0.15).unwrap(), "a face 18 % of the frame wide");
        assert!(!near_face(&detector, &face, 0.5).unwrap(), "not half the frame wide");
        assert!(!near_face(&detector, &read("coffee.png"), 0.15).unwrap());
    }
}
