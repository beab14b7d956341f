//! The integer path of a quantized convolution: `u8 · i8` products summed four at a time into
//! `i32` lanes by one instruction (x86-64 AVX-512 VNNI `vpdpbusd`: 64 multiply-adds, where
//! the float path's FMA does 8), from the uint8 activations as they are stored.
//!
//! `Σ (x − x_zp) · w` is computed as `Σ x · w − x_zp · Σ w`: the correction is a constant per
//! output channel ([`Int8Weights::zp_fix`]). Both sums are exact in `i32` (at most
//! `k · 255 · 128`), so the result is the same integer the float path holds exactly (the
//! compiler admits only convolutions whose sums stay below 2²⁴): it is converted to `f32` and
//! goes through the same epilogue, and the outputs are bit-identical to the float path's.

use super::QConvStep;
use super::kernels::NR;

/// A quantized convolution's weights for integer dot products.
#[derive(Debug)]
// Only x86-64 has the kernel that reads the weights (elsewhere `available()` is false).
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
pub struct Int8Weights {
    /// The inner dimension `k` rounded up to a multiple of 4 (the row stride of the input).
    pub k4: usize,
    /// `w − w_zp` as `[n / NR][k4 / 4][NR][4]`, zero beyond `k` and `n`.
    packed: Vec<i8>,
    /// `−x_zp · Σₖ (w − w_zp)` per output channel, `n` rounded up to a multiple of [`NR`].
    zp_fix: Vec<i32>,
}

impl Int8Weights {
    /// From weights `[n][c][ky][kx]` (already `w − w_zp`) and the input zero point; `None` when
    /// a weight does not fit `i8` or the zero point is not an integer in `0..=255`.
    pub fn new(w: &[f32], n: usize, c: usize, kernel: usize, x_zp: f32) -> Option<Self> {
        let fits = |v: f32| v.fract() == 0.0 && (-128.0..=127.0).contains(&v);
        let zp_fits = x_zp.fract() == 0.0 && (0.0..=255.0).contains(&x_zp);
        if !zp_fits || !w.iter().all(|&v| fits(v)) {
            return None;
        }
        let k = kernel * kernel * c;
        let k4 = k.div_ceil(4) * 4;
        let n_pad = n.div_ceil(NR) * NR;
        let mut packed = vec![0i8; n_pad * k4];
        let mut zp_fix = vec![0i32; n_pad];
        for o in 0..n {
            let mut sum = 0i32;
            for ch in 0..c {
                for t in 0..kernel * kernel {
                    let kk = t * c + ch;
                    let v = w[(o * c + ch) * kernel * kernel + t] as i32;
                    sum += v;
                    packed[((o / NR) * (k4 / 4) + kk / 4) * NR * 4 + (o % NR) * 4 + kk % 4] = v as i8;
                }
            }
            zp_fix[o] = -(x_zp as i32) * sum;
        }
        Some(Self { k4, packed, zp_fix })
    }
}

/// Whether this CPU has the integer path's instructions.
pub fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vnni")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The convolution on `rows` (`iw.k4` bytes per output pixel) with its epilogue into `dst`.
///
/// # Panics
/// If `rows` is not a whole number of rows or `dst` is too short (the caller sizes both).
#[cfg(target_arch = "x86_64")]
pub fn qconv(c: &QConvStep, iw: &Int8Weights, rows: &[u8], res: Option<&[f32]>, dst: &mut [f32]) {
    assert!(available(), "the integer path needs AVX-512 VNNI");
    assert_eq!(rows.len() % iw.k4, 0, "rows");
    assert!(dst.len() >= rows.len() / iw.k4 * c.n, "output");
    assert_eq!(iw.packed.len(), c.n.div_ceil(NR) * NR * iw.k4, "weights");
    // SAFETY: the CPU has the target features (checked above); `x86::qconv` reads `rows` and
    // `iw.packed` only within the lengths asserted here.
    unsafe { x86::qconv(c, iw, rows, res, dst) }
}

