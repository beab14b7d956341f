//! The camera thread: a named std thread that pulls frames from any [`Camera`] and hands the
//! newest one to whoever wants it, while publishing the camera's status.
//!
//! Capture blocks (the driver, the reconnect backoff, the stall timeout), so it gets its own
//! thread; vision takes the newest frame when it is ready for one (older frames are replaced,
//! never queued: a slow Pi must not fall further and further behind). The status is a shared
//! value the screen and the MQTT `state` message read, so `livegate run` with a missing camera
//! keeps running, shows `camera error: …`, and starts getting frames when the device appears.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::{Camera, CameraStatus, Frame, V4l2Camera};

#[derive(Debug, Default)]
struct Shared {
    frame: Option<Frame>,
    status: Option<CameraStatus>,
    frames: u64,
    errors: u64,
    ended: bool,
}

/// A running camera thread; stopped (and joined) on drop.
pub struct CaptureThread {
    shared: Arc<(Mutex<Shared>, Condvar)>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl CaptureThread {
    /// Runs a V4L2 camera on a thread named `camera`.
    ///
    /// # Errors
    /// The OS could not start a thread.
    pub fn v4l2(camera: V4l2Camera) -> std::io::Result<Self> {
        Self::spawn(camera, |c| c.status().clone())
    }

    /// Runs any camera; `status` reads its status after every call (sources without one can
    /// return a fixed value).
    ///
    /// # Errors
    /// The OS could not start a thread.
    pub fn spawn<C, S>(mut camera: C, status: S) -> std::io::Result<Self>
    where
        C: Camera + Send + 'static,
        S: Fn(&C) -> CameraStatus + Send + 'static,
    {
        let shared = Arc::new((Mutex::new(Shared::default()), Condvar::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (sh, st) = (shared.clone(), stop.clone());
        let handle = std::thread::Builder::new().name("camera".into()).spawn(move || {
            while !st.load(Ordering::Relaxed) {
                let result = camera.next_frame();
                let (lock, ready) = &*sh;
                let mut s = lock.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                s.status = Some(status(&camera));
                match result {
                    Ok(Some(frame)) => {
                        s.frame = Some(frame);
                        s.frames += 1;
                    }
                    Ok(None) => s.ended = true,
                    // Every fault is already in the status and the log; the camera recovers
                    // on the next call.
                    Err(_) => s.errors += 1,
                }
                let ended = s.ended;
                drop(s);
                ready.notify_all();
                if ended {
                    break;
                }
            }
        })?;
        Ok(Self { shared, stop, handle: Some(handle) })
    }

    /// The newest frame not taken yet, waiting up to `timeout` for one.
    pub fn next_frame(&self, timeout: Duration) -> Option<Frame> {
        let (lock, ready) = &*self.shared;
        let guard = lock.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (mut s, _) = ready
            .wait_timeout_while(guard, timeout, |s| s.frame.is_none() && !s.ended)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        s.frame.take()
    }

    /// The camera's status after its last call (`Starting` before the first one returned).
    pub fn status(&self) -> CameraStatus {
        self.lock().status.clone().unwrap_or(CameraStatus::Starting)
    }

    /// Frames captured and failed calls so far.
    pub fn counts(&self) -> (u64, u64) {
        let s = self.lock();
        (s.frames, s.errors)
    }

    /// True when the source ended (a replay played out); a live camera never ends.
    pub fn ended(&self) -> bool {
        self.lock().ended
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl std::fmt::Debug for CaptureThread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureThread").field("status", &self.status()).finish_non_exhaustive()
    }
}

impl Drop for CaptureThread {
    /// Stops the thread; waits for its current call (at most the reconnect backoff or the
    /// stall timeout).
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
#[path = "capture_tests.rs"]
mod tests;
