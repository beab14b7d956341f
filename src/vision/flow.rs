//! Image keypoints tracked frame to frame: pyramidal Lucas–Kanade on grey levels.
//!
//! This is the liveness evidence the face model cannot invent: where image texture actually
//! moved, measured from pixels, not where the mesh's 3-D face prior says the landmarks are.
//! Each point is tracked coarse to fine over a small pyramid, and kept only when it is
//! trackable (the window's gradient matrix is well conditioned) and tracking it back from the
//! new frame lands where it started (forward–backward check).

use image::RgbImage;

/// A single-channel float image.
#[derive(Debug, Clone)]
struct Gray {
    w: usize,
    h: usize,
    px: Vec<f32>,
}

impl Gray {
    fn from_rgb(img: &RgbImage) -> Self {
        // Over the raw bytes in threes rather than `pixels()`, which the compiler does not
        // vectorise; the same sum in the same order.
        let px = img
            .as_raw()
            .chunks_exact(3)
            .map(|p| 0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2]))
            .collect();
        Self { w: img.width() as usize, h: img.height() as usize, px }
    }

    fn half(&self) -> Self {
        let (w, h) = (self.w / 2, self.h / 2);
        let mut px = Vec::with_capacity(w * h);
        // Row pairs and column pairs as slices, so the loop has no index arithmetic or bounds
        // checks and vectorises; the same sums in the same order.
        for rows in self.px.chunks_exact(2 * self.w).take(h) {
            let (top, bot) = rows.split_at(self.w);
            px.extend(
                top.chunks_exact(2)
                    .zip(bot.chunks_exact(2))
                    .take(w)
                    .map(|(t, b)| (t[0] + t[1] + b[0] + b[1]) / 4.0),
            );
        }
        Self { w, h, px }
    }

    /// Bilinear sample at pixel-index coordinates (clamped to the border).
    fn at(&self, x: f32, y: f32) -> f32 {
        let x = x.clamp(0.0, (self.w - 1) as f32);
        let y = y.clamp(0.0, (self.h - 1) as f32);
        // Both are ≥ 0 (or NaN, which casts to 0 either way): truncation is floor, without
        // the libm call `floor` costs on the x86-64 baseline.
        let (x0, y0) = (x as usize, y as usize);
        let (x1, y1) = ((x0 + 1).min(self.w - 1), (y0 + 1).min(self.h - 1));
        let (fx, fy) = (x - x0 as f32, y - y0 as f32);
        let row = |yy: usize| self.px[yy * self.w + x0] * (1.0 - fx) + self.px[yy * self.w + x1] * fx;
        row(y0) * (1.0 - fy) + row(y1) * fy
    }

    /// The `(2r+1)²` bilinear samples at `p + (i, j)`, `i, j ∈ -r..=r`, row by row, into
    /// `out`: one pair of weights for the whole window, no clamping. `false` (and `out` left
    /// alone) when the window or its interpolation neighbours leave the image, where [`Self::at`]
    /// must clamp sample by sample.
    fn window(&self, p: [f32; 2], r: i32, out: &mut Vec<f32>) -> bool {
        if !(p[0].is_finite() && p[1].is_finite()) {
            return false;
        }
        let (xf, yf) = (p[0].floor(), p[1].floor());
        let (fx, fy) = (p[0] - xf, p[1] - yf);
        let n = (2 * r + 1) as i64;
        let (x0, y0) = (xf as i64 - i64::from(r), yf as i64 - i64::from(r));
        if x0 < 0 || y0 < 0 || x0 + n >= self.w as i64 || y0 + n >= self.h as i64 {
            return false;
        }
        let (n, x0, y0) = (n as usize, x0 as usize, y0 as usize);
        out.clear();
        for j in 0..n {
            let top = &self.px[(y0 + j) * self.w + x0..][..n + 1];
            let bot = &self.px[(y0 + j + 1) * self.w + x0..][..n + 1];
            for i in 0..n {
                let t = top[i] * (1.0 - fx) + top[i + 1] * fx;
                let b = bot[i] * (1.0 - fx) + bot[i + 1] * fx;
                out.push(t * (1.0 - fy) + b * fy);
            }
        }
        true
    }
}

/// A frame prepared for tracking: its grey-level pyramid.
#[derive(Debug, Clone)]
pub struct Pyramid {
    levels: Vec<Gray>,
}

/// Lucas–Kanade settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlowParams {
    /// Half-size of the square window (a 7 means 15×15).
    pub half_window: i32,
    /// Pyramid levels (3 follows motions of ~30 px per frame at 640×480).
    pub levels: usize,
    pub iterations: usize,
    /// Minimum eigenvalue of the window's gradient matrix, per window pixel (grey² units).
    pub min_eigen: f32,
    /// Maximum forward–backward disagreement, pixels.
    pub max_fb_error: f32,
}

