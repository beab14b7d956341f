use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use image::RgbImage;

use super::*;
use crate::camera::CameraError;
use crate::camera::replay::ReplayCamera;
use crate::camera::v4l2::V4l2Options;

#[test]
fn a_missing_v4l2_device_shows_a_camera_error_and_the_thread_keeps_trying() {
    let opts = V4l2Options {
        device: Some(std::env::temp_dir().join("livegate-capture-no-such-video")),
        reconnect_initial_ms: 20,
        reconnect_max_ms: 50,
        ..V4l2Options::default()
    };
    let thread = CaptureThread::v4l2(V4l2Camera::new(opts).unwrap()).unwrap();
    assert!(thread.next_frame(Duration::from_millis(300)).is_none());
    let status = thread.status();
    assert!(status.is_error() && status.to_string().contains("no such device"), "{status}");
    let (frames, errors) = thread.counts();
    assert_eq!(frames, 0);
    assert!(errors >= 3, "{errors} attempts in 300 ms");
    let t = Instant::now();
    drop(thread);
    assert!(t.elapsed() < Duration::from_millis(500), "stopping took {:?}", t.elapsed());
}

/// A camera whose device "appears" after `absent` calls (the thread logic only; the real
/// device appearing is proven in the vivid VM, tests/v4l2_vivid.rs).
struct LateCamera {
    absent: u32,
    calls: u32,
}

impl Camera for LateCamera {
    fn next_frame(&mut self) -> Result<Option<Frame>, CameraError> {
        self.calls += 1;
        std::thread::sleep(Duration::from_millis(5));
        if self.calls <= self.absent {
            return Err(CameraError::Disconnected("late: no such device".into()));
        }
        Ok(Some(Frame { image: RgbImage::new(4, 4), t_ms: u64::from(self.calls) }))
    }
}

fn late_status(c: &LateCamera) -> CameraStatus {
    if c.calls <= c.absent {
        CameraStatus::Error { message: "late: no such device".into() }
    } else {
        CameraStatus::Streaming { device: "late".into(), format: "RGB3".into(), width: 4, height: 4 }
    }
}

#[test]
fn frames_start_flowing_when_the_device_appears() {
    let thread = CaptureThread::spawn(LateCamera { absent: 40, calls: 0 }, late_status).unwrap();
    let mut saw_error = false;
    let frame = loop {
        saw_error |= thread.status().is_error();
        if let Some(f) = thread.next_frame(Duration::from_millis(10)) {
            break f;
        }
    };
    assert!(saw_error, "the error status was never visible");
    assert!(frame.t_ms > 40);
    assert_eq!(thread.status().to_string(), "camera ok: late RGB3 4x4");
    assert!(thread.counts().1 >= 40);
}

#[test]
fn a_slow_consumer_gets_the_newest_frame_and_a_replay_ends() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sessions/live_astronaut");
    let replay = ReplayCamera::open(&dir).unwrap();
    let last = replay.session().frames.last().unwrap().t_ms;
    let n = replay.session().frames.len() as u64;
    let thread = CaptureThread::spawn(replay, |_| CameraStatus::Starting).unwrap();
    let t0 = Instant::now();
    while !thread.ended() {
        assert!(t0.elapsed() < Duration::from_secs(20), "replay never ended");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(thread.next_frame(Duration::ZERO).map(|f| f.t_ms), Some(last));
    assert_eq!(thread.counts(), (n, 0));
    // Nothing more, and no waiting once the source ended.
    let t = Instant::now();
    assert!(thread.next_frame(Duration::from_secs(5)).is_none());
    assert!(t.elapsed() < Duration::from_secs(1));
}

/// A camera with controls (the thread's side only; the lock itself is tested in
/// `controls_tests.rs`, the V4L2 one in the vivid VM): records the commands it was given and
/// whether it was dropped while locked; `reconnect` makes its next call a reconnect, which
/// drops the lock as the V4L2 camera does.
struct Knobs {
    log: Arc<Mutex<Vec<String>>>,
    held: bool,
    reconnect: Arc<AtomicBool>,
}

impl Camera for Knobs {
    fn next_frame(&mut self) -> Result<Option<Frame>, CameraError> {
        std::thread::sleep(Duration::from_millis(5));
        if self.reconnect.swap(false, Ordering::Relaxed) && self.held {
            self.held = false;
            self.log.lock().unwrap().push("restored on reconnect".into());
        }
        Ok(Some(Frame { image: RgbImage::new(4, 4), t_ms: 0 }))
    }
}

impl Drop for Knobs {
    fn drop(&mut self) {
        if self.held {
            self.log.lock().unwrap().push("restored on drop".into());
        }
    }
}

fn knobs() -> (CaptureThread, Arc<Mutex<Vec<String>>>, Arc<AtomicBool>) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let reconnect = Arc::new(AtomicBool::new(false));
    let camera = Knobs { log: log.clone(), held: false, reconnect: reconnect.clone() };
    let hooks = ControlHooks {
        apply: |c: &mut Knobs, command| {
            c.held = command == ControlCommand::Lock;
            c.log.lock().unwrap().push(format!("{command:?}"));
        },
        report: |c: &Knobs| {
            c.held.then(|| {
                serde_json::from_str(r#"{"exposure":"locked","white_balance":"absent","gain":"locked"}"#)
                    .unwrap()
            })
        },
    };
    let status = |_: &Knobs| CameraStatus::Starting;
    (CaptureThread::start(camera, status, Some(hooks)).unwrap(), log, reconnect)
}

#[test]
fn lock_and_restore_reach_the_camera_thread_and_its_report_is_shared() {
    let (thread, log, _) = knobs();
    assert!(thread.next_frame(Duration::from_secs(1)).is_some());
    assert_eq!(thread.controls(), None);
    let report = thread.lock_controls(Duration::from_secs(1)).expect("lock acknowledged");
    assert_eq!(report.gain, crate::camera::ControlState::Locked);
    assert_eq!(thread.controls(), Some(report));
    thread.restore_controls(Duration::from_secs(1));
    assert_eq!(thread.controls(), None);
    assert_eq!(*log.lock().unwrap(), ["Lock", "Restore"]);
    drop(thread);
    assert_eq!(log.lock().unwrap().len(), 2, "restored twice");
}

#[test]
fn a_camera_thread_stopped_while_locked_restores_and_a_reconnect_unlocks() {
    let (thread, log, reconnect) = knobs();
    assert!(thread.lock_controls(Duration::from_secs(1)).is_some());
    reconnect.store(true, Ordering::Relaxed);
    let t0 = Instant::now();
    while thread.controls().is_some() {
        assert!(t0.elapsed() < Duration::from_secs(2), "the reconnected camera still reports a lock");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(thread.lock_controls(Duration::from_secs(1)).is_some());
    drop(thread);
    assert_eq!(*log.lock().unwrap(), ["Lock", "restored on reconnect", "Lock", "restored on drop"]);
}

#[test]
fn a_source_without_controls_acknowledges_commands_and_reports_no_lock() {
    let thread = CaptureThread::spawn(LateCamera { absent: 0, calls: 0 }, late_status).unwrap();
    let t = Instant::now();
    assert_eq!(thread.lock_controls(Duration::from_secs(2)), None);
    assert!(t.elapsed() < Duration::from_secs(1), "not acknowledged: {:?}", t.elapsed());
    thread.restore_controls(Duration::from_secs(2));
    assert_eq!(thread.controls(), None);
}
