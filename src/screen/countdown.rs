//! Turning the session's progress into what the challenge screen shows: the state's remaining
//! time and the instruction. The session (sans-IO) reports a phase and a message per frame but
//! keeps its clock to itself; this small tracker sees the phase change and the frame times
//! and derives the countdown with the same timeouts, so the bar empties exactly when the
//! session would time out.

use crate::liveness::session::{LivenessConfig, Phase};

/// Remembers when the current phase began.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Countdown {
    phase: Option<Phase>,
    since_ms: u64,
}

/// Time left in the current phase.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Remaining {
    /// 1 at the start of the phase, 0 at its timeout.
    pub fraction: f32,
    pub ms: u64,
}

impl Countdown {
    /// Feed the phase reported for the frame at `t_ms`.
    pub fn update(&mut self, phase: Phase, t_ms: u64, config: &LivenessConfig) -> Remaining {
        if self.phase != Some(phase) {
            self.phase = Some(phase);
            self.since_ms = t_ms;
        }
        let timeout = match phase {
            Phase::Face => config.face_timeout_ms,
            Phase::Area => config.area_timeout_ms,
            Phase::Nose => config.nose_timeout_ms,
            Phase::Done => 0,
        };
        let ms = timeout.saturating_sub(t_ms.saturating_sub(self.since_ms));
        let fraction = if timeout == 0 { 0.0 } else { ms as f32 / timeout as f32 };
        Remaining { fraction, ms }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_countdown_restarts_with_each_phase_and_reaches_zero_at_the_timeout() {
        let cfg = LivenessConfig::default();
        let mut c = Countdown::default();
        assert_eq!(c.update(Phase::Area, 1000, &cfg).fraction, 1.0);
        let half = c.update(Phase::Area, 1000 + cfg.area_timeout_ms / 2, &cfg);
        assert!((half.fraction - 0.5).abs() < 1e-3);
        let nose = c.update(Phase::Nose, 5000, &cfg);
        assert_eq!(nose.ms, cfg.nose_timeout_ms);
        let late = c.update(Phase::Nose, 5000 + cfg.nose_timeout_ms + 1, &cfg);
        assert_eq!((late.ms, late.fraction), (0, 0.0));
    }
}
