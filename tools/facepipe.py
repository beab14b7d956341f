"""A small numpy + onnxruntime re-implementation of livegate's vision pipeline.

It is the independent reference the Rust code is tested against (tools/reference.py) and the
source of real calibration crops for quantization (tools/models/quantize.py). Conventions
(the same as src/vision/*.rs, MediaPipe's face_detection_short_range + face_landmark):

* detector input: the frame letterboxed into 128x128 (aspect kept, centred, black padding),
  RGB NHWC float in [-1, 1];
* 896 anchors: 16x16 grid x 2, then 8x8 grid x 6; box/keypoints = raw/128 + anchor centre;
* score = sigmoid(logit) >= 0.5; weighted NMS at IoU 0.3;
* mesh ROI: box centre, side = 1.5 * max(w, h), rotation theta = atan2(yl - yr, xl - xr)
  from the right-eye (kp0) to the left-eye (kp1) keypoint;
* crop: output pixel centre (u+0.5, v+0.5) of the 192x192 crop maps to
  x = cx + d cos(theta) - e sin(theta), y = cy + d sin(theta) + e cos(theta) with
  d = (u+0.5)/192*size - size/2 (e likewise from v); bilinear, black outside; RGB / 255;
* mesh output (crop px) maps back through the same transform; z scales by size/192.

`Pipeline` does the pre-processing in numpy/PIL (the reference); `CvPipeline` does the same
steps the way an OpenCV user writes them (cv2.resize + cv2.copyMakeBorder for the letterbox,
cv2.warpAffine for the rotated crop), for the onnxruntime peer of tools/bench_peers.py. cv2 is
imported only there: the reference and quantize.py do not need it.
"""
import math

import numpy as np
from PIL import Image

DET_IN = 128
MESH_IN = 192


def load_rgb(path):
    return np.asarray(Image.open(path).convert("RGB"))


def anchors():
    out = []
    for grid, per in ((16, 2), (8, 6)):
        for y in range(grid):
            for x in range(grid):
                out += [((x + 0.5) / grid, (y + 0.5) / grid)] * per
    return np.array(out, dtype=np.float32)


ANCHORS = anchors()


def letterbox(img):
    h, w = img.shape[:2]
    s = DET_IN / max(w, h)
    rw, rh = round(w * s), round(h * s)
    ox, oy = (DET_IN - rw) // 2, (DET_IN - rh) // 2
    canvas = Image.new("RGB", (DET_IN, DET_IN))
    canvas.paste(Image.fromarray(img).resize((rw, rh), Image.BILINEAR), (ox, oy))
    x = np.asarray(canvas, dtype=np.float32) / 127.5 - 1.0
    return x[None], (s, ox, oy)


def iou(a, b):
    ix = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    iy = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    if ix <= 0 or iy <= 0:
        return 0.0
    inter = ix * iy
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def decode(reg, logits, lb, min_score=0.5):
    s, ox, oy = lb
    reg = reg.reshape(-1, 16) / DET_IN
    score = 1 / (1 + np.exp(-np.clip(logits.reshape(-1).astype(np.float64), -100, 100)))
    back = lambda u, v: ((u * DET_IN - ox) / s, (v * DET_IN - oy) / s)
    dets = []
    for i in np.nonzero(score >= min_score)[0]:
        ax, ay = ANCHORS[i]
        cx, cy, w, h = reg[i, 0] + ax, reg[i, 1] + ay, reg[i, 2], reg[i, 3]
        x0, y0 = back(cx - w / 2, cy - h / 2)
        x1, y1 = back(cx + w / 2, cy + h / 2)
        kps = [back(reg[i, 4 + 2 * k] + ax, reg[i, 5 + 2 * k] + ay) for k in range(6)]
        dets.append({"score": float(score[i]), "box": [x0, y0, x1 - x0, y1 - y0], "keypoints": kps})
    return weighted_nms(dets)


def weighted_nms(dets, thr=0.3):
    dets = sorted(dets, key=lambda d: -d["score"])
    out = []
    while dets:
        top = dets[0]
        cluster = [d for d in dets if d is top or iou(top["box"], d["box"]) > thr]
        dets = [d for d in dets if not any(d is c for c in cluster)]
        wsum = sum(d["score"] for d in cluster)
        avg = lambda f: sum(f(d) * d["score"] for d in cluster) / wsum
        out.append({
            "score": top["score"],
            "box": [avg(lambda d, j=j: d["box"][j]) for j in range(4)],
            "keypoints": [(avg(lambda d, k=k: d["keypoints"][k][0]), avg(lambda d, k=k: d["keypoints"][k][1]))
                          for k in range(6)],
        })
    return out


