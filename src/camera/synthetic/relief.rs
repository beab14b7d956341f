//! A smooth surface through scattered depth samples: the thin-plate spline that passes
//! exactly through the face template's points.
//!
//! The head's relief is known only at the template's 63 points. Nearest-neighbour blends of
//! so few points jump where the set of neighbours changes, and the renderer shows those
//! jumps as cracks; a thin-plate spline is smooth (the surface of least bending energy) and
//! exact at the points, so a perfect landmark model would find them at the template's depth.

/// `z(x, y) = a0 + a1·x + a2·y + Σ wᵢ·U(|p − pᵢ|)` with `U(r) = r²·ln r`.
#[derive(Debug, Clone)]
pub struct ThinPlate {
    points: Vec<[f64; 2]>,
    weights: Vec<f64>,
    affine: [f64; 3],
}

fn kernel(r2: f64) -> f64 {
    if r2 <= 0.0 { 0.0 } else { 0.5 * r2 * r2.ln() }
}

impl ThinPlate {
    /// The spline through `samples` (`[x, y, z]`); `None` when they are degenerate (fewer
    /// than three, or all on a line).
    pub fn fit(samples: &[[f32; 3]]) -> Option<Self> {
        let n = samples.len();
        if n < 3 {
            return None;
        }
        let points: Vec<[f64; 2]> = samples.iter().map(|s| [f64::from(s[0]), f64::from(s[1])]).collect();
        // The (n + 3)² system [K P; Pᵀ 0]·[w; a] = [z; 0].
        let m = n + 3;
        let mut a = vec![vec![0.0f64; m + 1]; m];
        for i in 0..n {
            for j in 0..n {
                let (dx, dy) = (points[i][0] - points[j][0], points[i][1] - points[j][1]);
                a[i][j] = kernel(dx * dx + dy * dy);
            }
            let p = [1.0, points[i][0], points[i][1]];
            for k in 0..3 {
                a[i][n + k] = p[k];
                a[n + k][i] = p[k];
            }
            a[i][m] = f64::from(samples[i][2]);
        }
        let x = solve(a)?;
        Some(Self { points, weights: x[..n].to_vec(), affine: [x[n], x[n + 1], x[n + 2]] })
    }

    /// The surface's height at `(x, y)`.
    pub fn at(&self, x: f32, y: f32) -> f32 {
        let (x, y) = (f64::from(x), f64::from(y));
        let bent: f64 = self
            .points
            .iter()
            .zip(&self.weights)
            .map(|(p, w)| w * kernel((x - p[0]).powi(2) + (y - p[1]).powi(2)))
            .sum();
        (self.affine[0] + self.affine[1] * x + self.affine[2] * y + bent) as f32
    }
}

/// Gauss–Jordan elimination with partial pivoting of an augmented `m × (m + 1)` system.
fn solve(mut a: Vec<Vec<f64>>) -> Option<Vec<f64>> {
    let m = a.len();
    for col in 0..m {
        let pivot = (col..m).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        let row = a[col].clone();
        for (r, line) in a.iter_mut().enumerate() {
            if r != col && line[col] != 0.0 {
                let f = line[col] / row[col];
                for (v, p) in line.iter_mut().zip(&row).skip(col) {
                    *v -= f * p;
                }
            }
        }
    }
    Some((0..m).map(|i| a[i][m] / a[i][i]).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bump() -> Vec<[f32; 3]> {
        (0..25)
            .map(|i| {
                let (x, y) = ((i % 5) as f32 * 10.0, (i / 5) as f32 * 10.0);
                [x, y, -((x - 20.0).powi(2) + (y - 20.0).powi(2)).sqrt()]
            })
            .collect()
    }

    #[test]
    fn the_spline_passes_through_its_samples() {
        let samples = bump();
        let tps = ThinPlate::fit(&samples).unwrap();
        for s in &samples {
            assert!((tps.at(s[0], s[1]) - s[2]).abs() < 1e-3, "{s:?}: {}", tps.at(s[0], s[1]));
        }
    }

    #[test]
    fn the_spline_is_smooth_between_samples() {
        let tps = ThinPlate::fit(&bump()).unwrap();
        // No jumps: neighbouring points a tenth of a unit apart differ by a tenth at most
        // (the bump's slope is 1).
        let mut last = tps.at(0.0, 13.0);
        for i in 1..400 {
            let v = tps.at(i as f32 * 0.1, 13.0);
            assert!((v - last).abs() < 0.15, "at x = {}: {last} → {v}", i as f32 * 0.1);
            last = v;
        }
    }

    #[test]
    fn a_plane_is_reproduced_exactly() {
        let plane: Vec<[f32; 3]> = (0..9)
            .map(|i| {
                let (x, y) = ((i % 3) as f32, (i / 3) as f32);
                [x, y, 2.0 + 0.5 * x - y]
            })
            .collect();
        let tps = ThinPlate::fit(&plane).unwrap();
        assert!((tps.at(0.5, 1.5) - (2.0 + 0.25 - 1.5)).abs() < 1e-4);
    }

    #[test]
    fn collinear_samples_have_no_spline() {
        assert!(ThinPlate::fit(&[[0.0, 0.0, 1.0], [1.0, 1.0, 2.0], [2.0, 2.0, 3.0]]).is_none());
    }
}
