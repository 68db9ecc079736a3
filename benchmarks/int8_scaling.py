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

``--trained LABEL=CHECKPOINT`` (repeatable) adds trained checkpoints: they go through the same
path with the real accuracy gate (all 10 000 test images, not forced), so their rows carry FP32
and INT8 test accuracy next to the speed-up. Each row records where quantization landed
(``placement``: Q/DQ counts, op types quantized or left in float) and says whether INT8 pays
(``pays``: speed-up at least :data:`PAYS`); the result records the CPU's ISA flags. Each model
runs at the ONNX Runtime graph-optimization level its runner picks by itself: FP32 at the
default (ALL), INT8 at the level ``quantize`` measured fastest on this CPU and wrote into its
manifest (``int8_graph_opt``, ``graph_opt_measured``; see ``edgemnist/runners/ort_levels.py``).

Usage:
    EDGEMNIST_DATA=... .venv/bin/python benchmarks/int8_scaling.py [--rounds 5] [--cpu 1]
        [--trained vgg_bn=runs/vgg_bn/model.pt]
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
    ("edge (EdgeNet v3)", "edge", {}),
    ("lenet5", "lenet5", {}),
]

#: the speed-up from which INT8 is worth shipping for speed alone
PAYS = 1.2


def _artifacts(name: str, args: Dict[str, Any], work: Path) -> Tuple[Path, Path, int, Dict]:
    import torch

    from edgemnist.export.onnx_export import export_onnx
    from edgemnist.export.quantize_ort import QuantizeOptions, quantize_onnx
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
    int8 = quantize_onnx(
        fp32, options=QuantizeOptions(calib_size=200, force=True, threads=1, limit=200)
    )
    return fp32, int8.path, count_macs(model), int8.manifest


def _trained(ckpt: Path, work: Path) -> Tuple[Path, Path, int, Dict, Dict[str, Any]]:
    """A trained checkpoint through export + quantize with the real gate (all test images)."""
    from edgemnist.export.onnx_export import export_onnx
    from edgemnist.export.quantize_ort import QuantizeOptions, quantize_onnx
    from edgemnist.models.stats import count_macs
    from edgemnist.training.checkpoint import load_checkpoint, model_from_checkpoint

    model = model_from_checkpoint(load_checkpoint(ckpt)).eval()
    fp32 = export_onnx(ckpt, work / "model.onnx", threads=1)
    int8 = quantize_onnx(fp32.path, options=QuantizeOptions(threads=1))
    rep = int8.report
    acc = {
        "fp32_accuracy": rep.reference_accuracy,
        "int8_accuracy": rep.accuracy,
        "accuracy_drop": rep.accuracy_drop,
        "gate_passed": rep.passed,
        "agreement": rep.agreement,
    }
    return fp32.path, int8.path, count_macs(model), int8.manifest, acc


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
    out: Dict[str, Any] = {
        # the level each runner loaded at: FP32 ONNX Runtime's default, INT8 the one its
        # manifest measured fastest on this CPU (runtime.graph_opt, runners/ort_levels.py)
        f"{key}_graph_opt": runner.info.get("graph_opt")
        for key, runner in runners.items()
    }
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
    ap.add_argument(
        "--trained",
        action="append",
        default=[],
        metavar="LABEL=CHECKPOINT",
        help="a trained checkpoint to measure with the real accuracy gate (repeatable)",
    )
    ap.add_argument("--out", type=Path, default=None, help="write JSON here")
    args = ap.parse_args(argv)

    from edgemnist import atomic
    from edgemnist.bench.cpuflags import cpu_flags
    from edgemnist.bench.fingerprint import fingerprint
    from edgemnist.bench.timing import pinned

    wanted = {s.strip() for s in args.only.split(",") if s.strip()}
    jobs: List[Tuple[str, Any]] = [
        (label, (name, margs)) for label, name, margs in MODELS if not wanted or label in wanted
    ]
    for spec in args.trained:
        label, _, ckpt = spec.partition("=")
        if not ckpt:
            ap.error(f"--trained {spec!r}: give LABEL=CHECKPOINT")
        jobs.append((label, Path(ckpt)))
    rows = []
    with pinned([args.cpu] if args.cpu is not None else None):
        for label, job in jobs:
            with tempfile.TemporaryDirectory(prefix="edgemnist-int8-") as work:
                if isinstance(job, Path):
                    fp32, int8, macs, manifest, acc = _trained(job, Path(work))
                    row = {"model": label, "checkpoint": str(job), "trained": True, "macs": macs}
                    row.update(acc)
                else:
                    fp32, int8, macs, manifest = _artifacts(job[0], job[1], Path(work))
                    row = {"model": label, "zoo": job[0], "args": job[1], "macs": macs}
                    row["trained"] = False
                quant = manifest.get("quantization") or {}
                row["activation_type"] = quant.get("activation_type")
                row["nodes_kept_float"] = quant.get("nodes_kept_float")
                row["placement"] = quant.get("placement")
                row["graph_opt_measured"] = (manifest.get("runtime") or {}).get(
                    "graph_opt_measured"
                )
                row.update(_measure(fp32, int8, args.rounds))
            row["pays"] = row["speedup_p50"] >= PAYS
            rows.append(row)
            extra = (
                f"  FP32 {100 * row['fp32_accuracy']:.2f} % INT8 {100 * row['int8_accuracy']:.2f} %"
                if row["trained"]
                else ""
            )
            print(
                f"{label:22s} {macs / 1e6:7.1f} M MACs  FP32 p50 {row['fp32_p50_us']:9.1f} us  "
                f"INT8 p50 {row['int8_p50_us']:9.1f} us [{row['int8_graph_opt']}]  "
                f"speedup p50 {row['speedup_p50']:.2f}x "
                f"(min {row['speedup_min']:.2f}x){extra}"
                + ("" if row["pays"] else f"  INT8 does not pay here (< {PAYS}x): ship FP32"),
                flush=True,
            )
    result = {
        "schema": "edgemnist.int8-scaling/2",
        "note": "untrained rows: latency only, no accuracy; trained rows: the real gate "
        "(see the script's docstring)",
        "pays_from": PAYS,
        "cpu_flags": cpu_flags(),
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
