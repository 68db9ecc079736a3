"""FP32 ONNX -> INT8 QDQ ONNX with ONNX Runtime static quantization, gated against the FP32 model.

Steps: ``quant_pre_process`` (shape inference + graph clean-up, which ONNX Runtime asks for
before quantization) -> ``quantize_static`` in QDQ format (QuantizeLinear/DequantizeLinear pairs
around each quantized op, the form TensorRT's explicit quantization and ORT's CPU kernels both
read) -> parity gate on the test set -> rename into place.

Choices:

- weights INT8, per channel by default (one scale per output channel; small MNIST convs have very
  different channel ranges, and per-tensor weight scales cost accuracy);
- activations UINT8 for the CPU target (U8S8), INT8 for TensorRT (S8S8, the only form it
  reads). ORT fuses a DQ -> Conv -> Q group into ``QLinearConv`` only with U8 activations on
  x86; its ``QDQS8ToU8Transformer`` converts S8 pairs, but not an activation read by several
  nodes (a residual input, an attention gate's input), and those convolutions then run in
  float behind per-call weight dequantization. Measured on resnet18_cbam (AVX-512 VNNI, 1
  thread, batch 1): S8 left 20 of 60 convolutions unfused and ran 14x *slower* than FP32; U8
  fused all 60. Single-consumer graphs (vgg_bn, edge) are identical either way. Asymmetric for
  CPU (a zero point lets post-ReLU ranges use all 256 levels), symmetric for TensorRT
  (``target="tensorrt"`` implies it). The manifest records which;
- for the CPU target, gating branches stay in float (``keep_float``, see
  :func:`float_islands`): Sigmoid/Mul/ReduceMean/ReduceMax/Concat and the nodes fed only by
  them (CBAM's channel MLP and 7x7 spatial conv). Quantized, each adds a Q/DQ pair around an op
  that does no INT8 multiply-accumulate worth the conversion; on resnet18_cbam this took INT8
  from 1.3x to ~1.6x FP32 at batch 1. The stem convolution over the one-channel image stays
  float as well (see :func:`float_islands`). The manifest's ``placement`` counts the Q/DQ nodes
  and which op types run quantized or in float;
- calibration on a seeded, class-balanced subset of the TRAIN split
  (:mod:`edgemnist.export.calibration`), methods ``minmax`` (default), ``entropy`` or
  ``percentile`` (99.999th). ORT keeps every activation of the subset in memory while it
  calibrates (1.2 GB peak for vgg_bn and 1000 images; its ``CalibMaxIntermediateOutputs``
  folding would bound that, but raises "No data is collected" when the batch count is a
  multiple of it). Entropy uses TensorRT's 2048/128 bins (see :data:`ENTROPY_BINS`);
- ``reduce_range`` (7-bit weights) ON for the CPU target: ORT's x86 INT8 kernels compute S8S8
  and U8S8 with ``VPMADDUBSW``, whose 16-bit intermediate sums saturate on AVX2 CPUs without
  VNNI. Measured here (AMD EPYC, AVX2, no VNNI) on a LeNet-5: S8S8 full range agreed with FP32 on
  98.25 % of test images (max |dlogit| 4.8) while the same QDQ graph simulated in float agreed on
  99.74 %; with reduce_range the fused kernels match the simulation (99.72 %). ARM kernels do not
  saturate, but one file should be right on every CPU. OFF for TensorRT (its own kernels).
- for the CPU target, the ONNX Runtime graph-optimization level the model runs fastest at on
  this CPU is measured (``measure_level``, :mod:`edgemnist.runners.ort_levels`), gated at, and
  recorded as the manifest's ``runtime.graph_opt``: ``ORT_ENABLE_ALL``'s layout transforms win
  for plain conv stacks (vgg_bn INT8 2.1x faster than at EXTENDED) but lose for a graph whose
  quantized convolutions alternate with float gates (resnet18_cbam INT8: 599 µs at ALL, 517 µs
  at EXTENDED: 1.39x -> 1.61x FP32). The runner loads at that level on the same CPU;
- the gate of a TensorRT-target model runs ONNX Runtime with graph optimizations off, so the QDQ
  pairs are simulated in float, which is what TensorRT's INT8 kernels compute (without it the
  host's saturating x86 kernels would fail a model that is fine on the GPU).
"""

