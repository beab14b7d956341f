"""Rewrites an exported ONNX graph into forms tract 0.23 runs fast, and checks the result.

Why (profile of `livegate bench`, see docs/performance.md): tract decomposes PRelu into
GT + Iff + Mul, runs QuantizeLinear as a scalar per-element closure, and has a SIMD 2x2
max-pool only for stride 1 (stride 2 takes a scalar loop with bounds checks per element).
The rewrites, each a pure graph edit with the same arithmetic up to float rounding:

* ``prelu``:    PRelu(x, s)  ->  (1 - s) * Relu(x) + s * x   (tract fuses it into one chain)
* ``quantize``: QuantizeLinear(y, sc, zp) after a float depthwise Conv whose only consumer it
  is  ->  the Conv with weights / sc and bias / sc + zp + 0.5, then Clip(0, 255) and Cast to
  uint8 (truncation of a value >= 0 is floor, so floor(y/sc + zp + 0.5) = round half up,
  where QuantizeLinear rounds half to even: a tie differs by one step); any other
  QuantizeLinear  ->  Mul(1/sc), Add(zp + 0.5), Clip, Cast.
* ``maxpool``:  MaxPool 2x2 stride 2, no padding  ->  MaxPool 2x2 stride 1 + Slice step 2
  (exact: the same maxima, picked from the SIMD path's output).

Usage: tract_forms.py IN.onnx OUT.onnx [--only prelu,quantize,maxpool] [--check-inputs N]
Checks with onnxruntime on N random inputs in the model's input range and prints the largest
output difference; fails if the exact rewrites (prelu, maxpool) change an output by more than
float rounding.
"""
import argparse
import collections
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ALL = ("prelu", "quantize", "maxpool")


class Rewriter:
    def __init__(self, model):
        self.model = model
        self.graph = model.graph
        self.init = {i.name: i for i in self.graph.initializer}
        self.consumers = collections.defaultdict(list)
        for n in self.graph.node:
            for i in n.input:
                self.consumers[i].append(n)
        self.count = collections.Counter()
        self.serial = 0

    def name(self, base):
        self.serial += 1
        return f"{base}__tract{self.serial}"

    def const(self, base, value):
        name = self.name(base)
        self.graph.initializer.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def array(self, name):
        return numpy_helper.to_array(self.init[name])

    def scalar(self, name):
        return float(self.array(name).reshape(-1)[0])

    def clip_cast(self, x, out, base):
        clipped = self.name(base + "_clip")
        lo = self.const(base + "_lo", np.array(0, np.float32))
        hi = self.const(base + "_hi", np.array(255, np.float32))
        return [helper.make_node("Clip", [x, lo, hi], [clipped]),
                helper.make_node("Cast", [clipped], [out], to=TensorProto.UINT8)]

    def prelu(self, n):
        x, slope = n.input
        s = self.array(slope).astype(np.float32)
        relu, kept, linear = self.name("prelu_relu"), self.name("prelu_pos"), self.name("prelu_lin")
        one_minus = self.const("prelu_one_minus_slope", (1 - s).astype(np.float32))
        return [helper.make_node("Relu", [x], [relu]),
                helper.make_node("Mul", [relu, one_minus], [kept]),
                helper.make_node("Mul", [x, slope], [linear]),
                helper.make_node("Add", [kept, linear], [n.output[0]])]

    def folded_quantize(self, conv, q):
        """The depthwise conv `conv` with `q` (its only consumer) folded in."""
        sc, zp = self.scalar(q.input[1]), self.scalar(q.input[2])
        assert self.init[q.input[2]].data_type == TensorProto.UINT8, "uint8 activations only"
        w = (self.array(conv.input[1]) / sc).astype(np.float32)
        b = (self.array(conv.input[2]) / sc + zp + 0.5).astype(np.float32)
        raw = self.name("qconv")
        attrs = {a.name: helper.get_attribute_value(a) for a in conv.attribute}
        node = helper.make_node("Conv", [conv.input[0], self.const("qconv_w", w), self.const("qconv_b", b)],
                                [raw], name=conv.name, **attrs)
        return [node] + self.clip_cast(raw, q.output[0], "q")

    def quantize(self, n):
        sc, zp = self.scalar(n.input[1]), self.scalar(n.input[2])
        assert self.init[n.input[2]].data_type == TensorProto.UINT8, "uint8 activations only"
        scaled, shifted = self.name("q_scaled"), self.name("q_shifted")
        return [helper.make_node("Mul", [n.input[0], self.const("q_inv_scale", np.array(1 / sc, np.float32))], [scaled]),
                helper.make_node("Add", [scaled, self.const("q_zp_half", np.array(zp + 0.5, np.float32))], [shifted]),
                ] + self.clip_cast(shifted, n.output[0], "q")

    def maxpool(self, n):
        attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
        plain = (attrs.get("kernel_shape") == [2, 2] and attrs.get("strides") == [2, 2]
                 and not any(attrs.get("pads", [0])) and attrs.get("auto_pad", b"NOTSET") in (b"NOTSET", "NOTSET")
                 and attrs.get("ceil_mode", 0) == 0 and len(n.output) == 1)
        if not plain:
            return None
        dense = self.name("maxpool_s1")
        i64 = lambda v: np.array(v, np.int64)
        return [helper.make_node("MaxPool", [n.input[0]], [dense], kernel_shape=[2, 2], strides=[1, 1]),
                helper.make_node("Slice", [dense, self.const("mp_start", i64([0, 0])),
                                           self.const("mp_end", i64([1 << 30, 1 << 30])),
                                           self.const("mp_axes", i64([2, 3])), self.const("mp_steps", i64([2, 2]))],
                                 [n.output[0]])]

    def run(self, which):
        out, folded = [], set()
        for n in self.graph.node:
            if id(n) in folded:
                continue
            new = None
            if n.op_type == "PRelu" and "prelu" in which and n.input[1] in self.init:
                new = self.prelu(n)
            elif n.op_type == "Conv" and "quantize" in which and self.is_foldable(n):
                q = self.consumers[n.output[0]][0]
                folded.add(id(q))
                new = self.folded_quantize(n, q)
                self.count["QuantizeLinear (folded into its depthwise Conv)"] += 1
                out.extend(new)
                continue
            elif n.op_type == "QuantizeLinear" and "quantize" in which and n.input[1] in self.init:
                new = self.quantize(n)
            elif n.op_type == "MaxPool" and "maxpool" in which:
                new = self.maxpool(n)
            if new is None:
                out.append(n)
            else:
                self.count[n.op_type] += 1
                out.extend(new)
        del self.graph.node[:]
        self.graph.node.extend(out)
        used = {i for n in self.graph.node for i in n.input}
        keep = [i for i in self.graph.initializer if i.name in used]
        del self.graph.initializer[:]
        self.graph.initializer.extend(keep)
        return self.count

    def is_foldable(self, conv):
        group = next((a.i for a in conv.attribute if a.name == "group"), 1)
        users = self.consumers[conv.output[0]]
        graph_outputs = {o.name for o in self.graph.output}
        return (group > 1 and len(conv.input) == 3 and all(i in self.init for i in conv.input[1:])
                and len(users) == 1 and users[0].op_type == "QuantizeLinear"
                and all(i in self.init for i in users[0].input[1:]) and conv.output[0] not in graph_outputs)


