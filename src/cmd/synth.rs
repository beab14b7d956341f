//! `livegate synth`: write a synthetic session directory (SPEC §6) — a scripted performer in
//! front of the synthetic camera — so any case can be saved, replayed with `verify` and
//! kept as a fixture. Targets here are drawn from the seed (reproducible fixtures), unlike
//! the service's, which come from the OS CSPRNG.

use std::path::Path;

use anyhow::Context;
use image::RgbImage;

use crate::camera::Camera;
use crate::camera::replay::SessionWriter;
use crate::camera::synthetic::{FaceModel, Script, SeededRng, SyntheticCamera};
use crate::liveness::geometry::{TARGET_DX, TARGET_DY};
use crate::liveness::{ChallengeGeometry, TargetDraw};
use crate::vision::{FaceDetector, LandmarkModel, Roi};

/// Builds the face model of a photo: the strongest face's float mesh.
///
/// # Errors
/// When the photo has no face or the networks fail.
pub fn face_model(
    photo: &RgbImage,
    detector: &FaceDetector,
    mesh: &LandmarkModel,
) -> anyhow::Result<FaceModel> {
    let det = detector.detect(photo)?.into_iter().next().context("no face in the source photo")?;
    let lm = mesh.landmarks(photo, &Roi::from_detection(&det))?;
    let lm = mesh.landmarks(photo, &Roi::from_landmarks(&lm))?;
    Ok(FaceModel::new(photo, &lm))
}

/// The synthetic camera's performers for the service: `photo`'s face and its mirror image
/// (the "other person" who may step in).
///
/// # Errors
/// An unreadable photo, or one without a face.
pub fn synthetic_faces(
    photo: &Path,
    scripts: Vec<Script>,
    detector: &FaceDetector,
    mesh: &LandmarkModel,
    hfov_deg: f32,
) -> anyhow::Result<crate::service::SyntheticFaces> {
    let image = super::inspect::read_rgb(photo)?;
    let face =
        face_model(&image, detector, mesh).with_context(|| format!("face photo {}", photo.display()))?;
    let other = face_model(&image::imageops::flip_horizontal(&image), detector, mesh)?;
    Ok(crate::service::SyntheticFaces { face, other, scripts, hfov_deg })
}

/// A challenge target drawn from a seeded generator.
pub fn seeded_target(rng: &mut SeededRng) -> TargetDraw {
    let pick = |rng: &mut SeededRng, r: &std::ops::RangeInclusive<u32>| {
        r.start() + (rng.next_u64() % u64::from(r.end() - r.start() + 1)) as u32
    };
    TargetDraw {
        right: rng.next_u64().is_multiple_of(2),
        below: rng.next_u64().is_multiple_of(2),
        dx: pick(rng, &TARGET_DX),
        dy: pick(rng, &TARGET_DY),
    }
}

/// Writes the performance as a session directory and returns the number of frames.
///
/// # Errors
/// When the directory or a frame cannot be written.
pub fn write_session(
    dir: &Path,
    camera: &mut SyntheticCamera,
    geometry: &ChallengeGeometry,
    script: Script,
) -> anyhow::Result<usize> {
    let mut writer =
        SessionWriter::create(dir, geometry).with_context(|| format!("cannot create {}", dir.display()))?;
    while let Some(mut frame) = camera.next_frame()? {
        writer.push(&mut frame)?;
    }
    writer.finish(Some(if script == Script::Live { "pass" } else { "fail" }.into()))
}
