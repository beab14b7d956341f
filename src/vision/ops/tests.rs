//! The operators' arithmetic against plain integer references (ONNX semantics), and the
//! lowering against the shipped graphs. The real-picture comparison with tract's own
//! operators is in `tests/vision_real.rs`.

use std::path::Path;

use super::int8::IntKernel;
use super::kernels::{self, Fused, NR, Plain};
use super::lower::pack_weights;
use super::*;

/// A small deterministic generator (xorshift), so the tests need no crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn u8(&mut self) -> u8 {
        (self.next() >> 24) as u8
    }
    fn i8(&mut self) -> i8 {
        (self.next() >> 24) as u8 as i8
    }
}

struct Case {
    s: Shape,
    n: usize,
    kernel: usize,
    stride: usize,
    pads: [usize; 4],
    x: Vec<u8>,
    w: Vec<i8>,
    bias: Vec<i32>,
    x_zp: i32,
    y_zp: i32,
    mult: f32,
}

fn case(rng: &mut Rng, s: Shape, n: usize, kernel: usize, stride: usize, pads: [usize; 4]) -> Case {
    let x = (0..s.len()).map(|_| rng.u8()).collect();
    let w = (0..n * s.c * kernel * kernel).map(|_| rng.i8()).collect();
    let bias = (0..n).map(|_| (rng.next() % 20_001) as i32 - 10_000).collect();
    Case { s, n, kernel, stride, pads, x, w, bias, x_zp: 117, y_zp: 131, mult: 3.1e-4 }
}

fn out_shape(c: &Case) -> Shape {
    let h = (c.s.h + c.pads[0] + c.pads[2] - c.kernel) / c.stride + 1;
    let w = (c.s.w + c.pads[1] + c.pads[3] - c.kernel) / c.stride + 1;
    Shape { h, w, c: c.n }
}

/// ONNX QLinearConv's sums `Σ (x − x_zp) · w` with i32 accumulation, NHWC.
fn reference_sums(c: &Case) -> Vec<i32> {
    let (s, o) = (c.s, out_shape(c));
    let mut out = vec![0; o.len()];
    for oy in 0..o.h {
        for ox in 0..o.w {
            for n in 0..c.n {
                let mut acc: i32 = 0;
                for ky in 0..c.kernel {
                    for kx in 0..c.kernel {
                        let iy = (oy * c.stride + ky) as isize - c.pads[0] as isize;
                        let ix = (ox * c.stride + kx) as isize - c.pads[1] as isize;
                        if iy < 0 || ix < 0 || iy >= s.h as isize || ix >= s.w as isize {
                            continue; // padded with the zero point: contributes 0
                        }
                        for ch in 0..s.c {
                            let x = i32::from(c.x[(iy as usize * s.w + ix as usize) * s.c + ch]) - c.x_zp;
                            let w = i32::from(c.w[((n * s.c + ch) * c.kernel + ky) * c.kernel + kx]);
                            acc += x * w;
                        }
                    }
                }
                out[(oy * o.w + ox) * c.n + n] = acc;
            }
        }
    }
    out
}

/// ONNX QLinearConv with i32 accumulation, then DequantizeLinear, NHWC.
fn reference(c: &Case) -> Vec<f32> {
    let sums = reference_sums(c);
    let bias = c.bias.iter().cycle();
    let requant = |(acc, b): (&i32, &i32)| {
        let q = ((acc + b) as f32 * c.mult).round_ties_even() as i32 + c.y_zp;
        (q.clamp(0, 255) - c.y_zp) as f32 * 0.05
    };
    sums.iter().zip(bias).map(requant).collect()
}

fn step(c: &Case) -> QConvStep {
    let n_pad = c.n.div_ceil(NR) * NR;
    let mut bias: Vec<f32> = c.bias.iter().map(|&b| b as f32).collect();
    bias.resize(n_pad, 0.0);
    QConvStep {
        kernel: c.kernel,
        stride: c.stride,
        pad_top: c.pads[0],
        pad_left: c.pads[1],
        k: c.kernel * c.kernel * c.s.c,
        n: c.n,
        x_zp: c.x_zp as f32,
        weights: pack_weights(&c.w.iter().map(|&v| f32::from(v)).collect::<Vec<_>>(), c.n, c.s.c, c.kernel),
        bias,
        requant: Some(Requant { mult: c.mult, y_zp: c.y_zp as f32, deq_scale: 0.05 }),
        residual: false,
        res_c: c.n,
        prelu: None,
        relu: false,
        int8: None,
    }
}

