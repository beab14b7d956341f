//! Holding the camera's automatics still for the light challenge (issue 18).
//!
//! During the Nose state the screen flashes colours and the check looks for them reflected
//! on the visitor's skin. Auto-exposure, auto white balance and auto gain exist to cancel
//! exactly such changes, so for the challenge they are switched off at the values the camera
//! had chosen a moment before, and afterwards put back as they were.
//!
//! A camera may lack any of them (virtual drivers, cheap sensors, libcamera's V4L2 layer) or
//! refuse a value: neither is an error, the lock reports per automatic what happened. The
//! device is a tiny seam ([`ControlDevice`]), so the lock, the restore and their life across
//! reconnects ([`CameraControls`]) are tested without a camera; the V4L2 side is in
//! `v4l2/device.rs`, proven against vivid in `tests/v4l2_vivid.rs`.

use std::fmt;
use std::io;

use serde::{Deserialize, Serialize};
use tracing::{info, warn};
use v4l::v4l_sys as sys;

/// A menu; `V4L2_EXPOSURE_MANUAL` is manual, the others automatic in some way.
pub const EXPOSURE_AUTO: u32 = sys::V4L2_CID_EXPOSURE_AUTO;
/// The exposure time (100 µs units).
pub const EXPOSURE_ABSOLUTE: u32 = sys::V4L2_CID_EXPOSURE_ABSOLUTE;
/// Boolean.
pub const AUTO_WHITE_BALANCE: u32 = sys::V4L2_CID_AUTO_WHITE_BALANCE;
/// Kelvin.
pub const WHITE_BALANCE_TEMPERATURE: u32 = sys::V4L2_CID_WHITE_BALANCE_TEMPERATURE;
/// Boolean.
pub const AUTOGAIN: u32 = sys::V4L2_CID_AUTOGAIN;
pub const GAIN: u32 = sys::V4L2_CID_GAIN;
const EXPOSURE_MANUAL: i64 = sys::v4l2_exposure_auto_type_V4L2_EXPOSURE_MANUAL as i64;

/// The controls of one camera, by V4L2 control id.
pub trait ControlDevice {
    /// The control's current value; `Ok(None)` when the camera has no such control.
    ///
    /// # Errors
    /// The OS error of a control that exists but cannot be read.
    fn read(&self, id: u32) -> io::Result<Option<i64>>;

    /// Sets the control.
    ///
    /// # Errors
    /// The OS error when the camera refuses the value.
    fn write(&mut self, id: u32, value: i64) -> io::Result<()>;
}

/// One of the automatics the lock switches off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Automatic {
    Exposure,
    WhiteBalance,
    Gain,
}

impl Automatic {
    pub const ALL: [Self; 3] = [Self::Exposure, Self::WhiteBalance, Self::Gain];

    /// The switch, its value for "off", and the value it would otherwise drive.
    fn controls(self) -> (u32, i64, u32) {
        match self {
            Self::Exposure => (EXPOSURE_AUTO, EXPOSURE_MANUAL, EXPOSURE_ABSOLUTE),
            Self::WhiteBalance => (AUTO_WHITE_BALANCE, 0, WHITE_BALANCE_TEMPERATURE),
            Self::Gain => (AUTOGAIN, 0, GAIN),
        }
    }

    /// The name in the report and the log.
    pub fn name(self) -> &'static str {
        match self {
            Self::Exposure => "exposure",
            Self::WhiteBalance => "white_balance",
            Self::Gain => "gain",
        }
    }
}

/// What the lock did to one automatic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", from = "String")]
pub enum ControlState {
    /// Switched off, its value held where the camera had it.
    Locked,
    /// The camera has no such automatic: nothing to hold.
    Absent,
    /// The camera refused (the OS error); it was left as it was.
    Refused(String),
}

impl fmt::Display for ControlState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Locked => f.write_str("locked"),
            Self::Absent => f.write_str("absent"),
            Self::Refused(why) => write!(f, "refused: {why}"),
        }
    }
}

impl From<ControlState> for String {
    fn from(s: ControlState) -> Self {
        s.to_string()
    }
}

impl From<String> for ControlState {
    fn from(s: String) -> Self {
        match s.as_str() {
            "locked" => Self::Locked,
            "absent" => Self::Absent,
            _ => Self::Refused(s.strip_prefix("refused: ").unwrap_or(&s).to_owned()),
        }
    }
}

/// What a lock did, per automatic: the `camera_controls` of the MQTT `state`, e.g.
/// `{"exposure":"locked","white_balance":"absent","gain":"locked"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlsReport {
    pub exposure: ControlState,
    pub white_balance: ControlState,
    pub gain: ControlState,
}

impl ControlsReport {
    /// The state of one automatic.
    pub fn of(&self, a: Automatic) -> &ControlState {
        match a {
            Automatic::Exposure => &self.exposure,
            Automatic::WhiteBalance => &self.white_balance,
            Automatic::Gain => &self.gain,
        }
    }

    fn of_mut(&mut self, a: Automatic) -> &mut ControlState {
        match a {
            Automatic::Exposure => &mut self.exposure,
            Automatic::WhiteBalance => &mut self.white_balance,
            Automatic::Gain => &mut self.gain,
        }
    }
}

impl fmt::Display for ControlsReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> =
            Automatic::ALL.iter().map(|&a| format!("{}={}", a.name(), self.of(a))).collect();
        f.write_str(&parts.join(" "))
    }
}

