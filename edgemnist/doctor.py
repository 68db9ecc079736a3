"""``edgemnist doctor``: what this device is, what it can run, and what to fix.

Sections: platform (x86 / Jetson model + L4T/JetPack + nvpmodel + jetson_clocks /
Raspberry Pi model + throttling), Python, backends (torch, onnxruntime + providers, tensorrt,
pycuda, libcudart, trtexec, GPU), OpenCV (GStreamer or not), cameras, build memory.
Each problem carries a one-line fix.

System files are read through a root prefix (``--root``), so tests feed a fake Jetson or a
fake Raspberry Pi tree. Python packages are probed in this interpreter; versions come from
package metadata *before* importing, because some wheels crash the interpreter on import on
some boards (onnxruntime 1.21.0 and torch 2.10 with "Illegal instruction" on a Pi 4), and
doctor must report that instead of dying of it.

Not verified without hardware: real Jetson/Pi files (the fake trees follow the formats of
L4T r32.7 and Raspberry Pi OS Bookworm), vcgencmd, real cameras.
"""

from __future__ import annotations

import glob
import platform
import re
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

OK, WARN, FAIL, INFO = "ok", "warn", "fail", "info"

#: L4T release -> JetPack
JETPACK = {
    "32.7": "4.6.x",
    "32.6": "4.6",
    "32.5": "4.5",
    "35.1": "5.0.2",
    "35.2": "5.1",
    "35.3": "5.1.1",
    "35.4": "5.1.2",
    "35.5": "5.1.3",
    "35.6": "5.1.4",
    "36.2": "6.0 DP",
    "36.3": "6.0",
    "36.4": "6.1/6.2",
}
#: wheels that die with "Illegal instruction" on a Raspberry Pi 4 (../shared/notes/tensorrt.md)
PI_BAD_WHEELS = {"onnxruntime": ("1.21.0",), "torch": ("2.10.0", "2.10.1")}
#: Raspberry Pi throttling bits (vcgencmd get_throttled)
THROTTLE_BITS = {
    0: "under-voltage now",
    1: "ARM frequency capped now",
    2: "throttled now",
    3: "soft temperature limit now",
    16: "under-voltage has occurred",
    17: "ARM frequency capping has occurred",
    18: "throttling has occurred",
    19: "soft temperature limit has occurred",
}


@dataclass
class Check:
    """One line of the report."""

    section: str
    name: str
    status: str
    value: str
    fix: str = ""


def _read(root: Path, rel: str) -> str:
    try:
        return (
            (root / rel.lstrip("/"))
            .read_bytes()
            .replace(b"\0", b"")
            .decode(errors="replace")
            .strip()
        )
    except OSError:
        return ""


def board(root: Path) -> Tuple[str, str]:
    """``(kind, model)``: kind is "jetson", "raspberry-pi" or "generic"."""
    model = _read(root, "/proc/device-tree/model")
    compatible = _read(root, "/proc/device-tree/compatible")
    if "jetson" in model.lower() or "nvidia,tegra" in compatible:
        return "jetson", model or "NVIDIA Jetson"
    if "raspberry pi" in model.lower():
        return "raspberry-pi", model
    return "generic", model


def l4t_release(root: Path) -> Optional[str]:
    """``"32.7.1"`` from ``/etc/nv_tegra_release`` (``# R32 (release), REVISION: 7.1, ...``)."""
    text = _read(root, "/etc/nv_tegra_release")
    m = re.search(r"R(\d+)\s*\(release\),\s*REVISION:\s*([\d.]+)", text)
    return f"{m.group(1)}.{m.group(2)}" if m else None


def decode_throttled(value: int) -> List[str]:
    """Names of the set bits of a ``get_throttled`` value."""
    return [text for bit, text in THROTTLE_BITS.items() if value & (1 << bit)]


def _throttled(root: Path) -> Optional[int]:
    raw = _read(root, "/sys/devices/platform/soc/soc:firmware/get_throttled")
    if not raw and str(root) == "/" and shutil.which("vcgencmd"):
        try:
            out = subprocess.run(
                ["vcgencmd", "get_throttled"], capture_output=True, text=True, timeout=5
            ).stdout
            raw = out.split("=", 1)[-1].strip()
        except (OSError, subprocess.TimeoutExpired):
            raw = ""
    try:
        return int(raw, 16) if raw else None
    except ValueError:
        return None


