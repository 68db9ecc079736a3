"""Which ONNX Runtime graph-optimization level runs a model fastest on this CPU: measured.

``ORT_ENABLE_ALL`` adds *layout* transforms to ``ORT_ENABLE_EXTENDED``'s fusions: on x86,
float convolutions move to the NCHWc blocked layout (blocks of the SIMD width) and, on every
CPU, QDQ convolutions (``QLinearConv``) move to NHWC, with ``ReorderInput``/``ReorderOutput``
or ``Transpose`` nodes wherever a neighbour stays in NCHW. For a plain stack of convolutions
that pays: `vgg_bn`'s INT8 model runs in 115 µs at ALL against 242 µs at EXTENDED (Intel Xeon,
AVX-512 VNNI, one thread, batch 1). For a graph that alternates quantized convolutions with
float ops it does not: `resnet18_cbam`'s INT8 model keeps its CBAM gates in float between each
pair of ``QLinearConv`` (see ``export/quantize_ort.py``), every gate costs a round trip of
layout conversions, and the model runs in 599 µs at ALL against 517 µs at EXTENDED. Both FP32
models are faster at ALL (1.6x). Which level wins is a property of the model *and* the CPU,
so ``edgemnist quantize`` measures it instead of guessing (:func:`measure_levels`), records
the choice in the artifact's manifest (``runtime.graph_opt``, with the timings and the CPU), and
:class:`~edgemnist.runners.onnxruntime.OnnxRuntimeRunner` loads the model at that level when
the caller does not name one **and** it runs on the CPU that measured it
(:func:`manifest_choice`); elsewhere it keeps ONNX Runtime's default, ALL, and says why.

A level other than ALL must beat ALL by :data:`MARGIN` to be chosen: ALL is ONNX Runtime's
default and what every other measurement in this project used, so it stays unless the gain is
clearly above the run-to-run noise of a shared machine (~2-3 %).
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

#: the levels worth comparing; "basic" and "disable" never won (no conv fusions at all)
LEVELS: Tuple[str, ...] = ("all", "extended")
#: another level must be this much faster than "all" (fraction of ALL's p50) to replace it
MARGIN = 0.05
#: the level ONNX Runtime (and this project) uses when nothing was measured
DEFAULT = "all"


def cpu_identity() -> Dict[str, Any]:
    """What a level measurement depends on: CPU model, architecture and its SIMD/dot-product flags.

    Never raises (``bench.cpuflags`` reads ``/proc/cpuinfo`` and returns ``None`` where absent).
    """
    from edgemnist.bench.cpuflags import cpu_flags

    flags = cpu_flags()
    return {"model": flags["model"], "machine": flags["machine"], "flags": flags["notable"]}


def measure_levels(
    path: Union[str, Path],
    threads: int = 1,
    rounds: int = 3,
    runs: int = 150,
    levels: Sequence[str] = LEVELS,
) -> Dict[str, Any]:
    """Time ``path`` at batch 1 at each graph-optimization level and pick the fastest.

    The levels are timed in alternating rounds (ALL, EXTENDED, ALL, ...) by ``bench``'s own
    timer (:func:`~edgemnist.bench.timing.time_backend`: the runner's backend-call clock, I/O
    binding, ``threads`` intra-op threads), so a noisy neighbour slows both alike; each level's
    figure is the median over rounds of the per-round p50.

    Args:
        path: an ONNX file ONNX Runtime can load.
        threads: intra-op threads (the runner's default, 1, is what users run with).
        rounds: alternating rounds.
        runs: timed batch-1 calls per level and round (fewer for a model so slow that they
            would take over 2 s).
        levels: levels to compare; must include :data:`DEFAULT`.

    Returns:
        ``{"graph_opt": chosen, "p50_us": {level: µs}, "rounds", "runs", "threads", "margin",
        "cpu": cpu_identity()}``; JSON-ready.
    """
    from edgemnist.bench.timing import TimingConfig, time_backend
    from edgemnist.runners.onnxruntime import OnnxRuntimeRunner

    if DEFAULT not in levels:
        raise ValueError(f"levels must include {DEFAULT!r}")
    x = np.random.default_rng(0).standard_normal((1, 1, 28, 28)).astype(np.float32)
    config = TimingConfig(warmup_s=0.02, min_iters=runs, min_time_s=0.0, max_time_s=2.0)
    runners = {
        level: OnnxRuntimeRunner(path, threads=threads, graph_opt=level, verify_hash=False)
        for level in levels
    }
    per_round: Dict[str, List[float]] = {level: [] for level in levels}
    try:
        for runner in runners.values():
            runner.load()
        for _ in range(rounds):
            for level, runner in runners.items():
                per_round[level].append(time_backend(runner, x, config).summary_us().p50)
    finally:
        for runner in runners.values():
            runner.close()
    p50 = {level: round(statistics.median(v), 2) for level, v in per_round.items()}
    return {
        "graph_opt": choose(p50),
        "p50_us": p50,
        "rounds": rounds,
        "runs": runs,
        "threads": threads,
        "margin": MARGIN,
        "cpu": cpu_identity(),
    }


def runtime_entry(path: Union[str, Path], threads: int = 1) -> Dict[str, Any]:
    """:func:`measure_levels` as a manifest's ``runtime`` keys: ``graph_opt`` (the level to load
    at) and ``graph_opt_measured`` (the timings and the CPU they were taken on)."""
    measured = measure_levels(path, threads=threads)
    return {"graph_opt": measured.pop("graph_opt"), "graph_opt_measured": measured}


def choose(p50_us: Dict[str, float]) -> str:
    """The fastest level, if it beats :data:`DEFAULT` by more than :data:`MARGIN`; else DEFAULT."""
    best = min(p50_us, key=lambda level: (p50_us[level], level != DEFAULT))
    if best != DEFAULT and p50_us[best] > p50_us[DEFAULT] * (1 - MARGIN):
        return DEFAULT
    return best


def manifest_choice(
    manifest: Optional[Dict[str, Any]], here: Optional[Dict[str, Any]] = None
) -> Tuple[Optional[str], str]:
    """The level a manifest's measurement asks for on this CPU, and why (or why not).

    Args:
        manifest: an artifact manifest (or None).
        here: this machine's :func:`cpu_identity` (computed when None; a parameter for tests).

    Returns:
        ``(level, reason)``: ``level`` is None when the manifest has no measured choice, names
        an unknown level, or was measured on another CPU (model, architecture or flags differ:
        the layout transforms depend on the SIMD width, so a choice made on one CPU says
        nothing about another); ``reason`` is one line for ``runner.info``.
    """
    runtime = (manifest or {}).get("runtime")
    if not isinstance(runtime, dict) or "graph_opt" not in runtime:
        return None, ""
    level = runtime.get("graph_opt")
    measured = runtime.get("graph_opt_measured") or {}
    if level not in ("disable", "basic", "extended", "all"):
        return None, f"ignored the manifest's graph_opt {level!r} (unknown level)"
    where = measured.get("cpu") if isinstance(measured, dict) else None
    here = here if here is not None else cpu_identity()
    if not isinstance(where, dict) or where != here:
        model = where.get("model") if isinstance(where, dict) else None
        return None, (
            f"the manifest's graph_opt {level!r} was measured on another CPU ({model or 'unknown'}"
            f"; this one: {here.get('model') or 'unknown'}): using {DEFAULT!r}; re-quantize or "
            "pass graph_opt to choose"
        )
    timings = measured.get("p50_us") or {}
    shown = ", ".join(f"{k} {v:g} µs" for k, v in timings.items() if isinstance(v, (int, float)))
    return level, f"measured on this CPU at quantize time ({shown})" if shown else "measured"
