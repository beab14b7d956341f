//! ONNX graph → tract `TypedModel` of [`LgOp`]s: follows each node's consumers and fuses the
//! chains the int8 mesh and the detector are made of into one node each. Anything else is
//! refused with the node's name, so a different graph stops with an error rather than running
//! wrong (or slowly, in another form).

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail, ensure};
use tract_onnx::pb::{self, NodeProto};
use tract_onnx::prelude::*;

use super::int8::Int8Weights;
use super::kernels::NR;
use super::{DwStep, Kernels, Kind, LgOp, QConvStep, Requant, Shape, Step, Value};

/// The largest integer below which every `f32` integer is exact.
const EXACT: f64 = (1u32 << 24) as f64;

/// Lowers the graph at `path`, for an NHWC float input of `input` (batch 1), into a tract
/// model of livegate's operators running `kernels`; its outputs are the graph's, in order.
///
/// # Errors
/// The file cannot be read, `kernels` is a path this CPU lacks, or the graph holds an
/// operator or a pattern that livegate's operators do not implement (the message names the
/// node).
pub fn lower(path: &Path, input: [usize; 4], kernels: Kernels) -> anyhow::Result<TypedModel> {
    ensure!(kernels.available(), "this CPU cannot run the {kernels} kernels");
    let onnx = tract_onnx::onnx();
    let proto = onnx.proto_model_for_path(path)?;
    let graph = proto.graph.as_ref().context("the model has no graph")?;
    let mut consts = HashMap::new();
    for t in &graph.initializer {
        let tensor = tract_onnx::tensor::load_tensor(&*onnx.provider, t, None)?;
        consts.insert(t.name.as_str(), tensor);
    }
    let g = Graph::new(graph, consts);
    let mut b = Builder {
        model: TypedModel::default(),
        kernels,
        values: vec![],
        names: HashMap::new(),
        done: vec![],
        padded: HashMap::new(),
        flat: HashSet::new(),
    };
    b.done = vec![false; graph.node.len()];
    let input_name = graph
        .input
        .iter()
        .map(|i| i.name.as_str())
        .find(|n| !g.consts.contains_key(n))
        .context("the graph has no input")?;
    ensure!(input[0] == 1, "batch must be 1");
    let shape = Shape { h: input[1], w: input[2], c: input[3] };
    let source = b.model.add_source(input_name, f32::fact(input))?;
    b.values.push((source, Value { kind: Kind::F32, shape }));
    b.names.insert(input_name.to_owned(), 0);
    for i in 0..graph.node.len() {
        if !b.done[i] {
            b.node(&g, i).with_context(|| format!("node {:?} ({})", g.nodes[i].name, g.nodes[i].op_type))?;
        }
    }
    let outputs: Vec<OutletId> = graph
        .output
        .iter()
        .map(|o| match b.names.get(&o.name) {
            Some(&v) if b.values[v].1.kind == Kind::F32 && v != 0 => Ok(b.values[v].0),
            _ => bail!("output {} is not a float value computed by the graph", o.name),
        })
        .collect::<anyhow::Result<_>>()?;
    b.model.select_output_outlets(&outputs)?;
    Ok(b.model)
}

struct Graph<'a> {
    nodes: &'a [NodeProto],
    consts: HashMap<&'a str, Tensor>,
    consumers: HashMap<&'a str, Vec<usize>>,
    producer: HashMap<&'a str, usize>,
    outputs: HashSet<&'a str>,
}

impl<'a> Graph<'a> {
    fn new(graph: &'a pb::GraphProto, consts: HashMap<&'a str, Tensor>) -> Self {
        let mut consumers: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut producer = HashMap::new();
        for (i, n) in graph.node.iter().enumerate() {
            for input in &n.input {
                consumers.entry(input.as_str()).or_default().push(i);
            }
            for output in &n.output {
                producer.insert(output.as_str(), i);
            }
        }
        let outputs = graph.output.iter().map(|o| o.name.as_str()).collect();
        Self { nodes: &graph.node, consts, consumers, producer, outputs }
    }

    fn users(&self, name: &str) -> &[usize] {
        self.consumers.get(name).map_or(&[], Vec::as_slice)
    }

