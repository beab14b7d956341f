//! When to (re)open the camera and what to tell the world meanwhile: a sans-IO policy.
//!
//! Cameras get unplugged, drivers wedge and USB links drop frames; none of that may take the
//! terminal down. The device code reports what happened (opened, open failed, frame, lost) with
//! a timestamp; this state machine answers when the next open is due, whether the stream has
//! stalled, and the status line the screen and MQTT show. It never reads a clock or sleeps, so
//! the backoff schedule is tested with plain numbers.

use std::fmt;

use serde::Serialize;

/// Backoff and stall limits (ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecoveryPolicy {
    /// Delay before the first retry after a failure.
    pub initial_backoff_ms: u64,
    /// The delay doubles per failed attempt up to this.
    pub max_backoff_ms: u64,
    /// An open stream with no good frame for this long is restarted.
    pub stall_timeout_ms: u64,
}

/// What the camera is doing, for the screen and the MQTT `state` message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum CameraStatus {
    /// Not opened yet.
    Starting,
    /// Delivering frames.
    Streaming { device: String, format: String, width: u32, height: u32 },
    /// Not delivering frames; retrying. `message` says why (and what to do, where we know).
    Error { message: String },
}

impl CameraStatus {
    /// True while the camera is not delivering frames because of a fault.
    pub fn is_error(&self) -> bool {
        matches!(self, Self::Error { .. })
    }
}

impl fmt::Display for CameraStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Starting => f.write_str("camera starting"),
            Self::Streaming { device, format, width, height } => {
                write!(f, "camera ok: {device} {format} {width}x{height}")
            }
            Self::Error { message } => write!(f, "camera error: {message}"),
        }
    }
}

/// The reconnect/backoff state machine.
#[derive(Debug, Clone)]
pub struct Recovery {
    policy: RecoveryPolicy,
    status: CameraStatus,
    open: bool,
    /// When the next open attempt is due (ms).
    open_due_ms: u64,
    backoff_ms: u64,
    /// Last good frame, or the moment the stream was opened (ms).
    last_progress_ms: u64,
    failures: u32,
}

impl Recovery {
    /// A closed camera whose first open is due at once.
    pub fn new(policy: RecoveryPolicy) -> Self {
        Self {
            policy,
            status: CameraStatus::Starting,
            open: false,
            open_due_ms: 0,
            backoff_ms: policy.initial_backoff_ms,
            last_progress_ms: 0,
            failures: 0,
        }
    }

    /// The current status.
    pub fn status(&self) -> &CameraStatus {
        &self.status
    }

    /// Failed open attempts (or losses) since the last good frame.
    #[cfg(test)]
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// How long to wait before opening, or `None` when the stream is open.
    pub fn wait_before_open_ms(&self, now_ms: u64) -> Option<u64> {
        (!self.open).then(|| self.open_due_ms.saturating_sub(now_ms))
    }

    /// The device opened and is streaming.
    pub fn opened(&mut self, now_ms: u64, streaming: CameraStatus) {
        self.open = true;
        self.last_progress_ms = now_ms;
        self.status = streaming;
    }

    /// An open attempt failed: retry after the current backoff, which then doubles.
    pub fn open_failed(&mut self, now_ms: u64, message: String) {
        self.open = false;
        self.failures += 1;
        self.open_due_ms = now_ms + self.backoff_ms;
        self.backoff_ms = (self.backoff_ms * 2).min(self.policy.max_backoff_ms);
        self.status = CameraStatus::Error { message };
    }

    /// A good frame arrived: the device is healthy, so the next failure starts a fresh backoff.
    pub fn frame(&mut self, now_ms: u64) {
        self.last_progress_ms = now_ms;
        self.backoff_ms = self.policy.initial_backoff_ms;
        self.failures = 0;
    }

    /// The open stream died (unplugged, stalled, I/O error): close it and reopen at once,
    /// backing off only if that fails too. A stream that dies before delivering a single
    /// frame counts as a failed attempt, so a device that opens and dies at once is not
    /// hammered.
    pub fn lost(&mut self, now_ms: u64, message: String) {
        let healthy = self.failures == 0;
        self.open = false;
        self.failures += 1;
        self.status = CameraStatus::Error { message };
        if healthy {
            self.open_due_ms = now_ms;
        } else {
            self.open_due_ms = now_ms + self.backoff_ms;
            self.backoff_ms = (self.backoff_ms * 2).min(self.policy.max_backoff_ms);
        }
    }

    /// The stream was closed on purpose: reopen at once, no fault to report.
    pub fn closed(&mut self, now_ms: u64) {
        self.open = false;
        self.open_due_ms = now_ms;
        self.status = CameraStatus::Starting;
    }

    /// True when the stream is open but has made no progress for the stall timeout.
    pub fn stalled(&self, now_ms: u64) -> bool {
        self.open && now_ms.saturating_sub(self.last_progress_ms) >= self.policy.stall_timeout_ms
    }
}

#[cfg(test)]
#[path = "recovery_tests.rs"]
mod tests;
