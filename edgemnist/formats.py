"""The one table of artifact formats and the backends that run them.

Each row says what a file is (name, suffixes, precisions, manifest ``format`` value), which
runner reads it (a ``"module:Class"`` string imported only when needed, so listing formats
imports no torch, onnxruntime or tensorrt) and which function makes it. Export, ``build-engine``,
``bench``, ``predict`` and option validation all read this table: adding a backend is a row
plus a runner class.

The choices the CLI offers (precision, backend, quantization target, calibration method,
engine builder) are the enums below: typer lists their values in ``--help`` and rejects any
other value as a usage error (exit 2). ``tests/unit/test_formats.py`` checks that they match
the table and the library modules that act on them.

Two rows may share a manifest format: ``tensorrt`` and ``trtexec`` both read a TensorRT plan;
the first row for a format is its default reader, and rows with ``auto=False`` are only used
when asked for by name (trtexec times an engine but returns no logits).

Example:
    >>> from edgemnist.formats import format_for_path, lookup
    >>> lookup("onnx-qdq").suffixes
    ('.int8.onnx',)
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Optional, Tuple, Union

from edgemnist.errors import ArtifactError, ConfigError


@dataclass(frozen=True)
class Format:
    """One row of the formats table."""

    #: name used on the command line and in reports
    name: str
    #: file name endings, most specific first (``.int8.onnx`` is checked before ``.onnx``)
    suffixes: Tuple[str, ...]
    #: precisions an artifact of this format can carry
    precisions: Tuple[str, ...]
    #: whether running it needs a CUDA GPU
    needs_gpu: bool
    #: backend name of the runner (``"onnxruntime"``, ``"torch"``, ``"tensorrt"``, ``"trtexec"``)
    backend: str
    #: runner class as ``"module:Class"``, imported lazily by :func:`runner_class`
    runner: str
    #: value of ``format`` in the artifact's manifest
    manifest_format: str
    #: one line for ``--help`` and reports
    description: str
    #: the command that writes it (shown by ``edgemnist formats``)
    made_by: str
    #: the function that makes the artifact, ``"module:function"`` (None: made elsewhere)
    export: Optional[str] = None
    #: whether ``open_runner(backend="auto")`` may pick this row
    auto: bool = True


_ORT = "edgemnist.runners.onnxruntime:OnnxRuntimeRunner"
_TORCH = "edgemnist.runners.torch:TorchRunner"

FORMATS: Tuple[Format, ...] = (
    Format(
        name="torch",
        suffixes=(".pt", ".pth"),
        precisions=("fp32",),
        needs_gpu=False,
        backend="torch",
        runner=_TORCH,
        manifest_format="torch",
        description="PyTorch checkpoint (host reference; needs torch)",
        made_by="edgemnist train",
        export=None,  # written by training (edgemnist.training.checkpoint)
    ),
    Format(
        name="torch-int8",
        suffixes=(".torch-int8.pt",),
        precisions=("int8",),
        needs_gpu=False,
        backend="torch",
        runner=_TORCH,
        manifest_format="torch-int8",
        description="PyTorch eager-mode INT8 model (x86/ARM CPU; needs torch)",
        made_by="edgemnist quantize model.pt --backend torch",
        export="edgemnist.export.torch_int8:export_torch_int8",
    ),
    Format(
        name="onnx",
        suffixes=(".onnx",),
        precisions=("fp32",),
        needs_gpu=False,
        backend="onnxruntime",
        runner=_ORT,
        manifest_format="onnx",
        description="ONNX FP32, opset 13 (runs on ONNX Runtime; TensorRT builds engines from it)",
        made_by="edgemnist export",
        export="edgemnist.export.onnx_export:export_onnx",
    ),
    Format(
        name="onnx-qdq",
        suffixes=(".int8.onnx",),
        precisions=("int8",),
        needs_gpu=False,
        backend="onnxruntime",
        runner=_ORT,
        manifest_format="onnx-qdq",
        description="ONNX with INT8 QuantizeLinear/DequantizeLinear pairs (ORT static quant.)",
        made_by="edgemnist quantize model.onnx",
        export="edgemnist.export.quantize_ort:quantize_onnx",
    ),
    Format(
        name="onnx-fp16",
        suffixes=(".fp16.onnx",),
        precisions=("fp16",),
        needs_gpu=False,
        backend="onnxruntime",
        runner=_ORT,
        manifest_format="onnx-fp16",
        description="ONNX with FP16 weights (TensorRT strongly typed FP16; slow on most CPUs)",
        made_by="edgemnist quantize model.onnx --precision fp16",
        export="edgemnist.export.fp16:export_fp16",
    ),
    Format(
        name="onnxruntime-optimized",
        suffixes=(".ort.onnx",),
        precisions=("fp32", "fp16", "int8"),
        needs_gpu=False,
        backend="onnxruntime",
        runner=_ORT,
        manifest_format="onnxruntime-optimized",
        description="ONNX with ONNX Runtime graph optimizations applied (build-engine fallback)",
        made_by="edgemnist build-engine (without TensorRT)",
        export=None,  # written by build-engine when TensorRT is absent
    ),
    Format(
        name="tensorrt",
        suffixes=(".engine", ".plan"),
        precisions=("fp32", "fp16", "int8"),
        needs_gpu=True,
        backend="tensorrt",
        runner="edgemnist.runners.tensorrt:TensorRTRunner",
        manifest_format="tensorrt",
        description="TensorRT plan built on this device (tied to its TensorRT version and GPU)",
        made_by="edgemnist build-engine",
        export=None,  # written by build-engine
    ),
    Format(
        name="trtexec",
        suffixes=(".engine", ".plan"),
        precisions=("fp32", "fp16", "int8"),
        needs_gpu=True,
        backend="trtexec",
        runner="edgemnist.runners.trtexec:TrtexecRunner",
        manifest_format="tensorrt",
        description="TensorRT plan timed by NVIDIA's trtexec in a subprocess (timings, no logits)",
        made_by="edgemnist build-engine",
        export=None,
        auto=False,
    ),
)


class Precision(str, Enum):
    """Numeric precision an artifact carries."""

    FP32 = "fp32"
    FP16 = "fp16"
    INT8 = "int8"


PRECISIONS: Tuple[str, ...] = tuple(p.value for p in Precision)


class Backend(str, Enum):
    """Backends of the table's rows (``tests/unit/test_formats.py`` keeps them equal)."""

    TORCH = "torch"
    ONNXRUNTIME = "onnxruntime"
    TENSORRT = "tensorrt"
    TRTEXEC = "trtexec"


