//! The challenge worker: a named std thread that owns the face tracker and runs one challenge
//! at a time through [`ChallengeRunner`], so inference never runs inside tokio. Jobs come in
//! on a bounded std channel; progress and the decision go out on a tokio channel.
//!
//! From the start of the Nose state (where the light challenge flashes the screen) to the end
//! of the challenge, however it ends, the V4L2 camera's exposure, white balance and gain are
//! held still ([`HeldControls`], through the camera thread's command channel).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use tokio::sync::mpsc;
use tracing::warn;

use crate::camera::replay::{Pace, Paced, ReplayCamera};
use crate::camera::synthetic::{Conditions, FaceModel, Script, SyntheticCamera};
use crate::camera::{Camera, CameraError, CaptureThread, Frame};
use crate::camera::{CameraConfig, CameraSource};
use crate::liveness::ChallengeGeometry;
use crate::liveness::light::LightConfig;
use crate::liveness::session::{LivenessConfig, Phase, Session};
pub use crate::pipeline::Ending;
use crate::pipeline::{ChallengeRunner, Event, Watcher};
use crate::screen::Prompt;
use crate::vision::FaceTracker;

use super::ui::{ChallengeScreen, Ui};

/// One challenge to run.
#[derive(Debug)]
pub struct Job {
    pub challenge_id: String,
    pub cancel: Arc<AtomicBool>,
}

/// What the worker reports.
#[derive(Debug)]
pub enum WorkerEvent {
    Progress {
        challenge_id: String,
        phase: Phase,
        prompt: Prompt,
    },
    Done {
        challenge_id: String,
        started: SystemTime,
        ending: Ending,
    },
    /// Between challenges (`[trigger] face_hold_ms`): whether a near face is in view.
    Presence {
        present: bool,
    },
}

/// The synthetic camera's material: the face models are built once, at start-up.
#[derive(Debug, Clone)]
pub struct SyntheticFaces {
    pub face: FaceModel,
    pub other: FaceModel,
    pub scripts: Vec<Script>,
    pub hfov_deg: f32,
}

/// The frame sources the service can open.
#[derive(Debug, Clone)]
pub struct Cameras {
    pub config: CameraConfig,
    pub synthetic: Option<SyntheticFaces>,
    /// The V4L2 camera thread (`source = "v4l2"`): it runs for the whole service, so a
    /// missing or unplugged camera is retried and reported between challenges too.
    pub capture: Option<Arc<CaptureThread>>,
}

/// How long a challenge waits for a frame from the V4L2 camera before it fails.
const LIVE_FRAME_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the challenge waits for the camera thread to lock or restore its controls (done
/// between two frames; a thread waiting for a missing camera does it when it is back).
const CONTROLS_TIMEOUT: Duration = Duration::from_millis(500);

/// The camera's automatics held for one challenge: locked when the Nose state begins,
/// restored when the challenge ends (also when it is cancelled, times out or fails: on drop).
/// Nothing for a source without a camera thread (replay, synthetic).
struct HeldControls<'a> {
    capture: Option<&'a CaptureThread>,
    held: bool,
}

impl<'a> HeldControls<'a> {
    fn new(capture: Option<&'a CaptureThread>) -> Self {
        Self { capture, held: false }
    }

    fn hold(&mut self) {
        if let (Some(c), false) = (self.capture, self.held) {
            self.held = true;
            // The camera thread logs what the lock did; `state` reports it.
            c.lock_controls(CONTROLS_TIMEOUT);
        }
    }

    fn release(&mut self) {
        if let (Some(c), true) = (self.capture, self.held) {
            self.held = false;
            c.restore_controls(CONTROLS_TIMEOUT);
        }
    }
}

impl Drop for HeldControls<'_> {
    fn drop(&mut self) {
        self.release();
    }
}

/// A challenge's view of the camera thread: the newest frames, from the first one on.
struct LiveFrames {
    capture: Arc<CaptureThread>,
    first: Option<Frame>,
}

impl Camera for LiveFrames {
    fn next_frame(&mut self) -> Result<Option<Frame>, CameraError> {
        if let Some(f) = self.first.take() {
            return Ok(Some(f));
        }
        match self.capture.next_frame(LIVE_FRAME_TIMEOUT) {
            Some(f) => Ok(Some(f)),
            None => Err(CameraError::Stalled(format!(
                "no frame for {} s: {}",
                LIVE_FRAME_TIMEOUT.as_secs(),
                self.capture.status()
            ))),
        }
    }

    fn light(&mut self, _plan: &crate::liveness::light::LightPlan) -> crate::camera::Lit {
        crate::camera::Lit::Screen
    }
}

/// A camera opened for one challenge, with the challenge it runs.
struct Opened {
    camera: Box<dyn Camera>,
    geometry: ChallengeGeometry,
}