fn run_conv(c: &Case, fused: bool) -> Vec<f32> {
    let op = step(c);
    let o = out_shape(c);
    let (mut rows, mut padded, mut out) = (vec![], vec![], vec![0.0; o.len()]);
    kernels::input_rows(&op, &c.x, c.s, o, &mut rows, &mut padded);
    if fused {
        kernels::qconv::<Fused>(&op, &rows, None, &mut out);
    } else {
        kernels::qconv::<Plain>(&op, &rows, None, &mut out);
    }
    out
}

/// The kernel paths this CPU runs that have an integer kernel; a `SKIP:` line for each such
/// path it lacks.
fn integer_kernels() -> Vec<Kernels> {
    for k in Kernels::ALL.into_iter().filter(|k| k.integer().is_some() && !k.available()) {
        eprintln!("SKIP: this CPU cannot run the {k} kernels, their integer path is not run");
    }
    Kernels::ALL.into_iter().filter(|k| k.available() && k.integer().is_some()).collect()
}

/// `op` (a [`step`] of `c`, or one like it) on path `k`'s integer kernel, as the operator
/// dispatches it.
fn run_conv_int(k: Kernels, c: &Case, mut op: QConvStep, residual: Option<&[f32]>) -> Vec<f32> {
    let w: Vec<f32> = c.w.iter().map(|&v| f32::from(v)).collect();
    let ik = k.integer().expect("an integer path");
    op.int8 = int8::Int8Weights::new(&w, c.n, c.s.c, c.kernel, c.x_zp as f32, ik);
    let iw = op.int8.as_ref().expect("int8 weights fit");
    let o = out_shape(c);
    let (mut rows, mut padded, mut out) = (vec![], vec![], vec![f32::NAN; o.len()]);
    let rows = kernels::input_rows_u8(&op, iw.k4, &c.x, c.s, o, &mut rows, &mut padded);
    super::dispatch_int8(k, &op, iw, rows, residual, &mut out);
    out
}

/// The sums plus the bias, as the (exact) float outputs of `c` without requantization.
fn reference_sums_biased(c: &Case) -> Vec<f32> {
    reference_sums(c).iter().zip(c.bias.iter().cycle()).map(|(a, b)| (a + b) as f32).collect()
}

/// `c` on every integer kernel this CPU runs: the raw sums (no requantization: the epilogue
/// adds the bias only) and the requantized outputs, against the integer reference, exactly.
fn check_integer_kernels(kernels: &[Kernels], c: &Case, what: &str) {
    let (sums, want) = (reference_sums_biased(c), reference(c));
    for &k in kernels {
        let got = run_conv_int(k, c, QConvStep { requant: None, ..step(c) }, None);
        assert_eq!(got, sums, "{k:?} sums, {what}");
        assert_eq!(run_conv_int(k, c, step(c), None), want, "{k:?} requantized, {what}");
    }
}

#[test]
fn the_integer_path_equals_the_integer_reference_exactly() {
    let kernels = integer_kernels();
    let mut rng = Rng(0x1a7e);
    for (s, n, kernel, stride, pads) in [
        (Shape { h: 7, w: 5, c: 128 }, 20, 1, 1, [0; 4]),
        (Shape { h: 9, w: 9, c: 16 }, 16, 1, 1, [0; 4]),
        (Shape { h: 5, w: 3, c: 6 }, 40, 1, 1, [0; 4]), // channels not a multiple of 4: copied rows
        (Shape { h: 12, w: 9, c: 3 }, 16, 3, 2, [0, 0, 1, 1]),
        (Shape { h: 3, w: 3, c: 32 }, 37, 3, 3, [0; 4]),
        (Shape { h: 6, w: 5, c: 8 }, 5, 3, 1, [1, 1, 1, 1]),
    ] {
        let c = case(&mut rng, s, n, kernel, stride, pads);
        check_integer_kernels(&kernels, &c, &format!("{s:?} k{kernel}"));
    }
}

