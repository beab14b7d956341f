//! What the camera does to the light before the service sees a frame.
//!
//! * The sensor ([`Sensor`]): exposure time and gain set by the scene's light, shot noise
//!   (its variance grows with the signal) and read noise (amplified by the gain: a dim
//!   entrance gives visibly grainy frames), auto-exposure and white-balance steps that land
//!   in the middle of the visitor's movement, as a camera's control loop reacts to a face
//!   filling the view. Noise is added in linear light and the result gamma-encoded, as an
//!   ISP does.
//! * The codec round trip: frames leave a USB camera as JPEG (MJPEG streams with halved
//!   chroma and coarse quantisation), and the service sees what the decoder gives back,
//!   blocking and colour bleeding included.

use image::codecs::jpeg::JpegEncoder;
use image::{ImageFormat, Rgb, RgbImage};

use super::{Codec, Conditions, Light, SeededRng};

/// Noise and exposure of one light level.
#[derive(Debug, Clone, Copy, PartialEq)]
struct SensorLight {
    /// Exposure time (s) the auto-exposure settles on; capped by the frame period.
    exposure_s: f32,
    /// Mean brightness the auto-exposure reaches (1: fully exposed).
    level: f32,
    /// Shot-noise variance per unit of linear signal: σ² = k·S. Chosen so a mid-grey
    /// surface has about 0.8 (bright), 2 (normal) or 7 (dim) grey levels of noise.
    shot_k: f32,
    /// Read noise (σ, linear units) after gain: a few grey levels in the shadows when dim.
    read: f32,
}

impl SensorLight {
    fn of(light: Light) -> Self {
        match light {
            Light::Bright => Self { exposure_s: 0.004, level: 1.0, shot_k: 4.0e-5, read: 0.0005 },
            Light::Normal => Self { exposure_s: 0.012, level: 0.95, shot_k: 2.4e-4, read: 0.001 },
            Light::Dim => Self { exposure_s: 0.040, level: 0.75, shot_k: 3.0e-3, read: 0.004 },
        }
    }
}

/// A step of a camera control loop: from `at_s` on, gains are multiplied by `gains`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Step {
    at_s: f32,
    gains: [f32; 3],
}

/// The sensor and its control loops for one session.
#[derive(Debug, Clone, PartialEq)]
pub struct Sensor {
    light: SensorLight,
    exposure_s: f32,
    steps: Vec<Step>,
}

impl Sensor {
    /// The sensor under `conditions`; its AE and WB steps (if any) fall at random moments
    /// of the movement, which lasts from `turn_s.0` to `turn_s.1` seconds.
    pub fn new(conditions: &Conditions, turn_s: (f32, f32), rng: &mut SeededRng) -> Self {
        let light = SensorLight::of(conditions.light);
        // A frame cannot be exposed longer than its period (less the sensor's blanking).
        let exposure_s = light.exposure_s.min(0.9 * conditions.frame_s());
        let at = |rng: &mut SeededRng| turn_s.0 + (turn_s.1 - turn_s.0) * rng.uniform(0.15, 0.85);
        let mut steps = Vec::new();
        if conditions.exposure_step {
            let f = rng.uniform(1.3, 1.8);
            let f = if rng.next_u64().is_multiple_of(2) { f } else { 1.0 / f };
            steps.push(Step { at_s: at(rng), gains: [f; 3] });
        }
        if conditions.white_balance_step {
            let gain = |rng: &mut SeededRng| {
                let g = rng.uniform(0.10, 0.20);
                if rng.next_u64().is_multiple_of(2) { 1.0 + g } else { 1.0 - g }
            };
            let (r, b) = (gain(rng), gain(rng));
            steps.push(Step { at_s: at(rng), gains: [r, 1.0, b] });
        }
        Self { light, exposure_s, steps }
    }

    /// Holds the control loops from `at_s` on, as the service holds a V4L2 camera's exposure,
    /// white balance and gain for the light challenge (`camera.v4l2.lock_controls`): steps
    /// that would have come later do not.
    pub fn hold(&mut self, at_s: f32) {
        self.steps.retain(|s| s.at_s < at_s);
    }

