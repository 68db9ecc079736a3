"""On a real board: the provisioning script's --dry-run against the real root (read-only: it
prints what it would run and changes nothing). Skipped elsewhere; none of these has run on a
board yet (jetson/README.md). On the board: ``pytest -s tests/hardware/test_provisioning_hw.py``
(every test under tests/hardware/ is in the hardware tier, see tests/conftest.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

JETSON = Path(__file__).resolve().parents[2] / "jetson"


def _model() -> str:
    try:
        return Path("/proc/device-tree/model").read_bytes().replace(b"\0", b"").decode()
    except OSError:
        return ""


def _l4t_major() -> str:
    try:
        return Path("/etc/nv_tegra_release").read_text().split()[1].lstrip("R")
    except (OSError, IndexError):
        return ""


def _script() -> str:
    if _l4t_major() == "32":
        return "setup-nano.sh"
    if _l4t_major() in ("35", "36"):
        return "setup-orin.sh"
    if "Raspberry Pi" in _model():
        return "setup-pi.sh"
    return ""


def test_the_boards_own_script_dry_runs_on_the_real_root(tmp_path):
    script = _script()
    if not script:
        pytest.skip("not a Jetson (L4T r32/r35/r36) or a Raspberry Pi")
    wheel = tmp_path / "edgemnist-0.1.0-py3-none-any.whl"
    wheel.write_bytes(b"")  # the dry run only names it
    proc = subprocess.run(
        ["bash", str(JETSON / script), "--dry-run", "--wheel", str(wheel),
         "--venv", str(tmp_path / "venv")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "dry run: nothing is changed" in proc.stdout
    assert not (tmp_path / "venv").exists()
    print(proc.stdout)  # the plan for this board, for the person running the test


def test_bench_mode_dry_runs_on_the_real_root():
    if not _script():
        pytest.skip("not a Jetson or a Raspberry Pi")
    proc = subprocess.run(
        ["bash", str(JETSON / "bench-mode.sh"), "--dry-run"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    print(proc.stdout)
