"""Real cameras: a USB/V4L2 camera, a Jetson CSI camera, a Raspberry Pi camera module.

Skipped unless the camera is there. Never run on the development machine (no camera): these
are the checks to run on each board, e.g. ``pytest tests/hardware -m camera`` on a Pi with a
webcam, ``pytest tests/hardware -m jetson`` on a Nano with an IMX219.
"""

from __future__ import annotations

import glob
import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

from edgemnist.live import gst
from edgemnist.live.capture import Capture
from edgemnist.live.sources import make_source


def _usb_cameras():
    # a Jetson CSI sensor's node ("vi-output") gives raw Bayer: not a V4L2 camera for OpenCV
    out = []
    for dev in sorted(glob.glob("/dev/video*")):
        name_file = Path(f"/sys/class/video4linux/{os.path.basename(dev)}/name")
        try:
            name = name_file.read_text()
        except OSError:
            name = ""
        if not name.startswith("vi-output"):
            out.append(dev)
    return out


USB = _usb_cameras()
HAS_CSI = bool(gst.gst_launch_path()) and gst.has_element("nvarguscamerasrc")[0]
HAS_PICAM = importlib.util.find_spec("picamera2") is not None


def _read_some(uri: str, n: int = 10, **options):
    src = make_source(uri, **options)
    frames = []
    with Capture(src, stall_timeout=10) as cap:
        while len(frames) < n:
            f = cap.get(timeout=15)
            assert f is not None, f"no frame: {cap.stats()}"
            frames.append(f)
        return frames, src.describe(), cap.stats()


@pytest.mark.camera
@pytest.mark.skipif(not USB, reason="no USB / V4L2 camera")
def test_usb_camera_grants_a_mode_and_delivers_it():
    frames, d, stats = _read_some(USB[0], width=640, height=480, fps=30)
    assert d["pixel_format"] in ("MJPG", "YUYV") and d["asked"]["fourcc"] == "MJPG"
    assert frames[-1].image.shape == (d["height"], d["width"], 3)
    assert stats["reopens"] == 0 and stats["mode"] == "newest-wins"
    assert not np.array_equal(frames[0].image, np.zeros_like(frames[0].image))


@pytest.mark.jetson
@pytest.mark.camera
@pytest.mark.skipif(not HAS_CSI, reason="no nvarguscamerasrc (not a Jetson)")
def test_csi_camera_through_the_gst_child():
    frames, d, _ = _read_some("csi://0", width=1280, height=720, fps=30, gst_backend="child")
    assert d["backend"] == "gst-launch" and "nvarguscamerasrc sensor-id=0" in d["command"]
    assert all(f.image.shape == (720, 1280, 3) for f in frames)


@pytest.mark.jetson
@pytest.mark.camera
@pytest.mark.skipif(
    not (HAS_CSI and gst.opencv_has_gstreamer()), reason="needs a Jetson OpenCV with GStreamer"
)
def test_csi_camera_through_opencv_gstreamer():
    frames, d, _ = _read_some("csi://0", width=1280, height=720, gst_backend="opencv")
    assert d["backend"] == "opencv-gstreamer" and "appsink drop=true" in d["pipeline"]
    assert frames[-1].image.shape == (720, 1280, 3)


@pytest.mark.camera
@pytest.mark.skipif(not HAS_PICAM, reason="picamera2 not importable (not a Raspberry Pi)")
def test_raspberry_pi_camera_module():
    frames, d, _ = _read_some("picam://0", width=640, height=480, fps=30)
    assert d["backend"] == "picamera2"
    assert frames[-1].image.shape == (d["height"], d["width"], 3)
