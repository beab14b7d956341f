//! `livegate synth`: write a synthetic session directory (SPEC §6) — a scripted performer in
//! front of the synthetic camera — so any case can be saved, replayed with `verify` and
//! kept as a fixture. Targets here are drawn from the seed (reproducible fixtures), unlike
//! the service's, which come from the OS CSPRNG.

use std::path::{Path, PathBuf};

use anyhow::Context;
use image::RgbImage;

use super::inspect::read_rgb;
use super::{Exit, LOG_TARGET};
use crate::camera::Camera;
use crate::camera::replay::SessionWriter;
use crate::camera::synthetic::{Conditions, FaceModel, Script, SeededRng, SyntheticCamera, Wall};
use crate::liveness::geometry::{TARGET_DX, TARGET_DY};
use crate::liveness::{ChallengeGeometry, TargetDraw};
use crate::models::{self, Precision};
use crate::vision::{FaceDetector, LandmarkModel, Roi, VisionConfig};

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
    let image = read_rgb(photo)?;
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
    png: bool,
) -> anyhow::Result<usize> {
    let writer =
        SessionWriter::create(dir, geometry).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut writer = if png { writer.lossless() } else { writer };
    while let Some(mut frame) = camera.next_frame()? {
        writer.push(&mut frame)?;
    }
    writer.finish(Some(if script == Script::Live { "pass" } else { "fail" }.into()))
}

/// What `livegate synth` is asked to do.
#[derive(Debug, Clone)]
pub struct SynthCommand {
    /// The model directory (`--models`; default: [`models::locate`]'s search).
    pub models: Option<PathBuf>,
    pub script: Script,
    /// The source face photo.
    pub face: PathBuf,
    /// A second photo, for the person stepping in (default: the mirrored face).
    pub other: Option<PathBuf>,
    pub seed: u64,
    /// Perform at the door `livegate evaluate` draws for `seed` instead of the baseline door.
    pub door: bool,
    /// The wall behind the performer, instead of the door's.
    pub wall: Option<Wall>,
    /// Frames as PNG: what the synthetic camera delivered, without a second compression.
    pub png: bool,
    /// The session directory to write.
    pub out: PathBuf,
}

/// Writes the scripted session (faces modelled with the float networks; the target drawn from
/// the seed).
///
/// # Errors
/// No models, a photo that cannot be read or has no face, or a session that cannot be
/// written.
pub fn exec(cmd: SynthCommand) -> anyhow::Result<Exit> {
    let model_dir = models::locate(cmd.models.as_deref())?;
    let cfg = VisionConfig::default();
    let (detector, mesh) = models::load(&model_dir, Precision::Float, cfg.detector_min_score)?;
    let photo = read_rgb(&cmd.face)?;
    let model = face_model(&photo, &detector, &mesh)?;
    let other_photo = match &cmd.other {
        Some(p) => read_rgb(p)?,
        None => image::imageops::flip_horizontal(&photo),
    };
    let other_model = face_model(&other_photo, &detector, &mesh)?;
    let mut rng = SeededRng::new(cmd.seed);
    let geometry = ChallengeGeometry::new(640, 480, seeded_target(&mut rng));
    let mut conditions = if cmd.door {
        super::evaluate::door(cmd.seed)
    } else {
        Conditions { hfov_deg: cfg.hfov_deg, ..Conditions::baseline() }
    };
    conditions.wall = cmd.wall.unwrap_or(conditions.wall);
    if cmd.door || cmd.wall.is_some() {
        tracing::info!(target: LOG_TARGET, "door: hfov_deg = {}, {:?}", conditions.hfov_deg, conditions.labels());
    }
    let mut camera =
        SyntheticCamera::new(model, other_model, cmd.script, &geometry, &conditions, rng.next_u64());
    let n = write_session(&cmd.out, &mut camera, &geometry, cmd.script, cmd.png)?;
    tracing::info!(target: LOG_TARGET, "wrote {n} frames to {}", cmd.out.display());
    Ok(Exit::Success)
}
