//! How a phone screen held up to the camera looks: its own light (bluish, with a display
//! gamma rather than paper's reflectance), the glare of a ceiling light that slides over the
//! glass as the phone tilts, and the moiré between the display's pixel grid and the sensor's.

use image::Rgb;

use super::head::Lens;
use super::illumination::Panel;
use super::render::{Shader, Transform};

/// Display pixels across the picture shown on the phone: a ~1080-pixel-wide display.
const DISPLAY_PIXELS_ACROSS: f32 = 1080.0;
/// Fringes finer than this (cycles per pixel) are washed out by the lens and the demosaic.
const MOIRE_CUTOFF: f32 = 0.25;
/// Width of a phone's black bezel around its picture, as a share of the picture's width.
pub const BEZEL: f32 = 0.06;
/// The bezel's colour.
pub const BEZEL_RGB: [u8; 3] = [12, 12, 14];

/// The screen's emitted colour for a photo colour: a display gamma (mid-tones lifted), a
/// cool white point, scaled by `glow` against the scene's light.
pub fn emitted(photo: Rgb<u8>, glow: f32) -> Rgb<u8> {
    let tint = [0.86, 0.92, 1.0];
    let add = [0.0, 4.0, 16.0];
    Rgb(std::array::from_fn(|c| {
        let v = (f32::from(photo[c]) / 255.0).powf(0.85);
        (255.0 * v * tint[c] * glow + add[c]).clamp(0.0, 255.0) as u8
    }))
}

/// The per-session look of one phone: where the light is and how strong the effects are.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Phone {
    /// Unit direction from the phone toward the reflected light, camera coordinates.
    pub light: [f32; 3],
    /// Glare strength, 0..=1 (fraction of the way to white at the blob's centre).
    pub glare: f32,
    /// Angular size of the glare blob: `1 − cos` of its half width.
    pub glare_width: f32,
    /// Moiré contrast (relative brightness swing).
    pub moire: f32,
    /// Width of the shown picture in texture units (sets the display's pixel pitch).
    pub picture_width: f32,
}

/// A phone's shading in one frame.
#[derive(Debug, Clone, PartialEq)]
pub struct ScreenLook {
    phone: Phone,
    /// The glass's normal (toward the camera), camera coordinates.
    normal: [f32; 3],
    /// Aliased wave vectors of the display's columns and rows (cycles per image pixel) and
    /// their phases (cycles), with their contrast.
    fringes: [([f32; 2], f32, f32); 2],
    /// The terminal screen's reflection in the glass: the linear value each lit half adds
    /// where the glass mirrors it, metres per texel and the panel (`Panel::sees_screen`).
    mirror: Option<([[f32; 3]; 2], f32, &'static Panel)>,
}

impl ScreenLook {
    /// The look of `phone` posed at `pose`, seen through `lens`.
    pub fn new(phone: Phone, pose: &Transform, lens: &Lens) -> Self {
        let n = pose.turn([0.0, 0.0, -1.0]);
        // Local → image Jacobian at the screen's centre.
        let c = lens.project(pose.apply([0.0; 3]));
        let ex = lens.project(pose.apply([1.0, 0.0, 0.0]));
        let ey = lens.project(pose.apply([0.0, 1.0, 0.0]));
        let j = [[ex[0] - c[0], ey[0] - c[0]], [ex[1] - c[1], ey[1] - c[1]]];
        let det = j[0][0] * j[1][1] - j[0][1] * j[1][0];
        let pitch = phone.picture_width / DISPLAY_PIXELS_ACROSS;
        let fringe = |local: [f32; 2]| {
            // Image wave vector k = J⁻ᵀ · k_local; sampled on the pixel grid it aliases to
            // k − round(k), a slow beat.
            let k = [
                (j[1][1] * local[0] - j[1][0] * local[1]) / det,
                (-j[0][1] * local[0] + j[0][0] * local[1]) / det,
            ];
            let alias = [k[0] - k[0].round(), k[1] - k[1].round()];
            let phase = -(k[0] * c[0] + k[1] * c[1]);
            let contrast = phone.moire * (1.0 - alias[0].hypot(alias[1]) / MOIRE_CUTOFF).max(0.0);
            (alias, phase, contrast)
        };
        let fringes = if det.abs() > 1e-6 {
            [fringe([1.0 / pitch, 0.0]), fringe([0.0, 1.0 / pitch])]
        } else {
            [([0.0; 2], 0.0, 0.0); 2]
        };
        Self { phone, normal: n, fringes, mirror: None }
    }

    /// The look with the terminal's screen lit (`add`: each half's linear value where it is
    /// mirrored).
    #[must_use]
    pub fn mirroring(mut self, add: [[f32; 3]; 2], m_per_texel: f32, panel: &'static Panel) -> Self {
        self.mirror = Some((add, m_per_texel, panel));
        self
    }

    /// The moiré factor (around 1) at pixel `uv`.
    pub fn moire_at(&self, uv: [f32; 2]) -> f32 {
        let mut m = 1.0;
        for (k, phase, contrast) in self.fringes {
            if contrast > 0.0 {
                let cycles = k[0] * uv[0] + k[1] * uv[1] + phase;
                m += 0.5 * contrast * fast_cos(cycles);
            }
        }
        m
    }

