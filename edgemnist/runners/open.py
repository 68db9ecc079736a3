"""``open_runner``: pick the runner for an artifact from the formats table and what is installed.

An engine whose backend cannot run here (no TensorRT on a Raspberry Pi or in CI) falls back to
the ONNX it was built from, on ONNX Runtime, and says so: the reason is logged and stored in
``runner.fallback_reason`` and, once loaded, ``runner.info["fallback_reason"]``.

Example:
    >>> from edgemnist.runners.open import open_runner
    >>> with open_runner("engines/edge/model.engine") as r:  # doctest: +SKIP
    ...     print(r.info["backend"], r.info.get("fallback_reason"))
"""

from __future__ import annotations

import inspect
import logging
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

from edgemnist.errors import BackendUnavailable, ConfigError, EdgeMnistError
from edgemnist.formats import (
    Format,
    backends,
    format_for_path,
    format_for_suffix,
    rows_for_manifest_format,
    runner_class,
)
from edgemnist.runners.base import Runner

log = logging.getLogger("edgemnist")

FALLBACK_BACKEND = "onnxruntime"


def backend_available(backend: str) -> Tuple[bool, str]:
    """Whether ``backend`` can run here, and why not. Never raises.

    Args:
        backend: a backend name from the formats table.

    Returns:
        ``(True, detail)`` or ``(False, reason)``.
    """
    try:
        cls = runner_class(backend)
        ok, why = cls.available()
        return bool(ok), str(why)
    except Exception as exc:
        return False, str(exc) or type(exc).__name__


def source_onnx(artifact: Union[str, Path]) -> Optional[Path]:
    """The ONNX an artifact was built from, if it is next to it.

    Looks, in order, at the manifest's ``fallback_onnx`` key, its ``source.file``, then a
    sibling with the same stem (``model.engine`` -> ``model.onnx``). Names are resolved in the
    artifact's directory.

    Returns:
        The path of an existing ONNX file that ONNX Runtime reads, or None.
    """
    found = _find_onnx(Path(artifact))
    return found[0] if found else None


def _find_onnx(artifact: Path) -> Optional[Tuple[Path, bool]]:
    """``(onnx path, named by the manifest?)`` for :func:`source_onnx`, or None."""
    from edgemnist.manifest import read_manifest

    try:
        manifest = read_manifest(artifact, required=False) or {}
    except EdgeMnistError:
        manifest = {}
    names: List[Tuple[str, bool]] = []
    if manifest.get("fallback_onnx"):
        names.append((str(manifest["fallback_onnx"]), True))
    source = manifest.get("source")
    if isinstance(source, dict) and source.get("file"):
        names.append((str(source["file"]), True))
    names.append((artifact.name.split(".")[0] + ".onnx", False))
    for name, named in names:
        cand = Path(name)
        cand = cand if cand.is_absolute() else artifact.parent / cand
        if cand.is_file() and cand.resolve() != artifact.resolve():
            row = format_for_suffix(cand)
            if row is not None and row.backend == FALLBACK_BACKEND:
                return cand, named
    return None


def _construct(cls: Any, path: Path, options: Dict[str, Any], strict: bool) -> Runner:
    """Build ``cls(path, **options)``; unless ``strict``, drop options the class does not take.

    With ``backend="auto"`` the caller cannot know which runner it gets, so an option meant for
    another backend (``threads`` for ONNX Runtime) is dropped and recorded, not an error.
    """
    params = inspect.signature(cls.__init__).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    used = dict(options)
    dropped: List[str] = []
    if not strict and not takes_any:
        used = {k: v for k, v in options.items() if k in params}
        dropped = sorted(set(options) - set(used))
    try:
        runner: Runner = cls(path, **used)
    except TypeError as exc:
        raise ConfigError(f"{cls.__name__}: bad options {sorted(options)}: {exc}") from None
    if dropped:
        runner.info["ignored_options"] = dropped
    return runner


