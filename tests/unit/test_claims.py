"""benchmarks/claims.py: the scoring definitions, on hand-made runs (no training)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")


def _run(exp, arm, seed, accs, **extra):
    history = [{"epoch": i + 1, "test_acc": a} for i, a in enumerate(accs)]
    cm = np.diag([100] * 10)
    cm[4, 9] = cm[9, 4] = 3  # 4<->9 the top pair
    cm[3, 5] = 2
    return {
        "experiment": exp,
        "arm": arm,
        "seed": seed,
        "test_accuracy": accs[-1],
        "history": history,
        "confusion": cm.tolist(),
        **extra,
    }


def test_fewer_epochs_is_symmetric_and_censors_never(benchmark_script):
    claims = benchmark_script("claims")
    base = [_run("x", "a", 0, [0.90, 0.95, 0.97, 0.96]), _run("x", "a", 1, [0.9, 0.99])]
    # reaches the baseline's best (0.97, at epoch 3) at epoch 2; never reaches 0.99
    other = [_run("x", "b", 0, [0.92, 0.975, 0.98, 0.98]), _run("x", "b", 1, [0.9, 0.98])]
    saved, detail = claims._fewer_epochs(base, other)
    assert saved[0] == pytest.approx(1 - 2 / 3)
    assert saved[1] == pytest.approx(1 - 3 / 2)  # one epoch past the run: a lower bound
    assert detail == ["s0: 2 vs 3", "s1: >2 vs 2"]


def test_focal_moves_gradient_to_the_hardest_decile(benchmark_script):
    claims = benchmark_script("claims")
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 1000)
    logits = rng.normal(0, 1, (1000, 10))
    logits[np.arange(1000), labels] += rng.uniform(-2, 8, 1000)  # easy and hard samples
    shares = claims._focal_shares(logits.astype(np.float32), labels)
    assert 0.1 < shares["ce_grad_share"] < shares["focal_grad_share"] <= 1.0
    assert shares["ce_loss_share"] < shares["focal_loss_share"] <= 1.0


def test_score_rows_and_verdicts(benchmark_script):
    claims = benchmark_script("claims")
    assert all("not measured" in r["measured"] for r in claims.score([], None))
    results = []
    for s in range(3):
        results += [
            _run("growth", "cnn2", s, [0.980 + 0.001 * s]),
            _run("growth", "vgg_bn", s, [0.993 + 0.001 * s]),
            _run("lenet", "fixed", s, [0.97, 0.98, 0.985, 0.985]),
            _run(
                "lenet",
                "cosine",
                s,
                [0.975, 0.986, 0.988, 0.99],
                test_nll_clean_labels=0.04,
                elastic_test_accuracy=0.90,
                focal={
                    "ce_grad_share": 0.5,
                    "focal_grad_share": 0.8,
                    "ce_loss_share": 0.5,
                    "focal_loss_share": 0.6,
                },
            ),
            _run("lenet", "cosine_ls", s, [0.99], test_nll_clean_labels=0.12),
            _run("lenet", "cosine_elastic", s, [0.99], elastic_test_accuracy=0.95),
        ]
    rows = {r["claim"].split()[0]: r for r in claims.score(results, None)}
    assert rows["2-conv"]["holds"] == "yes"
    assert rows["focal"]["holds"] == "yes"  # +60 % relative
    assert rows["label"]["holds"] == "no"  # NLL tripled
    assert rows["elastic"]["holds"].startswith("partly")  # +5 points, +5.6 % relative
    assert rows["cosine"]["holds"] == "yes"  # reaches 0.985 at epoch 2 vs 3: 33 % fewer
    assert rows["4"]["holds"].startswith("top pair in most models")
    assert "not measured" in rows["CBAM"]["measured"]
    table = claims.markdown(list(rows.values()))
    assert table.count("\n") == len(rows) + 1
