"""The environment fingerprint stored with every result: which machine, clocks and versions.

Numbers without this are not comparable: a Jetson in 5 W mode without ``jetson_clocks``, a
throttling Raspberry Pi and a laptop on battery all give "the latency" of the same model.

System files are read through a root prefix (``root="/"`` normally), so tests can build a
fake Jetson or Raspberry Pi in a temporary directory. Commands (``nvpmodel -q``,
``vcgencmd get_throttled``) run only when ``root`` is the real root, through a replaceable
``run_cmd``.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import socket
import subprocess
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Union

from edgemnist import __version__

RunCmd = Callable[[List[str]], Optional[str]]

#: bits of the Raspberry Pi firmware's throttled word, low half = now, high half = since boot
THROTTLE_BITS = {
    0: "under-voltage",
    1: "arm frequency capped",
    2: "throttled",
    3: "soft temperature limit",
}


def run_command(argv: List[str], timeout: float = 3.0) -> Optional[str]:
    """Run a read-only query command; its stdout, or None when it is absent or fails."""
    if shutil.which(argv[0]) is None and not Path(argv[0]).is_file():
        return None
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout if proc.returncode == 0 else None


class _Root:
    """Reads files under a root prefix, quietly: a missing file is None."""

    def __init__(self, root: Union[str, Path]) -> None:
        self.root = Path(root)

    def path(self, absolute: str) -> Path:
        return self.root / absolute.lstrip("/")

    def read(self, absolute: str) -> Optional[str]:
        try:
            text = self.path(absolute).read_bytes().decode("utf-8", "replace")
        except OSError:
            return None
        # device-tree strings end in NUL
        return text.replace("\x00", "").strip()

    def glob(self, pattern: str) -> List[Path]:
        return sorted(self.root.glob(pattern.lstrip("/")))


def _cpuinfo(r: _Root) -> Dict[str, Any]:
    text = r.read("/proc/cpuinfo") or ""
    model = None
    for key in ("model name", "Model", "Hardware", "cpu model", "Processor"):
        m = re.search(rf"^{key}\s*:\s*(.+)$", text, re.MULTILINE)
        if m:
            model = m.group(1).strip()
            break
    processors = len(re.findall(r"^processor\s*:", text, re.MULTILINE))
    # ARM cpuinfo names the core type by part number only; keep the implementer/part for them
    part = re.search(r"^CPU part\s*:\s*(\S+)", text, re.MULTILINE)
    from edgemnist.bench.cpuflags import cpu_flags

    return {
        "model": model or platform.processor() or platform.machine(),
        "cores": processors or (os.cpu_count() if str(r.root) == "/" else None),
        "arm_part": part.group(1) if part else None,
        # the instruction-set flags that decide INT8/FP16 speed (VNNI, SDOT, FP16 arithmetic):
        # results of different machines are compared by them (benchmarks/compare_devices.py)
        "flags": cpu_flags(r.path("/proc/cpuinfo"))["notable"],
    }


def _cpufreq(r: _Root) -> Dict[str, Any]:
    governors = []
    for gov in r.glob("/sys/devices/system/cpu/cpu[0-9]*/cpufreq/scaling_governor"):
        value = gov.read_text().strip() if gov.is_file() else ""
        if value:
            governors.append(value)
    cur = r.read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq")
    mx = r.read("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")
    return {
        "governor": (
            sorted(set(governors))[0]
            if len(set(governors)) == 1
            else ",".join(sorted(set(governors))) or None
        ),
        "cur_mhz": int(cur) // 1000 if cur and cur.isdigit() else None,
        "max_mhz": int(mx) // 1000 if mx and mx.isdigit() else None,
    }


def _meminfo_mb(r: _Root) -> Optional[int]:
    text = r.read("/proc/meminfo") or ""
    m = re.search(r"^MemTotal:\s*(\d+)\s*kB", text, re.MULTILINE)
    return int(m.group(1)) // 1024 if m else None


def _temperature_c(r: _Root) -> Optional[float]:
    raw = r.read("/sys/class/thermal/thermal_zone0/temp")
    try:
        return round(int(raw) / 1000.0, 1) if raw else None
    except ValueError:
        return None


def _l4t(text: Optional[str]) -> Optional[str]:
    """``# R32 (release), REVISION: 7.1, ...`` -> ``"32.7.1"``."""
    if not text:
        return None
    m = re.search(r"R(\d+)\s*\(release\),\s*REVISION:\s*([\d.]+)", text)
    return f"{m.group(1)}.{m.group(2)}" if m else text.splitlines()[0]


def _nvpmodel(r: _Root, run_cmd: Optional[RunCmd]) -> Optional[str]:
    """Power mode, e.g. ``"MAXN (0)"``: from ``nvpmodel -q``, else from its status file."""
    out = run_cmd(["nvpmodel", "-q"]) if run_cmd else None
    if out:
        name = re.search(r"NV Power Mode:\s*(\S+)", out)
        ident = re.search(r"^\s*(\d+)\s*$", out, re.MULTILINE)
        if name:
            return f"{name.group(1)} ({ident.group(1)})" if ident else name.group(1)
    status = r.read("/var/lib/nvpmodel/status")
    if not status:
        return None
    m = re.search(r"pmode:(\d+)", status)
    if not m:
        return status
    mode = int(m.group(1))
    conf = r.read("/etc/nvpmodel.conf") or ""
    name_m = re.search(rf"<\s*POWER_MODEL\s+ID={mode}\s+NAME=(\S+?)\s*>", conf)
    return f"{name_m.group(1)} ({mode})" if name_m else str(mode)


