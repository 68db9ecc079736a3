#!/usr/bin/env bash
# Build TensorRT's Python bindings for the venv's Python (3.8 on a Jetson Nano) against the
# TensorRT that JetPack installed, and cache the wheel. JetPack 4.6.x ships the bindings for
# Python 3.6 only; edgemnist needs >= 3.8.
#
# What it does is NVIDIA's own recipe, NVIDIA/TensorRT python/README.md and python/build.sh at
# the tag of the installed version (8.0.1 on JetPack 4.6, 8.2.1 on 4.6.1+), with three changes,
# each for a reason found in that tree or its issue tracker:
#   - Python headers come from python3.8-dev (/usr/include/python3.8) instead of a download of
#     the CPython sources + a pyconfig.h deb: they are for this very interpreter.
#   - ONNX_INC_DIR points at JetPack's own NvOnnxParser.h: python/include/ForwardDeclarations.h
#     includes "onnx/NvOnnxParser.h" from parsers/onnx, a git submodule (onnx-tensorrt, newer
#     than the installed parser) that a plain clone does not have.
#   - pybind11 is pinned to v2.6.2 (the pin in NVIDIA's release/8.4 python/README.md); with
#     pybind11 master the wheel fails with "No module named 'tensorrt.tensorrt'"
#     (NVIDIA/TensorRT#2288, fixed there by pybind11 v2.9).
# The wheel is built on the board itself: a wheel cross-built on a PC came out without
# tensorrt.so (NVIDIA/TensorRT#3388).
#
# NOT VERIFIED ON HARDWARE: written against the TensorRT sources at tags 8.0.1 / 8.2.1 and
# JetPack 4.6 package names; tested here only as a --dry-run against fake roots.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$HERE/lib.sh"

usage() {
  cat <<'EOF'
usage: build_trt_bindings.sh [--dry-run] [--root DIR] [--venv DIR] [--python X.Y]
                             [--tag TAG] [--jobs N] [--work DIR] [--force]
  --python X.Y  the Python to build for (default: the venv's, from its pyvenv.cfg)
  --tag TAG     NVIDIA/TensorRT git tag (default: the installed TensorRT version)
  --jobs N      parallel compiles (default 2: each needs ~1 GB on a 4 GB Nano)
  --work DIR    sources and build tree (default: ~/.cache/edgemnist/trt-build)
  --force       rebuild even when a cached wheel exists
EOF
}

parse_common "$@"
PYV=""
TAG=""
JOBS=2
WORK=""
FORCE=0
set -- ${EXTRA_ARGS[@]+"${EXTRA_ARGS[@]}"}
while [ $# -gt 0 ]; do
  case "$1" in
    --python) PYV="${2:?--python needs X.Y}"; shift ;;
    --tag) TAG="${2:?--tag needs a tag}"; shift ;;
    --jobs) JOBS="${2:?--jobs needs a number}"; shift ;;
    --work) WORK="${2:?--work needs a directory}"; shift ;;
    --force) FORCE=1 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
  shift
done
WORK="${WORK:-$CACHE/trt-build}"
WHEELS="$CACHE/wheels"
PYBIND11_TAG=v2.6.2
# tags of NVIDIA/TensorRT whose python/ builds against a JetPack install (release/8.x)
KNOWN_TAGS="8.0.1 8.2.1 8.4.1 8.4.3 8.5.1 8.5.2 8.5.3"

step "TensorRT on this board"
[ "$(board_kind)" = jetson ] || die "not a Jetson (no /etc/nv_tegra_release): TensorRT bindings are built on the board"
TRT="$(tensorrt_version)"
[ -n "$TRT" ] || die "TensorRT not found (no NvInferVersion.h, no libnvinfer in dpkg): sudo apt install nvidia-tensorrt (JetPack)"
say "   TensorRT $TRT (L4T $(l4t_release))"
if [ -z "$TAG" ]; then
  case " $KNOWN_TAGS " in
    *" $TRT "*) TAG="$TRT" ;;
    *) die "no NVIDIA/TensorRT tag known for TensorRT $TRT (known: $KNOWN_TAGS): pass --tag" ;;
  esac
fi
say "   sources: NVIDIA/TensorRT tag $TAG, pybind11 $PYBIND11_TAG"

step "Python"
if [ -z "$PYV" ]; then
  PYV="$(venv_python_version)"
  [ -n "$PYV" ] || die "no venv at $VENV (run setup-nano.sh first, or pass --venv / --python)"
fi
CP="cp${PYV/./}"
say "   building for Python $PYV ($CP) into $VENV"
SITE="$VENV/lib/python$PYV/site-packages"

if [ "$FORCE" = 0 ] && compgen -G "$SITE/tensorrt-$TRT*.dist-info" >/dev/null; then
  ok "tensorrt $TRT is installed in $VENV"
  exit 0
fi

