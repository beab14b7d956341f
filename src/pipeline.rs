//! Wiring one challenge: frames → face tracker + keypoint tracker → session → decision.
//!
//! [`ChallengeRunner::run`] is the one per-frame loop: the live service (and so `demo`),
//! `verify`, `record`, `evaluate` and `bench` all drive it, so a recorded session replays, and
//! a benchmark times, exactly the code a door runs. It owns the bad-frame policy (a frame the
//! camera cannot deliver, or the networks fail on, is logged and skipped; a replay may refuse
//! them) and tells its caller what happens through a [`Watcher`]: each frame's [`Event`]
//! (progress with the visitor's prompt, a skipped frame, the decision), and, for `bench`, the
//! time of each [`Stage`] through a [`Probe`].

use image::RgbImage;
use serde::Serialize;

use crate::camera::{Camera, CameraError, Frame, Lit};
use crate::liveness::ChallengeGeometry;
use crate::liveness::light::{self, LightPlan, LightSample};
use crate::liveness::motion::{self, KEYPOINTS, SEED_LANDMARKS, nose_departure, plane_homography};
use crate::liveness::session::{
    Checks, Decision, FaceSample, Outcome, Phase, Prompt, Reason, Sample, Session, Step,
};
use crate::liveness::surround::{self, Grey, Surround};
use crate::vision::flow::{self, FlowParams, Pyramid};
use crate::vision::pose::{self, Intrinsics, Rotation};
use crate::vision::{FaceTracker, Rect, Roi, TrackedFace, VisionError};

/// What the runner saw and decided on one frame: one line of `verify --trace`, and what
/// `verify --overlay` draws.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FrameTrace {
    pub t_ms: u64,
    /// The session's phase after this frame.
    pub phase: Option<Phase>,
    /// Faces counted in this frame.
    pub faces: usize,
    /// Whether the detector counted the faces over the whole frame on this frame.
    pub detector_ran: bool,
    /// The followed face's box (one definition on every frame).
    #[serde(rename = "box")]
    pub face_box: Option<Rect>,
    /// The region the mesh read the face from (`bench` times the crop and mesh again on it).
    #[serde(skip)]
    pub roi: Option<Roi>,
    pub nose: Option<[f32; 2]>,
    pub yaw: Option<f32>,
    pub pitch: Option<f32>,
    pub roll: Option<f32>,
    /// Head turn toward the target since the Nose state began (degrees), when measured.
    pub turn_deg: Option<f32>,
    /// Keypoints seeded at the start of the Nose state, and how many are still tracked.
    pub points_seeded: usize,
    pub points_kept: usize,
    /// The mesh landmarks whose keypoints are lost (`liveness::motion::KEYPOINTS`).
    pub points_lost: Vec<usize>,
    /// Where the tracked keypoints are in this frame (for the overlay).
    #[serde(skip)]
    pub points: Vec<[f32; 2]>,
    /// The 3-D-motion value of this frame, and the pooled value so far.
    pub motion: Option<f32>,
    pub motion_pooled: Option<f32>,
    /// Set on the frame that decided the challenge.
    pub decision: Option<Decision>,
    /// Why the frame was skipped (a network failed on it), if it was.
    pub skipped: Option<String>,
}

/// Keypoints followed from the start of the Nose state.
#[derive(Debug)]
struct Keypoints {
    start: Vec<[f32; 2]>,
    now: Vec<Option<[f32; 2]>>,
    /// The Nose-start frame's pyramid: chained tracks are corrected against it.
    origin: Pyramid,
    /// The previous frame's pyramid, around the points it was built for.
    prev: Pyramid,
    /// The buffers of the next frame's pyramid.
    next: Pyramid,
    face_width: f32,
    /// The lens, and the head's rotation fitted to the start positions.
    camera: Intrinsics,
    start_rotation: Option<Rotation>,
}

/// What the keypoints tell of one frame ([`measure`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tracked {
    /// The 3-D motion since the start.
    pub motion: Option<f32>,
    /// The head's rotation fitted to the tracked points ([`keypoint_rotation`]).
    pub rotation: Option<Rotation>,
}

impl Keypoints {
    /// Starts following `start` in `img`, where the head's rotation fitted to them is
    /// `start_rotation` ([`keypoint_rotation`]).
    fn new(
        img: &RgbImage,
        start: Vec<[f32; 2]>,
        start_rotation: Option<Rotation>,
        face_width: f32,
        camera: Intrinsics,
        params: &FlowParams,
    ) -> Self {
        let mut prev = Pyramid::default();
        prev.build(img, params.levels, Some(flow::area_around(&start, params.reach)));
        Self {
            start_rotation,
            now: start.iter().map(|p| Some(*p)).collect(),
            start,
            origin: prev.clone(),
            prev,
            next: Pyramid::default(),
            face_width,
            camera,
        }
    }

