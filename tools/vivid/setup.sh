#!/usr/bin/env bash
# Prepares the vivid VM test (tests/v4l2_vivid.rs). Usage: setup.sh [amd64|arm64]
#   amd64 (default): qemu-system-x86, a static busybox, cpio and kmod from apt, and Debian's
#     current amd64 kernel (vmlinuz + its drivers/media modules), cached under
#     $LIVEGATE_VIVID_CACHE (default ~/.cache/livegate/vivid)/<package>, symlink `current`.
#   arm64: qemu-system-arm and the aarch64 cross linker, then the arm64 kernel and an arm64
#     static busybox fetched through a private apt state (the host's dpkg architectures are
#     left alone), cached under <cache>/arm64/<package>, symlink `arm64/current`.
# Idempotent and quick when everything is already there. apt installs need root.
set -euo pipefail
arch="${1:-amd64}"
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
command -v cpio >/dev/null || need+=(cpio)
command -v modinfo >/dev/null || need+=(kmod)
case "$arch" in
  amd64)
    command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
    # busybox-static ships a static /bin/busybox; the dynamic `busybox` package would not
    # run inside the bare initramfs.
    if ! { [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; }; then need+=(busybox-static); fi
    apt_opts=()
    dest="$cache"
    ;;
  arm64)
    command -v qemu-system-aarch64 >/dev/null || need+=(qemu-system-arm)
    command -v aarch64-linux-gnu-gcc >/dev/null || need+=(gcc-aarch64-linux-gnu)
    # The cross compiler's C library headers (a Recommends of gcc-aarch64-linux-gnu, which
    # --no-install-recommends skips): crates that build C for aarch64 (ring) need them.
    [ -e /usr/aarch64-linux-gnu/include/stdint.h ] || need+=(libc6-dev-arm64-cross)
    lists="$cache/arm64/apt"
    mkdir -p "$lists/lists/partial" "$lists/cache/archives/partial"
    apt_opts=(-o APT::Architecture=arm64 -o APT::Architectures::=arm64
      -o "Dir::State::Lists=$lists/lists" -o "Dir::Cache=$lists/cache")
    dest="$cache/arm64"
    ;;
  *)
    echo "vivid setup: unknown architecture $arch (amd64 or arm64)" >&2
    exit 2
    ;;
esac
if [ ${#need[@]} -gt 0 ]; then apt_install "${need[@]}"; fi

# The kernel package name changes with every security update: resolve it from the meta package.
resolve() {
  apt-cache "${apt_opts[@]}" depends "linux-image-$arch" 2>/dev/null |
    awk '/Depends: linux-image-[0-9]/ {print $2; exit}'
}
pkg="$(resolve || true)"
if [ -z "$pkg" ]; then
  apt-get "${apt_opts[@]}" update -q >/dev/null 2>&1 || true
  pkg="$(resolve || true)"
fi
if [ -z "$pkg" ]; then
  if [ -e "$dest/current/vmlinuz" ]; then
    echo "vivid setup: apt cannot resolve linux-image-$arch; keeping the cached $(readlink "$dest/current")"
    exit 0
  fi
  echo "vivid setup: cannot resolve linux-image-$arch via apt-cache" >&2
  exit 1
fi

if [ ! -e "$dest/$pkg/ok" ]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  chmod 755 "$tmp" # apt-get download runs as _apt and must write here
  extra=()
  [ "$arch" = arm64 ] && extra=(busybox-static)
  (cd "$tmp" && apt-get "${apt_opts[@]}" download -q "$pkg" "${extra[@]}" >/dev/null 2>&1)
  dpkg -x "$tmp"/"$pkg"_*.deb "$tmp/x"
  rm -rf "${dest:?}/$pkg"
  mkdir -p "$dest/$pkg/modules"
  cp "$tmp"/x/boot/vmlinuz-* "$dest/$pkg/vmlinuz"
  # Only the media subsystem is needed (vivid and everything it depends on lives there).
  cp -r "$tmp"/x/lib/modules/*/kernel/drivers/media/. "$dest/$pkg/modules/"
  if [ "$arch" = arm64 ]; then
    dpkg -x "$tmp"/busybox-static_*.deb "$tmp/bb"
    cp "$tmp/bb/bin/busybox" "$dest/$pkg/busybox"
  fi
  touch "$dest/$pkg/ok"
fi
ln -sfn "$pkg" "$dest/current"
echo "vivid setup: kernel $pkg in $dest/$pkg"
