# shellcheck shell=bash
# Shared by the provisioning scripts in this folder (sourced, not run).
#
# Every script:
#   --dry-run        print what it would do, change nothing (no sudo, no network)
#   --root DIR       read system files under DIR instead of / (fake trees for tests; implies
#                    nothing is run: only allowed with --dry-run). Also: EDGEMNIST_ROOT=DIR.
#   --venv DIR       the virtual environment (default: ~/edgemnist-venv)
#   --wheel FILE     install edgemnist from this wheel (copied from `make dist` on the host)
#   --source SPEC    ... or from a pip source, e.g. git+https://<your clone of the repository>
# State is read from files (the dpkg database, /proc/swaps, the systemd default target, the
# venv's pyvenv.cfg), so a step that is already done says "ok:" and is skipped: the scripts
# are safe to re-run.

# (variables are used by the scripts that source this file)
# shellcheck disable=SC2034
ROOT="${EDGEMNIST_ROOT:-}"
DRY_RUN=0
VENV="${EDGEMNIST_VENV:-${HOME:-/root}/edgemnist-venv}"
CACHE="${EDGEMNIST_CACHE:-${HOME:-/root}/.cache/edgemnist}"
WHEEL=""
SOURCE=""
EXTRA_ARGS=()
APT_UPDATED=0

# The options of every setup script, for their --help.
common_usage() {
  cat <<'EOF'
  --wheel FILE       edgemnist wheel from `make dist` on the host, copied to the board
  --source SPEC      or a pip source: git+https://<your clone of the repository>
  --dry-run          print what would run, change nothing
  --venv DIR         the virtual environment (default ~/edgemnist-venv)
  --root DIR         read system files under DIR (fake trees, with --dry-run only)
EOF
}

say() { printf '%s\n' "$*"; }
step() { printf '\n== %s\n' "$*"; }
ok() { printf '   ok: %s\n' "$*"; }
note() { printf '   note: %s\n' "$*"; }
die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# Parse the common options; anything else is left in EXTRA_ARGS for the script.
parse_common() {
  while [ $# -gt 0 ]; do
    case "$1" in
      --dry-run) DRY_RUN=1 ;;
      --root) [ $# -ge 2 ] || die "--root needs a directory"; ROOT="$2"; shift ;;
      --root=*) ROOT="${1#--root=}" ;;
      --venv) [ $# -ge 2 ] || die "--venv needs a directory"; VENV="$2"; shift ;;
      --venv=*) VENV="${1#--venv=}" ;;
      --wheel) [ $# -ge 2 ] || die "--wheel needs a file"; WHEEL="$2"; shift ;;
      --wheel=*) WHEEL="${1#--wheel=}" ;;
      --source) [ $# -ge 2 ] || die "--source needs a pip source"; SOURCE="$2"; shift ;;
      --source=*) SOURCE="${1#--source=}" ;;
      -h | --help) usage; exit 0 ;;
      *) EXTRA_ARGS+=("$1") ;;
    esac
    shift
  done
  ROOT="${ROOT%/}"
  if [ -n "$ROOT" ] && [ "$DRY_RUN" != 1 ]; then
    die "--root (or EDGEMNIST_ROOT) reads a fake tree: use it with --dry-run only"
  fi
  if [ "$DRY_RUN" = 1 ]; then
    say "dry run: nothing is changed${ROOT:+; system files are read under $ROOT}"
  fi
}

# A system path under the (fake) root.
sys_path() { printf '%s%s' "$ROOT" "$1"; }

# Run a command, or print it under --dry-run. Always shows the command.
run() {
  if [ "$DRY_RUN" = 1 ]; then
    printf '   would run: %s\n' "$(quote "$@")"
  else
    printf '   + %s\n' "$(quote "$@")"
    "$@"
  fi
}

# A command with root rights, not echoed (for the inside of a step that prints itself).
as_root() {
  if [ "$(id -u)" = 0 ]; then
    "$@"
  else
    sudo "$@"
  fi
}

# The same with root rights (sudo unless already root).
sudo_run() {
  if [ "$(id -u)" = 0 ]; then
    run "$@"
  else
    run sudo "$@"
  fi
}

quote() {
  local out="" arg
  for arg in "$@"; do
    case "$arg" in
      *[!A-Za-z0-9_./:=@+,%-]*) out+="'${arg//\'/\'\\\'\'}' " ;;
      *) out+="$arg " ;;
    esac
  done
  printf '%s' "${out% }"
}

