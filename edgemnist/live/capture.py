"""The capture thread: a source read in its own thread into a one-frame slot, with a watchdog.

Cameras and streams are **newest-wins**: the slot holds only the latest frame; a frame that
was never taken is overwritten and counted in ``dropped``, so latency never builds up however
slow the consumer is. Files, folders and ``synthetic://`` are read with **back-pressure**: the
reader waits until the consumer took the frame, so nothing is lost, unless ``realtime=True``
(then they are paced at the source's fps and are newest-wins too, like a camera).

A **watchdog** reopens the source with exponential backoff (0.5 s doubling to 8 s) when it
delivers nothing for ``stall_timeout`` seconds, when ``read`` raises, when a child process dies
or when a live stream ends; :attr:`Capture.state` says ``"running"``,
``"reconnecting: <reason>"`` or ``"ended"`` so the loop and the view can show it. A bad frame
(:class:`~edgemnist.live.sources.BadFrame`: torn, wrong size, undecodable) is skipped and
counted, never fatal.

Example:
    >>> from edgemnist.live.sources import make_source
    >>> with Capture(make_source("synthetic://?frames=3")) as cap:  # doctest: +SKIP
    ...     while (frame := cap.get(timeout=1.0)) is not None:
    ...         print(frame.index, frame.image.shape)
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from edgemnist.live.sources import BadFrame, Source
from edgemnist.live.types import Frame

RUNNING, ENDED, STARTING, STOPPED = "running", "ended", "starting", "stopped"


class Capture:
    """Runs ``source`` in a thread; :meth:`get` returns the newest frame not yet consumed.

    Args:
        source: a built :class:`~edgemnist.live.sources.Source` (opened by :meth:`start`).
        realtime: pace a file / folder / generator at its fps, newest-wins (default: the
            source's ``realtime`` option). Ignored for live sources (always newest-wins).
        stall_timeout: seconds without a frame (while the reader wants one) before the
            source is closed and reopened.
        backoff: ``(first, longest)`` wait in seconds between reopen attempts; doubles.
        max_reopens: give up (state ``"ended"``) after this many failed reopen attempts in a
            row (None: keep trying, as a service should).
    """

    def __init__(
        self,
        source: Source,
        realtime: Optional[bool] = None,
        stall_timeout: float = 5.0,
        backoff: Tuple[float, float] = (0.5, 8.0),
        max_reopens: Optional[int] = None,
    ) -> None:
        self.source = source
        self.realtime = bool(source.realtime if realtime is None else realtime)
        #: True: the slot is overwritten (cameras, realtime); False: the reader waits for the
        #: consumer (files, folders, synthetic)
        self.newest_wins = bool(source.live or self.realtime)
        self.stall_timeout = float(stall_timeout)
        self.backoff = (float(backoff[0]), float(backoff[1]))
        self.max_reopens = max_reopens
        self.state = STARTING
        self.last_error = ""
        # counters (ints only: memory stays flat however long it runs)
        self.frames = 0
        self.dropped = 0
        self.reopens = 0
        self.bad_frames = 0
        self._slot: Optional[Frame] = None
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._finished = False
        self._reading_since: Optional[float] = None
        self._stall_reason: Optional[str] = None
        self._reader: Optional[threading.Thread] = None
        self._watchdog: Optional[threading.Thread] = None

    # -- public ------------------------------------------------------------------------------
    def start(self) -> Capture:
        """Open the source here (its errors reach the caller) and start the threads."""
        if self._reader is not None:
            return self
        self.source.open()
        self.state = RUNNING
        self._reader = threading.Thread(target=self._run, name="capture", daemon=True)
        self._watchdog = threading.Thread(target=self._watch, name="capture-watchdog", daemon=True)
        self._reader.start()
        self._watchdog.start()
        return self

    def get(self, timeout: Optional[float] = None) -> Optional[Frame]:
        """The newest frame not yet consumed; waits up to ``timeout`` seconds (None: forever).

        Returns:
            A frame, or None on timeout, after :meth:`stop`, or when the source ended and
            every frame was taken (see :attr:`ended`).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._slot is None:
                if self._finished:
                    return None
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return None
                self._cond.wait(left)
            frame, self._slot = self._slot, None
            self._cond.notify_all()  # a back-pressured reader may go on
            return frame

    @property
    def ended(self) -> bool:
        """True when no frame will come any more (end of a file, stop, or given up)."""
        with self._cond:
            return self._finished and self._slot is None

    def stop(self, timeout: float = 5.0) -> bool:
        """Stop reading, release the source and join the threads; idempotent.

        Returns:
            True if the reader thread ended within ``timeout`` seconds.
        """
        self._stop.set()
        self.source.interrupt()
        with self._cond:
            self._cond.notify_all()
        joined = True
        for thread in (self._reader, self._watchdog):
            if thread is not None:
                thread.join(timeout)
                joined = joined and not thread.is_alive()
        if not joined:  # a read that ignores interrupt(): release anyway, the thread is a daemon
            self.source.close()
        with self._cond:
            self._finished = True
            self._cond.notify_all()
        if self.state != ENDED:
            self.state = STOPPED
        return joined

    def stats(self) -> Dict[str, Any]:
        """Counters and state, for the status line, the web view and the summary."""
        return {
            "state": self.state,
            "frames": self.frames,
            "dropped": self.dropped,
            "reopens": self.reopens,
            "bad_frames": self.bad_frames,
            "skipped": self.source.skipped,
            "last_error": self.last_error,
            "mode": "newest-wins" if self.newest_wins else "back-pressure",
        }

    def describe(self) -> Dict[str, Any]:
        """The source's description plus the capture counters."""
        d = self.source.describe()
        d["capture"] = self.stats()
        return d

    def __enter__(self) -> Capture:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- the reader thread -------------------------------------------------------------------
    def _run(self) -> None:
        st = _ReadState(wait=self.backoff[0])
        try:
            while not self._stop.is_set() and not st.done:
                if st.reason is not None and not self._reopen(st):
                    continue
                frame = self._read(st)
                if frame is None or not self._same_shape(st, frame):
                    continue
                self._frame_ok(st)
                if self._paced() and not self._pace(st, frame):
                    break
                self._put(frame)
                # a stall is counted from when the reader wants a frame again, so a slow
                # consumer (back-pressure) never looks like a dead source
                st.last_good = time.monotonic()
        finally:
            self.source.close()
            with self._cond:
                self._finished = True
                self._cond.notify_all()

    def _reopen(self, st: _ReadState) -> bool:
        """Close, wait the backoff, open again. False: not reopened (``st.done`` when stopped
        or given up, else ``st.reason`` says why and the next turn retries)."""
        src = self.source
        self.state = f"reconnecting: {st.reason}"
        self.last_error = st.reason or ""
        src.close()
        if self._stop.wait(st.wait):
            st.done = True
            return False
        st.wait = _next_wait(st.wait, self.backoff[1])
        try:
            src.open()
        except Exception as exc:  # any failure to reopen is retried, never fatal
            st.failures += 1
            st.reason = _one_line(exc)
            if self.max_reopens is not None and st.failures > self.max_reopens:
                self.state = ENDED
                st.done = True
            return False
        self.reopens += 1
        st.reason, st.shape = None, None
        st.last_good = time.monotonic()
        self._stall_reason = None
        self.state = RUNNING
        return True

    def _read(self, st: _ReadState) -> Optional[Frame]:
        """One ``read``; None when there is no frame to pass on (``st.reason`` set when the
        source must be reopened, ``st.done`` at the end of a file)."""
        src = self.source
        self._reading_since = time.monotonic()
        try:
            frame = src.read()
        except BadFrame:
            self.bad_frames += 1
            return None
        except Exception as exc:
            st.reason = self._stall_reason or _one_line(exc)
            return None
        finally:
            self._reading_since = None
        if frame is None:
            if src.ended and not src.live:
                self.state = ENDED
                st.done = True
            elif src.ended:
                st.reason = "stream ended"
            elif time.monotonic() - st.last_good > self.stall_timeout:
                st.reason = f"no frame for {self.stall_timeout:g} s"
            else:
                self._stop.wait(0.002)  # "no frame now": do not spin
        return frame

    def _same_shape(self, st: _ReadState, frame: Frame) -> bool:
        """A camera does not change size between reopens by itself: a frame that does is bad."""
        if not self.source.live:
            return True
        if st.shape is None:
            st.shape = frame.image.shape
        elif frame.image.shape != st.shape:
            self.bad_frames += 1
            return False
        return True

    def _frame_ok(self, st: _ReadState) -> None:
        st.wait, st.failures = self.backoff[0], 0
        self._stall_reason = None
        # frames flow again: a watchdog alarm raised during a slow read is over
        self.state = RUNNING
        self.frames += 1

    def _paced(self) -> bool:
        src = self.source
        return self.realtime and not src.live and src.fps > 0

    def _pace(self, st: _ReadState, frame: Frame) -> bool:
        """Hold ``frame`` until it is due on the source's own clock (frame n at t0 + n / fps).

        Returns:
            False if :meth:`stop` came while waiting.
        """
        st.paced += 1
        delay = st.t0 + st.paced / self.source.fps - time.monotonic()
        if delay > 0 and self._stop.wait(delay):
            return False
        if delay < -1.0:  # far behind (a pause): restart the clock, do not burst
            st.t0, st.paced = time.monotonic(), 0
        # the frame "arrives" when it is due: its age must not include the pacing
        frame.t_capture = time.monotonic()
        return True

    def _put(self, frame: Frame) -> None:
        with self._cond:
            if not self.newest_wins:
                while self._slot is not None and not self._stop.is_set():
                    self._cond.wait(0.1)
            elif self._slot is not None:
                self.dropped += 1
            self._slot = frame
            self._cond.notify_all()

    # -- the watchdog thread -----------------------------------------------------------------
    def _watch(self) -> None:
        """Unblock a read that hangs: a source blocked in ``read`` cannot notice by itself."""
        period = max(0.01, min(0.25, self.stall_timeout / 4))
        while not self._stop.wait(period):
            since = self._reading_since
            if since is None or self._stall_reason is not None:
                continue
            if time.monotonic() - since > self.stall_timeout:
                self._stall_reason = f"no frame for {self.stall_timeout:g} s"
                self.state = f"reconnecting: {self._stall_reason}"
                self.source.interrupt()
            if self._finished:
                return


@dataclass
class _ReadState:
    """The reader thread's own state between turns of its loop."""

    wait: float  # the next wait before a reopen (doubles to ``backoff[1]``)
    failures: int = 0  # failed reopens in a row
    reason: Optional[str] = None  # why the source must be reopened; None: it is fine
    done: bool = False  # stop reading (stopped, end of file, or gave up reopening)
    last_good: float = field(default_factory=time.monotonic)  # when a frame was last taken
    shape: Optional[Tuple[int, ...]] = None  # a live source's frame shape since it opened
    t0: float = field(default_factory=time.monotonic)  # pacing clock start
    paced: int = 0  # frames paced since t0


def backoff_waits(first: float, longest: float, attempts: int) -> List[float]:
    """The waits before each of ``attempts`` reopen attempts in a row: doubling, capped.

    Example:
        >>> backoff_waits(0.5, 8.0, 7)
        [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    """
    waits, wait = [], first
    for _ in range(attempts):
        waits.append(wait)
        wait = _next_wait(wait, longest)
    return waits


def _next_wait(wait: float, longest: float) -> float:
    return min(wait * 2, longest)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
