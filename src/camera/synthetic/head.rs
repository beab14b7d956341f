//! A face photo turned into something a camera can look at: a 3-D head (depth from the
//! mesh's z plus a head-shaped ellipsoid, textured from the photo) or a flat picture (a print
//! with a paper border, a cut-out, a photo on a phone screen), rendered with a pinhole camera.
//!
//! Rendering is forward splatting with a z-buffer: every texture sample is placed in 3-D,
//! rotated about the object's pivot, projected, and written where it is nearest. Texture is
//! sampled at half-pixel steps (scaled with magnification) so the result has no holes.

use image::{Rgb, RgbImage};

use crate::vision::Landmarks;

/// Mesh indices of the face oval (MediaPipe FACEMESH_FACE_OVAL order).
pub(crate) const FACE_OVAL: [usize; 36] = [
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152, 148, 176,
    149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
];

/// What kind of object a photo is made into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prop {
    /// A live head: the face's mesh depth on a head-shaped ellipsoid.
    Head,
    /// The whole photo printed on paper with a white border.
    Print,
    /// The head cut out of a print along its outline.
    Cutout,
    /// The photo on a phone screen: black bezel, dimmer and bluish.
    Screen,
}

/// Where an object is: rotation about its pivot (degrees; yaw > 0 turns the front toward
/// image +x, pitch > 0 turns it up, roll > 0 clockwise on screen) and the pivot's position in
/// camera coordinates (x right, y down, z forward; texture-pixel units).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placement {
    pub yaw_deg: f32,
    pub pitch_deg: f32,
    pub roll_deg: f32,
    pub pos: [f32; 3],
}

/// A photo prepared for rendering as a head or as flat props.
#[derive(Debug, Clone)]
pub struct FaceModel {
    tex: RgbImage,
    /// Head-relief depth per texture pixel (negative toward the camera); NaN outside the head.
    depth: Vec<f32>,
    /// Head centre in texture pixels (the pivot's x, y for the head and the cut-out).
    centre: [f32; 2],
    /// Face width in texture pixels (cheek to cheek).
    pub face_width: f32,
    /// The face box (the landmarks' bounds) in texture pixels: width, height.
    pub face_size: [f32; 2],
    /// Nose tip in texture pixels and its relief depth.
    pub nose: [f32; 3],
}

/// Rotation matrix for a placement (row-major), applied to object-local vectors.
pub(crate) fn rotation(p: &Placement) -> [[f32; 3]; 3] {
    let (sy, cy) = p.yaw_deg.to_radians().sin_cos();
    let (sp, cp) = p.pitch_deg.to_radians().sin_cos();
    let (sr, cr) = p.roll_deg.to_radians().sin_cos();
    // Yaw: X' = X·c − Z·s, Z' = X·s + Z·c (front −Z turns toward +X).
    let ry = [[cy, 0.0, -sy], [0.0, 1.0, 0.0], [sy, 0.0, cy]];
    // Pitch: Y' = Y·c + Z·s, Z' = −Y·s + Z·c (front turns toward −Y, up).
    let rx = [[1.0, 0.0, 0.0], [0.0, cp, sp], [0.0, -sp, cp]];
    // Roll: clockwise on screen (y down).
    let rz = [[cr, -sr, 0.0], [sr, cr, 0.0], [0.0, 0.0, 1.0]];
    mat_mul(&ry, &mat_mul(&rx, &rz))
}

fn mat_mul(a: &[[f32; 3]; 3], b: &[[f32; 3]; 3]) -> [[f32; 3]; 3] {
    std::array::from_fn(|i| std::array::from_fn(|j| (0..3).map(|k| a[i][k] * b[k][j]).sum()))
}

pub(crate) fn rotate(r: &[[f32; 3]; 3], v: [f32; 3]) -> [f32; 3] {
    std::array::from_fn(|i| r[i][0] * v[0] + r[i][1] * v[1] + r[i][2] * v[2])
}

