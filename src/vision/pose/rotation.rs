//! Rotation algebra for the head pose, in f64: 3×3 matrices, unit quaternions, the
//! exponential map, and Horn's closed-form similarity alignment of two point sets.
//!
//! The pose fit needs only these few pieces, so they are written out here rather than
//! pulling a linear-algebra crate onto the Pi; each is a textbook formula with a unit test.

/// A 3-vector.
pub type V3 = [f64; 3];
/// A 3×3 matrix, row-major.
pub type M3 = [[f64; 3]; 3];
/// A unit quaternion `(w, x, y, z)`.
pub type Quat = [f64; 4];

/// The identity matrix.
pub const IDENTITY: M3 = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];

/// `a · b`.
pub fn dot(a: V3, b: V3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// `a × b`.
pub fn cross(a: V3, b: V3) -> V3 {
    [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}

/// The matrix product `a b`.
pub fn mul(a: &M3, b: &M3) -> M3 {
    let mut m = [[0.0; 3]; 3];
    for (i, row) in m.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = a[i][0] * b[0][j] + a[i][1] * b[1][j] + a[i][2] * b[2][j];
        }
    }
    m
}

/// `aᵀ`.
pub fn transpose(a: &M3) -> M3 {
    [[a[0][0], a[1][0], a[2][0]], [a[0][1], a[1][1], a[2][1]], [a[0][2], a[1][2], a[2][2]]]
}

/// `a v`.
pub fn apply(a: &M3, v: V3) -> V3 {
    [dot(a[0], v), dot(a[1], v), dot(a[2], v)]
}

/// The rotation by `|w|` radians about `w` (Rodrigues' formula).
pub fn exp_map(w: V3) -> M3 {
    let angle = dot(w, w).sqrt();
    if angle < 1e-12 {
        return IDENTITY;
    }
    let half = angle / 2.0;
    let s = half.sin() / angle;
    from_quat([half.cos(), w[0] * s, w[1] * s, w[2] * s])
}

/// The rotation matrix of a quaternion (normalised first).
pub fn from_quat(q: Quat) -> M3 {
    let n = q.iter().map(|v| v * v).sum::<f64>().sqrt();
    let [w, x, y, z] = q.map(|v| v / n);
    [
        [1.0 - 2.0 * (y * y + z * z), 2.0 * (x * y - w * z), 2.0 * (x * z + w * y)],
        [2.0 * (x * y + w * z), 1.0 - 2.0 * (x * x + z * z), 2.0 * (y * z - w * x)],
        [2.0 * (x * z - w * y), 2.0 * (y * z + w * x), 1.0 - 2.0 * (x * x + y * y)],
    ]
}

/// The unit quaternion of a rotation matrix, with `w ≥ 0` (Shepperd's method: divide by the
/// largest of the four candidates, so no branch loses precision).
pub fn to_quat(r: &M3) -> Quat {
    let trace = r[0][0] + r[1][1] + r[2][2];
    let q = if trace >= r[0][0].max(r[1][1]).max(r[2][2]) {
        let s = (1.0 + trace).sqrt() * 2.0;
        [s / 4.0, (r[2][1] - r[1][2]) / s, (r[0][2] - r[2][0]) / s, (r[1][0] - r[0][1]) / s]
    } else if r[0][0] >= r[1][1] && r[0][0] >= r[2][2] {
        let s = (1.0 + r[0][0] - r[1][1] - r[2][2]).sqrt() * 2.0;
        [(r[2][1] - r[1][2]) / s, s / 4.0, (r[0][1] + r[1][0]) / s, (r[0][2] + r[2][0]) / s]
    } else if r[1][1] >= r[2][2] {
        let s = (1.0 + r[1][1] - r[0][0] - r[2][2]).sqrt() * 2.0;
        [(r[0][2] - r[2][0]) / s, (r[0][1] + r[1][0]) / s, s / 4.0, (r[1][2] + r[2][1]) / s]
    } else {
        let s = (1.0 + r[2][2] - r[0][0] - r[1][1]).sqrt() * 2.0;
        [(r[1][0] - r[0][1]) / s, (r[0][2] + r[2][0]) / s, (r[1][2] + r[2][1]) / s, s / 4.0]
    };
    let n = q.iter().map(|v| v * v).sum::<f64>().sqrt();
    let sign = if q[0] < 0.0 { -1.0 } else { 1.0 };
    q.map(|v| v * sign / n)
}

