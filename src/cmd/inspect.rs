//! `livegate inspect IMAGE…`: what the vision stage sees in still pictures, as JSON.
//!
//! For installers asking "why doesn't it see me?": every face with its detector score, box,
//! keypoints, nose tip, head pose and mesh presence. "No face" is an answer, not an error.

use std::path::{Path, PathBuf};

use image::RgbImage;
use serde::Serialize;

use super::{Exit, LOG_TARGET};
use crate::models::{self, Precision};
use crate::vision::pose::{Intrinsics, Pose, head_pose};
use crate::vision::{FaceDetector, LandmarkModel, Roi, VisionConfig, VisionError};

/// One face in the JSON report.
#[derive(Debug, Serialize)]
pub struct FaceReport {
    pub score: f32,
    /// `[x, y, w, h]` in pixels of the original image.
    #[serde(rename = "box")]
    pub bbox: [f32; 4],
    /// Right eye, left eye, nose tip, mouth centre, right ear, left ear (detector).
    pub keypoints: [[f32; 2]; 6],
    /// Nose tip (mesh #1).
    pub nose: [f32; 2],
    pub yaw: f32,
    pub pitch: f32,
    pub roll: f32,
    /// Mesh face-presence probability.
    pub presence: f32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub landmarks: Option<Vec<[f32; 3]>>,
}

/// One image in the JSON report: its faces, or why it could not be read.
#[derive(Debug, Serialize)]
pub struct ImageReport {
    pub image: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    pub faces: Vec<FaceReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Settings of one `inspect` run.
#[derive(Debug, Clone, Copy)]
pub struct InspectOptions {
    pub with_landmarks: bool,
    pub hfov_deg: f32,
    pub presence_min: f32,
}

/// Reads an image file as RGB.
///
/// # Errors
/// A message naming the file when it cannot be opened or is not a decodable image.
pub fn read_rgb(path: &Path) -> anyhow::Result<RgbImage> {
    let reader = image::ImageReader::open(path)
        .and_then(|r| r.with_guessed_format())
        .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))?;
    let img =
        reader.decode().map_err(|e| anyhow::anyhow!("{} is not a readable image: {e}", path.display()))?;
    Ok(img.to_rgb8())
}

/// Every face in `img`: detector, then one mesh pass on each detection's crop; a detection
/// counts as a face only when the mesh confirms it (presence ≥ `presence_min`), as in
/// MediaPipe's two-stage pipeline. A cat's face can reach the detector's 0.5; the mesh says
/// 0.01.
///
/// # Errors
/// [`VisionError::Inference`] if a network fails.
pub fn faces_in(
    img: &RgbImage,
    detector: &FaceDetector,
    mesh: &LandmarkModel,
    opts: InspectOptions,
) -> Result<Vec<FaceReport>, VisionError> {
    let cam = Intrinsics::from_hfov(img.width(), img.height(), opts.hfov_deg);
    let mut faces = Vec::new();
    for det in detector.detect(img)? {
        let lm = mesh.landmarks(img, &Roi::from_detection(&det))?;
        if lm.presence < opts.presence_min {
            continue;
        }
        let Pose { yaw, pitch, roll, .. } = head_pose(&lm, &cam);
        faces.push(FaceReport {
            score: det.score,
            bbox: [det.x, det.y, det.w, det.h],
            keypoints: det.keypoints,
            nose: lm.nose_tip(),
            yaw,
            pitch,
            roll,
            presence: lm.presence,
            landmarks: opts.with_landmarks.then(|| lm.points.clone()),
        });
    }
    Ok(faces)
}

/// Inspects each image; unreadable ones get an `error` entry instead of faces.
pub fn inspect(
    paths: &[PathBuf],
    detector: &FaceDetector,
    mesh: &LandmarkModel,
    opts: InspectOptions,
) -> Vec<ImageReport> {
    paths
        .iter()
        .map(|path| {
            let mut report = ImageReport {
                image: path.clone(),
                width: None,
                height: None,
                faces: Vec::new(),
                error: None,
            };
            match read_rgb(path) {
                Ok(img) => {
                    report.width = Some(img.width());
                    report.height = Some(img.height());
                    match faces_in(&img, detector, mesh, opts) {
                        Ok(faces) => report.faces = faces,
                        Err(e) => report.error = Some(e.to_string()),
                    }
                }
                Err(e) => report.error = Some(format!("{e:#}")),
            }
            report
        })
        .collect()
}

/// What `livegate inspect` is asked to do.
#[derive(Debug, Clone)]
pub struct InspectCommand {
    /// The model directory (`--models`; default: [`models::locate`]'s search).
    pub models: Option<PathBuf>,
    pub images: Vec<PathBuf>,
    /// Add all 468 mesh points to each face.
    pub landmarks: bool,
    /// Which mesh to run.
    pub precision: Precision,
}

/// Prints the reports of all images as one JSON array; [`Exit::Unusable`] when an image could
/// not be read (each such image is also logged).
///
/// # Errors
/// No models, or a network that does not load.
pub fn exec(cmd: InspectCommand) -> anyhow::Result<Exit> {
    let model_dir = models::locate(cmd.models.as_deref())?;
    let cfg = VisionConfig::default();
    let (detector, mesh) = models::load(&model_dir, cmd.precision, cfg.detector_min_score)?;
    let opts = InspectOptions {
        with_landmarks: cmd.landmarks,
        hfov_deg: cfg.hfov_deg,
        presence_min: cfg.presence_min,
    };
    let reports = inspect(&cmd.images, &detector, &mesh, opts);
    println!("{}", serde_json::to_string_pretty(&reports)?);
    for r in reports.iter().filter_map(|r| r.error.as_ref()) {
        tracing::warn!(target: LOG_TARGET, "{r}");
    }
    let unusable = reports.iter().any(|r| r.error.is_some());
    Ok(if unusable { Exit::Unusable } else { Exit::Success })
}
