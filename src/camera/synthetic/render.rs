//! Forward splatting of object-local samples through a pinhole camera with a rolling shutter
//! and a finite exposure.
//!
//! Each object is a cloud of textured samples in its own coordinates ([`Surface`], built once
//! per session). A frame knows the object's pose at the start of the first row's exposure and
//! at the end of the last row's; within that span (a few tens of ms) the motion is close to
//! linear, so a sample's camera-space position at any time is a blend of its two transformed
//! positions. That gives the rolling shutter for free (a sample is placed at the time its row
//! is exposed: project at the exposure start, read the row, blend again to that row's time)
//! and motion blur without extra full renders (the exposure is split into a few sub-frames,
//! each its own z-buffered layer, averaged where something was drawn).

use image::RgbImage;

use super::head::{Lens, Placement, rotate, rotation};

/// Object-local samples: position (texture-pixel units, relative to the pivot) and colour.
#[derive(Debug, Clone, Default)]
pub struct Surface {
    pub points: Vec<[f32; 3]>,
    pub colours: Vec<[u8; 3]>,
}

impl Surface {
    /// Adds one sample.
    pub fn push(&mut self, point: [f32; 3], colour: [u8; 3]) {
        self.points.push(point);
        self.colours.push(colour);
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// Whether the surface has no sample.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }
}

/// A rigid transform: object-local to camera coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Transform {
    r: [[f32; 3]; 3],
    t: [f32; 3],
}

impl Transform {
    /// The transform of a placement.
    pub fn of(p: &Placement) -> Self {
        Self { r: rotation(p), t: p.pos }
    }

    /// A local point in camera coordinates.
    pub fn apply(&self, v: [f32; 3]) -> [f32; 3] {
        let r = rotate(&self.r, v);
        [r[0] + self.t[0], r[1] + self.t[1], r[2] + self.t[2]]
    }

    /// A local direction in camera coordinates.
    pub fn turn(&self, v: [f32; 3]) -> [f32; 3] {
        rotate(&self.r, v)
    }
}

/// Per-sample colour changes that depend on where the sample is seen: the phone screen's
/// glare and moiré (`screen`).
pub trait Shader {
    /// The colour of a sample at camera-space `p` (pose at the frame's start) that projects
    /// to pixel `uv`.
    fn shade(&self, p: [f32; 3], uv: [f32; 2], colour: [u8; 3]) -> [u8; 3];
}

/// One object in one frame.
pub struct Moving<'a> {
    pub surface: &'a Surface,
    /// Pose when the first row starts its exposure.
    pub from: Transform,
    /// Pose when the last row ends its exposure.
    pub to: Transform,
    pub shader: Option<&'a dyn Shader>,
    /// The terminal screen's light on it this frame (`illumination`).
    pub tint: Option<&'a super::illumination::Tint>,
}

/// The shutter of one frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shutter {
    /// Time from the first row's exposure start to the last row's (0: global shutter).
    pub readout_s: f32,
    /// Exposure time of each row.
    pub exposure_s: f32,
    /// Sub-frames the exposure is split into (1: no motion blur).
    pub layers: usize,
}

impl Shutter {
    /// The span `from`..`to` of [`Moving`] poses.
    pub fn span_s(&self) -> f32 {
        self.readout_s + self.exposure_s
    }
}

/// Reusable frame buffers (one colour image and z-buffer per sub-frame).
#[derive(Debug, Default)]
pub struct Canvas {
    layers: Vec<(RgbImage, Vec<f32>)>,
}

/// Pixel bounds touched by any sample: `[x0, y0, x1, y1)`.
type Bounds = [usize; 4];

impl Canvas {
    /// Renders `objects` over `wall` as the shutter sees them.
    pub fn render(&mut self, wall: &RgbImage, lens: &Lens, objects: &[Moving], shutter: Shutter) -> RgbImage {
        let n = shutter.layers.max(1);
        let size = (lens.width * lens.height) as usize;
        self.layers.truncate(n);
        while self.layers.len() < n {
            self.layers.push((wall.clone(), vec![f32::INFINITY; size]));
        }
        for (img, z) in &mut self.layers {
            img.clone_from(wall);
            z.fill(f32::INFINITY);
        }
        let mut bounds = [usize::MAX, usize::MAX, 0, 0];
        for object in objects {
            self.draw(lens, object, shutter, n, &mut bounds);
        }
        if n == 1 {
            return self.layers[0].0.clone();
        }
        self.average(wall, bounds)
    }

