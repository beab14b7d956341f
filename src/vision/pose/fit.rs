//! Perspective-n-point: the rigid pose of a 3-D model from its points' image positions and
//! the camera intrinsics, by robust Levenberg–Marquardt on rotation and translation.
//!
//! * **Start**: scaled orthography (the model's centred points mapped linearly onto the
//!   centred image points, the 2×3 map's rows made orthonormal). At a door (40–90 cm, a face
//!   ~15 cm deep at most) this is within a few degrees of the answer, so the iteration that
//!   follows never has to find its basin.
//! * **Refine**: minimise the reprojection error in pixels over an axis-angle increment of
//!   the rotation (applied on the camera side) and the translation; six unknowns, normal
//!   equations solved by Cholesky, Levenberg damping against a rare bad step.
//! * **Robust**: a first round unweighted, then [`REWEIGHT_ROUNDS`] rounds of Huber weights
//!   from the previous residuals, so a landmark the mesh misplaces (or where one face differs
//!   from the template) pulls with a bounded force. At most [`MAX_ITERATIONS`] iterations in
//!   all; most fits stop after ~8 (63 points: ~16 µs of CPU on an x86-64 core).

use super::rotation::{self, M3, V3};

/// Iteration budget over all rounds.
pub const MAX_ITERATIONS: usize = 15;
/// Huber rounds after the unweighted one.
const REWEIGHT_ROUNDS: usize = 2;
/// Iterations in the unweighted round (the rest are shared by the reweighted ones).
const FIRST_ROUND: usize = 7;
/// Huber threshold in robust standard deviations: 2σ keeps ~86 % of 2-D Gaussian residuals
/// at full weight and caps the pull of the rest.
const HUBER_K: f64 = 2.0;
/// Floor of the robust residual scale, px: below a pixel, weights would chase sub-pixel
/// template mismatch instead of outliers.
const MIN_SIGMA_PX: f64 = 0.5;
/// Image points closer together than this (rms about their centroid, px) carry no pose.
const MIN_SPREAD_PX: f64 = 2.0;
/// A step this small (radians, and translation relative to depth: 0.0006°, 6 µm at 60 cm)
/// ends a round.
const CONVERGED: f64 = 1e-5;

/// A pinhole camera in f64, for the fit.
#[derive(Debug, Clone, Copy)]
pub struct Camera {
    pub focal: f64,
    pub cx: f64,
    pub cy: f64,
}

/// The fitted pose: `camera = rotation · model + translation`, and its reprojection error.
#[derive(Debug, Clone, Copy)]
pub struct Fit {
    pub rotation: M3,
    pub translation: V3,
    pub rms_px: f64,
}

/// Fits `model` (any unit) to `image` (pixels). `None` when the input is not finite, has
/// fewer than six points, collapses to a point, or the fit puts the model behind the camera.
pub fn fit(model: &[V3], image: &[[f64; 2]], cam: &Camera) -> Option<Fit> {
    let finite = |v: &[f64]| v.iter().all(|x| x.is_finite());
    if model.len() != image.len()
        || model.len() < 6
        || !model.iter().all(|p| finite(p))
        || !image.iter().all(|p| finite(p))
        || !(cam.focal > 0.0 && cam.focal.is_finite())
        || spread(image) < MIN_SPREAD_PX
    {
        return None;
    }
    // Normalised image coordinates: the fit works in these, residuals are scaled to pixels.
    let seen: Vec<[f64; 2]> =
        image.iter().map(|p| [(p[0] - cam.cx) / cam.focal, (p[1] - cam.cy) / cam.focal]).collect();
    let mut pose = scaled_orthographic(model, &seen)?;
    let mut weights = vec![1.0; model.len()];
    let mut budget = MAX_ITERATIONS;
    for round in 0..=REWEIGHT_ROUNDS {
        if round > 0 {
            huber_weights(model, &seen, &pose, cam.focal, &mut weights);
        }
        let iterations = if round == 0 { FIRST_ROUND } else { budget / (REWEIGHT_ROUNDS + 1 - round) };
        budget -= iterations;
        pose = refine(model, &seen, &weights, pose, iterations)?;
    }
    let sq: f64 = model.iter().zip(&seen).map(|(p, m)| sq_residual(p, m, &pose)).sum();
    let rms_px = (sq / model.len() as f64).sqrt() * cam.focal;
    (pose.translation[2] > 0.0 && rms_px.is_finite()).then_some(Fit { rms_px, ..pose })
}

