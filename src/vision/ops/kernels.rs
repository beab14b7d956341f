//! The arithmetic of [`super::LgOp`]: quantize, depthwise 3×3, the (quantized or float)
//! convolution as a register-blocked product with its epilogue fused, 2×2 max-pooling and
//! concatenation. All tensors are NHWC.
//!
//! **Integer products in float registers.** A quantized convolution multiplies `x − x_zp`
//! (|·| ≤ 255, from uint8) by `w − w_zp` (|·| ≤ 255, from int8) and sums `K` of them. The
//! compiler admits a convolution only when `K · 255 · 255 < 2²⁴`, so every product and every
//! partial sum is an integer that `f32` holds exactly: the sum is the same integer an `i32`
//! accumulator would hold, whatever the order or fusing of the additions (a unit test checks
//! this against an `i32` reference). Every kernel path runs its quantized convolutions on an
//! integer kernel ([`super::int8`]) where the weights fit `i8`; this float form is the
//! reference those kernels equal bit for bit (they end in the same [`store`]), and it runs the
//! quantized convolutions whose weights do not fit and the float networks.

// Hot loops: an unchecked float-to-int cast and unchecked slicing, each justified in place.
#![allow(unsafe_code)]

use super::{DwStep, QConvStep, Shape};

/// Output channels per register block.
pub const NR: usize = 16;
/// Pixels per register block (4 × 16 floats = 8 AVX2 accumulators, of 16 registers). 6 was
/// marginally faster in one build and 28 % slower in a later one, when the 12 accumulators
/// left no room for the weights and LLVM reloaded them per multiply-add; 8 was slower too.
pub const MR: usize = 4;

/// `a · b + c`, fused or not; both are exact on the integer products of the convolution.
pub trait Madd {
    fn madd(a: f32, b: f32, c: f32) -> f32;
}

/// A fused multiply-add instruction (AVX2 + FMA on x86-64; always on aarch64).
pub struct Fused;
/// A multiply, then an add (x86-64 without FMA).
// On aarch64 the portable path fuses (its baseline has FMA): only the tests use this there.
#[cfg_attr(target_arch = "aarch64", allow(dead_code))]
pub struct Plain;

impl Madd for Fused {
    #[inline(always)]
    fn madd(a: f32, b: f32, c: f32) -> f32 {
        a.mul_add(b, c)
    }
}

impl Madd for Plain {
    #[inline(always)]
    fn madd(a: f32, b: f32, c: f32) -> f32 {
        a * b + c
    }
}

/// `Mul`, `Add`, `Clip(0, 255)`, `Cast` to uint8 (truncating), as the graph spells them.
pub fn quantize(src: &[f32], scale: f32, shift: f32, dst: &mut [u8]) {
    for (d, &x) in dst.iter_mut().zip(src) {
        *d = to_u8(x * scale + shift);
    }
}

/// `Clip(0, 255)` then a truncating `Cast` to uint8 (NaN becomes 0), in a form that
/// vectorises (a plain `as u8` is a saturating cast LLVM leaves scalar).
#[inline(always)]
fn to_u8(x: f32) -> u8 {
    #[allow(clippy::manual_clamp)] // clamp keeps NaN; max/min drop it, which the cast needs
    let x = x.max(0.0).min(255.0);
    // SAFETY: `max` and `min` return the non-NaN operand, so `x` is finite and in 0..=255.
    unsafe { x.to_int_unchecked::<i32>() as u8 }
}

/// What a depthwise convolution writes: uint8 (its `Clip(0, 255)` and `Cast` fused) or float.
pub trait DwOut: Copy {
    fn from_acc(acc: f32) -> Self;
}

impl DwOut for u8 {
    #[inline(always)]
    fn from_acc(acc: f32) -> Self {
        to_u8(acc)
    }
}

impl DwOut for f32 {
    #[inline(always)]
    fn from_acc(acc: f32) -> Self {
        acc
    }
}

/// Channels per block of the depthwise convolution: one AVX2 register (two NEON ones), so a
/// block's nine weights stay in registers along a row.
const DW: usize = 8;

