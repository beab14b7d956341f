//! From a raw driver buffer to a [`Frame`], counting what had to be dropped.
//!
//! Sans-IO: the V4L2 loop hands over bytes and a timestamp. A corrupt or truncated MJPEG
//! frame (common on marginal USB links) or a short raw buffer is dropped and counted, never
//! fatal: the next buffer is as likely to be good as any.

use serde::Serialize;

use super::Frame;
use super::convert::{ConvertError, Layout, to_rgb};

/// Counters for the log, the bench and the MQTT state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CameraStats {
    /// Frames delivered.
    pub frames: u64,
    /// Buffers dropped because they did not convert (corrupt/truncated MJPEG, short buffers,
    /// buffers the driver flagged as erroneous).
    pub dropped: u64,
    /// Times the device was (re)opened.
    pub opens: u64,
    /// Times a stalled stream was restarted.
    pub stalls: u64,
}

/// Converts buffers of one negotiated layout.
#[derive(Debug)]
pub struct FrameIntake {
    layout: Layout,
    last_t_ms: u64,
    last_error: Option<ConvertError>,
}

impl FrameIntake {
    /// For a stream the driver confirmed as `layout`.
    pub fn new(layout: Layout) -> Self {
        Self { layout, last_t_ms: 0, last_error: None }
    }

    /// Why the last dropped buffer was dropped.
    pub fn last_error(&self) -> Option<&ConvertError> {
        self.last_error.as_ref()
    }

    /// One buffer: `Some(frame)`, or `None` when it was dropped (and counted in `stats`).
    /// `driver_error` is the driver's own "this buffer is damaged" flag. Timestamps never go
    /// backwards, even if the driver's do.
    pub fn take(
        &mut self,
        data: &[u8],
        t_ms: u64,
        driver_error: bool,
        stats: &mut CameraStats,
    ) -> Option<Frame> {
        let converted = if driver_error { Err(ConvertError::Damaged) } else { to_rgb(&self.layout, data) };
        match converted {
            Ok(image) => {
                stats.frames += 1;
                self.last_t_ms = self.last_t_ms.max(t_ms);
                Some(Frame { image, t_ms: self.last_t_ms })
            }
            Err(e) => {
                stats.dropped += 1;
                self.last_error = Some(e);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::camera::convert::PixelFormat;
    use crate::camera::convert::tests::jpeg_of;

    fn mjpeg() -> FrameIntake {
        FrameIntake::new(Layout { format: PixelFormat::Mjpeg, width: 64, height: 48, stride: 0 })
    }

    #[test]
    fn corrupt_and_truncated_mjpeg_frames_are_dropped_and_counted_and_the_stream_goes_on() {
        let good = jpeg_of(64, 48);
        let truncated = &good[..good.len() * 2 / 3];
        let mut garbled = good.clone();
        garbled[2..40].fill(0x5A);
        let mut intake = mjpeg();
        let mut stats = CameraStats::default();
        let mut delivered = Vec::new();
        for (t, buf) in [&good[..], truncated, &garbled[..], &good[..]].into_iter().enumerate() {
            if let Some(frame) = intake.take(buf, t as u64 * 33, false, &mut stats) {
                delivered.push(frame.t_ms);
            }
        }
        assert_eq!(delivered, [0, 99]);
        assert_eq!((stats.frames, stats.dropped), (2, 2));
        assert!(matches!(intake.last_error(), Some(ConvertError::CorruptJpeg(_))));
    }

    #[test]
    fn a_buffer_the_driver_flags_as_damaged_is_dropped_even_if_it_decodes() {
        let mut stats = CameraStats::default();
        let mut intake = mjpeg();
        assert!(intake.take(&jpeg_of(64, 48), 0, true, &mut stats).is_none());
        assert_eq!(stats.dropped, 1);
        assert_eq!(intake.last_error(), Some(&ConvertError::Damaged));
    }

    #[test]
    fn timestamps_never_go_backwards() {
        let layout = Layout { format: PixelFormat::Rgb3, width: 1, height: 1, stride: 0 };
        let mut intake = FrameIntake::new(layout);
        let mut stats = CameraStats::default();
        let ts: Vec<u64> = [100, 90, 120]
            .iter()
            .filter_map(|&t| intake.take(&[1, 2, 3], t, false, &mut stats))
            .map(|f| f.t_ms)
            .collect();
        assert_eq!(ts, [100, 100, 120]);
    }
}
