//! The part of a frame a resampling reads, widened once to four f32 lanes per pixel (RGB +
//! padding), so each bilinear tap is four 4-lane multiply-adds instead of twelve u8→f32
//! conversions and bounds checks.
//!
//! The region is taken at a pyramid *level*: at level `L` one region pixel is the mean of a
//! `2^L × 2^L` block of frame pixels (only the blocks the resampling reads are averaged, not
//! the whole frame). It extends up to two pixels past the frame's edges, filled with black, so
//! a tap near the border needs no special case: its outside neighbours read zero, exactly as
//! "black outside the frame" wants. The pixel buffer is kept from one call to the next.

use image::RgbImage;

use super::warp::{Affine, floor};

/// An RGBX f32 copy of a rectangle of the source image at one pyramid level.
#[derive(Debug, Clone, Default)]
pub(super) struct Region {
    x0: i64,
    y0: i64,
    w: i64,
    h: i64,
    px: Vec<[f32; 4]>,
    /// Column sums of one block row (integers; kept across calls).
    sums: Vec<u32>,
}

impl Region {
    /// Refills the region with the level-`level` pixels `map` (already in level coordinates)
    /// reads for an `out_w × out_h` output: its mapped corners plus the bilinear neighbours,
    /// clipped to the level image plus a 2-pixel black border. Empty for a non-finite map.
    pub(super) fn fill(&mut self, img: &RgbImage, level: u32, map: &Affine, out_w: usize, out_h: usize) {
        let corners =
            [(0, 0), (out_w, 0), (0, out_h), (out_w, out_h)].map(|(u, v)| map.apply(u as f32, v as f32));
        (self.x0, self.y0, self.w, self.h) = (0, 0, 0, 0);
        self.px.clear();
        if corners.iter().any(|(x, y)| !(x.is_finite() && y.is_finite())) {
            return;
        }
        let fold = |f: fn(f32, f32) -> f32, pick: fn(&(f32, f32)) -> f32| {
            corners.iter().map(pick).fold(pick(&corners[0]), f)
        };
        let (lw, lh) = (i64::from(img.width() >> level), i64::from(img.height() >> level));
        let clip = |v: f32, hi: i64| (v as i64).clamp(-2, hi + 2);
        let x0 = clip(fold(f32::min, |c| c.0).floor() - 2.0, lw);
        let x1 = clip(fold(f32::max, |c| c.0).ceil() + 2.0, lw);
        let y0 = clip(fold(f32::min, |c| c.1).floor() - 2.0, lh);
        let y1 = clip(fold(f32::max, |c| c.1).ceil() + 2.0, lh);
        if x1 <= x0 || y1 <= y0 {
            return;
        }
        (self.x0, self.y0, self.w, self.h) = (x0, y0, x1 - x0, y1 - y0);
        self.px.resize((self.w * self.h) as usize, [0.0; 4]);
        // The columns of the region that lie inside the level image.
        let (ix0, ix1) = (x0.max(0), x1.min(lw));
        for y in y0.max(0)..y1.min(lh) {
            let row = &mut self.px[((y - y0) * self.w) as usize..][..self.w as usize];
            if ix1 > ix0 {
                let inside = &mut row[(ix0 - x0) as usize..(ix1 - x0) as usize];
                block_means(img, level, y as usize, ix0 as usize, inside, &mut self.sums);
            }
        }
    }

    /// Bilinear sample at continuous level coordinates (pixel centres at `i + 0.5`); black
    /// outside the region (which covers the frame plus two pixels, so only a tap whose four
    /// neighbours all lie outside the frame can miss it).
    #[inline(always)]
    pub(super) fn tap(&self, x: f32, y: f32) -> [f32; 4] {
        let (fx, fy) = (x - 0.5, y - 0.5);
        let (x0, y0) = (floor(fx), floor(fy));
        let (wx, wy) = (fx - x0, fy - y0);
        let (xi, yi) = (x0 as i64 - self.x0, y0 as i64 - self.y0);
        let mut out = [0.0f32; 4];
        if xi < 0 || yi < 0 || xi + 1 >= self.w || yi + 1 >= self.h {
            return out;
        }
        let i = (yi * self.w + xi) as usize;
        let j = i + self.w as usize;
        let taps =
            [(i, (1.0 - wx) * (1.0 - wy)), (i + 1, wx * (1.0 - wy)), (j, (1.0 - wx) * wy), (j + 1, wx * wy)];
        for (i, k) in taps {
            let p = self.px[i];
            for c in 0..4 {
                out[c] += k * p[c];
            }
        }
        out
    }
}

/// Writes into `out` the level-`level` pixels of row `y`, columns `x0..x0 + out.len()`: each
/// the mean of its `2^level × 2^level` block of frame pixels (the frame pixel itself at 0).
fn block_means(img: &RgbImage, level: u32, y: usize, x0: usize, out: &mut [[f32; 4]], sums: &mut Vec<u32>) {
    let raw = img.as_raw();
    let stride = img.width() as usize * 3;
    if level == 0 {
        let row = &raw[y * stride + x0 * 3..][..out.len() * 3];
        for (o, p) in out.iter_mut().zip(row.chunks_exact(3)) {
            *o = [f32::from(p[0]), f32::from(p[1]), f32::from(p[2]), 0.0];
        }
        return;
    }
    let k = 1usize << level;
    let inv = 1.0 / (k * k) as f32;
    // Sum the block row's k rows bytewise (a loop that vectorises), then each block's k
    // columns. Integer sums are exact, as the f32 sums of small integers they replace were,
    // so the means are bit for bit the same.
    let width = out.len() * k * 3;
    sums.clear();
    sums.resize(width, 0);
    for sy in y * k..(y + 1) * k {
        for (s, &b) in sums.iter_mut().zip(&raw[sy * stride + x0 * k * 3..][..width]) {
            *s += u32::from(b);
        }
    }
    for (o, block) in out.iter_mut().zip(sums.chunks_exact(k * 3)) {
        let mut t = [0u32; 3];
        for p in block.chunks_exact(3) {
            for (t, &v) in t.iter_mut().zip(p) {
                *t += v;
            }
        }
        *o = [t[0] as f32 * inv, t[1] as f32 * inv, t[2] as f32 * inv, 0.0];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_means_are_the_plain_means_of_each_block_bit_for_bit() {
        let img = RgbImage::from_fn(40, 24, |x, y| {
            let v = (x * 37 + y * 101) as u8;
            image::Rgb([v, v.wrapping_mul(7), 255 - v])
        });
        let mut sums = Vec::new();
        for level in 1..=3u32 {
            let k = 1usize << level;
            let (x0, blocks) = (1, 40 / k - 1);
            for y in 0..24 / k {
                let mut got = vec![[9.0; 4]; blocks];
                block_means(&img, level, y, x0, &mut got, &mut sums);
                for (i, g) in got.iter().enumerate() {
                    let mut want = [0.0f32; 3];
                    for sy in y * k..(y + 1) * k {
                        for sx in (x0 + i) * k..(x0 + i + 1) * k {
                            let p = img.get_pixel(sx as u32, sy as u32).0;
                            for c in 0..3 {
                                want[c] += f32::from(p[c]);
                            }
                        }
                    }
                    let inv = 1.0 / (k * k) as f32;
                    assert_eq!(*g, [want[0] * inv, want[1] * inv, want[2] * inv, 0.0], "level {level}");
                }
            }
        }
    }
}
