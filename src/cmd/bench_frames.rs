//! Whole-frame steady state for `livegate bench`: the service's own challenge loop
//! ([`ChallengeRunner::run`], the one every command drives) timed frame by frame over a recorded
//! challenge, performed again and again: one challenge after another, each from the recording's
//! first frame to its decision (the frames after it belong to no challenge).
//!
//! The model-only rows of [`super::bench`] say how fast the networks are; a visitor sees the
//! whole frame: JPEG decode (the camera's), then the runner's stages as its [`Probe`] reports
//! them: track-or-detect (crop + int8 mesh + pose; the detector when the face count is due, on
//! a lost track, and on the pivotal frames), the keypoint tracker (from the Nose state's first
//! frame to the decision: pyramids around the points, Lucas–Kanade, alignment through the face
//! plane), the checks (the head's rotation on the points, the 3-D motion, the session's step),
//! and the screen (the worker's challenge view, drawn at 800×480 over the previous frame's as the
//! screen thread does: `screen::Redraw` redraws what changed). Each stage's median is over the
//! frames it ran on; `total` and `vision` are means over all timed frames.
//! Times are process CPU time (see `cpu_ms`), not wall time: the bench machines are shared.
//! `crop` and `mesh_int8` are timed again on the tracked ROI after the frame's analysis, as
//! `track`'s breakdown, and are not part of the total. `track_detect_wall` is the one wall-clock
//! row: on a detector frame the detector runs on a second core beside the mesh, which CPU time
//! (summed over threads) cannot show; it is only meaningful with a second core free.

use std::cell::Cell;
use std::path::Path;
use std::rc::Rc;
use std::time::Instant;

use anyhow::Context;
use serde::Serialize;

use super::bench::Timing;
pub use super::procstat::{cpu_ms, ms_since_process_start, peak_rss_mib};
use crate::camera::replay::SessionFile;
use crate::camera::{Camera, CameraError, Frame};
use crate::liveness::ChallengeGeometry;
use crate::liveness::session::{LivenessConfig, Session};
use crate::pipeline::{BadFrames, ChallengeRunner, Ending, Event, Probe, Stage, Watcher};
use crate::screen::{Canvas, Language, Redraw, Status, View};
use crate::service::ui::ChallengeScreen;
use crate::vision::warp::InputBuffer;
use crate::vision::{FaceTracker, LandmarkModel, landmarks};

/// Screen size the composition is timed at (the terminal's 800×480 panel).
pub const SCREEN: (u32, u32) = (800, 480);

/// One recorded frame: its JPEG bytes and timestamp.
#[derive(Debug, Clone)]
pub struct RecordedFrame {
    pub jpeg: Vec<u8>,
    pub t_ms: u64,
}

