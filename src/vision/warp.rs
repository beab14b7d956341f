//! Affine resampling of RGB images into model input tensors.
//!
//! Both networks take a resampled view of the frame: the detector a letterboxed 128×128 copy
//! of the whole frame, the mesh a rotated square crop around the face. Both are the same
//! operation (an affine map from output pixels to source pixels, bilinear sampling, black
//! outside the frame), so both go through [`Affine`] and [`sample_nhwc`]. When the map
//! shrinks the image (a 640-px frame into 128 px), the source is first halved with 2×2 box
//! averages until one output pixel spans less than two source pixels, and each output pixel
//! then averages a 2×2 grid of bilinear samples over its footprint, so thin features do not
//! alias away and the cost stays proportional to the output size.

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

/// Bilinear sample of channel-interleaved RGB at continuous source coordinates (pixel centres
/// at `i + 0.5`); pixels outside the image read as black.
#[inline(always)]
fn bilinear(img: &RgbImage, x: f32, y: f32) -> [f32; 3] {
    let (w, h) = (img.width() as i64, img.height() as i64);
    let (fx, fy) = (x - 0.5, y - 0.5);
    let (x0, y0) = (floor(fx), floor(fy));
    let (wx, wy) = (fx - x0, fy - y0);
    let (x0, y0) = (x0 as i64, y0 as i64);
    let raw = img.as_raw();
    let mut out = [0.0f32; 3];
    if x0 >= 0 && y0 >= 0 && x0 + 1 < w && y0 + 1 < h {
        // All four taps inside: the loop below without its checks, same sums in the same
        // order (a skipped zero-weight tap adds +0.0, which changes nothing).
        let i = ((y0 * w + x0) * 3) as usize;
        let j = i + (w * 3) as usize;
        let taps =
            [(i, (1.0 - wx) * (1.0 - wy)), (i + 3, wx * (1.0 - wy)), (j, (1.0 - wx) * wy), (j + 3, wx * wy)];
        for (i, k) in taps {
            let px = &raw[i..i + 3];
            out[0] += k * px[0] as f32;
            out[1] += k * px[1] as f32;
            out[2] += k * px[2] as f32;
        }
        return out;
    }
    for (dy, wy) in [(0, 1.0 - wy), (1, wy)] {
        let yy = y0 + dy;
        if wy == 0.0 || yy < 0 || yy >= h {
            continue;
        }
        for (dx, wx) in [(0, 1.0 - wx), (1, wx)] {
            let xx = x0 + dx;
            if wx == 0.0 || xx < 0 || xx >= w {
                continue;
            }
            let i = ((yy * w + xx) * 3) as usize;
            let k = wx * wy;
            out[0] += k * raw[i] as f32;
            out[1] += k * raw[i + 1] as f32;
            out[2] += k * raw[i + 2] as f32;
        }
    }
    out
}

/// Resamples `img` through `map` into an `out_w × out_h` NHWC float buffer, applying
/// `normalise` to each 0–255 channel value.
pub fn sample_nhwc(
    img: &RgbImage,
    map: &Affine,
    out_w: usize,
    out_h: usize,
    normalise: impl Fn(f32) -> f32,
) -> Vec<f32> {
    let mut map = *map;
    let mut halved: Option<RgbImage> = None;
    while map.footprint() >= 2.0 {
        let src = halved.as_ref().unwrap_or(img);
        if src.width() < 2 || src.height() < 2 {
            break;
        }
        halved = Some(halve(src));
        map = map.onto_scaled(0.5);
    }
    let img = halved.as_ref().unwrap_or(img);
    // Supersample when still shrinking: n×n bilinear taps per output pixel.
    let n = map.footprint().ceil().clamp(1.0, 4.0) as usize;
    let inv = 1.0 / (n * n) as f32;
    // Sub-sample offsets within an output pixel, divided once rather than per tap.
    let offsets: Vec<f32> = (0..n).map(|s| (s as f32 + 0.5) / n as f32).collect();
    let region = Region::around(img, &map, out_w, out_h);
    let mut out = Vec::with_capacity(out_w * out_h * 3);
    for v in 0..out_h {
        for u in 0..out_w {
            let mut acc = [0.0f32; 3];
            for &oj in &offsets {
                for &oi in &offsets {
                    let (x, y) = map.apply(u as f32 + oi, v as f32 + oj);
                    let s = region.tap(x, y).unwrap_or_else(|| bilinear(img, x, y));
                    acc[0] += s[0];
                    acc[1] += s[1];
                    acc[2] += s[2];
                }
            }
            out.extend(acc.iter().map(|c| normalise(c * inv)));
        }
    }
    out
}

