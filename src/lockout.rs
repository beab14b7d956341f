//! The lockout of SPEC §5: after `max_fails` failed challenges within `window`, the terminal
//! refuses new challenges for `lock`. Only a face that failed the liveness checks counts
//! ([`Reason::counts_toward_lockout`]): nobody in front of the camera, or a camera fault, never
//! does, so an outsider who may publish `start` cannot lock the door of an empty hall. The
//! history survives restarts: [`Lockout::saved`] is written by the service (`[lockout]
//! state_file`) and [`Lockout::restore`]d at start. Sans-IO: times are Unix milliseconds passed
//! in by the caller.

use std::collections::VecDeque;
use std::path::PathBuf;

use crate::liveness::session::Reason;

use serde::{Deserialize, Serialize};

/// `[lockout]`: after `max_fails` failed challenges within `window_s`, refuse starts for `lock_s`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LockoutConfig {
    pub max_fails: u32,
    pub window_s: u64,
    pub lock_s: u64,
    /// The failures and the lock, kept across restarts.
    pub state_file: PathBuf,
}

impl Default for LockoutConfig {
    fn default() -> Self {
        Self { max_fails: 5, window_s: 180, lock_s: 600, state_file: "/var/lib/livegate/lockout.json".into() }
    }
}

/// Whether a challenge that ended with `reason` counts toward the lockout: a face was there,
/// followed the challenge into the Nose state or showed a second face, and failed a liveness
/// check. Not: no face (`face_timeout`), a face that never settled in the area or went away
/// (`area_timeout`, `face_lost`), a camera fault, a cancel, an incomplete replay.
pub fn counts_toward_lockout(reason: Option<Reason>) -> bool {
    matches!(
        reason,
        Some(
            Reason::MultipleFaces
                | Reason::NoseTimeout
                | Reason::LeftArea
                | Reason::TurnedAway
                | Reason::NoRotation
                | Reason::LayoutUnchanged
                | Reason::FlatMotion
                | Reason::JerkyPath
        )
    )
}

/// What [`Lockout::saved`] keeps: the failures in the window and the end of a lock (Unix ms).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Saved {
    pub fails: Vec<u64>,
    pub locked_until: Option<u64>,
}

/// Failure history and the current lock.
#[derive(Debug, Clone)]
pub struct Lockout {
    max_fails: usize,
    window_ms: u64,
    lock_ms: u64,
    fails: VecDeque<u64>,
    locked_until: Option<u64>,
}

impl Lockout {
    pub fn new(cfg: &LockoutConfig) -> Self {
        Self {
            max_fails: cfg.max_fails as usize,
            window_ms: cfg.window_s * 1000,
            lock_ms: cfg.lock_s * 1000,
            fails: VecDeque::new(),
            locked_until: None,
        }
    }

    /// The history as it stands, to be kept across a restart.
    pub fn saved(&self) -> Saved {
        Saved { fails: self.fails.iter().copied().collect(), locked_until: self.locked_until }
    }

    /// The lockout of `cfg` with the history `saved` at `now_ms`. What a clock moved back
    /// would make odd is bounded: failures from the future are dropped, and a lock ends at most
    /// `lock_s` from now.
    pub fn restore(cfg: &LockoutConfig, saved: Saved, now_ms: u64) -> Self {
        let mut l = Self::new(cfg);
        l.fails = saved.fails.into_iter().filter(|&t| t <= now_ms && now_ms - t <= l.window_ms).collect();
        l.locked_until = saved.locked_until.filter(|&u| u > now_ms).map(|u| u.min(now_ms + l.lock_ms));
        l
    }

    /// Records a finished challenge; returns the end of a lock it starts, if any.
    pub fn record(&mut self, failed: bool, now_ms: u64) -> Option<u64> {
        if !failed {
            return None;
        }
        self.fails.push_back(now_ms);
        while self.fails.front().is_some_and(|&t| now_ms.saturating_sub(t) > self.window_ms) {
            self.fails.pop_front();
        }
        if self.fails.len() >= self.max_fails {
            self.fails.clear();
            self.locked_until = Some(now_ms + self.lock_ms);
            return self.locked_until;
        }
        None
    }

    /// Milliseconds left of the lock, if locked now.
    pub fn remaining_ms(&mut self, now_ms: u64) -> Option<u64> {
        match self.locked_until {
            Some(until) if until > now_ms => Some(until - now_ms),
            Some(_) => {
                self.locked_until = None;
                None
            }
            None => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lockout() -> Lockout {
        Lockout::new(&LockoutConfig::default())
    }

    #[test]
    fn five_fails_in_three_minutes_lock_for_ten_minutes() {
        let mut l = lockout();
        for i in 0..4 {
            assert_eq!(l.record(true, i * 10_000), None);
        }
        assert_eq!(l.record(true, 60_000), Some(660_000));
        assert_eq!(l.remaining_ms(100_000), Some(560_000));
        assert_eq!(l.remaining_ms(660_000), None);
    }

    #[test]
    fn fails_spread_over_more_than_the_window_do_not_lock() {
        let mut l = lockout();
        for i in 0..10 {
            assert_eq!(l.record(true, i * 50_000), None, "fail {i}");
        }
        assert_eq!(l.remaining_ms(500_000), None);
    }

    #[test]
    fn the_history_survives_a_restart_and_a_clock_moved_back_is_bounded() {
        let cfg = LockoutConfig::default();
        let mut l = lockout();
        for i in 0..4 {
            l.record(true, 1_000_000 + i * 1_000);
        }
        let saved: Saved = serde_json::from_str(&serde_json::to_string(&l.saved()).unwrap()).unwrap();
        let mut again = Lockout::restore(&cfg, saved, 1_010_000);
        assert_eq!(again.record(true, 1_020_000), Some(1_620_000), "the fifth failure after a restart locks");
        let mut locked = Lockout::restore(&cfg, again.saved(), 1_100_000);
        assert_eq!(locked.remaining_ms(1_100_000), Some(520_000), "a restart does not clear the lock");
        // The clock moved back an hour: the lock ends at most lock_s from now, old fails stay out.
        let back = Lockout::restore(
            &cfg,
            Saved { fails: vec![5_000_000], locked_until: Some(9_000_000) },
            1_000_000,
        );
        assert_eq!(back.saved(), Saved { fails: vec![], locked_until: Some(1_600_000) });
    }

    #[test]
    fn only_a_face_that_failed_the_liveness_checks_counts() {
        for r in [
            Reason::FaceTimeout,
            Reason::AreaTimeout,
            Reason::FaceLost,
            Reason::CameraError,
            Reason::Cancelled,
            Reason::Incomplete,
        ] {
            assert!(!counts_toward_lockout(Some(r)), "{r:?}");
        }
        for r in [
            Reason::FlatMotion,
            Reason::NoRotation,
            Reason::MultipleFaces,
            Reason::NoseTimeout,
            Reason::LayoutUnchanged,
        ] {
            assert!(counts_toward_lockout(Some(r)), "{r:?}");
        }
        assert!(!counts_toward_lockout(None), "a pass");
    }

    #[test]
    fn passes_do_not_count_as_fails() {
        let mut l = lockout();
        for i in 0..10 {
            assert_eq!(l.record(false, i), None);
        }
        assert_eq!(l.remaining_ms(10), None);
    }
}
