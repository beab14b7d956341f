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
//! The measure ([`nose_departure`]): fit a homography (normalised DLT, least squares, refitted
//! without gross outliers) from the points off the nose at the start of the Nose state to the
//! same points now, and measure how far the nose tip departs from the face around it along
//! four lines through it ([`RULINGS`]), each departure signed by the direction in which the
//! head's rotation swings a nose against its face; the smallest, over the face width, is the
//! value. Curled paper stays in line along one of them (it is developable); a head does not.
//! A picture's departures are tracking noise, in any direction, so their smallest signed
//! value is mostly negative; a head's are all positive.

/// Mesh landmarks seeding the keypoint tracker: eye corners, nose (tip, bridge, wings), mouth
/// corners and lips, brows, cheeks, chin and forehead, spread over the face so that depth
/// differences are sampled everywhere, and the groups of [`RULINGS`] around the nose.
pub const SEED_LANDMARKS: [usize; 55] = [
    33, 133, 362, 263, 1, 4, 5, 6, 168, 195, 197, 98, 327, 61, 291, 13, 14, 0, 17, 70, 300, 105, 334, 107,
    336, 234, 454, 93, 323, 50, 280, 205, 425, 152, 148, 377, 10, 109, 338, 151, 9, 187, 411, 207, 427, 142,
    117, 287, 270, 371, 330, 57, 40, 36, 266,
];

/// Points tracked beside the [`SEED_LANDMARKS`] for the head's pose alone: the outer cheeks,
/// the lateral eye region and the temples, 3–4 cm behind the eye corners. A turn moves a point
/// sideways in proportion to its depth, so these carry most of what the tracked points tell
/// about the turn (the seeds alone carry a fifth of what the pose template does). They are not
/// in the 3-D-motion statistic, which compares the nose with the face's plane.
pub const POSE_POINTS: [usize; 8] = [137, 366, 227, 447, 34, 264, 139, 368];

/// Every point the keypoint tracker follows: the [`SEED_LANDMARKS`], then the [`POSE_POINTS`].
pub const KEYPOINTS: [usize; SEED_LANDMARKS.len() + POSE_POINTS.len()] = {
    let mut all = [0; SEED_LANDMARKS.len() + POSE_POINTS.len()];
    let mut i = 0;
    while i < all.len() {
        all[i] =
            if i < SEED_LANDMARKS.len() { SEED_LANDMARKS[i] } else { POSE_POINTS[i - SEED_LANDMARKS.len()] };
        i += 1;
    }
    all
};

/// The nose tip and the points just above it: the part of a head that stands furthest in
/// front of everything around it.
pub const NOSE_POINTS: [usize; 3] = [1, 4, 5];

/// Points in front of the face plane, left out of its fit: the nose and its wings.
const NOSE_BODY: [usize; 10] = [1, 4, 5, 6, 195, 197, 98, 327, 2, 164];

/// Four lines through the nose tip (vertical, horizontal, two diagonals), each as the groups
/// of points on either side of the nose along it. On a real face the nose tip stands 2–5 cm
/// in front of every such line (least along the vertical one: nasion to lips). Paper —
/// flat or bent — is a developable surface: through every point of it runs a straight line
/// lying in it, so along one of these directions the nose of a photo lies in line with its
/// neighbours, however the paper is curled.
pub const RULINGS: [(&[usize], &[usize]); 4] = [
    (&[168, 9, 151], &[0, 13, 17]),
    (&[98, 36, 205], &[327, 266, 425]),
    (&[33, 142, 117], &[291, 287, 270]),
    (&[263, 371, 330], &[61, 57, 40]),
];

/// A row-major 3×3 homography.
pub type H = [f64; 9];

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

