"""Whole-frame comparison: livegate against onnxruntime and MediaPipe on the same frames, in
one command, interleaved round by round so machine noise hits all three alike.

* livegate: `livegate bench --session DIR --json` (its `pipeline` section);
* onnxruntime 1 thread: our same ONNX models (int8 mesh, fp32 detector) with the same
  pre/post-processing in numpy (tools/facepipe.py) and the same keypoint tracking
  (tools/peer_lk.py), detector every 10th frame or on a lost track as `VisionConfig`;
* MediaPipe: its own FaceMesh solution in video mode (static_image_mode=False).

Times are process CPU time (time.process_time; livegate uses CLOCK_PROCESS_CPUTIME_ID too):
the machine is shared, and CPU time is what a frame costs. Every process is pinned to one CPU (the livegate child inherits it), so MediaPipe's own
threads cannot use a second core. Run through tools/bench_peers.sh (it sets up the venv).
"""
import argparse
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import facepipe  # noqa: E402
import peer_lk  # noqa: E402

SEED_LANDMARKS = [33, 133, 362, 263, 1, 4, 5, 6, 168, 195, 197, 98, 327, 61, 291, 13, 14, 0, 17, 70, 300, 105,
                  334, 107, 336, 234, 454, 93, 323, 50, 280, 205, 425, 152, 148, 377, 10, 109, 338, 151]
DETECT_INTERVAL, PRESENCE_MIN = 10, 0.5  # VisionConfig::default()


def median(xs):
    return statistics.median(xs) if xs else 0.0


def decode(jpeg):
    return np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB"))


def roi_from_landmarks(pts):
    x0, y0 = pts[:, 0].min(), pts[:, 1].min()
    w, h = pts[:, 0].max() - x0, pts[:, 1].max() - y0
    return facepipe.roi_from_detection({"box": [x0, y0, w, h], "keypoints": [pts[33, :2], pts[263, :2]]})


class OrtTracker:
    """FaceTracker's schedule on onnxruntime."""

    def __init__(self, models):
        self.p = facepipe.Pipeline(os.path.join(models, "face_detection_short_range_fp32.onnx"),
                                   os.path.join(models, "face_landmark_int8.onnx"), threads=1)
        self.roi, self.since = None, 0

    def observe(self, img):
        dets = None
        if self.roi is None or self.since >= DETECT_INTERVAL:
            dets, self.since = self.p.detect(img), 0
        self.since += 1
        roi = self.roi or (facepipe.roi_from_detection(dets[0]) if dets else None)
        face = self.p.landmarks(img, roi) if roi else None
        if face and face[1] < PRESENCE_MIN:
            face = None
            if self.roi is not None:
                dets, self.since = self.p.detect(img), 0
                if dets:
                    face = self.p.landmarks(img, facepipe.roi_from_detection(dets[0]))
                    face = face if face[1] >= PRESENCE_MIN else None
        self.roi = roi_from_landmarks(face[0]) if face else None
        return face, dets is not None


def run_ort(frames, models, runs, warmup):
    tr = OrtTracker(models)
    laps = {k: [] for k in ("decode", "track", "track_detect", "keypoints", "vision", "total")}
    prev = None
    for n in range(warmup + runs):
        t0 = time.process_time()
        img = decode(frames[n % len(frames)])
        t1 = time.process_time()
        face, detector_ran = tr.observe(img)
        t2 = time.process_time()
        pyr = peer_lk.pyramid(img)
        if prev is not None:
            peer_lk.track(prev[0], pyr, prev[1])
        t3 = time.process_time()
        prev = (pyr, face[0][SEED_LANDMARKS, :2]) if face else None
        if n < warmup:
            continue
        ms = lambda a, b: (b - a) * 1e3
        laps["decode"].append(ms(t0, t1))
        laps["track_detect" if detector_ran else "track"].append(ms(t1, t2))
        laps["keypoints"].append(ms(t2, t3))
        laps["vision"].append(ms(t1, t3))
        laps["total"].append(ms(t0, t3))
    out = {k: median(v) for k, v in laps.items()}
    # Throughput is frames per unit of time: the mean, detector frames included.
    out["vision"], out["total"] = statistics.fmean(laps["vision"]), statistics.fmean(laps["total"])
    return out


def run_mediapipe(frames, runs, warmup):
    import mediapipe as mp
    laps = {"decode": [], "facemesh": [], "total": []}
    found = 0
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=False, max_num_faces=1, refine_landmarks=False,
                                         min_detection_confidence=0.5, min_tracking_confidence=0.5) as fm:
        for n in range(warmup + runs):
            t0 = time.process_time()
            img = decode(frames[n % len(frames)])
            t1 = time.process_time()
            res = fm.process(img)
            t2 = time.process_time()
            if n < warmup:
                continue
            found += res.multi_face_landmarks is not None
            laps["decode"].append((t1 - t0) * 1e3)
            laps["facemesh"].append((t2 - t1) * 1e3)
            laps["total"].append((t2 - t0) * 1e3)
    out = {k: median(v) for k, v in laps.items()}
    out["total"] = statistics.fmean(laps["total"])  # throughput: the mean (re-detections included)
    out["face_found_fraction"] = found / max(runs, 1)
    return out