from __future__ import annotations

import contextlib
import io
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np

from edgemnist.errors import ArtifactError, ConfigError
from edgemnist.export.calibration import DEFAULT_SEED, DEFAULT_SIZE, CalibrationSet
from edgemnist.export.onnx_export import ExportResult
from edgemnist.export.verify import DEFAULT_THRESHOLD

METHODS = ("minmax", "entropy", "percentile")
TARGETS = ("cpu", "tensorrt")
CALIB_BATCH = 50

PathLike = Union[str, Path]


def derived_path(source: PathLike, tag: str) -> Path:
    """``model.onnx`` + ``"int8"`` -> ``model.int8.onnx`` (same directory)."""
    source = Path(source)
    stem = source.name[: -len(".onnx")] if source.name.endswith(".onnx") else source.stem
    return source.with_name(f"{stem}.{tag}.onnx")


def check_fp32_onnx(model: Any, path: Path) -> None:
    """Refuse models that are already quantized or FP16 (quantizing them again is meaningless)."""
    import onnx

    ops = {n.op_type for n in model.graph.node}
    if ops & {"QuantizeLinear", "DequantizeLinear", "QLinearConv", "QLinearMatMul"}:
        raise ArtifactError(f"{path} is already quantized: give the FP32 model (model.onnx)")
    if any(t.data_type == onnx.TensorProto.FLOAT16 for t in model.graph.initializer):
        raise ArtifactError(f"{path} holds FP16 weights: give the FP32 model (model.onnx)")


def open_fp32_source(model: PathLike, out: Optional[PathLike], tag: str) -> Tuple[Path, Any, Path]:
    """Read and check the FP32 ONNX a derived model is made from, and choose its destination.

    Args:
        model: the FP32 ONNX file.
        out: destination, or None for ``derived_path(model, tag)``.
        tag: the derived file's tag (``int8`` -> ``model.int8.onnx``).

    Returns:
        ``(source path, source ModelProto, destination path)``.

    Raises:
        ArtifactError: the input is missing, not ONNX, or not FP32.
        ConfigError: the destination is the source itself.
    """
    from edgemnist.export.onnx_export import read_onnx

    src = Path(model)
    proto = read_onnx(src)
    check_fp32_onnx(proto, src)
    dest = Path(out) if out is not None else derived_path(src, tag)
    if dest.resolve() == src.resolve():
        raise ConfigError(f"--out {dest} would overwrite the source model")
    return src, proto, dest


class _Reader:
    """ONNX Runtime CalibrationDataReader over the calibration images, ``CALIB_BATCH`` at a time."""

    def __init__(self, images: np.ndarray, input_name: str) -> None:
        self._batches = [images[i : i + CALIB_BATCH] for i in range(0, len(images), CALIB_BATCH)]
        self._input = input_name
        self._i = 0

    def get_next(self) -> Optional[Dict[str, np.ndarray]]:
        if self._i >= len(self._batches):
            return None
        batch = self._batches[self._i]
        self._i += 1
        return {self._input: np.ascontiguousarray(batch, dtype=np.float32)}

    def rewind(self) -> None:
        self._i = 0


