#!/usr/bin/env bash
# Prepare a Jetson Orin (or Xavier) with JetPack 5.x (L4T r35, Python 3.8) or 6.x (L4T r36,
# Python 3.10) for edgemnist. JetPack's TensorRT bindings and OpenCV (with GStreamer) are built
# for the system Python, so the venv is made from that Python with --system-site-packages.
# Idempotent; --dry-run prints every command instead of running it. See jetson/README.md.
#
# NOT VERIFIED ON HARDWARE: tested here only as a --dry-run against fake roots.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$HERE/lib.sh"

usage() {
  echo "usage: setup-orin.sh (--wheel FILE | --source SPEC) [--dry-run] [--root DIR] [--venv DIR]"
  common_usage
}

parse_common "$@"
[ ${#EXTRA_ARGS[@]} -eq 0 ] || die "unknown option ${EXTRA_ARGS[0]} (see --help)"

step "Board"
[ "$(board_kind)" = jetson ] || die "not a Jetson (no /etc/nv_tegra_release): for a Raspberry Pi use setup-pi.sh"
L4T="$(l4t_release)"
case "$(l4t_major)" in
  35) JETPACK=5 DEFAULT_PY=3.8 ;;
  36) JETPACK=6 DEFAULT_PY=3.10 ;;
  32) die "L4T $L4T is JetPack 4 (Jetson Nano): use setup-nano.sh" ;;
  *) die "unknown L4T release in /etc/nv_tegra_release ('$L4T'): this script is for JetPack 5/6" ;;
esac
PYV="$(system_python_version)"
PYV="${PYV:-$DEFAULT_PY}"
say "   $(board_model), L4T $L4T (JetPack $JETPACK), TensorRT $(tensorrt_version), Python $PYV"
REQ="$(edgemnist_requirement "[ort]")"

step "JetPack's TensorRT bindings and OpenCV for Python $PYV"
PKGS=(python3-venv python3-pip gstreamer1.0-tools)
if [ -d "$(sys_path "/usr/lib/python$PYV/dist-packages/tensorrt")" ]; then
  ok "tensorrt in /usr/lib/python$PYV/dist-packages"
else
  PKGS+=(python3-libnvinfer)
fi
if compgen -G "$(sys_path "/usr/lib/python$PYV/dist-packages")/cv2*" >/dev/null ||
  compgen -G "$(sys_path /usr/lib/python3/dist-packages)/cv2*" >/dev/null; then
  ok "OpenCV (cv2) for the system Python"
else
  PKGS+=(nvidia-opencv)
fi
if [ ! -x "$(sys_path /usr/src/tensorrt/bin/trtexec)" ]; then
  PKGS+=(libnvinfer-bin)
fi
apt_install "${PKGS[@]}"

step "Virtual environment (python$PYV --system-site-packages: tensorrt and cv2 stay visible)"
ensure_venv "python$PYV" 1

step "edgemnist with ONNX Runtime (TensorRT and OpenCV come from JetPack)"
# numpy < 2: JetPack's cv2 and tensorrt are built against numpy 1.x. The system numpy of
# Ubuntu 20.04 (1.17) is older than onnxruntime needs (>= 1.21.6), so pip puts a newer 1.x in
# the venv; 1.x is forward compatible for modules built against an older 1.x.
CONSTRAINTS="$CACHE/constraints-orin.txt"
write_constraints "$CONSTRAINTS" "numpy<2" "$(ort_pin "$PYV")" "opencv-python<0" "opencv-python-headless<0"
run "$VENV/bin/python" -m pip install --only-binary=numpy,onnxruntime -c "$CONSTRAINTS" "$REQ"
run "$VENV/bin/python" -c "import cv2, tensorrt; print('cv2', cv2.__version__, 'tensorrt', tensorrt.__version__)"

say "
done. Then:
  $VENV/bin/edgemnist doctor
  $VENV/bin/edgemnist build-engine engines/edge/model.onnx
  sudo $HERE/bench-mode.sh           # nvpmodel MAXN + jetson_clocks, for benchmarks
  $VENV/bin/edgemnist bench --run-dir engines/edge
  $VENV/bin/edgemnist live csi://0 engines/edge/model.engine"
