"""TEST DOUBLE of the ``tensorrt`` Python module (and of CUDA device memory), per version.

This is not TensorRT. It emulates the *API surface* of TensorRT 8.2, 10.x and 11.x as listed
in ../shared/notes/tensorrt.md ("TensorRT Python API by version"), written independently of
``edgemnist.engine.trt_api`` so that tests of our branching are not circular:

- every object records the calls made on it in ``module.calls`` (name, args);
- attributes the emulated version lacks raise ``AttributeError`` on get *and* set (pybind11
  objects reject unknown attributes), enum members included (``BuilderFlag.FP16`` on 11.x);
- behaviour that matters for our logic is emulated: 8.x ONNX parsing fails without the
  EXPLICIT_BATCH flag; plans record the version that built them and only deserialize on that
  version; execution reads/writes :class:`FakeDeviceMemory` by address and computes logits
  of a fixed linear model, so data paths (shapes, addresses, copies) are really checked.

- CUDA contexts (with :func:`install_fake_pycuda`): an engine lives in the context current when
  it was deserialized (else the device's primary context, as the CUDA runtime API does); running
  it with a stream or buffers from another context fails like real TensorRT ("invalid resource
  handle": execute returns False).

What it cannot tell: whether real TensorRT accepts our ONNX, real kernel numerics, timing.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.util
import json
import sys
import types
from typing import Any, Dict, FrozenSet, List, Optional, Tuple

import numpy as np

VERSIONS = {"8.2": "8.2.1.8", "10": "10.3.0.26", "11": "11.4.0.106"}
MAGIC = b"FAKE-TRT-PLAN\n"


class FakeDeviceMemory:
    """TEST DOUBLE of device memory with the CudartMemory interface; pointers are ints."""

    kind = "fake-device-memory"

    def __init__(self) -> None:
        self.buffers: Dict[int, bytearray] = {}
        self.next_ptr = 0x1000
        self.stream = 0xBEEF
        self.events: List[Tuple[str, int]] = []
        self.closed = False

    def host_array(self, shape: Tuple[int, ...], dtype: Any) -> np.ndarray:
        return np.zeros(shape, dtype=dtype)

    def device_alloc(self, nbytes: int) -> int:
        ptr = self.next_ptr
        self.next_ptr += max(nbytes, 1) + 256
        self.buffers[ptr] = bytearray(nbytes)
        self.events.append(("alloc", nbytes))
        return ptr

    def htod(self, ptr: int, host: np.ndarray) -> None:
        buf = self.buffers[ptr]
        data = np.ascontiguousarray(host).tobytes()
        assert len(data) <= len(buf), "host->device copy larger than the device buffer"
        buf[: len(data)] = data
        self.events.append(("htod", len(data)))

    def dtoh(self, host: np.ndarray, ptr: int) -> None:
        buf = self.buffers[ptr]
        n = host.nbytes
        host[...] = np.frombuffer(bytes(buf[:n]), dtype=host.dtype).reshape(host.shape)
        self.events.append(("dtoh", n))

    def synchronize(self) -> None:
        self.events.append(("sync", 0))

    def free_buffers(self) -> None:
        self.buffers.clear()

    def close(self) -> None:
        self.free_buffers()
        self.closed = True


def linear_weights(onnx_bytes: bytes) -> Tuple[np.ndarray, np.ndarray]:
    """The fixed linear 'network' a fake plan computes (seeded by the ONNX bytes)."""
    seed = int.from_bytes(hashlib.sha256(onnx_bytes).digest()[:4], "little")
    rng = np.random.default_rng(seed)
    return (
        rng.standard_normal((10, 784)).astype(np.float32) * 0.05,
        rng.standard_normal(10).astype(np.float32),
    )


def _make(version: str) -> types.ModuleType:  # noqa: C901 - one emulation, one place
    major, minor = (int(p) for p in version.split(".")[:2])
    mm = (major, minor)
    mod = types.ModuleType("tensorrt")
    mod.__doc__ = f"TEST DOUBLE of tensorrt {version} (tests/unit/fake_tensorrt.py)"
    mod.__version__ = version  # type: ignore[attr-defined]
    calls: List[Tuple[str, Tuple[Any, ...]]] = []
    mod.calls = calls  # type: ignore[attr-defined]
    mod.memory = FakeDeviceMemory()  # type: ignore[attr-defined]

    def absent_if(cond: bool, *names: str) -> FrozenSet[str]:
        return frozenset(names) if cond else frozenset()

    class Obj:
        _absent: FrozenSet[str] = frozenset()
        _settable: FrozenSet[str] = frozenset()

        def __getattribute__(self, name: str) -> Any:
            if not name.startswith("_") and name in type(self)._absent:
                raise AttributeError(
                    f"[fake tensorrt {version}] '{type(self).__name__}' object has no "
                    f"attribute '{name}'"
                )
            return object.__getattribute__(self, name)

        def __setattr__(self, name: str, value: Any) -> None:
            if not name.startswith("_") and (
                name in type(self)._absent or name not in type(self)._settable
            ):
                raise AttributeError(
                    f"[fake tensorrt {version}] cannot set '{name}' on '{type(self).__name__}'"
                )
            calls.append((f"{type(self).__name__}.{name}=", (value,)))
            object.__setattr__(self, name, value)

        def _rec(self, name: str, *args: Any) -> None:
            calls.append((f"{type(self).__name__}.{name}", args))

    def enum(name: str, members: Dict[str, int]) -> type:
        return type(name, (), dict(members))

    # -- enums -------------------------------------------------------------------------------
    ncf: Dict[str, int] = {}
    if major < 11:
        ncf["EXPLICIT_BATCH"] = 0
    if major >= 10:
        ncf["STRONGLY_TYPED"] = 1
    mod.NetworkDefinitionCreationFlag = enum("NetworkDefinitionCreationFlag", ncf)  # type: ignore[attr-defined]
    bf: Dict[str, int] = {"GPU_FALLBACK": 3}
    if major < 11:
        bf.update({"FP16": 0, "INT8": 1})
    mod.BuilderFlag = enum("BuilderFlag", bf)  # type: ignore[attr-defined]
    if mm >= (8, 4):
        mod.MemoryPoolType = enum("MemoryPoolType", {"WORKSPACE": 0})  # type: ignore[attr-defined]
    if mm >= (8, 5):
        mod.TensorIOMode = enum("TensorIOMode", {"NONE": 0, "INPUT": 1, "OUTPUT": 2})  # type: ignore[attr-defined]
    mod.DataType = enum("DataType", {"FLOAT": 0, "HALF": 1, "INT8": 2})  # type: ignore[attr-defined]

    def nptype(dt: int) -> Any:
        return {0: np.float32, 1: np.float16, 2: np.int8}[dt]

    mod.nptype = nptype  # type: ignore[attr-defined]

    class Logger(Obj):
        WARNING = 2
        INFO = 3

        def __init__(self, severity: int = 2) -> None:
            self._rec("Logger", severity)

    mod.Logger = Logger  # type: ignore[attr-defined]

    if major < 11:

        class IInt8EntropyCalibrator2:
            def __init__(self) -> None:
                calls.append(("IInt8EntropyCalibrator2.__init__", ()))

        mod.IInt8EntropyCalibrator2 = IInt8EntropyCalibrator2  # type: ignore[attr-defined]

    # -- builder side ------------------------------------------------------------------------
    class TimingCache(Obj):
        def __init__(self, blob: bytes) -> None:
            self._blob = bytes(blob) or b"timing-cache-v1;"

        def serialize(self) -> bytes:
            self._rec("serialize")
            return self._blob + f"{version};".encode()

    class INetworkDefinition(Obj):
        def __init__(self, flags: int) -> None:
            self._flags = flags
            self._inputs: List[str] = []

    class IOptimizationProfile(Obj):
        def __init__(self) -> None:
            self._shapes: Dict[str, Tuple[Any, ...]] = {}

        def set_shape(self, name: str, mn: Any, opt: Any, mx: Any) -> None:
            self._rec("set_shape", name, tuple(mn), tuple(opt), tuple(mx))
            self._shapes[name] = (tuple(mn), tuple(opt), tuple(mx))

    class IBuilderConfig(Obj):
        _absent = (
            absent_if(major >= 10, "max_workspace_size")
            | absent_if(mm < (8, 4), "set_memory_pool_limit")
            | absent_if(major >= 11, "int8_calibrator", "set_calibration_profile")
        )
        _settable = frozenset({"max_workspace_size", "int8_calibrator"})

        def __init__(self) -> None:
            self._flags: List[int] = []
            self._profiles: List[IOptimizationProfile] = []
            self._cache: Optional[TimingCache] = None
            self._pool: Dict[int, int] = {}
            self._cal_profile: Optional[IOptimizationProfile] = None

        def set_calibration_profile(self, p: IOptimizationProfile) -> bool:
            # NvInfer.h (8.x): "MIN and MAX values will be overwritten by kOPT"
            self._rec("set_calibration_profile", dict(p._shapes))
            self._cal_profile = p
            return True

        def set_memory_pool_limit(self, pool: int, size: int) -> None:
            self._rec("set_memory_pool_limit", pool, size)
            self._pool[pool] = size

        def set_flag(self, flag: int) -> None:
            self._rec("set_flag", flag)
            self._flags.append(flag)

        def add_optimization_profile(self, p: IOptimizationProfile) -> int:
            self._rec("add_optimization_profile")
            self._profiles.append(p)
            return len(self._profiles) - 1

        def create_timing_cache(self, blob: bytes) -> TimingCache:
            self._rec("create_timing_cache", len(blob))
            return TimingCache(blob)

        def set_timing_cache(self, cache: TimingCache, ignore_mismatch: bool) -> bool:
            self._rec("set_timing_cache", ignore_mismatch)
            self._cache = cache
            return True

        def get_timing_cache(self) -> Optional[TimingCache]:
            return self._cache

    class OnnxParser(Obj):
        def __init__(self, network: INetworkDefinition, logger: Logger) -> None:
            self._network = network
            self._errors: List[str] = []

        @property
        def num_errors(self) -> int:
            return len(self._errors)

        def get_error(self, i: int) -> str:
            return self._errors[i]

        def parse(self, data: bytes) -> bool:
            self._rec("parse", len(data))
            if major < 10 and not self._network._flags & 1:
                self._errors.append(
                    "ModelImporter.cpp: network must have explicit batch (EXPLICIT_BATCH flag)"
                )
                return False
            if not data.startswith(b"\x08") and b"input" not in data:
                self._errors.append("ModelImporter.cpp: Failed to parse ONNX model from file")
                return False
            self._network._onnx = data
            self._network._inputs.append("input")
            return True

    class Builder(Obj):
        _absent = absent_if(major >= 10, "build_engine") | absent_if(
            major >= 11, "platform_has_fast_fp16", "platform_has_fast_int8"
        )
        fast_fp16 = True
        fast_int8 = True

        def __init__(self, logger: Logger) -> None:
            self._rec("Builder")

        @property
        def platform_has_fast_fp16(self) -> bool:
            return type(self).fast_fp16

        @property
        def platform_has_fast_int8(self) -> bool:
            return type(self).fast_int8

        def create_network(self, flags: int = 0) -> INetworkDefinition:
            self._rec("create_network", flags)
            known = sum(1 << v for v in ncf.values())
            if flags & ~known:
                raise TypeError(f"[fake tensorrt {version}] unknown network flags {flags}")
            return INetworkDefinition(flags)

        def create_builder_config(self) -> IBuilderConfig:
            self._rec("create_builder_config")
            return IBuilderConfig()

        def create_optimization_profile(self) -> IOptimizationProfile:
            self._rec("create_optimization_profile")
            return IOptimizationProfile()

        def build_serialized_network(
            self, network: INetworkDefinition, config: IBuilderConfig
        ) -> Optional[bytes]:
            self._rec("build_serialized_network")
            if not config._profiles:
                return None  # dynamic shapes need a profile, as in real TensorRT
            ((name, (mn, opt, mx)),) = config._profiles[0]._shapes.items()
            calibrated = self._calibrate(config, name)
            header = {
                "version": version,
                "input": name,
                "min": mn,
                "opt": opt,
                "max": mx,
                "flags": sorted(config._flags),
                "strongly_typed": bool(network._flags & 2),
                "calibration_images": calibrated,
            }
            return MAGIC + json.dumps(header).encode() + b"\n" + network._onnx

        def _calibrate(self, config: IBuilderConfig, name: str) -> Optional[int]:
            """Run the INT8 calibrator as TensorRT does for a dynamic-shape network: each
            batch is read at the calibration profile's kOPT shape, or, without one, at the
            first optimization profile's (sampleEngines.cpp sizes its own calibrator's
            buffers the same way); returns how many images calibration actually read."""
            cal = config.__dict__.get("int8_calibrator")
            if cal is None:
                return None
            profile = config._cal_profile or config._profiles[0]
            n = profile._shapes[name][1][0]
            images = 0
            while True:
                ptrs = cal.get_batch([name])
                if ptrs is None:
                    break
                buf = mod.memory.buffers[ptrs[0]]  # type: ignore[attr-defined]
                assert len(buf) >= n * 784 * 4, "calibration shape larger than the batch"
                images += n
            cal.write_calibration_cache(f"TRT-{major}{minor}00-EntropyCalibration2\n".encode())
            return images

        def build_engine(self, network: Any, config: Any) -> Any:
            self._rec("build_engine")
            raise AssertionError("edgemnist must use build_serialized_network on 8.x")

    mod.Builder = Builder  # type: ignore[attr-defined]
    mod.OnnxParser = OnnxParser  # type: ignore[attr-defined]

    # -- runtime side ------------------------------------------------------------------------
    class ICudaEngine(Obj):
        _absent = absent_if(
            major >= 10,
            "num_bindings",
            "get_binding_name",
            "binding_is_input",
            "get_binding_dtype",
            "get_binding_index",
            "get_profile_shape",
        ) | absent_if(
            mm < (8, 5),
            "num_io_tensors",
            "get_tensor_name",
            "get_tensor_mode",
            "get_tensor_dtype",
            "get_tensor_profile_shape",
        )

        def __init__(self, header: Dict[str, Any], onnx: bytes) -> None:
            driver = getattr(mod, "cuda_driver", None)
            self._ctx = driver.runtime_context() if driver is not None else None
            self._h = header
            self._w, self._b = linear_weights(onnx)
            self._names = [header["input"], "logits"]

        # 8.x bindings API
        @property
        def num_bindings(self) -> int:
            return 2

        def get_binding_name(self, i: int) -> str:
            return self._names[i]

        def binding_is_input(self, i: int) -> bool:
            return i == 0

        def get_binding_dtype(self, i: int) -> int:
            return 0

        def get_profile_shape(self, profile: int, binding: int) -> List[Tuple[int, ...]]:
            self._rec("get_profile_shape", profile, binding)
            return [tuple(self._h["min"]), tuple(self._h["opt"]), tuple(self._h["max"])]

        # >= 8.5 tensors API
        @property
        def num_io_tensors(self) -> int:
            return 2

        def get_tensor_name(self, i: int) -> str:
            return self._names[i]

        def get_tensor_mode(self, name: str) -> int:
            return 1 if name == self._names[0] else 2

        def get_tensor_dtype(self, name: str) -> int:
            return 0

        def get_tensor_profile_shape(self, name: str, profile: int) -> List[Tuple[int, ...]]:
            self._rec("get_tensor_profile_shape", name, profile)
            return [tuple(self._h["min"]), tuple(self._h["opt"]), tuple(self._h["max"])]

        def create_execution_context(self) -> IExecutionContext:
            self._rec("create_execution_context")
            return IExecutionContext(self)

    class IExecutionContext(Obj):
        _absent = absent_if(major >= 10, "execute_async_v2", "set_binding_shape") | absent_if(
            mm < (8, 5), "execute_async_v3", "set_tensor_address", "set_input_shape"
        )

        def __init__(self, engine: ICudaEngine) -> None:
            self._e = engine
            self._shape: Optional[Tuple[int, ...]] = None
            self._addr: Dict[str, int] = {}

        def _check_shape(self, shape: Tuple[int, ...]) -> None:
            mx = self._e._h["max"]
            if shape[0] > mx[0] or tuple(shape[1:]) != tuple(mx[1:]):
                raise ValueError(f"[fake tensorrt] shape {shape} outside the profile")
            self._shape = tuple(shape)

        def set_binding_shape(self, i: int, shape: Any) -> bool:
            self._rec("set_binding_shape", i, tuple(shape))
            self._check_shape(tuple(shape))
            return True

        def set_input_shape(self, name: str, shape: Any) -> bool:
            self._rec("set_input_shape", name, tuple(shape))
            self._check_shape(tuple(shape))
            return True

        def set_tensor_address(self, name: str, ptr: int) -> bool:
            self._rec("set_tensor_address", name, ptr)
            self._addr[name] = ptr
            return True

        def _foreign(self, stream: int, *ptrs: int) -> bool:
            """Whether the stream, a buffer or the current context is not the engine's."""
            driver = getattr(mod, "cuda_driver", None)
            if driver is None:
                return False
            used = {driver.context_of_stream(stream), driver.current()}
            used |= {driver.context_of_pointer(p) for p in ptrs}
            if used != {self._e._ctx}:
                calls.append(("error", ("Cuda Runtime (invalid resource handle)",)))
                return True
            return False

        def _run(self, in_ptr: int, out_ptr: int) -> bool:
            assert self._shape is not None, "input shape not set before execution"
            n = self._shape[0]
            mem = mod.memory  # type: ignore[attr-defined]
            x = np.frombuffer(bytes(mem.buffers[in_ptr][: n * 784 * 4]), dtype=np.float32)
            y = x.reshape(n, 784) @ self._e._w.T + self._e._b
            mem.buffers[out_ptr][: y.nbytes] = y.astype(np.float32).tobytes()
            return True

        def execute_async_v2(self, bindings: List[int], stream: int) -> bool:
            self._rec("execute_async_v2", list(bindings), stream)
            if self._foreign(stream, *bindings):
                return False
            return self._run(bindings[0], bindings[1])

        def execute_async_v3(self, stream: int) -> bool:
            self._rec("execute_async_v3", stream)
            in_ptr, out_ptr = self._addr[self._e._names[0]], self._addr["logits"]
            if self._foreign(stream, in_ptr, out_ptr):
                return False
            return self._run(in_ptr, out_ptr)

    class Runtime(Obj):
        def __init__(self, logger: Logger) -> None:
            self._rec("Runtime")

        def deserialize_cuda_engine(self, data: bytes) -> Optional[ICudaEngine]:
            self._rec("deserialize_cuda_engine", len(data))
            if not data.startswith(MAGIC):
                return None  # real TensorRT logs an error and returns None
            head, _, onnx = data[len(MAGIC) :].partition(b"\n")
            header = json.loads(head)
            if header["version"] != version:
                return None  # "Serialization assertion stdVersionRead == serializationVersion"
            return ICudaEngine(header, onnx)

    mod.Runtime = Runtime  # type: ignore[attr-defined]
    return mod


