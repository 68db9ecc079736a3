"""``build-engine`` without TensorRT (Raspberry Pi, CI, any CPU box): an ONNX Runtime model.

What it does, and why:

- **Optimized model** ``model.ort.onnx``: ONNX Runtime applies its graph optimizations and
  saves the result (``SessionOptions.optimized_model_filepath``). The level is
  ``ORT_ENABLE_EXTENDED``: constant folding, redundant-node removal and the fusions
  (Conv+BN+ReLU, Gemm+activation, ...) that are written as ordinary ONNX or ``com.microsoft``
  contrib ops any ONNX Runtime CPU build of this version or later can run. Not
  ``ORT_ENABLE_ALL``: its extra *layout* optimizations (NCHWc blocked formats) are specific to
  the SIMD width of the CPU that saved them, and ONNX Runtime itself warns that such a saved
  model may only run on that hardware. At load time the runner still applies every level for
  the CPU it actually runs on.
- **Provider and threads by measurement**: each available provider (CPU; XNNPACK/CUDA when
  the installed ONNX Runtime has them) with 1 and 2 intra-op threads runs a few hundred
  batch-1 inferences on this machine; the lowest median wins. All measurements are kept in
  the manifest, so the choice can be checked.
- **Load level by measurement**: the saved file holds the portable fusions; whether the
  ``ORT_ENABLE_ALL`` layout transforms on top of them help depends on the model and the CPU
  (they cost resnet18_cbam's INT8 model 16 % on an AVX-512 Xeon, and halve vgg_bn's), so
  ``all`` and ``extended`` are timed with the winning provider and threads, and the faster
  (``all`` unless ``extended`` wins by 5 %) goes into ``runtime.graph_opt`` for the runner
  (:mod:`edgemnist.runners.ort_levels`).
- **Manifest** like an engine's: format ``onnxruntime-optimized``, the source ONNX's sha256,
  the measurements, the runtime choice, and the reason for falling back.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np

from edgemnist.atomic import atomic_path, sha256_file
from edgemnist.errors import ArtifactError, DependencyMissing

GRAPH_OPT_LEVEL = "ORT_ENABLE_EXTENDED"
#: providers worth measuring, in order of preference on a tie
CANDIDATE_PROVIDERS = ("CUDAExecutionProvider", "XnnpackExecutionProvider", "CPUExecutionProvider")
ARTIFACT_NAME = "model.ort.onnx"
FORMAT = "onnxruntime-optimized"


@dataclass
class FallbackResult:
    """What the fallback wrote and chose."""

    artifact: Path
    manifest: Dict[str, Any]
    reused: bool
    reasons: List[str] = field(default_factory=list)


def _ort() -> Any:
    try:
        import onnxruntime as ort  # type: ignore[import-untyped]
    except ImportError:
        raise DependencyMissing(
            "onnxruntime", "ort", "the ONNX Runtime fallback when TensorRT is absent"
        ) from None
    return ort


def optimize(onnx: Path, out: Path) -> None:
    """Write ``onnx`` with ONNX Runtime's ``ORT_ENABLE_EXTENDED`` optimizations to ``out``.

    Raises:
        ArtifactError: ONNX Runtime cannot load the model (corrupt or unsupported ONNX).
    """
    ort = _ort()
    opts = ort.SessionOptions()
    opts.graph_optimization_level = getattr(ort.GraphOptimizationLevel, GRAPH_OPT_LEVEL)
    opts.intra_op_num_threads = 1
    with atomic_path(out, suffix=".onnx") as tmp:
        opts.optimized_model_filepath = str(tmp)
        try:
            ort.InferenceSession(str(onnx), opts, providers=["CPUExecutionProvider"])
        except Exception as exc:
            msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ArtifactError(
                f"{onnx}: ONNX Runtime cannot load it ({msg}): re-export the model"
            ) from None


def candidate_configs(
    available: Sequence[str], cpu_count: Optional[int] = None
) -> List[Dict[str, Any]]:
    """(provider, threads) pairs to measure: 1 and 2 threads for CPU-side providers."""
    cpus = cpu_count or os.cpu_count() or 1
    configs = []
    for p in CANDIDATE_PROVIDERS:
        if p not in available:
            continue
        threads = [1] if p == "CUDAExecutionProvider" else [1, 2] if cpus >= 2 else [1]
        configs += [{"provider": p, "threads": t} for t in threads]
    return configs


def measure(
    model: Path, provider: str, threads: int, runs: int = 300, warmup: int = 30
) -> Dict[str, Any]:
    """Batch-1 latency of ``model`` on one provider/thread setting (microseconds).

    Measured through :class:`~edgemnist.runners.onnxruntime.OnnxRuntimeRunner`, so the choice
    is made with exactly the session options it will run with (spinning off above one thread,
    I/O binding on CPU) and the same backend-call timer as ``edgemnist bench``.
    """
    from edgemnist.runners.onnxruntime import OnnxRuntimeRunner

    x = np.random.default_rng(0).standard_normal((1, 1, 28, 28)).astype(np.float32)
    runner = OnnxRuntimeRunner(
        model, threads=threads, providers=[provider], graph_opt="all", verify_hash=False
    )  # the level is measured afterwards, for the winner (see the module docstring)
    with runner:
        for _ in range(warmup):
            runner.infer(x)
        samples = np.empty(runs, dtype=np.float64)
        for i in range(runs):
            runner.infer(x)
            samples[i] = runner.last_latency_s
    us = samples * 1e6
    return {
        "provider": provider,
        "threads": threads,
        "runs": runs,
        "p50_us": round(float(np.percentile(us, 50)), 2),
        "p90_us": round(float(np.percentile(us, 90)), 2),
        "p99_us": round(float(np.percentile(us, 99)), 2),
        "mean_us": round(float(us.mean()), 2),
    }


def fallback_key(onnx_sha256: str) -> Dict[str, Any]:
    """Cache key of a fallback build: source, ONNX Runtime version, level, CPU."""
    ort = _ort()
    return {
        "onnx_sha256": onnx_sha256,
        "onnxruntime": ort.__version__,
        "graph_optimization_level": GRAPH_OPT_LEVEL,
        "machine": platform.machine(),
        "providers": [p for p in CANDIDATE_PROVIDERS if p in ort.get_available_providers()],
    }


def build_fallback(
    onnx: Path,
    out_dir: Path,
    reason: str,
    precision: str,
    force: bool = False,
    runs: int = 300,
    say: Callable[[str], None] = lambda s: None,
) -> FallbackResult:
    """Make ``out_dir/model.ort.onnx`` + manifest from ``onnx`` (or reuse a matching one).

    Args:
        onnx: the source ONNX (FP32, FP16 or QDQ; its precision is kept).
        out_dir: where to write.
        reason: why TensorRT was not used (goes into the manifest and the report).
        precision: the source ONNX's precision ("fp32", "fp16", "int8").
        force: rebuild even if the cached model matches.
        runs: timed batch-1 runs per provider/thread setting.
        say: progress callback (one line each).

    Returns:
        A :class:`FallbackResult`.
    """
    from edgemnist.engine.cache import decide
    from edgemnist.manifest import build_manifest, read_manifest, write_manifest

    ort = _ort()
    onnx = Path(onnx)
    out = Path(out_dir) / ARTIFACT_NAME
    key = fallback_key(sha256_file(onnx))
    decision = decide(out, key, force=force)
    if decision.reuse:
        manifest = read_manifest(out)
        assert manifest is not None
        return FallbackResult(out, manifest, True, ["reusing the optimized model (key matches)"])

    say(f"optimizing with ONNX Runtime {ort.__version__} ({GRAPH_OPT_LEVEL}) -> {out}")
    optimize(onnx, out)
    configs = candidate_configs(ort.get_available_providers())
    measurements = []
    try:
        for cfg in configs:
            say(f"measuring {cfg['provider']} with {cfg['threads']} thread(s), {runs} runs")
            measurements.append(measure(out, cfg["provider"], cfg["threads"], runs=runs))
        best = min(measurements, key=lambda m: (m["p50_us"], m["threads"]))
        level: Dict[str, Any] = {}
        if best["provider"] == "CPUExecutionProvider":
            from edgemnist.runners.ort_levels import runtime_entry

            say("measuring ONNX Runtime's graph-optimization levels at load (all, extended)")
            level = runtime_entry(out, threads=int(best["threads"]))
    except BaseException:
        # a failed build leaves no partial artifact under the final name (a model with the
        # wrong input shape optimizes fine and fails here, at its first inference)
        for stale in (out, out.with_name(out.name + ".json")):
            if stale.exists():
                stale.unlink()
        raise
    try:
        source_manifest = read_manifest(onnx, required=False) or {}
    except ArtifactError:
        source_manifest = {}
    extra: Dict[str, Any] = {}
    if "test_accuracy" in source_manifest:
        extra["source_test_accuracy"] = source_manifest["test_accuracy"]
    providers = [best["provider"]]
    if best["provider"] != "CPUExecutionProvider":
        providers.append("CPUExecutionProvider")
    manifest = build_manifest(
        out,
        FORMAT,
        precision,
        source=onnx,
        runtime={
            "backend": "onnxruntime",
            "providers": providers,
            "threads": int(best["threads"]),
            "graph_optimization_level": GRAPH_OPT_LEVEL,
            **level,
        },
        measurements=measurements,
        fallback={"from": "tensorrt", "reason": reason},
        cache_key=key,
        device={"machine": platform.machine(), "processor": platform.processor() or None},
        versions={"onnxruntime": ort.__version__},
        **extra,
    )
    write_manifest(out, manifest)
    return FallbackResult(out, manifest, False, decision.reasons)
