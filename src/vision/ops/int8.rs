//! The integer path of a quantized convolution: `u8 · i8` products summed in `i32` lanes, from
//! the uint8 activations as they are stored (rows of [`Int8Weights::k4`] bytes per output
//! pixel, [`super::kernels::input_rows_u8`]). Four kernels ([`IntKernel`]):
//!
//! - `Pairs`, for every CPU: `x − x_zp` and `w` as `i16`, two products summed per `i32` lane
//!   (SSE2 `pmaddwd` on x86-64's baseline, `vpmaddwd` on its AVX2 path, generic Rust
//!   elsewhere), computing `Σ (x − x_zp) · w` directly;
//! - x86-64 AVX-512 VNNI (`vpdpbusd`: 64 multiply-adds per instruction, where the float path's
//!   FMA does 8) computes `Σ x · w` on the unsigned bytes;
//! - aarch64 with the dot product (`sdot`, Cortex-A76 / Pi 5: 16 multiply-adds per
//!   instruction) computes `Σ (x − 128) · w` on the bytes shifted to signed (`x ^ 0x80`);
//! - aarch64 without it (Cortex-A72 / Pi 4) widens both to `i16` and multiply-accumulates
//!   into `i32` (`smlal`), computing `Σ (x − x_zp) · w` directly.
//!
//! Each kernel's sum differs from `Σ (x − x_zp) · w` by a constant per output channel
//! ([`Int8Weights::zp_fix`]): `Σ x·w − x_zp·Σw`, `Σ (x−128)·w + (128 − x_zp)·Σw`, or nothing
//! (`Neon`, `Pairs`).
//! Every sum is exact in `i32` (at most `k · 255 · 128` in magnitude), so the result is the
//! same integer the float path holds exactly (the compiler admits only convolutions whose sums
//! stay below 2²⁴): it is converted to `f32` and goes through the same epilogue, and the
//! outputs are bit-identical to the float path's.

// SIMD kernels: `std::arch` intrinsics, raw-pointer loads and inline assembly, run only where
// the CPU's features were detected.
#![allow(unsafe_code)]

use super::QConvStep;
use super::kernels::NR;

/// Which integer kernel a convolution's weights are packed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntKernel {
    /// x86-64 AVX-512 VNNI; weights as `[n / NR][k4 / 4][NR][4]` `i8`.
    Vnni,
    /// aarch64 `sdot`; weights packed as for [`IntKernel::Vnni`].
    NeonDot,
    /// aarch64 widening `i16 × i16 → i32` multiply-accumulate; weights as `[n / NR][k4][NR]`
    /// `i16`.
    Neon,
    /// Generic Rust for any CPU, as the target's baseline compiles it (or AVX2, for x86-64's
    /// `avx2` path): `x − x_zp` and `w` as `i16`, products summed in pairs into `i32` lanes
    /// (the shape of x86's `pmaddwd`); weights as `[n / NR][k4 / 2][NR][2]` `i16`.
    Pairs,
}

/// A quantized convolution's weights for integer dot products.
#[derive(Debug)]
// Only the target's own kernels read the weights (elsewhere their `available()` is false).
#[cfg_attr(not(any(target_arch = "x86_64", target_arch = "aarch64")), allow(dead_code))]
pub struct Int8Weights {
    /// The inner dimension `k` rounded up to a multiple of 4 (the row stride of the input).
    pub k4: usize,
    /// The kernel the weights are packed for.
    pub kernel: IntKernel,
    /// The input zero point (read by the `Neon` and `Pairs` kernels).
    x_zp: u8,
    /// `w − w_zp` as `[n / NR][k4 / 4][NR][4]`, zero beyond `k` and `n` (`Vnni`, `NeonDot`).
    packed: Vec<i8>,
    /// `w − w_zp` as `[n / NR][k4][NR]` (`Neon`) or `[n / NR][k4 / 2][NR][2]` (`Pairs`),
    /// zero beyond `k` and `n`.
    wide: Vec<i16>,
    /// Per output channel, `n` rounded up to a multiple of [`NR`]: what turns the kernel's sum
    /// into `Σ (x − x_zp) · w` (`−x_zp · Σ w` for `Vnni`, `(128 − x_zp) · Σ w` for `NeonDot`,
    /// 0 for `Neon`).
    zp_fix: Vec<i32>,
}

