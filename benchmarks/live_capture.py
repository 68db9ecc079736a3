"""What the capture side of ``edgemnist live`` costs: the gst-launch child pipe and the capture
thread, measured with a real ``gst-launch-1.0`` and ``videotestsrc`` (no camera needed).

Measured at 640x480 BGR (921 600 bytes a frame):

1. ``pipe``: a finite ``videotestsrc`` read through :class:`edgemnist.live.gst.GstChild` as fast
   as it comes: frames/s, MB/s, the reader's CPU per frame and the child's CPU per frame
   (gst-launch's own work: test pattern + ``videoconvert``).
2. ``capture-backpressure``: the same through ``GstSource`` + ``Capture`` (every frame, no
   drops), frames/s as seen by ``Capture.get``.
3. ``capture-live-30fps``: a live 30 fps ``videotestsrc is-live=true`` for ``--seconds``, read
   newest-wins by a consumer that takes every frame: the frame's age when ``get`` returns it
   (``monotonic() - Frame.t_capture``: pipe + thread + slot hand-off, not camera exposure),
   drops, and RSS at the start and the end (memory must stay flat).
4. ``capture-live-slow-consumer``: the same with a consumer that works 100 ms per frame: drops
   grow, the age of the frame it gets does not.
5. ``wrong-mode-live-read-with-back-pressure``: the same slow consumer with the live pipeline
   read with back-pressure (``live=False`` forced), to show what newest-wins prevents: the
   pipe and GStreamer's queues fill, the camera is throttled, and the age of what the consumer
   gets grows to the depth of those queues.

Usage:
    .venv/bin/python benchmarks/live_capture.py [--seconds 10] [--frames 600] [--json]
        [--out benchmarks/results/<host>/live-capture.json]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from edgemnist.atomic import write_json  # noqa: E402
from edgemnist.live import gst  # noqa: E402
from edgemnist.live.capture import Capture  # noqa: E402
from edgemnist.live.sources import make_source  # noqa: E402

W, H = 640, 480
PATTERN = f"video/x-raw,width={W},height={H},framerate=30/1"


def rss_mb() -> float:
    """Resident set size of this process in MB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_flags() -> List[str]:
    """The SIMD flags that matter for image work (x86 and ARM names)."""
    wanted = ("sse4_2", "avx", "avx2", "avx512f", "fma", "neon", "asimd")
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith(("flags", "Features")):
            have = set(line.split(":", 1)[1].split())
            return [f for f in wanted if f in have]
    return []


def pct(values: List[float], q: float) -> float:
    """The q-th percentile (nearest rank) of ``values``."""
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(q / 100 * len(s) + 0.5)) - 1))]


def bench_pipe(frames: int) -> Dict[str, Any]:
    pipeline = (
        f"videotestsrc num-buffers={frames} pattern=ball ! {PATTERN} ! videoconvert ! "
        "video/x-raw,format=BGR"
    )
    exe = gst.gst_launch_path()
    assert exe is not None
    child = gst.GstChild(gst.launch_argv(pipeline, exe), W, H)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    child.start()
    t0, c0 = time.perf_counter(), time.thread_time()
    n = 0
    try:
        while True:
            child.read_frame(timeout=30)
            n += 1
    except gst.ChildEnded:
        pass
    wall, cpu = time.perf_counter() - t0, time.thread_time() - c0
    child.stop()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    child_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "frames": n,
        "fps": n / wall,
        "mb_per_s": n * gst.frame_bytes(W, H) / wall / 1e6,
        "reader_cpu_ms_per_frame": 1000 * cpu / n,
        "child_cpu_ms_per_frame": 1000 * child_cpu / n,
    }


def bench_backpressure(frames: int) -> Dict[str, Any]:
    src = make_source(
        f"gst://videotestsrc num-buffers={frames} pattern=ball ! {PATTERN}",
        width=W,
        height=H,
        gst_backend="child",
    )
    n = 0
    with Capture(src) as cap:
        t0 = time.perf_counter()
        while cap.get(timeout=30) is not None:
            n += 1
        wall = time.perf_counter() - t0
        stats = cap.stats()
    return {"frames": n, "fps": n / wall, "dropped": stats["dropped"], "mode": stats["mode"]}


def bench_live(seconds: float, work_s: float, live: bool = True) -> Dict[str, Any]:
    src = make_source(
        f"gst://videotestsrc is-live=true pattern=ball ! {PATTERN}",
        width=W,
        height=H,
        gst_backend="child",
        live=live,
    )
    ages: List[float] = []
    with Capture(src) as cap:
        for _ in range(10):  # warm-up: first frames, allocations
            cap.get(timeout=10)
        rss0 = rss_mb()
        t_end = time.monotonic() + seconds
        while time.monotonic() < t_end:
            f = cap.get(timeout=5)
            if f is None:
                continue
            ages.append(1000 * (time.monotonic() - f.t_capture))
            if work_s:
                time.sleep(work_s)
        rss1 = rss_mb()
        stats = cap.stats()
    return {
        "seconds": seconds,
        "mode": stats["mode"],
        "consumer_work_ms": 1000 * work_s,
        "frames_captured": stats["frames"],
        "frames_consumed": len(ages),
        "dropped": stats["dropped"],
        "reopens": stats["reopens"],
        "age_at_get_ms": {
            "p50": statistics.median(ages),
            "p90": pct(ages, 90),
            "p99": pct(ages, 99),
            "max": max(ages),
        },
        "rss_mb_start": round(rss0, 1),
        "rss_mb_end": round(rss1, 1),
    }


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--frames", type=int, default=600)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    if gst.gst_launch_path() is None:
        print(f"gst-launch-1.0 not found: {gst.INSTALL_HINT}", file=sys.stderr)
        return 1
    from edgemnist.bench.fingerprint import fingerprint

    env = fingerprint()
    env["cpu"]["flags"] = cpu_flags()
    env["gstreamer"] = gst.gst_version()
    result = {
        "schema": "edgemnist.live-capture/1",
        "note": "gst-launch child + capture thread with videotestsrc 640x480 BGR; age = "
        "hand-off latency (pipe + thread + slot), not camera exposure latency",
        "environment": env,
        "pipe": bench_pipe(args.frames),
        "capture-backpressure": bench_backpressure(args.frames),
        "capture-live-30fps": bench_live(args.seconds, 0.0),
        "capture-live-slow-consumer": bench_live(args.seconds, 0.1),
        "wrong-mode-live-read-with-back-pressure": bench_live(args.seconds, 0.1, live=False),
    }
    if args.out:
        write_json(args.out, result)
    print(
        json.dumps(
            result if args.json else {k: v for k, v in result.items() if k != "environment"},
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