def _jetson_clocks(r: _Root, governor: Optional[str]) -> Optional[str]:
    """Infer ``jetson_clocks``: it pins CPU governors to performance and GPU min to max freq.

    (``jetson_clocks --show`` needs root, so the benchmark infers it from sysfs instead.)
    """
    gpu_pinned = None
    for dev in r.glob("/sys/class/devfreq/*"):
        name = dev.name
        if not any(tag in name for tag in ("gpu", "gv11b", "ga10b", "gp10b", "57000000")):
            continue
        lo = (dev / "min_freq").read_text().strip() if (dev / "min_freq").is_file() else None
        hi = (dev / "max_freq").read_text().strip() if (dev / "max_freq").is_file() else None
        if lo and hi:
            gpu_pinned = lo == hi
            break
    if gpu_pinned is None and governor is None:
        return None
    on = bool(gpu_pinned) and governor == "performance"
    return "on (inferred from sysfs)" if on else "off (inferred from sysfs)"


def _throttled(r: _Root, run_cmd: Optional[RunCmd]) -> Optional[Dict[str, Any]]:
    raw = r.read("/sys/devices/platform/soc/soc:firmware/get_throttled")
    value: Optional[int] = None
    if raw:
        try:
            value = int(raw, 16)
        except ValueError:
            value = None
    if value is None and run_cmd:
        out = run_cmd(["vcgencmd", "get_throttled"]) or ""
        m = re.search(r"throttled=(0x[0-9a-fA-F]+)", out)
        value = int(m.group(1), 16) if m else None
    if value is None:
        return None
    return decode_throttled(value)


def decode_throttled(value: int) -> Dict[str, Any]:
    """Decode the Raspberry Pi firmware's throttled word into plain words.

    Example:
        >>> decode_throttled(0x50005)["now"]
        ['under-voltage', 'throttled']
    """
    now = [text for bit, text in THROTTLE_BITS.items() if value & (1 << bit)]
    since = [text for bit, text in THROTTLE_BITS.items() if value & (1 << (bit + 16))]
    return {"raw": hex(value), "now": now, "since_boot": since, "ok": value == 0}


def _dist_version(name: str) -> Optional[str]:
    """Installed version without importing the package (importing torch costs seconds)."""
    try:
        from importlib.metadata import PackageNotFoundError, version
    except ImportError:  # pragma: no cover - Python < 3.8
        return None
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def versions(
    packages: Iterable[str] = ("numpy", "torch", "onnxruntime", "tensorrt"),
) -> Dict[str, Optional[str]]:
    """Versions of Python, edgemnist and ``packages`` (None: not installed)."""
    out: Dict[str, Optional[str]] = {
        "python": platform.python_version(),
        "edgemnist": __version__,
    }
    for pkg in packages:
        ver = _dist_version(pkg)
        if ver is None and pkg == "onnxruntime":
            ver = _dist_version("onnxruntime-gpu")
        if ver is None and pkg == "tensorrt":
            # JetPack installs tensorrt from apt, without pip metadata
            import importlib.util

            if importlib.util.find_spec("tensorrt") is not None:
                try:
                    import tensorrt  # noqa: F401

                    ver = getattr(tensorrt, "__version__", "unknown")
                except Exception:  # a broken install still deserves a fingerprint
                    ver = "present, import failed"
        out[pkg] = ver
    return out


def fingerprint(
    root: Union[str, Path] = "/",
    run_cmd: Optional[RunCmd] = None,
    models: Optional[Dict[str, str]] = None,
) -> Dict[str, Any]:
    """Describe this machine for a result file.

    Args:
        root: prefix for system files (``/proc``, ``/sys``, ``/etc``); tests pass a fake tree.
        run_cmd: runs query commands; default :func:`run_command` when ``root`` is ``/``,
            none otherwise (commands would describe the real machine, not the fake one).
        models: ``{artifact path: sha256}`` of the benchmarked files.

    Returns:
        A JSON-ready dict: host, os, cpu (model, cores, governor, MHz), memory, temperature,
        load, board (``jetson``/``raspberry-pi``/``generic``) with its facts, versions, models.
    """
    r = _Root(root)
    real_root = Path(root).resolve() == Path("/").resolve()
    if run_cmd is None and real_root:
        run_cmd = run_command
    cpu = _cpuinfo(r)
    cpu.update(_cpufreq(r))
    if real_root and hasattr(os, "sched_getaffinity"):
        cpu["usable"] = len(os.sched_getaffinity(0))
    dt_model = r.read("/proc/device-tree/model")
    tegra = r.read("/etc/nv_tegra_release")
    board: Dict[str, Any]
    if tegra or (dt_model and "jetson" in dt_model.lower()):
        board = {
            "kind": "jetson",
            "model": dt_model,
            "l4t": _l4t(tegra),
            "nvpmodel": _nvpmodel(r, run_cmd),
            "jetson_clocks": _jetson_clocks(r, cpu.get("governor")),
        }
    elif dt_model and "raspberry pi" in dt_model.lower():
        board = {"kind": "raspberry-pi", "model": dt_model, "throttled": _throttled(r, run_cmd)}
    else:
        board = {"kind": "generic", "model": dt_model}
    load = None
    if real_root and hasattr(os, "getloadavg"):
        load = [round(v, 2) for v in os.getloadavg()]
    return {
        "host": socket.gethostname() if real_root else None,
        "os": f"{platform.system()} {platform.release()}",
        "machine": platform.machine(),
        "cpu": cpu,
        "memory_mb": _meminfo_mb(r),
        "temperature_c": _temperature_c(r),
        "loadavg": load,
        "board": board,
        "versions": versions(),
        "models": dict(models or {}),
    }