    /// Exposure time of each row (s).
    pub fn exposure_s(&self) -> f32 {
        self.exposure_s
    }

    /// The per-channel gain of the control loops at time `t_s`.
    fn gains(&self, t_s: f32) -> [f32; 3] {
        let mut g = [self.light.level; 3];
        for step in self.steps.iter().filter(|s| t_s >= s.at_s) {
            for (g, s) in g.iter_mut().zip(step.gains) {
                *g *= s;
            }
        }
        g
    }

    /// The frame the sensor and ISP make of the scene `radiance` (sRGB values of the
    /// surfaces) at time `t_s`, with fresh noise from `rng`.
    pub fn develop(&self, radiance: &RgbImage, t_s: f32, rng: &mut SeededRng) -> RgbImage {
        let gains = self.gains(t_s);
        // Per channel and input level: mean and σ of the output, linear light.
        let mut mean = [[0.0f32; 256]; 3];
        let mut sigma = [[0.0f32; 256]; 3];
        for v in 0..256 {
            let s = to_linear(v as u8) * self.light.level;
            let sd = (self.light.shot_k * s + self.light.read * self.light.read).sqrt();
            for c in 0..3 {
                mean[c][v] = s * gains[c] / self.light.level;
                sigma[c][v] = sd * gains[c] / self.light.level;
            }
        }
        let encode = encode_table();
        let normals = normal_table();
        let mut out = radiance.clone();
        let row_len = radiance.width() as usize * 3;
        for row in out.chunks_exact_mut(row_len) {
            // Each row reads the table of normal deviates from its own random place: rows
            // get independent noise at the cost of one draw.
            let start = (rng.next_u64() as usize) & NORMALS_MASK;
            for (i, px) in row.chunks_exact_mut(3).enumerate() {
                let at = |k: usize| normals[(start + 4 * i + k) & NORMALS_MASK];
                // Part of the noise is shared by the channels (luma grain), part is not (chroma).
                let shared = at(3);
                for (c, v) in px.iter_mut().enumerate() {
                    let n = 0.6 * shared + 0.8 * at(c);
                    let x = mean[c][*v as usize] + sigma[c][*v as usize] * n;
                    *v = encode[((x * ENCODE_STEPS as f32) as i32).clamp(0, ENCODE_STEPS as i32) as usize];
                }
            }
        }
        out
    }
}

/// Resolution of the linear → sRGB table over 0..=1.
const ENCODE_STEPS: usize = 4096;

pub(super) fn to_linear(v: u8) -> f32 {
    let x = f32::from(v) / 255.0;
    if x <= 0.04045 { x / 12.92 } else { ((x + 0.055) / 1.055).powf(2.4) }
}

/// The encoded (sRGB) value of linear `x`, clamped to 0..=1.
pub(super) fn encode_linear(x: f32) -> u8 {
    encode_table()[(x.clamp(0.0, 1.0) * ENCODE_STEPS as f32).round() as usize]
}

fn encode_table() -> &'static [u8; ENCODE_STEPS + 1] {
    static TABLE: std::sync::OnceLock<[u8; ENCODE_STEPS + 1]> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        std::array::from_fn(|i| {
            let x = i as f32 / ENCODE_STEPS as f32;
            let s = if x <= 0.003_130_8 { 12.92 * x } else { 1.055 * x.powf(1.0 / 2.4) - 0.055 };
            (s * 255.0).round().clamp(0.0, 255.0) as u8
        })
    })
}

/// Size of the table of normal deviates (a power of two) less one.
const NORMALS_MASK: usize = (1 << 18) - 1;

