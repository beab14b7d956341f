//! The challenge state machine (SPEC §1–2): Face → Area → Nose → verdict.
//!
//! Sans-IO: [`Session::step`] takes what the vision stage saw in one frame and that frame's
//! timestamp (milliseconds on a monotonic clock, or recorded ones in replay) and says what
//! happened. It never reads a clock, sleeps, draws or publishes, so a recorded session
//! replays to exactly the same verdict.

use serde::{Deserialize, Serialize};

use super::checks::{layout_change, path_rms};
use super::geometry::{ChallengeGeometry, grow, is_inside};
use super::light::{self, LightConfig, LightPlan, LightSample, WhenTooBright};
use super::surround::SurroundMeasure;
use crate::vision::Rect;
use crate::vision::pose::{Rotation, mean_rotation, turn_deg};

/// Frames at each end of the turn (averaged at the Nose-start end, a line fitted through
/// them at the latest end), so one frame's landmark noise does not decide the rotation check.
const TURN_FRAMES: usize = 3;

/// How old (ms before the frame being judged) the oldest of the three 3-D-motion values the
/// decision takes may be: older values describe the motion before the head turned, not at
/// the decision, and the check then fails (three values at 15 fps span 133 ms, 267 ms with
/// one frame missing).
const MOTION_MAX_AGE_MS: u64 = 300;

/// After the flashes' latest lag, one more frame period (15 fps) before the light check.
const LIGHT_SETTLE_MS: u64 = 70;

/// Thresholds and limits of a challenge; every one is a config key (`[liveness]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LivenessConfig {
    /// How long to wait for exactly one face before the challenge times out.
    pub face_timeout_ms: u64,
    /// Area state: the face must be inside the area box and large enough within this time.
    pub area_timeout_ms: u64,
    /// Nose state: the nose must reach the target within this time.
    pub nose_timeout_ms: u64,
    /// Frames without a face tolerated in the Area state (counted, not consecutive).
    pub area_max_missing_frames: u32,
    /// Frames without a face tolerated in the Nose state (counted, not consecutive).
    pub nose_max_missing_frames: u32,
    /// Minimum face-box area as a fraction of the area box ("come closer" below it).
    pub min_face_fraction: f32,
    /// In the Nose state the face box must stay inside the area box grown by this fraction.
    pub nose_area_growth: f32,
    /// Minimum head turn toward the target's side, degrees (camera-frame yaw).
    pub min_yaw_deg: f32,
    /// Minimum 3×3 landmark-layout change between Nose start and the decision frame.
    pub min_layout_change: f32,
    /// Minimum pooled non-planar motion of tracked image keypoints (see `motion`).
    pub min_parallax: f32,
    /// Maximum RMS residual of the quadratic fit of the nose path (frame-normalised).
    pub max_path_rms: f32,
    /// Maximum nose jump between consecutive frames, as a fraction of the frame height.
    pub max_nose_step: f32,
    /// Largest share of the textured scene around the head that may move with the face
    /// (`surround`): a fixed camera's wall stays put (about 0), a picture moved to aim carries
    /// its own background along (about 1). 1 turns the check off.
    pub max_surround_following: f32,
}

impl Default for LivenessConfig {
    fn default() -> Self {
        Self {
            face_timeout_ms: 30_000,
            area_timeout_ms: 30_000,
            nose_timeout_ms: 10_000,
            area_max_missing_frames: 6,
            nose_max_missing_frames: 12,
            min_face_fraction: 0.30,
            nose_area_growth: 0.15,
            min_yaw_deg: 5.0,
            // Both calibrated by `livegate evaluate` on synthetic sessions at random doors
            // (docs/evaluation.md): the 3-D motion at the geometric mean of the calibration
            // set's largest flat-attack value and smallest live value; layout at half the
            // smallest live value.
            min_layout_change: 0.0257,
            min_parallax: 0.0049,
            max_path_rms: 0.02,
            max_nose_step: 0.15,
            // Halfway between what the physics gives a live scene (0) and a moved picture (1);
            // not calibrated on the synthetic sessions (docs/evaluation.md reports both sides).
            max_surround_following: 0.5,
        }
    }
}

/// Where the challenge is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Face,
    Area,
    Nose,
    Done,
}

/// Why a challenge did not pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    MultipleFaces,
    FaceLost,
    FaceTimeout,
    AreaTimeout,
    NoseTimeout,
    LeftArea,
    TurnedAway,
    NoRotation,
    LayoutUnchanged,
    FlatMotion,
    JerkyPath,
    /// A replayed session ended before the challenge was decided.
    Incomplete,
    /// The camera failed during the challenge (result `error`).
    CameraError,
    /// The challenge was cancelled by a request (result `aborted`).
    Cancelled,
    /// The scene around the face moved with it: a picture held up and moved (issue 18 item 5).
    MovingSurround,
    /// The skin did not follow the screen's flashes (issue 18: a video on a screen, or light
    /// too bright for the flashes to show; `[light] when_too_bright = "fail"`).
    NoLightResponse,
}

