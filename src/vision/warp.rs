//! Affine resampling of RGB images into model input tensors.
//!
//! Both networks take a resampled view of the frame: the detector a letterboxed 128×128 copy
//! of the whole frame, the mesh a rotated square crop around the face. Both are the same
//! operation (an affine map from output pixels to source pixels, bilinear sampling, black
//! outside the frame), so both go through [`Affine`] and [`Resampler`]. Each output pixel is
//! one bilinear tap, as in MediaPipe's own `ImageToTensorCalculator`, as long as it spans
//! less than two source pixels (the face crop, normally). When the map shrinks more (a
//! 640-px frame into 128 px, a face filling the frame), the part of the source the map reads
//! is first averaged in 2×2, 4×4, … blocks until one output pixel spans less than two of
//! them, and each output pixel then averages a 2×2 grid of bilinear taps over its footprint,
//! so thin features do not alias away and the cost stays proportional to the output.

// The AVX2 interior path: gathers and stores through raw pointers, run only where the CPU's
// AVX2 was detected.
#![allow(unsafe_code)]

use image::RgbImage;

use super::rgbx::Region;

/// Maps output pixel coordinates `(u, v)` (continuous, pixel centres at `i + 0.5`) to source
/// pixel coordinates `(x, y)` in the same convention:
/// `x = a·u + b·v + tx`, `y = c·u + d·v + ty`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Affine {
    pub a: f32,
    pub b: f32,
    pub c: f32,
    pub d: f32,
    pub tx: f32,
    pub ty: f32,
}

impl Affine {
    /// Applies the map to a point.
    pub fn apply(&self, u: f32, v: f32) -> (f32, f32) {
        (self.a * u + self.b * v + self.tx, self.c * u + self.d * v + self.ty)
    }

    /// The same map onto a source image scaled by `k` (e.g. 0.5 for a halved image).
    fn onto_scaled(&self, k: f32) -> Self {
        Self { a: self.a * k, b: self.b * k, c: self.c * k, d: self.d * k, tx: self.tx * k, ty: self.ty * k }
    }

    /// The largest factor by which one output pixel's footprint spans source pixels.
    fn footprint(&self) -> f32 {
        let sx = (self.a * self.a + self.c * self.c).sqrt();
        let sy = (self.b * self.b + self.d * self.d).sqrt();
        sx.max(sy)
    }
}

/// `v.floor()` without the libm call the x86-64 baseline makes of it (no SSE4.1 `roundps`);
/// exact for |v| < 2²³, where every f32 with a fraction lives.
#[inline]
pub(super) fn floor(v: f32) -> f32 {
    if v.abs() < 8_388_608.0 {
        let t = v as i32 as f32;
        if t > v { t - 1.0 } else { t }
    } else {
        v.floor()
    }
}

/// Reusable state of resampling: the widened source region, kept from one crop to the next
/// so a steady stream of crops allocates nothing.
#[derive(Debug, Clone, Default)]
pub struct Resampler {
    region: Region,
}

impl Resampler {
    /// Resamples `img` through `map` into `out` (`out_w × out_h` NHWC floats), applying
    /// `normalise` to each 0–255 channel value.
    ///
    /// One bilinear tap per output pixel, as MediaPipe's own crop does, while one output pixel
    /// spans less than two source pixels. A stronger shrink first averages 2×2 blocks of the
    /// source (only where the crop reads) until one output pixel spans less than two of them,
    /// then averages a grid of bilinear taps over each output pixel's footprint (2×2 for a
    /// remaining shrink between 1 and 2), so thin features do not alias away.
    ///
    /// # Panics
    /// If `out` does not hold `out_w × out_h × 3` values.
    pub fn sample_into(
        &mut self,
        img: &RgbImage,
        map: &Affine,
        (out_w, out_h): (usize, usize),
        normalise: impl Fn(f32) -> f32,
        out: &mut [f32],
    ) {
        assert_eq!(out.len(), out_w * out_h * 3, "output buffer size");
        // A non-finite map (a NaN landmark upstream) reads nothing: black, on either path (the
        // block-mean path would otherwise turn an infinite coordinate into an index).
        if ![map.a, map.b, map.c, map.d, map.tx, map.ty].iter().all(|v| v.is_finite()) {
            out.fill(normalise(0.0));
            return;
        }
        let (mut map, mut level) = (*map, 0u32);
        while map.footprint() >= 2.0 && img.width() >> (level + 1) >= 1 && img.height() >> (level + 1) >= 1 {
            map = map.onto_scaled(0.5);
            level += 1;
        }
        if level == 0 {
            plain(img, &map, (out_w, out_h), normalise, out);
        } else {
            self.region.fill(img, level, &map, out_w, out_h);
            // Still shrinking by 1–2× after the block means: n×n taps over the footprint.
            let n = map.footprint().ceil().clamp(1.0, 4.0) as usize;
            self.supersampled(&map, out_w, n, normalise, out);
        }
    }

