"""The one comparator (edgemnist.scoring): fractions in, fractions out, gates in points."""

from __future__ import annotations

import numpy as np
import pytest

from edgemnist.scoring import DEFAULT_MAX_DROP, pct, points, score_logits, score_predictions


def test_scores_are_fractions_and_flips_are_indices():
    labels = np.arange(10) % 10
    ref = np.eye(10, dtype=np.float32)[labels] * 5
    out = ref.copy()
    out[4] = np.eye(10)[9] * 5
    s = score_logits(out, labels, ref)
    assert (s.images, s.accuracy, s.reference_accuracy) == (10, 0.9, 1.0)
    assert s.agreement == 0.9 and s.flips == [4]
    assert s.accuracy_drop == pytest.approx(0.1) and s.max_abs_dlogit == pytest.approx(5.0)
    assert not s.within(points(0.10)) and s.within(points(10.0))


def test_predictions_alone_give_no_logit_difference():
    s = score_predictions(np.array([1, 2, 3]), np.array([1, 2, 0]), np.array([1, 2, 3]))
    assert s.accuracy == pytest.approx(2 / 3, abs=1e-6) and s.agreement == 1.0
    assert s.max_abs_dlogit is None and s.accuracy_drop == 0.0
    assert score_predictions(np.array([1]), np.array([1])).within(0.0)  # no reference: no gate


def test_a_drop_of_exactly_the_gate_passes():
    labels = np.zeros(1000, np.int64)
    ref = labels.copy()
    out = labels.copy()
    out[0] = 1  # one image in 1000 = 0.1 points
    assert score_predictions(out, labels, ref).within(DEFAULT_MAX_DROP)


def test_percentages_only_in_print():
    assert pct(0.99123) == "99.12" and pct(None) == "-" and points(0.1) == pytest.approx(0.001)


def test_mismatched_shapes_are_refused():
    with pytest.raises(ValueError, match="differ"):
        score_predictions(np.array([1, 2]), np.array([1]))