# Version of an installed Debian package from the dpkg database (empty when not installed).
dpkg_version() {
  local status
  status="$(sys_path /var/lib/dpkg/status)"
  [ -r "$status" ] || return 0
  awk -v pkg="$1" '
    function flush() { if (p && inst && v != "") { print v; found = 1; exit } p = 0; inst = 0; v = "" }
    /^Package: / { flush(); p = ($2 == pkg) }
    p && /^Status: / { inst = ($0 ~ / installed$/) }
    p && /^Version: / { v = $2 }
    /^$/ { flush() }
    END { if (!found) flush() }
  ' "$status"
}

# Install the Debian packages that are missing (one apt-get update per script run).
apt_install() {
  local missing=() pkg
  for pkg in "$@"; do
    [ -n "$(dpkg_version "$pkg")" ] || missing+=("$pkg")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    ok "installed: $*"
    return 0
  fi
  if [ "$APT_UPDATED" = 0 ]; then
    sudo_run apt-get update
    APT_UPDATED=1
  fi
  sudo_run apt-get install -y --no-install-recommends "${missing[@]}"
}

# "3.8" from the venv's pyvenv.cfg ("version = 3.8.10" or "version_info = 3.11.2.final.0").
venv_python_version() {
  local cfg="$VENV/pyvenv.cfg"
  [ -r "$cfg" ] || return 0
  sed -n -E 's/^version(_info)?[[:space:]]*=[[:space:]]*([0-9]+)\.([0-9]+).*/\2.\3/p' "$cfg" | head -n1
}

# Upstream version ("1.24.2") from a Debian version ("1:1.24.2-1+deb12u1", "1:2.2.4+ds-1"):
# no epoch, no Debian revision, no repack suffix (+ds, +dfsg, ~rc).
debian_upstream() {
  local v="${1#*:}"
  v="${v%-*}"
  v="${v%%+*}"
  printf '%s' "${v%%~*}"
}

# The venv: created once; an existing one of the right Python is kept.
ensure_venv() {
  local python="$1" system_site="$2" have
  have="$(venv_python_version)"
  if [ -n "$have" ]; then
    if [ "$have" = "${python#python}" ]; then
      ok "venv $VENV (Python $have)"
      return 0
    fi
    die "$VENV is a Python $have venv; this board needs ${python}: move it away and re-run"
  fi
  if [ "$system_site" = 1 ]; then
    run "$python" -m venv --system-site-packages "$VENV"
  else
    run "$python" -m venv "$VENV"
  fi
  run "$VENV/bin/python" -m pip install --upgrade pip
}

# What to install edgemnist from: --wheel FILE, --source SPEC, or the newest wheel in dist/
# next to this folder (a copied checkout after `make dist`). Prints a pip requirement.
edgemnist_requirement() {
  local extras="$1" here wheel="$WHEEL"
  if [ -z "$wheel" ] && [ -z "$SOURCE" ]; then
    here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
    wheel="$(find "$here/../dist" -maxdepth 1 -name 'edgemnist-*.whl' 2>/dev/null | sort | tail -n1 || true)"
  fi
  if [ -n "$wheel" ]; then
    [ -f "$wheel" ] || die "no wheel at $wheel: build it on the host with 'make dist' and copy dist/*.whl to this board"
    wheel="$(cd "$(dirname "$wheel")" && pwd)/$(basename "$wheel")"
    printf 'edgemnist%s @ file://%s' "$extras" "$wheel"
  elif [ -n "$SOURCE" ]; then
    printf 'edgemnist%s @ %s' "$extras" "$SOURCE"
  else
    die "say where edgemnist comes from: --wheel edgemnist-*.whl (make dist on the host, copy it here) or --source git+https://<your clone>"
  fi
}

# pip constraints file that keeps what the system's Python packages were built against.
write_constraints() {
  local file="$1"
  shift
  if [ "$DRY_RUN" = 1 ]; then
    printf '   would write %s: %s\n' "$file" "$*"
  else
    mkdir -p "$(dirname "$file")"
    printf '%s\n' "$@" >"$file"
    printf '   wrote %s: %s\n' "$file" "$*"
  fi
}

# Append a line to a system file unless it is there already.
ensure_line() {
  local file="$1" line="$2"
  if grep -qxF -- "$line" "$(sys_path "$file")" 2>/dev/null; then
    ok "$file has: $line"
  elif [ "$DRY_RUN" = 1 ]; then
    printf '   would append to %s: %s\n' "$file" "$line"
  else
    printf '   + append to %s: %s\n' "$file" "$line"
    printf '%s\n' "$line" | as_root tee -a "$file" >/dev/null
  fi
}

# The systemd default target ("graphical.target"), from its symlink.
default_target() {
  local link
  link="$(sys_path /etc/systemd/system/default.target)"
  if [ -L "$link" ]; then
    basename "$(readlink "$link")"
  fi
}

