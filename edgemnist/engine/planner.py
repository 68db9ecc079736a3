"""Precision planner: which precision an engine gets, how it is asked for, and why.

Rules (../shared/notes/tensorrt.md):

- Maxwell (Jetson Nano, sm_53) has no fast INT8: INT8 is refused with the reason and FP16 is
  chosen instead; FP16 is the only useful reduced precision there.
- TensorRT 8.x: FP16 and INT8 are builder flags; INT8 comes from a QDQ ONNX (explicit
  quantization, preferred) or, for an FP32 ONNX, from an entropy calibrator on MNIST training
  images (deprecated by NVIDIA, still the 8.2 way).
- TensorRT 10.x: FP16 is a builder flag; INT8 only from a QDQ ONNX (calibrators deprecated).
- TensorRT 11.x: networks are strongly typed: the precision *is* the ONNX's (FP16 ONNX ->
  FP16, QDQ ONNX -> INT8); no flags.

Example:
    >>> from edgemnist.engine.gpu import from_compute_capability
    >>> nano = from_compute_capability("NVIDIA Tegra X1", (5, 3), "device-tree")
    >>> plan = plan_precision("int8", nano, "8.2.1", "fp32")
    >>> plan.precision, plan.flags
    ('fp16', ['FP16'])
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional

from edgemnist.engine.gpu import GpuInfo
from edgemnist.engine.trt_api import TrtApi, api_for
from edgemnist.errors import ConfigError

PRECISION_CHOICES = ("auto", "fp32", "fp16", "int8")
#: what an ONNX file carries: plain FP32, FP16 weights/activations, or INT8 Q/DQ pairs
ONNX_KINDS = ("fp32", "fp16", "qdq")


@dataclass
class PrecisionPlan:
    """The planner's answer."""

    requested: str
    precision: str
    #: how the precision is obtained: "none" (fp32), "builder-flag", "qdq-onnx",
    #: "calibrator" (8.x INT8 from an FP32 ONNX) or "strongly-typed" (11.x)
    mode: str
    #: TensorRT BuilderFlag names to set
    flags: List[str] = field(default_factory=list)
    strongly_typed: bool = False
    reasons: List[str] = field(default_factory=list)

    def as_dict(self) -> Dict[str, Any]:
        return asdict(self)


def _qdq_hint() -> str:
    return (
        "quantize first (edgemnist quantize writes model.int8.onnx, a QDQ ONNX) and build from it"
    )


def plan_precision(requested: str, gpu: GpuInfo, trt_version: str, onnx_kind: str) -> PrecisionPlan:
    """Decide the engine precision.

    Args:
        requested: "auto", "fp32", "fp16" or "int8".
        gpu: facts from :func:`edgemnist.engine.gpu.detect_gpu`.
        trt_version: ``trt.__version__`` (or trtexec's version).
        onnx_kind: "fp32", "fp16" or "qdq" (:func:`edgemnist.engine.onnx_kind.onnx_kind`).

    Returns:
        A :class:`PrecisionPlan` whose ``reasons`` say why, one line each.

    Raises:
        ConfigError: the request cannot be met at all here (the message says what to do).
    """
    if requested not in PRECISION_CHOICES:
        raise ConfigError(f"unknown precision {requested!r}: choose {', '.join(PRECISION_CHOICES)}")
    if onnx_kind not in ONNX_KINDS:
        raise ConfigError(f"unknown ONNX kind {onnx_kind!r}")
    api = api_for(trt_version)
    reasons: List[str] = []
    gpu_label = f"{gpu.name} (sm_{gpu.cc.replace('.', '')})" if gpu.present else "this GPU"

    if api.strongly_typed_only:
        return _plan_strongly_typed(requested, onnx_kind, api.label, reasons)

    if onnx_kind == "qdq":
        return _plan_qdq(requested, gpu, gpu_label, reasons)
    want = requested
    if want == "int8":
        plan = _plan_calibrated_int8(requested, gpu, gpu_label, api, reasons)
        if plan is not None:
            return plan
        want = "fp16" if gpu.fast_fp16 else "fp32"
    if want == "auto":
        want = _auto_precision(gpu, gpu_label, reasons)
    return _plan_float(requested, want, gpu, gpu_label, onnx_kind, reasons)


