//! livegate's operators for tract: the fused NHWC steps that the int8 FaceMesh graph (ONNX
//! QOperator: `QLinearConv` with uint8 activations and int8 weights, float depthwise
//! convolutions with the next layer's quantization folded in, PRelu, residual adds, 2×2
//! max-pooling, channel padding) and the float detector are made of.
//!
//! Why: tract's own operators run these graphs one ONNX node at a time, in NCHW, and spend
//! three quarters of the mesh's time outside the int8 products (dequantize, PRelu, casts,
//! pooling, packing; see `docs/performance.md`). [`lower`] turns the ONNX graph (read by
//! tract-onnx's protobuf reader) into a tract `TypedModel` whose nodes are [`LgOp`]s: a
//! quantized convolution carries its requantization, dequantization, residual add and PRelu
//! in its epilogue, a depthwise convolution writes uint8 directly. tract owns the graph, the
//! shapes (each op states its output fact, which tract checks as it wires the node), the
//! plan, the order of evaluation and the tensors between nodes; livegate owns the kernels
//! (`kernels`, `int8`). The arithmetic is the graph's own (ONNX semantics: round half to even
//! on requantization, truncating casts), so the outputs match tract's and onnxruntime's up
//! to float summation order.
//!
//! A graph with anything [`lower`] does not know is refused with the node's name: the caller
//! reports it (a start-up error in the service); nothing falls back to another form.

mod int8;
mod kernels;
mod lower;

use std::cell::RefCell;
use std::sync::Arc;

use tract_onnx::tract_core::internal::*;

#[cfg(not(target_arch = "aarch64"))]
use kernels::Plain;
use kernels::{DwOut, Fused};
pub use lower::lower;

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

    /// As a tract shape, `[1, h, w, c]`.
    fn dims(self) -> [usize; 4] {
        [1, self.h, self.w, self.c]
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
    /// The node has a second input, added before the activation.
    residual: bool,
    /// Channels of the residual (fewer than `n` when the graph zero-pads it with `Pad`).
    res_c: usize,
    /// PRelu as `max(v, 0) · pos + v · lin`, per channel, padded like `bias`.
    prelu: Option<(Vec<f32>, Vec<f32>)>,
    relu: bool,
    /// The same weights for the integer path ([`int8`]), where they fit `i8`.
    int8: Option<int8::Int8Weights>,
}

/// Which kernels livegate's operators run. Chosen once from the CPU ([`Kernels::detect`]) or
/// forced (`livegate --kernels`, `LIVEGATE_KERNELS`); part of the engine's fingerprint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kernels {
    /// The target's baseline instructions: what a CPU without any faster path runs. The
    /// quantized convolutions on the `Pairs` integer kernel (`i16` pair products summed into
    /// `i32`: SSE2 `pmaddwd` on x86-64, the same instruction class as the Pi 4's `neon`; generic
    /// Rust elsewhere), the rest as generic Rust (multiply, then add, on x86-64; fused
    /// multiply-add on aarch64, whose baseline has it).
    Portable,
    /// x86-64 AVX2 + FMA: the float kernels compiled for it, the quantized convolutions on the
    /// `Pairs` kernel on 256-bit registers.
    Avx2,
    /// `Avx2`, with the quantized convolutions on AVX-512 VNNI integer dot products.
    Vnni,
    /// aarch64 (every CPU: Cortex-A72, Pi 4): the quantized convolutions as integer NEON code
    /// (widening `i16` multiply-accumulate into `i32`); everything else as `Portable`.
    Neon,
    /// aarch64 with the dot product (Cortex-A76, Pi 5): the quantized convolutions on `sdot`;
    /// everything else as `Portable`.
    NeonDot,
}

impl Kernels {
    /// Every path, slowest first.
    pub const ALL: [Kernels; 5] =
        [Kernels::Portable, Kernels::Avx2, Kernels::Vnni, Kernels::Neon, Kernels::NeonDot];