    /// Tracks the live points into `img` and [`measure`]s them. The new frame's pyramid covers
    /// only the live points' neighbourhood (`params.reach`), in buffers kept from frame to frame.
    fn advance(&mut self, img: &RgbImage, params: &FlowParams) -> Tracked {
        let alive: Vec<(usize, [f32; 2])> =
            self.now.iter().enumerate().filter_map(|(i, p)| p.map(|p| (i, p))).collect();
        let pts: Vec<[f32; 2]> = alive.iter().map(|(_, p)| *p).collect();
        self.next.build(img, params.levels, Some(flow::area_around(&pts, params.reach)));
        let moved = flow::track(&self.prev, &self.next, &pts, params);
        self.now.iter_mut().for_each(|p| *p = None);
        for ((i, _), q) in alive.iter().zip(moved) {
            self.now[*i] = q;
        }
        self.now =
            align_with_plane(&self.origin, &self.next, &self.start, std::mem::take(&mut self.now), params);
        std::mem::swap(&mut self.prev, &mut self.next);
        measure(&self.start, self.start_rotation, &self.now, &self.camera, self.face_width)
    }
}

/// What [`KEYPOINTS`] seen at `start` (where the head's rotation was `start_rotation`) and
/// tracked to `now` tell: the head's rotation fitted to them now, and the 3-D motion since the
/// start: how far the nose moved against every line of the face around it ([`nose_departure`]),
/// in the direction the head's rotation since the start swings a nose ([`nose_swing`]), over
/// the face's width, so it does not depend on distance.
pub(crate) fn measure(
    start: &[[f32; 2]],
    start_rotation: Option<Rotation>,
    now: &[Option<[f32; 2]>],
    camera: &Intrinsics,
    face_width: f32,
) -> Tracked {
    let rotation = keypoint_rotation(now, camera);
    let seeds = SEED_LANDMARKS.len();
    let motion = start_rotation
        .zip(rotation)
        .and_then(|(a, b)| nose_swing(&a, &b))
        .and_then(|toward| nose_departure(&SEED_LANDMARKS, &start[..seeds], &now[..seeds], toward))
        .map(|d| d / face_width);
    Tracked { motion, rotation }
}

/// The image direction in which a head's rotation from `start` to `now` moves a point that
/// stands in front of the face (the nose) against the face behind it: the change of the head's
/// forward axis, projected on the image. `None` when the head has not rotated (under 0.1°):
/// there is no direction to look in, and no 3-D motion to see.
pub fn nose_swing(start: &Rotation, now: &Rotation) -> Option<[f32; 2]> {
    // The head frame's z points into the head: the nose stands out along −z, which the
    // rotation's third column (negated) gives in the camera frame (x right, y down).
    let forward = |r: &Rotation| [-r[0][2], -r[1][2]];
    let (a, b) = (forward(start), forward(now));
    let d = [b[0] - a[0], b[1] - a[1]];
    let n = d[0].hypot(d[1]);
    (n > 0.1f32.to_radians()).then(|| [d[0] / n, d[1] / n])
}

/// Tracked keypoints (`now`, of [`KEYPOINTS`] seeded at `start` in `origin`) aligned again
/// with their first view through the face plane's homography ([`flow::align_through_plane`]),
/// when the correction is on and the plane can be fitted; otherwise as they are.
pub(crate) fn align_with_plane(
    origin: &Pyramid,
    next: &Pyramid,
    start: &[[f32; 2]],
    now: Vec<Option<[f32; 2]>>,
    params: &FlowParams,
) -> Vec<Option<[f32; 2]>> {
    if params.max_correction <= 0.0 {
        return now;
    }
    let seeds = SEED_LANDMARKS.len();
    match plane_homography(&SEED_LANDMARKS, &start[..seeds], &now[..seeds]) {
        Some(h) => flow::align_through_plane(origin, next, start, &now, &|p| motion::apply(&h, p), params),
        None => now,
    }
}

