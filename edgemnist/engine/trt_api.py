"""Which TensorRT Python API a given TensorRT version has: one table, read by the builder,
the runner and the precision planner (see ../shared/notes/tensorrt.md, "by version").

Example:
    >>> api_for("8.2.1.8").io_tensors
    False
    >>> api_for("10.3.0").memory_pool
    True
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Tuple


def parse_version(version: str) -> Tuple[int, int, int]:
    """``"8.2.1.8"`` -> ``(8, 2, 1)``; missing parts are 0.

    Raises:
        ValueError: the string does not start with a number.
    """
    parts = [int(p) for p in re.findall(r"\d+", str(version))[:3]]
    if not parts:
        raise ValueError(f"not a TensorRT version: {version!r}")
    while len(parts) < 3:
        parts.append(0)
    return parts[0], parts[1], parts[2]


@dataclass(frozen=True)
class TrtApi:
    """Features of the TensorRT Python API of one version."""

    version: Tuple[int, int, int]
    #: ``builder.build_engine(network, config)`` (removed in 10)
    build_engine: bool
    #: ``config.max_workspace_size`` (removed in 10)
    max_workspace_size: bool
    #: ``config.set_memory_pool_limit(MemoryPoolType.WORKSPACE, n)`` (8.4+)
    memory_pool: bool
    #: ``NetworkDefinitionCreationFlag.EXPLICIT_BATCH`` must be passed (8.x); a no-op in 10
    explicit_batch_required: bool
    #: the EXPLICIT_BATCH flag still exists (removed in 11)
    explicit_batch_exists: bool
    #: ``NetworkDefinitionCreationFlag.STRONGLY_TYPED`` exists (10+)
    strongly_typed_flag: bool
    #: precision is set by the ONNX's types, not builder flags (11)
    strongly_typed_only: bool
    #: ``BuilderFlag.FP16`` / ``BuilderFlag.INT8`` exist (removed in 11)
    precision_flags: bool
    #: ``IInt8EntropyCalibrator2`` and ``config.int8_calibrator`` (removed in 11)
    calibrator: bool
    #: ``builder.platform_has_fast_fp16/_int8`` (removed in 11)
    platform_fast_flags: bool
    #: ``num_io_tensors`` + ``set_tensor_address`` + ``execute_async_v3`` (8.5+)
    io_tensors: bool
    #: ``num_bindings`` + ``execute_async_v2`` (removed in 10)
    bindings: bool

    @property
    def major(self) -> int:
        return self.version[0]

    @property
    def label(self) -> str:
        return ".".join(str(v) for v in self.version)


def api_for(version: str) -> TrtApi:
    """The :class:`TrtApi` of TensorRT ``version`` (a ``trt.__version__`` string)."""
    v = parse_version(version)
    mm = v[:2]
    return TrtApi(
        version=v,
        build_engine=v[0] < 10,
        max_workspace_size=v[0] < 10,
        memory_pool=mm >= (8, 4),
        explicit_batch_required=v[0] < 10,
        explicit_batch_exists=v[0] < 11,
        strongly_typed_flag=v[0] >= 10,
        strongly_typed_only=v[0] >= 11,
        precision_flags=v[0] < 11,
        calibrator=v[0] < 11,
        platform_fast_flags=v[0] < 11,
        io_tensors=mm >= (8, 5),
        bindings=v[0] < 10,
    )


def api_of(trt: Any) -> TrtApi:
    """The :class:`TrtApi` of an imported tensorrt module."""
    return api_for(str(trt.__version__))
