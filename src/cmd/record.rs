//! `livegate record -o DIR`: run one challenge on the camera and write what the camera
//! delivered as a session directory (SPEC §6), with the challenge that was shown and the
//! verdict it got as `expected`. Frames reach the disk only through this explicit command.
//!
//! Camera sources: `synthetic` (a scripted performer), `replay` (re-record a session).
//! The V4L2 source plugs into the same `Camera` seam.

use std::path::Path;

use anyhow::Context;

use crate::camera::Camera;
use crate::camera::replay::{ReplayCamera, SessionWriter};
use crate::camera::synthetic::{Conditions, FaceModel, Script, SyntheticCamera};
use crate::cmd::verify::to_verdict;
use crate::entropy;
use crate::liveness::ChallengeGeometry;
use crate::liveness::session::{LivenessConfig, Session};
use crate::liveness::verdict::{Source, Verdict};
use crate::pipeline::ChallengeRunner;
use crate::vision::{FaceTracker, VisionConfig};

/// Where `record` takes frames from.
#[derive(Debug)]
pub enum RecordSource {
    /// A scripted performer in front of the synthetic camera.
    Synthetic { face: Box<FaceModel>, other: Box<FaceModel>, script: Script, seed: u64 },
    /// A recorded session, played again (its challenge is kept).
    Replay(std::path::PathBuf),
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
    let mut writer =
        SessionWriter::create(out, &geometry).with_context(|| format!("cannot create {}", out.display()))?;
    let mut first_t = None;
    let mut runner = ChallengeRunner::new(tracker, Session::new(config, geometry));
    let decision = runner.run(camera.as_mut(), |frame| {
        first_t.get_or_insert(frame.t_ms);
        writer.push(frame)
    })?;
    let verdict = to_verdict(decision, first_t.unwrap_or(0), "record", kind)?;
    let expected = serde_json::to_value(verdict.result)?.as_str().map(str::to_owned);
    writer.finish(expected)?;
    Ok(verdict)
}
