"""The capture thread: newest-wins slot, back-pressure, watchdog reopen, bad frames, stop.

The sources here are TEST DOUBLES of the Source protocol (``ScriptedSource``): each read plays
the next step of a script (a frame, nothing, a bad frame, a fault, end of stream, a read that
blocks until interrupted), so every path of the capture loop runs for real, in real threads,
without timing thresholds: tests wait for conditions, never assert durations.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, List, Optional, Tuple

import numpy as np
import pytest

from edgemnist.live.capture import Capture, backoff_waits
from edgemnist.live.sources import BadFrame, Source, SourceError

FAST = {"backoff": (0.01, 0.04)}


def wait_for(cond: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll until ``cond()``; fail (not hang) after ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError("condition not reached")
        time.sleep(0.002)


class ScriptedSource(Source):
    """TEST DOUBLE: plays ``script`` (one step per read, then ``after`` forever).

    Steps: ``"frame"``, ``"none"`` (no frame now), ``"bad"`` (BadFrame), ``"fail"``
    (SourceError), ``"end"`` (end of stream), ``"block"`` (blocks until interrupt()),
    ``"small"`` (a frame of another size). Each open restarts nothing: the script goes on.
    """

    kind = "scripted"

    def __init__(self, script: List[str], after: str = "frame", live: bool = True, **opt: Any):
        super().__init__("", **opt)
        self.live = live
        self.script = list(script)
        self.after = after
        self.opens = 0
        self.closes = 0
        self.open_failures = 0  # the next N opens raise
        self.made = 0
        self._unblock = threading.Event()

    def _open(self) -> None:
        if self.open_failures > 0:
            self.open_failures -= 1
            raise SourceError("camera unplugged")
        self.opens += 1
        self._unblock.clear()

    def _step(self) -> str:
        return self.script.pop(0) if self.script else self.after

    def _read(self) -> Optional[Tuple[np.ndarray, None]]:
        step = self._step()
        if step == "none":
            return None
        if step == "bad":
            raise BadFrame("torn")
        if step == "fail":
            raise SourceError("child died")
        if step == "end":
            self.ended = True
            return None
        if step == "block":
            self._unblock.wait()
            raise SourceError("interrupted")
        if step == "slow":  # a read that only returns once the watchdog prods it
            self._unblock.wait()
            self._unblock.clear()
            step = "frame"
        if step == "stop":  # made frames so far are all there will be, until interrupted
            self._unblock.wait()
            raise SourceError("interrupted")
        shape = (4, 6, 3) if step == "small" else (8, 8, 3)
        self.made += 1
        return np.full(shape, self.made % 256, np.uint8), None

    def interrupt(self) -> None:
        self._unblock.set()

    def _close(self) -> None:
        self.closes += 1
        self._unblock.set()


def test_newest_frame_wins_and_drops_are_counted():
    src = ScriptedSource(["frame"] * 10, after="stop", live=True)
    with Capture(src, **FAST) as cap:
        assert cap.newest_wins and cap.stats()["mode"] == "newest-wins"
        wait_for(lambda: cap.frames == 10)
        frame = cap.get(timeout=5)
        assert frame is not None and frame.index == 9  # the newest, not the oldest
        assert cap.dropped == 9
        assert cap.get(timeout=0.01) is None  # consumed: nothing newer yet


def test_back_pressure_loses_nothing():
    src = ScriptedSource(["frame"] * 300 + ["end"], live=False)
    got = []
    with Capture(src, **FAST) as cap:
        assert not cap.newest_wins
        while (f := cap.get(timeout=5)) is not None:
            got.append(f.index)
        assert cap.ended and cap.state == "ended"
    assert got == list(range(300)) and cap.dropped == 0 and cap.frames == 300


def test_realtime_file_is_newest_wins_and_accounts_for_every_frame():
    src = ScriptedSource(["frame"] * 60 + ["end"], live=False, fps=2000.0, realtime=True)
    got = []
    with Capture(src, **FAST) as cap:
        assert cap.realtime and cap.newest_wins
        while (f := cap.get(timeout=5)) is not None:
            got.append(f.index)
            time.sleep(0.003)  # a slow consumer
    assert got == sorted(got) and cap.frames == 60
    assert len(got) + cap.dropped == 60  # each frame is either consumed or counted as dropped


def test_a_paced_frame_is_stamped_when_it_is_due_not_when_it_was_read():
    # age at result must not include the pacing wait: frame k is due at t0 + (k + 1) / fps
    fps = 50.0
    src = ScriptedSource(["frame"] * 5 + ["end"], live=False, fps=fps, realtime=True)
    t_before = time.monotonic()
    got = []
    with Capture(src, **FAST) as cap:
        while (f := cap.get(timeout=5)) is not None:
            got.append(f)
    assert got
    for f in got:
        assert f.t_capture >= t_before + (f.index + 1) / fps


def test_state_returns_to_running_when_frames_flow_after_a_watchdog_alarm():
    src = ScriptedSource(["frame", "slow", "frame", "frame"], after="stop")
    with Capture(src, stall_timeout=0.05, **FAST) as cap:
        wait_for(lambda: cap.frames == 4)
        assert cap.state == "running"


def test_a_failing_read_reopens_with_backoff():
    src = ScriptedSource(["frame", "frame", "fail"] + ["frame"] * 3, after="stop")
    with Capture(src, **FAST) as cap:
        wait_for(lambda: cap.frames == 5)
        assert cap.reopens == 1 and src.opens == 2 and src.closes >= 1
        assert cap.state == "running" and cap.last_error == "child died"


def test_failed_reopens_are_retried_then_running_again():
    src = ScriptedSource(["frame", "block", "frame"], after="stop")
    with Capture(src, stall_timeout=60, **FAST) as cap:
        wait_for(lambda: cap.frames == 1)
        src.open_failures = 3  # the camera stays away for three attempts
        src.interrupt()  # the blocked read fails now
        wait_for(lambda: cap.frames == 2)
        assert cap.reopens == 1 and src.open_failures == 0
        assert cap.last_error == "camera unplugged"


def test_gives_up_after_max_reopens():
    src = ScriptedSource(["block"], after="frame")
    cap = Capture(src, max_reopens=2, stall_timeout=60, **FAST).start()
    src.open_failures = 100
    src.interrupt()  # the blocked read fails; every reopen after it fails too
    wait_for(lambda: cap.state == "ended")
    assert cap.get(timeout=1) is None and cap.ended and cap.reopens == 0
    cap.stop()


def test_a_blocked_read_is_interrupted_by_the_watchdog():
    src = ScriptedSource(["frame", "block", "frame"], after="stop")
    with Capture(src, stall_timeout=0.05, **FAST) as cap:
        wait_for(lambda: cap.frames == 2)
        assert cap.reopens == 1 and cap.last_error == "no frame for 0.05 s"


def test_a_source_that_delivers_nothing_is_reopened():
    src = ScriptedSource(["frame"] + ["none"] * 100000, after="frame")
    with Capture(src, stall_timeout=0.05, **FAST) as cap:
        wait_for(lambda: cap.reopens >= 1)
        assert cap.last_error == "no frame for 0.05 s"


def test_a_slow_consumer_is_not_a_stalled_source():
    # back-pressure: the reader holds frame 1 and waits for the consumer longer than
    # stall_timeout; right after, the source has nothing for a moment: that is not a stall
    src = ScriptedSource(["frame", "frame", "none", "frame", "end"], live=False)
    with Capture(src, stall_timeout=0.05, **FAST) as cap:
        wait_for(lambda: cap.frames == 2)  # frame 0 in the slot, frame 1 waiting to go in
        time.sleep(0.2)  # the consumer is busy for 4x stall_timeout
        got = [cap.get(timeout=5) for _ in range(3)]
        assert cap.get(timeout=5) is None and cap.state == "ended"
    assert [f.index for f in got] == [0, 1, 2] and cap.reopens == 0


def test_a_live_stream_that_ends_is_reopened():
    src = ScriptedSource(["frame", "end"], after="frame", live=True)
    with Capture(src, **FAST) as cap:
        wait_for(lambda: cap.reopens >= 1 and cap.frames >= 2)
        assert cap.last_error == "stream ended"


def test_bad_frames_are_skipped_and_counted_not_fatal():
    src = ScriptedSource(["frame", "bad", "small", "bad", "frame"], after="stop", live=True)
    with Capture(src, **FAST) as cap:
        wait_for(lambda: cap.frames == 2)
        assert cap.bad_frames == 3 and cap.reopens == 0 and cap.state == "running"
        stats = cap.stats()
    assert stats["bad_frames"] == 3 and stats["frames"] == 2


def test_open_errors_reach_the_caller():
    src = ScriptedSource([])
    src.open_failures = 1
    with pytest.raises(SourceError, match="unplugged"):
        Capture(src).start()


def test_stop_releases_a_blocked_source_promptly():
    src = ScriptedSource(["frame"], after="block")
    cap = Capture(src, stall_timeout=60, **FAST).start()
    wait_for(lambda: cap.frames == 1)
    assert cap.stop(timeout=5) is True
    assert not src.opened and src.closes >= 1 and cap.state == "stopped"
    assert cap.get(timeout=0.01) is not None  # the frame taken before stop is still there
    assert cap.get(timeout=0.01) is None and cap.ended
    cap.stop()  # idempotent


def test_get_times_out_without_frames():
    src = ScriptedSource([], after="none")
    with Capture(src, stall_timeout=60) as cap:
        assert cap.get(timeout=0.02) is None and not cap.ended


def test_describe_includes_the_counters():
    src = ScriptedSource(["frame"], after="stop")
    with Capture(src) as cap:
        wait_for(lambda: cap.frames == 1)
        d = cap.describe()
    assert d["kind"] == "scripted" and d["capture"]["frames"] == 1


def test_backoff_doubles_up_to_the_cap():
    assert backoff_waits(0.5, 8.0, 7) == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert backoff_waits(0.01, 0.04, 4) == [0.01, 0.02, 0.04, 0.04]