def make_fake_tensorrt(which: str) -> types.ModuleType:
    """A fresh TEST DOUBLE module emulating tensorrt ``which`` ("8.2", "10", "11" or a full
    version string such as "8.6.1")."""
    return _make(VERSIONS.get(which, which))


def call_names(mod: types.ModuleType) -> List[str]:
    """The names of the calls recorded on a fake module, in order."""
    return [name for name, _ in mod.calls]  # type: ignore[attr-defined]


# -- pycuda ----------------------------------------------------------------------------------
class FakeCudaDriver:
    """TEST DOUBLE of the CUDA driver state pycuda sees: contexts, the current-context stack,
    streams and device allocations, each remembering the context it was made in.

    Real rules emulated: a stream or allocation needs a current context (pycuda raises
    ``LogicError: ... no currently active context?``); ``Device.make_context()`` (what
    ``pycuda.autoinit`` calls) creates a NEW context and pushes it; ``retain_primary_context()``
    returns the device's primary context, the one the CUDA runtime API and therefore TensorRT use
    when no context is current; copies on a stream from another context fail.
    """

    def __init__(self, pycuda_version: str) -> None:
        self.version = tuple(int(p) for p in pycuda_version.split("."))
        self.primary = "primary(0)"
        self.stack: List[str] = []
        self.made: List[str] = []  # contexts created with make_context
        self.buffers: Dict[int, bytearray] = {}
        self._ptr_ctx: Dict[int, str] = {}
        self._stream_ctx: Dict[int, str] = {}
        self._next = 0x7000

    # what the fake tensorrt asks
    def current(self) -> Optional[str]:
        return self.stack[-1] if self.stack else None

    def runtime_context(self) -> str:
        """The context a CUDA-runtime call (TensorRT) uses: the current one, else primary."""
        if not self.stack:
            self.stack.append(self.primary)  # cudart makes the primary context current
        return self.stack[-1]

    def context_of_pointer(self, ptr: int) -> Optional[str]:
        return self._ptr_ctx.get(ptr)

    def context_of_stream(self, handle: int) -> Optional[str]:
        return self._stream_ctx.get(handle)

    def _need_context(self, what: str) -> str:
        if not self.stack:
            raise RuntimeError(
                f"[fake pycuda] {what} failed: explicit_context_dependent failed: invalid device "
                "context - no currently active context?"
            )
        return self.stack[-1]

    def _id(self) -> int:
        self._next += 0x1000
        return self._next

    def module(self) -> Tuple[types.ModuleType, types.ModuleType]:
        """(``pycuda`` package, ``pycuda.driver``) modules over this state."""
        drv = types.ModuleType("pycuda.driver")
        drv.__doc__ = "TEST DOUBLE of pycuda.driver (tests/unit/fake_tensorrt.py)"
        state = self

        class Context:
            def __init__(self, name: str) -> None:
                self.name = name

            def push(self) -> None:
                state.stack.append(self.name)

            def pop(self) -> None:
                assert state.stack and state.stack[-1] == self.name, "pop of a non-current context"
                state.stack.pop()

            def detach(self) -> None:
                pass

        class Device:
            def __init__(self, n: int) -> None:
                assert n == 0, "one fake device"

            def make_context(self) -> Context:
                ctx = Context(f"context-{len(state.made) + 1}")
                state.made.append(ctx.name)
                ctx.push()
                return ctx

            def compute_capability(self) -> Tuple[int, int]:
                return (8, 7)

            def name(self) -> str:
                return "Orin"

        if self.version >= (2020, 1):  # Device.retain_primary_context: pycuda 2020.1+

            def retain_primary_context(self: Any) -> Context:
                return Context(state.primary)

            Device.retain_primary_context = retain_primary_context  # type: ignore[attr-defined]

        class DeviceAllocation:
            def __init__(self, nbytes: int) -> None:
                self.ctx = state._need_context("mem_alloc")
                self.ptr = state._id()
                state.buffers[self.ptr] = bytearray(nbytes)
                state._ptr_ctx[self.ptr] = self.ctx

            def __int__(self) -> int:
                return self.ptr

            def free(self) -> None:
                state.buffers.pop(self.ptr, None)

        class Stream:
            def __init__(self) -> None:
                ctx = state._need_context("Stream")
                self.handle = state._id()
                state._stream_ctx[self.handle] = ctx

            def synchronize(self) -> None:
                pass

        def check(stream: Stream, ptr: int) -> None:
            ctxs = {state.current(), state._stream_ctx[stream.handle], state._ptr_ctx[int(ptr)]}
            if len(ctxs) != 1:
                raise RuntimeError("[fake pycuda] cuMemcpyAsync failed: invalid resource handle")

        def memcpy_htod_async(dest: int, src: np.ndarray, stream: Stream) -> None:
            check(stream, dest)
            data = np.ascontiguousarray(src).tobytes()
            state.buffers[int(dest)][: len(data)] = data

        def memcpy_dtoh_async(dest: np.ndarray, src: int, stream: Stream) -> None:
            check(stream, src)
            raw = bytes(state.buffers[int(src)][: dest.nbytes])
            dest[...] = np.frombuffer(raw, dtype=dest.dtype).reshape(dest.shape)

        drv.init = lambda: None  # type: ignore[attr-defined]
        drv.Device = Device  # type: ignore[attr-defined]
        drv.Context = Context  # type: ignore[attr-defined]
        drv.Stream = Stream  # type: ignore[attr-defined]
        drv.mem_alloc = DeviceAllocation  # type: ignore[attr-defined]
        drv.pagelocked_empty = lambda shape, dtype: np.zeros(shape, dtype)  # type: ignore[attr-defined]
        drv.memcpy_htod_async = memcpy_htod_async  # type: ignore[attr-defined]
        drv.memcpy_dtoh_async = memcpy_dtoh_async  # type: ignore[attr-defined]
        pkg = types.ModuleType("pycuda")
        pkg.__path__ = []  # type: ignore[attr-defined]  # a package: submodules import
        pkg.VERSION = self.version  # type: ignore[attr-defined]
        pkg.driver = drv  # type: ignore[attr-defined]
        return pkg, drv