/// The frames and challenge geometry of a session directory (SPEC §6).
///
/// # Errors
/// A missing or invalid `session.json` or frame file.
pub fn load_session(dir: &Path) -> anyhow::Result<(Vec<RecordedFrame>, ChallengeGeometry)> {
    let s = SessionFile::load(dir)?;
    let geometry = s.geometry();
    let frames = s
        .frames
        .iter()
        .map(|f| {
            let p = dir.join(&f.file);
            let jpeg = std::fs::read(&p).with_context(|| format!("cannot read {}", p.display()))?;
            Ok(RecordedFrame { jpeg, t_ms: f.t_ms })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok((frames, geometry))
}

/// One row of the whole-frame table.
#[derive(Debug, Clone, Serialize)]
pub struct FrameStage {
    pub name: &'static str,
    pub what: &'static str,
    /// Whether the row adds up into `total` (breakdown rows do not).
    pub in_total: bool,
    /// Frames this row was timed on.
    pub frames: usize,
    #[serde(flatten)]
    pub timing: Timing,
}

/// The whole-frame steady state.
#[derive(Debug, Clone, Serialize)]
pub struct PipelineReport {
    pub source: String,
    pub frames_timed: usize,
    /// Frames on which the detector ran (re-acquisition or face count).
    pub detector_frames: usize,
    /// Timed frames on which the keypoint tracker ran (the Nose state's).
    pub keypoint_frames: usize,
    /// Every frame, warm-up included, in order: `1` where the keypoint tracker ran, else `0`
    /// (`tools/bench_peers.py` has its peer track keypoints on the same frames).
    pub keypoint_schedule: String,
    /// The same for the detector: `1` where it ran (the face count, a lost track, a new
    /// challenge, a pivotal frame).
    pub detector_schedule: String,
    /// The frames of each challenge run, warm-up included, in order: each replays the
    /// recording from its first frame to its decision (the peers replay the same frames).
    pub challenge_frames: Vec<usize>,
    pub stages: Vec<FrameStage>,
    /// Mean per-frame vision time over all timed frames: track + keypoints (what the
    /// onnxruntime peer re-implements).
    pub vision_ms: f64,
    /// Mean per-frame total and the throughput it allows on one core (a mean, not a median:
    /// throughput is frames over time, and the detector frames are part of that time).
    pub total_ms: f64,
    pub fps: f64,
}

fn timing(mut ms: Vec<f64>) -> Timing {
    if ms.is_empty() {
        return Timing { median_ms: 0.0, p90_ms: 0.0 };
    }
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    Timing { median_ms: at(0.5), p90_ms: at(0.9) }
}

/// The recorded challenge as a camera, replayed from its first frame for every challenge (as
/// many visitors would perform it) until `total` frames have been served; each replay starts
/// 100 ms after the last frame of the one before. A challenge that outlasts the recording ends
/// with it. The decode time of the last frame is left in `decode_ms`.
struct Looped<'a> {
    frames: &'a [RecordedFrame],
    /// The next frame of the recording, the replays begun, and the frames served in all.
    next: usize,
    replay: u64,
    served: usize,
    total: usize,
    period: u64,
    decode_ms: Rc<Cell<f64>>,
}

impl Looped<'_> {
    /// Starts the recording again, for the next challenge.
    fn rewind(&mut self) {
        if self.served > 0 {
            self.replay += 1;
        }
        self.next = 0;
    }
}

impl Camera for Looped<'_> {
    fn next_frame(&mut self) -> Result<Option<Frame>, CameraError> {
        if self.served >= self.total || self.next >= self.frames.len() {
            return Ok(None);
        }
        let index = self.next;
        (self.next, self.served) = (self.next + 1, self.served + 1);
        let rec = &self.frames[index];
        let t0 = cpu_ms();
        let image = image::load_from_memory(&rec.jpeg)
            .map_err(|e| CameraError::BadFrame {
                index,
                name: format!("frame {index}"),
                reason: e.to_string(),
            })?
            .into_rgb8();
        self.decode_ms.set(cpu_ms() - t0);
        Ok(Some(Frame { image, t_ms: self.replay * self.period + rec.t_ms }))
    }
}

/// The runner's stage times of one frame: CPU ms per [`Stage`], and the wall time of `Track`.
#[derive(Default)]
struct StageClock {
    mark: Option<(f64, Instant)>,
    cpu: [f64; 3],
    track_wall: f64,
}

impl StageClock {
    fn cpu(&self, stage: Stage) -> f64 {
        self.cpu[stage as usize]
    }
}

impl Probe for StageClock {
    fn begin(&mut self) {
        (self.cpu, self.track_wall) = ([0.0; 3], 0.0);
        self.mark = Some((cpu_ms(), Instant::now()));
    }

    fn lap(&mut self, stage: Stage) {
        let (cpu, wall) = (cpu_ms(), Instant::now());
        if let Some((c, w)) = self.mark {
            self.cpu[stage as usize] += cpu - c;
            if stage == Stage::Track {
                self.track_wall += (wall - w).as_secs_f64() * 1e3;
            }
        }
        self.mark = Some((cpu, wall));
    }
}

/// Per-frame stage times, in ms.
#[derive(Default)]
struct Laps {
    decode: Vec<f64>,
    track: Vec<f64>,
    track_detector: Vec<f64>,
    keypoints: Vec<f64>,
    checks: Vec<f64>,
    screen: Vec<f64>,
    crop: Vec<f64>,
    mesh: Vec<f64>,
    /// Wall time of `track` on detector frames (the detector runs on a second core).
    track_detector_wall: Vec<f64>,
    vision: Vec<f64>,
    total: Vec<f64>,
}

