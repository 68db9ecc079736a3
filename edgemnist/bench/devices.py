"""Benchmark results of several devices side by side.

Each device keeps its results in ``benchmarks/results/<host>/`` (``edgemnist bench`` writes them
there). :func:`compare_devices` reads every bench result of each folder, and lines up the
same model and row (backend + precision + file) across devices: batch-1 latency p50/p99 and
accuracy, with each device's fingerprint (board, CPU and its INT8/FP16-relevant flags, GPU,
clock state, L4T/JetPack, TensorRT and ONNX Runtime versions), because a latency without the
machine and its clocks is not comparable. Views: Markdown, a JSON document, and a plot.

Files in a folder that are not bench results (predict-photos, training tables, ...) are listed
as skipped, with the reason, never silently dropped. When one folder holds several results for
the same model and row, the newest (``created_at``) is used and the others are named.
matplotlib is imported only to plot.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from edgemnist.errors import ArtifactError

KIND = "edgemnist-device-comparison"
SCHEMA_VERSION = 1

#: the GPU of each Jetson family (JetPack's device-tree model names the board, not the GPU)
JETSON_GPU = (
    ("Orin", "Ampere, sm_87"),
    ("Xavier", "Volta, sm_72"),
    ("TX2", "Pascal, sm_62"),
    ("Nano", "Maxwell, sm_53"),
    ("TX1", "Maxwell, sm_53"),
)


@dataclass
class Device:
    """One results folder: the machine it describes and the files it contributed."""

    name: str
    folder: str
    fingerprint: Dict[str, Any] = field(default_factory=dict)
    results: List[str] = field(default_factory=list)
    skipped: List[str] = field(default_factory=list)


@dataclass
class Entry:
    """One row of one device's result: what ran, and how fast and accurate it was."""

    device: str
    model: str
    label: str
    backend: str
    precision: str
    status: str
    p50_us: Optional[float]
    p99_us: Optional[float]
    accuracy: Optional[float]
    agreement: Optional[float]
    simulated: bool
    created_at: str
    file: str
    reason: str = ""


def fingerprint_summary(env: Dict[str, Any]) -> Dict[str, Any]:
    """The facts of a result's ``environment`` that make its numbers comparable (or not).

    Args:
        env: the ``environment`` of a bench result (:func:`edgemnist.bench.fingerprint`).

    Returns:
        board, kind, cpu, cores, cpu_flags, gpu, clocks, l4t, jetpack, tensorrt, onnxruntime,
        python, numpy, torch; None where the result does not say.
    """
    from edgemnist.bench.report import clock_state
    from edgemnist.doctor import JETPACK

    cpu = env.get("cpu") or {}
    board = env.get("board") or {}
    versions = env.get("versions") or {}
    flags = cpu.get("flags")
    if isinstance(flags, dict):  # edgemnist.bench.cpuflags.cpu_flags() output
        flags = flags.get("notable")
    gpu = env.get("gpu")
    if isinstance(gpu, dict):
        gpu = gpu.get("name")
    model = board.get("model") or ""
    if not gpu and board.get("kind") == "jetson":
        gpu = next((g for key, g in JETSON_GPU if key in model), "NVIDIA Jetson GPU")
    l4t = board.get("l4t")
    jetpack = JETPACK.get(".".join(str(l4t).split(".")[:2])) if l4t else None
    clocks = clock_state(env)
    return {
        "board": model or board.get("kind") or None,
        "kind": board.get("kind"),
        "cpu": cpu.get("model"),
        "cores": cpu.get("usable") or cpu.get("cores"),
        "cpu_flags": list(flags) if flags else None,
        "gpu": gpu or None,
        "clocks": ", ".join(clocks) or None,
        "l4t": l4t,
        "jetpack": jetpack,
        "tensorrt": versions.get("tensorrt"),
        "onnxruntime": versions.get("onnxruntime"),
        "python": versions.get("python"),
        "numpy": versions.get("numpy"),
        "torch": versions.get("torch"),
    }


def _read_results(folder: Path, device: Device) -> List[Tuple[str, Any]]:
    """``(file name, BenchResult)`` of every bench result in ``folder``; the rest skipped."""
    from edgemnist.bench.result import KIND as BENCH_KIND
    from edgemnist.bench.result import BenchResult

    out = []
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            device.skipped.append(f"{path.name}: unreadable ({exc})")
            continue
        kind = data.get("kind") if isinstance(data, dict) else None
        if kind != BENCH_KIND:
            device.skipped.append(f"{path.name}: not a bench result")
            continue
        try:
            out.append((path.name, BenchResult.from_dict(data, where=path.name)))
        except ArtifactError as exc:
            device.skipped.append(f"{path.name}: {exc}")
    return out


