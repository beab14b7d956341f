"""Keypoint tracking as an OpenCV user writes it, for the onnxruntime peer of
tools/bench_peers.py: cv2.cvtColor to grey, cv2.calcOpticalFlowPyrLK forward then backward
(15x15 window, 3 pyramid levels, 12 iterations or a 0.01 px step, OpenCV's own
minimum-eigenvalue test) and a 1 px forward-backward check, as OpenCV's
samples/python/lk_track.py does; the window, levels and iterations are src/vision/flow.rs's.
"""
import numpy as np

HALF_WINDOW, LEVELS, ITERATIONS, MAX_FB = 7, 3, 12, 1.0


def cv_grey(rgb):
    import cv2
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def cv_track(a, b, points):
    """Points (N, 2) from grey image a to b with cv2.calcOpticalFlowPyrLK: new positions and
    which were kept."""
    import cv2
    lk = {"winSize": (2 * HALF_WINDOW + 1,) * 2, "maxLevel": LEVELS - 1,
          "criteria": (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, ITERATIONS, 0.01)}
    p = np.asarray(points, np.float32).reshape(-1, 1, 2)
    q, st, _ = cv2.calcOpticalFlowPyrLK(a, b, p, None, **lk)
    back, st_back, _ = cv2.calcOpticalFlowPyrLK(b, a, q, None, **lk)
    ok = (st.ravel() == 1) & (st_back.ravel() == 1) & (np.hypot(*(back - p).reshape(-1, 2).T) <= MAX_FB)
    return q.reshape(-1, 2), ok


def _texture(dx, dy, w=160, h=120):
    u, v = np.meshgrid(np.arange(w, dtype=np.float32) - dx, np.arange(h, dtype=np.float32) - dy)
    g = 128 + 50 * np.sin(u * 0.21) * np.cos(v * 0.17) + 40 * np.sin((u + v) * 0.09)
    return np.repeat(g.astype(np.uint8)[..., None], 3, axis=2)


if __name__ == "__main__":  # self-test, as src/vision/flow.rs's: a shifted texture is followed
    pts = np.array([[60, 50], [90, 70], [40.5, 80.25]], np.float32)
    ga, gb = cv_grey(_texture(0, 0)), cv_grey(_texture(6.4, -3.3))
    q, ok = cv_track(ga, gb, pts)
    assert ok.all() and np.abs(q - pts - [6.4, -3.3]).max() < 0.3, (q - pts, ok)
    flat = cv_grey(np.full((100, 100, 3), 90, np.uint8))
    assert not cv_track(flat, flat, [[50.0, 50.0]])[1].any()
    print("peer_lk: ok (OpenCV)")
