//! The flat-motion check (SPEC §2.5): is the motion of tracked image keypoints explained by
//! one plane-to-plane homography?
//!
//! A printed photo, a cut-out or a phone screen — moved, tilted or rotated in any way — is a
//! plane, and every view of a plane is related to every other by a homography: fitting one
//! to the tracked keypoints leaves only tracking noise. A real head turning 10–25° is not a
//! plane: the nose tip moves against the eye/mouth plane and the cheeks foreshorten
//! differently from the centre of the face, so the best homography leaves a residual that
//! grows with the turn. The keypoints come from pixels (Lucas–Kanade, `vision::flow`), not
//! from the mesh, whose 3-D face prior would happily bend a tilted photo into a head.
//!
//! The measure: fit a homography (normalised DLT, least squares, refitted without gross
//! outliers) from the keypoints at the start of the Nose state to the same keypoints now,
//! take the **median** transfer error (a few bad tracks must not make a flat picture look
//! 3-D), and divide by the face width so it does not depend on distance.

/// Mesh landmarks seeding the keypoint tracker: eye corners, nose (tip, bridge, wings), mouth
/// corners and lips, brows, cheeks, chin and forehead, spread over the face so that depth
/// differences are sampled everywhere.
pub const SEED_LANDMARKS: [usize; 40] = [
    33, 133, 362, 263, 1, 4, 5, 6, 168, 195, 197, 98, 327, 61, 291, 13, 14, 0, 17, 70, 300, 105, 334, 107,
    336, 234, 454, 93, 323, 50, 280, 205, 425, 152, 148, 377, 10, 109, 338, 151,
];

type H = [f64; 9];

/// Hartley normalisation: translate to the centroid, scale the mean distance to √2.
fn normaliser(pts: &[[f32; 2]]) -> [f64; 3] {
    let n = pts.len() as f64;
    let (mx, my) =
        pts.iter().fold((0.0, 0.0), |(x, y), p| (x + f64::from(p[0]) / n, y + f64::from(p[1]) / n));
    let mean_dist = pts.iter().map(|p| (f64::from(p[0]) - mx).hypot(f64::from(p[1]) - my)).sum::<f64>() / n;
    let s = if mean_dist > 1e-9 { std::f64::consts::SQRT_2 / mean_dist } else { 1.0 };
    [s, mx, my]
}

fn solve8(mut a: [[f64; 9]; 8]) -> Option<[f64; 8]> {
    for col in 0..8 {
        let pivot = (col..8).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        let pivot_row = a[col];
        for (row, r) in a.iter_mut().enumerate() {
            if row != col {
                let f = r[col] / pivot_row[col];
                for (v, p) in r.iter_mut().zip(&pivot_row).skip(col) {
                    *v -= f * p;
                }
            }
        }
    }
    Some(std::array::from_fn(|i| a[i][8] / a[i][i]))
}

/// Least-squares homography mapping `src` to `dst` (at least 4 pairs), as a row-major 3×3.
pub fn fit_homography(src: &[[f32; 2]], dst: &[[f32; 2]]) -> Option<H> {
    if src.len() < 4 || src.len() != dst.len() {
        return None;
    }
    let (ns, nd) = (normaliser(src), normaliser(dst));
    let norm = |p: [f32; 2], t: [f64; 3]| ((f64::from(p[0]) - t[1]) * t[0], (f64::from(p[1]) - t[2]) * t[0]);
    // Normal equations of the DLT with h33 = 1.
    let mut m = [[0.0f64; 9]; 8];
    for (&a, &b) in src.iter().zip(dst) {
        let ((x, y), (u, v)) = (norm(a, ns), norm(b, nd));
        for (row, rhs) in
            [([x, y, 1.0, 0.0, 0.0, 0.0, -x * u, -y * u], u), ([0.0, 0.0, 0.0, x, y, 1.0, -x * v, -y * v], v)]
        {
            for i in 0..8 {
                for j in 0..8 {
                    m[i][j] += row[i] * row[j];
                }
                m[i][8] += row[i] * rhs;
            }
        }
    }
    let h = solve8(m)?;
    let hn = [h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], 1.0];
    // Undo the normalisations: H = Td⁻¹ · Hn · Ts.
    let ts = [ns[0], 0.0, -ns[0] * ns[1], 0.0, ns[0], -ns[0] * ns[2], 0.0, 0.0, 1.0];
    let td_inv = [1.0 / nd[0], 0.0, nd[1], 0.0, 1.0 / nd[0], nd[2], 0.0, 0.0, 1.0];
    Some(mul(&td_inv, &mul(&hn, &ts)))
}

fn mul(a: &H, b: &H) -> H {
    std::array::from_fn(|k| {
        let (i, j) = (k / 3, k % 3);
        (0..3).map(|t| a[i * 3 + t] * b[t * 3 + j]).sum()
    })
}