/// `bench`'s side of the challenge loop: the stage clock, the screen, and the laps.
struct Timer<'a, F: FnMut()> {
    warmup: usize,
    seen: usize,
    clock: StageClock,
    decode_ms: Rc<Cell<f64>>,
    laps: Laps,
    liveness: LivenessConfig,
    screen: ChallengeScreen,
    canvas: Canvas,
    redraw: Redraw,
    mesh: &'a LandmarkModel,
    crop_buf: InputBuffer,
    keypoint_schedule: String,
    detector_schedule: String,
    on_first: F,
}

impl<F: FnMut()> Watcher for Timer<'_, F> {
    fn bad_frames(&self) -> BadFrames {
        BadFrames::Refuse
    }

    fn probe(&mut self) -> Option<&mut dyn Probe> {
        Some(&mut self.clock)
    }

    fn seen(&mut self, frame: Frame, event: Event<'_>, runner: &ChallengeRunner) -> anyhow::Result<()> {
        let timed = self.seen >= self.warmup;
        let trace = runner.trace();
        // The breakdown of `track`, timed again on the same ROI, outside the total.
        if let (true, Some(roi)) = (timed, trace.roi) {
            let c = cpu_ms();
            let input = landmarks::crop_into(&frame.image, &roi, &mut self.crop_buf);
            let m = cpu_ms();
            std::hint::black_box(self.mesh.infer(input)?);
            self.laps.crop.push(m - c);
            self.laps.mesh.push(cpu_ms() - m);
        }
        let (keypoints_ran, detector_ran) = (trace.points_seeded > 0, trace.detector_ran);
        self.keypoint_schedule.push(if keypoints_ran { '1' } else { '0' });
        self.detector_schedule.push(if detector_ran { '1' } else { '0' });
        // The screen, as the worker shows it: on the frames that leave the challenge running.
        let s = cpu_ms();
        if let Event::Progress { .. } = event {
            let scene = self.screen.scene(frame, runner, &self.liveness);
            let view = View { scene, status: Status::default(), language: Language::default() };
            std::hint::black_box(self.redraw.draw(&view, &mut self.canvas));
            std::hint::black_box(self.canvas.pixels());
        }
        let screen = cpu_ms() - s;
        if self.seen == 0 {
            (self.on_first)();
        }
        self.seen += 1;
        if !timed {
            return Ok(());
        }
        let c = &self.clock;
        let (decode, track, keypoints, checks) =
            (self.decode_ms.get(), c.cpu(Stage::Track), c.cpu(Stage::Keypoints), c.cpu(Stage::Checks));
        let laps = &mut self.laps;
        laps.decode.push(decode);
        if detector_ran {
            laps.track_detector.push(track);
            laps.track_detector_wall.push(c.track_wall);
        } else {
            laps.track.push(track);
        }
        if keypoints_ran {
            laps.keypoints.push(keypoints);
        }
        laps.checks.push(checks);
        laps.screen.push(screen);
        laps.vision.push(track + keypoints);
        laps.total.push(decode + track + keypoints + checks + screen);
        Ok(())
    }
}

