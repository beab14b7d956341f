//! What several subcommands share: the `--kernels` value, the service's face tracker, the
//! synthetic camera's performers.

use std::path::Path;

use crate::camera::synthetic::Script;
use crate::models::{self, Precision};
use crate::service::SyntheticFaces;
use crate::vision::{FaceTracker, Kernels, VisionConfig};

/// Parses a `--kernels` / `$LIVEGATE_KERNELS` value (`portable`, `avx2`, `vnni`, `neon`,
/// `neon-dot`).
///
/// # Errors
/// The message for an unknown kernel path.
pub fn parse_kernels(name: &str) -> Result<Kernels, String> {
    Kernels::from_name(name).map_err(|e| e.to_string())
}

/// The service's face tracker: the int8 networks from `model_dir`, with `vision`'s settings.
///
/// # Errors
/// A network that does not load (naming its file).
pub fn face_tracker(model_dir: &Path, vision: VisionConfig) -> anyhow::Result<FaceTracker> {
    let (detector, mesh) = models::load(model_dir, Precision::Int8, vision.detector_min_score)?;
    Ok(FaceTracker::new(detector, mesh, vision))
}

/// The synthetic camera's performers (`run` with `[camera] source = "synthetic"`, `demo`): a
/// face photo and its mirror image, modelled with the float networks from `model_dir`.
///
/// # Errors
/// A network that does not load, an unreadable photo, or one without a face.
pub fn synthetic_faces(
    photo: &Path,
    scripts: Vec<Script>,
    model_dir: &Path,
    vision: &VisionConfig,
) -> anyhow::Result<SyntheticFaces> {
    let (detector, mesh) = models::load(model_dir, Precision::Float, vision.detector_min_score)?;
    super::synth::synthetic_faces(photo, scripts, &detector, &mesh, vision.hfov_deg)
}
