"""Reading quality and per-frame cost of ``edgemnist live``'s vision stages on ``synthetic://``.

Two runs, one model, ONNX Runtime (or any backend) on ONE thread, OpenCV on one thread:

1. **Quality**: ``--frames`` frames (default 2 000) of ``synthetic://`` with 1-4 MNIST test
   digits per sheet (a new sheet every 90 frames) through detect -> prepare -> one batched
   infer -> track, scored against the generator's truth (:mod:`edgemnist.live.evaluate`):
   detection recall and precision (IoU >= 0.3), single-frame and stable (voted) accuracy.
2. **Speed**: ``--speed-frames`` frames at 640x480 with exactly 4 digits per sheet; each stage
   timed with ``perf_counter`` around the plain function calls (the frames are rendered before
   the clock starts, so the generator's cost is not in it). Reported as p50/p90/p99 per stage
   and for the sum, in wall time and in the thread's CPU time (on a shared VM wall time also
   holds time spent waiting for other processes; CPU time does not).

Usage:
    python benchmarks/live_quality.py engines/edge/model.onnx [--frames 2000]
        [--speed-frames 600] [--uri "synthetic://?digits=1-4&seed=0"] [--out FILE] [--json]

Device side: numpy, OpenCV and a runner; no torch.
"""

from __future__ import annotations

import os

# one thread for numpy's BLAS as for the model: the budget is a single small core
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from dataclasses import asdict  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Dict, List, Optional  # noqa: E402

import numpy as np  # noqa: E402

STAGES = ("detect", "prepare", "infer", "track")


def percentiles(samples: List[float]) -> Dict[str, float]:
    """p50/p90/p99/mean/max of samples in seconds, as milliseconds."""
    a = np.asarray(samples, dtype=np.float64) * 1000.0
    if a.size == 0:
        return {}
    return {
        "p50_ms": round(float(np.percentile(a, 50)), 4),
        "p90_ms": round(float(np.percentile(a, 90)), 4),
        "p99_ms": round(float(np.percentile(a, 99)), 4),
        "mean_ms": round(float(a.mean()), 4),
        "max_ms": round(float(a.max()), 4),
    }