/// The homography of the face's plane from the points' start positions to where they are now
/// (`None`: lost), both in the order of `ids`: fitted, without gross outliers, on the points
/// off the nose.
pub fn plane_homography(ids: &[usize], start: &[[f32; 2]], now: &[Option<[f32; 2]>]) -> Option<H> {
    let (a, b): (Vec<_>, Vec<_>) = ids
        .iter()
        .zip(start.iter().zip(now))
        .filter(|(id, _)| !NOSE_BODY.contains(id))
        .filter_map(|(_, (s, n))| n.map(|n| (*s, n)))
        .unzip();
    robust_homography(&a, &b)
}

/// How much the nose moved against the face around it, from the points' start positions and
/// where they are now (`None`: lost), both in the order of `ids` (mesh indices).
///
/// A homography is fitted to the points off the nose (the face's plane, or the whole picture
/// when it is one), and each point's residual from it taken. Along each line of [`RULINGS`],
/// the residual at the nose is predicted by interpolating between a point on either side,
/// where the nose lies between them; the departure is the difference. A flat picture leaves
/// no residual at all; a curled one leaves residuals that follow its curl, equal along the
/// curl's straight lines, so along one direction the nose departs from nothing. A head turning
/// moves its nose tip against all four, toward where its rotation swings the nose (`toward`,
/// a unit image vector). The value is the smallest over the four lines of the departure's
/// component along `toward`, in pixels: negative when the nose moved the other way. `None` when a direction has no tracked pair, no nose point is tracked
/// or the plane cannot be fitted: the statistic then has no value (fail closed).
pub fn nose_departure(
    ids: &[usize],
    start: &[[f32; 2]],
    now: &[Option<[f32; 2]>],
    toward: [f32; 2],
) -> Option<f32> {
    let at = |id: usize| ids.iter().position(|&i| i == id);
    let h = plane_homography(ids, start, now)?;
    let residual = |k: usize| -> Option<[f32; 2]> {
        let q = apply(&h, start[k]);
        now[k].map(|n| [n[0] - q[0], n[1] - q[1]])
    };
    let noses: Vec<usize> =
        NOSE_POINTS.iter().filter_map(|&id| at(id)).filter(|&k| now[k].is_some()).collect();
    // The mean start position of some points.
    let mean = |ks: &[usize]| {
        let n = ks.len() as f32;
        ks.iter().fold([0.0f32; 2], |m, &k| [m[0] + start[k][0] / n, m[1] + start[k][1] / n])
    };
    // The nose's place: the mean of its tracked points (any of them may be lost on a frame).
    if noses.is_empty() {
        return None;
    }
    let tip = mean(&noses);
    let mut least = f32::INFINITY;
    for (side_a, side_b) in RULINGS {
        let tracked = |side: &[usize]| -> Vec<usize> {
            side.iter().filter_map(|&id| at(id)).filter(|&k| now[k].is_some()).collect()
        };
        let (a, b) = (tracked(side_a), tracked(side_b));
        if a.is_empty() || b.is_empty() {
            return None;
        }
        // The line's direction at the start: from the mean of one side to the other's.
        let (ma, mb) = (mean(&a), mean(&b));
        let len = (mb[0] - ma[0]).hypot(mb[1] - ma[1]).max(1e-3);
        let dir = [(mb[0] - ma[0]) / len, (mb[1] - ma[1]) / len];
        let param = |k: usize| ((start[k][0] - tip[0]) * dir[0] + (start[k][1] - tip[1]) * dir[1]) / len;
        let line: Vec<(f32, [f32; 2])> =
            a.iter().chain(&b).filter_map(|&k| residual(k).map(|r| (param(k), r))).collect();
        let fit = [0, 1].map(|c| smooth_fit(&line.iter().map(|(s, r)| (*s, r[c])).collect::<Vec<_>>()));
        let mut found: Vec<f32> = noses
            .iter()
            .filter_map(|&k| {
                let rn = residual(k)?;
                let s = param(k);
                let [fx, fy] = [fit[0].as_ref()?, fit[1].as_ref()?].map(|f| f(s));
                Some((rn[0] - fx) * toward[0] + (rn[1] - fy) * toward[1])
            })
            .collect();
        if found.is_empty() {
            return None;
        }
        found.sort_by(f32::total_cmp);
        // The median; of two, the smaller: one nose point that drifted (a weak window on the
        // ridge can slide along it) must not decide for the face.
        least = least.min(found[(found.len() - 1) / 2]);
    }
    Some(least)
}

