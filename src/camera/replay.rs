//! The replay camera: a recorded session directory (SPEC §6) played back frame by frame with
//! its recorded timestamps, as fast as possible (`verify`, tests) or at recorded timing (a
//! session standing in for the live camera in the service, where the screen and the MQTT
//! timing should look as they did). Pacing reads its clock and sleeps through two injected
//! functions, so tests check the schedule without waiting.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Camera, CameraError, Frame};
use crate::vision::Rect;

/// One frame entry of `session.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrameEntry {
    pub file: String,
    pub t_ms: u64,
}

/// The recorded challenge: face area and nose target, `[x, y, w, h]` in frame pixels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedChallenge {
    pub area: [f32; 4],
    pub target: [f32; 4],
}

/// `session.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionFile {
    pub version: u32,
    pub width: u32,
    pub height: u32,
    pub challenge: RecordedChallenge,
    pub frames: Vec<FrameEntry>,
    /// What a test fixture should produce (`pass`, `fail`, …); not used by the replay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
}

/// Converts `[x, y, w, h]` into a rectangle.
pub fn rect(v: [f32; 4]) -> Rect {
    Rect { x: v[0], y: v[1], w: v[2], h: v[3] }
}

impl SessionFile {
    /// The challenge that was shown when the session was recorded.
    pub fn geometry(&self) -> crate::liveness::ChallengeGeometry {
        crate::liveness::ChallengeGeometry {
            width: self.width,
            height: self.height,
            area: rect(self.challenge.area),
            target: rect(self.challenge.target),
        }
    }

    /// Reads and checks `DIR/session.json` (not the frames).
    ///
    /// # Errors
    /// [`CameraError::Unusable`] naming what is wrong: a missing file, bad JSON, an unknown
    /// version, no frames, timestamps going backwards.
    pub fn load(dir: &Path) -> Result<Self, CameraError> {
        let path = dir.join("session.json");
        let bad = |what: String| CameraError::Unusable(format!("{}: {what}", path.display()));
        let text = std::fs::read(&path).map_err(|e| bad(format!("cannot read: {e}")))?;
        let s: SessionFile =
            serde_json::from_slice(&text).map_err(|e| bad(format!("not a valid session: {e}")))?;
        if s.version != 1 {
            return Err(bad(format!("unsupported version {} (this build reads version 1)", s.version)));
        }
        if s.width == 0 || s.height == 0 {
            return Err(bad("width and height must be positive".into()));
        }
        if s.frames.is_empty() {
            return Err(bad("no frames".into()));
        }
        if s.frames.windows(2).any(|w| w[1].t_ms < w[0].t_ms) {
            return Err(bad("frame timestamps go backwards".into()));
        }
        Ok(s)
    }
}

/// Writes a session directory frame by frame: JPEG frames as a USB camera's MJPEG would
/// deliver them (or PNG, [`SessionWriter::lossless`]), then `session.json`.
#[derive(Debug)]
pub struct SessionWriter {
    dir: PathBuf,
    session: SessionFile,
    png: bool,
}

/// JPEG quality of written frames (a USB camera's MJPEG is about this).
pub const JPEG_QUALITY: u8 = 85;

/// Encodes a frame as JPEG.
///
/// # Errors
/// When encoding fails.
pub fn to_jpeg(img: &image::RgbImage) -> image::ImageResult<Vec<u8>> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY).encode_image(img)?;
    Ok(out)
}

impl SessionWriter {
    /// Starts a session directory for a challenge (created if missing).
    ///
    /// # Errors
    /// When the directory cannot be created.
    pub fn create(dir: &Path, geometry: &crate::liveness::ChallengeGeometry) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let r = |v: Rect| [v.x, v.y, v.w, v.h];
        let session = SessionFile {
            version: 1,
            width: geometry.width,
            height: geometry.height,
            challenge: RecordedChallenge { area: r(geometry.area), target: r(geometry.target) },
            frames: Vec::new(),
            expected: None,
        };
        Ok(Self { dir: dir.to_owned(), session, png: false })
    }

    /// Writes the frames as PNG, exactly as they are pushed: for frames that have been through
    /// a codec already (the synthetic camera's), where JPEG would compress them a second time.
    #[must_use]
    pub fn lossless(mut self) -> Self {
        self.png = true;
        self
    }

    /// Appends a frame and replaces its image with the saved (JPEG-decoded) one, so whoever
    /// analyses the frame next sees exactly what a replay of the session will see (a PNG frame
    /// is saved as it is).
    ///
    /// # Errors
    /// When the frame cannot be encoded, written or decoded again.
    pub fn push(&mut self, frame: &mut Frame) -> anyhow::Result<()> {
        let n = self.session.frames.len();
        let file = if self.png {
            let file = format!("{n:04}.png");
            frame.image.save_with_format(self.dir.join(&file), image::ImageFormat::Png)?;
            file
        } else {
            let file = format!("{n:04}.jpg");
            let jpeg = to_jpeg(&frame.image)?;
            std::fs::write(self.dir.join(&file), &jpeg)?;
            frame.image = image::load_from_memory(&jpeg)?.into_rgb8();
            file
        };
        self.session.frames.push(FrameEntry { file, t_ms: frame.t_ms });
        Ok(())
    }

    /// Writes `session.json` (with the expected result, for fixtures) and returns the number
    /// of frames.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn finish(mut self, expected: Option<String>) -> anyhow::Result<usize> {
        self.session.expected = expected;
        std::fs::write(self.dir.join("session.json"), serde_json::to_vec_pretty(&self.session)?)?;
        Ok(self.session.frames.len())
    }
}

