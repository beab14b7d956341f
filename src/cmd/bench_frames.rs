//! Whole-frame steady state for `livegate bench`: every stage a door terminal runs per camera
//! frame, timed frame by frame over a recorded sequence of a moving face.
//!
//! The model-only rows of [`super::bench`] say how fast the networks are; a visitor sees the
//! whole frame: JPEG decode, track-or-detect (crop + int8 mesh + pose, the detector every
//! `detect_interval_frames` or on a lost track), keypoint tracking (the pyramidal LK of
//! `vision::flow` on the same 63 points `pipeline.rs` follows, the 55 seeds and 8 pose points,
//! each then aligned through the face plane's homography), the checks (the head's rotation
//! fitted to the tracked points, parallax + session step), and the screen (the challenge view drawn onto an 800×480 canvas, over the
//! previous frame's as the screen thread does: `screen::Redraw` redraws what changed). Each
//! stage's median is over the timed frames; `total` is the median of the per-frame sums.
//! Times are process CPU time (see `cpu_ms`), not wall time: the bench machines are shared.
//! `crop` and `mesh_int8` are timed again on the tracked ROI right after `track`, as its
//! breakdown, and are not part of the total. `track_detect_wall` is the one wall-clock row:
//! on a detector frame the detector runs on a second core beside the mesh, which CPU time
//! (summed over threads) cannot show; it is only meaningful with a second core free.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use image::RgbImage;
use serde::Serialize;

use super::bench::Timing;
pub use super::procstat::{cpu_ms, ms_since_process_start, peak_rss_mib};
use crate::camera::replay::SessionFile;
use crate::liveness::ChallengeGeometry;
use crate::liveness::motion::KEYPOINTS;
use crate::liveness::session::{LivenessConfig, Sample, Session, Step};
use crate::pipeline::{align_with_plane, face_sample, keypoint_rotation, measure};
use crate::screen::{Canvas, Challenge, Prompt, Redraw, Scene, Status, View};
use crate::vision::flow::{self, FlowParams, Pyramid};
use crate::vision::pose::Rotation;
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
    pub stages: Vec<FrameStage>,
    /// Mean per-frame vision time, detector frames included: track + keypoints (what the
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