    /// The path's name, as `--kernels` takes it and the fingerprint prints it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Portable => "portable",
            Self::Avx2 => "avx2",
            Self::Vnni => "vnni",
            Self::Neon => "neon",
            Self::NeonDot => "neon-dot",
        }
    }

    /// Whether this CPU can run the path.
    pub fn available(self) -> bool {
        match self {
            Self::Portable => true,
            Self::Avx2 => has_avx2_fma(),
            Self::Vnni => has_avx2_fma() && int8::IntKernel::Vnni.available(),
            Self::Neon => int8::IntKernel::Neon.available(),
            Self::NeonDot => int8::IntKernel::NeonDot.available(),
        }
    }

    /// The integer kernel the path runs the quantized convolutions on, if any.
    fn integer(self) -> Option<int8::IntKernel> {
        match self {
            Self::Portable | Self::Avx2 => Some(int8::IntKernel::Pairs),
            Self::Vnni => Some(int8::IntKernel::Vnni),
            Self::Neon => Some(int8::IntKernel::Neon),
            Self::NeonDot => Some(int8::IntKernel::NeonDot),
        }
    }

    /// The fastest path this CPU runs.
    pub fn detect() -> Self {
        *Self::ALL.iter().rev().find(|k| k.available()).unwrap_or(&Self::Portable)
    }

    /// The path named `name`, if this CPU runs it.
    ///
    /// # Errors
    /// An unknown name (the message lists the known ones), or a path this CPU lacks.
    pub fn from_name(name: &str) -> anyhow::Result<Self> {
        let Some(&k) = Self::ALL.iter().find(|k| k.name() == name) else {
            let names: Vec<&str> = Self::ALL.iter().map(|k| k.name()).collect();
            anyhow::bail!("unknown kernel path {name:?} (known: {})", names.join(", "));
        };
        anyhow::ensure!(k.available(), "this CPU cannot run the {name} kernels");
        Ok(k)
    }
}

impl std::fmt::Display for Kernels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Kind {
    fn datum_type(self) -> DatumType {
        match self {
            Self::F32 => DatumType::F32,
            Self::U8 => DatumType::U8,
        }
    }
}

/// What one [`LgOp`] computes.
#[derive(Debug)]
enum Step {
    /// `Mul`, `Add`, `Clip(0, 255)`, `Cast` to uint8.
    Quantize {
        scale: f32,
        shift: f32,
    },
    Depthwise(DwStep),
    /// Input 0 the activations, input 1 the residual when `residual`.
    Conv(QConvStep),
    /// 2×2 stride 2, then zero channels up to the output's.
    MaxPool,
    /// The inputs' storage one after the other.
    Concat,
}

/// One of livegate's fused operators, as a tract node: NHWC tensors of batch 1 in and out,
/// of the shapes and element types fixed when the graph was lowered.
#[derive(Debug, Clone)]
pub struct LgOp {
    step: Arc<Step>,
    inputs: TVec<Value>,
    out: Value,
    /// Only a path that [`Kernels::available`] said this CPU runs ([`lower`] checks).
    kernels: Kernels,
}

impl PartialEq for LgOp {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.step, &other.step) && self.kernels == other.kernels
    }
}

impl Eq for LgOp {}

/// Buffers the convolutions' input rows are built in, kept per thread across runs.
#[derive(Debug, Default)]
struct Scratch {
    rows: Vec<f32>,
    padded: Vec<f32>,
    rows_u8: Vec<u8>,
    padded_u8: Vec<u8>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::default();
}

impl Op for LgOp {
    fn name(&self) -> StaticName {
        match &*self.step {
            Step::Quantize { .. } => "livegate.Quantize",
            Step::Depthwise(_) => "livegate.Depthwise3x3",
            Step::Conv(c) if c.requant.is_some() => "livegate.QConv",
            Step::Conv(_) => "livegate.Conv",
            Step::MaxPool => "livegate.MaxPool2x2",
            Step::Concat => "livegate.Concat",
        }
        .into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        let mut info = vec![format!("kernels: {}", self.kernels)];
        if let Step::Conv(c) = &*self.step {
            info.push(format!("{k}×{k}/{s}, {n} outputs", k = c.kernel, s = c.stride, n = c.n));
            // Which kernel this convolution's products run on: the path's integer kernel when
            // its weights were packed for it (they fit int8), the float kernels otherwise.
            let path = match (self.kernels.integer(), &c.int8) {
                (Some(_), Some(iw)) => format!("integer ({:?})", iw.kernel),
                _ => "float".to_string(),
            };
            info.push(format!("products: {path}"));
        }
        Ok(info)
    }