class BackendChoice(str, Enum):
    """``--backend`` of commands that run a model: a backend, or ``auto`` (pick and explain)."""

    AUTO = "auto"
    TORCH = "torch"
    ONNXRUNTIME = "onnxruntime"
    TENSORRT = "tensorrt"
    TRTEXEC = "trtexec"


class QuantizeBackend(str, Enum):
    """``quantize --backend``: who quantizes (ONNX Runtime for .onnx, torch for .pt)."""

    ONNXRUNTIME = "onnxruntime"
    TORCH = "torch"


class QuantizePrecision(str, Enum):
    """``quantize --precision``: the reduced precisions an FP32 model is turned into."""

    INT8 = "int8"
    FP16 = "fp16"


class BuildPrecision(str, Enum):
    """``build-engine --precision``: ``auto`` is the best precision this GPU runs well."""

    AUTO = "auto"
    FP32 = "fp32"
    FP16 = "fp16"
    INT8 = "int8"


class QuantTarget(str, Enum):
    """Where an INT8 QDQ model will run: x86/ARM CPUs (ONNX Runtime) or TensorRT."""

    CPU = "cpu"
    TENSORRT = "tensorrt"


class CalibMethod(str, Enum):
    """How INT8 activation ranges are calibrated."""

    MINMAX = "minmax"
    ENTROPY = "entropy"
    PERCENTILE = "percentile"


class Builder(str, Enum):
    """What builds a TensorRT engine: the Python bindings, NVIDIA's trtexec, or auto."""

    AUTO = "auto"
    PYTHON = "python"
    TRTEXEC = "trtexec"


class TorchQEngine(str, Enum):
    """PyTorch quantized CPU engine (``quantize --backend torch --engine``)."""

    X86 = "x86"
    FBGEMM = "fbgemm"
    QNNPACK = "qnnpack"
    ONEDNN = "onednn"


def names() -> Tuple[str, ...]:
    """All format names, in table order."""
    return tuple(f.name for f in FORMATS)


def backends() -> Tuple[str, ...]:
    """All backend names, in table order, without repeats."""
    seen: list = []
    for f in FORMATS:
        if f.backend not in seen:
            seen.append(f.backend)
    return tuple(seen)