/// The layout points and pose the session needs from a tracked face. The rotation is the
/// template fitted to the [`KEYPOINTS`] alone ([`keypoint_rotation`]): where the keypoint
/// tracker follows them (`tracked`, from the Nose state's first frame on), there; before, at
/// the mesh's landmarks. So the turn compares one point set with itself.
pub(crate) fn face_sample(face: &TrackedFace, tracked: Option<&Tracked>) -> FaceSample {
    let rotation = match tracked {
        Some(t) => t.rotation,
        None => {
            let at_mesh: Vec<Option<[f32; 2]>> =
                KEYPOINTS.iter().map(|&i| Some(face.landmarks.xy(i))).collect();
            keypoint_rotation(&at_mesh, &face.camera)
        }
    };
    FaceSample {
        bounds: face.bounds,
        nose: face.landmarks.nose_tip(),
        yaw_deg: face.pose.yaw,
        rotation,
        layout: SEED_LANDMARKS.iter().map(|&i| face.landmarks.xy(i)).collect(),
    }
}

/// The head's rotation from image positions of the [`KEYPOINTS`] (in their order; `None`:
/// lost): the rigid face template fitted to those of them it has ([`pose::fit_points`]).
/// Fed keypoints tracked in the image, it reads the turn the image shows; the landmark
/// model's own reading of a turned face falls short of it (its face prior pulls toward
/// frontal).
pub fn keypoint_rotation(points: &[Option<[f32; 2]>], camera: &Intrinsics) -> Option<Rotation> {
    let known: Vec<(usize, [f32; 2])> =
        KEYPOINTS.iter().zip(points).filter_map(|(&id, p)| p.map(|p| (id, p))).collect();
    pose::fit_points(&known, camera).map(|p| p.rotation)
}

/// A part of the per-frame work, as a [`Probe`] sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The face tracker: crop + mesh + pose, and the detector when it runs (including the
    /// face count of a pivotal frame).
    Track,
    /// The keypoint tracker: pyramids, Lucas–Kanade, alignment through the face plane.
    Keypoints,
    /// The checks: the head's rotation on the points, the 3-D motion, the session's step.
    Checks,
}

/// Sees the time of each [`Stage`] of a frame (`livegate bench`). `begin` is called when a
/// frame's analysis starts; `lap(stage)` when a piece of `stage`'s work ends, so the time since
/// the last call belongs to `stage`. A stage may end more than once in a frame.
pub trait Probe {
    fn begin(&mut self);
    fn lap(&mut self, stage: Stage);
}

/// What one frame did to the challenge.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// The challenge goes on: the visitor's instruction, and whether the phase began with this
    /// frame.
    Progress { phase: Phase, prompt: Prompt, new_phase: bool },
    /// The networks failed on this frame; it was skipped.
    Skipped { error: &'a VisionError },
    /// This frame decided the challenge.
    Decided(&'a Decision),
}

/// Whether a frame the camera cannot deliver is skipped or ends the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadFrames {
    /// Logged and skipped: one bad frame is never fatal to a door.
    Skip,
    /// The run ends with [`Ending::CameraFailed`] (a recorded session must be whole).
    Refuse,
}

/// The caller's side of [`ChallengeRunner::run`]. Every method has a default that does nothing.
pub trait Watcher {
    /// Whether the challenge was cancelled (asked before each frame).
    fn cancelled(&self) -> bool {
        false
    }
    /// What to do with a frame the camera cannot deliver.
    fn bad_frames(&self) -> BadFrames {
        BadFrames::Skip
    }
    /// Sees each frame before the analysis (to record it, or to pass it through a codec).
    ///
    /// # Errors
    /// Ends the run with this error.
    fn tap(&mut self, _frame: &mut Frame) -> anyhow::Result<()> {
        Ok(())
    }
    /// The probe that times this frame's stages, if any.
    fn probe(&mut self) -> Option<&mut dyn Probe> {
        None
    }
    /// The light challenge's flashes, when the Nose state begins: show them (frame clock).
    /// Returns whether a screen shows them (a live camera's frames then carry them).
    fn light(&mut self, _plan: &LightPlan) -> bool {
        false
    }
    /// Sees each analysed frame (skipped ones included) with what it did; the runner's
    /// [`ChallengeRunner::trace`] tells what was made of it.
    ///
    /// # Errors
    /// Ends the run with this error.
    fn seen(&mut self, _frame: Frame, _event: Event<'_>, _runner: &ChallengeRunner) -> anyhow::Result<()> {
        Ok(())
    }
}

/// Watches nothing.
impl Watcher for () {}