    op_as_typed_op!();
}

impl EvalOp for LgOp {
    op_out_of_plan!();

    // Unsafe code here only for the uninitialised output tensor below (the kernels' own files,
    // `int8` and `kernels`, allow it for themselves; `lower` and the tests stay denied).
    #[allow(unsafe_code)]
    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        ensure!(inputs.len() == self.inputs.len(), "{} inputs, {} expected", inputs.len(), self.inputs.len());
        for (t, v) in inputs.iter().zip(&self.inputs) {
            let want = (v.kind.datum_type(), &v.shape.dims()[..]);
            ensure!(
                (t.datum_type(), t.shape()) == want,
                "input {:?} {:?}, {want:?} expected",
                t.datum_type(),
                t.shape()
            );
        }
        // SAFETY: the datum type is u8 or f32 (plain data, no drop, any bit pattern valid), and
        // `exec` writes every element of the output before anything reads it: each step fills
        // the whole `self.out` shape that `lower` gave it (the kernels' tests check every
        // element).
        let mut out =
            unsafe { Tensor::uninitialized_dt(self.out.kind.datum_type(), &self.out.shape.dims())? };
        SCRATCH.with_borrow_mut(|scratch| self.exec(&inputs, &mut out, scratch))?;
        Ok(tvec!(out.into_tvalue()))
    }
}

impl TypedOp for LgOp {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        ensure!(inputs.len() == self.inputs.len(), "{} inputs, {} expected", inputs.len(), self.inputs.len());
        for (f, v) in inputs.iter().zip(&self.inputs) {
            let dims = v.shape.dims();
            ensure!(
                f.datum_type == v.kind.datum_type() && f.shape.as_concrete() == Some(&dims[..]),
                "input {f:?} does not fit {:?} {dims:?}",
                v.kind
            );
        }
        Ok(tvec!(self.out.kind.datum_type().fact(self.out.shape.dims())))
    }

    as_op!();
}

fn f32s(t: &TValue) -> TractResult<&[f32]> {
    t.try_as_plain_ram()?.as_slice::<f32>()
}

fn u8s(t: &TValue) -> TractResult<&[u8]> {
    t.try_as_plain_ram()?.as_slice::<u8>()
}

impl LgOp {
    fn exec(&self, inputs: &[TValue], out: &mut Tensor, s: &mut Scratch) -> TractResult<()> {
        let (si, so, k) = (self.inputs[0].shape, self.out.shape, self.kernels);
        let mut view = out.try_as_plain_ram_mut()?;
        match &*self.step {
            Step::Quantize { scale, shift } => {
                kernels::quantize(f32s(&inputs[0])?, *scale, *shift, view.as_slice_mut::<u8>()?);
            }
            Step::Depthwise(op) => match self.out.kind {
                Kind::U8 => dispatch_dw(k, op, f32s(&inputs[0])?, (si, so), view.as_slice_mut::<u8>()?),
                Kind::F32 => dispatch_dw(k, op, f32s(&inputs[0])?, (si, so), view.as_slice_mut::<f32>()?),
            },
            Step::Conv(op) => {
                let res = if op.residual { Some(f32s(&inputs[1])?) } else { None };
                let dst = view.as_slice_mut::<f32>()?;
                match (self.inputs[0].kind, &op.int8) {
                    (Kind::U8, Some(iw)) if k.integer() == Some(iw.kernel) => {
                        let (rows, padded) = (&mut s.rows_u8, &mut s.padded_u8);
                        let rows = kernels::input_rows_u8(op, iw.k4, u8s(&inputs[0])?, si, so, rows, padded);
                        dispatch_int8(k, op, iw, rows, res, dst);
                    }
                    (Kind::U8, _) => {
                        kernels::input_rows(op, u8s(&inputs[0])?, si, so, &mut s.rows, &mut s.padded);
                        dispatch_conv(k, op, &s.rows, res, dst);
                    }
                    // A float 1×1 convolution's rows are its input's pixels as they are.
                    (Kind::F32, _) if op.kernel == 1 && op.stride == 1 => {
                        dispatch_conv(k, op, f32s(&inputs[0])?, res, dst);
                    }
                    (Kind::F32, _) => {
                        kernels::input_rows(op, f32s(&inputs[0])?, si, so, &mut s.rows, &mut s.padded);
                        dispatch_conv(k, op, &s.rows, res, dst);
                    }
                }
            }
            Step::MaxPool => kernels::maxpool_pad(f32s(&inputs[0])?, si, view.as_slice_mut::<f32>()?, so),
            Step::Concat => {
                let (dst, mut at) = (view.as_slice_mut::<f32>()?, 0);
                for input in inputs {
                    let part = f32s(input)?;
                    dst[at..at + part.len()].copy_from_slice(part);
                    at += part.len();
                }
            }
        }
        Ok(())
    }
}

