"""Compare a framebuffer dump from tools/fbdev_vm_check.sh with the expected PPM rendering.

Reads the geometry livegate printed, unpacks every pixel by its bitfields and counts the
pixels that differ from the rendering quantised to the same bit depth. Exit 1 on a difference
or when a supported depth failed; an 8-bit framebuffer must have been refused.
"""
import base64
import re
import sys

log_path, ppm_path, depth = sys.argv[1], sys.argv[2], int(sys.argv[3])
log = open(log_path, "rb").read().decode("latin1")
if depth == 8:
    ok = "8 bits per pixel is not supported" in log and "RC 1" in log
    print(f"8-bit: {'refused with a clear error' if ok else 'NOT refused'}")
    sys.exit(0 if ok else 1)
m = re.search(r"FbGeometry \{ width: (\d+), height: (\d+), line_length: (\d+), bits_per_pixel: (\d+), "
              r"red: Channel \{ offset: (\d+), length: (\d+) \}, green: Channel \{ offset: (\d+), length: (\d+) \}, "
              r"blue: Channel \{ offset: (\d+), length: (\d+) \}", log)
if not m:
    print(f"{depth}-bit: livegate did not report a geometry\n{log[-2000:]}")
    sys.exit(1)
w, h, ll, bpp, ro, rl, go, gl, bo, bl = map(int, m.groups())
b64 = log.split("BEGIN-FB", 1)[1].split("END-FB", 1)[0]
raw = base64.b64decode("".join(c for c in b64 if c.isalnum() or c in "+/="))
data = open(ppm_path, "rb").read().split(b"\n", 3)
assert data[0] == b"P6" and list(map(int, data[1].split())) == [w, h]
exp = data[3]
differ = 0
for y in range(h):
    for x in range(w):
        o = y * ll + x * bpp // 8
        v = int.from_bytes(raw[o:o + bpp // 8], "little")
        got = ((v >> ro) & ((1 << rl) - 1), (v >> go) & ((1 << gl) - 1), (v >> bo) & ((1 << bl) - 1))
        i = (y * w + x) * 3
        want = (exp[i] >> (8 - rl), exp[i + 1] >> (8 - gl), exp[i + 2] >> (8 - bl))
        differ += got != want
print(f"{depth}-bit ({w}x{h}, line_length {ll}, R{ro}/{rl} G{go}/{gl} B{bo}/{bl}): {differ} of {w * h} pixels differ")
sys.exit(1 if differ else 0)