/// A pinhole camera.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lens {
    pub width: u32,
    pub height: u32,
    pub focal: f32,
}

impl Lens {
    /// Projects a camera-frame point to pixel coordinates (centres at i + 0.5).
    pub fn project(&self, p: [f32; 3]) -> [f32; 2] {
        [
            self.width as f32 / 2.0 + self.focal * p[0] / p[2],
            self.height as f32 / 2.0 + self.focal * p[1] / p[2],
        ]
    }
}

impl FaceModel {
    /// Builds the model from a photo and its mesh landmarks (in photo pixels).
    pub fn new(photo: &RgbImage, lm: &Landmarks) -> Self {
        let b = lm.bounds();
        let face_width = (lm.points[454][0] - lm.points[234][0]).abs().max(b.w * 0.8);
        // The head: an ellipse around the face, a little higher to take in the hair.
        let centre = [b.x + b.w / 2.0, b.y + b.h * 0.42];
        let (ax, ay) = (0.62 * b.w, 0.68 * b.h);
        let relief = 0.55 * face_width;
        let ellipsoid = |x: f32, y: f32| {
            let r2 = ((x - centre[0]) / ax).powi(2) + ((y - centre[1]) / ay).powi(2);
            (r2 <= 1.0).then(|| -relief * (1.0 - r2).sqrt())
        };
        // Align the mesh's relative z with the ellipsoid along the face oval.
        let oval: Vec<[f32; 3]> = FACE_OVAL.iter().map(|&i| lm.points[i]).collect();
        let shift =
            oval.iter().map(|p| ellipsoid(p[0], p[1]).unwrap_or(0.0) - p[2]).sum::<f32>() / oval.len() as f32;
        let (w, h) = photo.dimensions();
        let mut depth = vec![f32::NAN; (w * h) as usize];
        let margin = 0.12 * face_width;
        for y in 0..h {
            for x in 0..w {
                let (fx, fy) = (x as f32 + 0.5, y as f32 + 0.5);
                let Some(e) = ellipsoid(fx, fy) else { continue };
                let d = if inside(&oval, fx, fy) {
                    let edge = oval.iter().map(|p| (p[0] - fx).hypot(p[1] - fy)).fold(f32::MAX, f32::min);
                    let wgt = (edge / margin).min(1.0);
                    wgt * (idw(&lm.points, fx, fy) + shift) + (1.0 - wgt) * e
                } else {
                    e
                };
                depth[(y * w + x) as usize] = d;
            }
        }
        let nose_xy = lm.xy(1);
        let nose_d = depth_at(&depth, w, nose_xy).unwrap_or(-relief);
        Self {
            tex: photo.clone(),
            depth,
            centre,
            face_width,
            face_size: [b.w, b.h],
            nose: [nose_xy[0], nose_xy[1], nose_d],
        }
    }

    /// The nose tip relative to the pivot of `prop`, in object-local coordinates.
    pub fn nose_local(&self, prop: Prop) -> [f32; 3] {
        let c = self.pivot(prop);
        let z = if prop == Prop::Head { self.nose[2] + self.pivot_depth() } else { 0.0 };
        [self.nose[0] - c[0], self.nose[1] - c[1], z]
    }

    /// Heads turn about a point behind the face (the neck), props about their centre.
    fn pivot_depth(&self) -> f32 {
        0.45 * self.face_width
    }

    fn pivot(&self, prop: Prop) -> [f32; 2] {
        match prop {
            Prop::Head | Prop::Cutout => self.centre,
            Prop::Print | Prop::Screen => {
                let r = self.picture();
                [r[0] + r[2] / 2.0, r[1] + r[3] / 2.0]
            }
        }
    }