/// Plays a session directory's frames in order.
#[derive(Debug)]
pub struct ReplayCamera {
    dir: PathBuf,
    session: SessionFile,
    next: usize,
    pace: Option<Pace>,
}

/// A clock in ms (any origin) and a sleep in ms, for pacing.
pub type ClockFn = Box<dyn FnMut() -> u64 + Send>;
pub type SleepFn = Box<dyn FnMut(u64) + Send>;

/// Recorded-timing playback: frame `i` is due `t_ms[i] - t_ms[0]` after the first was served.
/// The replay camera paces itself with it; the service paces rendered (synthetic) frames too.
pub struct Pace {
    clock: ClockFn,
    sleep: SleepFn,
    /// (clock at the first frame, that frame's `t_ms`).
    origin: Option<(u64, u64)>,
}

impl std::fmt::Debug for Pace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pace").field("origin", &self.origin).finish_non_exhaustive()
    }
}

impl Pace {
    /// Pacing on the real monotonic clock.
    pub fn real() -> Self {
        let start = std::time::Instant::now();
        Self::by(
            Box::new(move || start.elapsed().as_millis() as u64),
            Box::new(|ms| std::thread::sleep(std::time::Duration::from_millis(ms))),
        )
    }

    /// Pacing on the given clock and sleep (tests use a fake clock).
    pub fn by(clock: ClockFn, sleep: SleepFn) -> Self {
        Self { clock, sleep, origin: None }
    }

    /// Sleeps until the frame recorded at `t_ms` is due. A consumer that fell behind gets the
    /// frame at once (no frames are skipped: a replay must stay complete).
    pub fn wait_for(&mut self, t_ms: u64) {
        let now = (self.clock)();
        match self.origin {
            None => self.origin = Some((now, t_ms)),
            Some((start, first)) => {
                let due = start + t_ms.saturating_sub(first);
                if due > now {
                    (self.sleep)(due - now);
                }
            }
        }
    }
}

impl ReplayCamera {
    /// Opens a session directory.
    ///
    /// # Errors
    /// See [`SessionFile::load`].
    pub fn open(dir: &Path) -> Result<Self, CameraError> {
        Ok(Self { dir: dir.to_owned(), session: SessionFile::load(dir)?, next: 0, pace: None })
    }

    /// Plays at the recorded timing on the real monotonic clock (the service paces any camera
    /// with [`Paced`]; this paces before the decode, for the tests of `Pace`).
    #[cfg(test)]
    pub fn at_recorded_timing(mut self) -> Self {
        self.pace = Some(Pace::real());
        self
    }

    /// Plays at the recorded timing on the given clock and sleep (tests use a fake clock).
    #[cfg(test)]
    pub fn paced_by(mut self, clock: ClockFn, sleep: SleepFn) -> Self {
        self.pace = Some(Pace::by(clock, sleep));
        self
    }

    /// The session's description.
    pub fn session(&self) -> &SessionFile {
        &self.session
    }
}

/// A camera whose frames are delivered at their timestamps, as a live camera's would be (the
/// service paces rendered and replayed frames this way).
pub struct Paced {
    camera: Box<dyn Camera>,
    pace: Pace,
}

impl Paced {
    /// `camera`'s frames, each delivered when it is due on `pace`.
    pub fn new(camera: Box<dyn Camera>, pace: Pace) -> Self {
        Self { camera, pace }
    }
}

impl Camera for Paced {
    fn next_frame(&mut self) -> Result<Option<Frame>, CameraError> {
        let frame = self.camera.next_frame()?;
        if let Some(f) = &frame {
            self.pace.wait_for(f.t_ms);
        }
        Ok(frame)
    }

    fn light(&mut self, plan: &crate::liveness::light::LightPlan) -> super::Lit {
        self.camera.light(plan)
    }
}