/// A fixed table of approximately standard normal deviates (sums of four 16-bit uniforms,
/// Irwin–Hall), so per-pixel noise costs a table read instead of a generator call.
fn normal_table() -> &'static [f32] {
    static TABLE: std::sync::OnceLock<Vec<f32>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut rng = SeededRng::new(0x05EE_D0FA_015E);
        (0..=NORMALS_MASK)
            .map(|_| {
                let x = rng.next_u64();
                let sum = (x & 0xFFFF) + ((x >> 16) & 0xFFFF) + ((x >> 32) & 0xFFFF) + (x >> 48);
                // Mean 2·65535, standard deviation √(4/12)·65536.
                (sum as f32 - 131_070.0) / 37_837.0
            })
            .collect()
    })
}

/// How much coarser a USB camera's MJPEG quantisation is than the nominal quality: their
/// fixed tables sit about 15 quality steps below what a still-image encoder would use.
const MJPEG_QUALITY_LOSS: u8 = 15;

/// Encodes `img` as the camera's codec would and decodes it as the service does.
///
/// # Errors
/// When the encoder or the decoder fails.
pub fn codec_round_trip(img: &RgbImage, codec: Codec) -> image::ImageResult<RgbImage> {
    let mut jpeg = Vec::with_capacity(64 * 1024);
    match codec {
        Codec::Jpeg { quality } => JpegEncoder::new_with_quality(&mut jpeg, quality).encode_image(img)?,
        Codec::Mjpeg { quality } => {
            let quality = quality.saturating_sub(MJPEG_QUALITY_LOSS).max(25);
            JpegEncoder::new_with_quality(&mut jpeg, quality).encode_image(&halve_chroma(img))?;
        }
    }
    Ok(image::load_from_memory_with_format(&jpeg, ImageFormat::Jpeg)?.into_rgb8())
}