def _plan_qdq(requested: str, gpu: GpuInfo, gpu_label: str, reasons: List[str]) -> PrecisionPlan:
    """A QDQ ONNX builds as explicit INT8 or not at all."""
    if not gpu.fast_int8:
        raise ConfigError(
            f"this ONNX is INT8 (QDQ) but {gpu_label} has no fast INT8"
            f"{' (Maxwell)' if gpu.maxwell else ''}: build from the FP32 model.onnx with "
            "--precision fp16"
        )
    if requested not in ("auto", "int8"):
        raise ConfigError(
            f"this ONNX is INT8 (QDQ): it builds only as int8; "
            f"for {requested} build from model.onnx"
        )
    reasons.append("the ONNX carries Q/DQ pairs: explicit INT8 quantization (scales from ORT)")
    return PrecisionPlan(requested, "int8", "qdq-onnx", ["INT8", "FP16"], False, reasons)


def _plan_calibrated_int8(
    requested: str, gpu: GpuInfo, gpu_label: str, api: TrtApi, reasons: List[str]
) -> Optional[PrecisionPlan]:
    """INT8 asked for an FP32 ONNX: a calibrator plan, or None (with the reason) when this GPU
    has no fast INT8 and a float precision should be planned instead."""
    if not gpu.fast_int8:
        why = "Maxwell has no fast INT8" if gpu.maxwell else "no fast INT8 on this GPU"
        reasons.append(f"INT8 refused: {why} ({gpu_label}); FP16 is the useful reduction")
        return None
    if api.major >= 10:
        raise ConfigError(
            f"TensorRT {api.label} takes INT8 only from a QDQ ONNX (calibrators are "
            f"deprecated): {_qdq_hint()}"
        )
    reasons.append(
        f"INT8 on TensorRT {api.label} from an FP32 ONNX: entropy calibration on MNIST "
        "training images (a QDQ ONNX is preferred)"
    )
    return PrecisionPlan(requested, "int8", "calibrator", ["INT8", "FP16"], False, reasons)


def _auto_precision(gpu: GpuInfo, gpu_label: str, reasons: List[str]) -> str:
    """``auto`` on an FP32 or FP16 ONNX: FP16 where the GPU has fast FP16, else FP32."""
    if gpu.fast_fp16:
        reasons.append(f"auto: {gpu_label} has fast FP16; FP16 keeps MNIST accuracy")
        want = "fp16"
    else:
        reasons.append(f"auto: {gpu_label} has no fast FP16: FP32")
        want = "fp32"
    if gpu.fast_int8:
        reasons.append(f"INT8 would need a QDQ ONNX: {_qdq_hint()}")
    return want


def _plan_float(
    requested: str, want: str, gpu: GpuInfo, gpu_label: str, onnx_kind: str, reasons: List[str]
) -> PrecisionPlan:
    """The FP16 or FP32 plan (``want``) for a non-QDQ ONNX."""
    if want == "fp16":
        if not gpu.fast_fp16 and requested == "fp16":
            reasons.append(f"FP16 requested although {gpu_label} has no fast FP16 (may be slow)")
        elif requested == "fp16":
            reasons.append(f"FP16 requested; {gpu_label} has fast FP16")
        if onnx_kind == "fp16":
            reasons.append("the ONNX is already FP16")
        return PrecisionPlan(requested, "fp16", "builder-flag", ["FP16"], False, reasons)

    if onnx_kind == "fp16":
        reasons.append("the ONNX is FP16: built with FP16 enabled so its layers stay FP16")
        return PrecisionPlan(requested, "fp16", "builder-flag", ["FP16"], False, reasons)
    if requested == "fp32":
        reasons.append("FP32 requested: reference precision")
    return PrecisionPlan(requested, "fp32", "none", [], False, reasons)


def _plan_strongly_typed(
    requested: str, onnx_kind: str, label: str, reasons: List[str]
) -> PrecisionPlan:
    precision = {"fp32": "fp32", "fp16": "fp16", "qdq": "int8"}[onnx_kind]
    if requested not in ("auto", precision):
        source = {"fp16": "model.fp16.onnx", "int8": "model.int8.onnx (QDQ)", "fp32": "model.onnx"}
        raise ConfigError(
            f"TensorRT {label} is strongly typed: precision comes from the ONNX, which is "
            f"{precision}; build from {source[requested]} for {requested}"
        )
    reasons.append(f"TensorRT {label} is strongly typed: the ONNX's own types decide ({precision})")
    return PrecisionPlan(requested, precision, "strongly-typed", [], True, reasons)
