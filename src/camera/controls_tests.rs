use std::collections::BTreeMap;

use super::*;

/// A camera's controls as a map, with the habits of real ones: while an automatic is on, its
/// value drifts on every [`Fake::tick`]; switched to manual, the value falls back to a stale
/// manual setting; some writes are refused with an OS error.
#[derive(Debug, Clone, Default)]
struct Fake {
    values: BTreeMap<u32, i64>,
    /// (control, value or any, errno) refused on write.
    refuse: Vec<(u32, Option<i64>, i32)>,
    /// (control, errno) failing on read.
    unreadable: Vec<(u32, i32)>,
    /// The value an automatic's value falls back to when it is switched to manual.
    stale: BTreeMap<u32, i64>,
    writes: Vec<(u32, i64)>,
}

impl Fake {
    fn with(values: &[(u32, i64)]) -> Self {
        Self { values: values.iter().copied().collect(), ..Self::default() }
    }

    /// A UVC webcam: aperture-priority exposure, auto white balance, auto gain.
    fn webcam() -> Self {
        let mut cam = Self::with(&[
            (EXPOSURE_AUTO, 3),
            (EXPOSURE_ABSOLUTE, 156),
            (AUTO_WHITE_BALANCE, 1),
            (WHITE_BALANCE_TEMPERATURE, 4600),
            (AUTOGAIN, 1),
            (GAIN, 32),
        ]);
        cam.stale = [(EXPOSURE_ABSOLUTE, 20), (WHITE_BALANCE_TEMPERATURE, 6500), (GAIN, 0)].into();
        cam
    }

    /// Like vivid: auto gain and gain, no exposure or white balance controls.
    fn vivid() -> Self {
        Self::with(&[(AUTOGAIN, 1), (GAIN, 100)])
    }

    /// Time passes: every automatic that is on moves its value.
    fn tick(&mut self) {
        for a in Automatic::ALL {
            let (auto, manual, value) = a.controls();
            if self.values.get(&auto).is_some_and(|&v| v != manual)
                && let Some(v) = self.values.get_mut(&value)
            {
                *v += 7;
            }
        }
    }

    fn get(&self, id: u32) -> i64 {
        self.values[&id]
    }

    fn written_ids(&self) -> Vec<u32> {
        self.writes.iter().map(|&(id, _)| id).collect()
    }
}

impl ControlDevice for Fake {
    fn read(&self, id: u32) -> io::Result<Option<i64>> {
        if let Some(&(_, errno)) = self.unreadable.iter().find(|(c, _)| *c == id) {
            return Err(io::Error::from_raw_os_error(errno));
        }
        Ok(self.values.get(&id).copied())
    }

