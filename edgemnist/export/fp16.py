"""FP32 ONNX -> FP16 ONNX (weights and math in FP16; the input and output stay FP32).

For GPUs: TensorRT 11 takes precision from the ONNX itself (strongly typed), so an FP16 model is
how it builds an FP16 engine; TensorRT 8.x/10.x can use it too. Keeping float32 input/output
(``keep_io_types=True``) means callers feed the same normalized float32 batch to every artifact.

Converter: ``onnxruntime.transformers.float16.convert_float_to_float16``, which ships inside the
onnxruntime wheel we already depend on (it needs only onnx, numpy and packaging), so no new
dependency (``onnxconverter-common`` has the same function, vendored from the same code).

On a CPU, ONNX Runtime runs FP16 graphs by inserting casts around ops that lack FP16 kernels:
correct (so the parity gate works here) but usually slower than FP32.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Optional, Union

from edgemnist.errors import ArtifactError
from edgemnist.export.onnx_export import ExportResult
from edgemnist.export.verify import DEFAULT_THRESHOLD

PathLike = Union[str, Path]


def export_fp16(
    model: PathLike,
    out: Optional[PathLike] = None,
    threshold: float = DEFAULT_THRESHOLD,
    force: bool = False,
    threads: Optional[int] = None,
    limit: Optional[int] = None,
) -> ExportResult:
    """Convert an FP32 ONNX model to FP16 and gate it against the FP32 model.

    Args:
        model: the FP32 ONNX file.
        out: destination (default ``model.fp16.onnx`` beside the source).
        threshold: accepted test-accuracy drop, percentage points.
        force: keep the result even if it fails the gate.
        threads: CPU threads for the gate's ONNX Runtime sessions.
        limit: gate on the first ``limit`` test images only (None: all 10 000).

    Returns:
        An :class:`~edgemnist.export.onnx_export.ExportResult`.

    Raises:
        ArtifactError: the input is missing, not ONNX, or not FP32.
        GateError: the FP16 model lost more than ``threshold`` points (and not ``force``).
    """
    import onnx
    import onnxruntime
    from onnxruntime.transformers.float16 import convert_float_to_float16

    from edgemnist.atomic import atomic_path
    from edgemnist.export.quantize_ort import _copy_metadata, _finish, _gate, open_fp32_source

    src, proto, out = open_fp32_source(model, out, "fp16")
    half = convert_float_to_float16(proto, keep_io_types=True)
    _topological_sort(half.graph)  # the converter appends its input casts at the end
    with atomic_path(out, suffix=".onnx") as tmp:
        onnx.save(half, str(tmp))
        onnx.checker.check_model(str(tmp))
        report = _gate(tmp, src, out, threshold, force, threads, limit)
        _copy_metadata(proto, half, precision="fp16", accuracy=report.accuracy)
        onnx.save(half, str(tmp))
    return _finish(
        out,
        src,
        "onnx-fp16",
        "fp16",
        report,
        conversion={
            "tool": "onnxruntime.transformers.float16.convert_float_to_float16",
            "keep_io_types": True,
        },
        versions={"onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__},
    )


def _topological_sort(graph: Any) -> None:
    """Reorder ``graph.node`` so every node comes after the producers of its inputs (in place).

    ``onnx.checker`` rejects unsorted graphs; the FP16 converter appends the casts it inserts
    after the input at the end of the node list.
    """
    available = {i.name for i in graph.input} | {t.name for t in graph.initializer} | {""}
    pending = list(graph.node)
    ordered = []
    while pending:
        ready = [n for n in pending if all(i in available for i in n.input)]
        if not ready:
            raise ArtifactError("FP16 conversion produced a graph with a cycle or a missing input")
        for n in ready:
            ordered.append(n)
            available.update(n.output)
        pending = [n for n in pending if all(n is not r for r in ready)]
    nodes = [copy.deepcopy(n) for n in ordered]
    del graph.node[:]
    graph.node.extend(nodes)
