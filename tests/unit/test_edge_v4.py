"""EdgeNet's residual option (edge-v4.toml): layout, parameter names, identity at zero weights,
and the deployed graph ORT runs (BN folded, the shortcut's Add and the ReLU fused)."""

from __future__ import annotations

import warnings

import pytest

torch = pytest.importorskip("torch")

from edgemnist.models import build_model  # noqa: E402
from edgemnist.models.edge import ResidualConv  # noqa: E402
from edgemnist.models.stats import count_params  # noqa: E402
from edgemnist.training.recipe import load_recipe, model_args  # noqa: E402


def _v4(**extra):
    return build_model("edge", **model_args(load_recipe("edge-v4")), **extra)


def test_v4_recipe_builds_two_residual_blocks():
    m = _v4()
    kinds = [type(layer).__name__ for layer in m.features]
    assert kinds.count("ResidualConv") == 2
    # the stride-2 block changes resolution: no shortcut there
    assert not isinstance(m.features[1], ResidualConv)
    assert count_params(m) == 15_290
    assert m(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


def test_residual_keeps_the_parameter_names():
    args = model_args(load_recipe("edge-v4"))
    plain = build_model("edge", **{**args, "residual": False})
    assert plain.state_dict().keys() == _v4().state_dict().keys()


def test_residual_block_is_identity_at_zero_weights():
    block = ResidualConv(16).eval()
    torch.nn.init.zeros_(block[0].weight)
    x = torch.rand(3, 16, 7, 7)  # non-negative, as after a ReLU
    assert torch.equal(block(x), x)


def test_onnx_runtime_fuses_the_shortcut(tmp_path):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    src, opt = tmp_path / "m.onnx", tmp_path / "opt.onnx"
    with warnings.catch_warnings():  # the TorchScript exporter warns; deliberate, as in export
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            _v4().eval(), torch.zeros(1, 1, 28, 28), str(src), opset_version=13, dynamo=False
        )
    exported = [n.op_type for n in onnx.load(str(src)).graph.node]
    assert "BatchNormalization" not in exported and exported.count("Add") == 2
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.optimized_model_filepath = str(opt)
    ort.InferenceSession(str(src), sess_options=opts, providers=["CPUExecutionProvider"])
    ran = [n.op_type for n in onnx.load(str(opt)).graph.node]
    assert "Add" not in ran and "Relu" not in ran
    assert ran.count("Conv") == 4 and "Gemm" in ran
