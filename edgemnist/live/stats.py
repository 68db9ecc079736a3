"""Timing statistics of the live loop in bounded memory: per-stage p50/p90/p99, FPS, frame age.

A camera loop runs for hours, so nothing here grows with the number of frames:

- :class:`LogHistogram` keeps whole-run percentiles in a fixed array of logarithmic buckets
  (1 % wide, from 1 µs to 1 000 s): a percentile is exact to within half a bucket (±0.5 %),
  the tail is never sampled away (a reservoir would drop most of the rare slow frames that make
  p99), and adding a sample is one ``log`` and one increment.
- :class:`Recent` is a ring of the last few hundred samples for the *live* status line (what
  the loop does now, not since the start).
- :class:`LiveStats` holds one of each per stage plus the frame age, counts frames and
  skipped frames, and reports FPS over the run and over the recent window.

All times are seconds from one clock (``time.monotonic``, the clock ``Frame.t_capture`` uses).
"""

from __future__ import annotations

import math
from collections import deque
from typing import Deque, Dict, Iterable, List, Optional, Sequence

#: the stages of one frame, in order (``capture`` is the wait for a new frame)
STAGES = ("capture", "detect", "prepare", "infer", "track", "draw", "encode", "output")
#: the stages that make up "processing" in the acceptance numbers (what the loop computes)
PROCESSING = ("detect", "prepare", "infer", "track", "draw")
#: percentiles in every summary
PERCENTILES = (50, 90, 99)
#: frames at the start and at the end of a run whose ages are compared for queue growth
AGE_WINDOW = 256


class LogHistogram:
    """Counts of positive samples in logarithmic buckets: bounded memory, ±0.5 % percentiles.

    Args:
        lo: smallest resolved value (smaller samples count in the first bucket).
        hi: largest resolved value (larger samples count in the last bucket).
        growth: ratio between consecutive bucket edges (1.01: buckets 1 % wide).

    Example:
        >>> h = LogHistogram()
        >>> for v in (0.001, 0.002, 0.003):
        ...     h.add(v)
        >>> round(h.percentile(50), 5)
        0.002
    """

    def __init__(self, lo: float = 1e-6, hi: float = 1e3, growth: float = 1.01) -> None:
        self.lo = lo
        self.growth = growth
        self._log_growth = math.log(growth)
        self.n_buckets = int(math.ceil(math.log(hi / lo) / self._log_growth)) + 1
        self.counts: List[int] = [0] * self.n_buckets
        self.n = 0
        self.total = 0.0
        self.min = math.inf
        self.max = -math.inf

    def add(self, value: float) -> None:
        """Count one sample (seconds, or any positive unit)."""
        self.n += 1
        self.total += value
        if value < self.min:
            self.min = value
        if value > self.max:
            self.max = value
        if value <= self.lo:
            i = 0
        else:
            i = min(int(math.log(value / self.lo) / self._log_growth) + 1, self.n_buckets - 1)
        self.counts[i] += 1

    def _value(self, i: int) -> float:
        """The representative value of bucket ``i``: the geometric middle of its edges."""
        if i == 0:
            return self.lo
        return self.lo * self.growth ** (i - 0.5)

    def percentile(self, q: float) -> float:
        """The ``q``-th percentile (0..100) of the samples so far; NaN when there are none.

        Nearest-rank on the buckets, clamped to the exact min and max, so p0 and p100 are exact.
        """
        if self.n == 0:
            return math.nan
        if q <= 0:
            return self.min
        if q >= 100:
            return self.max
        rank = max(1, int(math.ceil(q / 100.0 * self.n)))
        seen = 0
        for i, c in enumerate(self.counts):
            seen += c
            if seen >= rank:
                return min(max(self._value(i), self.min), self.max)
        return self.max  # not reached: the counts sum to n

    @property
    def mean(self) -> float:
        """Arithmetic mean of the samples (NaN when there are none)."""
        return self.total / self.n if self.n else math.nan

    def summary(self, scale: float = 1e3, digits: int = 3) -> Dict[str, float]:
        """``{"n", "p50", "p90", "p99", "max", "mean"}`` with values multiplied by ``scale``
        (default: seconds -> milliseconds); empty values are None."""
        out: Dict[str, float] = {"n": self.n}
        for key, value in (
            *((f"p{q}", self.percentile(q)) for q in PERCENTILES),
            ("max", self.max if self.n else math.nan),
            ("mean", self.mean),
        ):
            out[key] = None if math.isnan(value) else round(value * scale, digits)  # type: ignore[assignment]
        return out


class Recent:
    """The last ``size`` samples (a ring): what the loop does *now*, for the live status."""

    def __init__(self, size: int = 256) -> None:
        self.values: Deque[float] = deque(maxlen=size)

    def add(self, value: float) -> None:
        """Keep ``value``; the oldest sample falls out once the ring is full."""
        self.values.append(value)

    def percentile(self, q: float) -> float:
        """Nearest-rank percentile of the samples in the ring (NaN when empty)."""
        if not self.values:
            return math.nan
        return _nearest_rank(sorted(self.values), q)


