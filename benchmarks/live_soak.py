"""Memory over a long ``edgemnist live`` run: does the process stay flat?

Runs the shipped pipeline in this process (``run_live``: capture thread over
``synthetic://?digits=4&fps=30`` in real time, the ``edge`` model on ONNX Runtime with 1 thread,
JSONL to a temporary file, the web view with one MJPEG viewer reading the whole time, so the
draw/encode/serve path runs on every frame) for N minutes, and samples the resident set size
(``VmRSS`` in ``/proc/self/status``) every 10 s. The result JSON has the samples and the growth:

- ``growth_mb``: median RSS of the last quarter of the samples minus that of the first quarter,
  after a warm-up (default 120 s: ONNX Runtime's arena, OpenCV's buffers, the first sheets
  settle first); ``floor_growth_mb`` (minima), ``last_minus_first_mb`` (raw) beside it;
- ``slope_mb_per_hour``: least-squares slope over the samples after the warm-up.

Target (issue 11): growth <= 5 MB over 10 minutes.

Usage::

    nice python benchmarks/live_soak.py engines/edge/model.onnx --minutes 10 \\
        --out benchmarks/results/<host>/live-soak.json
"""

from __future__ import annotations

import argparse
import http.client
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple
from urllib.parse import urlsplit

TARGET_GROWTH_MB = 5.0


def rss_mb() -> float:
    """This process's resident set size in MB (from /proc/self/status)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    raise RuntimeError("no VmRSS in /proc/self/status (Linux only)")


def slope_per_hour(points: Sequence[Tuple[float, float]]) -> Optional[float]:
    """Least-squares slope of ``(seconds, MB)`` points, in MB per hour (None below 2 points)."""
    if len(points) < 2:
        return None
    n = len(points)
    mx = sum(t for t, _ in points) / n
    my = sum(v for _, v in points) / n
    sxx = sum((t - mx) ** 2 for t, _ in points)
    if sxx == 0:
        return None
    sxy = sum((t - mx) * (v - my) for t, v in points)
    return sxy / sxx * 3600.0


def growth(samples: List[Tuple[float, float]], warmup_s: float) -> Dict[str, Any]:
    """Growth figures of ``(seconds, MB)`` samples after ``warmup_s``.

    RSS of a CPython + numpy + OpenCV process is noisy: a large temporary array can leave the
    heap high until the allocator trims it, so one sample says little. A leak raises the
    *typical* level over time; a transient raises single samples. Hence ``growth_mb``, the
    judged number, is the median of the last quarter of the settled samples minus the median
    of the first quarter; ``floor_growth_mb`` compares their minima, ``last_minus_first_mb``
    is the raw difference (noise included).
    """
    settled = [(t, v) for t, v in samples if t >= warmup_s]
    if len(settled) < 8:
        return {"growth_mb": None, "slope_mb_per_hour": None, "settled_samples": len(settled)}
    values = [v for _, v in settled]
    quarter = max(2, len(values) // 4)
    head, tail = values[:quarter], values[-quarter:]
    slope = slope_per_hour(settled)
    return {
        "growth_mb": round(_median(tail) - _median(head), 2),
        "floor_growth_mb": round(min(tail) - min(head), 2),
        "last_minus_first_mb": round(values[-1] - values[0], 2),
        "first_quarter_median_mb": round(_median(head), 2),
        "last_quarter_median_mb": round(_median(tail), 2),
        "range_mb": round(max(values) - min(values), 2),
        "slope_mb_per_hour": None if slope is None else round(slope, 2),
        "settled_samples": len(settled),
    }


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2.0


class StreamViewer(threading.Thread):
    """One browser-like MJPEG client that reads the stream until told to stop."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True, name="soak-viewer")
        self.url = urlsplit(url)
        self.bytes = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                conn = http.client.HTTPConnection(self.url.hostname, self.url.port, timeout=10)
                conn.request(
                    "GET", "/stream.mjpg" + (f"?{self.url.query}" if self.url.query else "")
                )
                resp = conn.getresponse()
                while not self.stop.is_set():
                    chunk = resp.read1(65536)
                    if not chunk:
                        break
                    self.bytes += len(chunk)
                conn.close()
            except OSError:
                self.stop.wait(1.0)


