"""Aggregate finished training runs into the results table of train/README.md.

Reads every ``<runs>/*/model.pt`` (checkpoint metrics: test accuracy, params, MACs, epochs,
training wall time, seed), groups by recipe name, and prints one Markdown row per recipe:
accuracy mean ± sample sd over seeds, and each seed's accuracy.

A run directory named ``<recipe>-<variant>-s<seed>`` (a recipe run with ``--set`` overrides
into a directory of its own, e.g. ``edge-v2-s0`` for the ``edge`` recipe as it was before a
redesign) is grouped as ``<recipe>-<variant>``, so that variants never mix with the recipe's
own runs; the checkpoint's resolved recipe says exactly what differed.

Usage:
    .venv/bin/python benchmarks/training_table.py runs/ [--json out.json]

Accuracies are fractions in the JSON (as in checkpoints of schema 2; older checkpoints are
converted when loaded) and percentages in the Markdown table.
"""

from __future__ import annotations

import argparse
import re
import statistics
from collections import defaultdict
from pathlib import Path


def group_name(run_dir: str, recipe: str) -> str:
    """``edge-v2-s0`` trained with recipe ``edge`` -> ``edge-v2``; ``edge-s1`` -> ``edge``."""
    stem = re.sub(r"-s\d+$", "", run_dir)
    return stem if stem.startswith(recipe + "-") else recipe


def collect(runs: Path) -> dict:
    from edgemnist.training.checkpoint import load_checkpoint

    groups: dict = defaultdict(list)
    for ckpt_path in sorted(runs.glob("*/model.pt")):
        ckpt = load_checkpoint(ckpt_path)
        m = ckpt["metrics"]
        recipe = ckpt["recipe"].get("name", ckpt["model"]["name"])
        groups[group_name(ckpt_path.parent.name, recipe)].append(
            {
                "run": ckpt_path.parent.name,
                "seed": m.get("seed"),
                "test_accuracy": m["test_accuracy"],
                "params": m["params"],
                "macs": m["macs"],
                "epochs": m["epochs"],
                "train_wall_s": m.get("train_wall_s"),
                "threads": m.get("threads") or ckpt["recipe"]["train"].get("threads"),
            }
        )
    return dict(groups)


def markdown(groups: dict) -> str:
    lines = [
        "| recipe | model params | MACs | epochs | seeds | test accuracy % (mean ± sd) "
        "| per seed | train wall time per seed |",
        "|---|---:|---:|---:|---:|---|---|---|",
    ]
    for name, rows in sorted(groups.items()):
        accs = [100.0 * r["test_accuracy"] for r in rows]  # fractions in checkpoints, % here
        mean = statistics.mean(accs)
        sd = statistics.stdev(accs) if len(accs) > 1 else float("nan")
        walls = ", ".join(
            f"{r['train_wall_s'] / 60:.1f} min" + (f" ({r['threads']} thr)" if r["threads"] else "")
            for r in rows
        )
        per_seed = ", ".join(f"s{r['seed']}: {100.0 * r['test_accuracy']:.2f}" for r in rows)
        sd_text = f"{sd:.3f}" if len(accs) > 1 else "n/a (1 seed)"
        lines.append(
            f"| {name} | {rows[0]['params']:,} | {rows[0]['macs']:,} | {rows[0]['epochs']} "
            f"| {len(rows)} | {mean:.3f} ± {sd_text} | {per_seed} | {walls} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", type=Path)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    groups = collect(args.runs)
    print(markdown(groups))
    if args.json:
        from edgemnist.atomic import write_json

        write_json(args.json, groups)


if __name__ == "__main__":
    main()