    /// The one node reading `name`, if it has that type and nothing else reads `name`.
    fn sole(&self, name: &str, op: &str) -> Option<usize> {
        match self.users(name) {
            [i] if !self.outputs.contains(name) && self.nodes[*i].op_type == op => Some(*i),
            _ => None,
        }
    }

    fn values<D: Datum + Copy>(&self, name: &str) -> anyhow::Result<Vec<D>> {
        let t = self.consts.get(name).with_context(|| format!("{name} is not a constant"))?;
        Ok(t.cast_to::<D>()?.to_plain_array_view::<D>()?.iter().copied().collect())
    }

    fn scalar(&self, name: &str) -> anyhow::Result<f32> {
        match self.values::<f32>(name)?.as_slice() {
            [v] => Ok(*v),
            _ => bail!("{name} is not a scalar"),
        }
    }

    /// Per-channel constant of `c` channels (a scalar is broadcast).
    fn channels(&self, name: &str, c: usize) -> anyhow::Result<Vec<f32>> {
        let v = self.values::<f32>(name)?;
        match v.len() {
            1 => Ok(vec![v[0]; c]),
            n if n == c => Ok(v),
            n => bail!("{name} has {n} values for {c} channels"),
        }
    }

    /// The non-constant input of a binary node and the constant one.
    fn split<'n>(&self, node: &'n NodeProto) -> anyhow::Result<(&'n str, &'n str)> {
        match node.input.as_slice() {
            [a, b] if self.consts.contains_key(b.as_str()) => Ok((a, b)),
            [a, b] if self.consts.contains_key(a.as_str()) => Ok((b, a)),
            _ => bail!("{} wants one constant operand", node.name),
        }
    }

    /// `Clip(0, 255)` → `Cast(uint8)` after `name`: the node indices and the cast's output.
    fn clip_cast(&self, name: &str) -> Option<(usize, usize)> {
        let clip = self.sole(name, "Clip")?;
        let bounds = &self.nodes[clip].input;
        let (lo, hi) = (self.scalar(bounds.get(1)?).ok()?, self.scalar(bounds.get(2)?).ok()?);
        let cast = self.sole(&self.nodes[clip].output[0], "Cast")?;
        (lo == 0.0 && hi == 255.0 && ints(&self.nodes[cast], "to") == [2]).then_some((clip, cast))
    }

    /// The tract form of PRelu reading `x`: `Relu(x) · pos + x · lin`.
    fn prelu(&self, x: &str, c: usize) -> Option<(Vec<f32>, Vec<f32>, [usize; 4])> {
        if self.outputs.contains(x) {
            return None;
        }
        let users = self.users(x);
        let relu = *users.iter().find(|&&i| self.nodes[i].op_type == "Relu")?;
        let lin = *users.iter().find(|&&i| self.nodes[i].op_type == "Mul")?;
        let pos = self.sole(&self.nodes[relu].output[0], "Mul")?;
        let add = self.sole(&self.nodes[pos].output[0], "Add")?;
        let ok = users.len() == 2 && self.sole(&self.nodes[lin].output[0], "Add") == Some(add);
        let (_, pos_c) = self.split(&self.nodes[pos]).ok()?;
        let (_, lin_c) = self.split(&self.nodes[lin]).ok()?;
        let (pos_v, lin_v) = (self.channels(pos_c, c).ok()?, self.channels(lin_c, c).ok()?);
        ok.then_some((pos_v, lin_v, [relu, lin, pos, add]))
    }
}

fn ints(node: &NodeProto, name: &str) -> Vec<i64> {
    node.attribute
        .iter()
        .find(|a| a.name == name)
        .map_or(vec![], |a| if a.ints.is_empty() { vec![a.i] } else { a.ints.clone() })
}

