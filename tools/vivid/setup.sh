#!/usr/bin/env bash
# Prepares the vivid VM test (tests/v4l2_vivid.rs): qemu, a static busybox, cpio and kmod from
# apt, and Debian's current amd64 kernel (vmlinuz + its drivers/media modules) cached under
# $LIVEGATE_VIVID_CACHE (default ~/.cache/livegate/vivid/<package>, symlink `current`).
# Idempotent and quick when everything is already there. apt steps need root.
set -euo pipefail
cache="${LIVEGATE_VIVID_CACHE:-$HOME/.cache/livegate/vivid}"
mkdir -p "$cache"

apt_install() {
  if [ "$(id -u)" != 0 ]; then
    echo "vivid setup: need root to apt-get install $*" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "$@"
}

need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
# busybox-static ships a static /bin/busybox; the dynamic `busybox` package would not run
# inside the bare initramfs.
if ! { [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; }; then need+=(busybox-static); fi
command -v cpio >/dev/null || need+=(cpio)
command -v modinfo >/dev/null || need+=(kmod)
if [ ${#need[@]} -gt 0 ]; then apt_install "${need[@]}"; fi

# The kernel package name changes with every security update: resolve it from the meta package.
resolve() { apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}'; }
pkg="$(resolve || true)"
if [ -z "$pkg" ] && [ "$(id -u)" = 0 ]; then
  apt-get update -q >/dev/null && pkg="$(resolve || true)"
fi
if [ -z "$pkg" ]; then
  if [ -e "$cache/current/vmlinuz" ]; then
    echo "vivid setup: apt cannot resolve linux-image-amd64; keeping the cached $(readlink "$cache/current")"
    exit 0
  fi
  echo "vivid setup: cannot resolve linux-image-amd64 via apt-cache" >&2
  exit 1
fi

if [ ! -e "$cache/$pkg/ok" ]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  chmod 755 "$tmp" # apt-get download runs as _apt and must write here
  (cd "$tmp" && apt-get download -q "$pkg" >/dev/null)
  dpkg -x "$tmp"/"$pkg"_*.deb "$tmp/x"
  rm -rf "$cache/$pkg"
  mkdir -p "$cache/$pkg/modules"
  cp "$tmp"/x/boot/vmlinuz-* "$cache/$pkg/vmlinuz"
  # Only the media subsystem is needed (vivid and everything it depends on lives there).
  cp -r "$tmp"/x/lib/modules/*/kernel/drivers/media/. "$cache/$pkg/modules/"
  touch "$cache/$pkg/ok"
fi
ln -sfn "$pkg" "$cache/current"
echo "vivid setup: kernel $pkg in $cache/$pkg"
