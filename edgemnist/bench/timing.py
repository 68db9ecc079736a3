"""The timing harness: time-based warm-up, then at least N iterations AND at least T seconds.

Two ways to take a sample:

- :func:`time_backend` reads :attr:`Runner.last_latency_s` after each ``infer`` — the backend
  call only (input validation and the output copy stay outside the window). This is the
  latency column.
- :func:`time_wall` reads ``time.perf_counter_ns`` around a whole callable — used for the
  end-to-end column (uint8 -> normalize -> infer -> argmax) and for throughput.

Garbage collection is paused while timing (as :mod:`timeit` does) so a collection does not land
in one sample. :func:`measure_overhead` measures what the harness itself adds to one timed call
(a pure-Python no-op runner) and what ONNX Runtime's ``session.run`` costs for an Identity graph,
so readers know the floor under every latency in the table.
"""

from __future__ import annotations

import contextlib
import gc
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence

import numpy as np

from edgemnist.bench.stats import Summary, summarize
from edgemnist.errors import ConfigError
from edgemnist.runners.base import Runner


@dataclass(frozen=True)
class TimingConfig:
    """How long to warm up and how much to measure.

    Attributes:
        warmup_s: run untimed for at least this long first (caches, allocators, lazy init).
        min_iters: take at least this many samples...
        min_time_s: ...and keep going until at least this much time has passed.
        max_time_s: stop measuring after this long even when ``min_iters`` is not reached
            (a slow model at a large batch); the result says it was capped.
    """

    warmup_s: float = 0.3
    min_iters: int = 300
    min_time_s: float = 1.5
    max_time_s: float = 15.0

    def __post_init__(self) -> None:
        if self.warmup_s < 0 or self.min_time_s < 0 or self.max_time_s <= 0:
            raise ConfigError("timing: warm-up and times must be >= 0 (max time > 0)")
        if self.min_iters < 1:
            raise ConfigError("timing: --min-iters must be at least 1")

    def scaled(self, time_factor: float, iter_factor: float) -> TimingConfig:
        """A lighter (or heavier) budget for secondary measurements (end-to-end, throughput)."""
        return TimingConfig(
            warmup_s=self.warmup_s * time_factor,
            min_iters=max(3, int(self.min_iters * iter_factor)),
            min_time_s=self.min_time_s * time_factor,
            max_time_s=self.max_time_s,
        )


@dataclass
class Timed:
    """The samples of one measurement, in seconds."""

    samples_s: List[float]
    #: wall time of the measured loop (not the warm-up)
    wall_s: float
    warmup_iters: int
    #: True when ``max_time_s`` stopped the loop before ``min_iters`` samples
    capped: bool = False
    extra: Dict[str, Any] = field(default_factory=dict)

    @property
    def iters(self) -> int:
        return len(self.samples_s)

    def summary_us(self) -> Summary:
        """Statistics in microseconds."""
        return summarize(self.samples_s).scaled(1e6)


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _loop(step: Callable[[], float], config: TimingConfig) -> Timed:
    """Warm up by time, then call ``step`` (which returns one sample in seconds) until both
    ``min_iters`` and ``min_time_s`` are satisfied, or ``max_time_s`` passes."""
    clock = time.perf_counter_ns
    warm_end = clock() + int(config.warmup_s * 1e9)
    warmup_iters = 0
    with _gc_paused():
        while True:
            step()
            warmup_iters += 1
            if clock() >= warm_end:
                break
        samples: List[float] = []
        append = samples.append
        min_iters = config.min_iters
        start = clock()
        min_end = start + int(config.min_time_s * 1e9)
        cap_end = start + int(config.max_time_s * 1e9)
        capped = False
        while True:
            append(step())
            now = clock()
            if len(samples) >= min_iters and now >= min_end:
                break
            if now >= cap_end:
                capped = len(samples) < min_iters
                break
        wall_s = (clock() - start) / 1e9
    return Timed(samples_s=samples, wall_s=wall_s, warmup_iters=warmup_iters, capped=capped)