def soak(
    artifact: Path, minutes: float = 10.0, every_s: float = 10.0, warmup_s: float = 120.0
) -> Dict[str, Any]:
    """Run live for ``minutes`` and sample RSS every ``every_s`` seconds."""
    from edgemnist.atomic import sha256_file
    from edgemnist.bench.fingerprint import fingerprint
    from edgemnist.live.loop import LiveConfig, run_live

    samples: List[Tuple[float, float]] = []
    done = threading.Event()
    viewers: List[StreamViewer] = []
    sampler = threading.Thread(target=lambda: None)

    def sample(t0: float) -> None:
        while True:
            samples.append((round(time.monotonic() - t0, 1), round(rss_mb(), 2)))
            if done.wait(every_s):
                return

    def on_start(info: Dict[str, Any]) -> None:
        # the clock starts with the loop: imports, model and data loading are not "growth"
        nonlocal sampler
        sampler = threading.Thread(
            target=sample, args=(time.monotonic(),), daemon=True, name="soak-rss"
        )
        sampler.start()
        viewer = StreamViewer(info["web_url"])
        viewer.start()
        viewers.append(viewer)

    with tempfile.TemporaryDirectory() as tmp:
        config = LiveConfig(
            source="synthetic://?digits=4&fps=30&seed=0",
            artifact=artifact,
            backend="onnxruntime",
            runner_options={"threads": 1},
            source_options={"realtime": True},
            web="127.0.0.1:0",
            jsonl=Path(tmp) / "frames.jsonl",
            duration=minutes * 60.0,
        )
        try:
            summary = run_live(config, on_start=on_start)
        finally:
            done.set()
            if sampler.ident is not None:
                sampler.join()
            for v in viewers:
                v.stop.set()
    for v in viewers:
        v.join(5)
    g = growth(samples, warmup_s)
    return {
        "kind": "live-soak",
        "artifact": str(artifact),
        "minutes": minutes,
        "sample_every_s": every_s,
        "warmup_s": warmup_s,
        "target_growth_mb": TARGET_GROWTH_MB,
        "passed": g["growth_mb"] is not None and g["growth_mb"] <= TARGET_GROWTH_MB,
        **g,
        "viewer_bytes": sum(v.bytes for v in viewers),
        "malloc_env": {k: v for k, v in os.environ.items() if k.startswith(("GLIBC_", "MALLOC_"))},
        "samples": samples,
        "live": {
            k: summary.get(k)
            for k in (
                "frames",
                "fps",
                "skipped",
                "capture",
                "processing_ms",
                "age_ms",
                "stopped_by",
            )
        },
        "environment": fingerprint(models={str(artifact): sha256_file(artifact)}),
    }


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("artifact", type=Path)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--every", type=float, default=10.0, help="seconds between RSS samples")
    ap.add_argument("--warmup", type=float, default=120.0, help="seconds before growth counts")
    ap.add_argument("--out", type=Path, default=None, help="write the JSON here (atomically)")
    args = ap.parse_args(argv)
    result = soak(args.artifact, args.minutes, args.every, args.warmup)
    if args.out:
        from edgemnist.atomic import write_json

        write_json(args.out, result)
    print(
        f"{result['live']['frames']} frames in {args.minutes:g} min; RSS median "
        f"{result.get('first_quarter_median_mb')} -> {result.get('last_quarter_median_mb')} MB "
        f"(growth {result['growth_mb']} MB, floor {result.get('floor_growth_mb')} MB, "
        f"range {result.get('range_mb')} MB, slope {result['slope_mb_per_hour']} MB/h, "
        f"target <= {TARGET_GROWTH_MB} MB: {'pass' if result['passed'] else 'FAIL'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
