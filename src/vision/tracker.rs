//! Per-frame face tracking: detector to acquire, mesh to follow, detector again to count.
//!
//! While a face is followed, the detector counts faces over the whole frame on the timetable
//! of [`CountSchedule`] (a second face in view for `count_interval_ms` is always seen), and on
//! any frame the caller asks for ([`FaceTracker::observe_counted`]: the Nose-start and decision
//! frames). Its periodic run goes to a second core beside the mesh instead of before it, so a
//! detector frame costs the time of the slower of the two, not their sum; the results are the
//! same as running them in turn.
//!
//! The face box is the bounds of the mesh's landmarks on every frame, whether the detector ran
//! or not: the Area coverage, the Nose state's "left the area" test and the keypoint scale must
//! not jump when the detector's box (a different shape) replaces it for a frame.

use image::RgbImage;
use serde::{Deserialize, Serialize};

use super::count::CountSchedule;
use super::pose::{Intrinsics, Pose, head_pose};
use super::warp::InputBuffer;
use super::{FaceBox, FaceDetector, LandmarkModel, Landmarks, Rect, Roi, VisionError};

/// Tuning of the vision stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VisionConfig {
    /// Minimum detector score for a face to count (MediaPipe's default for this model).
    pub detector_min_score: f32,
    /// Minimum mesh face-presence probability to keep following a face.
    pub presence_min: f32,
    /// A second face in view this long (ms) is always counted: the detector runs over the
    /// whole frame at least every `ceil(count_interval_ms / frame period)` frames while a face
    /// is followed (every 3rd at 30 fps, every 2nd at 15 fps; SPEC §2.1).
    pub count_interval_ms: u32,
    /// The camera's horizontal field of view, for head pose relative to the camera axis.
    pub hfov_deg: f32,
}

impl Default for VisionConfig {
    fn default() -> Self {
        Self { detector_min_score: 0.5, presence_min: 0.5, count_interval_ms: 100, hfov_deg: 62.0 }
    }
}

/// The followed face in one frame.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackedFace {
    pub landmarks: Landmarks,
    pub pose: Pose,
    /// The crop the landmarks came from.
    pub roi: Roi,
    /// The face's box: the bounds of the mesh's landmarks, on every frame.
    pub bounds: Rect,
    /// The camera the pose was fitted with.
    pub camera: Intrinsics,
}

/// What the vision stage saw in one frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// Faces in the frame: the detector's count when it ran this frame (plus the tracked face
    /// if the detector missed it), otherwise 0 or 1 from the track.
    pub faces: usize,
    /// Whether the detector ran on this frame (so `faces` counts every face, not just the
    /// tracked one).
    pub detector_ran: bool,
    /// The followed face, if any.
    pub face: Option<TrackedFace>,
}

/// What a detector frame of a followed face yields: the detections, and the landmarks (with
/// their crop) if the mesh still sees a face.
type DetectedAndSeen = Result<(Vec<FaceBox>, Option<(Landmarks, Roi)>), VisionError>;

/// Follows one face across frames (see the module docs of [`super`]).
#[derive(Debug, Clone)]
pub struct FaceTracker {
    detector: FaceDetector,
    mesh: LandmarkModel,
    config: VisionConfig,
    roi: Option<Roi>,
    schedule: CountSchedule,
    /// The networks' input tensors, kept across frames.
    letterbox: InputBuffer,
    crop: InputBuffer,
}

impl FaceTracker {
    /// The engine's fingerprint ([`super::fingerprint`]) of the two networks.
    pub fn engine(&self) -> String {
        super::fingerprint(&self.detector, &self.mesh)
    }

    /// The two networks by file name, detector first: `face_detection_short_range_fp32+face_landmark_int8`
    /// (the retained `state`'s `model`).
    pub fn models(&self) -> String {
        let stem = |p: &std::path::Path| {
            p.file_stem().map_or_else(|| p.display().to_string(), |s| s.to_string_lossy().into_owned())
        };
        format!("{}+{}", stem(self.detector.path()), stem(self.mesh.path()))
    }

    /// A tracker with no face yet.
    pub fn new(detector: FaceDetector, mesh: LandmarkModel, config: VisionConfig) -> Self {
        Self {
            detector,
            mesh,
            roi: None,
            schedule: CountSchedule::new(config.count_interval_ms),
            config,
            letterbox: InputBuffer::default(),
            crop: InputBuffer::default(),
        }
    }

    /// The face detector (the idle face trigger runs it alone).
    pub fn detector(&self) -> &FaceDetector {
        &self.detector
    }

    /// Uses `config` from the next frame on (another lens, thresholds), with a fresh start.
    pub fn set_config(&mut self, config: VisionConfig) {
        self.config = config;
        self.reset();
    }

    /// Forgets the current face and the detector's timetable (e.g. between challenges).
    pub fn reset(&mut self) {
        self.roi = None;
        self.schedule = CountSchedule::new(self.config.count_interval_ms);
    }

    /// Analyses the frame taken at `t_ms` (a monotonic or recorded timestamp).
    ///
    /// # Errors
    /// [`VisionError::Inference`] if a network fails; the track is dropped so the next frame
    /// starts afresh.
    pub fn observe(&mut self, img: &RgbImage, t_ms: u64) -> Result<Observation, VisionError> {
        let due = self.schedule.due(t_ms);
        let result = self.observe_inner(img, due);
        if result.is_err() {
            self.roi = None;
        }
        self.schedule.frame(t_ms, result.as_ref().is_ok_and(|o| o.detector_ran));
        result
    }