/// Random shapes (channels and pixels not multiples of the blocks, 1×1 and 3×3, strides 1–3,
/// pads), zero points 0, 128, 255 and random, values uniform or at the extremes.
#[test]
fn every_integer_kernel_equals_the_integer_reference_exactly_on_random_convolutions() {
    let kernels = integer_kernels();
    if kernels.is_empty() {
        return;
    }
    let mut rng = Rng(0x9e0_5eed);
    let pick = |rng: &mut Rng, lo: usize, hi: usize| lo + (rng.next() % (hi - lo + 1) as u64) as usize;
    let cases = 160;
    for i in 0..cases {
        let kernel: usize = [1, 3][pick(&mut rng, 0, 1)];
        let stride = pick(&mut rng, 1, 3);
        let pads: [usize; 4] =
            if kernel == 1 { [0; 4] } else { std::array::from_fn(|_| pick(&mut rng, 0, 2)) };
        let min = |p0: usize, p1: usize| kernel.saturating_sub(p0 + p1).max(1);
        let s = Shape {
            h: pick(&mut rng, min(pads[0], pads[2]), 9),
            w: pick(&mut rng, min(pads[1], pads[3]), 9),
            c: pick(&mut rng, 1, 40),
        };
        let n = pick(&mut rng, 1, 40);
        let mut c = case(&mut rng, s, n, kernel, stride, pads);
        c.x_zp = [0, 128, 255, i32::from(rng.u8())][i % 4];
        if i % 3 == 2 {
            // The extremes: x in {0, 255}, w in {−128, 127}.
            c.x.iter_mut().for_each(|x| *x = if rng.next().is_multiple_of(2) { 0 } else { 255 });
            c.w.iter_mut().for_each(|w| *w = if rng.next().is_multiple_of(2) { -128 } else { 127 });
        }
        let what = format!("case {i}: {s:?} n {n} k{kernel}/{stride} pads {pads:?} x_zp {}", c.x_zp);
        check_integer_kernels(&kernels, &c, &what);
    }
    eprintln!("integer kernels {kernels:?}: {cases} random convolutions exact");
}

/// Every product at its largest, all of one sign: x = 0 or 255, w = −128 or 127, zero points
/// 0, 128 and 255, over 360 inputs (|sum| up to 360 · 255 · 128 ≈ 1.2 · 10⁷).
#[test]
fn every_integer_kernel_is_exact_at_the_extremes() {
    let kernels = integer_kernels();
    let mut rng = Rng(0xe87);
    for x in [0u8, 255] {
        for w in [-128i8, 127] {
            for x_zp in [0, 128, 255] {
                for (s, kernel, stride, pads) in [
                    (Shape { h: 5, w: 6, c: 40 }, 3, 1, [1, 1, 1, 1]),
                    (Shape { h: 3, w: 5, c: 37 }, 1, 1, [0; 4]),
                    (Shape { h: 4, w: 3, c: 7 }, 3, 2, [1, 0, 2, 1]),
                ] {
                    let mut c = case(&mut rng, s, 21, kernel, stride, pads);
                    c.x.fill(x);
                    c.w.fill(w);
                    c.x_zp = x_zp;
                    check_integer_kernels(&kernels, &c, &format!("x {x} w {w} x_zp {x_zp} {s:?} k{kernel}"));
                }
            }
        }
    }
}