    /// The mean of `n × n` bilinear taps spread evenly over each output pixel.
    fn supersampled(
        &self,
        map: &Affine,
        out_w: usize,
        n: usize,
        normalise: impl Fn(f32) -> f32,
        out: &mut [f32],
    ) {
        let inv = 1.0 / (n * n) as f32;
        let offsets: [f32; 4] = std::array::from_fn(|s| (s as f32 + 0.5) / n as f32);
        let offsets = &offsets[..n];
        for (v, row) in out.chunks_exact_mut(out_w * 3).enumerate() {
            for (u, px) in row.chunks_exact_mut(3).enumerate() {
                let mut acc = [0.0f32; 4];
                for &oj in offsets {
                    for &oi in offsets {
                        let (x, y) = map.apply(u as f32 + oi, v as f32 + oj);
                        let s = self.region.tap(x, y);
                        (0..4).for_each(|c| acc[c] += s[c]);
                    }
                }
                px[0] = normalise(acc[0] * inv);
                px[1] = normalise(acc[1] * inv);
                px[2] = normalise(acc[2] * inv);
            }
        }
    }
}

/// One bilinear tap per output pixel, straight from the frame's bytes (no widened copy of
/// the region): the same weights, in the same order, as [`Region`]'s tap, so the same values
/// to the bit. Neighbours outside the frame read black; a non-finite map gives black.
///
/// On x86-64 with AVX2, runs of eight output pixels whose neighbourhoods all lie inside the
/// frame are computed eight at a time ([`interior_avx2`]), with the same operations in the
/// same order per value (no FMA), so the same bits; every other pixel takes [`tap`].
fn plain(
    img: &RgbImage,
    map: &Affine,
    dims: (usize, usize),
    normalise: impl Fn(f32) -> f32,
    out: &mut [f32],
) {
    plain_with(img, map, dims, normalise, out, simd_available());
}

/// Whether this CPU runs [`interior_avx2`].
fn simd_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// [`plain`], with the eight-wide interior path when `simd` and [`simd_available`].
fn plain_with(
    img: &RgbImage,
    map: &Affine,
    (out_w, out_h): (usize, usize),
    normalise: impl Fn(f32) -> f32,
    out: &mut [f32],
    simd: bool,
) {
    let corners =
        [(0, 0), (out_w, 0), (0, out_h), (out_w, out_h)].map(|(u, v)| map.apply(u as f32, v as f32));
    if corners.iter().any(|(x, y)| !(x.is_finite() && y.is_finite())) {
        out.fill(normalise(0.0));
        return;
    }
    let frame = Frame {
        raw: img.as_raw().as_slice(),
        w: i64::from(img.width()),
        h: i64::from(img.height()),
        stride: img.width() as usize * 3,
    };
    // The vector path's byte offsets are i32, its bounds are compared as f32 and its output
    // columns counted in f32: all exact for any sizes that pass this.
    let simd = simd
        && simd_available()
        && frame.raw.len() < i32::MAX as usize
        && frame.w < 1 << 24
        && frame.h < 1 << 24
        && out_w < 1 << 24;
    for (v, row) in out.chunks_exact_mut(out_w * 3).enumerate() {
        let done = interior(&frame, map, v, row, simd);
        // Raw sums there, the caller's scale here: the same value per channel as applying
        // it per pixel, in a loop the compiler vectorises.
        let (head, rest) = row.split_at_mut(done * 3);
        head.iter_mut().for_each(|c| *c = normalise(*c));
        for (u, px) in rest.chunks_exact_mut(3).enumerate() {
            let s = tap(&frame, map, done + u, v);
            px[0] = normalise(s[0]);
            px[1] = normalise(s[1]);
            px[2] = normalise(s[2]);
        }
    }
}

/// An RGB8 frame's bytes and size, for [`tap`].
struct Frame<'a> {
    raw: &'a [u8],
    w: i64,
    h: i64,
    stride: usize,
}

