//! The terminal's screen as a light source (issue 18's light challenge), physically based.
//!
//! Units: linear radiance relative to a white diffuser under the ambient light (1.0), so a
//! diffuse surface's value scales with the irradiance on it. The screen (a 7" 800×480 panel,
//! 250 cd/m² at full white, just below the camera and facing the visitor) is a small area
//! source: at distance `d` it adds `L·A/d²` lux in each channel its colour lights. Skin, paper
//! and the wall are diffuse: their value is multiplied by `1 + E_screen/E_ambient` per
//! channel. A phone's glass reflects the screen too, but little: about 1 % diffusely, and 4 %
//! specularly where the mirrored viewing ray lands on the terminal's screen (a reflected
//! image of the screen, added to what the phone emits). The screen flashes two colours, one
//! on each half (`liveness::light::Flash`): diffuse surfaces receive their mean, a mirror
//! shows each half where it reflects it and nothing where it reflects the camera preview or
//! the status bar.

use super::optics::{encode_linear, to_linear};
use crate::liveness::light::Flash;

/// The terminal screen's luminance at full white, cd/m².
pub const SCREEN_NITS: f32 = 250.0;
/// The terminal screen's width and height, m (7", 800×480).
pub const SCREEN_SIZE_M: [f32; 2] = [0.154, 0.086];
/// The screen's centre relative to the camera, m (image y down: just below the lens).
pub const SCREEN_CENTRE_M: [f32; 2] = [0.0, 0.07];
/// The wall behind the visitor, m from the camera.
pub const WALL_M: f32 = 2.0;
/// A phone's glass: diffuse and specular reflectance.
pub const GLASS_DIFFUSE: f32 = 0.01;
pub const GLASS_SPECULAR: f32 = 0.04;

/// The share of the panel the flash colours: the camera preview and the status bar stay
/// (`screen::preview`, golden `nose_flash_800x480.png`: the bands beside the preview and the
/// text band below it, [`lit_half`]).
pub const LIT_FRACTION: f32 = 0.45;

/// Which half's flash colour the panel shows at `(fx, fy)` (fractions of its width and
/// height from its top left as the camera's image axes run: x right, y down), `None` on the
/// preview, the status bar and the time bar. The panel's drawn left half (the visitor's left)
/// is on the camera's right: half 0 at `fx ≥ 0.5`.
pub fn lit_half(fx: f32, fy: f32) -> Option<usize> {
    let (preview_x, preview_y, bars) = ([0.2, 0.8], 0.82, [0.075, 0.98]);
    let lit = (bars[0]..bars[1]).contains(&fy)
        && (fy >= preview_y || !(preview_x[0]..preview_x[1]).contains(&fx))
        && (0.0..=1.0).contains(&fx);
    lit.then_some(if fx >= 0.5 { 0 } else { 1 })
}

/// Irradiance (lux) the screen's full white gives a surface facing it at `d_m`.
pub fn screen_lux(d_m: f32) -> f32 {
    LIT_FRACTION * SCREEN_NITS * SCREEN_SIZE_M[0] * SCREEN_SIZE_M[1] / (d_m * d_m).max(1e-4)
}

/// The linear value a mirror adds where it shows each half of the screen lit with `flash`
/// (full white: the screen's luminance over the ambient white diffuser's, `π·L/E`).
pub fn mirrored(flash: Flash, ambient_lux: f32) -> [[f32; 3]; 2] {
    let add = |c: [u8; 3]| {
        c.map(|c| GLASS_SPECULAR * std::f32::consts::PI * SCREEN_NITS * f32::from(c) / 255.0 / ambient_lux)
    };
    [add(flash.left), add(flash.right)]
}