struct Builder {
    model: TypedModel,
    kernels: Kernels,
    /// Every value computed so far (0: the input): where tract's graph holds it, and what it is.
    values: Vec<(OutletId, Value)>,
    /// ONNX names → values (a transpose or a reshape names the same value again).
    names: HashMap<String, usize>,
    done: Vec<bool>,
    /// Outputs of a channel `Pad` read only as a residual: the value and its padded width.
    padded: HashMap<String, (usize, usize)>,
    /// Names whose NCHW meaning has been transposed back to NHWC (`Transpose [0, 2, 3, 1]`):
    /// their flat order is the storage order, so reshapes and concatenations are copies.
    flat: HashSet<String>,
}

/// Where a convolution reads and what it writes.
struct ConvGeometry {
    src: usize,
    s: Shape,
    n: usize,
    kernel: usize,
    stride: usize,
    pads: [usize; 4],
    o: Shape,
}

/// What differs between a quantized convolution and a float one.
struct Arith {
    /// `[n][c][ky][kx]` (int8 ones as `w − w_zp`).
    weights: Vec<f32>,
    /// Quantized ones for the integer path, where they fit.
    int8: Option<super::int8::Int8Weights>,
    bias: Vec<f32>,
    x_zp: f32,
    requant: Option<Requant>,
}

/// What follows a convolution and runs in its epilogue.
struct Tail<'g> {
    residual: Option<usize>,
    res_c: usize,
    prelu: Option<(Vec<f32>, Vec<f32>)>,
    relu: bool,
    out: &'g str,
    nodes: Vec<usize>,
}

impl Builder {
    /// Wires `step` reading values `srcs` into the model as a node named after its output
    /// `out` (a value of `kind` and `shape`), and returns that value.
    fn wire(
        &mut self,
        step: Step,
        srcs: &[usize],
        out: &str,
        kind: Kind,
        shape: Shape,
    ) -> anyhow::Result<usize> {
        let value = Value { kind, shape };
        let op = LgOp {
            step: Arc::new(step),
            inputs: srcs.iter().map(|&v| self.values[v].1).collect(),
            out: value,
            kernels: self.kernels,
        };
        let outlets: TVec<OutletId> = srcs.iter().map(|&v| self.values[v].0).collect();
        let wired = self.model.wire_node(out, op, &outlets)?;
        self.values.push((wired[0], value));
        self.names.insert(out.to_owned(), self.values.len() - 1);
        Ok(self.values.len() - 1)
    }

    fn known(&self, name: &str, kind: Kind) -> anyhow::Result<(usize, Shape)> {
        match self.names.get(name) {
            Some(&v) if self.values[v].1.kind == kind => Ok((v, self.values[v].1.shape)),
            Some(_) => bail!("{name} has an unexpected element type"),
            None => bail!("{name} is not computed before its use"),
        }
    }

    fn finish(&mut self, nodes: &[usize]) {
        for &n in nodes {
            self.done[n] = true;
        }
    }

    fn node(&mut self, g: &Graph, i: usize) -> anyhow::Result<()> {
        let node = &g.nodes[i];
        match node.op_type.as_str() {
            "Transpose" => self.transpose(node, i),
            "Reshape" => self.reshape(node, i),
            "Mul" => self.quantize(g, i),
            "Conv" if ints(node, "group").iter().all(|&v| v == 1) => self.fconv(g, i),
            "Conv" => self.depthwise(g, i),
            "QLinearConv" => self.qconv(g, i),
            "MaxPool" => self.maxpool(g, i),
            "Pad" => self.pad(g, i),
            "Concat" => self.concat(node, i),
            op => bail!("operator {op} is not implemented"),
        }
    }

    /// NHWC → NCHW of the graph input (the same NHWC storage under NCHW names), or NCHW →
    /// NHWC of a result (the same storage, now in its flat order).
    fn transpose(&mut self, node: &NodeProto, i: usize) -> anyhow::Result<()> {
        let (v, _) = self.known(&node.input[0], Kind::F32)?;
        match ints(node, "perm").as_slice() {
            [0, 3, 1, 2] => ensure!(v == 0, "only the graph input may be transposed to NCHW"),
            [0, 2, 3, 1] => _ = self.flat.insert(node.output[0].clone()),
            p => bail!("transpose {p:?}"),
        }
        self.names.insert(node.output[0].clone(), v);
        self.finish(&[i]);
        Ok(())
    }