impl Reason {
    /// Every reason (for the tests that every language words each one).
    pub const ALL: [Self; 16] = [
        Self::MultipleFaces,
        Self::FaceLost,
        Self::FaceTimeout,
        Self::AreaTimeout,
        Self::NoseTimeout,
        Self::LeftArea,
        Self::TurnedAway,
        Self::NoRotation,
        Self::LayoutUnchanged,
        Self::FlatMotion,
        Self::JerkyPath,
        Self::Incomplete,
        Self::CameraError,
        Self::Cancelled,
        Self::NoLightResponse,
        Self::MovingSurround,
    ];
}

/// The verdict's result field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Pass,
    Fail,
    Timeout,
}

/// The measured value of every check (SPEC §3 `checks`); `None` where it was never reached.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Checks {
    pub single_face: bool,
    pub nose_hit: bool,
    pub yaw_deg: Option<f32>,
    pub layout_change: Option<f32>,
    pub parallax: Option<f32>,
    pub path_rms: Option<f32>,
    /// The light challenge: whether the skin followed the flashes (absent when the
    /// challenge ended before the Nose state).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub light: Option<LightOutcome>,
    /// Correlation of the skin's colour with the flashes (`liveness::light`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub light_correlation: Option<f32>,
    /// How strongly the skin followed them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub light_amplitude: Option<f32>,
    /// How evenly the skin patches followed them (weakest over strongest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub light_uniformity: Option<f32>,
    /// The eyebrows' relative response over the skin's (about 1 for diffuse reflection).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub light_additivity: Option<f32>,
    /// Share of the textured scene around the head that moved with the face (`surround`),
    /// when the head moved far enough and the scene had texture to tell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub surround_following: Option<f32>,
    /// How alike the skin patches followed the screen's two halves (1: alike at every patch;
    /// 0: each followed one half only, as a mirror does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub light_balance: Option<f32>,
    /// How much the skin's colour changed in ways the flashes do not explain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub light_residual: Option<f32>,
    /// The background beside the head's response to the flashes over the skin's (a wall
    /// metres away: a few per cent; a phone's picture: the same light everywhere, 1 or more;
    /// `LightMeasure::background_share`), refused above `[light] max_background_share`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub light_background: Option<f32>,
}

impl Checks {
    /// The light check's values, when it measured them.
    pub fn light_values(&self) -> Option<light::LightValues> {
        Some(light::LightValues {
            correlation: self.light_correlation?,
            amplitude: self.light_amplitude?,
            uniformity: self.light_uniformity?,
            balance: self.light_balance?,
            residual: self.light_residual?,
            additivity: self.light_additivity,
            background_share: self.light_background,
        })
    }
}

/// What the light challenge found (verdict `checks.light`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LightOutcome {
    /// The skin followed the flashes.
    Seen,
    /// It did not, and `[light] when_too_bright = "pass_without"` let the challenge go on
    /// without this protection.
    NotSeen,
    /// `[light] enabled = false`: no flashes, the weaker guarantee.
    Off,
    /// The frames cannot show the flashes (a recorded session replayed without them).
    NotRun,
}

/// How a challenge ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub result: Outcome,
    pub reason: Option<Reason>,
    pub checks: Checks,
    /// Frames analysed from the start of the challenge to the decision.
    pub frames: u32,
    pub decided_t_ms: u64,
}

/// The followed face in one frame, as the session needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct FaceSample {
    pub bounds: Rect,
    pub nose: [f32; 2],
    /// Camera-frame yaw (degrees), for traces.
    pub yaw_deg: f32,
    /// The head's rotation (head → camera) from the rigid pose fit; `None` when the fit failed
    /// on this frame (the frame then takes no part in the turn).
    pub rotation: Option<Rotation>,
    /// Landmark positions for the layout check.
    pub layout: Vec<[f32; 2]>,
}

/// What the vision stage saw in one frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub t_ms: u64,
    /// Faces in the frame (see `vision::Observation::faces`).
    pub faces: usize,
    pub face: Option<FaceSample>,
    /// Non-planar motion of the tracked keypoints since the Nose state began (`motion`), when
    /// the keypoint tracker has it for this frame.
    pub parallax: Option<f32>,
    /// The skin's and the background's colour on this frame, while the screen flashes.
    pub light: Option<LightSample>,
    /// Whether the scene around the head moved with the face since the Nose state began
    /// (`surround`), when measured by this frame.
    pub surround: Option<SurroundMeasure>,
}

/// What the visitor is asked to do now. The session says which; the screen words it, in the
/// configured language (`screen::text`), and the `event` topic carries its English words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Prompt {
    LookAtCamera,
    ComeCloser,
    CentreFace,
    MoveNose,
    HoldStill,
}

impl Prompt {
    /// Every prompt (for the tests that every language words each one).
    pub const ALL: [Self; 5] =
        [Self::LookAtCamera, Self::ComeCloser, Self::CentreFace, Self::MoveNose, Self::HoldStill];

