"""JSON manifests beside every exported artifact (``model.onnx`` -> ``model.onnx.json``).

A manifest says what the artifact is and where it came from, so a device can check it without
torch: schema version, format, precision, input/output spec, normalization, sha256 of the
artifact and of its source, test accuracy, calibration set, tool versions, device (engines).

The document is the :class:`Manifest` dataclass; JSON is its file format. Every field is
declared (the producer-specific ones optional), so a misspelt or unknown key is refused by
name when the manifest is written or read. Rates (``test_accuracy``, ``parity.agreement``,
...) are fractions in [0, 1].

Schema history:
    1: rates in percent (``test_accuracy: 99.12``), the gate as ``parity.threshold`` in points.
    2: rates as fractions, the gate as ``parity.max_drop`` (a fraction). Version-1 files are
       migrated when read.
"""

from __future__ import annotations

import datetime as _dt
import json
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

from edgemnist import __version__
from edgemnist.atomic import sha256_file, write_json
from edgemnist.constants import INPUT_NAME, MNIST_MEAN, MNIST_STD, NUM_CLASSES, OUTPUT_NAME
from edgemnist.documents import from_dict, to_dict
from edgemnist.errors import ArtifactError

SCHEMA_VERSION = 2


@dataclass
class SourceRef:
    """The file an artifact was made from (checkpoint, ONNX)."""

    file: str
    sha256: str


@dataclass
class TensorSpec:
    name: str
    shape: List[Union[int, str]]  # "N": the dynamic batch
    dtype: str


@dataclass
class Normalization:
    """``x = (pixel * scale - mean) / std``."""

    mean: float
    std: float
    scale: float


@dataclass
class ModelRef:
    """The model an artifact holds: registry name and constructor arguments."""

    name: str
    args: Dict[str, Any] = field(default_factory=dict)


@dataclass
class ParityRecord:
    """The part of a parity report (:mod:`edgemnist.export.verify`) a manifest keeps."""

    images: int
    passed: bool
    max_drop: float  # the gate: largest accepted accuracy drop, fraction
    reference: Optional[str] = None
    agreement: Optional[float] = None
    max_abs_dlogit: Optional[float] = None
    accuracy_drop: Optional[float] = None
    flips: int = 0


@dataclass
class Manifest:
    """What an artifact is and where it came from (schema :data:`SCHEMA_VERSION`)."""

    format: str  # name in the formats table (onnx, onnx-qdq, tensorrt, ...)
    precision: str  # fp32 | fp16 | int8
    file: str
    size_bytes: int
    sha256: str
    input: TensorSpec
    output: TensorSpec
    normalization: Normalization
    versions: Dict[str, Optional[str]]
    created_at: str
    schema_version: int = SCHEMA_VERSION
    source: Optional[SourceRef] = None
    # -- what the exporters add
    model: Optional[ModelRef] = None
    opset: Optional[int] = None
    exporter: Optional[str] = None
    test_accuracy: Optional[float] = None  # fraction, on the test images of the gate
    reference_accuracy: Optional[float] = None
    parity: Optional[ParityRecord] = None
    quantization: Optional[Dict[str, Any]] = None
    calibration: Optional[Dict[str, Any]] = None
    conversion: Optional[Dict[str, Any]] = None
    # -- what engine builds and the ONNX Runtime fallback add
    runtime: Optional[Dict[str, Any]] = None  # runner options (threads, providers, ...)
    measurements: Optional[List[Dict[str, Any]]] = None
    fallback: Optional[Dict[str, Any]] = None
    fallback_onnx: Optional[str] = None  # the ONNX to run when the engine cannot load
    source_test_accuracy: Optional[float] = None
    cache_key: Optional[Dict[str, Any]] = None  # engine/cache.py: a dict, compared field by field
    device: Optional[Dict[str, Any]] = None
    tensorrt: Optional[Dict[str, Any]] = None
    plan: Optional[Dict[str, Any]] = None
    shapes: Optional[Dict[str, Any]] = None
    workspace_mib: Optional[int] = None
    timing_cache: Optional[str] = None
    build_seconds: Optional[float] = None
    trtexec: Optional[Dict[str, Any]] = None  # trtexec's own timing summary of an engine

    @classmethod
    def from_dict(cls, data: Any, where: str = "manifest") -> Manifest:
        """Check and build (a version-1 document is migrated first).

        Raises:
            ArtifactError: not a manifest, a newer schema, or an unknown/mistyped field (named).
        """
        if not isinstance(data, dict) or "schema_version" not in data:
            raise ArtifactError(f"{where}: not an edgemnist manifest")
        version = data["schema_version"]
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise ArtifactError(f"{where}: schema_version must be a positive integer")
        if version > SCHEMA_VERSION:
            raise ArtifactError(
                f"{where}: manifest schema {version} is newer than this edgemnist understands "
                f"({SCHEMA_VERSION}): upgrade edgemnist"
            )
        if version == 1:
            data = migrate_v1(data)
        try:
            return from_dict(cls, data, ArtifactError)
        except ArtifactError as exc:
            raise ArtifactError(f"{where}: {exc}: re-export the artifact with edgemnist") from None

    def to_dict(self) -> Dict[str, Any]:
        """JSON-ready; optional fields never set are left out."""
        out: Dict[str, Any] = to_dict(self, drop_none=True)
        return out