/// The camera seam of the service: a replayed session, the synthetic camera, or the frames of
/// the V4L2 camera thread. `n` counts challenges (synthetic scripts rotate).
fn open_camera(cams: &Cameras, n: usize) -> Result<Opened, CameraError> {
    let cfg = &cams.config;
    match cfg.source {
        CameraSource::Replay => {
            let camera = ReplayCamera::open(&cfg.path)?;
            let geometry = camera.session().geometry();
            Ok(Opened { camera: Box::new(camera), geometry })
        }
        CameraSource::Synthetic => {
            let Some(s) = &cams.synthetic else {
                return Err(CameraError::Unusable("synthetic camera without face models".into()));
            };
            let draw = crate::entropy::target_draw()
                .map_err(|e| CameraError::Unusable(format!("no randomness for the target: {e}")))?;
            let geometry = ChallengeGeometry::new(640, 480, draw);
            let script = s.scripts[n % s.scripts.len()];
            let mut seed = [0u8; 8];
            crate::entropy::fill(&mut seed)
                .map_err(|e| CameraError::Unusable(format!("no randomness for the performer: {e}")))?;
            let seed = u64::from_le_bytes(seed);
            let conditions = Conditions { hfov_deg: s.hfov_deg, ..Conditions::baseline() };
            let camera =
                SyntheticCamera::new(s.face.clone(), s.other.clone(), script, &geometry, &conditions, seed);
            Ok(Opened { camera: Box::new(camera), geometry })
        }
        CameraSource::V4l2 => {
            let Some(capture) = &cams.capture else {
                return Err(CameraError::Unusable("the V4L2 camera thread is not running".into()));
            };
            let Some(first) = capture.next_frame(LIVE_FRAME_TIMEOUT) else {
                return Err(CameraError::Disconnected(capture.status().to_string()));
            };
            let draw = crate::entropy::target_draw()
                .map_err(|e| CameraError::Unusable(format!("no randomness for the target: {e}")))?;
            let geometry = ChallengeGeometry::new(first.image.width(), first.image.height(), draw);
            Ok(Opened {
                camera: Box::new(LiveFrames { capture: capture.clone(), first: Some(first) }),
                geometry,
            })
        }
    }
}

/// Checks at start-up that the configured camera can be opened.
///
/// # Errors
/// The camera's error.
pub fn check_camera(cams: &Cameras) -> Result<(), CameraError> {
    if cams.config.source == CameraSource::V4l2 {
        // A live camera may appear later: its thread retries and reports, never fatal.
        return Ok(());
    }
    open_camera(cams, 0).map(|_| ())
}

/// Starts the worker thread; returns the job sender and the thread (the watchdog is fed only
/// while it lives).
///
/// # Errors
/// When the thread cannot be spawned.
pub fn spawn(
    tracker: FaceTracker,
    camera: Cameras,
    liveness: (LivenessConfig, LightConfig),
    events: mpsc::Sender<WorkerEvent>,
    (ui, watch): (Ui, Option<f32>),
) -> std::io::Result<(std::sync::mpsc::SyncSender<Job>, std::thread::JoinHandle<()>)> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Job>(1);
    let handle = std::thread::Builder::new().name("challenge".into()).spawn(move || {
        let mut tracker = Some(tracker);
        let mut n = 0;
        // With the face trigger on, the idle live camera is looked at a few times a second.
        let watch = watch.zip(camera.capture.clone());
        let period = Duration::from_millis(crate::trigger::WATCH_PERIOD_MS);
        loop {
            let job = match &watch {
                None => rx.recv().ok(),
                Some((min_width, capture)) => match rx.recv_timeout(period) {
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                        let tr = tracker.as_ref().expect("tracker returned");
                        look_for_face(capture, tr, *min_width, &events);
                        continue;
                    }
                    r => r.ok(),
                },
            };
            let Some(job) = job else { break };
            let started = SystemTime::now();
            let tr = tracker.take().expect("tracker returned");
            let (ending, back) = run_job(&job, tr, (&camera, n), &liveness, (&events, &ui));
            n += 1;
            tracker = Some(back);
            let done = WorkerEvent::Done { challenge_id: job.challenge_id, started, ending };
            if events.blocking_send(done).is_err() {
                break;
            }
        }
    })?;
    Ok((tx, handle))
}

/// The face trigger's look at the idle camera: reports whether a near face is in the newest
/// frame (nothing when no new frame came).
fn look_for_face(
    capture: &CaptureThread,
    tracker: &FaceTracker,
    min_width: f32,
    events: &mpsc::Sender<WorkerEvent>,
) {
    let Some(frame) = capture.next_frame(Duration::ZERO) else { return };
    match crate::trigger::near_face(tracker.detector(), &frame.image, min_width) {
        Ok(present) => {
            let _ = events.try_send(WorkerEvent::Presence { present });
        }
        Err(e) => warn!(error = %e, "face trigger: frame skipped"),
    }
}

