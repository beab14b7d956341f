"""Writes tests/data/reference.json: what an independent float pipeline (numpy +
onnxruntime, tools/facepipe.py) sees in every test picture. The Rust tests compare tract's
results with it. Usage: reference.py [--check]  (--check compares instead of writing and exits
1 on a difference larger than rounding)."""
import argparse
import glob
import json
import os
import sys

import numpy as np
import onnxruntime as ort

sys.path.insert(0, os.path.dirname(__file__))
import facepipe as fp  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..")
DATA = os.path.join(ROOT, "tests", "data")
MODELS = os.path.join(ROOT, "models")


def r3(v):
    return [round(float(x), 3) for x in v]


def build():
    pipe = fp.Pipeline(os.path.join(MODELS, "face_detection_short_range_fp32.onnx"),
                       os.path.join(MODELS, "face_landmark_fp32.onnx"))
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    int8 = ort.InferenceSession(os.path.join(MODELS, "face_landmark_int8.onnx"), so,
                                providers=["CPUExecutionProvider"])
    images = {}
    for path in sorted(glob.glob(os.path.join(DATA, "*.png")) + glob.glob(os.path.join(DATA, "*.jpg"))):
        img = fp.load_rgb(path)
        faces = []
        for det in pipe.detect(img):
            roi = fp.roi_from_detection(det)
            lm, presence = pipe.landmarks(img, roi)
            lm8, _ = pipe.landmarks(img, roi, session=int8)
            faces.append({
                "score": round(det["score"], 4), "box": r3(det["box"]),
                "keypoints": [r3(k) for k in det["keypoints"]],
                "roi": {k: round(float(v), 4) for k, v in roi.items()},
                "presence": round(presence, 4),
                "landmarks": [r3(p) for p in lm],
                "landmarks_int8": [r3(p) for p in lm8],
                "int8_mean_px": round(float(np.linalg.norm(lm[:, :2] - lm8[:, :2], axis=1).mean()), 3),
            })
        images[os.path.basename(path)] = {"width": img.shape[1], "height": img.shape[0], "faces": faces}
    return {"conventions": fp.__doc__.strip(), "onnxruntime": ort.__version__, "images": images}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args()
    ref = build()
    out = os.path.join(DATA, "reference.json")
    if not a.check:
        with open(out, "w") as f:
            json.dump(ref, f, indent=None, separators=(",", ":"))
        for name, v in ref["images"].items():
            faces = v["faces"]
            print(name, len(faces), [(f["score"], f["landmarks"][1][:2], f["int8_mean_px"]) for f in faces])
        return
    with open(out) as f:
        old = json.load(f)
    bad = []
    for name, v in ref["images"].items():
        o = old["images"].get(name)
        if o is None or len(o["faces"]) != len(v["faces"]):
            bad.append(f"{name}: face count")
            continue
        for fa, fb in zip(v["faces"], o["faces"]):
            d = np.abs(np.array(fa["landmarks"]) - np.array(fb["landmarks"])).max()
            if d > 0.01:
                bad.append(f"{name}: landmarks differ by {d:.3f} px")
    print("reference.json is up to date" if not bad else "\n".join(bad))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
