"""Live timing statistics: histogram percentiles against exact ones, bounded memory, FPS, queue
growth, stages that did not run."""

from __future__ import annotations

import math
import random

import pytest

from edgemnist.live.stats import (
    AGE_WINDOW,
    PROCESSING,
    LiveStats,
    LogHistogram,
    Recent,
    exact_percentiles,
)


@pytest.mark.parametrize("seed", [0, 1])
def test_histogram_percentiles_match_exact_ones_within_a_bucket(seed: int) -> None:
    rng = random.Random(seed)
    # latency-like: a log-normal body around 3 ms and a slow tail of 20-40 ms frames
    samples = [rng.lognormvariate(math.log(3e-3), 0.3) for _ in range(20_000)]
    samples += [rng.uniform(20e-3, 40e-3) for _ in range(300)]
    h = LogHistogram()
    for s in samples:
        h.add(s)
    for q, exact in zip((50, 90, 99), exact_percentiles(samples)):
        assert h.percentile(q) == pytest.approx(exact, rel=0.011), q
    assert h.percentile(0) == min(samples) and h.percentile(100) == max(samples)
    assert h.mean == pytest.approx(sum(samples) / len(samples))


def test_histogram_memory_does_not_grow_and_extremes_are_clamped() -> None:
    h = LogHistogram()
    size = len(h.counts)
    for i in range(50_000):
        h.add((i % 997 + 1) * 1e-5)
    h.add(0.0)  # below the range: first bucket
    h.add(1e6)  # above the range: last bucket
    assert len(h.counts) == size and sum(h.counts) == h.n == 50_002
    assert h.percentile(100) == 1e6 and h.percentile(0) == 0.0


def test_empty_summaries_are_none_not_nan() -> None:
    s = LogHistogram().summary()
    assert s["n"] == 0 and s["p50"] is None and s["max"] is None
    assert math.isnan(Recent().percentile(50))


def test_recent_keeps_only_the_last_samples() -> None:
    r = Recent(size=4)
    for v in (100.0, 100.0, 1.0, 2.0, 3.0, 4.0):
        r.add(v)
    assert list(r.values) == [1.0, 2.0, 3.0, 4.0]
    assert r.percentile(50) == 2.0 and r.percentile(100) == 4.0


def times(draw: bool) -> dict:
    t = {"capture": 0.010, "detect": 0.002, "prepare": 0.0005, "infer": 0.001, "track": 0.0001}
    if draw:
        t["draw"] = 0.0004
    return t


def test_processing_is_the_sum_of_its_stages_and_skipped_stages_are_absent() -> None:
    stats = LiveStats()
    stats.start(100.0)
    for i in range(10):
        stats.frame_done(times(draw=False), age=0.012, t=100.0 + (i + 1) / 30)
    summary = stats.summary()
    assert "draw" not in summary["stages_ms"] and "encode" not in summary["stages_ms"]
    assert summary["processing_ms"]["p50"] == pytest.approx(3.6, rel=0.01)
    stats.frame_done(times(draw=True), age=0.012, t=101.0)
    assert stats.summary()["stages_ms"]["draw"]["n"] == 1
    assert set(PROCESSING) == {"detect", "prepare", "infer", "track", "draw"}


def test_fps_over_the_run_and_recently() -> None:
    stats = LiveStats(recent=8)
    stats.start(0.0)
    for i in range(1, 31):  # 30 frames in 1 s
        stats.frame_done(times(False), age=0.01, t=i / 30)
    assert stats.fps() == pytest.approx(30.0)
    assert stats.recent_fps() == pytest.approx(30.0)
    assert stats.snapshot()["fps"] == 30.0 and stats.snapshot()["frames"] == 30
    stats.skipped()
    assert stats.summary()["skipped"] == 1 and stats.summary()["frames"] == 30


def test_queue_growth_is_zero_when_ages_hold_and_positive_when_they_grow() -> None:
    steady, growing = LiveStats(), LiveStats()
    steady.start(0.0)
    growing.start(0.0)
    assert steady.queue_growth_ms() is None
    n = 2 * AGE_WINDOW + 100
    for i in range(n):
        steady.frame_done(times(False), age=0.015, t=i / 30)
        growing.frame_done(times(False), age=0.015 + i * 1e-4, t=i / 30)
    assert steady.queue_growth_ms() == pytest.approx(0.0, abs=0.2)
    # medians of the first and the last AGE_WINDOW frames lie (n - AGE_WINDOW) frames apart
    assert growing.queue_growth_ms() == pytest.approx((n - AGE_WINDOW) * 0.1, abs=0.5)
