"""``build-engine``: ONNX -> TensorRT plan (Python API or trtexec) or ONNX Runtime fallback.

Steps: pick the builder (``auto``: tensorrt Python module, else trtexec, else the ONNX Runtime
fallback, saying why); preflight memory on small boards; read the GPU; plan the precision
(:mod:`edgemnist.engine.planner`); compare the engine cache key with the manifest on disk and
reuse or rebuild (printing the reason); build with a heartbeat; write the plan atomically
(never a 0-byte engine) with a manifest holding the key; persist the timing cache.

TensorRT Python API branches (one table: :mod:`edgemnist.engine.trt_api`):

- network flags: ``EXPLICIT_BATCH`` on 8.x (required for ONNX), nothing on 10.x (no-op),
  ``STRONGLY_TYPED`` on 11.x;
- workspace: ``config.max_workspace_size`` before 8.4, ``set_memory_pool_limit`` after;
- precision: ``BuilderFlag.FP16/INT8`` on 8.x/10.x (INT8 from QDQ, or a calibrator on 8.x),
  none on 11.x (the ONNX's types);
- ``builder.build_serialized_network`` on every version that has it (8.0+): ``build_engine``
  + ``serialize`` would hold the engine *and* its plan in RAM, which a 4 GB Nano cannot spare;
  ``build_engine`` is only used on TensorRT 7.x, which lacks the other.

Verified here: the fallback end to end, and the TensorRT branches against the honest test
double (tests/unit/fake_tensorrt.py). Not verified without hardware: a real TensorRT build.
"""

from __future__ import annotations

import platform
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Tuple, cast

from edgemnist.atomic import atomic_path, sha256_file, write_bytes
from edgemnist.engine.cache import cache_key, decide, key_digest
from edgemnist.engine.gpu import GpuInfo, detect_gpu, with_tensorrt_flags
from edgemnist.engine.heartbeat import Heartbeat, Tick
from edgemnist.engine.onnx_kind import onnx_kind, precision_of
from edgemnist.engine.planner import PRECISION_CHOICES, PrecisionPlan, plan_precision
from edgemnist.engine.preflight import Preflight, preflight
from edgemnist.engine.trt_api import TrtApi, api_of
from edgemnist.errors import ArtifactError, BackendUnavailable, ConfigError

if TYPE_CHECKING:  # stubs only (.ci/typecheck); never imported at run time here
    import tensorrt

BUILDERS = ("auto", "python", "trtexec")
ENGINE_NAME = "model.engine"
DEFAULT_MAX_BATCH = 256
#: seconds between heartbeat ticks during a build
HEARTBEAT_S = 1.0
Say = Callable[[str], None]


@dataclass
class BuildResult:
    """What ``build-engine`` did."""

    artifact: Path
    #: "tensorrt" or "onnxruntime" (fallback)
    backend: str
    #: "python", "trtexec" or "onnxruntime"
    builder: str
    reused: bool
    reasons: List[str]
    manifest: Dict[str, Any]
    plan: Optional[PrecisionPlan] = None
    fallback_reason: Optional[str] = None
    preflight: Optional[Preflight] = None
    gpu: Dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> Dict[str, Any]:
        return {
            "artifact": str(self.artifact),
            "manifest": str(self.artifact) + ".json",
            "backend": self.backend,
            "builder": self.builder,
            "reused": self.reused,
            "reasons": self.reasons,
            "precision": self.manifest.get("precision"),
            "plan": self.plan.as_dict() if self.plan else None,
            "fallback_reason": self.fallback_reason,
            "preflight": self.preflight.as_dict() if self.preflight else None,
            "gpu": self.gpu,
            "seconds": round(self.seconds, 3),
        }


def import_tensorrt() -> Tuple[Optional[Any], str]:
    """``(module, "")`` or ``(None, reason)``; never raises."""
    try:
        import tensorrt as trt
    except Exception as exc:  # ImportError, or a broken install raising OSError
        return None, f"no importable tensorrt Python module ({type(exc).__name__})"
    return trt, ""


