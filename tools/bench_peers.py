"""Whole-frame comparison: livegate against onnxruntime and MediaPipe on the same frames, in
one command, interleaved round by round so machine noise hits all three alike.

* livegate: `livegate bench --session DIR --json` (its `pipeline` section);
* onnxruntime 1 thread: our same ONNX models (int8 mesh, fp32 detector) with pre-processing
  as an OpenCV user writes it (tools/facepipe.py CvPipeline: cv2.resize + cv2.copyMakeBorder
  letterbox, cv2.warpAffine rotated crop; numpy post-processing) and keypoint tracking with
  cv2.calcOpticalFlowPyrLK (tools/peer_lk.py cv_track: 15x15 window, 3 levels, 1 px
  forward-backward check) of the same landmarks livegate tracks (liveness::motion::KEYPOINTS,
  read from src/liveness/motion.rs) on the frames livegate's challenge loop tracked them (its
  report's keypoint_schedule: the Nose state's frames); the detector when livegate's face count
  is due (CountSchedule: every 100 ms of frames, from the session's timestamps), when livegate's
  loop ran it (detector_schedule: a new challenge, a pivotal frame) or on a lost track, as
  `FaceTracker`; the run fails unless both ran the detector on the same share of frames;
* MediaPipe: its own FaceMesh solution in video mode (static_image_mode=False).

Both Python peers decode the JPEG with cv2.imdecode + cv2.cvtColor(BGR->RGB), as their users
do; decode is reported apart from vision. livegate verify's peak RSS is the process's own
(`livegate verify --peak-rss`: VmHWM), not RUSAGE_CHILDREN. --kernels NAME is passed to every
livegate command.

Times are process CPU time (time.process_time; livegate uses CLOCK_PROCESS_CPUTIME_ID too):
the machine is shared, and CPU time is what a frame costs. Every process is pinned to one CPU (the livegate child inherits it), so MediaPipe's own
threads cannot use a second core. Run through tools/bench_peers.sh (it sets up the venv).
"""
import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
import time

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import facepipe  # noqa: E402
import peer_lk  # noqa: E402

COUNT_INTERVAL_MS, PRESENCE_MIN = 100, 0.5  # VisionConfig::default()
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def rust_ids(src, name):
    m = re.search(rf"pub const {name}: \[usize; (\d+)\] = \[([^\]]*)\];", src)
    if not m:
        sys.exit(f"bench_peers.py: no `pub const {name}: [usize; N] = [...]` in src/liveness/motion.rs")
    ids = [int(x) for x in m.group(2).replace("\n", " ").split(",") if x.strip()]
    assert len(ids) == int(m.group(1)), (name, len(ids), m.group(1))
    return ids


def keypoint_ids():
    """liveness::motion::KEYPOINTS: SEED_LANDMARKS then POSE_POINTS, read from the Rust source
    so this list cannot drift from what livegate tracks."""
    with open(os.path.join(ROOT, "src", "liveness", "motion.rs")) as f:
        src = f.read()
    return rust_ids(src, "SEED_LANDMARKS") + rust_ids(src, "POSE_POINTS")


KEYPOINTS = keypoint_ids()


def median(xs):
    return statistics.median(xs) if xs else 0.0