impl Int8Weights {
    /// From weights `[n][c][ky][kx]` (already `w − w_zp`) and the input zero point, for
    /// `kernel`; `None` when a weight does not fit `i8` or the zero point is not an integer in
    /// `0..=255`.
    pub fn new(
        w: &[f32],
        n: usize,
        c: usize,
        kernel_size: usize,
        x_zp: f32,
        kernel: IntKernel,
    ) -> Option<Self> {
        let fits = |v: f32| v.fract() == 0.0 && (-128.0..=127.0).contains(&v);
        let zp_fits = x_zp.fract() == 0.0 && (0.0..=255.0).contains(&x_zp);
        if !zp_fits || !w.iter().all(|&v| fits(v)) {
            return None;
        }
        let ks = kernel_size;
        let k = ks * ks * c;
        let k4 = k.div_ceil(4) * 4;
        let n_pad = n.div_ceil(NR) * NR;
        let (mut packed, mut wide) = (vec![], vec![]);
        match kernel {
            IntKernel::Vnni | IntKernel::NeonDot => packed = vec![0i8; n_pad * k4],
            IntKernel::Neon | IntKernel::Pairs => wide = vec![0i16; n_pad * k4],
        }
        let mut zp_fix = vec![0i32; n_pad];
        for o in 0..n {
            let mut sum = 0i32;
            for ch in 0..c {
                for t in 0..ks * ks {
                    let kk = t * c + ch;
                    let v = w[(o * c + ch) * ks * ks + t] as i32;
                    sum += v;
                    match kernel {
                        IntKernel::Vnni | IntKernel::NeonDot => {
                            packed[((o / NR) * (k4 / 4) + kk / 4) * NR * 4 + (o % NR) * 4 + kk % 4] = v as i8;
                        }
                        IntKernel::Neon => wide[((o / NR) * k4 + kk) * NR + o % NR] = v as i16,
                        IntKernel::Pairs => {
                            wide[((o / NR) * (k4 / 2) + kk / 2) * NR * 2 + (o % NR) * 2 + kk % 2] = v as i16;
                        }
                    }
                }
            }
            zp_fix[o] = match kernel {
                IntKernel::Vnni => -(x_zp as i32) * sum,
                IntKernel::NeonDot => (128 - x_zp as i32) * sum,
                IntKernel::Neon | IntKernel::Pairs => 0,
            };
        }
        Some(Self { k4, kernel, x_zp: x_zp as u8, packed, wide, zp_fix })
    }
}

impl IntKernel {
    /// Whether this CPU has the kernel's instructions.
    pub fn available(self) -> bool {
        match self {
            #[cfg(target_arch = "x86_64")]
            Self::Vnni => {
                std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512bw")
                    && std::arch::is_x86_feature_detected!("avx512vnni")
            }
            #[cfg(target_arch = "aarch64")]
            Self::NeonDot => std::arch::is_aarch64_feature_detected!("dotprod"),
            // Advanced SIMD is part of every aarch64 CPU (and of the target's baseline).
            #[cfg(target_arch = "aarch64")]
            Self::Neon => true,
            Self::Pairs => true,
            #[allow(unreachable_patterns)] // every arm on a target without an integer kernel
            _ => false,
        }
    }
}

/// The convolution on `rows` (`iw.k4` bytes per output pixel) with its epilogue into `dst`,
/// on the kernel the weights were packed for.
///
/// # Panics
/// If this CPU lacks that kernel, `rows` is not a whole number of rows, `dst` is too short (the
/// caller sizes both) or the weights, bias, PRelu or residual do not fit `c`.
pub fn qconv(c: &QConvStep, iw: &Int8Weights, rows: &[u8], res: Option<&[f32]>, dst: &mut [f32]) {
    assert!(iw.kernel.available(), "this CPU cannot run the {:?} integer kernel", iw.kernel);
    assert_eq!(rows.len() % iw.k4, 0, "rows");
    let pixels = rows.len() / iw.k4;
    assert!(dst.len() >= pixels * c.n, "output");
    let n_pad = c.n.div_ceil(NR) * NR;
    assert_eq!(iw.zp_fix.len(), n_pad, "corrections");
    match iw.kernel {
        IntKernel::Vnni | IntKernel::NeonDot => assert_eq!(iw.packed.len(), n_pad * iw.k4, "weights"),
        IntKernel::Neon | IntKernel::Pairs => assert_eq!(iw.wide.len(), n_pad * iw.k4, "weights"),
    }
    // What the AVX-512 epilogue reads through raw pointers (the other kernels' epilogue,
    // `kernels::store`, slices them and would panic on the same shortfall).
    assert!(c.bias.len() >= n_pad, "bias");
    if let Some((pos, lin)) = &c.prelu {
        assert!(pos.len() >= n_pad && lin.len() >= n_pad, "PRelu");
    }
    if let Some(r) = res {
        assert!(r.len() >= pixels * c.res_c, "residual");
    }
    match iw.kernel {
        // SAFETY: `available()` (asserted above) detected AVX-512F, BW and VNNI on this CPU; the
        // asserts above are the rest of `x86::qconv`'s contract (rows, weights, corrections,
        // bias, PRelu, residual and output lengths).
        #[cfg(target_arch = "x86_64")]
        IntKernel::Vnni => unsafe { x86::qconv(c, iw, rows, res, dst) },
        // SAFETY: `available()` (asserted above) detected the dot product on this CPU; whole
        // `k4`-byte rows, `packed` of `n_pad · k4` and `dst` of all outputs are asserted above.
        #[cfg(target_arch = "aarch64")]
        IntKernel::NeonDot => unsafe { neon::qconv_dot(c, iw, rows, res, dst) },
        // SAFETY: NEON is part of every aarch64 CPU; whole `k4`-byte rows, `wide` of
        // `n_pad · k4` and `dst` of all outputs are asserted above.
        #[cfg(target_arch = "aarch64")]
        IntKernel::Neon => unsafe { neon::qconv_wide(c, iw, rows, res, dst) },
        #[cfg(target_arch = "x86_64")]
        IntKernel::Pairs => sse2::qconv(c, iw, rows, res, dst),
        #[cfg(not(target_arch = "x86_64"))]
        IntKernel::Pairs => pairs::qconv(c, iw, rows, res, dst),
        #[allow(unreachable_patterns)] // `available()` is false for the others (asserted)
        k => unreachable!("no {k:?} kernel on this target"),
    }
}