class LiveStats:
    """Everything the loop measures, in bounded memory.

    Call :meth:`frame_done` once per processed frame with that frame's stage times and its age;
    :meth:`skipped` for a frame that could not be processed. :meth:`snapshot` is the live view,
    :meth:`summary` the whole run.

    Args:
        clock: the loop's clock (``time.monotonic``); used for FPS.
        recent: how many recent frames the live view looks at.
    """

    def __init__(self, clock: Optional[float] = None, recent: int = 256) -> None:
        self.t_start = clock if clock is not None else math.nan
        self.t_last = self.t_start
        self.stages: Dict[str, LogHistogram] = {s: LogHistogram() for s in STAGES}
        self.processing = LogHistogram()
        self.age = LogHistogram()
        self.recent_stages: Dict[str, Recent] = {s: Recent(recent) for s in STAGES}
        self.recent_processing = Recent(recent)
        self.recent_age = Recent(recent)
        #: result times of the recent frames, for the live FPS
        self.recent_t: Deque[float] = deque(maxlen=recent)
        self.frames = 0
        self.skipped_frames = 0
        #: frame ages of the first and the latest frames, to show whether a queue builds up
        self._age_head = LogHistogram()
        self._age_tail = Recent(AGE_WINDOW)

    def start(self, t: float) -> None:
        """Set the start of the run (the loop's clock)."""
        self.t_start = t
        self.t_last = t

    def frame_done(self, times: Dict[str, float], age: float, t: float) -> None:
        """Record one processed frame.

        Args:
            times: seconds per stage (keys from :data:`STAGES`; a stage that did not run is
                absent, not zero, so "draw skipped" does not pull its percentiles down).
            age: seconds from the frame's capture to its result.
            t: the clock at the result.
        """
        self.frames += 1
        self.t_last = t
        self.recent_t.append(t)
        for stage, dt in times.items():
            self.stages[stage].add(dt)
            self.recent_stages[stage].add(dt)
        proc = sum(times.get(s, 0.0) for s in PROCESSING)
        self.processing.add(proc)
        self.recent_processing.add(proc)
        self.age.add(age)
        self.recent_age.add(age)
        if self._age_head.n < AGE_WINDOW:
            self._age_head.add(age)
        self._age_tail.add(age)

    def skipped(self) -> None:
        """Count a frame that arrived but could not be processed (bad frame)."""
        self.skipped_frames += 1

    def fps(self) -> float:
        """Processed frames per second over the whole run (NaN before two frames)."""
        span = self.t_last - self.t_start
        return self.frames / span if self.frames and span > 0 else math.nan

    def recent_fps(self) -> float:
        """Frames per second over the recent window (NaN before two frames)."""
        if len(self.recent_t) < 2:
            return math.nan
        span = self.recent_t[-1] - self.recent_t[0]
        return (len(self.recent_t) - 1) / span if span > 0 else math.nan

    def snapshot(self) -> Dict[str, object]:
        """The live view: recent FPS, p50 per stage and processing, frame age p50/p99 (ms)."""

        def ms(v: float) -> Optional[float]:
            return None if math.isnan(v) else round(v * 1e3, 2)

        return {
            "frames": self.frames,
            "fps": None if math.isnan(self.recent_fps()) else round(self.recent_fps(), 1),
            "processing_ms_p50": ms(self.recent_processing.percentile(50)),
            "processing_ms_p99": ms(self.recent_processing.percentile(99)),
            "age_ms_p50": ms(self.recent_age.percentile(50)),
            "age_ms_p99": ms(self.recent_age.percentile(99)),
            "stages_ms_p50": {
                s: ms(r.percentile(50)) for s, r in self.recent_stages.items() if r.values
            },
        }

    def queue_growth_ms(self) -> Optional[float]:
        """Frame age p50 of the latest frames minus that of the first ones (ms).

        A loop that keeps up stays near 0; a queue that builds up shows as a growing age.
        None before ``2 * AGE_WINDOW`` frames (too few for two separate windows).
        """
        if self.frames < 2 * AGE_WINDOW:
            return None
        tail = self._age_tail.percentile(50)
        head = self._age_head.percentile(50)
        return round((tail - head) * 1e3, 3)

    def summary(self) -> Dict[str, object]:
        """Whole-run statistics: frames, FPS, per-stage and processing p50/p90/p99, frame age."""
        fps = self.fps()
        return {
            "frames": self.frames,
            "skipped": self.skipped_frames,
            "seconds": round(self.t_last - self.t_start, 3) if self.frames else 0.0,
            "fps": None if math.isnan(fps) else round(fps, 2),
            "processing_ms": self.processing.summary(),
            "age_ms": self.age.summary(),
            "queue_growth_ms": self.queue_growth_ms(),
            "stages_ms": {s: h.summary() for s, h in self.stages.items() if h.n},
        }


def exact_percentiles(samples: Iterable[float], qs: Sequence[float] = PERCENTILES) -> List[float]:
    """Nearest-rank percentiles of a (finite) list of samples: the reference the histogram is
    checked against in the tests and the benchmark."""
    ordered = sorted(samples)
    return [_nearest_rank(ordered, q) for q in qs]


def _nearest_rank(ordered: Sequence[float], q: float) -> float:
    """The smallest sample with at least ``q`` % of the samples at or below it."""
    rank = max(1, int(math.ceil(q / 100.0 * len(ordered))))
    return ordered[min(rank, len(ordered)) - 1]