fn run_job(
    job: &Job,
    tracker: FaceTracker,
    (cams, n): (&Cameras, usize),
    (liveness, light): &(LivenessConfig, LightConfig),
    (events, ui): (&mpsc::Sender<WorkerEvent>, &Ui),
) -> (Ending, FaceTracker) {
    let opened = match open_camera(cams, n) {
        Ok(o) => o,
        Err(error) => return (Ending::CameraFailed { frames: 0, error }, tracker),
    };
    // Recorded and rendered frames are delivered at their timestamps, as a camera would.
    let mut camera = match cams.config.source {
        CameraSource::V4l2 => opened.camera,
        _ => Box::new(Paced::new(opened.camera, Pace::real())),
    };
    let session = Session::new(liveness.clone(), opened.geometry).with_light(light.clone());
    let mut runner = ChallengeRunner::new(tracker, session);
    let controls = HeldControls::new(cams.capture.as_deref());
    let mut watch = Watch { job, events, ui, liveness, screen: ChallengeScreen::default(), controls };
    let ending = match runner.run(camera.as_mut(), &mut watch) {
        Ok(ending) => ending,
        // The service's watcher never fails; should it, the challenge ends as a camera fault.
        Err(e) => Ending::CameraFailed { frames: 0, error: CameraError::Unusable(e.to_string()) },
    };
    // Before the verdict goes out, so the `state` published with it shows no lock.
    watch.controls.release();
    (ending, runner.into_tracker())
}

/// The service's side of the challenge loop: cancellation, progress events and the screen.
struct Watch<'a> {
    job: &'a Job,
    events: &'a mpsc::Sender<WorkerEvent>,
    ui: &'a Ui,
    liveness: &'a LivenessConfig,
    screen: ChallengeScreen,
    controls: HeldControls<'a>,
}

impl Watcher for Watch<'_> {
    fn cancelled(&self) -> bool {
        self.job.cancel.load(Ordering::Relaxed)
    }

    /// The screen flashes the sequence behind the guidance; without a screen, nothing can.
    fn light(&mut self, plan: &crate::liveness::light::LightPlan) -> bool {
        self.screen.light(plan);
        self.ui.is_shown()
    }

    fn seen(&mut self, frame: Frame, event: Event<'_>, runner: &ChallengeRunner) -> anyhow::Result<()> {
        if let Event::Progress { phase: Phase::Nose, new_phase: true, .. } = event {
            self.controls.hold();
        }
        if let Event::Progress { phase, prompt, new_phase: true } = event {
            let p = WorkerEvent::Progress { challenge_id: self.job.challenge_id.clone(), phase, prompt };
            let _ = self.events.try_send(p);
        }
        if matches!(event, Event::Progress { .. }) && self.ui.is_shown() {
            let scene = self.screen.scene(frame, runner, self.liveness);
            self.ui.show(self.ui.view(scene, true));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use image::RgbImage;

    use super::*;
    use crate::camera::CameraStatus;
    use crate::camera::capture::{ControlCommand, ControlHooks};

    /// A live camera that records the control commands it gets.
    struct Recorder(Arc<Mutex<Vec<ControlCommand>>>);

    impl Camera for Recorder {
        fn next_frame(&mut self) -> Result<Option<Frame>, CameraError> {
            std::thread::sleep(Duration::from_millis(5));
            Ok(Some(Frame { image: RgbImage::new(4, 4), t_ms: 0 }))
        }
    }

    fn recorder() -> (CaptureThread, Arc<Mutex<Vec<ControlCommand>>>) {
        let log = Arc::new(Mutex::new(Vec::new()));
        let hooks = ControlHooks {
            apply: |c: &mut Recorder, command| c.0.lock().unwrap().push(command),
            report: |_: &Recorder| None,
        };
        let thread = CaptureThread::start(Recorder(log.clone()), |_| CameraStatus::Starting, Some(hooks));
        (thread.unwrap(), log)
    }

    #[test]
    fn the_controls_are_locked_once_and_restored_once_however_the_challenge_ends() {
        let (thread, log) = recorder();
        {
            let mut held = HeldControls::new(Some(&thread));
            held.hold();
            held.hold();
            // Cancelled, timed out or failed: the challenge's watcher is dropped.
        }
        assert_eq!(*log.lock().unwrap(), [ControlCommand::Lock, ControlCommand::Restore]);
        log.lock().unwrap().clear();
        let mut held = HeldControls::new(Some(&thread));
        held.hold();
        held.release();
        drop(held);
        assert_eq!(*log.lock().unwrap(), [ControlCommand::Lock, ControlCommand::Restore]);
        log.lock().unwrap().clear();
        // A challenge that never reached the Nose state restores nothing.
        drop(HeldControls::new(Some(&thread)));
        assert!(log.lock().unwrap().is_empty());
    }

    #[test]
    fn sources_without_a_camera_thread_hold_nothing() {
        let mut held = HeldControls::new(None);
        held.hold();
        held.release();
    }
}
