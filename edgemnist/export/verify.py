"""The parity gate: run an artifact on the MNIST test set and compare it with its FP32 reference.

Quantized and converted artifacts are judged by the task metric, not by ``allclose``: accuracy on
all 10 000 test images, top-1 agreement with the reference, and the largest logit difference.
The gate fails when accuracy drops by more than ``threshold`` percentage points (default 0.10).
Scores come from :mod:`edgemnist.scoring` (fractions; percentages only when printed).
A "flip gallery" PNG shows every digit whose predicted class changed.

Both sides run through :func:`edgemnist.runners.open.open_runner`, so a checkpoint runs on
PyTorch, an ONNX model on ONNX Runtime, a PyTorch INT8 model on PyTorch's quantized kernels.
This module imports no torch: ``edgemnist verify`` of ONNX models works on a device install.

Example:
    >>> report = verify_artifact("engines/edge/model.int8.onnx")  # doctest: +SKIP
    >>> report.passed, report.accuracy, report.agreement  # doctest: +SKIP
    (True, 0.9912, 0.9995)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np

from edgemnist.errors import ArtifactError, GateError
from edgemnist.scoring import pct, points, score_logits

DEFAULT_THRESHOLD = 0.10  # percentage points of test accuracy, as users type the gate
BATCH = 500
GALLERY_MAX = 100

PathLike = Union[str, Path]


@dataclass
class ParityReport:
    """What the gate measured (a :class:`edgemnist.scoring.Score` plus names and the verdict).

    Rates are fractions in [0, 1] (``accuracy`` 0.9912 is 99.12 %), ``max_drop`` too: the gate
    the drop was held to. :meth:`summary` prints percentages.
    """

    artifact: str
    reference: Optional[str]
    images: int
    accuracy: float
    reference_accuracy: Optional[float] = None
    accuracy_drop: Optional[float] = None  # reference - artifact, fraction
    agreement: Optional[float] = None  # share of images with the same top-1 as the reference
    max_abs_dlogit: Optional[float] = None
    flips: List[int] = field(default_factory=list)  # test indices whose prediction changed
    max_drop: float = points(DEFAULT_THRESHOLD)
    passed: bool = True
    gallery: Optional[str] = None
    backend: Optional[str] = None  # what actually ran the artifact
    fallback: Optional[str] = None  # why another file/backend stood in for it (open_runner)

    def to_dict(self) -> Dict[str, Any]:
        d = asdict(self)
        d["flip_count"] = len(self.flips)
        return d

    def summary(self) -> str:
        """One line for logs and error messages (percentages)."""
        if self.reference_accuracy is None:
            return f"accuracy {pct(self.accuracy)}% on {self.images} test images (no reference)"
        drop = 100.0 * (self.accuracy_drop or 0.0)
        return (
            f"accuracy {pct(self.accuracy)}% vs reference {pct(self.reference_accuracy)}% "
            f"(drop {drop:+.2f} points, gate {100.0 * self.max_drop:.2f}), "
            f"top-1 agreement {pct(self.agreement)}%, max |dlogit| {self.max_abs_dlogit:.3g}, "
            f"{len(self.flips)} flips"
        )


# Logits of a file do not change while its bytes do not: the pipeline gates the same FP32
# reference several times (ONNX, INT8, FP16, PyTorch INT8), so keep them for the process.
_LOGITS_CACHE: Dict[Tuple[str, int, int, int, str], Tuple[np.ndarray, Dict[str, Any]]] = {}


def artifact_logits(
    artifact: PathLike, images_u8: np.ndarray, threads: Optional[int] = None, **options: Any
) -> np.ndarray:
    """Run ``artifact`` on uint8 images (normalized here) and return ``(N, 10)`` float32 logits.

    Args:
        artifact: checkpoint, ONNX model, PyTorch INT8 model, or anything open_runner reads.
        images_u8: ``(N, 28, 28)`` uint8.
        threads: CPU threads for the backend (None: the backend's default).
        **options: more runner options (``graph_opt``, ``precision``); default: what the
            artifact's manifest asks for (see :func:`edgemnist.formats.runner_options`).
    """
    path = Path(artifact)
    if not path.is_file():
        raise ArtifactError(f"{path} not found")
    st = path.stat()
    digest = _images_key(images_u8)
    from edgemnist.formats import runner_options

    options = {**runner_options(path), **options}
    if threads is not None:
        options["threads"] = threads
    key = (
        str(path.resolve()),
        st.st_size,
        st.st_mtime_ns,
        len(images_u8),
        digest + repr(sorted(options.items())),
    )
    if key not in _LOGITS_CACHE:
        _LOGITS_CACHE[key] = _run(path, images_u8, options)
    return _LOGITS_CACHE[key][0]


def _run(path: Path, images_u8: np.ndarray, options: Dict[str, Any]) -> Tuple[np.ndarray, Any]:
    """Logits of ``path`` on ``images_u8`` and the runner's info (backend, fallback reason)."""
    from edgemnist.constants import normalize
    from edgemnist.runners.open import open_runner

    outs = []
    with open_runner(path, **options) as runner:
        for start in range(0, len(images_u8), BATCH):
            outs.append(runner.infer(normalize(images_u8[start : start + BATCH])))
        info = dict(runner.info)
    return np.concatenate(outs, axis=0), info


def artifact_info(artifact: PathLike) -> Dict[str, Any]:
    """The runner info recorded the last time :func:`artifact_logits` ran ``artifact``."""
    target = str(Path(artifact).resolve())
    found = [v[1] for k, v in _LOGITS_CACHE.items() if k[0] == target]
    return found[-1] if found else {}


def _images_key(images: np.ndarray) -> str:
    import hashlib

    return hashlib.sha1(np.ascontiguousarray(images).tobytes()).hexdigest()


def parity_report(
    logits: np.ndarray,
    labels: np.ndarray,
    reference_logits: Optional[np.ndarray] = None,
    threshold: float = DEFAULT_THRESHOLD,
    artifact: str = "",
    reference: Optional[str] = None,
) -> ParityReport:
    """Score ``logits`` (:func:`edgemnist.scoring.score_logits`) and apply the gate.

    Args:
        logits: ``(N, 10)`` of the artifact under test.
        labels: ``(N,)`` true classes.
        reference_logits: ``(N, 10)`` of the FP32 reference, or None.
        threshold: largest accepted accuracy drop, in percentage points.
        artifact / reference: names recorded in the report.

    Returns:
        A :class:`ParityReport`; ``passed`` is False when the drop exceeds ``threshold``.

    Example:
        >>> import numpy as np
        >>> ref = np.eye(10, dtype=np.float32)[[0, 1, 2, 3]]
        >>> out = ref.copy(); out[3] = np.eye(10)[5]
        >>> r = parity_report(out, np.array([0, 1, 2, 3]), ref, threshold=10)
        >>> r.accuracy, r.agreement, r.flips, r.passed
        (0.75, 0.75, [3], False)
    """
    score = score_logits(logits, labels, reference_logits)
    max_drop = points(threshold)
    return ParityReport(
        artifact=artifact,
        reference=reference,
        images=score.images,
        accuracy=score.accuracy,
        reference_accuracy=score.reference_accuracy,
        accuracy_drop=score.accuracy_drop,
        agreement=score.agreement,
        max_abs_dlogit=score.max_abs_dlogit,
        flips=score.flips,
        max_drop=max_drop,
        passed=score.within(max_drop),
    )


def default_reference(artifact: PathLike) -> Optional[Path]:
    """The FP32 reference of an artifact: its manifest's ``source`` file, next to it, if present."""
    from edgemnist.manifest import read_manifest

    artifact = Path(artifact)
    manifest = read_manifest(artifact, required=False) or {}
    source = manifest.get("source")
    if isinstance(source, dict) and source.get("file"):
        cand = artifact.parent / str(source["file"])
        if cand.is_file() and cand.resolve() != artifact.resolve():
            return cand
    return None


def verify_artifact(
    artifact: PathLike,
    reference: Optional[PathLike] = None,
    threshold: float = DEFAULT_THRESHOLD,
    gallery: Optional[PathLike] = None,
    threads: Optional[int] = None,
    limit: Optional[int] = None,
) -> ParityReport:
    """Run the parity gate on ``artifact`` (does not raise when it fails; see :func:`enforce`).

    Args:
        artifact: the model under test.
        reference: the FP32 model to compare with (default: the manifest's source, if present).
        threshold: accepted accuracy drop in percentage points.
        gallery: where to write the flip gallery PNG (None: no gallery).
        threads: CPU threads for the backends.
        limit: use only the first ``limit`` test images (tests, quick checks); None = all 10 000.

    Returns:
        The :class:`ParityReport`.
    """
    artifact = Path(artifact)
    _check_readable(artifact)
    ref = Path(reference) if reference is not None else default_reference(artifact)
    if ref is not None:
        _check_readable(ref)
    from edgemnist.data.mnist import load_test_set

    images, labels = load_test_set(limit)
    logits = artifact_logits(artifact, images, threads)
    ref_logits = artifact_logits(ref, images, threads) if ref is not None else None
    report = parity_report(
        logits,
        labels,
        ref_logits,
        threshold,
        artifact=str(artifact),
        reference=str(ref) if ref is not None else None,
    )
    info = artifact_info(artifact)
    report.backend = info.get("backend")
    report.fallback = info.get("fallback_reason")
    if gallery is not None and ref_logits is not None:
        write_flip_gallery(
            gallery, images, labels, logits.argmax(1), ref_logits.argmax(1), report.flips
        )
        report.gallery = str(gallery)
    return report


def _check_readable(path: Path) -> None:
    """Fail fast, before the test set is loaded, on a missing or non-ONNX file."""
    if not path.is_file():
        raise ArtifactError(f"{path} not found: give the path of an exported model")
    if path.name.lower().endswith(".onnx"):
        try:
            import onnx  # noqa: F401  (a device install has ONNX Runtime without onnx)
        except ImportError:
            return  # ONNX Runtime's own load error says what is wrong with the file
        from edgemnist.export.onnx_export import read_onnx

        read_onnx(path, check=False)


def enforce(report: ParityReport, force: bool = False, what: str = "") -> None:
    """Raise :class:`GateError` if ``report`` failed, unless ``force``."""
    if report.passed or force:
        return
    name = what or Path(report.artifact).name
    raise GateError(
        f"{name} failed the parity gate: {report.summary()}; nothing kept "
        "(use --force to keep it anyway, or --threshold to change the gate)"
    )


def write_flip_gallery(
    path: PathLike,
    images_u8: np.ndarray,
    labels: np.ndarray,
    pred: np.ndarray,
    ref_pred: np.ndarray,
    flips: List[int],
    scale: int = 3,
    columns: int = 10,
) -> Path:
    """Write a PNG grid of the digits whose prediction changed (at most 100), captioned.

    Each title reads ``y<label> <ref>><new>``: the true class, the reference's prediction, then
    the artifact's (``y7 7>1``: a 7 the FP32 model got right and the artifact calls 1). With no
    flips the PNG says so, so a requested gallery always exists.

    Returns:
        ``path``.
    """
    from edgemnist.atomic import write_bytes
    from edgemnist.data.preview import write_grid

    shown = list(flips)[:GALLERY_MAX]
    if shown:
        titles = [f"y{int(labels[i])} {int(ref_pred[i])}>{int(pred[i])}" for i in shown]
        return write_grid(
            path, images_u8[shown], titles, cols=min(columns, len(shown)), scale=scale
        )
    import cv2

    canvas = np.full((40, 320), 255, np.uint8)
    cv2.putText(
        canvas, "no prediction changed", (8, 26), cv2.FONT_HERSHEY_SIMPLEX, 0.6, 0, 1, cv2.LINE_AA
    )
    ok, buf = cv2.imencode(".png", canvas)
    if not ok:
        raise ArtifactError(f"cannot encode the flip gallery for {path}")
    return write_bytes(path, buf.tobytes())