    /// The prompt of a phase when the session has nothing more specific.
    pub fn for_phase(phase: Phase) -> Self {
        match phase {
            Phase::Face => Self::LookAtCamera,
            Phase::Area => Self::CentreFace,
            Phase::Nose => Self::MoveNose,
            Phase::Done => Self::HoldStill,
        }
    }
}

/// What one step produced.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Still running: the phase and what the visitor is asked to do.
    Running { phase: Phase, prompt: Prompt },
    /// The Nose state began on this frame: seed the keypoint tracker here.
    NoseStarted,
    /// The challenge is over.
    Decided(Decision),
}

/// Frames of face motion the surround measure needs before it counts (one frame could be a
/// passer-by's shadow or a blurred frame).
const MIN_SURROUND_FRAMES: usize = 3;

/// One challenge in progress.
#[derive(Debug, Clone)]
pub struct Session {
    config: LivenessConfig,
    geometry: ChallengeGeometry,
    phase: Phase,
    started_ms: Option<u64>,
    phase_started_ms: u64,
    missing: u32,
    /// Consecutive Nose-state frames with the face outside the grown area box.
    outside: u32,
    frames: u32,
    nose_start: Option<FaceSample>,
    /// Head rotations of the first frames of the Nose state, and of the latest ones.
    start_turn: Vec<Rotation>,
    /// The latest [`TURN_FRAMES`] fitted rotations, with their frames' times.
    recent_turn: Vec<(u64, Rotation)>,
    /// The turn toward the target measured on the latest Nose-state frame.
    last_turn: Option<f32>,
    path: Vec<(f32, [f32; 2])>,
    /// The 3-D-motion values of the Nose state, with the time of their frames.
    parallax: Vec<(u64, f32)>,
    /// The latest measure of the scene around the head in the Nose state.
    surround: Option<SurroundMeasure>,
    /// `[light]`, and the sequence shown in this challenge's Nose state (`None`: none shown).
    light_config: LightConfig,
    light_plan: Option<LightPlan>,
    light_samples: Vec<LightSample>,
    /// The checks of a nose that reached the target while the flashes still ran: the decision
    /// waits for the sequence's end (and its latest lag).
    waiting: Option<(Checks, Option<Reason>)>,
}

impl Session {
    /// A challenge with the given geometry, waiting for a face.
    pub fn new(config: LivenessConfig, geometry: ChallengeGeometry) -> Self {
        Self {
            config,
            geometry,
            phase: Phase::Face,
            started_ms: None,
            phase_started_ms: 0,
            missing: 0,
            outside: 0,
            frames: 0,
            nose_start: None,
            start_turn: Vec::new(),
            recent_turn: Vec::new(),
            last_turn: None,
            path: Vec::new(),
            parallax: Vec::new(),
            surround: None,
            light_config: LightConfig { enabled: false, ..LightConfig::default() },
            light_plan: None,
            light_samples: Vec::new(),
            waiting: None,
        }
    }

    /// The light challenge's configuration (the default session runs none: `checks.light`
    /// is then `off`).
    #[must_use]
    pub fn with_light(mut self, config: LightConfig) -> Self {
        self.light_config = config;
        self
    }

    /// The flash sequence of this Nose state, if the frames show one.
    pub fn light_plan(&self) -> Option<&LightPlan> {
        self.light_plan.as_ref()
    }

    /// `[light]` of this session.
    pub fn light_config(&self) -> &LightConfig {
        &self.light_config
    }

    /// The flash sequence shown in this Nose state (`None`: the frames cannot show one, and
    /// the check is `not_run`).
    pub fn start_light(&mut self, plan: Option<LightPlan>) {
        self.light_plan = plan;
        self.light_samples.clear();
    }

