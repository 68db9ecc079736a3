"""Shared by the ``edgemnist live`` integration tests: a small real model, and a running
``edgemnist live`` subprocess whose stderr is read line by line (to find the web view's URL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional

import pytest

REPO = Path(__file__).resolve().parents[2]


def export_live_model(checkpoint: Path, mnist_dir: Path, out_dir: Path) -> Path:
    """The conftest's tiny LeNet-5 checkpoint (~95 %) exported to ONNX with its manifest."""
    from edgemnist.export.onnx_export import export_onnx

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EDGEMNIST_DATA", str(mnist_dir))
        result = export_onnx(checkpoint, out_dir / "model.onnx", threads=1, limit=500, force=True)
    return Path(result.path)


def live_env(mnist_dir: Path) -> Dict[str, str]:
    """The environment of a ``live`` child: MNIST for ``synthetic://``, no colours, wide lines."""
    env = dict(os.environ)
    env.update(
        EDGEMNIST_DATA=str(mnist_dir),
        PYTHONPATH=str(REPO),
        NO_COLOR="1",
        COLUMNS="200",
        PYTHONUNBUFFERED="1",
    )
    env.pop("DISPLAY", None)  # never open a window in a test
    env.pop("WAYLAND_DISPLAY", None)
    return env


class LiveProcess:
    """``python -m edgemnist live ARGS`` in the background, stderr collected as it comes."""

    def __init__(self, args: List[str], mnist_dir: Path, cwd: Optional[Path] = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "edgemnist", "live", *args],
            env=live_env(mnist_dir),
            cwd=str(cwd or REPO),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.err_lines: List[str] = []
        self._out: List[str] = []
        # both pipes are drained by threads (never by communicate(), which would race them)
        self._readers = [
            threading.Thread(target=self._read_stderr, daemon=True),
            threading.Thread(target=self._read_stdout, daemon=True),
        ]
        for t in self._readers:
            t.start()
        self.stdout = ""

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.err_lines.append(line.rstrip("\n"))

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        self._out.append(self.proc.stdout.read())

    def wait(self, timeout: float) -> int:
        """Wait for the exit (kill it after ``timeout`` s and fail); collect stdout."""
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"live did not exit within {timeout} s: {self.stderr[-2000:]}")
        finally:
            for t in self._readers:
                t.join(10)
            self.stdout = "".join(self._out)
        return self.proc.returncode

    def wait_for_line(self, prefix: str, timeout: float = 90.0) -> str:
        """The first stderr line starting with ``prefix`` (fails if the child exits first)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for line in list(self.err_lines):
                if line.startswith(prefix):
                    return line
            if self.proc.poll() is not None:
                self._readers[0].join(2)
                break
            time.sleep(0.05)
        pytest.fail(f"no line {prefix!r} from live (rc {self.proc.poll()}): {self.stderr[-3000:]}")

    @property
    def stderr(self) -> str:
        return "\n".join(self.err_lines)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int:
        """Send ``sig``, wait for the exit, collect stdout; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.wait(timeout)