def lookup(name: str) -> Format:
    """The row called ``name``.

    Raises:
        ConfigError: unknown name (the message lists the known ones).
    """
    for f in FORMATS:
        if f.name == name:
            return f
    raise ConfigError(f"unknown format {name!r}: choose one of {', '.join(names())}")


def rows_for_manifest_format(value: str) -> Tuple[Format, ...]:
    """Rows whose manifest ``format`` is ``value`` (default reader first)."""
    return tuple(f for f in FORMATS if f.manifest_format == value)


def format_for_suffix(path: Union[str, Path]) -> Optional[Format]:
    """The row whose suffix matches ``path``'s name (longest suffix wins), or None."""
    name = Path(path).name.lower()
    best: Optional[Format] = None
    best_len = 0
    for f in FORMATS:
        for suffix in f.suffixes:
            if name.endswith(suffix) and len(suffix) > best_len:
                best, best_len = f, len(suffix)
    return best


def format_for_path(path: Union[str, Path]) -> Format:
    """The format of an artifact: its manifest's ``format`` if it has a manifest, else its suffix.

    Args:
        path: an artifact file (``model.onnx``, ``model.engine``, ...).

    Returns:
        The default row for that format (``tensorrt`` for an engine, not ``trtexec``).

    Raises:
        ArtifactError: the file is missing, its manifest names an unknown format, or its
            suffix is not one of the table's.
    """
    from edgemnist.manifest import read_manifest

    path = Path(path)
    if not path.is_file():
        raise ArtifactError(f"{path} not found: give the path of an exported model or engine")
    manifest = read_manifest(path, required=False)
    if manifest is not None and manifest.get("format"):
        rows = rows_for_manifest_format(str(manifest["format"]))
        if not rows:
            known = sorted({f.manifest_format for f in FORMATS})
            raise ArtifactError(
                f"{path}: its manifest names format {manifest['format']!r}, which this edgemnist "
                f"does not know ({', '.join(known)}): upgrade edgemnist or re-export"
            )
        return rows[0]
    row = format_for_suffix(path)
    if row is None:
        suffixes = sorted({s for f in FORMATS for s in f.suffixes})
        raise ArtifactError(
            f"{path}: cannot tell its format (no manifest beside it and its suffix is not one of "
            f"{', '.join(suffixes)})"
        )
    return row


def runner_class(name: str) -> Any:
    """Import and return the runner class for a backend or format name.

    Args:
        name: a backend (``"onnxruntime"``, ``"torch"``, ``"tensorrt"``, ``"trtexec"``) or a
            format name (``"onnx-qdq"``).

    Raises:
        ConfigError: unknown name.
        BackendUnavailable: the runner module cannot be imported here.
    """
    from edgemnist.errors import BackendUnavailable

    row = lookup_any(name)
    module_name, cls_name = row.runner.split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise BackendUnavailable(
            f"{row.backend} runner cannot be imported ({exc}): install that backend"
        ) from None
    return getattr(module, cls_name)


def lookup_any(name: str) -> Format:
    """The row for a format name, else the default row for a backend name.

    Raises:
        ConfigError: neither (the message lists both kinds of names).
    """
    for f in FORMATS:
        if f.name == name:
            return f
    for f in FORMATS:
        if f.backend == name:
            return f
    raise ConfigError(
        f"unknown backend or format {name!r}: backends are {', '.join(backends())}; "
        f"formats are {', '.join(names())}"
    )


def runner_options(artifact: Union[str, Path]) -> dict:
    """Runner options an artifact's manifest implies (used by ``verify`` and ``bench`` alike).

    A QDQ model quantized for TensorRT (symmetric, full range) is run on ONNX Runtime with its
    graph optimizations off: the QDQ pairs are then simulated in float, as TensorRT computes
    them, instead of going through x86 INT8 kernels that saturate on CPUs without VNNI. Such a
    model's CPU latency is therefore not a CPU-INT8 figure: it is there to check accuracy.

    Returns:
        ``{"graph_opt": "disable"}`` for TensorRT-target QDQ models, else ``{}``.
    """
    from edgemnist.manifest import read_manifest

    try:
        manifest = read_manifest(Path(artifact), required=False) or {}
    except ArtifactError:  # an unreadable manifest is reported by the runner itself
        return {}
    quant = manifest.get("quantization") or {}
    if manifest.get("format") == "onnx-qdq" and quant.get("target") == "tensorrt":
        return {"graph_opt": "disable"}
    return {}