/// How a run ended.
#[derive(Debug)]
pub enum Ending {
    /// Decided by the session, or failed as `incomplete` when the camera had no more frames.
    Decided(Decision),
    /// [`Watcher::cancelled`] said so.
    Cancelled { frames: u32 },
    /// The camera failed (or, under [`BadFrames::Refuse`], delivered a bad frame).
    CameraFailed { frames: u32, error: CameraError },
}

impl Ending {
    /// The decision, when the run reached one.
    pub fn decision(self) -> Option<Decision> {
        match self {
            Self::Decided(d) => Some(d),
            _ => None,
        }
    }
}

/// The decision of a challenge whose camera ran out of frames before it was decided.
fn incomplete(frames: u32, last_t_ms: u64) -> Decision {
    Decision {
        result: Outcome::Fail,
        reason: Some(Reason::Incomplete),
        // More than one face would have ended the session already.
        checks: Checks { single_face: true, ..Checks::default() },
        frames,
        decided_t_ms: last_t_ms,
    }
}

/// The flash sequence starts this long after the frame that began the Nose state (the
/// screen's next refresh).
const LIGHT_LEAD_MS: u64 = 100;

/// The skin's colours of `face` in `image`, and the background's beside `wall` (the face's
/// box when the Nose state began: the camera is fixed, so the same wall pixels are read on
/// every frame while the head moves) ([`light::sample_colours`]).
fn light_sample(image: &RgbImage, face: &TrackedFace, wall: Option<Rect>, t_ms: u64) -> Option<LightSample> {
    let skin = light::SKIN_LANDMARKS.map(|i| face.landmarks.xy(i));
    let dark = light::DARK_LANDMARKS.map(|i| face.landmarks.xy(i));
    let b = face.bounds;
    // Patches a sixth of the face wide: several JPEG chroma blocks each, so the codec's
    // rounding of a block's mean colour averages out, clear of eyes, brows and lips.
    let w = wall.unwrap_or(b);
    light::sample_colours(image, (&skin, &dark), 0.16 * b.w, [w.x, w.y, w.w, w.h], t_ms)
}

/// A probe that sees nothing.
struct Unprobed;

impl Probe for Unprobed {
    fn begin(&mut self) {}
    fn lap(&mut self, _stage: Stage) {}
}

/// One challenge being watched.
#[derive(Debug)]
pub struct ChallengeRunner {
    tracker: FaceTracker,
    session: Session,
    flow: FlowParams,
    keypoints: Option<Keypoints>,
    /// The scene around the head, from the start of the Nose state.
    surround: Option<Surround>,
    /// The face's box at the start of the Nose state: the light challenge reads the wall
    /// beside it there on every frame.
    light_wall: Option<Rect>,
    /// Draw the light challenge's colours from this seed instead of the OS CSPRNG
    /// (`livegate evaluate`, so that its report regenerates exactly).
    light_seed: Option<u64>,
    /// The nose tip in the last analysed frame, for the screen.
    nose: Option<[f32; 2]>,
    /// What the last frame showed (`verify --trace`).
    trace: FrameTrace,
    /// The phase and prompt of the last frame that did not decide.
    shown: (Phase, Prompt),
    /// The last phase reported to the watcher.
    announced: Option<Phase>,
}

impl ChallengeRunner {
    /// Watches `session` through `tracker` (reset for a fresh start).
    pub fn new(mut tracker: FaceTracker, session: Session) -> Self {
        tracker.reset();
        Self {
            tracker,
            session,
            flow: FlowParams::default(),
            keypoints: None,
            surround: None,
            light_wall: None,
            light_seed: None,
            nose: None,
            trace: FrameTrace::default(),
            shown: (Phase::Face, Prompt::LookAtCamera),
            announced: None,
        }
    }

    /// Draws the light challenge's colours from `seed` (evaluation only: a terminal's must be
    /// unpredictable).
    #[must_use]
    pub fn with_light_seed(mut self, seed: u64) -> Self {
        self.light_seed = Some(seed);
        self
    }

    /// The session being run.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The challenge's area and target.
    pub fn geometry(&self) -> &ChallengeGeometry {
        self.session.geometry()
    }

    /// The nose tip seen in the last analysed frame (camera pixels), if a face was seen.
    pub fn nose(&self) -> Option<[f32; 2]> {
        self.nose
    }

    /// What the last frame fed showed and decided.
    pub fn trace(&self) -> &FrameTrace {
        &self.trace
    }

    /// The phase and prompt the visitor is shown: those of the last frame that did not decide.
    pub fn shown(&self) -> (Phase, Prompt) {
        self.shown
    }