/// Every `MR`-pixel × [`NR`]-channel tile of a convolution on an integer kernel (all but
/// `Vnni`, which has its own AVX-512 epilogue): `block` sums the tile over the whole inner
/// dimension (given the tile's rows, `iw.k4` bytes each, and the channel block's index, below
/// `ceil(n / NR)`); the sums are corrected by `zp_fix` to `Σ (x − x_zp) · w`, converted to
/// `f32` (exact: below 2²⁴) and go through the portable epilogue (`kernels::store`): the float
/// path's operations in its order, so its bits. Past the last of a tile's pixels the last one
/// is repeated (computed, not stored).
#[inline(always)]
fn tiles<const MR: usize>(
    c: &QConvStep,
    iw: &Int8Weights,
    (rows, res, dst): (&[u8], Option<&[f32]>, &mut [f32]),
    mut block: impl FnMut(&[&[u8]; MR], usize) -> [[i32; NR]; MR],
) {
    let k4 = iw.k4;
    let pixels = rows.len() / k4;
    for p0 in (0..pixels).step_by(MR) {
        let count = (pixels - p0).min(MR);
        let a: [&[u8]; MR] = std::array::from_fn(|i| &rows[(p0 + i.min(count - 1)) * k4..][..k4]);
        for nb in 0..c.n.div_ceil(NR) {
            let acc = block(&a, nb);
            let fix: &[i32; NR] = iw.zp_fix[nb * NR..][..NR].try_into().expect("NR");
            for (i, acc) in acc.iter().enumerate().take(count) {
                let sums = std::array::from_fn(|j| (acc[j] + fix[j]) as f32);
                super::kernels::store(c, p0 + i, nb * NR, sums, res, dst);
            }
        }
    }
}

/// Channel block `nb` of the [`IntKernel::Pairs`] weights: `k4 · NR` of them.
#[inline(always)]
fn pairs_block(iw: &Int8Weights, nb: usize) -> &[i16] {
    &iw.wide[nb * iw.k4 * NR..][..iw.k4 * NR]
}