/// Root-mean-square distance of the points from their centroid.
fn spread(points: &[[f64; 2]]) -> f64 {
    let n = points.len() as f64;
    let (mx, my) = points.iter().fold((0.0, 0.0), |(x, y), p| (x + p[0] / n, y + p[1] / n));
    (points.iter().map(|p| (p[0] - mx).powi(2) + (p[1] - my).powi(2)).sum::<f64>() / n).sqrt()
}

/// Scaled orthographic start: `seen − mean ≈ s · R[0..2] · (model − mean)`, solved linearly,
/// then the two rows made orthonormal symmetrically (neither row is preferred).
fn scaled_orthographic(model: &[V3], seen: &[[f64; 2]]) -> Option<Fit> {
    let cm = rotation::centroid(model);
    let n = seen.len() as f64;
    let (mx, my) = seen.iter().fold((0.0, 0.0), |(x, y), p| (x + p[0] / n, y + p[1] / n));
    let mut ata = [[0.0; 3]; 3];
    let (mut atx, mut aty) = ([0.0; 3], [0.0; 3]);
    for (p, m) in model.iter().zip(seen) {
        let a = [p[0] - cm[0], p[1] - cm[1], p[2] - cm[2]];
        for i in 0..3 {
            for j in 0..3 {
                ata[i][j] += a[i] * a[j];
            }
            atx[i] += a[i] * (m[0] - mx);
            aty[i] += a[i] * (m[1] - my);
        }
    }
    let inv = inverse(&ata)?;
    let (r1, r2) = (rotation::apply(&inv, atx), rotation::apply(&inv, aty));
    let (n1, n2) = (rotation::dot(r1, r1).sqrt(), rotation::dot(r2, r2).sqrt());
    let (u, v) = (r1.map(|x| x / n1), r2.map(|x| x / n2));
    let (sum, diff) =
        (unit([u[0] + v[0], u[1] + v[1], u[2] + v[2]])?, unit([u[0] - v[0], u[1] - v[1], u[2] - v[2]])?);
    let half = std::f64::consts::FRAC_1_SQRT_2;
    let x = [0, 1, 2].map(|i| (sum[i] + diff[i]) * half);
    let y = [0, 1, 2].map(|i| (sum[i] - diff[i]) * half);
    let r = [x, y, rotation::cross(x, y)];
    let depth = 2.0 / (n1 + n2);
    let rc = rotation::apply(&r, cm);
    let translation = [mx * depth - rc[0], my * depth - rc[1], depth - rc[2]];
    (depth.is_finite() && depth > 0.0).then_some(Fit { rotation: r, translation, rms_px: 0.0 })
}

fn unit(v: V3) -> Option<V3> {
    let n = rotation::dot(v, v).sqrt();
    (n > 1e-12 && n.is_finite()).then(|| v.map(|x| x / n))
}

/// Inverse of a 3×3 matrix; `None` when (nearly) singular.
fn inverse(a: &M3) -> Option<M3> {
    let c = [rotation::cross(a[1], a[2]), rotation::cross(a[2], a[0]), rotation::cross(a[0], a[1])];
    let det = rotation::dot(a[0], c[0]);
    let scale = a.iter().flatten().map(|v| v.abs()).fold(0.0, f64::max);
    if det.is_nan() || det.abs() <= 1e-12 * scale.powi(3) {
        return None;
    }
    Some(rotation::transpose(&c).map(|row| row.map(|v| v / det)))
}

/// Squared reprojection error of one point, in normalised units.
fn sq_residual(p: &V3, m: &[f64; 2], pose: &Fit) -> f64 {
    let c = rotation::apply(&pose.rotation, *p);
    let (x, y, z) = (c[0] + pose.translation[0], c[1] + pose.translation[1], c[2] + pose.translation[2]);
    (x / z - m[0]).powi(2) + (y / z - m[1]).powi(2)
}

/// Huber weights from the current residuals, with the scale estimated robustly (median of
/// the 2-D residual lengths, which is 1.177σ for Gaussian noise).
fn huber_weights(model: &[V3], seen: &[[f64; 2]], pose: &Fit, focal: f64, weights: &mut [f64]) {
    let mut r: Vec<f64> =
        model.iter().zip(seen).map(|(p, m)| sq_residual(p, m, pose).sqrt() * focal).collect();
    let mut sorted = r.clone();
    let mid = sorted.len() / 2;
    let median = *sorted.select_nth_unstable_by(mid, f64::total_cmp).1;
    let k = HUBER_K * (median / 1.1774).max(MIN_SIGMA_PX);
    for (w, r) in weights.iter_mut().zip(r.iter_mut()) {
        *w = if *r <= k { 1.0 } else { k / *r };
    }
}

