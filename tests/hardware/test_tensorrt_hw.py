"""Real-hardware checks: CUDA buffers through libcudart, GPU facts, and a real TensorRT build
+ inference compared with ONNX Runtime. Skipped unless the hardware/software is present.

Run on a Jetson (or any CUDA machine with TensorRT): ``pytest tests/hardware -m "gpu or tensorrt"``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest


def _has_gpu() -> bool:
    try:
        from edgemnist.runners.cudart import CudaRuntime

        return CudaRuntime().device_count() > 0
    except Exception:
        return False


HAS_GPU = _has_gpu()
HAS_TRT = importlib.util.find_spec("tensorrt") is not None
needs_gpu = pytest.mark.skipif(not HAS_GPU, reason="no CUDA GPU (libcudart reports none)")
needs_trt = pytest.mark.skipif(not (HAS_GPU and HAS_TRT), reason="needs TensorRT and a CUDA GPU")


def _roundtrip(mem, n: int = 64) -> None:
    """Pinned host -> device -> pinned host on the memory object's stream."""
    host = mem.host_array((n, 1, 28, 28), np.float32)
    host[...] = np.random.default_rng(0).standard_normal(host.shape)
    back = mem.host_array((n, 1, 28, 28), np.float32)
    dev = mem.device_alloc(host.nbytes)
    mem.htod(dev, host)
    mem.dtoh(back, dev)
    mem.synchronize()
    assert np.array_equal(host, back)


@pytest.mark.gpu
@needs_gpu
def test_cudart_roundtrip_through_device_memory():
    from edgemnist.runners.cudart import CudartMemory

    mem = CudartMemory()
    try:
        _roundtrip(mem)
    finally:
        mem.close()


@pytest.mark.gpu
@needs_gpu
def test_gpu_facts_from_cudart():
    from edgemnist.engine.gpu import from_cudart

    info = from_cudart()
    assert info is not None and info.present and info.name
    assert info.compute_capability is not None and info.compute_capability[0] >= 5


@pytest.mark.tensorrt
@pytest.mark.gpu
@pytest.mark.jetson
@needs_trt
@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_real_engine_matches_onnxruntime(tmp_path, precision):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    import sys

    sys.path.insert(0, str(Path(__file__).parents[1] / "unit"))
    from tiny_onnx import write_tiny_onnx

    from edgemnist.engine.build import BuildOptions, build_engine
    from edgemnist.runners.onnxruntime import OnnxRuntimeRunner
    from edgemnist.runners.tensorrt import TensorRTRunner

    onnx = write_tiny_onnx(tmp_path / "model.onnx")
    opts = BuildOptions(precision=precision, builder="python", max_batch=32)
    res = build_engine(onnx, options=opts)
    assert res.backend == "tensorrt" and res.artifact.stat().st_size > 0
    x = np.random.default_rng(0).standard_normal((17, 1, 28, 28)).astype(np.float32)
    with TensorRTRunner(res.artifact) as trt_r, OnnxRuntimeRunner(onnx) as ort_r:
        got, want = trt_r.infer(x), ort_r.infer(x)
    tol = 1e-4 if res.manifest["precision"] == "fp32" else 5e-2
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    assert (got.argmax(1) == want.argmax(1)).mean() >= 0.99
    again = build_engine(onnx, options=opts)
    assert again.reused


class _DeviceBuffers:
    """Lets the tensorrt TEST DOUBLE read/write real device memory (by pointer) through
    libcudart, so the runner's real CUDA data path (pinned host arrays, async copies on its
    stream, buffer growth, frees) is exercised on a GPU even where TensorRT is absent."""

    def __init__(self, mem) -> None:
        self.mem = mem

    def __getitem__(self, ptr: int) -> _DeviceBuffers._View:
        return _DeviceBuffers._View(self.mem, ptr)

    class _View:
        def __init__(self, mem, ptr: int) -> None:
            self.mem, self.ptr = mem, ptr

        def __getitem__(self, sl: slice) -> bytes:
            from edgemnist.runners.cudart import DEVICE_TO_HOST

            n = sl.stop
            out = np.empty(n, np.uint8)
            self.mem.synchronize()  # the runner's host->device copy is on its stream
            self.mem.rt.memcpy_async(out.ctypes.data, self.ptr, n, DEVICE_TO_HOST, self.mem.stream)
            self.mem.synchronize()
            return out.tobytes()

        def __setitem__(self, sl: slice, data: bytes) -> None:
            from edgemnist.runners.cudart import HOST_TO_DEVICE

            src = np.frombuffer(data, np.uint8).copy()
            self.mem.rt.memcpy_async(
                self.ptr, src.ctypes.data, len(data), HOST_TO_DEVICE, self.mem.stream
            )
            self.mem.synchronize()


@pytest.mark.gpu
@needs_gpu
def test_runner_data_path_on_real_device_memory(tmp_path):
    import sys

    sys.path.insert(0, str(Path(__file__).parents[1] / "unit"))
    pytest.importorskip("onnx")
    from fake_tensorrt import linear_weights, make_fake_tensorrt
    from tiny_onnx import write_tiny_onnx

    from edgemnist.engine.build import BuildOptions, build_engine
    from edgemnist.engine.gpu import from_cudart
    from edgemnist.runners.cudart import CudartMemory
    from edgemnist.runners.tensorrt import TensorRTRunner

    gpu = from_cudart()
    onnx = write_tiny_onnx(tmp_path / "model.onnx")
    trt = make_fake_tensorrt("10")
    opts = BuildOptions(builder="python", max_batch=64)
    res = build_engine(onnx, options=opts, trt_module=trt, gpu=gpu)
    mem = CudartMemory()
    trt.memory = type("M", (), {"buffers": _DeviceBuffers(mem)})()
    w, b = linear_weights(onnx.read_bytes())
    rng = np.random.default_rng(0)
    with TensorRTRunner(res.artifact, trt_module=trt, memory=mem, gpu=gpu) as r:
        assert r.info["memory"] == "cudart"
        for n in (1, 7, 33, 64, 2):
            x = rng.standard_normal((n, 1, 28, 28)).astype(np.float32)
            np.testing.assert_allclose(r.infer(x), x.reshape(n, -1) @ w.T + b, rtol=1e-5, atol=1e-5)
    assert mem.stream == 0  # closed: buffers and stream freed without CUDA errors


HAS_PYCUDA = importlib.util.find_spec("pycuda") is not None


@pytest.mark.gpu
@needs_gpu
@pytest.mark.skipif(not HAS_PYCUDA, reason="pycuda not installed")
def test_pycuda_memory_is_in_the_primary_context():
    """The context TensorRT (CUDA runtime API) uses is the primary one; PycudaMemory must make
    that current, never a context of its own as pycuda.autoinit does."""
    import pycuda.driver as cuda

    from edgemnist.runners.tensorrt import PycudaMemory

    mem = PycudaMemory()
    primary = cuda.Device(0).retain_primary_context()
    try:
        assert cuda.Context.get_current().handle == primary.handle
        _roundtrip(mem, 8)
    finally:
        mem.close()
        primary.detach()


@pytest.mark.gpu
@needs_gpu
@pytest.mark.skipif(not HAS_PYCUDA, reason="pycuda not installed")
def test_pycuda_autoinit_would_push_a_second_context():
    """Why autoinit is not used: in a fresh process its context is not the primary one."""
    import subprocess
    import sys

    code = (
        "import pycuda.autoinit, pycuda.driver as cuda\n"
        "p = cuda.Device(0).retain_primary_context()\n"
        "print(cuda.Context.get_current().handle != p.handle)\n"
        "p.detach()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
