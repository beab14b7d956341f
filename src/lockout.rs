//! The lockout of SPEC §5: after `max_fails` failed challenges within `window`, the terminal
//! refuses new challenges for `lock`. Sans-IO: times are milliseconds on a monotonic clock
//! passed in by the caller.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

/// `[lockout]`: after `max_fails` failed challenges within `window_s`, refuse starts for `lock_s`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LockoutConfig {
    pub max_fails: u32,
    pub window_s: u64,
    pub lock_s: u64,
}

impl Default for LockoutConfig {
    fn default() -> Self {
        Self { max_fails: 5, window_s: 180, lock_s: 600 }
    }
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
        Lockout::new(&LockoutConfig { max_fails: 5, window_s: 180, lock_s: 600 })
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
    fn passes_do_not_count_as_fails() {
        let mut l = lockout();
        for i in 0..10 {
            assert_eq!(l.record(false, i), None);
        }
        assert_eq!(l.remaining_ms(10), None);
    }
}