    /// The part of the photo on a print or a screen: a portrait crop around the head,
    /// `[x, y, w, h]` in texture pixels (2.4 face widths by 3).
    fn picture(&self) -> [f32; 4] {
        let (w, h) = (self.tex.width() as f32, self.tex.height() as f32);
        let (pw, ph) = ((2.4 * self.face_width).min(w), (3.0 * self.face_width).min(h));
        let x = (self.centre[0] - pw / 2.0).clamp(0.0, w - pw);
        let y = (self.centre[1] - ph * 0.45).clamp(0.0, h - ph);
        [x, y, pw, ph]
    }

    /// Renders the object into `frame` (z-buffered against what is already there).
    pub fn render(&self, prop: Prop, at: &Placement, lens: &Lens, frame: &mut RgbImage, zbuf: &mut [f32]) {
        let r = rotation(at);
        let c = self.pivot(prop);
        let [x0, y0, w, h] = match prop {
            Prop::Print | Prop::Screen => self.picture(),
            Prop::Head | Prop::Cutout => [0.0, 0.0, self.tex.width() as f32, self.tex.height() as f32],
        };
        let border = match prop {
            Prop::Print => 0.08 * w.max(h),
            Prop::Screen => 0.06 * w.max(h),
            _ => 0.0,
        };
        // Sample step so that neighbouring samples land about a pixel apart (each fills 2×2).
        let mag = lens.focal / at.pos[2].max(1.0);
        let step = (0.8 / mag.max(0.5)).min(0.8);
        let mut y = y0 - border;
        while y < y0 + h + border {
            let mut x = x0 - border;
            while x < x0 + w + border {
                if let Some((colour, d)) = self.sample(prop, x, y, border) {
                    let local = [x - c[0], y - c[1], d];
                    let v = rotate(&r, local);
                    let p = [v[0] + at.pos[0], v[1] + at.pos[1], v[2] + at.pos[2]];
                    splat(frame, zbuf, lens, p, colour);
                }
                x += step;
            }
            y += step;
        }
    }

    /// Colour and local depth of the object at texture point `(x, y)`, if it has one there.
    fn sample(&self, prop: Prop, x: f32, y: f32, border: f32) -> Option<(Rgb<u8>, f32)> {
        let [px, py, pw, ph] = self.picture();
        let in_photo = x >= px && y >= py && x < px + pw && y < py + ph;
        match prop {
            Prop::Head => {
                let d = depth_at(&self.depth, self.tex.width(), [x, y])?;
                Some((bilinear(&self.tex, x, y), d + self.pivot_depth()))
            }
            Prop::Cutout => {
                depth_at(&self.depth, self.tex.width(), [x, y])?;
                Some((bilinear(&self.tex, x, y), 0.0))
            }
            Prop::Print if in_photo => Some((bilinear(&self.tex, x, y), 0.0)),
            Prop::Print => (border > 0.0).then_some((Rgb([238, 236, 228]), 0.0)),
            Prop::Screen if in_photo => {
                let p = bilinear(&self.tex, x, y).0;
                let s = |v: u8, k: f32, add: f32| (v as f32 * k + add).clamp(0.0, 255.0) as u8;
                Some((Rgb([s(p[0], 0.82, 0.0), s(p[1], 0.86, 2.0), s(p[2], 0.9, 14.0)]), 0.0))
            }
            Prop::Screen => (border > 0.0).then_some((Rgb([12, 12, 14]), 0.0)),
        }
    }
}

/// Inverse-distance-weighted mesh z at a point (the four nearest landmarks).
fn idw(points: &[[f32; 3]], x: f32, y: f32) -> f32 {
    let mut best = [(f32::MAX, 0.0f32); 4];
    for p in points {
        let d2 = (p[0] - x).powi(2) + (p[1] - y).powi(2);
        if d2 < best[3].0 {
            best[3] = (d2, p[2]);
            best.sort_by(|a, b| a.0.total_cmp(&b.0));
        }
    }
    let (mut num, mut den) = (0.0, 0.0);
    for (d2, z) in best {
        let w = 1.0 / (d2 + 1.0);
        num += w * z;
        den += w;
    }
    num / den
}