    fn write(&mut self, id: u32, value: i64) -> io::Result<()> {
        if !self.values.contains_key(&id) {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        if let Some(&(_, _, errno)) =
            self.refuse.iter().find(|(c, v, _)| *c == id && v.is_none_or(|v| v == value))
        {
            return Err(io::Error::from_raw_os_error(errno));
        }
        self.writes.push((id, value));
        let was = self.values.insert(id, value);
        for a in Automatic::ALL {
            let (auto, manual, driven) = a.controls();
            if id == auto
                && value == manual
                && was != Some(manual)
                && let Some(&stale) = self.stale.get(&driven)
            {
                self.values.insert(driven, stale);
            }
        }
        Ok(())
    }
}

fn json(r: &ControlsReport) -> String {
    serde_json::to_string(r).unwrap()
}

#[test]
fn every_automatic_is_switched_off_at_the_value_the_camera_had_chosen_and_restored_exactly() {
    let mut cam = Fake::webcam();
    cam.tick();
    cam.tick();
    let before = cam.values.clone();
    let lock = ControlLock::take(&mut cam);
    assert_eq!(json(lock.report()), r#"{"exposure":"locked","white_balance":"locked","gain":"locked"}"#);
    // Off, and at the values read before (not the stale manual ones the camera fell back to).
    assert_eq!((cam.get(EXPOSURE_AUTO), cam.get(EXPOSURE_ABSOLUTE)), (1, 156 + 14));
    assert_eq!((cam.get(AUTO_WHITE_BALANCE), cam.get(WHITE_BALANCE_TEMPERATURE)), (0, 4600 + 14));
    assert_eq!((cam.get(AUTOGAIN), cam.get(GAIN)), (0, 32 + 14));
    let locked = cam.values.clone();
    cam.tick();
    cam.tick();
    assert_eq!(cam.values, locked, "a locked camera drifted");
    assert!(lock.restore(&mut cam).is_empty());
    assert_eq!(cam.values, before);
    cam.tick();
    assert_ne!(cam.values, before, "the automatics are back on");
}

#[test]
fn a_camera_without_some_automatics_reports_them_absent_and_they_are_not_touched() {
    let mut cam = Fake::vivid();
    let lock = ControlLock::take(&mut cam);
    assert_eq!(json(lock.report()), r#"{"exposure":"absent","white_balance":"absent","gain":"locked"}"#);
    assert_eq!(lock.report().to_string(), "exposure=absent white_balance=absent gain=locked");
    assert_eq!(cam.written_ids(), [AUTOGAIN, GAIN]);
    assert_eq!((cam.get(AUTOGAIN), cam.get(GAIN)), (0, 100));
    cam.writes.clear();
    assert!(lock.restore(&mut cam).is_empty());
    assert_eq!(cam.written_ids(), [AUTOGAIN, GAIN, AUTOGAIN]);
    assert_eq!(cam.values, Fake::vivid().values);

    let mut bare = Fake::with(&[]);
    let lock = ControlLock::take(&mut bare);
    assert_eq!(json(lock.report()), r#"{"exposure":"absent","white_balance":"absent","gain":"absent"}"#);
    assert!(lock.restore(&mut bare).is_empty());
    assert!(bare.writes.is_empty());
}

#[test]
fn an_automatic_without_its_value_control_is_still_switched_off_and_back_on() {
    let mut cam = Fake::with(&[(AUTO_WHITE_BALANCE, 1)]);
    let lock = ControlLock::take(&mut cam);
    assert_eq!(lock.report().white_balance, ControlState::Locked);
    assert_eq!(cam.get(AUTO_WHITE_BALANCE), 0);
    lock.restore(&mut cam);
    assert_eq!(cam.get(AUTO_WHITE_BALANCE), 1);
}

#[test]
fn a_refused_switch_is_reported_with_the_os_error_and_left_as_it_was() {
    // A camera whose exposure menu has no manual entry.
    let mut cam = Fake::webcam();
    cam.refuse.push((EXPOSURE_AUTO, Some(1), libc::EINVAL));
    let before = cam.values.clone();
    let lock = ControlLock::take(&mut cam);
    assert_eq!(
        json(lock.report()),
        r#"{"exposure":"refused: Invalid argument (os error 22)","white_balance":"locked","gain":"locked"}"#
    );
    assert_eq!((cam.get(EXPOSURE_AUTO), cam.get(EXPOSURE_ABSOLUTE)), (3, 156));
    assert!(!cam.written_ids().contains(&EXPOSURE_ABSOLUTE));
    assert!(lock.restore(&mut cam).is_empty());
    assert_eq!(cam.values, before);
}

#[test]
fn a_refused_value_puts_its_automatic_back_on() {
    let mut cam = Fake::webcam();
    cam.refuse.push((GAIN, None, libc::ERANGE));
    let lock = ControlLock::take(&mut cam);
    assert_eq!(
        lock.report().gain,
        ControlState::Refused("Numerical result out of range (os error 34)".into())
    );
    assert_eq!(lock.report().exposure, ControlState::Locked);
    assert_eq!(cam.get(AUTOGAIN), 1, "auto gain left off without its value");
    cam.writes.clear();
    lock.restore(&mut cam);
    assert!(!cam.written_ids().contains(&AUTOGAIN), "a refused automatic is not restored");
}

#[test]
fn an_unreadable_control_is_refused_before_anything_is_written() {
    let mut cam = Fake::webcam();
    cam.unreadable.push((EXPOSURE_ABSOLUTE, libc::EIO));
    let lock = ControlLock::take(&mut cam);
    assert_eq!(lock.report().exposure, ControlState::Refused("Input/output error (os error 5)".into()));
    assert!(!cam.written_ids().contains(&EXPOSURE_AUTO));
}

#[test]
fn a_restore_the_camera_refuses_is_reported_and_the_others_are_still_restored() {
    let mut cam = Fake::webcam();
    let before = cam.values.clone();
    let lock = ControlLock::take(&mut cam);
    cam.refuse.push((AUTOGAIN, Some(1), libc::EIO));
    let refused = lock.restore(&mut cam);
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].0, Automatic::Gain);
    assert_eq!(cam.get(EXPOSURE_AUTO), before[&EXPOSURE_AUTO]);
    assert_eq!(cam.get(AUTO_WHITE_BALANCE), before[&AUTO_WHITE_BALANCE]);
}

#[test]
fn a_second_lock_keeps_the_values_read_by_the_first() {
    let mut cam = Fake::webcam();
    let before = cam.values.clone();
    let mut controls = CameraControls::new(true);
    let first = controls.lock(&mut cam).cloned();
    cam.writes.clear();
    assert_eq!(controls.lock(&mut cam).cloned(), first);
    assert!(cam.writes.is_empty(), "locked twice");
    controls.restore(&mut cam);
    assert_eq!(cam.values, before, "restored to the locked values instead of the originals");
    assert_eq!(controls.report(), None);
    cam.writes.clear();
    controls.restore(&mut cam);
    assert!(cam.writes.is_empty(), "restored without a lock");
}

#[test]
fn a_camera_that_reconnects_while_locked_is_restored_and_starts_unlocked() {
    for kept_by_driver in [true, false] {
        let mut old = Fake::webcam();
        old.tick();
        let before = old.values.clone();
        let mut controls = CameraControls::new(true);
        assert!(controls.lock(&mut old).is_some());
        // The stream is lost: a stall restart (the driver kept the manual settings) or an
        // unplug (the camera comes back with its power-on defaults).
        controls.disconnected();
        assert_eq!(controls.report(), None);
        let mut new = if kept_by_driver { old.clone() } else { Fake::webcam() };
        new.writes.clear();
        controls.connected(&mut new);
        assert_eq!(new.values, before, "driver kept settings: {kept_by_driver}");
        assert_eq!(controls.report(), None, "a reconnected camera starts unlocked");
        // The challenge's restore finds nothing to do; the next connection owes nothing.
        new.writes.clear();
        controls.restore(&mut new);
        controls.connected(&mut new);
        assert!(new.writes.is_empty());
        // The next lock reads the restored values.
        new.tick();
        let again = new.values.clone();
        controls.lock(&mut new);
        controls.restore(&mut new);
        assert_eq!(new.values, again);
    }
}

#[test]
fn lock_controls_false_leaves_the_camera_alone() {
    let mut cam = Fake::webcam();
    let mut controls = CameraControls::new(false);
    assert_eq!(controls.lock(&mut cam), None);
    controls.restore(&mut cam);
    assert!(cam.writes.is_empty());
}

#[test]
fn control_states_read_back_from_the_state_json() {
    let r: ControlsReport = serde_json::from_str(
        r#"{"exposure":"locked","white_balance":"absent","gain":"refused: Device or resource busy (os error 16)"}"#,
    )
    .unwrap();
    assert_eq!(r.exposure, ControlState::Locked);
    assert_eq!(r.white_balance, ControlState::Absent);
    assert_eq!(r.gain, ControlState::Refused("Device or resource busy (os error 16)".into()));
    assert_eq!(serde_json::from_str::<ControlsReport>(&json(&r)).unwrap(), r);
}
