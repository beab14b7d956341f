#!/usr/bin/env bash
# Regenerates the committed V4L2 bindings (vendor/v4l2-sys-mit/bindings/linux-<arch>.rs) with
# bindgen, or with --check compares them with what bindgen generates here (CI). Needs
# libclang (libclang-dev) and, for aarch64, the cross headers (libc6-dev-arm64-cross) and the
# rustup target.
# Usage: tools/v4l2_bindings.sh [--check] [x86_64|aarch64 ...]   (default: both)
set -euo pipefail
cd "$(dirname "$0")/.."
check=0
if [[ ${1:-} == --check ]]; then check=1; shift; fi
arches=("$@")
[[ ${#arches[@]} -gt 0 ]] || arches=(x86_64 aarch64)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}/v4l2-bindgen
status=0
for arch in "${arches[@]}"; do
  triple=$arch-unknown-linux-gnu
  committed=vendor/v4l2-sys-mit/bindings/linux-$arch.rs
  LIVEGATE_V4L2_BINDGEN=1 cargo build --locked -q -p v4l2-sys-mit --target "$triple"
  generated=$(ls -t "$CARGO_TARGET_DIR/$triple"/debug/build/v4l2-sys-mit-*/out/v4l2_bindings.rs | head -1)
  if [[ $check == 1 ]]; then
    if cmp -s "$generated" "$committed"; then
      echo "v4l2_bindings: $committed matches bindgen"
    else
      echo "v4l2_bindings: $committed differs from what bindgen generates here ($generated):" >&2
      diff "$committed" "$generated" | head -20 >&2 || true
      status=1
    fi
  else
    cp "$generated" "$committed"
    echo "v4l2_bindings: wrote $committed"
  fi
done
exit $status
