"""Tiny real ONNX models for device-side unit tests (no torch).

:func:`write_tiny_onnx` is Flatten -> Gemm -> logits, :func:`linear_onnx` Flatten -> MatMul.
Input ``input`` (N, 1, 28, 28) float32 with a dynamic batch, output ``logits`` (N, 10),
opset 13, like the models edgemnist exports. Weights are seeded, so results are reproducible.
"""

from __future__ import annotations

from pathlib import Path
from typing import Tuple

import numpy as np
import pytest


def weights(seed: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return (
        (rng.standard_normal((10, 784)) * 0.05).astype(np.float32),
        rng.standard_normal(10).astype(np.float32),
    )


def write_tiny_onnx(path: Path, seed: int = 0, opset: int = 13) -> Path:
    """Write the model to ``path`` and return it."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w, b = weights(seed)
    graph = helper.make_graph(
        [
            helper.make_node("Flatten", ["input"], ["flat"], axis=1),
            helper.make_node("Gemm", ["flat", "W", "B"], ["logits"], transB=1),
        ],
        "tiny",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 1, 28, 28])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])],
        [numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "B")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def linear_onnx(path: Path, seed: int = 0) -> np.ndarray:
    """Write a real ONNX model, logits = flatten(x) @ W, to ``path``; return W (784, 10).

    Skips the calling test when onnx is not installed.
    """
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    w = np.random.default_rng(seed).standard_normal((784, 10)).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("Flatten", ["input"], ["flat"], axis=1),
            helper.make_node("MatMul", ["flat", "W"], ["logits"]),
        ],
        "linear",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 1, 28, 28])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])],
        initializer=[numpy_helper.from_array(w, "W")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return w
