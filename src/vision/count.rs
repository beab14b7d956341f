//! When the detector counts faces over the whole frame (SPEC §2.1).
//!
//! The mesh follows one face from frame to frame; only the detector sees a second one. It
//! cannot run on every frame on a Pi, so it runs often enough that a second face in view for
//! `interval_ms` (100 ms) is counted whatever its timing: such a face is in
//! `n = ceil(interval / frame period)` consecutive frames (3 at 30 fps, 2 at 15 fps), and the
//! detector runs at least every `n`th frame, so every run of `n` frames holds a counted one.
//! The period is measured from the frames' own timestamps, so the guarantee is a time, not a
//! frame count, and holds at any frame rate.

/// The detector's timetable while a face is followed.
#[derive(Debug, Clone, PartialEq)]
pub struct CountSchedule {
    interval_ms: u32,
    /// Frames since the last counted one (not counting it).
    since: u32,
    last_t_ms: Option<u64>,
    /// The last few frame intervals, newest last.
    periods: Vec<u64>,
}

/// How many recent frame intervals the period estimate looks at.
const PERIODS: usize = 5;

impl CountSchedule {
    /// A timetable that counts faces at least every `interval_ms` of frames.
    pub fn new(interval_ms: u32) -> Self {
        Self { interval_ms, since: 0, last_t_ms: None, periods: Vec::with_capacity(PERIODS) }
    }

    /// The frame period (ms): the median of the last few intervals, so one late or dropped
    /// frame does not change the timetable. `None` before two frames were seen.
    pub fn period_ms(&self) -> Option<f32> {
        let mut p = self.periods.clone();
        p.sort_unstable();
        p.get(p.len() / 2).map(|&v| v as f32)
    }

    /// The most frames a second face can stay in view without being counted, plus one: a
    /// face in view for `interval_ms` is in at least this many frames. A tenth of a frame of
    /// slack absorbs timestamps rounded to whole milliseconds (33/34 ms at 30 fps).
    pub fn frames_per_count(&self) -> u32 {
        match self.period_ms() {
            Some(p) if p > 0.0 => ((self.interval_ms as f32 / p) - 0.1).ceil().max(1.0) as u32,
            _ => 1,
        }
    }

    /// Whether the frame at `t_ms` must be counted. Call [`Self::frame`] after it.
    pub fn due(&self, t_ms: u64) -> bool {
        let mut next = self.clone();
        next.note_time(t_ms);
        self.last_t_ms.is_none() || next.since + 1 >= next.frames_per_count()
    }

    /// Records the frame at `t_ms` and whether its faces were counted.
    pub fn frame(&mut self, t_ms: u64, counted: bool) {
        self.note_time(t_ms);
        self.since = if counted { 0 } else { self.since + 1 };
    }

    /// The frame last recorded was counted after all (a count the caller forced).
    pub fn mark_counted(&mut self) {
        self.since = 0;
    }

    fn note_time(&mut self, t_ms: u64) {
        if let Some(last) = self.last_t_ms
            && t_ms > last
        {
            if self.periods.len() == PERIODS {
                self.periods.remove(0);
            }
            self.periods.push(t_ms - last);
        }
        self.last_t_ms = Some(t_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frame times at `fps` with timestamps rounded to whole ms, as cameras deliver them.
    fn times(fps: u32, n: u64) -> Vec<u64> {
        (0..n).map(|i| i * 1000 / u64::from(fps)).collect()
    }

    /// Which frames the schedule counts, when nothing else forces a count.
    fn counted(fps: u32, n: u64) -> Vec<bool> {
        let mut s = CountSchedule::new(100);
        times(fps, n)
            .into_iter()
            .map(|t| {
                let due = s.due(t);
                s.frame(t, due);
                due
            })
            .collect()
    }

    #[test]
    fn a_face_in_view_for_100_ms_is_counted_at_any_entry_time_and_duration() {
        for fps in [15, 30, 25, 60] {
            let n = 200;
            let ts = times(fps, n);
            let c = counted(fps, n);
            for enter in 0..n as usize {
                for len in 1..=(n as usize - enter) {
                    let visible = &ts[enter..enter + len];
                    // In view from its first frame's time until the next frame's time.
                    let end =
                        ts.get(enter + len).copied().unwrap_or(visible[len - 1] + 1000 / u64::from(fps));
                    if end - visible[0] >= 100 && enter > 3 {
                        assert!(
                            c[enter..enter + len].iter().any(|&x| x),
                            "{fps} fps: a face in frames {enter}..{} ({} ms) was never counted",
                            enter + len,
                            end - visible[0]
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn thirty_fps_counts_every_third_frame_and_fifteen_every_second() {
        let c30 = counted(30, 20);
        let c15 = counted(15, 20);
        let gaps = |c: &[bool]| {
            let idx: Vec<usize> = c.iter().enumerate().filter(|(_, x)| **x).map(|(i, _)| i).collect();
            idx.windows(2).skip(2).map(|w| w[1] - w[0]).max().unwrap()
        };
        assert_eq!(gaps(&c30), 3, "{c30:?}");
        assert_eq!(gaps(&c15), 2, "{c15:?}");
    }

    #[test]
    fn one_dropped_frame_does_not_stretch_the_timetable() {
        let mut s = CountSchedule::new(100);
        for (i, t) in [0u64, 33, 67, 100, 133, 233, 267, 300].into_iter().enumerate() {
            let due = s.due(t);
            s.frame(t, due || i == 0);
        }
        assert_eq!(s.frames_per_count(), 3);
    }

    #[test]
    fn the_first_frame_is_always_counted() {
        assert!(CountSchedule::new(100).due(12_345));
    }
}
