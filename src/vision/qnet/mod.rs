//! livegate's own executor for the int8 FaceMesh graph (ONNX QOperator: `QLinearConv` with
//! uint8 activations and int8 weights, float depthwise convolutions with the next layer's
//! quantization folded in, PRelu, residual adds, 2×2 max-pooling, channel padding).
//!
//! Why: tract runs this graph one ONNX operator at a time, in NCHW, and spends three quarters
//! of its 4.5 ms outside the int8 products (dequantize, PRelu, casts, pooling, packing; see
//! `docs/performance.md`). Here the graph is compiled once into a handful of fused NHWC steps:
//! a quantized convolution carries its requantization, dequantization, residual add and PRelu
//! in its epilogue, and a depthwise convolution writes uint8 directly. The arithmetic is the
//! graph's own (ONNX semantics: round half to even on requantization, truncating casts), so
//! the outputs match tract's and onnxruntime's up to float summation order.
//!
//! tract still parses the file (its ONNX protobuf reader) and remains the engine for every
//! other graph; [`compile`] refuses a graph with anything it does not know, and the caller
//! then falls back to tract.

mod compile;
mod int8;
mod kernels;

use std::sync::Mutex;

pub use compile::compile;
use kernels::{DwOut, Fused, Plain};

/// An NHWC tensor shape (batch 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub h: usize,
    pub w: usize,
    pub c: usize,
}

impl Shape {
    fn len(self) -> usize {
        self.h * self.w * self.c
    }
}

/// The element type of a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    F32,
    U8,
}

/// One tensor of the compiled graph.
#[derive(Debug, Clone, Copy)]
struct Value {
    kind: Kind,
    shape: Shape,
}

/// A depthwise 3×3 convolution writing uint8.
#[derive(Debug)]
pub struct DwStep {
    /// `[ky][kx][c]`.
    weights: Vec<f32>,
    bias: Vec<f32>,
    stride: usize,
    pad_top: usize,
    pad_left: usize,
}

/// Requantization of a quantized convolution's sums, then their dequantization.
#[derive(Debug)]
pub struct Requant {
    /// `x_scale · w_scale / y_scale`.
    mult: f32,
    /// Output zero point, which is also the following `DequantizeLinear`'s.
    y_zp: f32,
    deq_scale: f32,
}

/// A (quantized or float) convolution with its fused epilogue.
#[derive(Debug)]
pub struct QConvStep {
    kernel: usize,
    stride: usize,
    pad_top: usize,
    pad_left: usize,
    /// Inner dimension: kernel² × input channels.
    k: usize,
    /// Output channels.
    n: usize,
    x_zp: f32,
    /// `w − w_zp` as `[n / NR][k][NR]`, zero beyond `n`.
    weights: Vec<f32>,
    /// Bias (an integer below 2²⁴, as `f32`), `n` rounded up to a multiple of `NR`.
    bias: Vec<f32>,
    /// For a `QLinearConv` (then `DequantizeLinear`); `None` for a float `Conv`.
    requant: Option<Requant>,
    residual: Option<usize>,
    /// Channels of the residual (fewer than `n` when the graph zero-pads it with `Pad`).
    res_c: usize,
    /// PRelu as `max(v, 0) · pos + v · lin`, per channel, padded like `bias`.
    prelu: Option<(Vec<f32>, Vec<f32>)>,
    relu: bool,
    /// The same weights for the integer path ([`int8`]), where they fit `i8`.
    int8: Option<int8::Int8Weights>,
}

/// One fused step; fields name value indices.
#[derive(Debug)]
pub(crate) enum Step {
    Quantize {
        src: usize,
        dst: usize,
        scale: f32,
        shift: f32,
    },
    Depthwise {
        src: usize,
        dst: usize,
        op: DwStep,
    },
    Conv {
        src: usize,
        dst: usize,
        op: Box<QConvStep>,
    },
    MaxPool {
        src: usize,
        dst: usize,
    },
    /// Flat concatenation (ONNX `Concat` along axis 1 of `[1, rows, k]` tensors in NHWC order).
    Concat {
        srcs: Vec<usize>,
        dst: usize,
    },
}

/// Buffers kept across runs.
#[derive(Debug, Default)]
struct Scratch {
    f32s: Vec<Vec<f32>>,
    u8s: Vec<Vec<u8>>,
    rows: Vec<f32>,
    padded: Vec<f32>,
    rows_u8: Vec<u8>,
    padded_u8: Vec<u8>,
}