def trtexec_version(trtexec: Path) -> str:
    """TensorRT version of a trtexec binary, from its banner.

    Raises:
        BackendUnavailable: it does not run or prints no banner.
    """
    from edgemnist.engine.trtexec_cmd import parse_banner_version

    try:
        proc = subprocess.run(
            [str(trtexec), "--help"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BackendUnavailable(
            f"{trtexec} does not run ({exc}): check the TensorRT install"
        ) from None
    version = parse_banner_version(proc.stdout or "")
    if version is None:
        raise BackendUnavailable(f"{trtexec} printed no '[TensorRT vNNNN]' banner: is it trtexec?")
    return version


def timing_cache_path(trt_version: str, gpu: GpuInfo) -> Path:
    """Where the timing cache for this TensorRT version and GPU persists across builds."""
    from edgemnist.paths import home

    slug = "".join(c if c.isalnum() else "-" for c in f"{gpu.name}-sm{gpu.cc}").strip("-")
    return home() / "cache" / "tensorrt" / f"timing-{trt_version}-{slug}.cache"


def input_shapes(max_batch: int, opt_batch: int = 1, name: str = "input") -> Dict[str, Any]:
    """The optimization profile (dynamic batch), as stored in the cache key."""
    if not 1 <= opt_batch <= max_batch:
        raise ConfigError(f"need 1 <= opt batch ({opt_batch}) <= max batch ({max_batch})")
    return {
        name: {"min": [1, 1, 28, 28], "opt": [opt_batch, 1, 28, 28], "max": [max_batch, 1, 28, 28]}
    }


# -- TensorRT Python API ----------------------------------------------------------------------
def _dims(shape: List[int]) -> tensorrt.Dims:
    """A shape for TensorRT: pybind11 converts tuples to ``Dims`` implicitly (as NVIDIA's
    samples rely on), which the stubs cannot express."""
    return cast("tensorrt.Dims", tuple(int(d) for d in shape))


def network_flags(trt: Any, api: TrtApi, plan: PrecisionPlan) -> int:
    """``create_network`` flags for this version and plan."""
    flags = 0
    if api.explicit_batch_required:
        flags |= 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    if plan.strongly_typed:
        flags |= 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    return flags


def build_with_python_api(
    trt: Any,
    onnx: Path,
    plan: PrecisionPlan,
    workspace_mib: int,
    shapes: Dict[str, Any],
    timing_cache: Optional[Path],
    calibrator: Any = None,
) -> bytes:
    """Build a serialized TensorRT plan with the Python API of ``trt``'s version.

    Raises:
        ArtifactError: the ONNX parser rejects the model.
        BackendUnavailable: TensorRT returns no engine (the message suggests the fix).
    """
    # Locals carry the TensorRT 10 stub types, so `.ci/typecheck` checks every call of the
    # 10.x path against tensorrt-stubs; API the 10.x stubs lack (8.x max_workspace_size,
    # 7.x build_engine) is reached through setattr/getattr and covered by the test double.
    api = api_of(trt)
    logger: tensorrt.ILogger = trt.Logger(trt.Logger.WARNING)
    builder: tensorrt.Builder = trt.Builder(logger)
    network: tensorrt.INetworkDefinition = builder.create_network(network_flags(trt, api, plan))
    parser: tensorrt.OnnxParser = trt.OnnxParser(network, logger)
    if not parser.parse(Path(onnx).read_bytes()):
        errors = [str(parser.get_error(i)) for i in range(parser.num_errors)]
        first = errors[0].splitlines()[0] if errors else "unknown error"
        raise ArtifactError(
            f"{onnx}: TensorRT {api.label}'s ONNX parser rejected it ({first}): export with "
            "opset <= 13 for TensorRT 8.2"
        )
    config: tensorrt.IBuilderConfig = builder.create_builder_config()
    workspace = int(workspace_mib) << 20
    if api.memory_pool:
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace)
    else:  # TensorRT < 8.4 (the Nano's 8.2)
        setattr(config, "max_workspace_size", workspace)  # noqa: B010
    if api.precision_flags:
        for flag in plan.flags:
            config.set_flag(getattr(trt.BuilderFlag, flag))
    profile: tensorrt.IOptimizationProfile = builder.create_optimization_profile()
    for name, s in shapes.items():
        profile.set_shape(name, _dims(s["min"]), _dims(s["opt"]), _dims(s["max"]))
    config.add_optimization_profile(profile)
    if plan.mode == "calibrator":
        if calibrator is None:
            raise ConfigError("INT8 calibration needs a calibrator (internal error)")
        config.int8_calibrator = calibrator
        # Without a calibration profile TensorRT reads each calibration batch at the first
        # profile's kOPT shape (batch 1 here): 1 image of every 32. NvInfer.h (8.x): "Calibration
        # optimization profile must be set if int8 calibration is used to set scales for a
        # network with runtime dimensions"; IBuilderConfig.set_calibration_profile is bound
        # from 8.0.1 to 10.x (python/src/infer/pyCore.cpp), like the calibrators themselves.
        batch = int(calibrator.get_batch_size())
        calib: tensorrt.IOptimizationProfile = builder.create_optimization_profile()
        for name, s in shapes.items():
            at = _dims([batch, *s["opt"][1:]])
            calib.set_shape(name, at, at, at)
        config.set_calibration_profile(calib)
    cache_blob = timing_cache.read_bytes() if timing_cache and timing_cache.is_file() else b""
    cache: tensorrt.ITimingCache = config.create_timing_cache(cache_blob)
    config.set_timing_cache(cache, False)

    plan_bytes: Optional[Any]
    if hasattr(builder, "build_serialized_network"):
        plan_bytes = builder.build_serialized_network(network, config)
    else:  # TensorRT 7.x
        engine = getattr(builder, "build_engine")(network, config)  # noqa: B009
        plan_bytes = engine.serialize() if engine is not None else None
    if plan_bytes is None:
        raise BackendUnavailable(
            f"TensorRT {api.label} built no engine (see its log above): try --precision fp32, "
            "a smaller --workspace on small boards, or more swap"
        )
    if timing_cache is not None:
        used = config.get_timing_cache()
        if used is not None:
            write_bytes(timing_cache, bytes(memoryview(used.serialize())))
    data = bytes(memoryview(plan_bytes))
    if not data:
        raise BackendUnavailable(f"TensorRT {api.label} returned an empty plan: rebuild")
    return data


# -- trtexec ----------------------------------------------------------------------------------
def build_with_trtexec(
    trtexec: Path,
    version: str,
    onnx: Path,
    engine: Path,
    plan: PrecisionPlan,
    workspace_mib: int,
    shapes: Dict[str, Any],
    timing_cache: Optional[Path],
    log: Path,
    calib_cache: Optional[Path] = None,
) -> List[str]:
    """Build ``engine`` with trtexec (atomically: it writes a temp file we rename).

    Returns:
        The command line that ran.

    Raises:
        BackendUnavailable: trtexec failed (the message quotes its last error line and the log).
    """
    from edgemnist.engine.trtexec_cmd import BuildSpec, build_command

    ((name, s),) = shapes.items()
    with atomic_path(engine, suffix=".engine") as tmp:
        spec = BuildSpec(
            onnx, tmp, plan.flags, workspace_mib, timing_cache,
            s["min"][0], s["opt"][0], s["max"][0], input_name=name, calib_cache=calib_cache,
        )  # fmt: skip
        cmd = build_command(trtexec, version, spec)
        # the log is not an artifact: written in place so a failed build still leaves it
        with open(log, "w") as fh:
            proc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, check=False)
        text = log.read_text(errors="replace") if log.is_file() else ""
        if proc.returncode != 0 or not tmp.is_file() or tmp.stat().st_size == 0:
            errors = [ln for ln in text.splitlines() if "[E]" in ln or "Error" in ln]
            last = errors[-1].strip() if errors else f"exit code {proc.returncode}"
            raise BackendUnavailable(f"trtexec failed: {last} (full log: {log})")
    return cmd


