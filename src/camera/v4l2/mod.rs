//! The live camera: V4L2 capture (USB UVC, or a Pi CSI camera through libcamera's V4L2
//! layer) that survives real life.
//!
//! [`V4l2Camera`] never gives up: a missing device, an unplug, a wedged stream or a
//! permission problem becomes a [`CameraStatus::Error`] for the screen and MQTT, and the
//! device is reopened with backoff ([`Recovery`]) until it works. Corrupt MJPEG frames are
//! dropped and counted ([`FrameIntake`]). For the light challenge it holds exposure, white
//! balance and gain still on request ([`CameraControls`]); a lock lost with the stream is
//! restored on the next one, and a dropped camera restores its lock. The kernel-facing code
//! is in `device.rs`.

mod device;

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tracing::warn;

use super::controls::{CameraControls, ControlsReport};
use super::convert::PixelFormat;
use super::intake::{CameraStats, FrameIntake};
use super::recovery::{CameraStatus, Recovery, RecoveryPolicy};
use super::{Camera, CameraError, Frame};
use device::{OpenStream, Read};

/// V4L2 settings (the `[camera]` keys for `source = "v4l2"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct V4l2Options {
    /// Device node; unset: the first `/dev/videoN` that can capture.
    pub device: Option<PathBuf>,
    /// Wanted frame size; the closest offered size is used.
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    /// Force `"MJPG"`, `"YUYV"`, `"NV12"` or `"RGB3"`; unset: negotiate (MJPEG above 640×480).
    pub pixel_format: Option<PixelFormat>,
    /// No good frame for this long restarts the stream.
    pub stall_timeout_ms: u64,
    /// First retry delay after a failed open; doubles up to `reconnect_max_ms`.
    pub reconnect_initial_ms: u64,
    pub reconnect_max_ms: u64,
    /// MMAP buffers (2–32).
    pub buffers: u32,
    /// Hold exposure, white balance and gain still when a challenge asks (the Nose state);
    /// false: leave the camera's automatics alone.
    pub lock_controls: bool,
}

impl Default for V4l2Options {
    fn default() -> Self {
        Self {
            device: None,
            width: 640,
            height: 480,
            fps: 30,
            pixel_format: None,
            stall_timeout_ms: 3000,
            reconnect_initial_ms: 250,
            reconnect_max_ms: 5000,
            buffers: 4,
            lock_controls: true,
        }
    }
}

impl V4l2Options {
    /// Checks the values without touching a device.
    ///
    /// # Errors
    /// [`CameraError::Unusable`] naming the key.
    pub fn validate(&self) -> Result<(), CameraError> {
        let bad = |m: &str| Err(CameraError::Unusable(format!("camera: {m}")));
        if self.width == 0 || self.height == 0 || self.width > 8192 || self.height > 8192 {
            return bad("width and height must be 1..=8192");
        }
        if self.fps == 0 || self.fps > 240 {
            return bad("fps must be 1..=240");
        }
        if self.stall_timeout_ms < 100 {
            return bad("stall_timeout_ms must be at least 100");
        }
        if self.reconnect_initial_ms == 0 || self.reconnect_max_ms < self.reconnect_initial_ms {
            return bad("reconnect_initial_ms must be positive and at most reconnect_max_ms");
        }
        if !(2..=32).contains(&self.buffers) {
            return bad("buffers must be 2..=32");
        }
        Ok(())
    }

    fn policy(&self) -> RecoveryPolicy {
        RecoveryPolicy {
            initial_backoff_ms: self.reconnect_initial_ms,
            max_backoff_ms: self.reconnect_max_ms,
            stall_timeout_ms: self.stall_timeout_ms,
        }
    }
}

/// A V4L2 camera that reopens itself; see the module docs.
pub struct V4l2Camera {
    opts: V4l2Options,
    recovery: Recovery,
    active: Option<(OpenStream, FrameIntake)>,
    stats: CameraStats,
    /// The open failure last logged: a camera missing for days logs once, not every retry.
    logged: Option<String>,
    controls: CameraControls,
}

impl V4l2Camera {
    /// A camera for these options. Nothing is opened yet: the first [`Camera::next_frame`]
    /// opens the device, so a missing camera is a status, not a start-up failure.
    ///
    /// # Errors
    /// [`CameraError::Unusable`] for invalid options.
    pub fn new(opts: V4l2Options) -> Result<Self, CameraError> {
        opts.validate()?;
        Ok(Self {
            recovery: Recovery::new(opts.policy()),
            controls: CameraControls::new(opts.lock_controls),
            opts,
            active: None,
            stats: CameraStats::default(),
            logged: None,
        })
    }

    /// What the camera is doing (for the screen and the MQTT state).
    pub fn status(&self) -> &CameraStatus {
        self.recovery.status()
    }

    /// Frames, drops, opens and stalls so far.
    pub fn stats(&self) -> CameraStats {
        self.stats
    }

    /// Closes the device; the next frame reopens it (restoring a lock held on this one).
    pub fn close(&mut self) {
        self.active = None;
        self.controls.disconnected();
        self.recovery.closed(now_ms());
    }

