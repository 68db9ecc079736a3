"""JSON manifests beside every exported artifact (``model.onnx`` -> ``model.onnx.json``).

A manifest says what the artifact is and where it came from, so a device can check it without
torch: schema version, format, precision, input/output spec, normalization, sha256 of the
artifact and of its source, test accuracy, calibration set, tool versions, device (engines).
"""

from __future__ import annotations

import datetime as _dt
import json
import platform
from pathlib import Path
from typing import Any, Dict, Optional

from edgemnist import __version__
from edgemnist.atomic import sha256_file, write_json
from edgemnist.constants import INPUT_NAME, MNIST_MEAN, MNIST_STD, NUM_CLASSES, OUTPUT_NAME
from edgemnist.errors import ArtifactError

SCHEMA_VERSION = 1


def manifest_path(artifact: Path) -> Path:
    """``model.onnx`` -> ``model.onnx.json``."""
    artifact = Path(artifact)
    return artifact.with_name(artifact.name + ".json")


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def base_versions() -> Dict[str, str]:
    """Versions every manifest records; callers add the tools they used (torch, onnx, ...)."""
    return {"edgemnist": __version__, "python": platform.python_version()}


def build_manifest(
    artifact: Path,
    fmt: str,
    precision: str,
    source: Optional[Path] = None,
    **extra: Any,
) -> Dict[str, Any]:
    """Assemble a manifest for ``artifact`` (which must already exist).

    Args:
        artifact: the file described.
        fmt: format name from the formats table (e.g. "onnx", "onnx-int8", "tensorrt").
        precision: "fp32", "fp16" or "int8".
        source: the file it was made from (checkpoint, ONNX), hashed into ``source``.
        **extra: further keys (test_accuracy, calibration, versions, device, model, ...);
            ``versions`` is merged over :func:`base_versions`.

    Returns:
        The manifest dict (not yet written).
    """
    artifact = Path(artifact)
    versions = base_versions()
    versions.update(extra.pop("versions", {}) or {})
    manifest: Dict[str, Any] = {
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
        "versions": versions,
        "created_at": now_iso(),
    }
    manifest.update(extra)
    return manifest


def write_manifest(artifact: Path, manifest: Dict[str, Any]) -> Path:
    """Write ``manifest`` atomically beside ``artifact``; returns the manifest path."""
    return write_json(manifest_path(artifact), manifest)


def read_manifest(artifact: Path, required: bool = True) -> Optional[Dict[str, Any]]:
    """Read the manifest beside ``artifact``.

    Raises:
        ArtifactError: the manifest is missing (when ``required``), corrupt, or of a newer schema.
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
    if not isinstance(data, dict) or "schema_version" not in data:
        raise ArtifactError(f"{path}: not an edgemnist manifest")
    if int(data["schema_version"]) > SCHEMA_VERSION:
        raise ArtifactError(
            f"{path}: manifest schema {data['schema_version']} is newer than this edgemnist "
            f"understands ({SCHEMA_VERSION}): upgrade edgemnist"
        )
    return data


def check_artifact_hash(artifact: Path, manifest: Dict[str, Any]) -> None:
    """Raise :class:`ArtifactError` if ``artifact`` no longer matches its manifest's sha256."""
    digest = sha256_file(artifact)
    if manifest.get("sha256") and digest != manifest["sha256"]:
        raise ArtifactError(
            f"{artifact}: sha256 does not match its manifest (file changed or corrupt): "
            "re-export or rebuild it"
        )