# -- the command ------------------------------------------------------------------------------
@dataclass
class BuildOptions:
    """What :func:`build_engine` builds and how (defaults: the CLI's ``build-engine``)."""

    # "auto" (the best this GPU runs well), "fp32", "fp16" or "int8" (see engine/planner.py)
    precision: str = "auto"
    # "auto" (tensorrt module, else trtexec, else the ONNX Runtime fallback), "python", "trtexec"
    builder: str = "auto"
    # builder workspace in MiB; None: 256 on boards with <= 4 GB RAM, else 1024
    workspace_mib: Optional[int] = None
    # ignore a matching cached engine (or fallback model) and rebuild
    force_rebuild: bool = False
    # largest batch the engine accepts (dynamic batch 1..max_batch)
    max_batch: int = DEFAULT_MAX_BATCH
    # batch TensorRT tunes kernels for
    opt_batch: int = 1
    # timed runs per setting when the ONNX Runtime fallback measures providers and threads
    fallback_runs: int = 300


def build_engine(
    onnx: Path,
    out_dir: Optional[Path] = None,
    options: Optional[BuildOptions] = None,
    *,
    say: Say = lambda s: None,
    tick: Optional[Tick] = None,
    root: Path = Path("/"),
    trt_module: Any = None,
    gpu: Optional[GpuInfo] = None,
    trtexec: Optional[Path] = None,
) -> BuildResult:
    """Build (or reuse) a TensorRT engine for ``onnx``, or fall back to ONNX Runtime.

    Args:
        onnx: the model (``model.onnx``, ``model.int8.onnx`` QDQ, ``model.fp16.onnx``).
        out_dir: output directory (default: the ONNX's directory).
        options: precision, builder, workspace, batch sizes, rebuild (default:
            ``BuildOptions()``).
        say: receives one line per decision (the CLI prints them).
        tick: heartbeat callback ``(label, elapsed_s)`` during long steps.
        root: filesystem root for board facts (tests pass fake trees).
        trt_module: a tensorrt module to use instead of importing one (tests).
        gpu: GPU facts to use instead of detecting them (tests).
        trtexec: trtexec path to use instead of searching (tests).

    Returns:
        A :class:`BuildResult`.

    Raises:
        ArtifactError: missing/corrupt ONNX.
        ConfigError: impossible precision request or option.
        BackendUnavailable: an explicitly requested builder is missing or fails.
    """
    t0 = time.monotonic()
    opts = options if options is not None else BuildOptions()
    onnx = Path(onnx)
    if opts.builder not in BUILDERS:
        raise ConfigError(f"unknown builder {opts.builder!r}: choose {', '.join(BUILDERS)}")
    if opts.precision not in PRECISION_CHOICES:
        raise ConfigError(
            f"unknown precision {opts.precision!r}: choose {', '.join(PRECISION_CHOICES)}"
        )
    kind = onnx_kind(onnx)  # raises ArtifactError on a missing/empty file
    out_dir = Path(out_dir) if out_dir is not None else onnx.parent
    out_dir.mkdir(parents=True, exist_ok=True)

    tool = _choose_builder(opts.builder, root, trt_module, trtexec, gpu)
    if not tool.use:
        return _fallback(onnx, out_dir, kind, opts, tool.reason, say, t0)
    job = _plan_job(tool, onnx, out_dir, kind, opts, root, say)
    decision = decide(job.engine, job.key, force=opts.force_rebuild)
    if decision.reuse:
        from edgemnist.manifest import read_manifest

        say(f"cache: {decision.summary} ({job.engine})")
        manifest = read_manifest(job.engine) or {}
        return BuildResult(
            job.engine, "tensorrt", tool.use, True, [decision.summary], manifest, job.plan, None,
            job.pre, tool.gpu.as_dict(), time.monotonic() - t0,
        )  # fmt: skip
    say(f"cache: rebuilding: {decision.summary}")
    cmd, seconds = _run_build(tool, job, onnx, out_dir, tick, say)
    manifest = _write_engine_manifest(tool, job, onnx, cmd, seconds)
    say(f"wrote {job.engine} ({job.engine.stat().st_size} bytes) in {seconds:.1f} s")
    return BuildResult(
        job.engine, "tensorrt", tool.use, False, decision.reasons, manifest, job.plan, None,
        job.pre, tool.gpu.as_dict(), time.monotonic() - t0,
    )  # fmt: skip