    fn draw(&mut self, lens: &Lens, object: &Moving, shutter: Shutter, n: usize, bounds: &mut Bounds) {
        let span = shutter.span_s().max(1e-6);
        let h = lens.height as f32;
        for (&local, &colour) in object.surface.points.iter().zip(&object.surface.colours) {
            let a = object.from.apply(local);
            let b = object.to.apply(local);
            let d = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
            let colour = match object.shader {
                Some(s) if a[2] > 1.0 => s.shade(a, lens.project(a), colour),
                _ => colour,
            };
            let colour = object.tint.map_or(colour, |t| t.apply(colour));
            for (layer, (img, zbuf)) in self.layers.iter_mut().enumerate() {
                // The middle of this sub-frame's share of the exposure.
                let tau = (layer as f32 + 0.5) / n as f32 * shutter.exposure_s;
                let at = |s: f32| [a[0] + d[0] * s, a[1] + d[1] * s, a[2] + d[2] * s];
                let mut p = at(tau / span);
                if shutter.readout_s > 0.0 && p[2] > 1.0 {
                    // The row this sample lands on is exposed later: move it to that time.
                    let row = (lens.project(p)[1] / h).clamp(0.0, 1.0);
                    p = at((row * shutter.readout_s + tau) / span);
                }
                splat(img, zbuf, lens, p, colour, bounds);
            }
        }
    }

    /// The mean of the layers inside `bounds` (the wall elsewhere).
    fn average(&self, wall: &RgbImage, bounds: Bounds) -> RgbImage {
        let mut out = wall.clone();
        let [x0, y0, x1, y1] = bounds;
        if x0 >= x1 || y0 >= y1 {
            return out;
        }
        let w = wall.width() as usize;
        let n = self.layers.len() as u16;
        let mut sum = vec![0u16; (x1 - x0) * 3];
        for y in y0..y1 {
            let row = (y * w + x0) * 3..(y * w + x1) * 3;
            sum.fill(n / 2);
            for (img, _) in &self.layers {
                for (s, &v) in sum.iter_mut().zip(&img.as_raw()[row.clone()]) {
                    *s += u16::from(v);
                }
            }
            for (o, s) in out.as_mut()[row].iter_mut().zip(&sum) {
                *o = (s / n) as u8;
            }
        }
        out
    }
}

/// Writes a sample into the 2×2 pixels around its projection, nearest sample winning, so
/// surfaces that stretch as they turn toward the camera leave no holes.
fn splat(
    frame: &mut RgbImage,
    zbuf: &mut [f32],
    lens: &Lens,
    p: [f32; 3],
    colour: [u8; 3],
    bounds: &mut Bounds,
) {
    if p[2] <= 1.0 {
        return;
    }
    let [u, v] = lens.project(p);
    let (x0, y0) = ((u - 0.5).floor() as i64, (v - 0.5).floor() as i64);
    let (w, h) = (i64::from(lens.width), i64::from(lens.height));
    if x0 < -1 || y0 < -1 || x0 >= w || y0 >= h {
        return;
    }
    let buf: &mut [u8] = frame.as_mut();
    let (xs, ys) = (x0.max(0)..(x0 + 2).min(w), y0.max(0)..(y0 + 2).min(h));
    for y in ys.clone() {
        for x in xs.clone() {
            let i = y as usize * lens.width as usize + x as usize;
            if p[2] < zbuf[i] {
                zbuf[i] = p[2];
                buf[i * 3..i * 3 + 3].copy_from_slice(&colour);
            }
        }
    }
    let [bx0, by0, bx1, by1] = [xs.start, ys.start, xs.end, ys.end].map(|v| v as usize);
    *bounds = [bounds[0].min(bx0), bounds[1].min(by0), bounds[2].max(bx1), bounds[3].max(by1)];
}