    /// Ends the challenge and hands the tracker back for the next one.
    pub fn into_tracker(self) -> FaceTracker {
        self.tracker
    }

    /// Analyses one frame and advances the challenge; `probe` sees the time of each stage.
    ///
    /// # Errors
    /// [`VisionError`] if a network fails on this frame ([`Self::run`] skips the frame).
    fn feed(&mut self, frame: &Frame, probe: &mut dyn Probe) -> Result<Step, VisionError> {
        probe.begin();
        self.trace = FrameTrace { t_ms: frame.t_ms, ..FrameTrace::default() };
        let mut obs = self.tracker.observe(&frame.image, frame.t_ms)?;
        probe.lap(Stage::Track);
        let tracked = self.keypoints.as_mut().map(|k| k.advance(&frame.image, &self.flow));
        probe.lap(Stage::Keypoints);
        let face = obs.face.as_ref().map(|f| face_sample(f, tracked.as_ref()));
        if face.as_ref().is_some_and(|f| self.session.is_pivotal(f)) {
            probe.lap(Stage::Checks);
            // The Nose-start and decision frames count every face, whatever the timetable.
            self.tracker.observe_counted(&frame.image, &mut obs)?;
            probe.lap(Stage::Track);
        }
        self.nose = obs.face.as_ref().map(|f| f.landmarks.nose_tip());
        let parallax = tracked.and_then(|t| t.motion);
        let light = match (&obs.face, self.session.phase()) {
            (Some(f), Phase::Nose) if self.session.light_plan().is_some() => {
                light_sample(&frame.image, f, self.light_wall, frame.t_ms)
            }
            _ => None,
        };
        let surround = match (&mut self.surround, &obs.face) {
            (Some(s), Some(f)) if self.session.phase() == Phase::Nose => {
                s.observe(&Grey::of(&frame.image, surround::DEFAULT_FACTOR), f.bounds);
                s.measure()
            }
            _ => None,
        };
        let sample = Sample { t_ms: frame.t_ms, faces: obs.faces, face, parallax, light, surround };
        let step = self.session.step(&sample);
        probe.lap(Stage::Checks);
        if step == Step::NoseStarted
            && let (Some(face), Some(seen)) = (&obs.face, &sample.face)
        {
            // The sample's rotation was fitted to these very points.
            let start: Vec<[f32; 2]> = KEYPOINTS.iter().map(|&i| face.landmarks.xy(i)).collect();
            self.keypoints = Some(Keypoints::new(
                &frame.image,
                start,
                seen.rotation,
                face.bounds.w,
                face.camera,
                &self.flow,
            ));
            self.surround =
                Some(Surround::seed(&Grey::of(&frame.image, surround::DEFAULT_FACTOR), face.bounds));
            self.light_wall = Some(face.bounds);
            probe.lap(Stage::Keypoints);
        }
        let t = &mut self.trace;
        t.phase = Some(self.session.phase());
        (t.faces, t.detector_ran) = (obs.faces, obs.detector_ran);
        if let Some(face) = &obs.face {
            t.face_box = Some(face.bounds);
            t.roi = Some(face.roi);
            t.nose = Some(face.landmarks.nose_tip());
            (t.yaw, t.pitch, t.roll) = (Some(face.pose.yaw), Some(face.pose.pitch), Some(face.pose.roll));
        }
        if let Some(k) = &self.keypoints {
            t.points_seeded = k.start.len();
            t.points = k.now.iter().flatten().copied().collect();
            t.points_kept = t.points.len();
            t.points_lost =
                KEYPOINTS.iter().zip(&k.now).filter(|(_, p)| p.is_none()).map(|(&id, _)| id).collect();
        }
        t.motion = parallax;
        (t.turn_deg, t.motion_pooled) = (self.session.turn_so_far(), self.session.motion_so_far(frame.t_ms));
        if let Step::Decided(d) = &step {
            t.decision = Some(d.clone());
        }
        Ok(step)
    }

