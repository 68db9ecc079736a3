"""A small ctypes binding to ``libcudart``: device/host buffers, copies and streams.

TensorRT's Python samples move data with pycuda, which must be compiled on the device; the
cuda-python package needs CUDA >= 12 and Python >= 3.9, so neither is a given on a Jetson Nano
(JetPack 4.6: CUDA 10.2, Python 3.6). ``libcudart.so`` is always there, so this binding (the
approach NVIDIA's Polygraphy takes) works on every JetPack and every desktop CUDA.

Every call's ``cudaError_t`` is checked: a non-zero code raises :class:`CudaError` with
``cudaGetErrorName``/``cudaGetErrorString`` in one line.

Verified here: the library loads and the error path works on a machine with no GPU
(``cudaGetDeviceCount`` fails with a named error). Verified with a GPU only where a device
check ran (see the hardware tests): allocation, copies and streams.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from edgemnist.errors import BackendUnavailable

#: cudaMemcpyKind values (stable across CUDA 10.x-13.x)
HOST_TO_DEVICE = 1
DEVICE_TO_HOST = 2

#: cudaDeviceAttr values (stable since CUDA 5)
ATTR_COMPUTE_CAPABILITY_MAJOR = 75
ATTR_COMPUTE_CAPABILITY_MINOR = 76

#: sonames tried in order; the unversioned one needs the -dev package, so versions come first
_SONAMES = (
    "libcudart.so",
    "libcudart.so.13",
    "libcudart.so.12",
    "libcudart.so.11.0",
    "libcudart.so.10.2",
)
_DIRS = ("/usr/local/cuda/lib64", "/usr/local/cuda/targets/aarch64-linux/lib")


class CudaError(BackendUnavailable):
    """A CUDA runtime call failed (the message names the call and CUDA's error)."""


def _candidates() -> List[str]:
    env = os.environ.get("EDGEMNIST_CUDART")
    found = ctypes.util.find_library("cudart")
    names: List[str] = [env] if env else []
    names += list(_SONAMES)
    if found:
        names.append(found)
    names += [os.path.join(d, s) for d in _DIRS for s in _SONAMES]
    return names


def load_library(candidates: Optional[Sequence[str]] = None) -> ctypes.CDLL:
    """Load libcudart, trying ``EDGEMNIST_CUDART`` first, then the usual sonames and paths.

    Raises:
        BackendUnavailable: no libcudart could be loaded (the message says how to get one).
    """
    errors = []
    for name in candidates if candidates is not None else _candidates():
        try:
            return ctypes.CDLL(name)
        except OSError as exc:
            errors.append(f"{name}: {exc}")
    raise BackendUnavailable(
        "libcudart.so not found: install the CUDA runtime (JetPack ships it) or set "
        "EDGEMNIST_CUDART to its path"
    )


class CudaRuntime:
    """Checked wrappers over the few libcudart calls inference needs.

    Example:
        >>> rt = CudaRuntime()  # doctest: +SKIP
        >>> dev = rt.malloc(4096); stream = rt.stream_create()  # doctest: +SKIP
    """

    def __init__(self, lib: Optional[ctypes.CDLL] = None) -> None:
        self.lib = lib if lib is not None else load_library()
        self._declare()

    def _declare(self) -> None:
        lib, c = self.lib, ctypes
        sigs: List[Tuple[str, List[Any]]] = [
            ("cudaGetDeviceCount", [c.POINTER(c.c_int)]),
            ("cudaSetDevice", [c.c_int]),
            ("cudaDeviceGetAttribute", [c.POINTER(c.c_int), c.c_int, c.c_int]),
            ("cudaGetDeviceProperties", [c.c_void_p, c.c_int]),
            ("cudaRuntimeGetVersion", [c.POINTER(c.c_int)]),
            ("cudaDriverGetVersion", [c.POINTER(c.c_int)]),
            ("cudaMalloc", [c.POINTER(c.c_void_p), c.c_size_t]),
            ("cudaMallocHost", [c.POINTER(c.c_void_p), c.c_size_t]),
            ("cudaFree", [c.c_void_p]),
            ("cudaFreeHost", [c.c_void_p]),
            ("cudaMemcpyAsync", [c.c_void_p, c.c_void_p, c.c_size_t, c.c_int, c.c_void_p]),
            ("cudaStreamCreate", [c.POINTER(c.c_void_p)]),
            ("cudaStreamSynchronize", [c.c_void_p]),
            ("cudaStreamDestroy", [c.c_void_p]),
        ]
        for name, args in sigs:
            fn = getattr(lib, name)
            fn.argtypes = args
            fn.restype = c.c_int
        lib.cudaGetErrorName.argtypes = [c.c_int]
        lib.cudaGetErrorName.restype = c.c_char_p
        lib.cudaGetErrorString.argtypes = [c.c_int]
        lib.cudaGetErrorString.restype = c.c_char_p

    def check(self, code: int, call: str) -> None:
        """Raise :class:`CudaError` if ``code`` (a cudaError_t) is not cudaSuccess."""
        if code != 0:
            name = (self.lib.cudaGetErrorName(code) or b"?").decode()
            text = (self.lib.cudaGetErrorString(code) or b"").decode()
            raise CudaError(f"{call} failed: {name} ({code}): {text}")

    # -- devices ----------------------------------------------------------------------------
    def device_count(self) -> int:
        n = ctypes.c_int(0)
        self.check(self.lib.cudaGetDeviceCount(ctypes.byref(n)), "cudaGetDeviceCount")
        return int(n.value)

    def compute_capability(self, device: int = 0) -> Tuple[int, int]:
        major, minor = ctypes.c_int(0), ctypes.c_int(0)
        for out, attr in (
            (major, ATTR_COMPUTE_CAPABILITY_MAJOR),
            (minor, ATTR_COMPUTE_CAPABILITY_MINOR),
        ):
            code = self.lib.cudaDeviceGetAttribute(ctypes.byref(out), attr, device)
            self.check(code, "cudaDeviceGetAttribute")
        return int(major.value), int(minor.value)

    def device_name(self, device: int = 0) -> str:
        # cudaDeviceProp's layout changes between CUDA versions, but ``char name[256]`` has
        # been its first field in all of them; a generous buffer covers the rest.
        buf = ctypes.create_string_buffer(8192)
        self.check(self.lib.cudaGetDeviceProperties(buf, device), "cudaGetDeviceProperties")
        return buf.raw[:256].split(b"\0", 1)[0].decode(errors="replace")

    def runtime_version(self) -> str:
        v = ctypes.c_int(0)
        self.check(self.lib.cudaRuntimeGetVersion(ctypes.byref(v)), "cudaRuntimeGetVersion")
        return f"{v.value // 1000}.{(v.value % 1000) // 10}"

    # -- memory and streams -----------------------------------------------------------------
    def malloc(self, nbytes: int) -> int:
        ptr = ctypes.c_void_p()
        self.check(self.lib.cudaMalloc(ctypes.byref(ptr), max(1, nbytes)), "cudaMalloc")
        return int(ptr.value or 0)

    def malloc_host(self, nbytes: int) -> int:
        ptr = ctypes.c_void_p()
        self.check(self.lib.cudaMallocHost(ctypes.byref(ptr), max(1, nbytes)), "cudaMallocHost")
        return int(ptr.value or 0)

    def free(self, ptr: int) -> None:
        self.check(self.lib.cudaFree(ctypes.c_void_p(ptr)), "cudaFree")

    def free_host(self, ptr: int) -> None:
        self.check(self.lib.cudaFreeHost(ctypes.c_void_p(ptr)), "cudaFreeHost")

    def memcpy_async(self, dst: int, src: int, nbytes: int, kind: int, stream: int) -> None:
        code = self.lib.cudaMemcpyAsync(
            ctypes.c_void_p(dst), ctypes.c_void_p(src), nbytes, kind, ctypes.c_void_p(stream)
        )
        self.check(code, "cudaMemcpyAsync")

    def stream_create(self) -> int:
        s = ctypes.c_void_p()
        self.check(self.lib.cudaStreamCreate(ctypes.byref(s)), "cudaStreamCreate")
        return int(s.value or 0)

    def stream_synchronize(self, stream: int) -> None:
        self.check(self.lib.cudaStreamSynchronize(ctypes.c_void_p(stream)), "cudaStreamSynchronize")

    def stream_destroy(self, stream: int) -> None:
        self.check(self.lib.cudaStreamDestroy(ctypes.c_void_p(stream)), "cudaStreamDestroy")


class CudartMemory:
    """Pinned host arrays + device buffers + one stream, freed together by :meth:`close`.

    The same small interface is implemented over pycuda in ``runners/tensorrt.py`` so the
    TensorRT runner does not care which one it got.
    """

    kind = "cudart"

    def __init__(self, runtime: Optional[CudaRuntime] = None) -> None:
        self.rt = runtime if runtime is not None else CudaRuntime()
        self.stream = self.rt.stream_create()
        self._device: List[int] = []
        self._host: List[int] = []

    def host_array(self, shape: Tuple[int, ...], dtype: Any) -> np.ndarray:
        """A page-locked numpy array (fast, truly asynchronous copies)."""
        dt = np.dtype(dtype)
        nbytes = int(np.prod(shape)) * dt.itemsize
        ptr = self.rt.malloc_host(nbytes)
        self._host.append(ptr)
        raw = (ctypes.c_byte * max(1, nbytes)).from_address(ptr)
        return np.frombuffer(raw, dtype=dt, count=int(np.prod(shape))).reshape(shape)

    def device_alloc(self, nbytes: int) -> int:
        ptr = self.rt.malloc(nbytes)
        self._device.append(ptr)
        return ptr

    def htod(self, device_ptr: int, host: np.ndarray) -> None:
        self.rt.memcpy_async(device_ptr, host.ctypes.data, host.nbytes, HOST_TO_DEVICE, self.stream)

    def dtoh(self, host: np.ndarray, device_ptr: int) -> None:
        self.rt.memcpy_async(host.ctypes.data, device_ptr, host.nbytes, DEVICE_TO_HOST, self.stream)

    def synchronize(self) -> None:
        self.rt.stream_synchronize(self.stream)

    def free_buffers(self) -> None:
        """Free device and host buffers (not the stream): used when buffers grow."""
        while self._device:
            self.rt.free(self._device.pop())
        while self._host:
            self.rt.free_host(self._host.pop())

    def close(self) -> None:
        self.free_buffers()
        if self.stream:
            self.rt.stream_destroy(self.stream)
            self.stream = 0
