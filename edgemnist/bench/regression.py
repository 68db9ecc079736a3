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
        cur = cur_rows.get(rid)
        entry: Dict[str, Any] = {"id": rid, "verdict": "ok", "lines": []}
        problems: List[str] = []
        rows.append(entry)
        if base.get("status") != "ok":
            entry["verdict"] = "skipped"
            continue
        if cur is None or cur.get("status") in ("missing", "unavailable"):
            why = "not in this run" if cur is None else f"{cur['status']}: {cur.get('reason')}"
            entry["verdict"] = "skipped"
            skipped.append(f"{rid}: ran in the baseline, {why}")
            continue
        if cur.get("status") != "ok":
            entry["verdict"] = "regressed"
            entry["lines"].append(f"{rid}: ran in the baseline, fails now ({cur.get('reason')})")
            regressions += entry["lines"]
            continue
        if base.get("sha256") and cur.get("sha256") and base["sha256"] != cur["sha256"]:
            entry["lines"].append(f"{rid}: note: a different file than in the baseline")
        improved = False
        b50, c50 = _p50(base), _p50(cur)
        if b50 and c50:
            change = c50 / b50 - 1.0
            entry["p50_change"] = round(change, 4)
            text = f"{rid}: p50 {b50:.1f} -> {c50:.1f} µs ({change:+.1%})"
            if change > max_regress:
                problems.append(text + f" > +{max_regress:.0%} allowed")
            else:
                improved = improved or change < -max_regress
                entry["lines"].append(text)
        b_tp, c_tp = _throughput(base), _throughput(cur)
        common = sorted(set(b_tp) & set(c_tp))
        if common:
            batch = common[-1]
            change = c_tp[batch] / b_tp[batch] - 1.0
            entry["throughput_change"] = round(change, 4)
            text = (
                f"{rid}: throughput @{batch} {b_tp[batch]:,.0f} -> {c_tp[batch]:,.0f} img/s "
                f"({change:+.1%})"
            )
            if change < -max_regress:
                problems.append(text + f" < -{max_regress:.0%} allowed")
            else:
                entry["lines"].append(text)
        b_acc, c_acc = base.get("accuracy"), cur.get("accuracy")
        if b_acc is not None and c_acc is not None:
            if base.get("n_images") != cur.get("n_images"):
                entry["lines"].append(
                    f"{rid}: accuracy not compared ({base.get('n_images')} vs "
                    f"{cur.get('n_images')} test images)"
                )
            elif c_acc < b_acc - ACCURACY_TOLERANCE:
                problems.append(f"{rid}: accuracy {100 * b_acc:.2f} -> {100 * c_acc:.2f} % (fell)")
        entry["lines"] += problems
        if problems:
            entry["verdict"] = "regressed"
            regressions += problems
        elif improved:
            entry["verdict"] = "improved"
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
