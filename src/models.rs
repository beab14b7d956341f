//! The shipped networks: file names, where to find them, loading the set.
//!
//! Search order for the model directory: an explicit `--models DIR`, `$LIVEGATE_MODELS`,
//! `models/` in the working directory (a source checkout), `../share/livegate/models` next to
//! the executable, then `/usr/share/livegate/models` (the .deb).

use std::path::{Path, PathBuf};

use crate::vision::{FaceDetector, Kernels, LandmarkModel, Operators, VisionError};

/// BlazeFace short-range, float (the detector stays float; see models/README.md).
pub const DETECTOR: &str = "face_detection_short_range_fp32.onnx";
/// FaceMesh, int8 (QOperator, Conv-only, per-tensor, depthwise float): what the service runs.
pub const MESH_INT8: &str = "face_landmark_int8.onnx";
/// FaceMesh, float: kept for comparison and benchmarks.
pub const MESH_FP32: &str = "face_landmark_fp32.onnx";

/// Which FaceMesh to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// The quantized mesh (default in service).
    Int8,
    /// The float mesh (reference).
    Float,
}

/// Finds the model directory (see the module docs for the order).
///
/// # Errors
/// When no candidate directory holds the detector file; the message lists where it looked.
pub fn locate(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(dir) = explicit {
        candidates.push(dir.to_owned());
    } else {
        if let Some(dir) = std::env::var_os("LIVEGATE_MODELS") {
            candidates.push(dir.into());
        }
        candidates.push("models".into());
        if let Some(bin) = std::env::current_exe().ok().and_then(|e| e.parent().map(Path::to_owned)) {
            candidates.push(bin.join("../share/livegate/models"));
        }
        candidates.push("/usr/share/livegate/models".into());
    }
    candidates.iter().find(|d| d.join(DETECTOR).is_file()).cloned().ok_or_else(|| {
        let looked: Vec<String> = candidates.iter().map(|d| d.display().to_string()).collect();
        anyhow::anyhow!("no model directory with {DETECTOR} found (looked in: {})", looked.join(", "))
    })
}

/// Loads the detector and the mesh of the given precision from `dir`, `Int8` on the
/// [`selected_kernels`](crate::vision::selected_kernels) ([`load_with`]).
///
/// # Errors
/// [`VisionError::Model`] naming the file that failed.
pub fn load(
    dir: &Path,
    precision: Precision,
    min_score: f32,
) -> Result<(FaceDetector, LandmarkModel), VisionError> {
    load_with(dir, precision, min_score, crate::vision::selected_kernels())
}

/// Loads the detector and the mesh of the given precision from `dir`.
///
/// `Int8` is the set the service runs: both networks in tract with livegate's fused operators
/// (`vision::ops`) on `kernels`; a graph they cannot run is an error, never run another way.
/// `Float` is the reference set, run with tract's own operators: it builds the synthetic faces
/// of `demo`, `record`, `synth` and `evaluate`, so that test sessions do not change when the
/// operators under test do.
///
/// # Errors
/// [`VisionError::Model`] naming the file that failed.
pub fn load_with(
    dir: &Path,
    precision: Precision,
    min_score: f32,
    kernels: Kernels,
) -> Result<(FaceDetector, LandmarkModel), VisionError> {
    let (mesh, operators) = match precision {
        Precision::Int8 => (MESH_INT8, Operators::Livegate(kernels)),
        Precision::Float => (MESH_FP32, Operators::Tract),
    };
    Ok((
        FaceDetector::load_with(&dir.join(DETECTOR), min_score, operators)?,
        LandmarkModel::load_with(&dir.join(mesh), operators)?,
    ))
}
