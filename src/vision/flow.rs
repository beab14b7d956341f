//! Image keypoints tracked frame to frame: pyramidal Lucas–Kanade on grey levels.
//!
//! This is the liveness evidence the face model cannot invent: where image texture actually
//! moved, measured from pixels, not where the mesh's 3-D face prior says the landmarks are.
//! Each point is tracked coarse to fine over a small pyramid, and kept only when it is
//! trackable (the window's gradient matrix is well conditioned) and tracking it back from the
//! new frame lands where it started (forward–backward check).
//!
//! The points all sit on the face, so a frame's pyramid need not cover the whole frame: built
//! over an [`Area`] (the points' bounding box plus [`FlowParams::reach`], see [`area_around`])
//! it holds, at every level, exactly the values the whole-frame pyramid has there, and every
//! read tracking makes inside it gives the same result. A point whose search reads outside
//! the area (it moved further than the reach allows) is lost, as an untrackable one is.

use image::RgbImage;

use super::warp::floor;

/// One level of a frame's grey-level pyramid, held over a window of it.
#[derive(Debug, Clone, Default)]
struct Gray {
    /// Size of the whole level.
    w: usize,
    h: usize,
    /// The window held: columns `x0..x0 + rw`, rows `y0..y0 + rh` of the level.
    x0: usize,
    y0: usize,
    rw: usize,
    rh: usize,
    px: Vec<f32>,
}

/// How a window of samples can be read from a [`Gray`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Read {
    /// Inside the level and inside the window held: one weight pair for all of it.
    Inside,
    /// It crosses the level's border (or the point is not finite): sample by sample, clamped.
    Clamp,
    /// Inside the level but not inside the window held.
    Miss,
}