/// Whether `(x, y)` is inside the polygon (even-odd rule).
fn inside(poly: &[[f32; 3]], x: f32, y: f32) -> bool {
    let mut odd = false;
    let mut j = poly.len() - 1;
    for i in 0..poly.len() {
        let (a, b) = (poly[i], poly[j]);
        if (a[1] > y) != (b[1] > y) && x < (b[0] - a[0]) * (y - a[1]) / (b[1] - a[1]) + a[0] {
            odd = !odd;
        }
        j = i;
    }
    odd
}

fn depth_at(depth: &[f32], w: u32, p: [f32; 2]) -> Option<f32> {
    if p[0] < 0.0 || p[1] < 0.0 {
        return None;
    }
    let (x, y) = (p[0] as usize, p[1] as usize);
    if x >= w as usize {
        return None;
    }
    let d = *depth.get(y * w as usize + x)?;
    (!d.is_nan()).then_some(d)
}

fn bilinear(img: &RgbImage, x: f32, y: f32) -> Rgb<u8> {
    let (w, h) = (img.width() as i64, img.height() as i64);
    let (fx, fy) = (x - 0.5, y - 0.5);
    let (x0, y0) = (fx.floor() as i64, fy.floor() as i64);
    let (ax, ay) = (fx - x0 as f32, fy - y0 as f32);
    let px = |xx: i64, yy: i64| img.get_pixel(xx.clamp(0, w - 1) as u32, yy.clamp(0, h - 1) as u32).0;
    let (p00, p10, p01, p11) = (px(x0, y0), px(x0 + 1, y0), px(x0, y0 + 1), px(x0 + 1, y0 + 1));
    Rgb(std::array::from_fn(|c| {
        let top = p00[c] as f32 * (1.0 - ax) + p10[c] as f32 * ax;
        let bottom = p01[c] as f32 * (1.0 - ax) + p11[c] as f32 * ax;
        (top * (1.0 - ay) + bottom * ay).round() as u8
    }))
}

/// Writes a sample into the 2×2 pixels around its projection, nearest sample winning, so
/// surfaces that stretch as they turn toward the camera leave no holes.
fn splat(frame: &mut RgbImage, zbuf: &mut [f32], lens: &Lens, p: [f32; 3], colour: Rgb<u8>) {
    if p[2] <= 1.0 {
        return;
    }
    let [u, v] = lens.project(p);
    let (x0, y0) = ((u - 0.5).floor() as i64, (v - 0.5).floor() as i64);
    for y in y0..=y0 + 1 {
        for x in x0..=x0 + 1 {
            if x < 0 || y < 0 || x >= i64::from(lens.width) || y >= i64::from(lens.height) {
                continue;
            }
            let i = y as usize * lens.width as usize + x as usize;
            if p[2] < zbuf[i] {
                zbuf[i] = p[2];
                frame.put_pixel(x as u32, y as u32, colour);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positive_yaw_turns_the_front_toward_image_right() {
        let r = rotation(&Placement { yaw_deg: 20.0, pitch_deg: 0.0, roll_deg: 0.0, pos: [0.0; 3] });
        let front = rotate(&r, [0.0, 0.0, -1.0]);
        assert!(front[0] > 0.3 && front[2] < 0.0, "{front:?}");
    }

    #[test]
    fn positive_pitch_turns_the_front_up() {
        let r = rotation(&Placement { yaw_deg: 0.0, pitch_deg: 20.0, roll_deg: 0.0, pos: [0.0; 3] });
        let front = rotate(&r, [0.0, 0.0, -1.0]);
        assert!(front[1] < -0.3, "{front:?}");
    }

    #[test]
    fn the_point_in_polygon_test_follows_the_outline() {
        let square = [[0.0, 0.0, 0.0], [10.0, 0.0, 0.0], [10.0, 10.0, 0.0], [0.0, 10.0, 0.0]];
        assert!(inside(&square, 5.0, 5.0));
        assert!(!inside(&square, 15.0, 5.0));
    }
}
