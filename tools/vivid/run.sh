#!/usr/bin/env bash
# Boots Debian's kernel under qemu (TCG) with an initramfs holding a static busybox, the V4L2
# modules and PROBE (a normally built, dynamically linked binary plus the shared libraries it
# needs), runs `PROBE ARGS…` with the vivid driver loaded only VIVID_DELAY_S seconds after the
# probe started (so the probe first sees no device), and prints the serial console.
# VIVID_ARCH=arm64 boots the arm64 kernel under qemu-system-aarch64 for an aarch64 PROBE.
# Needs `tools/vivid/setup.sh [arm64]` to have run. Usage: run.sh PROBE [ARGS…]
set -euo pipefail
probe="$1"
shift
cache="${LIVEGATE_VIVID_CACHE:-$HOME/.cache/livegate/vivid}"
arch="${VIVID_ARCH:-amd64}"
delay="${VIVID_DELAY_S:-3}"
case "$arch" in
  amd64)
    kdir="$cache/current"
    busybox=/bin/busybox
    sysroot=""
    objcopy=objcopy
    qemu=(qemu-system-x86_64 -accel tcg)
    console=ttyS0
    ;;
  arm64)
    kdir="$cache/arm64/current"
    busybox="$kdir/busybox"
    sysroot=/usr/aarch64-linux-gnu
    objcopy=aarch64-linux-gnu-objcopy
    qemu=(qemu-system-aarch64 -M virt -cpu cortex-a72)
    console=ttyAMA0
    ;;
  *)
    echo "vivid run: unknown VIVID_ARCH $arch" >&2
    exit 2
    ;;
esac
if [ ! -e "$kdir/vmlinuz" ]; then
  echo "vivid run: no cached $arch kernel in $kdir; run tools/vivid/setup.sh $arch first" >&2
  exit 3
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
root="$work/root"
mkdir -p "$root"/{bin,dev,proc,sys,tmp,modules}
cp "$busybox" "$root/bin/busybox"

# The probe and the shared libraries it links (including the dynamic loader), stripped of
# debug info to keep the initramfs small.
"$objcopy" --strip-debug "$probe" "$root/bin/probe"
if [ -z "$sysroot" ]; then
  for lib in $(ldd "$probe" | grep -o '/[^ ]*'); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
else
  # A cross-built probe: ldd cannot run it, so read its interpreter and NEEDED entries and
  # take them from the cross sysroot (glibc searches /lib by default).
  interp="$(readelf -l "$probe" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')"
  mkdir -p "$root$(dirname "$interp")" "$root/lib"
  cp -L "$sysroot/lib/$(basename "$interp")" "$root$interp"
  for lib in $(readelf -d "$probe" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
    cp -L "$sysroot/lib/$lib" "$root/lib/$lib"
  done
fi

# vivid and its dependencies, in load order (depth-first over `modinfo -F depends`).
declare -A seen=()
order=()
add_module() {
  local name="$1" file dep
  [ -n "${seen[$name]:-}" ] && return
  seen[$name]=1
  file="$(find "$kdir/modules" -name "$name.ko" -o -name "${name//_/-}.ko" | head -n1)"
  if [ -z "$file" ]; then
    echo "vivid run: module $name not found under $kdir/modules" >&2
    exit 3
  fi
  for dep in $(modinfo -F depends "$file" | tr ',' ' '); do add_module "$dep"; done
  cp "$file" "$root/modules/$name.ko"
  order+=("$name")
}
add_module vivid
deps=("${order[@]:0:${#order[@]}-1}")

cat >"$root/init" <<INIT
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in ${deps[*]}; do insmod /modules/\$m.ko || echo "VM insmod \$m failed"; done
echo "VM ready, vivid in ${delay} s"
(sleep ${delay}; insmod /modules/vivid.ko && echo "VM vivid loaded: \$(ls /dev/video*)") &
NO_COLOR=1 PROBE_UNLOAD="rmmod vivid" PROBE_LOAD="insmod /modules/vivid.ko" /bin/probe $*
echo "VM probe exit \$?"
poweroff -f
INIT
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initrd.gz"

timeout "${VIVID_TIMEOUT_S:-300}" "${qemu[@]}" -m 1024 -smp 1 -nographic -no-reboot \
  -kernel "$kdir/vmlinuz" -initrd "$work/initrd.gz" \
  -append "console=$console quiet panic=-1 rdinit=/init" </dev/null