/// Depthwise 3×3 convolution (float weights; for a uint8 output the next layer's
/// quantization is folded in). Each output is `bias`, then `M::madd` of the taps inside the
/// input in `(ky, kx)` order (padding taps are skipped, not added as zero).
///
/// Channels in blocks of [`DW`] (a last partial block overlaps the one before: it recomputes
/// a few channels, to the same values); each block runs along an output row, the row's
/// interior (window inside the input) with the block's weights in registers and no bounds
/// checks per pixel, its border pixels one by one. Fewer than [`DW`] channels go one by one.
#[inline(always)]
pub fn depthwise<M: Madd, T: DwOut>(d: &DwStep, src: &[f32], s: Shape, dst: &mut [T], o: Shape) {
    let (c, stride) = (s.c, d.stride);
    // Output columns whose 3-wide window lies inside the input.
    let x_lo = d.pad_left.div_ceil(stride).min(o.w);
    let x_hi = if s.w + d.pad_left >= 3 { (s.w + d.pad_left - 3) / stride + 1 } else { 0 };
    let xs = x_lo..x_hi.clamp(x_lo, o.w);
    for oy in 0..o.h {
        let y0 = (oy * stride) as isize - d.pad_top as isize;
        let ky = taps(y0, s.h);
        let rows: [&[f32]; 3] = std::array::from_fn(|dy| {
            if ky.contains(&dy) { &src[(y0 + dy as isize) as usize * s.w * c..][..s.w * c] } else { &[] }
        });
        let out = &mut dst[oy * o.w * c..][..o.w * c];
        if c < DW {
            for ox in 0..o.w {
                for ch in 0..c {
                    dw_pixel::<M, T, 1>(d, &rows, ky.clone(), s, ox, ch, out);
                }
            }
            continue;
        }
        for c0 in (0..c).step_by(DW) {
            let b = c0.min(c - DW);
            for ox in (0..xs.start).chain(xs.end..o.w) {
                dw_pixel::<M, T, DW>(d, &rows, ky.clone(), s, ox, b, out);
            }
            let r = DwRow {
                rows: &rows,
                w: std::array::from_fn(|t| d.weights[t * c + b..][..DW].try_into().expect("DW")),
                bias: d.bias[b..][..DW].try_into().expect("DW"),
                pad_left: d.pad_left,
                c,
                b,
            };
            match (ky.start, ky.end, stride) {
                (0, 3, 1) => r.run::<M, T, 0, 3, 1>(xs.clone(), out),
                (0, 3, 2) => r.run::<M, T, 0, 3, 2>(xs.clone(), out),
                (1, 3, 1) => r.run::<M, T, 1, 3, 1>(xs.clone(), out),
                (1, 3, 2) => r.run::<M, T, 1, 3, 2>(xs.clone(), out),
                (0, 2, 1) => r.run::<M, T, 0, 2, 1>(xs.clone(), out),
                (0, 2, 2) => r.run::<M, T, 0, 2, 2>(xs.clone(), out),
                _ => {
                    for ox in xs.clone() {
                        dw_pixel::<M, T, DW>(d, &rows, ky.clone(), s, ox, b, out);
                    }
                }
            }
        }
    }
}

/// Channels `ch..ch + L` of output pixel `ox` of a row (`rows`: the input rows of the window,
/// those outside the input empty), over the taps inside the input.
#[inline(always)]
fn dw_pixel<M: Madd, T: DwOut, const L: usize>(
    d: &DwStep,
    rows: &[&[f32]; 3],
    ky: std::ops::Range<usize>,
    s: Shape,
    ox: usize,
    ch: usize,
    out: &mut [T],
) {
    let c = s.c;
    let x0 = (ox * d.stride) as isize - d.pad_left as isize;
    let kx = taps(x0, s.w);
    let mut acc: [f32; L] = d.bias[ch..][..L].try_into().expect("L");
    for dy in ky {
        for dx in kx.clone() {
            let x: &[f32; L] = rows[dy][(x0 + dx as isize) as usize * c + ch..][..L].try_into().expect("L");
            let w: &[f32; L] = d.weights[(dy * 3 + dx) * c + ch..][..L].try_into().expect("L");
            for j in 0..L {
                acc[j] = M::madd(x[j], w[j], acc[j]);
            }
        }
    }
    for (o, a) in out[ox * c + ch..][..L].iter_mut().zip(acc) {
        *o = T::from_acc(a);
    }
}