impl Gray {
    /// The grey levels of `img` over columns `x0..x1`, rows `y0..y1` (within the image).
    fn fill_from_rgb(&mut self, img: &RgbImage, (x0, y0, x1, y1): (usize, usize, usize, usize)) {
        (self.w, self.h) = (img.width() as usize, img.height() as usize);
        (self.x0, self.y0, self.rw, self.rh) = (x0, y0, x1 - x0, y1 - y0);
        self.px.resize(self.rw * self.rh, 0.0);
        if self.rw == 0 {
            return;
        }
        let stride = self.w * 3;
        for (y, out) in (y0..y1).zip(self.px.chunks_exact_mut(self.rw)) {
            let src = &img.as_raw()[y * stride + x0 * 3..][..self.rw * 3];
            // Over the raw bytes in threes rather than `pixels()`, which the compiler does not
            // vectorise.
            for (o, p) in out.iter_mut().zip(src.chunks_exact(3)) {
                *o = 0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2]);
            }
        }
    }

    /// The next level down into `out`: each pixel the mean of a 2×2 block, over the part of
    /// the window held whose blocks are complete (the window starts on even coordinates).
    fn half_into(&self, out: &mut Self) {
        debug_assert!(self.x0.is_multiple_of(2) && self.y0.is_multiple_of(2), "window not aligned");
        (out.w, out.h, out.x0, out.y0) = (self.w / 2, self.h / 2, self.x0 / 2, self.y0 / 2);
        out.rw = ((self.x0 + self.rw) / 2).min(out.w) - out.x0;
        out.rh = ((self.y0 + self.rh) / 2).min(out.h) - out.y0;
        out.px.resize(out.rw * out.rh, 0.0);
        if out.rw == 0 || out.rh == 0 {
            return;
        }
        // Row pairs and column pairs as slices, so the loop has no index arithmetic or bounds
        // checks and vectorises.
        for (rows, o) in self.px.chunks_exact(2 * self.rw).zip(out.px.chunks_exact_mut(out.rw)) {
            let (top, bot) = rows.split_at(self.rw);
            for ((t, b), o) in top.chunks_exact(2).zip(bot.chunks_exact(2)).zip(o.iter_mut()) {
                *o = (t[0] + t[1] + b[0] + b[1]) / 4.0;
            }
        }
    }

    /// Bilinear sample at pixel-index coordinates (clamped to the border of the level);
    /// `None` when it needs pixels outside the window held.
    fn at(&self, x: f32, y: f32) -> Option<f32> {
        let x = x.clamp(0.0, (self.w - 1) as f32);
        let y = y.clamp(0.0, (self.h - 1) as f32);
        // Both are ≥ 0 (or NaN, which casts to 0 either way): truncation is floor, without
        // the libm call `floor` costs on the x86-64 baseline.
        let (x0, y0) = (x as usize, y as usize);
        let (x1, y1) = ((x0 + 1).min(self.w - 1), (y0 + 1).min(self.h - 1));
        if x0 < self.x0 || y0 < self.y0 || x1 >= self.x0 + self.rw || y1 >= self.y0 + self.rh {
            return None;
        }
        let (fx, fy) = (x - x0 as f32, y - y0 as f32);
        let (c0, c1) = (x0 - self.x0, x1 - self.x0);
        let row = |yy: usize| {
            let r = &self.px[(yy - self.y0) * self.rw..][..self.rw];
            r[c0] * (1.0 - fx) + r[c1] * fx
        };
        Some(row(y0) * (1.0 - fy) + row(y1) * fy)
    }

    /// Whether every point of the box `lo..=hi` (pixel-index coordinates) is read by
    /// [`Self::sample`] as [`Self::at`] reads it: inside the window held, away from the level's
    /// last row and column (so nothing is clamped). False for a non-finite box.
    fn holds(&self, lo: [f32; 2], hi: [f32; 2]) -> bool {
        let (x1, y1) = ((self.x0 + self.rw) as f32 - 1.0, (self.y0 + self.rh) as f32 - 1.0);
        lo[0] >= self.x0 as f32 && lo[1] >= self.y0 as f32 && hi[0] < x1 && hi[1] < y1
    }

    /// [`Self::at`] at a point [`Self::holds`] holds, without its clamping and checks: the
    /// same value.
    fn sample(&self, x: f32, y: f32) -> f32 {
        let (xi, yi) = (x as usize, y as usize);
        let (fx, fy) = (x - xi as f32, y - yi as f32);
        let at = (yi - self.y0) * self.rw + xi - self.x0;
        let (top, bot) = (&self.px[at..][..2], &self.px[at + self.rw..][..2]);
        (top[0] * (1.0 - fx) + top[1] * fx) * (1.0 - fy) + (bot[0] * (1.0 - fx) + bot[1] * fx) * fy
    }

    /// The `(2r+1)²` bilinear samples at `p + (i, j)`, `i, j ∈ -r..=r`, row by row, into
    /// `out`: one pair of weights for the whole window, no clamping, each source row
    /// interpolated once (in `rows`) for the two output rows that use it. Anything but
    /// [`Read::Inside`] leaves `out` alone: at the border [`Self::at`] must clamp sample by
    /// sample.
    fn window(&self, p: [f32; 2], r: i32, out: &mut Vec<f32>, rows: &mut Vec<f32>) -> Read {
        if !(p[0].is_finite() && p[1].is_finite()) {
            return Read::Clamp;
        }
        let (xf, yf) = (floor(p[0]), floor(p[1]));
        let (fx, fy) = (p[0] - xf, p[1] - yf);
        let n = (2 * r + 1) as i64;
        let (x0, y0) = (xf as i64 - i64::from(r), yf as i64 - i64::from(r));
        if x0 < 0 || y0 < 0 || x0 + n >= self.w as i64 || y0 + n >= self.h as i64 {
            return Read::Clamp;
        }
        let (wx0, wy0) = (self.x0 as i64, self.y0 as i64);
        if x0 < wx0 || y0 < wy0 || x0 + n >= wx0 + self.rw as i64 || y0 + n >= wy0 + self.rh as i64 {
            return Read::Miss;
        }
        let (n, x0, y0) = (n as usize, (x0 - wx0) as usize, (y0 - wy0) as usize);
        rows.resize((n + 1) * n, 0.0);
        for (j, row) in rows.chunks_exact_mut(n).enumerate() {
            let src = &self.px[(y0 + j) * self.rw + x0..][..n + 1];
            for ((o, &a), &b) in row.iter_mut().zip(&src[..n]).zip(&src[1..]) {
                *o = a * (1.0 - fx) + b * fx;
            }
        }
        out.resize(n * n, 0.0);
        for (j, o) in out.chunks_exact_mut(n).enumerate() {
            let (t, b) = (&rows[j * n..][..n], &rows[(j + 1) * n..][..n]);
            for ((o, &t), &b) in o.iter_mut().zip(t).zip(b) {
                *o = t * (1.0 - fy) + b * fy;
            }
        }
        Read::Inside
    }
}

/// A rectangle of frame pixels: columns `x0..x1`, rows `y0..y1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Area {
    pub x0: u32,
    pub y0: u32,
    pub x1: u32,
    pub y1: u32,
}

/// The bounding box of the finite `points`, widened by `margin` pixels on every side (not
/// clipped to any frame; [`Pyramid::build`] does that). Empty when no point is finite.
pub fn area_around(points: &[[f32; 2]], margin: f32) -> Area {
    let finite = points.iter().filter(|p| p[0].is_finite() && p[1].is_finite());
    let (mut lo, mut hi) = ([f32::INFINITY; 2], [f32::NEG_INFINITY; 2]);
    for p in finite {
        for k in 0..2 {
            lo[k] = lo[k].min(p[k]);
            hi[k] = hi[k].max(p[k]);
        }
    }
    if lo[0] > hi[0] {
        return Area { x0: 0, y0: 0, x1: 0, y1: 0 };
    }
    // `as u32` saturates: below 0 is 0.
    let (x0, y0) = ((lo[0] - margin).floor() as u32, (lo[1] - margin).floor() as u32);
    let (x1, y1) = ((hi[0] + margin).ceil() as u32, (hi[1] + margin).ceil() as u32);
    Area { x0, y0, x1: x1.max(x0), y1: y1.max(y0) }
}

