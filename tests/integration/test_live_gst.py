"""The gst-launch child-process capture with a REAL gst-launch-1.0 (``videotestsrc``), and the
faults around it: a child killed mid-run (reopened), a torn last frame (skipped, counted),
missing elements and a missing gst-launch-1.0 (clear one-line errors)."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from edgemnist.live import gst
from edgemnist.live.capture import Capture
from edgemnist.live.sources import SourceError, make_source

needs_gst = pytest.mark.skipif(
    gst.gst_launch_path() is None, reason="gst-launch-1.0 not installed (apt gstreamer1.0-tools)"
)
REPO = Path(__file__).resolve().parents[2]
TEST_SRC = "videotestsrc pattern=ball ! video/x-raw,width=320,height=240,framerate=30/1"


def wait_for(cond, timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError("condition not reached")
        time.sleep(0.01)


def _child(pipeline: str, width: int, height: int) -> gst.GstChild:
    child = gst.GstChild(gst.launch_argv(pipeline, gst.gst_launch_path()), width, height)
    child.start()
    return child


@needs_gst
def test_real_child_delivers_changing_bgr_frames_then_ends():
    pipeline = (
        "videotestsrc num-buffers=12 pattern=ball ! video/x-raw,width=320,height=240,"
        "framerate=30/1 ! videoconvert ! video/x-raw,format=BGR"
    )
    child = _child(pipeline, 320, 240)
    try:
        frames = [child.read_frame(timeout=20) for _ in range(12)]
        with pytest.raises(gst.ChildEnded) as end:
            child.read_frame(timeout=20)
        assert end.value.clean  # exit status 0: end of stream, not a fault
    finally:
        child.stop()
    assert all(f.shape == (240, 320, 3) and f.dtype == np.uint8 for f in frames)
    assert not np.array_equal(frames[0], frames[6])  # the ball moves
    assert all(int(f.max()) == 255 for f in frames)  # a white ball on black


@needs_gst
def test_padded_rows_of_an_odd_width_are_removed():
    # 0xAARRGGBB: BGR pixels read (0x33, 0x22, 0x11) everywhere if the stride is handled
    pipeline = (
        "videotestsrc num-buffers=2 pattern=solid-color foreground-color=0xff112233 ! "
        "video/x-raw,format=BGR,width=322,height=10"
    )
    child = _child(pipeline, 322, 10)
    try:
        frame = child.read_frame(timeout=20)
    finally:
        child.stop()
    assert frame.shape == (10, 322, 3)
    assert (frame.reshape(-1, 3) == [0x33, 0x22, 0x11]).all()


@needs_gst
@pytest.mark.parametrize("flip", [f.name for f in gst.FLIPS if f.name != "none"])
def test_software_flips_match_gstreamer_videoflip(flip):
    base = "videotestsrc num-buffers=1 pattern=smpte ! video/x-raw,format=BGR,width=32,height=24"
    plain = _child(base, 32, 24)
    turned = flip in ("clockwise", "counterclockwise") or "diagonal" in flip
    w, h = (24, 32) if turned else (32, 24)
    row = gst.lookup_flip(flip)
    flipped = _child(f"{base} ! videoflip video-direction={row.videoflip} ! video/x-raw", w, h)
    try:
        a, b = plain.read_frame(timeout=20), flipped.read_frame(timeout=20)
    finally:
        plain.stop()
        flipped.stop()
    assert np.array_equal(gst.apply_flip(a, row), b)


@needs_gst
def test_gst_source_through_capture_reads_every_frame_of_a_finite_pipeline():
    src = make_source(f"gst://{TEST_SRC.replace('pattern=ball', 'num-buffers=20 pattern=ball')}",
                      width=160, height=120)  # fmt: skip
    n = 0
    with Capture(src) as cap:
        while (f := cap.get(timeout=20)) is not None:
            assert f.image.shape == (120, 160, 3)
            n += 1
        d = src.describe()
    assert n == 20 and cap.dropped == 0 and cap.state == "ended"
    assert d["backend"] in ("gst-launch", "opencv-gstreamer") and "videoscale" in d["pipeline"]


@needs_gst
def test_a_finite_pipeline_in_realtime_mode_syncs_to_its_clock():
    src = make_source(
        "gst://videotestsrc num-buffers=5 ! video/x-raw,width=64,height=48,framerate=200/1",
        width=64,
        height=48,
        realtime=True,
        gst_backend="child",
    )
    with Capture(src) as cap:
        assert cap.newest_wins
        while cap.get(timeout=20) is not None:
            pass
        command = src.describe()["command"]
    assert command.endswith("fdsink fd=1 sync=true") and cap.frames == 5


@needs_gst
def test_killing_the_child_mid_run_reopens_it():
    src = make_source(
        f"gst://{TEST_SRC.replace('videotestsrc', 'videotestsrc is-live=true')}",
        width=320,
        height=240,
        live=True,
        gst_backend="child",
    )
    with Capture(src, backoff=(0.05, 0.4)) as cap:
        wait_for(lambda: cap.frames >= 3)
        first_pid = src.describe()["pid"]
        os.kill(first_pid, signal.SIGKILL)
        wait_for(lambda: cap.reopens >= 1)
        before = cap.frames
        wait_for(lambda: cap.frames >= before + 3)
        assert cap.state == "running"
        assert src.describe()["pid"] not in (None, first_pid)
        assert "killed by signal 9" in cap.last_error
        frame = cap.get(timeout=10)
        assert frame is not None and frame.image.shape == (240, 320, 3)
    assert src._child is None  # stopped: no child left behind


ORPHAN = """
import os, sys
from edgemnist.live.sources import make_source
src = make_source("gst://videotestsrc is-live=true ! video/x-raw,width=64,height=48,framerate=30/1",
                  width=64, height=48, gst_backend="child").open()
