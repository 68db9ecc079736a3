"""What precision an ONNX file carries: "fp32", "fp16" or "qdq" (INT8 Q/DQ pairs).

Asked without the ``onnx`` package where possible (a Jetson may not have it): the manifest
beside the file says it; else ``onnx`` is used if importable; else the file's bytes are
searched for QuantizeLinear/DequantizeLinear op names (protobuf stores them as plain strings).
"""

from __future__ import annotations

from pathlib import Path

from edgemnist.errors import ArtifactError

_BY_MANIFEST = {"onnx": "fp32", "onnx-qdq": "qdq", "onnx-fp16": "fp16"}
_PRECISION = {"fp32": "fp32", "fp16": "fp16", "qdq": "int8"}


def precision_of(kind: str) -> str:
    """``"qdq"`` -> ``"int8"``; the others are already precisions."""
    return _PRECISION[kind]


def onnx_kind(path: Path) -> str:
    """Classify the ONNX at ``path``.

    Raises:
        ArtifactError: missing or empty file.
    """
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        raise ArtifactError(f"{path}: ONNX not found or empty: export it with edgemnist export")
    from edgemnist.manifest import read_manifest

    try:
        manifest = read_manifest(path, required=False)
    except ArtifactError:
        manifest = None
    if manifest and manifest.get("format") in _BY_MANIFEST:
        return _BY_MANIFEST[str(manifest["format"])]
    try:
        import onnx  # type: ignore[import-untyped]
    except ImportError:
        data = path.read_bytes()
        return "qdq" if b"QuantizeLinear" in data else "fp32"
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:
        raise ArtifactError(f"{path}: not a readable ONNX model ({exc}): re-export it") from None
    ops = {n.op_type for n in model.graph.node}
    if {"QuantizeLinear", "DequantizeLinear"} & ops:
        return "qdq"
    fp16 = onnx.TensorProto.FLOAT16
    if any(i.data_type == fp16 for i in model.graph.initializer):
        return "fp16"
    return "fp32"
