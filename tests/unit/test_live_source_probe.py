"""probe_sources on fake /dev + /sys trees and on this machine; v4l2-ctl output parsing (the
formats of v4l-utils 1.22 and of the older 1.14 on JetPack 4.6); doctor's camera sources."""

from __future__ import annotations

from pathlib import Path

from edgemnist.doctor import doctor
from edgemnist.live import gst
from edgemnist.live.probe import (
    opencv_backends,
    parse_v4l2_formats,
    probe_sources,
    summarize_formats,
)

NEW_FORMAT = """ioctl: VIDIOC_ENUM_FMT
\tType: Video Capture

\t[0]: 'MJPG' (Motion-JPEG, compressed)
\t\tSize: Discrete 1920x1080
\t\t\tInterval: Discrete 0.033s (30.000 fps)
\t\tSize: Discrete 1280x720
\t\t\tInterval: Discrete 0.033s (30.000 fps)
\t\t\tInterval: Discrete 0.067s (15.000 fps)
\t[1]: 'YUYV' (YUYV 4:2:2)
\t\tSize: Discrete 1280x720
\t\t\tInterval: Discrete 0.100s (10.000 fps)
\t\tSize: Discrete 640x480
\t\t\tInterval: Discrete 0.033s (30.000 fps)
"""

OLD_FORMAT = """ioctl: VIDIOC_ENUM_FMT
\tIndex       : 0
\tType        : Video Capture
\tPixel Format: 'YUYV'
\tName        : YUYV 4:2:2
\t\tSize: Discrete 640x480
\t\t\tInterval: Discrete 0.033s (30.000 fps)

\tIndex       : 1
\tType        : Video Capture
\tPixel Format: 'MJPG' (compressed)
\tName        : Motion-JPEG
\t\tSize: Discrete 1280x720
\t\t\tInterval: Discrete 0.033s (30.000 fps)
"""


def test_parse_v4l2_formats_new_and_old():
    new = parse_v4l2_formats(NEW_FORMAT)
    assert [f["fourcc"] for f in new] == ["MJPG", "YUYV"]
    assert new[0]["description"] == "Motion-JPEG, compressed"
    assert new[0]["modes"] == [(1920, 1080, 30.0), (1280, 720, 30.0)]
    assert new[1]["modes"] == [(1280, 720, 10.0), (640, 480, 30.0)]
    assert summarize_formats(new) == "MJPG up to 1920x1080@30; YUYV up to 1280x720@10, 640x480@30"
    old = parse_v4l2_formats(OLD_FORMAT)
    assert [(f["fourcc"], f["description"]) for f in old] == [
        ("YUYV", "YUYV 4:2:2"),
        ("MJPG", "Motion-JPEG"),
    ]
    assert old[1]["modes"] == [(1280, 720, 30.0)]
    assert parse_v4l2_formats("") == []


def _tree(root: Path, nodes: dict) -> Path:
    for node, name in nodes.items():
        (root / "dev").mkdir(parents=True, exist_ok=True)
        (root / "dev" / node).write_bytes(b"")
        sysfs = root / "sys/class/video4linux" / node
        sysfs.mkdir(parents=True, exist_ok=True)
        (sysfs / "name").write_text(name + "\n")
    return root


def _by_kind(rows):
    return {r["kind"]: r for r in rows}


def test_fake_jetson_tree(tmp_path):
    root = _tree(tmp_path, {"video0": "vi-output, imx219 6-0010", "video10": "HD USB Camera"})
    (root / "dev/video2").write_bytes(b"")  # no sysfs entry: named "?"
    rows = probe_sources(root)
    by = _by_kind(rows)
    assert [r["kind"] for r in rows if r["kind"].startswith("v4l2 /dev")] == [
        "v4l2 /dev/video0",
        "v4l2 /dev/video2",
        "v4l2 /dev/video10",
    ]  # natural order, not video0, video10, video2
    csi = by["v4l2 /dev/video0"]
    assert not csi["ok"] and "CSI sensor" in csi["detail"] and "csi://" in csi["fix"]
    assert by["v4l2 /dev/video10"] == {
        "kind": "v4l2 /dev/video10",
        "ok": True,
        "detail": "HD USB Camera",
        "fix": "",
    }
    assert by["v4l2 /dev/video2"]["detail"] == "?"
    # programs of this machine say nothing about a fake tree
    assert by["gst-launch"]["detail"] == "not checked (fake root)"
    assert all(set(r) >= {"kind", "ok", "detail", "fix"} for r in rows)


def test_no_video_devices(tmp_path):
    by = _by_kind(probe_sources(tmp_path))
    assert by["v4l2"]["ok"] is False and "plug a USB webcam" in by["v4l2"]["fix"]


def test_this_machine():
    by = _by_kind(probe_sources())
    assert by["gst-launch"]["ok"] == (gst.gst_launch_path() is not None)
    if gst.gst_launch_path():
        assert gst.gst_version() in by["gst-launch"]["detail"]
        assert "csi (nvarguscamerasrc)" in by
    assert by["stream (FFmpeg)"]["ok"] == ("FFMPEG" in opencv_backends())
    assert by["gst (OpenCV)"]["ok"] == gst.opencv_has_gstreamer()


def test_doctor_reports_camera_sources(tmp_path):
    pi = tmp_path / "pi"
    (pi / "proc/device-tree").mkdir(parents=True)
    (pi / "proc/device-tree/model").write_bytes(b"Raspberry Pi 5 Model B Rev 1.0\0")
    rep = doctor(pi)
    rows = {c["name"]: c for c in rep["checks"] if c["section"] == "camera sources"}
    assert "picam (Picamera2)" in rows and "gst-launch" in rows
    picam = rows["picam (Picamera2)"]
    if not picam["value"].startswith("importable"):  # expected on a Pi: a problem with a fix
        assert picam["status"] == "warn" and "python3-picamera2" in picam["fix"]
    assert rows["gst-launch"]["status"] == "info"  # fake root: not checked, not a problem
    generic = doctor(tmp_path / "empty")
    gen_rows = {c["name"]: c for c in generic["checks"] if c["section"] == "camera sources"}
    assert gen_rows["picam (Picamera2)"]["status"] in ("ok", "info")  # not a Pi: only a fact