    /// A reshape that keeps the flat order (one pixel, one channel, or an NHWC-ordered value).
    fn reshape(&mut self, node: &NodeProto, i: usize) -> anyhow::Result<()> {
        let (v, s) = self.known(&node.input[0], Kind::F32)?;
        let flat = self.flat.contains(&node.input[0]);
        ensure!(flat || s.h * s.w == 1 || s.c == 1, "reshape would reorder NHWC storage");
        if flat {
            self.flat.insert(node.output[0].clone());
        }
        self.names.insert(node.output[0].clone(), v);
        self.finish(&[i]);
        Ok(())
    }

    /// `Concat` along axis 1 of NHWC-ordered `[1, rows, k]` values: one after the other.
    fn concat(&mut self, node: &NodeProto, i: usize) -> anyhow::Result<()> {
        ensure!(ints(node, "axis") == [1], "concat along another axis");
        let mut srcs = vec![];
        for input in &node.input {
            ensure!(self.flat.contains(input), "{input} is not in NHWC order");
            srcs.push(self.known(input, Kind::F32)?.0);
        }
        let len = srcs.iter().map(|&v| self.values[v].1.shape.len()).sum();
        self.wire(Step::Concat, &srcs, &node.output[0], Kind::F32, Shape { h: 1, w: 1, c: len })?;
        self.flat.insert(node.output[0].clone());
        self.finish(&[i]);
        Ok(())
    }

    /// A zero channel `Pad` whose result is only a residual: recorded, folded into the `Add`.
    fn pad(&mut self, g: &Graph, i: usize) -> anyhow::Result<()> {
        let node = &g.nodes[i];
        let (v, s) = self.known(&node.input[0], Kind::F32)?;
        let extra = channel_pad(g, node)?;
        ensure!(
            g.users(&node.output[0]).iter().all(|&u| g.nodes[u].op_type == "Add"),
            "pad read by a non-Add"
        );
        self.padded.insert(node.output[0].clone(), (v, s.c + extra));
        self.finish(&[i]);
        Ok(())
    }

    /// The residual `name` of an output of shape `o`: a value, or a channel-padded one; with
    /// the channels it really has.
    fn residual(&mut self, g: &Graph, name: &str, o: Shape) -> anyhow::Result<(usize, usize)> {
        // A channel `Pad` may come later in the file than the convolution whose `Add` reads it.
        if let Some(&p) = g.producer.get(name)
            && !self.done[p]
            && g.nodes[p].op_type == "Pad"
        {
            self.pad(g, p)?;
        }
        let (v, c) = match self.padded.get(name) {
            Some(&(v, c)) => (v, c),
            None => {
                let (v, s) = self.known(name, Kind::F32)?;
                (v, s.c)
            }
        };
        let s = self.values[v].1.shape;
        ensure!((s.h, s.w, c) == (o.h, o.w, o.c) && s.c <= c, "residual {s:?} does not fit {o:?}");
        Ok((v, s.c))
    }

    /// What follows a convolution's output `out`: `Add(residual)`, then PRelu or Relu.
    fn tail<'g>(&mut self, g: &'g Graph, mut out: &'g str, o: Shape) -> anyhow::Result<Tail<'g>> {
        let (mut residual, mut res_c, mut nodes) = (None, o.c, vec![]);
        if let Some(add) = g.sole(out, "Add") {
            let other = g.nodes[add].input.iter().find(|x| x.as_str() != out).context("Add of itself")?;
            let (r, c) = self.residual(g, other, o)?;
            (residual, res_c, out) = (Some(r), c, g.nodes[add].output[0].as_str());
            nodes.push(add);
        }
        let n_pad = o.c.div_ceil(NR) * NR;
        let (mut prelu, mut relu) = (None, false);
        if let Some((mut pos, mut lin, chain)) = g.prelu(out, o.c) {
            pos.resize(n_pad, 0.0);
            lin.resize(n_pad, 0.0);
            (prelu, out) = (Some((pos, lin)), g.nodes[chain[3]].output[0].as_str());
            nodes.extend(chain);
        } else if let Some(r) = g.sole(out, "Relu") {
            (relu, out) = (true, g.nodes[r].output[0].as_str());
            nodes.push(r);
        }
        Ok(Tail { residual, res_c, prelu, relu, out, nodes })
    }

