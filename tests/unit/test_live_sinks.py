"""Sinks: drawing (stable / tentative / unknown, status, alert), the window's display rule,
the recording (atomic, readable back) and saved digits (once per track)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgemnist.errors import ConfigError
from edgemnist.live.draw import ALERT, STABLE, TENTATIVE, UNKNOWN, draw_frame, status_line
from edgemnist.live.types import Read, TrackState
from edgemnist.live.window import decide_show, display_available

cv2 = pytest.importorskip("cv2")


def white(h: int = 240, w: int = 320) -> np.ndarray:
    return np.full((h, w, 3), 255, np.uint8)


def test_boxes_are_coloured_by_state_on_a_copy() -> None:
    image = white()
    reads = [
        Read((20, 60, 40, 60), 3, 0.99, track=1),  # stable track
        Read((120, 60, 40, 60), 5, 0.80, track=2),  # tentative track
        Read((220, 60, 40, 60), None, 0.30),  # unknown
    ]
    tracks = [
        TrackState(1, (20, 60, 40, 60), 3, 0.99, stable=True),
        TrackState(2, (120, 60, 40, 60), None, 0.0, stable=False),
    ]
    out = draw_frame(image, reads, tracks)
    assert (image == 255).all(), "the source frame must not be drawn on"
    # the left edge of each box, below the label
    assert tuple(out[100, 20]) == STABLE
    assert tuple(out[100, 120]) == TENTATIVE
    assert tuple(out[100, 220]) == UNKNOWN


def test_status_bar_and_alert_banner() -> None:
    out = draw_frame(white(), [], status="30.0 FPS | read 42", alert="camera lost - reconnecting")
    assert out[2, 300].max() < 60  # the dark status bar across the top
    rows = [y for y in range(60) if tuple(out[y, 300]) == ALERT]
    assert rows and min(rows) > 5  # the red banner sits under the bar
    gray = draw_frame(np.full((100, 100), 200, np.uint8), [])
    assert gray.shape == (100, 100, 3)


def test_status_line_text() -> None:
    line = status_line({"fps": 29.97, "processing_ms_p50": 3.14, "age_ms_p50": 14.2}, "42", 5)
    assert line == "30.0 FPS | proc 3.1 ms | age 14 ms | drop 5 | read 42"
    assert status_line({}) == "-- FPS | read -"


def test_display_rule() -> None:
    assert display_available({}, "linux")[0] is False
    assert display_available({"DISPLAY": ":0"}, "linux") == (True, "")
    assert display_available({"WAYLAND_DISPLAY": "wayland-0"}, "linux")[0]
    assert display_available({}, "win32")[0] and display_available({}, "darwin")[0]


def test_decide_show_without_a_display(monkeypatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    if display_available()[0]:
        pytest.skip("not Linux")
    with pytest.raises(ConfigError, match="--web"):
        decide_show(True, web=False)
    show, note = decide_show(None, web=False)
    assert show is False and "--web" in note  # says how to watch instead
    assert decide_show(None, web=True) == (False, None)
    assert decide_show(False, web=False) == (False, None)


def test_recording_is_atomic_and_readable(tmp_path: Path) -> None:
    from edgemnist.live.record import VideoRecorder

    path = tmp_path / "out.avi"
    rec = VideoRecorder(path, fps=15)
    for i in range(12):
        img = white()
        img[:, : 20 * (i + 1)] = 0
        rec.write(img)
    assert not path.exists(), "the final name appears only once the recording is complete"
    assert len(list(tmp_path.iterdir())) == 1  # the temporary file beside it
    rec.write(white(120, 160))  # another size: resized to the first
    assert rec.close() == path
    cap = cv2.VideoCapture(str(path))
    frames = 0
    while cap.read()[0]:
        frames += 1
    cap.release()
    assert frames == 13
    assert [p.name for p in tmp_path.iterdir()] == ["out.avi"]


def test_recording_rejects_unknown_types_and_empty_runs(tmp_path: Path) -> None:
    from edgemnist.live.record import VideoRecorder

    with pytest.raises(ConfigError, match=".avi"):
        VideoRecorder(tmp_path / "out.gif")
    assert VideoRecorder(tmp_path / "none.avi").close() is None
    assert not list(tmp_path.iterdir())


def test_digits_saved_once_per_track(tmp_path: Path) -> None:
    from edgemnist.live.record import DigitSaver

    saver = DigitSaver(tmp_path / "digits")
    digit = np.zeros((28, 28), np.uint8)
    digit[8:20, 12:16] = 255
    assert saver.wants(4)
    path = saver.save(31, 4, 1, digit)
    assert path.name == "0000031-t4-1.png" and not saver.wants(4)
    assert (cv2.imread(str(path), cv2.IMREAD_GRAYSCALE) == digit).all()
    saver.forget({5})  # track 4 left the scene: the set stays as small as the scene
    assert saver.saved == set()
