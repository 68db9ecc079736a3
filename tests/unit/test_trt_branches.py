"""TensorRT 8.2 / 10 / 11 branches of the builder and the runner, against the TEST DOUBLE in
fake_tensorrt.py (records calls, rejects attributes the emulated version lacks).

These test our version branching and data paths, not TensorRT itself (see
tests/hardware/test_tensorrt_hw.py for that)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from fake_tensorrt import FakeDeviceMemory, call_names, linear_weights, make_fake_tensorrt
from tiny_onnx import write_tiny_onnx

from edgemnist.engine.build import (
    BuildOptions,
    build_engine,
    build_with_python_api,
    input_shapes,
)
from edgemnist.engine.gpu import from_compute_capability
from edgemnist.engine.planner import plan_precision
from edgemnist.errors import ArtifactError, ConfigError, InputError
from edgemnist.runners.tensorrt import TensorRTRunner

NANO = from_compute_capability("NVIDIA Tegra X1", (5, 3), "device-tree")
ORIN = from_compute_capability("Orin", (8, 7), "device-tree")
WS_BIT = 256 << 20


@pytest.fixture
def onnx_path(tmp_path: Path) -> Path:
    return write_tiny_onnx(tmp_path / "run" / "model.onnx")


def _calls(trt, name):
    return [args for n, args in trt.calls if n == name]


# -- the double is honest -------------------------------------------------------------------
def test_double_rejects_attributes_the_version_lacks():
    t82, t10, t11 = (make_fake_tensorrt(v) for v in ("8.2", "10", "11"))
    cfg10 = t10.Builder(t10.Logger()).create_builder_config()
    with pytest.raises(AttributeError):
        cfg10.max_workspace_size = 1 << 20  # removed in 10
    with pytest.raises(AttributeError):
        t11.BuilderFlag.FP16  # noqa: B018  (removed in 11)
    with pytest.raises(AttributeError):
        t11.NetworkDefinitionCreationFlag.EXPLICIT_BATCH  # noqa: B018
    with pytest.raises(AttributeError):
        t82.MemoryPoolType  # noqa: B018  (8.4+)
    with pytest.raises(AttributeError):
        t11.Builder(t11.Logger()).platform_has_fast_fp16  # noqa: B018
    assert not hasattr(t11, "IInt8EntropyCalibrator2")
    cfg82 = t82.Builder(t82.Logger()).create_builder_config()
    with pytest.raises(AttributeError):
        cfg82.set_memory_pool_limit(0, 1)
    with pytest.raises(AttributeError):
        cfg82.some_typo = 1  # pybind11 objects reject unknown attributes


# -- builder branches -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "version, gpu, expect_flags, expect_pool, expect_set_flags, mode",
    [
        ("8.2", NANO, 1, False, [0], "builder-flag"),  # EXPLICIT_BATCH bit, max_workspace_size
        ("8.6.1", ORIN, 1, True, [0], "builder-flag"),  # memory pool (8.4+), still explicit batch
        ("10", ORIN, 0, True, [0], "builder-flag"),  # EXPLICIT_BATCH is a no-op: not passed
        ("11", ORIN, 2, True, [], "strongly-typed"),  # STRONGLY_TYPED bit, no precision flags
    ],
)
def test_python_api_branches(
    onnx_path, tmp_path, version, gpu, expect_flags, expect_pool, expect_set_flags, mode
):
    trt = make_fake_tensorrt(version)
    requested = "fp16" if version != "11" else "auto"
    plan = plan_precision(requested, gpu, trt.__version__, "fp32")
    assert plan.mode == mode
    tc = tmp_path / "timing.cache"
    data = build_with_python_api(trt, onnx_path, plan, 256, input_shapes(64, 1), tc)
    names = call_names(trt)
    assert _calls(trt, "Builder.create_network") == [(expect_flags,)]
    if expect_pool:
        assert _calls(trt, "IBuilderConfig.set_memory_pool_limit") == [(0, WS_BIT)]
        assert "IBuilderConfig.max_workspace_size=" not in names
    else:
        assert _calls(trt, "IBuilderConfig.max_workspace_size=") == [(WS_BIT,)]
    assert [a[0] for a in _calls(trt, "IBuilderConfig.set_flag")] == expect_set_flags
    assert "Builder.build_serialized_network" in names and "Builder.build_engine" not in names
    assert _calls(trt, "IOptimizationProfile.set_shape") == [
        ("input", (1, 1, 28, 28), (1, 1, 28, 28), (64, 1, 28, 28))
    ]
    assert data.startswith(b"FAKE-TRT-PLAN")
    assert tc.read_bytes().endswith(trt.__version__.encode() + b";")  # timing cache persisted


def test_explicit_batch_is_required_on_8x(onnx_path):
    """Without the flag the 8.x parser fails: proves the flag in the branch above matters."""
    trt = make_fake_tensorrt("8.2")
    builder = trt.Builder(trt.Logger())
    parser = trt.OnnxParser(builder.create_network(0), trt.Logger())
    assert not parser.parse(onnx_path.read_bytes())


def test_parser_error_is_one_line_artifact_error(tmp_path):
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"not an onnx model at all")
    trt = make_fake_tensorrt("10")
    plan = plan_precision("fp32", ORIN, trt.__version__, "fp32")
    with pytest.raises(ArtifactError, match="ONNX parser rejected it") as e:
        build_with_python_api(trt, bad, plan, 256, input_shapes(8), None)
    assert "\n" not in str(e.value)


# -- build-engine with the double: cache, manifest, reuse -----------------------------------
def _build(onnx_path, trt, gpu, **kw):
    lines = []
    kw.setdefault("builder", "python")
    res = build_engine(
        onnx_path, options=BuildOptions(**kw), trt_module=trt, gpu=gpu, say=lines.append,
        root=Path("/nonexistent"),
    )  # fmt: skip
    return res, lines


def test_build_engine_cache_reuse_and_rebuild_reasons(onnx_path):
    trt = make_fake_tensorrt("8.2")
    res, lines = _build(onnx_path, trt, NANO, precision="int8")
    assert res.backend == "tensorrt" and not res.reused
    assert res.manifest["precision"] == "fp16"  # INT8 refused on Maxwell
    assert any("INT8 refused" in ln and "Maxwell" in ln for ln in lines)
    engine = res.artifact
    assert engine.name == "model.engine" and engine.stat().st_size > 0
    m = json.loads((engine.parent / "model.engine.json").read_text())
    assert m["format"] == "tensorrt" and m["tensorrt"]["version"] == trt.__version__
    assert (
        m["cache_key"]["gpu"] == "NVIDIA Tegra X1" and m["cache_key"]["compute_capability"] == "5.3"
    )
    assert m["cache_key"]["workspace_mib"] == 1024  # no small-board facts under a missing root

    res2, lines2 = _build(onnx_path, trt, NANO, precision="int8")
    assert res2.reused and any("reusing" in ln for ln in lines2)

    res3, lines3 = _build(onnx_path, trt, NANO, precision="fp32")
    assert not res3.reused and any("precision changed: fp16 -> fp32" in ln for ln in lines3)

    t10 = make_fake_tensorrt("10")
    res4, lines4 = _build(onnx_path, t10, NANO, precision="fp32")
    assert any("TensorRT version changed: 8.2.1.8 -> 10.3.0.26" in ln for ln in lines4)

    res5, lines5 = _build(onnx_path, t10, NANO, precision="fp32", force_rebuild=True)
    assert not res5.reused and any("--force-rebuild" in ln for ln in lines5)


def test_int8_on_trt10_needs_qdq(onnx_path):
    with pytest.raises(ConfigError, match="QDQ"):
        _build(onnx_path, make_fake_tensorrt("10"), ORIN, precision="int8")


def test_small_board_workspace_default(onnx_path, tmp_path):
    root = tmp_path / "nano"
    (root / "proc").mkdir(parents=True)
    (root / "proc/meminfo").write_text(
        "MemTotal:        4051048 kB\nMemAvailable:    2400000 kB\nSwapTotal:       2025524 kB\n"
    )
    (root / "proc/swaps").write_text(
        "Filename\tType\tSize\tUsed\tPriority\n/dev/zram0 partition 506380 0 5\n"
    )
    trt = make_fake_tensorrt("8.2")
    lines: list = []
    res = build_engine(
        onnx_path, options=BuildOptions(builder="python"), trt_module=trt, gpu=NANO,
        say=lines.append, root=root,
    )  # fmt: skip
    assert res.manifest["workspace_mib"] == 256
    assert _calls(trt, "IBuilderConfig.max_workspace_size=") == [(256 << 20,)]
    text = "\n".join(lines)
    assert "zram" in text and "swapfile" in text


# -- runner branches ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "version, api_call",
    [("8.2", "execute_async_v2"), ("10", "execute_async_v3"), ("11", "execute_async_v3")],
)
def test_runner_branches_and_dynamic_batch(onnx_path, version, api_call):
    trt = make_fake_tensorrt(version)
    res, _ = _build(onnx_path, trt, ORIN, max_batch=8)
    w, b = linear_weights(onnx_path.read_bytes())
    rng = np.random.default_rng(1)
    with TensorRTRunner(res.artifact, trt_module=trt, memory=trt.memory, gpu=ORIN) as r:
        assert r.max_batch == 8
        for n in (1, 5, 3, 8):
            x = rng.standard_normal((n, 1, 28, 28)).astype(np.float32)
            out = r.infer(x)
            np.testing.assert_allclose(out, x.reshape(n, -1) @ w.T + b, rtol=1e-5, atol=1e-5)
        with pytest.raises(InputError, match="maximum batch 8"):
            r.infer(np.zeros((9, 1, 28, 28), np.float32))
        with pytest.raises(InputError, match="float32"):
            r.infer(np.zeros((1, 1, 28, 28), np.float64))
        with pytest.raises(InputError, match=r"\(N, 1, 28, 28\)"):
            r.infer(np.zeros((1, 28, 28), np.float32))
    names = call_names(trt)
    assert f"IExecutionContext.{api_call}" in names
    other = "execute_async_v3" if api_call == "execute_async_v2" else "execute_async_v2"
    assert f"IExecutionContext.{other}" not in names
    shape_call = "set_binding_shape" if version == "8.2" else "set_input_shape"
    assert [a[-1][0] for n, a in trt.calls if n == f"IExecutionContext.{shape_call}"] == [
        1,
        5,
        3,
        8,
    ]
    assert trt.memory.closed


def test_engine_from_another_trt_version_is_refused_in_one_line(onnx_path):
    res, _ = _build(onnx_path, make_fake_tensorrt("8.2"), NANO)
    t10 = make_fake_tensorrt("10")
    with pytest.raises(ArtifactError) as e:
        TensorRTRunner(res.artifact, trt_module=t10, memory=t10.memory, gpu=NANO).load()
    msg = str(e.value)
    assert "TensorRT 8.2.1.8" in msg and "edgemnist build-engine" in msg and "\n" not in msg


def test_engine_for_another_gpu_is_refused(onnx_path):
    trt = make_fake_tensorrt("10")
    res, _ = _build(onnx_path, trt, ORIN)
    with pytest.raises(ArtifactError, match="GPU Orin sm 8.7.*rebuild it here"):
        TensorRTRunner(res.artifact, trt_module=trt, memory=trt.memory, gpu=NANO).load()


def test_engine_without_manifest_still_fails_cleanly(onnx_path):
    res, _ = _build(onnx_path, make_fake_tensorrt("8.2"), NANO)
    (res.artifact.parent / "model.engine.json").unlink()
    t11 = make_fake_tensorrt("11")
    with pytest.raises(ArtifactError, match="cannot deserialize"):
        TensorRTRunner(res.artifact, trt_module=t11, memory=t11.memory, gpu=NANO).load()


def test_missing_engine(tmp_path):
    trt = make_fake_tensorrt("10")
    with pytest.raises(ArtifactError, match="not found"):
        TensorRTRunner(tmp_path / "model.engine", trt_module=trt, memory=trt.memory).load()


def test_calibrator_feeds_batches_through_device_memory(tmp_path):
    from edgemnist.engine.calibrator import make_calibrator

    trt = make_fake_tensorrt("8.2")
    mem = FakeDeviceMemory()
    batches = [np.full((4, 1, 28, 28), i, np.float32) for i in range(3)]
    cal = make_calibrator(trt, mem, batches, tmp_path / "calib.cache")
    assert cal.get_batch_size() == 4 and cal.read_calibration_cache() is None
    for i in range(3):
        (ptr,) = cal.get_batch(["input"])
        got = np.frombuffer(bytes(mem.buffers[ptr]), np.float32)
        assert got.size == 4 * 784 and np.all(got == i)
    assert cal.get_batch(["input"]) is None
    cal.write_calibration_cache(b"TRT-8201-EntropyCalibration2\n")
    assert cal.read_calibration_cache().startswith(b"TRT-8201")


def test_heartbeat_ticks_during_a_slow_build(onnx_path, monkeypatch):
    import time

    import edgemnist.engine.build as build_mod

    monkeypatch.setattr(build_mod, "HEARTBEAT_S", 0.02)
    trt = make_fake_tensorrt("10")
    real = trt.Builder.build_serialized_network

    def slow(self, network, config):
        time.sleep(0.2)  # a build that takes a while
        return real(self, network, config)

    monkeypatch.setattr(trt.Builder, "build_serialized_network", slow)
    ticks: list = []
    build_engine(
        onnx_path, options=BuildOptions(builder="python"), trt_module=trt, gpu=ORIN,
        root=Path("/nonexistent"), tick=lambda label, s: ticks.append((label, s)),
    )  # fmt: skip
    assert len(ticks) >= 3
    assert all("building FP16 engine with TensorRT 10.3.0.26" in label for label, _ in ticks)
    assert [s for _, s in ticks] == sorted(s for _, s in ticks)


def test_unknown_precision_or_builder_is_a_config_error(onnx_path):
    with pytest.raises(ConfigError, match="unknown precision"):
        build_engine(onnx_path, options=BuildOptions(precision="bf16"))
    with pytest.raises(ConfigError, match="unknown builder"):
        build_engine(onnx_path, options=BuildOptions(builder="onnx"))


# -- pycuda: the CUDA primary context ---------------------------------------------------------
@pytest.mark.parametrize("pycuda_version", ["2022.2", "2021.1", "2020.1"])
def test_pycuda_buffers_share_the_engines_primary_context(onnx_path, monkeypatch, pycuda_version):
    """``pycuda.autoinit`` pushed a second context: buffers and the stream made there failed
    against the engine ("invalid resource handle"). Now: autoprimaryctx (2021.1+) or
    ``retain_primary_context()`` + push (2020.1), opened before the engine is deserialized."""
    from fake_tensorrt import install_fake_pycuda

    trt = make_fake_tensorrt("10")
    res, _ = _build(onnx_path, trt, ORIN, max_batch=8)
    driver = install_fake_pycuda(monkeypatch, pycuda_version)
    trt.cuda_driver = driver
    trt.memory = driver  # the fake engine reads/writes the fake pycuda allocations
    w, b = linear_weights(onnx_path.read_bytes())
    x = np.random.default_rng(2).standard_normal((5, 1, 28, 28)).astype(np.float32)
    with TensorRTRunner(res.artifact, trt_module=trt, gpu=ORIN) as r:
        assert r.info["memory"] == "pycuda"
        np.testing.assert_allclose(r.infer(x), x.reshape(5, -1) @ w.T + b, rtol=1e-5, atol=1e-5)
    assert driver.made == []  # no context of its own: only the primary one
    assert ("error", ("Cuda Runtime (invalid resource handle)",)) not in trt.calls
    if pycuda_version == "2020.1":
        assert driver.stack == []  # retained context popped on close


def test_fake_engine_rejects_a_foreign_context(onnx_path, monkeypatch):
    """The double is as strict as TensorRT: a stream from another context fails."""
    from fake_tensorrt import install_fake_pycuda

    trt = make_fake_tensorrt("10")
    res, _ = _build(onnx_path, trt, ORIN)
    driver = install_fake_pycuda(monkeypatch)
    trt.cuda_driver, trt.memory = driver, driver
    import pycuda.autoinit  # noqa: F401  # what the runner did before: a second context

    from edgemnist.runners.tensorrt import PycudaMemory

    engine = trt.Runtime(trt.Logger()).deserialize_cuda_engine(res.artifact.read_bytes())
    driver.stack.insert(0, "primary(0)")  # pretend the engine came first, in the primary one
    engine._ctx = "primary(0)"
    mem = object.__new__(PycudaMemory)  # its buffers, made while autoinit's context is current
    mem.cuda, mem._ctx, mem._keep = sys.modules["pycuda.driver"], None, []
    mem._stream = mem.cuda.Stream()
    mem.stream = int(mem._stream.handle)
    ctx = engine.create_execution_context()
    ctx.set_input_shape("input", (1, 1, 28, 28))
    ctx.set_tensor_address("input", mem.device_alloc(784 * 4))
    ctx.set_tensor_address("logits", mem.device_alloc(40))
    assert ctx.execute_async_v3(mem.stream) is False
    assert ("error", ("Cuda Runtime (invalid resource handle)",)) in trt.calls


def test_pycuda_before_2020_is_refused_not_given_a_second_context(monkeypatch):
    from fake_tensorrt import install_fake_pycuda

    from edgemnist.errors import BackendUnavailable
    from edgemnist.runners.tensorrt import PycudaMemory

    driver = install_fake_pycuda(monkeypatch, "2019.1")
    with pytest.raises(BackendUnavailable, match="primary context"):
        PycudaMemory()
    assert driver.made == [] and driver.stack == []


@pytest.mark.parametrize("version", ["8.2", "8.6.1"])
def test_int8_calibration_reads_every_calibration_image(onnx_path, tmp_path, version):
    """Without a calibration profile the calibrator's 4-image batches were read at the
    profile's opt shape (batch 1): calibration saw 3 images of 12."""
    from edgemnist.engine.calibrator import make_calibrator

    trt = make_fake_tensorrt(version)
    plan = plan_precision("int8", ORIN, trt.__version__, "fp32")
    assert plan.mode == "calibrator"
    batches = [np.full((4, 1, 28, 28), i, np.float32) for i in range(3)]
    cal = make_calibrator(trt, trt.memory, batches, tmp_path / "calib.cache")
    data = build_with_python_api(trt, onnx_path, plan, 256, input_shapes(64, 1), None, cal)
    header = json.loads(data.split(b"\n", 2)[1])
    assert header["calibration_images"] == 12
    (profile,) = _calls(trt, "IBuilderConfig.set_calibration_profile")
    assert profile[0]["input"] == ((4, 1, 28, 28),) * 3
    assert header["opt"] == [1, 1, 28, 28]  # the engine's own profile is untouched
    assert (tmp_path / "calib.cache").read_bytes().startswith(b"TRT-")
