//! BlazeFace short-range: finds faces and six keypoints in a whole frame.
//!
//! Pre- and post-processing follow MediaPipe's face_detection_short_range graph (constants
//! in `shared/research/models.md` §6): letterbox to 128×128 in [-1, 1], 896 SSD anchors,
//! box and keypoint decoding relative to the anchor centre, sigmoid scores, weighted NMS.

use std::path::Path;
use std::sync::OnceLock;

use image::RgbImage;

use super::onnx::{Network, Operators};
use super::warp::{Affine, InputBuffer, sample_nhwc};
use super::{FaceBox, VisionError};

/// Side of the detector's square input.
pub const INPUT: usize = 128;
/// Number of SSD anchors of the short-range model.
pub const ANCHORS: usize = 896;
/// IoU above which detections are merged into the stronger one.
const NMS_IOU: f32 = 0.3;

/// The face detector network.
#[derive(Debug, Clone)]
pub struct FaceDetector {
    net: Network,
    /// Minimum score (sigmoid of the logit) for a detection to count.
    pub min_score: f32,
}

/// How a frame was fitted into the detector's square input: `input = frame·scale + offset`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Letterbox {
    pub scale: f32,
    pub offset_x: f32,
    pub offset_y: f32,
}

impl Letterbox {
    /// Fits a `width × height` frame into the square input, keeping its aspect ratio.
    pub fn fit(width: u32, height: u32) -> Self {
        let scale = INPUT as f32 / width.max(height) as f32;
        let rw = (width as f32 * scale).round();
        let rh = (height as f32 * scale).round();
        Self {
            scale,
            offset_x: ((INPUT as f32 - rw) / 2.0).floor(),
            offset_y: ((INPUT as f32 - rh) / 2.0).floor(),
        }
    }

    /// Maps input pixels back to frame pixels.
    fn to_frame_map(self) -> Affine {
        let s = 1.0 / self.scale;
        Affine { a: s, b: 0.0, c: 0.0, d: s, tx: -self.offset_x * s, ty: -self.offset_y * s }
    }

    /// Maps a point normalised to the input (0..1) back to frame pixels.
    fn to_frame(self, u: f32, v: f32) -> [f32; 2] {
        let (x, y) = self.to_frame_map().apply(u * INPUT as f32, v * INPUT as f32);
        [x, y]
    }
}

/// The detector's input tensor for `img` (NHWC, values in [-1, 1]).
pub fn letterbox_input(img: &RgbImage, lb: Letterbox) -> Vec<f32> {
    sample_nhwc(img, &lb.to_frame_map(), INPUT, INPUT, |c| c / 127.5 - 1.0)
}

/// [`letterbox_input`] into a buffer kept across frames.
pub fn letterbox_into<'a>(img: &RgbImage, lb: Letterbox, buf: &'a mut InputBuffer) -> &'a [f32] {
    buf.fill(img, &lb.to_frame_map(), (INPUT, INPUT), |c| c / 127.5 - 1.0)
}

/// Anchor centres (normalised to the input), in the order of the model's outputs: the 16×16
/// grid with 2 anchors per cell, then the 8×8 grid with 6 anchors per cell.
pub fn anchors() -> &'static [[f32; 2]] {
    static ANCHOR_CENTRES: OnceLock<Vec<[f32; 2]>> = OnceLock::new();
    ANCHOR_CENTRES.get_or_init(|| {
        let mut out = Vec::with_capacity(ANCHORS);
        for (grid, per_cell) in [(16usize, 2usize), (8, 6)] {
            for y in 0..grid {
                for x in 0..grid {
                    let centre = [(x as f32 + 0.5) / grid as f32, (y as f32 + 0.5) / grid as f32];
                    out.extend(std::iter::repeat_n(centre, per_cell));
                }
            }
        }
        out
    })
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x.clamp(-100.0, 100.0)).exp())
}