def _platform_checks(root: Path, kind: str, model: str) -> List[Check]:
    s = "platform"
    checks = [
        Check(s, "machine", INFO, f"{platform.machine()} {platform.system()} {platform.release()}")
    ]
    if kind == "jetson":
        checks.append(Check(s, "board", OK, model))
        rel = l4t_release(root)
        if rel:
            jp = JETPACK.get(".".join(rel.split(".")[:2]), "unknown")
            checks.append(Check(s, "L4T / JetPack", OK, f"L4T {rel} / JetPack {jp}"))
        else:
            checks.append(
                Check(
                    s,
                    "L4T / JetPack",
                    WARN,
                    "no /etc/nv_tegra_release",
                    "flash JetPack with NVIDIA SDK Manager or the SD card image",
                )
            )
        status = _read(root, "/var/lib/nvpmodel/status")
        m = re.search(r"pmode:(\d+)", status)
        if m:
            mode = int(m.group(1))
            conf = _read(root, "/etc/nvpmodel.conf")
            names = dict(re.findall(r"POWER_MODEL\s+ID=(\d+)\s+NAME=(\S+)", conf))
            label = f"mode {mode}" + (f" ({names[str(mode)]})" if str(mode) in names else "")
            checks.append(
                Check(
                    s,
                    "nvpmodel",
                    OK if mode == 0 else WARN,
                    label,
                    "" if mode == 0 else "sudo nvpmodel -m 0 (maximum performance)",
                )
            )
        else:
            checks.append(Check(s, "nvpmodel", INFO, "unknown", "check with: sudo nvpmodel -q"))
        checks.append(_jetson_clocks(root))
    elif kind == "raspberry-pi":
        checks.append(Check(s, "board", OK, model))
        value = _throttled(root)
        if value is None:
            checks.append(
                Check(s, "throttling", INFO, "unknown", "check with: vcgencmd get_throttled")
            )
        elif value == 0:
            checks.append(Check(s, "throttling", OK, "none (0x0)"))
        else:
            now = value & 0xF
            checks.append(
                Check(
                    s,
                    "throttling",
                    WARN if now else INFO,
                    f"0x{value:x}: {', '.join(decode_throttled(value))}",
                    "use the official 5 V/3 A (Pi 4) or 5 V/5 A (Pi 5) supply and a heatsink/fan",
                )
            )
        temp = _read(root, "/sys/class/thermal/thermal_zone0/temp")
        if temp.isdigit():
            c = int(temp) / 1000
            checks.append(
                Check(
                    s,
                    "temperature",
                    WARN if c >= 80 else OK,
                    f"{c:.1f} C",
                    "add cooling: benchmarks throttle above 80 C" if c >= 80 else "",
                )
            )
    else:
        cpu = ""
        for line in _read(root, "/proc/cpuinfo").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        checks.append(Check(s, "cpu", INFO, cpu or platform.processor() or "unknown"))
    return checks


def _jetson_clocks(root: Path) -> Check:
    pattern = str(root / "sys/devices") + "/**/devfreq/*gpu*"
    for d in sorted(glob.glob(pattern, recursive=True)):
        lo, hi = _read(Path(d), "min_freq"), _read(Path(d), "max_freq")
        if lo.isdigit() and hi.isdigit():
            on = int(lo) >= int(hi)
            return Check(
                "platform",
                "jetson_clocks",
                OK if on else WARN,
                f"GPU {int(lo) // 10**6}-{int(hi) // 10**6} MHz" + (" (locked)" if on else ""),
                "" if on else "sudo jetson_clocks (lock clocks for stable benchmarks)",
            )
    return Check("platform", "jetson_clocks", INFO, "GPU clocks unknown", "sudo jetson_clocks")


Probe = Callable[[str], Tuple[Optional[str], str]]


def probe_package(name: str) -> Tuple[Optional[str], str]:
    """``(version, "")`` from package metadata without importing, or ``(None, reason)``."""
    import importlib.util

    dist = {"cv2": "opencv-python"}.get(name, name)
    try:
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version(dist), ""
        except PackageNotFoundError:
            pass
        if dist == "opencv-python":
            for alt in ("opencv-python-headless", "opencv-contrib-python"):
                try:
                    return version(alt), ""
                except PackageNotFoundError:
                    continue
    except ImportError:  # Python 3.6/3.7 (JetPack 4.6): no importlib.metadata
        pass
    if importlib.util.find_spec(name) is None:
        return None, "not installed"
    try:  # system packages (JetPack's tensorrt, cv2) have no pip metadata
        mod = __import__(name)
        return str(getattr(mod, "__version__", "unknown")), ""
    except Exception as exc:
        return None, f"import fails ({type(exc).__name__})"