/// A frame prepared for tracking: its grey-level pyramid, over the whole frame or over an
/// [`Area`] of it. Its buffers are kept when it is rebuilt for the next frame.
#[derive(Debug, Clone, Default)]
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
    /// How far (pixels) aligning a point with its first view may move it from its chained
    /// position ([`align_through_plane`]); 0 turns the correction off.
    pub max_correction: f32,
    /// How far (frame pixels) around the bounding box of the points it is built for a frame's
    /// pyramid reaches ([`area_around`]). What tracking reads around a point is its window at
    /// the coarsest level (4 · (7 + 2) = 36 px at 3 levels) plus the motion, and a frame's
    /// pyramid serves two steps (as the target of one, the source of the next), so 96 px
    /// covers motions of ~30 px per frame per step, what the pyramid follows.
    pub reach: f32,
}

impl Default for FlowParams {
    fn default() -> Self {
        Self {
            half_window: 7,
            levels: 3,
            iterations: 12,
            min_eigen: 0.5,
            max_fb_error: 2.0,
            max_correction: 3.0,
            reach: 96.0,
        }
    }
}

impl Pyramid {
    /// Builds the pyramid of a whole frame.
    #[cfg(test)]
    pub fn new(img: &RgbImage, levels: usize) -> Self {
        let mut out = Self::default();
        out.build(img, levels, None);
        out
    }

    /// Rebuilds the pyramid for `img` in the buffers already held, over `area` (clipped to
    /// the frame, widened to whole blocks of the coarsest level) or the whole frame. Every
    /// value it holds equals the whole-frame pyramid's value at that place.
    pub fn build(&mut self, img: &RgbImage, levels: usize, area: Option<Area>) {
        let (w, h) = (img.width() as usize, img.height() as usize);
        // Halve while the level is at least 32 px (of the whole frame) on both sides.
        let mut count = 1;
        while count < levels.max(1) && w >> (count - 1) >= 32 && h >> (count - 1) >= 32 {
            count += 1;
        }
        let block = 1usize << (count - 1);
        let window = match area {
            None => (0, 0, w, h),
            Some(a) => {
                let down = |v: u32, max: usize| (v as usize).min(max) / block * block;
                let up = |v: u32, max: usize| (v as usize).div_ceil(block).saturating_mul(block).min(max);
                let (x0, y0) = (down(a.x0, w), down(a.y0, h));
                (x0, y0, up(a.x1, w).max(x0), up(a.y1, h).max(y0))
            }
        };
        self.levels.resize_with(count, Gray::default);
        self.levels[0].fill_from_rgb(img, window);
        for l in 1..count {
            let (done, next) = self.levels.split_at_mut(l);
            done[l - 1].half_into(&mut next[0]);
        }
    }
}

/// Buffers of one tracking call, reused from point to point and level to level.
#[derive(Debug, Default)]
struct Scratch {
    win: Vec<f32>,
    rows: Vec<f32>,
    ix: Vec<f32>,
    iy: Vec<f32>,
    va: Vec<f32>,
    /// Where the plane puts each template sample ([`align_one`]).
    warped: Vec<[f32; 2]>,
}

/// Tracks one point from `a` to `b` at one level, starting from displacement `guess`.
fn refine(
    a: &Gray,
    b: &Gray,
    p: [f32; 2],
    guess: [f32; 2],
    prm: &FlowParams,
    s: &mut Scratch,
) -> Option<[f32; 2]> {
    let r = prm.half_window;
    let Scratch { win, rows, ix: gx, iy: gy, va: vals, .. } = s;
    gx.clear();
    gy.clear();
    vals.clear();
    // Inside the image the window is sampled once (one bilinear weight pair for all of it) and
    // the central differences read from it; at the border every sample is clamped on its own.
    match a.window(p, r + 1, win, rows) {
        Read::Inside => central_differences(win, (2 * r + 3) as usize, (gx, gy, vals)),
        Read::Clamp => {
            for j in -r..=r {
                for i in -r..=r {
                    let (x, y) = (p[0] + i as f32, p[1] + j as f32);
                    gx.push((a.at(x + 1.0, y)? - a.at(x - 1.0, y)?) / 2.0);
                    gy.push((a.at(x, y + 1.0)? - a.at(x, y - 1.0)?) / 2.0);
                    vals.push(a.at(x, y)?);
                }
            }
        }
        Read::Miss => return None,
    }
    let tensor = Tensor::of(gx, gy, prm)?;
    // Gain and bias: the template's mean and contrast, matched in each candidate window, so an
    // auto-exposure or white-balance step between two frames (or a flicker of light) does not
    // read as motion and does not make a point lose its track.
    // Windows clamped at the frame's border repeat its edge, which would bias their contrast:
    // those are compared as they are.
    let (mean_a, dev_a) = mean_dev(vals);
    let mut d = guess;
    for _ in 0..prm.iterations {
        let read = b.window([p[0] + d[0], p[1] + d[1]], r, win, rows);
        match read {
            Read::Inside => {}
            Read::Clamp => {
                win.clear();
                for j in -r..=r {
                    for i in -r..=r {
                        win.push(b.at(p[0] + i as f32 + d[0], p[1] + j as f32 + d[1])?);
                    }
                }
            }
            Read::Miss => return None,
        }
        let (mean_b, dev_b) = mean_dev(win);
        let (mean_a, mean_b, gain) = match read {
            Read::Inside if dev_b > 1e-3 => (mean_a, mean_b, dev_a / dev_b),
            _ => (0.0, 0.0, 1.0),
        };
        let step = tensor.step(gx, gy, (vals, mean_a), (win, mean_b), gain);
        d = [d[0] + step[0], d[1] + step[1]];
        if step[0].hypot(step[1]) < 0.01 {
            break;
        }
    }
    Some(d)
}

