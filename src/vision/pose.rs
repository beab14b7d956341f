//! Head pose (yaw, pitch, roll) from the mesh's 3-D landmarks and the camera's intrinsics.
//!
//! The mesh predicts a 3-D face as seen along the camera ray through it (x, y in frame
//! pixels, z in the same units, negative toward the camera). Its orientation is therefore
//! relative to that ray: a head facing straight ahead but off-centre looks turned by
//! `atan(offset / focal)` (6–9° for a 55–85 px slide at 640×480). We rotate the face's axes
//! from the ray's frame into the camera's frame, so sliding sideways does not read as yaw and
//! only a real head turn does.
//!
//! Sign convention (camera frame: x right, y down, z forward, raw un-mirrored pixels):
//! * **yaw > 0**: the nose points toward image +x (the visitor turns to their own left);
//! * **pitch > 0**: the nose points up (image −y);
//! * **roll > 0**: the eye line tilts clockwise on screen (the visitor's left eye lower).

pub mod rotation;

use serde::Serialize;

use super::Landmarks;

/// Symmetric landmark pairs (subject's right, subject's left): outer and inner eye corners,
/// mouth corners, cheek edges, jaw. Their mean difference is the face's left-right axis.
const LATERAL_PAIRS: [(usize, usize); 5] = [(33, 263), (133, 362), (61, 291), (234, 454), (93, 323)];
/// Forehead top and chin: the face's up-down axis.
const FOREHEAD: usize = 10;
const CHIN: usize = 152;

/// A pinhole camera: focal length and principal point in pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Intrinsics {
    pub focal: f32,
    pub cx: f32,
    pub cy: f32,
}

impl Intrinsics {
    /// A camera with square pixels and principal point at the centre, from its horizontal
    /// field of view in degrees.
    pub fn from_hfov(width: u32, height: u32, hfov_deg: f32) -> Self {
        let focal = width as f32 / 2.0 / (hfov_deg.to_radians() / 2.0).tan();
        Self { focal, cx: width as f32 / 2.0, cy: height as f32 / 2.0 }
    }
}

/// Head orientation in degrees (see the module docs for signs).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Pose {
    pub yaw: f32,
    pub pitch: f32,
    pub roll: f32,
}

type V3 = [f32; 3];