def load_device(folder: Path) -> Tuple[Device, List[Entry]]:
    """One device's folder: its fingerprint (from the newest result) and its rows.

    Raises:
        ArtifactError: the folder does not exist.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ArtifactError(f"{folder}: no such results folder (benchmarks/results/<host>/)")
    device = Device(name=folder.name, folder=str(folder))
    results = sorted(_read_results(folder, device), key=lambda fr: fr[1].created_at)
    newest: Dict[Tuple[str, str], Entry] = {}
    for name, result in results:
        device.results.append(name)
        for row in result.rows:
            lat = row.latency_us or {}
            ok = row.status == "ok"
            entry = Entry(
                device=device.name,
                model=row.model,
                label=row.label,
                backend=row.backend,
                precision=row.precision,
                status=row.status,
                p50_us=lat.get("p50") if ok else None,
                p99_us=lat.get("p99") if ok else None,
                accuracy=row.accuracy if ok else None,
                agreement=row.agreement if ok else None,
                simulated=row.simulated,
                created_at=result.created_at,
                file=name,
                reason=row.reason,
            )
            key = (row.model, row.label)
            if key in newest and newest[key].file != name:
                device.skipped.append(
                    f"{newest[key].file}: {row.model} / {row.label} superseded by newer {name}"
                )
            newest[key] = entry
    if results:
        device.fingerprint = fingerprint_summary(results[-1][1].environment)
    return device, list(newest.values())


def compare_devices(folders: Sequence[Path], models: Iterable[str] = ()) -> Dict[str, Any]:
    """Merge the bench results of several device folders into one comparison document.

    Args:
        folders: ``benchmarks/results/<host>/`` folders, one per device.
        models: keep only these models (all when empty).

    Returns:
        ``{"kind", "schema_version", "created_at", "devices": [...], "rows": [...]}``; rows
        are :class:`Entry` dicts, ordered by model, then row, then device.

    Raises:
        ArtifactError: a folder is missing, two folders have the same name, or no folder
            holds a bench result.
    """
    keep = set(models)
    devices: List[Device] = []
    rows: List[Entry] = []
    for folder in folders:
        device, entries = load_device(Path(folder))
        if any(d.name == device.name for d in devices):
            raise ArtifactError(f"two results folders are named {device.name!r}: rename one")
        devices.append(device)
        rows += [e for e in entries if not keep or e.model in keep]
    if not any(d.results for d in devices):
        raise ArtifactError(
            "no bench results in "
            + ", ".join(str(f) for f in folders)
            + ": run edgemnist bench on each device (it writes benchmarks/results/<host>/)"
        )
    order = {d.name: i for i, d in enumerate(devices)}
    labels: Dict[Tuple[str, str], int] = {}
    for e in rows:  # first appearance sets the row order (the bench's own order)
        labels.setdefault((e.model, e.label), len(labels))
    rows.sort(key=lambda e: (e.model, labels[(e.model, e.label)], order[e.device]))
    return {
        "kind": KIND,
        "schema_version": SCHEMA_VERSION,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "devices": [asdict(d) for d in devices],
        "rows": [asdict(e) for e in rows],
    }


def _cell(entry: Optional[Dict[str, Any]]) -> str:
    if entry is None:
        return "not run"
    if entry["status"] != "ok":
        return entry["status"]
    from edgemnist.bench.report import fmt_us

    text = f"{fmt_us(entry['p50_us'])} / {fmt_us(entry['p99_us'])}"
    if entry["accuracy"] is not None:
        text += f" · {100 * entry['accuracy']:.2f} %"
    return text


FINGERPRINT_COLUMNS = (
    ("board", "board"),
    ("cpu", "CPU"),
    ("cores", "cores"),
    ("cpu_flags", "CPU flags"),
    ("gpu", "GPU"),
    ("clocks", "clocks"),
    ("jetpack", "JetPack (L4T)"),
    ("tensorrt", "TensorRT"),
    ("onnxruntime", "ONNX Runtime"),
    ("python", "Python"),
)


def _fp_value(fp: Dict[str, Any], key: str) -> str:
    value = fp.get(key)
    if key == "jetpack" and fp.get("l4t"):
        return f"{value or '?'} ({fp['l4t']})"
    if isinstance(value, list):
        return " ".join(value)
    return "-" if value in (None, "") else str(value)


def to_markdown(doc: Dict[str, Any]) -> str:
    """The comparison as Markdown: one fingerprint table, then one table per model."""
    devices = [d for d in doc["devices"] if d["results"]]
    names = [d["name"] for d in devices]
    lines = [
        f"# Devices side by side ({doc['created_at']})",
        "",
        "Batch-1 latency of the backend call, p50 / p99, and top-1 accuracy on the MNIST test "
        "set, per row of `edgemnist bench`, per device. Numbers are only as comparable as the "
        "fingerprints below: clocks, power mode and versions differ between devices.",
        "",
        "| device | " + " | ".join(h for _, h in FINGERPRINT_COLUMNS) + " | results |",
        "|---|" + "---|" * (len(FINGERPRINT_COLUMNS) + 1),
    ]
    for d in devices:
        fp = d["fingerprint"]
        cells = [_fp_value(fp, key) for key, _ in FINGERPRINT_COLUMNS]
        lines.append(f"| {d['name']} | " + " | ".join(cells) + f" | {', '.join(d['results'])} |")
    lines.append("")
    by_model: Dict[str, Dict[str, Dict[str, Any]]] = {}
    for e in doc["rows"]:
        by_model.setdefault(e["model"], {}).setdefault(e["label"], {})[e["device"]] = e
    for model, by_label in by_model.items():
        lines += [f"## {model}", "", "| row | " + " | ".join(names) + " |"]
        lines.append("|---|" + "---:|" * len(names))
        for label, per_device in by_label.items():
            cells = [_cell(per_device.get(n)) for n in names]
            lines.append(f"| {label.replace('|', '/')} | " + " | ".join(cells) + " |")
        lines.append("")
    notes = [f"- {d['name']}: {s}" for d in doc["devices"] for s in d["skipped"]]
    notes += [f"- {d['name']}: no bench results" for d in doc["devices"] if not d["results"]]
    if notes:
        lines += ["Not used:", ""] + notes + [""]
    return "\n".join(lines)


def plot(doc: Dict[str, Any], path: Path) -> Optional[Path]:
    """Grouped bars: p50 per row and device (log scale), p99 as a tick; one panel per model.

    Returns:
        The PNG path, or None when matplotlib is not installed.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    names = [d["name"] for d in doc["devices"] if d["results"]]
    by_model: Dict[str, Dict[str, Dict[str, Any]]] = {}
    for e in doc["rows"]:
        if e["status"] == "ok" and e["p50_us"] is not None:
            by_model.setdefault(e["model"], {}).setdefault(e["label"], {})[e["device"]] = e
    if not by_model:
        return None
    fig, axes = plt.subplots(
        len(by_model), 1, figsize=(10, 0.45 * sum(len(v) for v in by_model.values()) + 1.5),
        squeeze=False,
    )  # fmt: skip
    width = 0.8 / max(1, len(names))
    for ax, (model, by_label) in zip(axes[:, 0], by_model.items()):
        labels = list(by_label)
        for i, name in enumerate(names):
            ys = [j + (i - (len(names) - 1) / 2) * width for j in range(len(labels))]
            p50 = [by_label[lab].get(name, {}).get("p50_us") for lab in labels]
            p99 = [by_label[lab].get(name, {}).get("p99_us") for lab in labels]
            have = [k for k, v in enumerate(p50) if v is not None]
            ax.barh([ys[k] for k in have], [p50[k] for k in have], height=width, label=name)
            ax.plot([p99[k] for k in have], [ys[k] for k in have], "k|", markersize=8)
        ax.set_yticks(range(len(labels)))
        ax.set_yticklabels([lab[:48] for lab in labels], fontsize=7)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.set_title(f"{model}: batch-1 latency p50 (bar) and p99 (|), µs", fontsize=9)
        ax.grid(axis="x", which="both", alpha=0.3)
    axes[0, 0].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write(doc: Dict[str, Any], out_dir: Path, plots: bool = True) -> Dict[str, Optional[Path]]:
    """Write ``devices.json``, ``devices.md`` and (with matplotlib) ``devices.png``.

    Returns:
        ``{"json", "markdown", "plot"}`` paths; ``plot`` is None when skipped.
    """
    from edgemnist.atomic import write_json, write_text

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: Dict[str, Optional[Path]] = {
        "json": out_dir / "devices.json",
        "markdown": out_dir / "devices.md",
    }
    write_json(paths["json"], doc)  # type: ignore[arg-type]
    write_text(paths["markdown"], to_markdown(doc))  # type: ignore[arg-type]
    paths["plot"] = plot(doc, out_dir / "devices.png") if plots else None
    return paths