    /// Locks exposure, white balance and gain where the camera has them, at their current
    /// values, and says per control what happened (see [`super::controls`]). `None` when
    /// `lock_controls` is off or the camera is not streaming. A held lock stays as it is.
    pub fn lock_controls(&mut self) -> Option<&ControlsReport> {
        if !self.opts.lock_controls {
            return None;
        }
        let Some((stream, _)) = self.active.as_mut() else {
            warn!("camera controls not locked: the camera is not streaming");
            return None;
        };
        self.controls.lock(stream)
    }

    /// Puts back what [`Self::lock_controls`] read; nothing when no lock is held (also when
    /// the camera reconnected since: that restored it already).
    pub fn restore_controls(&mut self) {
        if let Some((stream, _)) = self.active.as_mut() {
            self.controls.restore(stream);
        }
    }

    /// The held lock's report.
    pub fn controls(&self) -> Option<&ControlsReport> {
        self.controls.report()
    }

    fn open(&mut self) -> Result<(), CameraError> {
        if let Some(wait) = self.recovery.wait_before_open_ms(now_ms()).filter(|&w| w > 0) {
            std::thread::sleep(Duration::from_millis(wait));
        }
        match device::open(&self.opts) {
            Ok(mut stream) => {
                self.controls.connected(&mut stream);
                let l = stream.layout;
                let status = CameraStatus::Streaming {
                    device: stream.path.display().to_string(),
                    format: l.format.to_string(),
                    width: l.width,
                    height: l.height,
                };
                self.stats.opens += 1;
                self.logged = None;
                self.recovery.opened(now_ms(), status);
                self.active = Some((stream, FrameIntake::new(l)));
                Ok(())
            }
            Err(e) => {
                self.recovery.open_failed(now_ms(), e.to_string());
                let message = e.to_string();
                if self.logged.as_ref() != Some(&message) {
                    let retry = self.recovery.wait_before_open_ms(now_ms()).unwrap_or(0);
                    warn!(
                        error = %e,
                        retry_in_ms = retry,
                        "camera error (retrying; logged again when it changes)"
                    );
                    self.logged = Some(message);
                }
                Err(e)
            }
        }
    }

    /// Closes the stream after a fault and records it.
    fn lose(&mut self, e: CameraError) -> CameraError {
        self.active = None;
        self.controls.disconnected();
        self.recovery.lost(now_ms(), e.to_string());
        warn!(error = %e, "camera error");
        e
    }

    fn read(&mut self) -> Result<Option<Frame>, CameraError> {
        loop {
            let Some((stream, intake)) = self.active.as_mut() else {
                return Err(CameraError::Disconnected("camera closed".into()));
            };
            let path = stream.path.clone();
            match stream.read() {
                Read::Buffer { data, t_ms, damaged } => {
                    let t = t_ms.unwrap_or_else(now_ms);
                    if let Some(frame) = intake.take(data, t, damaged, &mut self.stats) {
                        self.recovery.frame(now_ms());
                        return Ok(Some(frame));
                    }
                    if self.stats.dropped % 100 == 1 {
                        let why = intake.last_error().map(ToString::to_string).unwrap_or_default();
                        warn!(reason = %why, dropped_so_far = self.stats.dropped, "camera dropped a frame");
                    }
                    if self.recovery.stalled(now_ms()) {
                        self.stats.stalls += 1;
                        let ms = self.opts.stall_timeout_ms;
                        let why = intake.last_error().map(ToString::to_string).unwrap_or_default();
                        let msg = format!(
                            "{}: no good frame for {ms} ms ({why}); restarting the stream",
                            path.display()
                        );
                        return Err(self.lose(CameraError::Stalled(msg)));
                    }
                }
                Read::TimedOut => {
                    self.stats.stalls += 1;
                    let ms = self.opts.stall_timeout_ms;
                    let msg = format!("{}: no frame for {ms} ms; restarting the stream", path.display());
                    return Err(self.lose(CameraError::Stalled(msg)));
                }
                Read::Failed(e) => return Err(self.lose(device::read_error(&path, &e))),
            }
        }
    }
}

impl Camera for V4l2Camera {
    /// The next frame. Blocks at most the current backoff delay (while the device is missing)
    /// or the stall timeout (while it is silent); every fault is returned as an error and
    /// reflected in [`V4l2Camera::status`], and the next call carries on recovering. Never
    /// `Ok(None)`: a live camera does not end.
    fn next_frame(&mut self) -> Result<Option<Frame>, CameraError> {
        if self.active.is_none() {
            self.open()?;
        }
        self.read()
    }
}

impl Drop for V4l2Camera {
    /// A camera dropped while locked (the service shutting down) restores its lock.
    fn drop(&mut self) {
        self.restore_controls();
    }
}

/// Milliseconds on `CLOCK_MONOTONIC`, the clock V4L2 stamps buffers with.
#[allow(unsafe_code)] // libc's `clock_gettime` (no safe form of the raw clock in std)
pub fn now_ms() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable, aligned timespec that outlives the call, which writes
    // only it; CLOCK_MONOTONIC always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1000 + ts.tv_nsec as u64 / 1_000_000
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
