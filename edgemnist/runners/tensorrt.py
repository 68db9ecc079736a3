"""TensorRT runner: loads a plan built by ``edgemnist build-engine`` and runs it on the GPU.

API by version (:mod:`edgemnist.engine.trt_api`):

- TensorRT 8.0-8.4 (Jetson Nano: JetPack 4.6 = 8.0.1, 4.6.1+ = 8.2.1; JetPack 5.0.x = 8.4):
  bindings: ``num_bindings``, ``get_binding_index``,
  ``set_binding_shape`` and ``execute_async_v2(bindings, stream)``;
- TensorRT >= 8.5, 10.x, 11.x: named I/O tensors: ``num_io_tensors``, ``get_tensor_name``,
  ``set_input_shape``, ``set_tensor_address`` and ``execute_async_v3(stream)``.

Buffers go through pycuda when it is importable (JetPack users often have it), in the CUDA
primary context (``pycuda.autoprimaryctx``, never ``pycuda.autoinit``: see
:func:`primary_context`), else through the ctypes libcudart binding
(:mod:`edgemnist.runners.cudart`), which needs nothing installed and uses the primary context
too. Memory is opened before the engine is deserialized, so all of it shares one context.
Dynamic batch: the engine's optimization profile gives the largest batch; buffers grow on
demand up to it.

An engine only loads on the TensorRT version and GPU that built it. The manifest beside the
engine says which; a mismatch is a one-line :class:`ArtifactError` telling the user to
rebuild, instead of TensorRT's "Serialization assertion stdVersionRead == serializationVersion
failed".

Verified here with the honest tensorrt and device-memory test doubles
(tests/unit/test_trt_branches.py). Not verified without hardware: a real engine on a real GPU
(tests/hardware/test_tensorrt_hw.py runs that where TensorRT and a GPU exist).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Dict, List, Optional, Tuple, cast

import numpy as np

from edgemnist.engine.gpu import GpuInfo
from edgemnist.engine.trt_api import TrtApi, api_of, parse_version
from edgemnist.errors import ArtifactError, BackendUnavailable, InputError
from edgemnist.runners.base import Runner

if TYPE_CHECKING:  # stubs only (.ci/typecheck): the TensorRT 10 path is checked against them
    import tensorrt

#: (name, binding index, numpy dtype) of one engine input/output
IoSpec = Tuple[str, int, Any]


def primary_context(cuda: Any) -> Any:
    """Make device 0's primary CUDA context current for pycuda; returns the context this code
    must pop on close, or None when ``pycuda.autoprimaryctx`` owns it.

    TensorRT works in the context current on its thread, else in the primary context (it uses
    the CUDA runtime API). ``pycuda.autoinit`` would create and push a second context instead:
    buffers and streams made there fail against the engine with "invalid resource handle".
    ``pycuda.autoprimaryctx`` exists from pycuda 2021.1 (github.com/inducer/pycuda, added
    2021-03-09, tag v2021.1); ``Device.retain_primary_context()`` from 2020.1.

    Raises:
        BackendUnavailable: pycuda older than 2020.1 (no primary-context API).
    """
    try:
        import pycuda.autoprimaryctx  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        pass
    else:
        return None
    cuda.init()
    device = cuda.Device(0)
    if not hasattr(device, "retain_primary_context"):
        raise BackendUnavailable(
            "this pycuda predates 2020.1 and cannot use the CUDA primary context that TensorRT "
            "uses: upgrade pycuda (pip install 'pycuda>=2021.1') or uninstall it (libcudart "
            "through ctypes is used instead)"
        )
    ctx = device.retain_primary_context()
    ctx.push()
    return ctx


class PycudaMemory:
    """The :class:`~edgemnist.runners.cudart.CudartMemory` interface over pycuda, in the CUDA
    primary context (see :func:`primary_context`).

    pycuda needs that context current on the calling thread: use it from the thread that
    opened it (the ctypes libcudart binding has no such limit: the runtime API falls back to
    the primary context on any thread). Verified with the pycuda test double
    (tests/unit/test_trt_branches.py); the GPU check
    (tests/hardware/test_tensorrt_hw.py::test_pycuda_memory_is_in_the_primary_context) has not
    run yet: no GPU machine with pycuda was available to this change.
    """

    kind = "pycuda"

    def __init__(self) -> None:
        import pycuda.driver as cuda  # type: ignore[import-not-found]

        self.cuda = cuda
        self._ctx = primary_context(cuda)
        self._stream = cuda.Stream()
        self.stream = int(self._stream.handle)
        self._keep: list = []

    def host_array(self, shape: Tuple[int, ...], dtype: Any) -> np.ndarray:
        arr = self.cuda.pagelocked_empty(shape, np.dtype(dtype))
        self._keep.append(arr)
        return arr  # type: ignore[no-any-return]

    def device_alloc(self, nbytes: int) -> int:
        mem = self.cuda.mem_alloc(max(1, nbytes))
        self._keep.append(mem)
        return int(mem)

    def htod(self, device_ptr: int, host: np.ndarray) -> None:
        self.cuda.memcpy_htod_async(device_ptr, host, self._stream)

    def dtoh(self, host: np.ndarray, device_ptr: int) -> None:
        self.cuda.memcpy_dtoh_async(host, device_ptr, self._stream)

    def synchronize(self) -> None:
        self._stream.synchronize()

    def free_buffers(self) -> None:
        for obj in self._keep:
            if hasattr(obj, "free"):
                obj.free()
        self._keep.clear()

    def close(self) -> None:
        self.free_buffers()
        self._stream = None
        if self._ctx is not None:  # retained and pushed by primary_context(): undo both
            self._ctx.pop()
            self._ctx.detach()
            self._ctx = None


def open_memory() -> Any:
    """pycuda-backed memory if pycuda imports and initialises, else libcudart via ctypes.

    Raises:
        BackendUnavailable: neither works (no CUDA runtime or no GPU).
    """
    try:
        return PycudaMemory()
    except Exception:  # ImportError, or pycuda present but its build/driver is broken
        pass
    from edgemnist.runners.cudart import CudartMemory

    return CudartMemory()


def check_engine_manifest(
    engine: Path, manifest: Dict[str, Any], trt_version: str, gpu: Optional[GpuInfo]
) -> None:
    """Refuse an engine built by another TensorRT version or for another GPU.

    Raises:
        ArtifactError: one line naming both sides and the command that rebuilds it.
    """
    fmt = manifest.get("format")
    if fmt != "tensorrt":
        raise ArtifactError(f"{engine}: its manifest says format {fmt!r}, not a TensorRT engine")
    trt_info = manifest.get("tensorrt") or {}
    device = manifest.get("device") or {}
    built_v = str(trt_info.get("version") or "")
    built_gpu, built_cc = device.get("gpu"), device.get("compute_capability")
    problems = []
    if built_v and parse_version(built_v) != parse_version(trt_version):
        problems.append(f"TensorRT {built_v} (this is {trt_version})")
    here = gpu if gpu is not None and gpu.present else None
    if (
        here is not None
        and built_gpu
        and (built_gpu != here.name or built_cc not in (None, here.cc))
    ):
        problems.append(f"GPU {built_gpu} sm {built_cc} (this is {here.name} sm {here.cc})")
    if problems:
        source = (manifest.get("source") or {}).get("file") or "model.onnx"
        raise ArtifactError(
            f"{engine} was built for {' and '.join(problems)}: rebuild it here with "
            f"`edgemnist build-engine {Path(engine).parent / source}`"
        )


class TensorRTRunner(Runner):
    """Run a TensorRT plan (8.2 bindings API or >= 8.5 tensor API).

    Args:
        path: the engine (``model.engine``).
        check_manifest: refuse engines whose manifest names another TensorRT/GPU.
        memory: a device-memory object to use (tests pass a double); default
            :func:`open_memory`.
        trt_module: a tensorrt module to use instead of importing it (tests).
        gpu: GPU facts for the manifest check (default: detected).

    Example:
        >>> with TensorRTRunner("engines/edge/model.engine") as r:  # doctest: +SKIP
        ...     logits = r.infer(x)
    """

    name: ClassVar[str] = "tensorrt"

    def __init__(
        self,
        path: Any,
        check_manifest: bool = True,
        memory: Any = None,
        trt_module: Any = None,
        gpu: Optional[GpuInfo] = None,
        **options: Any,
    ) -> None:
        super().__init__(Path(path), **options)
        self.check_manifest = check_manifest
        self._memory = memory
        self._trt = trt_module
        self._gpu = gpu
        self.max_batch = 0
        self._capacity = 0
        self._runtime: Any = None
        self._engine: Any = None
        self._context: Any = None

    @classmethod
    def available(cls) -> Tuple[bool, str]:
        try:
            import tensorrt as trt
        except Exception as exc:
            return False, f"tensorrt is not importable ({type(exc).__name__})"
        try:
            import importlib.util

            if importlib.util.find_spec("pycuda") is None:
                from edgemnist.runners.cudart import CudaRuntime

                if CudaRuntime().device_count() < 1:
                    return False, "no CUDA GPU"
            return True, f"TensorRT {trt.__version__}"
        except Exception as exc:
            return False, f"no CUDA runtime for buffers ({str(exc).splitlines()[0]})"

    def _load(self) -> None:
        trt = self._trt
        if trt is None:
            try:
                import tensorrt as trt
            except Exception as exc:
                raise BackendUnavailable(
                    f"tensorrt is not importable ({type(exc).__name__}): on a Jetson it comes "
                    "with JetPack; elsewhere use the ONNX model with ONNX Runtime"
                ) from None
        self._trt = trt
        path: Path = self.path
        if not path.is_file() or path.stat().st_size == 0:
            raise ArtifactError(f"{path}: engine not found or empty: run edgemnist build-engine")
        from edgemnist.manifest import check_artifact_hash, read_manifest

        manifest = read_manifest(path, required=False)
        if manifest is not None and self.check_manifest:
            gpu = self._gpu
            if gpu is None:
                from edgemnist.engine.gpu import detect_gpu

                gpu = detect_gpu()
            check_engine_manifest(path, manifest, str(trt.__version__), gpu)
            check_artifact_hash(path, manifest)
        api = api_of(trt)
        self._api = api
        if self._memory is None:
            # before deserializing: the engine then lives in the context the buffers and the
            # stream are made in (the primary one)
            self._memory = open_memory()
        self._logger = trt.Logger(trt.Logger.WARNING)
        runtime: tensorrt.Runtime = trt.Runtime(self._logger)
        engine: Optional[tensorrt.ICudaEngine] = runtime.deserialize_cuda_engine(path.read_bytes())
        if engine is None:
            raise ArtifactError(
                f"{path}: TensorRT {api.label} cannot deserialize it (built by another version "
                "or GPU, or corrupt): rebuild it with `edgemnist build-engine`"
            )
        self._runtime = runtime
        self._engine = engine
        self._context = engine.create_execution_context()
        self._describe_io(trt, api, engine)
        self.info = {
            "tensorrt": str(trt.__version__),
            "api": "tensors+execute_async_v3" if api.io_tensors else "bindings+execute_async_v2",
            "memory": getattr(self._memory, "kind", type(self._memory).__name__),
            "max_batch": self.max_batch,
            "precision": (manifest or {}).get("precision"),
        }

    def _describe_io(self, trt: Any, api: TrtApi, engine: tensorrt.ICudaEngine) -> None:
        inputs: List[IoSpec] = []
        outputs: List[IoSpec] = []
        # 8.x bindings API: absent from the TensorRT 10 stubs, so reached untyped; covered by
        # the test double (tests/unit/test_trt_branches.py)
        legacy: Any = engine
        if api.io_tensors:
            for i in range(engine.num_io_tensors):
                name = engine.get_tensor_name(i)
                is_in = engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT
                dtype = np.dtype(trt.nptype(engine.get_tensor_dtype(name)))
                (inputs if is_in else outputs).append((name, i, dtype))
        else:
            for i in range(legacy.num_bindings):
                name = legacy.get_binding_name(i)
                dtype = np.dtype(trt.nptype(legacy.get_binding_dtype(i)))
                (inputs if legacy.binding_is_input(i) else outputs).append((name, i, dtype))
        if len(inputs) != 1 or len(outputs) != 1:
            raise ArtifactError(
                f"{self.path}: expected 1 input and 1 output, found {len(inputs)} and "
                f"{len(outputs)}: build it from an edgemnist ONNX"
            )
        self._in, self._out = inputs[0], outputs[0]
        if api.io_tensors:
            profile = engine.get_tensor_profile_shape(self._in[0], 0)
        else:
            profile = legacy.get_profile_shape(0, self._in[1])
        self.max_batch = int(profile[2][0])

    def _ensure_capacity(self, n: int) -> None:
        if n <= self._capacity:
            return
        cap = min(self.max_batch, max(n, 2 * self._capacity, 1))
        mem = self._memory
        mem.free_buffers()
        in_dtype, out_dtype = self._in[2], self._out[2]
        self._h_in = mem.host_array((cap, 1, 28, 28), in_dtype)
        self._h_out = mem.host_array((cap, 10), out_dtype)
        self._d_in = mem.device_alloc(self._h_in.nbytes)
        self._d_out = mem.device_alloc(self._h_out.nbytes)
        self._capacity = cap

    def _infer(self, x: np.ndarray) -> np.ndarray:
        n = int(x.shape[0])
        if n > self.max_batch:
            raise InputError(
                f"batch {n} exceeds this engine's maximum batch {self.max_batch}: rebuild with "
                "a larger --max-batch or split the batch"
            )
        self._ensure_capacity(n)
        mem = self._memory
        ctx: tensorrt.IExecutionContext = self._context
        h_in, h_out = self._h_in[:n], self._h_out[:n]
        h_in[...] = x
        mem.htod(self._d_in, h_in)
        # pybind11 converts the tuple to Dims (as NVIDIA's samples rely on); stubs cannot say so
        shape = cast("tensorrt.Dims", (n, 1, 28, 28))
        if self._api.io_tensors:
            ctx.set_input_shape(self._in[0], shape)
            ctx.set_tensor_address(self._in[0], self._d_in)
            ctx.set_tensor_address(self._out[0], self._d_out)
            ok = ctx.execute_async_v3(mem.stream)
        else:
            legacy: Any = ctx  # 8.x bindings API (not in the TensorRT 10 stubs)
            legacy.set_binding_shape(self._in[1], shape)
            bindings = [0] * 2
            bindings[self._in[1]] = self._d_in
            bindings[self._out[1]] = self._d_out
            ok = legacy.execute_async_v2(bindings, mem.stream)
        if not ok:
            raise BackendUnavailable("TensorRT execution failed (see its log): check the GPU")
        mem.dtoh(h_out, self._d_out)
        mem.synchronize()
        return np.array(h_out, dtype=np.float32, copy=True)

    def _close(self) -> None:
        if self._memory is not None:
            self._memory.close()
        self._memory = None
        self._capacity = 0
        self._context = None
        self._engine = None
        self._runtime = None
