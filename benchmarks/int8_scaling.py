"""Does INT8 pay on this CPU, and from what model size? ONNX Runtime INT8 vs FP32 at batch 1.

The issue asks for a >= 10 M-MAC zoo model whose ONNX Runtime INT8 runs >= 2.5x faster than its
FP32 at batch 1. How much INT8 gains depends on the CPU's integer dot-product instructions
(AVX-512 VNNI / AVX-VNNI on x86, SDOT on ARMv8.2+) and on the model: small convolutions are
dominated by per-node overhead and by the Quantize/Dequantize steps, large ones by the
multiply-accumulates that INT8 speeds up. This script measures that curve.

Speed does not depend on what the weights are, so the models here are **untrained** (seeded
random weights, BatchNorm at its initial statistics): training a 300 M-MAC network on a 2-core
machine to measure its latency would take days. They go through the package's own path
(checkpoint -> ``export_onnx`` -> ``quantize_onnx`` with real MNIST calibration images, same
options as ``edgemnist quantize``); the accuracy gates are forced, and no accuracy is claimed.
Trained zoo models are measured by ``edgemnist bench`` (benchmarks/README.md).

FP32 and INT8 are timed in alternating rounds (FP32, INT8, FP32, ...) on one pinned thread, so
that a noisy neighbour slows both alike; the ratio of the medians over rounds is reported.

Usage:
    EDGEMNIST_DATA=... .venv/bin/python benchmarks/int8_scaling.py [--rounds 5] [--cpu 1]
        [--out benchmarks/results/<machine>/int8-scaling.json]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Tuple

#: (label, zoo model, constructor args); MACs grow ~4x per step
MODELS: List[Tuple[str, str, Dict[str, Any]]] = [
    ("vgg_bn (zoo default)", "vgg_bn", {}),
    ("vgg_bn x1.5", "vgg_bn", {"widths": [48, 48, 96, 96]}),
    ("vgg_bn x2", "vgg_bn", {"widths": [64, 64, 128, 128]}),
    ("vgg_bn x4", "vgg_bn", {"widths": [128, 128, 256, 256], "hidden": 512}),
    ("resnet18_cbam w16", "resnet18_cbam", {"width": 16}),
]


def _artifacts(name: str, args: Dict[str, Any], work: Path) -> Tuple[Path, Path, int]:
    import torch

    from edgemnist.export.onnx_export import export_onnx
    from edgemnist.export.quantize_ort import quantize_onnx
    from edgemnist.models import build_model, full_args
    from edgemnist.models.stats import count_macs
    from edgemnist.training.checkpoint import make_checkpoint, save_checkpoint

    torch.manual_seed(0)
    model = build_model(name, **args).eval()
    ckpt = save_checkpoint(
        make_checkpoint(model, name, full_args(name, args), metrics={"untrained": True}),
        work / "model.pt",
    )
    fp32 = export_onnx(ckpt, work / "model.onnx", threads=1, limit=200).path
    int8 = quantize_onnx(fp32, calib_size=200, force=True, threads=1, limit=200).path
    return fp32, int8, count_macs(model)


def _measure(fp32: Path, int8: Path, rounds: int) -> Dict[str, Any]:
    import numpy as np

    from edgemnist.bench.timing import TimingConfig, time_backend
    from edgemnist.runners.onnxruntime import OnnxRuntimeRunner

    x = np.random.default_rng(0).standard_normal((1, 1, 28, 28)).astype(np.float32)
    config = TimingConfig(warmup_s=0.2, min_iters=100, min_time_s=1.0, max_time_s=10.0)
    runners = {
        "fp32": OnnxRuntimeRunner(fp32, threads=1),
        "int8": OnnxRuntimeRunner(int8, threads=1),
    }
    p50: Dict[str, List[float]] = {"fp32": [], "int8": []}
    low: Dict[str, List[float]] = {"fp32": [], "int8": []}
    try:
        for r in runners.values():
            r.load()
        for _ in range(rounds):
            for key, runner in runners.items():
                s = time_backend(runner, x, config).summary_us()
                p50[key].append(s.p50)
                low[key].append(s.min)
    finally:
        for r in runners.values():
            r.close()
    out: Dict[str, Any] = {}
    for key in runners:
        out[f"{key}_p50_us"] = round(statistics.median(p50[key]), 1)
        out[f"{key}_min_us"] = round(min(low[key]), 1)
        out[f"{key}_p50_rounds_us"] = [round(v, 1) for v in p50[key]]
    out["speedup_p50"] = round(out["fp32_p50_us"] / out["int8_p50_us"], 2)
    out["speedup_min"] = round(out["fp32_min_us"] / out["int8_min_us"], 2)
    return out


def main(argv: List[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5, help="alternating FP32/INT8 rounds")
    ap.add_argument("--cpu", type=int, default=None, help="pin to this CPU")
    ap.add_argument("--only", default="", help="comma-separated labels to run (default all)")
    ap.add_argument("--out", type=Path, default=None, help="write JSON here")
    args = ap.parse_args(argv)

    from edgemnist import atomic
    from edgemnist.bench.fingerprint import fingerprint
    from edgemnist.bench.timing import pinned

    wanted = {s.strip() for s in args.only.split(",") if s.strip()}
    rows = []
    with pinned([args.cpu] if args.cpu is not None else None):
        for label, name, margs in MODELS:
            if wanted and label not in wanted:
                continue
            with tempfile.TemporaryDirectory(prefix="edgemnist-int8-") as work:
                fp32, int8, macs = _artifacts(name, margs, Path(work))
                row = {"model": label, "zoo": name, "args": margs, "macs": macs}
                row.update(_measure(fp32, int8, args.rounds))
            rows.append(row)
            print(
                f"{label:22s} {macs / 1e6:7.1f} M MACs  FP32 p50 {row['fp32_p50_us']:9.1f} us  "
                f"INT8 p50 {row['int8_p50_us']:9.1f} us  speedup p50 {row['speedup_p50']:.2f}x "
                f"(min {row['speedup_min']:.2f}x)",
                flush=True,
            )
    result = {
        "schema": "edgemnist.int8-scaling/1",
        "note": "untrained models: latency only, no accuracy (see the script's docstring)",
        "threads": 1,
        "batch": 1,
        "rounds": args.rounds,
        "cpu": args.cpu,
        "environment": fingerprint(),
        "rows": rows,
    }
    if args.out:
        atomic.write_json(args.out, result)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