class _FakePycudaFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports ``pycuda.autoinit`` (pycuda: ``make_default_context()`` = a new context, pushed)
    and, from pycuda 2021.1, ``pycuda.autoprimaryctx`` (retain the primary context and push it),
    running their side effect at import like the real modules."""

    def __init__(self, driver: FakeCudaDriver, drv: types.ModuleType) -> None:
        self.driver, self.drv = driver, drv

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name == "pycuda.autoinit" or (
            name == "pycuda.autoprimaryctx" and self.driver.version >= (2021, 1)
        ):
            return importlib.util.spec_from_loader(name, self)
        return None

    def create_module(self, spec: Any) -> None:
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        dev = self.drv.Device(0)  # type: ignore[attr-defined]
        if module.__name__ == "pycuda.autoinit":
            module.context = dev.make_context()  # type: ignore[attr-defined]
        else:
            module.context = dev.retain_primary_context()  # type: ignore[attr-defined]
            module.context.push()  # type: ignore[attr-defined]


def install_fake_pycuda(monkeypatch: Any, pycuda_version: str = "2022.2") -> FakeCudaDriver:
    """Make ``import pycuda...`` find the TEST DOUBLE for the rest of the test; returns its
    driver state (pass it to a fake tensorrt as ``trt.cuda_driver`` and ``trt.memory``)."""
    driver = FakeCudaDriver(pycuda_version)
    pkg, drv = driver.module()
    monkeypatch.setitem(sys.modules, "pycuda", pkg)
    monkeypatch.setitem(sys.modules, "pycuda.driver", drv)
    for name in ("pycuda.autoinit", "pycuda.autoprimaryctx"):
        # recorded as absent, so whatever the test imports is removed again afterwards
        monkeypatch.setitem(sys.modules, name, None)
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(sys, "meta_path", [_FakePycudaFinder(driver, drv), *sys.meta_path])
    return driver