/// The bilinear tap of output pixel `(u, v)`, un-normalised (the fourth value is unused).
#[inline(always)]
fn tap(f: &Frame, map: &Affine, u: usize, v: usize) -> [f32; 4] {
    let (raw, w, h, stride) = (f.raw, f.w, f.h, f.stride);
    // Four bytes from `i` (a pixel and the next one's red, unused) as floats: one vector.
    let quad = |i: usize| -> [f32; 4] {
        let b: [u8; 4] = raw[i..i + 4].try_into().expect("four bytes");
        b.map(f32::from)
    };
    let (x, y) = map.apply(u as f32 + 0.5, v as f32 + 0.5);
    let (fx, fy) = (x - 0.5, y - 0.5);
    let (x0, y0) = (floor(fx), floor(fy));
    let (wx, wy) = (fx - x0, fy - y0);
    let (xi, yi) = (x0 as i64, y0 as i64);
    let k = [(1.0 - wx) * (1.0 - wy), wx * (1.0 - wy), (1.0 - wx) * wy, wx * wy];
    let mut s = [0.0f32; 4];
    // The right neighbour's four bytes end one byte into the pixel after it: so the
    // fast path stops one pixel short of the right edge.
    if xi >= 0 && yi >= 0 && xi + 2 < w && yi + 1 < h {
        let i = yi as usize * stride + xi as usize * 3;
        let (p, q, r, t) = (quad(i), quad(i + 3), quad(i + stride), quad(i + stride + 3));
        for c in 0..4 {
            s[c] = k[0] * p[c] + k[1] * q[c] + k[2] * r[c] + k[3] * t[c];
        }
    } else {
        for (n, (dx, dy)) in [(0, 0), (1, 0), (0, 1), (1, 1)].into_iter().enumerate() {
            let (xx, yy) = (xi + dx, yi + dy);
            if xx >= 0 && yy >= 0 && xx < w && yy < h {
                let i = yy as usize * stride + xx as usize * 3;
                for c in 0..3 {
                    s[c] += k[n] * f32::from(raw[i + c]);
                }
            }
        }
    }
    s
}

/// Fills the start of `row` (output row `v`, un-normalised) eight pixels at a time where it
/// can, and returns how many pixels it filled.
#[cfg_attr(not(target_arch = "x86_64"), allow(unused_variables))]
fn interior(frame: &Frame, map: &Affine, v: usize, row: &mut [f32], simd: bool) -> usize {
    #[cfg(target_arch = "x86_64")]
    if simd {
        // SAFETY: `simd` is true only when `plain_with` (the only caller) saw AVX2 on this CPU
        // (`simd_available`) and a frame under 2³¹ bytes, `w`, `h` and `out_w` under 2²⁴;
        // its `Frame` is an `RgbImage`'s bytes, `stride = 3w`, at least `h · stride` of them.
        return unsafe { interior_avx2(frame, map, v, row) };
    }
    0
}