/// One channel block (channels `b..b + DW`) of an output row's interior.
struct DwRow<'a> {
    rows: &'a [&'a [f32]; 3],
    /// The block's weights, `[ky · 3 + kx][lane]`.
    w: [[f32; DW]; 9],
    bias: [f32; DW],
    pad_left: usize,
    c: usize,
    b: usize,
}

impl DwRow<'_> {
    /// Output pixels `xs` (windows inside the input along the row), over input rows `Y0..Y1`
    /// of the window, with stride `S`: two pixels per step (two independent chains of
    /// multiply-adds; with stride 1 they share six of their loads), then the odd one.
    #[inline(always)]
    #[allow(clippy::needless_range_loop)] // `dy` also picks the weights
    fn run<M: Madd, T: DwOut, const Y0: usize, const Y1: usize, const S: usize>(
        &self,
        xs: std::ops::Range<usize>,
        out: &mut [T],
    ) {
        let (c, b) = (self.c, self.b);
        if xs.is_empty() {
            return;
        }
        let start = (xs.start * S).checked_sub(self.pad_left).expect("an interior pixel") * c + b;
        // One past the last input element the last pixel reads, in each row.
        let end = start + (xs.len() - 1) * S * c + 2 * c + DW;
        let rows: [&[f32]; 3] =
            std::array::from_fn(|dy| if (Y0..Y1).contains(&dy) { &self.rows[dy][..end] } else { &[] });
        assert!(b + DW <= c);
        // Pixel `i` reads `rows[dy][k..k + DW]` with `k = start + (i · S + dx) · c`,
        // `i < xs.len()`, `dx ≤ 2`, so `k + DW ≤ end`, the length of `rows[dy]` (checked by
        // the slicing above): what `tap` needs. `out[xs]` holds `xs.len()` pixels of `c`
        // channels, so the pairs are pixels 0..2⌊xs.len() / 2⌋ and the remainder the odd last.
        let mut pairs = out[xs.start * c..xs.end * c].chunks_exact_mut(2 * c);
        let mut at = start;
        for o in &mut pairs {
            let mut acc = [self.bias; 2];
            for dy in Y0..Y1 {
                for dx in 0..3 {
                    for (p, acc) in acc.iter_mut().enumerate() {
                        // SAFETY: pixel i = 2m + p of pair m, `at = start + 2m · S · c`, so
                        // `at + (p · S + dx) · c + DW ≤ end = rows[dy].len()` (see above).
                        unsafe { self.tap::<M>(acc, rows[dy], at + (p * S + dx) * c, dy * 3 + dx) };
                    }
                }
            }
            let (o0, o1) = o.split_at_mut(c);
            self.put(o0, acc[0]);
            self.put(o1, acc[1]);
            at += 2 * S * c;
        }
        let rest = pairs.into_remainder();
        if !rest.is_empty() {
            let mut acc = self.bias;
            for dy in Y0..Y1 {
                for dx in 0..3 {
                    // SAFETY: the odd last pixel, i = xs.len() − 1, so `at = start + i · S · c`
                    // and `at + dx · c + DW ≤ end = rows[dy].len()` (see above).
                    unsafe { self.tap::<M>(&mut acc, rows[dy], at + dx * c, dy * 3 + dx) };
                }
            }
            self.put(rest, acc);
        }
    }

    /// `acc[j] = madd(row[k + j], w[t][j], acc[j])`.
    ///
    /// # Safety
    /// `k + DW ≤ row.len()` (`run` checks it once for the whole row, not per tap).
    #[inline(always)]
    unsafe fn tap<M: Madd>(&self, acc: &mut [f32; DW], row: &[f32], k: usize, t: usize) {
        debug_assert!(k + DW <= row.len());
        // SAFETY: `k + DW <= row.len()`, the caller's promise.
        let x = unsafe { row.get_unchecked(k..k + DW) };
        for j in 0..DW {
            acc[j] = M::madd(x[j], self.w[t][j], acc[j]);
        }
    }

    /// Channels `b..b + DW` of one output pixel's `o`.
    #[inline(always)]
    fn put<T: DwOut>(&self, o: &mut [T], acc: [f32; DW]) {
        let o: &mut [T; DW] = (&mut o[self.b..self.b + DW]).try_into().expect("DW");
        for j in 0..DW {
            o[j] = T::from_acc(acc[j]);
        }
    }
}

