"""The package runs on Python 3.8: a Jetson Nano's venv (jetson/setup-nano.sh) and JetPack 5's
system Python are 3.8, while development and CI run a newer Python. vermin checks every
module's syntax and standard-library use against 3.8 (annotations are not evaluated: every
module has ``from __future__ import annotations``; typer evaluates only command signatures,
which use ``typing`` generics)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "edgemnist"


def test_the_package_needs_no_python_newer_than_3_8():
    exe = shutil.which("vermin") or str(Path(sys.executable).with_name("vermin"))
    if not Path(exe).is_file():
        pytest.skip("vermin not installed (pip install -e '.[dev]')")
    proc = subprocess.run(
        [exe, "-t=3.8-", "--no-tips", "--violations", "--no-parse-comments",
         "--backport", "dataclasses", "--backport", "typing", str(PACKAGE)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "Minimum required versions: 3.8" in proc.stdout


def test_every_module_defers_its_annotations():
    """``X | None`` and ``list[int]`` in annotations are fine on 3.8 only as strings."""
    missing = [
        str(p.relative_to(PACKAGE.parent))
        for p in sorted(PACKAGE.rglob("*.py"))
        if p.stat().st_size
        and "from __future__ import annotations" not in p.read_text()
        and (" | None" in p.read_text() or "list[" in p.read_text())
    ]
    assert not missing, missing