    /// `Mul(s)` → `Add(z)` → `Clip(0, 255)` → `Cast(uint8)`.
    fn quantize(&mut self, g: &Graph, i: usize) -> anyhow::Result<()> {
        let (x, s) = g.split(&g.nodes[i])?;
        let (src, shape) = self.known(x, Kind::F32)?;
        let add = g.sole(&g.nodes[i].output[0], "Add").context("Mul not followed by Add")?;
        let (_, z) = g.split(&g.nodes[add])?;
        let (clip, cast) = g.clip_cast(&g.nodes[add].output[0]).context("no Clip → Cast")?;
        let step = Step::Quantize { scale: g.scalar(s)?, shift: g.scalar(z)? };
        self.wire(step, &[src], &g.nodes[cast].output[0], Kind::U8, shape)?;
        self.finish(&[i, add, clip, cast]);
        Ok(())
    }

    /// A float depthwise 3×3 convolution, optionally → `Clip(0, 255)` → `Cast(uint8)`.
    fn depthwise(&mut self, g: &Graph, i: usize) -> anyhow::Result<()> {
        let node = &g.nodes[i];
        let (src, s) = self.known(&node.input[0], Kind::F32)?;
        let w = g.values::<f32>(&node.input[1])?;
        ensure!(ints(node, "group") == [s.c as i64] && w.len() == s.c * 9, "not a 3×3 depthwise");
        let (stride, pads) = geometry(node, 3)?;
        let bias = match node.input.get(2) {
            Some(b) => g.values::<f32>(b)?,
            None => vec![0.0; s.c],
        };
        let mut weights = vec![0.0; 9 * s.c];
        for (c, taps) in w.chunks_exact(9).enumerate() {
            for (t, &v) in taps.iter().enumerate() {
                weights[t * s.c + c] = v;
            }
        }
        let o = out_shape(s, 3, stride, pads, s.c)?;
        // Quantized for the next layer (`Clip` → `Cast` fused), or float.
        let (out, kind, nodes) = match g.clip_cast(&node.output[0]) {
            Some((clip, cast)) => (&g.nodes[cast].output[0], Kind::U8, vec![i, clip, cast]),
            None => (&node.output[0], Kind::F32, vec![i]),
        };
        let op = DwStep { weights, bias, stride, pad_top: pads[0], pad_left: pads[1] };
        self.wire(Step::Depthwise(op), &[src], out, kind, o)?;
        self.finish(&nodes);
        Ok(())
    }

    /// `MaxPool` 2×2/1 → `Slice` step 2 (= 2×2/2) → optionally a zero channel `Pad`.
    fn maxpool(&mut self, g: &Graph, i: usize) -> anyhow::Result<()> {
        let node = &g.nodes[i];
        let (src, s) = self.known(&node.input[0], Kind::F32)?;
        ensure!(ints(node, "kernel_shape") == [2, 2] && ints(node, "strides") == [1, 1], "not 2×2/1");
        ensure!(ints(node, "pads").iter().all(|&p| p == 0), "padded pooling");
        let slice = g.sole(&node.output[0], "Slice").context("no Slice after the pooling")?;
        let si = &g.nodes[slice].input;
        let arg = |k: usize| si.get(k).map(|n| g.values::<i64>(n)).transpose();
        ensure!(
            arg(1)? == Some(vec![0, 0]) && arg(3)? == Some(vec![2, 3]) && arg(4)? == Some(vec![2, 2]),
            "not a stride-2 slice of H and W"
        );
        ensure!(arg(2)?.is_some_and(|e| e.iter().all(|&e| e >= s.h.max(s.w) as i64)), "short slice");
        let (mut out, mut nodes, mut c) = (&g.nodes[slice].output[0], vec![i, slice], s.c);
        if let Some(pad) = g.sole(out, "Pad") {
            c += channel_pad(g, &g.nodes[pad])?;
            (out, nodes) = (&g.nodes[pad].output[0], vec![i, slice, pad]);
        }
        self.wire(Step::MaxPool, &[src], out, Kind::F32, Shape { h: s.h / 2, w: s.w / 2, c })?;
        self.finish(&nodes);
        Ok(())
    }

