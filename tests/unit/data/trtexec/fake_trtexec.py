"""TEST DOUBLE of NVIDIA's trtexec executable (run as a subprocess by the tests). Not trtexec.

It follows what trtexec does at each release, from NVIDIA's sources (github.com/NVIDIA/TensorRT,
samples/trtexec/trtexec.cpp, samples/common/sampleOptions.cpp, sampleReporting.cpp, logging.h):

- options: the exact set each release's ``sampleOptions.cpp`` parses (``options.json`` beside
  this file, extracted per tag); anything left over is reported as ``[E] Unknown option: <name>
  <value>`` (one line each), the help goes to stdout and the run ends ``&&&& FAILED`` with exit
  code 1 (trtexec.cpp, ``main``);
- streams: ``[I]``/``[V]`` lines and the ``&&&&`` result lines go to stdout, ``[W]``/``[E]``
  lines to stderr (logging.h: ``severity >= kINFO ? std::cout : std::cerr``);
- ``--percentile``: one float before 8.5 (``stringToValue<float>`` = ``std::stof``, which reads
  ``50,90,99`` as 50), a comma list from 8.5.1;
- ``--memPoolSize=workspace:N``: N MiB from 8.4; 10.0.x multiplies a unit suffix into bytes and
  still reads the result as MiB (``256M`` -> 2^28 MiB); 10.1+ reads ``256M`` as 256 MiB;
- the performance summary in the version's format (8.0/8.2: one percentile and an End-to-End
  Host Latency line; 8.4: one percentile; 8.5+: the percentile list), its warnings on ``[W]``;
  no summary with ``--dumpProfile`` and no ``--separateProfileRun`` (8.4+).

It builds no engine: ``--saveEngine`` receives a header line plus the ONNX bytes, and
``--loadEngine`` + ``--exportOutput`` runs that ONNX with ONNX Runtime, so outputs are real numbers
from the real model; timings are synthetic. Every invocation's argv is appended to
FAKE_TRTEXEC_LOG. FAKE_TRTEXEC_VERSION is NV_TENSORRT_VERSION ("8201", "100300", ...).
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
VERSION = os.environ.get("FAKE_TRTEXEC_VERSION", "100300")
_N = int(VERSION)
MAJOR, MINOR, PATCH = (
    (_N // 10000, (_N // 100) % 100, _N % 100)
    if _N >= 100000
    else (_N // 1000, (_N // 100) % 10, _N % 100)
)
MM = (MAJOR, MINOR)
BANNER = f"TensorRT.trtexec [TensorRT v{VERSION}]"
STAMP = "[11/28/2026-10:00:00]"


def accepted_options() -> set:
    """The options of the newest release in options.json not newer than this version."""
    table = json.loads((HERE / "options.json").read_text())
    releases = []
    for key, entry in table.items():
        if key.startswith("_"):
            continue
        parts = [int(p) for p in key.split(".")] + [0, 0]
        releases.append((tuple(parts[:3]), entry["options"]))
    mine = (MAJOR, MINOR, PATCH)
    eligible = [r for r in releases if r[0][:2] <= MM and r[0] <= mine] or [min(releases)]
    return set(max(eligible)[1])


def info(msg: str) -> None:
    print(f"{STAMP} [I] {msg}", flush=True)


def warn(msg: str) -> None:
    print(f"{STAMP} [W] {msg}", file=sys.stderr, flush=True)


def error(msg: str) -> None:
    print(f"{STAMP} [E] {msg}", file=sys.stderr, flush=True)


def result(word: str) -> None:
    print(f"&&&& {word} {BANNER} # trtexec {' '.join(sys.argv[1:])}", flush=True)


def fail(msg: str) -> None:
    error(msg)
    result("FAILED")
    sys.exit(1)


def leading_float(text: str) -> float:
    """``std::stof``/``std::stod``: the longest leading number, the rest ignored."""
    m = re.match(r"\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?", text)
    if not m:
        fail(f"Invalid value: {text}")  # std::invalid_argument
    return float(m.group(0))


def workspace_mib(opts: dict) -> float:
    if "--memPoolSize" not in opts:
        return leading_float(opts["--workspace"]) if "--workspace" in opts else 0.0
    name, _, size = opts["--memPoolSize"].partition(":")
    if name != "workspace":
        fail(f"Unknown memory pool: {name}")
    units = {"K": 2**10, "M": 2**20, "G": 2**30}
    suffix = size[-1:].upper()
    if MAJOR < 10:
        return leading_float(size)  # 8.4-8.6: stod, a suffix is ignored, MiB
    if MM == (10, 0):  # stod(x) * getUnitMultiplier(x), then read as MiB
        return leading_float(size) * units.get(suffix, 1)
    value = leading_float(size) * units.get(suffix, 2**20)  # 10.1+: default suffix M
    return value / 2**20


def percentiles(opts: dict) -> list:
    text = opts.get("--percentile")
    if MM < (8, 5):
        return [leading_float(text) if text else 99.0]
    if not text:
        return [90.0, 95.0, 99.0]
    return [leading_float(p) for p in text.split(",")]


def stats_line(values: list, pcts: list) -> str:
    vs = sorted(values)
    n = len(vs)
    parts = [f"min = {vs[0]:g} ms", f"max = {vs[-1]:g} ms", f"mean = {sum(vs) / n:g} ms"]
    parts.append(f"median = {vs[n // 2]:g} ms")
    for p in pcts:
        idx = min(n - 1, max(0, n - int((1 - p / 100) * n) - 1))
        parts.append(f"percentile({p:g}%) = {vs[idx]:g} ms")
    return ", ".join(parts)


def summary(opts: dict) -> None:
    if "--dumpProfile" in opts and "--separateProfileRun" not in opts and MM >= (8, 4):
        info(
            "The e2e network timing is not reported since it is inaccurate due to the extra "
            "synchronizations when the profiler is enabled."
        )
        info(
            "To show e2e network timing report, add --separateProfileRun to profile layer timing "
            "in a separate run or remove --dumpProfile to disable the profiler."
        )
        return
    pcts = percentiles(opts)
    compute = [0.05 + 0.0001 * ((i * 37) % 100) for i in range(1000)]
    h2d = [0.004] * 1000
    d2h = [0.003] * 1000
    latency = [c + a + b for c, a, b in zip(compute, h2d, d2h)]
    enqueue = [0.07] * 1000  # longer than the compute median: the enqueue-bound warning
    info("=== Performance summary ===")
    info("Throughput: 18035.4 qps")
    info("Latency: " + stats_line(latency, pcts if MM >= (8, 5) else pcts[:1]))
    if MM < (8, 4):
        info("End-to-End Host Latency: " + stats_line([v + 0.01 for v in latency], pcts[:1]))
    for label, values in (("Enqueue Time", enqueue), ("H2D Latency", h2d)):
        info(f"{label}: " + stats_line(values, pcts))
    info("GPU Compute Time: " + stats_line(compute, pcts))
    info("D2H Latency: " + stats_line(d2h, pcts))
    info("Total Host Walltime: 3.00005 s")
    info(f"Total GPU Compute Time: {sum(compute) / 1000:g} s")
    warn("* Throughput may be bound by Enqueue Time rather than GPU Compute and the GPU may be "
         "under-utilized.")  # fmt: skip
    warn("  If not already in use, --useCudaGraph (utilize CUDA graphs where possible) may "
         "increase the throughput.")  # fmt: skip
    info("Explanations of the performance metrics are printed in the verbose logs.")


def main() -> None:
    log = os.environ.get("FAKE_TRTEXEC_LOG")
    if log:
        with open(log, "a") as fh:
            fh.write(json.dumps(sys.argv[1:]) + "\n")
    result("RUNNING")
    opts = {}
    for arg in sys.argv[1:]:  # argsToArgumentsMap: split at the first '='
        key, _, value = arg.partition("=")
        opts[key] = value
    if "--help" in opts or "-h" in opts:
        print("=== Model Options ===")
        return
    known = accepted_options()
    unknown = [k for k in opts if k not in known]
    if unknown:
        for k in unknown:
            error(f"Unknown option: {k} {opts[k]}")
        print("=== Model Options ===")  # AllOptions::help(std::cout)
        result("FAILED")
        sys.exit(1)
    if "--onnx" in opts:
        build(opts)
        if "--buildOnly" in opts or "--skipInference" in opts:
            result("PASSED")
            return
        summary(opts)
        result("PASSED")
        return
    if "--loadEngine" in opts:
        load(opts)
        return
    fail("Model missing or format not recognized")


def build(opts: dict) -> None:
    onnx = Path(opts["--onnx"]).read_bytes()
    if not onnx.startswith(b"\x08"):
        fail("Failed to parse onnx file")
    if MAJOR == 8:  # TensorRT 8.x's parser reads opset <= 13 (8.2) / 17 (8.6): use 13
        import onnx as onnx_pkg

        opset = max(o.version for o in onnx_pkg.load_from_string(onnx).opset_import)
        if opset > 13:
            fail(f"ModelImporter.cpp: Unsupported ONNX opset {opset} (max 13)")
    if "--workspace" in opts and MM >= (8, 4):
        warn("--workspace flag has been deprecated by --memPoolSize flag.")
    info("Start parsing network model.")
    info("Engine built in 8.2 sec.")
    header = {
        "fake_trtexec": VERSION,
        "fp16": "--fp16" in opts,
        "int8": "--int8" in opts,
        "calib": opts.get("--calib"),
        # sampleEngines.cpp (8.2.1, 10.x): --int8 on a network without Q/DQ layers and without
        # --calib gets setTensorDynamicRange(network) = placeholder ranges +-2/+-4, no calibration
        "placeholder_ranges": "--int8" in opts
        and not opts.get("--calib")
        and b"QuantizeLinear" not in onnx,
        "workspace_mib": workspace_mib(opts),
    }
    Path(opts["--saveEngine"]).write_bytes(json.dumps(header).encode() + b"\n" + onnx)
    if "--timingCacheFile" in opts:
        Path(opts["--timingCacheFile"]).write_bytes(b"fake timing cache " + VERSION.encode())


def load(opts: dict) -> None:
    data = Path(opts["--loadEngine"]).read_bytes()
    head, _, onnx = data.partition(b"\n")
    if json.loads(head).get("fake_trtexec") != VERSION:
        fail(
            "1: [stdArchiveReader.cpp::StdArchiveReader::32] Error Code 1: Serialization "
            "(Serialization assertion magicTagRead == kMAGIC_TAG failed.)"
        )
    if "--exportOutput" in opts:
        import numpy as np
        import onnxruntime as ort

        n = int(opts["--shapes"].rsplit(":", 1)[1].split("x")[0])
        x = np.fromfile(opts["--loadInputs"].split(":", 1)[1], dtype=np.float32)
        sess = ort.InferenceSession(onnx, providers=["CPUExecutionProvider"])
        (y,) = sess.run(["logits"], {"input": x.reshape(n, 1, 28, 28)})
        tensors = [{"name": "logits", "dimensions": "x".join(map(str, y.shape)),
                    "values": y.ravel().tolist()}]  # fmt: skip
        Path(opts["--exportOutput"]).write_text(json.dumps(tensors))
        result("PASSED")
        return
    summary(opts)
    result("PASSED")


if __name__ == "__main__":
    main()
