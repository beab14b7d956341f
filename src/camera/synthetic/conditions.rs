//! The door and the camera of one synthetic session: frame rate, lens, mounting height,
//! distance, light, auto-exposure and white-balance behaviour, shutter, codec, how fast the
//! performer moves and what covers the wall behind.
//!
//! Thresholds calibrated on sessions from one fixed camera did not hold on another generator's
//! (issue 14): real door cameras differ in all of these, so every session draws its own, and
//! [`Conditions::labels`] bins them so results can be tabulated per condition.

use super::SeededRng;
use super::wall::Wall;

/// Scene light. It sets the sensor's exposure time, its gain and so its noise (`optics`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Light {
    /// Daylight at the door: short exposure, base gain, little noise.
    Bright,
    /// An indoor corridor.
    Normal,
    /// A dim entrance at night: long exposure (motion blur), high gain (visible noise).
    Dim,
}

/// How the camera delivers frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// A JPEG of the given quality with full-resolution chroma (a still-image pipeline).
    Jpeg { quality: u8 },
    /// A USB camera's MJPEG stream: horizontally halved chroma (4:2:2) and coarser
    /// quantisation than the nominal quality, so blocking is stronger.
    Mjpeg { quality: u8 },
}

impl Codec {
    /// The nominal quality.
    pub fn quality(self) -> u8 {
        match self {
            Codec::Jpeg { quality } | Codec::Mjpeg { quality } => quality,
        }
    }
}

/// How fast the performer (or the attacker's hand) moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Speed {
    /// About 1–2 s from the start pose to the target.
    Slow,
    /// Two to three times faster: motion blur and rolling-shutter shear matter.
    Quick,
}

/// Everything about the door and the camera for one session.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Conditions {
    /// Frames per second: 15 or 30.
    pub fps: u32,
    /// Horizontal field of view, 55..=90°.
    pub hfov_deg: f32,
    /// How the face is pitched in the camera: −30 (camera well above eye level) ..= +20
    /// (camera below it).
    pub pitch_deg: f32,
    /// Face box area over the SPEC area box at the start, 0.33..=0.6: sets the distance.
    pub face_fraction: f32,
    /// Scene light.
    pub light: Light,
    /// Auto-exposure jumps (×1.3–1.8 or ÷1.3–1.8) at a random moment of the turn.
    pub exposure_step: bool,
    /// Per-channel white-balance gains change by 10–20 % at a random moment of the turn.
    pub white_balance_step: bool,
    /// Rolling-shutter readout time: 0 (global shutter) or 15..=30 ms; row `r` of `H` is
    /// exposed at `t + r / H · readout`.
    pub rolling_shutter_ms: f32,
    /// The codec the frames pass through.
    pub codec: Codec,
    /// How fast things move.
    pub speed: Speed,
    /// Ambient illuminance on the face, lux (with the light level: dim 50–150, normal
    /// 150–600, bright 600–2 000, log-uniform): what the screen's flashes compete with.
    pub ambient_lux: f32,
    /// What covers the wall behind the visitor (texture for the surround check to measure,
    /// and for a cut-out's outline to slide over).
    pub wall: Wall,
}

/// Ambient-light bins: upper bound (lux) and label.
const AMBIENT_BINS: [(f32, &str); 4] = [
    (150.0, "50-150 lux"),
    (500.0, "150-500 lux"),
    (1000.0, "500-1000 lux"),
    (f32::INFINITY, "1000-2000 lux"),
];

fn ambient_bin(lux: f32) -> &'static str {
    AMBIENT_BINS.iter().find(|b| lux < b.0).map_or("1000-2000 lux", |b| b.1)
}

/// Range of the face-box fraction; its thirds are the near/mid/far bins.
const FACE_FRACTION: (f32, f32) = (0.33, 0.6);