@dataclass
class _Builder:
    """Which builder runs (``use``: "python", "trtexec", or "" to fall back, with ``reason``)."""

    use: str
    reason: str
    trt: Any
    exe: Optional[Path]
    gpu: GpuInfo


@dataclass
class _Job:
    """What is built: TensorRT version, preflight, precision plan, shapes, cache key."""

    version: str
    pre: Preflight
    plan: PrecisionPlan
    shapes: Dict[str, Any]
    engine: Path
    key: Any


def _choose_builder(
    builder: str, root: Path, trt_module: Any, trtexec: Optional[Path], gpu: Optional[GpuInfo]
) -> _Builder:
    """The builder to use and the GPU it builds for, or why to fall back to ONNX Runtime.

    Raises:
        BackendUnavailable: an explicitly requested builder (or its GPU) is missing.
    """
    trt, trt_reason = (trt_module, "") if trt_module is not None else import_tensorrt()
    exe = trtexec
    if exe is None and (builder == "trtexec" or (builder == "auto" and trt is None)):
        from edgemnist.engine.trtexec_cmd import find_trtexec

        exe = find_trtexec(root)
    if builder == "python" and trt is None:
        raise BackendUnavailable(
            f"{trt_reason}: on a Jetson it comes with JetPack (python3-libnvinfer), elsewhere "
            "pip install tensorrt; or use --builder trtexec"
        )
    if builder == "trtexec" and exe is None:
        raise BackendUnavailable(
            "trtexec not found on PATH or at /usr/src/tensorrt/bin/trtexec: install TensorRT "
            "or set EDGEMNIST_TRTEXEC"
        )
    use = (
        builder
        if builder != "auto"
        else ("python" if trt is not None else "trtexec" if exe else "")
    )
    gpu_info = gpu
    if use:
        if gpu_info is None:
            gpu_info = detect_gpu(root)
            if use == "python" and api_of(trt).platform_fast_flags and gpu_info.present:
                gpu_info = with_tensorrt_flags(gpu_info, trt)
        if not gpu_info.present:
            if builder != "auto":
                raise BackendUnavailable(
                    "no CUDA GPU found: TensorRT needs one (run edgemnist doctor)"
                )
            trt_reason = "TensorRT is installed but no CUDA GPU answers"
            use = ""
    if not use and trt is None and exe is None:
        trt_reason = f"TensorRT is not installed here: {trt_reason} and no trtexec"
    return _Builder(use, trt_reason, trt, exe, cast(GpuInfo, gpu_info))