# Active swap in MiB, without zram (from /proc/swaps: Filename Type Size(KiB) Used Priority).
disk_swap_mib() {
  awk 'NR > 1 && $1 !~ /zram/ { s += $3 } END { print int(s / 1024) }' "$(sys_path /proc/swaps)" 2>/dev/null || echo 0
}

zram_active() {
  grep -q '^/dev/zram' "$(sys_path /proc/swaps)" 2>/dev/null
}

# Which board the (fake) root is: "jetson", "raspberry-pi" or "other".
board_kind() {
  local model
  model="$(tr -d '\0' 2>/dev/null <"$(sys_path /proc/device-tree/model)" || true)"
  if [ -f "$(sys_path /etc/nv_tegra_release)" ] || [[ "$model" == *Jetson* ]]; then
    echo jetson
  elif [[ "$model" == *"Raspberry Pi"* ]]; then
    echo raspberry-pi
  else
    echo other
  fi
}

board_model() {
  tr -d '\0' 2>/dev/null <"$(sys_path /proc/device-tree/model)" || true
}

# L4T major release ("32", "35", "36") from /etc/nv_tegra_release ("# R32 (release), REVISION: 7.1").
l4t_major() {
  sed -n -E 's/^# R([0-9]+) \(release\).*/\1/p' "$(sys_path /etc/nv_tegra_release)" 2>/dev/null | head -n1 || true
}

l4t_release() {
  sed -n -E 's/^# R([0-9]+) \(release\), REVISION: ([0-9.]+).*/\1.\2/p' "$(sys_path /etc/nv_tegra_release)" 2>/dev/null | head -n1 || true
}

# "8.2.1" from an NvInferVersion.h (fields MAJOR MINOR PATCH, plus BUILD when $2 = build).
header_version() {
  local fields="MAJOR|MINOR|PATCH"
  [ "${2:-}" = build ] && fields="MAJOR|MINOR|PATCH|BUILD"
  [ -r "$1" ] || return 0
  awk -v re="^#define NV_TENSORRT_($fields) " '$0 ~ re { printf "%s%s", sep, $3; sep = "." }' "$1"
}

# TensorRT version from the installed headers (needs libnvinfer-dev), else from dpkg.
tensorrt_version() {
  local v pkg
  v="$(header_version "$(sys_path /usr/include/aarch64-linux-gnu/NvInferVersion.h)")"
  if [ -n "$v" ]; then
    printf '%s' "$v"
    return 0
  fi
  for pkg in libnvinfer10 libnvinfer8 libnvinfer7; do
    v="$(dpkg_version "$pkg")"
    if [ -n "$v" ]; then
      debian_upstream "$v"
      return 0
    fi
  done
}

# Run a command in a directory (cmake 3.10 on JetPack 4 has no -S/-B).
run_in() {
  local dir="$1"
  shift
  if [ "$DRY_RUN" = 1 ]; then
    printf '   would run (in %s): %s\n' "$dir" "$(quote "$@")"
  else
    printf '   + (in %s) %s\n' "$dir" "$(quote "$@")"
    (cd "$dir" && "$@")
  fi
}

# "3.11" from the /usr/bin/python3 symlink (python3 -> python3.11); empty when unknown.
system_python_version() {
  local link
  link="$(readlink "$(sys_path /usr/bin/python3)" 2>/dev/null || true)"
  link="${link##*/}"
  case "$link" in
    python3.*) printf '%s' "${link#python}" ;;
  esac
}

# The onnxruntime to install for a Python version on aarch64 Linux. Each pin is a release whose
# aarch64 wheel for that Python was checked on PyPI (pip download --platform ... --only-binary);
# all are manylinux_2_27, so they load on glibc >= 2.27 (JetPack 4.6 and later, Bookworm).
# 1.21.0 is never chosen: it crashed with "Illegal instruction" on a Raspberry Pi 4.
ort_pin() {
  case "$1" in
    3.8) printf 'onnxruntime==1.19.2' ;;  # the last release with cp38 wheels
    3.10) printf 'onnxruntime==1.23.0' ;; # JetPack 6 (Ubuntu 22.04)
    3.11) printf 'onnxruntime==1.23.2' ;; # Raspberry Pi OS Bookworm
    3.13) printf 'onnxruntime==1.22.0' ;; # Raspberry Pi OS Trixie
    *) printf 'onnxruntime!=1.21.0' ;;
  esac
}

# VERSION_CODENAME from os-release ("bookworm").
os_codename() {
  sed -n -E 's/^VERSION_CODENAME="?([^"]*)"?$/\1/p' "$(sys_path /etc/os-release)" 2>/dev/null | head -n1 || true
}
