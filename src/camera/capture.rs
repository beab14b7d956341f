//! The camera thread: a named std thread that pulls frames from any [`Camera`] and hands the
//! newest one to whoever wants it, while publishing the camera's status.
//!
//! Capture blocks (the driver, the reconnect backoff, the stall timeout), so it gets its own
//! thread; vision takes the newest frame when it is ready for one (older frames are replaced,
//! never queued: a slow Pi must not fall further and further behind). The status is a shared
//! value the screen and the MQTT `state` message read, so `livegate run` with a missing camera
//! keeps running, shows `camera error: …`, and starts getting frames when the device appears.
//!
//! The challenge asks the thread to lock and restore the camera's exposure, white balance and
//! gain ([`ControlCommand`], on a channel): the device belongs to this thread alone, and a
//! command is carried out between two frames. The held lock's report is shared like the status.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use super::controls::ControlsReport;
use super::{Camera, CameraStatus, Frame, V4l2Camera};

#[derive(Debug, Default)]
struct Shared {
    frame: Option<Frame>,
    status: Option<CameraStatus>,
    frames: u64,
    errors: u64,
    ended: bool,
    /// The held lock's report, after the last call or command.
    controls: Option<ControlsReport>,
    /// Commands carried out so far.
    commands_done: u64,
}

type SharedState = Arc<(Mutex<Shared>, Condvar)>;

/// What a challenge asks of the camera's automatics (exposure, white balance, gain).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlCommand {
    /// Hold them at their current values.
    Lock,
    /// Put back what the lock read.
    Restore,
}

/// How the thread carries out [`ControlCommand`]s on a camera that has controls, and reads
/// back the held lock.
pub(crate) struct ControlHooks<C> {
    pub apply: fn(&mut C, ControlCommand),
    pub report: fn(&C) -> Option<ControlsReport>,
}

/// A running camera thread; stopped (and joined) on drop.
pub struct CaptureThread {
    shared: SharedState,
    stop: Arc<AtomicBool>,
    /// The command channel, and how many commands were sent on it.
    commands: Mutex<(Sender<ControlCommand>, u64)>,
    handle: Option<JoinHandle<()>>,
}

impl CaptureThread {
    /// Runs a V4L2 camera on a thread named `camera`, taking control commands.
    ///
    /// # Errors
    /// The OS could not start a thread.
    pub fn v4l2(camera: V4l2Camera) -> std::io::Result<Self> {
        let hooks = ControlHooks {
            apply: |c: &mut V4l2Camera, command| match command {
                ControlCommand::Lock => {
                    c.lock_controls();
                }
                ControlCommand::Restore => c.restore_controls(),
            },
            report: |c: &V4l2Camera| c.controls().cloned(),
        };
        Self::start(camera, |c| c.status().clone(), Some(hooks))
    }

    /// Runs any camera; `status` reads its status after every call (sources without one can
    /// return a fixed value). Control commands are acknowledged and do nothing.
    ///
    /// # Errors
    /// The OS could not start a thread.
    pub fn spawn<C, S>(camera: C, status: S) -> std::io::Result<Self>
    where
        C: Camera + Send + 'static,
        S: Fn(&C) -> CameraStatus + Send + 'static,
    {
        Self::start(camera, status, None)
    }

