"""The CI template (.github/workflows/bench-regression.yml) does what its README section says:
its own shell steps, run here with the installed `edgemnist`, write a baseline, pass against it,
and fail (exit 1, the regression named) against a baseline with better accuracy."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict

import pytest

from edgemnist.cli.main import main

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = (REPO / ".github" / "workflows" / "bench-regression.yml").read_text()

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),  # torch's legacy ONNX exporter
]


def _env_block() -> Dict[str, str]:
    block = WORKFLOW.split("\nenv:\n", 1)[1].split("\n\n", 1)[0]
    return dict(re.findall(r'^  ([A-Z_]+): "([^"]*)"', block, flags=re.M))


def _step_script(name: str) -> str:
    """The ``run: |`` script of the step called ``name``."""
    lines = WORKFLOW.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.strip() == f"- name: {name}")
    run = next(i for i in range(start, len(lines)) if lines[i].strip() == "run: |")
    indent = len(lines[run + 1]) - len(lines[run + 1].lstrip())
    body = []
    for ln in lines[run + 1 :]:
        if ln.strip() and len(ln) - len(ln.lstrip()) < indent:
            break
        body.append(ln[indent:])
    return "\n".join(body).strip() + "\n"


def _run_step(name: str, cwd: Path, env: Dict[str, str]) -> subprocess.CompletedProcess:
    # the edgemnist console script of this interpreter's environment, first on PATH
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return subprocess.run(
        ["bash", "-eo", "pipefail", "-c", _step_script(name)],
        cwd=str(cwd),
        env={**os.environ, **env, "PATH": path},
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture
def repo_with_models(tiny_checkpoint, mnist_env, tmp_path) -> Path:
    """A user's repository as the template expects it: models/ with two exported models."""
    models = tmp_path / "models"
    models.mkdir()
    fp32 = models / "model.onnx"
    common = ["--limit", "500", "--threads", "1"]
    assert main(["export", str(tiny_checkpoint), "--out", str(fp32), *common]) == 0
    quant = ["--calib-size", "100", "--gate", "5", *common]
    assert main(["quantize", str(fp32), *quant]) == 0
    assert (models / "model.int8.onnx").is_file()
    return tmp_path


def test_template_writes_a_baseline_then_gates_on_it(repo_with_models, capsys):
    capsys.readouterr()
    env = _env_block()
    assert set(env) >= {"MODELS", "BASELINE", "MAX_REGRESS"}

    wrote = _run_step(
        "Write a new baseline (commit it as ci/bench-baseline.json)", repo_with_models, env
    )
    assert wrote.returncode == 0, wrote.stdout[-2000:] + wrote.stderr[-2000:]
    baseline = repo_with_models / env["BASELINE"]
    baseline.parent.mkdir(parents=True)
    shutil.copy(repo_with_models / "ci-baseline" / "bench-baseline.json", baseline)

    same = _run_step("Compare against the committed baseline", repo_with_models, env)
    # latency on a shared machine may move past the template's allowance: only accuracy is
    # deterministic, so a latency-only regression is accepted here, any other outcome is not
    if same.returncode != 0:
        assert "regression" in same.stderr and "accuracy" not in same.stderr, same.stderr[-2000:]

    doc = json.loads(baseline.read_text())
    ran = [row for row in doc["rows"] if row.get("accuracy") is not None]
    assert ran
    for row in ran:
        row["accuracy"] = min(1.0, row["accuracy"] + 0.01)  # the baseline was a point better
    baseline.write_text(json.dumps(doc))
    worse = _run_step("Compare against the committed baseline", repo_with_models, env)
    assert worse.returncode == 1, worse.stdout[-2000:] + worse.stderr[-2000:]
    assert "regression" in worse.stderr and "accuracy" in worse.stderr