def _plan_job(
    tool: _Builder,
    onnx: Path,
    out_dir: Path,
    kind: str,
    opts: BuildOptions,
    root: Path,
    say: Say,
) -> _Job:
    """Version, preflight, precision plan, shapes and cache key of the engine to build."""
    workspace_mib = opts.workspace_mib
    if tool.use == "python":
        assert tool.trt is not None
        version = str(tool.trt.__version__)
    else:
        assert tool.exe is not None
        version = trtexec_version(tool.exe)
    pre = preflight(root, workspace_mib or 0)
    for line in pre.advice:
        say(f"preflight: {line}")
    if pre.small_board and not workspace_mib:
        say(f"preflight: {pre.ram_mib} MiB board: workspace {pre.workspace_mib} MiB")
    plan = plan_precision(opts.precision, tool.gpu, version, kind)
    for line in plan.reasons:
        say(f"precision: {line}")
    shapes = input_shapes(opts.max_batch, opts.opt_batch)
    key = cache_key(
        sha256_file(onnx),
        version,
        tool.gpu.name,
        tool.gpu.cc,
        plan.precision,
        shapes,
        pre.workspace_mib,
    )
    return _Job(version, pre, plan, shapes, out_dir / ENGINE_NAME, key)


def _run_build(
    tool: _Builder, job: _Job, onnx: Path, out_dir: Path, tick: Optional[Tick], say: Say
) -> Tuple[Optional[List[str]], float]:
    """Build the engine file; returns the trtexec command (None for the Python API) and the
    build time in seconds.

    Raises:
        ConfigError: INT8 through trtexec from an FP32 ONNX without a calibration cache.
    """
    plan, pre, version = job.plan, job.pre, job.version
    calib_cache = out_dir / f"calibration-{key_digest(job.key)}.cache"
    if tool.use == "trtexec" and plan.mode == "calibrator" and not calib_cache.is_file():
        # sampleEngines.cpp (8.x, 10.x): --int8 on a network without Q/DQ layers and without
        # --calib gets setTensorDynamicRange() placeholders (+-2 / +-4), not a calibration
        raise ConfigError(
            f"INT8 through trtexec from an FP32 ONNX needs the calibration cache {calib_cache} "
            "(without one trtexec builds with placeholder dynamic ranges: garbage accuracy): "
            f"run `edgemnist quantize {onnx} --target tensorrt` and build from the QDQ "
            "model.int8.onnx, or calibrate once with --builder python"
        )
    tcache = timing_cache_path(version, tool.gpu)
    tcache.parent.mkdir(parents=True, exist_ok=True)  # trtexec does not create it
    label = f"building {plan.precision.upper()} engine with TensorRT {version} ({tool.use})"
    say(label + (" (first builds take minutes on a Nano)" if pre.small_board else ""))
    cmd: Optional[List[str]] = None
    with Heartbeat(label, tick, interval=HEARTBEAT_S) as hb:
        if tool.use == "python":
            calibrator, memory = None, None
            if plan.mode == "calibrator":
                from edgemnist.engine.calibrator import calibration_batches, make_calibrator
                from edgemnist.runners.tensorrt import open_memory

                memory = open_memory()
                calibrator = make_calibrator(tool.trt, memory, calibration_batches(), calib_cache)
            try:
                data = build_with_python_api(
                    tool.trt, onnx, plan, pre.workspace_mib, job.shapes, tcache, calibrator
                )
            finally:
                if memory is not None:
                    memory.close()
            write_bytes(job.engine, data)
        else:
            assert tool.exe is not None
            cmd = build_with_trtexec(
                tool.exe, version, onnx, job.engine, plan, pre.workspace_mib, job.shapes, tcache,
                out_dir / (ENGINE_NAME + ".build.log"),
                calib_cache if plan.mode == "calibrator" else None,
            )  # fmt: skip
        seconds = hb.elapsed
    return cmd, seconds


