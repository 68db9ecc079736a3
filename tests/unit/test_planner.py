"""Precision planner: what each device/TensorRT/ONNX combination gets, and why."""

from __future__ import annotations

import pytest

from edgemnist.engine.gpu import NO_GPU, fast_fp16, fast_int8, from_compute_capability
from edgemnist.engine.planner import plan_precision
from edgemnist.engine.trt_api import api_for, parse_version
from edgemnist.errors import ConfigError

NANO = from_compute_capability("NVIDIA Tegra X1", (5, 3), "device-tree")
TX2 = from_compute_capability("NVIDIA Tegra X2", (6, 2), "device-tree")
ORIN = from_compute_capability("Orin", (8, 7), "device-tree")
GTX1080 = from_compute_capability("NVIDIA GeForce GTX 1080", (6, 1), "cudart")


def test_capability_table():
    assert NANO.maxwell and NANO.fast_fp16 and not NANO.fast_int8
    assert not TX2.fast_int8 and TX2.fast_fp16
    assert GTX1080.fast_int8 and not GTX1080.fast_fp16  # consumer Pascal: slow FP16
    assert ORIN.fast_fp16 and ORIN.fast_int8 and not ORIN.maxwell
    assert fast_fp16((9, 0)) and fast_int8((9, 0)) and not fast_fp16((5, 2))


def test_int8_refused_on_maxwell_with_reason():
    plan = plan_precision("int8", NANO, "8.2.1", "fp32")
    assert (plan.precision, plan.flags, plan.mode) == ("fp16", ["FP16"], "builder-flag")
    assert any("INT8 refused" in r and "Maxwell" in r for r in plan.reasons)


def test_auto_on_nano_is_fp16():
    plan = plan_precision("auto", NANO, "8.2.1", "fp32")
    assert plan.precision == "fp16" and any("fast FP16" in r for r in plan.reasons)


def test_qdq_onnx_on_nano_is_refused_with_fix():
    with pytest.raises(ConfigError, match="build from the FP32 model.onnx"):
        plan_precision("auto", NANO, "8.2.1", "qdq")


def test_qdq_onnx_on_orin_is_explicit_int8():
    plan = plan_precision("auto", ORIN, "10.3.0", "qdq")
    assert (plan.precision, plan.mode) == ("int8", "qdq-onnx") and "INT8" in plan.flags


def test_int8_from_fp32_onnx_8x_uses_calibrator_but_10_refuses():
    assert plan_precision("int8", ORIN, "8.5.2", "fp32").mode == "calibrator"
    with pytest.raises(ConfigError, match="only from a QDQ ONNX"):
        plan_precision("int8", ORIN, "10.3.0", "fp32")


@pytest.mark.parametrize("kind, precision", [("fp32", "fp32"), ("fp16", "fp16"), ("qdq", "int8")])
def test_trt11_precision_comes_from_the_onnx(kind, precision):
    plan = plan_precision("auto", ORIN, "11.4.0", kind)
    assert plan.precision == precision and plan.strongly_typed and plan.flags == []
    assert any("strongly typed" in r for r in plan.reasons)


def test_trt11_refuses_a_precision_the_onnx_lacks():
    with pytest.raises(ConfigError, match=r"strongly typed.*model\.fp16\.onnx"):
        plan_precision("fp16", ORIN, "11.4.0", "fp32")


def test_fp16_onnx_keeps_fp16_even_when_fp32_asked():
    assert plan_precision("fp32", ORIN, "10.3.0", "fp16").precision == "fp16"


def test_no_fast_fp16_auto_is_fp32():
    assert plan_precision("auto", NO_GPU, "10.3.0", "fp32").precision == "fp32"


def test_unknown_precision():
    with pytest.raises(ConfigError, match="choose auto, fp32, fp16, int8"):
        plan_precision("bf16", ORIN, "10.3.0", "fp32")


def test_api_table():
    assert parse_version("8.2.1.8") == (8, 2, 1)
    a82, a86, a10, a11 = (api_for(v) for v in ("8.2.1", "8.6.1", "10.3.0", "11.4.0"))
    assert a82.bindings and not a82.io_tensors and not a82.memory_pool and a82.max_workspace_size
    assert a86.io_tensors and a86.memory_pool and a86.explicit_batch_required
    assert not a10.bindings and not a10.explicit_batch_required and a10.precision_flags
    assert a11.strongly_typed_only and not a11.precision_flags and not a11.platform_fast_flags
