"""INT8 entropy calibrator for TensorRT 8.x/10.x builds from an FP32 ONNX.

Used only where the planner chose mode "calibrator" (TensorRT 8.x, GPU with fast INT8, FP32
ONNX). NVIDIA deprecated calibrators in 10.1 and removed them in 11; a QDQ ONNX is the
preferred route everywhere. The calibration cache (``TRT-8203-EntropyCalibration2`` header)
is tied to the TensorRT version and GPU, so it lives beside the engine, keyed like it.

Not verified on hardware here (no GPU/TensorRT on the development machines); exercised with
the tensorrt test double.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator, List, Optional

import numpy as np


def calibration_batches(n_images: int = 512, batch: int = 32) -> List[np.ndarray]:
    """Normalized MNIST *training* images (never the test set) in float32 batches."""
    from edgemnist.constants import normalize
    from edgemnist.data.mnist import load_split

    images, _ = load_split("train")
    x = normalize(images[:n_images])
    return [np.ascontiguousarray(x[i : i + batch]) for i in range(0, len(x), batch)]


def make_calibrator(trt: Any, memory: Any, batches: List[np.ndarray], cache: Path) -> Any:
    """An ``IInt8EntropyCalibrator2`` subclass instance feeding ``batches`` through ``memory``.

    Args:
        trt: the tensorrt module.
        memory: a device-memory object (``CudartMemory`` or the pycuda equivalent).
        batches: float32 arrays of one shape (N, 1, 28, 28).
        cache: calibration cache file (read if present, written after calibration).
    """
    base = trt.IInt8EntropyCalibrator2

    class _Calibrator(base):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            base.__init__(self)
            self.batch = int(batches[0].shape[0])
            self.iter: Iterator[np.ndarray] = iter(batches)
            self.device = memory.device_alloc(batches[0].nbytes)
            self.host = memory.host_array(batches[0].shape, np.float32)

        def get_batch_size(self) -> int:
            return self.batch

        def get_batch(self, names: Any) -> Optional[List[int]]:
            chunk = next(self.iter, None)
            if chunk is None or chunk.shape != self.host.shape:
                return None
            self.host[...] = chunk
            memory.htod(self.device, self.host)
            memory.synchronize()
            return [int(self.device)]

        def read_calibration_cache(self) -> Optional[bytes]:
            return cache.read_bytes() if cache.is_file() else None

        def write_calibration_cache(self, data: Any) -> None:
            from edgemnist.atomic import write_bytes

            write_bytes(cache, bytes(data))

    return _Calibrator()