/// The image at half size, each pixel the mean of a 2×2 block (an odd last row or column is
/// dropped). Pixel centres map exactly: `x_half = x / 2`.
fn halve(img: &RgbImage) -> RgbImage {
    let (w, h) = (img.width() / 2, img.height() / 2);
    let raw = img.as_raw();
    let stride = img.width() as usize * 3;
    let mut out = Vec::with_capacity(w as usize * h as usize * 3);
    for y in 0..h as usize {
        let (r0, r1) = (2 * y * stride, (2 * y + 1) * stride);
        for x in 0..w as usize {
            for ch in 0..3 {
                let i = 6 * x + ch;
                let sum = u16::from(raw[r0 + i])
                    + u16::from(raw[r0 + i + 3])
                    + u16::from(raw[r1 + i])
                    + u16::from(raw[r1 + i + 3]);
                out.push(((sum + 2) / 4) as u8);
            }
        }
    }
    RgbImage::from_raw(w, h, out).expect("sized above")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, 100]))
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
    fn halving_keeps_pixel_centres_in_place() {
        let img = gradient(8, 6);
        let half = halve(&img);
        assert_eq!(half.dimensions(), (4, 3));
        // Block x ∈ {2, 3} averages to 2.5 → 3 (rounded); its centre is at source x = 3.
        assert_eq!(half.get_pixel(1, 0).0, [3, 1, 100]);
    }

    #[test]
    fn shrinking_averages_the_footprint() {
        // A 1-px checkerboard shrunk 4× must come out mid-grey, not aliased to one phase.
        let img = RgbImage::from_fn(64, 64, |x, y| {
            let c = if (x + y) % 2 == 0 { 255 } else { 0 };
            image::Rgb([c, c, c])
        });
        let shrink = Affine { a: 4.0, b: 0.0, c: 0.0, d: 4.0, tx: 0.0, ty: 0.0 };
        let out = sample_nhwc(&img, &shrink, 16, 16, |c| c);
        for c in &out[3 * 17..3 * 18] {
            assert!((c - 127.5).abs() < 20.0, "got {c}");
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
    fn inside_the_image_bilinear_weights_the_four_neighbours() {
        let img = RgbImage::from_fn(7, 5, |x, y| image::Rgb([(x * 30) as u8, (y * 40) as u8, (x * y) as u8]));
        for (x, y) in [(1.3f32, 2.9f32), (3.5, 2.5), (6.2, 4.1), (0.7, 0.5)] {
            let s = bilinear(&img, x, y);
            let (fx, fy) = (x - 0.5, y - 0.5);
            let px = |i: f32, j: f32| img.get_pixel(i as u32, j as u32).0.map(f32::from);
            let (x0, y0, wx, wy) = (fx.floor(), fy.floor(), fx - fx.floor(), fy - fy.floor());
            for (c, got) in s.iter().enumerate() {
                let want = px(x0, y0)[c] * (1.0 - wx) * (1.0 - wy)
                    + px(x0 + 1.0, y0)[c] * wx * (1.0 - wy)
                    + px(x0, y0 + 1.0)[c] * (1.0 - wx) * wy
                    + px(x0 + 1.0, y0 + 1.0)[c] * wx * wy;
                assert!((got - want).abs() < 1e-3, "({x}, {y}) channel {c}: {got} vs {want}");
            }
        }
    }

    #[test]
    fn the_widened_region_gives_the_same_bits_as_sampling_the_frame() {
        let img = RgbImage::from_fn(97, 61, |x, y| {
            image::Rgb([(x * 7 + y) as u8, (x * y) as u8, (255 - x * 2) as u8])
        });
        // Rotated and shifted so part of the crop falls outside the frame (black, slow path).
        let (s, c) = 0.4f32.sin_cos();
        for k in [0.6f32, 1.3, 1.9] {
            let map = Affine { a: k * c, b: -k * s, c: k * s, d: k * c, tx: 30.3, ty: -5.7 };
            let got = sample_nhwc(&img, &map, 40, 33, |v| v);
            let n = map.footprint().ceil().clamp(1.0, 4.0) as usize;
            let mut want = Vec::new();
            for v in 0..33 {
                for u in 0..40 {
                    let mut acc = [0.0f32; 3];
                    for sj in 0..n {
                        for si in 0..n {
                            let off = |s: usize| (s as f32 + 0.5) / n as f32;
                            let (x, y) = map.apply(u as f32 + off(si), v as f32 + off(sj));
                            let b = bilinear(&img, x, y);
                            (0..3).for_each(|ch| acc[ch] += b[ch]);
                        }
                    }
                    want.extend(acc.map(|a| a * (1.0 / (n * n) as f32)));
                }
            }
            assert!(got.iter().zip(&want).all(|(g, w)| g.to_bits() == w.to_bits()), "scale {k}");
            assert!(got.contains(&0.0) && got.iter().any(|&g| g > 10.0), "crosses the border");
        }
    }
}
