"""The regression gate: passes within the allowance, fails beyond it, explains both."""

from __future__ import annotations

import copy

import pytest

from edgemnist.bench.regression import check_regression, parse_regress
from edgemnist.errors import ConfigError


def row(rid, p50, tp=None, accuracy=0.99, status="ok", n_images=10000, sha="aa"):
    r = {
        "id": rid,
        "label": rid,
        "model": "m",
        "backend": rid.split("-")[0],
        "precision": rid.split("-")[-1],
        "format": "onnx",
        "status": status,
        "reason": "" if status == "ok" else "because",
        "sha256": sha,
        "warnings": [],
    }
    if status == "ok":
        r.update(
            latency_us={"min": p50 * 0.9, "p50": p50, "p99": p50 * 2},
            accuracy=accuracy,
            n_images=n_images,
            throughput=[{"batch": 1, "status": "ok", "images_per_s": 1e6 / p50}]
            + ([{"batch": 256, "status": "ok", "images_per_s": tp}] if tp else []),
        )
    return r


@pytest.fixture
def baseline():
    return {
        "rows": [
            row("onnxruntime-fp32", 20.0, tp=100_000),
            row("onnxruntime-int8", 40.0, tp=50_000),
            row("torch-fp32", 200.0, tp=20_000),
        ]
    }


def test_parse_regress():
    assert parse_regress("10%") == pytest.approx(0.10)
    assert parse_regress("0.1") == pytest.approx(0.10)
    assert parse_regress("10") == pytest.approx(0.10)
    assert parse_regress("2.5%") == pytest.approx(0.025)
    for bad in ("ten", "-5%"):
        with pytest.raises(ConfigError):
            parse_regress(bad)


def test_gate_passes_within_allowance(baseline):
    current = copy.deepcopy(baseline)
    current["rows"][0]["latency_us"]["p50"] = 21.5  # +7.5 %
    current["rows"][1]["throughput"][1]["images_per_s"] = 46_000  # -8 %
    result = check_regression(current, baseline, 0.10)
    assert result["ok"] and result["regressions"] == []
    assert {r["verdict"] for r in result["rows"]} == {"ok"}
    assert result["rows"][0]["p50_change"] == pytest.approx(0.075)


def test_gate_fails_on_slower_p50(baseline):
    current = copy.deepcopy(baseline)
    current["rows"][0]["latency_us"]["p50"] = 25.0  # +25 %
    result = check_regression(current, baseline, 0.10)
    assert not result["ok"]
    assert len(result["regressions"]) == 1
    assert result["regressions"][0].startswith("onnxruntime-fp32: p50 20.0 -> 25.0")
    assert "+25.0%" in result["regressions"][0]
    assert result["rows"][0]["verdict"] == "regressed"
    # a looser allowance lets the same change through
    assert check_regression(current, baseline, 0.30)["ok"]


def test_gate_fails_on_lower_throughput_and_accuracy(baseline):
    current = copy.deepcopy(baseline)
    current["rows"][2]["throughput"][1]["images_per_s"] = 15_000  # -25 % at batch 256
    current["rows"][1]["accuracy"] = 0.985
    result = check_regression(current, baseline, 0.10)
    assert not result["ok"]
    text = "\n".join(result["regressions"])
    assert "torch-fp32: throughput @256" in text
    assert "onnxruntime-int8: accuracy 99.00 -> 98.50" in text


def test_row_failing_now_is_a_regression_but_unavailable_is_skipped(baseline):
    current = copy.deepcopy(baseline)
    current["rows"][0] = row("onnxruntime-fp32", 0, status="error")
    current["rows"][2] = row("torch-fp32", 0, status="unavailable")
    result = check_regression(current, baseline, 0.10)
    assert not result["ok"]
    assert result["regressions"] == ["onnxruntime-fp32: ran in the baseline, fails now (because)"]
    assert result["skipped"] == ["torch-fp32: ran in the baseline, unavailable: because"]


def test_faster_is_improved_and_new_rows_are_listed(baseline):
    current = copy.deepcopy(baseline)
    current["rows"][0]["latency_us"]["p50"] = 10.0
    current["rows"].append(row("tensorrt-fp16", 5.0))
    result = check_regression(current, baseline, 0.10)
    assert result["ok"]
    verdicts = {r["id"]: r["verdict"] for r in result["rows"]}
    assert verdicts["onnxruntime-fp32"] == "improved"
    assert verdicts["tensorrt-fp16"] == "new"


def test_accuracy_on_different_subsets_is_not_compared(baseline):
    current = copy.deepcopy(baseline)
    current["rows"][0].update(accuracy=0.90, n_images=2000)
    result = check_regression(current, baseline, 0.10)
    assert result["ok"]
    assert any("accuracy not compared" in ln for ln in result["rows"][0]["lines"])
