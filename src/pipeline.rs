//! Wiring one challenge: frames → face tracker + keypoint tracker → session → decision.
//!
//! [`ChallengeRunner`] is driven one frame at a time, by the live service and by `verify`
//! alike, so a recorded session replays through exactly the code a door runs.

use image::RgbImage;

use crate::camera::{Camera, CameraError, Frame};
use crate::liveness::motion::{SEED_LANDMARKS, planar_residual};
use crate::liveness::session::{Checks, Decision, FaceSample, Outcome, Reason, Sample, Session, Step};
use crate::vision::flow::{self, FlowParams, Pyramid};
use crate::vision::{FaceTracker, TrackedFace, VisionError};

/// Keypoints followed from the start of the Nose state.
#[derive(Debug)]
struct Keypoints {
    start: Vec<[f32; 2]>,
    now: Vec<Option<[f32; 2]>>,
    /// The previous frame's pyramid, around the points it was built for.
    prev: Pyramid,
    /// The buffers of the next frame's pyramid.
    next: Pyramid,
    face_width: f32,
}

impl Keypoints {
    /// Starts following `start` in `img`.
    fn new(img: &RgbImage, start: Vec<[f32; 2]>, face_width: f32, params: &FlowParams) -> Self {
        let mut prev = Pyramid::default();
        prev.build(img, params.levels, Some(flow::area_around(&start, params.reach)));
        Self {
            now: start.iter().map(|p| Some(*p)).collect(),
            start,
            prev,
            next: Pyramid::default(),
            face_width,
        }
    }

    /// Tracks the live points into `img` and returns the non-planar motion since the start.
    /// The new frame's pyramid covers only the live points' neighbourhood (`params.reach`),
    /// in buffers kept from frame to frame.
    fn advance(&mut self, img: &RgbImage, params: &FlowParams) -> Option<f32> {
        let alive: Vec<(usize, [f32; 2])> =
            self.now.iter().enumerate().filter_map(|(i, p)| p.map(|p| (i, p))).collect();
        let pts: Vec<[f32; 2]> = alive.iter().map(|(_, p)| *p).collect();
        self.next.build(img, params.levels, Some(flow::area_around(&pts, params.reach)));
        let moved = flow::track(&self.prev, &self.next, &pts, params);
        self.now.iter_mut().for_each(|p| *p = None);
        for ((i, _), q) in alive.iter().zip(moved) {
            self.now[*i] = q;
        }
        std::mem::swap(&mut self.prev, &mut self.next);
        let (a, b): (Vec<_>, Vec<_>) =
            self.start.iter().zip(&self.now).filter_map(|(s, n)| n.map(|n| (*s, n))).unzip();
        planar_residual(&a, &b, self.face_width)
    }
}

/// Why a challenge could not be run to its end.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The camera failed (for a replay: unusable input).
    #[error(transparent)]
    Camera(#[from] CameraError),
    /// Something done with a frame failed (recording, encoding).
    #[error(transparent)]
    Frame(#[from] anyhow::Error),
}

/// The layout points and pose the session needs from a tracked face.
pub fn face_sample(face: &TrackedFace) -> FaceSample {
    FaceSample {
        bounds: face.bounds,
        nose: face.landmarks.nose_tip(),
        yaw_deg: face.pose.yaw,
        layout: SEED_LANDMARKS.iter().map(|&i| face.landmarks.xy(i)).collect(),
    }
}

/// One challenge being watched.
#[derive(Debug)]
pub struct ChallengeRunner {
    tracker: FaceTracker,
    session: Session,
    flow: FlowParams,
    keypoints: Option<Keypoints>,
    /// The nose tip in the last analysed frame, for the screen.
    nose: Option<[f32; 2]>,
}

impl ChallengeRunner {
    /// Watches `session` through `tracker` (reset for a fresh start).
    pub fn new(mut tracker: FaceTracker, session: Session) -> Self {
        tracker.reset();
        Self { tracker, session, flow: FlowParams::default(), keypoints: None, nose: None }
    }

    /// The session being run.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The nose tip seen in the last analysed frame (camera pixels), if a face was seen.
    pub fn nose(&self) -> Option<[f32; 2]> {
        self.nose
    }

    /// Ends the challenge and hands the tracker back for the next one.
    pub fn into_tracker(self) -> FaceTracker {
        self.tracker
    }

    /// Analyses one frame and advances the challenge.
    ///
    /// # Errors
    /// [`VisionError`] if a network fails on this frame (the caller may skip the frame).
    pub fn feed(&mut self, frame: &Frame) -> Result<Step, VisionError> {
        let obs = self.tracker.observe(&frame.image)?;
        self.nose = obs.face.as_ref().map(|f| f.landmarks.nose_tip());
        let parallax = match self.keypoints.as_mut() {
            Some(k) => k.advance(&frame.image, &self.flow),
            None => None,
        };
        let sample =
            Sample { t_ms: frame.t_ms, faces: obs.faces, face: obs.face.as_ref().map(face_sample), parallax };
        let step = self.session.step(&sample);
        if step == Step::NoseStarted
            && let Some(face) = &obs.face
        {
            let start: Vec<[f32; 2]> = SEED_LANDMARKS.iter().map(|&i| face.landmarks.xy(i)).collect();
            self.keypoints = Some(Keypoints::new(&frame.image, start, face.bounds.w, &self.flow));
        }
        Ok(step)
    }

    /// Runs the challenge on `camera` until it is decided or the camera has no more frames
    /// (then it fails as `incomplete`). `tap` sees each frame before the analysis (to record
    /// it, or to pass it through a codec). A frame the networks fail on is logged and skipped,
    /// as the live service does.
    ///
    /// # Errors
    /// [`RunError`] when the camera or `tap` fails.
    pub fn run(
        &mut self,
        camera: &mut dyn Camera,
        mut tap: impl FnMut(&mut Frame) -> anyhow::Result<()>,
    ) -> Result<Decision, RunError> {
        let (mut frames, mut last_t) = (0u32, 0u64);
        while let Some(mut frame) = camera.next_frame()? {
            tap(&mut frame)?;
            frames += 1;
            last_t = frame.t_ms;
            match self.feed(&frame) {
                Ok(Step::Decided(d)) => return Ok(d),
                Ok(_) => {}
                Err(e) => eprintln!("livegate: frame at {} ms skipped: {e}", frame.t_ms),
            }
        }
        Ok(Decision {
            result: Outcome::Fail,
            reason: Some(Reason::Incomplete),
            // More than one face would have ended the session already.
            checks: Checks { single_face: true, ..Checks::default() },
            frames,
            decided_t_ms: last_t,
        })
    }
}
