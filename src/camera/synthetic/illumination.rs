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
//! shows each half where it reflects it and nothing where it reflects the camera picture, the
//! status bar or the instruction ([`Panel`]: the panel as the screen's code draws it).

use std::sync::Mutex;

use embedded_graphics::pixelcolor::RgbColor;

use super::optics::{encode_linear, to_linear};
use crate::liveness::ChallengeGeometry;
use crate::liveness::light::Flash;
use crate::liveness::session::Phase;
use crate::screen::{Canvas, Challenge, Language, Prompt, Scene, Status, View};

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

/// The terminal's panel while it flashes, as the screen's own code draws it (`screen::draw`
/// of the Nose state with a flash, 800×480, `screen::preview`): which half's colour each
/// pixel shows. The camera picture in the face area's frame, the status bar, the instruction's
/// band and the time bar do not flash.
#[derive(Debug, PartialEq)]
pub struct Panel {
    /// Per panel pixel ([`PANEL_PX`], row by row, drawing coordinates: the visitor's view):
    /// 0 dark, 1 the left half's colour, 2 the right half's.
    half: Vec<u8>,
    /// The share of the panel that flashes.
    lit: f32,
}

/// The panel's drawing size (a 7" 800×480 display).
const PANEL_PX: [u32; 2] = [800, 480];

impl Panel {
    /// The panel for a camera of `width × height` (the face area's frame, where the picture
    /// stays, follows the camera's aspect), drawn once per size.
    pub fn of(width: u32, height: u32) -> &'static Panel {
        static PANELS: Mutex<Vec<((u32, u32), &'static Panel)>> = Mutex::new(Vec::new());
        let mut panels = PANELS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, p)) = panels.iter().find(|(size, _)| *size == (width, height)) {
            return p;
        }
        let panel: &'static Panel = Box::leak(Box::new(Self::draw(width, height)));
        panels.push(((width, height), panel));
        panel
    }

    fn draw(width: u32, height: u32) -> Self {
        let (left, right) = ([255, 0, 0], [0, 0, 255]);
        let geometry = ChallengeGeometry::new(width, height, crate::screen::samples::SAMPLE_TARGET);
        let view = View {
            scene: Scene::Challenge(Challenge {
                frame: None,
                geometry,
                nose: None,
                phase: Phase::Nose,
                remaining_fraction: 0.5,
                remaining_ms: 5_000,
                prompt: Prompt::MoveNose,
                flash: Some(Flash { left, right }),
            }),
            status: Status::default(),
            language: Language::En,
        };
        let mut canvas = Canvas::new(PANEL_PX[0], PANEL_PX[1]);
        let Ok(()) = crate::screen::draw(&view, &mut canvas);
        let half: Vec<u8> = canvas
            .pixels()
            .iter()
            .map(|p| match [p.r(), p.g(), p.b()] {
                c if c == left => 1,
                c if c == right => 2,
                _ => 0,
            })
            .collect();
        let lit = half.iter().filter(|&&h| h > 0).count() as f32 / half.len() as f32;
        Self { half, lit }
    }

    /// The share of the panel that flashes.
    #[cfg(test)]
    pub fn lit_fraction(&self) -> f32 {
        self.lit
    }

    /// Which half's flash colour the panel shows at `(fx, fy)` (fractions of its width and
    /// height from its top left as the camera's image axes run: x right, y down), `None`
    /// where it does not flash or off the panel. The panel's drawn left half (the visitor's
    /// left) is on the camera's right: half 0 at `fx ≥ 0.5`.
    pub fn lit_half(&self, fx: f32, fy: f32) -> Option<usize> {
        if !(0.0..1.0).contains(&fx) || !(0.0..1.0).contains(&fy) {
            return None;
        }
        // Mirrored: the camera's x runs against the drawing's.
        let [w, h] = PANEL_PX;
        let x = (((1.0 - fx) * w as f32) as u32).min(w - 1);
        let y = ((fy * h as f32) as u32).min(h - 1);
        match self.half[(y * w + x) as usize] {
            1 => Some(0),
            2 => Some(1),
            _ => None,
        }
    }

    /// Irradiance (lux) the panel's flashing part at full white gives a surface facing it
    /// at `d_m`.
    pub fn screen_lux(&self, d_m: f32) -> f32 {
        self.lit * SCREEN_NITS * SCREEN_SIZE_M[0] * SCREEN_SIZE_M[1] / (d_m * d_m).max(1e-4)
    }

    /// Which lit half of the panel ([`Panel::lit_half`]) a mirror at camera-space `p`
    /// (texels) with unit normal `n` shows the camera: where the viewing ray, mirrored, lands
    /// on the screen's rectangle in the camera's plane. `m_per_texel` converts texels to
    /// metres.
    pub fn sees_screen(&self, p: [f32; 3], n: [f32; 3], m_per_texel: f32) -> Option<usize> {
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
        self.lit_half(f(0), f(1))
    }
}

