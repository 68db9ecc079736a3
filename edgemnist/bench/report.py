"""Benchmark outputs: rich table, JSON (schema-versioned), CSV, Markdown, PNG plots.

The JSON is the source of truth (:class:`edgemnist.bench.result.BenchResult`, which also
checks a document read back); the other files are views of its ``to_dict()``. matplotlib is
imported only when plots are drawn, and plots are skipped with one line when it is missing
(a device install has no matplotlib).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence

from edgemnist.atomic import atomic_path, write_json, write_text
from edgemnist.bench.result import load_result
from edgemnist.errors import ArtifactError
from edgemnist.scoring import pct

# -- formatting -------------------------------------------------------------------------------


def fmt_us(value: Optional[float]) -> str:
    """Microseconds for a table: ``12.3 µs``, ``4.56 ms`` (from 1 ms up), or ``-``."""
    if value is None:
        return "-"
    if value >= 1000:
        return f"{value / 1000:.2f} ms"
    return f"{value:.1f} µs"


def fmt_size(n: Optional[int]) -> str:
    if n is None:
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n = n / 1024  # type: ignore[assignment]
    return str(n)


def _lat(row: Dict[str, Any], key: str, field: str = "latency_us") -> Optional[float]:
    stats = row.get(field) or {}
    return stats.get(key)


def _tp(row: Dict[str, Any], batch: int) -> str:
    for tp in row.get("throughput") or []:
        if tp.get("batch") == batch:
            if tp.get("status") == "ok" and tp.get("images_per_s") is not None:
                return f"{tp['images_per_s']:,.0f}"
            return tp.get("status", "-")
    return "-"


def _status(row: Dict[str, Any]) -> str:
    return row["status"] + (" !" if row.get("warnings") else "")


def table_rows(doc: Dict[str, Any]) -> List[Dict[str, str]]:
    """The table as strings, one dict per row (shared by the console, Markdown and CSV)."""
    batches = doc["config"].get("batch_sizes", [1, 32, 256])
    out = []
    for row in doc["rows"]:
        cells = {
            "row": row["label"] + (f" [{row['model']}]" if _several_models(doc) else ""),
            "status": _status(row),
            "size": fmt_size(row.get("file_size_bytes")),
            "load": "-" if row.get("load_s") is None else f"{row['load_s'] * 1000:.0f} ms",
            "acc %": pct(row.get("accuracy")),
            "agree %": pct(row.get("agreement")),
            "p50": fmt_us(_lat(row, "p50")),
            "p90": fmt_us(_lat(row, "p90")),
            "p99": fmt_us(_lat(row, "p99")),
            "e2e p50": fmt_us(_lat(row, "p50", "e2e_us")),
        }
        for b in batches:
            cells[f"img/s @{b}"] = _tp(row, b)
        cells["peak RSS"] = (
            "-" if row.get("peak_rss_mb") is None else f"{row['peak_rss_mb']:.0f} MiB"
        )
        if row["status"] != "ok":
            # partial numbers of a row that failed half-way would read as results
            cells.update({k: "-" for k in list(cells)[3:]})
        out.append(cells)
    return out


def _several_models(doc: Dict[str, Any]) -> bool:
    return len({r["model"] for r in doc["rows"]}) > 1


def notes(doc: Dict[str, Any]) -> List[str]:
    """Reasons for rows that did not run, and warnings, one line each."""
    lines = []
    for row in doc["rows"]:
        if row["status"] != "ok" and row.get("reason"):
            lines.append(f"{row['label']}: {row['status']}: {row['reason']}")
        info = row.get("info") or {}
        level, why = info.get("graph_opt"), info.get("graph_opt_why")
        if why and (level != "all" or info.get("graph_opt_from") != "manifest"):
            # a level other than ONNX Runtime's default, or a measured one not taken: say why
            lines.append(f"{row['label']}: ONNX Runtime graph_opt {level}: {why}")
    lines += list(doc.get("warnings", []))
    return lines


def harness_line(doc: Dict[str, Any]) -> Optional[str]:
    """One sentence on the harness floor and ORT's fixed cost."""
    h = doc.get("harness") or {}
    if not h.get("timed_call_us"):
        return None
    text = (
        f"Harness overhead per timed call: {h['timed_call_us']['p50']:.2f} µs p50 "
        f"(no-op backend); whole infer() wrapper {h['infer_call_us']['p50']:.2f} µs p50"
    )
    ort = h.get("ort_identity") or {}
    if ort.get("status") == "ok":
        text += (
            f"; ONNX Runtime session.run of an Identity graph {ort['latency_us']['p50']:.1f} µs "
            f"p50, {ort['latency_us']['p99']:.1f} µs p99"
        )
        bound = ort.get("bound_latency_us")
        if bound:
            text += f" ({bound['p50']:.1f} µs p50 through I/O binding, the runner's CPU path)"
    return text + "."