/// Applies a homography to a point.
pub fn apply(h: &H, p: [f32; 2]) -> [f32; 2] {
    let (x, y) = (f64::from(p[0]), f64::from(p[1]));
    let w = h[6] * x + h[7] * y + h[8];
    [((h[0] * x + h[1] * y + h[2]) / w) as f32, ((h[3] * x + h[4] * y + h[5]) / w) as f32]
}

/// Non-planar motion between two views of the same keypoints: the median distance between
/// where the best homography sends each start point and where it really went, divided by
/// `face_width`. `None` with fewer than 8 keypoints (too few to tell a plane from a head).
pub fn planar_residual(start: &[[f32; 2]], now: &[[f32; 2]], face_width: f32) -> Option<f32> {
    if start.len() < 8 || start.len() != now.len() || face_width <= 0.0 {
        return None;
    }
    let errors = |h: &H| -> Vec<f32> {
        start
            .iter()
            .zip(now)
            .map(|(&a, &b)| {
                let q = apply(h, a);
                (q[0] - b[0]).hypot(q[1] - b[1])
            })
            .collect()
    };
    let median = |e: &[f32]| {
        let mut e = e.to_vec();
        e.sort_by(f32::total_cmp);
        e[e.len() / 2]
    };
    // Refit without gross outliers (bad tracks) a few times, so they cannot bend the plane.
    let mut h = fit_homography(start, now)?;
    for _ in 0..3 {
        let e = errors(&h);
        let cut = 2.5 * median(&e) + 1e-3;
        let (a, b): (Vec<_>, Vec<_>) =
            start.iter().zip(now).zip(&e).filter(|(_, err)| **err <= cut).map(|((a, b), _)| (*a, *b)).unzip();
        if a.len() < 8 {
            break;
        }
        h = fit_homography(&a, &b)?;
    }
    Some(median(&errors(&h)) / face_width)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> Vec<[f32; 2]> {
        (0..5).flat_map(|y| (0..6).map(move |x| [200.0 + x as f32 * 30.0, 150.0 + y as f32 * 35.0])).collect()
    }

    fn project(p: [f32; 3], f: f32) -> [f32; 2] {
        [320.0 + f * p[0] / p[2], 240.0 + f * p[1] / p[2]]
    }

    /// Points on a plane (z = 0) or on a bump (z from a nose-like profile), rotated about the
    /// vertical axis by `deg`, 600 units in front of a pinhole camera.
    fn view(relief: f32, deg: f32, shift: f32) -> Vec<[f32; 2]> {
        let (s, c) = deg.to_radians().sin_cos();
        (0..7)
            .flat_map(|j| (0..7).map(move |i| (i as f32 - 3.0, j as f32 - 3.0)))
            .map(|(i, j)| {
                let (x, y) = (i * 25.0, j * 30.0);
                let z = -relief * (-(i * i + j * j) / 4.0).exp();
                project([x * c + z * s + shift, y, 600.0 - x * s + z * c], 500.0)
            })
            .collect()
    }

    #[test]
    fn a_known_homography_is_recovered() {
        let h: H = [1.1, 0.05, 12.0, -0.03, 0.95, -7.0, 0.0004, -0.0002, 1.0];
        let src = grid();
        let dst: Vec<_> = src.iter().map(|&p| apply(&h, p)).collect();
        let fit = fit_homography(&src, &dst).unwrap();
        for (a, b) in src.iter().zip(&dst) {
            let q = apply(&fit, *a);
            assert!((q[0] - b[0]).abs() < 1e-2 && (q[1] - b[1]).abs() < 1e-2);
        }
    }

    #[test]
    fn a_tilted_and_moved_plane_leaves_no_residual() {
        let r = planar_residual(&view(0.0, 0.0, 0.0), &view(0.0, 30.0, 40.0), 150.0).unwrap();
        assert!(r < 1e-4, "{r}");
    }

    #[test]
    fn a_turning_relief_leaves_a_residual() {
        let flat = planar_residual(&view(0.0, 0.0, 0.0), &view(0.0, 20.0, 0.0), 150.0).unwrap();
        let head = planar_residual(&view(60.0, 0.0, 0.0), &view(60.0, 20.0, 0.0), 150.0).unwrap();
        assert!(head > 0.01 && head > 100.0 * flat.max(1e-6), "head {head} flat {flat}");
    }

    #[test]
    fn a_few_bad_tracks_do_not_make_a_plane_look_3d() {
        let start = view(0.0, 0.0, 0.0);
        let mut now = view(0.0, 25.0, 10.0);
        for p in now.iter_mut().take(5) {
            p[0] += 40.0;
        }
        assert!(planar_residual(&start, &now, 150.0).unwrap() < 1e-3);
    }

    #[test]
    fn too_few_keypoints_cannot_be_judged() {
        let v = view(0.0, 0.0, 0.0);
        assert_eq!(planar_residual(&v[..7], &v[..7], 150.0), None);
    }
}
