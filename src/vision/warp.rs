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
fn plain(
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
    // Four bytes from `i` (a pixel and the next one's red, unused) as floats: one vector.
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
            px[0] = normalise(s[0]);
            px[1] = normalise(s[1]);
            px[2] = normalise(s[2]);
        }
    }
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
