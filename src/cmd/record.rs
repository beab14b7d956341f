//! `livegate record -o DIR`: run one challenge on the camera and write what the camera
//! delivered as a session directory (SPEC §6), with the challenge that was shown and the
//! verdict it got as `expected`. Frames reach the disk only through this explicit command.
//!
//! Camera sources: `v4l2` (the door's camera, opened as the service opens it: the camera
//! thread hands over the newest frame whenever the analysis is ready, so the session holds
//! exactly the frames the service would have judged), `synthetic` (a scripted performer),
//! `replay` (re-record a session). The output directory is created only once the camera has
//! delivered a frame, and removed again if the challenge cannot be run to its end, so a
//! missing camera never leaves half a session behind.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;

use super::common::face_tracker;
use super::inspect::read_rgb;
use super::settings::Settings;
use super::synth::face_model;
use super::{Exit, LOG_TARGET};
use crate::camera::CameraSource;
use crate::camera::replay::{ReplayCamera, SessionWriter};
use crate::camera::synthetic::{Conditions, FaceModel, Script, SyntheticCamera};
use crate::camera::{Camera, CameraError, CaptureThread, Frame, V4l2Camera, V4l2Options};
use crate::cmd::verify::to_verdict;
use crate::entropy;
use crate::liveness::ChallengeGeometry;
use crate::liveness::session::{LivenessConfig, Session};
use crate::models::{self, Precision};
use crate::pipeline::{ChallengeRunner, Ending, Watcher};
use crate::verdict::{Source, Verdict, VerdictResult};
use crate::vision::{FaceTracker, VisionConfig};

/// Where `record` takes frames from.
#[derive(Debug)]
pub enum RecordSource {
    /// The V4L2 camera (`device` set: the config's `camera.device`).
    V4l2(V4l2Options),
    /// A scripted performer in front of the synthetic camera.
    Synthetic { face: Box<FaceModel>, other: Box<FaceModel>, script: Script, seed: u64 },
    /// A recorded session, played again (its challenge is kept).
    Replay(PathBuf),
}

/// How long the camera may take to deliver its first frame (a UVC camera starts streaming
/// within a second; auto-exposure settles later, during the Face state).
const FIRST_FRAME_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a running challenge waits for the next frame before the recording fails (the
/// service's limit).
const FRAME_TIMEOUT: Duration = Duration::from_secs(5);

/// The camera thread's frames as a [`Camera`], from the first frame on.
struct LiveCamera {
    capture: CaptureThread,
    first: Option<Frame>,
}

impl Camera for LiveCamera {
    fn next_frame(&mut self) -> Result<Option<Frame>, CameraError> {
        if let Some(f) = self.first.take() {
            return Ok(Some(f));
        }
        self.capture.next_frame(FRAME_TIMEOUT).map(Some).ok_or_else(|| {
            CameraError::Stalled(format!(
                "no frame for {} s: {}",
                FRAME_TIMEOUT.as_secs(),
                self.capture.status()
            ))
        })
    }

    fn light(&mut self, _plan: &crate::liveness::light::LightPlan) -> crate::camera::Lit {
        crate::camera::Lit::Screen
    }
}

/// Starts the V4L2 camera thread and waits for its first frame. Unlike the service, which
/// waits for a camera to appear, a recording fails at once when the device cannot be opened.
///
/// # Errors
/// Naming the device: it cannot be opened, or it delivered no frame in time.
fn open_v4l2(opts: V4l2Options) -> anyhow::Result<LiveCamera> {
    let device = opts.device.as_ref().map_or("the first V4L2 camera".into(), |d| d.display().to_string());
    let capture = CaptureThread::v4l2(V4l2Camera::new(opts)?).context("camera thread")?;
    let started = Instant::now();
    while started.elapsed() < FIRST_FRAME_TIMEOUT {
        if let Some(first) = capture.next_frame(Duration::from_millis(100)) {
            return Ok(LiveCamera { capture, first: Some(first) });
        }
        let status = capture.status();
        if status.is_error() {
            anyhow::bail!("cannot record from {device}: {status}");
        }
    }
    anyhow::bail!(
        "cannot record from {device}: no frame within {} s ({})",
        FIRST_FRAME_TIMEOUT.as_secs(),
        capture.status()
    )
}

/// Runs one challenge on `source`, writes the session to `out`, returns the verdict.
///
/// # Errors
/// When the camera, the networks or the disk fail.
pub fn record(
    out: &Path,
    source: RecordSource,
    tracker: FaceTracker,
    config: LivenessConfig,
    vision: &VisionConfig,
) -> anyhow::Result<Verdict> {
    let (mut camera, geometry, kind): (Box<dyn Camera>, ChallengeGeometry, Source) = match source {
        RecordSource::V4l2(opts) => {
            let cam = open_v4l2(opts)?;
            let first = cam.first.as_ref().map_or((640, 480), |f| f.image.dimensions());
            // The service's way: the frame size the camera delivers, the target from the OS CSPRNG.
            let geometry = ChallengeGeometry::new(first.0, first.1, entropy::target_draw()?);
            (Box::new(cam), geometry, Source::V4l2)
        }
        RecordSource::Synthetic { face, other, script, seed } => {
            // The service's way: the target comes from the OS CSPRNG.
            let geometry = ChallengeGeometry::new(640, 480, entropy::target_draw()?);
            let conditions = Conditions { hfov_deg: vision.hfov_deg, ..Conditions::baseline() };
            let cam = SyntheticCamera::new(*face, *other, script, &geometry, &conditions, seed);
            (Box::new(cam), geometry, Source::Synthetic)
        }
        RecordSource::Replay(dir) => {
            let cam = ReplayCamera::open(&dir)?;
            let geometry = cam.session().geometry();
            (Box::new(cam), geometry, Source::Replay)
        }
    };
    let created = !out.exists();
    let result = run_and_write(out, camera.as_mut(), geometry, (tracker, config), kind);
    if result.is_err() && created {
        // No half session: what this run created goes again.
        let _ = std::fs::remove_dir_all(out);
    }
    result
}

/// Runs the challenge and writes the session (frames as they come, then `session.json`).
fn run_and_write(
    out: &Path,
    camera: &mut dyn Camera,
    geometry: ChallengeGeometry,
    (tracker, config): (FaceTracker, LivenessConfig),
    kind: Source,
) -> anyhow::Result<Verdict> {
    let mut writer =
        SessionWriter::create(out, &geometry).with_context(|| format!("cannot create {}", out.display()))?;
    let mut first_t = None;
    let engine = tracker.engine();
    let mut runner = ChallengeRunner::new(tracker, Session::new(config, geometry));
    let mut watch = Recording { writer: &mut writer, first_t: &mut first_t };
    let decision = match runner.run(camera, &mut watch)? {
        Ending::Decided(d) => d,
        Ending::CameraFailed { error, .. } => return Err(error.into()),
        Ending::Cancelled { .. } => unreachable!("a recording is never cancelled"),
    };
    let verdict = to_verdict(decision, first_t.unwrap_or(0), ("record", kind), engine)?;
    let expected = serde_json::to_value(verdict.result)?.as_str().map(str::to_owned);
    writer.finish(expected)?;
    Ok(verdict)
}

/// `record`'s side of the challenge loop: every frame the camera delivers is written before it
/// is analysed.
struct Recording<'a> {
    writer: &'a mut SessionWriter,
    first_t: &'a mut Option<u64>,
}

