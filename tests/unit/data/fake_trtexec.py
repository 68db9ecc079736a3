"""TEST DOUBLE of NVIDIA's trtexec executable (run as a subprocess by the tests).

Follows trtexec's command-line interface and output format for one TensorRT version
(FAKE_TRTEXEC_VERSION: "8201" or "100300"), and rejects options that version lacks, as the
real tool does ("Unknown option"). It builds no engine: ``--saveEngine`` receives a header
line plus the ONNX bytes, and ``--loadEngine`` + ``--exportOutput`` runs that ONNX with ONNX
Runtime, so outputs are real numbers from the real model. Timings are replayed from the
recorded fixtures in this folder. Every invocation's argv is appended to FAKE_TRTEXEC_LOG.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
VERSION = os.environ.get("FAKE_TRTEXEC_VERSION", "100300")
MAJOR = int(VERSION) // 10000 if int(VERSION) >= 100000 else int(VERSION) // 1000
BANNER = f"TensorRT.trtexec [TensorRT v{VERSION}]"

COMMON = {
    "onnx",
    "saveEngine",
    "loadEngine",
    "fp16",
    "int8",
    "calib",
    "timingCacheFile",
    "shapes",
    "minShapes",
    "optShapes",
    "maxShapes",
    "skipInference",
    "warmUp",
    "duration",
    "iterations",
    "percentile",
    "exportTimes",
    "useCudaGraph",
    "loadInputs",
    "exportOutput",
    "help",
    "useDLACore",
    "allowGPUFallback",
}
BY_MAJOR = {
    8: COMMON | {"workspace"},
    10: COMMON | {"memPoolSize"},
    11: (COMMON - {"fp16", "int8", "calib"}) | {"memPoolSize", "includeDataTransfers"},
}


def fail(msg: str) -> None:
    print(f"[11/28/2026-10:00:00] [E] {msg}")
    print(f"&&&& FAILED {BANNER} # trtexec {' '.join(sys.argv[1:])}")
    sys.exit(1)


def main() -> None:
    log = os.environ.get("FAKE_TRTEXEC_LOG")
    if log:
        with open(log, "a") as fh:
            fh.write(json.dumps(sys.argv[1:]) + "\n")
    print(f"&&&& RUNNING {BANNER} # trtexec {' '.join(sys.argv[1:])}")
    opts = {}
    for arg in sys.argv[1:]:
        key, _, value = arg.lstrip("-").partition("=")
        if key not in BY_MAJOR[MAJOR]:
            fail(f"Unknown option: {arg}")
        opts[key] = value
    if "help" in opts:
        print("=== Model Options ===")
        return
    if MAJOR == 8 and "," in opts.get("percentile", ""):
        fail("Invalid percentile: " + opts["percentile"])
    if "onnx" in opts:
        onnx = Path(opts["onnx"]).read_bytes()
        if not onnx.startswith(b"\x08"):
            fail("Failed to parse onnx file")
        if MAJOR == 8:  # TensorRT 8.2's parser reads opset <= 13
            import onnx as onnx_pkg

            opset = max(o.version for o in onnx_pkg.load_from_string(onnx).opset_import)
            if opset > 13:
                fail(f"ModelImporter.cpp: Unsupported ONNX opset {opset} (max 13)")
        print("[11/28/2026-10:00:01] [I] [TRT] " + "-" * 64)
        print("[11/28/2026-10:00:01] [I] Start parsing network model.")
        print("[11/28/2026-10:00:09] [I] Engine built in 8.2 sec.")
        header = json.dumps(
            {"fake_trtexec": VERSION, "fp16": "fp16" in opts, "int8": "int8" in opts}
        )
        Path(opts["saveEngine"]).write_bytes(header.encode() + b"\n" + onnx)
        if "timingCacheFile" in opts:
            Path(opts["timingCacheFile"]).write_bytes(b"fake timing cache " + VERSION.encode())
        print(f"&&&& PASSED {BANNER} # trtexec")
        return
    if "loadEngine" in opts:
        data = Path(opts["loadEngine"]).read_bytes()
        head, _, onnx = data.partition(b"\n")
        if json.loads(head).get("fake_trtexec") != VERSION:
            fail(
                "1: [stdArchiveReader.cpp::StdArchiveReader::32] Error Code 1: Serialization "
                "(Serialization assertion magicTagRead == kMAGIC_TAG failed.)"
            )
        if "exportOutput" in opts:
            import numpy as np
            import onnxruntime as ort

            n = int(opts["shapes"].split(":")[1].split("x")[0])
            x = np.fromfile(opts["loadInputs"].split(":", 1)[1], dtype=np.float32).reshape(
                n, 1, 28, 28
            )
            sess = ort.InferenceSession(onnx, providers=["CPUExecutionProvider"])
            (y,) = sess.run(["logits"], {"input": x})
            Path(opts["exportOutput"]).write_text(
                json.dumps(
                    [
                        {
                            "name": "logits",
                            "dimensions": "x".join(map(str, y.shape)),
                            "values": y.ravel().tolist(),
                        }
                    ]
                )
            )
            print(f"&&&& PASSED {BANNER} # trtexec")
            return
        fixture = "trtexec_8.2_bench.txt" if MAJOR == 8 else "trtexec_10.3_bench.txt"
        sys.stdout.write((HERE / fixture).read_text().split("\n", 1)[1])
        return
    fail("Model missing or format not recognized")


if __name__ == "__main__":
    main()
