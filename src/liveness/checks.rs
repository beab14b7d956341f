//! The measurements behind a `pass` (SPEC §2), each a pure function returning its value.

use crate::vision::Rect;

/// The seed's landmark-layout change: each point set normalised to its own bounding range,
/// binned 3×3, counts divided by the number of points; the L2 distance between the two
/// 9-vectors. Translation and scale of the whole set change nothing; a 3-D turn
/// redistributes the points between bins.
pub fn layout_change(start: &[[f32; 2]], end: &[[f32; 2]]) -> f32 {
    let (a, b) = (histogram3x3(start), histogram3x3(end));
    a.iter().zip(&b).map(|(x, y)| (x - y) * (x - y)).sum::<f32>().sqrt()
}

fn histogram3x3(points: &[[f32; 2]]) -> [f32; 9] {
    let mut h = [0.0f32; 9];
    if points.is_empty() {
        return h;
    }
    let bounds = bounds(points);
    let bin = |v: f32, lo: f32, span: f32| {
        if span <= 0.0 { 0 } else { (((v - lo) / span * 3.0) as usize).min(2) }
    };
    for p in points {
        let i = bin(p[0], bounds.x, bounds.w);
        let j = bin(p[1], bounds.y, bounds.h);
        h[j * 3 + i] += 1.0;
    }
    let n = points.len() as f32;
    h.map(|c| c / n)
}

fn bounds(points: &[[f32; 2]]) -> Rect {
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for p in points {
        x0 = x0.min(p[0]);
        y0 = y0.min(p[1]);
        x1 = x1.max(p[0]);
        y1 = y1.max(p[1]);
    }
    Rect { x: x0, y: y0, w: x1 - x0, h: y1 - y0 }
}

/// RMS residual of a least-squares quadratic fit of the nose path against time, x and y
/// separately (coordinates already normalised to the frame). A smooth movement, straight or
/// curved, fits closely; a face that jumps between frames does not. `None` with fewer than
/// four points (a quadratic through three points always fits exactly).
pub fn path_rms(path: &[(f32, [f32; 2])]) -> Option<f32> {
    if path.len() < 4 {
        return None;
    }
    let t0 = path[0].0;
    let span = (path[path.len() - 1].0 - t0).max(1e-6);
    let ts: Vec<f64> = path.iter().map(|(t, _)| f64::from((t - t0) / span)).collect();
    let mut sq = 0.0f64;
    for axis in 0..2 {
        let vs: Vec<f64> = path.iter().map(|(_, p)| f64::from(p[axis])).collect();
        let coef = quadratic_fit(&ts, &vs)?;
        sq += ts
            .iter()
            .zip(&vs)
            .map(|(t, v)| {
                let r = v - (coef[0] + coef[1] * t + coef[2] * t * t);
                r * r
            })
            .sum::<f64>();
    }
    Some((sq / path.len() as f64).sqrt() as f32)
}

/// Least-squares `c0 + c1·t + c2·t²` through the points (normal equations, Cramer's rule).
fn quadratic_fit(ts: &[f64], vs: &[f64]) -> Option<[f64; 3]> {
    let mut s = [0.0f64; 5];
    let mut r = [0.0f64; 3];
    for (&t, &v) in ts.iter().zip(vs) {
        let mut p = 1.0;
        for (k, sk) in s.iter_mut().enumerate() {
            *sk += p;
            if k < 3 {
                r[k] += p * v;
            }
            p *= t;
        }
    }
    let m = [[s[0], s[1], s[2]], [s[1], s[2], s[3]], [s[2], s[3], s[4]]];
    let det = det3(&m);
    if det.abs() < 1e-12 {
        return None;
    }
    Some(std::array::from_fn(|col| {
        let mut mc = m;
        for (row, rv) in r.iter().enumerate() {
            mc[row][col] = *rv;
        }
        det3(&mc) / det
    }))
}

fn det3(m: &[[f64; 3]; 3]) -> f64 {
    m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> Vec<[f32; 2]> {
        (0..6).flat_map(|y| (0..6).map(move |x| [x as f32 * 10.0, y as f32 * 12.0])).collect()
    }

    #[test]
    fn moving_and_scaling_the_layout_is_no_change() {
        let a = grid();
        let b: Vec<_> = a.iter().map(|p| [p[0] * 1.7 + 40.0, p[1] * 1.7 - 13.0]).collect();
        assert!(layout_change(&a, &b) < 1e-6);
    }

    #[test]
    fn squeezing_one_side_of_the_layout_is_a_change() {
        let a = grid();
        // Points on the right half crowd toward the right edge, as when a head turns.
        let b: Vec<_> =
            a.iter().map(|p| [if p[0] > 25.0 { 40.0 + (p[0] - 25.0) * 0.3 } else { p[0] }, p[1]]).collect();
        assert!(layout_change(&a, &b) > 0.1, "{}", layout_change(&a, &b));
    }

    #[test]
    fn a_smooth_curved_path_fits_a_quadratic() {
        let path: Vec<_> = (0..20)
            .map(|i| {
                let t = i as f32 * 66.0;
                let s = i as f32 / 19.0;
                (t, [0.5 + 0.12 * s, 0.5 - 0.05 * s + 0.04 * s * s])
            })
            .collect();
        assert!(path_rms(&path).unwrap() < 1e-4);
    }

    #[test]
    fn a_jerky_path_fails_the_fit() {
        let path: Vec<_> = (0..20)
            .map(|i| {
                let jump = if i % 2 == 0 { 0.0 } else { 0.06 };
                (i as f32 * 66.0, [0.5 + 0.005 * i as f32 + jump, 0.5])
            })
            .collect();
        assert!(path_rms(&path).unwrap() > 0.02);
    }

    #[test]
    fn fewer_than_four_points_cannot_be_judged() {
        assert_eq!(path_rms(&[(0.0, [0.0, 0.0]), (1.0, [1.0, 1.0]), (2.0, [0.0, 3.0])]), None);
    }
}
