"""The documented device install (ONNX Runtime + OpenCV: no torch, no matplotlib, no onnx) runs
``verify`` and ``bench`` end to end, in a subprocess where those packages cannot be imported.

The packages are hidden by a ``sitecustomize`` shim on PYTHONPATH that sets
``sys.modules[name] = None`` (``import name`` then raises ImportError), the same way
tests/unit/test_device_imports.py blocks them, but for a whole command run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import List, Tuple

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "unit"))
from tiny_onnx import linear_onnx  # noqa: E402

pytestmark = pytest.mark.integration

HIDDEN = ("torch", "torchvision", "matplotlib", "onnx", "tensorrt", "pycuda")
SHIM = "import sys\nfor _name in {names!r}:\n    sys.modules[_name] = None\n"
LIMIT = "500"


@pytest.fixture
def device_env(mnist_env, tmp_path) -> dict:
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(SHIM.format(names=HIDDEN))
    env = dict(os.environ)
    env.update(PYTHONPATH=f"{shim}{os.pathsep}{REPO}", NO_COLOR="1", EDGEMNIST_DATA=str(mnist_env))
    env.pop("COLUMNS", None)
    return env


def edgemnist(env: dict, *args: str) -> Tuple[int, str, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "edgemnist", *args],
        env=env,
        cwd=str(REPO),
        capture_output=True,
        text=True,
        timeout=300,
    )
    return proc.returncode, proc.stdout, proc.stderr


def _lines(text: str) -> List[str]:
    return [ln for ln in text.splitlines() if ln.strip()]


def test_the_shim_really_hides_the_packages(device_env):
    code = "import importlib, sys\nfor n in sys.argv[1:]:\n    try:\n        importlib.import_module(n)\n        print('imported', n)\n    except ImportError:\n        pass\n"  # noqa: E501
    proc = subprocess.run(
        [sys.executable, "-c", code, *HIDDEN], env=device_env, capture_output=True, text=True
    )
    assert proc.returncode == 0 and proc.stdout == "", proc.stdout + proc.stderr


def test_verify_and_bench_agree_on_accuracy_on_a_device_install(device_env, tmp_path):
    model = tmp_path / "run" / "model.onnx"
    linear_onnx(model)
    rc, out, err = edgemnist(device_env, "verify", str(model), "--limit", LIMIT, "--json")
    assert rc == 0, err
    verified = json.loads(out)
    assert verified["images"] == int(LIMIT)
    assert 0.0 <= verified["accuracy"] <= 1.0  # a fraction, as everywhere

    rc, out, err = edgemnist(device_env, "bench", str(model), "--quick", "--limit", LIMIT, "--json")
    assert rc == 0, err
    doc = json.loads(out)  # stdout is the JSON alone
    (row,) = [r for r in doc["rows"] if r["status"] == "ok"]
    assert row["n_images"] == int(LIMIT)
    assert row["accuracy"] == verified["accuracy"]  # same value, same unit


def test_bench_prints_the_table_and_skips_plots_in_one_line_without_matplotlib(
    device_env, tmp_path
):
    model = tmp_path / "run" / "model.onnx"
    linear_onnx(model)
    out_dir = Path(device_env["EDGEMNIST_HOME"]) / "benchmarks"
    rc, out, err = edgemnist(
        device_env, "bench", str(model), "--quick", "--limit", LIMIT, "--plots"
    )
    assert rc == 0, err
    text = out + err
    skipped = [ln for ln in _lines(text) if "plots skipped" in ln]
    assert len(skipped) == 1 and "matplotlib" in skipped[0]
    assert "matplotlib is not installed" not in err.replace(skipped[0], "")
    assert out.index("edgemnist bench") < out.index("plots skipped")  # the table came first
    # not a terminal: the table is wide enough for full paths (no "model.…")
    assert "…" not in out
    written = sorted(p.suffix for p in out_dir.rglob("*.*"))
    assert written == [".csv", ".json", ".md"]


def test_bench_of_a_model_that_cannot_load_fails_after_printing(device_env, tmp_path):
    broken = tmp_path / "run" / "model.onnx"
    broken.parent.mkdir()
    broken.write_bytes(b"this is not an ONNX model")
    rc, out, err = edgemnist(device_env, "bench", str(broken), "--quick", "--limit", LIMIT)
    assert rc == 1
    assert "ONNX Runtime FP32" in out  # the table (with the error row) is printed first
    last = _lines(err)[-1]
    assert "failed to run" in last and "Traceback" not in err


def test_bench_compare_fails_on_a_regression(device_env, tmp_path):
    model = tmp_path / "run" / "model.onnx"
    linear_onnx(model)
    rc, out, err = edgemnist(device_env, "bench", str(model), "--quick", "--limit", LIMIT, "--json")
    assert rc == 0, err
    baseline = json.loads(out)
    for row in baseline["rows"]:
        if row["status"] == "ok":
            row["accuracy"] = min(1.0, row["accuracy"] + 0.05)  # the baseline was better
            # ... but far slower, so only the accuracy rule can fire on a noisy machine
            row["latency_us"] = {k: v * 100 for k, v in (row.get("latency_us") or {}).items()}
            for tp in row.get("throughput") or []:
                tp["images_per_s"] = tp["images_per_s"] / 100
    path = tmp_path / "baseline.json"
    path.write_text(json.dumps(baseline))
    rc, out, err = edgemnist(
        device_env, "bench", str(model), "--quick", "--limit", LIMIT, "--compare", str(path)
    )
    assert rc == 1
    assert "regression" in _lines(err)[-1] and "accuracy" in _lines(err)[-1]


def test_failed_build_engine_leaves_no_partial_artifact(device_env, tmp_path):
    """A model with the wrong input shape optimizes fine in ONNX Runtime and fails at its first
    inference: the failed build must not leave model.ort.onnx (or its manifest) behind."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.zeros((784, 10), np.float32), "W")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["input", "W"], ["logits"])],
        "flat-input",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 784])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])],
        [w],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    path = tmp_path / "run" / "model.onnx"
    path.parent.mkdir()
    onnx.save(model, str(path))
    rc, _out, err = edgemnist(device_env, "build-engine", str(path))
    assert rc == 1 and "shape" in err
    assert sorted(p.name for p in path.parent.iterdir()) == ["model.onnx"]


def test_bench_where_no_row_can_run_exits_non_zero(device_env, tmp_path):
    """A TensorRT engine on a machine without TensorRT: every row is unavailable, so there is
    nothing to recommend, and a CI gate must not pass."""
    engine = tmp_path / "run" / "model.engine"
    engine.parent.mkdir()
    engine.write_bytes(b"plan")
    env = dict(device_env, PATH="/usr/bin:/bin")  # no trtexec either
    env.pop("EDGEMNIST_TRTEXEC", None)
    rc, out, err = edgemnist(env, "bench", str(engine), "--quick", "--limit", LIMIT)
    assert rc == 1
    assert "unavailable" in out  # the table says why, row by row
    assert "no row ran" in _lines(err)[-1]
