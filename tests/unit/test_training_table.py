"""benchmarks/training_table.py: runs grouped per recipe, variants apart from the recipe."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")


def test_group_name_keeps_variants_apart(benchmark_script):
    g = benchmark_script("training_table").group_name
    assert g("edge-s0", "edge") == "edge"
    assert g("edge-v2-s12", "edge") == "edge-v2"
    assert g("vgg_bn-flagship-s1", "vgg_bn-flagship") == "vgg_bn-flagship"
    # a directory that does not extend the recipe's name says nothing about the run
    assert g("scratch", "edge") == "edge"
    assert g("lenet5-s0", "edge") == "edge"


def test_collect_and_markdown_from_real_checkpoints(tmp_path, benchmark_script):
    from edgemnist.models import build_model
    from edgemnist.training.checkpoint import make_checkpoint, save_checkpoint

    model = build_model("lenet5")
    runs = {"edge-s0": 0.995, "edge-s1": 0.997, "edge-v2-s0": 0.994}
    for run, acc in runs.items():
        metrics = {"test_accuracy": acc, "params": 1, "macs": 2, "epochs": 3}
        metrics.update(seed=int(run[-1]), train_wall_s=60.0, threads=1)
        ckpt = make_checkpoint(model, "lenet5", {}, {"name": "edge", "train": {}}, metrics)
        if run == "edge-s1":  # a checkpoint of schema 1 (percent) reads as a fraction
            ckpt.update(schema=1, metrics=dict(metrics, test_accuracy=99.7))
        save_checkpoint(ckpt, tmp_path / run / "model.pt")
    table = benchmark_script("training_table")
    groups = table.collect(tmp_path)
    assert sorted(groups) == ["edge", "edge-v2"]
    assert [r["test_accuracy"] for r in groups["edge"]] == [0.995, 0.997]
    md = table.markdown(groups)
    assert "| edge | 1 | 2 | 3 | 2 | 99.600 ± 0.141 | s0: 99.50, s1: 99.70 |" in md
    assert "| edge-v2 | 1 | 2 | 3 | 1 | 99.400 ± n/a (1 seed) |" in md