fn decode(bytes: &[u8]) -> anyhow::Result<RgbImage> {
    Ok(image::load_from_memory(bytes).context("frame is not a readable image")?.into_rgb8())
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

/// Runs `frames` (looped) through the pipeline: `warmup` frames untimed, then `runs` timed.
/// `on_first` is called once the first frame has been processed (for start-up time).
///
/// # Errors
/// An unreadable frame, a failing network, or a sequence in which no face is ever tracked.
pub fn run(
    source: String,
    frames: &[RecordedFrame],
    geometry: ChallengeGeometry,
    mut tracker: FaceTracker,
    mesh: &LandmarkModel,
    (runs, warmup): (usize, usize),
    mut on_first: impl FnMut(),
) -> anyhow::Result<PipelineReport> {
    anyhow::ensure!(!frames.is_empty(), "no frames to time");
    let params = FlowParams::default();
    let new_session = || Session::new(LivenessConfig::default(), geometry);
    let mut session = new_session();
    let mut canvas = Canvas::new(SCREEN.0, SCREEN.1);
    let mut redraw = Redraw::new();
    // The previous frame's points, face width and the rotation fitted to the points; its
    // pyramid, and the buffers of the next.
    let mut prev: Option<(Vec<[f32; 2]>, f32, Option<Rotation>)> = None;
    let (mut prev_pyramid, mut pyramid) = (Pyramid::default(), Pyramid::default());
    let mut area_pts: Vec<[f32; 2]> = Vec::new();
    let mut laps = Laps::default();
    let mut crop_buf = InputBuffer::default();
    let (mut detector_frames, mut tracked_frames) = (0, 0);
    let period = frames.last().map_or(0, |f| f.t_ms) + 100;
    tracker.reset();
    for n in 0..warmup + runs.max(1) {
        let rec = &frames[n % frames.len()];
        let t_ms = (n / frames.len()) as u64 * period + rec.t_ms;
        let timed = n >= warmup;
        let t0 = cpu_ms();
        let img = decode(&rec.jpeg)?;
        let t1 = cpu_ms();
        let wall = std::time::Instant::now();
        let obs = tracker.observe(&img, t_ms)?;
        let t2 = cpu_ms();
        let wall_ms = wall.elapsed().as_secs_f64() * 1e3;
        // The breakdown of `track`, timed again right after it (warm caches), outside the total.
        if let (true, Some(f)) = (timed, &obs.face) {
            tracked_frames += 1;
            let c = cpu_ms();
            let input = landmarks::crop_into(&img, &f.roi, &mut crop_buf);
            let m = cpu_ms();
            std::hint::black_box(mesh.infer(input)?);
            laps.crop.push(m - c);
            laps.mesh.push(cpu_ms() - m);
        }
        let t2b = cpu_ms();
        // The pyramid covers what it is tracked from and into: the previous frame's points
        // (tracked into this frame) and this frame's (tracked from it into the next), with
        // `params.reach` around them, as `pipeline.rs` builds it.
        let next_pts = obs.face.as_ref().map(|f| KEYPOINTS.map(|i| f.landmarks.xy(i)));
        area_pts.clear();
        area_pts.extend(prev.iter().flat_map(|(pts, _, _)| pts).chain(next_pts.iter().flatten()));
        if !area_pts.is_empty() {
            pyramid.build(&img, params.levels, Some(flow::area_around(&area_pts, params.reach)));
        }
        // Chained tracking, then every point aligned through the face plane's homography as
        // `pipeline.rs` does (against the Nose-start frame there; the previous frame here, the
        // same work).
        let moved = prev.as_ref().map(|(pts, _, _)| {
            let chained = flow::track(&prev_pyramid, &pyramid, pts, &params);
            align_with_plane(&prev_pyramid, &pyramid, pts, chained, &params)
        });
        let t3 = cpu_ms();
        // As `pipeline.rs` does: the head's rotation fitted to the tracked points, the 3-D motion
        // in the direction it swings the nose; the session's sample takes that rotation.
        let tracked = match (&prev, &moved, obs.face.as_ref()) {
            (Some((pts, width, start_rotation)), Some(moved), Some(f)) => {
                Some(measure(pts, *start_rotation, moved, &f.camera, *width))
            }
            _ => None,
        };
        let face = obs.face.as_ref().map(|f| face_sample(f, tracked.as_ref()));
        let parallax = tracked.and_then(|t| t.motion);
        let nose = face.as_ref().map(|f| f.nose);
        let step = session.step(&Sample { t_ms, faces: obs.faces, face, parallax });
        if matches!(step, Step::Decided(_)) {
            session = new_session();
        }
        let t4 = cpu_ms();
        let phase = session.phase();
        let view = View {
            scene: Scene::Challenge(Challenge {
                frame: Some(Arc::new(img)),
                geometry,
                nose,
                phase,
                remaining_fraction: 0.5,
                remaining_ms: 5_000,
                prompt: Prompt::for_phase(phase),
            }),
            status: Status::default(),
            language: Default::default(),
        };
        std::hint::black_box(redraw.draw(&view, &mut canvas));
        std::hint::black_box(canvas.pixels());
        let t5 = cpu_ms();
        // The next frame tracks from this one's points: the rotation fitted to them is its start
        // (once per frame here; `pipeline.rs` fits it once, at the Nose state's start).
        prev = obs.face.as_ref().zip(next_pts).map(|(f, pts)| {
            let at: Vec<Option<[f32; 2]>> = pts.iter().map(|p| Some(*p)).collect();
            (pts.to_vec(), f.bounds.w, keypoint_rotation(&at, &f.camera))
        });
        std::mem::swap(&mut prev_pyramid, &mut pyramid);
        if n == 0 {
            on_first();
        }
        if !timed {
            continue;
        }
        let ms = |a: f64, b: f64| b - a;
        laps.decode.push(ms(t0, t1));
        if obs.detector_ran {
            detector_frames += 1;
            laps.track_detector.push(ms(t1, t2));
            laps.track_detector_wall.push(wall_ms);
        } else {
            laps.track.push(ms(t1, t2));
        }
        laps.keypoints.push(ms(t2b, t3));
        laps.checks.push(ms(t3, t4));
        laps.screen.push(ms(t4, t5));
        laps.vision.push(ms(t1, t2) + ms(t2b, t3));
        laps.total.push(ms(t0, t2) + ms(t2b, t5));
    }
    anyhow::ensure!(tracked_frames > 0, "no face was tracked in {source}: nothing to time");
    let timed = runs.max(1);
    let row = |name, what, in_total, ms: Vec<f64>| FrameStage {
        name,
        what,
        in_total,
        frames: ms.len(),
        timing: timing(ms),
    };
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let (vision, total) = (mean(&laps.vision), mean(&laps.total));
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
            "grey pyramid around the points + LK forward-backward + alignment through the face plane, 63 points",
            true,
            laps.keypoints,
        ),
        row("checks", "pose on the tracked points + parallax fit + session step", true, laps.checks),
        row("screen", "challenge view drawn at 800×480", true, laps.screen),
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
        frames_timed: timed,
        detector_frames,
        stages,
        vision_ms: vision,
        total_ms: total,
        fps: 1e3 / total,
    })
}

/// The whole-frame table as text.
pub fn render(p: &PipelineReport) -> String {
    let mut s = format!(
        "\nwhole frame, steady state, CPU ms: {} ({} frames timed, detector on {})\n",
        p.source, p.frames_timed, p.detector_frames
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