/// Weighted cost of a pose (normalised units).
fn cost(model: &[V3], seen: &[[f64; 2]], weights: &[f64], pose: &Fit) -> f64 {
    model.iter().zip(seen).zip(weights).map(|((p, m), w)| w * sq_residual(p, m, pose)).sum()
}

/// Levenberg–Marquardt iterations with fixed weights. `None` if the model falls behind the
/// camera.
fn refine(model: &[V3], seen: &[[f64; 2]], weights: &[f64], mut pose: Fit, iterations: usize) -> Option<Fit> {
    let mut lambda = 1e-4;
    let mut current = cost(model, seen, weights, &pose);
    for _ in 0..iterations {
        let (h, g) = normal_equations(model, seen, weights, &pose)?;
        let mut damped = h;
        for (i, row) in damped.iter_mut().enumerate() {
            row[i] += lambda * h[i][i].max(1e-12);
        }
        let Some(step) = cholesky_solve(&damped, &g) else {
            lambda *= 10.0;
            continue;
        };
        let candidate = Fit {
            rotation: rotation::mul(&rotation::exp_map([step[0], step[1], step[2]]), &pose.rotation),
            translation: [0, 1, 2].map(|i| pose.translation[i] + step[3 + i]),
            rms_px: 0.0,
        };
        let next = if candidate.translation[2] > 0.0 {
            cost(model, seen, weights, &candidate)
        } else {
            f64::INFINITY
        };
        if next <= current {
            (pose, current) = (candidate, next);
            lambda = (lambda / 10.0).max(1e-9);
        } else {
            lambda *= 10.0;
        }
        let depth = pose.translation[2];
        let size = (0..6).map(|i| if i < 3 { step[i] } else { step[i] / depth }).map(|v| v * v).sum::<f64>();
        if size.sqrt() < CONVERGED {
            break;
        }
    }
    (pose.translation[2] > 0.0).then_some(pose)
}

/// `JᵀWJ` and `−JᵀWr` for the increment `(ω, δt)`; `None` when a point is at or behind the
/// camera plane.
fn normal_equations(
    model: &[V3],
    seen: &[[f64; 2]],
    weights: &[f64],
    pose: &Fit,
) -> Option<([[f64; 6]; 6], [f64; 6])> {
    let (mut h, mut g) = ([[0.0; 6]; 6], [0.0; 6]);
    for ((p, m), &w) in model.iter().zip(seen).zip(weights) {
        let q = rotation::apply(&pose.rotation, *p);
        let c = [q[0] + pose.translation[0], q[1] + pose.translation[1], q[2] + pose.translation[2]];
        if c[2] <= 1e-9 {
            return None;
        }
        let (iz, u, v) = (1.0 / c[2], c[0] / c[2], c[1] / c[2]);
        // d(u, v)/dc, then dc/dω = −[q]× (left increment), dc/dδt = I.
        let du = [iz, 0.0, -u * iz];
        let dv = [0.0, iz, -v * iz];
        let row = |d: [f64; 3]| -> [f64; 6] {
            let rot = rotation::cross(q, d); // dᵀ(−[q]×) = (q × d)ᵀ
            [rot[0], rot[1], rot[2], d[0], d[1], d[2]]
        };
        let (ju, jv) = (row(du), row(dv));
        let (ru, rv) = (u - m[0], v - m[1]);
        for i in 0..6 {
            g[i] -= w * (ju[i] * ru + jv[i] * rv);
            for j in i..6 {
                h[i][j] += w * (ju[i] * ju[j] + jv[i] * jv[j]);
            }
        }
    }
    let upper = h;
    for (i, row) in h.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate().take(i) {
            *v = upper[j][i];
        }
    }
    Some((h, g))
}

/// Solves `a x = b` for a symmetric positive-definite 6×6 `a`; `None` if it is not.
fn cholesky_solve(a: &[[f64; 6]; 6], b: &[f64; 6]) -> Option<[f64; 6]> {
    let mut l = [[0.0; 6]; 6];
    for i in 0..6 {
        for j in 0..=i {
            let s = a[i][j] - (0..j).map(|k| l[i][k] * l[j][k]).sum::<f64>();
            if i == j {
                if s.is_nan() || s <= 0.0 {
                    return None;
                }
                l[i][i] = s.sqrt();
            } else {
                l[i][j] = s / l[j][j];
            }
        }
    }
    let mut y = [0.0; 6];
    for i in 0..6 {
        y[i] = (b[i] - (0..i).map(|k| l[i][k] * y[k]).sum::<f64>()) / l[i][i];
    }
    let mut x = [0.0; 6];
    for i in (0..6).rev() {
        x[i] = (y[i] - (i + 1..6).map(|k| l[k][i] * x[k]).sum::<f64>()) / l[i][i];
    }
    Some(x)
}