/// A template window's structure tensor (sums of gradient products over the window).
#[derive(Debug, Clone, Copy)]
struct Tensor {
    gxx: f32,
    gxy: f32,
    gyy: f32,
    det: f32,
}

impl Tensor {
    /// The tensor of the gradients `gx`, `gy` (summed in window order); `None` when the window
    /// is too little textured to track (smallest eigenvalue per pixel under `prm.min_eigen`).
    fn of(gx: &[f32], gy: &[f32], prm: &FlowParams) -> Option<Self> {
        let [gxx, gxy, gyy] = lane_sums([gx, gy], |[ix, iy]| [ix * ix, ix * iy, iy * iy]);
        let det = gxx * gyy - gxy * gxy;
        let min_eig = ((gxx + gyy) - ((gxx - gyy).powi(2) + 4.0 * gxy * gxy).sqrt()) / 2.0;
        let n = gx.len().max(1) as f32;
        let untextured = min_eig / n < prm.min_eigen || det.abs() < f32::EPSILON;
        (!untextured).then_some(Self { gxx, gxy, gyy, det })
    }

    /// One Lucas–Kanade step: the displacement that best explains the difference between the
    /// template `(values, mean)` and the window `(values, mean)`, its contrast scaled by `gain`.
    fn step(&self, gx: &[f32], gy: &[f32], a: (&[f32], f32), b: (&[f32], f32), gain: f32) -> [f32; 2] {
        let [bx, by] = lane_sums([gx, gy, a.0, b.0], |[ix, iy, va, vb]| {
            let diff = (va - a.1) - (vb - b.1) * gain;
            [diff * ix, diff * iy]
        });
        let Self { gxx, gxy, gyy, det } = *self;
        [(gyy * bx - gxy * by) / det, (gxx * by - gxy * bx) / det]
    }
}

/// Mean and standard deviation of a window's samples.
fn mean_dev(v: &[f32]) -> (f32, f32) {
    let n = v.len().max(1) as f32;
    let [sum] = lane_sums([v], |[x]| [x]);
    let mean = sum / n;
    let [var] = lane_sums([v], |[x]| [(x - mean) * (x - mean)]);
    (mean, (var / n).sqrt())
}

/// Partial sums of a reduction: element `i` goes to lane `i % LANES`, and the lanes are added
/// in one fixed order at the end. The compiler keeps the lanes in vector registers (float
/// addition is not associative, so a single running sum stays serial), and every target, with
/// or without SIMD, rounds alike.
const LANES: usize = 8;

/// The `K` sums over `i` of `f([xs[0][i], …, xs[N - 1][i]])` (over the shortest slice), each
/// in [`LANES`] partial sums.
#[inline(always)]
fn lane_sums<const N: usize, const K: usize>(xs: [&[f32]; N], f: impl Fn([f32; N]) -> [f32; K]) -> [f32; K] {
    let len = xs.iter().map(|x| x.len()).min().unwrap_or(0);
    let whole = len / LANES;
    let blocks = xs.map(|x| x[..whole * LANES].as_chunks::<LANES>().0);
    let rest = xs.map(|x| &x[whole * LANES..len]);
    let mut acc = [[0.0f32; LANES]; K];
    // `i` indexes the `N` slices at once, which no one iterator does.
    #[allow(clippy::needless_range_loop)]
    for i in 0..whole {
        let b: [&[f32; LANES]; N] = std::array::from_fn(|j| &blocks[j][i]);
        for l in 0..LANES {
            let v = f(std::array::from_fn(|j| b[j][l]));
            for k in 0..K {
                acc[k][l] += v[k];
            }
        }
    }
    for l in 0..len - whole * LANES {
        let v = f(std::array::from_fn(|j| rest[j][l]));
        for k in 0..K {
            acc[k][l] += v[k];
        }
    }
    acc.map(|a| ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7])))
}

/// The central differences and values of the inner `(m − 2)²` samples of an `m × m` window,
/// row by row, into `gx`, `gy` and `vals`.
fn central_differences(win: &[f32], m: usize, (gx, gy, vals): (&mut Vec<f32>, &mut Vec<f32>, &mut Vec<f32>)) {
    let n = m - 2;
    for j in 1..m - 1 {
        let (up, row, down) = (&win[(j - 1) * m..][..m], &win[j * m..][..m], &win[(j + 1) * m..][..m]);
        gx.extend(row[2..].iter().zip(&row[..n]).map(|(r, l)| (r - l) / 2.0));
        gy.extend(down[1..=n].iter().zip(&up[1..=n]).map(|(d, u)| (d - u) / 2.0));
        vals.extend_from_slice(&row[1..=n]);
    }
}