/// Decodes raw outputs into frame-pixel detections at or above `min_score` (before NMS).
pub fn decode(regressors: &[f32], logits: &[f32], lb: Letterbox, min_score: f32) -> Vec<FaceBox> {
    let s = INPUT as f32;
    anchors()
        .iter()
        .enumerate()
        .filter_map(|(i, a)| {
            let score = sigmoid(logits[i]);
            if score < min_score {
                return None;
            }
            let r = &regressors[i * 16..(i + 1) * 16];
            let (cx, cy, w, h) = (r[0] / s + a[0], r[1] / s + a[1], r[2] / s, r[3] / s);
            let [x0, y0] = lb.to_frame(cx - w / 2.0, cy - h / 2.0);
            let [x1, y1] = lb.to_frame(cx + w / 2.0, cy + h / 2.0);
            let keypoints =
                std::array::from_fn(|k| lb.to_frame(r[4 + 2 * k] / s + a[0], r[5 + 2 * k] / s + a[1]));
            Some(FaceBox { score, x: x0, y: y0, w: x1 - x0, h: y1 - y0, keypoints })
        })
        .collect()
}

/// Intersection over union of two boxes.
pub fn iou(a: &FaceBox, b: &FaceBox) -> f32 {
    let ix = (a.x + a.w).min(b.x + b.w) - a.x.max(b.x);
    let iy = (a.y + a.h).min(b.y + b.h) - a.y.max(b.y);
    if ix <= 0.0 || iy <= 0.0 {
        return 0.0;
    }
    let inter = ix * iy;
    inter / (a.w * a.h + b.w * b.h - inter)
}

/// MediaPipe's weighted non-maximum suppression: the strongest box absorbs every box that
/// overlaps it by more than [`NMS_IOU`]; geometry is the score-weighted mean of the cluster
/// and the score stays the strongest one's.
pub fn weighted_nms(mut boxes: Vec<FaceBox>) -> Vec<FaceBox> {
    boxes.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut out = Vec::new();
    while !boxes.is_empty() {
        let top = boxes[0].clone();
        let (cluster, rest): (Vec<_>, Vec<_>) =
            boxes.into_iter().partition(|b| iou(&top, b) > NMS_IOU || *b == top);
        boxes = rest;
        let total: f32 = cluster.iter().map(|b| b.score).sum();
        let mean = |f: &dyn Fn(&FaceBox) -> f32| cluster.iter().map(|b| f(b) * b.score).sum::<f32>() / total;
        out.push(FaceBox {
            score: top.score,
            x: mean(&|b| b.x),
            y: mean(&|b| b.y),
            w: mean(&|b| b.w),
            h: mean(&|b| b.h),
            keypoints: std::array::from_fn(|k| [mean(&|b| b.keypoints[k][0]), mean(&|b| b.keypoints[k][1])]),
        });
    }
    out
}

impl FaceDetector {
    /// Loads the detector from an ONNX file; `min_score` is the detection threshold (0.5 is
    /// MediaPipe's for this model).
    ///
    /// # Errors
    /// [`VisionError::Model`] if the file cannot be loaded.
    pub fn load(path: &Path, min_score: f32) -> Result<Self, VisionError> {
        // livegate's fused operators (within 1e-4 relative of tract's own). The liveness
        // thresholds were calibrated with them (docs/evaluation.md).
        Self::load_with(path, min_score, Operators::detect())
    }

    /// [`Self::load`] with the operators chosen: tract's own for reference runs and comparisons.
    ///
    /// # Errors
    /// [`VisionError::Model`] if the file cannot be loaded.
    pub fn load_with(path: &Path, min_score: f32, operators: Operators) -> Result<Self, VisionError> {
        Ok(Self { net: Network::load_with(path, [1, INPUT, INPUT, 3], operators)?, min_score })
    }

    /// The operators tract runs this network with.
    pub fn operators(&self) -> Operators {
        self.net.operators()
    }

    /// The sha256 of the network's file, in hex.
    pub fn sha256(&self) -> &str {
        self.net.sha256()
    }