/// A compiled graph, ready to run.
#[derive(Debug)]
pub struct QNet {
    values: Vec<Value>,
    steps: Vec<Step>,
    input: usize,
    outputs: Vec<usize>,
    fused: bool,
    /// Quantized convolutions take the integer path ([`int8::available`]).
    int8: bool,
    /// The buffer each value lives in ([`slots`]).
    slot: Vec<usize>,
    /// Length of each buffer (f32 and u8 buffers share the numbering; a buffer holds one kind).
    buffers: Vec<(Kind, usize)>,
    scratch: Mutex<Scratch>,
}

impl Step {
    fn dst(&self) -> usize {
        match self {
            Self::Quantize { dst, .. }
            | Self::Depthwise { dst, .. }
            | Self::Conv { dst, .. }
            | Self::MaxPool { dst, .. }
            | Self::Concat { dst, .. } => *dst,
        }
    }

    fn reads(&self) -> Vec<usize> {
        match self {
            Self::Quantize { src, .. } | Self::Depthwise { src, .. } | Self::MaxPool { src, .. } => {
                vec![*src]
            }
            Self::Conv { src, op, .. } => std::iter::once(*src).chain(op.residual).collect(),
            Self::Concat { srcs, .. } => srcs.clone(),
        }
    }
}

/// Buffers by liveness: a value takes over the buffer of one no step reads any more, so the
/// working set stays near two layers (cache-resident) instead of the whole graph. The input
/// and the outputs keep buffers of their own.
fn slots(
    values: &[Value],
    steps: &[Step],
    input: usize,
    outputs: &[usize],
) -> (Vec<usize>, Vec<(Kind, usize)>) {
    let mut last = vec![0; values.len()];
    for (i, step) in steps.iter().enumerate() {
        for v in step.reads() {
            last[v] = i;
        }
    }
    for &v in outputs.iter().chain([&input]) {
        last[v] = usize::MAX;
    }
    let mut slot = vec![usize::MAX; values.len()];
    let mut buffers: Vec<(Kind, usize)> = vec![];
    let mut busy: Vec<usize> = vec![];
    let mut place = |v: usize, from: usize, slot: &mut Vec<usize>| {
        let (kind, len) = (values[v].kind, values[v].shape.len());
        let free = (0..buffers.len()).find(|&b| buffers[b].0 == kind && busy[b] < from);
        let b = free.unwrap_or_else(|| {
            buffers.push((kind, 0));
            busy.push(0);
            buffers.len() - 1
        });
        buffers[b].1 = buffers[b].1.max(len);
        busy[b] = last[v].max(from);
        slot[v] = b;
    };
    place(input, 0, &mut slot);
    for (i, step) in steps.iter().enumerate() {
        place(step.dst(), i, &mut slot);
    }
    (slot, buffers)
}

impl QNet {
    /// Number of input elements (NHWC float).
    pub fn input_len(&self) -> usize {
        self.values[self.input].shape.len()
    }

    /// Runs the graph on one NHWC float input; returns every output, flat, in graph order.
    ///
    /// # Panics
    /// If `input` has the wrong length (the caller checks).
    pub fn run(&self, input: &[f32]) -> Vec<Vec<f32>> {
        assert_eq!(input.len(), self.input_len(), "input length");
        let mut fresh = Scratch::default();
        let mut guard = self.scratch.try_lock();
        let scratch = match guard.as_mut() {
            Ok(s) => &mut **s,
            Err(_) => &mut fresh,
        };
        self.ensure_buffers(scratch);
        scratch.f32s[self.slot[self.input]].copy_from_slice(input);
        for step in &self.steps {
            self.exec(step, scratch);
        }
        self.outputs.iter().map(|&o| self.f32s(&scratch.f32s, o).to_vec()).collect()
    }

    fn ensure_buffers(&self, s: &mut Scratch) {
        if s.f32s.len() == self.buffers.len() {
            return;
        }
        let sized = |&(k, len): &(Kind, usize), kind| if k == kind { len } else { 0 };
        s.f32s = self.buffers.iter().map(|b| vec![0.0; sized(b, Kind::F32)]).collect();
        s.u8s = self.buffers.iter().map(|b| vec![0; sized(b, Kind::U8)]).collect();
    }

