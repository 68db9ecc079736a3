"""Which nodes INT8 quantization keeps in float, and how placement is counted (hand-made graphs)."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from edgemnist.export.quantize_ort import float_islands, placement  # noqa: E402


def _w(name, shape):
    return numpy_helper.from_array(np.ones(shape, np.float32), name)


def cbam_like():
    """conv -> channel gate (pool -> 1x1 conv -> relu -> 1x1 conv -> sigmoid) -> mul -> + x."""
    nodes = [
        helper.make_node("Conv", ["x", "W0"], ["t"], name="trunk_conv"),
        helper.make_node("ReduceMean", ["t"], ["p"], name="pool", keepdims=1, axes=[2, 3]),
        helper.make_node("Conv", ["p", "W1"], ["h"], name="mlp1"),
        helper.make_node("Relu", ["h"], ["hr"], name="mlp_relu"),
        helper.make_node("Conv", ["hr", "W2"], ["g"], name="mlp2"),
        helper.make_node("Sigmoid", ["g"], ["s"], name="gate"),
        helper.make_node("Mul", ["t", "s"], ["m"], name="apply"),
        helper.make_node("Add", ["m", "x"], ["y"], name="residual"),
        helper.make_node("Relu", ["y"], ["out"], name="out_relu"),
    ]
    graph = helper.make_graph(
        nodes,
        "cbam",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 4, 8, 8])],
        [_w("W0", (4, 4, 1, 1)), _w("W1", (4, 4, 1, 1)), _w("W2", (4, 4, 1, 1))],
    )
    return helper.make_model(graph)


def test_the_gate_stays_float_and_the_trunk_does_not():
    kept = float_islands(cbam_like())
    assert kept == ["pool", "mlp1", "mlp_relu", "mlp2", "gate", "apply"]


def test_plain_cnn_keeps_nothing_float():
    nodes = [
        helper.make_node("Conv", ["x", "W0"], ["a"], name="c1"),
        helper.make_node("Relu", ["a"], ["b"], name="r1"),
        helper.make_node("MaxPool", ["b"], ["out"], name="mp", kernel_shape=[2, 2]),
    ]
    graph = helper.make_graph(
        nodes,
        "cnn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 4, 4, 4])],
        [_w("W0", (4, 4, 1, 1))],
    )
    assert float_islands(helper.make_model(graph)) == []


def test_a_conv_over_one_input_channel_stays_float():
    nodes = [
        helper.make_node("Conv", ["x", "Ws"], ["a"], name="stem"),
        helper.make_node("Conv", ["a", "W0"], ["out"], name="body"),
    ]
    graph = helper.make_graph(
        nodes,
        "stem",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 8, 8])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 4, 8, 8])],
        [_w("Ws", (4, 1, 3, 3)), _w("W0", (4, 4, 1, 1))],
    )
    assert float_islands(helper.make_model(graph)) == ["stem"]


def test_placement_counts_qdq_and_sides():
    scale = numpy_helper.from_array(np.array(0.1, np.float32), "s")
    zp = numpy_helper.from_array(np.array(0, np.uint8), "z")
    wq = numpy_helper.from_array(np.ones((4, 4, 1, 1), np.int8), "Wq")
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "s", "z"], ["xq"]),
        helper.make_node("DequantizeLinear", ["xq", "s", "z"], ["xd"]),
        helper.make_node("DequantizeLinear", ["Wq", "s"], ["wd"]),
        helper.make_node("Conv", ["xd", "wd"], ["c"], name="qconv"),
        helper.make_node("Sigmoid", ["c"], ["out"], name="float_sigmoid"),
    ]
    graph = helper.make_graph(
        nodes,
        "q",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 4, 8, 8])],
        [scale, zp, wq],
    )
    got = placement(helper.make_model(graph))
    assert got == {
        "quantize_linear": 1,
        "dequantize_linear": 2,
        "quantized": {"Conv": 1},
        "float": {"Sigmoid": 1},
    }
