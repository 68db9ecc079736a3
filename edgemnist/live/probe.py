"""Which live source kinds will work on this machine (for ``doctor`` and ``live --help``).

:func:`probe_sources` never raises. System files (``/dev/video*``, sysfs names) are read
through a root prefix, so tests feed a fake tree; programs (``gst-launch-1.0``,
``gst-inspect-1.0``, ``v4l2-ctl``) run only for the real root, never for a fake one.
"""

from __future__ import annotations

import glob
import importlib.util
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from edgemnist.live import gst


def opencv_backends() -> List[str]:
    """Video I/O backends this OpenCV can use (``["FFMPEG", "V4L2", ...]``); never raises."""
    try:
        import cv2  # type: ignore[import-not-found]

        names: List[str] = []
        for name in ("FFMPEG", "GSTREAMER", "V4L2"):
            if name == "GSTREAMER":
                # the registry may list a plugin that is not built in: trust the build info
                if gst.opencv_has_gstreamer():
                    names.append(name)
            elif cv2.videoio_registry.hasBackend(getattr(cv2, f"CAP_{name}")):
                names.append(name)
        return names
    except Exception:
        return []


def parse_v4l2_formats(text: str) -> List[Dict[str, Any]]:
    """Formats of one device from ``v4l2-ctl --list-formats-ext``.

    Returns:
        ``[{"fourcc": "MJPG", "description": "Motion-JPEG, compressed",
        "modes": [(640, 480, 30.0), ...]}, ...]``: each discrete size with its best rate.
    """
    formats: List[Dict[str, Any]] = []
    size: Optional[Tuple[int, int]] = None
    for line in text.splitlines():
        # v4l-utils >= 1.16: "[0]: 'MJPG' (Motion-JPEG, compressed)"; older (Ubuntu 18.04,
        # JetPack 4.6): "Pixel Format: 'MJPG' (compressed)" then "Name : Motion-JPEG"
        m = re.match(r"\s*(?:\[\d+\]:|Pixel Format:)\s*'(\w{1,4})\s*'\s*(?:\(([^)]*)\))?", line)
        if m:
            formats.append({"fourcc": m.group(1), "description": m.group(2) or "", "modes": []})
            size = None
            continue
        m = re.match(r"\s*Name\s*:\s*(.+)", line)
        if m and formats and not formats[-1]["modes"]:
            formats[-1]["description"] = m.group(1).strip()
            continue
        m = re.match(r"\s*Size:\s*\w+\s+(\d+)x(\d+)", line)
        if m and formats:
            size = (int(m.group(1)), int(m.group(2)))
            formats[-1]["modes"].append((size[0], size[1], 0.0))
            continue
        m = re.match(r"\s*Interval:.*\(([\d.]+)\s*fps\)", line)
        if m and formats and size is not None:
            w, h, best = formats[-1]["modes"][-1]
            formats[-1]["modes"][-1] = (w, h, max(best, float(m.group(1))))
    return formats


def summarize_formats(formats: List[Dict[str, Any]]) -> str:
    """``"MJPG up to 1280x720@30, 640x480@30; YUYV up to 640x480@30"``: per format, the
    largest size and the largest size that reaches 30 fps (what live reading wants)."""
    parts = []
    for f in formats:
        modes = f["modes"]
        if not modes:
            parts.append(f["fourcc"])
            continue
        biggest = max(modes, key=lambda m: (m[0] * m[1], m[2]))
        text = f"{f['fourcc']} up to {biggest[0]}x{biggest[1]}@{biggest[2]:g}"
        fast = [m for m in modes if m[2] >= 29.0]
        if fast:
            best = max(fast, key=lambda m: m[0] * m[1])
            if best != biggest:
                text += f", {best[0]}x{best[1]}@{best[2]:g}"
        parts.append(text)
    return "; ".join(parts)


def _read(root: Path, rel: str) -> str:
    try:
        return (root / rel.lstrip("/")).read_text(errors="replace").strip()
    except OSError:
        return ""


def _v4l2_devices(root: Path, run_tools: bool) -> List[Dict[str, Any]]:
    devices = sorted(glob.glob(str(root / "dev/video*")), key=_natural)
    if not devices:
        return [
            {
                "kind": "v4l2",
                "ok": False,
                "detail": "no /dev/video* devices",
                "fix": "plug a USB webcam (or use csi:// / picam:// for a ribbon-cable camera)",
            }
        ]
    ctl = shutil.which("v4l2-ctl") if run_tools else None
    out = []
    for dev in devices:
        node = Path(dev).name
        name = _read(root, f"/sys/class/video4linux/{node}/name") or "?"
        entry: Dict[str, Any] = {"kind": f"v4l2 /dev/{node}", "ok": True, "detail": name}
        if name.startswith("vi-output"):  # a Jetson CSI sensor's raw (Bayer) node
            entry.update(
                ok=False,
                detail=f"{name}: a CSI sensor (raw Bayer)",
                fix="open it with csi://N (nvarguscamerasrc), not as a V4L2 camera",
            )
        elif ctl:
            try:
                proc = subprocess.run(
                    [ctl, "-d", f"/dev/{node}", "--list-formats-ext"],
                    capture_output=True,
                    text=True,
                    timeout=10,
                )
                formats = parse_v4l2_formats(proc.stdout)
                if formats:
                    entry["detail"] = f"{name}: {summarize_formats(formats)}"
                    entry["formats"] = formats
                else:  # metadata nodes of UVC cameras list no capture format
                    entry.update(ok=False, detail=f"{name}: no capture formats (metadata node)")
            except (OSError, subprocess.SubprocessError) as exc:
                entry["detail"] = f"{name} (v4l2-ctl failed: {type(exc).__name__})"
        elif run_tools:
            entry["detail"] = f"{name} (formats: sudo apt install v4l-utils)"
        out.append(entry)
    return out


