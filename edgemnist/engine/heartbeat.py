"""A heartbeat for long blocking work (TensorRT builds take minutes on a Nano).

A thread calls ``tick(label, elapsed_s)`` every ``interval`` seconds while the block runs, so
the CLI can show a live status line with the elapsed time and CI logs show the build is alive.

Example:
    >>> with Heartbeat("building", lambda label, s: None, interval=0.01):
    ...     pass
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Optional

Tick = Callable[[str, float], None]


class Heartbeat:
    """Context manager running ``tick`` in a daemon thread until the block ends."""

    def __init__(self, label: str, tick: Optional[Tick], interval: float = 1.0) -> None:
        self.label = label
        self.tick = tick
        self.interval = interval
        self.ticks = 0
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self.t0 = 0.0

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.ticks += 1
            if self.tick is not None:
                self.tick(self.label, time.monotonic() - self.t0)

    def __enter__(self) -> Heartbeat:
        self.t0 = time.monotonic()
        if self.tick is not None:
            self._thread = threading.Thread(
                target=self._run, name="edgemnist-heartbeat", daemon=True
            )
            self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.t0
