"""The live loop's mechanics with a scripted capture and simple stages (no model, no camera):
limits, end of source, bad frames skipped, draw only when pixels are needed, the alert while the
source reconnects, stop from another thread and from SIGTERM, reading order, --roi parsing.

The stages here are deliberately trivial (boxes given by the test, a fixed classifier); the
real detect/read/track stages run in the integration tests.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import List, Optional

import numpy as np
import pytest

from edgemnist.errors import ConfigError
from edgemnist.live.loop import (
    MAX_FAILED_FRAMES,
    LiveLoop,
    Sinks,
    Stages,
    StartupInterrupted,
    frame_problem,
    parse_roi,
    reading_order,
    stop_on_signals,
)
from edgemnist.live.types import Frame, Read, TrackState


class ScriptedCapture:
    """Hands out the given frames (None = a ``get`` timeout), then ends."""

    def __init__(self, frames: List[Optional[Frame]], state: str = "running") -> None:
        self.frames_left = list(frames)
        self.state = state
        self.frames = sum(f is not None for f in frames)
        self.dropped = 3
        self.reopens = 0
        self.bad_frames = 0
        self.ended = False

    def get(self, timeout: float) -> Optional[Frame]:
        if not self.frames_left:
            self.ended = True
            return None
        return self.frames_left.pop(0)


def frame(i: int, image: Optional[np.ndarray] = None) -> Frame:
    img = np.full((120, 160, 3), 255, np.uint8) if image is None else image
    return Frame(img, i, t_capture=0.0)


def stages(boxes=((10, 10, 20, 30), (50, 12, 20, 30)), digit: int = 7) -> Stages:
    from edgemnist.live.types import Detection

    tracks: List[TrackState] = []

    def update(reads: List[Read], t: float) -> List[TrackState]:
        tracks.clear()
        for i, r in enumerate(reads):
            r.track = i
            tracks.append(TrackState(i, r.box, r.digit, r.confidence, stable=True))
        return list(tracks)

    return Stages(
        detect=lambda image, roi: [Detection(b) for b in boxes],
        prepare=lambda image, dets: np.zeros((len(dets), 28, 28), np.uint8),
        classify=lambda digits: [(digit, 0.99)] * len(digits),
        update=update,
        reading=lambda tracks: "".join(str(t.digit) for t in tracks if t.stable),
        order=reading_order,
    )


class Recorder:
    """A sink that keeps what it was given (stands in for the video writer)."""

    def __init__(self) -> None:
        self.images: List[np.ndarray] = []
        self.frames = 0

    def write(self, image: np.ndarray) -> None:
        self.images.append(image)
        self.frames += 1


def test_runs_until_the_frame_limit_and_reports_every_stage() -> None:
    loop = LiveLoop(ScriptedCapture([frame(i) for i in range(10)]), stages(), frames=4)
    summary = loop.run()
    assert summary["frames"] == 4 and summary["stopped_by"] == "frames"
    assert summary["reading"] == "77"
    assert set(summary["stages_ms"]) == {"capture", "detect", "prepare", "infer", "track", "output"}
    assert summary["capture"] == {"frames": 10, "dropped": 3, "reopens": 0, "bad_frames": 0}
    assert summary["processing_ms"]["n"] == 4 and summary["age_ms"]["n"] == 4


def test_end_of_source_stops_the_loop() -> None:
    summary = LiveLoop(ScriptedCapture([frame(0), None, frame(1)]), stages()).run()
    assert summary["frames"] == 2 and summary["stopped_by"] == "end of source"


def test_bad_frames_are_skipped_not_fatal() -> None:
    garbage = [
        frame(1, np.zeros((120, 160, 3), np.float32)),  # wrong pixel type
        frame(2, np.zeros((120, 160, 4, 2), np.uint8)),  # torn: wrong shape
        frame(3, np.zeros((4, 160, 3), np.uint8)),  # a sliver
    ]
    loop = LiveLoop(ScriptedCapture([frame(0), *garbage, frame(4)]), stages())
    summary = loop.run()
    assert summary["frames"] == 2 and summary["skipped"] == 3
    assert len(summary["skip_reasons"]) == 3 and "frame 2" in summary["skip_reasons"][1]


def test_a_stage_rejecting_a_frame_skips_it() -> None:
    from edgemnist.errors import InputError

    st = stages()

    def detect(image, roi):
        if image[0, 0, 0] == 0:
            raise InputError("unreadable")
        return []

    st.detect = detect
    dark = frame(1, np.zeros((120, 160, 3), np.uint8))
    summary = LiveLoop(ScriptedCapture([frame(0), dark, frame(2)]), st).run()
    assert summary["frames"] == 2 and summary["skipped"] == 1


def test_the_same_failure_on_every_frame_is_raised_not_hidden() -> None:
    st = stages()

    def broken(image, roi):
        raise IndexError("a bug, not a bad frame")

    st.detect = broken
    loop = LiveLoop(ScriptedCapture([frame(i) for i in range(100)]), st)
    with pytest.raises(IndexError):
        loop.run()
    assert loop.stats.skipped_frames == MAX_FAILED_FRAMES


def test_draw_only_when_someone_needs_pixels() -> None:
    pytest.importorskip("cv2")
    quiet = LiveLoop(ScriptedCapture([frame(i) for i in range(3)]), stages()).run()
    assert "draw" not in quiet["stages_ms"] and "encode" not in quiet["stages_ms"]
    rec = Recorder()
    sinks = Sinks(recorder=rec)  # type: ignore[arg-type]
    drawn = LiveLoop(ScriptedCapture([frame(i) for i in range(3)]), stages(), sinks).run()
    assert drawn["stages_ms"]["draw"]["n"] == 3 and rec.frames == 3
    assert "encode" not in drawn["stages_ms"]  # no web viewer: no JPEG
    # the annotation is on a copy: boxes drawn there, the source frame untouched
    assert (rec.images[0] != 255).any()


def test_alert_while_the_source_reconnects() -> None:
    cap = ScriptedCapture([], state="reconnecting: no frame for 5 s")
    cap.reopens = 2
    loop = LiveLoop(cap, stages())
    assert loop.alert() == "camera lost - reconnecting (no frame for 5 s, 2 reopened so far)"
    cap.state = "running"
    assert loop.alert() is None
    assert loop.status()["state"] == "running"


def test_a_stale_reconnecting_state_is_not_shown_while_frames_arrive() -> None:
    # a watchdog tripped by one slow read may leave "reconnecting" behind while frames flow
    cap = ScriptedCapture([frame(0)], state="reconnecting: no frame for 5 s")
    clock = [100.0]
    loop = LiveLoop(cap, stages(), frames=1, clock=lambda: clock[0])
    loop.run()  # the frame arrives at t=100
    assert loop.source_state() == "running" and loop.alert() is None
    clock[0] = 102.0  # two seconds without a frame: the state is believed again
    assert loop.source_state().startswith("reconnecting") and loop.alert() is not None


def test_stop_from_another_thread() -> None:
    class Endless(ScriptedCapture):
        def get(self, timeout: float) -> Optional[Frame]:
            return frame(0)

    loop = LiveLoop(Endless([]), stages())
    timer = threading.Timer(0.3, loop.stop, args=("test",))
    timer.start()
    summary = loop.run()
    timer.join()
    assert summary["stopped_by"] == "test" and summary["frames"] > 0


def test_sigterm_stops_the_loop_cleanly_and_handlers_are_restored() -> None:
    class Endless(ScriptedCapture):
        def get(self, timeout: float) -> Optional[Frame]:
            if self.frames == 5:
                os.kill(os.getpid(), signal.SIGTERM)
            self.frames += 1
            return frame(self.frames)

    before = signal.getsignal(signal.SIGTERM)
    loop = LiveLoop(Endless([]), stages())
    with stop_on_signals(loop):
        summary = loop.run()
    assert summary["stopped_by"] == "SIGTERM"
    assert summary["frames"] in (5, 6)  # the current frame is finished, then the loop ends
    assert signal.getsignal(signal.SIGTERM) is before


def test_sigterm_before_the_loop_exists_unwinds_the_start_up() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with stop_on_signals() as signals:
        with pytest.raises(StartupInterrupted):
            os.kill(os.getpid(), signal.SIGTERM)  # the camera is still opening
            time.sleep(5)  # the handler raises at the next bytecode, long before this ends
        loop = LiveLoop(ScriptedCapture([frame(0)]), stages())
        signals.loop = loop
        os.kill(os.getpid(), signal.SIGTERM)  # now the loop runs: a clean stop instead
        assert loop.stopping and loop.stop_reason == "SIGTERM"
    assert signal.getsignal(signal.SIGTERM) is before


def test_on_status_is_called_with_the_live_view() -> None:
    seen = []
    loop = LiveLoop(ScriptedCapture([frame(0)]), stages(), on_status=seen.append)
    loop.run()
    assert seen and seen[0]["frames"] == 1 and seen[0]["reading"] == "77"


def test_reading_order_is_line_by_line_left_to_right() -> None:
    def r(x: int, y: int, d: int, h: int = 40) -> Read:
        return Read((x, y, 30, h), d, 1.0)

    # two lines; the second slants (y grows to the right), the first has a taller digit
    reads = [r(300, 210, 6), r(100, 200, 4), r(200, 205, 5), r(200, 40, 2, h=60), r(100, 50, 1)]
    assert [x.digit for x in reading_order(reads)] == [1, 2, 4, 5, 6]


def test_parse_roi_and_frame_problem() -> None:
    assert parse_roi("10,20,300,200") == (10, 20, 300, 200)
    assert parse_roi(None) is None
    for bad in ("1,2,3", "a,b,c,d", "0,0,0,10", "-1,0,5,5"):
        with pytest.raises(ConfigError):
            parse_roi(bad)
    assert frame_problem(np.zeros((10, 10), np.uint8)) is None
    assert frame_problem(np.zeros((10, 10, 3), np.uint8)) is None
    assert "uint8" in frame_problem(np.zeros((10, 10), np.uint16))
    assert frame_problem(b"jpeg bytes") is not None


def test_limits_are_checked() -> None:
    with pytest.raises(ConfigError):
        LiveLoop(ScriptedCapture([]), stages(), frames=0)
    with pytest.raises(ConfigError):
        LiveLoop(ScriptedCapture([]), stages(), duration=0)