def _natural(path: str) -> Tuple[str, int]:
    m = re.match(r"(.*?)(\d+)$", path)
    return (m.group(1), int(m.group(2))) if m else (path, -1)


def probe_sources(root: Path = Path("/"), run_tools: Optional[bool] = None) -> List[Dict[str, Any]]:
    """Which source kinds will work here.

    Args:
        root: filesystem root for ``/dev`` and ``/sys`` (tests pass a fake tree).
        run_tools: run gst-launch / gst-inspect / v4l2-ctl (default: only when root is "/").

    Returns:
        ``[{"kind", "ok", "detail", "fix"}]``; never raises.
    """
    root = Path(root)
    if run_tools is None:
        run_tools = str(root) == "/"
    rows: List[Dict[str, Any]] = []
    try:
        rows += _gst_rows(run_tools)
        rows.append(_picamera2_row())
        rows += _v4l2_devices(root, run_tools)
        rows += _opencv_rows()
    except Exception as exc:  # a report must not crash on a strange machine
        rows.append({"kind": "probe", "ok": False, "detail": f"{type(exc).__name__}: {exc}"})
    for r in rows:
        r.setdefault("fix", "")
    return rows


def _gst_rows(run_tools: bool) -> List[Dict[str, Any]]:
    if not run_tools:
        return [{"kind": "gst-launch", "ok": False, "detail": "not checked (fake root)"}]
    exe = gst.gst_launch_path()
    if exe is None:
        return [
            {
                "kind": "gst-launch",
                "ok": False,
                "detail": "gst-launch-1.0 not found: csi:// and gst:// need it",
                "fix": gst.INSTALL_HINT.replace("install GStreamer: ", ""),
            }
        ]
    version = gst.gst_version() or "unknown version"
    rows = [{"kind": "gst-launch", "ok": True, "detail": f"{exe} (GStreamer {version})"}]
    found, why = gst.has_element("nvarguscamerasrc")
    rows.append(
        {
            "kind": "csi (nvarguscamerasrc)",
            "ok": found,
            "detail": "present" if found else f"{why}: csi:// works only on a Jetson",
            "fix": "" if found else "csi:// needs a Jetson with JetPack (nvidia-l4t-gstreamer)",
        }
    )
    return rows


def _picamera2_row() -> Dict[str, Any]:
    from edgemnist.live.sources import PICAMERA2_HINT

    # find_spec, not import: importing picamera2 starts libcamera and can take seconds
    try:
        found = importlib.util.find_spec("picamera2") is not None
    except (ImportError, ValueError):
        found = False
    return {
        "kind": "picam (Picamera2)",
        "ok": found,
        "detail": "importable" if found else "picamera2 not importable in this Python",
        "fix": "" if found else PICAMERA2_HINT,
    }


def _opencv_rows() -> List[Dict[str, Any]]:
    if importlib.util.find_spec("cv2") is None:
        return [
            {
                "kind": "opencv",
                "ok": False,
                "detail": "cv2 not installed: USB cameras, files and streams need it",
                "fix": "pip install 'edgemnist[cv]' (on a Jetson: JetPack's python3-opencv)",
            }
        ]
    names = opencv_backends()
    return [
        {
            "kind": "stream (FFmpeg)",
            "ok": "FFMPEG" in names,
            "detail": "rtsp:// and http:// through OpenCV's FFmpeg backend"
            if "FFMPEG" in names
            else "this OpenCV has no FFmpeg backend: rtsp:// and http:// will not open",
        },
        {
            "kind": "gst (OpenCV)",
            "ok": "GSTREAMER" in names,
            "detail": "OpenCV has GStreamer: csi:// and gst:// use appsink"
            if "GSTREAMER" in names
            else "OpenCV without GStreamer: csi:// and gst:// use a gst-launch-1.0 child",
        },
        {
            "kind": "v4l2 (OpenCV)",
            "ok": "V4L2" in names,
            "detail": "USB cameras through OpenCV's V4L2 backend"
            if "V4L2" in names
            else "this OpenCV has no V4L2 backend: USB cameras will not open",
        },
    ]