    /// Makes sure the faces of the frame `observe` just analysed were counted over the whole
    /// frame: runs the detector now if it did not run on it (the Nose-start and decision
    /// frames must be counted whatever the timetable says).
    ///
    /// # Errors
    /// [`VisionError::Inference`] if the detector or the mesh fails.
    pub fn observe_counted(&mut self, img: &RgbImage, obs: &mut Observation) -> Result<(), VisionError> {
        if obs.detector_ran {
            return Ok(());
        }
        let found = self.detect(img)?;
        obs.faces = self.count_faces(img, &found, obs.face.as_ref())?;
        obs.detector_ran = true;
        self.schedule.mark_counted();
        Ok(())
    }

    fn observe_inner(&mut self, img: &RgbImage, due: bool) -> Result<Observation, VisionError> {
        let track = self.roi;
        let (mut detections, mut seen) = match track {
            Some(roi) if due => {
                let (found, seen) = self.detect_beside_mesh(img, roi)?;
                (Some(found), seen)
            }
            Some(roi) => (None, self.landmarks_at(img, roi)?),
            None => {
                let found = self.detect(img)?;
                let seen = match found.first() {
                    Some(det) => self.landmarks_at(img, Roi::from_detection(det))?,
                    None => None,
                };
                (Some(found), seen)
            }
        };
        if seen.is_none() && track.is_some() {
            // Lost the track: look for a face again before giving up on this frame.
            if detections.is_none() {
                detections = Some(self.detect(img)?);
            }
            if let Some(det) = detections.as_ref().and_then(|d| d.first()) {
                seen = self.landmarks_at(img, Roi::from_detection(det))?;
            }
        }
        let face = seen.map(|(landmarks, roi)| self.tracked(img, landmarks, roi));
        self.roi = face.as_ref().map(|f| Roi::from_landmarks(&f.landmarks));
        let faces = match &detections {
            Some(found) => self.count_faces(img, found, face.as_ref())?,
            None => usize::from(face.is_some()),
        };
        Ok(Observation { faces, detector_ran: detections.is_some(), face })
    }

    fn detect(&mut self, img: &RgbImage) -> Result<Vec<FaceBox>, VisionError> {
        self.detector.detect_with(img, &mut self.letterbox)
    }

    /// The detector (for the face count) on a second core while the mesh follows the track on
    /// this one: the same two results as running them one after the other, in the time of the
    /// slower one. Both read the same frame; the thread is joined before this returns.
    fn detect_beside_mesh(&mut self, img: &RgbImage, roi: Roi) -> DetectedAndSeen {
        let Self { detector, mesh, letterbox, crop, .. } = self;
        let thread_error = |what: &str| VisionError::Inference {
            path: detector.path().to_owned(),
            source: anyhow::anyhow!("detector thread: {what}"),
        };
        let (found, landmarks) = std::thread::scope(|scope| {
            let job = std::thread::Builder::new()
                .name("detector".into())
                .spawn_scoped(scope, || detector.detect_with(img, letterbox));
            let landmarks = mesh.landmarks_with(img, &roi, crop);
            let found = match job {
                Ok(handle) => handle.join().unwrap_or_else(|_| Err(thread_error("panicked"))),
                Err(e) => Err(thread_error(&format!("cannot start: {e}"))),
            };
            (found, landmarks)
        });
        let landmarks = landmarks?;
        let seen = (landmarks.presence >= self.config.presence_min).then_some((landmarks, roi));
        Ok((found?, seen))
    }

    /// The mesh's landmarks in `roi`; `None` when the mesh says no face is there.
    fn landmarks_at(&mut self, img: &RgbImage, roi: Roi) -> Result<Option<(Landmarks, Roi)>, VisionError> {
        let landmarks = self.mesh.landmarks_with(img, &roi, &mut self.crop)?;
        Ok((landmarks.presence >= self.config.presence_min).then_some((landmarks, roi)))
    }

    /// The followed face: its pose and its box (the landmarks' bounds, on every frame).
    fn tracked(&self, img: &RgbImage, landmarks: Landmarks, roi: Roi) -> TrackedFace {
        let cam = Intrinsics::from_hfov(img.width(), img.height(), self.config.hfov_deg);
        let pose = head_pose(&landmarks, &cam);
        let bounds = landmarks.bounds();
        TrackedFace { landmarks, pose, roi, bounds, camera: cam }
    }

    /// Faces in a frame where the detector ran: the tracked face, plus every other detection
    /// the mesh confirms (presence ≥ `presence_min`), so a face-like pattern in the background
    /// is not a second visitor. Costs one extra mesh pass per extra detection, only on
    /// detector frames.
    fn count_faces(
        &mut self,
        img: &RgbImage,
        found: &[FaceBox],
        tracked: Option<&TrackedFace>,
    ) -> Result<usize, VisionError> {
        let mut faces = usize::from(tracked.is_some());
        for det in found {
            if tracked.is_some_and(|t| t.landmarks.bounds().contains(det.centre())) {
                continue;
            }
            let lm = self.mesh.landmarks_with(img, &Roi::from_detection(det), &mut self.crop)?;
            faces += usize::from(lm.presence >= self.config.presence_min);
        }
        Ok(faces)
    }
}