/// [`tap`] for eight output pixels at once while all eight neighbourhoods (and the byte
/// after them) are inside the frame; a run of eight with any pixel near or past the border
/// goes through [`tap`] pixel by pixel. Returns the pixels filled (a multiple of eight; the
/// rest of the row is the caller's).
///
/// The same f32 operations per value as [`tap`]'s fast path, in the same order: the map as
/// `(a·u + b·v) + tx`, `floor` by `roundps` (equal to [`floor`] for every finite value but
/// −0, which `+ 0.0` turns into the helper's +0), the four weights, and
/// `((k₀p + k₁q) + k₂r) + k₃t` as separate multiplies and adds. The inside test is done on
/// the floored floats (`0 ≤ x₀ ≤ w − 3`, `0 ≤ y₀ ≤ h − 2`; false for NaN), which for the
/// integers they are is [`tap`]'s test.
///
/// # Safety
/// The CPU has AVX2; `frame.stride` is `3 · frame.w`, `frame.raw` holds at least
/// `frame.h · frame.stride` bytes and fewer than 2³¹ (its byte offsets are `i32`), `frame.w`
/// and `frame.h` are below 2²⁴ and so is `row.len() / 3` (their `f32` forms are exact).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn interior_avx2(frame: &Frame, map: &Affine, v: usize, row: &mut [f32]) -> usize {
    use std::arch::x86_64::*;

    /// The three colour bytes of eight gathered words, as floats.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn channels(g: __m256i) -> [__m256; 3] {
        let byte = _mm256_set1_epi32(0xff);
        [
            _mm256_cvtepi32_ps(_mm256_and_si256(g, byte)),
            _mm256_cvtepi32_ps(_mm256_and_si256(_mm256_srli_epi32::<8>(g), byte)),
            _mm256_cvtepi32_ps(_mm256_and_si256(_mm256_srli_epi32::<16>(g), byte)),
        ]
    }

    let out_w = row.len() / 3;
    let vc = v as f32 + 0.5;
    let (bv, dv) = (_mm256_set1_ps(map.b * vc), _mm256_set1_ps(map.d * vc));
    let (a, c, tx, ty) =
        (_mm256_set1_ps(map.a), _mm256_set1_ps(map.c), _mm256_set1_ps(map.tx), _mm256_set1_ps(map.ty));
    let (zero, half, one) = (_mm256_setzero_ps(), _mm256_set1_ps(0.5), _mm256_set1_ps(1.0));
    let lanes = _mm256_setr_ps(0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0);
    let (x_max, y_max) = (_mm256_set1_ps((frame.w - 3) as f32), _mm256_set1_ps((frame.h - 2) as f32));
    let (stride, three) = (_mm256_set1_epi32(frame.stride as i32), _mm256_set1_epi32(3));
    // Which of R, G, B fills each of the 24 interleaved outputs, and from which lane.
    let idx = [
        _mm256_setr_epi32(0, 0, 0, 1, 1, 1, 2, 2),
        _mm256_setr_epi32(2, 3, 3, 3, 4, 4, 4, 5),
        _mm256_setr_epi32(5, 5, 6, 6, 6, 7, 7, 7),
    ];
    let base = frame.raw.as_ptr().cast::<i32>();
    let mut u = 0;
    while u + 8 <= out_w {
        // (u + lane) as f32 + 0.5, exactly: all integers here are far below 2^24.
        let uc = _mm256_add_ps(_mm256_add_ps(_mm256_set1_ps(u as f32), lanes), half);
        let x = _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(a, uc), bv), tx);
        let y = _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(c, uc), dv), ty);
        let (fx, fy) = (_mm256_sub_ps(x, half), _mm256_sub_ps(y, half));
        let x0 = _mm256_add_ps(_mm256_floor_ps(fx), zero);
        let y0 = _mm256_add_ps(_mm256_floor_ps(fy), zero);
        let inside = _mm256_and_ps(
            _mm256_and_ps(_mm256_cmp_ps::<_CMP_GE_OQ>(x0, zero), _mm256_cmp_ps::<_CMP_GE_OQ>(y0, zero)),
            _mm256_and_ps(_mm256_cmp_ps::<_CMP_LE_OQ>(x0, x_max), _mm256_cmp_ps::<_CMP_LE_OQ>(y0, y_max)),
        );
        if _mm256_movemask_ps(inside) != 0xff {
            for (p, px) in row[u * 3..(u + 8) * 3].chunks_exact_mut(3).enumerate() {
                px.copy_from_slice(&tap(frame, map, u + p, v)[..3]);
            }
            u += 8;
            continue;
        }
        let (wx, wy) = (_mm256_sub_ps(fx, x0), _mm256_sub_ps(fy, y0));
        let (ix, iy) = (_mm256_sub_ps(one, wx), _mm256_sub_ps(one, wy));
        let k = [_mm256_mul_ps(ix, iy), _mm256_mul_ps(wx, iy), _mm256_mul_ps(ix, wy), _mm256_mul_ps(wx, wy)];
        let i = _mm256_add_epi32(
            _mm256_mullo_epi32(_mm256_cvttps_epi32(y0), stride),
            _mm256_mullo_epi32(_mm256_cvttps_epi32(x0), three),
        );
        let below = _mm256_add_epi32(i, stride);
        // SAFETY: every lane is inside: 0 ≤ x₀ ≤ w − 3 and 0 ≤ y₀ ≤ h − 2 (exact in f32 and
        // i32, the contract), so with stride = 3w the last byte read, 4 bytes from
        // (y₀ + 1)·stride + (x₀ + 1)·3, is at most h·stride − 3, within the frame's bytes (at
        // least h·stride, fewer than 2³¹: no offset wraps); gathers read unaligned.
        let [p, q, r, t] = unsafe {
            [
                _mm256_i32gather_epi32::<1>(base, i),
                _mm256_i32gather_epi32::<1>(base, _mm256_add_epi32(i, three)),
                _mm256_i32gather_epi32::<1>(base, below),
                _mm256_i32gather_epi32::<1>(base, _mm256_add_epi32(below, three)),
            ]
        };
        let (p, q, r, t) = (channels(p), channels(q), channels(r), channels(t));
        let s: [__m256; 3] = std::array::from_fn(|ch| {
            let s = _mm256_add_ps(_mm256_mul_ps(k[0], p[ch]), _mm256_mul_ps(k[1], q[ch]));
            let s = _mm256_add_ps(s, _mm256_mul_ps(k[2], r[ch]));
            _mm256_add_ps(s, _mm256_mul_ps(k[3], t[ch]))
        });
        // Interleave to r₀g₀b₀r₁…: output word j of block n is channel (8n + j) % 3 of lane
        // (8n + j) / 3; the blends pick the channel.
        let [r, g, b] = s.map(|ch| _mm256_permutevar8x32_ps(ch, idx[0]));
        let o0 = _mm256_blend_ps::<0x24>(_mm256_blend_ps::<0x92>(r, g), b);
        let [r, g, b] = s.map(|ch| _mm256_permutevar8x32_ps(ch, idx[1]));
        let o1 = _mm256_blend_ps::<0x49>(_mm256_blend_ps::<0x24>(r, g), b);
        let [r, g, b] = s.map(|ch| _mm256_permutevar8x32_ps(ch, idx[2]));
        let o2 = _mm256_blend_ps::<0x92>(_mm256_blend_ps::<0x49>(r, g), b);
        let dst = &mut row[u * 3..(u + 8) * 3];
        // SAFETY: `dst` holds 24 floats (a checked slice); three unaligned 8-float stores at
        // 0, 8 and 16.
        unsafe {
            _mm256_storeu_ps(dst.as_mut_ptr(), o0);
            _mm256_storeu_ps(dst.as_mut_ptr().add(8), o1);
            _mm256_storeu_ps(dst.as_mut_ptr().add(16), o2);
        }
        u += 8;
    }
    u
}