/// The taps of a 3-wide window starting at `start` that fall inside `0..len`.
fn taps(start: isize, len: usize) -> std::ops::Range<usize> {
    let lo = (-start).clamp(0, 3) as usize;
    let hi = (len as isize - start).clamp(0, 3) as usize;
    lo..hi.max(lo)
}

/// An element a convolution reads: uint8 (as `x − x_zp`) or float (as is).
pub trait ConvIn: Copy {
    fn centred(self, zp: f32) -> f32;
}

impl ConvIn for u8 {
    #[inline(always)]
    fn centred(self, zp: f32) -> f32 {
        f32::from(self) - zp
    }
}

impl ConvIn for f32 {
    #[inline(always)]
    fn centred(self, _: f32) -> f32 {
        self
    }
}

/// The convolution's input as rows of `k` floats (`x − x_zp` for uint8), one per output pixel:
/// the pixels themselves for a 1×1 kernel, im2col rows (`(ky, kx, c)` order) otherwise, read
/// from a copy of the input padded with the zero point (so padding contributes 0).
pub fn input_rows<T: ConvIn>(
    c: &QConvStep,
    src: &[T],
    s: Shape,
    o: Shape,
    rows: &mut Vec<f32>,
    padded: &mut Vec<f32>,
) {
    if c.kernel == 1 && c.stride == 1 {
        rows.resize(src.len(), 0.0);
        for (r, &x) in rows.iter_mut().zip(src) {
            *r = x.centred(c.x_zp);
        }
        return;
    }
    let (pw, ph) = (s.w + c.pad_left + c.kernel, s.h + c.pad_top + c.kernel);
    padded.clear();
    padded.resize(ph * pw * s.c, 0.0);
    for y in 0..s.h {
        let dst = &mut padded[((y + c.pad_top) * pw + c.pad_left) * s.c..][..s.w * s.c];
        for (d, &x) in dst.iter_mut().zip(&src[y * s.w * s.c..][..s.w * s.c]) {
            *d = x.centred(c.x_zp);
        }
    }
    let run = c.kernel * s.c;
    rows.resize(o.h * o.w * c.k, 0.0);
    for (p, row) in rows.chunks_exact_mut(c.k).enumerate() {
        let (oy, ox) = (p / o.w, p % o.w);
        for (ky, part) in row.chunks_exact_mut(run).enumerate() {
            let at = ((oy * c.stride + ky) * pw + ox * c.stride) * s.c;
            part.copy_from_slice(&padded[at..at + run]);
        }
    }
}