/// Mean of a few nearby rotations: the normalised mean of their quaternions, each flipped into
/// the first one's hemisphere (q and −q are the same rotation). Exact for two rotations about
/// one axis and accurate to second order in the spread otherwise, which for frames a few degrees
/// apart is far below the landmark noise. The identity for an empty slice.
pub fn mean(rs: &[M3]) -> M3 {
    let Some(first) = rs.first() else { return IDENTITY };
    let q0 = to_quat(first);
    let mut sum: Quat = [0.0; 4];
    for r in rs {
        let q = to_quat(r);
        let sign = if q.iter().zip(&q0).map(|(a, b)| a * b).sum::<f64>() < 0.0 { -1.0 } else { 1.0 };
        for (s, v) in sum.iter_mut().zip(q) {
            *s += sign * v;
        }
    }
    from_quat(sum)
}

/// `to ≈ scale · rotation · from + translation`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Similarity {
    pub rotation: M3,
    pub scale: f64,
    pub translation: V3,
}

/// The least-squares similarity taking `from` onto `to` (Horn 1987, "Closed-form solution of
/// absolute orientation using unit quaternions": the rotation is the eigenvector of the
/// largest eigenvalue of a 4×4 matrix built from the cross-covariance). `None` when the sets
/// differ in length, have fewer than three points, are not finite or collapse to a point.
pub fn align(from: &[V3], to: &[V3]) -> Option<Similarity> {
    if from.len() != to.len() || from.len() < 3 {
        return None;
    }
    let (ca, cb) = (centroid(from), centroid(to));
    let mut s = [[0.0; 3]; 3];
    let mut spread = 0.0;
    for (a, b) in from.iter().zip(to) {
        let (a, b) = (sub(*a, ca), sub(*b, cb));
        spread += dot(a, a);
        for i in 0..3 {
            for j in 0..3 {
                s[i][j] += a[i] * b[j];
            }
        }
    }
    if spread.is_nan() || spread <= 1e-12 || s.iter().flatten().any(|v| !v.is_finite()) {
        return None;
    }
    let rotation = from_quat(largest_eigenvector(horn_matrix(&s)));
    let scale =
        from.iter().zip(to).map(|(a, b)| dot(sub(*b, cb), apply(&rotation, sub(*a, ca)))).sum::<f64>()
            / spread;
    let r = apply(&rotation, ca);
    let translation = [cb[0] - scale * r[0], cb[1] - scale * r[1], cb[2] - scale * r[2]];
    Some(Similarity { rotation, scale, translation })
}

/// The mean of a point set.
pub fn centroid(points: &[V3]) -> V3 {
    let n = points.len().max(1) as f64;
    let s = points.iter().fold([0.0; 3], |acc, p| [acc[0] + p[0], acc[1] + p[1], acc[2] + p[2]]);
    [s[0] / n, s[1] / n, s[2] / n]
}

fn sub(a: V3, b: V3) -> V3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

/// Horn's symmetric matrix N of the cross-covariance `s` (`s[i][j] = Σ aᵢ bⱼ`).
fn horn_matrix(s: &M3) -> [[f64; 4]; 4] {
    let [[xx, xy, xz], [yx, yy, yz], [zx, zy, zz]] = *s;
    [
        [xx + yy + zz, yz - zy, zx - xz, xy - yx],
        [yz - zy, xx - yy - zz, xy + yx, zx + xz],
        [zx - xz, xy + yx, -xx + yy - zz, yz + zy],
        [xy - yx, zx + xz, yz + zy, -xx - yy + zz],
    ]
}

/// The eigenvector of a symmetric 4×4 matrix's largest eigenvalue, by cyclic Jacobi sweeps.
fn largest_eigenvector(mut a: [[f64; 4]; 4]) -> Quat {
    let mut v = [[0.0; 4]; 4];
    for (i, row) in v.iter_mut().enumerate() {
        row[i] = 1.0;
    }
    for _ in 0..30 {
        let off: f64 = (0..4).flat_map(|i| (i + 1..4).map(move |j| (i, j))).map(|(i, j)| a[i][j].abs()).sum();
        let diag: f64 = (0..4).map(|i| a[i][i].abs()).sum();
        if off <= 1e-15 * diag.max(1e-300) {
            break;
        }
        for p in 0..4 {
            for q in p + 1..4 {
                jacobi_rotate(&mut a, &mut v, p, q);
            }
        }
    }
    let best = (0..4).max_by(|&i, &j| a[i][i].total_cmp(&a[j][j])).unwrap_or(0);
    [v[0][best], v[1][best], v[2][best], v[3][best]]
}