/// The [`IntKernel::Pairs`] kernel on x86-64's baseline, SSE2 (every x86-64 CPU has it):
/// `pmaddwd` multiplies 8 `i16` pairs and sums each pair into an `i32` lane, so one
/// instruction adds two `k` steps of 4 channels. The same instruction class as the Pi 4's
/// `neon` path (128-bit registers, `i16` products widened into `i32`, no dot product), so this
/// is what x86 measures for it. (LLVM's vectorisation of [`pairs`] kept the sums in memory.)
#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::*;

    use super::super::QConvStep;
    use super::super::kernels::NR;
    use super::Int8Weights;

    /// Pixels per register block: 2 pixels × 16 channels = 8 of the 16 registers accumulate,
    /// the broadcast inputs and the weights share the rest.
    const MR: usize = 2;

    /// [`super::qconv`] on the [`IntKernel::Pairs`](super::IntKernel::Pairs) weights.
    ///
    /// # Panics
    /// If `iw.wide` lacks a channel block or `dst` an output (every access is a checked slice).
    pub fn qconv(c: &QConvStep, iw: &Int8Weights, rows: &[u8], res: Option<&[f32]>, dst: &mut [f32]) {
        // SAFETY: SSE2 is part of every x86-64 CPU (the target's baseline). `tiles` passes
        // slices of exactly `k4` bytes and `pairs_block` a slice of exactly `k4 · NR` weights,
        // so each row has `w.len() / NR` bytes, as `block` requires.
        super::tiles::<MR>(c, iw, (rows, res, dst), |a, nb| unsafe {
            block(a, super::pairs_block(iw, nb), iw.x_zp)
        });
    }

    /// `Σ (x − x_zp) · w` of [`MR`] pixels × one channel block, 4 `k` at a time: the 4 bytes
    /// widened to `i16` minus the zero point, each pair broadcast to all lanes, `pmaddwd`
    /// against the block's interleaved pairs (each product at most 255 · 128, a pair's sum
    /// below 2¹⁷, the lane's sum exact in `i32`).
    ///
    /// # Safety
    /// Each `a[i]` has at least `w.len() / NR` bytes (`k4`, a multiple of 4). (SSE2, the
    /// target feature, is in every x86-64 CPU.)
    #[inline]
    #[target_feature(enable = "sse2")]
    unsafe fn block(a: &[&[u8]; MR], w: &[i16], x_zp: u8) -> [[i32; NR]; MR] {
        let k4 = w.len() / NR;
        let zp = _mm_set1_epi16(i16::from(x_zp));
        let zero = _mm_setzero_si128();
        let mut acc = [[zero; 4]; MR];
        let w = w.as_ptr().cast::<__m128i>();
        for q in 0..k4 / 4 {
            // SAFETY: `w` holds `k4 · NR = 16 · k4` `i16`; vector `8q + v` (8 `i16`, an
            // unaligned load; q < k4 / 4, v < 8) ends at element `8 · (8q + v + 1) ≤ 16 · k4`.
            let wq: [__m128i; 8] = std::array::from_fn(|v| unsafe { _mm_loadu_si128(w.add(q * 8 + v)) });
            for (i, row) in a.iter().enumerate() {
                // SAFETY: bytes 4q..4q + 4 lie within the row's first k4 bytes (q < k4 / 4, the
                // contract); an unaligned read.
                let b = unsafe { row.as_ptr().add(4 * q).cast::<i32>().read_unaligned() };
                let x = _mm_sub_epi16(_mm_unpacklo_epi8(_mm_cvtsi32_si128(b), zero), zp);
                let (x01, x23) = (_mm_shuffle_epi32::<0x00>(x), _mm_shuffle_epi32::<0x55>(x));
                for j in 0..4 {
                    acc[i][j] = _mm_add_epi32(acc[i][j], _mm_madd_epi16(x01, wq[j]));
                    acc[i][j] = _mm_add_epi32(acc[i][j], _mm_madd_epi16(x23, wq[4 + j]));
                }
            }
        }
        acc.map(|r| {
            let mut out = [0i32; NR];
            for (j, v) in r.into_iter().enumerate() {
                // SAFETY: j < 4 (four vectors per row): a 16-byte unaligned store into bytes
                // 16j..16j + 16 of the 64-byte array.
                unsafe { _mm_storeu_si128(out.as_mut_ptr().add(4 * j).cast(), v) };
            }
            out
        })
    }
}

/// The [`IntKernel::Pairs`] weights on AVX2 (x86-64's `avx2` path): `vpmaddwd` on 256-bit
/// registers, one instruction per two `k` steps of 8 channels.
#[cfg(target_arch = "x86_64")]
pub mod avx2 {
    use std::arch::x86_64::*;

    use super::super::QConvStep;
    use super::super::kernels::NR;
    use super::{Int8Weights, IntKernel};

    /// Pixels per register block: 4 pixels × 16 channels = 8 of the 16 registers accumulate.
    const MR: usize = 4;

    /// [`super::qconv`] on the [`IntKernel::Pairs`] weights with AVX2.
    ///
    /// # Panics
    /// As [`super::qconv`], if the weights are not packed for `Pairs` or this CPU lacks AVX2.
    pub fn qconv(c: &QConvStep, iw: &Int8Weights, rows: &[u8], res: Option<&[f32]>, dst: &mut [f32]) {
        assert!(std::arch::is_x86_feature_detected!("avx2"), "this CPU lacks AVX2");
        assert_eq!(iw.kernel, IntKernel::Pairs, "weights");
        assert_eq!(rows.len() % iw.k4, 0, "rows");
        assert!(dst.len() >= rows.len() / iw.k4 * c.n, "output");
        assert_eq!(iw.wide.len(), c.n.div_ceil(NR) * NR * iw.k4, "weights");
        // SAFETY: the CPU has AVX2 (asserted). `tiles` passes slices of exactly `k4` bytes and
        // `pairs_block` a slice of exactly `k4 · NR` weights, so each row has `w.len() / NR`
        // bytes, as `block` requires.
        super::tiles::<MR>(c, iw, (rows, res, dst), |a, nb| unsafe {
            block(a, super::pairs_block(iw, nb), iw.x_zp)
        });
    }

