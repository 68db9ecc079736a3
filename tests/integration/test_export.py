"""ONNX export of a tiny trained LeNet-5: parity with PyTorch, metadata, self-contained file,
one-line errors; the torch runner. (Checks that train nothing: tests/unit/test_export_units.py.)"""

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


@pytest.mark.parametrize("opset", [7, 24])
def test_opset_the_exporter_cannot_produce(tmp_path, tiny_checkpoint, capsys, opset):
    out = tmp_path / "m.onnx"
    assert main(["export", str(tiny_checkpoint), "--opset", str(opset), "--out", str(out)]) == 1
    assert f"opset {opset}" in _one_error_line(capsys)
    assert list(tmp_path.iterdir()) == []


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