def run_stream(
    runner: Any,
    uri: str,
    frames: int,
    threshold: Optional[float] = None,
    timed: bool = False,
) -> Dict[str, Any]:
    """Run ``frames`` frames of ``uri`` through detect -> prepare -> infer -> track.

    Returns:
        ``{"quality": StreamScore summary, "errors": [...], "stages": {...}}``; stage times
        only when ``timed``.
    """
    from edgemnist.live.detect import detect_digits
    from edgemnist.live.evaluate import StreamScore
    from edgemnist.live.read import UNKNOWN_BELOW, prepare_crops, read_digits
    from edgemnist.live.synthetic import SyntheticCamera, parse_synthetic_options
    from edgemnist.live.track import Tracker

    threshold = UNKNOWN_BELOW if threshold is None else threshold
    cam = SyntheticCamera(parse_synthetic_options(uri))
    tracker = Tracker()
    score = StreamScore()
    wall: Dict[str, List[float]] = {s: [] for s in STAGES + ("total",)}
    cpu_total: List[float] = []
    clock, cpu = time.perf_counter, time.thread_time
    gc_was = gc.isenabled()
    for n in range(frames):
        image, truth = cam.next_frame()
        if timed:
            gc.disable()  # a collection would land in one frame's sample (as timeit does)
        c0 = cpu()
        t0 = clock()
        dets = detect_digits(image)
        t1 = clock()
        digits = prepare_crops(image, dets)
        t2 = clock()
        reads = read_digits(runner, image, dets, threshold=threshold, digits=digits)
        t3 = clock()
        tracks = tracker.update(reads, t=n / cam.fps)
        t4 = clock()
        c1 = cpu()
        if timed:
            if gc_was:
                gc.enable()
            for s, v in zip(STAGES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
                wall[s].append(v)
            wall["total"].append(t4 - t0)
            cpu_total.append(c1 - c0)
        score.add(truth, [d.box for d in dets], reads, tracks, frame=n)
    out: Dict[str, Any] = {"quality": score.summary(), "errors": score.errors[:25]}
    if timed:
        out["stages_wall"] = {s: percentiles(v) for s, v in wall.items()}
        out["total_cpu"] = percentiles(cpu_total)
    return out


def measure(
    artifact: Path,
    frames: int = 2000,
    speed_frames: int = 600,
    uri: str = "synthetic://?digits=1-4&seed=0",
    speed_uri: str = "synthetic://?digits=4&seed=1&width=640&height=480",
    backend: str = "auto",
) -> Dict[str, Any]:
    """Both runs (quality, then speed) with one loaded runner; a JSON-ready report."""
    import cv2

    from edgemnist.atomic import sha256_file
    from edgemnist.bench.fingerprint import fingerprint
    from edgemnist.live.detect import DetectParams
    from edgemnist.live.read import UNKNOWN_BELOW
    from edgemnist.live.synthetic import parse_synthetic_options
    from edgemnist.live.track import TrackParams
    from edgemnist.runners.open import open_runner

    cv2.setNumThreads(1)
    with open_runner(artifact, backend=backend, threads=1) as runner:
        t0 = time.perf_counter()
        quality = run_stream(runner, uri, frames)
        quality_s = time.perf_counter() - t0
        # warm-up: first calls allocate (ORT bindings per batch size, OpenCV buffers)
        run_stream(runner, speed_uri, 30, timed=True)
        speed = run_stream(runner, speed_uri, speed_frames, timed=True)
        runner_info = dict(runner.info)
    return {
        "artifact": str(artifact),
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "quality_run": {
            "uri": uri,
            "options": asdict(parse_synthetic_options(uri)),
            "frames": frames,
            "seconds": round(quality_s, 1),
            **quality["quality"],
        },
        "acceptance": {
            "recall>=0.99": (quality["quality"]["recall"] or 0) >= 0.99,
            "precision>=0.99": (quality["quality"]["precision"] or 0) >= 0.99,
            "stable_accuracy>=0.99": (quality["quality"]["stable_accuracy"] or 0) >= 0.99,
            "total_p50<=4ms": speed["stages_wall"]["total"]["p50_ms"] <= 4.0,
        },
        "errors": quality["errors"],
        "speed_run": {
            "uri": speed_uri,
            "frames": speed_frames,
            "digits_per_frame": 4,
            "quality": speed["quality"],
            "stages_wall": speed["stages_wall"],
            "total_cpu": speed["total_cpu"],
        },
        "settings": {
            "detect": asdict(DetectParams()),
            "track": asdict(TrackParams()),
            "unknown_below": UNKNOWN_BELOW,
            "opencv_threads": 1,
            "opencv": cv2.__version__,
        },
        "method": (
            "Quality: frames of synthetic:// (MNIST test digits on moving sheets of paper) "
            "through detect_digits -> prepare_crops -> one batched runner.infer -> "
            "Tracker.update, scored per frame by edgemnist.live.evaluate (one-to-one box "
            "matching, IoU >= 0.3). Speed: the same stages on 640x480 frames with 4 digits, "
            "each timed by perf_counter around the call after a 30-frame warm-up, garbage "
            "collection paused while a frame is timed; rendering a frame is outside the clock."
        ),
        "runner": runner_info,
        "environment": fingerprint(models={str(artifact): sha256_file(artifact)}),
    }


def markdown(report: Dict[str, Any]) -> str:
    """A short table for benchmarks/README.md."""
    q = report["quality_run"]
    s = report["speed_run"]["stages_wall"]
    lines = [
        f"| {q['frames']} frames, {q['truth_digits']} digits | value |",
        "|---|---|",
        f"| detection recall (IoU >= 0.3) | {q['recall']:.4f} |",
        f"| detection precision | {q['precision']:.4f} |",
        f"| single-frame accuracy | {q['single_frame_accuracy']:.4f} |",
        f"| stable (voted) accuracy | {q['stable_accuracy']:.4f} |",
        f"| stable coverage | {q['stable_coverage']:.4f} |",
    ]
    lines.append("")
    lines.append("| stage (640x480, 4 digits) | p50 ms | p90 ms | p99 ms |")
    lines.append("|---|---|---|---|")
    for stage in STAGES + ("total",):
        v = s[stage]
        lines.append(f"| {stage} | {v['p50_ms']:.3f} | {v['p90_ms']:.3f} | {v['p99_ms']:.3f} |")
    c = report["speed_run"]["total_cpu"]
    lines.append(
        f"| total, thread CPU time | {c['p50_ms']:.3f} | {c['p90_ms']:.3f} | {c['p99_ms']:.3f} |"
    )
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("artifact", type=Path)
    p.add_argument("--frames", type=int, default=2000)
    p.add_argument("--speed-frames", type=int, default=600)
    p.add_argument("--uri", default="synthetic://?digits=1-4&seed=0")
    p.add_argument("--speed-uri", default="synthetic://?digits=4&seed=1&width=640&height=480")
    p.add_argument("--backend", default="auto")
    p.add_argument("--out", type=Path, default=None, help="write the JSON report here")
    p.add_argument("--json", action="store_true", help="print the JSON report")
    args = p.parse_args(argv)
    report = measure(
        args.artifact, args.frames, args.speed_frames, args.uri, args.speed_uri, args.backend
    )
    if args.out:
        from edgemnist.atomic import write_json

        write_json(args.out, report)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
