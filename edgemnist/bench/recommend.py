"""The recommendation line: the fastest artifact within the accuracy gate, and whether INT8
pays on this device — in plain words, because "INT8 is faster" is not true everywhere (on
small models the quantize/dequantize work outweighs the cheaper arithmetic).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

from edgemnist.scoring import pct

#: an INT8 row must beat its FP32 row by at least this factor to be called worth it
INT8_MIN_SPEEDUP = 1.10


def _p50(row: Dict[str, Any]) -> Optional[float]:
    lat = row.get("latency_us") or {}
    value = lat.get("p50")
    return float(value) if value is not None else None


def _ranked(row: Dict[str, Any]) -> bool:
    """Rows with their own accuracy and a batch-1 latency that means what it says (trtexec
    rows have no logits; simulated TensorRT-QDQ rows have no meaningful CPU latency)."""
    return (
        row.get("status") == "ok"
        and not row.get("simulated", False)
        and row.get("accuracy") is not None
        and _p50(row) is not None
    )


def _within_gate(row: Dict[str, Any], max_drop: float) -> bool:
    drop = row.get("accuracy_drop")
    if drop is None:
        # no FP32 reference to compare with: only an FP32 row vouches for itself
        return row.get("precision") == "fp32"
    return float(drop) <= max_drop + 1e-9


def _fp32_twin(row: Dict[str, Any], rows: Sequence[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    """The FP32 row of the same model and backend (plain format first)."""
    twins = [
        r
        for r in rows
        if _ranked(r)
        and r["model"] == row["model"]
        and r["backend"] == row["backend"]
        and r["precision"] == "fp32"
    ]
    twins.sort(key=lambda r: r["format"] not in ("onnx", "torch"))
    return twins[0] if twins else None


def _fmt_us(value: float) -> str:
    return f"{value:,.1f} µs" if value < 1000 else f"{value / 1000:,.2f} ms"


def int8_verdicts(rows: Sequence[Dict[str, Any]], max_drop: float) -> List[Dict[str, Any]]:
    """For each INT8 row with an FP32 twin (same model and backend): does INT8 pay here?

    Returns:
        ``[{"row", "fp32_row", "speedup", "pays", "line"}]``; ``pays`` is False when INT8 is
        slower, barely faster (< INT8_MIN_SPEEDUP) or outside the accuracy gate.
    """
    verdicts = []
    for row in rows:
        if row.get("precision") != "int8" or not _ranked(row):
            continue
        twin = _fp32_twin(row, rows)
        if twin is None:
            continue
        a, b = _p50(row), _p50(twin)
        assert a is not None and b is not None
        speedup = b / a if a > 0 else float("inf")
        drop = row.get("accuracy_drop")  # fraction; printed in points below
        where = f"{row['label']} ({row['model']})"
        if speedup < 1.0:
            line = (
                f"INT8 does not pay on this device: {where} takes {_fmt_us(a)} at p50, "
                f"{1 / speedup:.2f}x slower than {twin['label']} ({_fmt_us(b)}); "
                "ship the FP32 model."
            )
            pays = False
        elif drop is not None and float(drop) > max_drop + 1e-9:
            line = (
                f"INT8 is {speedup:.2f}x faster but loses {100 * float(drop):.2f} points of "
                f"accuracy on {where} (gate {100 * max_drop:.2f}): not recommended."
            )
            pays = False
        elif speedup < INT8_MIN_SPEEDUP:
            line = (
                f"INT8 barely pays on this device: {where} is only {speedup:.2f}x faster than "
                f"{twin['label']} ({_fmt_us(a)} vs {_fmt_us(b)} at p50); FP32 is the simpler "
                "choice."
            )
            pays = False
        else:
            line = (
                f"INT8 pays on this device: {where} is {speedup:.2f}x faster than "
                f"{twin['label']} ({_fmt_us(a)} vs {_fmt_us(b)} at p50)"
                + (f", accuracy {-100 * float(drop):+.2f} points." if drop is not None else ".")
            )
            pays = True
        verdicts.append(
            {
                "row": row["id"],
                "fp32_row": twin["id"],
                "speedup": round(speedup, 3),
                "pays": pays,
                "line": line,
            }
        )
    return verdicts


def recommend(rows: Sequence[Dict[str, Any]], max_drop: float = 0.001) -> Dict[str, Any]:
    """Pick the fastest row (batch-1 p50) whose accuracy is within ``max_drop`` of its
    model's FP32 reference, and say where INT8 does not pay.

    Args:
        rows: finished rows as dicts (:class:`edgemnist.bench.result.BenchRow`).
        max_drop: largest accuracy drop from FP32 accepted, a fraction (0.001 = 0.1 points).

    Returns:
        ``{"choice": row id or None, "line": str, "int8": [verdicts], "lines": [str, ...],
        "max_drop": float}``. INT8 rows that do not pay are never chosen.
    """
    verdicts = int8_verdicts(rows, max_drop)
    refused = {v["row"] for v in verdicts if not v["pays"]}
    eligible = [
        r for r in rows if _ranked(r) and _within_gate(r, max_drop) and r["id"] not in refused
    ]
    eligible.sort(key=lambda r: (_p50(r), -float(r["accuracy"])))
    if eligible:
        best = eligible[0]
        drop = best.get("accuracy_drop")
        vs = f", {-100 * float(drop):+.2f} points vs FP32" if drop else ""
        line = (
            f"Ship {best['label']} of {best['model']} ({best['artifact']}): fastest within the "
            f"accuracy gate ({100 * max_drop:.2f} points) at {_fmt_us(_p50(best) or 0.0)} p50 "
            f"batch 1, accuracy {pct(float(best['accuracy']))} %{vs}."
        )
        choice = best["id"]
    else:
        choice = None
        line = "No recommendation: no row ran with an accuracy within the gate on this device."
    lines = [line] + [v["line"] for v in verdicts]
    if any(r.get("backend") == "trtexec" and r.get("status") == "ok" for r in rows):
        lines.append(
            "trtexec rows are NVIDIA's own timings of the engine (no logits, so no accuracy); "
            "they are not ranked."
        )
    return {
        "choice": choice,
        "line": line,
        "int8": verdicts,
        "lines": lines,
        "max_drop": max_drop,
    }