def check(before, after, n_inputs, exact):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    a = ort.InferenceSession(before, so, providers=["CPUExecutionProvider"])
    b = ort.InferenceSession(after, so, providers=["CPUExecutionProvider"])
    inp = a.get_inputs()[0]
    rng = np.random.default_rng(8)
    worst = collections.defaultdict(float)
    for _ in range(n_inputs):
        # Smooth random images (a random field blurred by upsampling), not white noise.
        small = rng.uniform(0.0, 1.0, size=(1, 16, 16, inp.shape[3])).astype(np.float32)
        x = np.repeat(np.repeat(small, inp.shape[1] // 16, axis=1), inp.shape[2] // 16, axis=2)
        for o, ra, rb in zip(a.get_outputs(), a.run(None, {inp.name: x}), b.run(None, {inp.name: x})):
            rel = np.abs(ra - rb).max() / max(np.abs(ra).max(), 1e-6)
            worst[o.name] = max(worst[o.name], float(rel))
    for name, rel in worst.items():
        print(f"  {name}: largest difference {rel:.2e} of the output's range", file=sys.stderr)
    if exact and max(worst.values()) > 1e-4:
        sys.exit("tract_forms.py: an exact rewrite changed the outputs")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--only", default=",".join(ALL))
    ap.add_argument("--check-inputs", type=int, default=8)
    a = ap.parse_args()
    which = set(a.only.split(","))
    assert which <= set(ALL), f"rewrites: {ALL}"
    model = onnx.load(a.src)
    count = Rewriter(model).run(which)
    onnx.checker.check_model(model)
    onnx.save(model, a.dst)
    print(f"{a.dst}: rewrote {dict(count)}", file=sys.stderr)
    if a.check_inputs:
        requantized = any(k.startswith("QuantizeLinear") for k in count)
        check(a.src, a.dst, a.check_inputs, exact=not requantized)


if __name__ == "__main__":
    main()