impl Watcher for Recording<'_> {
    fn tap(&mut self, frame: &mut Frame) -> anyhow::Result<()> {
        self.first_t.get_or_insert(frame.t_ms);
        self.writer.push(frame)
    }
}

/// What `livegate record` is asked to do.
#[derive(Debug, Clone)]
pub struct RecordCommand {
    /// The model directory (`--models`; default: [`models::locate`]'s search).
    pub models: Option<PathBuf>,
    /// The session directory to write.
    pub out: PathBuf,
    /// The door's config file: its `[camera]` (without `replay`/`face`), `[liveness]` and
    /// `[vision]` (default: the defaults).
    pub config: Option<PathBuf>,
    /// Replay this session directory as the camera.
    pub replay: Option<PathBuf>,
    /// Synthetic camera: the performer's face photo.
    pub face: Option<PathBuf>,
    /// Synthetic camera: what the performer does (with `face`).
    pub script: Script,
    pub seed: u64,
}

/// Records one challenge from the camera `cmd` names (else the config's `[camera]`) and prints
/// its verdict as JSON: [`Exit::Success`] when it passed, else [`Exit::Failure`].
///
/// # Errors
/// No models, a config that does not load, or see [`record`].
pub fn exec(cmd: RecordCommand) -> anyhow::Result<Exit> {
    let model_dir = models::locate(cmd.models.as_deref())?;
    let settings = Settings::load(cmd.config.as_deref())?;
    let vision = settings.vision.clone();
    let camera = &settings.config.camera;
    let source = match (cmd.replay, cmd.face, camera.source) {
        (Some(dir), _, _) => RecordSource::Replay(dir),
        (None, Some(face), _) => synthetic_source(&face, cmd.script, cmd.seed, &model_dir, &vision)?,
        (None, None, CameraSource::V4l2) => {
            let mut opts = camera.v4l2.clone();
            opts.device = Some(camera.device.clone());
            RecordSource::V4l2(opts)
        }
        (None, None, CameraSource::Replay) => RecordSource::Replay(camera.path.clone()),
        (None, None, CameraSource::Synthetic) => {
            synthetic_source(&camera.face, camera.scripts[0], cmd.seed, &model_dir, &vision)?
        }
    };
    let tracker = face_tracker(&model_dir, vision.clone())?;
    let verdict = record(&cmd.out, source, tracker, settings.liveness, &vision)?;
    println!("{}", serde_json::to_string_pretty(&verdict)?);
    tracing::info!(target: LOG_TARGET, "recorded {} frames to {}", verdict.frames, cmd.out.display());
    Ok(Exit::success_if(verdict.result == VerdictResult::Pass))
}

/// The synthetic camera: a performer made from a face photo and its mirror image (the float
/// networks from `model_dir`).
fn synthetic_source(
    photo: &Path,
    script: Script,
    seed: u64,
    model_dir: &Path,
    vision: &VisionConfig,
) -> anyhow::Result<RecordSource> {
    let (detector, mesh) = models::load(model_dir, Precision::Float, vision.detector_min_score)?;
    let photo = read_rgb(photo)?;
    let other = image::imageops::flip_horizontal(&photo);
    Ok(RecordSource::Synthetic {
        face: Box::new(face_model(&photo, &detector, &mesh)?),
        other: Box::new(face_model(&other, &detector, &mesh)?),
        script,
        seed,
    })
}
