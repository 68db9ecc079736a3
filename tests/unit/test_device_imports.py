"""The device side imports with no torch, tensorrt, OpenCV, ONNX Runtime, pycuda or matplotlib.

A Jetson or a Raspberry Pi has numpy + (tensorrt | onnxruntime) + OpenCV at most, and any of
them may be missing; ``edgemnist --help`` and every device module must still import. Heavy
packages are blocked in a fresh interpreter by setting ``sys.modules[name] = None`` (which
makes ``import name`` raise ImportError). A second interpreter imports the same modules with
everything installed and checks that none of them pulls a heavy package in at import time
(an import hidden in ``try: import torch except ImportError`` passes the first check only).

Device modules are found by walking the package; host packages are listed explicitly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "edgemnist"

#: packages that need torch by design (training, export, the model zoo)
HOST_PACKAGES = ("edgemnist.models", "edgemnist.training", "edgemnist.export")
#: device modules that live in a host package: ``edgemnist verify`` runs on a device install
DEVICE_IN_HOST = ("edgemnist.export", "edgemnist.export.verify")
#: not a library module: importing it runs the CLI
NOT_MODULES = ("edgemnist.__main__",)
#: what a device may lack (onnx too: the device install has onnxruntime without onnx)
HEAVY = ("torch", "tensorrt", "cv2", "onnxruntime", "pycuda", "matplotlib", "onnx")


def device_modules() -> List[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        name = ".".join(parts)
        host = any(name == p or name.startswith(p + ".") for p in HOST_PACKAGES)
        if (not host or name in DEVICE_IN_HOST) and name not in NOT_MODULES:
            names.append(name)
    return names


PROBE = r"""
import contextlib, importlib, io, json, sys, traceback
heavy, modules, block = json.loads(sys.argv[1])
if block:
    for name in heavy:
        sys.modules[name] = None
result = {"imports": {}, "pulled_in": {}, "help": None, "help_rc": None}
for name in modules:
    before = {h for h in heavy if sys.modules.get(h) is not None}
    try:
        importlib.import_module(name)
        result["imports"][name] = None
    except BaseException as exc:
        tb = traceback.extract_tb(exc.__traceback__)
        where = f" at {tb[-1].filename}:{tb[-1].lineno}" if tb else ""
        result["imports"][name] = f"{type(exc).__name__}: {exc}{where}"
    after = {h for h in heavy if sys.modules.get(h) is not None}
    result["pulled_in"][name] = sorted(after - before)
if block:
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            from edgemnist.cli.main import main
            result["help_rc"] = main(["--help"])
    except BaseException as exc:
        result["help_rc"] = f"{type(exc).__name__}: {exc}"
    result["help"] = out.getvalue()
print("RESULT " + json.dumps(result))
"""


def run_probe(block: bool) -> Dict:
    env = dict(os.environ, PYTHONPATH=str(REPO), COLUMNS="120", NO_COLOR="1")
    arg = json.dumps([HEAVY, device_modules(), block])
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, arg],
        cwd=str(REPO),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert lines, f"probe crashed (rc {proc.returncode}): {proc.stderr[-2000:]}"
    return json.loads(lines[-1][len("RESULT ") :])


@pytest.fixture(scope="module")
def blocked() -> Dict:
    return run_probe(block=True)


@pytest.fixture(scope="module")
def unblocked() -> Dict:
    return run_probe(block=False)


def test_the_walk_finds_the_device_side() -> None:
    names = device_modules()
    for expected in (
        "edgemnist.formats",
        "edgemnist.preprocess",
        "edgemnist.predict",
        "edgemnist.manifest",
        "edgemnist.runners.onnxruntime",
        "edgemnist.runners.open",
        "edgemnist.data.mnist",
        "edgemnist.cli.main",
        "edgemnist.cli.predict",
        "edgemnist.cli.live",
        "edgemnist.live.loop",
        "edgemnist.live.stats",
        "edgemnist.live.web",
        "edgemnist.live.jsonl",
        "edgemnist.live.draw",
        "edgemnist.live.record",
        "edgemnist.live.window",
        "edgemnist.live.sources",
        "edgemnist.live.capture",
        "edgemnist.live.gst",
        "edgemnist.live.probe",
        "edgemnist.live.synthetic",
        "edgemnist.live.detect",
        "edgemnist.live.read",
        "edgemnist.live.track",
        "edgemnist.live.evaluate",
    ):
        assert expected in names
    assert "edgemnist.export.verify" in names and "edgemnist.scoring" in names
    assert not [n for n in names if n.startswith(HOST_PACKAGES) and n not in DEVICE_IN_HOST]


@pytest.mark.parametrize("module", device_modules())
def test_imports_without_heavy_packages(blocked: Dict, module: str) -> None:
    assert blocked["imports"][module] is None, blocked["imports"][module]


@pytest.mark.parametrize("module", device_modules())
def test_import_pulls_in_no_heavy_package(unblocked: Dict, module: str) -> None:
    assert unblocked["imports"][module] is None, unblocked["imports"][module]
    assert unblocked["pulled_in"][module] == [], (
        f"importing {module} imported {unblocked['pulled_in'][module]} at module level: "
        "import them inside the functions that use them"
    )


def test_help_works_without_heavy_packages(blocked: Dict) -> None:
    assert blocked["help_rc"] == 0, blocked["help_rc"]
    assert "Usage" in blocked["help"] and "predict" in blocked["help"]