def roi_from_detection(det):
    x, y, w, h = det["box"]
    (xr, yr), (xl, yl) = det["keypoints"][0], det["keypoints"][1]
    theta = math.atan2(yl - yr, xl - xr)
    theta -= 2 * math.pi * math.floor((theta + math.pi) / (2 * math.pi))
    return {"cx": x + w / 2, "cy": y + h / 2, "size": max(w, h) * 1.5, "theta": theta}


def crop_to_frame(roi, u, v):
    k = roi["size"] / MESH_IN
    d, e = u * k - roi["size"] / 2, v * k - roi["size"] / 2
    c, s = math.cos(roi["theta"]), math.sin(roi["theta"])
    return roi["cx"] + d * c - e * s, roi["cy"] + d * s + e * c


def bilinear(img, x, y):
    h, w = img.shape[:2]
    fx, fy = x - 0.5, y - 0.5
    x0, y0 = np.floor(fx).astype(int), np.floor(fy).astype(int)
    wx, wy = (fx - x0)[..., None], (fy - y0)[..., None]
    out = np.zeros(x.shape + (3,), np.float32)
    for dy, ky in ((0, 1 - wy), (1, wy)):
        for dx, kx in ((0, 1 - wx), (1, wx)):
            xx, yy = x0 + dx, y0 + dy
            ok = (xx >= 0) & (xx < w) & (yy >= 0) & (yy < h)
            px = np.zeros(x.shape + (3,), np.float32)
            px[ok] = img[yy[ok], xx[ok]]
            out += kx * ky * px
    return out


def crop(img, roi):
    u, v = np.meshgrid(np.arange(MESH_IN) + 0.5, np.arange(MESH_IN) + 0.5)
    x, y = crop_to_frame(roi, u, v)
    return (bilinear(img.astype(np.float32), x, y) / 255.0)[None].astype(np.float32)


def mesh_to_frame(raw, roi):
    pts = np.asarray(raw, np.float64).reshape(-1, 3)
    x, y = crop_to_frame(roi, pts[:, 0], pts[:, 1])
    return np.stack([x, y, pts[:, 2] * roi["size"] / MESH_IN], axis=1)


def letterbox_cv(img):
    """`letterbox` with OpenCV: bilinear resize (no antialiasing, as livegate), black border."""
    import cv2
    h, w = img.shape[:2]
    s = DET_IN / max(w, h)
    rw, rh = round(w * s), round(h * s)
    ox, oy = (DET_IN - rw) // 2, (DET_IN - rh) // 2
    small = cv2.resize(img, (rw, rh), interpolation=cv2.INTER_LINEAR)
    canvas = cv2.copyMakeBorder(small, oy, DET_IN - rh - oy, ox, DET_IN - rw - ox, cv2.BORDER_CONSTANT, value=0)
    x = canvas.astype(np.float32) * (1 / 127.5) - 1.0
    return x[None], (s, ox, oy)


def crop_matrix(roi):
    """The 2x3 map from crop pixel to frame pixel in OpenCV's convention (pixel centres at
    integers), i.e. `crop_to_frame` shifted by half a pixel on both sides, for
    cv2.warpAffine(..., flags=WARP_INVERSE_MAP)."""
    k = roi["size"] / MESH_IN
    c, s = math.cos(roi["theta"]), math.sin(roi["theta"])
    h = 0.5 * k - roi["size"] / 2
    return np.array([[c * k, -s * k, roi["cx"] + h * c - h * s - 0.5],
                     [s * k, c * k, roi["cy"] + h * s + h * c - 0.5]], np.float64)


def crop_cv(img, roi):
    """`crop` with cv2.warpAffine: bilinear, black outside; RGB / 255."""
    import cv2
    c = cv2.warpAffine(img, crop_matrix(roi), (MESH_IN, MESH_IN), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                       borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return (c.astype(np.float32) * (1 / 255))[None]


class Pipeline:
    letterbox = staticmethod(letterbox)
    crop = staticmethod(crop)

    def __init__(self, det_path, mesh_path, threads=1):
        import onnxruntime as ort
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        self.det = ort.InferenceSession(det_path, so, providers=["CPUExecutionProvider"])
        self.mesh = ort.InferenceSession(mesh_path, so, providers=["CPUExecutionProvider"])

    def detect(self, img):
        x, lb = self.letterbox(img)
        out = dict(zip([o.name for o in self.det.get_outputs()], self.det.run(None, {"input": x})))
        return decode(out["regressors"], out["classificators"], lb)

    def landmarks(self, img, roi, session=None):
        sess = session or self.mesh
        out = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, {"input_1": self.crop(img, roi)})))
        presence = 1 / (1 + math.exp(-float(np.clip(out["conv2d_31"].reshape(-1)[0], -100, 100))))
        return mesh_to_frame(out["conv2d_21"], roi), presence


class CvPipeline(Pipeline):
    """`Pipeline` with OpenCV's letterbox and crop."""
    letterbox = staticmethod(letterbox_cv)
    crop = staticmethod(crop_cv)
