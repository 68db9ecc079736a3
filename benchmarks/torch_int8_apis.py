"""PyTorch INT8: PT2E (torchao, maintained) against the deprecated eager torch.ao path it replaces.

For one trained checkpoint, both APIs quantize through ``edgemnist.export.torch_int8`` (PTQ, the
same calibration set and the same parity gate on all 10 000 test images), then four ways of
running the model are timed at batch 1 on one thread, in interleaved rounds (each round times
every variant once, so a noisy neighbour slows all alike):

- ``fp32``: the checkpoint's model in eager PyTorch;
- ``eager_int8``: the eager-mode INT8 file (TorchScript, fbgemm/x86 kernels);
- ``pt2e_reference``: the PT2E file as saved (``torch.export.load(...).module()``): quantize /
  dequantize ops around float kernels;
- ``pt2e_inductor``: the same module through ``torch.compile`` with Inductor's ``freezing`` on
  (weights constant-folded and pre-packed into oneDNN INT8 kernels); compile time recorded.

Usage:
    EDGEMNIST_DATA=... .venv/bin/python benchmarks/torch_int8_apis.py CHECKPOINT
        [--rounds 5] [--out benchmarks/results/<machine>/torch-int8-apis-<model>.json]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional


def _p50_us(fn: Callable[[Any], Any], x: Any, seconds: float) -> float:
    import torch

    with torch.inference_mode():
        for _ in range(20):
            fn(x)
        times: List[float] = []
        end = time.perf_counter() + seconds
        while time.perf_counter() < end or len(times) < 50:
            t = time.perf_counter()
            fn(x)
            times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e6


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=1.0, help="timed seconds per variant/round")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)

    import torch
    import torch._inductor.config as inductor_config

    from edgemnist import atomic
    from edgemnist.bench.cpuflags import cpu_flags
    from edgemnist.bench.fingerprint import fingerprint
    from edgemnist.export.torch_int8 import TorchInt8Options, export_torch_int8, load_int8
    from edgemnist.training.checkpoint import model_from_checkpoint

    torch.set_num_threads(1)
    result: Dict[str, Any] = {"checkpoint": str(args.checkpoint), "apis": {}}
    x = torch.randn(1, 1, 28, 28)
    with tempfile.TemporaryDirectory(prefix="edgemnist-pt2e-") as work:
        files = {}
        for api in ("eager", "pt2e"):
            t = time.perf_counter()
            res = export_torch_int8(
                args.checkpoint,
                Path(work) / f"{api}.torch-int8.pt",
                TorchInt8Options(api=api, threads=1),
            )
            rep = res.report
            result["apis"][api] = {
                "quantize_s": round(time.perf_counter() - t, 1),
                "tool": res.manifest["quantization"]["tool"],
                "fp32_accuracy": rep.reference_accuracy,
                "int8_accuracy": rep.accuracy,
                "accuracy_drop": rep.accuracy_drop,
                "agreement": rep.agreement,
                "gate_passed": rep.passed,
                "size_bytes": res.manifest.get("size_bytes"),
            }
            files[api] = res.path
            print(f"{api}: {result['apis'][api]}", flush=True)

        fp32 = model_from_checkpoint(args.checkpoint).eval()
        eager = load_int8(files["eager"])
        reference = load_int8(files["pt2e"])
        inductor_config.freezing = True
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Inductor's own notices while lowering
            compiled = torch.compile(reference)
            with torch.inference_mode():
                compiled(x)
        result["inductor_compile_s"] = round(time.perf_counter() - t, 1)
        variants = {
            "fp32": fp32,
            "eager_int8": eager,
            "pt2e_reference": reference,
            "pt2e_inductor": compiled,
        }
        rounds: Dict[str, List[float]] = {k: [] for k in variants}
        for _ in range(args.rounds):
            for key, fn in variants.items():
                rounds[key].append(round(_p50_us(fn, x, args.seconds), 1))
        p50 = {k: round(statistics.median(v), 1) for k, v in rounds.items()}
        result.update(
            {
                "batch": 1,
                "threads": 1,
                "rounds": args.rounds,
                "p50_us": p50,
                "p50_rounds_us": rounds,
                "speedup_vs_fp32": {k: round(p50["fp32"] / v, 2) for k, v in p50.items()},
                "cpu_flags": cpu_flags(),
                "environment": fingerprint(),
            }
        )
    for k, v in p50.items():
        print(f"{k:16s} p50 {v:9.1f} us  {result['speedup_vs_fp32'][k]:.2f}x vs FP32", flush=True)
    print(f"Inductor compile: {result['inductor_compile_s']} s")
    if args.out:
        atomic.write_json(args.out, result)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
