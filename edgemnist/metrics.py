"""Classification metrics on numpy arrays (device-safe: no torch, no sklearn)."""

from __future__ import annotations

from typing import Any, Dict, List

import numpy as np

from edgemnist.scoring import score_predictions


def confusion_matrix(labels: np.ndarray, preds: np.ndarray, n: int = 10) -> np.ndarray:
    """``cm[t, p]`` = number of images of true class ``t`` predicted as ``p``."""
    return np.bincount(
        labels.astype(np.int64) * n + preds.astype(np.int64), minlength=n * n
    ).reshape(n, n)


def per_class(cm: np.ndarray) -> List[Dict[str, Any]]:
    """Precision, recall, F1 and support per class (0 where undefined)."""
    tp = np.diag(cm).astype(float)
    pred_tot, true_tot = cm.sum(0).astype(float), cm.sum(1).astype(float)
    prec = np.divide(tp, pred_tot, out=np.zeros_like(tp), where=pred_tot > 0)
    rec = np.divide(tp, true_tot, out=np.zeros_like(tp), where=true_tot > 0)
    f1 = np.divide(2 * prec * rec, prec + rec, out=np.zeros_like(tp), where=(prec + rec) > 0)
    return [
        {
            "class": c,
            "precision": float(prec[c]),
            "recall": float(rec[c]),
            "f1": float(f1[c]),
            "support": int(true_tot[c]),
        }
        for c in range(len(cm))
    ]


def confused_pairs(cm: np.ndarray) -> List[Dict[str, int]]:
    """Off-diagonal cells, most frequent first: ``{"true", "pred", "count"}``."""
    pairs = [
        {"true": t, "pred": p, "count": int(cm[t, p])}
        for t in range(len(cm))
        for p in range(len(cm))
        if t != p and cm[t, p] > 0
    ]
    return sorted(pairs, key=lambda d: (-d["count"], d["true"], d["pred"]))


def unordered_pairs(cm: np.ndarray) -> List[Dict[str, Any]]:
    """Confusions counted both ways (``a↔b`` = a as b + b as a), most frequent first."""
    out = []
    for a in range(len(cm)):
        for b in range(a + 1, len(cm)):
            c = int(cm[a, b] + cm[b, a])
            if c:
                out.append({"pair": f"{a}<->{b}", "a": a, "b": b, "count": c})
    return sorted(out, key=lambda d: (-d["count"], d["a"], d["b"]))


def classification_report(labels: np.ndarray, preds: np.ndarray) -> Dict[str, Any]:
    """Accuracy (a fraction, from :mod:`edgemnist.scoring`), macro F1, per-class metrics,
    confusion matrix, confused pairs.

    Example:
        >>> r = classification_report(np.array([4, 9, 9]), np.array([9, 9, 9]))
        >>> round(r["accuracy"], 4), r["confused_pairs"][0]
        (0.6667, {'true': 4, 'pred': 9, 'count': 1})
    """
    labels, preds = np.asarray(labels), np.asarray(preds)
    cm = confusion_matrix(labels, preds)
    pc = per_class(cm)
    present = [r for r in pc if r["support"] > 0]
    unordered = unordered_pairs(cm)
    rank_49 = next((i + 1 for i, d in enumerate(unordered) if (d["a"], d["b"]) == (4, 9)), None)
    return {
        "n": int(len(labels)),
        "accuracy": score_predictions(preds, labels).accuracy,
        "errors": int((labels != preds).sum()),
        "macro_f1": float(np.mean([r["f1"] for r in present])) if present else float("nan"),
        "per_class": pc,
        "confusion_matrix": cm.tolist(),
        "confused_pairs": confused_pairs(cm),
        "unordered_pairs": unordered,
        "four_nine_rank": rank_49,
    }
