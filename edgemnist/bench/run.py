"""Run the rows of a benchmark: accuracy, agreement, latency, end-to-end, throughput, memory.

Per row, in this order (a failure ends the row with status ``error`` and its reason; the next
row still runs):

1. load (timed: the load time column);
2. accuracy on the test set (10 000 images unless limited), batches of 256, argmax;
3. batch-1 latency: the backend call only (``Runner.last_latency_s``), time-based warm-up then
   at least ``min_iters`` calls and ``min_time_s`` seconds;
4. end-to-end batch 1: uint8 image -> normalize -> ``infer`` -> argmax, by wall clock;
5. throughput at each batch size (images per second of wall time around ``infer``);
6. peak RSS (``getrusage``: process-wide high-water mark, so it never goes down between rows;
   ``rss_growth_mb`` is what this row added to it).

After all rows, agreement with the FP32 reference of the same model (ONNX Runtime FP32, else
PyTorch FP32) is the share of test images whose predicted digit is the same. Accuracy,
agreement and the accuracy drop come from :mod:`edgemnist.scoring` (fractions), like
``verify``'s; each row is a :class:`edgemnist.bench.result.BenchRow`.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from edgemnist.bench.result import BenchResult, BenchRow, Throughput
from edgemnist.bench.rows import READY, RowSpec
from edgemnist.bench.stats import CV_WARN, Summary, cdf_points, summarize
from edgemnist.bench.timing import TimingConfig, measure_overhead, pinned, time_backend, time_wall
from edgemnist.constants import normalize
from edgemnist.documents import to_dict
from edgemnist.errors import ConfigError, EdgeMnistError
from edgemnist.scoring import points, score_predictions

Progress = Callable[[str], None]

#: accuracy batches; runners with a fixed batch use theirs
ACCURACY_BATCH = 256


@dataclass
class BenchConfig:
    """Everything that decides what a benchmark measures (stored in the result)."""

    batch_sizes: Tuple[int, ...] = (1, 32, 256)
    threads: int = 1
    pin: Optional[List[int]] = None
    latency: TimingConfig = field(default_factory=TimingConfig)
    #: test images for accuracy (None: all 10 000)
    limit: Optional[int] = None
    #: accuracy gate for the recommendation: largest drop from FP32, in percentage points
    gate_points: float = 0.10
    quick: bool = False
    overhead: bool = True
    #: batch-1 latency is taken in this many rounds that visit every row in turn, each with
    #: 1/rounds of the budget, and the samples merged. On a machine whose speed drifts (a
    #: shared VM, a board warming up) one-row-at-a-time timing hands one row a slow minute and
    #: the next a fast one; interleaving spreads the drift over every row alike.
    rounds: int = 3

    def __post_init__(self) -> None:
        if not self.batch_sizes or any(int(b) < 1 for b in self.batch_sizes):
            raise ConfigError("--batch-sizes: give positive integers such as 1,32,256")
        if self.threads < 1:
            raise ConfigError("--threads must be at least 1")
        if self.limit is not None and self.limit < 1:
            raise ConfigError("the image limit must be at least 1")
        if self.rounds < 1:
            raise ConfigError("--rounds must be at least 1")

    @classmethod
    def quick_default(cls, **overrides: Any) -> BenchConfig:
        """The ``--quick`` budget (CI): short timings, batch sizes 1 and 32, 2 000 images."""
        values: Dict[str, Any] = {
            "batch_sizes": (1, 32),
            "latency": TimingConfig(warmup_s=0.05, min_iters=50, min_time_s=0.25, max_time_s=2.0),
            "limit": 2000,
            "quick": True,
            "rounds": 1,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def as_dict(self) -> Dict[str, Any]:
        out = asdict(self)
        out["batch_sizes"] = list(self.batch_sizes)
        return out

    def throughput_timing(self) -> TimingConfig:
        t = self.latency.scaled(time_factor=1 / 3, iter_factor=0.1)
        return TimingConfig(t.warmup_s, t.min_iters, t.min_time_s, max(1.0, 4 * t.min_time_s))

    def e2e_timing(self) -> TimingConfig:
        return self.latency.scaled(time_factor=0.5, iter_factor=0.5)

    def round_timing(self) -> TimingConfig:
        """One latency round's budget: 1/rounds of the time and iterations (same total)."""
        if self.rounds == 1:
            return self.latency
        n, lat = self.rounds, self.latency
        return TimingConfig(
            warmup_s=lat.warmup_s / n,
            min_iters=-(-lat.min_iters // n),  # ceil: the rounds together reach min_iters
            min_time_s=lat.min_time_s / n,
            max_time_s=lat.max_time_s / n,
        )


def peak_rss_mb() -> Optional[float]:
    """Peak resident memory of this process so far, MiB (None where ``resource`` is absent)."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if not isinstance(exc, EdgeMnistError) else text


def make_runner(row: RowSpec, threads: int) -> Any:
    """The runner for a row (not loaded), from the formats table; options the class does not
    take are not passed (PyTorch INT8 needs ``precision="int8"``, every CPU runner ``threads``)."""
    import inspect

    from edgemnist.formats import runner_class

    cls = runner_class(row.format)
    params = inspect.signature(cls.__init__).parameters
    options: Dict[str, Any] = {"threads": threads, "precision": row.precision}
    options.update(row.options)
    kwargs = {k: v for k, v in options.items() if k in params}
    return cls(row.artifact, **kwargs)


def _predict(runner: Any, x: np.ndarray) -> np.ndarray:
    """Argmax predictions for all of ``x`` in batches (a fixed-batch runner uses its batch)."""
    batch = runner.info.get("batch")
    batch = batch if isinstance(batch, int) and batch > 0 else ACCURACY_BATCH
    max_batch = runner.info.get("max_batch")  # TensorRT engines: dynamic up to a maximum
    if isinstance(max_batch, int) and max_batch > 0:
        batch = min(batch, max_batch)
    preds = np.empty(len(x), dtype=np.int64)
    for start in range(0, len(x), batch):
        chunk = x[start : start + batch]
        if len(chunk) < batch and isinstance(runner.info.get("batch"), int):
            chunk = np.concatenate([chunk, np.repeat(chunk[-1:], batch - len(chunk), axis=0)])
            preds[start:] = runner.infer(chunk).argmax(axis=1)[: len(x) - start]
        else:
            preds[start : start + len(chunk)] = runner.infer(chunk).argmax(axis=1)
    return preds


def _batch_input(x: np.ndarray, batch: int) -> np.ndarray:
    if batch <= len(x):
        return np.ascontiguousarray(x[:batch])
    reps = -(-batch // len(x))
    return np.ascontiguousarray(np.concatenate([x] * reps)[:batch])


def _warnings_for(stats: Summary, what: str, capped: bool) -> List[str]:
    warnings = []
    if stats.unstable:
        warnings.append(
            f"{what} CV {stats.cv:.0%} > {CV_WARN:.0%}: the machine is noisy; close other "
            "programs, pin with --pin, or raise --min-time-s"
        )
    if capped:
        warnings.append(f"{what}: fewer samples than --min-iters (time cap reached)")
    return warnings


def run_row(
    row: RowSpec,
    images_u8: np.ndarray,
    labels: np.ndarray,
    config: BenchConfig,
    progress: Optional[Progress] = None,
    x_all: Optional[np.ndarray] = None,
    rounds: Optional[List[Any]] = None,
) -> Tuple[BenchRow, Optional[np.ndarray]]:
    """Benchmark one row.

    Args:
        row: a planned row (rows that are not ``ready`` are returned as they are).
        images_u8: test images, uint8 ``(N, 28, 28)``.
        labels: their labels.
        config: the budget.
        progress: called with a short message before each phase.
        x_all: ``images_u8`` already normalized (computed here when None).
        rounds: when given (``config.rounds`` > 1), the batch-1 latency here is the first
            round only, and a row that ran is appended as ``(result, runner, x1, samples)``
            with its runner left open for :func:`latency_rounds` (which closes it).

    Returns:
        ``(row result, predictions or None)``.
    """
    say = progress or (lambda _msg: None)
    result = _row_header(row)
    if row.status != READY:
        return result, None
    if row.backend == "trtexec":
        return _run_trtexec(row, result, config), None
    rss_before = peak_rss_mb()
    runner = None
    preds = None
    phase = "load"
    try:
        runner = make_runner(row, config.threads)
        say(f"{row.label}: loading")
        t0 = time.perf_counter()
        runner.load()
        result.load_s = round(time.perf_counter() - t0, 4)
        result.info = _jsonable(dict(runner.info))

        phase = "accuracy"
        say(f"{row.label}: accuracy on {len(images_u8)} test images")
        if x_all is None:
            x_all = normalize(images_u8)
        preds = _predict(runner, x_all)
        result.n_images = int(len(labels))
        result.accuracy = score_predictions(preds, labels).accuracy

        phase = "latency"
        say(f"{row.label}: batch-1 latency")
        x1 = np.ascontiguousarray(x_all[:1])
        budget = config.round_timing() if rounds is not None else config.latency
        timed = time_backend(runner, x1, budget)
        _set_latency(result, timed.samples_s, timed.capped)

        phase = "end-to-end"
        say(f"{row.label}: end-to-end")
        img = images_u8[:1]
        infer = runner.infer

        def end_to_end() -> int:
            return int(infer(normalize(img)).argmax())

        e2e = time_wall(end_to_end, config.e2e_timing())
        result.e2e_us = e2e.summary_us().as_dict()

        phase = "throughput"
        result.throughput = []
        for batch in config.batch_sizes:
            say(f"{row.label}: throughput at batch {batch}")
            result.throughput.append(_throughput(runner, x_all, batch, config))
        result.status = "ok"
        if rounds is not None:
            rounds.append((result, runner, x1, list(timed.samples_s), timed.capped))
            runner = None  # latency_rounds() closes it
    except Exception as exc:  # one broken backend must not lose the other rows
        result.status, result.reason = "error", f"{phase}: {_one_line(exc)}"
    finally:
        if runner is not None:
            # closing a half-loaded backend is best effort
            with contextlib.suppress(Exception):
                runner.close()
    peak = peak_rss_mb()
    result.peak_rss_mb = peak
    if peak is not None and rss_before is not None:
        result.rss_growth_mb = round(peak - rss_before, 1)
    return result, preds


def _set_latency(result: BenchRow, samples_s: Sequence[float], capped: bool) -> None:
    """Fill a row's batch-1 latency fields (and its CV warning) from samples in seconds."""
    lat = summarize(list(samples_s)).scaled(1e6)
    result.latency_us = lat.as_dict()
    result.latency_cdf_us = [round(v * 1e6, 3) for v in cdf_points(list(samples_s), 500)]
    result.warnings = [w for w in result.warnings if not w.startswith("batch-1 latency")]
    result.warnings += _warnings_for(lat, "batch-1 latency", capped)


def latency_rounds(
    kept: List[Any], config: BenchConfig, progress: Optional[Progress] = None
) -> None:
    """Rounds 2..N of batch-1 latency, visiting every kept row in turn; merge and close.

    Each row's summary and CDF are recomputed from all its samples; ``latency_rounds_p50_us``
    lists the p50 of each round, so drift between rounds stays visible. A row whose later
    round fails keeps what it measured and says so in a warning.
    """
    say = progress or (lambda _msg: None)
    samples = {id(r): list(s) for r, _runner, _x, s, _c in kept}
    per_round = {id(r): [_p50_us(s)] for r, _runner, _x, s, _c in kept}
    failed: Dict[int, str] = {}
    try:
        for n in range(2, config.rounds + 1):
            for result, runner, x1, _s, _c in kept:
                if id(result) in failed:
                    continue
                say(f"{result.label}: batch-1 latency, round {n} of {config.rounds}")
                try:
                    timed = time_backend(runner, x1, config.round_timing())
                except Exception as exc:  # keep the rounds already measured
                    failed[id(result)] = f"round {n}: {_one_line(exc)}"
                    continue
                samples[id(result)] += timed.samples_s
                per_round[id(result)].append(_p50_us(timed.samples_s))
    finally:
        for result, runner, _x, _s, capped in kept:
            with contextlib.suppress(Exception):
                runner.close()
            _set_latency(result, samples[id(result)], capped)
            result.latency_rounds_p50_us = per_round[id(result)]
            if id(result) in failed:
                result.warnings.append(
                    f"batch-1 latency: later rounds stopped ({failed[id(result)]})"
                )


def _p50_us(samples_s: Sequence[float]) -> float:
    return round(float(np.percentile(np.asarray(samples_s) * 1e6, 50)), 3)


def _throughput(runner: Any, x_all: np.ndarray, batch: int, config: BenchConfig) -> Throughput:
    fixed = runner.info.get("batch")
    if isinstance(fixed, int) and fixed != batch:
        return Throughput(batch, "unavailable", reason=f"this artifact takes batch {fixed} only")
    max_batch = runner.info.get("max_batch")
    if isinstance(max_batch, int) and 0 < max_batch < batch:
        return Throughput(
            batch, "unavailable", reason=f"this engine's maximum batch is {max_batch}"
        )
    x = _batch_input(x_all, batch)
    infer = runner.infer
    try:
        timed = time_wall(lambda: infer(x), config.throughput_timing())
    except EdgeMnistError as exc:
        return Throughput(batch, "error", reason=_one_line(exc))
    total = sum(timed.samples_s)
    stats = timed.summary_us()
    return Throughput(
        batch,
        "ok",
        images_per_s=round(batch * timed.iters / total, 1) if total > 0 else None,
        batch_latency_us={"p50": round(stats.p50, 3), "p99": round(stats.p99, 3)},
        iters=timed.iters,
    )


def _run_trtexec(row: RowSpec, result: BenchRow, config: BenchConfig) -> BenchRow:
    """trtexec's own figures for an engine: from a stored summary in the engine's manifest
    (``trtexec`` key), else by running trtexec through its runner's ``benchmark``."""
    from edgemnist.manifest import read_manifest

    result.source = "trtexec"
    summary = None
    try:
        manifest = (read_manifest(row.artifact, required=False) or {}) if row.artifact else {}
        stored = manifest.get("trtexec")
        if isinstance(stored, dict) and "latency_ms" in stored:
            summary, result.source = stored, "trtexec (stored in the engine manifest)"
        else:
            runner = make_runner(row, config.threads)
            bench = getattr(runner, "bench", None)
            if bench is None:
                raise EdgeMnistError("this edgemnist's trtexec runner cannot time engines")
            summary = bench(
                batch=1,
                warmup_ms=int(config.latency.warmup_s * 1000),
                duration_s=max(1.0, config.latency.min_time_s),
            )
    except Exception as exc:
        result.status, result.reason = "error", _one_line(exc)
        return result
    lat_ms = summary.get("latency_ms", {}) if isinstance(summary, dict) else {}
    result.latency_us = {k: round(float(v) * 1000.0, 3) for k, v in lat_ms.items()}
    gpu = summary.get("gpu_compute_ms") if isinstance(summary, dict) else None
    if isinstance(gpu, dict):
        result.gpu_compute_us = {k: round(float(v) * 1000.0, 3) for k, v in gpu.items()}
    if isinstance(summary, dict) and summary.get("throughput_qps") is not None:
        result.throughput = [Throughput(1, "ok", images_per_s=float(summary["throughput_qps"]))]
    result.warnings += list(summary.get("warnings", [])) if isinstance(summary, dict) else []
    result.status = "ok"
    result.reason = "trtexec's own timing (no logits: no accuracy)"
    return result


def _row_header(row: RowSpec) -> BenchRow:
    from edgemnist.atomic import sha256_file

    artifact = row.artifact if row.artifact is not None and row.artifact.is_file() else None
    return BenchRow(
        id=row.id,
        label=row.label,
        model=row.model,
        backend=row.backend,
        precision=row.precision,
        format=row.format,
        artifact=str(row.artifact) if row.artifact else None,
        sha256=sha256_file(artifact) if artifact else None,
        file_size_bytes=artifact.stat().st_size if artifact else None,
        status=row.status,
        reason=row.reason,
        simulated=row.options.get("graph_opt") == "disable",
    )


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "tolist"):
        return obj.tolist()
    return str(obj)


