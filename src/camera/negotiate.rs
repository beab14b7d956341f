//! Choosing a pixel format and frame size from what a device offers: a pure function over
//! the offered list, so every choice can be tested without a camera.
//!
//! Why MJPEG only above 640×480: at VGA and below, USB 2.0 carries YUYV at 30 fps and raw
//! frames cost no decode time on the Pi; above it, YUYV drops to a few fps on most UVC
//! cameras, and MJPEG is the only way to keep the frame rate. NV12 and RGB3 are the fallbacks
//! for devices that offer nothing else (libcamera's V4L2 layer, virtual drivers).

use std::fmt;

use super::convert::PixelFormat;

/// Frame sizes a device offers for one format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfferedSize {
    Discrete {
        width: u32,
        height: u32,
    },
    Stepwise {
        min_width: u32,
        max_width: u32,
        step_width: u32,
        min_height: u32,
        max_height: u32,
        step_height: u32,
    },
}

/// One format the device offers (any fourcc, including ones we cannot convert).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offered {
    pub fourcc: [u8; 4],
    pub sizes: Vec<OfferedSize>,
}

/// What to ask the driver for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Choice {
    pub format: PixelFormat,
    pub width: u32,
    pub height: u32,
}

impl fmt::Display for Choice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}x{}", self.format, self.width, self.height)
    }
}

/// Why nothing could be chosen.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NegotiateError {
    #[error(
        "the device offers no format we can convert (offered: {offered}; we read MJPG, YUYV, NV12, RGB3)"
    )]
    NoUsableFormat { offered: String },
    #[error("the device does not offer {wanted} (offered: {offered})")]
    FormatNotOffered { wanted: PixelFormat, offered: String },
}

/// Above this many pixels MJPEG is preferred over YUYV.
pub const MJPEG_ABOVE_PIXELS: u64 = 640 * 480;

/// Picks a format and size for a wanted `width`×`height`, optionally forcing one format.
///
/// Formats by preference: above 640×480 MJPEG, YUYV, NV12, RGB3; otherwise YUYV, MJPEG, NV12,
/// RGB3. Within the format, the offered size closest to the wanted one (an exact match when
/// offered; stepwise ranges are snapped to their grid).
///
/// # Errors
/// [`NegotiateError`] when no usable (or not the forced) format is offered.
pub fn choose(
    offered: &[Offered],
    width: u32,
    height: u32,
    force: Option<PixelFormat>,
) -> Result<Choice, NegotiateError> {
    let listing = || describe(offered);
    let usable = |f: PixelFormat| offered.iter().find(|o| o.fourcc == f.fourcc() && !o.sizes.is_empty());
    let order: Vec<PixelFormat> = match force {
        Some(f) if usable(f).is_none() => {
            return Err(NegotiateError::FormatNotOffered { wanted: f, offered: listing() });
        }
        Some(f) => vec![f],
        None if u64::from(width) * u64::from(height) > MJPEG_ABOVE_PIXELS => {
            vec![PixelFormat::Mjpeg, PixelFormat::Yuyv, PixelFormat::Nv12, PixelFormat::Rgb3]
        }
        None => vec![PixelFormat::Yuyv, PixelFormat::Mjpeg, PixelFormat::Nv12, PixelFormat::Rgb3],
    };
    let (format, offer) = order
        .into_iter()
        .find_map(|f| usable(f).map(|o| (f, o)))
        .ok_or_else(|| NegotiateError::NoUsableFormat { offered: listing() })?;
    let (w, h) = offer
        .sizes
        .iter()
        .map(|s| nearest_in(s, width, height))
        .min_by_key(|&(w, h)| distance(w, h, width, height))
        .expect("usable formats have sizes");
    Ok(Choice { format, width: w, height: h })
}

fn distance(w: u32, h: u32, want_w: u32, want_h: u32) -> (u64, u64) {
    // Pixel-count difference first, then shape, so 640×360 beats 800×600 for a wanted 640×480
    // only when it is actually closer in area.
    let area = (u64::from(w) * u64::from(h)).abs_diff(u64::from(want_w) * u64::from(want_h));
    (area, u64::from(w.abs_diff(want_w)) + u64::from(h.abs_diff(want_h)))
}

fn nearest_in(size: &OfferedSize, want_w: u32, want_h: u32) -> (u32, u32) {
    match *size {
        OfferedSize::Discrete { width, height } => (width, height),
        OfferedSize::Stepwise { min_width, max_width, step_width, min_height, max_height, step_height } => (
            snap(want_w, min_width, max_width, step_width),
            snap(want_h, min_height, max_height, step_height),
        ),
    }
}

fn snap(want: u32, min: u32, max: u32, step: u32) -> u32 {
    let v = want.clamp(min, max.max(min));
    let step = step.max(1);
    let snapped = min + (v - min + step / 2) / step * step;
    if snapped > max { snapped - step } else { snapped }
}

/// What a device offered, for the log: formats we read with their sizes, then the others by
/// name (a virtual driver offers 80+), e.g. `"YUYV 640x480 320x240; also H264"`.
pub fn describe(offered: &[Offered]) -> String {
    let name = |o: &Offered| -> String {
        o.fourcc
            .iter()
            .map(|&b| if b.is_ascii_graphic() || b == b' ' { b as char } else { '?' })
            .collect::<String>()
            .trim_end()
            .into()
    };
    let sizes = |o: &Offered| -> Vec<String> {
        o.sizes
            .iter()
            .map(|s| match *s {
                OfferedSize::Discrete { width, height } => format!("{width}x{height}"),
                OfferedSize::Stepwise { min_width, max_width, min_height, max_height, .. } => {
                    format!("{min_width}x{min_height}-{max_width}x{max_height}")
                }
            })
            .collect()
    };
    let (ours, others): (Vec<&Offered>, Vec<&Offered>) =
        offered.iter().partition(|o| PixelFormat::from_fourcc(o.fourcc).is_some());
    let mut parts: Vec<String> = ours.iter().map(|o| [vec![name(o)], sizes(o)].concat().join(" ")).collect();
    if !others.is_empty() {
        let mut names: Vec<String> = others.iter().take(6).map(|o| name(o)).collect();
        if others.len() > 6 {
            names.push(format!("and {} more", others.len() - 6));
        }
        parts.push(format!("also {}", names.join(" ")));
    }
    if parts.is_empty() { "nothing".into() } else { parts.join(", ") }
}

#[cfg(test)]
#[path = "negotiate_tests.rs"]
mod tests;
