//! The part of a frame a resampling reads, widened once to four f32 lanes per pixel (RGB +
//! padding), so each bilinear tap is four 4-lane multiply-adds instead of twelve u8→f32
//! conversions and bounds checks. The arithmetic is the same as `warp::bilinear`'s inside the
//! image (same weights, same order), so crops are bit-identical; taps whose neighbours leave
//! the region fall back to it.

use image::RgbImage;

use super::warp::{Affine, floor};

/// An RGBX f32 copy of a rectangle of the source image.
pub(super) struct Region {
    x0: i64,
    y0: i64,
    w: i64,
    h: i64,
    px: Vec<[f32; 4]>,
}

impl Region {
    /// The pixels `map` reads for an `out_w × out_h` output (its mapped corners plus the
    /// bilinear neighbours), clipped to the image; empty for a non-finite map.
    pub(super) fn around(img: &RgbImage, map: &Affine, out_w: usize, out_h: usize) -> Self {
        let corners =
            [(0, 0), (out_w, 0), (0, out_h), (out_w, out_h)].map(|(u, v)| map.apply(u as f32, v as f32));
        let empty = Self { x0: 0, y0: 0, w: 0, h: 0, px: Vec::new() };
        if corners.iter().any(|(x, y)| !(x.is_finite() && y.is_finite())) {
            return empty;
        }
        let fold = |f: fn(f32, f32) -> f32, pick: fn(&(f32, f32)) -> f32| {
            corners.iter().map(pick).fold(pick(&corners[0]), f)
        };
        let (iw, ih) = (i64::from(img.width()), i64::from(img.height()));
        let clip = |v: f32, hi: i64| (v as i64).clamp(0, hi);
        let x0 = clip(fold(f32::min, |c| c.0).floor() - 2.0, iw);
        let x1 = clip(fold(f32::max, |c| c.0).ceil() + 2.0, iw);
        let y0 = clip(fold(f32::min, |c| c.1).floor() - 2.0, ih);
        let y1 = clip(fold(f32::max, |c| c.1).ceil() + 2.0, ih);
        if x1 <= x0 || y1 <= y0 {
            return empty;
        }
        let raw = img.as_raw();
        let mut px = Vec::with_capacity(((x1 - x0) * (y1 - y0)) as usize);
        for y in y0..y1 {
            let row = &raw[((y * iw + x0) * 3) as usize..((y * iw + x1) * 3) as usize];
            px.extend(row.chunks_exact(3).map(|p| [f32::from(p[0]), f32::from(p[1]), f32::from(p[2]), 0.0]));
        }
        Self { x0, y0, w: x1 - x0, h: y1 - y0, px }
    }

    /// `warp::bilinear(img, x, y)` when all four neighbours lie in the region, else `None`.
    #[inline(always)]
    pub(super) fn tap(&self, x: f32, y: f32) -> Option<[f32; 3]> {
        let (fx, fy) = (x - 0.5, y - 0.5);
        let (x0, y0) = (floor(fx), floor(fy));
        let (wx, wy) = (fx - x0, fy - y0);
        let (xi, yi) = (x0 as i64 - self.x0, y0 as i64 - self.y0);
        if xi < 0 || yi < 0 || xi + 1 >= self.w || yi + 1 >= self.h {
            return None;
        }
        let i = (yi * self.w + xi) as usize;
        let j = i + self.w as usize;
        let taps =
            [(i, (1.0 - wx) * (1.0 - wy)), (i + 1, wx * (1.0 - wy)), (j, (1.0 - wx) * wy), (j + 1, wx * wy)];
        let mut out = [0.0f32; 4];
        for (i, k) in taps {
            let p = self.px[i];
            for c in 0..4 {
                out[c] += k * p[c];
            }
        }
        Some([out[0], out[1], out[2]])
    }
}
