"""Bench results of several devices side by side: a Nano, an Orin, a Pi and this host.

Every device writes ``edgemnist bench`` results to ``benchmarks/results/<host>/``; copy those
folders into one checkout (or commit them) and run this. It writes ``devices.md`` (a fingerprint
table, then per model: p50 / p99 latency and accuracy per row and device), ``devices.json``
(the same, for scripts) and ``devices.png`` (grouped bars; skipped in one line without
matplotlib). The library code is :mod:`edgemnist.bench.devices`.

Usage:
    .venv/bin/python benchmarks/compare_devices.py                      # every folder
    .venv/bin/python benchmarks/compare_devices.py benchmarks/results/nano-01 \\
        benchmarks/results/dev-epyc-2vcpu --model edge --out /tmp/cmp
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List, Optional

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"


def main(argv: Optional[List[str]] = None) -> int:
    from edgemnist.bench.devices import compare_devices, write
    from edgemnist.errors import EdgeMnistError

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folders", nargs="*", type=Path, help="results folders (default: all)")
    ap.add_argument("--model", action="append", default=[], help="only this model (repeatable)")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "comparison")
    ap.add_argument("--no-plot", action="store_true")
    args = ap.parse_args(argv)
    folders = args.folders or sorted(p for p in RESULTS.iterdir() if p.is_dir())
    try:
        doc = compare_devices(folders, models=args.model)
    except EdgeMnistError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    paths = write(doc, args.out, plots=not args.no_plot)
    used = [d["name"] for d in doc["devices"] if d["results"]]
    print(f"{len(used)} device(s) with results ({', '.join(used)}), {len(doc['rows'])} rows")
    print(f"wrote {paths['markdown']} and {paths['json']}")
    if paths["plot"]:
        print(f"wrote {paths['plot']}")
    elif not args.no_plot:
        import importlib.util

        if importlib.util.find_spec("matplotlib") is None:
            print("plot skipped: matplotlib is not installed (pip install matplotlib)")
        else:
            print("plot skipped: no row ran on any device")
    return 0


if __name__ == "__main__":
    sys.exit(main())