    /// The challenge geometry.
    pub fn geometry(&self) -> &ChallengeGeometry {
        &self.geometry
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Feeds one analysed frame.
    pub fn step(&mut self, s: &Sample) -> Step {
        if self.phase == Phase::Done {
            return Step::Running { phase: Phase::Done, prompt: Prompt::HoldStill };
        }
        let start = *self.started_ms.get_or_insert(s.t_ms);
        if self.frames == 0 {
            self.phase_started_ms = start;
        }
        self.frames += 1;
        if s.faces >= 2 {
            return self.end(Outcome::Fail, Some(Reason::MultipleFaces), s.t_ms, Checks::default());
        }
        match self.phase {
            Phase::Face => self.face_step(s),
            Phase::Area => self.area_step(s),
            Phase::Nose => self.nose_step(s),
            Phase::Done => unreachable!("handled above"),
        }
    }

    /// The head's turn toward the target so far (degrees), once the Nose state measured one.
    pub fn turn_so_far(&self) -> Option<f32> {
        self.last_turn
    }

    /// The 3-D-motion value pooled so far, as a decision on a frame at `t_ms` would take it.
    pub fn motion_so_far(&self, t_ms: u64) -> Option<f32> {
        self.pooled_parallax(t_ms)
    }

    /// Whether a frame showing `face` would start the Nose state or decide the challenge:
    /// the caller must count the faces of such a frame over the whole frame (SPEC §2.1).
    pub fn is_pivotal(&self, face: &FaceSample) -> bool {
        match self.phase {
            Phase::Face | Phase::Area => self.fits_area(face),
            Phase::Nose => self.geometry.is_hit(face.nose),
            Phase::Done => false,
        }
    }

    /// Whether the face is inside the area box and covers enough of it to start the Nose state.
    fn fits_area(&self, face: &FaceSample) -> bool {
        let area = self.geometry.area;
        is_inside(&face.bounds, &area)
            && face.bounds.w * face.bounds.h >= self.config.min_face_fraction * area.w * area.h
    }

    fn elapsed(&self, s: &Sample) -> u64 {
        s.t_ms.saturating_sub(self.phase_started_ms)
    }

    fn enter(&mut self, phase: Phase, t_ms: u64) {
        self.phase = phase;
        self.phase_started_ms = t_ms;
        self.missing = 0;
        self.outside = 0;
    }

    fn face_step(&mut self, s: &Sample) -> Step {
        if self.elapsed(s) > self.config.face_timeout_ms {
            return self.end(Outcome::Timeout, Some(Reason::FaceTimeout), s.t_ms, Checks::default());
        }
        if s.face.is_none() {
            return Step::Running { phase: Phase::Face, prompt: Prompt::LookAtCamera };
        }
        self.enter(Phase::Area, s.t_ms);
        self.area_step(s)
    }

    fn area_step(&mut self, s: &Sample) -> Step {
        if self.elapsed(s) > self.config.area_timeout_ms {
            return self.end(Outcome::Timeout, Some(Reason::AreaTimeout), s.t_ms, self.partial_checks());
        }
        let Some(face) = &s.face else {
            return self.missing_face(self.config.area_max_missing_frames, Phase::Area, s.t_ms);
        };
        let area = self.geometry.area;
        if !is_inside(&face.bounds, &area) {
            return Step::Running { phase: Phase::Area, prompt: Prompt::CentreFace };
        }
        if face.bounds.w * face.bounds.h < self.config.min_face_fraction * area.w * area.h {
            return Step::Running { phase: Phase::Area, prompt: Prompt::ComeCloser };
        }
        self.enter(Phase::Nose, s.t_ms);
        self.nose_start = Some(face.clone());
        self.start_turn = face.rotation.into_iter().collect();
        self.recent_turn = face.rotation.into_iter().map(|r| (s.t_ms, r)).collect();
        self.path.clear();
        self.parallax.clear();
        self.surround = None;
        self.record_nose(s.t_ms, face.nose);
        Step::NoseStarted
    }

    fn missing_face(&mut self, limit: u32, phase: Phase, t_ms: u64) -> Step {
        self.missing += 1;
        if self.missing > limit {
            return self.end(Outcome::Fail, Some(Reason::FaceLost), t_ms, self.partial_checks());
        }
        Step::Running { phase, prompt: Prompt::LookAtCamera }
    }

    fn record_nose(&mut self, t_ms: u64, nose: [f32; 2]) {
        let (w, h) = (self.geometry.width as f32, self.geometry.height as f32);
        self.path.push((t_ms as f32, [nose[0] / w, nose[1] / h]));
    }

    /// Head turn since the Nose state began, signed so that positive is toward the target:
    /// the rotation about the head's own vertical axis (SPEC §2.3) from the mean of the first
    /// [`TURN_FRAMES`] fitted frames of the Nose state (the head is still there: a visitor
    /// reads the prompt before moving) to the latest frame, read off a straight line fitted
    /// through the turns of the latest [`TURN_FRAMES`] fitted frames against their time. A
    /// mean of those frames would smooth as much but measure the turn of the middle one: a
    /// frame behind a head that is still turning, a third to a quarter of the turn short on
    /// a quick visitor at 15 fps.
    fn turn_toward_target(&mut self, t_ms: u64, face: &FaceSample) -> f32 {
        if let Some(r) = face.rotation {
            if self.start_turn.len() < TURN_FRAMES {
                self.start_turn.push(r);
            }
            if self.recent_turn.len() == TURN_FRAMES {
                self.recent_turn.remove(0);
            }
            self.recent_turn.push((t_ms, r));
        }
        // No rigid pose on this frame: the last measured turn stands (none yet: no turn).
        if self.start_turn.is_empty() {
            return 0.0;
        }
        let start = mean_rotation(&self.start_turn);
        let turns: Vec<(f32, f32)> =
            self.recent_turn.iter().map(|(t, r)| (*t as f32, turn_deg(&start, r))).collect();
        let turn = line_at_last(&turns);
        if self.geometry.target_is_right() { turn } else { -turn }
    }

    fn nose_step(&mut self, s: &Sample) -> Step {
        if let Some(light) = s.light
            && self.light_done_ms().is_some_and(|done| s.t_ms <= done)
        {
            self.light_samples.push(light);
        }
        if self.waiting.is_some() {
            return self.wait_for_light(s);
        }
        if self.elapsed(s) > self.config.nose_timeout_ms {
            return self.end(Outcome::Timeout, Some(Reason::NoseTimeout), s.t_ms, self.partial_checks());
        }
        let face = match self.face_in_area(s) {
            Ok(face) => face,
            Err(step) => return step,
        };
        self.record_nose(s.t_ms, face.nose);
        if let Some(p) = s.parallax {
            self.parallax.push((s.t_ms, p));
        }
        if s.surround.is_some() {
            self.surround = s.surround;
        }
        let turn = self.turn_toward_target(s.t_ms, face);
        self.last_turn = Some(turn);
        if turn <= -self.config.min_yaw_deg {
            let checks = Checks { yaw_deg: Some(turn), ..self.partial_checks() };
            return self.end(Outcome::Fail, Some(Reason::TurnedAway), s.t_ms, checks);
        }
        if !self.geometry.is_hit(face.nose) {
            return Step::Running { phase: Phase::Nose, prompt: Prompt::MoveNose };
        }
        self.decide(face, turn, s.t_ms)
    }

    /// The Nose state's face, in view and inside the area box; or how the challenge goes on
    /// (a missing face, counted) or ends (lost, or out of the area).
    fn face_in_area<'s>(&mut self, s: &'s Sample) -> Result<&'s FaceSample, Step> {
        let Some(face) = &s.face else {
            return Err(self.missing_face(self.config.nose_max_missing_frames, Phase::Nose, s.t_ms));
        };
        // Hysteresis: the face entered through the area box itself and leaves only when it is
        // outside the box grown by `nose_area_growth` on two frames in a row, so one frame's
        // landmark jitter at the edge does not end the challenge.
        let tolerant = grow(self.geometry.area, self.config.nose_area_growth);
        self.outside = if is_inside(&face.bounds, &tolerant) { 0 } else { self.outside + 1 };
        if self.outside >= 2 {
            return Err(self.end(Outcome::Fail, Some(Reason::LeftArea), s.t_ms, self.partial_checks()));
        }
        Ok(face)
    }

    fn partial_checks(&self) -> Checks {
        Checks { single_face: true, ..Checks::default() }
    }

    /// When the flashes' light has been seen in full: the sequence's end, its latest lag.
    fn light_done_ms(&self) -> Option<u64> {
        self.light_plan
            .as_ref()
            .map(|p| p.end_ms() + u64::from(self.light_config.max_lag_ms) + LIGHT_SETTLE_MS)
    }

    /// A nose on the target while the flashes run: the face must stay in view and in the area
    /// until they have been seen; then the decision.
    fn wait_for_light(&mut self, s: &Sample) -> Step {
        if let Err(step) = self.face_in_area(s) {
            return step;
        }
        if self.light_done_ms().is_some_and(|done| s.t_ms < done) {
            return Step::Running { phase: Phase::Nose, prompt: Prompt::HoldStill };
        }
        let (checks, reason) = self.waiting.take().expect("waiting");
        self.finish(checks, reason, s.t_ms)
    }

    /// The light check on top of the others' `reason`.
    fn finish(&mut self, mut checks: Checks, reason: Option<Reason>, t_ms: u64) -> Step {
        let mut reason = reason;
        checks.light = Some(if !self.light_config.enabled {
            LightOutcome::Off
        } else if let Some(plan) = &self.light_plan {
            let m = light::measure(plan, &self.light_samples, self.light_config.max_lag_ms);
            checks.light_correlation = m.map(|m| m.correlation);
            checks.light_amplitude = m.map(|m| m.amplitude);
            checks.light_uniformity = m.map(|m| m.uniformity);
            checks.light_additivity = m.and_then(|m| m.additivity);
            checks.light_balance = m.map(|m| m.balance);
            checks.light_residual = m.map(|m| m.residual);
            checks.light_background = m.and_then(|m| m.background_share());
            let c = &self.light_config;
            if m.is_some_and(|m| c.seen(&m)) {
                LightOutcome::Seen
            } else {
                if reason.is_none() && c.when_too_bright == WhenTooBright::Fail {
                    reason = Some(Reason::NoLightResponse);
                }
                LightOutcome::NotSeen
            }
        } else {
            LightOutcome::NotRun
        });
        let outcome = if reason.is_none() { Outcome::Pass } else { Outcome::Fail };
        self.end(outcome, reason, t_ms, checks)
    }

    /// Non-planar motion at the decision: read off a straight line through the last three
    /// values measured against their frames' times, at the latest of them (each measures the
    /// motion since the Nose state began, so it grows with the turn; the line smooths one
    /// frame's tracking noise without measuring the middle frame, a frame behind a head that
    /// is still turning, as their median did). `None` without three values, or when the oldest
    /// of them is more than [`MOTION_MAX_AGE_MS`] older than `t_ms` (the tracker lost the points
    /// it needs since: what it measured before does not describe the decision).
    fn pooled_parallax(&self, t_ms: u64) -> Option<f32> {
        let n = self.parallax.len();
        let last = self.parallax.get(n.checked_sub(3)?..)?;
        if t_ms.saturating_sub(last[0].0) > MOTION_MAX_AGE_MS {
            return None;
        }
        let points: Vec<(f32, f32)> = last.iter().map(|(t, v)| (*t as f32, *v)).collect();
        Some(line_at_last(&points))
    }

    fn largest_nose_step(&self) -> f32 {
        let aspect = self.geometry.width as f32 / self.geometry.height as f32;
        self.path
            .windows(2)
            .map(|w| ((w[1].1[0] - w[0].1[0]) * aspect).hypot(w[1].1[1] - w[0].1[1]))
            .fold(0.0, f32::max)
    }

    fn decide(&mut self, face: &FaceSample, turn: f32, t_ms: u64) -> Step {
        let start = self.nose_start.as_ref().expect("set on entering Nose");
        let checks = Checks {
            single_face: true,
            nose_hit: true,
            yaw_deg: Some(turn),
            layout_change: Some(layout_change(&start.layout, &face.layout)),
            parallax: self.pooled_parallax(t_ms),
            path_rms: path_rms(&self.path),
            surround_following: self
                .surround
                .filter(|m| m.frames >= MIN_SURROUND_FRAMES)
                .map(|m| m.following),
            ..Checks::default()
        };
        let c = &self.config;
        let reason = if turn < c.min_yaw_deg {
            Some(Reason::NoRotation)
        } else if checks.layout_change.is_none_or(|v| v <= c.min_layout_change) {
            Some(Reason::LayoutUnchanged)
        } else if checks.parallax.is_none_or(|v| v < c.min_parallax) {
            Some(Reason::FlatMotion)
        } else if checks.surround_following.is_some_and(|f| f > c.max_surround_following) {
            Some(Reason::MovingSurround)
        } else if checks.path_rms.is_none_or(|v| v > c.max_path_rms)
            || self.largest_nose_step() > c.max_nose_step
        {
            Some(Reason::JerkyPath)
        } else {
            None
        };
        let wait = reason.is_none() || self.light_config.measure_every_decision;
        if wait && self.light_done_ms().is_some_and(|done| t_ms < done) {
            // Everything else passed; the flashes are still to be seen in full.
            self.waiting = Some((checks, reason));
            return Step::Running { phase: Phase::Nose, prompt: Prompt::HoldStill };
        }
        self.finish(checks, reason, t_ms)
    }

    fn end(&mut self, result: Outcome, reason: Option<Reason>, t_ms: u64, mut checks: Checks) -> Step {
        checks.single_face = reason != Some(Reason::MultipleFaces);
        self.phase = Phase::Done;
        Step::Decided(Decision { result, reason, checks, frames: self.frames, decided_t_ms: t_ms })
    }
}

