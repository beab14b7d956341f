//! A face photo turned into something a camera can look at: a 3-D head (the rigid face
//! template's relief, fitted to the photo's landmark layout, on a head-shaped ellipsoid,
//! textured from the photo) or a picture (a print with a paper border, a bent print, a
//! cut-out, a photo on a phone screen), with the pinhole camera that looks at it.
//!
//! The object becomes a cloud of texture samples in its own coordinates ([`FaceModel::surface`]),
//! sampled about a pixel apart at its nearest pose; `render` splats them frame by frame.

use image::{Rgb, RgbImage};

use super::relief::ThinPlate;
use super::render::Surface;
use crate::vision::Landmarks;
use crate::vision::face_template::FACE_TEMPLATE;

/// Mesh indices of the face oval (MediaPipe FACEMESH_FACE_OVAL order).
pub(crate) const FACE_OVAL: [usize; 36] = [
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152, 148, 176,
    149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
];

/// What kind of object a photo is made into.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Prop {
    /// A live head: the face's mesh depth on a head-shaped ellipsoid.
    Head,
    /// The whole photo printed on paper with a white border.
    Print,
    /// The head cut out of a print along its outline.
    Cutout,
    /// The photo on a phone screen: black bezel, emissive, bluish and with its own gamma
    /// (glare and moiré are added where it is seen, `screen`).
    Screen,
    /// A print curled about a vertical axis: a cylinder of this radius (cm; a face is about
    /// 14 cm wide), its edges bent away from the camera (> 0) or toward it (< 0).
    BentPrint { curl_cm: f32 },
}

/// A face's width in cm, the scale for props measured in the real world.
pub const FACE_WIDTH_CM: f32 = 14.0;

impl Prop {
    /// Whether the prop is a flat (or bent) picture rather than a head.
    pub fn is_picture(self) -> bool {
        self != Prop::Head
    }
}

