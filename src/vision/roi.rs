//! The rotated square region the mesh looks at, derived from a detection or from the
//! previous frame's landmarks (MediaPipe's detection-to-ROI and landmarks-to-ROI).

use super::warp::Affine;
use super::{FaceBox, Landmarks};

/// Mesh indices used for the ROI rotation: right-eye outer and left-eye outer corner.
const RIGHT_EYE_OUTER: usize = 33;
const LEFT_EYE_OUTER: usize = 263;
/// How much larger than the face the crop is.
const ROI_SCALE: f32 = 1.5;

/// A rotated square in frame pixels: centre, side and rotation (radians, clockwise on screen
/// because image y points down; 0 when the eyes are level).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Roi {
    pub cx: f32,
    pub cy: f32,
    pub size: f32,
    pub theta: f32,
}

/// Wraps an angle into [-π, π).
fn normalize_angle(a: f32) -> f32 {
    use std::f32::consts::PI;
    a - 2.0 * PI * ((a + PI) / (2.0 * PI)).floor()
}

/// Rotation that makes the line from `right` (subject's right eye, image left) to `left`
/// horizontal.
fn eye_rotation(right: [f32; 2], left: [f32; 2]) -> f32 {
    normalize_angle((left[1] - right[1]).atan2(left[0] - right[0]))
}

impl Roi {
    /// The ROI for a fresh detection: box centre, 1.5× its longer side, rotated by the eyes.
    pub fn from_detection(face: &FaceBox) -> Self {
        Self {
            cx: face.x + face.w / 2.0,
            cy: face.y + face.h / 2.0,
            size: face.w.max(face.h) * ROI_SCALE,
            theta: eye_rotation(face.keypoints[0], face.keypoints[1]),
        }
    }

    /// The ROI for the next frame from this frame's landmarks: their bounding box, 1.5× its
    /// longer side, rotated by the outer eye corners.
    pub fn from_landmarks(lm: &Landmarks) -> Self {
        let bounds = lm.bounds();
        Self {
            cx: bounds.x + bounds.w / 2.0,
            cy: bounds.y + bounds.h / 2.0,
            size: bounds.w.max(bounds.h) * ROI_SCALE,
            theta: eye_rotation(lm.xy(RIGHT_EYE_OUTER), lm.xy(LEFT_EYE_OUTER)),
        }
    }

    /// Map from a `side × side` crop's pixels to frame pixels.
    pub fn crop_to_frame(&self, side: usize) -> Affine {
        let k = self.size / side as f32;
        let (s, c) = self.theta.sin_cos();
        // d = u·k − size/2, e = v·k − size/2; x = cx + d·cos − e·sin; y = cy + d·sin + e·cos.
        let h = self.size / 2.0;
        Affine {
            a: k * c,
            b: -k * s,
            c: k * s,
            d: k * c,
            tx: self.cx - h * c + h * s,
            ty: self.cy - h * s - h * c,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f32::consts::FRAC_PI_6;

    #[test]
    fn level_eyes_give_no_rotation() {
        assert_eq!(eye_rotation([10.0, 50.0], [90.0, 50.0]), 0.0);
    }

    #[test]
    fn a_face_tilted_clockwise_on_screen_has_positive_rotation() {
        let (s, c) = FRAC_PI_6.sin_cos();
        let theta = eye_rotation([0.0, 0.0], [c * 40.0, s * 40.0]);
        assert!((theta - FRAC_PI_6).abs() < 1e-6);
    }

    #[test]
    fn crop_centre_maps_to_roi_centre_and_follows_rotation() {
        let roi = Roi { cx: 300.0, cy: 200.0, size: 192.0, theta: FRAC_PI_6 };
        let map = roi.crop_to_frame(192);
        let (x, y) = map.apply(96.0, 96.0);
        assert!((x - 300.0).abs() < 1e-3 && (y - 200.0).abs() < 1e-3);
        // One crop pixel to the right moves along the eye line.
        let (x1, y1) = map.apply(97.0, 96.0);
        let (s, c) = FRAC_PI_6.sin_cos();
        assert!((x1 - x - c).abs() < 1e-4 && (y1 - y - s).abs() < 1e-4);
    }
}
