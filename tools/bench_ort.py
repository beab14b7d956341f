"""The peer benchmark: onnxruntime, single-threaded, on the very input tensors livegate's
bench used (written by `livegate bench --peer` as .npy files). Times are process CPU time,
as livegate's.

Usage: bench_ort.py --models DIR --inputs DIR [--runs 200] [--warmup 20] [--json]
Exit 3 when onnxruntime is not installed (pip install -r tools/requirements-peer.txt).
"""
import argparse
import json
import os
import sys
import time

try:
    import numpy as np
    import onnxruntime as ort
except ImportError as e:
    print(f"bench_ort.py: {e}; install with: pip install -r tools/requirements-peer.txt", file=sys.stderr)
    sys.exit(3)

NETS = {  # stage name (as in livegate bench) -> (model file, input tensor)
    "detect_fp32": ("face_detection_short_range_fp32.onnx", "detector_input.npy"),
    "mesh_int8": ("face_landmark_int8.onnx", "mesh_input.npy"),
    "mesh_fp32": ("face_landmark_fp32.onnx", "mesh_input.npy"),
}


def timing(sess, feed, runs, warmup):
    for _ in range(warmup):
        sess.run(None, feed)
    ms = []
    for _ in range(runs):
        t = time.process_time()
        sess.run(None, feed)
        ms.append((time.process_time() - t) * 1e3)
    ms.sort()
    at = lambda q: ms[round((len(ms) - 1) * q)]
    return {"median_ms": at(0.5), "p90_ms": at(0.9)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", required=True)
    ap.add_argument("--inputs", required=True)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    stages = {}
    for stage, (model, tensor) in NETS.items():
        sess = ort.InferenceSession(os.path.join(a.models, model), so, providers=["CPUExecutionProvider"])
        x = np.load(os.path.join(a.inputs, tensor)).astype(np.float32)
        stages[stage] = timing(sess, {sess.get_inputs()[0].name: x}, a.runs, a.warmup)
    report = {"runtime": "onnxruntime", "version": ort.__version__, "threads": 1, "stages": stages}
    if a.json:
        print(json.dumps(report))
    else:
        for k, v in stages.items():
            print(f"{k:<12} median {v['median_ms']:.3f} ms  p90 {v['p90_ms']:.3f} ms")


if __name__ == "__main__":
    main()