/// The linear value a mirror adds where it shows each half of the screen lit with `flash`
/// (full white: the screen's luminance over the ambient white diffuser's, `π·L/E`).
pub fn mirrored(flash: Flash, ambient_lux: f32) -> [[f32; 3]; 2] {
    let add = |c: [u8; 3]| {
        c.map(|c| GLASS_SPECULAR * std::f32::consts::PI * SCREEN_NITS * f32::from(c) / 255.0 / ambient_lux)
    };
    [add(flash.left), add(flash.right)]
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
        let panel = Panel::of(640, 480);
        // The face area's frame (0.42 × 0.75 of a 4:3 preview), the status bar, the
        // instruction's band and the time bar stay; the rest of the panel flashes.
        let lit = panel.lit_fraction();
        assert!((0.66..0.75).contains(&lit), "{lit}: 0.705 in golden nose_flash_800x480.png");
        let e = panel.screen_lux(0.45);
        assert!((10.0..13.0).contains(&e), "{e} lux at 45 cm");
        assert!(panel.screen_lux(0.3) / panel.screen_lux(0.6) > 3.9, "inverse square");
        assert!(std::ptr::eq(panel, Panel::of(640, 480)), "drawn once per camera size");
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
        // sees the screen. Glass at 40 cm mirrors the screen at half its offsets: the
        // camera picture in the middle, the flashing halves around it.
        let (panel, n) = (Panel::of(640, 480), [0.0, 0.0, -1.0]);
        assert_eq!(panel.sees_screen([0.0, 0.0, 400.0], n, 0.001), None, "above the panel");
        assert_eq!(panel.sees_screen([0.0, 35.0, 400.0], n, 0.001), None, "the camera picture");
        assert_eq!(panel.sees_screen([18.0, 35.0, 400.0], n, 0.001), Some(0), "the camera's right");
        assert_eq!(panel.sees_screen([-18.0, 35.0, 400.0], n, 0.001), Some(1));
        assert_eq!(panel.sees_screen([-5.0, 52.0, 400.0], n, 0.001), None, "the instruction below it");
        assert_eq!(panel.sees_screen([120.0, 35.0, 400.0], n, 0.001), None, "beyond the screen's side");
    }

    #[test]
    fn the_panel_flashes_where_the_screen_draws_the_flash_colours() {
        // Drawing coordinates run against the camera's x: the drawn left half (colour 1,
        // the visitor's left) is half 0 on the camera's right.
        let panel = Panel::of(640, 480);
        assert_eq!(panel.lit_half(0.95, 0.5), Some(0), "the drawn left edge");
        assert_eq!(panel.lit_half(0.05, 0.5), Some(1), "the drawn right edge");
        assert_eq!(panel.lit_half(0.5, 0.4), None, "the face area's picture");
        assert_eq!(panel.lit_half(0.5, 0.02), None, "the status bar");
        assert_eq!(panel.lit_half(1.0, 0.5), None, "off the panel");
    }
}