def _write_engine_manifest(
    tool: _Builder, job: _Job, onnx: Path, cmd: Optional[List[str]], seconds: float
) -> Dict[str, Any]:
    """Write the engine's manifest (device, plan, shapes, cache key, build time); return it."""
    from edgemnist.manifest import build_manifest, write_manifest

    manifest = build_manifest(
        job.engine,
        "tensorrt",
        job.plan.precision,
        source=onnx,
        tensorrt={"version": job.version, "builder": tool.use, "command": cmd},
        device={
            "gpu": tool.gpu.name,
            "compute_capability": tool.gpu.cc,
            "board": tool.gpu.extra.get("board"),
            "machine": platform.machine(),
        },
        plan=job.plan.as_dict(),
        shapes=job.shapes,
        workspace_mib=job.pre.workspace_mib,
        cache_key=job.key,
        timing_cache=str(timing_cache_path(job.version, tool.gpu)),
        build_seconds=round(seconds, 2),
        versions={"tensorrt": job.version},
    )
    write_manifest(job.engine, manifest)
    return manifest


def _fallback(
    onnx: Path, out_dir: Path, kind: str, opts: BuildOptions, reason: str, say: Say, t0: float
) -> BuildResult:
    """The ONNX Runtime fallback (the ONNX's own precision), saying why and what it measured."""
    from edgemnist.engine.ort_fallback import build_fallback

    precision = opts.precision
    src_precision = precision_of(kind)
    say(f"falling back to ONNX Runtime: {reason}")
    reasons = [f"fell back to ONNX Runtime: {reason}"]
    if precision not in ("auto", src_precision):
        note = (
            f"--precision {precision} ignored: ONNX Runtime runs the ONNX's own precision "
            f"({src_precision})" + ("; for INT8 use model.int8.onnx" if precision == "int8" else "")
        )
        say(note)
        reasons.append(note)
    result = build_fallback(
        onnx,
        out_dir,
        reason,
        src_precision,
        force=opts.force_rebuild,
        runs=opts.fallback_runs,
        say=say,
    )
    rt = result.manifest.get("runtime", {})
    if result.reused:
        say(f"cache: reusing {result.artifact} (key matches)")
    else:
        for m in result.manifest.get("measurements", []):
            say(
                f"measured {m['provider']} x{m['threads']} thread(s): p50 {m['p50_us']} us, "
                f"p99 {m['p99_us']} us"
            )
        say(
            f"chose {rt.get('providers', ['?'])[0]} with {rt.get('threads')} thread(s) (lowest p50)"
        )
    return BuildResult(
        result.artifact, "onnxruntime", "onnxruntime", result.reused, reasons + result.reasons,
        result.manifest, None, reason, None, {}, time.monotonic() - t0,
    )  # fmt: skip
