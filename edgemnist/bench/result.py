"""The benchmark result document: :class:`BenchResult` with one :class:`BenchRow` per row.

Rows are assembled here and nowhere else: :func:`edgemnist.bench.run.run_row` fills a
:class:`BenchRow`, :class:`BenchResult` holds them, and ``to_dict`` gives the JSON written to
``<name>.json`` (the source of truth; the CSV, Markdown and plots are views of it).
:meth:`BenchResult.from_dict` reads a JSON back, checks every field's type (naming the first
that is wrong or unknown) and the rules a row obeys (:meth:`BenchRow.problems`).

Rates are fractions in [0, 1] (:mod:`edgemnist.scoring`), latencies microseconds.

Schema history:
    1: ``accuracy_drop_points`` per row and ``recommendation.gate_points`` in percentage points.
    2: ``accuracy_drop`` and ``recommendation.max_drop`` as fractions, like every other rate.
       Version-1 files (the committed results in ``benchmarks/results/``) are migrated on read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from edgemnist.bench import SCHEMA_VERSION
from edgemnist.documents import from_dict, to_dict
from edgemnist.errors import ArtifactError

KIND = "edgemnist-bench"
#: row statuses: planned (ready, missing, unavailable), then run (ok, error)
ROW_STATUSES = ("ok", "error", "missing", "unavailable", "ready")


@dataclass
class Throughput:
    """Images per second at one batch size (``status`` ok, unavailable or error)."""

    batch: int
    status: str
    images_per_s: Optional[float] = None
    batch_latency_us: Optional[Dict[str, float]] = None
    iters: Optional[int] = None
    reason: Optional[str] = None


@dataclass
class BenchRow:
    """One row of the table: what was benchmarked, how it went, and what it measured."""

    id: str  # unique in a result; --compare matches rows by it
    label: str
    model: str
    backend: str
    precision: str
    format: str
    status: str
    reason: str = ""
    artifact: Optional[str] = None
    sha256: Optional[str] = None
    file_size_bytes: Optional[int] = None
    #: a TensorRT-target QDQ model run in float on ONNX Runtime: its accuracy is TensorRT's,
    #: its CPU latency is not an INT8 figure, so it never enters the recommendation
    simulated: bool = False
    warnings: List[str] = field(default_factory=list)
    load_s: Optional[float] = None
    info: Optional[Dict[str, Any]] = None  # the runner's info (backend, providers, ...)
    source: Optional[str] = None  # trtexec rows: where the figures came from
    n_images: Optional[int] = None
    accuracy: Optional[float] = None
    reference: Optional[str] = None  # id of the FP32 row agreement is measured against
    agreement: Optional[float] = None
    accuracy_drop: Optional[float] = None  # reference accuracy - this accuracy
    latency_us: Optional[Dict[str, float]] = None  # batch-1 backend call: n, min, p50, ...
    latency_cdf_us: Optional[List[float]] = None
    latency_rounds_p50_us: Optional[List[float]] = None
    gpu_compute_us: Optional[Dict[str, float]] = None
    e2e_us: Optional[Dict[str, float]] = None
    throughput: List[Throughput] = field(default_factory=list)
    peak_rss_mb: Optional[float] = None
    rss_growth_mb: Optional[float] = None

    def problems(self, where: str) -> List[str]:
        """Rules a row obeys beyond field types, one line per broken rule."""
        out = []
        if self.status not in ROW_STATUSES:
            out.append(f"{where}: status {self.status!r} not one of {', '.join(ROW_STATUSES)}")
        if self.status in ("error", "missing", "unavailable") and not self.reason:
            out.append(f"{where}: status {self.status} needs a reason")
        for name in ("accuracy", "agreement"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value <= 1.0:
                out.append(f"{where}: {name} {value} is not a fraction in [0, 1]")
        if self.status == "ok":
            lat = self.latency_us or {}
            if not all(isinstance(lat.get(k), (int, float)) for k in ("min", "p50", "p99")):
                out.append(f"{where}: ok row without latency_us min/p50/p99")
            elif not lat["min"] <= lat["p50"] <= lat["p99"]:
                out.append(f"{where}: latency percentiles out of order")
            if self.backend != "trtexec" and self.accuracy is None:
                out.append(f"{where}: ok row needs accuracy in [0, 1]")
        return out


@dataclass
class BenchResult:
    """A whole benchmark run (schema :data:`edgemnist.bench.SCHEMA_VERSION`)."""

    created_at: str
    config: Dict[str, Any]
    environment: Dict[str, Any]
    harness: Dict[str, Any]
    rows: List[BenchRow]
    recommendation: Dict[str, Any]
    warnings: List[str] = field(default_factory=list)
    schema_version: int = SCHEMA_VERSION
    kind: str = KIND
    command: Optional[str] = None
    duration_s: Optional[float] = None
    comparison: Optional[Dict[str, Any]] = None  # --compare: the regression gate's verdict
    relabelled: Optional[str] = None  # a note when rows were renamed after the run

    def problems(self) -> List[str]:
        """Rules beyond field types (kind, ids, environment, recommendation, each row)."""
        out: List[str] = []
        if self.kind != KIND:
            out.append(f"kind is {self.kind!r}, expected {KIND!r}")
        for key in ("cpu", "versions", "board"):
            if not isinstance(self.environment.get(key), dict):
                out.append(f"environment.{key} missing")
        ids = set()
        for i, row in enumerate(self.rows):
            out += row.problems(f"rows[{i}]")
            if row.id in ids:
                out.append(f"rows[{i}]: duplicate id {row.id!r}")
            ids.add(row.id)
        rec = self.recommendation
        if "line" not in rec or "choice" not in rec:
            out.append("recommendation needs 'choice' and 'line'")
        elif rec["choice"] is not None and rec["choice"] not in ids:
            out.append(f"recommendation.choice {rec['choice']!r} is not a row id")
        return out

    @property
    def ran(self) -> List[BenchRow]:
        """Rows that ran (status ok)."""
        return [r for r in self.rows if r.status == "ok"]

    def to_dict(self) -> Dict[str, Any]:
        out: Dict[str, Any] = to_dict(self)
        for row in out["rows"]:
            for tp in row["throughput"]:
                for key in [k for k, v in tp.items() if v is None]:
                    del tp[key]
        for key in ("comparison", "relabelled"):
            if out[key] is None:
                del out[key]
        return out

    @classmethod
    def from_dict(cls, data: Any, where: str = "result") -> BenchResult:
        """Check and build a result (version-1 documents migrated).

        Raises:
            ArtifactError: not a bench result, another schema, a mistyped or unknown field,
                or a broken rule (the first problem is named).
        """
        problems = validate(data)
        if problems:
            raise ArtifactError(
                f"{where}: not a valid edgemnist bench result ({problems[0]}): "
                "re-run edgemnist bench"
            )
        return from_dict(cls, migrate(data), ArtifactError)


def migrate(data: Dict[str, Any]) -> Dict[str, Any]:
    """A result of an older schema as the current one (a new dict; version 1 -> 2)."""
    if data.get("schema_version") != 1:
        return data
    out = dict(data, schema_version=2)
    if isinstance(data.get("rows"), list):
        rows = []
        for row in data["rows"]:
            if isinstance(row, dict) and "accuracy_drop_points" in row:
                row = dict(row)
                drop = row.pop("accuracy_drop_points")
                row["accuracy_drop"] = None if drop is None else round(drop / 100.0, 6)
            rows.append(row)
        out["rows"] = rows
    rec = data.get("recommendation")
    if isinstance(rec, dict) and "gate_points" in rec:
        rec = dict(rec)
        rec["max_drop"] = round(float(rec.pop("gate_points")) / 100.0, 6)
        out["recommendation"] = rec
    return out


def validate(data: Any) -> List[str]:
    """Problems of a parsed result JSON, one line each (empty when it is valid).

    Field types come from the dataclasses (unknown keys are refused by name); the rules from
    :meth:`BenchResult.problems`.
    """
    if not isinstance(data, dict):
        return ["result is not a JSON object"]
    if data.get("kind", KIND) != KIND:
        return [f"kind is {data.get('kind')!r}, expected {KIND!r}"]
    version = data.get("schema_version")
    if version not in (1, SCHEMA_VERSION):
        return [f"schema_version {version}, this edgemnist reads 1 to {SCHEMA_VERSION}"]
    try:
        result = from_dict(BenchResult, migrate(data), ArtifactError)
    except ArtifactError as exc:
        return [str(exc)]
    return result.problems()


def load_result(path: Path) -> BenchResult:
    """Read and check a result JSON.

    Raises:
        ArtifactError: unreadable, not a benchmark result, or of an unknown schema version.
    """
    import json

    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"{path}: cannot read benchmark result ({exc})") from None
    return BenchResult.from_dict(data, where=str(path))


def outcome(result: BenchResult) -> Optional[Exception]:
    """The error ``edgemnist bench`` exits with (after printing and writing), or None.

    A benchmark fails when a row could not run (status ``error``: a model that does not load
    is a failure, not "No recommendation"), when no row ran at all, or when ``--compare``
    found a regression. Rows that are ``missing`` or ``unavailable`` on this machine are
    information, not failures, as long as something ran.
    """
    from edgemnist.errors import ArtifactError, BackendUnavailable, GateError

    comparison = result.comparison or {}
    if comparison and not comparison.get("ok", True):
        found = comparison.get("regressions") or ["?"]
        return GateError(
            f"{len(found)} regression(s) against {comparison.get('baseline')}: {found[0]}"
        )
    failed = [r for r in result.rows if r.status == "error"]
    if failed:
        first = failed[0]
        return ArtifactError(f"{len(failed)} row(s) failed to run; {first.label}: {first.reason}")
    if not result.ran:
        return BackendUnavailable(
            "no row ran: every artifact is missing or its backend is unavailable here "
            "(see the notes above; edgemnist doctor checks the backends)"
        )
    return None