/// A model input kept across frames: the tensor's values and the resampler that fills them.
#[derive(Debug, Clone, Default)]
pub struct InputBuffer {
    resampler: Resampler,
    values: Vec<f32>,
}

impl InputBuffer {
    /// Resamples `img` through `map` into the buffer (see [`Resampler::sample_into`]) and
    /// returns the `out_w × out_h × 3` values.
    pub fn fill(
        &mut self,
        img: &RgbImage,
        map: &Affine,
        (out_w, out_h): (usize, usize),
        normalise: impl Fn(f32) -> f32,
    ) -> &[f32] {
        self.values.resize(out_w * out_h * 3, 0.0);
        self.resampler.sample_into(img, map, (out_w, out_h), normalise, &mut self.values);
        &self.values
    }
}

/// [`Resampler::sample_into`] into a new buffer, with a new resampler (for one-off crops).
pub fn sample_nhwc(
    img: &RgbImage,
    map: &Affine,
    out_w: usize,
    out_h: usize,
    normalise: impl Fn(f32) -> f32,
) -> Vec<f32> {
    let mut out = vec![0.0; out_w * out_h * 3];
    Resampler::default().sample_into(img, map, (out_w, out_h), normalise, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, 100]))
    }

    /// The plain per-tap bilinear the widened region must reproduce: channel-interleaved RGB,
    /// pixel centres at `i + 0.5`, neighbours outside the image read as black.
    fn bilinear(img: &RgbImage, x: f32, y: f32) -> [f32; 3] {
        let (w, h) = (i64::from(img.width()), i64::from(img.height()));
        let (fx, fy) = (x - 0.5, y - 0.5);
        let (x0, y0) = (fx.floor(), fy.floor());
        let (wx, wy) = (fx - x0, fy - y0);
        let (x0, y0) = (x0 as i64, y0 as i64);
        let mut out = [0.0f32; 3];
        for (dy, ky) in [(0, 1.0 - wy), (1, wy)] {
            for (dx, kx) in [(0, 1.0 - wx), (1, wx)] {
                let (xx, yy) = (x0 + dx, y0 + dy);
                let k = kx * ky;
                let px = if xx < 0 || yy < 0 || xx >= w || yy >= h {
                    [0.0; 3]
                } else {
                    img.get_pixel(xx as u32, yy as u32).0.map(f32::from)
                };
                (0..3).for_each(|c| out[c] += k * px[c]);
            }
        }
        out
    }

    /// `plain` as it was before the eight-wide path, kept verbatim as the reference.
    fn plain_reference(
        img: &RgbImage,
        map: &Affine,
        (out_w, out_h): (usize, usize),
        normalise: impl Fn(f32) -> f32,
        out: &mut [f32],
    ) {
        let corners =
            [(0, 0), (out_w, 0), (0, out_h), (out_w, out_h)].map(|(u, v)| map.apply(u as f32, v as f32));
        if corners.iter().any(|(x, y)| !(x.is_finite() && y.is_finite())) {
            out.fill(normalise(0.0));
            return;
        }
        let raw = img.as_raw().as_slice();
        let (w, h) = (i64::from(img.width()), i64::from(img.height()));
        let stride = w as usize * 3;
        let quad = |i: usize| -> [f32; 4] {
            let b: [u8; 4] = raw[i..i + 4].try_into().expect("four bytes");
            b.map(f32::from)
        };
        for (v, row) in out.chunks_exact_mut(out_w * 3).enumerate() {
            for (u, px) in row.chunks_exact_mut(3).enumerate() {
                let (x, y) = map.apply(u as f32 + 0.5, v as f32 + 0.5);
                let (fx, fy) = (x - 0.5, y - 0.5);
                let (x0, y0) = (floor(fx), floor(fy));
                let (wx, wy) = (fx - x0, fy - y0);
                let (xi, yi) = (x0 as i64, y0 as i64);
                let k = [(1.0 - wx) * (1.0 - wy), wx * (1.0 - wy), (1.0 - wx) * wy, wx * wy];
                let mut s = [0.0f32; 4];
                if xi >= 0 && yi >= 0 && xi + 2 < w && yi + 1 < h {
                    let i = yi as usize * stride + xi as usize * 3;
                    let (p, q, r, t) = (quad(i), quad(i + 3), quad(i + stride), quad(i + stride + 3));
                    for c in 0..4 {
                        s[c] = k[0] * p[c] + k[1] * q[c] + k[2] * r[c] + k[3] * t[c];
                    }
                } else {
                    for (n, (dx, dy)) in [(0, 0), (1, 0), (0, 1), (1, 1)].into_iter().enumerate() {
                        let (xx, yy) = (xi + dx, yi + dy);
                        if xx >= 0 && yy >= 0 && xx < w && yy < h {
                            let i = yy as usize * stride + xx as usize * 3;
                            for c in 0..3 {
                                s[c] += k[n] * f32::from(raw[i + c]);
                            }
                        }
                    }
                }
                px[0] = normalise(s[0]);
                px[1] = normalise(s[1]);
                px[2] = normalise(s[2]);
            }
        }
    }

    /// xorshift64*: deterministic test inputs without a dependency.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
            lo + (hi - lo) * (self.next() >> 40) as f32 / (1u64 << 24) as f32
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn the_eight_wide_path_gives_the_scalar_bits() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        // Odd sizes, a frame smaller than the crop, frames too narrow for the fast path.
        let frames = [(640, 480), (97, 61), (33, 17), (150, 201), (5, 4), (3, 2), (2, 3), (1, 1), (9, 250)];
        let outs = [(192, 192), (37, 29), (8, 8), (17, 5), (1, 1), (64, 3)];
        let mut cases = 0;
        for &(fw, fh) in &frames {
            let img = RgbImage::from_fn(fw, fh, |_, _| {
                let b = rng.next().to_le_bytes();
                image::Rgb([b[0], b[1], b[2]])
            });
            let (fw, fh) = (fw as f32, fh as f32);
            for n in 0..40 {
                let (ow, oh) = outs[rng.below(outs.len())];
                let (s, c) = rng.uniform(-std::f32::consts::PI, std::f32::consts::PI).sin_cos();
                let (kx, ky) = (rng.uniform(0.5, 2.0), rng.uniform(0.5, 2.0));
                // Centred inside, near an edge, or far outside the frame.
                let spread = [0.3, 1.0, 3.0][n % 3];
                let cx = fw / 2.0 + rng.uniform(-spread, spread) * fw;
                let cy = fh / 2.0 + rng.uniform(-spread, spread) * fh;
                let (a, b, c, d) = (kx * c, -ky * s, kx * s, ky * c);
                let rotated = Affine {
                    a,
                    b,
                    c,
                    d,
                    tx: cx - a * ow as f32 / 2.0 - b * oh as f32 / 2.0,
                    ty: cy - c * ow as f32 / 2.0 - d * oh as f32 / 2.0,
                };
                // Axis-aligned with whole or half-pixel offsets: taps exactly on pixel
                // centres and on the fast path's bounds.
                let (sx, sy) = ([0.5, 1.0, 2.0][rng.below(3)], [0.5, 1.0, 2.0][rng.below(3)]);
                let aligned = Affine {
                    a: sx,
                    b: 0.0,
                    c: 0.0,
                    d: sy,
                    tx: rng.below(9) as f32 * 0.5 - 2.0,
                    ty: rng.below(9) as f32 * 0.5 - 2.0,
                };
                for map in [rotated, aligned] {
                    let mut want = vec![0.0; ow * oh * 3];
                    plain_reference(&img, &map, (ow, oh), |c| c / 255.0, &mut want);
                    for simd in [false, simd_available()] {
                        let mut got = vec![f32::NAN; ow * oh * 3];
                        plain_with(&img, &map, (ow, oh), |c| c / 255.0, &mut got, simd);
                        let bits = |v: &[f32]| v.iter().map(|c| c.to_bits()).collect::<Vec<_>>();
                        assert_eq!(bits(&got), bits(&want), "{map:?} {ow}x{oh} simd {simd}");
                        assert_eq!(got, want);
                    }
                    cases += 1;
                }
            }
        }
        assert_eq!(cases, frames.len() * 80);
        // The dispatching entry point as the service calls it, and a non-finite map.
        let img =
            RgbImage::from_fn(640, 480, |x, y| image::Rgb([(x * 3) as u8, (y * 5) as u8, (x ^ y) as u8]));
        let (s, c) = 0.15f32.sin_cos();
        for map in [
            Affine { a: 1.2 * c, b: -1.2 * s, c: 1.2 * s, d: 1.2 * c, tx: 210.0, ty: 95.0 },
            Affine { a: f32::INFINITY, b: 0.0, c: 0.0, d: 1.0, tx: 0.0, ty: 0.0 },
        ] {
            let (mut got, mut want) = (vec![0.0; 192 * 192 * 3], vec![0.0; 192 * 192 * 3]);
            Resampler::default().sample_into(&img, &map, (192, 192), |c| c / 255.0, &mut got);
            plain_reference(&img, &map, (192, 192), |c| c / 255.0, &mut want);
            assert_eq!(got, want);
        }
    }

    #[test]
    fn identity_map_reproduces_pixels() {
        let img = gradient(8, 6);
        let id = Affine { a: 1.0, b: 0.0, c: 0.0, d: 1.0, tx: 0.0, ty: 0.0 };
        let out = sample_nhwc(&img, &id, 8, 6, |c| c);
        for y in 0..6 {
            for x in 0..8 {
                let i = (y * 8 + x) * 3;
                assert_eq!(&out[i..i + 3], &[x as f32, y as f32, 100.0]);
            }
        }
    }

    #[test]
    fn outside_the_image_reads_black() {
        let img = gradient(4, 4);
        let shifted = Affine { a: 1.0, b: 0.0, c: 0.0, d: 1.0, tx: 100.0, ty: 0.0 };
        let out = sample_nhwc(&img, &shifted, 2, 2, |c| c);
        assert!(out.iter().all(|&c| c == 0.0));
    }

    #[test]
    fn a_non_finite_map_gives_black_not_nan() {
        let img = gradient(4, 4);
        let broken = Affine { a: f32::NAN, b: 0.0, c: 0.0, d: 1.0, tx: 0.0, ty: 0.0 };
        assert!(sample_nhwc(&img, &broken, 3, 3, |c| c).iter().all(|&c| c == 0.0));
    }

    #[test]
    fn halving_keeps_pixel_centres_in_place() {
        // A 2× shrink reads 2×2 block means; output pixel u is the block x ∈ {2u, 2u + 1},
        // whose centre is at source x = 2u + 1, i.e. mean 2u + 0.5 of the gradient.
        let img = gradient(8, 6);
        let half = Affine { a: 2.0, b: 0.0, c: 0.0, d: 2.0, tx: 0.0, ty: 0.0 };
        let out = sample_nhwc(&img, &half, 4, 3, |c| c);
        for v in 0..3 {
            for u in 0..4 {
                let i = (v * 4 + u) * 3;
                assert_eq!(&out[i..i + 3], &[2.0 * u as f32 + 0.5, 2.0 * v as f32 + 0.5, 100.0]);
            }
        }
    }

    #[test]
    fn shrinking_averages_the_footprint() {
        // A 1-px checkerboard shrunk 4× must come out mid-grey, not aliased to one phase.
        let img = RgbImage::from_fn(64, 64, |x, y| {
            let c = if (x + y) % 2 == 0 { 255 } else { 0 };
            image::Rgb([c, c, c])
        });
        for k in [2.0f32, 3.1, 4.0, 5.0] {
            let shrink = Affine { a: k, b: 0.0, c: 0.0, d: k, tx: 0.0, ty: 0.0 };
            let out = sample_nhwc(&img, &shrink, 8, 8, |c| c);
            for c in &out[3 * 9..3 * 10] {
                assert!((c - 127.5).abs() < 20.0, "shrink {k}: got {c}");
            }
        }
    }

    #[test]
    fn the_fast_floor_is_floor() {
        for v in [-3.5f32, -1.0, -0.25, -0.0, 0.0, 0.999_999_9, 1.0, 2.5, 639.5, -8_388_607.5, 1e9, -1e9] {
            assert_eq!(floor(v), v.floor(), "{v}");
        }
        let mut v = -700.0f32;
        while v < 700.0 {
            assert_eq!(floor(v), v.floor(), "{v}");
            v += 0.013;
        }
    }

    #[test]
    fn below_a_two_pixel_footprint_each_output_pixel_is_one_bilinear_tap() {
        let img = RgbImage::from_fn(97, 61, |x, y| {
            image::Rgb([(x * 7 + y) as u8, (x * y) as u8, (255 - x * 2) as u8])
        });
        // Rotated and shifted so part of the crop falls outside the frame (black).
        let (s, c) = 0.4f32.sin_cos();
        let mut reused = Resampler::default();
        for k in [0.6f32, 1.3, 1.9] {
            let map = Affine { a: k * c, b: -k * s, c: k * s, d: k * c, tx: 30.3, ty: -5.7 };
            let mut got = vec![0.0; 40 * 33 * 3];
            reused.sample_into(&img, &map, (40, 33), |v| v, &mut got);
            let mut want = Vec::new();
            for v in 0..33 {
                for u in 0..40 {
                    let (x, y) = map.apply(u as f32 + 0.5, v as f32 + 0.5);
                    want.extend(bilinear(&img, x, y));
                }
            }
            assert!(got.iter().zip(&want).all(|(g, w)| g.to_bits() == w.to_bits()), "scale {k}");
            assert!(got.contains(&0.0) && got.iter().any(|&g| g > 10.0), "crosses the border");
        }
    }

    #[test]
    fn taps_along_every_edge_of_the_frame_are_bilinear_taps() {
        // Nearly the identity, shifted by a fraction: every output pixel's neighbours include
        // the first or last row or column, or fall just outside, on all four sides.
        let img =
            RgbImage::from_fn(31, 23, |x, y| image::Rgb([(x * 8) as u8, (y * 11) as u8, (x * y) as u8]));
        for (k, t) in [(1.0f32, 0.3f32), (1.0, -0.4), (0.97, 0.6), (1.03, -1.2)] {
            let map = Affine { a: k, b: 0.0, c: 0.0, d: k, tx: t, ty: -t };
            let got = sample_nhwc(&img, &map, 33, 25, |v| v / 255.0);
            let mut want = Vec::new();
            for v in 0..25 {
                for u in 0..33 {
                    let (x, y) = map.apply(u as f32 + 0.5, v as f32 + 0.5);
                    want.extend(bilinear(&img, x, y).map(|c| c / 255.0));
                }
            }
            assert!(got.iter().zip(&want).all(|(g, w)| g.to_bits() == w.to_bits()), "{k} {t}");
        }
    }

    #[test]
    fn a_reused_resampler_gives_what_a_fresh_one_gives() {
        let img = RgbImage::from_fn(200, 150, |x, y| image::Rgb([(x ^ y) as u8, (x + y) as u8, x as u8]));
        let maps = [
            Affine { a: 3.0, b: 0.2, c: -0.2, d: 3.0, tx: -20.0, ty: 10.0 },
            Affine { a: 0.8, b: 0.0, c: 0.0, d: 0.8, tx: 150.0, ty: 100.0 },
            Affine { a: 1.5, b: -0.9, c: 0.9, d: 1.5, tx: 60.0, ty: -30.0 },
        ];
        let mut reused = Resampler::default();
        for map in maps.iter().chain(maps.iter().rev()) {
            let mut got = vec![0.0; 48 * 48 * 3];
            reused.sample_into(&img, map, (48, 48), |v| v / 255.0, &mut got);
            assert_eq!(got, sample_nhwc(&img, map, 48, 48, |v| v / 255.0));
        }
    }
}
