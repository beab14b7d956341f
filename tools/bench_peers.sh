#!/usr/bin/env bash
# Whole-frame benchmark against the runtimes people would pick instead: livegate, onnxruntime
# (our models, OpenCV pre-processing and cv2.calcOpticalFlowPyrLK, numpy post-processing) and
# MediaPipe FaceMesh, on the same recorded frames, in one command, all pinned to one CPU. See
# tools/bench_peers.py and docs/performance.md.
#
# Usage: tools/bench_peers.sh [--json] [--rounds N] [--runs N] [--warmup N] [--session DIR]
#                             [--cpu N] [--kernels portable|avx2|vnni|…]
# Env:   LIVEGATE=path/to/livegate (default: a release build, built if missing)
#        PEER_VENV=dir (default: ~/.cache/livegate/bench-peers-venv), PYTHON=python3.11
#
# On a Raspberry Pi (64-bit Raspberry Pi OS bookworm: aarch64, Python 3.11, glibc 2.36; Rust
# 1.95 from rustup), from the checkout, one command:
#     tools/bench_peers.sh
# It builds livegate with `cargo build --release` and fetches aarch64 (manylinux) wheels into
# the venv; nothing here is x86-specific. mediapipe 0.10.21 has no aarch64 wheel, so the
# requirements select 0.10.18 there (the newest 0.10 with one; same FaceMesh solution): the
# report's "versions" says which ran.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=${PEER_VENV:-$HOME/.cache/livegate/bench-peers-venv}
req=tools/requirements-bench-peers.txt
if ! cmp -s "$req" "$venv/.requirements" 2>/dev/null; then
    echo "bench_peers.sh: setting up $venv from $req" >&2
    "${PYTHON:-python3}" -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$req" >&2
    cp "$req" "$venv/.requirements"
fi

bin=${LIVEGATE:-}
if [[ -z $bin ]]; then
    cargo build --release --locked -q >&2
    dir=$(cargo metadata --format-version 1 --no-deps | "$venv/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
    bin=$dir/release/livegate
fi
[[ -x $bin ]] || { echo "bench_peers.sh: no livegate binary at $bin (set LIVEGATE=)" >&2; exit 2; }
exec "$venv/bin/python" tools/bench_peers.py --livegate "$bin" "$@"