def time_backend(runner: Runner, x: np.ndarray, config: TimingConfig) -> Timed:
    """Time ``runner.infer(x)`` by the runner's own backend-call timer (``last_latency_s``).

    Args:
        runner: a loaded runner.
        x: the input batch, already normalized float32 ``(N, 1, 28, 28)``.
        config: the budget.

    Returns:
        Samples of the backend call alone, in seconds.
    """
    infer = runner.infer

    def step() -> float:
        infer(x)
        return runner.last_latency_s

    return _loop(step, config)


def time_wall(fn: Callable[[], Any], config: TimingConfig) -> Timed:
    """Time a whole callable with ``perf_counter_ns`` (end-to-end, throughput).

    Args:
        fn: called with no arguments; its result is ignored.
        config: the budget.

    Returns:
        Wall-clock samples of ``fn()``, in seconds.
    """
    clock = time.perf_counter_ns

    def step() -> float:
        t0 = clock()
        fn()
        return (clock() - t0) / 1e9

    return _loop(step, config)


# -- CPU pinning -----------------------------------------------------------------------------


def parse_cpus(spec: str) -> List[int]:
    """``"0"``, ``"0,2"`` or ``"2-3"`` -> sorted CPU numbers.

    Raises:
        ConfigError: the text is not a CPU list.
    """
    cpus: set = set()
    try:
        for part in str(spec).split(","):
            part = part.strip()
            if not part:
                continue
            if "-" in part:
                lo, hi = part.split("-", 1)
                cpus.update(range(int(lo), int(hi) + 1))
            else:
                cpus.add(int(part))
    except ValueError:
        raise ConfigError(f"--pin {spec!r}: give CPU numbers like 0, 0,2 or 2-3") from None
    if not cpus or min(cpus) < 0:
        raise ConfigError(f"--pin {spec!r}: give CPU numbers like 0, 0,2 or 2-3")
    return sorted(cpus)


def check_cpus(cpus: Sequence[int]) -> None:
    """Raise :class:`ConfigError` unless this process may be pinned to ``cpus`` here."""
    if not hasattr(os, "sched_setaffinity"):
        raise ConfigError("--pin needs Linux (os.sched_setaffinity); leave it out on this system")
    allowed = os.sched_getaffinity(0)
    wanted = set(cpus)
    if not wanted <= allowed:
        raise ConfigError(
            f"--pin: CPU(s) {sorted(wanted - allowed)} not available to this process "
            f"(allowed: {sorted(allowed)})"
        )


@contextlib.contextmanager
def pinned(cpus: Optional[Sequence[int]]) -> Iterator[Optional[List[int]]]:
    """Pin this process to ``cpus`` for the block (``None``: leave it alone), then restore.

    Threads a backend starts inside the block inherit the mask, so open runners inside it.

    Raises:
        ConfigError: pinning is not supported here, or a CPU is not available to this process.
    """
    if not cpus:
        yield None
        return
    check_cpus(cpus)
    before = os.sched_getaffinity(0)
    wanted = set(cpus)
    os.sched_setaffinity(0, wanted)
    try:
        yield sorted(wanted)
    finally:
        os.sched_setaffinity(0, before)


# -- the harness's own overhead ---------------------------------------------------------------


class NoopRunner(Runner):
    """A pure-Python runner whose backend call does nothing (returns a prepared array).

    Its backend-call "latency" is the harness's own cost per timed call: two clock reads and a
    Python method call. Not a model: used only to measure the floor under every number.
    """

    name = "noop"

    def _load(self) -> None:
        self._out = np.zeros((1, 10), dtype=np.float32)

    def _infer(self, x: np.ndarray) -> np.ndarray:
        return self._out


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, payload: Any) -> bytes:
    """One protobuf field: an int as a varint, bytes/str as length-delimited."""
    if isinstance(payload, int):
        return _varint(number << 3) + _varint(payload)
    data = payload.encode() if isinstance(payload, str) else payload
    return _varint((number << 3) | 2) + _varint(len(data)) + data