/// The residual along a line as a smooth function of the position on it: a least-squares
/// quadratic through the points (a straight line through fewer than five), refitted once
/// without the worst point when it stands out (off the fit by more than twice the median
/// point's distance plus 0.25 px), so one bad track on untextured skin or a foreshortened far
/// cheek does not decide. Paper curled or seen in perspective bends the residual smoothly along a line; the
/// nose's bump is too narrow for it.
fn smooth_fit(pts: &[(f32, f32)]) -> Option<impl Fn(f32) -> f32 + use<>> {
    let mut c = poly_fit(pts)?;
    if pts.len() >= 4 {
        let eval = |c: &[f64; 3], s: f32| (c[0] + c[1] * f64::from(s) + c[2] * f64::from(s).powi(2)) as f32;
        let mut e: Vec<f32> = pts.iter().map(|&(s, v)| (v - eval(&c, s)).abs()).collect();
        let worst = (0..e.len()).max_by(|&i, &j| e[i].total_cmp(&e[j]))?;
        let largest = e[worst];
        e.sort_by(f32::total_cmp);
        if largest > 2.0 * e[e.len() / 2] + 0.25 {
            let rest: Vec<(f32, f32)> =
                pts.iter().enumerate().filter(|(i, _)| *i != worst).map(|(_, p)| *p).collect();
            // Both sides must still be there for the fit to interpolate at the nose.
            if rest.iter().any(|(s, _)| *s < 0.0) && rest.iter().any(|(s, _)| *s > 0.0) {
                c = poly_fit(&rest)?;
            }
        }
    }
    Some(move |s: f32| (c[0] + c[1] * f64::from(s) + c[2] * f64::from(s).powi(2)) as f32)
}

/// Least-squares `c0 + c1·s (+ c2·s²)`: quadratic with five points or more, else a line.
fn poly_fit(pts: &[(f32, f32)]) -> Option<[f64; 3]> {
    let terms = match pts.len() {
        0 | 1 => return None,
        2..=4 => 2,
        _ => 3,
    };
    let mut m = [[0.0f64; 4]; 3];
    for &(s, v) in pts {
        let basis = [1.0, f64::from(s), f64::from(s) * f64::from(s)];
        for i in 0..terms {
            for j in 0..terms {
                m[i][j] += basis[i] * basis[j];
            }
            m[i][3] += basis[i] * f64::from(v);
        }
    }
    for col in 0..terms {
        let pivot = (col..terms).max_by(|&i, &j| m[i][col].abs().total_cmp(&m[j][col].abs()))?;
        if m[pivot][col].abs() < 1e-9 {
            return None;
        }
        m.swap(col, pivot);
        let pivot_row = m[col];
        for (row, r) in m.iter_mut().enumerate().take(terms) {
            if row != col {
                let f = r[col] / pivot_row[col];
                for (v, p) in r.iter_mut().zip(&pivot_row).skip(col) {
                    *v -= f * p;
                }
            }
        }
    }
    Some(std::array::from_fn(|i| if i < terms { m[i][3] / m[i][i] } else { 0.0 }))
}

/// How far each `start` point, mapped by `h`, lands from its `now` point (pixels).
fn transfer_errors(h: &H, start: &[[f32; 2]], now: &[[f32; 2]]) -> Vec<f32> {
    start
        .iter()
        .zip(now)
        .map(|(&a, &b)| {
            let q = apply(h, a);
            (q[0] - b[0]).hypot(q[1] - b[1])
        })
        .collect()
}