impl Conditions {
    /// The camera the renderer always had: 15 fps, 62°, level, face box 45 % of the area
    /// box, normal light, no AE or WB step, global shutter, JPEG q85, a slow visitor.
    pub fn baseline() -> Self {
        Self {
            fps: 15,
            hfov_deg: 62.0,
            pitch_deg: 0.0,
            face_fraction: 0.45,
            light: Light::Normal,
            exposure_step: false,
            white_balance_step: false,
            rolling_shutter_ms: 0.0,
            codec: Codec::Jpeg { quality: 85 },
            speed: Speed::Slow,
            ambient_lux: 300.0,
            wall: Wall::Plain,
        }
    }

    /// Every factor drawn independently over its range, each level well represented.
    pub fn sample(rng: &mut SeededRng) -> Self {
        let coin = |rng: &mut SeededRng| rng.next_u64().is_multiple_of(2);
        let quality = |rng: &mut SeededRng| rng.uniform(50.0, 96.0).floor() as u8;
        let fps = if coin(rng) { 15 } else { 30 };
        let hfov_deg = rng.uniform(55.0, 90.0);
        let pitch_deg = rng.uniform(-30.0, 20.0);
        let face_fraction = rng.uniform(FACE_FRACTION.0, FACE_FRACTION.1);
        let light = match rng.next_u64() % 3 {
            0 => Light::Bright,
            1 => Light::Normal,
            _ => Light::Dim,
        };
        let exposure_step = coin(rng);
        let white_balance_step = coin(rng);
        // Most USB and CSI sensors are rolling-shutter; a quarter of doors have a global one.
        let rolling_shutter_ms = if rng.next_u64().is_multiple_of(4) { 0.0 } else { rng.uniform(15.0, 30.0) };
        let codec = if coin(rng) {
            Codec::Jpeg { quality: quality(rng) }
        } else {
            Codec::Mjpeg { quality: quality(rng) }
        };
        let speed = if coin(rng) { Speed::Slow } else { Speed::Quick };
        // Drawn last, so every door drawn before it is unchanged.
        let (lo, hi): (f32, f32) = match light {
            Light::Dim => (50.0, 150.0),
            Light::Normal => (150.0, 600.0),
            Light::Bright => (600.0, 2000.0),
        };
        let ambient_lux = (lo.ln() + (hi.ln() - lo.ln()) * rng.uniform(0.0, 1.0)).exp();
        // After the light, so every door drawn before walls had texture is unchanged.
        let wall = Wall::sample(rng);
        Self {
            fps,
            hfov_deg,
            pitch_deg,
            face_fraction,
            light,
            exposure_step,
            white_balance_step,
            rolling_shutter_ms,
            codec,
            speed,
            ambient_lux,
            wall,
        }
    }

    /// The frame period in seconds.
    pub fn frame_s(&self) -> f32 {
        1.0 / self.fps as f32
    }

    /// The bin of every factor, for per-condition tables: `(factor, level)`.
    pub fn labels(&self) -> Vec<(&'static str, String)> {
        let third = (FACE_FRACTION.1 - FACE_FRACTION.0) / 3.0;
        let pitch = match self.pitch_deg {
            p if p < -10.0 => "above (<-10°)",
            p if p > 5.0 => "below (>+5°)",
            _ => "level",
        };
        let distance = match self.face_fraction {
            f if f >= FACE_FRACTION.0 + 2.0 * third => "near",
            f if f >= FACE_FRACTION.0 + third => "mid",
            _ => "far",
        };
        let fov = match self.hfov_deg {
            h if h < 65.0 => "55-65°",
            h if h < 77.0 => "65-77°",
            _ => "77-90°",
        };
        let light = match self.light {
            Light::Bright => "bright",
            Light::Normal => "normal",
            Light::Dim => "dim",
        };
        let shutter = match self.rolling_shutter_ms {
            r if r <= 0.0 => "global",
            r if r < 22.5 => "rolling 15-22 ms",
            _ => "rolling 22-30 ms",
        };
        let band = if self.codec.quality() < 70 { "q<70" } else { "q≥70" };
        let codec = match self.codec {
            Codec::Jpeg { .. } => format!("jpeg {band}"),
            Codec::Mjpeg { .. } => format!("mjpeg {band}"),
        };
        let yes = |b: bool| if b { "yes" } else { "no" }.to_string();
        vec![
            ("fps", self.fps.to_string()),
            ("fov", fov.into()),
            ("pitch", pitch.into()),
            ("distance", distance.into()),
            ("light", light.into()),
            ("exposure step", yes(self.exposure_step)),
            ("white balance step", yes(self.white_balance_step)),
            ("shutter", shutter.into()),
            ("codec", codec),
            ("speed", if self.speed == Speed::Quick { "quick" } else { "slow" }.into()),
            ("ambient", ambient_bin(self.ambient_lux).into()),
            ("wall", self.wall.label().into()),
        ]
    }