impl Camera for ReplayCamera {
    fn next_frame(&mut self) -> Result<Option<Frame>, CameraError> {
        let Some(entry) = self.session.frames.get(self.next) else {
            return Ok(None);
        };
        let index = self.next;
        self.next += 1;
        if let Some(pace) = &mut self.pace {
            pace.wait_for(entry.t_ms);
        }
        let bad = |reason: String| CameraError::BadFrame { index, name: entry.file.clone(), reason };
        let img = image::open(self.dir.join(&entry.file)).map_err(|e| bad(e.to_string()))?.into_rgb8();
        if img.dimensions() != (self.session.width, self.session.height) {
            return Err(bad(format!(
                "is {}×{}, the session says {}×{}",
                img.width(),
                img.height(),
                self.session.width,
                self.session.height
            )));
        }
        Ok(Some(Frame { image: img, t_ms: entry.t_ms }))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    fn session() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sessions/live_astronaut")
    }

    /// A fake clock that only moves when slept on (plus `work_ms` per clock read, to model
    /// decoding time), recording every sleep.
    fn fake(work_ms: u64) -> (ClockFn, SleepFn, Arc<Mutex<Vec<u64>>>) {
        let now = Arc::new(Mutex::new(1000u64));
        let sleeps = Arc::new(Mutex::new(Vec::new()));
        let (n1, n2, s) = (now.clone(), now, sleeps.clone());
        let clock: ClockFn = Box::new(move || {
            let mut t = n1.lock().unwrap();
            *t += work_ms;
            *t
        });
        let sleep: SleepFn = Box::new(move |ms| {
            *n2.lock().unwrap() += ms;
            s.lock().unwrap().push(ms);
        });
        (clock, sleep, sleeps)
    }

    #[test]
    fn a_lossless_session_replays_its_frames_bit_for_bit() {
        let dir = std::env::temp_dir().join(format!("livegate-lossless-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let draw = crate::liveness::TargetDraw { right: true, below: false, dx: 60, dy: 40 };
        let geometry = crate::liveness::ChallengeGeometry::new(64, 48, draw);
        let mut writer = SessionWriter::create(&dir, &geometry).unwrap().lossless();
        // Noise that JPEG could not keep.
        let img = image::RgbImage::from_fn(64, 48, |x, y| {
            image::Rgb([(x * 37 + y * 11) as u8, (x * y) as u8, ((x ^ y) * 29) as u8])
        });
        let mut frame = Frame { image: img.clone(), t_ms: 0 };
        writer.push(&mut frame).unwrap();
        assert_eq!(frame.image, img, "a PNG frame is not replaced");
        writer.finish(None).unwrap();
        let mut cam = ReplayCamera::open(&dir).unwrap();
        assert_eq!(cam.session().frames[0].file, "0000.png");
        assert_eq!(cam.next_frame().unwrap().unwrap().image, img);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn play(mut cam: ReplayCamera, n: usize) -> Vec<u64> {
        (0..n).map(|_| cam.next_frame().unwrap().unwrap().t_ms).collect()
    }

    #[test]
    fn as_fast_as_possible_is_the_default_and_keeps_recorded_timestamps() {
        let cam = ReplayCamera::open(&session()).unwrap();
        let recorded: Vec<u64> = cam.session().frames.iter().map(|f| f.t_ms).collect();
        let span = recorded[recorded.len() - 1];
        let started = std::time::Instant::now();
        assert_eq!(play(cam, recorded.len()), recorded);
        // 32 frames recorded over ~2 s; decoding them takes a fraction of that.
        assert!(started.elapsed().as_millis() < u128::from(span), "{:?} for {span} ms", started.elapsed());
    }

    #[test]
    fn recorded_timing_sleeps_the_recorded_gaps() {
        let (clock, sleep, sleeps) = fake(0);
        let cam = ReplayCamera::open(&session()).unwrap().paced_by(clock, sleep);
        assert_eq!(play(cam, 4), [0, 66, 133, 200]);
        assert_eq!(*sleeps.lock().unwrap(), [66, 67, 67]);
    }

    #[test]
    fn recorded_timing_subtracts_the_time_spent_between_frames() {
        // Each clock read costs 10 ms of "work", so only the rest of each gap is slept.
        let (clock, sleep, sleeps) = fake(10);
        let cam = ReplayCamera::open(&session()).unwrap().paced_by(clock, sleep);
        play(cam, 3);
        assert_eq!(*sleeps.lock().unwrap(), [56, 57]);
    }

    #[test]
    fn a_consumer_that_fell_behind_gets_frames_at_once_and_none_skipped() {
        let (clock, sleep, sleeps) = fake(500);
        let cam = ReplayCamera::open(&session()).unwrap().paced_by(clock, sleep);
        assert_eq!(play(cam, 3), [0, 66, 133]);
        assert!(sleeps.lock().unwrap().is_empty());
    }

    #[test]
    fn recorded_timing_on_the_real_clock_takes_the_recorded_time() {
        let started = std::time::Instant::now();
        play(ReplayCamera::open(&session()).unwrap().at_recorded_timing(), 3);
        assert!(started.elapsed().as_millis() >= 133, "{:?}", started.elapsed());
    }
}