impl Default for FlowParams {
    fn default() -> Self {
        Self { half_window: 7, levels: 3, iterations: 12, min_eigen: 4.0, max_fb_error: 1.0 }
    }
}

impl Pyramid {
    /// Builds the pyramid of a frame.
    pub fn new(img: &RgbImage, levels: usize) -> Self {
        let mut out = vec![Gray::from_rgb(img)];
        while out.len() < levels.max(1) {
            let last = out.last().expect("non-empty");
            if last.w < 32 || last.h < 32 {
                break;
            }
            out.push(last.half());
        }
        Self { levels: out }
    }
}

/// Tracks one point from `a` to `b` at one level, starting from displacement `guess`.
fn refine(a: &Gray, b: &Gray, p: [f32; 2], guess: [f32; 2], prm: &FlowParams) -> Option<[f32; 2]> {
    let r = prm.half_window;
    let n = ((2 * r + 1) * (2 * r + 1)) as f32;
    let (mut gxx, mut gxy, mut gyy) = (0.0f32, 0.0f32, 0.0f32);
    let mut grads = Vec::with_capacity(n as usize);
    // Inside the image the window is sampled once (one bilinear weight pair for all of it) and
    // the central differences read from it; at the border every sample is clamped on its own.
    let mut win = Vec::new();
    let padded = a.window(p, r + 1, &mut win);
    let m = (2 * r + 3) as usize;
    for j in -r..=r {
        for i in -r..=r {
            let (x, y) = (p[0] + i as f32, p[1] + j as f32);
            let (ix, iy, va) = if padded {
                let c = (j + r + 1) as usize * m + (i + r + 1) as usize;
                ((win[c + 1] - win[c - 1]) / 2.0, (win[c + m] - win[c - m]) / 2.0, win[c])
            } else {
                let ix = (a.at(x + 1.0, y) - a.at(x - 1.0, y)) / 2.0;
                let iy = (a.at(x, y + 1.0) - a.at(x, y - 1.0)) / 2.0;
                (ix, iy, a.at(x, y))
            };
            gxx += ix * ix;
            gxy += ix * iy;
            gyy += iy * iy;
            grads.push((x, y, ix, iy, va));
        }
    }
    let det = gxx * gyy - gxy * gxy;
    let min_eig = ((gxx + gyy) - ((gxx - gyy).powi(2) + 4.0 * gxy * gxy).sqrt()) / 2.0;
    if min_eig / n < prm.min_eigen || det.abs() < f32::EPSILON {
        return None;
    }
    let mut d = guess;
    for _ in 0..prm.iterations {
        let (mut bx, mut by) = (0.0f32, 0.0f32);
        if b.window([p[0] + d[0], p[1] + d[1]], r, &mut win) {
            for (&(_, _, ix, iy, va), &vb) in grads.iter().zip(&win) {
                let diff = va - vb;
                bx += diff * ix;
                by += diff * iy;
            }
        } else {
            for &(x, y, ix, iy, va) in &grads {
                let diff = va - b.at(x + d[0], y + d[1]);
                bx += diff * ix;
                by += diff * iy;
            }
        }
        let step = [(gyy * bx - gxy * by) / det, (gxx * by - gxy * bx) / det];
        d = [d[0] + step[0], d[1] + step[1]];
        if step[0].hypot(step[1]) < 0.01 {
            break;
        }
    }
    Some(d)
}

/// Coarse-to-fine displacement of `p` from `a` to `b`.
fn track_one(a: &Pyramid, b: &Pyramid, p: [f32; 2], prm: &FlowParams) -> Option<[f32; 2]> {
    let top = a.levels.len().min(b.levels.len());
    let mut d = [0.0f32; 2];
    for level in (0..top).rev() {
        let k = 0.5f32.powi(level as i32);
        // Pixel-index coordinates at this level (centres at i + 0.5 in the full frame).
        let pl = [(p[0] - 0.5) * k - 0.5 * (1.0 - k), (p[1] - 0.5) * k - 0.5 * (1.0 - k)];
        let pl = [pl[0].max(0.0), pl[1].max(0.0)];
        d = refine(&a.levels[level], &b.levels[level], pl, d, prm)?;
        if level > 0 {
            d = [d[0] * 2.0, d[1] * 2.0];
        }
    }
    let q = [p[0] + d[0], p[1] + d[1]];
    let inside = |v: [f32; 2], g: &Gray| v[0] >= 0.0 && v[1] >= 0.0 && v[0] < g.w as f32 && v[1] < g.h as f32;
    inside(q, &b.levels[0]).then_some(q)
}