def run_livegate(a):
    cmd = [a.livegate, "--models", a.models, "bench", "--session", a.session, "--runs", str(a.runs),
           "--warmup", str(a.warmup), "--json",
           "--peer", os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench_ort.py"), "--python", sys.executable]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--livegate", required=True)
    ap.add_argument("--models", default="models")
    ap.add_argument("--session", default="tests/sessions/live_astronaut")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--cpu", type=int, default=0, help="the one CPU every runtime is pinned to")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    os.sched_setaffinity(0, {a.cpu})
    with open(os.path.join(a.session, "session.json")) as f:
        files = [fr["file"] for fr in json.load(f)["frames"]]
    frames = [open(os.path.join(a.session, name), "rb").read() for name in files]

    # Memory first, so the children's peak RSS is livegate verify's alone.
    t = time.perf_counter()
    subprocess.run([a.livegate, "--models", a.models, "verify", a.session], check=False, capture_output=True)
    verify_s = time.perf_counter() - t
    verify_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

    rounds = []
    for _ in range(a.rounds):
        lg = run_livegate(a)
        ort = run_ort(frames, a.models, a.runs, a.warmup)
        mp = run_mediapipe(frames, a.runs, a.warmup)
        p = lg["pipeline"]
        rounds.append({
            "livegate": {"vision_ms": p["vision_ms"], "total_ms": p["total_ms"], "fps": p["fps"],
                         "stages": {s["name"]: s["median_ms"] for s in p["stages"]},
                         "startup_ms": lg.get("startup_ms"), "peak_rss_mib": lg.get("peak_rss_mib")},
            "networks_over_onnxruntime": {r["model"]: r["livegate_over_peer"] for r in lg["ratios"]},
            "onnxruntime": ort, "mediapipe": mp,
            "vs_onnxruntime": p["vision_ms"] / ort["vision"],
            "vs_mediapipe_fps": p["fps"] / (1e3 / mp["total"]),
        })
    import mediapipe
    import onnxruntime
    pick = lambda f: median([f(r) for r in rounds])
    report = {
        "vs_onnxruntime": pick(lambda r: r["vs_onnxruntime"]),
        "vs_mediapipe_fps": pick(lambda r: r["vs_mediapipe_fps"]),
        "livegate_vision_ms": pick(lambda r: r["livegate"]["vision_ms"]),
        "onnxruntime_vision_ms": pick(lambda r: r["onnxruntime"]["vision"]),
        "livegate_fps": pick(lambda r: r["livegate"]["fps"]),
        "mediapipe_fps": pick(lambda r: 1e3 / r["mediapipe"]["total"]),
        "startup_ms": pick(lambda r: r["livegate"]["startup_ms"] or 0.0),
        "networks_over_onnxruntime": {k: pick(lambda r, k=k: r["networks_over_onnxruntime"][k])
                                            for k in rounds[0]["networks_over_onnxruntime"]},
        "verify_peak_rss_mib": verify_rss,
        "verify_wall_s": verify_s,
        "versions": {"onnxruntime": onnxruntime.__version__, "mediapipe": mediapipe.__version__,
                     "numpy": np.__version__},
        "frames": len(frames), "runs": a.runs, "cpu": a.cpu, "rounds": rounds,
    }
    if a.json:
        print(json.dumps(report, indent=1))
        return
    print(f"{len(frames)} frames of {a.session}, {a.runs} timed frames x {a.rounds} rounds, all pinned to CPU {a.cpu}")
    print(f"{'round':<6}{'livegate vision':>16}{'ort vision':>12}{'ratio':>7}{'livegate fps':>14}{'MediaPipe fps':>15}{'ratio':>7}")
    for i, r in enumerate(rounds):
        print(f"{i:<6}{r['livegate']['vision_ms']:>13.2f} ms{r['onnxruntime']['vision']:>9.2f} ms{r['vs_onnxruntime']:>7.2f}"
              f"{r['livegate']['fps']:>14.1f}{1e3 / r['mediapipe']['total']:>15.1f}{r['vs_mediapipe_fps']:>7.2f}")
    print(f"median: vs_onnxruntime {report['vs_onnxruntime']:.2f} (livegate time / ort time, ≤ 1.5 wanted), "
          f"vs_mediapipe_fps {report['vs_mediapipe_fps']:.2f} (≥ 1.0 wanted)")
    print("networks alone, livegate / onnxruntime: "
          + ", ".join(f"{k} {v:.2f}" for k, v in report["networks_over_onnxruntime"].items()))
    print(f"start-up to first frame {report['startup_ms']:.0f} ms; livegate verify peak RSS {verify_rss:.1f} MiB")


if __name__ == "__main__":
    main()