def _backend_checks(root: Path, kind: str, probe: Probe) -> List[Check]:
    s = "backends"
    checks = [
        Check(
            "python",
            "python",
            OK if sys.version_info >= (3, 8) else WARN,
            f"{platform.python_version()} ({sys.executable})",
            "" if sys.version_info >= (3, 8) else "edgemnist needs Python >= 3.8",
        )
    ]
    for pkg in ("torch", "onnxruntime"):
        ver, why = probe(pkg)
        if ver and kind == "raspberry-pi" and ver in PI_BAD_WHEELS.get(pkg, ()):
            checks.append(
                Check(
                    s,
                    pkg,
                    FAIL,
                    f"{ver} (crashes with 'Illegal instruction' on a Pi 4)",
                    f"pip install '{pkg}!={ver}'",
                )
            )
            continue
        if pkg == "torch":
            checks.append(Check(s, "torch", INFO, ver or "not installed (not needed on a device)"))
            continue
        if not ver:
            checks.append(
                Check(
                    s,
                    "onnxruntime",
                    WARN if kind != "jetson" else INFO,
                    why,
                    "pip install 'edgemnist[ort]'",
                )
            )
            continue
        try:
            import onnxruntime as ort  # type: ignore[import-untyped]

            providers = ", ".join(
                p.replace("ExecutionProvider", "") for p in ort.get_available_providers()
            )
        except Exception as exc:
            providers = f"import fails ({type(exc).__name__})"
        checks.append(Check(s, "onnxruntime", OK, f"{ver} [{providers}]"))

    ver, why = probe("tensorrt")
    elsewhere = tensorrt_elsewhere(root)
    if ver:
        checks.append(Check(s, "tensorrt", OK, ver))
    elif elsewhere:
        checks.append(_tensorrt_elsewhere_check(elsewhere, why, kind))
    elif kind == "jetson":
        checks.append(
            Check(
                s,
                "tensorrt",
                FAIL,
                why,
                "use JetPack's system Python (sudo apt install python3-libnvinfer) "
                "or a venv made with --system-site-packages",
            )
        )
    else:
        checks.append(Check(s, "tensorrt", INFO, f"{why}: build-engine falls back to ONNX Runtime"))
    ver, why = probe("pycuda")
    checks.append(
        Check(
            s,
            "pycuda",
            OK if ver else INFO,
            ver or f"{why} (optional: edgemnist uses libcudart through ctypes)",
        )
    )
    checks.append(_cudart_check(root, kind))
    from edgemnist.engine.trtexec_cmd import find_trtexec

    exe = find_trtexec(root)
    if exe is not None:
        version = ""
        if str(root) == "/":  # only run binaries of this machine, never of a fake tree
            try:
                from edgemnist.engine.build import trtexec_version

                version = f" (TensorRT {trtexec_version(exe)})"
            except Exception as exc:
                version = f" (does not run: {str(exc).splitlines()[0]})"
        checks.append(Check(s, "trtexec", OK, f"{exe}{version}"))
    else:
        checks.append(
            Check(
                s,
                "trtexec",
                WARN if kind == "jetson" else INFO,
                "not found",
                "sudo apt install tensorrt (JetPack puts it in /usr/src/tensorrt/bin)"
                if kind == "jetson"
                else "",
            )
        )
    from edgemnist.engine.gpu import detect_gpu

    gpu = detect_gpu(root, use_cuda=str(root) == "/")
    if gpu.present:
        detail = (
            f"{gpu.name} sm {gpu.cc}, fast FP16 {'yes' if gpu.fast_fp16 else 'no'}, "
            f"fast INT8 {'yes' if gpu.fast_int8 else 'no'}"
        )
        if gpu.maxwell:
            detail += " (Maxwell: build FP16 engines)"
        checks.append(Check(s, "gpu", OK, detail))
    else:
        checks.append(
            Check(
                s,
                "gpu",
                INFO if kind != "jetson" else FAIL,
                "no CUDA GPU found",
                "" if kind != "jetson" else "check the JetPack install (CUDA runtime)",
            )
        )
    return checks