CACHED="$(find "$WHEELS" -maxdepth 1 -name "tensorrt-$TRT.*-$CP-none-linux_aarch64.whl" 2>/dev/null | sort | tail -n1 || true)"
if [ "$FORCE" = 0 ] && [ -n "$CACHED" ]; then
  step "Install the cached wheel"
  ok "cached: $CACHED"
  run "$VENV/bin/python" -m pip install "$CACHED"
else
  step "Build dependencies"
  apt_install cmake g++ git "python$PYV-dev" libnvinfer-dev libnvinfer-plugin-dev libnvparsers-dev libnvonnxparsers-dev
  CUDA_INC=/usr/local/cuda/include
  if [ ! -f "$(sys_path "$CUDA_INC/cuda_runtime_api.h")" ]; then
    note "$CUDA_INC/cuda_runtime_api.h is missing: install JetPack's CUDA toolkit (sudo apt install nvidia-cuda) if the build stops there"
  fi

  step "Sources (shallow clones, reused when present)"
  SRC="$WORK/TensorRT"
  EXT="$WORK/external"
  have="$(header_version "$SRC/include/NvInferVersion.h")"
  if [ -f "$SRC/python/build.sh" ] && [ "$have" = "$TAG" ]; then
    ok "$SRC (TensorRT $have sources)"
  elif [ -d "$SRC" ]; then
    die "$SRC holds another TensorRT version: remove it (or pass --work) and re-run"
  else
    run git clone --depth 1 --branch "$TAG" https://github.com/NVIDIA/TensorRT.git "$SRC"
  fi
  if [ -f "$EXT/pybind11/include/pybind11/pybind11.h" ]; then
    ok "$EXT/pybind11"
  else
    run git clone --depth 1 --branch "$PYBIND11_TAG" https://github.com/pybind/pybind11.git "$EXT/pybind11"
  fi
  # CMakeLists looks for $EXT_PATH/pythonX.Y/include/Python.h and pyconfig.h beside it
  run mkdir -p "$EXT/python$PYV" "$WORK/onnx-include/onnx"
  run ln -sfn "/usr/include/python$PYV" "$EXT/python$PYV/include"
  run ln -sfn /usr/include/aarch64-linux-gnu/NvOnnxParser.h "$WORK/onnx-include/onnx/NvOnnxParser.h"

  step "Compile tensorrt.so (python/build.sh's cmake + make)"
  BUILD="$SRC/python/build"
  run mkdir -p "$BUILD"
  run_in "$BUILD" cmake .. -DCMAKE_BUILD_TYPE=Release \
    -DTARGET=aarch64 \
    -DPYTHON_MAJOR_VERSION="${PYV%%.*}" -DPYTHON_MINOR_VERSION="${PYV#*.}" \
    -DEXT_PATH="$EXT" \
    -DCUDA_INCLUDE_DIRS="$CUDA_INC" \
    -DTENSORRT_ROOT="$SRC" \
    -DTENSORRT_BUILD=/usr/lib/aarch64-linux-gnu/ \
    -DONNX_INC_DIR="$WORK/onnx-include"
  run_in "$BUILD" make -j"$JOBS"

  step "Package the wheel (python/build.sh's packaging step)"
  if [ "$DRY_RUN" = 1 ]; then
    say "   would copy python/packaging into $BUILD with ##TENSORRT_VERSION## and ##TENSORRT_MAJMINPATCH## filled in"
  else
    ver="$(header_version "$SRC/include/NvInferVersion.h" build)"
    (cd "$SRC/python/packaging" && find . -type d -exec mkdir -p "$BUILD/{}" \; &&
      find . -type f | while read -r f; do
        sed -e "s|##TENSORRT_VERSION##|$ver|g" -e "s|##TENSORRT_MAJMINPATCH##|${ver%.*}|g" "$f" >"$BUILD/$f"
      done)
    say "   packaging for tensorrt $ver"
  fi
  run "$VENV/bin/python" -m pip install wheel
  run_in "$BUILD" "$VENV/bin/python" setup.py -q bdist_wheel --python-tag="$CP" --plat-name=linux_aarch64
  run mkdir -p "$WHEELS"
  if [ "$DRY_RUN" = 1 ]; then
    say "   would cache $BUILD/dist/tensorrt-$TRT.*-$CP-none-linux_aarch64.whl in $WHEELS"
    CACHED="$WHEELS/tensorrt-$TRT.N-$CP-none-linux_aarch64.whl"
  else
    built="$(find "$BUILD/dist" -maxdepth 1 -name "tensorrt-*-$CP-none-linux_aarch64.whl" | sort | tail -n1 || true)"
    [ -n "$built" ] || die "no wheel in $BUILD/dist: see the output above"
    run cp "$built" "$WHEELS/"
    CACHED="$WHEELS/$(basename "$built")"
  fi
  run "$VENV/bin/python" -m pip install "$CACHED"
fi

step "Check"
run "$VENV/bin/python" -c "import tensorrt as trt; print('tensorrt', trt.__version__, 'for Python', __import__('sys').version.split()[0])"
say "
done: the wheel is cached in $WHEELS (copy it to other Nanos with the same JetPack and Python:
pip install it there, no build). Next: $VENV/bin/edgemnist doctor"
