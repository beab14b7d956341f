"""Pyramidal Lucas-Kanade in numpy: the same algorithm and parameters as src/vision/flow.rs
(grey = 0.299R + 0.587G + 0.114B, 2x2-mean pyramid down to 32 px, 15x15 window, 12
iterations stopping at a 0.01 px step, minimum eigenvalue 4 per window pixel, forward-backward
check at 1 px), vectorised over the points: the numpy onnxruntime peer of tools/bench_peers.py
(--numpy-peer).

`cv_grey` / `cv_track` are the same tracking as an OpenCV user writes it (the default peer):
cv2.cvtColor to grey, cv2.calcOpticalFlowPyrLK forward then backward (15x15 window, 3 pyramid
levels, 12 iterations or a 0.01 px step, OpenCV's own minimum-eigenvalue test) and the same
1 px forward-backward check, as OpenCV's samples/python/lk_track.py does.
"""
import sys

import numpy as np

HALF_WINDOW, LEVELS, ITERATIONS, MIN_EIGEN, MAX_FB = 7, 3, 12, 4.0, 1.0
_OFFS = np.arange(-HALF_WINDOW, HALF_WINDOW + 1, dtype=np.float32)
_N = float((2 * HALF_WINDOW + 1) ** 2)


def pyramid(rgb):
    g = rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    out = [g]
    while len(out) < LEVELS:
        last = out[-1]
        h, w = last.shape
        if w < 32 or h < 32:
            break
        h2, w2 = h // 2, w // 2
        q = last[: 2 * h2, : 2 * w2]
        out.append((q[0::2, 0::2] + q[0::2, 1::2] + q[1::2, 0::2] + q[1::2, 1::2]) / 4.0)
    return out


def _at(g, x, y):
    h, w = g.shape
    x = np.clip(x, 0.0, w - 1)
    y = np.clip(y, 0.0, h - 1)
    x0, y0 = np.floor(x).astype(np.intp), np.floor(y).astype(np.intp)
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    fx, fy = x - x0, y - y0
    top = g[y0, x0] * (1 - fx) + g[y0, x1] * fx
    bot = g[y1, x0] * (1 - fx) + g[y1, x1] * fx
    return top * (1 - fy) + bot * fy


def _refine(a, b, p, guess):
    X = p[:, 0, None, None] + _OFFS[None, None, :]
    Y = p[:, 1, None, None] + _OFFS[None, :, None]
    X, Y = np.broadcast_arrays(X, Y)
    ix = (_at(a, X + 1, Y) - _at(a, X - 1, Y)) / 2
    iy = (_at(a, X, Y + 1) - _at(a, X, Y - 1)) / 2
    va = _at(a, X, Y)
    gxx, gxy, gyy = (ix * ix).sum((1, 2)), (ix * iy).sum((1, 2)), (iy * iy).sum((1, 2))
    det = gxx * gyy - gxy * gxy
    min_eig = ((gxx + gyy) - np.sqrt((gxx - gyy) ** 2 + 4 * gxy * gxy)) / 2
    ok = (min_eig / _N >= MIN_EIGEN) & (np.abs(det) >= np.finfo(np.float32).eps)
    safe = np.where(ok, det, 1.0)
    d = guess.copy()
    active = ok.copy()
    for _ in range(ITERATIONS):
        if not active.any():
            break
        diff = va - _at(b, X + d[:, 0, None, None], Y + d[:, 1, None, None])
        bx, by = (diff * ix).sum((1, 2)), (diff * iy).sum((1, 2))
        step = np.stack([(gyy * bx - gxy * by) / safe, (gxx * by - gxy * bx) / safe], axis=1)
        d[active] += step[active]
        active &= np.hypot(step[:, 0], step[:, 1]) >= 0.01
    return d, ok


def _track_one(a, b, p):
    top = min(len(a), len(b))
    d = np.zeros_like(p)
    ok = np.ones(len(p), bool)
    for level in reversed(range(top)):
        k = 0.5 ** level
        pl = np.maximum((p - 0.5) * k - 0.5 * (1 - k), 0.0)
        d, good = _refine(a[level], b[level], pl, d)
        ok &= good
        if level > 0:
            d = d * 2
    q = p + d
    h, w = b[0].shape
    ok &= (q[:, 0] >= 0) & (q[:, 1] >= 0) & (q[:, 0] < w) & (q[:, 1] < h)
    return q, ok


def track(a, b, points):
    """Points (N, 2) from pyramid a to b: new positions and which were kept."""
    p = np.asarray(points, np.float32)
    q, ok = _track_one(a, b, p)
    back, ok_back = _track_one(b, a, q)
    ok &= ok_back & (np.hypot(*(back - p).T) <= MAX_FB)
    return q, ok


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
    a, b = pyramid(_texture(0, 0)), pyramid(_texture(6.4, -3.3))
    pts = np.array([[60, 50], [90, 70], [40.5, 80.25]], np.float32)
    q, ok = track(a, b, pts)
    assert ok.all() and np.abs(q - pts - [6.4, -3.3]).max() < 0.3, (q - pts, ok)
    flat = pyramid(np.full((100, 100, 3), 90, np.uint8))
    assert not track(flat, flat, [[50.0, 50.0]])[1].any()
    try:
        import cv2  # noqa: F401
    except ImportError:
        print("peer_lk: ok (numpy; no cv2 here)")
        sys.exit(0)
    ga, gb = cv_grey(_texture(0, 0)), cv_grey(_texture(6.4, -3.3))
    q, ok = cv_track(ga, gb, pts)
    assert ok.all() and np.abs(q - pts - [6.4, -3.3]).max() < 0.3, (q - pts, ok)
    flat = cv_grey(np.full((100, 100, 3), 90, np.uint8))
    assert not cv_track(flat, flat, [[50.0, 50.0]])[1].any()
    print("peer_lk: ok (numpy and OpenCV)")