    /// Runs the network on a prepared input and returns the raw (regressors, logits).
    ///
    /// # Errors
    /// [`VisionError::Inference`] if tract fails or the outputs have unexpected sizes.
    pub fn infer(&self, input: &[f32]) -> Result<(Vec<f32>, Vec<f32>), VisionError> {
        let mut outs = self.net.run(input)?;
        outs.sort_by_key(|o| o.len());
        match <[Vec<f32>; 2]>::try_from(outs) {
            Ok([logits, regressors]) if logits.len() == ANCHORS && regressors.len() == ANCHORS * 16 => {
                Ok((regressors, logits))
            }
            _ => Err(VisionError::Inference {
                path: self.net.path().to_owned(),
                source: anyhow::anyhow!("unexpected detector outputs (want [896,16] and [896,1])"),
            }),
        }
    }

    /// Where the network was loaded from.
    pub fn path(&self) -> &Path {
        self.net.path()
    }

    /// Every face in `img`, strongest first.
    ///
    /// # Errors
    /// [`VisionError::Inference`] if the network fails.
    pub fn detect(&self, img: &RgbImage) -> Result<Vec<FaceBox>, VisionError> {
        self.detect_with(img, &mut InputBuffer::default())
    }

    /// [`Self::detect`] with the letterbox made in `buf`, kept across frames by the caller.
    ///
    /// # Errors
    /// [`VisionError::Inference`] if the network fails.
    pub fn detect_with(&self, img: &RgbImage, buf: &mut InputBuffer) -> Result<Vec<FaceBox>, VisionError> {
        let lb = Letterbox::fit(img.width(), img.height());
        let (regressors, logits) = self.infer(letterbox_into(img, lb, buf))?;
        Ok(weighted_nms(decode(&regressors, &logits, lb, self.min_score)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face(score: f32, x: f32, y: f32, side: f32) -> FaceBox {
        FaceBox { score, x, y, w: side, h: side, keypoints: [[x, y]; 6] }
    }

    #[test]
    fn anchors_cover_both_grids_in_model_order() {
        let a = anchors();
        assert_eq!(a.len(), ANCHORS);
        assert_eq!(a[0], [0.5 / 16.0, 0.5 / 16.0]);
        assert_eq!(a[1], a[0]);
        assert_eq!(a[2], [1.5 / 16.0, 0.5 / 16.0]);
        assert_eq!(a[512], [0.5 / 8.0, 0.5 / 8.0]);
        assert_eq!(a[517], a[512]);
        assert_eq!(a[895], [7.5 / 8.0, 7.5 / 8.0]);
    }

    #[test]
    fn letterbox_centres_a_landscape_frame() {
        let lb = Letterbox::fit(640, 480);
        assert_eq!(lb.scale, 0.2);
        assert_eq!((lb.offset_x, lb.offset_y), (0.0, 16.0));
        assert_eq!(lb.to_frame(0.5, 0.5), [320.0, 240.0]);
    }

    #[test]
    fn decoding_places_a_box_at_its_anchor() {
        let lb = Letterbox::fit(128, 128);
        let mut regressors = vec![0.0; ANCHORS * 16];
        let mut logits = vec![-10.0; ANCHORS];
        logits[512] = 3.0; // first 8×8 anchor, centre (8, 8) input px
        regressors[512 * 16 + 2] = 20.0;
        regressors[512 * 16 + 3] = 30.0;
        regressors[512 * 16 + 4] = 4.0; // right eye 4 px right of the anchor
        let found = decode(&regressors, &logits, lb, 0.5);
        assert_eq!(found.len(), 1);
        let f = &found[0];
        assert!((f.score - sigmoid(3.0)).abs() < 1e-6);
        assert_eq!([f.x, f.y, f.w, f.h], [-2.0, -7.0, 20.0, 30.0]);
        assert_eq!(f.keypoints[0], [12.0, 8.0]);
    }

    #[test]
    fn nms_merges_overlapping_boxes_by_score_weight() {
        let merged = weighted_nms(vec![face(0.6, 10.0, 0.0, 100.0), face(0.9, 0.0, 0.0, 100.0)]);
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0].score, 0.9);
        assert!((merged[0].x - 4.0).abs() < 1e-4);
    }

    #[test]
    fn nms_keeps_separate_faces_apart() {
        let kept = weighted_nms(vec![face(0.8, 0.0, 0.0, 50.0), face(0.7, 200.0, 0.0, 50.0)]);
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[0].score, 0.8);
    }
}