@dataclass
class QuantizeOptions:
    """How :func:`quantize_onnx` calibrates, quantizes and gates (defaults: the CPU recipe).

    ``None`` in ``symmetric``, ``reduce_range`` and ``keep_float`` means "what the target
    wants" (see the module docstring for why each differs between ``cpu`` and ``tensorrt``).
    """

    # calibration images from the train split (class-balanced)
    calib_size: int = DEFAULT_SIZE
    # calibration method: minmax | entropy (TensorRT's bins) | percentile (99.999th)
    method: str = "minmax"
    # cpu (ORT's x86/ARM kernels) | tensorrt (symmetric QDQ, gated with graph optimizations off)
    target: str = "cpu"
    # symmetric activations; None: asymmetric for cpu, symmetric for tensorrt. Weights are
    # always symmetric (ORT's default for INT8 weights)
    symmetric: Optional[bool] = None
    # one weight scale per output channel
    per_channel: bool = True
    # 7-bit weights; None: on for cpu (no VPMADDUBSW saturation), off for tensorrt
    reduce_range: Optional[bool] = None
    # seed of the calibration subset
    seed: int = DEFAULT_SEED
    # accepted test-accuracy drop vs the FP32 ONNX, percentage points
    threshold: float = DEFAULT_THRESHOLD
    # keep the result even if it fails the gate
    force: bool = False
    # CPU threads for the gate's ONNX Runtime sessions
    threads: Optional[int] = None
    # gate on the first ``limit`` test images only (None: all 10 000)
    limit: Optional[int] = None
    # a ready calibration set (overrides ``calib_size`` and ``seed``)
    calibration: Optional[CalibrationSet] = None
    # leave gating branches in float (:func:`float_islands`); None: on for cpu, off for tensorrt
    keep_float: Optional[bool] = None
    # time the result at ONNX Runtime's graph-optimization levels on this CPU and record the
    # fastest in the manifest (``runtime.graph_opt``, see ``runners/ort_levels.py``); the gate
    # runs at that level. None: on for cpu, off for tensorrt (gated with optimizations off)
    measure_level: Optional[bool] = None


@dataclass(frozen=True)
class _Resolved:
    """:class:`QuantizeOptions` with the target's defaults filled in."""

    act_symmetric: bool
    act_unsigned: bool
    reduce_range: bool
    keep_float: bool
    measure_level: bool
    gate_options: Dict[str, Any]


def _resolve(opts: QuantizeOptions) -> _Resolved:
    """Check ``opts`` and fill in what the target decides.

    Raises:
        ConfigError: unknown method/target, or asymmetric activations asked for TensorRT.
    """
    if opts.method not in METHODS:
        raise ConfigError(
            f"unknown calibration method {opts.method!r}: choose {', '.join(METHODS)}"
        )
    if opts.target not in TARGETS:
        raise ConfigError(f"unknown target {opts.target!r}: choose {', '.join(TARGETS)}")
    trt = opts.target == "tensorrt"
    if trt and opts.symmetric is False:
        raise ConfigError(
            "TensorRT reads only symmetric QDQ: drop --asymmetric or use --target cpu"
        )
    return _Resolved(
        act_symmetric=trt if opts.symmetric is None else bool(opts.symmetric),
        act_unsigned=not trt,
        reduce_range=(not trt) if opts.reduce_range is None else bool(opts.reduce_range),
        keep_float=(not trt) if opts.keep_float is None else bool(opts.keep_float),
        measure_level=(not trt) if opts.measure_level is None else bool(opts.measure_level),
        gate_options={"graph_opt": "disable"} if trt else {},
    )