print(src.describe()["pid"], flush=True)
os._exit(0)  # the parent dies without closing anything
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; only its parent's reaping is left


@needs_gst
def test_the_child_does_not_outlive_a_dead_parent():
    out = subprocess.run(
        [sys.executable, "-c", ORPHAN],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=str(REPO),
        env=dict(os.environ, PYTHONPATH=str(REPO)),
    )
    pid = int(out.stdout.strip())
    wait_for(lambda: not _alive(pid))  # its next write hits a closed pipe: it exits


FAKE_GST = r"""#!/bin/sh
# TEST DOUBLE of gst-launch-1.0: the first run writes 2 whole frames and half of a third, then
# dies (a torn frame); later runs write whole frames until killed.
state="$(dirname "$0")/runs"
n=$(cat "$state" 2>/dev/null || echo 0)
echo $((n + 1)) > "$state"
if [ "$n" = 0 ]; then
    head -c {torn} /dev/zero
    echo "ERROR: from element /GstPipeline:pipeline0/GstV4l2Src:v4l2src0: Device lost" >&2
    exit 1
fi
while true; do head -c {frame} /dev/zero || exit 0; sleep 0.01; done
"""


def test_a_torn_frame_from_a_dying_child_is_skipped_then_the_child_restarted(tmp_path, monkeypatch):
    width = height = 8
    exe = tmp_path / "gst-launch-1.0"
    size = gst.frame_bytes(width, height)
    exe.write_text(FAKE_GST.format(frame=size, torn=2 * size + size // 2))
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    src = make_source("gst://v4l2src", width=width, height=height, gst_backend="child")
    with Capture(src, backoff=(0.01, 0.05)) as cap:
        wait_for(lambda: cap.reopens >= 1 and cap.frames >= 5)
        assert cap.bad_frames == 1
        assert "Device lost" in cap.last_error  # the child's stderr, in one line
        assert cap.state == "running"


@needs_gst
def test_csi_here_says_it_is_for_jetson():
    if gst.has_element("nvarguscamerasrc")[0]:
        pytest.skip("this machine has nvarguscamerasrc")
    with pytest.raises(SourceError) as err:
        make_source("csi://0", gst_backend="child").open()
    msg = str(err.value)
    assert "nvarguscamerasrc" in msg and "only on a Jetson" in msg and "\n" not in msg


@needs_gst
def test_runtime_failure_carries_gstreamer_s_reason(tmp_path):
    with pytest.raises(SourceError, match="filesrc0: Resource not found \\(No such file") as err:
        make_source(f"gst://filesrc location={tmp_path}/none.mp4 ! decodebin",
                    gst_backend="child").open()  # fmt: skip
    assert "exited with code" in str(err.value)


@needs_gst
def test_errors_never_show_a_stream_password():
    uri = "gst://rtspsrc location=rtsp://admin:hunter2@127.0.0.1:9/s ! decodebin"
    with pytest.raises(SourceError) as err:
        make_source(uri, gst_backend="child", open_timeout=20).open()
    msg = str(err.value)
    assert "hunter2" not in msg and "rtspsrc0: Could not open resource" in msg


def test_missing_gst_launch_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SourceError, match="sudo apt install gstreamer1.0-tools"):
        make_source("gst://videotestsrc", gst_backend="child").open()
