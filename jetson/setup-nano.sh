#!/usr/bin/env bash
# Prepare an original Jetson Nano (JetPack 4.6.x, L4T r32.6/r32.7) for edgemnist:
# memory for engine builds, Python 3.8 beside the system 3.6, a venv with edgemnist, and
# TensorRT's Python bindings built for that Python 3.8 (build_trt_bindings.sh).
# Idempotent: each step checks its state first and says "ok:" when it is done already.
# --dry-run prints every command instead of running it. See jetson/README.md for the why.
#
# NOT VERIFIED ON HARDWARE: tested here only as a --dry-run against fake roots.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$HERE/lib.sh"

usage() {
  cat <<'EOF'
usage: setup-nano.sh (--wheel FILE | --source SPEC) [--dry-run] [--root DIR] [--venv DIR]
                     [--swap-gib N] [--keep-desktop] [--no-trt-bindings]
  --swap-gib N       swap file size when there is too little swap (default 4)
  --keep-desktop     leave the desktop on (engine builds may then run out of memory)
  --no-trt-bindings  skip building TensorRT's Python bindings (trtexec-only route)
EOF
  common_usage
}

parse_common "$@"
SWAP_GIB=4
KEEP_DESKTOP=0
TRT_BINDINGS=1
set -- ${EXTRA_ARGS[@]+"${EXTRA_ARGS[@]}"}
while [ $# -gt 0 ]; do
  case "$1" in
    --swap-gib) SWAP_GIB="${2:?--swap-gib needs a number}"; shift ;;
    --keep-desktop) KEEP_DESKTOP=1 ;;
    --no-trt-bindings) TRT_BINDINGS=0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
  shift
done
PY=python3.8
# numpy 1.24 is the last numpy for Python 3.8; onnxruntime: see ort_pin in lib.sh
ORT_PIN="$(ort_pin 3.8)"
NUMPY_PIN="numpy<1.25"

step "Board"
[ "$(board_kind)" = jetson ] || die "not a Jetson (no /etc/nv_tegra_release): for a Raspberry Pi use setup-pi.sh"
L4T="$(l4t_release)"
case "$(l4t_major)" in
  32) ;;
  35 | 36) die "L4T $L4T is JetPack 5/6 (Orin, Xavier): use setup-orin.sh" ;;
  *) die "unknown L4T release in /etc/nv_tegra_release ('$L4T'): this script is for JetPack 4.6.x (L4T r32)" ;;
esac
MODEL="$(board_model)"
say "   $MODEL, L4T $L4T, TensorRT $(tensorrt_version)"
[[ "$MODEL" == *Nano* ]] || note "written for the Nano; other L4T r32 boards (TX2, Xavier) should take the same steps, untested"
REQ="$(edgemnist_requirement "[ort,cv]")"

step "Swap for engine builds (4 GB Nano: TensorRT builds are killed without it)"
have="$(disk_swap_mib)"
if [ "$have" -ge $((SWAP_GIB * 1024 - 128)) ]; then
  ok "${have} MiB of disk swap"
elif [ -f "$(sys_path /swapfile)" ]; then
  sudo_run swapon /swapfile
else
  sudo_run fallocate -l "${SWAP_GIB}G" /swapfile
  sudo_run chmod 600 /swapfile
  sudo_run mkswap /swapfile
  sudo_run swapon /swapfile
fi
ensure_line /etc/fstab "/swapfile none swap sw 0 0"

step "zram off (it takes RAM the build needs)"
zram_unit="$(sys_path /etc/systemd/system/multi-user.target.wants/nvzramconfig.service)"
if [ -e "$zram_unit" ] || [ -L "$zram_unit" ]; then
  sudo_run systemctl disable nvzramconfig
else
  ok "nvzramconfig is not enabled"
fi
if zram_active; then
  while read -r dev _; do
    case "$dev" in /dev/zram*) sudo_run swapoff "$dev" ;; esac
  done <"$(sys_path /proc/swaps)"
else
  ok "no zram swap active"
fi

step "Desktop off (frees about 1 GB; undo: sudo systemctl set-default graphical.target)"
target="$(default_target)"
if [ "$KEEP_DESKTOP" = 1 ]; then
  note "--keep-desktop: default target stays ${target:-unknown}"
elif [ "$target" = graphical.target ]; then
  sudo_run systemctl set-default multi-user.target
  note "takes effect at the next boot"
else
  ok "default target ${target:-multi-user.target (no graphical default)}"
fi

step "System packages: Python 3.8, GStreamer tools (csi:// camera), trtexec"
PKGS=("$PY" "$PY-venv" "$PY-dev" gstreamer1.0-tools)
if [ ! -x "$(sys_path /usr/src/tensorrt/bin/trtexec)" ]; then
  PKGS+=(libnvinfer-bin)
fi
apt_install "${PKGS[@]}"

step "Virtual environment ($PY, without --system-site-packages)"
# Python 3.8 would see /usr/lib/python3/dist-packages, which holds JetPack's Python 3.6 builds
# (numpy's C extensions among them); nothing there is usable from 3.8.
ensure_venv "$PY" 0

step "edgemnist with ONNX Runtime and OpenCV (pip wheels: the camera runs through gst-launch-1.0)"
CONSTRAINTS="$CACHE/constraints-nano.txt"
write_constraints "$CONSTRAINTS" "$NUMPY_PIN" "$ORT_PIN"
# --only-binary: a missing wheel must fail, not start a multi-hour OpenCV/numpy source build
run "$VENV/bin/python" -m pip install --only-binary=numpy,onnxruntime,opencv-python -c "$CONSTRAINTS" "$REQ"

if [ "$TRT_BINDINGS" = 1 ]; then
  step "TensorRT Python bindings for $PY (build_trt_bindings.sh)"
  args=(--venv "$VENV" --python 3.8)
  [ "$DRY_RUN" = 1 ] && args+=(--dry-run)
  [ -n "$ROOT" ] && args+=(--root "$ROOT")
  run_bindings() { "$HERE/build_trt_bindings.sh" "${args[@]}"; }
  if [ "$DRY_RUN" = 1 ]; then
    say "   would run: $HERE/build_trt_bindings.sh $(quote "${args[@]}"), which says:"
    run_bindings | sed 's/^/   | /'
  else
    run_bindings
  fi
else
  step "TensorRT Python bindings skipped (--no-trt-bindings)"
  note "engines build and time through trtexec: edgemnist build-engine --builder trtexec"
fi

say "
done. Reboot once if the desktop or zram was switched off. Then:
  $VENV/bin/edgemnist doctor
  $VENV/bin/edgemnist build-engine engines/edge/model.onnx   # FP16 on the Nano's Maxwell GPU
  sudo $HERE/bench-mode.sh           # nvpmodel MAXN + jetson_clocks, for benchmarks
  $VENV/bin/edgemnist bench --run-dir engines/edge
  $VENV/bin/edgemnist live csi://0 engines/edge/model.engine"