    /// The geometry shared by both kinds of convolution: the input (of `kind`), the weights'
    /// `[n][c][k][k]` shape against it, stride, pads and the output shape.
    fn conv_geometry(
        &self,
        g: &Graph,
        node: &NodeProto,
        weights: &str,
        kind: Kind,
    ) -> anyhow::Result<ConvGeometry> {
        let (src, s) = self.known(&node.input[0], kind)?;
        let shape = g.consts.get(weights).context("weights are not a constant")?.shape().to_vec();
        ensure!(shape.len() == 4, "weights of rank {}", shape.len());
        let (n, kernel) = (shape[0], shape[2]);
        ensure!(shape == [n, s.c, kernel, kernel], "weights {shape:?} do not fit {} channels", s.c);
        let (stride, pads) = geometry(node, kernel)?;
        let o = out_shape(s, kernel, stride, pads, n)?;
        Ok(ConvGeometry { src, s, n, kernel, stride, pads, o })
    }

    /// One convolution step with its epilogue `tail`; `consumed` are the nodes before the tail.
    fn push_conv(
        &mut self,
        geo: ConvGeometry,
        arith: Arith,
        tail: Tail,
        consumed: &[usize],
    ) -> anyhow::Result<()> {
        let ConvGeometry { src, s, n, kernel, stride, pads, o } = geo;
        let Arith { weights, int8, mut bias, x_zp, requant } = arith;
        bias.resize(n.div_ceil(NR) * NR, 0.0);
        let op = QConvStep {
            kernel,
            stride,
            pad_top: pads[0],
            pad_left: pads[1],
            k: kernel * kernel * s.c,
            n,
            x_zp,
            weights: pack_weights(&weights, n, s.c, kernel),
            bias,
            requant,
            residual: tail.residual.is_some(),
            res_c: tail.res_c,
            prelu: tail.prelu,
            relu: tail.relu,
            int8,
        };
        let srcs: Vec<usize> = std::iter::once(src).chain(tail.residual).collect();
        self.wire(Step::Conv(op), &srcs, tail.out, Kind::F32, o)?;
        self.finish(consumed);
        self.finish(&tail.nodes);
        Ok(())
    }

    /// `QLinearConv` → `DequantizeLinear` → optionally `Add(residual)` → optionally PRelu.
    fn qconv(&mut self, g: &Graph, i: usize) -> anyhow::Result<()> {
        let node = &g.nodes[i];
        let inp = &node.input;
        ensure!(inp.len() >= 8 && ints(node, "group").iter().all(|&v| v == 1), "grouped QLinearConv");
        let geo = self.conv_geometry(g, node, &inp[3], Kind::U8)?;
        let (x_zp, w_zp) = (g.scalar(&inp[2])?, g.scalar(&inp[5])?);
        let weights: Vec<f32> = g.values::<i8>(&inp[3])?.iter().map(|&v| f32::from(v) - w_zp).collect();
        let max_w = weights.iter().map(|v| v.abs()).fold(0.0, f32::max);
        let max_acc = (geo.kernel * geo.kernel * geo.s.c) as f64 * f64::from(x_zp.max(255.0 - x_zp) * max_w);
        let bias = match inp.get(8) {
            Some(b) => g.values::<i32>(b)?,
            None => vec![0; geo.n],
        };
        let max_bias = bias.iter().map(|b| f64::from(b.unsigned_abs())).fold(0.0, f64::max);
        ensure!(max_acc + max_bias < EXACT, "sums could exceed f32's exact integers");
        let deq = g.sole(&node.output[0], "DequantizeLinear").context("no DequantizeLinear")?;
        let di = &g.nodes[deq].input;
        let y_zp = g.scalar(&inp[7])?;
        ensure!(di.get(2).map_or(Ok(0.0), |z| g.scalar(z))? == y_zp, "dequantized with another zero point");
        let requant = Requant {
            mult: g.scalar(&inp[1])? * g.scalar(&inp[4])? / g.scalar(&inp[6])?,
            y_zp,
            deq_scale: g.scalar(&di[1])?,
        };
        let tail = self.tail(g, g.nodes[deq].output[0].as_str(), geo.o)?;
        let bias = bias.iter().map(|&b| b as f32).collect();
        // Packed only where the integer path runs: no unread copy.
        let int8 = self
            .kernels
            .integer()
            .and_then(|ik| Int8Weights::new(&weights, geo.n, geo.s.c, geo.kernel, x_zp, ik));
        self.push_conv(geo, Arith { weights, int8, bias, x_zp, requant: Some(requant) }, tail, &[i, deq])
    }