/// An automatic as the lock found it: what to put back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Saved {
    automatic: Automatic,
    /// The switch's value before the lock.
    auto: i64,
    /// The driven value before the lock, when the camera has it.
    value: Option<i64>,
}

/// One lock: the values read before anything was changed, and the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlLock {
    saved: Vec<Saved>,
    report: ControlsReport,
}

impl ControlLock {
    /// Reads each automatic and its value, then switches it off and writes the value back
    /// (many cameras fall back to a stale manual value when switched to manual). A camera
    /// that refuses either write has that automatic put back as it was.
    pub fn take(dev: &mut dyn ControlDevice) -> Self {
        let mut report = ControlsReport {
            exposure: ControlState::Absent,
            white_balance: ControlState::Absent,
            gain: ControlState::Absent,
        };
        let mut saved = Vec::new();
        for a in Automatic::ALL {
            let (state, kept) = lock_one(dev, a);
            *report.of_mut(a) = state;
            saved.extend(kept);
        }
        Self { saved, report }
    }

    /// What the lock did.
    pub fn report(&self) -> &ControlsReport {
        &self.report
    }

    /// Puts back exactly the values read by [`Self::take`]: switched to manual (so the value
    /// may be written, also on a camera that came back in its automatic mode), the value,
    /// then the switch as it was. Returns what the camera refused (each also logged).
    pub fn restore(self, dev: &mut dyn ControlDevice) -> Vec<(Automatic, io::Error)> {
        let mut refused = Vec::new();
        for s in self.saved {
            let (auto_id, manual, value_id) = s.automatic.controls();
            let value = s.value.map(|v| (value_id, v));
            let steps = [Some((auto_id, manual)), value, Some((auto_id, s.auto))];
            if let Some(e) = steps.into_iter().flatten().find_map(|(id, v)| dev.write(id, v).err()) {
                warn!(automatic = s.automatic.name(), error = %e, "camera control not restored");
                refused.push((s.automatic, e));
            }
        }
        refused
    }
}

/// Locks one automatic: its state, and what to put back when it was locked.
fn lock_one(dev: &mut dyn ControlDevice, a: Automatic) -> (ControlState, Option<Saved>) {
    let (auto_id, manual, value_id) = a.controls();
    let refused = |e: io::Error| (ControlState::Refused(e.to_string()), None);
    let auto = match dev.read(auto_id) {
        Ok(Some(v)) => v,
        Ok(None) => return (ControlState::Absent, None),
        Err(e) => return refused(e),
    };
    let value = match dev.read(value_id) {
        Ok(v) => v,
        Err(e) => return refused(e),
    };
    if let Err(e) = dev.write(auto_id, manual) {
        return refused(e);
    }
    if let Some(v) = value
        && let Err(e) = dev.write(value_id, v)
    {
        // Off but not at its value: worse than left alone, so put the switch back.
        if let Err(back) = dev.write(auto_id, auto) {
            warn!(automatic = a.name(), error = %back, "camera control left in manual");
        }
        return refused(e);
    }
    (ControlState::Locked, Some(Saved { automatic: a, auto, value }))
}

/// The lock over a camera's connections, kept by the V4L2 camera: held while the stream it was
/// taken on lives; a stream lost while locked owes its restore to the next connection (the
/// driver may keep the manual settings over a stream restart), which then starts unlocked.
#[derive(Debug, Default)]
pub struct CameraControls {
    /// `[camera.v4l2] lock_controls`: false ignores every lock.
    disabled: bool,
    held: Option<ControlLock>,
    owed: Option<ControlLock>,
}

impl CameraControls {
    /// Locks when `enabled`, else ignores every [`Self::lock`].
    pub fn new(enabled: bool) -> Self {
        Self { disabled: !enabled, held: None, owed: None }
    }

    /// The held lock's report.
    pub fn report(&self) -> Option<&ControlsReport> {
        self.held.as_ref().map(ControlLock::report)
    }

    /// Locks the connected camera's automatics and logs what happened (once per lock). Held
    /// already: nothing changes, so the values to restore stay the ones read first.
    pub fn lock(&mut self, dev: &mut dyn ControlDevice) -> Option<&ControlsReport> {
        if self.disabled {
            return None;
        }
        if self.held.is_none() {
            let lock = ControlLock::take(dev);
            let report = lock.report();
            if Automatic::ALL.iter().any(|&a| matches!(report.of(a), ControlState::Refused(_))) {
                warn!(controls = %report, "camera controls locked where the camera let us");
            } else {
                info!(controls = %report, "camera controls locked");
            }
            self.held = Some(lock);
        }
        self.report()
    }

    /// Puts back what the lock read; nothing when no lock is held.
    pub fn restore(&mut self, dev: &mut dyn ControlDevice) {
        if let Some(lock) = self.held.take()
            && lock.restore(dev).is_empty()
        {
            info!("camera controls restored");
        }
    }

    /// The stream the lock was taken on is gone (lost or closed).
    pub fn disconnected(&mut self) {
        if let Some(lock) = self.held.take() {
            self.owed = Some(lock);
        }
    }

    /// A new connection: a lock lost with the last one is restored on it, and it starts
    /// unlocked.
    pub fn connected(&mut self, dev: &mut dyn ControlDevice) {
        if let Some(lock) = self.owed.take()
            && lock.restore(dev).is_empty()
        {
            info!("camera controls restored after the camera reconnected; it runs unlocked");
        }
    }
}

#[cfg(test)]
#[path = "controls_tests.rs"]
mod tests;
