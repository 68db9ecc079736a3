"""Which rows a benchmark has: one per backend and precision, including the ones that cannot run.

From a run directory (``engines/<name>/``) the table always shows the four CPU rows — PyTorch
FP32 (eager), PyTorch INT8, ONNX Runtime FP32, ONNX Runtime INT8 — plus the FP16 and
ORT-optimized ONNX when present, a TensorRT row per engine (and trtexec's own figures for it),
or one TensorRT row saying why there is none. A row whose file is missing or whose backend is
not installed stays in the table with its status and reason: an empty cell with a reason is
information, a silently dropped row is not.

Rows are built from the formats table (:mod:`edgemnist.formats`); nothing here imports a
backend.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from edgemnist.errors import ArtifactError, ConfigError, EdgeMnistError
from edgemnist.formats import Format, format_for_path, format_for_suffix, lookup

#: row statuses before running; run.py adds "ok" and "error"
READY, MISSING, UNAVAILABLE = "ready", "missing", "unavailable"

BACKEND_LABELS = {
    "torch": "PyTorch",
    "onnxruntime": "ONNX Runtime",
    "tensorrt": "TensorRT",
    "trtexec": "trtexec",
}

#: the rows every run directory shows: (file name, format name, label suffix, how to make it)
CANONICAL: Tuple[Tuple[str, str, str, str], ...] = (
    ("model.pt", "torch", "FP32 (eager)", "train one: edgemnist train RECIPE"),
    (
        "model.torch-int8.pt",
        "torch-int8",
        "INT8",
        "make it: edgemnist quantize DIR/model.pt (PyTorch INT8)",
    ),
    ("model.onnx", "onnx", "FP32", "make it: edgemnist export DIR/model.pt"),
    ("model.int8.onnx", "onnx-qdq", "INT8", "make it: edgemnist quantize DIR/model.onnx"),
)

Availability = Callable[[str], Tuple[bool, str]]


@dataclass
class RowSpec:
    """One planned row of the table."""

    #: unique key in a result (``onnxruntime-int8``; used by --compare to match rows)
    id: str
    #: what the table shows (``ONNX Runtime INT8``)
    label: str
    backend: str
    precision: str
    #: format name from the formats table
    format: str
    #: the file benchmarked (None when missing)
    artifact: Optional[Path]
    #: model group: rows of one model share it (Pareto plot, agreement reference)
    model: str
    status: str = READY
    reason: str = ""
    options: Dict[str, Any] = field(default_factory=dict)
    #: id before it was made unique in a table
    base_id: str = ""

    def __post_init__(self) -> None:
        self.base_id = self.base_id or self.id

    @property
    def runnable(self) -> bool:
        return self.status == READY


def default_availability(backend: str) -> Tuple[bool, str]:
    """Whether a backend runs here (from :func:`edgemnist.runners.open.backend_available`)."""
    from edgemnist.runners.open import backend_available

    return backend_available(backend)


def _precision(path: Path, fmt: Format) -> str:
    from edgemnist.manifest import read_manifest

    try:
        manifest = read_manifest(path, required=False) or {}
    except EdgeMnistError:
        manifest = {}
    value = manifest.get("precision")
    if isinstance(value, str) and value in fmt.precisions:
        return value
    return fmt.precisions[0]


def _model_name(path: Path) -> str:
    """The model group of an artifact: its manifest's model name, else its directory's name."""
    from edgemnist.manifest import read_manifest

    try:
        manifest = read_manifest(path, required=False) or {}
    except EdgeMnistError:
        manifest = {}
    model = manifest.get("model")
    if isinstance(model, dict):
        model = model.get("name")
    if isinstance(model, str) and model:
        return model
    return path.resolve().parent.name or path.stem


def _row(
    fmt: Format,
    path: Optional[Path],
    model: str,
    label_suffix: str,
    precision: Optional[str],
    availability: Availability,
) -> RowSpec:
    precision = precision or fmt.precisions[0]
    ident = f"{fmt.backend}-{precision}"
    if fmt.name == "onnxruntime-optimized":
        ident += "-ort-optimized"
    row = RowSpec(
        id=ident,
        label=f"{BACKEND_LABELS.get(fmt.backend, fmt.backend)} {label_suffix}".strip(),
        backend=fmt.backend,
        precision=precision,
        format=fmt.name,
        artifact=path,
        model=model,
    )
    if path is None or not path.is_file():
        row.status = MISSING
        return row
    ok, why = availability(fmt.backend)
    if not ok:
        row.status, row.reason = UNAVAILABLE, why or f"{fmt.backend} cannot run here"
    return row


def _label_for(fmt: Format, precision: str) -> str:
    if fmt.name == "onnxruntime-optimized":
        return f"{precision.upper()} (ORT-optimized)"
    if fmt.name == "torch":
        return "FP32 (eager)"
    return precision.upper()


def _artifact_rows(
    fmt: Format, path: Path, model: str, availability: Availability, show_file: bool = False
) -> List[RowSpec]:
    """The row of one existing artifact, plus trtexec's own figures for a TensorRT engine.

    ``show_file`` adds the file name to the label, for files beside the canonical ones (two
    "ONNX Runtime INT8" rows must say which is which).
    """
    from edgemnist.formats import runner_options

    precision = _precision(path, fmt)
    label = _label_for(fmt, precision)
    options = runner_options(path)
    if options.get("graph_opt") == "disable":
        label += " (TensorRT QDQ, simulated in float)"
    if show_file:
        label += f" [{path.name}]"
    rows = [_row(fmt, path, model, label, precision, availability)]
    rows[0].options.update(options)
    if fmt.backend == "tensorrt":
        trtexec_label = f"{precision.upper()} (own timing)"
        rows.append(_row(lookup("trtexec"), path, model, trtexec_label, precision, availability))
    return rows


def rows_for_artifacts(
    artifacts: Sequence[Path], availability: Optional[Availability] = None
) -> List[RowSpec]:
    """One row per artifact (two for an engine: TensorRT and trtexec's own figures).

    Args:
        artifacts: model files (``.pt``, ``.onnx``, ``.engine``, ...).
        availability: ``backend -> (ok, reason)``; default asks the runners.

    Returns:
        Row specs; a missing file or an unknown format raises, a backend that cannot run here
        gives a row with status ``unavailable``.

    Raises:
        ArtifactError: a file is missing or of unknown format (the user named it: say so).
    """
    availability = availability or default_availability
    rows: List[RowSpec] = []
    for artifact in artifacts:
        path = Path(artifact)
        fmt = format_for_path(path)  # raises ArtifactError for missing/unknown files
        rows.extend(_artifact_rows(fmt, path, _model_name(path), availability))
    return _unique_ids(rows)


def rows_for_run_dir(run_dir: Path, availability: Optional[Availability] = None) -> List[RowSpec]:
    """The rows of a run directory (``engines/<name>/``), the ones that cannot run included.

    Files considered are those named ``model.*`` with a suffix from the formats table.

    Args:
        run_dir: the directory.
        availability: ``backend -> (ok, reason)``; default asks the runners.

    Returns:
        Row specs in table order: PyTorch FP32, PyTorch INT8, ORT FP32, ORT INT8, other ONNX
        variants present, TensorRT engines (+ trtexec) or one TensorRT row saying why none.

    Raises:
        ArtifactError: ``run_dir`` is not a directory.
    """
    availability = availability or default_availability
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ArtifactError(
            f"{run_dir} is not a directory: give a run directory such as engines/NAME"
        )
    model = run_dir.resolve().name
    rows: List[RowSpec] = []
    canonical_names = set()
    for name, fmt_name, label, how in CANONICAL:
        canonical_names.add(name)
        path = run_dir / name
        fmt = lookup(fmt_name)
        precision = _precision(path, fmt) if path.is_file() else None
        row = _row(fmt, path, model, label, precision, availability)
        if path.is_file():
            from edgemnist.formats import runner_options

            row.options.update(runner_options(path))
        if row.status == MISSING:
            row.artifact = None
            row.reason = f"no {name} in {run_dir}: {how.replace('DIR', str(run_dir))}"
        rows.append(row)

    engines: List[RowSpec] = []
    for path in sorted(run_dir.glob("model.*")):
        if path.name in canonical_names or path.name.endswith(".json") or not path.is_file():
            continue
        by_suffix = format_for_suffix(path)
        if by_suffix is None:
            continue
        fmt = by_suffix
        # an unknown format in its manifest: the suffix still says what to try
        with contextlib.suppress(ArtifactError):
            fmt = format_for_path(path)
        specs = _artifact_rows(fmt, path, model, availability, show_file=fmt.backend != "tensorrt")
        (engines if fmt.backend == "tensorrt" else rows).extend(specs)
    if engines:
        rows.extend(engines)
    else:
        fmt = lookup("tensorrt")
        row = RowSpec(
            id="tensorrt",
            label="TensorRT",
            backend="tensorrt",
            precision="-",
            format=fmt.name,
            artifact=None,
            model=model,
        )
        ok, why = availability("tensorrt")
        if ok:
            row.status = MISSING
            row.reason = (
                f"no TensorRT engine in {run_dir}: edgemnist build-engine {run_dir}/model.onnx"
            )
        else:
            row.status = UNAVAILABLE
            row.reason = f"{why} (TensorRT engines are built and run on a Jetson or an NVIDIA GPU)"
        rows.append(row)
    return _unique_ids(rows)


def plan_rows(
    artifacts: Sequence[Path] = (),
    run_dirs: Sequence[Path] = (),
    availability: Optional[Availability] = None,
) -> List[RowSpec]:
    """All rows for explicit artifacts and run directories, in the order given.

    Raises:
        ConfigError: nothing to benchmark.
    """
    if not artifacts and not run_dirs:
        raise ConfigError(
            "nothing to benchmark: give model files (edgemnist bench engines/NAME/model.onnx) "
            "or --run-dir engines/NAME"
        )
    rows: List[RowSpec] = []
    for run_dir in run_dirs:
        rows.extend(rows_for_run_dir(Path(run_dir), availability))
    if artifacts:
        rows.extend(rows_for_artifacts([Path(a) for a in artifacts], availability))
    return _unique_ids(rows, across_models=len({r.model for r in rows}) > 1)


def _unique_ids(rows: List[RowSpec], across_models: bool = False) -> List[RowSpec]:
    """Make ids unique: prefix the model when several models share a table, then number."""
    seen: Dict[str, int] = {}
    for row in rows:
        key = f"{row.model}/{row.base_id}" if across_models else row.base_id
        count = seen.get(key, 0)
        seen[key] = count + 1
        row.id = key if count == 0 else f"{key}-{count + 1}"
    return rows