    /// `Σ (x − x_zp) · w` of [`MR`] pixels × one channel block, 4 `k` at a time (as the SSE2
    /// kernel, on twice the lanes).
    ///
    /// # Safety
    /// The CPU has AVX2; each `a[i]` has at least `w.len() / NR` bytes.
    #[target_feature(enable = "avx2")]
    unsafe fn block(a: &[&[u8]; MR], w: &[i16], x_zp: u8) -> [[i32; NR]; MR] {
        let k4 = w.len() / NR;
        let zp = _mm_set1_epi16(i16::from(x_zp));
        let mut acc = [[_mm256_setzero_si256(); 2]; MR];
        let w = w.as_ptr().cast::<__m256i>();
        for q in 0..k4 / 4 {
            // SAFETY: `w` holds `k4 · NR = 16 · k4` `i16`; vector `4q + v` (16 `i16`, an
            // unaligned load; q < k4 / 4, v < 4) ends at element `16 · (4q + v + 1) ≤ 16 · k4`.
            let wq: [__m256i; 4] = std::array::from_fn(|v| unsafe { _mm256_loadu_si256(w.add(q * 4 + v)) });
            for (i, row) in a.iter().enumerate() {
                // SAFETY: bytes 4q..4q + 4 lie within the row's first k4 bytes (q < k4 / 4, the
                // contract); an unaligned read.
                let b = unsafe { row.as_ptr().add(4 * q).cast::<i32>().read_unaligned() };
                let x = _mm_sub_epi16(_mm_unpacklo_epi8(_mm_cvtsi32_si128(b), _mm_setzero_si128()), zp);
                let x01 = _mm256_broadcastd_epi32(x);
                let x23 = _mm256_broadcastd_epi32(_mm_srli_si128::<4>(x));
                for j in 0..2 {
                    acc[i][j] = _mm256_add_epi32(acc[i][j], _mm256_madd_epi16(x01, wq[j]));
                    acc[i][j] = _mm256_add_epi32(acc[i][j], _mm256_madd_epi16(x23, wq[2 + j]));
                }
            }
        }
        acc.map(|r| {
            let mut out = [0i32; NR];
            // SAFETY: two 32-byte unaligned stores, bytes 0..32 and 32..64 of the 64-byte array.
            unsafe {
                _mm256_storeu_si256(out.as_mut_ptr().cast(), r[0]);
                _mm256_storeu_si256(out.as_mut_ptr().add(8).cast(), r[1]);
            }
            out
        })
    }
}

/// The [`IntKernel::Pairs`] kernel where no target-specific one exists: safe Rust whose inner
/// loop LLVM vectorises for whatever the target offers.
#[cfg(not(target_arch = "x86_64"))]
mod pairs {
    use super::super::QConvStep;
    use super::super::kernels::NR;
    use super::Int8Weights;

    /// Pixels per register block.
    const MR: usize = 4;

    pub fn qconv(c: &QConvStep, iw: &Int8Weights, rows: &[u8], res: Option<&[f32]>, dst: &mut [f32]) {
        let zp = i16::from(iw.x_zp);
        super::tiles::<MR>(c, iw, (rows, res, dst), |a, nb| block(a, super::pairs_block(iw, nb), zp));
    }

