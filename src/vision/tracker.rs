//! Per-frame face tracking: detector to acquire, mesh to follow, detector again to count.

use image::RgbImage;
use serde::{Deserialize, Serialize};

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
    /// Run the detector at least every this many frames while tracking, to see a second face.
    pub detect_interval_frames: u32,
    /// The camera's horizontal field of view, for head pose relative to the camera axis.
    pub hfov_deg: f32,
}

impl Default for VisionConfig {
    fn default() -> Self {
        Self { detector_min_score: 0.5, presence_min: 0.5, detect_interval_frames: 3, hfov_deg: 62.0 }
    }
}

/// The followed face in one frame.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackedFace {
    pub landmarks: Landmarks,
    pub pose: Pose,
    /// The crop the landmarks came from.
    pub roi: Roi,
    /// The face's box: the detector's when it ran this frame, else the landmarks' bounds.
    pub bounds: Rect,
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

/// Follows one face across frames (see the module docs of [`super`]).
#[derive(Debug, Clone)]
pub struct FaceTracker {
    detector: FaceDetector,
    mesh: LandmarkModel,
    config: VisionConfig,
    roi: Option<Roi>,
    frames_since_detect: u32,
    /// The networks' input tensors, kept across frames.
    letterbox: InputBuffer,
    crop: InputBuffer,
}

impl FaceTracker {
    /// A tracker with no face yet.
    pub fn new(detector: FaceDetector, mesh: LandmarkModel, config: VisionConfig) -> Self {
        Self {
            detector,
            mesh,
            config,
            roi: None,
            frames_since_detect: 0,
            letterbox: InputBuffer::default(),
            crop: InputBuffer::default(),
        }
    }

    /// Forgets the current face (e.g. between challenges).
    pub fn reset(&mut self) {
        self.roi = None;
    }

    /// Analyses the next frame.
    ///
    /// # Errors
    /// [`VisionError::Inference`] if a network fails; the track is dropped so the next frame
    /// starts afresh.
    pub fn observe(&mut self, img: &RgbImage) -> Result<Observation, VisionError> {
        let result = self.observe_inner(img);
        if result.is_err() {
            self.roi = None;
        }
        result
    }

    fn observe_inner(&mut self, img: &RgbImage) -> Result<Observation, VisionError> {
        let due = self.frames_since_detect >= self.config.detect_interval_frames.max(1);
        let mut detections = if self.roi.is_none() || due { Some(self.detect(img)?) } else { None };
        self.frames_since_detect += 1;
        let strongest = |d: &Option<Vec<FaceBox>>| d.as_ref()?.first().map(Roi::from_detection);
        let mut face = match self.roi.or_else(|| strongest(&detections)) {
            Some(roi) => self.mesh_at(img, roi, detections.as_deref())?,
            None => None,
        };
        if face.is_none() && self.roi.is_some() {
            // Lost the track: look for a face again before giving up on this frame.
            if detections.is_none() {
                detections = Some(self.detect(img)?);
            }
            if let Some(roi) = strongest(&detections) {
                face = self.mesh_at(img, roi, detections.as_deref())?;
            }
        }
        self.roi = face.as_ref().map(|f| Roi::from_landmarks(&f.landmarks));
        let faces = match &detections {
            Some(found) => self.count_faces(img, found, face.as_ref())?,
            None => usize::from(face.is_some()),
        };
        Ok(Observation { faces, detector_ran: detections.is_some(), face })
    }

    fn detect(&mut self, img: &RgbImage) -> Result<Vec<FaceBox>, VisionError> {
        self.frames_since_detect = 0;
        self.detector.detect_with(img, &mut self.letterbox)
    }

    /// Runs the mesh on `roi`; `None` when the mesh says no face is there.
    fn mesh_at(
        &mut self,
        img: &RgbImage,
        roi: Roi,
        found: Option<&[FaceBox]>,
    ) -> Result<Option<TrackedFace>, VisionError> {
        let landmarks = self.mesh.landmarks_with(img, &roi, &mut self.crop)?;
        if landmarks.presence < self.config.presence_min {
            return Ok(None);
        }
        let cam = Intrinsics::from_hfov(img.width(), img.height(), self.config.hfov_deg);
        let pose = head_pose(&landmarks, &cam);
        let own = found.and_then(|f| f.iter().find(|d| landmarks.bounds().contains(d.centre())));
        let bounds = own.map_or_else(|| landmarks.bounds(), FaceBox::rect);
        Ok(Some(TrackedFace { landmarks, pose, roi, bounds }))
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