    /// The glare (0..=1) where the glass at camera-space `p` is seen.
    pub fn glare_at(&self, p: [f32; 3]) -> f32 {
        let len = (p[0] * p[0] + p[1] * p[1] + p[2] * p[2]).sqrt();
        let v = [p[0] / len, p[1] / len, p[2] / len];
        let n = self.normal;
        let vn = v[0] * n[0] + v[1] * n[1] + v[2] * n[2];
        // The viewing ray mirrored by the glass: where the eye sees the reflection come from.
        let r = [v[0] - 2.0 * vn * n[0], v[1] - 2.0 * vn * n[1], v[2] - 2.0 * vn * n[2]];
        let l = self.phone.light;
        let off = 1.0 - (r[0] * l[0] + r[1] * l[1] + r[2] * l[2]);
        let g = (1.0 - off / self.phone.glare_width).max(0.0);
        self.phone.glare * g * g
    }
}

/// `cos(2π·cycles)` from a 256-entry table (the moiré is a soft pattern; a table keeps it
/// cheap on every screen sample).
fn fast_cos(cycles: f32) -> f32 {
    static TABLE: std::sync::OnceLock<[f32; 256]> = std::sync::OnceLock::new();
    let t = TABLE.get_or_init(|| std::array::from_fn(|i| (i as f32 / 256.0 * std::f32::consts::TAU).cos()));
    t[((cycles - cycles.floor()) * 256.0) as usize & 255]
}

impl Shader for ScreenLook {
    fn shade(&self, p: [f32; 3], uv: [f32; 2], colour: [u8; 3]) -> [u8; 3] {
        // The moiré multiplies the emitted light, so it vanishes on the black bezel by
        // itself; the glare is on the whole glass.
        let (m, g) = (self.moire_at(uv), self.glare_at(p));
        let shaded = colour.map(|c| {
            let v = f32::from(c) * m;
            (v + (255.0 - v).max(0.0) * g).clamp(0.0, 255.0) as u8
        });
        let half = self.mirror.and_then(|(add, m, panel)| Some(add[panel.sees_screen(p, self.normal, m)?]));
        match half {
            Some(add) => std::array::from_fn(|k| {
                super::optics::encode_linear(super::optics::to_linear(shaded[k]) + add[k])
            }),
            None => shaded,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::camera::synthetic::head::Placement;

    fn lens() -> Lens {
        Lens { width: 640, height: 480, focal: 530.0 }
    }

    fn phone() -> Phone {
        // A light above and slightly left of the camera.
        let l = [-0.15f32, -0.35, -1.0];
        let n = (l[0] * l[0] + l[1] * l[1] + l[2] * l[2]).sqrt();
        Phone { light: l.map(|v| v / n), glare: 0.7, glare_width: 0.01, moire: 0.12, picture_width: 480.0 }
    }

    fn posed(yaw: f32, pitch: f32, roll: f32) -> Transform {
        Transform::of(&Placement {
            tilt_deg: 0.0,
            yaw_deg: yaw,
            pitch_deg: pitch,
            roll_deg: roll,
            pos: [0.0, 0.0, 900.0],
        })
    }

    /// Where on the glass (local x, y over a grid) the glare is strongest.
    fn glare_spot(yaw: f32, pitch: f32) -> [f32; 2] {
        let pose = posed(yaw, pitch, 0.0);
        let look = ScreenLook::new(phone(), &pose, &lens());
        let mut best = (0.0, [0.0, 0.0]);
        for j in -30..=30 {
            for i in -20..=20 {
                let local = [i as f32 * 12.0, j as f32 * 12.0, 0.0];
                let g = look.glare_at(pose.apply(local));
                if g > best.0 {
                    best = (g, [local[0], local[1]]);
                }
            }
        }
        assert!(best.0 > 0.0, "no glare at yaw {yaw} pitch {pitch}");
        best.1
    }

    #[test]
    fn the_glare_moves_over_the_glass_as_the_phone_tilts() {
        let a = glare_spot(-12.0, 12.0);
        let b = glare_spot(-6.0, 12.0);
        assert!((a[0] - b[0]).abs() > 20.0, "{a:?} vs {b:?}");
    }

    #[test]
    fn moire_fringes_follow_the_screens_rotation() {
        let look = |roll| ScreenLook::new(phone(), &posed(0.0, 0.0, roll), &lens());
        let (a, b) = (look(0.0), look(8.0));
        assert_ne!(a.fringes[0].0, b.fringes[0].0);
        // Low-frequency fringes: far below the pixel grid's own frequency.
        for (k, _, contrast) in a.fringes.iter().chain(&b.fringes) {
            assert!(*contrast == 0.0 || k[0].hypot(k[1]) < MOIRE_CUTOFF, "{k:?}");
        }
    }

    #[test]
    fn a_screen_emits_a_bluish_light() {
        let grey = emitted(Rgb([128, 128, 128]), 1.0);
        assert!(grey[2] > grey[0] + 20, "{grey:?}");
    }
}