/// 4:2:2 chroma: each horizontal pixel pair keeps its own luma and shares the pair's mean
/// chroma (BT.601), as a YUYV sensor readout or an MJPEG stream does. The `image` encoder
/// itself codes full-resolution chroma.
fn halve_chroma(img: &RgbImage) -> RgbImage {
    let mut out = img.clone();
    let w = img.width() as usize;
    for row in out.chunks_exact_mut(w * 3) {
        for pair in row.chunks_exact_mut(6) {
            let ycc = |p: &[u8]| {
                let (r, g, b) = (f32::from(p[0]), f32::from(p[1]), f32::from(p[2]));
                let y = 0.299 * r + 0.587 * g + 0.114 * b;
                (y, b - y, r - y)
            };
            let (y0, cb0, cr0) = ycc(&pair[..3]);
            let (y1, cb1, cr1) = ycc(&pair[3..]);
            let (cb, cr) = ((cb0 + cb1) / 2.0, (cr0 + cr1) / 2.0);
            for (px, y) in pair.chunks_exact_mut(3).zip([y0, y1]) {
                let r = y + cr;
                let b = y + cb;
                let g = (y - 0.299 * r - 0.114 * b) / 0.587;
                let q = |v: f32| v.round().clamp(0.0, 255.0) as u8;
                px.copy_from_slice(&Rgb([q(r), q(g), q(b)]).0);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The standard deviation of a flat grey patch after the sensor.
    fn patch_std(light: Light) -> f32 {
        let conditions = Conditions { light, ..Conditions::baseline() };
        let sensor = Sensor::new(&conditions, (0.3, 1.3), &mut SeededRng::new(3));
        let out =
            sensor.develop(&RgbImage::from_pixel(64, 64, Rgb([128, 128, 128])), 0.0, &mut SeededRng::new(4));
        let g: Vec<f32> = out.pixels().map(|p| f32::from(p[1])).collect();
        let m = g.iter().sum::<f32>() / g.len() as f32;
        (g.iter().map(|v| (v - m).powi(2)).sum::<f32>() / g.len() as f32).sqrt()
    }

    #[test]
    fn a_dim_frame_is_noisier_than_a_normal_one() {
        let (bright, normal, dim) =
            (patch_std(Light::Bright), patch_std(Light::Normal), patch_std(Light::Dim));
        assert!(dim > 2.0 * normal && normal > bright, "bright {bright}, normal {normal}, dim {dim}");
        assert!(dim > 4.0, "dim noise should be visible: {dim}");
    }

    #[test]
    fn the_exposure_step_lands_inside_the_turn() {
        let conditions = Conditions { exposure_step: true, ..Conditions::baseline() };
        for seed in 0..20 {
            let sensor = Sensor::new(&conditions, (1.0, 2.0), &mut SeededRng::new(seed));
            let (before, after) = (sensor.gains(1.0)[0], sensor.gains(2.0)[0]);
            let ratio = after / before;
            assert!((1.29..=1.81).contains(&ratio) || (1.29..=1.81).contains(&(1.0 / ratio)), "{ratio}");
        }
    }

    #[test]
    fn held_controls_take_no_later_step() {
        let conditions =
            Conditions { exposure_step: true, white_balance_step: true, ..Conditions::baseline() };
        let mut sensor = Sensor::new(&conditions, (1.0, 2.0), &mut SeededRng::new(4));
        assert_ne!(sensor.gains(0.5), sensor.gains(2.5));
        sensor.hold(0.5);
        assert_eq!(sensor.gains(0.5), sensor.gains(2.5));
    }

    #[test]
    fn a_white_balance_step_changes_red_and_blue_only() {
        let conditions = Conditions { white_balance_step: true, ..Conditions::baseline() };
        let sensor = Sensor::new(&conditions, (1.0, 2.0), &mut SeededRng::new(9));
        let (a, b) = (sensor.gains(0.0), sensor.gains(3.0));
        assert_eq!(a[1], b[1]);
        for c in [0, 2] {
            let r = b[c] / a[c];
            assert!((0.79..=0.91).contains(&r) || (1.09..=1.21).contains(&r), "channel {c}: {r}");
        }
    }

    #[test]
    fn long_exposures_are_capped_by_the_frame_period() {
        let at = |fps| {
            Sensor::new(
                &Conditions { fps, light: Light::Dim, ..Conditions::baseline() },
                (0.0, 1.0),
                &mut SeededRng::new(1),
            )
            .exposure_s()
        };
        assert!(at(30) < 1.0 / 30.0 && at(15) > at(30), "{} {}", at(15), at(30));
    }

    fn checker() -> RgbImage {
        RgbImage::from_fn(64, 48, |x, y| {
            if (x / 3 + y / 5) % 2 == 0 { Rgb([200, 40, 60]) } else { Rgb([30, 160, 220]) }
        })
    }

    #[test]
    fn the_codec_round_trip_changes_pixels_but_keeps_the_size() {
        let img = checker();
        for codec in [Codec::Jpeg { quality: 85 }, Codec::Mjpeg { quality: 85 }] {
            let out = codec_round_trip(&img, codec).unwrap();
            assert_eq!(out.dimensions(), img.dimensions());
            let changed = img.pixels().zip(out.pixels()).filter(|(a, b)| a != b).count();
            assert!(changed > img.len() / 3 / 10, "{codec:?}: only {changed} pixels changed");
        }
    }

    #[test]
    fn mjpeg_loses_more_than_jpeg_at_the_same_quality() {
        let img = checker();
        let err = |codec| {
            let out = codec_round_trip(&img, codec).unwrap();
            img.iter().zip(out.iter()).map(|(&a, &b)| (f32::from(a) - f32::from(b)).abs()).sum::<f32>()
        };
        let (jpeg, mjpeg) = (err(Codec::Jpeg { quality: 80 }), err(Codec::Mjpeg { quality: 80 }));
        assert!(mjpeg > jpeg * 1.2, "mjpeg {mjpeg} vs jpeg {jpeg}");
    }

    #[test]
    fn halved_chroma_keeps_each_pixels_luma() {
        let img = checker();
        let out = halve_chroma(&img);
        let luma = |p: &Rgb<u8>| 0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2]);
        for (a, b) in img.pixels().zip(out.pixels()) {
            assert!((luma(a) - luma(b)).abs() < 2.0, "{a:?} -> {b:?}");
        }
    }
}