def open_runner(artifact: Union[str, Path], backend: str = "auto", **options: Any) -> Runner:
    """Return a runner (not yet loaded) for ``artifact``.

    Args:
        artifact: an exported model or engine (its manifest, if present, says its format).
        backend: ``"auto"`` (the first available reader in the formats table, then the
            fallback) or a backend name (``onnxruntime``, ``torch``, ``tensorrt``, ``trtexec``).
        **options: passed to the runner (``threads``, ``providers``, ...). For a ``build-engine``
            fallback (``model.ort.onnx``), ``threads``/``providers`` left out or None come from
            its manifest's measured ``runtime`` (``info["runtime_from_manifest"]`` says which).

    Returns:
        A runner; call ``load()`` or use it as a context manager. When it stands in for the
        artifact's own backend, ``runner.fallback_reason`` says why.

    Raises:
        ConfigError: unknown backend name.
        ArtifactError: the artifact is missing or of unknown format.
        BackendUnavailable: nothing that can run it is usable here (the reason says what).
    """
    if backend != "auto" and backend not in backends():
        raise ConfigError(f"unknown backend {backend!r}: choose auto, {', '.join(backends())}")
    path = Path(artifact)
    fmt = format_for_path(path)
    rows = rows_for_manifest_format(fmt.manifest_format)
    if backend == "auto":
        candidates = [r for r in rows if r.auto]
    else:
        candidates = [r for r in rows if r.backend == backend]
    reasons: List[str] = []
    for row in candidates:
        ok, why = backend_available(row.backend)
        if ok:
            return _construct(runner_class(row.backend), path, options, strict=backend != "auto")
        reasons.append(f"{row.backend}: {why}")
    if backend == "auto" and not reasons:
        reasons.append(f"no automatic reader for {fmt.name}")

    if backend in ("auto", FALLBACK_BACKEND) and fmt.backend != FALLBACK_BACKEND:
        fallback = _fallback(path, fmt, backend, reasons, options)
        if fallback is not None:
            return fallback

    if backend != "auto" and not candidates:
        readers = sorted({r.backend for r in rows})
        raise BackendUnavailable(
            f"backend {backend} cannot run {path.name} ({fmt.name}; it runs on "
            f"{', '.join(readers)}): use --backend auto"
        )
    raise BackendUnavailable(
        f"cannot run {path.name} ({fmt.name}) here: {'; '.join(reasons)}"
        + (
            ""
            if fmt.backend == FALLBACK_BACKEND
            else f"; and no source ONNX beside it to run on {FALLBACK_BACKEND}"
        )
    )


def _fallback(
    path: Path, fmt: Format, backend: str, reasons: List[str], options: Dict[str, Any]
) -> Optional[Runner]:
    """The artifact's source ONNX on ONNX Runtime, with the reason; None if there is none."""
    found = _find_onnx(path)
    if found is None:
        return None
    source, named = found
    ok, why = backend_available(FALLBACK_BACKEND)
    if not ok:
        reasons.append(f"{FALLBACK_BACKEND}: {why}")
        return None
    if backend == "auto":
        # "tensorrt: tensorrt is not importable" -> "tensorrt is not importable"
        why = "; ".join(r.split(": ", 1)[1] if ": " in r else r for r in reasons)
        cause = f"{fmt.backend} is not usable here ({why})"
    else:
        cause = f"backend {backend} was asked for"
    reason = (
        f"{path.name} is a {fmt.name} artifact but {cause}: running "
        + (f"its source ONNX {source.name}" if named else f"{source.name} (the ONNX beside it)")
        + f" on {FALLBACK_BACKEND} instead"
    )
    runner = _construct(runner_class(FALLBACK_BACKEND), source, options, strict=False)
    runner.fallback_reason = reason
    runner.info["fallback_reason"] = reason
    runner.info["fallback_from"] = str(path)
    log.info(reason)  # callers show it (the CLI prints a note); logging stays quiet
    return runner