def render_console(doc: Dict[str, Any], console: Any) -> None:
    """Print the rich table, the notes, the harness line and the recommendation."""
    from rich import box
    from rich.table import Table

    cells = table_rows(doc)
    cols = list(cells[0]) if cells else []
    if console.width < 140:
        # a narrow terminal keeps what decides a deployment; the files have every column
        batches = doc["config"].get("batch_sizes", [])
        keep_tp = f"img/s @{max(batches)}" if batches else None
        cols = [
            c
            for c in cols
            if c not in ("size", "load", "p90", "peak RSS")
            and (not c.startswith("img/s") or c == keep_tp)
        ]
    if console.width < 100:
        cols = [c for c in cols if c != "e2e p50" and not c.startswith("img/s")]
    table = Table(
        title=f"edgemnist bench — {_env_line(doc)}",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    for col in cols:
        left = col in ("row", "status")
        table.add_column(
            col,
            justify="left" if left else "right",
            no_wrap=col != "row",
            min_width=16 if col == "row" else None,
        )
    for row, c in zip(doc["rows"], cells):
        style = {"ok": None, "error": "red"}.get(row["status"], "dim")
        table.add_row(*(c[k] for k in cols), style=style)
    console.print(table)
    from rich.markup import escape

    for line in notes(doc):
        console.print(f"  [dim]•[/dim] {escape(line)}", highlight=False)
    hl = harness_line(doc)
    if hl:
        console.print(f"[dim]{hl}[/dim]", highlight=False)
    for i, line in enumerate(doc["recommendation"].get("lines", [])):
        console.print(
            ("[bold green]→[/bold green] " if i == 0 else "  ") + escape(line), highlight=False
        )


def clock_state(env: Dict[str, Any]) -> List[str]:
    """Governor, nvpmodel, jetson_clocks and throttling of a result's environment, as words."""
    cpu = env.get("cpu") or {}
    board = env.get("board") or {}
    bits = []
    if cpu.get("governor"):
        bits.append(f"governor {cpu['governor']}")
    if board.get("nvpmodel"):
        bits.append(f"nvpmodel {board['nvpmodel']}")
    if board.get("jetson_clocks"):
        bits.append(f"jetson_clocks {board['jetson_clocks']}")
    thr = board.get("throttled")
    if isinstance(thr, dict):
        bits.append("not throttled" if thr.get("ok") else f"THROTTLED {thr.get('raw')}")
    return bits


def _env_line(doc: Dict[str, Any]) -> str:
    env = doc.get("environment", {})
    cpu = env.get("cpu", {})
    board = env.get("board", {})
    bits = [board.get("model") or cpu.get("model") or "?", f"{cpu.get('cores')} cores"]
    bits += clock_state(env)
    bits.append(f"{doc['config'].get('threads', 1)} thread(s)")
    if doc["config"].get("pin"):
        bits.append(f"pinned to CPU {doc['config']['pin']}")
    return ", ".join(str(b) for b in bits)


def to_markdown(doc: Dict[str, Any]) -> str:
    """The result as Markdown: environment, table, recommendation, notes, harness floor."""
    cells = table_rows(doc)
    env = doc["environment"]
    versions = ", ".join(f"{k} {v}" for k, v in env.get("versions", {}).items() if v)
    lines = [
        f"# edgemnist bench — {env.get('host') or 'this machine'}",
        "",
        f"- When: {doc['created_at']} ({doc.get('duration_s', '?')} s)",
        f"- Machine: {_env_line(doc)}; load average {env.get('loadavg')}",
        f"- Versions: {versions}",
        f"- Test images: {_n_images(doc)}; latency = backend call only, batch 1; "
        "e2e = uint8 -> normalize -> infer -> argmax",
        "",
    ]
    if cells:
        cols = list(cells[0])
        lines.append("| " + " | ".join(cols) + " |")
        lines.append(
            "|" + "|".join("---" if c in ("row", "status") else "---:" for c in cols) + "|"
        )
        for c in cells:
            lines.append("| " + " | ".join(v.replace("|", "\\|") for v in c.values()) + " |")
        lines.append("")
        lines.append(
            "_Peak RSS is the process-wide high-water mark (getrusage): it never goes down from "
            "one row to the next; `rss_growth_mb` in the JSON is what each row added._"
        )
        lines.append("")
    lines.append("**Recommendation.** " + " ".join(doc["recommendation"].get("lines", [])))
    lines.append("")
    hl = harness_line(doc)
    if hl:
        lines += [hl, ""]
    ns = notes(doc)
    if ns:
        lines += ["Notes:", ""] + [f"- {n}" for n in ns] + [""]
    detail = [
        "| row | min | p50 | p90 | p99 | mean | std | CV | n |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in doc["rows"]:
        lat = row.get("latency_us")
        if row["status"] == "ok" and isinstance(lat, dict) and lat.get("p50") is not None:
            detail.append(
                f"| {row['label']} | "
                + " | ".join(
                    fmt_us(lat.get(k)) for k in ("min", "p50", "p90", "p99", "mean", "std")
                )
                + f" | {pct(lat.get('cv'), 0)} % | {lat.get('n', '-')} |"
            )
    if len(detail) > 2:
        lines += ["Batch-1 latency (backend call only):", ""] + detail + [""]
    return "\n".join(lines)


def _n_images(doc: Dict[str, Any]) -> str:
    ns = {r.get("n_images") for r in doc["rows"] if r.get("n_images")}
    return ", ".join(str(n) for n in sorted(ns)) or "-"


CSV_COLUMNS = (
    "id", "label", "model", "backend", "precision", "format", "status", "simulated", "reason",
    "artifact",
    "sha256", "file_size_bytes", "load_s", "n_images", "accuracy", "agreement",
    "accuracy_drop", "latency_min_us", "latency_p50_us", "latency_p90_us",
    "latency_p99_us", "latency_mean_us", "latency_std_us", "latency_cv", "latency_n",
    "e2e_p50_us", "e2e_p99_us", "peak_rss_mb", "rss_growth_mb",
)  # fmt: skip


def to_csv(doc: Dict[str, Any]) -> str:
    """One line per row; throughput as ``throughput_b<N>`` columns (images per second)."""
    batches = doc["config"].get("batch_sizes", [])
    cols = list(CSV_COLUMNS) + [f"throughput_b{b}" for b in batches]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    writer.writeheader()
    for row in doc["rows"]:
        flat: Dict[str, Any] = {k: row.get(k) for k in CSV_COLUMNS if k in row}
        for key in ("min", "p50", "p90", "p99", "mean", "std", "cv", "n"):
            flat[f"latency_{key}" + ("" if key in ("cv", "n") else "_us")] = _lat(row, key)
        flat["e2e_p50_us"] = _lat(row, "p50", "e2e_us")
        flat["e2e_p99_us"] = _lat(row, "p99", "e2e_us")
        for tp in row.get("throughput") or []:
            if tp.get("batch") in batches:
                flat[f"throughput_b{tp['batch']}"] = tp.get("images_per_s")
        writer.writerow({k: ("" if flat.get(k) is None else flat.get(k)) for k in cols})
    return buf.getvalue()


# -- plots ------------------------------------------------------------------------------------


def pareto_front(points: Sequence[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Points not beaten on both axes (lower ``latency``, higher ``accuracy``), fastest first."""
    front: List[Dict[str, Any]] = []
    best_acc = -1.0
    for p in sorted(points, key=lambda p: (p["latency"], -p["accuracy"])):
        if p["accuracy"] > best_acc:
            front.append(p)
            best_acc = p["accuracy"]
    return front


def pareto_points(docs: Iterable[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """``{"label", "model", "latency" (p50 µs), "accuracy" (%)}`` of every ok row, newest
    result per (model, row id) first."""
    seen = set()
    points = []
    for doc in docs:
        for row in doc.get("rows", []):
            key = (row.get("model"), row.get("id", "").split("/")[-1])
            p50 = _lat(row, "p50")
            if row.get("status") != "ok" or row.get("accuracy") is None or p50 is None:
                continue
            if key in seen:
                continue
            seen.add(key)
            points.append(
                {
                    "label": row["label"],
                    "model": row["model"],
                    "latency": float(p50),
                    "accuracy": 100.0 * float(row["accuracy"]),
                }
            )
    return points


def plot_cdf(doc: Dict[str, Any], path: Path) -> Optional[Path]:
    """Latency CDF, one line per row (log time axis). None when no row has samples."""
    rows = [r for r in doc["rows"] if r.get("latency_cdf_us")]
    if not rows:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=110)
    for row in rows:
        xs = row["latency_cdf_us"]
        n = len(xs)
        ys = [(i + 1) / n for i in range(n)]
        name = row["label"] + (f" [{row['model']}]" if _several_models(doc) else "")
        ax.step(xs, ys, where="post", label=f"{name} (p50 {fmt_us(_lat(row, 'p50'))})")
    ax.set_xscale("log")
    _plain_log_ticks(ax)
    ax.set_xlabel("batch-1 latency, backend call only (µs, log scale)")
    ax.set_ylabel("fraction of calls ≤ x")
    for q in (0.5, 0.9, 0.99):
        ax.axhline(q, color="0.8", lw=0.6, zorder=0)
    ax.set_ylim(0, 1.001)
    ax.grid(True, which="both", axis="x", color="0.92")
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title(f"Latency CDF — {_env_line(doc)}", fontsize=8)
    return _save(fig, plt, path)


def plot_pareto(docs: Sequence[Dict[str, Any]], path: Path, title: str = "") -> Optional[Path]:
    """Accuracy vs batch-1 p50 latency across models; the Pareto front drawn as a line."""
    points = pareto_points(docs)
    if not points:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    models = sorted({p["model"] for p in points})
    markers = "osD^vP*X"
    for i, model in enumerate(models):
        mine = [p for p in points if p["model"] == model]
        ax.scatter(
            [p["latency"] for p in mine],
            [p["accuracy"] for p in mine],
            marker=markers[i % len(markers)],
            label=model,
            zorder=3,
        )
        for p in mine:
            ax.annotate(p["label"], (p["latency"], p["accuracy"]), fontsize=6,
                        xytext=(3, 3), textcoords="offset points")  # fmt: skip
    front = pareto_front(points)
    ax.step(
        [p["latency"] for p in front],
        [p["accuracy"] for p in front],
        where="post",
        color="0.3",
        lw=1,
        ls="--",
        label="Pareto front",
        zorder=2,
    )
    ax.set_xscale("log")
    _plain_log_ticks(ax)
    ax.set_xlabel("batch-1 p50 latency (µs, log scale) — left is faster")
    ax.set_ylabel("test accuracy (%) — up is better")
    ax.grid(True, which="both", color="0.92")
    ax.legend(fontsize=7)
    ax.set_title(title or "Accuracy vs latency", fontsize=8)
    return _save(fig, plt, path)


def _plain_log_ticks(ax: Any) -> None:
    """Log axis with plain numbers (``50``, ``100``, ``2000``), not ``5×10¹``."""
    from matplotlib.ticker import FuncFormatter, LogLocator

    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _pos: ""))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        from edgemnist.errors import DependencyMissing

        raise DependencyMissing(
            "matplotlib", purpose="benchmark plots (or use --no-plots)"
        ) from None
    return plt


def _save(fig: Any, plt: Any, path: Path) -> Path:
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(str(tmp), format="png")
    plt.close(fig)
    return Path(path)


# -- files ------------------------------------------------------------------------------------


def sibling_results(out_dir: Path, exclude: Optional[Path] = None) -> List[Dict[str, Any]]:
    """Valid result JSONs already in ``out_dir`` (other models on this host), newest first."""
    docs = []
    for path in sorted(Path(out_dir).glob("*.json"), key=lambda p: -p.stat().st_mtime):
        if exclude is not None and path.resolve() == Path(exclude).resolve():
            continue
        try:
            docs.append(load_result(path).to_dict())
        except ArtifactError:
            continue
    return docs


def plots_available() -> Optional[str]:
    """None when matplotlib can draw here, else one line saying why the plots are skipped."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return "plots skipped: matplotlib is not installed (pip install matplotlib to draw them)"
    return None


def write_outputs(
    doc: Dict[str, Any],
    out_dir: Path,
    stem: str,
    plots: bool = True,
    on_note: Optional[Any] = None,
) -> Dict[str, Path]:
    """Write ``<stem>.json``, ``.csv``, ``.md`` and (``plots``) ``<stem>.cdf.png`` and
    ``pareto.png`` (every result in ``out_dir``, so every model on this host) atomically.

    Plots need matplotlib; without it (a device install) they are skipped and ``on_note`` is
    called with one line saying so, while the other files are written as usual.

    Returns:
        ``{"json", "csv", "markdown", "cdf"?, "pareto"?: path}``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: Dict[str, Path] = {}
    json_path = out_dir / f"{stem}.json"
    written["json"] = write_json(json_path, doc)
    written["csv"] = write_text(out_dir / f"{stem}.csv", to_csv(doc))
    written["markdown"] = write_text(out_dir / f"{stem}.md", to_markdown(doc))
    missing = plots_available() if plots else None
    if missing:
        if on_note is not None:
            on_note(missing)
        plots = False
    if plots:
        cdf = plot_cdf(doc, out_dir / f"{stem}.cdf.png")
        if cdf:
            written["cdf"] = cdf
        docs = [doc] + sibling_results(out_dir, exclude=json_path)
        host = doc["environment"].get("host") or "this machine"
        pareto = plot_pareto(docs, out_dir / "pareto.png", f"Accuracy vs latency on {host}")
        if pareto:
            written["pareto"] = pareto
    return written