    /// A float `Conv` (groups 1) → optionally `Add(residual)` → optionally Relu or PRelu.
    fn fconv(&mut self, g: &Graph, i: usize) -> anyhow::Result<()> {
        let node = &g.nodes[i];
        let geo = self.conv_geometry(g, node, &node.input[1], Kind::F32)?;
        let weights = g.values::<f32>(&node.input[1])?;
        let bias = match node.input.get(2) {
            Some(b) => g.values::<f32>(b)?,
            None => vec![0.0; geo.n],
        };
        let tail = self.tail(g, &node.output[0], geo.o)?;
        self.push_conv(geo, Arith { weights, int8: None, bias, x_zp: 0.0, requant: None }, tail, &[i])
    }
}

/// Stride (equal on both axes) and pads `[top, left, bottom, right]` of a k×k convolution.
fn geometry(node: &NodeProto, k: usize) -> anyhow::Result<(usize, [usize; 4])> {
    let strides = ints(node, "strides");
    let stride = match strides.as_slice() {
        [] => 1,
        [a, b] if a == b && *a > 0 => *a as usize,
        _ => bail!("strides {strides:?}"),
    };
    ensure!(ints(node, "dilations").iter().all(|&d| d == 1), "dilated convolution");
    let ks = ints(node, "kernel_shape");
    ensure!(ks.is_empty() || ks == [k as i64, k as i64], "kernel_shape {ks:?}");
    let p = ints(node, "pads");
    let pads = match p.as_slice() {
        [] => [0; 4],
        [t, l, b, r] if p.iter().all(|&v| (0..k as i64).contains(&v)) => [*t, *l, *b, *r].map(|v| v as usize),
        _ => bail!("pads {p:?}"),
    };
    Ok((stride, pads))
}

fn out_shape(s: Shape, k: usize, stride: usize, pads: [usize; 4], c: usize) -> anyhow::Result<Shape> {
    let (h, w) = (s.h + pads[0] + pads[2], s.w + pads[1] + pads[3]);
    ensure!(h >= k && w >= k, "input {s:?} smaller than the kernel");
    Ok(Shape { h: (h - k) / stride + 1, w: (w - k) / stride + 1, c })
}

/// ONNX `[n][c][ky][kx]` weights (int8 ones as `w − w_zp`) → `[n / NR][(ky, kx, c)][NR]`.
pub(super) fn pack_weights(w: &[f32], n: usize, c: usize, kernel: usize) -> Vec<f32> {
    let k = kernel * kernel * c;
    let n_pad = n.div_ceil(NR) * NR;
    let mut out = vec![0.0; n_pad * k];
    for o in 0..n {
        for ch in 0..c {
            for t in 0..kernel * kernel {
                let kk = t * c + ch;
                let v = w[(o * c + ch) * kernel * kernel + t];
                out[(o / NR) * k * NR + kk * NR + o % NR] = v;
            }
        }
    }
    out
}

/// Channels a constant zero `Pad` adds at the end of the channel axis (and nothing else).
fn channel_pad(g: &Graph, pad: &NodeProto) -> anyhow::Result<usize> {
    let p = g.values::<i64>(&pad.input[1])?;
    ensure!(p.len() == 8 && p.iter().enumerate().all(|(k, &v)| k == 5 || v == 0), "not a channel pad");
    ensure!(pad.input.len() < 3 && ints(pad, "mode").is_empty(), "pad value or mode");
    Ok(p[5] as usize)
}
