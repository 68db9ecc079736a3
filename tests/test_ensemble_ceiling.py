"""benchmarks/ensemble_ceiling.py: ensemble arithmetic on hand-made probabilities, and a run on
real checkpoints and the real MNIST test set."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest


@pytest.fixture
def ec(benchmark_script):
    return benchmark_script("ensemble_ceiling")


def onehot(rows, n=10, conf=0.6):
    p = np.full((len(rows), n), (1 - conf) / (n - 1))
    p[np.arange(len(rows)), rows] = conf
    return p


def test_averaging_fixes_errors_the_models_do_not_share(ec):
    labels = np.array([0, 1, 2, 3])
    a = onehot([0, 1, 2, 3])
    b = onehot([0, 1, 2, 3])
    c = onehot([0, 1, 2, 3])
    a[0] = onehot([5], conf=0.55)[0]  # a misses image 0, b misses image 1: not shared
    b[1] = onehot([7], conf=0.55)[0]
    c[3] = onehot([9], conf=0.9)[0]  # c misses image 3 confidently: 0.9 outvotes one 0.6, not two
    r = ec.analyse({"a": a, "b": b, "c": c}, labels)
    assert [r["models"][n]["errors"] for n in "abc"] == [1, 1, 1]
    assert r["errors_common_to_all"] == 0 and r["errors_union"] == 3
    pairs, triple = r["ensembles"]
    assert (pairs["k"], pairs["subsets"], triple["subsets"]) == (2, 3, 1)
    # a+b repairs both errors; a+c and b+c keep c's confident one (0.9 + 0.04 > 0.6 + 0.01).
    assert (pairs["max"], pairs["min"]) == (100.0, 75.0)
    assert pairs["mean"] == pytest.approx((100 + 75 + 75) / 3)
    assert triple["mean"] == 100.0  # 0.6 + 0.6 outvote c's 0.9 on image 3
    assert "| 2 | 83.333 |" in ec.to_markdown(r)


def test_cli_on_real_checkpoints(ec, tiny_checkpoint, mnist_env, tmp_path, capsys):
    second = tmp_path / "copy" / "model.pt"
    second.parent.mkdir()
    shutil.copy(tiny_checkpoint, second)
    out = tmp_path / "ceiling.json"
    r = ec.main([str(tiny_checkpoint), str(second), "--json", str(out)])
    single = r["models"]["copy"]["accuracy"]
    assert r["test_images"] == 10000 and 80.0 < single < 100.0
    # Two identical models: the ensemble is the model, and every error is shared.
    assert r["ensembles"][0]["mean"] == pytest.approx(single)
    assert r["errors_common_to_all"] == r["errors_union"] == r["models"]["copy"]["errors"]
    assert json.loads(out.read_text())["checkpoints"][1] == str(second)
    assert "| 1 |" in capsys.readouterr().out


def test_needs_two_checkpoints(ec, tiny_checkpoint):
    with pytest.raises(SystemExit):
        ec.main([str(tiny_checkpoint)])