    /// Draws the Nose state's flash sequence (OS CSPRNG) and tells the camera and the
    /// watcher; the session checks it when the frames can show it.
    ///
    /// # Errors
    /// When the OS random source cannot be read.
    fn start_light(
        &mut self,
        t_ms: u64,
        camera: &mut dyn Camera,
        watcher: &mut dyn Watcher,
    ) -> anyhow::Result<()> {
        let c = self.session.light_config().clone();
        if !c.enabled {
            return Ok(());
        }
        let n = c.flashes as usize;
        let (left, right) = match self.light_seed {
            Some(seed) => {
                let mut rng = crate::camera::synthetic::SeededRng::new(seed);
                let palette = light::PALETTE.len() as u64;
                light::draw_pair(n, || Ok::<_, std::convert::Infallible>((rng.next_u64() % palette) as usize))
                    .unwrap_or_else(|e| match e {})
            }
            None => crate::entropy::light_colours(n)?,
        };
        let plan = LightPlan::new((&left, &right), c.flash_ms, t_ms + LIGHT_LEAD_MS);
        let lit = camera.light(&plan);
        let shown = watcher.light(&plan);
        let seen = lit == Lit::Rendered || (lit == Lit::Screen && shown);
        self.session.start_light(seen.then_some(plan));
        Ok(())
    }

    /// Runs the challenge on `camera` until it is decided, cancelled or the camera fails or
    /// has no more frames (then it fails as [`incomplete`]). A frame the networks fail on is
    /// logged and skipped; a frame the camera cannot deliver too, unless the watcher
    /// [refuses](BadFrames::Refuse) them. `watcher` sees every frame ([`Watcher`]).
    ///
    /// # Errors
    /// Only the watcher's own errors: whatever the camera does ends the run as an [`Ending`].
    pub fn run(&mut self, camera: &mut dyn Camera, watcher: &mut dyn Watcher) -> anyhow::Result<Ending> {
        let (mut frames, mut last_t) = (0u32, 0u64);
        loop {
            if watcher.cancelled() {
                return Ok(Ending::Cancelled { frames });
            }
            let mut frame = match camera.next_frame() {
                Ok(Some(f)) => f,
                Ok(None) => return Ok(Ending::Decided(incomplete(frames, last_t))),
                Err(e @ CameraError::BadFrame { .. }) if watcher.bad_frames() == BadFrames::Skip => {
                    tracing::warn!(error = %e, "frame skipped");
                    continue;
                }
                Err(error) => return Ok(Ending::CameraFailed { frames, error }),
            };
            watcher.tap(&mut frame)?;
            frames += 1;
            last_t = frame.t_ms;
            let mut unprobed = Unprobed;
            let step = self.feed(&frame, watcher.probe().unwrap_or(&mut unprobed));
            match step {
                Ok(Step::Decided(d)) => {
                    watcher.seen(frame, Event::Decided(&d), self)?;
                    return Ok(Ending::Decided(d));
                }
                Ok(step) => {
                    if step == Step::NoseStarted {
                        self.start_light(frame.t_ms, camera, watcher)?;
                    }
                    self.shown = match step {
                        Step::Running { phase, prompt } => (phase, prompt),
                        _ => (self.session.phase(), Prompt::for_phase(self.session.phase())),
                    };
                    let (phase, prompt) = self.shown;
                    let new_phase = self.announced.replace(phase) != Some(phase);
                    watcher.seen(frame, Event::Progress { phase, prompt, new_phase }, self)?;
                }
                Err(error) => {
                    tracing::warn!(t_ms = frame.t_ms, error = %error, "frame skipped");
                    self.trace.skipped = Some(error.to_string());
                    watcher.seen(frame, Event::Skipped { error: &error }, self)?;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vision::pose::rotation::{self as rot, M3};

    fn r(m: M3) -> Rotation {
        m.map(|row| row.map(|v| v as f32))
    }

    #[test]
    fn a_head_turning_toward_image_right_swings_its_nose_right() {
        // The head frame's x points to the subject's left, image +x for a frontal face; a
        // rotation about its y axis by a negative angle swings the nose toward image +x.
        let start = rot::IDENTITY;
        let turned = rot::exp_map([0.0, (-12.0f64).to_radians(), 0.0]);
        let d = nose_swing(&r(start), &r(turned)).unwrap();
        assert!(d[0] > 0.99 && d[1].abs() < 0.05, "{d:?}");
        let nodded = rot::exp_map([(-10.0f64).to_radians(), 0.0, 0.0]);
        let d = nose_swing(&r(start), &r(nodded)).unwrap();
        assert!(d[1] < -0.99, "nose up is image −y: {d:?}");
    }

    #[test]
    fn no_rotation_has_no_direction() {
        let start = rot::exp_map([0.3, 0.2, 0.1]);
        let almost = rot::mul(&start, &rot::exp_map([0.0, 0.05f64.to_radians(), 0.0]));
        assert_eq!(nose_swing(&r(start), &r(start)), None);
        assert_eq!(nose_swing(&r(start), &r(almost)), None);
    }
}