    /// Every level of every factor that [`Conditions::labels`] can report, in table order.
    pub fn levels() -> Vec<(&'static str, Vec<&'static str>)> {
        vec![
            ("fps", vec!["15", "30"]),
            ("fov", vec!["55-65°", "65-77°", "77-90°"]),
            ("pitch", vec!["above (<-10°)", "level", "below (>+5°)"]),
            ("distance", vec!["near", "mid", "far"]),
            ("light", vec!["bright", "normal", "dim"]),
            ("exposure step", vec!["yes", "no"]),
            ("white balance step", vec!["yes", "no"]),
            ("shutter", vec!["global", "rolling 15-22 ms", "rolling 22-30 ms"]),
            ("codec", vec!["jpeg q<70", "jpeg q≥70", "mjpeg q<70", "mjpeg q≥70"]),
            ("speed", vec!["slow", "quick"]),
            ("ambient", AMBIENT_BINS.iter().map(|b| b.1).collect()),
            ("wall", Wall::ALL.iter().map(|w| w.label()).collect()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn sampling_covers_every_level_of_every_factor() {
        let mut rng = SeededRng::new(14);
        let n = 600;
        let mut seen: HashMap<(&str, String), usize> = HashMap::new();
        for _ in 0..n {
            for label in Conditions::sample(&mut rng).labels() {
                *seen.entry(label).or_default() += 1;
            }
        }
        for (factor, levels) in Conditions::levels() {
            for level in &levels {
                let count = seen.get(&(factor, (*level).to_string())).copied().unwrap_or(0);
                // "Well represented": at least half of an even share of the factor's levels.
                let floor = n / levels.len() / 2;
                assert!(count >= floor, "{factor} = {level}: {count} of {n} (want ≥ {floor})");
            }
        }
        // And nothing outside the declared levels.
        let declared: usize = Conditions::levels().iter().map(|(_, l)| l.len()).sum();
        assert_eq!(seen.len(), declared, "{seen:?}");
    }

    #[test]
    fn sampled_factors_stay_in_their_ranges() {
        let mut rng = SeededRng::new(7);
        for _ in 0..300 {
            let c = Conditions::sample(&mut rng);
            assert!(c.fps == 15 || c.fps == 30);
            assert!((55.0..=90.0).contains(&c.hfov_deg), "{c:?}");
            assert!((-30.0..=20.0).contains(&c.pitch_deg), "{c:?}");
            assert!((0.33..=0.6).contains(&c.face_fraction), "{c:?}");
            assert!(c.rolling_shutter_ms == 0.0 || (15.0..=30.0).contains(&c.rolling_shutter_ms), "{c:?}");
            assert!((50..=95).contains(&c.codec.quality()), "{c:?}");
        }
    }

    #[test]
    fn the_baseline_is_the_old_fixed_camera() {
        let b = Conditions::baseline();
        assert_eq!((b.fps, b.hfov_deg, b.codec), (15, 62.0, Codec::Jpeg { quality: 85 }));
        let labels = b.labels();
        assert!(labels.contains(&("pitch", "level".into())), "{labels:?}");
        assert!(labels.contains(&("distance", "mid".into())), "{labels:?}");
    }
}
