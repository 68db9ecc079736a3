"""Engine cache: reuse an engine when everything that shaped it is unchanged, else say why not.

An engine is valid only for the ONNX, TensorRT version, GPU, precision, input shapes and
workspace it was built with. Those are the cache key, stored in the engine's manifest
(``cache_key``); :func:`decide` compares it with the key of the build being asked for.

Example:
    >>> shapes = {"input": {"min": [1, 1, 28, 28], "opt": [1, 1, 28, 28], "max": [64, 1, 28, 28]}}
    >>> k = cache_key("ab" * 32, "8.2.1", "NVIDIA Tegra X1", "5.3", "fp16", shapes, 256)
    >>> decide_from_manifest({"cache_key": k}, k, engine_ok=True).reuse
    True
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

#: key fields, in the order reasons are reported
KEY_FIELDS = (
    "onnx_sha256",
    "tensorrt",
    "gpu",
    "compute_capability",
    "precision",
    "shapes",
    "workspace_mib",
)

_LABELS = {
    "onnx_sha256": "the ONNX changed",
    "tensorrt": "TensorRT version changed",
    "gpu": "GPU changed",
    "compute_capability": "compute capability changed",
    "precision": "precision changed",
    "shapes": "input shapes changed",
    "workspace_mib": "workspace changed",
}


def cache_key(
    onnx_sha256: str,
    tensorrt: str,
    gpu: str,
    compute_capability: str,
    precision: str,
    shapes: Dict[str, Any],
    workspace_mib: int,
) -> Dict[str, Any]:
    """The cache key as a plain dict (JSON-ready, stored in the manifest)."""
    return {
        "onnx_sha256": onnx_sha256,
        "tensorrt": tensorrt,
        "gpu": gpu,
        "compute_capability": compute_capability,
        "precision": precision,
        "shapes": shapes,
        "workspace_mib": int(workspace_mib),
    }


def key_digest(key: Dict[str, Any]) -> str:
    """A short stable digest of a key (for file names and one-line reports)."""
    blob = json.dumps(key, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def differences(old: Dict[str, Any], new: Dict[str, Any]) -> List[str]:
    """One line per key field that differs, e.g. ``TensorRT version changed: 8.2.1 -> 10.3.0``."""
    out = []
    extra = sorted((set(old) | set(new)) - set(KEY_FIELDS))
    for f in list(KEY_FIELDS) + extra:
        if old.get(f) != new.get(f):
            a, b = old.get(f), new.get(f)
            if f == "onnx_sha256":
                a, b = str(a)[:12], str(b)[:12]
            out.append(f"{_LABELS.get(f, f + ' changed')}: {a} -> {b}")
    return out


@dataclass
class CacheDecision:
    """Whether to reuse the engine on disk, and the reasons when not."""

    reuse: bool
    reasons: List[str]

    @property
    def summary(self) -> str:
        return "reusing the cached engine (key matches)" if self.reuse else "; ".join(self.reasons)


def decide_from_manifest(
    manifest: Optional[Dict[str, Any]], key: Dict[str, Any], engine_ok: bool, force: bool = False
) -> CacheDecision:
    """Decide from an already-read manifest (None when there is none)."""
    if force:
        return CacheDecision(False, ["--force-rebuild given"])
    if not engine_ok:
        return CacheDecision(False, ["no engine yet (or it is empty/corrupt)"])
    if manifest is None:
        return CacheDecision(False, ["the engine has no manifest: cannot tell what built it"])
    old = manifest.get("cache_key")
    if not isinstance(old, dict):
        return CacheDecision(False, ["the engine's manifest has no cache key"])
    diff = differences(old, key)
    return CacheDecision(not diff, diff)


def decide(artifact: Path, key: Dict[str, Any], force: bool = False) -> CacheDecision:
    """Compare ``artifact``'s manifest with ``key``; checks the artifact's sha256 too.

    Args:
        artifact: the engine (or fallback model) that would be reused.
        key: the key of the build being asked for (:func:`cache_key`).
        force: rebuild whatever the key says.
    """
    from edgemnist.errors import ArtifactError
    from edgemnist.manifest import check_artifact_hash, read_manifest

    artifact = Path(artifact)
    exists = artifact.is_file() and artifact.stat().st_size > 0
    try:
        manifest = read_manifest(artifact, required=False) if exists else None
    except ArtifactError as exc:
        return CacheDecision(False, [f"unreadable manifest ({exc})"])
    if exists and manifest is not None and not force:
        try:
            check_artifact_hash(artifact, manifest)
        except ArtifactError:
            return CacheDecision(False, ["the engine file does not match its manifest's sha256"])
    return decide_from_manifest(manifest, key, exists, force)