/// Coarse-to-fine displacement of `p` from `a` to `b`.
fn track_one(a: &Pyramid, b: &Pyramid, p: [f32; 2], prm: &FlowParams, s: &mut Scratch) -> Option<[f32; 2]> {
    let top = a.levels.len().min(b.levels.len());
    let mut d = [0.0f32; 2];
    for level in (0..top).rev() {
        let k = 0.5f32.powi(level as i32);
        // Pixel-index coordinates at this level (centres at i + 0.5 in the full frame).
        let pl = [(p[0] - 0.5) * k - 0.5 * (1.0 - k), (p[1] - 0.5) * k - 0.5 * (1.0 - k)];
        let pl = [pl[0].max(0.0), pl[1].max(0.0)];
        d = refine(&a.levels[level], &b.levels[level], pl, d, prm, s)?;
        if level > 0 {
            d = [d[0] * 2.0, d[1] * 2.0];
        }
    }
    let q = [p[0] + d[0], p[1] + d[1]];
    let inside = |v: [f32; 2], g: &Gray| v[0] >= 0.0 && v[1] >= 0.0 && v[0] < g.w as f32 && v[1] < g.h as f32;
    inside(q, &b.levels[0]).then_some(q)
}

/// Tracks every point from frame `a` to frame `b`; `None` for points lost (untrackable,
/// outside the frame, failing the forward–backward check, or, with pyramids built over an
/// [`Area`], moved so far that the search left it).
pub fn track(a: &Pyramid, b: &Pyramid, points: &[[f32; 2]], prm: &FlowParams) -> Vec<Option<[f32; 2]>> {
    let mut s = Scratch::default();
    points
        .iter()
        .map(|&p| {
            let q = track_one(a, b, p, prm, &mut s)?;
            let back = track_one(b, a, q, prm, &mut s)?;
            ((back[0] - p[0]).hypot(back[1] - p[1]) <= prm.max_fb_error).then_some(q)
        })
        .collect()
}

/// Aligns each point's window of `origin` (at `from`, frame pixels) in `now` after warping
/// it by `plane` (origin → now, frame pixels): the alignment solves only for the translation
/// left once the plane's motion is taken out, starting at the chained position `chained`.
///
/// Frame-to-frame tracking follows large motions, but its small errors add up (drift), and a
/// translation-only window is pulled by the foreshortening of a tilted surface by an amount
/// that depends on its texture. Aligning every frame with the first view through the plane's
/// homography does neither: a point on the plane lands where the plane puts it, and a point in
/// front of it (the nose) is found where it really is. Where the alignment fails or ends more
/// than `prm.max_correction` pixels from the chained position, the chained position stands.
pub fn align_through_plane(
    origin: &Pyramid,
    now: &Pyramid,
    from: &[[f32; 2]],
    chained: &[Option<[f32; 2]>],
    plane: &dyn Fn([f32; 2]) -> [f32; 2],
    prm: &FlowParams,
) -> Vec<Option<[f32; 2]>> {
    let (Some(a), Some(b)) = (origin.levels.first(), now.levels.first()) else {
        return chained.to_vec();
    };
    let mut s = Scratch::default();
    from.iter()
        .zip(chained)
        .map(|(&p, &q)| {
            let q = q?;
            let aligned = align_one((a, b), p, q, plane, prm, &mut s)
                .filter(|r| (r[0] - q[0]).hypot(r[1] - q[1]) <= prm.max_correction);
            Some(aligned.unwrap_or(q))
        })
        .collect()
}