/// The input of the integer path ([`super::int8`]): rows of `k4` bytes per output pixel
/// (`(ky, kx, c)` order, then zeros up to `k4`), read from a copy of the input padded with
/// the zero point `x_zp` (so padding contributes `x_zp · w`, which the path's correction
/// cancels as it does for every other element). Returns the rows: `src` itself for a 1×1,
/// stride-1 convolution whose channels are a multiple of 4, otherwise `rows` filled.
pub fn input_rows_u8<'a>(
    c: &QConvStep,
    k4: usize,
    src: &'a [u8],
    s: Shape,
    o: Shape,
    rows: &'a mut Vec<u8>,
    padded: &mut Vec<u8>,
) -> &'a [u8] {
    if c.kernel == 1 && c.stride == 1 && k4 == s.c {
        return src;
    }
    // The zero point is an integer in 0..=255 (the compiler admits no other for this path).
    let zp = c.x_zp as u8;
    let (pw, ph) = (s.w + c.pad_left + c.kernel, s.h + c.pad_top + c.kernel);
    // SLACK bytes after both buffers: a run of at most SLACK bytes (the first layer's 3 × 3
    // channels) is copied as one fixed-size block instead of a call to memcpy.
    const SLACK: usize = 16;
    padded.clear();
    padded.resize(ph * pw * s.c + SLACK, zp);
    for y in 0..s.h {
        let at = ((y + c.pad_top) * pw + c.pad_left) * s.c;
        padded[at..at + s.w * s.c].copy_from_slice(&src[y * s.w * s.c..][..s.w * s.c]);
    }
    let run = c.kernel * s.c;
    let len = o.h * o.w * k4;
    rows.clear();
    rows.resize(len + SLACK, 0);
    for p in 0..o.h * o.w {
        let (oy, ox, row) = (p / o.w, p % o.w, p * k4);
        for ky in 0..c.kernel {
            let (at, to) = (((oy * c.stride + ky) * pw + ox * c.stride) * s.c, row + ky * run);
            if run <= SLACK {
                // Spills up to SLACK − run bytes past the run: into the rest of this row (the
                // next tap's copy or the zeroing below overwrites them), or into the next
                // row's first SLACK bytes, which its own first copy overwrites.
                let block: &[u8; SLACK] = padded[at..at + SLACK].try_into().expect("slack");
                rows[to..to + SLACK].copy_from_slice(block);
            } else {
                rows[to..to + run].copy_from_slice(&padded[at..at + run]);
            }
        }
        rows[row + c.k..row + k4].fill(0);
    }
    &rows[..len]
}

/// The convolution on [`input_rows`], with requantization (round half to even, saturate) and
/// dequantization (quantized) or the bias (float), the residual `Add` and the activation fused
/// into its epilogue.
#[inline(always)]
pub fn qconv<M: Madd>(c: &QConvStep, rows: &[f32], res: Option<&[f32]>, dst: &mut [f32]) {
    let k = c.k;
    let pixels = rows.len() / k;
    for p0 in (0..pixels).step_by(MR) {
        let count = (pixels - p0).min(MR);
        let a: [&[f32]; MR] = std::array::from_fn(|i| &rows[(p0 + i.min(count - 1)) * k..][..k]);
        for (nb, w) in c.weights.chunks_exact(k * NR).enumerate() {
            let acc = micro::<M>(&a, w, k);
            for (i, acc) in acc.into_iter().enumerate().take(count) {
                store(c, p0 + i, nb * NR, acc, res, dst);
            }
        }
    }
}

/// Pixel `p`'s sums for output channels `n0..n0 + NR` (`Σ (x − x_zp) · w`, or the float
/// products) through the [`epilogue`] into `dst`; channels beyond `n` are dropped. The
/// integer paths' NEON kernels ([`super::int8`]) end in it too.
#[inline(always)]
pub fn store(c: &QConvStep, p: usize, n0: usize, acc: [f32; NR], res: Option<&[f32]>, dst: &mut [f32]) {
    let width = (c.n - n0).min(NR);
    let at = p * c.n + n0;
    let (r_at, r_width) = (p * c.res_c + n0, c.res_c.saturating_sub(n0).min(width));
    // A block wholly past the residual's channels adds nothing; for the last pixel its start
    // `r_at` would lie past the residual's end (when `n0 > res_c`).
    let res = res.filter(|_| r_width > 0).map(|r| &r[r_at..r_at + r_width]);
    if width == NR {
        let out: &mut [f32; NR] = (&mut dst[at..at + NR]).try_into().expect("NR");
        epilogue(c, n0, acc, res, out);
    } else {
        let mut v = [0f32; NR];
        epilogue(c, n0, acc, res, &mut v);
        dst[at..at + width].copy_from_slice(&v[..width]);
    }
}

/// One register block: [`MR`] pixels × [`NR`] output channels over the whole inner dimension.
#[inline(always)]
fn micro<M: Madd>(a: &[&[f32]; MR], w: &[f32], k: usize) -> [[f32; NR]; MR] {
    let mut acc = [[0f32; NR]; MR];
    let a = a.map(|r| &r[..k]);
    let w = &w[..k * NR];
    for kk in 0..k {
        let wv: &[f32; NR] = w[kk * NR..][..NR].try_into().expect("NR");
        for i in 0..MR {
            let av = a[i][kk];
            for j in 0..NR {
                acc[i][j] = M::madd(av, wv[j], acc[i][j]);
            }
        }
    }
    acc
}

