"""build-engine end to end without TensorRT (this machine, CI, a Raspberry Pi): the ONNX
Runtime fallback from a real exported ONNX, checked on real MNIST test images."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from edgemnist.cli.main import main

pytestmark = pytest.mark.integration
N_IMAGES = 2000


@pytest.fixture(scope="module")
def exported_onnx(tmp_path_factory) -> Path:
    """LeNet-5 from the model zoo, exported the way edgemnist exports for TensorRT 8.2:
    TorchScript exporter, opset 13, dynamic batch, one self-contained file."""
    torch = pytest.importorskip("torch")
    from edgemnist.models import build_model

    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = build_model("lenet5").eval()
    out = tmp_path_factory.mktemp("run") / "model.onnx"
    with warnings.catch_warnings():  # the TorchScript exporter warns; deliberate, as in export
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            model, torch.zeros(1, 1, 28, 28), str(out), dynamo=False, opset_version=13,
            input_names=["input"], output_names=["logits"],
            dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
        )  # fmt: skip
    return out


def _test_images(mnist_dir):
    from edgemnist.constants import normalize
    from edgemnist.data.mnist import load_split

    images, labels = load_split("test", root=mnist_dir)
    return normalize(images[:N_IMAGES]), labels[:N_IMAGES]


def test_fallback_end_to_end_matches_source_onnx(exported_onnx, mnist_dir, capsys):
    from edgemnist.runners.onnxruntime import OnnxRuntimeRunner
    from edgemnist.runners.open import open_runner

    out_dir = exported_onnx.parent / "engine"
    assert main(["build-engine", str(exported_onnx), "--out", str(out_dir), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["backend"] == "onnxruntime" and not report["reused"]
    assert "TensorRT is not installed" in report["fallback_reason"]
    artifact = Path(report["artifact"])
    assert artifact == out_dir / "model.ort.onnx" and artifact.stat().st_size > 0

    m = json.loads((out_dir / "model.ort.onnx.json").read_text())
    assert m["format"] == "onnxruntime-optimized" and m["precision"] == "fp32"
    assert m["source"]["file"] == "model.onnx"
    assert m["runtime"]["graph_optimization_level"] == "ORT_ENABLE_EXTENDED"
    assert m["fallback"]["reason"] == report["fallback_reason"]
    meas = m["measurements"]
    assert meas and all(x["runs"] == 300 and x["p50_us"] > 0 for x in meas)
    best = min(meas, key=lambda x: (x["p50_us"], x["threads"]))
    assert m["runtime"]["providers"][0] == best["provider"]
    assert m["runtime"]["threads"] == best["threads"]

    x, labels = _test_images(mnist_dir)
    with open_runner(artifact) as fast, OnnxRuntimeRunner(exported_onnx) as ref:
        assert fast.info["format"] == "onnxruntime-optimized"
        got = np.concatenate([fast.infer(x[i : i + 500]) for i in range(0, len(x), 500)])
        want = np.concatenate([ref.infer(x[i : i + 500]) for i in range(0, len(x), 500)])
    assert np.array_equal(got.argmax(1), want.argmax(1))
    # same ONNX Runtime, same fusions (saved vs applied at load): bit-identical logits
    assert np.array_equal(got, want)
    assert (got.argmax(1) == labels).mean() == (want.argmax(1) == labels).mean()


def test_second_build_reuses_and_force_rebuilds(exported_onnx, capsys):
    out_dir = exported_onnx.parent / "engine2"
    args = ["build-engine", str(exported_onnx), "--out", str(out_dir)]
    assert main(args) == 0
    assert main(args) == 0
    captured = capsys.readouterr()
    assert "reused ONNX Runtime model (fallback)" in captured.out
    assert "falling back to ONNX Runtime: TensorRT is not installed" in captured.err
    assert main(args + ["--force-rebuild", "--precision", "int8"]) == 0
    err = capsys.readouterr().err
    assert "--force-rebuild given" in err or "wrote" in err or "measured" in err
    assert "--precision int8 ignored" in err


def test_cli_errors_are_one_line(tmp_path, exported_onnx, capsys):
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"\x08\x07garbage")
    assert main(["build-engine", str(bad)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and len(err.splitlines()) == 1
    assert main(["build-engine", str(tmp_path / "missing.onnx")]) == 1
    assert "not found" in capsys.readouterr().err
    assert main(["build-engine", str(exported_onnx), "--builder", "python"]) == 1
    err = capsys.readouterr().err
    assert "no importable tensorrt Python module" in err and "--builder trtexec" in err