#: where system packages put TensorRT's Python bindings (JetPack: python3-libnvinfer)
_TRT_SITE_GLOBS = (
    "usr/lib/python3*/dist-packages/tensorrt",
    "usr/lib/python3*/site-packages/tensorrt",
    "usr/local/lib/python3*/dist-packages/tensorrt",
)


def tensorrt_elsewhere(root: Path) -> List[Tuple[str, str]]:
    """TensorRT Python bindings installed under ``root`` for some system Python.

    Returns:
        ``[(python, path)]``: ``python`` is ``"3.6"`` for ``/usr/lib/python3.6/...``, or ``"3"``
        for Debian's shared ``/usr/lib/python3/dist-packages`` (then the extension's file name
        tells the version when it carries an ABI tag: ``tensorrt.cpython-38-...so``).
    """
    found = []
    for pattern in _TRT_SITE_GLOBS:
        for d in sorted(glob.glob(str(Path(root) / pattern))):
            folder = Path(d).parent.parent.name  # python3.6 | python3
            pyver = folder[len("python") :]
            if pyver == "3":
                tagged = glob.glob(str(Path(d) / "tensorrt.cpython-3*.so"))
                m = re.search(r"cpython-3(\d+)", tagged[0]) if tagged else None
                pyver = f"3.{m.group(1)}" if m else "3"
            found.append((pyver, "/" + str(Path(d).relative_to(root))))
    return found


def _tensorrt_elsewhere_check(found: List[Tuple[str, str]], why: str, kind: str) -> Check:
    """TensorRT is on the system but not importable here: for another Python, or hidden."""
    here = f"{sys.version_info[0]}.{sys.version_info[1]}"
    same = [path for pyver, path in found if pyver == here]
    if same:
        return Check(
            "backends",
            "tensorrt",
            FAIL if kind == "jetson" else WARN,
            f"{why} here, but installed for this Python {here} at {same[0]}",
            "this venv hides the system packages: recreate it with "
            "'python3 -m venv --system-site-packages' (jetson/setup-orin.sh does)",
        )
    others = ", ".join(f"Python {pyver} ({path})" for pyver, path in found)
    return Check(
        "backends",
        "tensorrt",
        FAIL if kind == "jetson" else WARN,
        f"{why} in Python {here}; TensorRT is installed only for {others}",
        f"build TensorRT's bindings for Python {here}: jetson/build_trt_bindings.sh "
        f"--venv {sys.prefix} (jetson/README.md, Jetson Nano), or build engines without them: "
        "edgemnist build-engine MODEL --builder trtexec",
    )


def _cudart_check(root: Path, kind: str) -> Check:
    if str(root) != "/":
        found = glob.glob(str(root / "usr/local/cuda*/lib*/libcudart.so*")) + glob.glob(
            str(root / "usr/local/cuda*/targets/*/lib/libcudart.so*")
        )
        ok = bool(found)
    else:
        try:
            from edgemnist.runners.cudart import load_library

            load_library()
            ok = True
        except Exception:
            ok = False
    if ok:
        return Check("backends", "libcudart", OK, "found")
    return Check(
        "backends",
        "libcudart",
        FAIL if kind == "jetson" else INFO,
        "not found",
        "reinstall JetPack's CUDA runtime (sudo apt install cuda-cudart-10-2)"
        if kind == "jetson"
        else "",
    )


def _opencv_checks(kind: str, probe: Probe) -> List[Check]:
    ver, why = probe("cv2")
    if not ver:
        return [
            Check(
                "opencv",
                "cv2",
                INFO,
                why,
                "pip install 'edgemnist[cv]' (for camera/predict)"
                if kind != "jetson"
                else "sudo apt install python3-opencv (JetPack's, with GStreamer)",
            )
        ]
    try:
        import cv2  # type: ignore[import-not-found]

        info = cv2.getBuildInformation()
    except Exception as exc:
        return [Check("opencv", "cv2", WARN, f"{ver}, import fails ({type(exc).__name__})")]
    m = re.search(r"GStreamer:\s*(\S+)", info)
    gst = bool(m and m.group(1).upper().startswith("YES"))
    checks = [Check("opencv", "cv2", OK, ver)]
    if kind == "jetson" and not gst:
        checks.append(
            Check(
                "opencv",
                "gstreamer",
                WARN,
                "no (pip wheel)",
                "pip uninstall opencv-python opencv-python-headless; use JetPack's "
                "OpenCV (CSI cameras need GStreamer)",
            )
        )
    else:
        checks.append(Check("opencv", "gstreamer", OK if gst else INFO, "yes" if gst else "no"))
    return checks