/// Elsewhere [`available`] is false and nothing calls this.
#[cfg(not(target_arch = "x86_64"))]
pub fn qconv(_: &QConvStep, _: &Int8Weights, _: &[u8], _: Option<&[f32]>, _: &mut [f32]) {
    unreachable!("the integer path needs AVX-512 VNNI (x86-64)")
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::super::QConvStep;
    use super::super::kernels::NR;
    use super::Int8Weights;

    /// Pixels per register block: 4 pixels × 2 channel blocks = 8 of the 32 zmm registers
    /// accumulate, so the weights and the broadcasts stay in registers.
    const MR: usize = 4;

    /// # Safety
    /// The CPU has AVX-512F, BW and VNNI; `rows` is a whole number of `iw.k4`-byte rows,
    /// `iw.packed` holds `ceil(n / NR) · NR · k4` weights and `dst` all outputs (as
    /// [`super::qconv`] asserts).
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub unsafe fn qconv(c: &QConvStep, iw: &Int8Weights, rows: &[u8], res: Option<&[f32]>, dst: &mut [f32]) {
        let pixels = rows.len() / iw.k4;
        let blocks = c.n.div_ceil(NR);
        for p0 in (0..pixels).step_by(MR) {
            let count = (pixels - p0).min(MR);
            // Past the last pixel the block repeats it; those sums are not stored.
            let mut a = [rows.as_ptr(); MR];
            for (i, a) in a.iter_mut().enumerate() {
                *a = rows[(p0 + i.min(count - 1)) * iw.k4..].as_ptr();
            }
            let mut nb = 0;
            while nb < blocks {
                let (acc, b) = if nb + 2 <= blocks {
                    // SAFETY: as this function's contract, blocks nb and nb + 1 exist.
                    (unsafe { block::<2>(&a, iw, nb) }, 2)
                } else {
                    // SAFETY: as above, block nb exists.
                    let one = unsafe { block::<1>(&a, iw, nb) };
                    (one.map(|[v]| [v, v]), 1)
                };
                for (i, acc) in acc.iter().enumerate().take(count) {
                    for (j, &v) in acc.iter().enumerate().take(b) {
                        // SAFETY: block nb + j exists; pixel p0 + i is below `pixels`.
                        unsafe { epilogue(c, iw, p0 + i, (nb + j) * NR, v, res, dst) };
                    }
                }
                nb += b;
            }
        }
    }

    /// [`super::super::kernels`]' epilogue on 16 lanes: the sums `v` (`Σ x · w`) of pixel `p`,
    /// channels `n0..n0 + 16`, corrected to `Σ (x − x_zp) · w`, then requantized and
    /// dequantized (or biased), the residual added, PRelu or Relu, stored up to channel `n`.
    /// The same float operations in the same order as the portable epilogue (a result may
    /// differ only in the sign of a zero).
    ///
    /// # Safety
    /// As [`qconv`]; `n0 < n` and pixel `p` is in `dst` (and in `res`, when given).
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    unsafe fn epilogue(
        c: &QConvStep,
        iw: &Int8Weights,
        p: usize,
        n0: usize,
        v: __m512i,
        res: Option<&[f32]>,
        dst: &mut [f32],
    ) {
        let mask = |width: usize| if width >= NR { !0 } else { ((1u32 << width) - 1) as __mmask16 };
        // SAFETY (all loads below): `zp_fix`, `bias`, `pos` and `lin` hold a multiple of NR
        // values covering channel n0's block.
        let fix = unsafe { _mm512_loadu_si512(iw.zp_fix.as_ptr().add(n0).cast()) };
        let bias = unsafe { _mm512_loadu_ps(c.bias.as_ptr().add(n0)) };
        let mut y = _mm512_add_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(v, fix)), bias);
        if let Some(q) = &c.requant {
            let y_scaled = _mm512_mul_ps(y, _mm512_set1_ps(q.mult));
            let r = _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(y_scaled);
            let r = _mm512_min_ps(_mm512_max_ps(r, _mm512_set1_ps(-q.y_zp)), _mm512_set1_ps(255.0 - q.y_zp));
            y = _mm512_mul_ps(r, _mm512_set1_ps(q.deq_scale));
        }
        if let Some(r) = res {
            let width = c.res_c.saturating_sub(n0).min(NR);
            if width > 0 {
                let m = mask(width);
                // SAFETY: pixel p's residual has `res_c` channels; the mask stops at them.
                let r = unsafe { _mm512_maskz_loadu_ps(m, r[p * c.res_c + n0..].as_ptr()) };
                y = _mm512_mask_add_ps(y, m, y, r);
            }
        }
        if let Some((pos, lin)) = &c.prelu {
            let (pos, lin) =
                unsafe { (_mm512_loadu_ps(pos.as_ptr().add(n0)), _mm512_loadu_ps(lin.as_ptr().add(n0))) };
            let plus = _mm512_mul_ps(_mm512_max_ps(y, _mm512_setzero_ps()), pos);
            y = _mm512_add_ps(plus, _mm512_mul_ps(y, lin));
        }
        if c.relu {
            y = _mm512_max_ps(y, _mm512_setzero_ps());
        }
        let out = &mut dst[p * c.n + n0..];
        // SAFETY: the mask covers `min(n − n0, 16)` floats, all inside `out`.
        unsafe { _mm512_mask_storeu_ps(out.as_mut_ptr(), mask(c.n - n0), y) };
    }

    /// `B` channel blocks of [`MR`] pixels over the whole inner dimension: `Σ x · w` in `i32`.
    ///
    /// # Safety
    /// Each `a[i]` points at `iw.k4` readable bytes; blocks `nb..nb + B` exist in `iw.packed`.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    unsafe fn block<const B: usize>(a: &[*const u8; MR], iw: &Int8Weights, nb: usize) -> [[__m512i; B]; MR] {
        let quads = iw.k4 / 4;
        let mut acc = [[_mm512_setzero_si512(); B]; MR];
        let w = iw.packed.as_ptr();
        for q in 0..quads {
            let mut wv = [_mm512_setzero_si512(); B];
            for (b, wv) in wv.iter_mut().enumerate() {
                // SAFETY: block nb + b, quad q: 64 bytes inside `packed` (the contract).
                *wv = unsafe { _mm512_loadu_si512(w.add(((nb + b) * quads + q) * NR * 4).cast()) };
            }
            for i in 0..MR {
                // SAFETY: 4 bytes at 4q < k4 of row i (the contract).
                let x = unsafe { a[i].add(4 * q).cast::<i32>().read_unaligned() };
                let x = _mm512_set1_epi32(x);
                for b in 0..B {
                    acc[i][b] = _mm512_dpbusd_epi32(acc[i][b], x, wv[b]);
                }
            }
        }
        acc
    }
}
