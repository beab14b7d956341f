#!/usr/bin/env bash
# The framebuffer target on a real kernel framebuffer: boots Debian's kernel in qemu (TCG, no
# KVM needed) with the virtual framebuffer vfb.ko in 16- and 32-bit modes (vfb reports BGR565
# and RGBA8888 bitfields, so the bitfield packing is exercised too) and in 8-bit mode (must be
# refused with a clear error), runs `livegate screens --fbdev /dev/fb0` there, reads the device
# back over the serial console and compares it pixel for pixel with the PNG rendering.
#
#   apt-get install qemu-system-x86 busybox-static cpio netpbm
#   tools/fbdev_vm_check.sh            # ~15 s per mode after the build
#
# `vt.global_cursor_default=0` keeps the kernel console's blinking cursor off fb0 (without it
# an 8×16 block of the screen is overwritten: do the same on a real terminal).
set -euo pipefail
cd "$(dirname "$0")/.."
work="${LIVEGATE_VM_DIR:-/tmp/livegate-fbdev-vm}"
mkdir -p "$work"
cargo build -q
bin="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/debug/livegate"
kpkg="$(apt-cache depends linux-image-amd64 | sed -n 's/.*Depends: \(linux-image-[^ ]*\)/\1/p' | head -1)"
if [ ! -d "$work/k" ]; then
  (cd "$work" && apt-get download "$kpkg" && dpkg -x "$kpkg"_*.deb k)
fi
vmlinuz="$(ls "$work"/k/boot/vmlinuz-*)"
root="$work/root"
rm -rf "$root" && mkdir -p "$root"/{bin,lib/x86_64-linux-gnu,lib64,proc,sys,dev,tmp,w}
cp "$(command -v busybox)" "$root/bin/"
cp "$bin" "$root/bin/livegate" && strip "$root/bin/livegate"
for l in $(ldd "$bin" | awk '/=>/ {print $3}'); do cp -L "$l" "$root/lib/x86_64-linux-gnu/"; done
cp -L /lib64/ld-linux-x86-64.so.2 "$root/lib64/"
cp assets/frame_640x480.jpg "$root/w/"
cp "$(find "$work/k" -name vfb.ko)" "$root/"
cat > "$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sys /sys
/bin/busybox mount -t devtmpfs dev /dev
MODE=$(/bin/busybox sed -n 's/.*fbmode=\([^ ]*\).*/\1/p' /proc/cmdline)
/bin/busybox insmod /vfb.ko vfb_enable=1 videomemorysize=2097152 mode_option=$MODE
/bin/livegate screens --out /tmp/s --sizes 320x240 --frame /w/frame_640x480.jpg --fbdev /dev/fb0 --dwell 0.05
echo "RC $?"
echo "BEGIN-FB"; /bin/busybox head -c 1228800 /dev/fb0 | /bin/busybox base64; echo "END-FB"
/bin/busybox poweroff -f
INIT
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc 2>/dev/null | gzip -1 > "$work/initrd.gz")
"$bin" screens --sizes 640x480 --out "$work/host" >/dev/null 2>&1
pngtopnm "$work/host/idle_offline_640x480.png" > "$work/expected.ppm"
for depth in 8 16 32; do
  timeout 300 qemu-system-x86_64 -accel tcg -m 512 -smp 1 -nographic -vga none -no-reboot \
    -kernel "$vmlinuz" -initrd "$work/initrd.gz" \
    -append "console=ttyS0 quiet panic=-1 rdinit=/init vt.global_cursor_default=0 fbmode=640x480-$depth@60" \
    > "$work/vm$depth.log" 2>&1
  python3 tools/fbdev_compare.py "$work/vm$depth.log" "$work/expected.ppm" "$depth"
done