    /// `Σ (x − x_zp) · w` of [`MR`] pixels × one channel block: per pair of `k`, each
    /// channel's two products (at most 255 · 128 each) summed, then added to its `i32` lane.
    #[inline(always)]
    fn block(a: &[&[u8]; MR], w: &[i16], zp: i16) -> [[i32; NR]; MR] {
        let mut acc = [[0i32; NR]; MR];
        let k2 = w.len() / (2 * NR);
        let a = a.map(|r| &r[..2 * k2]);
        for kk in 0..k2 {
            let wv: &[i16; 2 * NR] = w[kk * 2 * NR..][..2 * NR].try_into().expect("2 NR");
            for i in 0..MR {
                let x0 = i32::from(i16::from(a[i][2 * kk]) - zp);
                let x1 = i32::from(i16::from(a[i][2 * kk + 1]) - zp);
                for j in 0..NR {
                    acc[i][j] += x0 * i32::from(wv[2 * j]) + x1 * i32::from(wv[2 * j + 1]);
                }
            }
        }
        acc
    }
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
    /// The CPU has AVX-512F, BW and VNNI; `rows` is a whole number of `iw.k4`-byte rows;
    /// `iw.packed`, `iw.zp_fix`, `c.bias` and PRelu's two vectors hold `ceil(n / NR) · NR`
    /// channels (times `k4` weights for `packed`); `res`, when given, holds `res_c` values per
    /// pixel and `dst` all outputs (as [`super::qconv`] asserts).
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
                    // SAFETY: the CPU has the features (the contract); each `a[i]` starts a row
                    // of `k4` bytes inside `rows`; nb + 2 ≤ ceil(n / NR), so blocks nb and
                    // nb + 1 exist in `packed` (the contract).
                    (unsafe { block::<2>(&a, iw, nb) }, 2)
                } else {
                    // SAFETY: as above; nb < ceil(n / NR), so block nb exists.
                    let one = unsafe { block::<1>(&a, iw, nb) };
                    (one.map(|[v]| [v, v]), 1)
                };
                for (i, acc) in acc.iter().enumerate().take(count) {
                    for (j, &v) in acc.iter().enumerate().take(b) {
                        // SAFETY: the CPU has the features; n0 = (nb + j) · NR is a multiple of
                        // NR below n (nb + j < ceil(n / NR)); pixel p0 + i is below `pixels`, so
                        // inside `dst` and `res` (the contract).
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
    /// As [`qconv`] (the CPU's features and the lengths); `n0` is a multiple of [`NR`] below
    /// `n`, and pixel `p` is in `dst` (and in `res`, when given).
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
        // SAFETY: `zp_fix` holds ceil(n / NR) · NR values and n0 is a multiple of NR below n:
        // 16 `i32` from n0 are inside it (the contract); an unaligned load.
        let fix = unsafe { _mm512_loadu_si512(iw.zp_fix.as_ptr().add(n0).cast()) };
        // SAFETY: as for `zp_fix`: `bias` holds ceil(n / NR) · NR values (the contract).
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
                // SAFETY: `res` holds `res_c` values for pixel p (the contract) and n0 < res_c;
                // the masked load touches only the first min(res_c − n0, 16) of them.
                let r = unsafe { _mm512_maskz_loadu_ps(m, r[p * c.res_c + n0..].as_ptr()) };
                y = _mm512_mask_add_ps(y, m, y, r);
            }
        }
        if let Some((pos, lin)) = &c.prelu {
            // SAFETY: as for `zp_fix`: `pos` and `lin` hold ceil(n / NR) · NR values each (the
            // contract).
            let (pos, lin) =
                unsafe { (_mm512_loadu_ps(pos.as_ptr().add(n0)), _mm512_loadu_ps(lin.as_ptr().add(n0))) };
            let plus = _mm512_mul_ps(_mm512_max_ps(y, _mm512_setzero_ps()), pos);
            y = _mm512_add_ps(plus, _mm512_mul_ps(y, lin));
        }
        if c.relu {
            y = _mm512_max_ps(y, _mm512_setzero_ps());
        }
        let out = &mut dst[p * c.n + n0..];
        // SAFETY: `dst` holds `n` outputs for pixel p (the contract), so `out` has at least
        // n − n0 floats; the masked store writes only min(n − n0, 16) of them.
        unsafe { _mm512_mask_storeu_ps(out.as_mut_ptr(), mask(c.n - n0), y) };
    }

    /// `B` channel blocks of [`MR`] pixels over the whole inner dimension: `Σ x · w` in `i32`.
    ///
    /// # Safety
    /// The CPU has AVX-512F, BW and VNNI; each `a[i]` points at `iw.k4` readable bytes; blocks
    /// `nb..nb + B` (`k4 · NR` bytes each) exist in `iw.packed`.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    unsafe fn block<const B: usize>(a: &[*const u8; MR], iw: &Int8Weights, nb: usize) -> [[__m512i; B]; MR] {
        let quads = iw.k4 / 4;
        let mut acc = [[_mm512_setzero_si512(); B]; MR];
        let w = iw.packed.as_ptr();
        for q in 0..quads {
            let mut wv = [_mm512_setzero_si512(); B];
            for (b, wv) in wv.iter_mut().enumerate() {
                // SAFETY: quad q < k4 / 4 of block nb + b: bytes 64 · ((nb + b) · k4 / 4 + q)
                // onwards, 64 of them, inside `packed` (the contract); an unaligned load.
                *wv = unsafe { _mm512_loadu_si512(w.add(((nb + b) * quads + q) * NR * 4).cast()) };
            }
            for i in 0..MR {
                // SAFETY: bytes 4q..4q + 4 ≤ k4 of row i (the contract); an unaligned read.
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

#[cfg(target_arch = "aarch64")]
mod neon {
    use std::arch::aarch64::*;

    use super::super::QConvStep;
    use super::super::kernels::NR;
    use super::Int8Weights;

    /// Pixels per register block: 4 pixels × 16 channels = 16 of the 32 vector registers
    /// accumulate (4 `i32` lanes each), the weights and the pixels' inputs take 8 more.
    const MR: usize = 4;

    /// One register block's sums: `[pixel][channels 4j..4j + 4]`.
    type Acc = [[int32x4_t; 4]; MR];

    /// `sdot acc.4s, a.16b, b.16b`: each `i32` lane `l` of `acc` plus the dot product of bytes
    /// `4l..4l + 4` of `a` and `b` (signed `i8 × i8`, summed exactly in `i32`). Inline assembly
    /// because the intrinsic (`vdotq_s32`) is unstable in Rust 1.95 (`stdarch_neon_dotprod`).
    ///
    /// # Safety
    /// The CPU has the dot-product extension (FEAT_DotProd).
    #[inline]
    #[target_feature(enable = "neon,dotprod")]
    unsafe fn sdot(mut acc: int32x4_t, a: int8x16_t, b: int8x16_t) -> int32x4_t {
        // SAFETY: register-only arithmetic (no memory, stack or flags); the instruction exists
        // on this CPU (the caller's promise).
        unsafe {
            std::arch::asm!(
                "sdot {acc:v}.4s, {a:v}.16b, {b:v}.16b",
                acc = inout(vreg) acc,
                a = in(vreg) a,
                b = in(vreg) b,
                options(pure, nomem, nostack, preserves_flags),
            );
        }
        acc
    }

    /// A register block's sums as `[pixel][channel]`.
    #[inline(always)]
    fn lanes(acc: Acc) -> [[i32; NR]; MR] {
        acc.map(|r| {
            let mut out = [0i32; NR];
            for (j, v) in r.into_iter().enumerate() {
                // SAFETY: j < 4 (an `Acc` row has four vectors): 4 `i32` into elements
                // 4j..4j + 4 of the 16-element array (NEON is in every aarch64 CPU).
                unsafe { vst1q_s32(out.as_mut_ptr().add(4 * j), v) };
            }
            out
        })
    }

    /// With the dot product (Cortex-A76): weights `[n / NR][k4 / 4][NR][4]`, so one quad of
    /// `k` is 4 registers of 4 channels × 4 bytes; the pixel's 4 bytes, shifted to signed
    /// (`x ^ 0x80` is `x − 128` as `i8`), are broadcast to the 4 lanes, and one `sdot` adds
    /// 16 products per register. The sum is `Σ (x − 128) · w`; `zp_fix` adds
    /// `(128 − x_zp) · Σ w`. Bound: each product is at most 128 · 128 = 2¹⁴ in magnitude and
    /// `sdot` sums in `i32`, so no intermediate narrows.
    ///
    /// # Safety
    /// The CPU has the dot product; `rows` is a whole number of `iw.k4`-byte rows,
    /// `iw.packed` holds `ceil(n / NR) · NR · k4` weights and `dst` all outputs (as
    /// [`super::qconv`] asserts).
    #[target_feature(enable = "neon,dotprod")]
    pub unsafe fn qconv_dot(
        c: &QConvStep,
        iw: &Int8Weights,
        rows: &[u8],
        res: Option<&[f32]>,
        dst: &mut [f32],
    ) {
        super::tiles::<MR>(c, iw, (rows, res, dst), |a, nb| {
            // SAFETY: the CPU has the dot product (this function's contract); `tiles` passes
            // slices of exactly `k4` bytes and nb < ceil(n / NR), a block of `packed` (the
            // contract).
            lanes(unsafe { block_dot(&a.map(<[u8]>::as_ptr), iw, nb) })
        });
    }

    /// `Σ (x − 128) · w` of [`MR`] pixels × channel block `nb` over the whole inner dimension.
    ///
    /// # Safety
    /// The CPU has the dot product; each `a[i]` points at `iw.k4` readable bytes; block `nb`
    /// exists in `iw.packed`.
    #[inline]
    #[target_feature(enable = "neon,dotprod")]
    unsafe fn block_dot(a: &[*const u8; MR], iw: &Int8Weights, nb: usize) -> Acc {
        let quads = iw.k4 / 4;
        let mut acc = [[vdupq_n_s32(0); 4]; MR];
        // SAFETY: block nb (`k4 · NR` bytes from `nb · k4 · NR`) is inside `packed` (the
        // contract).
        let w = unsafe { iw.packed.as_ptr().add(nb * quads * NR * 4) };
        let sign = vdupq_n_u8(0x80);
        for q in 0..quads {
            let mut wv = [vdupq_n_s8(0); 4];
            for (j, wv) in wv.iter_mut().enumerate() {
                // SAFETY: quad q < k4 / 4 of block nb, 16 bytes per j < 4: bytes
                // 64q + 16j..64q + 16j + 16 of the block's `16 · k4` (the contract).
                *wv = unsafe { vld1q_s8(w.add((q * 4 + j) * 16)) };
            }
            for (a, acc) in a.iter().zip(acc.iter_mut()) {
                // SAFETY: bytes 4q..4q + 4 ≤ k4 of the row (the contract); an unaligned read.
                let x = unsafe { a.add(4 * q).cast::<u32>().read_unaligned() };
                let x = vreinterpretq_s8_u8(veorq_u8(vreinterpretq_u8_u32(vdupq_n_u32(x)), sign));
                for (acc, &wv) in acc.iter_mut().zip(&wv) {
                    // SAFETY: the CPU has the dot product (this function's contract).
                    *acc = unsafe { sdot(*acc, wv, x) };
                }
            }
        }
        acc
    }

    /// Without the dot product (Cortex-A72): weights `[n / NR][k4][NR]` as `i16`; each input
    /// byte becomes `x − x_zp` in `i16` (`usubl`: the `u16` difference's bits are the signed
    /// value, −255..=255), and `smlal` by lane multiplies it by 4 channels' weights, widening
    /// the `i16 × i16` product to `i32` before it adds. Bound: a product is at most
    /// 255 · 128 = 32640 in magnitude, exact in `i32` (it would not fit the `i16` sum of two
    /// `i8 × i8` products that `smull`/`smlal` on bytes keep, which is why the bytes are
    /// widened first), and the sum at most `k · 32640`, well inside `i32` for any convolution
    /// the compiler admits (below 2²⁴). `zp_fix` is zero.
    ///
    /// # Safety
    /// `rows` is a whole number of `iw.k4`-byte rows, `iw.wide` holds `ceil(n / NR) · NR · k4`
    /// weights and `dst` all outputs (as [`super::qconv`] asserts).
    #[target_feature(enable = "neon")]
    pub unsafe fn qconv_wide(
        c: &QConvStep,
        iw: &Int8Weights,
        rows: &[u8],
        res: Option<&[f32]>,
        dst: &mut [f32],
    ) {
        super::tiles::<MR>(c, iw, (rows, res, dst), |a, nb| {
            // SAFETY: NEON is in every aarch64 CPU; `tiles` passes slices of exactly `k4` bytes
            // and nb < ceil(n / NR), a block of `wide` (this function's contract).
            lanes(unsafe { block_wide(&a.map(<[u8]>::as_ptr), iw, nb) })
        });
    }

    /// `Σ (x − x_zp) · w` of [`MR`] pixels × channel block `nb` over the whole inner dimension.
    ///
    /// # Safety
    /// Each `a[i]` points at `iw.k4` readable bytes; block `nb` exists in `iw.wide`.
    #[inline]
    #[target_feature(enable = "neon")]
    unsafe fn block_wide(a: &[*const u8; MR], iw: &Int8Weights, nb: usize) -> Acc {
        let k4 = iw.k4;
        let mut acc = [[vdupq_n_s32(0); 4]; MR];
        // SAFETY: block nb (`k4 · NR` values from `nb · k4 · NR`) is inside `wide` (the
        // contract).
        let w = unsafe { iw.wide.as_ptr().add(nb * k4 * NR) };
        let zp = vdup_n_u8(iw.x_zp);
        for q in 0..k4 / 4 {
            let mut x = [vdup_n_s16(0); MR];
            for (a, x) in a.iter().zip(x.iter_mut()) {
                // SAFETY: bytes 4q..4q + 4 ≤ k4 of the row (the contract); an unaligned read.
                let b = unsafe { a.add(4 * q).cast::<u32>().read_unaligned() };
                *x = vget_low_s16(vreinterpretq_s16_u16(vsubl_u8(vcreate_u8(u64::from(b)), zp)));
            }
            // SAFETY: each tap reads row 4q + L < k4 of block nb, NR weights from
            // `(4q + L) · NR`, inside the block's `k4 · NR` (the contract).
            unsafe {
                tap::<0>(&mut acc, w.add((4 * q) * NR), &x);
                tap::<1>(&mut acc, w.add((4 * q + 1) * NR), &x);
                tap::<2>(&mut acc, w.add((4 * q + 2) * NR), &x);
                tap::<3>(&mut acc, w.add((4 * q + 3) * NR), &x);
            }
        }
        acc
    }

    /// `acc[i] += w · x[i][L]` for one `k`: the [`NR`] weights at `w` times lane `L` of each
    /// pixel's inputs, widened to `i32`.
    ///
    /// # Safety
    /// `w` points at [`NR`] readable `i16`. (NEON, the target feature, is in every aarch64 CPU.)
    #[inline]
    #[target_feature(enable = "neon")]
    unsafe fn tap<const L: i32>(acc: &mut Acc, w: *const i16, x: &[int16x4_t; MR]) {
        // SAFETY: 2 × 8 = NR `i16` at `w` (the contract); unaligned loads.
        let (w0, w1) = unsafe { (vld1q_s16(w), vld1q_s16(w.add(8))) };
        let ws = [vget_low_s16(w0), vget_high_s16(w0), vget_low_s16(w1), vget_high_s16(w1)];
        for (acc, &x) in acc.iter_mut().zip(x) {
            for (acc, &w) in acc.iter_mut().zip(&ws) {
                *acc = vmlal_lane_s16::<L>(*acc, w, x);
            }
        }
    }
}
