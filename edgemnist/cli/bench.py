"""``edgemnist bench``: accuracy, latency percentiles and throughput for every backend here."""

from __future__ import annotations

import os
import shlex
import socket
import sys
from pathlib import Path
from typing import List, Optional

import typer
from typing_extensions import Annotated

from edgemnist.cli.common import (
    GateOpt,
    JsonOpt,
    OutAliasOpt,
    console,
    err_console,
    print_json,
    renamed,
)


def default_out_dir() -> Path:
    """``$EDGEMNIST_HOME/benchmarks/<host>`` when EDGEMNIST_HOME is set, else
    ``benchmarks/results/<host>`` (the committed results folder of a checkout)."""
    host = socket.gethostname() or "host"
    if os.environ.get("EDGEMNIST_HOME"):
        from edgemnist.paths import home

        return home() / "benchmarks" / host
    return Path("benchmarks") / "results" / host


def _batch_sizes(text: str) -> tuple:
    from edgemnist.errors import ConfigError

    try:
        sizes = tuple(int(p) for p in text.split(",") if p.strip())
    except ValueError:
        raise ConfigError(f"--batch-sizes {text!r}: give integers such as 1,32,256") from None
    if not sizes:
        raise ConfigError("--batch-sizes: give at least one batch size")
    return sizes


def _stem(rows: list) -> str:
    models = sorted({r.model for r in rows})
    stem = "+".join(models) if len(models) <= 3 else "bench"
    return "".join(c if c.isalnum() or c in "-_+." else "_" for c in stem) or "bench"