/// Tracks every point from frame `a` to frame `b`; `None` for points lost (untrackable,
/// outside the frame, or failing the forward–backward check).
pub fn track(a: &Pyramid, b: &Pyramid, points: &[[f32; 2]], prm: &FlowParams) -> Vec<Option<[f32; 2]>> {
    points
        .iter()
        .map(|&p| {
            let q = track_one(a, b, p, prm)?;
            let back = track_one(b, a, q, prm)?;
            ((back[0] - p[0]).hypot(back[1] - p[1]) <= prm.max_fb_error).then_some(q)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Smooth texture with structure in both directions.
    fn texture(dx: f32, dy: f32) -> RgbImage {
        RgbImage::from_fn(160, 120, |x, y| {
            let (u, v) = (x as f32 - dx, y as f32 - dy);
            let g = 128.0 + 50.0 * (u * 0.21).sin() * (v * 0.17).cos() + 40.0 * ((u + v) * 0.09).sin();
            image::Rgb([g as u8; 3])
        })
    }

    #[test]
    fn a_shifted_texture_is_tracked_to_subpixel_accuracy() {
        let prm = FlowParams::default();
        let (a, b) = (Pyramid::new(&texture(0.0, 0.0), 3), Pyramid::new(&texture(6.4, -3.3), 3));
        let pts = [[60.0, 50.0], [90.0, 70.0], [40.5, 80.25]];
        for (p, q) in pts.iter().zip(track(&a, &b, &pts, &prm)) {
            let q = q.expect("tracked");
            assert!((q[0] - p[0] - 6.4).abs() < 0.3 && (q[1] - p[1] + 3.3).abs() < 0.3, "{p:?} → {q:?}");
        }
    }

    #[test]
    fn a_large_motion_is_followed_through_the_pyramid() {
        let prm = FlowParams::default();
        let (a, b) = (Pyramid::new(&texture(0.0, 0.0), 3), Pyramid::new(&texture(17.0, 9.0), 3));
        let q = track(&a, &b, &[[70.0, 55.0]], &prm)[0].expect("tracked");
        assert!((q[0] - 87.0).abs() < 0.5 && (q[1] - 64.0).abs() < 0.5, "{q:?}");
    }

    #[test]
    fn halving_averages_each_two_by_two_block() {
        let g = Gray { w: 5, h: 3, px: (0..15).map(|v| (v * v) as f32).collect() };
        let half = g.half();
        assert_eq!((half.w, half.h), (2, 1));
        let at = |x: usize, y: usize| g.px[y * 5 + x];
        for x in 0..2 {
            let want = (at(2 * x, 0) + at(2 * x + 1, 0) + at(2 * x, 1) + at(2 * x + 1, 1)) / 4.0;
            assert_eq!(half.px[x], want);
        }
    }

    #[test]
    fn a_flat_region_is_not_trackable() {
        let flat = RgbImage::from_pixel(100, 100, image::Rgb([90, 90, 90]));
        let (a, b) = (Pyramid::new(&flat, 3), Pyramid::new(&flat, 3));
        assert_eq!(track(&a, &b, &[[50.0, 50.0]], &FlowParams::default()), vec![None]);
    }

    #[test]
    fn the_window_fast_path_samples_what_clamped_sampling_does() {
        let g = Pyramid::new(&texture(0.0, 0.0), 1).levels.swap_remove(0);
        let mut win = Vec::new();
        for p in [[20.3f32, 30.7], [50.0, 50.0], [8.01, 8.99], [150.49, 110.5]] {
            assert!(g.window(p, 7, &mut win), "{p:?} is inside");
            for (k, v) in win.iter().enumerate() {
                let (i, j) = ((k % 15) as f32 - 7.0, (k / 15) as f32 - 7.0);
                assert!((v - g.at(p[0] + i, p[1] + j)).abs() < 1e-3, "{p:?} + ({i}, {j})");
            }
        }
        for p in [[6.5f32, 50.0], [50.0, 112.2], [f32::NAN, 3.0], [-1.0, 40.0]] {
            assert!(!g.window(p, 7, &mut win), "{p:?} needs clamping");
        }
    }

    #[test]
    fn a_point_near_the_border_is_still_tracked() {
        let prm = FlowParams::default();
        let (a, b) = (Pyramid::new(&texture(0.0, 0.0), 3), Pyramid::new(&texture(2.0, 1.0), 3));
        let q = track(&a, &b, &[[4.0, 60.0]], &prm)[0].expect("tracked");
        assert!((q[0] - 6.0).abs() < 0.3 && (q[1] - 61.0).abs() < 0.3, "{q:?}");
    }
}