def decode(jpeg):
    """JPEG bytes to an RGB array the way OpenCV and MediaPipe users do it."""
    return cv2.cvtColor(cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def roi_from_landmarks(pts):
    x0, y0 = pts[:, 0].min(), pts[:, 1].min()
    w, h = pts[:, 0].max() - x0, pts[:, 1].max() - y0
    return facepipe.roi_from_detection({"box": [x0, y0, w, h], "keypoints": [pts[33, :2], pts[263, :2]]})


class CountSchedule:
    """livegate's detector timetable (src/vision/count.rs): the faces are counted over the whole
    frame at least every COUNT_INTERVAL_MS of frames, the frame period being the median of the
    last five frame intervals."""

    def __init__(self, interval_ms):
        self.interval_ms, self.since, self.last, self.periods = interval_ms, 0, None, []

    def frames_per_count(self, periods):
        if not periods:
            return 1
        p = sorted(periods)[len(periods) // 2]
        return max(1, math.ceil(self.interval_ms / p - 0.1)) if p > 0 else 1

    def _noted(self, t_ms):
        periods = list(self.periods)
        if self.last is not None and t_ms > self.last:
            periods = (periods + [t_ms - self.last])[-5:]
        return periods

    def due(self, t_ms):
        return self.last is None or self.since + 1 >= self.frames_per_count(self._noted(t_ms))

    def frame(self, t_ms, counted):
        self.periods, self.last = self._noted(t_ms), t_ms
        self.since = 0 if counted else self.since + 1


class OrtTracker:
    """FaceTracker's schedule (src/vision/tracker.rs) on onnxruntime: the mesh follows the
    track; the detector runs when livegate's ran on the same frame (its face count, a new
    challenge, a pivotal frame: `detector_schedule` of its bench report) and when the track is
    lost; and when livegate's count schedule (CountSchedule, ported) says so."""

    def __init__(self, models):
        self.p = facepipe.CvPipeline(os.path.join(models, "face_detection_short_range_fp32.onnx"),
                      os.path.join(models, "face_landmark_int8.onnx"), threads=1)
        self.roi, self.schedule = None, CountSchedule(COUNT_INTERVAL_MS)

    def observe(self, img, t_ms, livegate_detected):
        due = self.schedule.due(t_ms) or livegate_detected
        dets = self.p.detect(img) if self.roi is None or due else None
        roi = self.roi or (facepipe.roi_from_detection(dets[0]) if dets else None)
        face = self.p.landmarks(img, roi) if roi else None
        if face and face[1] < PRESENCE_MIN:
            face = None
            if self.roi is not None:
                dets = dets if dets is not None else self.p.detect(img)
                if dets:
                    face = self.p.landmarks(img, facepipe.roi_from_detection(dets[0]))
                    face = face if face[1] >= PRESENCE_MIN else None
        self.roi = roi_from_landmarks(face[0]) if face else None
        self.schedule.frame(t_ms, dets is not None)
        return face, dets is not None


def replayed(challenge_frames, times):
    """The frames livegate's bench served, in order, as (index in the recording, t_ms): each
    challenge replays the recording from its first frame (`challenge_frames`: how many frames
    each had), 100 ms after the last frame of the one before."""
    period = times[-1] + 100
    return [(i, c * period + times[i]) for c, k in enumerate(challenge_frames) for i in range(k)]


def run_ort(frames, sequence, models, runs, warmup, keypoints_on, detector_on):
    """`sequence`: the frames in livegate's order ([`replayed`]). `keypoints_on`: livegate's keypoint
    schedule ('1' where its challenge loop tracked keypoints: the Nose state's frames); the peer
    tracks them on the same frames, from the previous one when it tracked too, else it starts
    there (the pyramid of the first frame, as livegate's Nose start builds it)."""
    tr = OrtTracker(models)
    grey, track = peer_lk.cv_grey, peer_lk.cv_track
    laps = {k: [] for k in ("decode", "track", "track_detect", "keypoints", "vision", "total")}
    prev = None
    found, kept, tracked, marks, rois, detector_frames = 0, 0, 0, {}, {}, 0
    for n in range(warmup + runs):
        t0 = time.process_time()
        index, t_ms = sequence[n]
        img = decode(frames[index])
        t1 = time.process_time()
        face, detector_ran = tr.observe(img, t_ms, detector_on[n] == "1")
        t2 = time.process_time()
        ok = None
        if keypoints_on[n] == "1":
            g = grey(img)
            ok = track(prev[0], g, prev[1])[1] if prev is not None else None
        t3 = time.process_time()
        prev = (g, face[0][KEYPOINTS, :2]) if face and keypoints_on[n] == "1" else None
        if n < warmup:
            continue
        found += face is not None
        if ok is not None:
            kept, tracked = kept + int(ok.sum()), tracked + len(ok)
        if face is not None and index not in marks:
            marks[index] = face[0][KEYPOINTS, :2]
            rois[index] = roi_from_landmarks(face[0])
        ms = lambda a, b: (b - a) * 1e3
        laps["decode"].append(ms(t0, t1))
        laps["track_detect" if detector_ran else "track"].append(ms(t1, t2))
        detector_frames += detector_ran
        if keypoints_on[n] == "1":
            laps["keypoints"].append(ms(t2, t3))
        laps["vision"].append(ms(t1, t3))
        laps["total"].append(ms(t0, t3))
    out = {k: median(v) for k, v in laps.items()}
    # Throughput is frames per unit of time: the mean, detector frames included.
    out["vision"], out["total"] = statistics.fmean(laps["vision"]), statistics.fmean(laps["total"])
    out["face_found_fraction"] = found / max(runs, 1)
    out["keypoints_kept_fraction"] = kept / max(tracked, 1)
    out["impl"] = "opencv"
    out["detector_fraction"] = detector_frames / max(runs, 1)
    return out, marks, (tr.p, rois)


def crop_check(p, rois, frames, count=3):
    """The OpenCV crop against the numpy reference crop on a few frames (same ROI, same mesh):
    mean landmark distance, px. Untimed."""
    ref = facepipe.Pipeline.crop
    out = []
    for i in sorted(rois)[:count]:
        img = decode(frames[i])
        a = p.landmarks(img, rois[i])[0][KEYPOINTS, :2]
        out_ref = dict(zip([o.name for o in p.mesh.get_outputs()], p.mesh.run(None, {"input_1": ref(img, rois[i])})))
        b = facepipe.mesh_to_frame(out_ref["conv2d_21"], rois[i])[KEYPOINTS, :2]
        out.append(float(np.hypot(*(a - b).T).mean()))
    return max(out) if out else None


def landmark_distance(a, b):
    """Median over the frames both found a face on of the mean distance of the KEYPOINTS, px."""
    common = sorted(set(a) & set(b))
    d = [float(np.hypot(*(a[i] - b[i]).T).mean()) for i in common]
    return (median(d) if d else None), len(common)


def run_mediapipe(frames, sequence, runs, warmup):
    import mediapipe as mp
    laps = {"decode": [], "facemesh": [], "total": []}
    found, marks = 0, {}
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=False, max_num_faces=1, refine_landmarks=False,
                                         min_detection_confidence=0.5, min_tracking_confidence=0.5) as fm:
        for n in range(warmup + runs):
            t0 = time.process_time()
            index = sequence[n][0]
            img = decode(frames[index])
            t1 = time.process_time()
            res = fm.process(img)
            t2 = time.process_time()
            if n < warmup:
                continue
            found += res.multi_face_landmarks is not None
            if res.multi_face_landmarks and index not in marks:
                h, w = img.shape[:2]
                lm = res.multi_face_landmarks[0].landmark
                marks[index] = np.array([[lm[i].x * w, lm[i].y * h] for i in KEYPOINTS])
            laps["decode"].append((t1 - t0) * 1e3)
            laps["facemesh"].append((t2 - t1) * 1e3)
            laps["total"].append((t2 - t0) * 1e3)
    out = {k: median(v) for k, v in laps.items()}
    out["total"] = statistics.fmean(laps["total"])  # throughput: the mean (re-detections included)
    out["face_found_fraction"] = found / max(runs, 1)
    return out, marks


def livegate_cmd(a, *args):
    """livegate with the global options (--kernels passed to every command)."""
    return [a.livegate] + (["--kernels", a.kernels] if a.kernels else []) + ["--models", a.models, *args]


def run_verify(a):
    """`livegate verify --peak-rss`: wall time, its own peak RSS (VmHWM, MiB) and the result."""
    t = time.perf_counter()
    out = subprocess.run(livegate_cmd(a, "verify", "--peak-rss", a.session),
                         check=False, capture_output=True, text=True)
    wall = time.perf_counter() - t
    m = re.search(r"^peak_rss_mib (\S+)$", out.stderr, re.M)
    if out.returncode not in (0, 1) or not m:
        sys.exit(f"bench_peers.py: livegate verify failed (exit {out.returncode}): {out.stderr.strip()}")
    rss = float(m.group(1)) if m.group(1) != "unavailable" else None
    return wall, rss, json.loads(out.stdout).get("result")


def run_livegate(a):
    cmd = livegate_cmd(a, "bench", "--session", a.session, "--runs", str(a.runs), "--warmup", str(a.warmup), "--json",
                       "--peer", os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench_ort.py"),
                       "--python", sys.executable)
    out = subprocess.run(cmd, check=False, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"bench_peers.py: {' '.join(cmd)} failed (exit {out.returncode}): {out.stderr.strip()}")
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
    ap.add_argument("--kernels", metavar="NAME", default=None,
                    help="livegate's kernel path (portable, avx2, vnni, ...), passed to every livegate command "
                         "(default: livegate's own choice, or $LIVEGATE_KERNELS)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    assert KEYPOINTS and len(KEYPOINTS) == len(set(KEYPOINTS)), f"keypoints read from motion.rs: {KEYPOINTS}"
    os.sched_setaffinity(0, {a.cpu})
    with open(os.path.join(a.session, "session.json")) as f:
        recorded = json.load(f)["frames"]
    files, times = [fr["file"] for fr in recorded], [fr["t_ms"] for fr in recorded]
    frames = [open(os.path.join(a.session, name), "rb").read() for name in files]

    verify_s, verify_rss, verify_result = run_verify(a)

    rounds, engines = [], set()
    for _ in range(a.rounds):
        lg = run_livegate(a)
        engines.add((lg.get("kernels"), lg.get("engine")))
        schedule = lg["pipeline"]["keypoint_schedule"]
        assert len(schedule) == a.warmup + a.runs, f"livegate's keypoint schedule has {len(schedule)} frames"
        sequence = replayed(lg["pipeline"]["challenge_frames"], times)
        assert len(sequence) == a.warmup + a.runs, f"livegate's challenges served {len(sequence)} frames"
        ort, ort_marks, (ort_pipe, ort_rois) = run_ort(frames, sequence, a.models, a.runs, a.warmup, schedule,
                                                       lg["pipeline"]["detector_schedule"])
        mp, mp_marks = run_mediapipe(frames, sequence, a.runs, a.warmup)
        ort["keypoints_vs_mediapipe_px"], ort["frames_compared"] = landmark_distance(ort_marks, mp_marks)
        p = lg["pipeline"]
        rounds.append({
            "livegate": {"vision_ms": p["vision_ms"], "total_ms": p["total_ms"], "fps": p["fps"],
                         "detector_fraction": p["detector_frames"] / max(p["frames_timed"], 1),
                         "keypoint_fraction": p["keypoint_frames"] / max(p["frames_timed"], 1),
                         "challenges": len(p["challenge_frames"]),
                         "stages": {s["name"]: s["median_ms"] for s in p["stages"]},
                         "startup_ms": lg.get("startup_ms"), "peak_rss_mib": lg.get("peak_rss_mib")},
            "networks_over_onnxruntime": {r["model"]: r["livegate_over_peer"] for r in lg["ratios"]},
            "onnxruntime": ort, "mediapipe": mp,
            "vs_onnxruntime": p["vision_ms"] / ort["vision"],
            "vs_mediapipe_fps": p["fps"] / (1e3 / mp["total"]),
        })
    import mediapipe
    import onnxruntime
    if len(engines) != 1:
        print(f"bench_peers.py: warning: livegate's engine changed between rounds: {sorted(engines)}", file=sys.stderr)
    kernels, engine = sorted(engines, key=str)[0]
    pick = lambda f: median([f(r) for r in rounds])
    crop_px = crop_check(ort_pipe, ort_rois, frames)
    checks = {
        "onnxruntime_face_found_fraction": min(r["onnxruntime"]["face_found_fraction"] for r in rounds),
        "mediapipe_face_found_fraction": min(r["mediapipe"]["face_found_fraction"] for r in rounds),
        "onnxruntime_keypoints_kept_fraction": pick(lambda r: r["onnxruntime"]["keypoints_kept_fraction"]),
        # The onnxruntime peer's KEYPOINTS against MediaPipe's own FaceMesh on the same frames
        # (the same 468-point topology): a few px is two meshes agreeing.
        "onnxruntime_vs_mediapipe_keypoints_px": pick(lambda r: r["onnxruntime"]["keypoints_vs_mediapipe_px"] or 0.0),
        # The cv2.warpAffine crop against the numpy reference crop, same ROI: sub-pixel-ish.
        "opencv_crop_vs_numpy_crop_px": crop_px,
        "verify_result": verify_result,
        # Both run the detector on the same frames (the count schedule, and a lost track).
        "livegate_detector_fraction": pick(lambda r: r["livegate"]["detector_fraction"]),
        "onnxruntime_detector_fraction": pick(lambda r: r["onnxruntime"]["detector_fraction"]),
    }
    problems = []
    if checks["onnxruntime_face_found_fraction"] < 1.0:
        lost = 1 - checks["onnxruntime_face_found_fraction"]
        problems.append(f"onnxruntime peer lost the face on {lost:.1%} of frames")
    if checks["onnxruntime_vs_mediapipe_keypoints_px"] > 8.0:
        px = checks["onnxruntime_vs_mediapipe_keypoints_px"]
        problems.append(f"onnxruntime peer's keypoints are {px:.1f} px from MediaPipe's")
    if crop_px is not None and crop_px > 2.0:
        problems.append(f"OpenCV crop's landmarks are {crop_px:.2f} px from the numpy crop's")
    if abs(checks["livegate_detector_fraction"] - checks["onnxruntime_detector_fraction"]) > 0.02:
        problems.append(f"the detector ran on {checks['livegate_detector_fraction']:.1%} of livegate's frames but "
                        f"{checks['onnxruntime_detector_fraction']:.1%} of the onnxruntime peer's: not the same work")
    if checks["onnxruntime_keypoints_kept_fraction"] < 0.8:
        problems.append(f"LK kept only {checks['onnxruntime_keypoints_kept_fraction']:.0%} of the keypoints")
    checks["ok"], checks["problems"] = not problems, problems
    report = {
        "kernels": kernels, "engine": engine,
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
        "onnxruntime_peer": "opencv",
        "keypoints": len(KEYPOINTS),
        "checks": checks,
        "versions": {"onnxruntime": onnxruntime.__version__, "mediapipe": mediapipe.__version__,
                     "opencv": cv2.__version__, "numpy": np.__version__},
        "frames": len(frames), "runs": a.runs, "cpu": a.cpu, "rounds": rounds,
    }
    for msg in problems:
        print(f"bench_peers.py: CHECK FAILED: {msg}", file=sys.stderr)
    if a.json:
        print(json.dumps(report, indent=1))
        sys.exit(0 if checks["ok"] else 1)
    print(f"livegate kernels {kernels}, engine {engine}")
    print(f"{len(frames)} frames of {a.session}, {a.runs} timed frames x {a.rounds} rounds, all pinned to CPU {a.cpu}; "
          f"onnxruntime peer: {report['onnxruntime_peer']}, {len(KEYPOINTS)} keypoints")
    print(f"{'round':<6}{'livegate vision':>16}{'ort vision':>12}{'ratio':>7}{'livegate fps':>14}{'MediaPipe fps':>15}{'ratio':>7}")
    for i, r in enumerate(rounds):
        print(f"{i:<6}{r['livegate']['vision_ms']:>13.2f} ms{r['onnxruntime']['vision']:>9.2f} ms{r['vs_onnxruntime']:>7.2f}"
              f"{r['livegate']['fps']:>14.1f}{1e3 / r['mediapipe']['total']:>15.1f}{r['vs_mediapipe_fps']:>7.2f}")
    print(f"median: vs_onnxruntime {report['vs_onnxruntime']:.2f} (livegate time / ort time, ≤ 1.5 wanted), "
          f"vs_mediapipe_fps {report['vs_mediapipe_fps']:.2f} (≥ 1.0 wanted)")
    print("networks alone, livegate / onnxruntime: "
          + ", ".join(f"{k} {v:.2f}" for k, v in report["networks_over_onnxruntime"].items()))
    rss = f"{verify_rss:.1f} MiB" if verify_rss is not None else "unavailable"
    print(f"start-up to first frame {report['startup_ms']:.0f} ms; livegate verify peak RSS {rss} (its own VmHWM)")
    crop = f"{crop_px:.2f} px" if crop_px is not None else "n/a"
    print(f"checks: face found ort {checks['onnxruntime_face_found_fraction']:.0%} / MediaPipe "
          f"{checks['mediapipe_face_found_fraction']:.0%}; ort keypoints vs MediaPipe "
          f"{checks['onnxruntime_vs_mediapipe_keypoints_px']:.2f} px; LK kept "
          f"{checks['onnxruntime_keypoints_kept_fraction']:.0%}; OpenCV crop vs numpy crop {crop}; "
          + ("ok" if checks["ok"] else "FAILED"))
    sys.exit(0 if checks["ok"] else 1)


if __name__ == "__main__":
    main()