    /// Value `v`'s float buffer, at its length.
    fn f32s<'s>(&self, s: &'s [Vec<f32>], v: usize) -> &'s [f32] {
        &s[self.slot[v]][..self.values[v].shape.len()]
    }

    fn exec(&self, step: &Step, s: &mut Scratch) {
        let shape = |v: usize| self.values[v].shape;
        let dst = step.dst();
        let (b, len) = (self.slot[dst], shape(dst).len());
        match step {
            Step::Quantize { src, scale, shift, .. } => {
                let out = &mut s.u8s[b][..len];
                kernels::quantize(self.f32s(&s.f32s, *src), *scale, *shift, out);
            }
            Step::Depthwise { src, op, .. } => {
                let (input, io) = (self.f32s(&s.f32s, *src), (shape(*src), shape(dst)));
                match self.values[dst].kind {
                    Kind::U8 => dispatch_dw(self.fused, op, input, io, &mut s.u8s[b][..len]),
                    Kind::F32 => {
                        let mut out = std::mem::take(&mut s.f32s[b]);
                        dispatch_dw(self.fused, op, self.f32s(&s.f32s, *src), io, &mut out[..len]);
                        s.f32s[b] = out;
                    }
                }
            }
            Step::Conv { src, op, .. }
                if self.int8 && self.values[*src].kind == Kind::U8 && op.int8.is_some() =>
            {
                let iw = op.int8.as_ref().expect("checked");
                let (si, so) = (shape(*src), shape(dst));
                let input = &s.u8s[self.slot[*src]][..si.len()];
                let rows = kernels::input_rows_u8(op, iw.k4, input, si, so, &mut s.rows_u8, &mut s.padded_u8);
                let mut out = std::mem::take(&mut s.f32s[b]);
                let res = op.residual.map(|r| self.f32s(&s.f32s, r));
                int8::qconv(op, iw, rows, res, &mut out[..len]);
                s.f32s[b] = out;
            }
            Step::Conv { src, op, .. } => {
                let (si, so) = (shape(*src), shape(dst));
                // A float 1×1 convolution's rows are its input's pixels as they are.
                let direct = self.values[*src].kind == Kind::F32 && op.kernel == 1 && op.stride == 1;
                match self.values[*src].kind {
                    Kind::U8 => {
                        let input = &s.u8s[self.slot[*src]][..si.len()];
                        kernels::input_rows(op, input, si, so, &mut s.rows, &mut s.padded);
                    }
                    Kind::F32 if !direct => {
                        let input = self.f32s(&s.f32s, *src);
                        kernels::input_rows(op, input, si, so, &mut s.rows, &mut s.padded);
                    }
                    Kind::F32 => {}
                }
                let mut out = std::mem::take(&mut s.f32s[b]);
                let rows = if direct { self.f32s(&s.f32s, *src) } else { &s.rows };
                let res = op.residual.map(|r| self.f32s(&s.f32s, r));
                dispatch_conv(self.fused, op, rows, res, &mut out[..len]);
                s.f32s[b] = out;
            }
            Step::MaxPool { src, .. } => {
                let mut out = std::mem::take(&mut s.f32s[b]);
                kernels::maxpool_pad(self.f32s(&s.f32s, *src), shape(*src), &mut out[..len], shape(dst));
                s.f32s[b] = out;
            }
            Step::Concat { srcs, .. } => {
                let mut out = std::mem::take(&mut s.f32s[b]);
                let mut at = 0;
                for &v in srcs {
                    let part = self.f32s(&s.f32s, v);
                    out[at..at + part.len()].copy_from_slice(part);
                    at += part.len();
                }
                s.f32s[b] = out;
            }
        }
    }
}

/// Whether this CPU runs the FMA instantiation of the kernels.
fn has_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(target_arch = "aarch64")]
    {
        true
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        false
    }
}

fn dispatch_dw<T: DwOut>(fused: bool, op: &DwStep, src: &[f32], (s, o): (Shape, Shape), dst: &mut [T]) {
    #[cfg(target_arch = "x86_64")]
    if fused {
        // SAFETY: `fused` is true only when `has_fma` saw AVX2 and FMA on this CPU.
        unsafe { dw_avx2(op, src, s, dst, o) };
        return;
    }
    if fused {
        kernels::depthwise::<Fused, T>(op, src, s, dst, o);
    } else {
        kernels::depthwise::<Plain, T>(op, src, s, dst, o);
    }
}

fn dispatch_conv(fused: bool, op: &QConvStep, rows: &[f32], res: Option<&[f32]>, dst: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if fused {
        // SAFETY: as in `dispatch_dw`.
        unsafe { conv_avx2(op, rows, res, dst) };
        return;
    }
    if fused {
        kernels::qconv::<Fused>(op, rows, res, dst);
    } else {
        kernels::qconv::<Plain>(op, rows, res, dst);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn dw_avx2<T: DwOut>(op: &DwStep, src: &[f32], s: Shape, dst: &mut [T], o: Shape) {
    kernels::depthwise::<Fused, T>(op, src, s, dst, o);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn conv_avx2(op: &QConvStep, rows: &[f32], res: Option<&[f32]>, dst: &mut [f32]) {
    kernels::qconv::<Fused>(op, rows, res, dst);
}

#[cfg(test)]
mod tests;