/// Runs the recorded challenge `frames` through the service's challenge loop, one challenge
/// after another, each from the recording's first frame to its decision: `warmup` frames
/// untimed, then `runs` timed. `on_first` is called once the first frame has
/// been analysed (for start-up time).
///
/// # Errors
/// An unreadable frame, a failing network, or a sequence in which no face is ever tracked.
pub fn run(
    source: String,
    frames: &[RecordedFrame],
    geometry: ChallengeGeometry,
    tracker: FaceTracker,
    mesh: &LandmarkModel,
    (runs, warmup): (usize, usize),
    on_first: impl FnMut(),
) -> anyhow::Result<PipelineReport> {
    anyhow::ensure!(!frames.is_empty(), "no frames to time");
    let decode_ms = Rc::new(Cell::new(0.0));
    let total = warmup + runs.max(1);
    let period = frames.last().map_or(0, |f| f.t_ms) + 100;
    let mut camera =
        Looped { frames, next: 0, replay: 0, served: 0, total, period, decode_ms: decode_ms.clone() };
    let mut timer = Timer {
        warmup,
        seen: 0,
        clock: StageClock::default(),
        decode_ms,
        laps: Laps::default(),
        liveness: LivenessConfig::default(),
        screen: ChallengeScreen::default(),
        canvas: Canvas::new(SCREEN.0, SCREEN.1),
        redraw: Redraw::new(),
        mesh,
        crop_buf: InputBuffer::default(),
        keypoint_schedule: String::with_capacity(total),
        detector_schedule: String::with_capacity(total),
        on_first,
    };
    let (mut tracker, mut challenges) = (tracker, Vec::new());
    while camera.served < total {
        camera.rewind();
        let session = Session::new(timer.liveness.clone(), geometry);
        let mut runner = ChallengeRunner::new(tracker, session);
        if let Ending::CameraFailed { error, .. } = runner.run(&mut camera, &mut timer)? {
            return Err(error.into());
        }
        challenges.push(camera.next);
        tracker = runner.into_tracker();
    }
    let row = |name, what, in_total, ms: Vec<f64>| FrameStage {
        name,
        what,
        in_total,
        frames: ms.len(),
        timing: timing(ms),
    };
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let laps = timer.laps;
    // A timed frame with a tracked face has its crop timed again (the breakdown).
    anyhow::ensure!(!laps.crop.is_empty(), "no face was tracked in {source}: nothing to time");
    let (vision, total_ms) = (mean(&laps.vision), mean(&laps.total));
    let (keypoint_frames, detector_frames) = (laps.keypoints.len(), laps.track_detector.len());
    let stages = vec![
        row("decode", "JPEG → RGB", true, laps.decode),
        row("track", "crop + int8 mesh + pose + next ROI (mesh-only frames)", true, laps.track),
        row(
            "track_detect",
            "detector + crop + int8 mesh + pose (detector frames)",
            true,
            laps.track_detector,
        ),
        row(
            "keypoints",
            "Nose-state frames: grey pyramid around the points + LK + alignment through the face plane, 63 points",
            true,
            laps.keypoints,
        ),
        row("checks", "pose on the tracked points + parallax fit + session step", true, laps.checks),
        row(
            "screen",
            "challenge view drawn at 800×480 (frames that leave the challenge running)",
            true,
            laps.screen,
        ),
        row("crop", "part of track: rotated ROI → 192×192 tensor", false, laps.crop),
        row("mesh_int8", "part of track: int8 mesh network", false, laps.mesh),
        row(
            "track_detect_wall",
            "wall time of track_detect (detector on a second core beside the mesh)",
            false,
            laps.track_detector_wall,
        ),
    ];
    Ok(PipelineReport {
        source,
        frames_timed: runs.max(1),
        detector_frames,
        keypoint_frames,
        keypoint_schedule: timer.keypoint_schedule,
        detector_schedule: timer.detector_schedule,
        challenge_frames: challenges,
        stages,
        vision_ms: vision,
        total_ms,
        fps: 1e3 / total_ms,
    })
}

/// The whole-frame table as text.
pub fn render(p: &PipelineReport) -> String {
    let mut s = format!(
        "\nwhole frame, the service's challenge loop, CPU ms: {} ({} frames timed, {} challenges; \
         detector on {}, keypoints on {})\n",
        p.source,
        p.frames_timed,
        p.challenge_frames.len(),
        p.detector_frames,
        p.keypoint_frames
    );
    s += &format!("{:<13} {:>10} {:>10} {:>7}  {}\n", "stage", "median ms", "p90 ms", "frames", "what");
    for st in &p.stages {
        s += &format!(
            "{:<13} {:>10.3} {:>10.3} {:>7}  {}\n",
            st.name, st.timing.median_ms, st.timing.p90_ms, st.frames, st.what
        );
    }
    s += &format!(
        "mean per frame: vision (track + keypoints) {:.3} ms; total {:.3} ms = {:.1} fps on one core\n",
        p.vision_ms, p.total_ms, p.fps
    );
    s
}