def quantize_onnx(
    model: PathLike,
    out: Optional[PathLike] = None,
    options: Optional[QuantizeOptions] = None,
) -> ExportResult:
    """Quantize an FP32 ONNX model to INT8 QDQ and gate it against the FP32 model.

    Args:
        model: the FP32 ONNX file (``model.onnx``).
        out: destination (default ``model.int8.onnx`` beside the source).
        options: method, target, calibration and gate (default: :class:`QuantizeOptions`()).

    Returns:
        An :class:`~edgemnist.export.onnx_export.ExportResult`.

    Raises:
        ArtifactError: the input is missing, not ONNX, or not FP32.
        ConfigError: unknown method/target, or asymmetric activations asked for TensorRT.
        GateError: accuracy dropped by more than ``options.threshold`` (and not ``force``).

    Example:
        ``quantize_onnx("model.onnx", options=QuantizeOptions(target="tensorrt"))`` writes
        ``model.int8.onnx``, symmetric QDQ for TensorRT.
    """
    opts = options if options is not None else QuantizeOptions()
    r = _resolve(opts)
    method, target, per_channel = opts.method, opts.target, opts.per_channel
    act_symmetric, act_unsigned = r.act_symmetric, r.act_unsigned
    reduce_range, keep_float, gate_options = r.reduce_range, r.keep_float, r.gate_options

    src, proto, out = open_fp32_source(model, out, "int8")

    import onnx
    import onnxruntime
    from onnxruntime.quantization import (
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quant_pre_process,
        quantize_static,
    )

    from edgemnist.atomic import atomic_path
    from edgemnist.export.calibration import load_calibration

    calib = opts.calibration or load_calibration(opts.calib_size, opts.seed)
    input_name = proto.graph.input[0].name
    calib_method = {
        "minmax": CalibrationMethod.MinMax,
        "entropy": CalibrationMethod.Entropy,
        "percentile": CalibrationMethod.Percentile,
    }[method]
    extra: Dict[str, Any] = {
        "ActivationSymmetric": act_symmetric,
        "WeightSymmetric": True,
    }
    # ranges symmetric about 0 only when the activations are (percentile defaults to symmetric,
    # which would waste half of the levels on post-ReLU tensors)
    extra["CalibTensorRangeSymmetric"] = act_symmetric

    with tempfile.TemporaryDirectory(prefix="edgemnist-quant-") as work, atomic_path(
        out, suffix=".onnx"
    ) as tmp:
        pre = Path(work) / "pre.onnx"
        try:
            quant_pre_process(str(src), str(pre), skip_symbolic_shape=False)
        except Exception as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ArtifactError(
                f"{src}: ONNX Runtime pre-processing failed ({first[:200]})"
            ) from None
        cache_kw: Dict[str, Any] = {}
        kept = float_islands(onnx.load(str(pre))) if keep_float else []
        if kept:
            cache_kw["nodes_to_exclude"] = kept
        if method == "entropy":
            cache_kw["calibration_cache_path"] = _entropy_ranges(
                pre, calib, input_name, act_symmetric, Path(work)
            )
        with contextlib.redirect_stdout(io.StringIO()):  # ORT prints progress to stdout (--json)
            quantize_static(
                str(pre),
                str(tmp),
                _Reader(calib.images, input_name),
                quant_format=QuantFormat.QDQ,
                per_channel=per_channel,
                reduce_range=reduce_range,
                activation_type=QuantType.QUInt8 if act_unsigned else QuantType.QInt8,
                weight_type=QuantType.QInt8,
                calibrate_method=calib_method,
                use_external_data_format=False,
                extra_options=extra,
                **cache_kw,
            )
        runtime: Dict[str, Any] = {}
        if r.measure_level and not gate_options:
            from edgemnist.runners.ort_levels import runtime_entry

            runtime = runtime_entry(tmp)
            gate_options = {"graph_opt": runtime["graph_opt"]}
        report = _gate(
            tmp, src, out, opts.threshold, opts.force, opts.threads, opts.limit, gate_options
        )
        qproto = onnx.load(str(tmp))
        where = placement(qproto)
        _copy_metadata(proto, qproto, precision="int8", accuracy=report.accuracy)
        from edgemnist.export.onnx_export import set_metadata

        set_metadata(
            qproto,
            {
                "quantization": {
                    "method": method,
                    "activation_symmetric": act_symmetric,
                    "activation_type": "uint8" if act_unsigned else "int8",
                    "per_channel": per_channel,
                    "calibration_size": calib.size,
                    "calibration_indices_sha256": calib.record()["indices_sha256"],
                }
            },
        )
        onnx.save(qproto, str(tmp))

    quant = {
        "tool": "onnxruntime.quantization.quantize_static",
        "format": "QDQ",
        "method": method,
        "target": target,
        "activation_type": "uint8" if act_unsigned else "int8",
        "weight_type": "int8",
        "activation_symmetric": act_symmetric,
        "weight_symmetric": True,
        "per_channel": per_channel,
        "reduce_range": reduce_range,
        "keep_float": keep_float,
        "nodes_kept_float": len(kept),
        "placement": where,
        "preprocess": "quant_pre_process",
        "gate_runtime": "onnxruntime"
        + (
            " (graph optimizations off: QDQ simulated as TensorRT computes it)"
            if target == "tensorrt"
            else f" (graph_opt {gate_options['graph_opt']}, the level measured fastest)"
            if runtime
            else ""
        ),
    }
    return _finish(
        out,
        src,
        "onnx-qdq",
        "int8",
        report,
        quantization=quant,
        calibration=calib.record(),
        versions={"onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__},
        **({"runtime": runtime} if runtime else {}),
    )


#: element-wise gates and reductions: no INT8 multiply-accumulate to gain, a Q/DQ pair to pay
FLOAT_OPS = frozenset(
    {"Sigmoid", "HardSigmoid", "Mul", "Div", "ReduceMean", "ReduceMax", "Concat", "Softmax"}
)
_QDQ = ("QuantizeLinear", "DequantizeLinear")


def float_islands(model: Any) -> List[str]:
    """Names of the nodes to keep in float: :data:`FLOAT_OPS`, the branches fed only by them, and
    convolutions over a single input channel.

    A node is kept when its op type is in :data:`FLOAT_OPS`, or when every one of its
    activation inputs (not initializers) comes from a kept node: CBAM's channel MLP reads the
    pooled descriptors (ReduceMean/ReduceMax) and its spatial 7x7 conv reads a Concat, so the
    whole gate stays float, while the residual Add (one input from the trunk) does not.

    A non-grouped Conv with one input channel (the stem over the grayscale image) is kept too:
    its dot products are 9 or 25 long, too short for the INT8 GEMM kernels to beat float, and
    the image then needs no QuantizeLinear. Measured at batch 1 (AVX-512 VNNI, 1 thread):
    INT8/FP32 speed-up edge 1.22x -> 1.47x, vgg_bn 2.95x -> 3.17x, resnet18_cbam 1.56x -> 1.71x.

    Args:
        model: an ``onnx.ModelProto`` (after ``quant_pre_process``).

    Returns:
        Node names, in graph order (unnamed nodes cannot be excluded and are skipped).
    """
    inits = {t.name: t for t in model.graph.initializer}
    kept_outputs: set = set()
    kept: List[str] = []
    for node in model.graph.node:  # ONNX graphs are topologically sorted
        acts = [i for i in node.input if i and i not in inits]
        fed_by_kept = bool(acts) and all(i in kept_outputs for i in acts)
        if node.op_type in FLOAT_OPS or fed_by_kept:
            kept_outputs.update(node.output)
            if node.name:
                kept.append(node.name)
        elif _single_channel_conv(node, inits) and node.name:
            kept.append(node.name)  # its consumers are quantized as usual
    return kept


def _single_channel_conv(node: Any, inits: Dict[str, Any]) -> bool:
    """A Conv (group 1) whose weight has one input channel."""
    if node.op_type != "Conv" or len(node.input) < 2 or node.input[1] not in inits:
        return False
    group = next((a.i for a in node.attribute if a.name == "group"), 1)
    dims = list(inits[node.input[1]].dims)
    return group == 1 and len(dims) >= 2 and dims[1] == 1


def placement(model: Any) -> Dict[str, Any]:
    """Where quantization landed: Q/DQ counts and op types running quantized or in float.

    An op counts as quantized when all its activation inputs come from DequantizeLinear nodes
    (ONNX Runtime then fuses it into its integer kernel: QLinearConv, QGemm, QLinearAdd, ...).

    Returns:
        ``{"quantize_linear", "dequantize_linear", "quantized": {op: n}, "float": {op: n}}``.
    """
    inits = {t.name for t in model.graph.initializer}
    producer = {o: n.op_type for n in model.graph.node for o in n.output}
    counts = {op: 0 for op in _QDQ}
    quantized: Dict[str, int] = {}
    float_ops: Dict[str, int] = {}
    for node in model.graph.node:
        if node.op_type in _QDQ:
            counts[node.op_type] += 1
            continue
        acts = [i for i in node.input if i and i not in inits]
        side = quantized if acts and all(producer.get(i) == _QDQ[1] for i in acts) else float_ops
        side[node.op_type] = side.get(node.op_type, 0) + 1
    return {
        "quantize_linear": counts[_QDQ[0]],
        "dequantize_linear": counts[_QDQ[1]],
        "quantized": dict(sorted(quantized.items())),
        "float": dict(sorted(float_ops.items())),
    }


#: TensorRT's entropy calibrator uses 2048 histogram bins and 128 quantized bins; ORT's own
#: default for quantize_static is 128 and 128, which leaves the entropy search a single candidate
#: (the full range): the result is then identical to minmax (measured on vgg_bn).
ENTROPY_BINS = 2048
ENTROPY_QUANTIZED_BINS = 128


def _entropy_ranges(
    model: Path, calib: CalibrationSet, input_name: str, symmetric: bool, work: Path
) -> Path:
    """Entropy (KL) activation ranges with TensorRT's bin counts, written as an ORT range cache.

    ``quantize_static`` does not pass bin counts through to its calibrator, so the ranges are
    computed here with ``create_calibrator`` and handed over via ``calibration_cache_path``.

    Raises:
        ConfigError: this onnxruntime is too old to accept a range cache.
    """
    import inspect

    import onnxruntime.quantization as oq

    if not hasattr(oq, "save_tensors_data") or "calibration_cache_path" not in str(
        inspect.signature(oq.quantize_static)
    ):
        raise ConfigError(
            "entropy calibration needs an onnxruntime whose quantize_static takes "
            "calibration_cache_path (1.32+): upgrade onnxruntime or use --method minmax"
        )
    calibrator = oq.create_calibrator(
        model,
        None,
        augmented_model_path=str(work / "augmented.onnx"),
        calibrate_method=oq.CalibrationMethod.Entropy,
        extra_options={
            "num_bins": ENTROPY_BINS,
            "num_quantized_bins": ENTROPY_QUANTIZED_BINS,
            "symmetric": symmetric,
        },
    )
    with contextlib.redirect_stdout(io.StringIO()):
        calibrator.collect_data(_Reader(calib.images, input_name))
        ranges = calibrator.compute_data()
    cache = work / "entropy-ranges.json"
    oq.save_tensors_data(ranges, cache)
    return cache


def _gate(
    candidate: Path,
    reference: Path,
    final: Path,
    threshold: float,
    force: bool,
    threads: Optional[int],
    limit: Optional[int],
    options: Optional[Dict[str, Any]] = None,
) -> Any:
    """Compare ``candidate`` (still under its temp name) with ``reference``; raise unless it passes.

    ``options`` go to the candidate's runner (e.g. ``graph_opt="disable"``).
    """
    from edgemnist.data.mnist import load_test_set
    from edgemnist.export.verify import artifact_info, artifact_logits, enforce, parity_report

    images, labels = load_test_set(limit)
    ref_logits = artifact_logits(reference, images, threads)
    logits = artifact_logits(candidate, images, threads, **(options or {}))
    report = parity_report(logits, labels, ref_logits, threshold, str(final), str(reference))
    report.backend = artifact_info(candidate).get("backend")
    enforce(report, force, final.name)
    return report


def _copy_metadata(src: Any, dst: Any, precision: str, accuracy: float) -> None:
    """Carry the source's ``metadata_props`` over, with this artifact's precision and accuracy."""
    from edgemnist.export.onnx_export import get_metadata, set_metadata

    props: Dict[str, Any] = dict(get_metadata(src))
    props.update({"precision": precision, "test_accuracy": f"{accuracy:.4f}"})
    del dst.metadata_props[:]
    set_metadata(dst, props)


def _finish(
    out: Path, src: Path, fmt: str, precision: str, report: Any, **extra: Any
) -> ExportResult:
    """Write the manifest of a derived ONNX (model info carried over from the source's manifest)."""
    from edgemnist.export.onnx_export import _parity_record
    from edgemnist.manifest import build_manifest, read_manifest, write_manifest

    src_manifest = read_manifest(src, required=False) or {}
    manifest = build_manifest(
        out,
        fmt,
        precision,
        source=src,
        model=src_manifest.get("model"),
        opset=src_manifest.get("opset"),
        test_accuracy=report.accuracy,
        reference_accuracy=report.reference_accuracy,
        parity=_parity_record(report),
        **extra,
    )
    return ExportResult(out, write_manifest(out, manifest), manifest, report)