/// A homography refitted a few times without gross outliers (bad tracks).
fn robust_homography(start: &[[f32; 2]], now: &[[f32; 2]]) -> Option<H> {
    if start.len() < 8 {
        return None;
    }
    let mut h = fit_homography(start, now)?;
    for _ in 0..3 {
        let e = transfer_errors(&h, start, now);
        let mut sorted = e.clone();
        sorted.sort_by(f32::total_cmp);
        let cut = 2.5 * sorted[sorted.len() / 2] + 0.5;
        let (a, b): (Vec<_>, Vec<_>) =
            start.iter().zip(now).zip(&e).filter(|(_, err)| **err <= cut).map(|((a, b), _)| (*a, *b)).unzip();
        if a.len() < 8 {
            break;
        }
        h = fit_homography(&a, &b)?;
    }
    Some(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The median transfer error of the robust homography between two views, over `w`.
    fn planar_residual(start: &[[f32; 2]], now: &[[f32; 2]], w: f32) -> Option<f32> {
        let h = robust_homography(start, now)?;
        let mut e = transfer_errors(&h, start, now);
        e.sort_by(f32::total_cmp);
        Some(e[e.len() / 2] / w)
    }

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

    /// The astronaut's 3-D mesh landmarks (float reference), centred on the nose tip.
    fn face3d() -> Vec<[f32; 3]> {
        let doc: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/data/reference.json")).expect("reference");
        let lm =
            doc["images"]["astronaut.png"]["faces"][0]["landmarks"].as_array().expect("landmarks").clone();
        let p = |i: usize| -> [f32; 3] { std::array::from_fn(|k| lm[i][k].as_f64().unwrap() as f32) };
        let tip = p(1);
        SEED_LANDMARKS.iter().map(|&i| std::array::from_fn(|k| (p(i)[k] - tip[k]) * 2.0)).collect()
    }

    /// Turns the points `deg` about the vertical axis through a pivot `behind` the nose tip,
    /// tilts them `tilt` about the horizontal axis, slides them `shift` sideways, projects.
    fn pose(pts: &[[f32; 3]], deg: f32, tilt: f32, shift: f32) -> Vec<[f32; 2]> {
        let (s, c) = deg.to_radians().sin_cos();
        let (st, ct) = tilt.to_radians().sin_cos();
        let behind = 90.0;
        pts.iter()
            .map(|&[x, y, z]| {
                let z = z + behind;
                let (x, z) = (x * c + z * s, -x * s + z * c);
                let (y, z) = (y * ct - z * st, y * st + z * ct);
                project([x + shift, y, 700.0 - behind + z], 560.0)
            })
            .collect()
    }

    /// The departure toward where a turn by `deg` swings the nose (the tests' turns by a
    /// positive angle swing it toward image −x).
    fn departure(start: &[[f32; 2]], now: &[[f32; 2]], deg: f32) -> f32 {
        let now: Vec<_> = now.iter().map(|p| Some(*p)).collect();
        nose_departure(&SEED_LANDMARKS, start, &now, [-deg.signum(), 0.0]).expect("every direction tracked")
    }

    /// Paper: the face's picture with no depth, or curled about an axis at `axis_deg` (0:
    /// vertical) with radius `r` (the face is ~190 units wide, ~14 cm: 6 cm is ~80).
    fn paper(r: Option<f32>, axis_deg: f32) -> Vec<[f32; 3]> {
        let (s, c) = axis_deg.to_radians().sin_cos();
        face3d()
            .into_iter()
            .map(|[x, y, _]| {
                let across = x * c + y * s;
                let z = r.map_or(0.0, |r| r - (r * r - across * across).max(0.0).sqrt());
                [x, y, z]
            })
            .collect()
    }

    #[test]
    fn a_turning_head_moves_its_nose_against_every_line_of_the_face() {
        let head = face3d();
        for (deg, tilt) in [(10.0f32, -5.0f32), (-10.0, 10.0), (15.0, -20.0), (25.0, 0.0)] {
            let d = departure(&pose(&head, 0.0, tilt, 0.0), &pose(&head, deg, tilt, 40.0), deg);
            // 10° of turn moves a 146-px-wide face's nose ~2 px against the nasion–lip line.
            assert!(d > 1.5, "{deg}° at {tilt}°: {d:?}");
        }
    }

    #[test]
    fn a_flat_or_curled_picture_moves_its_nose_in_line_with_the_face() {
        let head = face3d();
        let live = departure(&pose(&head, 0.0, 0.0, 0.0), &pose(&head, 10.0, 0.0, 40.0), 10.0);
        for (r, axis) in
            [(None, 0.0), (Some(80.0), 0.0), (Some(150.0), 0.0), (Some(80.0), 90.0), (Some(100.0), 45.0)]
        {
            let pic = paper(r, axis);
            for (deg, tilt) in [(30.0f32, 0.0f32), (40.0, 10.0), (-25.0, -15.0), (20.0, 20.0)] {
                let d = departure(&pose(&pic, 0.0, 0.0, 0.0), &pose(&pic, deg, tilt, 40.0), deg);
                assert!(
                    d < live / 2.0,
                    "curl {r:?} about {axis}°, turned {deg}° tilted {tilt}°: {d:?} vs live at 10° {live:?}"
                );
            }
        }
    }

    #[test]
    fn the_departure_is_signed_a_nose_moving_the_other_way_counts_against() {
        let head = face3d();
        let (a, b) = (pose(&head, 0.0, 0.0, 0.0), pose(&head, 12.0, 0.0, 40.0));
        let now: Vec<_> = b.iter().map(|p| Some(*p)).collect();
        let with = nose_departure(&SEED_LANDMARKS, &a, &now, [-1.0, 0.0]).unwrap();
        let against = nose_departure(&SEED_LANDMARKS, &a, &now, [1.0, 0.0]).unwrap();
        let across = nose_departure(&SEED_LANDMARKS, &a, &now, [0.0, 1.0]).unwrap();
        assert!(with > 1.5, "{with}");
        assert!(against < -1.5, "{against}");
        // A turn moves the nose sideways: up or down it departs from nothing.
        assert!(across.abs() < with / 4.0, "{across} vs {with}");
    }

    #[test]
    fn one_drifted_nose_point_of_two_does_not_speak_for_the_nose() {
        // A picture turned 16°: one nose point lost, the one above the tip slid 7 px along
        // the ridge in the direction the turn would swing a nose (report-set session 2007010).
        let pic = paper(None, 0.0);
        let (a, b) = (pose(&pic, 0.0, 0.0, 0.0), pose(&pic, 16.0, 0.0, 40.0));
        let mut now: Vec<_> = b.iter().map(|p| Some(*p)).collect();
        let at = |id: usize| SEED_LANDMARKS.iter().position(|&i| i == id).unwrap();
        now[at(4)] = None;
        now[at(5)] = now[at(5)].map(|p| [p[0] - 7.0, p[1]]);
        let d = nose_departure(&SEED_LANDMARKS, &a, &now, [-1.0, 0.0]).unwrap();
        assert!(d.abs() < 0.5, "{d}");
        // A head whose two remaining nose points both depart still does.
        let head = face3d();
        let (a, b) = (pose(&head, 0.0, 0.0, 0.0), pose(&head, 12.0, 0.0, 40.0));
        let mut now: Vec<_> = b.iter().map(|p| Some(*p)).collect();
        now[at(4)] = None;
        let d = nose_departure(&SEED_LANDMARKS, &a, &now, [-1.0, 0.0]).unwrap();
        assert!(d > 1.0, "{d}");
    }

    #[test]
    fn every_ruling_point_is_a_seed() {
        for (a, b) in RULINGS {
            for id in a.iter().chain(b.iter()).chain(&NOSE_POINTS) {
                assert!(SEED_LANDMARKS.contains(id), "{id}");
            }
        }
    }

    #[test]
    fn too_few_keypoints_cannot_be_judged() {
        let v = view(0.0, 0.0, 0.0);
        assert_eq!(planar_residual(&v[..7], &v[..7], 150.0), None);
    }
}
