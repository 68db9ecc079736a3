"""The one comparator: score a model's outputs against labels and a reference (no torch).

``verify``, ``bench``, ``pipeline`` and the export/quantize gates all score through here, so
accuracy means the same number everywhere: rates are **fractions** in [0, 1] in every report,
manifest and JSON document; percentages appear only where text is printed (:func:`pct`).

A gate is given by users in percentage points of test accuracy (``0.10`` = a tenth of a
point); :func:`points` turns it into the fraction the scores are compared with.

Example:
    >>> import numpy as np
    >>> ref = np.eye(10, dtype=np.float32)[[0, 1, 2, 3]]
    >>> out = ref.copy(); out[3] = np.eye(10)[5]
    >>> s = score_logits(out, np.array([0, 1, 2, 3]), ref)
    >>> s.accuracy, s.agreement, s.flips, s.accuracy_drop
    (0.75, 0.75, [3], 0.25)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional

import numpy as np

#: default accuracy gate: a drop of 0.10 percentage points (as a fraction)
DEFAULT_MAX_DROP = 0.001
#: a drop of exactly the gate passes despite float sums (0.1 points is not exact in binary)
_EPS = 1e-9
#: digits kept for rates (a 10 000-image test set needs 4; 6 keeps one image in a million)
_DIGITS = 6


def points(value: float) -> float:
    """Percentage points -> fraction (``0.10`` points -> ``0.001``)."""
    return float(value) / 100.0


def pct(fraction: Optional[float], digits: int = 2) -> str:
    """A fraction printed as a percentage (``0.9912`` -> ``"99.12"``; None -> ``"-"``)."""
    return "-" if fraction is None else f"{100.0 * fraction:.{digits}f}"


@dataclass
class Score:
    """How a model's predictions compare with the labels and, when given, a reference's.

    Every rate is a fraction in [0, 1]; ``accuracy_drop`` is ``reference - this`` (positive:
    worse than the reference).
    """

    images: int
    accuracy: float
    reference_accuracy: Optional[float] = None
    accuracy_drop: Optional[float] = None
    agreement: Optional[float] = None  # share of images with the reference's top-1
    max_abs_dlogit: Optional[float] = None  # only when both sides gave logits
    flips: List[int] = field(default_factory=list)  # indices whose prediction changed

    def within(self, max_drop: float) -> bool:
        """True when the accuracy drop is at most ``max_drop`` (a fraction); no reference:
        nothing to gate, True."""
        return self.accuracy_drop is None or self.accuracy_drop <= max_drop + _EPS


def _rate(mask: np.ndarray) -> float:
    return round(float(np.mean(mask)), _DIGITS) if mask.size else float("nan")


def score_predictions(
    preds: np.ndarray, labels: np.ndarray, reference_preds: Optional[np.ndarray] = None
) -> Score:
    """Score predicted classes ``(N,)`` against ``labels`` and a reference's predictions."""
    preds = np.asarray(preds).astype(np.int64)
    labels = np.asarray(labels).astype(np.int64)
    if preds.shape != labels.shape:
        raise ValueError(f"predictions {preds.shape} and labels {labels.shape} differ in shape")
    score = Score(images=int(len(labels)), accuracy=_rate(preds == labels))
    if reference_preds is not None:
        ref = np.asarray(reference_preds).astype(np.int64)
        if ref.shape != preds.shape:
            raise ValueError(f"reference predictions {ref.shape} differ from {preds.shape}")
        score.reference_accuracy = _rate(ref == labels)
        score.accuracy_drop = round(score.reference_accuracy - score.accuracy, _DIGITS)
        score.agreement = _rate(preds == ref)
        score.flips = [int(i) for i in np.flatnonzero(preds != ref)]
    return score


def score_logits(
    logits: np.ndarray, labels: np.ndarray, reference_logits: Optional[np.ndarray] = None
) -> Score:
    """Score ``(N, 10)`` logits (argmax) against ``labels`` and a reference's logits; adds the
    largest absolute logit difference."""
    logits = np.asarray(logits)
    ref_preds = None if reference_logits is None else np.asarray(reference_logits).argmax(axis=1)
    score = score_predictions(logits.argmax(axis=1), labels, ref_preds)
    if reference_logits is not None and logits.size:
        score.max_abs_dlogit = float(np.abs(logits - np.asarray(reference_logits)).max())
    return score
