"""NVIDIA's ``trtexec``: find it, build its command line for its version, parse its output.

Flags by version, checked in github.com/NVIDIA/TensorRT ``samples/common/sampleOptions.cpp`` at
tags 8.0.1, 8.2.1, 8.4.1, 8.4.3, 8.5.1, 8.5.3, v8.6.1, v10.0.0, v10.0.1, v10.3.0, v10.13.0 and
release/11.0 (trtexec.cpp exits ``&&&& FAILED`` on any option its release does not parse:
"Unknown option: ..."):

- build only: ``--buildOnly`` up to 8.5; 8.6 adds ``--skipInference`` (``--buildOnly`` kept as
  a deprecated alias); 10.0 removed ``--buildOnly``;
- workspace: ``--workspace=<MiB>`` up to 8.2; ``--memPoolSize=workspace:<N>`` from 8.4 (N in
  MiB; 8.4-8.6 parse it with ``std::stod``; 10.0.x multiplies a unit suffix into bytes and still
  reads MiB, so ``256M`` asks for 2^28 MiB; 10.1+ defaults the unit to M): a plain number is
  right on every version; 10.0 removed ``--workspace``;
- ``--percentile``: one float up to 8.4 (``std::stof`` reads ``50,90,99`` as 50 and p90/p99
  silently vanish), a comma list from 8.5.1;
- 11.x has no precision flags (strongly typed) and leaves host/device copies out of its
  timings unless ``--includeDataTransfers``.

Output (sampleReporting.cpp): 8.0+ print ``=== Performance summary ===`` with one line per
figure (8.0/8.2 add ``End-to-End Host Latency``); 7.x print ``Host Latency`` / ``Enqueue Time``
/ ``GPU Compute`` blocks of ``min: X ms`` lines and ``throughput: Q qps``, and 0 qps for
explicit-batch networks. Throughput is ``batch * queries / walltime`` where ``batch`` is the
implicit batch (``--batch=N``) or 1 for explicit batch: images/s with an implicit batch,
inferences/s otherwise. ``[W]``/``[E]`` lines (the summary's warnings among them) go to
stderr, the rest to stdout (logging.h), so run it with ``stderr=STDOUT``.

Example:
    >>> parse_banner_version("&&&& RUNNING TensorRT.trtexec [TensorRT v8201] # trtexec")
    '8.2.1'
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

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


def workspace_arg(version: str, workspace_mib: int) -> str:
    """The workspace limit flag of this trtexec version (a plain MiB number everywhere)."""
    if parse_version(version)[:2] < (8, 4):
        return f"--workspace={int(workspace_mib)}"
    return f"--memPoolSize=workspace:{int(workspace_mib)}"


def build_only_arg(version: str) -> str:
    """``--buildOnly`` before 8.6, ``--skipInference`` from 8.6 (10.0 removed ``--buildOnly``)."""
    return "--buildOnly" if parse_version(version)[:2] < (8, 6) else "--skipInference"


@dataclass(frozen=True)
class BuildSpec:
    """What one trtexec build makes (everything but the tool and its version)."""

    # the ONNX read and the engine written
    onnx: Path
    engine: Path
    # precision flags from the planner ("FP16", "INT8"); ignored on 11.x (strongly typed)
    flags: Sequence[str]
    # builder workspace limit, MiB
    workspace_mib: int
    # timing cache to read and update (persisted across builds), or None
    timing_cache: Optional[Path]
    # the optimization profile's batch range
    min_batch: int
    opt_batch: int
    max_batch: int
    input_name: str = "input"
    # INT8 calibration cache (8.x calibrator mode only; the caller refuses calibrator-mode INT8
    # without one: trtexec would use placeholder dynamic ranges)
    calib_cache: Optional[Path] = None


def build_command(trtexec: Path, version: str, spec: BuildSpec) -> List[str]:
    """The trtexec command (for this trtexec ``version``) that builds ``spec.engine``."""
    major = parse_version(version)[0]
    cmd = [str(trtexec), f"--onnx={spec.onnx}", f"--saveEngine={spec.engine}"]
    cmd.append(workspace_arg(version, spec.workspace_mib))
    if major < 11:
        if "FP16" in spec.flags:
            cmd.append("--fp16")
        if "INT8" in spec.flags:
            cmd.append("--int8")
            if spec.calib_cache is not None:
                cmd.append(f"--calib={spec.calib_cache}")
    cmd += [
        f"--minShapes={shapes_arg(spec.input_name, spec.min_batch)}",
        f"--optShapes={shapes_arg(spec.input_name, spec.opt_batch)}",
        f"--maxShapes={shapes_arg(spec.input_name, spec.max_batch)}",
    ]
    if spec.timing_cache is not None:
        cmd.append(f"--timingCacheFile={spec.timing_cache}")
    cmd.append(build_only_arg(version))
    return cmd


def bench_percentiles(version: str, percentiles: Sequence[int]) -> List[int]:
    """The percentiles this trtexec can report in one run: all of them from 8.5, else the
    largest (before 8.5 ``--percentile`` is one float: a list would silently become its first
    entry)."""
    if parse_version(version)[:2] < (8, 5):
        return [max(percentiles)]
    return list(percentiles)


@dataclass(frozen=True)
class BenchSpec:
    """How trtexec times one engine (everything but the tool and its version)."""

    engine: Path
    batch: int = 1
    warmup_ms: int = 500
    duration_s: float = 3.0
    # at least this many inferences (trtexec runs until both duration and iterations are met)
    iterations: Optional[int] = None
    # asked for; before 8.5 only the largest is passed (see :func:`bench_percentiles`)
    percentiles: Sequence[int] = (50, 90, 99)
    # per-inference timings as JSON (``--exportTimes``)
    export_times: Optional[Path] = None
    cuda_graph: bool = False
    # 11.x leaves host/device copies out of its timings unless asked
    include_transfers: bool = True
    input_name: str = "input"


def bench_command(trtexec: Path, version: str, spec: BenchSpec) -> List[str]:
    """The trtexec command that times ``spec.engine`` (its own measurement, parsed by
    :func:`parse_performance_summary`)."""
    major = parse_version(version)[0]
    cmd = [
        str(trtexec),
        f"--loadEngine={spec.engine}",
        f"--shapes={shapes_arg(spec.input_name, spec.batch)}",
        f"--warmUp={int(spec.warmup_ms)}",
        f"--duration={spec.duration_s:g}",
    ]
    if spec.iterations is not None:
        cmd.append(f"--iterations={int(spec.iterations)}")
    pcts = bench_percentiles(version, spec.percentiles)
    cmd.append("--percentile=" + ",".join(str(p) for p in pcts))
    if spec.export_times is not None:
        cmd.append(f"--exportTimes={spec.export_times}")
    if spec.cuda_graph:
        cmd.append("--useCudaGraph")
    if major >= 11 and spec.include_transfers:
        cmd.append("--includeDataTransfers")
    return cmd


# -- output -----------------------------------------------------------------------------------
_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_STAT = re.compile(rf"(min|max|mean|median|percentile\(({_NUM})%\))\s*=\s*({_NUM})\s*ms")
_PREFIX = re.compile(r"^(?:\[[^\]]*\]\s*)*")
_CMD = re.compile(r"^&&&& (?:RUNNING|PASSED|FAILED|WAIVED)\b[^#]*#\s*(.*)$", re.M)

#: summary line label (8.0+) -> key in our result schema
_LINES = {
    "Latency": "latency_ms",
    "End-to-End Host Latency": "end_to_end_host_latency_ms",
    "Enqueue Time": "enqueue_ms",
    "H2D Latency": "h2d_ms",
    "GPU Compute Time": "gpu_compute_ms",
    "D2H Latency": "d2h_ms",
}
#: 7.x block header -> key
_BLOCKS_7 = {
    "Host Latency": "latency_ms",
    "Enqueue Time": "enqueue_ms",
    "GPU Compute": "gpu_compute_ms",
}
_NO_SUMMARY_PROFILER = (
    "trtexec printed no performance summary: --dumpProfile without --separateProfileRun times "
    "with the layer profiler on, which it does not report"
)


def _pkey(pct: str) -> str:
    return f"p{float(pct):g}"


def _stats(text: str) -> Dict[str, float]:
    out: Dict[str, float] = {}
    for m in _STAT.finditer(text):
        label, pct, value = m.group(1), m.group(2), float(m.group(3))
        out[_pkey(pct) if pct is not None else label] = value
    if "median" in out and "p50" not in out:
        out["p50"] = out["median"]  # trtexec's median; a percentile(50%) line wins when printed
    return out


def _command(output: str) -> str:
    m = _CMD.search(output)
    return m.group(1) if m else ""


def _arg(command: str, name: str) -> Optional[str]:
    m = re.search(rf"(?:^|\s){re.escape(name)}=(\S+)", command)
    return m.group(1) if m else None


def _batches(lines: List[str], command: str) -> Tuple[Optional[int], Optional[int]]:
    """(implicit batch or None, images per inference from ``--shapes`` or None)."""
    implicit: Optional[int] = None
    for ln in lines:
        m = re.match(r"Batch: (\S+)$", ln)
        if m:
            implicit = int(m.group(1)) if m.group(1).isdigit() else None
            break
    else:
        batch = _arg(command, "--batch")
        implicit = int(batch) if batch and batch.isdigit() else None
    per_inference: Optional[int] = None
    shapes = _arg(command, "--shapes")
    if shapes:
        dims = shapes.split(",")[0].rsplit(":", 1)[-1].split("x")[0]
        per_inference = int(dims) if dims.isdigit() else None
    return implicit, per_inference


def _warnings(raw_lines: List[str], start: int) -> List[str]:
    """The summary's ``* ...`` warnings after ``start`` (trtexec prints them on ``[W]`` lines),
    each with its indented continuation line(s) joined."""
    out: List[str] = []
    for raw in raw_lines[start:]:
        if raw.startswith("&&&&"):
            break
        text = _PREFIX.sub("", raw).strip()
        if text.startswith("* "):
            out.append(text[2:].strip())
        elif out and text and ("[W]" in raw or raw.startswith("  ")):
            out[-1] += " " + text
    return out


def _parse_8(lines: List[str], start: int, result: Dict[str, Any]) -> None:
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


def _parse_7(lines: List[str], start: int, result: Dict[str, Any]) -> None:
    """TensorRT 7.x blocks: ``Host Latency`` / ``min: X ms (end to end Y ms)`` ..."""
    block = ""
    for ln in lines[start:]:
        if ln.startswith("&&&&"):
            break
        if ln in _BLOCKS_7:
            block = _BLOCKS_7[ln]
            result.setdefault(block, {})
            continue
        m = re.match(rf"(min|max|mean|median|percentile): ({_NUM}) ms(?: at ({_NUM})%)?", ln)
        if block and m:
            key = _pkey(m.group(3)) if m.group(1) == "percentile" and m.group(3) else m.group(1)
            result[block][key] = float(m.group(2))
            e2e = re.search(rf"\(end to end ({_NUM}) ms", ln)
            if e2e:
                result.setdefault("end_to_end_host_latency_ms", {})[key] = float(e2e.group(1))
            continue
        m = re.match(rf"(throughput|walltime|total compute time): ({_NUM}) (qps|s)$", ln)
        if m:
            key = {"throughput": "throughput_qps", "walltime": "total_host_walltime_s"}
            result[key.get(m.group(1), "total_gpu_compute_s")] = float(m.group(2))
    for stats in [v for k, v in result.items() if k.endswith("_ms")]:
        if "median" in stats:
            stats.setdefault("p50", stats["median"])


def parse_performance_summary(
    output: str, percentiles: Optional[Sequence[float]] = None
) -> Dict[str, Any]:
    """Parse trtexec's performance figures (7.x blocks, 8.0 -> 11.x ``Performance summary``).

    Args:
        output: trtexec's merged stdout+stderr (log prefixes such as ``[11/28/2026-10:00:00]
            [I]`` allowed).
        percentiles: the percentiles that were asked for; each one the output lacks is listed in
            ``missing`` (never reported as 0).

    Returns:
        ``{"tensorrt_version", "format": "8+" | "7.x" | None, "summary": bool,
        "throughput_qps" (as printed, or None), "throughput_per": "image" | "inference",
        "implicit_batch", "images_per_inference", "images_per_s", "latency_ms": {"min", "max",
        "mean", "median", "p50", "p90"?, "p99", ...}, "enqueue_ms", "h2d_ms", "gpu_compute_ms",
        "d2h_ms", "end_to_end_host_latency_ms" (7.x-8.2), "total_host_walltime_s",
        "total_gpu_compute_s", "warnings": [...], "missing": [...], "notes": [...]}``. Figures
        trtexec did not print are absent (and named in ``missing``), never zeros.
    """
    raw_lines = output.splitlines()
    lines = [_PREFIX.sub("", ln).rstrip() for ln in raw_lines]
    version = parse_banner_version(output)
    command = _command(output)
    implicit, per_inference = _batches(lines, command)
    result: Dict[str, Any] = {
        "tensorrt_version": version,
        "format": None,
        "summary": False,
        "throughput_qps": None,
        "throughput_per": "image" if implicit else "inference",
        "implicit_batch": implicit,
        "images_per_inference": implicit or per_inference,
        "images_per_s": None,
        "warnings": [],
        "missing": [],
        "notes": [],
    }
    start8 = next((i for i, ln in enumerate(lines) if "=== Performance summary ===" in ln), None)
    start7 = next((i for i, ln in enumerate(lines) if ln == "Host Latency"), None)
    if start8 is not None:
        result["format"] = "8+"
        _parse_8(lines, start8, result)
    elif start7 is not None:
        result["format"] = "7.x"
        _parse_7(lines, start7, result)
    else:
        profiler = any("e2e network timing is not reported" in ln for ln in lines)
        why = _NO_SUMMARY_PROFILER if profiler else (
            "no performance summary in the trtexec output (a build-only run, or it was cut short)"
        )  # fmt: skip
        result["missing"].append("performance summary")
        result["warnings"].append(why)
        return result
    result["summary"] = True
    result["warnings"] = _warnings(raw_lines, start8 if start8 is not None else start7 or 0)
    qps = result["throughput_qps"]
    if result["format"] == "7.x" and qps == 0:
        # 7.x computes throughput as batch * queries / walltime with batch = 0 for explicit
        # batch networks: a printed 0 is "not measured", not a figure
        result["throughput_qps"] = None
        result["notes"].append("TensorRT 7 prints 0 qps for explicit-batch networks")
    if result["throughput_qps"] is None:
        result["missing"].append("throughput_qps")
    elif implicit:
        result["images_per_s"] = result["throughput_qps"]
        result["notes"].append(
            f"implicit batch {implicit}: trtexec's throughput counts images (batch x queries)"
        )
    elif per_inference:
        result["images_per_s"] = round(result["throughput_qps"] * per_inference, 3)
    if "--noDataTransfers" in command.split() or (
        version and parse_version(version)[0] >= 11 and "--includeDataTransfers" not in command
    ):
        result["notes"].append("host/device copies were not timed: H2D/D2H are not measurements")
    expected = ["latency_ms", "gpu_compute_ms", "total_host_walltime_s"]
    result["missing"] += [key for key in expected if key not in result]
    for key in [k for k in result if k.endswith("_ms")]:
        for p in percentiles or ():
            if _pkey(str(p)) not in result[key]:
                result["missing"].append(f"{key}.{_pkey(str(p))}")
    return result