#[test]
fn the_integer_path_equals_the_float_path_with_residual_and_prelu() {
    let mut rng = Rng(0xbeef);
    for (s, n, kernel, stride, pads) in [
        (Shape { h: 6, w: 7, c: 64 }, 72, 1, 1, [0; 4]),
        (Shape { h: 5, w: 7, c: 13 }, 37, 3, 2, [1, 1, 1, 1]),
    ] {
        let c = case(&mut rng, s, n, kernel, stride, pads);
        let o = out_shape(&c);
        // A residual with fewer channels than the output (the graph's channel Pad), then PRelu.
        let res_c = n - 8;
        let res: Vec<f32> = (0..o.h * o.w * res_c).map(|_| f32::from(rng.i8()) / 7.0).collect();
        let n_pad = c.n.div_ceil(NR) * NR;
        let pos: Vec<f32> = (0..n_pad).map(|_| f32::from(rng.u8()) / 100.0).collect();
        let lin: Vec<f32> = (0..n_pad).map(|_| f32::from(rng.i8()) / 300.0).collect();
        let with_tail =
            || QConvStep { residual: true, res_c, prelu: Some((pos.clone(), lin.clone())), ..step(&c) };
        let (mut rows, mut padded, mut want) = (vec![], vec![], vec![0.0; o.len()]);
        kernels::input_rows(&with_tail(), &c.x, c.s, o, &mut rows, &mut padded);
        kernels::qconv::<PortableMadd>(&with_tail(), &rows, Some(&res), &mut want);
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        for k in integer_kernels() {
            let got = run_conv_int(k, &c, with_tail(), Some(&res));
            if k == Kernels::Vnni {
                // (a zero's sign may differ: the AVX-512 epilogue rounds alike, not bit for bit)
                assert_eq!(got, want, "{k:?} {s:?}");
            } else {
                // The other integer kernels end in the portable epilogue itself: the same bits.
                assert_eq!(bits(&got), bits(&want), "{k:?} {s:?}");
            }
        }
    }
}

#[test]
fn weights_beyond_int8_or_a_fractional_zero_point_keep_the_float_path() {
    for k in [IntKernel::Vnni, IntKernel::NeonDot, IntKernel::Neon, IntKernel::Pairs] {
        assert!(int8::Int8Weights::new(&[1.0, -128.0, 127.0, 0.0], 1, 4, 1, 128.0, k).is_some());
        assert!(int8::Int8Weights::new(&[1.0, -129.0, 127.0, 0.0], 1, 4, 1, 128.0, k).is_none());
        assert!(int8::Int8Weights::new(&[1.0, 2.0, 3.0, 4.0], 1, 4, 1, 127.5, k).is_none());
    }
}

/// CI demands paths by name (`LIVEGATE_EXPECT_KERNELS=neon-dot` under `qemu-aarch64 -cpu
/// cortex-a76`), so that a path silently unavailable (and skipped above) fails the run.
#[test]
fn the_kernel_paths_the_environment_expects_are_available() {
    let Ok(want) = std::env::var("LIVEGATE_EXPECT_KERNELS") else {
        eprintln!("SKIP: LIVEGATE_EXPECT_KERNELS is not set, no kernel path is demanded");
        return;
    };
    for name in want.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let k = Kernels::from_name(name).unwrap_or_else(|e| panic!("LIVEGATE_EXPECT_KERNELS: {e}"));
        assert!(k.available());
        eprintln!("expected kernel path {k}: available (detect() = {})", Kernels::detect());
    }
}

/// The model at `path` lowered onto `kernels`, run by tract on `input`: its outputs, flat.
fn run_lowered(path: &Path, shape: [usize; 4], kernels: Kernels, input: &[f32]) -> Vec<Vec<f32>> {
    let plan = lower(path, shape, kernels).unwrap().into_runnable().unwrap();
    let outputs = plan.run(tvec!(Tensor::from_shape(&shape, input).unwrap().into_tvalue())).unwrap();
    outputs.iter().map(|t| t.try_as_plain_ram().unwrap().as_slice::<f32>().unwrap().to_vec()).collect()
}

fn ops_named(model: &TypedModel, name: &str) -> usize {
    model.nodes().iter().filter(|n| n.op.name() == name).count()
}