/// The value at the last point's time of the least-squares line through `(t, v)` points (the
/// last value with fewer than three; 0 with none).
fn line_at_last(points: &[(f32, f32)]) -> f32 {
    let Some(&(t_last, v_last)) = points.last() else { return 0.0 };
    if points.len() < 3 {
        return v_last;
    }
    let n = points.len() as f32;
    let (mt, mv) = points.iter().fold((0.0, 0.0), |(a, b), (t, v)| (a + t / n, b + v / n));
    let (stv, stt) =
        points.iter().fold((0.0, 0.0), |(a, b), (t, v)| (a + (t - mt) * (v - mv), b + (t - mt) * (t - mt)));
    if stt <= 0.0 {
        return mv;
    }
    mv + stv / stt * (t_last - mt)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::liveness::TargetDraw;

    const RIGHT: TargetDraw = TargetDraw { right: true, below: false, dx: 70, dy: 30 };

    fn session() -> Session {
        Session::new(LivenessConfig::default(), ChallengeGeometry::new(640, 480, RIGHT))
    }

    /// A head turned `deg` about its vertical axis (positive: nose toward image +x).
    fn turned(deg: f32) -> Rotation {
        // A rotation by θ about +y (down) swings the nose (−z) toward −x.
        let (s, c) = (-deg).to_radians().sin_cos();
        [[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]]
    }

    #[test]
    fn the_test_heads_turn_the_way_they_say() {
        assert!((turn_deg(&turned(0.0), &turned(12.0)) - 12.0).abs() < 1e-3);
    }

    /// A face whose layout squeezes toward image right as `turn` (0..1) grows.
    fn face(nose: [f32; 2], yaw_deg: f32, turn: f32) -> FaceSample {
        let layout = (0..6)
            .flat_map(|y| (0..6).map(move |x| (x, y)))
            .map(|(x, y)| {
                let fx = x as f32 / 5.0;
                [fx.powf(1.0 + 1.5 * turn) * 100.0, y as f32 * 20.0]
            })
            .collect();
        FaceSample {
            bounds: Rect { x: 220.0, y: 100.0, w: 200.0, h: 260.0 },
            nose,
            yaw_deg,
            rotation: Some(turned(yaw_deg)),
            layout,
        }
    }

    fn sample(t_ms: u64, face: Option<FaceSample>) -> Sample {
        Sample {
            t_ms,
            faces: usize::from(face.is_some()),
            face,
            parallax: Some(0.05),
            light: None,
            surround: None,
        }
    }

    /// Runs a live-looking performance: nose from the centre to the target over `n` frames
    /// while the head turns 15° toward it. `bend` perturbs frame `i`'s sample.
    fn perform(s: &mut Session, n: u32, bend: impl Fn(u32, &mut Sample)) -> Step {
        let target = s.geometry().target;
        let goal = [target.x + target.w / 2.0, target.y + target.h / 2.0];
        let mut last = s.step(&sample(0, Some(face([320.0, 240.0], 0.0, 0.0))));
        assert_eq!(last, Step::NoseStarted);
        for i in 1..=n {
            let k = i as f32 / n as f32;
            let nose = [320.0 + (goal[0] - 320.0) * k, 240.0 + (goal[1] - 240.0) * k * k];
            let mut smp = sample(u64::from(i) * 66, Some(face(nose, 15.0 * k, k)));
            bend(i, &mut smp);
            last = s.step(&smp);
            if matches!(last, Step::Decided(_)) {
                break;
            }
        }
        last
    }

    fn decided(step: Step) -> Decision {
        match step {
            Step::Decided(d) => d,
            other => panic!("not decided: {other:?}"),
        }
    }

    #[test]
    fn a_smooth_turn_into_the_target_passes_with_every_check_measured() {
        let d = decided(perform(&mut session(), 20, |_, _| {}));
        assert_eq!((d.result, d.reason), (Outcome::Pass, None), "{d:?}");
        assert!(d.checks.single_face && d.checks.nose_hit);
        assert!(d.checks.yaw_deg.unwrap() >= 5.0);
        assert!(d.checks.layout_change.unwrap() > 0.075);
        assert!(d.checks.path_rms.unwrap() < 0.02);
        assert!((d.checks.parallax.unwrap() - 0.05).abs() < 1e-6);
    }

    #[test]
    fn two_faces_fail_at_once() {
        let mut s = session();
        let mut two = sample(0, Some(face([320.0, 240.0], 0.0, 0.0)));
        two.faces = 2;
        let d = decided(s.step(&two));
        assert_eq!((d.result, d.reason, d.frames), (Outcome::Fail, Some(Reason::MultipleFaces), 1));
        assert!(!d.checks.single_face);
    }

    #[test]
    fn two_faces_in_the_nose_state_fail_at_once() {
        let d = decided(perform(&mut session(), 20, |i, smp| smp.faces = if i == 5 { 2 } else { 1 }));
        assert_eq!(d.reason, Some(Reason::MultipleFaces));
        assert_eq!(d.frames, 6);
    }

    #[test]
    fn too_many_frames_without_a_face_fail_in_the_nose_state() {
        let d = decided(perform(&mut session(), 40, |i, smp| {
            if i % 2 == 0 {
                smp.face = None;
                smp.faces = 0;
            }
        }));
        assert_eq!(d.reason, Some(Reason::FaceLost));
    }

    #[test]
    fn a_few_frames_without_a_face_are_tolerated() {
        let d = decided(perform(&mut session(), 20, |i, smp| {
            if i == 3 || i == 7 {
                smp.face = None;
                smp.faces = 0;
            }
        }));
        assert_eq!(d.result, Outcome::Pass, "{d:?}");
    }

    #[test]
    fn the_nose_state_times_out_after_ten_seconds() {
        let mut s = session();
        assert_eq!(s.step(&sample(0, Some(face([320.0, 240.0], 0.0, 0.0)))), Step::NoseStarted);
        assert!(matches!(s.step(&sample(9_999, Some(face([321.0, 240.0], 0.0, 0.0)))), Step::Running { .. }));
        let d = decided(s.step(&sample(10_001, Some(face([322.0, 240.0], 0.0, 0.0)))));
        assert_eq!((d.result, d.reason), (Outcome::Timeout, Some(Reason::NoseTimeout)));
    }

    #[test]
    fn the_area_state_times_out_when_the_face_stays_too_small() {
        let mut s = session();
        let mut small = face([320.0, 240.0], 0.0, 0.0);
        small.bounds = Rect { x: 280.0, y: 200.0, w: 80.0, h: 100.0 };
        let step = s.step(&sample(0, Some(small.clone())));
        assert_eq!(step, Step::Running { phase: Phase::Area, prompt: Prompt::ComeCloser });
        let d = decided(s.step(&sample(30_001, Some(small))));
        assert_eq!((d.result, d.reason), (Outcome::Timeout, Some(Reason::AreaTimeout)));
    }

    #[test]
    fn nobody_arriving_times_out_in_the_face_state() {
        let mut s = session();
        assert!(matches!(s.step(&sample(0, None)), Step::Running { phase: Phase::Face, .. }));
        let d = decided(s.step(&sample(30_001, None)));
        assert_eq!(d.reason, Some(Reason::FaceTimeout));
    }

    #[test]
    fn turning_away_from_the_target_fails_at_once() {
        let d = decided(perform(&mut session(), 20, |i, smp| {
            if let Some(f) = smp.face.as_mut() {
                f.rotation = Some(turned(-(i as f32)));
            }
        }));
        assert_eq!(d.reason, Some(Reason::TurnedAway));
        assert!(d.checks.yaw_deg.unwrap() <= -5.0);
        // The start is the mean of three frames: (0, −1, −2°) reads −1°; the end is read off a
        // line through the latest three, which follows a steady turn without lag, so −5° of
        // measured turn comes at the 6th frame of the Nose state (the 7th of the challenge).
        assert_eq!(d.frames, 7, "fails on the first frame whose turn is 5° away");
    }

    #[test]
    fn sliding_without_turning_is_no_rotation() {
        let d = decided(perform(&mut session(), 20, |_, smp| {
            if let Some(f) = smp.face.as_mut() {
                f.rotation = Some(turned(1.0));
            }
        }));
        assert_eq!(d.reason, Some(Reason::NoRotation));
    }

    #[test]
    fn the_motion_is_judged_as_measured_on_the_decision_frame_not_a_frame_behind() {
        // A value growing steadily with the turn: the decision takes the decision frame's.
        let d = decided(perform(&mut session(), 20, |i, smp| smp.parallax = Some(0.004 * i as f32)));
        let frames = d.frames - 1;
        let expected = 0.004 * frames as f32;
        assert!((d.checks.parallax.unwrap() - expected).abs() < 1e-4, "{d:?} after {frames} Nose frames");
    }

    #[test]
    fn flat_motion_fails_the_parallax_check() {
        let flat = LivenessConfig::default().min_parallax * 0.5;
        let d = decided(perform(&mut session(), 20, |_, smp| smp.parallax = Some(flat)));
        assert_eq!(d.reason, Some(Reason::FlatMotion));
        assert!((d.checks.parallax.unwrap() - flat).abs() < 1e-6, "the pooled value is reported");
    }

    #[test]
    fn a_surround_that_moves_with_the_face_fails_and_a_still_one_passes() {
        let m = |following: f32, frames: usize| SurroundMeasure {
            following,
            decided: 10 * frames,
            frames,
            patches: 20,
            max_shift_px: 30.0,
        };
        let moved = decided(perform(&mut session(), 20, |_, smp| smp.surround = Some(m(0.9, 6))));
        assert_eq!(
            (moved.reason, moved.checks.surround_following),
            (Some(Reason::MovingSurround), Some(0.9))
        );
        let still = decided(perform(&mut session(), 20, |_, smp| smp.surround = Some(m(0.1, 6))));
        assert_eq!((still.result, still.checks.surround_following), (Outcome::Pass, Some(0.1)));
        // Two frames of evidence are not enough to refuse; no texture around the head says nothing.
        let brief = decided(perform(&mut session(), 20, |_, smp| smp.surround = Some(m(1.0, 2))));
        assert_eq!((brief.result, brief.checks.surround_following), (Outcome::Pass, None));
        let flat = decided(perform(&mut session(), 20, |_, _| {}));
        assert_eq!((flat.result, flat.checks.surround_following), (Outcome::Pass, None));
    }

    #[test]
    fn a_stale_3d_motion_value_fails_the_check() {
        // The tracker measures on the first frames only, then loses what it needs: the values
        // from before the turn do not decide the challenge.
        let live = LivenessConfig::default().min_parallax * 3.0;
        let d = decided(perform(&mut session(), 20, |i, smp| {
            smp.parallax = (i < 8).then_some(live);
        }));
        assert_eq!(d.reason, Some(Reason::FlatMotion));
        assert_eq!(d.checks.parallax, None);
        // Measured up to the decision, the same values pass.
        let d = decided(perform(&mut session(), 20, |_, smp| smp.parallax = Some(live)));
        assert_eq!(d.reason, None);
    }

    #[test]
    fn a_jerky_path_fails() {
        let d = decided(perform(&mut session(), 20, |i, smp| {
            if let Some(f) = smp.face.as_mut()
                && i % 2 == 1
                && i < 19
            {
                f.nose[1] += 30.0;
            }
        }));
        assert_eq!(d.reason, Some(Reason::JerkyPath), "{d:?}");
    }

    #[test]
    fn leaving_the_area_in_the_nose_state_fails() {
        let d = decided(perform(&mut session(), 20, |i, smp| {
            if let Some(f) = smp.face.as_mut()
                && (4..=5).contains(&i)
            {
                f.bounds.x = 20.0;
            }
        }));
        assert_eq!(d.reason, Some(Reason::LeftArea));
        assert_eq!(d.frames, 6, "on the second frame outside");
    }

    #[test]
    fn one_frame_of_the_box_jittering_out_of_the_area_is_tolerated() {
        let d = decided(perform(&mut session(), 20, |i, smp| {
            if let Some(f) = smp.face.as_mut()
                && (i == 4 || i == 9)
            {
                f.bounds.x = 20.0;
            }
        }));
        assert_eq!(d.result, Outcome::Pass, "{d:?}");
    }

    #[test]
    fn a_decided_session_stays_decided() {
        let mut s = session();
        let mut two = sample(0, None);
        two.faces = 2;
        assert!(matches!(s.step(&two), Step::Decided(_)));
        assert!(matches!(s.step(&sample(10, None)), Step::Running { phase: Phase::Done, .. }));
    }
}
