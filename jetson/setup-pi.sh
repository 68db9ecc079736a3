#!/usr/bin/env bash
# Prepare a Raspberry Pi 4 / 5 with Raspberry Pi OS Bookworm 64-bit for edgemnist: Picamera2
# and OpenCV from apt, a venv that sees them (--system-site-packages), ONNX Runtime from PyPI,
# and numpy pinned to the system's so that Picamera2's compiled dependencies keep working.
# Idempotent; --dry-run prints every command instead of running it. See jetson/README.md.
#
# NOT VERIFIED ON HARDWARE: tested here only as a --dry-run against fake roots.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$HERE/lib.sh"

usage() {
  echo "usage: setup-pi.sh (--wheel FILE | --source SPEC) [--dry-run] [--root DIR] [--venv DIR]"
  common_usage
}

parse_common "$@"
[ ${#EXTRA_ARGS[@]} -eq 0 ] || die "unknown option ${EXTRA_ARGS[0]} (see --help)"

step "Board"
[ "$(board_kind)" = raspberry-pi ] || die "not a Raspberry Pi (/proc/device-tree/model): for a Jetson use setup-nano.sh or setup-orin.sh"
MODEL="$(board_model)"
[ -e "$(sys_path /lib/ld-linux-aarch64.so.1)" ] ||
  die "32-bit Raspberry Pi OS: onnxruntime has no armv7 wheels; flash the 64-bit image"
CODENAME="$(os_codename)"
case "$CODENAME" in
  bookworm) DEFAULT_PY=3.11 ;;
  trixie) DEFAULT_PY=3.13 ;;
  *) die "Raspberry Pi OS '${CODENAME:-unknown}': this script is for Bookworm (or Trixie) 64-bit" ;;
esac
PYV="$(system_python_version)"
PYV="${PYV:-$DEFAULT_PY}"
say "   $MODEL, $CODENAME, Python $PYV"
[[ "$MODEL" == *"Raspberry Pi 4"* || "$MODEL" == *"Raspberry Pi 5"* ]] ||
  note "written for the Pi 4 and Pi 5; this one is untested"
REQ="$(edgemnist_requirement "[ort]")"

step "System packages: Picamera2 (camera modules, libcamera), OpenCV, numpy"
apt_install python3-venv python3-picamera2 python3-opencv python3-numpy

step "Virtual environment (--system-site-packages: picamera2, libcamera, cv2 and numpy from apt)"
ensure_venv "python$PYV" 1

step "edgemnist with ONNX Runtime (OpenCV and numpy stay the system's)"
NUMPY_DEB="$(dpkg_version python3-numpy)"
if [ -n "$NUMPY_DEB" ]; then
  NUMPY_PIN="numpy==$(debian_upstream "$NUMPY_DEB")"
else
  NUMPY_PIN="numpy<2" # dry run before python3-numpy is installed: the pin is read from dpkg
  note "python3-numpy not installed yet: a real run pins numpy to the version apt installs"
fi
# pip's OpenCV would pull numpy >= 2 (opencv-python >= 4.12 on Python >= 3.9) over the one
# python3-picamera2 was built against: forbid it, python3-opencv is already there.
CONSTRAINTS="$CACHE/constraints-pi.txt"
write_constraints "$CONSTRAINTS" "$NUMPY_PIN" "$(ort_pin "$PYV")" "opencv-python<0" "opencv-python-headless<0"
run "$VENV/bin/python" -m pip install --only-binary=numpy,onnxruntime -c "$CONSTRAINTS" "$REQ"
run "$VENV/bin/python" -c "import numpy, cv2, picamera2, onnxruntime; print('numpy', numpy.__version__, 'cv2', cv2.__version__, 'onnxruntime', onnxruntime.__version__)"

say "
done. Then:
  $VENV/bin/edgemnist doctor
  sudo $HERE/bench-mode.sh           # CPU governor 'performance', for benchmarks
  $VENV/bin/edgemnist bench --run-dir engines/edge
  $VENV/bin/edgemnist live picam://0 engines/edge/model.onnx"