/// Which lit half of the terminal's screen ([`lit_half`]) a mirror at camera-space `p`
/// (texels) with unit normal `n` shows the camera: where the viewing ray, mirrored, lands on
/// the screen's rectangle in the camera's plane. `m_per_texel` converts texels to metres.
pub fn sees_screen(p: [f32; 3], n: [f32; 3], m_per_texel: f32) -> Option<usize> {
    let len = (p[0] * p[0] + p[1] * p[1] + p[2] * p[2]).sqrt();
    if len <= 0.0 {
        return None;
    }
    let v = p.map(|x| x / len);
    let vn = v[0] * n[0] + v[1] * n[1] + v[2] * n[2];
    let r = [v[0] - 2.0 * vn * n[0], v[1] - 2.0 * vn * n[1], v[2] - 2.0 * vn * n[2]];
    if r[2] >= -1e-6 {
        return None;
    }
    let s = -p[2] / r[2];
    let hit = [(p[0] + s * r[0]) * m_per_texel, (p[1] + s * r[1]) * m_per_texel];
    let f = |k: usize| (hit[k] - SCREEN_CENTRE_M[k]) / SCREEN_SIZE_M[k] + 0.5;
    lit_half(f(0), f(1))
}

/// A per-channel change of linear radiance, `v·gain + add`, as a table on encoded values.
#[derive(Debug, Clone)]
pub struct Tint([[u8; 256]; 3]);

impl Tint {
    /// The tint `v·gain + add` (linear).
    pub fn new(gain: [f32; 3], add: [f32; 3]) -> Self {
        Self(std::array::from_fn(|k| {
            std::array::from_fn(|v| encode_linear(to_linear(v as u8) * gain[k] + add[k]))
        }))
    }

    /// A diffuse surface lit by the screen's `flash` (both halves) at `screen_over_ambient`
    /// (its full white's irradiance over the ambient light's).
    pub fn diffuse(flash: Flash, screen_over_ambient: f32) -> Self {
        Self::new(flash.mix().map(|c| 1.0 + screen_over_ambient * c), [0.0; 3])
    }

    /// The tinted colour.
    pub fn apply(&self, c: [u8; 3]) -> [u8; 3] {
        [self.0[0][c[0] as usize], self.0[1][c[1] as usize], self.0[2][c[2] as usize]]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_screen_lights_a_face_at_arms_length_a_few_per_cent_of_indoor_light() {
        let e = screen_lux(0.45);
        assert!((6.8..8.2).contains(&e), "{e} lux at 45 cm, 45 % of the panel lit");
        assert!(screen_lux(0.3) / screen_lux(0.6) > 3.9, "inverse square");
    }

    #[test]
    fn a_red_flash_reddens_diffuse_skin_and_nothing_else() {
        let t = Tint::diffuse(Flash::uniform([255, 0, 0]), 0.1);
        let skin = t.apply([180, 130, 110]);
        assert!(skin[0] > 180 && skin[1] == 130 && skin[2] == 110, "{skin:?}");
        assert_eq!(Tint::diffuse(Flash::uniform([0; 3]), 0.1).apply([180, 130, 110]), [180, 130, 110]);
        let half = Tint::diffuse(Flash { left: [255, 0, 0], right: [0; 3] }, 0.1).apply([180, 130, 110]);
        assert!(half[0] > 180 && half[0] < skin[0], "one half lit gives half the light: {half:?}");
    }

    #[test]
    fn a_phone_facing_the_camera_mirrors_the_screen_below_the_lens() {
        // 40 cm away (texel = 1 mm), glass square to the camera: the ray through the image
        // centre comes back to the lens, just above the screen; a point a little lower
        // sees the screen.
        // Glass at 40 cm mirrors the screen at half its offsets: the preview in the middle,
        // the two flashing bands either side of it.
        let n = [0.0, 0.0, -1.0];
        assert_eq!(sees_screen([0.0, 0.0, 400.0], n, 0.001), None);
        assert_eq!(sees_screen([0.0, 35.0, 400.0], n, 0.001), None, "the preview");
        assert_eq!(sees_screen([30.0, 35.0, 400.0], n, 0.001), Some(0), "the band on the camera's right");
        assert_eq!(sees_screen([-30.0, 35.0, 400.0], n, 0.001), Some(1));
        assert_eq!(sees_screen([-5.0, 52.0, 400.0], n, 0.001), Some(1), "the text band below it");
        assert_eq!(sees_screen([120.0, 35.0, 400.0], n, 0.001), None, "beyond the screen's side");
    }
}