/// Whether this CPU has AVX2 and FMA (never off x86-64).
fn has_avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The portable kernels' multiply-add: fused where the target's baseline has the instruction.
#[cfg(target_arch = "aarch64")]
type PortableMadd = Fused;
#[cfg(not(target_arch = "aarch64"))]
type PortableMadd = Plain;

#[allow(unsafe_code)] // calls the AVX2 + FMA kernel
fn dispatch_dw<T: DwOut>(k: Kernels, op: &DwStep, src: &[f32], (s, o): (Shape, Shape), dst: &mut [T]) {
    #[cfg(target_arch = "x86_64")]
    if matches!(k, Kernels::Avx2 | Kernels::Vnni) {
        // SAFETY: `k` is `Avx2` or `Vnni` only where `Kernels::available` saw AVX2 and FMA on
        // this CPU: an `LgOp`'s `kernels` (checked by `lower`), or a test's after it checks
        // `available()`.
        unsafe { dw_avx2(op, src, s, dst, o) };
        return;
    }
    let _ = k;
    kernels::depthwise::<PortableMadd, T>(op, src, s, dst, o);
}

#[allow(unsafe_code)] // calls the AVX2 + FMA kernel
fn dispatch_conv(k: Kernels, op: &QConvStep, rows: &[f32], res: Option<&[f32]>, dst: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if matches!(k, Kernels::Avx2 | Kernels::Vnni) {
        // SAFETY: as in `dispatch_dw`, `k` is `Avx2` or `Vnni` only where
        // `Kernels::available` saw AVX2 and FMA on this CPU.
        unsafe { conv_avx2(op, rows, res, dst) };
        return;
    }
    let _ = k;
    kernels::qconv::<PortableMadd>(op, rows, res, dst);
}

fn dispatch_int8(
    k: Kernels,
    op: &QConvStep,
    iw: &int8::Int8Weights,
    rows: &[u8],
    res: Option<&[f32]>,
    dst: &mut [f32],
) {
    #[cfg(target_arch = "x86_64")]
    if k == Kernels::Avx2 {
        int8::avx2::qconv(op, iw, rows, res, dst);
        return;
    }
    let _ = k;
    int8::qconv(op, iw, rows, res, dst);
}

/// [`kernels::depthwise`] compiled for AVX2 and FMA (callers check the CPU has them).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn dw_avx2<T: DwOut>(op: &DwStep, src: &[f32], s: Shape, dst: &mut [T], o: Shape) {
    kernels::depthwise::<Fused, T>(op, src, s, dst, o);
}

/// [`kernels::qconv`] compiled for AVX2 and FMA (callers check the CPU has them).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn conv_avx2(op: &QConvStep, rows: &[f32], res: Option<&[f32]>, dst: &mut [f32]) {
    kernels::qconv::<Fused>(op, rows, res, dst);
}

#[cfg(test)]
mod tests;
