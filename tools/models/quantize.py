"""Quantize FaceMesh to the int8 variant tract runs fast, and measure it against float.

Usage: quantize.py FP32_MESH FP32_DETECTOR OUT_INT8 --calib IMG... --eval IMG...

Variant (see shared research, models.md §3-5): QOperator, Conv-only, per-tensor weights
(per-channel requantization is not fused in tract), depthwise convs (group > 1) left float
(tract has no int8 depthwise kernel), uint8 activations, int8 weights, MinMax calibration on
real 192x192 face crops made by the float pipeline, augmented (rotation, scale, shift, flip,
brightness) with a fixed seed. The quantized graph is then rewritten into forms tract runs
fast (tract_forms.py: PRelu, QuantizeLinear, MaxPool). Prints the int8-vs-float landmark
error of that final graph on held-out crops.
"""
import argparse
import json
import math
import os
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))
import facepipe as fp  # noqa: E402
import tract_forms  # noqa: E402


def crops(pipe, paths, per_face, seed):
    rng = np.random.default_rng(seed)
    out = []
    for path in paths:
        base = fp.load_rgb(path)
        for flip in (False, True):
            img = base[:, ::-1].copy() if flip else base
            for det in pipe.detect(img):
                roi0 = fp.roi_from_detection(det)
                for _ in range(per_face):
                    roi = dict(roi0)
                    roi["theta"] += math.radians(rng.uniform(-30, 30))
                    roi["size"] *= rng.uniform(0.8, 1.25)
                    roi["cx"] += rng.uniform(-0.08, 0.08) * roi0["size"]
                    roi["cy"] += rng.uniform(-0.08, 0.08) * roi0["size"]
                    x = fp.crop(img, roi) * rng.uniform(0.7, 1.3)
                    out.append(np.clip(x, 0, 1).astype(np.float32))
    return out


class Reader(CalibrationDataReader):
    def __init__(self, samples):
        self.it = iter([{"input_1": s} for s in samples])

    def get_next(self):
        return next(self.it, None)


def depthwise_convs(model_path):
    m = onnx.load(model_path)
    names = []
    for n in m.graph.node:
        if n.op_type == "Conv" and any(a.name == "group" and a.i > 1 for a in n.attribute):
            names.append(n.name)
    return names


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mesh_fp32")
    ap.add_argument("det_fp32")
    ap.add_argument("out")
    ap.add_argument("--calib", nargs="+", required=True)
    ap.add_argument("--eval", nargs="+", required=True)
    ap.add_argument("--report", help="write the accuracy numbers as JSON here")
    a = ap.parse_args()

    pipe = fp.Pipeline(a.det_fp32, a.mesh_fp32)
    calib = crops(pipe, a.calib, per_face=8, seed=20261124)
    print(f"calibration crops: {len(calib)}", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        pre = os.path.join(tmp, "pre.onnx")
        quant_pre_process(a.mesh_fp32, pre, skip_symbolic_shape=True)
        excluded = depthwise_convs(pre)
        quantize_static(
            pre, a.out, Reader(calib),
            quant_format=QuantFormat.QOperator, per_channel=False,
            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
            op_types_to_quantize=["Conv"], nodes_to_exclude=excluded,
        )
    print(f"left float (depthwise): {len(excluded)} convs", file=sys.stderr)
    model = onnx.load(a.out)
    print(f"tract forms: {dict(tract_forms.Rewriter(model).run(set(tract_forms.ALL)))}", file=sys.stderr)
    onnx.checker.check_model(model)
    onnx.save(model, a.out)

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    f32 = ort.InferenceSession(a.mesh_fp32, so, providers=["CPUExecutionProvider"])
    i8 = ort.InferenceSession(a.out, so, providers=["CPUExecutionProvider"])
    held = crops(pipe, a.eval, per_face=4, seed=7)
    errs, nose, dpres = [], [], []
    for x in held:
        (pa, la), (pb, lb) = f32.run(None, {"input_1": x}), i8.run(None, {"input_1": x})
        pa, pb = pa.reshape(-1, 3)[:, :2], pb.reshape(-1, 3)[:, :2]
        d = np.linalg.norm(pa - pb, axis=1)
        errs.append(d)
        nose.append(d[1])
        sig = lambda v: 1 / (1 + math.exp(-float(np.clip(v.reshape(-1)[0], -100, 100))))
        dpres.append(abs(sig(la) - sig(lb)))
    e = np.concatenate(errs)
    report = {
        "calibration_crops": len(calib), "held_out_crops": len(held), "float_depthwise_convs": len(excluded),
        "mean_px": float(e.mean()), "p95_px": float(np.percentile(e, 95)), "max_px": float(e.max()),
        "nose_mean_px": float(np.mean(nose)), "max_presence_change": float(max(dpres)),
    }
    print(json.dumps(report, indent=1))
    if a.report:
        with open(a.report, "w") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