/// One point of [`align_through_plane`] at full resolution: where `p`'s window went.
fn align_one(
    (a, b): (&Gray, &Gray),
    p: [f32; 2],
    start: [f32; 2],
    plane: &dyn Fn([f32; 2]) -> [f32; 2],
    prm: &FlowParams,
    s: &mut Scratch,
) -> Option<[f32; 2]> {
    let r = prm.half_window;
    let Scratch { win, rows, ix: gx, iy: gy, va: t, warped } = s;
    gx.clear();
    gy.clear();
    t.clear();
    warped.clear();
    // The template and its gradients (pixel-index coordinates are frame coordinates − 0.5),
    // read as `refine` reads its template.
    match a.window([p[0] - 0.5, p[1] - 0.5], r + 1, win, rows) {
        Read::Inside => central_differences(win, (2 * r + 3) as usize, (gx, gy, t)),
        Read::Clamp => {
            for j in -r..=r {
                for i in -r..=r {
                    let (x, y) = (p[0] - 0.5 + i as f32, p[1] - 0.5 + j as f32);
                    gx.push((a.at(x + 1.0, y)? - a.at(x - 1.0, y)?) / 2.0);
                    gy.push((a.at(x, y + 1.0)? - a.at(x, y - 1.0)?) / 2.0);
                    t.push(a.at(x, y)?);
                }
            }
        }
        Read::Miss => return None,
    }
    let tensor = Tensor::of(gx, gy, prm)?;
    // Where the plane puts each template sample, and the box around them all.
    let (mut lo, mut hi) = ([f32::INFINITY; 2], [f32::NEG_INFINITY; 2]);
    for j in -r..=r {
        for i in -r..=r {
            let w = plane([p[0] + i as f32, p[1] + j as f32]);
            let w = [w[0] - 0.5, w[1] - 0.5];
            (lo, hi) = ([lo[0].min(w[0]), lo[1].min(w[1])], [hi[0].max(w[0]), hi[1].max(w[1])]);
            warped.push(w);
        }
    }
    // The plane's local Jacobian at p: a step in template coordinates is J·step in `now`.
    let (c, ex, ey) = (plane(p), plane([p[0] + 1.0, p[1]]), plane([p[0], p[1] + 1.0]));
    let jac = [ex[0] - c[0], ey[0] - c[0], ex[1] - c[1], ey[1] - c[1]];
    let (mean_t, dev_t) = mean_dev(t);
    // The offset from the plane's prediction, starting where the chained track is.
    let mut d = [start[0] - c[0], start[1] - c[1]];
    win.resize(t.len(), 0.0);
    for _ in 0..prm.iterations {
        if b.holds([lo[0] + d[0], lo[1] + d[1]], [hi[0] + d[0], hi[1] + d[1]]) {
            for (o, w) in win.iter_mut().zip(warped.iter()) {
                *o = b.sample(w[0] + d[0], w[1] + d[1]);
            }
        } else {
            for (o, w) in win.iter_mut().zip(warped.iter()) {
                *o = b.at(w[0] + d[0], w[1] + d[1])?;
            }
        }
        let (mean_w, dev_w) = mean_dev(win);
        let gain = if dev_w > 1e-3 { dev_t / dev_w } else { 1.0 };
        let step = tensor.step(gx, gy, (t, mean_t), (win, mean_w), gain);
        let step = [jac[0] * step[0] + jac[1] * step[1], jac[2] * step[0] + jac[3] * step[1]];
        d = [d[0] + step[0], d[1] + step[1]];
        if !(d[0].is_finite() && d[1].is_finite()) {
            return None;
        }
        if step[0].hypot(step[1]) < 0.01 {
            break;
        }
    }
    Some([c[0] + d[0], c[1] + d[1]])
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

    /// `texture` seen through the affine map `x' = A x + t` (bilinear, frame pixel centres).
    fn warped_texture(a: [f32; 4], t: [f32; 2]) -> RgbImage {
        let det = a[0] * a[3] - a[1] * a[2];
        let inv = [a[3] / det, -a[1] / det, -a[2] / det, a[0] / det];
        RgbImage::from_fn(160, 120, |x, y| {
            let (u, v) = (x as f32 + 0.5 - t[0], y as f32 + 0.5 - t[1]);
            let (sx, sy) = (inv[0] * u + inv[1] * v - 0.5, inv[2] * u + inv[3] * v - 0.5);
            let g = 128.0 + 50.0 * (sx * 0.21).sin() * (sy * 0.17).cos() + 40.0 * ((sx + sy) * 0.09).sin();
            image::Rgb([g as u8; 3])
        })
    }

    #[test]
    fn aligning_through_the_plane_finds_points_on_a_foreshortened_plane_and_off_it() {
        let prm = FlowParams::default();
        // A plane tilted away (x compressed to 0.78, a little shear) and moved.
        let (m, t) = ([0.78, 0.06, -0.04, 0.97], [21.0, 6.0]);
        let map = |p: [f32; 2]| [m[0] * p[0] + m[1] * p[1] + t[0], m[2] * p[0] + m[3] * p[1] + t[1]];
        let (a, b) = (Pyramid::new(&texture(0.0, 0.0), 3), Pyramid::new(&warped_texture(m, t), 3));
        let pts = [[60.0, 50.0], [90.0, 70.0], [45.5, 62.25]];
        // Chained positions 1–2 px off the truth: the alignment puts them back.
        let chained: Vec<_> = pts.iter().map(|&p| map(p)).map(|q| Some([q[0] + 1.4, q[1] - 1.1])).collect();
        let out = align_through_plane(&a, &b, &pts, &chained, &map, &prm);
        for (p, q) in pts.iter().zip(&out) {
            let (q, truth) = (q.expect("kept"), map(*p));
            assert!((q[0] - truth[0]).hypot(q[1] - truth[1]) < 0.2, "{p:?} → {q:?}, truth {truth:?}");
        }
        // Where the plane's prediction is off by (2.5, −1.5) (a point in front of the plane),
        // the alignment finds where the point really is.
        let off = |p: [f32; 2]| {
            let q = map(p);
            [q[0] - 2.5, q[1] + 1.5]
        };
        let chained: Vec<_> = pts.iter().map(|&p| Some(off(p))).collect();
        for (p, q) in pts.iter().zip(align_through_plane(&a, &b, &pts, &chained, &off, &prm)) {
            let (q, truth) = (q.expect("kept"), map(*p));
            assert!((q[0] - truth[0]).hypot(q[1] - truth[1]) < 0.2, "{p:?} → {q:?}, truth {truth:?}");
        }
        // A chained position further than `max_correction` from the alignment stands; a lost
        // point stays lost.
        let far = [Some([map(pts[0])[0] + 6.0, map(pts[0])[1]]), None];
        let out = align_through_plane(&a, &b, &pts[..2], &far, &map, &prm);
        assert_eq!(out, far.to_vec());
    }

    #[test]
    fn a_brightness_and_contrast_step_does_not_move_the_points() {
        let prm = FlowParams::default();
        let moved = texture(3.0, 2.0);
        let lit = RgbImage::from_fn(160, 120, |x, y| {
            let v = moved.get_pixel(x, y).0[0] as f32;
            image::Rgb([(v * 1.2 - 10.0).clamp(0.0, 255.0) as u8; 3])
        });
        let (a, b) = (Pyramid::new(&texture(0.0, 0.0), 3), Pyramid::new(&lit, 3));
        let pts = [[60.0, 50.0], [90.0, 70.0], [40.5, 80.25]];
        for (p, q) in pts.iter().zip(track(&a, &b, &pts, &prm)) {
            let q = q.expect("tracked through the exposure step");
            assert!((q[0] - p[0] - 3.0).abs() < 0.3 && (q[1] - p[1] - 2.0).abs() < 0.3, "{p:?} → {q:?}");
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
        let g =
            Gray { w: 5, h: 3, x0: 0, y0: 0, rw: 5, rh: 3, px: (0..15).map(|v| (v * v) as f32).collect() };
        let mut half = Gray::default();
        g.half_into(&mut half);
        assert_eq!((half.w, half.h, half.rw, half.rh), (2, 1, 2, 1));
        let at = |x: usize, y: usize| g.px[y * 5 + x];
        for x in 0..2 {
            let want = (at(2 * x, 0) + at(2 * x + 1, 0) + at(2 * x, 1) + at(2 * x + 1, 1)) / 4.0;
            assert_eq!(half.px[x], want);
        }
    }

    #[test]
    fn lane_sums_are_sums_in_one_fixed_order() {
        for len in [0usize, 1, 7, 8, 9, 16, 225, 227] {
            let a: Vec<f32> = (0..len).map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.173).collect();
            let b: Vec<f32> = (0..len).map(|i| ((i * 11 % 29) as f32) * 1.37).collect();
            let [s, d] = lane_sums([&a, &b], |[x, y]| [x, x * y]);
            // Lane by lane, then the lanes in the fixed order.
            let mut lanes = [[0.0f32; LANES]; 2];
            for (i, (x, y)) in a.iter().zip(&b).enumerate() {
                lanes[0][i % LANES] += x;
                lanes[1][i % LANES] += x * y;
            }
            let fold = |l: [f32; LANES]| ((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7]));
            assert_eq!([s.to_bits(), d.to_bits()], [fold(lanes[0]).to_bits(), fold(lanes[1]).to_bits()]);
            let exact: f64 = a.iter().zip(&b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum();
            assert!((f64::from(d) - exact).abs() < 1e-3 * (1.0 + exact.abs()), "{len}: {d} vs {exact}");
        }
        // The shortest slice sets the length.
        assert_eq!(lane_sums([&[1.0, 2.0, 3.0][..], &[1.0][..]], |[x, y]| [x * y]), [1.0]);
    }

    #[test]
    fn sampling_a_held_box_reads_what_clamped_sampling_does_bit_for_bit() {
        let mut p = Pyramid::default();
        p.build(&texture(0.0, 0.0), 1, Some(Area { x0: 20, y0: 10, x1: 90, y1: 70 }));
        let g = &p.levels[0];
        assert!(g.holds([20.0, 10.0], [88.99, 68.99]));
        for (lo, hi) in
            [([19.9, 10.0], [30.0, 30.0]), ([20.0, 10.0], [89.0, 30.0]), ([f32::NAN, 10.0], [30.0, 30.0])]
        {
            assert!(!g.holds(lo, hi), "{lo:?}..{hi:?}");
        }
        for k in 0..500 {
            let (x, y) =
                (20.0 + (k as f32 * 0.6180339).fract() * 68.9, 10.0 + (k as f32 * 0.3819).fract() * 58.9);
            assert!(g.holds([x, y], [x, y]));
            assert_eq!(g.sample(x, y).to_bits(), g.at(x, y).expect("held").to_bits(), "({x}, {y})");
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
        let (mut win, mut rows) = (Vec::new(), Vec::new());
        for p in [[20.3f32, 30.7], [50.0, 50.0], [8.01, 8.99], [150.49, 110.5]] {
            assert_eq!(g.window(p, 7, &mut win, &mut rows), Read::Inside, "{p:?} is inside");
            for (k, v) in win.iter().enumerate() {
                let (i, j) = ((k % 15) as f32 - 7.0, (k / 15) as f32 - 7.0);
                assert!((v - g.at(p[0] + i, p[1] + j).expect("held")).abs() < 1e-3, "{p:?} + ({i}, {j})");
            }
        }
        for p in [[6.5f32, 50.0], [50.0, 112.2], [f32::NAN, 3.0], [-1.0, 40.0]] {
            assert_eq!(g.window(p, 7, &mut win, &mut rows), Read::Clamp, "{p:?} needs clamping");
        }
    }

    #[test]
    fn a_point_near_the_border_is_still_tracked() {
        let prm = FlowParams::default();
        let (a, b) = (Pyramid::new(&texture(0.0, 0.0), 3), Pyramid::new(&texture(2.0, 1.0), 3));
        let q = track(&a, &b, &[[4.0, 60.0]], &prm)[0].expect("tracked");
        assert!((q[0] - 6.0).abs() < 0.3 && (q[1] - 61.0).abs() < 0.3, "{q:?}");
    }

    fn session_frame(i: usize) -> RgbImage {
        let p = format!("{}/tests/sessions/live_astronaut/{i:04}.jpg", env!("CARGO_MANIFEST_DIR"));
        image::open(&p).expect("session frame").into_rgb8()
    }

    /// Points over the face (the challenge area of the session) and near the frame's edges
    /// and corners, where tracking clamps sample by sample.
    fn probe_points() -> Vec<[f32; 2]> {
        let mut pts: Vec<[f32; 2]> = (0..13)
            .flat_map(|i| (0..17).map(move |j| [195.3 + 20.0 * i as f32, 70.6 + 20.0 * j as f32]))
            .collect();
        pts.extend([[3.0, 5.5], [1.2, 240.0], [636.5, 477.0], [320.0, 2.0], [630.0, 100.0], [9.0, 470.0]]);
        pts
    }

    fn build_both(a: &mut Pyramid, b: &mut Pyramid, (ia, ib): (&RgbImage, &RgbImage), area: Area) {
        a.build(ia, 3, Some(area));
        b.build(ib, 3, Some(area));
    }

    #[test]
    fn a_pyramid_over_an_area_tracks_as_the_whole_frame_one_does() {
        let prm = FlowParams::default();
        let (mut a, mut b) = (Pyramid::default(), Pyramid::default());
        let (mut tracked, mut compared) = (0, 0);
        let mut prev = session_frame(0);
        for i in 1..12 {
            let next = session_frame(i);
            let (fa, fb) = (Pyramid::new(&prev, prm.levels), Pyramid::new(&next, prm.levels));
            let full = track(&fa, &fb, &probe_points(), &prm);
            // Each point on its own, in an area around just that point (the tightest case),
            // and all of them together.
            for (k, &p) in probe_points().iter().enumerate() {
                build_both(&mut a, &mut b, (&prev, &next), area_around(&[p], prm.reach));
                let got = track(&a, &b, &[p], &prm)[0];
                assert_eq!(
                    got.map(|q| q.map(f32::to_bits)),
                    full[k].map(|q| q.map(f32::to_bits)),
                    "frame {i}, {p:?}"
                );
                tracked += usize::from(got.is_some());
            }
            build_both(&mut a, &mut b, (&prev, &next), area_around(&probe_points(), prm.reach));
            assert_eq!(track(&a, &b, &probe_points(), &prm), full, "frame {i}, all points");
            // A reach too short for the search: every point is either the same or lost.
            for &p in &probe_points()[..40] {
                build_both(&mut a, &mut b, (&prev, &next), area_around(&[p], 20.0));
                let k = probe_points().iter().position(|q| *q == p).expect("probe");
                if let Some(q) = track(&a, &b, &[p], &prm)[0] {
                    assert_eq!(Some(q), full[k], "frame {i}, {p:?}, short reach");
                    compared += 1;
                }
            }
            prev = next;
        }
        assert!(tracked > 800, "only {tracked} points tracked");
        assert!(compared < 11 * 40, "a 20-px reach should lose some points");
    }

    #[test]
    fn area_levels_hold_the_whole_frame_values() {
        let img = session_frame(5);
        let full = Pyramid::new(&img, 3);
        let mut part = Pyramid::default();
        for area in [
            Area { x0: 101, y0: 57, x1: 333, y1: 299 },
            Area { x0: 0, y0: 0, x1: 13, y1: 9 },
            Area { x0: 500, y0: 400, x1: 9000, y1: 9000 },
            Area { x0: 700, y0: 10, x1: 800, y1: 20 },
        ] {
            part.build(&img, 3, Some(area));
            assert_eq!(part.levels.len(), 3);
            for (f, g) in full.levels.iter().zip(&part.levels) {
                assert_eq!((g.w, g.h), (f.w, f.h));
                assert!(g.x0 + g.rw <= g.w && g.y0 + g.rh <= g.h, "{area:?}");
                for y in 0..g.rh {
                    let row = &f.px[(g.y0 + y) * f.w + g.x0..][..g.rw];
                    assert_eq!(&g.px[y * g.rw..][..g.rw], row, "{area:?}");
                }
            }
            // The area (clipped to the frame) is held at full resolution.
            let l0 = &part.levels[0];
            let (x1, y1) = (area.x1.min(640) as usize, area.y1.min(480) as usize);
            assert!(l0.x0 <= (area.x0 as usize).min(x1) && l0.y0 <= (area.y0 as usize).min(y1));
            assert!(l0.x0 + l0.rw >= x1 && l0.y0 + l0.rh >= y1, "{area:?}");
        }
    }

    #[test]
    fn the_area_around_points_is_their_box_plus_the_margin() {
        let a = area_around(&[[10.5, 300.0], [f32::NAN, 0.0], [200.2, 40.0]], 16.0);
        assert_eq!(a, Area { x0: 0, y0: 24, x1: 217, y1: 316 });
        assert_eq!(area_around(&[], 16.0), Area { x0: 0, y0: 0, x1: 0, y1: 0 });
    }
}
