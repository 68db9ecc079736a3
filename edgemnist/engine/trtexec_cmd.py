"""NVIDIA's ``trtexec``: find it, build its command line for its version, parse its output.

Flags differ by version (../shared/notes/tensorrt.md): 8.2 takes ``--workspace=<MiB>`` and
one ``--percentile``; 10.x takes ``--memPoolSize=workspace:<N>M`` and a percentile list;
11.x has no precision flags (strongly typed) and leaves host/device copies out of its timings
unless ``--includeDataTransfers``.

Example:
    >>> parse_banner_version("&&&& RUNNING TensorRT.trtexec [TensorRT v8201] # trtexec")
    '8.2.1'
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from edgemnist.engine.trt_api import parse_version

#: where JetPack installs trtexec (it is not on PATH there)
JETSON_TRTEXEC = "/usr/src/tensorrt/bin/trtexec"


def find_trtexec(root: Path = Path("/")) -> Optional[Path]:
    """``EDGEMNIST_TRTEXEC``, else ``trtexec`` on PATH, else JetPack's location; None if absent."""
    env = os.environ.get("EDGEMNIST_TRTEXEC")
    if env:
        return Path(env) if Path(env).is_file() else None
    on_path = shutil.which("trtexec")
    if on_path:
        return Path(on_path)
    jetson = Path(root) / JETSON_TRTEXEC.lstrip("/")
    return jetson if jetson.is_file() else None


def parse_banner_version(text: str) -> Optional[str]:
    """TensorRT version from trtexec's ``[TensorRT v8201]`` / ``[TensorRT v100300]`` banner."""
    m = re.search(r"\[TensorRT v(\d+)\]", text)
    if not m:
        return None
    n = int(m.group(1))
    # NV_TENSORRT_VERSION: major*1000+minor*100+patch before 10, major*10000+minor*100+patch after
    if n >= 100000:
        return f"{n // 10000}.{(n // 100) % 100}.{n % 100}"
    return f"{n // 1000}.{(n // 100) % 10}.{n % 100}"


def shapes_arg(name: str, batch: int) -> str:
    return f"{name}:{batch}x1x28x28"


def build_command(
    trtexec: Path,
    version: str,
    onnx: Path,
    engine: Path,
    flags: Sequence[str],
    workspace_mib: int,
    timing_cache: Optional[Path],
    min_batch: int,
    opt_batch: int,
    max_batch: int,
    input_name: str = "input",
    calib_cache: Optional[Path] = None,
) -> List[str]:
    """The trtexec command that builds ``engine`` from ``onnx``.

    Args:
        flags: precision flags from the planner ("FP16", "INT8"); ignored on 11.x.
        workspace_mib: builder workspace limit.
        timing_cache: file to read/update (persisted across builds).
        calib_cache: INT8 calibration cache (8.x calibrator mode only).
    """
    major = parse_version(version)[0]
    cmd = [str(trtexec), f"--onnx={onnx}", f"--saveEngine={engine}"]
    if major >= 10:
        cmd.append(f"--memPoolSize=workspace:{int(workspace_mib)}M")
    else:
        cmd.append(f"--workspace={int(workspace_mib)}")
    if major < 11:
        if "FP16" in flags:
            cmd.append("--fp16")
        if "INT8" in flags:
            cmd.append("--int8")
            if calib_cache is not None:
                cmd.append(f"--calib={calib_cache}")
    cmd += [
        f"--minShapes={shapes_arg(input_name, min_batch)}",
        f"--optShapes={shapes_arg(input_name, opt_batch)}",
        f"--maxShapes={shapes_arg(input_name, max_batch)}",
    ]
    if timing_cache is not None:
        cmd.append(f"--timingCacheFile={timing_cache}")
    cmd.append("--skipInference")
    return cmd


