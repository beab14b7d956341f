//! Seeing faces: frame → detections → rotated crop → 468 landmarks → head pose.
//!
//! * [`FaceDetector`] (BlazeFace) finds every face and six keypoints in a whole frame.
//! * [`LandmarkModel`] (FaceMesh, int8 in service) turns a rotated crop into 468 points.
//! * [`FaceTracker`] chains them the MediaPipe way: the detector seeds a track, each frame's
//!   landmarks give the next frame's crop, and the detector runs again when the track is lost
//!   and often enough to count every face in view for `count_interval_ms` (`count`).
//! * [`pose::head_pose`] gives yaw/pitch/roll in the camera frame.
//!
//! Everything here is pure computation over an `RgbImage`; nothing reads a clock or a device.

mod count;
pub mod detector;
pub(crate) mod face_template;
pub(crate) mod flow;
pub mod landmarks;
mod onnx;
mod ops;
pub mod pose;
mod rgbx;
pub(crate) mod roi;
mod tracker;
pub(crate) mod warp;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use detector::FaceDetector;
pub use landmarks::LandmarkModel;
pub use onnx::{Operators, TRACT_VERSION, force_kernels, selected_kernels};
pub use ops::Kernels;
pub use pose::{Intrinsics, Pose};
pub use roi::Roi;
pub use tracker::{FaceTracker, Observation, TrackedFace, VisionConfig};

/// The engine's fingerprint (SPEC §3 `engine`): tract's version, the operators and kernels
/// that run the networks, and the first 12 hex digits of each network file's sha256, e.g.
/// `tract-0.23.9/livegate/avx2/mesh:24813aa929c0/det:9622e4c58b2d`.
pub fn fingerprint(detector: &FaceDetector, mesh: &LandmarkModel) -> String {
    let ops = match (detector.operators(), mesh.operators()) {
        (a, b) if a == b => a.describe(),
        (a, b) => format!("det:{}+mesh:{}", a.describe(), b.describe()),
    };
    let short = |sha: &str| sha.get(..12).unwrap_or(sha).to_owned();
    format!("tract-{TRACT_VERSION}/{ops}/mesh:{}/det:{}", short(mesh.sha256()), short(detector.sha256()))
}

/// Errors of the vision stage.
#[derive(Debug, thiserror::Error)]
pub enum VisionError {
    /// A network file could not be loaded or optimised.
    #[error("cannot load model {path}: {source:#}")]
    Model { path: PathBuf, source: anyhow::Error },
    /// A network failed on an input.
    #[error("inference failed in {path}: {source:#}")]
    Inference { path: PathBuf, source: anyhow::Error },
}

/// An axis-aligned rectangle in frame pixels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Rect {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
}

impl Rect {
    /// Whether the point lies inside the rectangle.
    pub fn contains(&self, p: [f32; 2]) -> bool {
        p[0] >= self.x && p[0] <= self.x + self.w && p[1] >= self.y && p[1] <= self.y + self.h
    }
}

/// One detector hit: score, box and keypoints in frame pixels. Keypoints are, in order, the
/// subject's right eye, left eye, nose tip, mouth centre, right ear tragion, left ear tragion.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FaceBox {
    pub score: f32,
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
    pub keypoints: [[f32; 2]; 6],
}

impl FaceBox {
    /// The box as a rectangle.
    pub fn rect(&self) -> Rect {
        Rect { x: self.x, y: self.y, w: self.w, h: self.h }
    }

    /// The box centre.
    pub fn centre(&self) -> [f32; 2] {
        [self.x + self.w / 2.0, self.y + self.h / 2.0]
    }
}

/// FaceMesh landmarks in frame pixels (z in the same units, negative toward the camera) and
/// the probability that a face is in the crop.
#[derive(Debug, Clone, PartialEq)]
pub struct Landmarks {
    pub points: Vec<[f32; 3]>,
    pub presence: f32,
}

/// Mesh index of the nose tip.
pub const NOSE_TIP: usize = 1;

impl Landmarks {
    /// Image position of landmark `i`.
    pub fn xy(&self, i: usize) -> [f32; 2] {
        [self.points[i][0], self.points[i][1]]
    }

    /// Image position of the nose tip (mesh #1).
    pub fn nose_tip(&self) -> [f32; 2] {
        self.xy(NOSE_TIP)
    }

    /// Bounding box of all points.
    pub fn bounds(&self) -> Rect {
        let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
        for p in &self.points {
            x0 = x0.min(p[0]);
            y0 = y0.min(p[1]);
            x1 = x1.max(p[0]);
            y1 = y1.max(p[1]);
        }
        Rect { x: x0, y: y0, w: x1 - x0, h: y1 - y0 }
    }
}