def reference_row(rows: Sequence[BenchRow], model: str) -> Optional[BenchRow]:
    """The FP32 reference of ``model`` among finished rows: ONNX Runtime FP32 (plain ONNX),
    else PyTorch FP32, else any FP32 row with an accuracy."""
    done = [r for r in rows if r.model == model and r.accuracy is not None]
    for want in (("onnxruntime", "onnx"), ("torch", "torch")):
        for r in done:
            if (r.backend, r.format) == want and r.precision == "fp32":
                return r
    return next((r for r in done if r.precision == "fp32"), None)


def add_agreement(rows: List[BenchRow], preds: Dict[str, np.ndarray], labels: np.ndarray) -> None:
    """Score each row against its model's FP32 reference (:mod:`edgemnist.scoring`): fill
    ``reference``, ``agreement`` (share of equal predicted digits) and ``accuracy_drop``."""
    for row in rows:
        ref = reference_row(rows, row.model)
        if row.accuracy is None or ref is None or ref.id not in preds or row.id not in preds:
            continue
        score = score_predictions(preds[row.id], labels, preds[ref.id])
        row.reference = ref.id
        row.agreement = score.agreement
        row.accuracy_drop = score.accuracy_drop


def run_bench(
    rows: Sequence[RowSpec],
    config: BenchConfig,
    data: Optional[Tuple[np.ndarray, np.ndarray]] = None,
    progress: Optional[Progress] = None,
    command: Optional[str] = None,
) -> BenchResult:
    """Benchmark every row and assemble the result document.

    Args:
        rows: from :func:`edgemnist.bench.rows.plan_rows`.
        config: what to measure.
        data: ``(images uint8, labels)``; default the MNIST test set (limited by config).
        progress: called with short status messages.
        command: the command line, stored in the result.

    Returns:
        The :class:`~edgemnist.bench.result.BenchResult` (``to_dict()`` is the JSON).
    """
    from edgemnist.bench.fingerprint import fingerprint
    from edgemnist.bench.recommend import recommend

    say = progress or (lambda _msg: None)
    started = time.perf_counter()
    if data is None:
        from edgemnist.data.mnist import load_test_set

        say("loading the MNIST test set")
        data = load_test_set(config.limit)
    images, labels = data
    if config.limit is not None:
        images, labels = images[: config.limit], labels[: config.limit]
    x_all = normalize(images)
    results: List[BenchRow] = []
    preds: Dict[str, np.ndarray] = {}
    harness: Dict[str, Any] = {}
    with pinned(config.pin):
        if config.overhead:
            say("measuring the harness's own overhead")
            quick = config.quick
            harness = measure_overhead(
                TimingConfig(
                    warmup_s=0.05 if quick else 0.1,
                    min_iters=500 if quick else 2000,
                    min_time_s=0.1 if quick else 0.5,
                ),
                threads=config.threads,
            )
        kept: Optional[List[Any]] = [] if config.rounds > 1 else None
        try:
            for row in rows:
                result, p = run_row(row, images, labels, config, say, x_all, rounds=kept)
                results.append(result)
                if p is not None:
                    preds[row.id] = p
            if kept:
                pending, kept = kept, []
                latency_rounds(pending, config, say)  # closes the runners
        finally:
            for item in kept or []:  # interrupted before the rounds: close what is open
                with contextlib.suppress(Exception):
                    item[1].close()
    add_agreement(results, preds, labels)
    models = {r.artifact: r.sha256 for r in results if r.artifact and r.sha256}
    return BenchResult(
        created_at=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        command=command,
        config=config.as_dict(),
        environment=fingerprint(models=models),
        harness=harness,
        rows=results,
        recommendation=recommend(
            [to_dict(r) for r in results], max_drop=points(config.gate_points)
        ),
        warnings=[f"{r.label}: {w}" for r in results for w in r.warnings],
        duration_s=round(time.perf_counter() - started, 2),
    )
