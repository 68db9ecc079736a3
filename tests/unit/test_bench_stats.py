"""Statistics on known samples, and the timing harness's loop rules (no timing thresholds)."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

from edgemnist.bench.stats import cdf_points, percentile, summarize
from edgemnist.bench.timing import (
    NoopRunner,
    TimingConfig,
    identity_onnx_bytes,
    measure_overhead,
    parse_cpus,
    pinned,
    time_backend,
    time_wall,
)
from edgemnist.errors import ConfigError


def test_percentiles_on_known_samples():
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    hundred = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(hundred, 0) == 1.0
    assert percentile(hundred, 100) == 100.0
    assert percentile(hundred, 90) == pytest.approx(90.1)
    assert percentile(hundred, 99) == pytest.approx(99.01)
    # same definition as numpy's default (linear interpolation between closest ranks)
    rng = np.random.default_rng(0)
    samples = sorted(rng.exponential(size=257).tolist())
    for q in (1, 25, 50, 90, 99, 99.9):
        assert percentile(samples, q) == pytest.approx(float(np.percentile(samples, q)))


def test_summary_of_known_samples():
    s = summarize([9.0, 2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0])  # unsorted on purpose
    assert (s.n, s.min, s.max) == (8, 2.0, 9.0)
    assert s.mean == 5.0
    assert s.p50 == 4.5
    # sample standard deviation (n - 1): population std of this classic set is exactly 2
    assert s.std == pytest.approx(math.sqrt(32 / 7))
    assert s.cv == pytest.approx(s.std / 5.0)
    assert s.p90 == pytest.approx(float(np.percentile([2, 4, 4, 4, 5, 5, 7, 9], 90)))


def test_single_sample_and_scaling():
    s = summarize([3e-6])
    assert s.std == 0.0 and s.cv == 0.0 and s.min == s.p50 == s.p99 == s.max == 3e-6
    us = summarize([1e-6, 3e-6]).scaled(1e6)
    assert (us.min, us.mean, us.max) == pytest.approx((1.0, 2.0, 3.0))
    assert us.cv == pytest.approx(summarize([1.0, 3.0]).cv)  # unit-free
    d = us.as_dict()
    assert d["n"] == 2 and isinstance(d["n"], int) and d["p50"] == 2.0


def test_high_spread_is_flagged_unstable():
    assert not summarize([10.0, 10.5, 9.5, 10.2]).unstable
    assert summarize([10.0] * 50 + [1000.0] * 2).unstable


@pytest.mark.parametrize("bad", [[], [1.0, float("nan")], [float("inf")]])
def test_summarize_rejects_bad_samples(bad):
    with pytest.raises(ValueError):
        summarize(bad)


def test_percentile_rejects_out_of_range():
    with pytest.raises(ValueError):
        percentile([1.0], 101)
    with pytest.raises(ValueError):
        percentile([], 50)


def test_cdf_points_keep_extremes_and_order():
    values = list(range(10_000, 0, -1))
    pts = cdf_points(values, max_points=101)
    assert len(pts) == 101
    assert pts[0] == 1 and pts[-1] == 10_000
    assert pts == sorted(pts)
    assert pts[50] == pytest.approx(percentile(sorted(values), 50), abs=1)
    assert cdf_points([3.0, 1.0], 10) == [1.0, 3.0]


def test_loop_meets_both_minimum_iterations_and_minimum_time():
    calls = []
    timed = time_wall(lambda: calls.append(1), TimingConfig(0.0, 500, 0.0))
    assert timed.iters >= 500 and not timed.capped
    timed = time_wall(lambda: None, TimingConfig(warmup_s=0.02, min_iters=1, min_time_s=0.05))
    assert timed.wall_s >= 0.05 and timed.iters > 1
    assert timed.warmup_iters >= 1
    assert all(s >= 0 for s in timed.samples_s)


def test_loop_stops_at_the_time_cap_and_says_so():
    timed = time_wall(lambda: None, TimingConfig(0.0, 10**9, 0.0, max_time_s=0.05))
    assert timed.capped
    assert timed.iters < 10**9


def test_time_backend_reads_the_runners_own_timer():
    with NoopRunner() as runner:
        x = np.zeros((1, 1, 28, 28), np.float32)
        timed = time_backend(runner, x, TimingConfig(0.0, 100, 0.0))
    assert timed.iters >= 100
    # each sample is exactly what the runner recorded, not the loop's own clock
    assert timed.samples_s[-1] == runner.last_latency_s


def test_timing_config_rejects_nonsense():
    with pytest.raises(ConfigError):
        TimingConfig(min_iters=0)
    with pytest.raises(ConfigError):
        TimingConfig(warmup_s=-1)


def test_parse_cpus():
    assert parse_cpus("0") == [0]
    assert parse_cpus("0,2") == [0, 2]
    assert parse_cpus("2-3,0") == [0, 2, 3]
    for bad in ("x", "", "-1"):
        with pytest.raises(ConfigError):
            parse_cpus(bad)


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs Linux CPU affinity")
def test_pinning_applies_and_restores_the_mask():
    before = os.sched_getaffinity(0)
    cpu = min(before)
    with pinned([cpu]) as got:
        assert got == [cpu]
        assert os.sched_getaffinity(0) == {cpu}
    assert os.sched_getaffinity(0) == before
    with pytest.raises(ConfigError, match="not available"), pinned([max(before) + 1000]):
        pass


def test_identity_graph_is_a_real_onnx_model():
    ort = pytest.importorskip("onnxruntime")
    sess = ort.InferenceSession(identity_onnx_bytes(), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(1).standard_normal((3, 1, 28, 28)).astype(np.float32)
    (y,) = sess.run(None, {"input": x})
    np.testing.assert_array_equal(y, x)
    onnx = pytest.importorskip("onnx")
    onnx.checker.check_model(onnx.load_from_string(identity_onnx_bytes()))


def test_measure_overhead_reports_the_harness_floor():
    pytest.importorskip("onnxruntime")
    cfg = TimingConfig(warmup_s=0.0, min_iters=200, min_time_s=0.0)
    report = measure_overhead(cfg)
    timed, wrapper = report["timed_call_us"], report["infer_call_us"]
    assert timed["n"] >= 200 and 0 < timed["min"] <= timed["p50"] <= timed["p99"]
    # the whole infer() (validation + output copy) contains the timed window
    assert wrapper["min"] >= timed["min"]
    ort = report["ort_identity"]
    assert ort["status"] == "ok" and ort["latency_us"]["n"] >= 200
    assert ort["bound_latency_us"]["n"] >= 200 and ort["bound_latency_us"]["min"] > 0
