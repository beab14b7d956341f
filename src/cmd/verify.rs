//! `livegate verify SESSION_DIR`: replay a recorded session (SPEC §6) through the same vision
//! and challenge code as the live service, with the recorded challenge and timestamps.
//! Exit codes: 0 pass, 1 any other result, 2 unusable input.
//!
//! "Why was I refused?": `--trace FILE` writes what the runner saw and decided on every frame
//! (one JSON line per frame, [`FrameTrace`]), `--overlay DIR` every frame with it drawn on.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::Context;

use super::common::face_tracker;
use super::settings::Settings;
use super::{Exit, LOG_TARGET};
use crate::camera::CameraError;
use crate::camera::Frame;
use crate::camera::replay::ReplayCamera;
use crate::cmd::overlay::OverlayWriter;

use crate::entropy::challenge_id;
use crate::liveness::session::{Decision, LivenessConfig, Session};
use crate::models;
use crate::pipeline::{BadFrames, ChallengeRunner, Ending, Event, FrameTrace, Watcher};
use crate::verdict::{Answering, Ended, Issuer, SigningConfig, Source, Verdict, VerdictResult};
use crate::vision::FaceTracker;

/// Why a session could not be verified.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The input is unusable (exit 2): missing file, bad JSON, a frame that is not an image.
    #[error("unusable session: {0}")]
    Unusable(#[from] CameraError),
    /// Something else failed (exit 1).
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

/// What `verify` writes besides the verdict.
#[derive(Debug, Clone, Default)]
pub struct Outputs {
    /// One JSON line per frame ([`FrameTrace`]).
    pub trace: Option<PathBuf>,
    /// One PNG per frame (`0000.png` …) with the trace drawn on it.
    pub overlay: Option<PathBuf>,
}

/// Replays the session in `dir` and returns its decision (no verdict envelope).
///
/// # Errors
/// [`VerifyError::Unusable`] for bad input.
pub fn replay(dir: &Path, tracker: FaceTracker, config: LivenessConfig) -> Result<Decision, VerifyError> {
    replay_with(dir, tracker, config, &Outputs::default())
}

/// [`replay`], writing the trace and the overlay frames `outputs` asks for. The trace file
/// and the overlay directory are created only once the session has opened.
///
/// # Errors
/// [`VerifyError::Unusable`] for bad input, [`VerifyError::Failed`] when an output cannot be
/// written.
pub fn replay_with(
    dir: &Path,
    tracker: FaceTracker,
    config: LivenessConfig,
    outputs: &Outputs,
) -> Result<Decision, VerifyError> {
    let mut camera = ReplayCamera::open(dir)?;
    let geometry = camera.session().geometry();
    let mut trace = match &outputs.trace {
        Some(p) => Some(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => None,
    };
    let mut overlay = match &outputs.overlay {
        Some(d) => Some(OverlayWriter::create(d, geometry, config.nose_area_growth)?),
        None => None,
    };
    let mut runner = ChallengeRunner::new(tracker, Session::new(config, geometry));
    let mut watch = Writers { trace: trace.as_mut(), overlay: overlay.as_mut() };
    let decision = match runner.run(&mut camera, &mut watch)? {
        Ending::Decided(d) => d,
        Ending::CameraFailed { error, .. } => return Err(VerifyError::Unusable(error)),
        Ending::Cancelled { .. } => unreachable!("a replay is never cancelled"),
    };
    if let Some(mut w) = trace {
        w.flush().context("cannot write the trace")?;
    }
    Ok(decision)
}

/// `verify`'s side of the challenge loop: a recorded session must be whole, and each frame's
/// trace and overlay are written as it is analysed.
struct Writers<'a> {
    trace: Option<&'a mut std::io::BufWriter<std::fs::File>>,
    overlay: Option<&'a mut OverlayWriter>,
}

impl Watcher for Writers<'_> {
    fn bad_frames(&self) -> BadFrames {
        BadFrames::Refuse
    }

    fn seen(&mut self, frame: Frame, _event: Event<'_>, runner: &ChallengeRunner) -> anyhow::Result<()> {
        let t: &FrameTrace = runner.trace();
        if let Some(w) = &mut self.trace {
            serde_json::to_writer(&mut **w, t)?;
            w.write_all(b"\n")?;
        }
        if let Some(o) = &mut self.overlay {
            o.push(&frame.image, t)?;
        }
        Ok(())
    }
}

