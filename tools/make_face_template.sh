#!/usr/bin/env bash
# Regenerates src/vision/face_template.rs, the rigid 3-D face the head-pose fit uses: runs
# examples/face_template.rs (the float mesh on the committed frontal photos in tests/data,
# Procrustes-aligned and averaged; see its header) and formats the result with rustfmt.
# Usage: tools/make_face_template.sh [MODEL_DIR]   (default: models/)
set -euo pipefail
top="$(cd "$(dirname "$0")/.." && pwd)"
out="$top/src/vision/face_template.rs"
tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
cd "$top"
cargo run --quiet --release --example face_template -- "${1:-$top/models}" > "$tmp"
rustfmt --edition 2024 --config-path "$top/rustfmt.toml" "$tmp"
mv "$tmp" "$out"
trap - EXIT
echo "wrote $out ($(grep -c '^    (' "$out") points)"
