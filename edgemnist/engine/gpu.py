"""Facts about this machine's GPU: name, compute capability, fast FP16 / INT8, Maxwell or not.

Sources, first that answers wins (none of them raises out of :func:`detect_gpu`):

1. pycuda, when importable (it initialises a CUDA context);
2. the ctypes libcudart binding (:mod:`edgemnist.runners.cudart`);
3. a Jetson's device tree (``/proc/device-tree/compatible``: ``nvidia,tegra210`` is the
   Nano's Tegra X1, sm_53), read through a root prefix so tests can feed a fake board.

Fast FP16/INT8 come from TensorRT's ``builder.platform_has_fast_fp16/_int8`` where the
caller passes them (TensorRT < 11 has them), else from the compute-capability table below
(NVIDIA's arithmetic-throughput table: FP16 at full rate from sm_53 except sm_61, DP4A/tensor
INT8 from sm_61 except the TX2's sm_62).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

#: Jetson SoCs by device-tree ``compatible`` string: (GPU name, compute capability)
TEGRA_GPUS: Dict[str, Tuple[str, Tuple[int, int]]] = {
    "nvidia,tegra210": ("NVIDIA Tegra X1", (5, 3)),  # Jetson Nano, TX1 (Maxwell)
    "nvidia,tegra186": ("NVIDIA Tegra X2", (6, 2)),  # Jetson TX2 (Pascal)
    "nvidia,tegra194": ("Xavier", (7, 2)),  # Jetson Xavier NX / AGX (Volta)
    "nvidia,tegra234": ("Orin", (8, 7)),  # Jetson Orin Nano / NX / AGX (Ampere)
}


def fast_fp16(cc: Tuple[int, int]) -> bool:
    """Whether a GPU of compute capability ``cc`` runs FP16 at (at least) FP32 rate."""
    return cc >= (5, 3) and cc != (6, 1) and cc != (5, 0) and cc != (5, 2)


def fast_int8(cc: Tuple[int, int]) -> bool:
    """Whether a GPU of compute capability ``cc`` has fast INT8 (DP4A or tensor cores)."""
    return cc >= (6, 1) and cc != (6, 2)


@dataclass
class GpuInfo:
    """What the precision planner and the engine cache need to know about a GPU."""

    name: str
    compute_capability: Optional[Tuple[int, int]]
    fast_fp16: bool
    fast_int8: bool
    #: where the facts came from: "tensorrt", "pycuda", "cudart", "device-tree" or "none"
    source: str
    extra: Dict[str, Any] = field(default_factory=dict)

    @property
    def present(self) -> bool:
        return self.compute_capability is not None

    @property
    def cc(self) -> str:
        """Compute capability as ``"5.3"`` (empty when there is no GPU)."""
        cc = self.compute_capability
        return f"{cc[0]}.{cc[1]}" if cc else ""

    @property
    def maxwell(self) -> bool:
        """Maxwell (sm_5x: Jetson Nano/TX1): no fast INT8; FP16 is the useful reduction."""
        return bool(self.compute_capability and self.compute_capability[0] == 5)

    def as_dict(self) -> Dict[str, Any]:
        d = asdict(self)
        d["compute_capability"] = self.cc or None
        d["maxwell"] = self.maxwell
        return d


NO_GPU = GpuInfo("none", None, False, False, "none")


def from_compute_capability(name: str, cc: Tuple[int, int], source: str) -> GpuInfo:
    """A :class:`GpuInfo` whose fast-precision flags come from the capability table."""
    return GpuInfo(name, cc, fast_fp16(cc), fast_int8(cc), source)


def _read(root: Path, rel: str) -> str:
    try:
        return (root / rel.lstrip("/")).read_bytes().replace(b"\0", b"\n").decode(errors="replace")
    except OSError:
        return ""


def from_device_tree(root: Path = Path("/")) -> Optional[GpuInfo]:
    """GPU facts of a Jetson from its device tree (None on anything that is not a Jetson)."""
    compatible = _read(root, "/proc/device-tree/compatible").split()
    for key, (name, cc) in TEGRA_GPUS.items():
        if key in compatible:
            info = from_compute_capability(name, cc, "device-tree")
            info.extra["board"] = _read(root, "/proc/device-tree/model").strip()
            return info
    return None


def from_cudart(device: int = 0) -> Optional[GpuInfo]:
    """GPU facts from libcudart (None when there is no library or no device)."""
    try:
        from edgemnist.runners.cudart import CudaRuntime

        rt = CudaRuntime()
        if rt.device_count() < 1:
            return None
        info = from_compute_capability(
            rt.device_name(device), rt.compute_capability(device), "cudart"
        )
        info.extra["cuda_runtime"] = rt.runtime_version()
        return info
    except Exception:  # any failure means "not from this source"
        return None


def from_pycuda(device: int = 0) -> Optional[GpuInfo]:
    """GPU facts from pycuda (None when pycuda is missing or finds no device)."""
    try:
        import pycuda.driver as cuda  # type: ignore[import-not-found]

        cuda.init()
        dev = cuda.Device(device)
        cc = tuple(int(v) for v in dev.compute_capability())
        return from_compute_capability(str(dev.name()), (cc[0], cc[1]), "pycuda")
    except Exception:
        return None


def with_tensorrt_flags(info: GpuInfo, trt: Any) -> GpuInfo:
    """Overwrite the fast FP16/INT8 flags with TensorRT's own answer where it has one.

    TensorRT 11 removed ``platform_has_fast_fp16/_int8``; the table then stands.
    """
    try:
        builder = trt.Builder(trt.Logger(trt.Logger.WARNING))
        fp16 = builder.platform_has_fast_fp16
        int8 = builder.platform_has_fast_int8
    except Exception:
        return info
    return GpuInfo(
        info.name, info.compute_capability, bool(fp16), bool(int8), "tensorrt", info.extra
    )


def detect_gpu(root: Path = Path("/"), device: int = 0, use_cuda: bool = True) -> GpuInfo:
    """Describe GPU ``device``; never raises.

    Args:
        root: filesystem root for the device tree (tests pass a fake Jetson tree).
        device: CUDA device index.
        use_cuda: query pycuda/libcudart (tests with a fake root turn this off).

    Returns:
        A :class:`GpuInfo`; ``NO_GPU`` when nothing answers.
    """
    if use_cuda:
        for probe in (from_pycuda, from_cudart):
            info = probe(device)
            if info is not None:
                return info
    info = from_device_tree(Path(root))
    return info if info is not None else NO_GPU
