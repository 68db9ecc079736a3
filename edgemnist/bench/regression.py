"""The regression gate: ``edgemnist bench --compare BASELINE.json --max-regress 10%``.

Rows are matched by id. A row regresses when its batch-1 p50 latency grew by more than the
allowed fraction, its throughput at the largest common batch size fell by more than it, its
accuracy fell (same number of test images), or it ran in the baseline and fails now. Rows that
cannot run on this machine (``missing``/``unavailable``) are listed, not failed: a baseline from
a Jetson compared on a laptop should say what it could not check, not cry wolf.

p50 is gated rather than p99: on a shared machine the tail moves by multiples from run to run,
while the median is stable to a few percent.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from edgemnist.errors import ConfigError
from edgemnist.scoring import pct

#: accuracy may differ by this much (fraction) before it counts (float summation order)
ACCURACY_TOLERANCE = 1e-4


def parse_regress(text: Any) -> float:
    """``"10%"``, ``"10"`` or ``"0.1"`` -> ``0.10``.

    Raises:
        ConfigError: not a non-negative number.

    Example:
        >>> parse_regress("10%")
        0.1
    """
    raw = str(text).strip()
    try:
        if raw.endswith("%"):
            value = float(raw[:-1]) / 100.0
        else:
            value = float(raw)
            if value >= 1.0:
                value /= 100.0  # "10" means ten percent, not 1000 %
    except ValueError:
        raise ConfigError(f"--max-regress {text!r}: give a percentage such as 10%") from None
    if value < 0:
        raise ConfigError(f"--max-regress {text!r}: must not be negative")
    return value


def _p50(row: Dict[str, Any]) -> Optional[float]:
    lat = row.get("latency_us") or {}
    return lat.get("p50")


def _throughput(row: Dict[str, Any]) -> Dict[int, float]:
    return {
        int(tp["batch"]): float(tp["images_per_s"])
        for tp in row.get("throughput") or []
        if tp.get("status") == "ok" and tp.get("images_per_s")
    }


def _compare_row(
    rid: str, base: Dict[str, Any], cur: Optional[Dict[str, Any]], max_regress: float
) -> Dict[str, Any]:
    """One baseline row against this run's row of the same id: an entry with its verdict,
    lines, ``problems`` (the regressions) and ``skipped_line`` (why it was not compared)."""
    entry: Dict[str, Any] = {"id": rid, "verdict": "ok", "lines": [], "problems": []}
    if base.get("status") != "ok":
        entry["verdict"] = "skipped"
        return entry
    if cur is None or cur.get("status") in ("missing", "unavailable"):
        why = "not in this run" if cur is None else f"{cur['status']}: {cur.get('reason')}"
        entry["verdict"] = "skipped"
        entry["skipped_line"] = [f"{rid}: ran in the baseline, {why}"]
        return entry
    if cur.get("status") != "ok":
        line = f"{rid}: ran in the baseline, fails now ({cur.get('reason')})"
        entry.update(verdict="regressed", lines=[line], problems=[line])
        return entry
    if base.get("sha256") and cur.get("sha256") and base["sha256"] != cur["sha256"]:
        entry["lines"].append(f"{rid}: note: a different file than in the baseline")
    improved = _latency(entry, rid, base, cur, max_regress)
    _throughput_rule(entry, rid, base, cur, max_regress)
    _accuracy_rule(entry, rid, base, cur)
    entry["lines"] += entry["problems"]
    if entry["problems"]:
        entry["verdict"] = "regressed"
    elif improved:
        entry["verdict"] = "improved"
    return entry


def _latency(
    entry: Dict[str, Any], rid: str, base: Dict[str, Any], cur: Dict[str, Any], allowed: float
) -> bool:
    """Batch-1 p50: a regression beyond ``allowed``; returns whether it improved beyond it."""
    b50, c50 = _p50(base), _p50(cur)
    if not (b50 and c50):
        return False
    change = c50 / b50 - 1.0
    entry["p50_change"] = round(change, 4)
    text = f"{rid}: p50 {b50:.1f} -> {c50:.1f} µs ({change:+.1%})"
    if change > allowed:
        entry["problems"].append(text + f" > +{allowed:.0%} allowed")
        return False
    entry["lines"].append(text)
    return change < -allowed


def _throughput_rule(
    entry: Dict[str, Any], rid: str, base: Dict[str, Any], cur: Dict[str, Any], allowed: float
) -> None:
    """Images per second at the largest batch size both runs measured."""
    b_tp, c_tp = _throughput(base), _throughput(cur)
    common = sorted(set(b_tp) & set(c_tp))
    if not common:
        return
    batch = common[-1]
    change = c_tp[batch] / b_tp[batch] - 1.0
    entry["throughput_change"] = round(change, 4)
    text = (
        f"{rid}: throughput @{batch} {b_tp[batch]:,.0f} -> {c_tp[batch]:,.0f} img/s ({change:+.1%})"
    )
    if change < -allowed:
        entry["problems"].append(text + f" < -{allowed:.0%} allowed")
    else:
        entry["lines"].append(text)


def _accuracy_rule(
    entry: Dict[str, Any], rid: str, base: Dict[str, Any], cur: Dict[str, Any]
) -> None:
    """Accuracy may not fall (on the same number of test images)."""
    b_acc, c_acc = base.get("accuracy"), cur.get("accuracy")
    if b_acc is None or c_acc is None:
        return
    if base.get("n_images") != cur.get("n_images"):
        entry["lines"].append(
            f"{rid}: accuracy not compared ({base.get('n_images')} vs "
            f"{cur.get('n_images')} test images)"
        )
    elif c_acc < b_acc - ACCURACY_TOLERANCE:
        entry["problems"].append(f"{rid}: accuracy {pct(b_acc)} -> {pct(c_acc)} % (fell)")


def check_regression(
    current: Dict[str, Any], baseline: Dict[str, Any], max_regress: float = 0.10
) -> Dict[str, Any]:
    """Gate this run's result document against a baseline's.

    Args:
        current: this run's result.
        baseline: an earlier result (``load_result``).
        max_regress: allowed slowdown as a fraction (0.10 = 10 %).

    Returns:
        ``{"ok": bool, "max_regress": float, "rows": [{"id", "verdict", "lines"}],
        "regressions": [str], "skipped": [str]}``; ``verdict`` is ``ok``, ``regressed``,
        ``improved``, ``skipped`` or ``new``.
    """
    base_rows = {r["id"]: r for r in baseline.get("rows", [])}
    cur_rows = {r["id"]: r for r in current.get("rows", [])}
    rows: List[Dict[str, Any]] = []
    regressions: List[str] = []
    skipped: List[str] = []
    for rid, base in base_rows.items():
        entry = _compare_row(rid, base, cur_rows.get(rid), max_regress)
        rows.append(entry)
        skipped += entry.pop("skipped_line", [])
        if entry["verdict"] == "regressed":
            regressions += entry.pop("problems")
        entry.pop("problems", None)
    for rid in cur_rows:
        if rid not in base_rows:
            rows.append({"id": rid, "verdict": "new", "lines": [f"{rid}: not in the baseline"]})
    return {
        "ok": not regressions,
        "max_regress": max_regress,
        "rows": rows,
        "regressions": regressions,
        "skipped": skipped,
    }