/// Where an object is: rotation about its pivot (degrees; yaw > 0 turns the front toward
/// image +x, pitch > 0 turns it up, roll > 0 clockwise on screen) and the pivot's position in
/// camera coordinates (x right, y down, z forward; texture-pixel units).
///
/// The rotation is `R_tilt · R_yaw · R_pitch · R_roll`: `tilt` is how the camera's mounting
/// pitches the whole scene (the conditions' pitch, applied last, about the camera's x axis),
/// so `yaw` turns the object about its own vertical axis whatever the camera height.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placement {
    pub tilt_deg: f32,
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
    /// The face template's points (mesh index) at their places in the photo.
    anchors: Vec<(usize, [f32; 2])>,
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
    let (st, ct) = p.tilt_deg.to_radians().sin_cos();
    let rt = [[1.0, 0.0, 0.0], [0.0, ct, st], [0.0, -st, ct]];
    mat_mul(&rt, &mat_mul(&ry, &mat_mul(&rx, &rz)))
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
        // The face's relief is the rigid face template's, scaled to this photo's landmark
        // layout and interpolated between its points; the mesh's own z is not used (each
        // photo's is a little different, and its turn would not read as the labelled one).
        let anchors = template_anchors(lm);
        let relief_at = |x: f32, y: f32| match &anchors {
            Some(tps) => tps.at(x, y),
            None => idw(&lm.points, x, y),
        };
        // Align it with the ellipsoid along the face oval.
        let oval: Vec<[f32; 3]> = FACE_OVAL.iter().map(|&i| lm.points[i]).collect();
        let shift =
            oval.iter().map(|p| ellipsoid(p[0], p[1]).unwrap_or(0.0) - relief_at(p[0], p[1])).sum::<f32>()
                / oval.len() as f32;
        let (w, h) = photo.dimensions();
        let mut depth = vec![f32::NAN; (w * h) as usize];
        // Outside the face oval the relief fades into the ellipsoid over this distance.
        let margin = 0.12 * face_width;
        for y in 0..h {
            for x in 0..w {
                let (fx, fy) = (x as f32 + 0.5, y as f32 + 0.5);
                let Some(e) = ellipsoid(fx, fy) else { continue };
                let wgt = if inside(&oval, fx, fy) {
                    1.0
                } else {
                    let edge = oval.iter().map(|p| (p[0] - fx).hypot(p[1] - fy)).fold(f32::MAX, f32::min);
                    1.0 - (edge / margin).min(1.0)
                };
                depth[(y * w + x) as usize] =
                    if wgt > 0.0 { wgt * (relief_at(fx, fy) + shift) + (1.0 - wgt) * e } else { e };
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
            anchors: FACE_TEMPLATE.iter().map(|&(i, _)| (i, lm.xy(i))).collect(),
        }
    }

    /// The face template's landmarks as this object carries them, object-local (what a
    /// perfect landmark model would find): mesh index and position.
    pub fn landmarks_local(&self, prop: Prop) -> Vec<(usize, [f32; 3])> {
        let c = self.pivot(prop);
        self.anchors
            .iter()
            .map(|&(i, [x, y])| {
                let z = match prop {
                    Prop::Head => {
                        depth_at(&self.depth, self.tex.width(), [x, y]).unwrap_or(0.0) + self.pivot_depth()
                    }
                    _ => 0.0,
                };
                (i, self.bend(prop, [x - c[0], y - c[1], z]))
            })
            .collect()
    }

    /// The nose tip relative to the pivot of `prop`, in object-local coordinates.
    pub fn nose_local(&self, prop: Prop) -> [f32; 3] {
        let c = self.pivot(prop);
        let z = if prop == Prop::Head { self.nose[2] + self.pivot_depth() } else { 0.0 };
        self.bend(prop, [self.nose[0] - c[0], self.nose[1] - c[1], z])
    }

    /// A flat picture's point curled onto the bent print's cylinder (arc length kept);
    /// other props unchanged.
    pub fn bend(&self, prop: Prop, p: [f32; 3]) -> [f32; 3] {
        let Prop::BentPrint { curl_cm } = prop else { return p };
        let r = curl_cm / FACE_WIDTH_CM * self.face_width;
        let a = p[0] / r.abs();
        [r.abs() * a.sin(), p[1], p[2] + r * (1.0 - a.cos())]
    }

    /// A few object-local points spanning the object (nose, outline): their image motion
    /// during an exposure decides how much motion blur a frame needs.
    pub fn extent(&self, prop: Prop) -> Vec<[f32; 3]> {
        let mut points = vec![self.nose_local(prop)];
        if prop.is_picture() {
            let corners = self.picture_corners(prop);
            points.extend(corners.iter().map(|c| self.bend(prop, [c[0], c[1], 0.0])));
        } else {
            let (w, d) = (self.face_width, self.pivot_depth());
            points.extend([[-0.6 * w, 0.0, -d], [0.6 * w, 0.0, -d], [0.0, -0.7 * w, -d], [0.0, 0.7 * w, -d]]);
        }
        points
    }

    /// Width of the photo shown on a print or a screen, in texture pixels.
    pub fn picture_width(&self) -> f32 {
        self.picture()[2]
    }

    /// The picture's outline corners `[x, y]` relative to its pivot (flat, before bending),
    /// border included: top-left, top-right, bottom-right, bottom-left.
    pub fn picture_corners(&self, prop: Prop) -> [[f32; 2]; 4] {
        let c = self.pivot(prop);
        let [x, y, w, h] = self.picture();
        let b = self.border(prop, w, h);
        let (x0, y0, x1, y1) = (x - b - c[0], y - b - c[1], x + w + b - c[0], y + h + b - c[1]);
        [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]
    }

    /// Heads turn about a point behind the face (the neck), props about their centre.
    fn pivot_depth(&self) -> f32 {
        0.45 * self.face_width
    }

    fn pivot(&self, prop: Prop) -> [f32; 2] {
        match prop {
            Prop::Head | Prop::Cutout => self.centre,
            Prop::Print | Prop::Screen | Prop::BentPrint { .. } => {
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

    fn border(&self, prop: Prop, w: f32, h: f32) -> f32 {
        match prop {
            Prop::Print | Prop::BentPrint { .. } => 0.08 * w.max(h),
            Prop::Screen => super::screen::BEZEL * w.max(h),
            Prop::Head | Prop::Cutout => 0.0,
        }
    }

    /// The object as samples every `step` texture pixels, relative to its pivot. `glow`
    /// scales the phone screen's emitted light against the scene's (a screen is
    /// overexposed in a dim entrance and washed out in daylight).
    pub fn surface(&self, prop: Prop, step: f32, glow: f32) -> Surface {
        let c = self.pivot(prop);
        let [x0, y0, w, h] = match prop {
            Prop::Print | Prop::Screen | Prop::BentPrint { .. } => self.picture(),
            Prop::Head | Prop::Cutout => [0.0, 0.0, self.tex.width() as f32, self.tex.height() as f32],
        };
        let border = self.border(prop, w, h);
        let mut out = Surface::default();
        let mut y = y0 - border;
        while y < y0 + h + border {
            let mut x = x0 - border;
            while x < x0 + w + border {
                if let Some((colour, d)) = self.sample(prop, x, y, border, glow) {
                    out.push(self.bend(prop, [x - c[0], y - c[1], d]), colour.0);
                }
                x += step;
            }
            y += step;
        }
        out
    }

    /// Colour and local depth of the object at texture point `(x, y)`, if it has one there.
    fn sample(&self, prop: Prop, x: f32, y: f32, border: f32, glow: f32) -> Option<(Rgb<u8>, f32)> {
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
            Prop::Print | Prop::BentPrint { .. } if in_photo => Some((bilinear(&self.tex, x, y), 0.0)),
            Prop::Print | Prop::BentPrint { .. } => (border > 0.0).then_some((Rgb([238, 236, 228]), 0.0)),
            Prop::Screen if in_photo => Some((super::screen::emitted(bilinear(&self.tex, x, y), glow), 0.0)),
            Prop::Screen => (border > 0.0).then_some((Rgb(super::screen::BEZEL_RGB), 0.0)),
        }
    }
}

/// The face template's relief over the photo: a smooth surface through the template's
/// points at their places in the photo, at the template's depth scaled to the photo (the
/// ratio of the points' spreads about their centroids in the photo and in the template).
/// `None` for a degenerate landmark set (the mesh's own z is used then).
fn template_anchors(lm: &Landmarks) -> Option<ThinPlate> {
    let photo: Vec<[f32; 2]> = FACE_TEMPLATE.iter().map(|&(i, _)| lm.xy(i)).collect();
    let model: Vec<[f32; 2]> = FACE_TEMPLATE.iter().map(|&(_, p)| [p[0], p[1]]).collect();
    let spread = |v: &[[f32; 2]]| {
        let n = v.len() as f32;
        let c = [v.iter().map(|p| p[0]).sum::<f32>() / n, v.iter().map(|p| p[1]).sum::<f32>() / n];
        (v.iter().map(|p| (p[0] - c[0]).powi(2) + (p[1] - c[1]).powi(2)).sum::<f32>() / n).sqrt()
    };
    let scale = spread(&photo) / spread(&model).max(1e-6);
    let samples: Vec<[f32; 3]> =
        photo.iter().zip(FACE_TEMPLATE.iter()).map(|(p, &(_, t))| [p[0], p[1], scale * t[2]]).collect();
    ThinPlate::fit(&samples)
}

/// Inverse-distance-weighted z at a point (the four nearest of `points`).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positive_yaw_turns_the_front_toward_image_right() {
        let r = rotation(&Placement {
            tilt_deg: 0.0,
            yaw_deg: 20.0,
            pitch_deg: 0.0,
            roll_deg: 0.0,
            pos: [0.0; 3],
        });
        let front = rotate(&r, [0.0, 0.0, -1.0]);
        assert!(front[0] > 0.3 && front[2] < 0.0, "{front:?}");
    }

    #[test]
    fn positive_pitch_turns_the_front_up() {
        let r = rotation(&Placement {
            tilt_deg: 0.0,
            yaw_deg: 0.0,
            pitch_deg: 20.0,
            roll_deg: 0.0,
            pos: [0.0; 3],
        });
        let front = rotate(&r, [0.0, 0.0, -1.0]);
        assert!(front[1] < -0.3, "{front:?}");
    }

    /// How far (px) the bent picture's quarter and centre points are from where the
    /// homography of its four corners puts them.
    fn departure_from_the_corners_homography(prop: Prop) -> f32 {
        use crate::camera::synthetic::render::Transform;
        use crate::liveness::motion::{apply, fit_homography};
        let face = crate::camera::synthetic::tests::drawn_face();
        let lens = Lens { width: 640, height: 480, focal: 530.0 };
        let pose = Transform::of(&Placement {
            tilt_deg: -10.0,
            yaw_deg: 25.0,
            pitch_deg: 5.0,
            roll_deg: 8.0,
            pos: [30.0, -10.0, 600.0],
        });
        let image = |p: [f32; 2]| lens.project(pose.apply(face.bend(prop, [p[0], p[1], 0.0])));
        let corners = face.picture_corners(prop);
        let h = fit_homography(&corners, &corners.map(image)).unwrap();
        let [x0, y0] = corners[0];
        let [x1, y1] = corners[2];
        let inner = [0.25, 0.5, 0.75].map(|f| [x0 + f * (x1 - x0), (y0 + y1) / 2.0]);
        inner
            .iter()
            .map(|&p| {
                let (a, b) = (apply(&h, p), image(p));
                (a[0] - b[0]).hypot(a[1] - b[1])
            })
            .fold(0.0, f32::max)
    }

    #[test]
    fn a_bent_print_is_not_planar() {
        for curl_cm in [-12.0, 8.0, 20.0] {
            let d = departure_from_the_corners_homography(Prop::BentPrint { curl_cm });
            assert!(d > 2.0, "curl {curl_cm} cm: only {d} px off the plane");
        }
        let flat = departure_from_the_corners_homography(Prop::Print);
        assert!(flat < 0.05, "a flat print departs by {flat} px");
    }

    #[test]
    fn bending_keeps_the_arc_length() {
        let face = crate::camera::synthetic::tests::drawn_face();
        let prop = Prop::BentPrint { curl_cm: 10.0 };
        let (a, b) = (face.bend(prop, [10.0, 0.0, 0.0]), face.bend(prop, [11.0, 0.0, 0.0]));
        let step = ((a[0] - b[0]).powi(2) + (a[2] - b[2]).powi(2)).sqrt();
        assert!((step - 1.0).abs() < 1e-3, "{step}");
    }

    #[test]
    fn the_point_in_polygon_test_follows_the_outline() {
        let square = [[0.0, 0.0, 0.0], [10.0, 0.0, 0.0], [10.0, 10.0, 0.0], [0.0, 10.0, 0.0]];
        assert!(inside(&square, 5.0, 5.0));
        assert!(!inside(&square, 15.0, 5.0));
    }
}