/// One Jacobi rotation zeroing `a[p][q]`; `v` accumulates the eigenvectors as columns.
fn jacobi_rotate(a: &mut [[f64; 4]; 4], v: &mut [[f64; 4]; 4], p: usize, q: usize) {
    if a[p][q].abs() < 1e-300 {
        return;
    }
    let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
    // The smaller root of t² + 2θt − 1 = 0 (signum(0) is 1, so θ = 0 gives t = 1).
    let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
    let c = 1.0 / (t * t + 1.0).sqrt();
    let s = t * c;
    for row in a.iter_mut() {
        let (kp, kq) = (row[p], row[q]);
        row[p] = c * kp - s * kq;
        row[q] = s * kp + c * kq;
    }
    let (rp, rq) = (a[p], a[q]);
    a[p] = std::array::from_fn(|k| c * rp[k] - s * rq[k]);
    a[q] = std::array::from_fn(|k| s * rp[k] + c * rq[k]);
    for row in v.iter_mut() {
        let (vp, vq) = (row[p], row[q]);
        row[p] = c * vp - s * vq;
        row[q] = s * vp + c * vq;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &M3, b: &M3, tol: f64) -> bool {
        a.iter().flatten().zip(b.iter().flatten()).all(|(x, y)| (x - y).abs() < tol)
    }

    #[test]
    fn a_quarter_turn_about_z_maps_x_onto_y() {
        let r = exp_map([0.0, 0.0, std::f64::consts::FRAC_PI_2]);
        let v = apply(&r, [1.0, 0.0, 0.0]);
        assert!((v[0]).abs() < 1e-12 && (v[1] - 1.0).abs() < 1e-12, "{v:?}");
    }

    #[test]
    fn quaternions_round_trip_through_matrices_in_every_branch() {
        // Angles near 0 and near π exercise the trace branch and each diagonal branch.
        for w in [[0.1, -0.2, 0.3], [3.0, 0.1, 0.0], [0.0, 3.1, 0.2], [0.1, 0.0, -3.1], [1.0, 1.0, 1.0]] {
            let r = exp_map(w);
            assert!(close(&from_quat(to_quat(&r)), &r, 1e-12), "{w:?}");
        }
    }

    #[test]
    fn horn_alignment_recovers_a_known_similarity() {
        let from: Vec<V3> =
            vec![[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 3.0], [1.0, 1.0, -1.0]];
        let rotation = exp_map([0.4, -0.7, 0.2]);
        let to: Vec<V3> = from
            .iter()
            .map(|p| {
                let q = apply(&rotation, *p);
                [2.5 * q[0] + 1.0, 2.5 * q[1] - 4.0, 2.5 * q[2] + 7.0]
            })
            .collect();
        let fit = align(&from, &to).unwrap();
        assert!(close(&fit.rotation, &rotation, 1e-9), "{fit:?}");
        assert!((fit.scale - 2.5).abs() < 1e-9 && (fit.translation[2] - 7.0).abs() < 1e-9, "{fit:?}");
    }

    #[test]
    fn the_mean_of_two_turns_about_one_axis_is_the_turn_halfway() {
        let m = mean(&[exp_map([0.0, 0.2, 0.0]), exp_map([0.0, 0.5, 0.0]), exp_map([0.0, 0.35, 0.0])]);
        assert!(close(&m, &exp_map([0.0, 0.35, 0.0]), 1e-12), "{m:?}");
        assert_eq!(mean(&[]), IDENTITY);
    }

    #[test]
    fn a_collapsed_point_set_has_no_alignment() {
        let p = vec![[1.0, 2.0, 3.0]; 5];
        assert!(align(&p, &p).is_none());
        assert!(align(&[[f64::NAN, 0.0, 0.0]; 4], &p[..4]).is_none());
    }
}