fn sub(a: V3, b: V3) -> V3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}
fn dot(a: V3, b: V3) -> f32 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}
fn cross(a: V3, b: V3) -> V3 {
    [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}
fn scale(a: V3, k: f32) -> V3 {
    [a[0] * k, a[1] * k, a[2] * k]
}
fn normalize(a: V3) -> V3 {
    scale(a, 1.0 / dot(a, a).sqrt().max(f32::EPSILON))
}

/// The face's left-right axis and nose direction, in the frame of the ray through it.
fn face_axes(lm: &Landmarks) -> (V3, V3) {
    let p = |i: usize| lm.points[i];
    let lateral = LATERAL_PAIRS.iter().fold([0.0; 3], |acc, &(r, l)| {
        let d = sub(p(l), p(r));
        [acc[0] + d[0], acc[1] + d[1], acc[2] + d[2]]
    });
    let ex = normalize(lateral);
    let down = sub(p(CHIN), p(FOREHEAD));
    let ey = normalize(sub(down, scale(ex, dot(down, ex))));
    // ex × ey points into the head; the nose points the other way.
    (ex, scale(cross(ex, ey), -1.0))
}

/// Rotates a vector given in the ray frame (z along the ray through pixel `(u, v)`) into the
/// camera frame.
fn ray_to_camera(cam: &Intrinsics, u: f32, v: f32, a: V3) -> V3 {
    let bz = normalize([u - cam.cx, v - cam.cy, cam.focal]);
    let bx = normalize(cross([0.0, 1.0, 0.0], bz));
    let by = cross(bz, bx);
    [
        bx[0] * a[0] + by[0] * a[1] + bz[0] * a[2],
        bx[1] * a[0] + by[1] * a[1] + bz[1] * a[2],
        bx[2] * a[0] + by[2] * a[1] + bz[2] * a[2],
    ]
}

/// Head pose of `lm` in the camera frame.
pub fn head_pose(lm: &Landmarks, cam: &Intrinsics) -> Pose {
    let (ex, nose) = face_axes(lm);
    let n = lm.points.len() as f32;
    let (u, v) = lm.points.iter().fold((0.0, 0.0), |(u, v), p| (u + p[0] / n, v + p[1] / n));
    let ex = ray_to_camera(cam, u, v, ex);
    let nose = ray_to_camera(cam, u, v, nose);
    Pose {
        yaw: nose[0].atan2(-nose[2]).to_degrees(),
        pitch: (-nose[1]).atan2(nose[0].hypot(nose[2])).to_degrees(),
        roll: ex[1].atan2(ex[0]).to_degrees(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A synthetic "face": the landmarks used by the pose placed on a rigid 3-D template,
    /// rotated by `yaw` about the vertical axis, and projected with a pinhole camera at
    /// horizontal position `at_x` (weak perspective along the ray, as the mesh reports).
    fn template_face(yaw_deg: f32, at_x: f32, cam: &Intrinsics) -> Landmarks {
        let mut points = vec![[0.0f32; 3]; 468];
        let mut put = |i: usize, p: V3| points[i] = p;
        for (k, &(r, l)) in LATERAL_PAIRS.iter().enumerate() {
            let half = 20.0 + 10.0 * k as f32;
            let y = -10.0 + 8.0 * k as f32;
            put(r, [-half, y, 5.0 * k as f32]);
            put(l, [half, y, 5.0 * k as f32]);
        }
        put(FOREHEAD, [0.0, -70.0, 10.0]);
        put(CHIN, [0.0, 80.0, 10.0]);
        put(1, [0.0, 10.0, -40.0]);
        // The head's world orientation relative to the camera axis is `yaw`; what the mesh
        // sees is that orientation relative to the ray through the face.
        let ray_yaw = ((at_x - cam.cx) / cam.focal).atan();
        let seen = yaw_deg.to_radians() + ray_yaw;
        let (s, c) = seen.sin_cos();
        for p in points.iter_mut() {
            let [x, y, z] = *p;
            // Rotation about the vertical axis turning the nose (−z) toward +x for seen > 0.
            *p = [x * c - z * s + at_x, y + cam.cy, x * s + z * c];
        }
        Landmarks { points, presence: 1.0 }
    }

    #[test]
    fn frontal_face_in_the_centre_has_zero_pose() {
        let cam = Intrinsics::from_hfov(640, 480, 60.0);
        let p = head_pose(&template_face(0.0, 320.0, &cam), &cam);
        assert!(p.yaw.abs() < 0.1 && p.pitch.abs() < 0.1 && p.roll.abs() < 0.1, "{p:?}");
    }

    #[test]
    fn turning_the_nose_toward_image_right_is_positive_yaw() {
        let cam = Intrinsics::from_hfov(640, 480, 60.0);
        let p = head_pose(&template_face(15.0, 320.0, &cam), &cam);
        assert!((p.yaw - 15.0).abs() < 0.1, "{p:?}");
        let p = head_pose(&template_face(-20.0, 320.0, &cam), &cam);
        assert!((p.yaw + 20.0).abs() < 0.1, "{p:?}");
    }

    #[test]
    fn sliding_sideways_without_turning_is_not_yaw() {
        let cam = Intrinsics::from_hfov(640, 480, 60.0);
        for at_x in [240.0, 400.0] {
            let p = head_pose(&template_face(0.0, at_x, &cam), &cam);
            assert!(p.yaw.abs() < 0.5, "slid to {at_x}: {p:?}");
        }
    }

    #[test]
    fn a_60_degree_lens_at_640_px_has_a_554_px_focal_length() {
        let cam = Intrinsics::from_hfov(640, 480, 60.0);
        assert!((cam.focal - 554.26).abs() < 0.01);
    }
}