#[test]
fn the_shipped_int8_mesh_gives_the_same_bits_on_the_integer_and_the_float_path() {
    let path = models().join("face_landmark_int8.onnx");
    let mut rng = Rng(0xface);
    let input: Vec<f32> = (0..192 * 192 * 3).map(|_| f32::from(rng.u8()) / 255.0).collect();
    integer_kernels();
    for k in Kernels::ALL.into_iter().filter(|k| k.available() && k.integer().is_some()) {
        let model = lower(&path, [1, 192, 192, 3], k).unwrap();
        let int8_convs = model
            .nodes()
            .iter()
            .filter_map(|n| n.op_as::<LgOp>())
            .filter(
                |op| matches!(&*op.step, Step::Conv(c) if c.int8.as_ref().map(|iw| iw.kernel) == k.integer()),
            )
            .filter(|op| op.info().unwrap().iter().any(|l| l.starts_with("products: integer")))
            .count();
        assert_eq!(int8_convs, 25, "{k}: every quantized convolution has integer weights");
        // The float kernels the path runs everything else on.
        let float = if k == Kernels::Vnni { Kernels::Avx2 } else { Kernels::Portable };
        let fast = run_lowered(&path, [1, 192, 192, 3], k, &input);
        assert_eq!(fast, run_lowered(&path, [1, 192, 192, 3], float, &input), "{k}");
        eprintln!("{k}: the mesh's 25 quantized convolutions on integer kernels, same outputs as {float}");
    }
}

#[test]
fn a_pointwise_convolution_equals_the_integer_reference_exactly() {
    let mut rng = Rng(0x5eed);
    // 7×5 pixels (not a multiple of the 4-pixel block), 20 outputs (not a multiple of 16).
    let c = case(&mut rng, Shape { h: 7, w: 5, c: 128 }, 20, 1, 1, [0; 4]);
    let want = reference(&c);
    assert_eq!(run_conv(&c, false), want);
    assert_eq!(run_conv(&c, true), want);
}

#[test]
fn a_strided_padded_three_by_three_convolution_equals_the_integer_reference_exactly() {
    let mut rng = Rng(0xfeed);
    for (s, n, stride, pads) in [
        (Shape { h: 12, w: 9, c: 3 }, 16, 2, [0, 0, 1, 1]),
        (Shape { h: 3, w: 3, c: 32 }, 37, 3, [0; 4]),
        (Shape { h: 6, w: 5, c: 8 }, 5, 1, [1, 1, 1, 1]),
    ] {
        let c = case(&mut rng, s, n, 3, stride, pads);
        let want = reference(&c);
        assert_eq!(run_conv(&c, false), want, "{s:?}");
        assert_eq!(run_conv(&c, true), want, "{s:?}");
    }
}

#[test]
fn depthwise_matches_a_direct_sum_with_zero_padding() {
    let mut rng = Rng(0xd00d);
    let (s, stride) = (Shape { h: 6, w: 7, c: 32 }, 2);
    let src: Vec<f32> = (0..s.len()).map(|_| f32::from(rng.u8()) / 8.0 - 10.0).collect();
    let weights: Vec<f32> = (0..9 * s.c).map(|_| f32::from(rng.i8()) / 16.0).collect();
    let bias: Vec<f32> = (0..s.c).map(|_| f32::from(rng.u8())).collect();
    let op = DwStep { weights: weights.clone(), bias: bias.clone(), stride, pad_top: 0, pad_left: 0 };
    let o = Shape { h: 3, w: 3, c: s.c }; // pads [0, 0, 1, 1]
    let mut got = vec![0; o.len()];
    kernels::depthwise::<Plain, u8>(&op, &src, s, &mut got, o);
    for (p, &g) in got.iter().enumerate() {
        let (oy, ox, ch) = (p / s.c / o.w, p / s.c % o.w, p % s.c);
        let mut acc = bias[ch];
        for t in 0..9 {
            let (iy, ix) = (oy * stride + t / 3, ox * stride + t % 3);
            if iy < s.h && ix < s.w {
                acc += src[(iy * s.w + ix) * s.c + ch] * weights[t * s.c + ch];
            }
        }
        assert_eq!(g, acc.clamp(0.0, 255.0) as u8, "pixel {p}");
    }
}