    /// Runs any camera, with control commands carried out through `hooks` when given.
    pub(crate) fn start<C, S>(camera: C, status: S, hooks: Option<ControlHooks<C>>) -> std::io::Result<Self>
    where
        C: Camera + Send + 'static,
        S: Fn(&C) -> CameraStatus + Send + 'static,
    {
        let shared: SharedState = Arc::new((Mutex::new(Shared::default()), Condvar::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = std::sync::mpsc::channel();
        let (sh, st) = (shared.clone(), stop.clone());
        let handle = std::thread::Builder::new()
            .name("camera".into())
            .spawn(move || capture(camera, &status, hooks.as_ref(), (&sh, &st, &rx)))?;
        Ok(Self { shared, stop, commands: Mutex::new((tx, 0)), handle: Some(handle) })
    }

    /// The newest frame not taken yet, waiting up to `timeout` for one.
    pub fn next_frame(&self, timeout: Duration) -> Option<Frame> {
        let (lock, ready) = &*self.shared;
        let guard = lock.lock().unwrap_or_else(PoisonError::into_inner);
        let (mut s, _) = ready
            .wait_timeout_while(guard, timeout, |s| s.frame.is_none() && !s.ended)
            .unwrap_or_else(PoisonError::into_inner);
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

    /// Asks the thread to lock the camera's exposure, white balance and gain, and waits up to
    /// `timeout` for it (done before the next frame, unless the thread is waiting for a
    /// missing camera). The lock's report, once held.
    pub fn lock_controls(&self, timeout: Duration) -> Option<ControlsReport> {
        self.command(ControlCommand::Lock, timeout);
        self.controls()
    }

    /// Asks the thread to restore what the lock read, and waits up to `timeout` for it.
    pub fn restore_controls(&self, timeout: Duration) {
        self.command(ControlCommand::Restore, timeout);
    }

    /// The held lock's report (`None`: no lock held, or a source without controls).
    pub fn controls(&self) -> Option<ControlsReport> {
        self.lock().controls.clone()
    }

    /// Sends `command`; true when the thread carried it out within `timeout`.
    fn command(&self, command: ControlCommand, timeout: Duration) -> bool {
        let ticket = {
            let mut c = self.commands.lock().unwrap_or_else(PoisonError::into_inner);
            if c.0.send(command).is_err() {
                return false; // the thread has ended
            }
            c.1 += 1;
            c.1
        };
        let (lock, ready) = &*self.shared;
        let guard = lock.lock().unwrap_or_else(PoisonError::into_inner);
        let (s, _) = ready
            .wait_timeout_while(guard, timeout, |s| s.commands_done < ticket)
            .unwrap_or_else(PoisonError::into_inner);
        s.commands_done >= ticket
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The camera thread: waiting control commands, then a frame, until stopped or the source
/// ends.
fn capture<C: Camera>(
    mut camera: C,
    status: &dyn Fn(&C) -> CameraStatus,
    hooks: Option<&ControlHooks<C>>,
    (shared, stop, commands): (&SharedState, &AtomicBool, &Receiver<ControlCommand>),
) {
    let (lock, ready) = &**shared;
    let report = |c: &C| hooks.and_then(|h| (h.report)(c));
    while !stop.load(Ordering::Relaxed) {
        for command in commands.try_iter() {
            if let Some(h) = hooks {
                (h.apply)(&mut camera, command);
            }
            let mut s = lock.lock().unwrap_or_else(PoisonError::into_inner);
            s.controls = report(&camera);
            s.commands_done += 1;
            drop(s);
            ready.notify_all();
        }
        let result = camera.next_frame();
        let mut s = lock.lock().unwrap_or_else(PoisonError::into_inner);
        s.status = Some(status(&camera));
        // A camera that reconnected during the call starts unlocked.
        s.controls = report(&camera);
        match result {
            Ok(Some(frame)) => {
                s.frame = Some(frame);
                s.frames += 1;
            }
            Ok(None) => s.ended = true,
            // Every fault is already in the status and the log; the camera recovers on the
            // next call.
            Err(_) => s.errors += 1,
        }
        let ended = s.ended;
        drop(s);
        ready.notify_all();
        if ended {
            break;
        }
    }
    // The camera is dropped here, on its own thread: a V4L2 camera still locked restores.
}

impl std::fmt::Debug for CaptureThread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureThread").field("status", &self.status()).finish_non_exhaustive()
    }
}

impl Drop for CaptureThread {
    /// Stops the thread; waits for its current call (at most the reconnect backoff or the
    /// stall timeout), after which the camera restores a lock it still holds.
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
