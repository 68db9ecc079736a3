"""The graph-optimization level: chosen by measurement, honoured by the runner on that CPU only."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from edgemnist.manifest import build_manifest, manifest_path, write_manifest  # noqa: E402
from edgemnist.runners import ort_levels  # noqa: E402
from edgemnist.runners.onnxruntime import OnnxRuntimeRunner  # noqa: E402
from edgemnist.runners.ort_levels import (  # noqa: E402
    choose,
    cpu_identity,
    manifest_choice,
    measure_levels,
)


def conv_model(path: Path) -> Path:
    """Conv 3x3 (8 channels) + ReLU + Flatten + Gemm: small, real, and layout-transformable."""
    rng = np.random.default_rng(0)
    graph = helper.make_graph(
        [
            helper.make_node("Conv", ["input", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
            helper.make_node("Relu", ["c"], ["r"]),
            helper.make_node("Flatten", ["r"], ["f"], axis=1),
            helper.make_node("Gemm", ["f", "W", "B"], ["logits"]),
        ],
        "conv",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 1, 28, 28])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])],
        initializer=[
            numpy_helper.from_array(rng.normal(0, 0.1, (8, 1, 3, 3)).astype(np.float32), "w"),
            numpy_helper.from_array(np.zeros(8, np.float32), "b"),
            numpy_helper.from_array(rng.normal(0, 0.01, (8 * 784, 10)).astype(np.float32), "W"),
            numpy_helper.from_array(np.zeros(10, np.float32), "B"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def with_runtime(tmp_path: Path, runtime: dict) -> Path:
    """The conv model with a manifest whose ``runtime`` is ``runtime``."""
    path = conv_model(tmp_path / "model.onnx")
    write_manifest(path, build_manifest(path, "onnx", "fp32", runtime=runtime))
    return path


def measured(level: str, cpu: dict) -> dict:
    return {
        "graph_opt": level,
        "graph_opt_measured": {"p50_us": {"all": 10, "extended": 8}, "cpu": cpu},
    }


def test_choose_keeps_all_unless_another_level_wins_clearly() -> None:
    assert choose({"all": 100.0, "extended": 80.0}) == "extended"
    assert choose({"all": 100.0, "extended": 96.0}) == "all"  # inside the 5 % margin
    assert choose({"all": 100.0, "extended": 130.0}) == "all"
    assert choose({"all": 100.0, "extended": 100.0}) == "all"  # a tie keeps the default


def test_measure_levels_times_both_levels_for_real(tmp_path: Path) -> None:
    path = conv_model(tmp_path / "model.onnx")
    out = measure_levels(path, rounds=2, runs=20)
    assert set(out["p50_us"]) == {"all", "extended"}
    assert all(v > 0 for v in out["p50_us"].values())
    assert out["graph_opt"] == choose(out["p50_us"])
    assert out["cpu"] == cpu_identity() and out["rounds"] == 2 and out["runs"] == 20
    json.dumps(out)  # goes into a manifest as is
    with pytest.raises(ValueError, match="all"):
        measure_levels(path, levels=("extended", "basic"))


def test_manifest_choice_needs_the_same_cpu() -> None:
    here = {"model": "Xeon", "machine": "x86_64", "flags": ["avx512f", "avx512_vnni"]}
    other = {"model": "EPYC", "machine": "x86_64", "flags": ["avx2"]}
    assert manifest_choice(None, here) == (None, "")
    assert manifest_choice({"runtime": {"threads": 1}}, here) == (None, "")
    level, why = manifest_choice({"runtime": measured("extended", here)}, here)
    assert level == "extended" and "all 10 µs, extended 8 µs" in why
    level, why = manifest_choice({"runtime": measured("extended", other)}, here)
    assert level is None and "another CPU (EPYC; this one: Xeon)" in why and "'all'" in why
    # same model name, other flags (a VM that hides AVX-512): not the same CPU either
    masked = {**here, "flags": ["avx2"]}
    assert manifest_choice({"runtime": measured("extended", masked)}, here)[0] is None
    level, why = manifest_choice({"runtime": {**measured("fastest", here)}}, here)
    assert level is None and "unknown level" in why


def test_runner_loads_at_the_measured_level_on_this_cpu(tmp_path: Path) -> None:
    path = with_runtime(tmp_path, measured("extended", cpu_identity()))
    x = np.random.default_rng(1).standard_normal((2, 1, 28, 28)).astype(np.float32)
    with OnnxRuntimeRunner(path) as runner:
        assert runner.info["graph_opt"] == "extended"
        assert runner.info["graph_opt_from"] == "manifest"
        got = runner.infer(x)
    with OnnxRuntimeRunner(path, graph_opt="all") as runner:  # the caller's choice wins
        assert runner.info["graph_opt"] == "all" and runner.info["graph_opt_from"] == "argument"
        np.testing.assert_allclose(runner.infer(x), got, rtol=1e-4, atol=1e-4)


def test_runner_ignores_a_level_measured_elsewhere(tmp_path: Path) -> None:
    elsewhere = {"model": "some other CPU", "machine": "aarch64", "flags": ["asimd"]}
    path = with_runtime(tmp_path, measured("extended", elsewhere))
    with OnnxRuntimeRunner(path) as runner:
        info = runner.info
    assert info["graph_opt"] == "all" and info["graph_opt_from"] == "default"
    assert "another CPU (some other CPU" in info["graph_opt_why"]


def test_runner_without_a_measurement_uses_all(tmp_path: Path) -> None:
    path = conv_model(tmp_path / "model.onnx")
    assert not manifest_path(path).exists()
    with OnnxRuntimeRunner(path) as runner:
        assert runner.info["graph_opt"] == ort_levels.DEFAULT
        assert runner.info["graph_opt_from"] == "default"
        assert "graph_opt_why" not in runner.info
