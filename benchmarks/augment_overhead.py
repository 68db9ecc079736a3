"""Augmentation cost per training epoch (60 000 MNIST images) on ONE thread.

The issue's budget: augmentation must not slow an epoch by more than 20 %. The trainer runs it
per batch in a background thread, so this measures exactly that call pattern (batches of
``--batch`` images through one ``Augmenter``) with OpenCV and BLAS pinned to one thread, and
reports wall time and the thread's CPU time (CPU time is the honest number on a shared machine:
wall time there includes waiting for other processes).

Usage:
    .venv/bin/python benchmarks/augment_overhead.py [--batch 256] [--repeats 3]
        [--epoch-seconds S] [--json] [--out results.json]

``--epoch-seconds`` (a measured epoch time without augmentation) adds the overhead in percent.
"""

from __future__ import annotations

import os

# One thread everywhere, set before numpy/OpenCV load their thread pools.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from typing import Any, Callable, Dict, List  # noqa: E402

import numpy as np  # noqa: E402


def _time_epoch(
    fn: Callable[[np.ndarray], Any], images: np.ndarray, batch: int
) -> Dict[str, float]:
    wall0, cpu0 = time.perf_counter(), time.thread_time()
    for start in range(0, len(images), batch):
        fn(images[start : start + batch])
    return {"wall_s": time.perf_counter() - wall0, "cpu_s": time.thread_time() - cpu0}


def _warp_affine_loop(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Reference: the obvious per-image cv2.warpAffine loop (affine only, no elastic)."""
    import cv2

    out = np.empty_like(images)
    for i, img in enumerate(images):
        m = cv2.getRotationMatrix2D((13.5, 13.5), rng.uniform(-15, 15), rng.uniform(0.9, 1.1))
        m[:, 2] += rng.uniform(-2, 2, 2)
        out[i] = cv2.warpAffine(img, m, (28, 28), flags=cv2.INTER_LINEAR, borderValue=0)
    return out


def main(argv: List[str] | None = None) -> int:
    import cv2

    from edgemnist.data.augment import AugmentConfig, Augmenter
    from edgemnist.data.mnist import load_split

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--repeats", type=int, default=3, help="epochs per case; the median is kept")
    p.add_argument("--epoch-seconds", type=float, default=None)
    p.add_argument("--json", action="store_true")
    p.add_argument("--out", default=None, help="also write the JSON report here (atomically)")
    args = p.parse_args(argv)

    cv2.setNumThreads(1)
    images, _ = load_split("train")
    cases = {
        "default (elastic_p=0.5)": AugmentConfig(),
        "affine only (elastic_p=0)": AugmentConfig(elastic_p=0.0),
        "affine + elastic always (elastic_p=1)": AugmentConfig(elastic_p=1.0),
        "default + noise_std=0.05": AugmentConfig(noise_std=0.05),
    }
    results: Dict[str, Dict[str, float]] = {}
    for name, cfg in cases.items():
        aug = Augmenter(cfg, seed=0)
        aug(images[: args.batch])  # warm-up: imports, basis matrices, allocator
        runs = [_time_epoch(aug, images, args.batch) for _ in range(args.repeats)]
        results[name] = {k: statistics.median(r[k] for r in runs) for k in ("wall_s", "cpu_s")}
    rng = np.random.default_rng(0)
    runs = [
        _time_epoch(lambda b: _warp_affine_loop(b, rng), images, args.batch)
        for _ in range(args.repeats)
    ]
    results["reference: per-image cv2.warpAffine loop"] = {
        k: statistics.median(r[k] for r in runs) for k in ("wall_s", "cpu_s")
    }

    report: Dict[str, Any] = {
        "images_per_epoch": int(len(images)),
        "batch": args.batch,
        "threads": 1,
        "repeats": args.repeats,
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "cpu_count": os.cpu_count(),
        "load_avg_1m": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "opencv": cv2.__version__,
        "numpy": np.__version__,
        "cases": results,
    }
    if args.epoch_seconds:
        report["epoch_seconds"] = args.epoch_seconds
        for r in results.values():
            r["overhead_pct_of_epoch"] = 100.0 * r["cpu_s"] / args.epoch_seconds
    if args.out:
        from edgemnist.atomic import write_json

        write_json(args.out, report)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(
        f"augmentation per epoch ({report['images_per_epoch']} images, batch {args.batch}, "
        f"1 thread, median of {args.repeats}; load avg {report['load_avg_1m']})"
    )
    for name, r in results.items():
        extra = (
            f"  = {r['overhead_pct_of_epoch']:.1f} % of a {args.epoch_seconds:.1f} s epoch"
            if "overhead_pct_of_epoch" in r
            else ""
        )
        cpu, wall = 1000 * r["cpu_s"], 1000 * r["wall_s"]
        print(f"  {name:42s} cpu {cpu:7.0f} ms   wall {wall:7.0f} ms{extra}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
