"""The device install from the wheel, as a board gets it: `make dist`'s wheel into a fresh venv
with ``[ort,cv]`` and nothing else, then the device commands on a model exported on the host.

Checks: no torch in that venv (the device side must not need it); the recipes ship inside the
wheel; ``build-engine`` (ONNX Runtime fallback), ``bench``, ``predict`` and ``live
synthetic://`` run from the installed console script. Packages come through pip's own
configuration (a local mirror or PyPI); wheels only, never a source build.

Select with ``-m wheel``; about a minute, most of it pip.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path
from typing import Dict, List

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.integration, pytest.mark.wheel]


def _run(argv: List[str], env: Dict[str, str], timeout: float = 300, **kw) -> str:
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout, **kw)
    assert proc.returncode == 0, f"{argv}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel `make dist` builds (the same command, into a temporary folder)."""
    if importlib.util.find_spec("build") is None:
        pytest.skip("the 'build' package is missing: pip install -e '.[dev]' (make setup does)")
    # from a copy of what goes into the wheel: setuptools' build/ folder in the checkout may
    # hold modules deleted since (they would land in the wheel) and is shared with `make dist`
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    shutil.copytree(REPO / "edgemnist", src / "edgemnist",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))  # fmt: skip
    out = tmp_path_factory.mktemp("dist")
    _run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), "."],
        dict(os.environ),
        cwd=src,
    )
    (whl,) = out.glob("edgemnist-*-py3-none-any.whl")
    return whl


@pytest.fixture(scope="module")
def device(wheel, tmp_path_factory, mnist_dir) -> Dict:
    """A fresh venv (no system site packages) with ``edgemnist[ort,cv]`` from the wheel."""
    root = tmp_path_factory.mktemp("device")
    venv.create(root / "venv", with_pip=True, symlinks=True)
    py = root / "venv" / "bin" / "python"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTHON", "VIRTUAL_ENV", "EDGEMNIST_"))
    }
    env.update(
        EDGEMNIST_HOME=str(root / "home"),
        EDGEMNIST_DATA=str(mnist_dir),
        PATH=f"{py.parent}{os.pathsep}{env.get('PATH', '')}",
    )
    _run(
        [str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check",
         "--only-binary=:all:", f"edgemnist[ort,cv] @ {wheel.as_uri()}"],
        env,
        timeout=600,
    )  # fmt: skip
    return {"py": py, "exe": py.parent / "edgemnist", "env": env, "root": root}


@pytest.fixture(scope="module")
def exported(tiny_checkpoint, mnist_dir, tmp_path_factory) -> Path:
    """The host side: ``edgemnist export`` of a small trained LeNet-5, in this (host) venv."""
    run = tmp_path_factory.mktemp("host")
    ckpt = run / "model.pt"
    ckpt.write_bytes(tiny_checkpoint.read_bytes())
    env = dict(os.environ, EDGEMNIST_DATA=str(mnist_dir))
    _run([sys.executable, "-m", "edgemnist", "export", str(ckpt), "--limit", "2000"], env)
    onnx = run / "model.onnx"
    assert onnx.is_file() and (run / "model.onnx.json").is_file()
    return onnx


def test_the_device_venv_has_no_torch_and_the_recipes(device):
    code = (
        "import importlib.util, json\n"
        "from edgemnist.training.recipe import find_recipe\n"
        "print(json.dumps({'torch': importlib.util.find_spec('torch') is not None,\n"
        "                  'edge': str(find_recipe('edge')),\n"
        "                  'old': str(find_recipe('train/edge-fast.toml'))}))"
    )
    got = json.loads(_run([str(device["py"]), "-c", code], device["env"], cwd=device["root"]))
    assert got["torch"] is False
    site = str(device["root"] / "venv" / "lib")
    assert got["edge"].startswith(site) and got["edge"].endswith("edgemnist/recipes/edge.toml")
    assert got["old"].endswith("edgemnist/recipes/edge-fast.toml")
    _run([str(device["exe"]), "--help"], device["env"])


def test_build_engine_bench_predict_from_the_wheel(device, exported, mnist_dir, tmp_path):
    env, exe = device["env"], str(device["exe"])
    report = json.loads(
        _run([exe, "build-engine", str(exported), "--out-dir", str(tmp_path / "e"), "--json"], env)
    )
    assert report["backend"] == "onnxruntime" and "TensorRT" in report["fallback_reason"]
    assert Path(report["artifact"]).is_file()

    out = tmp_path / "bench"
    _run(
        [exe, "bench", str(exported), "--quick", "--out", str(out), "--no-plots", "--json"],
        env,
    )
    (result,) = out.glob("*.json")
    doc = json.loads(result.read_text())
    rows = {r["backend"]: r for r in doc["rows"]}
    assert rows["onnxruntime"]["status"] == "ok" and rows["onnxruntime"]["accuracy"] > 0.8
    assert doc["environment"]["versions"]["torch"] is None

    import numpy as np

    from edgemnist.data.mnist import load_split

    images, labels = load_split("test", root=mnist_dir)
    photo = tmp_path / "digit.png"
    import cv2  # host side: write one test digit as a dark-on-light photo

    cv2.imwrite(str(photo), cv2.resize(255 - images[0], (112, 112)).astype(np.uint8))
    got = json.loads(_run([exe, "predict", str(exported), str(photo), "--json"], env))
    (pred,) = got["predictions"]
    assert pred["error"] is None and pred["digit"] == int(labels[0])


def test_live_synthetic_from_the_wheel(device, exported):
    env, exe = device["env"], str(device["exe"])
    if not (REPO / "edgemnist" / "live" / "loop.py").is_file():
        pytest.skip("edgemnist live is not in this checkout yet (edgemnist/live/loop.py)")
    summary = json.loads(
        _run(
            [exe, "live", "synthetic://?digits=1-3&seed=1&fps=60", str(exported),
             "--frames", "20", "--json"],
            env,
            timeout=120,
        )
    )  # fmt: skip
    assert summary["stopped_by"] == "frames"  # it ran its 20 frames and stopped by itself
    assert "onnxruntime" in json.dumps(summary["runner"])
