#!/usr/bin/env bash
# Fixed clocks for benchmarks, and back. A latency measured while clocks scale with load is
# the governor's number, not the model's (benchmarks/README.md: "CV warning").
#   Jetson:        nvpmodel -m 0 (MAXN), then jetson_clocks (CPU/GPU/EMC at their maximum);
#                  the clocks before are stored once with jetson_clocks --store.
#   Raspberry Pi / other Linux: every CPU's cpufreq governor -> performance.
# Nothing persists across a reboot. --restore puts back what was there. Idempotent; --dry-run
# prints what it would do. `edgemnist bench` records nvpmodel, jetson_clocks and the governor
# in every result, so a run without this script is labelled as such.
#
# NOT VERIFIED ON HARDWARE: tested here only as a --dry-run against fake roots.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$HERE/lib.sh"

usage() {
  cat <<'EOF'
usage: bench-mode.sh [--restore] [--dry-run] [--root DIR]
  (no option)  lock clocks for benchmarking
  --restore    put back the power mode, clocks and governors saved by the last lock
EOF
}

parse_common "$@"
RESTORE=0
for arg in ${EXTRA_ARGS[@]+"${EXTRA_ARGS[@]}"}; do
  case "$arg" in
    --restore) RESTORE=1 ;;
    *) die "unknown option $arg (see --help)" ;;
  esac
done
STATE="$CACHE/bench-mode"

# Governors of all CPUs, "cpu0=ondemand cpu1=ondemand ..." (empty without cpufreq).
governors() {
  local f cpu
  for f in "$(sys_path /sys/devices/system/cpu)"/cpu[0-9]*/cpufreq/scaling_governor; do
    [ -r "$f" ] || continue
    cpu="${f%/cpufreq/*}"
    printf '%s=%s ' "${cpu##*/}" "$(cat "$f")"
  done
}

set_governor() {
  local gov="$1" f
  for f in "$(sys_path /sys/devices/system/cpu)"/cpu[0-9]*/cpufreq/scaling_governor; do
    [ -r "$f" ] || continue
    if [ "$(cat "$f")" = "$gov" ]; then
      ok "${f#"$ROOT"}: $gov"
    elif [ "$DRY_RUN" = 1 ]; then
      printf '   would write %s to %s\n' "$gov" "${f#"$ROOT"}"
    else
      printf '   + %s > %s\n' "$gov" "$f"
      printf '%s\n' "$gov" | as_root tee "$f" >/dev/null
    fi
  done
}

save_state() { # file content
  if [ -f "$1" ]; then
    ok "earlier state kept in $1"
  elif [ "$DRY_RUN" = 1 ]; then
    printf '   would save to %s: %s\n' "$1" "$2"
  else
    mkdir -p "$(dirname "$1")"
    printf '%s\n' "$2" >"$1"
  fi
}

KIND="$(board_kind)"
step "Board: $KIND $(board_model)"

if [ "$KIND" = jetson ]; then
  MODE="$(sed -n -E 's/^pmode:0*([0-9]+).*/\1/p' "$(sys_path /var/lib/nvpmodel/status)" 2>/dev/null | head -n1 || true)"
  if [ "$RESTORE" = 1 ]; then
    step "Restore clocks and power mode"
    if [ -f "$STATE/jetson_clocks.conf" ]; then
      sudo_run jetson_clocks --restore "$STATE/jetson_clocks.conf"
    else
      note "no stored clocks in $STATE (lock first); a reboot also restores them"
    fi
    if [ -f "$STATE/nvpmodel" ]; then
      sudo_run nvpmodel -m "$(cat "$STATE/nvpmodel")"
      run rm -f "$STATE/nvpmodel" "$STATE/jetson_clocks.conf"
    fi
    exit 0
  fi
  step "Power mode (nvpmodel): ${MODE:-unknown}"
  if [ "$MODE" = 0 ]; then
    ok "mode 0 (MAXN on the Nano and the AGX Orin; check the name with: sudo nvpmodel -q)"
  else
    if [ -n "$MODE" ]; then
      save_state "$STATE/nvpmodel" "$MODE"
    else
      note "power mode unknown (no /var/lib/nvpmodel/status): --restore cannot put it back"
    fi
    sudo_run nvpmodel -m 0
  fi
  step "jetson_clocks (CPU, GPU and memory clocks at their maximum)"
  if [ -f "$STATE/jetson_clocks.conf" ]; then
    ok "clocks before locking stored in $STATE/jetson_clocks.conf"
  else
    run mkdir -p "$STATE"
    sudo_run jetson_clocks --store "$STATE/jetson_clocks.conf"
  fi
  sudo_run jetson_clocks
  note "keep a fan on the board: watch for throttling with tegrastats during long runs"
else
  before="$(governors)"
  if [ -z "$before" ]; then
    note "no cpufreq governors under /sys/devices/system/cpu: nothing to lock here"
    exit 0
  fi
  step "CPU governors: ${before% }"
  if [ "$RESTORE" = 1 ]; then
    if [ -f "$STATE/governor" ]; then
      set_governor "$(cat "$STATE/governor")"
      run rm -f "$STATE/governor"
    else
      set_governor ondemand
      note "no saved governor: set ondemand (Raspberry Pi OS's default)"
    fi
    exit 0
  fi
  first="${before%% *}"
  [ "${first#*=}" = performance ] || save_state "$STATE/governor" "${first#*=}"
  set_governor performance
  if [ "$KIND" = raspberry-pi ]; then
    note "check for under-voltage and throttling before and after: vcgencmd get_throttled (0x0 = none)"
  fi
fi
say "
Benchmark now (edgemnist bench records the clocks); put things back with: $0 --restore"