/// The depthwise kernel as it was before it ran a channel block along a row: pixel by pixel,
/// per channel `bias`, then `madd` of the taps inside the input in `(ky, kx)` order.
fn depthwise_reference<M: kernels::Madd, T: kernels::DwOut>(
    d: &DwStep,
    src: &[f32],
    s: Shape,
    dst: &mut [T],
    o: Shape,
) {
    let taps = |start: isize, len: usize| {
        let lo = (-start).clamp(0, 3) as usize;
        let hi = (len as isize - start).clamp(0, 3) as usize;
        lo..hi.max(lo)
    };
    for oy in 0..o.h {
        let y0 = (oy * d.stride) as isize - d.pad_top as isize;
        for ox in 0..o.w {
            let x0 = (ox * d.stride) as isize - d.pad_left as isize;
            for ch in 0..s.c {
                let mut acc = d.bias[ch];
                for dy in taps(y0, s.h) {
                    for dx in taps(x0, s.w) {
                        let at = ((y0 + dy as isize) as usize * s.w + (x0 + dx as isize) as usize) * s.c;
                        acc = M::madd(src[at + ch], d.weights[(dy * 3 + dx) * s.c + ch], acc);
                    }
                }
                dst[(oy * o.w + ox) * s.c + ch] = T::from_acc(acc);
            }
        }
    }
}

/// The kernel (both instantiations, and the dispatched one: AVX2 + FMA where the CPU has it)
/// against [`depthwise_reference`], bit for bit, in uint8 and in float.
fn check_depthwise<T: kernels::DwOut + Default + PartialEq + std::fmt::Debug>(
    op: &DwStep,
    src: &[f32],
    s: Shape,
    o: Shape,
    what: &str,
) {
    let bits = |v: &[T]| format!("{v:?}"); // f32: `{:?}` tells -0.0 from 0.0
    let run = |f: &dyn Fn(&mut [T])| {
        let mut out = vec![T::default(); o.len()];
        f(&mut out);
        out
    };
    let want = run(&|out| depthwise_reference::<Plain, T>(op, src, s, out, o));
    let got = run(&|out| kernels::depthwise::<Plain, T>(op, src, s, out, o));
    assert_eq!(bits(&got), bits(&want), "Plain {what}");
    let want = run(&|out| depthwise_reference::<Fused, T>(op, src, s, out, o));
    let got = run(&|out| kernels::depthwise::<Fused, T>(op, src, s, out, o));
    assert_eq!(bits(&got), bits(&want), "Fused {what}");
    if Kernels::Avx2.available() {
        let got = run(&|out| dispatch_dw(Kernels::Avx2, op, src, (s, o), out));
        assert_eq!(bits(&got), bits(&want), "dispatched {what}");
    }
}

#[test]
fn depthwise_is_bit_identical_to_the_pixel_by_pixel_kernel() {
    let mut rng = Rng(0xd1ce);
    // Values spread so that `Clip(0, 255)` saturates at both ends and sums round.
    let mut val = |scale: f32| (f32::from(rng.u8()) - 100.0) * scale + f32::from(rng.u8()) / 255.0;
    let mut cases = 0;
    for c in [5, 16, 24, 28, 32, 42, 128] {
        for (h, w) in [(7, 9), (6, 6), (3, 4), (2, 1)] {
            for stride in [1, 2] {
                for pads in [[1, 1, 1, 1], [0, 0, 0, 0], [0, 0, 1, 1], [1, 2, 0, 1]] {
                    let (ph, pw) = (h + pads[0] + pads[2], w + pads[1] + pads[3]);
                    if ph < 3 || pw < 3 {
                        continue;
                    }
                    let s = Shape { h, w, c };
                    let o = Shape { h: (ph - 3) / stride + 1, w: (pw - 3) / stride + 1, c };
                    let src: Vec<f32> = (0..s.len()).map(|_| val(0.37)).collect();
                    let op = DwStep {
                        weights: (0..9 * c).map(|_| val(0.011)).collect(),
                        bias: (0..c).map(|_| val(0.9)).collect(),
                        stride,
                        pad_top: pads[0],
                        pad_left: pads[1],
                    };
                    let what = format!("{s:?} stride {stride} pads {pads:?}");
                    check_depthwise::<u8>(&op, &src, s, o, &what);
                    check_depthwise::<f32>(&op, &src, s, o, &what);
                    cases += 1;
                }
            }
        }
    }
    assert!(cases > 150, "{cases}");
}

