"""The recommendation line on synthetic finished rows (no timing involved)."""

from __future__ import annotations

from edgemnist.bench.recommend import recommend


def _row(ident, precision, p50, accuracy, drop=None, simulated=False, backend="onnxruntime"):
    return {
        "id": ident,
        "label": ident,
        "model": "m",
        "backend": backend,
        "precision": precision,
        "format": "onnx-qdq" if precision == "int8" else "onnx",
        "artifact": f"{ident}.onnx",
        "status": "ok",
        "simulated": simulated,
        "accuracy": accuracy,
        "accuracy_drop": None if drop is None else drop / 100.0,  # drop in points
        "latency_us": {"p50": p50},
    }


def test_fastest_row_within_gate_is_chosen_and_int8_that_pays_is_named():
    rows = [
        _row("fp32", "fp32", 100.0, 0.9950),
        _row("int8", "int8", 40.0, 0.9949, drop=0.01),
    ]
    rec = recommend(rows, max_drop=0.001)
    assert rec["choice"] == "int8"
    assert rec["int8"][0]["pays"] and "2.50x faster" in rec["int8"][0]["line"]


def test_slower_int8_is_refused_in_plain_words():
    rows = [_row("fp32", "fp32", 50.0, 0.995), _row("int8", "int8", 80.0, 0.995, drop=0.0)]
    rec = recommend(rows)
    assert rec["choice"] == "fp32"
    assert "INT8 does not pay on this device" in rec["int8"][0]["line"]


def test_int8_outside_the_gate_is_never_chosen():
    rows = [_row("fp32", "fp32", 100.0, 0.995), _row("int8", "int8", 30.0, 0.990, drop=0.5)]
    assert recommend(rows)["choice"] == "fp32"


def test_simulated_tensorrt_qdq_rows_are_not_ranked():
    """A TensorRT-target QDQ model run in float on the CPU has TensorRT's accuracy but no
    meaningful CPU latency: it is neither shipped nor judged for INT8 speed."""
    rows = [
        _row("fp32", "fp32", 100.0, 0.995),
        _row("trt-qdq", "int8", 10.0, 0.995, drop=0.0, simulated=True),
    ]
    rec = recommend(rows)
    assert rec["choice"] == "fp32"
    assert rec["int8"] == []
