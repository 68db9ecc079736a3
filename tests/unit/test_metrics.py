from __future__ import annotations

import numpy as np

from edgemnist.metrics import classification_report


def test_report_on_known_predictions():
    labels = np.array([0, 0, 1, 1, 4, 4, 9, 9, 9, 9])
    preds = np.array([0, 0, 1, 7, 9, 9, 4, 9, 9, 9])
    r = classification_report(labels, preds)
    assert r["accuracy"] == 0.6 and r["errors"] == 4  # a fraction, like every rate
    cm = np.array(r["confusion_matrix"])
    assert cm[4, 9] == 2 and cm[9, 4] == 1 and cm.sum() == 10
    assert r["confused_pairs"][0] == {"true": 4, "pred": 9, "count": 2}
    assert r["unordered_pairs"][0]["pair"] == "4<->9" and r["unordered_pairs"][0]["count"] == 3
    assert r["four_nine_rank"] == 1
    pc = {row["class"]: row for row in r["per_class"]}
    assert pc[1]["precision"] == 1.0 and pc[1]["recall"] == 0.5
    assert abs(pc[9]["precision"] - 3 / 5) < 1e-12 and pc[9]["recall"] == 0.75
    # classes with no support are left out of the macro average
    f1s = [pc[c]["f1"] for c in (0, 1, 4, 9)]
    assert abs(r["macro_f1"] - np.mean(f1s)) < 1e-12