def migrate_v1(data: Dict[str, Any]) -> Dict[str, Any]:
    """A schema-1 manifest (rates in percent) as schema 2 (fractions); the input is not changed."""
    out = dict(data)
    out["schema_version"] = 2
    for key in ("test_accuracy", "reference_accuracy", "source_test_accuracy"):
        if isinstance(out.get(key), (int, float)) and not isinstance(out[key], bool):
            out[key] = round(out[key] / 100.0, 6)
    parity = out.get("parity")
    if isinstance(parity, dict):
        parity = dict(parity)
        for key in ("agreement", "accuracy_drop"):
            if isinstance(parity.get(key), (int, float)):
                parity[key] = round(parity[key] / 100.0, 6)
        if "threshold" in parity:
            threshold = parity.pop("threshold")
            if isinstance(threshold, (int, float)):
                parity["max_drop"] = round(threshold / 100.0, 6)
        out["parity"] = parity
    return out


def manifest_path(artifact: Path) -> Path:
    """``model.onnx`` -> ``model.onnx.json``."""
    artifact = Path(artifact)
    return artifact.with_name(artifact.name + ".json")


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def base_versions() -> Dict[str, Optional[str]]:
    """Versions every manifest records; callers add the tools they used (torch, onnx, ...)."""
    return {"edgemnist": __version__, "python": platform.python_version()}


def new_manifest(
    artifact: Path,
    fmt: str,
    precision: str,
    source: Optional[Path] = None,
    versions: Optional[Dict[str, Optional[str]]] = None,
    **fields: Any,
) -> Manifest:
    """The :class:`Manifest` of ``artifact`` (which must already exist).

    Args:
        artifact: the file described.
        fmt: format name from the formats table (e.g. "onnx", "onnx-qdq", "tensorrt").
        precision: "fp32", "fp16" or "int8".
        source: the file it was made from (checkpoint, ONNX), hashed into ``source``.
        versions: tool versions, merged over :func:`base_versions`.
        **fields: optional :class:`Manifest` fields (``test_accuracy``, ``calibration``,
            ``device``, ``model``, ...); nested ones may be given as dicts. A name that is
            not a field of :class:`Manifest` raises ArtifactError.

    Returns:
        The manifest (not yet written).
    """
    artifact = Path(artifact)
    merged = base_versions()
    merged.update(versions or {})
    data: Dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "format": fmt,
        "precision": precision,
        "file": artifact.name,
        "size_bytes": artifact.stat().st_size,
        "sha256": sha256_file(artifact),
        "source": ({"file": Path(source).name, "sha256": sha256_file(source)} if source else None),
        "input": {"name": INPUT_NAME, "shape": ["N", 1, 28, 28], "dtype": "float32"},
        "output": {"name": OUTPUT_NAME, "shape": ["N", NUM_CLASSES], "dtype": "float32"},
        "normalization": {"mean": MNIST_MEAN, "std": MNIST_STD, "scale": 1.0 / 255.0},
        "versions": merged,
        "created_at": now_iso(),
    }
    data.update(
        {k: (to_dict(v) if hasattr(v, "__dataclass_fields__") else v) for k, v in fields.items()}
    )
    return Manifest.from_dict(data, where=f"manifest of {artifact.name}")


def build_manifest(
    artifact: Path,
    fmt: str,
    precision: str,
    source: Optional[Path] = None,
    versions: Optional[Dict[str, Optional[str]]] = None,
    **fields: Any,
) -> Dict[str, Any]:
    """:func:`new_manifest` as a JSON-ready dict (what most callers store and pass around)."""
    return new_manifest(artifact, fmt, precision, source, versions, **fields).to_dict()


def write_manifest(artifact: Path, manifest: Union[Manifest, Dict[str, Any]]) -> Path:
    """Write ``manifest`` (checked) atomically beside ``artifact``; returns the manifest path.

    Raises:
        ArtifactError: a dict that is not a valid manifest (the field is named).
    """
    path = manifest_path(artifact)
    if not isinstance(manifest, Manifest):
        manifest = Manifest.from_dict(manifest, where=str(path))
    return write_json(path, manifest.to_dict())


def load_manifest(artifact: Path, required: bool = True) -> Optional[Manifest]:
    """The typed manifest beside ``artifact`` (version-1 files migrated).

    Raises:
        ArtifactError: the manifest is missing (when ``required``), corrupt, of a newer schema,
            or has an unknown or mistyped field (named in the message).
    """
    path = manifest_path(artifact)
    if not path.is_file():
        if required:
            raise ArtifactError(f"{path} not found: re-export the artifact with edgemnist")
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"{path}: unreadable manifest ({exc})") from None
    return Manifest.from_dict(data, where=str(path))


def read_manifest(artifact: Path, required: bool = True) -> Optional[Dict[str, Any]]:
    """The manifest beside ``artifact`` as a checked, migrated JSON dict (see
    :func:`load_manifest` for the typed one).

    Raises:
        ArtifactError: as :func:`load_manifest`.
    """
    manifest = load_manifest(artifact, required)
    return None if manifest is None else manifest.to_dict()


def check_artifact_hash(artifact: Path, manifest: Union[Manifest, Dict[str, Any]]) -> None:
    """Raise :class:`ArtifactError` if ``artifact`` no longer matches its manifest's sha256."""
    expected = manifest.sha256 if isinstance(manifest, Manifest) else manifest.get("sha256")
    if expected and sha256_file(artifact) != expected:
        raise ArtifactError(
            f"{artifact}: sha256 does not match its manifest (file changed or corrupt): "
            "re-export or rebuild it"
        )