def bench_command(
    trtexec: Path,
    version: str,
    engine: Path,
    batch: int = 1,
    warmup_ms: int = 500,
    duration_s: float = 3.0,
    iterations: Optional[int] = None,
    percentiles: Sequence[int] = (50, 90, 99),
    export_times: Optional[Path] = None,
    cuda_graph: bool = False,
    include_transfers: bool = True,
    input_name: str = "input",
) -> List[str]:
    """The trtexec command that times ``engine`` (its own measurement, parsed by
    :func:`parse_performance_summary`)."""
    major, minor, _ = parse_version(version)
    cmd = [
        str(trtexec),
        f"--loadEngine={engine}",
        f"--shapes={shapes_arg(input_name, batch)}",
        f"--warmUp={int(warmup_ms)}",
        f"--duration={duration_s:g}",
    ]
    if iterations is not None:
        cmd.append(f"--iterations={int(iterations)}")
    if (major, minor) < (8, 4):
        # 8.2 accepts a single percentile; its summary always shows median too
        cmd.append(f"--percentile={max(percentiles)}")
    else:
        cmd.append("--percentile=" + ",".join(str(p) for p in percentiles))
    if export_times is not None:
        cmd.append(f"--exportTimes={export_times}")
    if cuda_graph:
        cmd.append("--useCudaGraph")
    if major >= 11 and include_transfers:
        cmd.append("--includeDataTransfers")
    return cmd


_STAT = re.compile(r"(min|max|mean|median|percentile\((\d+(?:\.\d+)?)%\))\s*=\s*([-\d.eE+]+)\s*ms")
_PREFIX = re.compile(r"^(?:\[[^\]]*\]\s*)*")

#: summary line label -> key in our result schema
_LINES = {
    "Latency": "latency_ms",
    "End-to-End Host Latency": "end_to_end_host_latency_ms",
    "Enqueue Time": "enqueue_ms",
    "H2D Latency": "h2d_ms",
    "GPU Compute Time": "gpu_compute_ms",
    "D2H Latency": "d2h_ms",
}


def _stats(text: str) -> Dict[str, float]:
    out: Dict[str, float] = {}
    for m in _STAT.finditer(text):
        label, pct, value = m.group(1), m.group(2), float(m.group(3))
        key = f"p{float(pct):g}" if pct is not None else ("p50" if label == "median" else label)
        out[key] = value
    return out


def parse_performance_summary(output: str) -> Dict[str, Any]:
    """Parse trtexec's ``=== Performance summary ===`` (8.2 and 10.x/11.x formats).

    Args:
        output: trtexec's stdout (log prefixes like ``[11/28/2026-10:00:00] [I]`` allowed).

    Returns:
        ``{"tensorrt_version", "throughput_qps", "latency_ms": {"min", "max", "mean", "p50",
        "p90"?, "p95"?, "p99"}, "enqueue_ms", "h2d_ms", "gpu_compute_ms", "d2h_ms",
        "end_to_end_host_latency_ms" (8.2), "total_host_walltime_s", "total_gpu_compute_s",
        "warnings": [...]}``; absent lines are absent keys.

    Raises:
        ValueError: no performance summary in ``output`` (the run failed or was cut short).
    """
    lines = [_PREFIX.sub("", ln).rstrip() for ln in output.splitlines()]
    try:
        start = next(i for i, ln in enumerate(lines) if "=== Performance summary ===" in ln)
    except StopIteration:
        raise ValueError("no '=== Performance summary ===' in trtexec output") from None
    result: Dict[str, Any] = {"tensorrt_version": parse_banner_version(output), "warnings": []}
    for ln in lines[start + 1 :]:
        if ln.startswith("=== ") or ln.startswith("&&&&"):
            break
        label, _, rest = ln.partition(":")
        label = label.strip()
        if label == "Throughput":
            result["throughput_qps"] = float(rest.split()[0])
        elif label in _LINES:
            result[_LINES[label]] = _stats(rest)
        elif label == "Total Host Walltime":
            result["total_host_walltime_s"] = float(rest.split()[0])
        elif label == "Total GPU Compute Time":
            result["total_gpu_compute_s"] = float(rest.split()[0])
        elif ln.lstrip().startswith("* "):
            result["warnings"].append(ln.lstrip()[2:].strip())
    if "latency_ms" not in result:
        raise ValueError("trtexec performance summary has no Latency line")
    return result