def identity_onnx_bytes(opset: int = 13) -> bytes:
    """A serialized ONNX model ``output = Identity(input)``, input float32 ``(N, 1, 28, 28)``.

    Written as raw protobuf so measuring ORT's fixed cost needs no ``onnx`` package on a device.
    """
    dims = _field(1, _field(2, "N")) + b"".join(_field(1, _field(1, d)) for d in (1, 28, 28))
    tensor_type = _field(1, _field(1, 1) + _field(2, dims))  # elem_type 1 = FLOAT
    value_type = _field(2, tensor_type)
    graph = (
        _field(
            1, _field(1, "input") + _field(2, "output") + _field(3, "id") + _field(4, "Identity")
        )
        + _field(2, "identity")
        + _field(11, _field(1, "input") + value_type)
        + _field(12, _field(1, "output") + value_type)
    )
    return (
        _field(1, 7)  # ir_version
        + _field(2, "edgemnist")
        + _field(7, graph)
        + _field(8, _field(1, "") + _field(2, opset))
    )


def _ort_identity(config: TimingConfig, threads: int) -> Dict[str, Any]:
    try:
        import onnxruntime as ort
    except ImportError:
        return {"status": "unavailable", "reason": "onnxruntime is not installed"}
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    sess = ort.InferenceSession(
        identity_onnx_bytes(), sess_options=opts, providers=["CPUExecutionProvider"]
    )
    feed = {"input": np.zeros((1, 1, 28, 28), dtype=np.float32)}
    run = sess.run
    clock = time.perf_counter

    # same window as Runner.infer: two clock reads around the call
    def step() -> float:
        t0 = clock()
        run(None, feed)
        return clock() - t0

    timed = _loop(step, config)

    # the path OnnxRuntimeRunner takes on CPU: I/O binding to buffers allocated once, the input
    # copied into the bound buffer inside the timed window
    x = feed["input"]
    x_buf, y_buf = np.empty_like(x), np.empty_like(x)
    binding = sess.io_binding()
    binding.bind_input("input", "cpu", 0, np.float32, list(x.shape), x_buf.ctypes.data)
    binding.bind_output("output", "cpu", 0, np.float32, list(x.shape), y_buf.ctypes.data)
    run_bound = sess.run_with_iobinding

    def step_bound() -> float:
        t0 = clock()
        np.copyto(x_buf, x)
        run_bound(binding)
        return clock() - t0

    bound = _loop(step_bound, config)
    return {
        "status": "ok",
        "what": "onnxruntime session.run of an Identity graph, (1,1,28,28) float32, CPU provider",
        "threads": threads,
        "onnxruntime": ort.__version__,
        "latency_us": timed.summary_us().as_dict(),
        "bound_what": "the same graph through I/O binding (OnnxRuntimeRunner's CPU path)",
        "bound_latency_us": bound.summary_us().as_dict(),
    }


def measure_overhead(config: Optional[TimingConfig] = None, threads: int = 1) -> Dict[str, Any]:
    """Measure the harness's own cost per timed call and ORT's fixed cost per ``session.run``.

    Args:
        config: budget for each measurement (default: 0.1 s warm-up, >= 2000 calls, >= 0.5 s).
        threads: ONNX Runtime intra-op threads for the Identity session.

    Returns:
        ``{"timed_call_us": stats, "infer_call_us": stats, "ort_identity": {...}}`` where
        ``timed_call_us`` is what a no-op backend call reports (the harness floor inside every
        latency sample) and ``infer_call_us`` the whole ``infer()`` of the no-op runner
        (validation and output copy, which the end-to-end column includes).
    """
    config = config or TimingConfig(warmup_s=0.1, min_iters=2000, min_time_s=0.5)
    x = np.zeros((1, 1, 28, 28), dtype=np.float32)
    with NoopRunner() as noop:
        timed = time_backend(noop, x, config).summary_us()
        wall = time_wall(lambda: noop.infer(x), config).summary_us()
    try:
        ort_identity = _ort_identity(config, threads)
    except Exception as exc:  # a broken ORT install must not stop the benchmark
        ort_identity = {"status": "error", "reason": f"{type(exc).__name__}: {exc}"}
    return {
        "timed_call_us": timed.as_dict(),
        "infer_call_us": wall.as_dict(),
        "ort_identity": ort_identity,
    }
