"""ONNX export: parity with PyTorch, metadata, self-contained file, one-line errors; calibration;
the parity-report arithmetic; the torch runner."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edgemnist.cli.main import main
from edgemnist.errors import ConfigError


@pytest.fixture(scope="module")
def exported(tiny_checkpoint, mnist_dir, tmp_path_factory):
    """model.onnx exported (opset 13, full 10 000-image gate) from the tiny checkpoint."""
    from edgemnist.export.onnx_export import export_onnx

    out = tmp_path_factory.mktemp("export") / "model.onnx"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EDGEMNIST_DATA", str(mnist_dir))
        return export_onnx(tiny_checkpoint, out, threads=1)


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:"), err
    assert len(err.splitlines()) == 1, err
    return err


def test_onnx_matches_pytorch_on_all_test_images(exported):
    rep = exported.report
    assert rep.images == 10000
    assert rep.agreement == 1.0
    assert rep.max_abs_dlogit <= 1e-4
    assert rep.accuracy == rep.reference_accuracy
    assert rep.accuracy > 0.90  # the tiny model really learned something
    assert rep.passed


def test_onnx_is_self_contained_named_dynamic_opset13(exported):
    import onnx

    model = onnx.load(str(exported.path))
    onnx.checker.check_model(model)
    assert [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")] == [13]
    assert not [p for p in exported.path.parent.iterdir() if p.suffix == ".data"]
    assert all(t.data_location != onnx.TensorProto.EXTERNAL for t in model.graph.initializer)
    (inp,) = model.graph.input
    (out,) = model.graph.output
    assert (inp.name, out.name) == ("input", "logits")
    dims = inp.type.tensor_type.shape.dim
    assert dims[0].dim_param and [d.dim_value for d in dims[1:]] == [1, 28, 28]


def test_metadata_props_and_manifest(exported, tiny_checkpoint):
    import onnx

    from edgemnist.atomic import sha256_file

    meta = {p.key: p.value for p in onnx.load(str(exported.path)).metadata_props}
    for key in ("edgemnist_version", "model", "normalization", "test_accuracy", "source_sha256"):
        assert key in meta, key
    assert meta["model"] == "lenet5"
    assert json.loads(meta["normalization"])["mean"] == pytest.approx(0.1307)
    assert meta["source_sha256"] == sha256_file(tiny_checkpoint)
    manifest = json.loads(exported.manifest_path.read_text())
    assert exported.manifest_path.name == "model.onnx.json"
    assert manifest["format"] == "onnx" and manifest["precision"] == "fp32"
    assert manifest["sha256"] == sha256_file(exported.path)
    assert manifest["source"]["sha256"] == sha256_file(tiny_checkpoint)
    assert manifest["test_accuracy"] == exported.report.accuracy
    assert manifest["parity"]["agreement"] == 1.0
    assert {"torch", "onnx", "onnxruntime"} <= set(manifest["versions"])


def test_onnx_runs_any_batch_size(exported):
    from edgemnist.runners.onnxruntime import OnnxRuntimeRunner

    x = np.random.default_rng(0).normal(size=(7, 1, 28, 28)).astype(np.float32)
    with OnnxRuntimeRunner(exported.path, threads=1) as r:
        assert r.infer(x).shape == (7, 10)
        assert r.infer(x[:1]).shape == (1, 10)


def test_unknown_model_checkpoint_is_one_line_error(tmp_path, tiny_checkpoint, capsys):
    import torch

    ckpt = torch.load(tiny_checkpoint, weights_only=True)
    ckpt["model"]["name"] = "alexnet9000"
    bad = tmp_path / "bad.pt"
    torch.save(ckpt, bad)
    assert main(["export", str(bad), "--out", str(tmp_path / "x.onnx")]) == 1
    assert "unknown model" in _one_error_line(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.pt"]


def test_corrupt_checkpoint_is_one_line_error(tmp_path, capsys):
    bad = tmp_path / "model.pt"
    bad.write_bytes(b"this is not a checkpoint")
    assert main(["export", str(bad)]) == 1
    _one_error_line(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pt"]


@pytest.mark.parametrize("opset", [7, 24])
def test_opset_the_exporter_cannot_produce(tmp_path, tiny_checkpoint, capsys, opset):
    out = tmp_path / "m.onnx"
    assert main(["export", str(tiny_checkpoint), "--opset", str(opset), "--out", str(out)]) == 1
    assert f"opset {opset}" in _one_error_line(capsys)
    assert list(tmp_path.iterdir()) == []


def test_exporter_choice():
    from edgemnist.export.onnx_export import exporter_for

    assert exporter_for(13) == "torchscript"
    assert exporter_for(17) == "torchscript"
    assert exporter_for(18) == "dynamo"
    with pytest.raises(ConfigError):
        exporter_for(8)


def test_cli_export_json_with_limit(tmp_path, tiny_checkpoint, mnist_env, capsys):
    out = tmp_path / "cli.onnx"
    code = main(
        [
            "export",
            str(tiny_checkpoint),
            "--out",
            str(out),
            "--limit",
            "500",
            "--threads",
            "1",
            "--json",
        ]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["images"] == 500 and report["agreement"] == 1.0
    assert out.is_file() and Path(str(out) + ".json").is_file()


def test_torch_runner_fp32_matches_the_model(tiny_checkpoint):
    import torch

    from edgemnist.runners.torch import TorchRunner
    from edgemnist.training.checkpoint import model_from_checkpoint

    x = np.random.default_rng(1).normal(size=(5, 1, 28, 28)).astype(np.float32)
    with torch.no_grad():
        want = model_from_checkpoint(tiny_checkpoint)(torch.from_numpy(x)).numpy()
    with TorchRunner(tiny_checkpoint, threads=1) as r:
        got = r.infer(x)
        assert r.info["precision"] == "fp32"
    np.testing.assert_allclose(got, want, atol=1e-6)
    with pytest.raises(ConfigError):
        TorchRunner(tiny_checkpoint, precision="int4")


# -- calibration subset (pure numpy) ---------------------------------------------------------
def test_calibration_subset_is_balanced_seeded_and_hashed():
    from edgemnist.export.calibration import balanced_indices, indices_sha256

    labels = np.random.default_rng(3).integers(0, 10, size=6000).astype(np.uint8)
    a = balanced_indices(labels, 1000, seed=0)
    assert len(a) == 1000 and len(set(a.tolist())) == 1000
    assert np.bincount(labels[a], minlength=10).tolist() == [100] * 10
    assert np.array_equal(a, balanced_indices(labels, 1000, seed=0))
    b = balanced_indices(labels, 1000, seed=1)
    assert not np.array_equal(a, b)
    assert indices_sha256(a) == indices_sha256(a.astype(np.int32))
    assert indices_sha256(a) != indices_sha256(b)
    odd = balanced_indices(labels, 25, seed=0)
    assert np.bincount(labels[odd], minlength=10).tolist() == [3] * 5 + [2] * 5
    with pytest.raises(ConfigError):
        balanced_indices(labels, 5)
    with pytest.raises(ConfigError):
        balanced_indices(np.zeros(100, np.uint8), 50)  # classes 1..9 are missing


def test_compare_counts_flips_and_gates():
    from edgemnist.export.verify import parity_report as compare

    labels = np.arange(10) % 10
    ref = np.eye(10, dtype=np.float32)[labels] * 5
    same = compare(ref.copy(), labels, ref, threshold=0.1)
    assert (same.accuracy, same.agreement, same.max_abs_dlogit, same.passed) == (
        1.0,
        1.0,
        0.0,
        True,
    )
    worse = ref.copy()
    worse[4] = np.eye(10)[9] * 5
    rep = compare(worse, labels, ref, threshold=0.1)
    assert rep.flips == [4] and rep.agreement == 0.9
    assert rep.accuracy_drop == pytest.approx(0.1) and not rep.passed
    assert compare(worse, labels, ref, threshold=10.0).passed