def _camera_checks(root: Path, kind: str) -> List[Check]:
    devices = sorted(glob.glob(str(root / "dev/video*")))
    if not devices:
        fix = {
            "jetson": "plug a USB webcam or a CSI camera (check with: ls /dev/video*)",
            "raspberry-pi": "plug a USB webcam, or enable the camera module (Picamera2 reads it)",
        }.get(kind, "plug a USB webcam")
        return [Check("cameras", "video devices", WARN, "none", fix)]
    checks = []
    for dev in devices:
        name = _read(root, f"/sys/class/video4linux/{Path(dev).name}/name") or "?"
        checks.append(Check("cameras", f"/dev/{Path(dev).name}", OK, name))
    if kind == "raspberry-pi":
        checks.append(
            Check(
                "cameras",
                "camera module",
                INFO,
                "libcamera",
                "Pi camera modules do not open with cv2.VideoCapture: use Picamera2",
            )
        )
    return checks


def _source_checks(root: Path, kind: str) -> List[Check]:
    """Which ``live`` source kinds will work here (edgemnist.live.probe)."""
    from edgemnist.live.probe import probe_sources

    # what this board is expected to use: missing it is a problem, elsewhere only a fact
    expected = {
        "jetson": ("gst-launch", "csi (nvarguscamerasrc)"),
        "raspberry-pi": ("picam (Picamera2)",),
    }.get(kind, ())
    checks = []
    for row in probe_sources(root):
        name = row["kind"]
        if row["ok"]:
            status = OK
        elif name in expected and "not checked" not in row["detail"]:
            status = WARN
        else:
            status = INFO
        checks.append(Check("camera sources", name, status, row["detail"], row.get("fix", "")))
    return checks


def _memory_checks(root: Path, kind: str) -> List[Check]:
    if kind != "jetson":
        return []
    from edgemnist.engine.preflight import preflight

    pre = preflight(root)
    checks = [
        Check(
            "memory",
            "RAM / swap",
            OK,
            f"{pre.ram_mib} MiB RAM, {pre.swap_mib} MiB swap ({pre.zram_mib} MiB zram)",
        )
    ]
    for line in pre.advice:
        text, _, fix = line.partition(": ")
        checks.append(Check("memory", "engine builds", WARN, text, fix))
    return checks


def doctor(root: Path = Path("/"), probe: Probe = probe_package) -> Dict[str, Any]:
    """Inspect this device (or a fake tree at ``root``).

    Args:
        root: filesystem root for system files.
        probe: how Python packages are looked up (tests may pass a double).

    Returns:
        ``{"root", "board": {"kind", "model"}, "checks": [Check as dict], "failures": n,
        "warnings": n, "problems": failures + warnings}``.
    """
    root = Path(root)
    kind, model = board(root)
    checks: List[Check] = []
    checks += _platform_checks(root, kind, model)
    checks += _backend_checks(root, kind, probe)
    checks += _opencv_checks(kind, probe)
    checks += _camera_checks(root, kind)
    checks += _source_checks(root, kind)
    checks += _memory_checks(root, kind)
    failures = sum(1 for c in checks if c.status == FAIL)
    warnings = sum(1 for c in checks if c.status == WARN)
    return {
        "root": str(root),
        "board": {"kind": kind, "model": model},
        "checks": [asdict(c) for c in checks],
        "failures": failures,
        "warnings": warnings,
        "problems": failures + warnings,
    }


def exit_code(report: Dict[str, Any], strict: bool = False) -> int:
    """The exit status of ``edgemnist doctor`` for a :func:`doctor` report.

    Args:
        report: what :func:`doctor` returned.
        strict: count warnings as failures (``doctor --strict``, for provisioning scripts).

    Returns:
        0 when no check failed (and, with ``strict``, none warned), else 1.

    Example:
        >>> report = {"failures": 0, "warnings": 2}
        >>> exit_code(report), exit_code(report, strict=True)
        (0, 1)
    """
    bad = report["failures"] + (report["warnings"] if strict else 0)
    return 1 if bad else 0