/// The verdict of a replayed or recorded challenge: [`Verdict::issue`], as the service issues
/// it (unsigned: no key is involved), expiring after the default `[signing] verdict_ttl_s`.
///
/// # Errors
/// When the OS random source cannot be read.
pub fn to_verdict(
    d: Decision,
    first_t_ms: u64,
    (device_id, source): (&str, Source),
    engine: String,
) -> anyhow::Result<Verdict> {
    let decided = SystemTime::now();
    let started = decided - Duration::from_millis(d.decided_t_ms.saturating_sub(first_t_ms));
    let issuer = Issuer {
        device_id: device_id.to_owned(),
        source,
        engine,
        ttl: Duration::from_secs(SigningConfig::default().verdict_ttl_s),
    };
    let answering = Answering { challenge_id: challenge_id()?, ..Answering::default() };
    Ok(Verdict::issue(&issuer, answering, Ended::from(&d), (started, decided)))
}

/// Replays `dir` and returns the verdict, writing what `outputs` asks for.
///
/// # Errors
/// See [`VerifyError`].
pub fn verify(
    dir: &Path,
    tracker: FaceTracker,
    config: LivenessConfig,
    outputs: &Outputs,
) -> Result<Verdict, VerifyError> {
    let first_t = ReplayCamera::open(dir)?.session().frames[0].t_ms;
    let engine = tracker.engine();
    let decision = replay_with(dir, tracker, config, outputs)?;
    Ok(to_verdict(decision, first_t, ("replay", Source::Replay), engine)?)
}

/// What `livegate verify` is asked to do.
#[derive(Debug, Clone)]
pub struct VerifyCommand {
    /// The model directory (`--models`; default: [`models::locate`]'s search).
    pub models: Option<PathBuf>,
    /// The session directory.
    pub dir: PathBuf,
    /// The config file whose `[liveness]` and `[vision]` to use (default: the defaults).
    pub config: Option<PathBuf>,
    /// What to write besides the verdict.
    pub outputs: Outputs,
    /// Print this process's peak resident set on stderr at the end.
    pub peak_rss: bool,
}

/// Replays the session with the int8 networks and prints the verdict as JSON:
/// [`Exit::Success`] when it passed, [`Exit::Failure`] for any other result,
/// [`Exit::Unusable`] when the session cannot be read (logged).
///
/// # Errors
/// No models, a config that does not load, or [`VerifyError::Failed`].
pub fn exec(cmd: VerifyCommand) -> anyhow::Result<Exit> {
    let model_dir = models::locate(cmd.models.as_deref())?;
    let settings = Settings::load(cmd.config.as_deref())?;
    let tracker = face_tracker(&model_dir, settings.vision)?;
    let result = verify(&cmd.dir, tracker, settings.liveness, &cmd.outputs);
    if cmd.peak_rss {
        // Its own VmHWM: a parent's RUSAGE_CHILDREN would count the forking parent too.
        // Not a log event: a line of output, on stderr so stdout stays the verdict
        // (tools/bench_peers.py reads it).
        let line = match super::procstat::peak_rss_mib() {
            Some(mib) => format!("peak_rss_mib {mib:.2}"),
            None => "peak_rss_mib unavailable".to_owned(),
        };
        let _ = writeln!(std::io::stderr().lock(), "{line}");
    }
    match result {
        Ok(verdict) => {
            println!("{}", serde_json::to_string_pretty(&verdict)?);
            Ok(Exit::success_if(verdict.result == VerdictResult::Pass))
        }
        Err(e @ VerifyError::Unusable(_)) => {
            tracing::error!(target: LOG_TARGET, "{e}");
            Ok(Exit::Unusable)
        }
        Err(e) => Err(e.into()),
    }
}