#[test]
fn quantize_truncates_and_saturates_like_clip_then_cast() {
    let mut out = [0u8; 6];
    kernels::quantize(&[-3.0, 0.2, 1.0, 1.99, 300.0, f32::NAN], 100.0, 0.5, &mut out);
    assert_eq!(out, [0, 20, 100, 199, 255, 0]);
}

fn models() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/models"))
}

#[test]
fn the_shipped_int8_mesh_lowers_to_livegate_operators_only() {
    let model =
        lower(&models().join("face_landmark_int8.onnx"), [1, 192, 192, 3], Kernels::Portable).unwrap();
    assert_eq!((ops_named(&model, "livegate.QConv"), ops_named(&model, "livegate.Depthwise3x3")), (25, 20));
    let others: Vec<String> = model
        .nodes()
        .iter()
        .skip(1) // the source
        .filter(|n| n.op_as::<LgOp>().is_none())
        .map(|n| format!("{} ({})", n.name, n.op.name()))
        .collect();
    assert!(others.is_empty(), "{others:?}");
    assert_eq!(model.output_outlets().unwrap().len(), 2);
}

#[test]
fn the_float_detector_lowers_and_the_float_mesh_is_refused_naming_the_node() {
    let det = models().join("face_detection_short_range_fp32.onnx");
    let mut rng = Rng(0xde7);
    let input: Vec<f32> = (0..128 * 128 * 3).map(|_| f32::from(rng.u8()) / 127.5 - 1.0).collect();
    let lens: Vec<usize> =
        run_lowered(&det, [1, 128, 128, 3], Kernels::Portable, &input).iter().map(Vec::len).collect();
    assert_eq!(lens, [896 * 16, 896]);
    let err =
        lower(&models().join("face_landmark_fp32.onnx"), [1, 192, 192, 3], Kernels::Portable).unwrap_err();
    assert!(format!("{err:#}").contains("PRelu"), "{err:#}");
}

#[test]
fn every_kernel_path_this_cpu_runs_gives_the_mesh_within_float_rounding_of_the_portable_one() {
    let path = models().join("face_landmark_int8.onnx");
    let mut rng = Rng(0x9a7);
    let input: Vec<f32> = (0..192 * 192 * 3).map(|_| f32::from(rng.u8()) / 255.0).collect();
    let portable = run_lowered(&path, [1, 192, 192, 3], Kernels::Portable, &input);
    for k in Kernels::ALL.into_iter().filter(|k| k.available()) {
        let got = run_lowered(&path, [1, 192, 192, 3], k, &input);
        let worst = got[0].iter().zip(&portable[0]).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        // Crop pixels: a multiply-add fused or not moves a requantized value by one step at
        // most, here and there; the points stay within a small fraction of a pixel.
        assert!(worst < 0.5, "{k}: {worst} px");
    }
}

#[test]
fn kernel_paths_are_named_and_an_unknown_or_missing_one_is_refused() {
    assert_eq!(Kernels::from_name("portable").unwrap(), Kernels::Portable);
    let err = Kernels::from_name("sse9").unwrap_err().to_string();
    assert!(err.contains("portable, avx2, vnni, neon, neon-dot"), "{err}");
    assert!(Kernels::detect().available());
    for k in Kernels::ALL {
        assert_eq!(Kernels::from_name(k.name()).is_ok(), k.available(), "{k}");
    }
    let on = |k: Kernels| k.available();
    assert_eq!(on(Kernels::Neon), cfg!(target_arch = "aarch64"));
    if on(Kernels::NeonDot) {
        assert!(on(Kernels::Neon) && Kernels::detect() == Kernels::NeonDot);
    } else if on(Kernels::Neon) {
        assert_eq!(Kernels::detect(), Kernels::Neon);
    }
    assert!(!on(Kernels::Avx2) || !on(Kernels::Neon), "one architecture's paths only");
}