/// Requantize (round half to even, saturate) and dequantize — or, for a float convolution, add
/// the bias — then add the residual (zero beyond its channels), then PRelu or Relu. In float:
/// `acc + bias` is an integer below 2²⁴ (the compiler checks), so this is the integer formula;
/// `clamp(round(v) + zp, 0, 255) − zp` is written as `clamp(round(v), −zp, 255 − zp)`.
#[inline(always)]
fn epilogue(c: &QConvStep, n0: usize, acc: [f32; NR], res: Option<&[f32]>, out: &mut [f32; NR]) {
    let bias: &[f32; NR] = c.bias[n0..][..NR].try_into().expect("NR");
    if let Some(q) = &c.requant {
        let (lo, hi) = (-q.y_zp, 255.0 - q.y_zp);
        for j in 0..NR {
            out[j] = round_ties_even_small(((acc[j] + bias[j]) * q.mult).max(lo).min(hi)) * q.deq_scale;
        }
    } else {
        for j in 0..NR {
            out[j] = acc[j] + bias[j];
        }
    }
    if let Some(r) = res {
        for (v, r) in out.iter_mut().zip(r) {
            *v += *r;
        }
    }
    if let Some((pos, lin)) = &c.prelu {
        let (pos, lin): (&[f32; NR], &[f32; NR]) =
            (pos[n0..][..NR].try_into().expect("NR"), lin[n0..][..NR].try_into().expect("NR"));
        for j in 0..NR {
            out[j] = out[j].max(0.0) * pos[j] + out[j] * lin[j];
        }
    }
    if c.relu {
        for v in out.iter_mut() {
            *v = v.max(0.0);
        }
    }
}

/// `v.round_ties_even()` for `|v| ≤ 2²²` (here `v` is clamped to `−255..=255` first: clamping
/// to integer bounds and rounding commute). Adding and subtracting 1.5 · 2²³ leaves no
/// fraction bits, so the FPU's round-to-nearest-even does the rounding, in any vector width;
/// `round_ties_even` itself is a call to libm's `rintf` per element on x86-64 without SSE4.1.
#[inline(always)]
fn round_ties_even_small(v: f32) -> f32 {
    const MAGIC: f32 = 12_582_912.0; // 1.5 · 2²³
    (v + MAGIC) - MAGIC
}

/// 2×2 max-pooling with stride 2, then zero channels up to `o.c` (the graph's channel `Pad`).
pub fn maxpool_pad(src: &[f32], s: Shape, dst: &mut [f32], o: Shape) {
    for oy in 0..o.h {
        for ox in 0..o.w {
            let out = &mut dst[(oy * o.w + ox) * o.c..][..o.c];
            let at = |dy: usize, dx: usize| ((2 * oy + dy) * s.w + 2 * ox + dx) * s.c;
            let (a, b, c, d) = (at(0, 0), at(0, 1), at(1, 0), at(1, 1));
            let (top, bottom) = (&src[a..b + s.c], &src[c..d + s.c]);
            let (pooled, pad) = out.split_at_mut(s.c);
            let pairs = top[..s.c].iter().zip(&top[s.c..]).zip(bottom[..s.c].iter().zip(&bottom[s.c..]));
            for (o, ((a, b), (c, d))) in pooled.iter_mut().zip(pairs) {
                *o = a.max(*b).max(c.max(*d));
            }
            pad.fill(0.0);
        }
    }
}

#[cfg(test)]
mod rounding {
    /// The epilogue's rounding is `round_ties_even` on every value it can see: halves, values
    /// next to them, the clamp bounds and beyond, and signed zero's neighbours.
    #[test]
    fn rounding_small_values_is_round_half_to_even() {
        let mut v = -300.0f32;
        while v <= 300.0 {
            for x in [v, f32::from_bits(v.to_bits() + 1), f32::from_bits(v.to_bits().saturating_sub(1))] {
                let x = x.clamp(-255.0, 255.0);
                assert_eq!(super::round_ties_even_small(x), x.round_ties_even(), "{x}");
            }
            v += 0.125;
        }
    }
}