def bench_cmd(
    artifacts: Annotated[
        Optional[List[Path]],
        typer.Argument(
            help="Model files: .pt, .onnx, .int8.onnx, .engine, ...", show_default=False
        ),
    ] = None,
    run_dir: Annotated[
        Optional[List[Path]],
        typer.Option("--run-dir", help="A run directory engines/NAME (repeatable): all its rows."),
    ] = None,
    batch_sizes: Annotated[
        Optional[str], typer.Option("--batch-sizes", help="Throughput batch sizes [1,32,256].")
    ] = None,
    threads: Annotated[
        int,
        typer.Option("--threads", min=1, help="CPU threads per backend (1 is best at batch 1)."),
    ] = 1,
    pin: Annotated[
        Optional[str], typer.Option("--pin", help="Pin to CPUs, e.g. 0 or 2-3 (Linux).")
    ] = None,
    warmup_s: Annotated[
        Optional[float], typer.Option("--warmup-s", min=0, help="Warm-up time per row [0.3].")
    ] = None,
    min_iters: Annotated[
        Optional[int], typer.Option("--min-iters", min=1, help="Minimum timed calls [300].")
    ] = None,
    min_time_s: Annotated[
        Optional[float], typer.Option("--min-time-s", min=0, help="Minimum timed seconds [1.5].")
    ] = None,
    rounds: Annotated[
        Optional[int],
        typer.Option(
            "--rounds",
            min=1,
            help="Batch-1 latency in N rounds taken in turn over all rows [3; --quick 1].",
        ),
    ] = None,
    quick: Annotated[
        bool,
        typer.Option(
            "--quick", help="CI budget: short timings, batches 1,32, 2000 images, no plots."
        ),
    ] = False,
    limit: Annotated[
        Optional[int],
        typer.Option("--limit", min=1, help="Test images for accuracy (default: all 10 000)."),
    ] = None,
    gate: GateOpt = 0.10,
    out_dir: Annotated[
        Optional[Path],
        typer.Option(
            "--out-dir",
            help="Where the result files go (default: benchmarks/results/<host>/, or "
            "$EDGEMNIST_HOME/benchmarks/<host>/ when EDGEMNIST_HOME is set).",
        ),
    ] = None,
    plots: Annotated[
        Optional[bool],
        typer.Option("--plots/--no-plots", help="Write PNG plots (default: yes; no with --quick)."),
    ] = None,
    compare_to: Annotated[
        Optional[Path], typer.Option("--compare", help="Baseline result JSON to gate against.")
    ] = None,
    max_regress: Annotated[
        str, typer.Option("--max-regress", help="Allowed slowdown against --compare.")
    ] = "10%",
    json_out: JsonOpt = False,
    out: OutAliasOpt = None,
) -> None:
    """Benchmark artifacts: accuracy, agreement with FP32, latency percentiles, throughput.

    Writes <name>.json/.csv/.md and plots to --out-dir (default benchmarks/results/<host>/, or
    $EDGEMNIST_HOME/benchmarks/<host>/) and prints which artifact to ship.
    """
    from edgemnist.bench.regression import check_regression, parse_regress
    from edgemnist.bench.report import render_console, write_outputs
    from edgemnist.bench.result import load_result, outcome
    from edgemnist.bench.rows import plan_rows
    from edgemnist.bench.run import BenchConfig, run_bench
    from edgemnist.bench.timing import TimingConfig, check_cpus, parse_cpus

    out_dir = renamed(out_dir, out, "--out", "--out-dir")
    allowed = parse_regress(max_regress)
    baseline = load_result(compare_to) if compare_to else None
    cpus = parse_cpus(pin) if pin else None
    if cpus:
        check_cpus(cpus)
    rows = plan_rows(artifacts or [], run_dir or [])
    cfg = BenchConfig.quick_default() if quick else BenchConfig()
    lat = cfg.latency
    config = BenchConfig(
        batch_sizes=_batch_sizes(batch_sizes) if batch_sizes else cfg.batch_sizes,
        threads=threads,
        pin=cpus,
        latency=TimingConfig(
            warmup_s=lat.warmup_s if warmup_s is None else warmup_s,
            min_iters=lat.min_iters if min_iters is None else min_iters,
            min_time_s=lat.min_time_s if min_time_s is None else min_time_s,
            max_time_s=lat.max_time_s,
        ),
        limit=limit if limit is not None else cfg.limit,
        gate_points=gate,
        quick=quick,
        rounds=cfg.rounds if rounds is None else rounds,
    )
    # only a real command line is worth recording (not pytest's when called from Python)
    called = bool(sys.argv) and Path(sys.argv[0]).name in ("edgemnist", "__main__.py")
    command = "edgemnist " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if called else None
    with err_console.status("benchmarking") as status:
        result = run_bench(rows, config, progress=lambda msg: status.update(msg), command=command)
    if baseline is not None:
        result.comparison = check_regression(result.to_dict(), baseline.to_dict(), allowed)
        result.comparison["baseline"] = str(compare_to)
    doc = result.to_dict()
    # the table first: whatever happens to the files, the numbers are on screen
    if json_out:
        print_json(doc)
    else:
        render_console(doc, console)
    shown = err_console if json_out else console
    out_dir = Path(out_dir) if out_dir else default_out_dir()
    # --quick is for CI: matplotlib's import and two PNGs would double its time
    written = write_outputs(
        doc,
        out_dir,
        _stem(rows),
        plots=(not quick) if plots is None else plots,
        on_note=lambda line: shown.print(f"[dim]{line}[/dim]", highlight=False),
    )
    shown.print(
        "[dim]wrote " + ", ".join(str(p) for p in written.values()) + "[/dim]", highlight=False
    )
    if result.comparison is not None:
        cmp = result.comparison
        for line in cmp["skipped"]:
            shown.print(f"[dim]not compared: {line}[/dim]", highlight=False)
        for line in cmp["regressions"][1:]:
            err_console.print(f"[red]regression:[/red] {line}", highlight=False)
        if cmp["ok"]:
            shown.print(
                f"[green]no regression[/green] against {compare_to} (allowed {allowed:.0%})",
                highlight=False,
            )
    failure = outcome(result)
    if failure is not None:
        raise failure


def register(app: typer.Typer) -> None:
    """Add ``bench`` to the root app."""
    app.command("bench")(bench_cmd)