/// How far (pixels) the points `probe` move in the image between two poses: the largest
/// displacement, to decide whether motion blur needs sub-frames.
pub fn image_motion(lens: &Lens, from: &Transform, to: &Transform, probe: &[[f32; 3]]) -> f32 {
    probe
        .iter()
        .map(|&v| {
            let (a, b) = (lens.project(from.apply(v)), lens.project(to.apply(v)));
            (a[0] - b[0]).hypot(a[1] - b[1])
        })
        .fold(0.0, f32::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lens() -> Lens {
        Lens { width: 160, height: 120, focal: 150.0 }
    }

    /// A dark 60×80 card (texture units) facing the camera, sampled every half unit.
    fn card() -> Surface {
        let mut s = Surface::default();
        for j in 0..160 {
            for i in 0..120 {
                s.push([i as f32 * 0.5 - 30.0, j as f32 * 0.5 - 40.0, 0.0], [10, 10, 10]);
            }
        }
        s
    }

    fn at(x: f32) -> Transform {
        Transform::of(&Placement {
            tilt_deg: 0.0,
            yaw_deg: 0.0,
            pitch_deg: 0.0,
            roll_deg: 0.0,
            pos: [x, 0.0, 150.0],
        })
    }

    /// The first dark column of each row (the card's left edge), per row.
    fn left_edges(img: &RgbImage) -> Vec<Option<u32>> {
        (0..img.height()).map(|y| (0..img.width()).find(|&x| img.get_pixel(x, y)[0] < 100)).collect()
    }

    fn white() -> RgbImage {
        RgbImage::from_pixel(160, 120, image::Rgb([240, 240, 240]))
    }

    #[test]
    fn a_rolling_shutter_shears_a_horizontally_moving_card() {
        let surface = card();
        // 30 px to the right over the 30 ms the shutter needs for the frame.
        let object = Moving { surface: &surface, from: at(0.0), to: at(30.0), shader: None, tint: None };
        let shutter = Shutter { readout_s: 0.029, exposure_s: 0.001, layers: 1 };
        let img = Canvas::default().render(&white(), &lens(), &[object], shutter);
        let edges = left_edges(&img);
        let (top, bottom) = (edges[25].unwrap(), edges[95].unwrap());
        // Rows 25 and 95 are exposed 70/120 of the readout apart: ~17 px of motion.
        assert!(bottom >= top + 12, "top edge at {top}, bottom at {bottom}");
    }

    #[test]
    fn a_global_shutter_keeps_the_moving_card_upright() {
        let surface = card();
        let object = Moving { surface: &surface, from: at(0.0), to: at(30.0), shader: None, tint: None };
        let shutter = Shutter { readout_s: 0.0, exposure_s: 0.001, layers: 1 };
        let img = Canvas::default().render(&white(), &lens(), &[object], shutter);
        let edges = left_edges(&img);
        assert_eq!(edges[25], edges[95]);
    }

    #[test]
    fn sub_frames_blur_a_moving_edge() {
        let surface = card();
        let sharp = Shutter { readout_s: 0.0, exposure_s: 0.02, layers: 1 };
        let blurred = Shutter { layers: 5, ..sharp };
        let grey =
            |img: &RgbImage| (0..160).filter(|&x| (30..220).contains(&img.get_pixel(x, 60)[0])).count();
        let moving = || Moving { surface: &surface, from: at(0.0), to: at(20.0), shader: None, tint: None };
        let mut canvas = Canvas::default();
        let a = canvas.render(&white(), &lens(), &[moving()], sharp);
        let b = canvas.render(&white(), &lens(), &[moving()], blurred);
        // A sharp edge has no intermediate grey; a blurred one has a ramp on both sides.
        assert!(grey(&a) <= 1, "sharp: {}", grey(&a));
        assert!(grey(&b) >= 12, "blurred: {}", grey(&b));
    }

    #[test]
    fn image_motion_reads_the_largest_displacement() {
        let d = image_motion(&lens(), &at(0.0), &at(10.0), &[[0.0, 0.0, 0.0], [30.0, 0.0, 0.0]]);
        assert!((d - 10.0).abs() < 0.01, "{d}");
    }
}
