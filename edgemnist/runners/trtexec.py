"""trtexec runner: NVIDIA's own tool in a subprocess, for its timings (and, slowly, logits).

:meth:`TrtexecRunner.bench` runs ``trtexec --loadEngine=...`` and parses its performance
summary (7.x blocks, 8.0 -> 11.x summaries) into our result schema: the numbers NVIDIA's tool
reports, next to ours; figures it did not print are listed as missing, never zeros.
:meth:`infer` works too (``--loadInputs`` / ``--exportOutput``), one process per call, so it is
for checking outputs, never for timing.

Verified here with a strict fake trtexec executable (tests/unit/data/trtexec/fake_trtexec.py:
each release's option set, stdout/stderr split, summary formats) and real public trtexec outputs
(tests/unit/data/trtexec/*.txt). Not verified without hardware: a run of real trtexec.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any, ClassVar, Dict, Optional, Sequence, Tuple

import numpy as np

from edgemnist.errors import ArtifactError, BackendUnavailable
from edgemnist.runners.base import Runner


class TrtexecRunner(Runner):
    """Run/time a TensorRT engine with trtexec.

    Args:
        path: the engine.
        trtexec: path of trtexec (default: :func:`edgemnist.engine.trtexec_cmd.find_trtexec`).
        timeout_s: limit for one trtexec process.
    """

    name: ClassVar[str] = "trtexec"

    def __init__(
        self, path: Any, trtexec: Optional[Path] = None, timeout_s: float = 600, **options: Any
    ) -> None:
        super().__init__(Path(path), **options)
        self.trtexec = Path(trtexec) if trtexec else None
        self.timeout_s = timeout_s
        self.version = ""

    @classmethod
    def available(cls) -> Tuple[bool, str]:
        try:
            from edgemnist.engine.trtexec_cmd import find_trtexec

            exe = find_trtexec()
        except Exception as exc:
            return False, f"cannot search for trtexec ({exc})"
        if exe is None:
            return False, "trtexec not found on PATH or at /usr/src/tensorrt/bin/trtexec"
        return True, str(exe)

    def _load(self) -> None:
        from edgemnist.engine.build import trtexec_version
        from edgemnist.engine.trtexec_cmd import find_trtexec

        exe = self.trtexec or find_trtexec()
        if exe is None:
            raise BackendUnavailable(
                "trtexec not found on PATH or at /usr/src/tensorrt/bin/trtexec: install "
                "TensorRT or set EDGEMNIST_TRTEXEC"
            )
        path: Path = self.path
        if not path.is_file() or path.stat().st_size == 0:
            raise ArtifactError(f"{path}: engine not found or empty: run edgemnist build-engine")
        self.trtexec = exe
        self.version = trtexec_version(exe)
        self.info = {"trtexec": str(exe), "tensorrt": self.version}

    def _run(self, cmd: Sequence[str]) -> str:
        try:
            # trtexec writes [W]/[E] lines (the summary's warnings among them) to stderr and the
            # rest to stdout (samples/common/logging.h): one pipe keeps them in order
            proc = subprocess.run(
                list(cmd),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=self.timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise BackendUnavailable(
                f"trtexec ran past {self.timeout_s:g} s: try a shorter --duration"
            ) from None
        out = proc.stdout or ""
        if proc.returncode != 0:
            errors = [ln for ln in out.splitlines() if "[E]" in ln]
            last = errors[-1].strip() if errors else f"exit code {proc.returncode}"
            raise BackendUnavailable(f"trtexec failed: {last}")
        return out

    def bench(
        self,
        batch: int = 1,
        warmup_ms: int = 500,
        duration_s: float = 3.0,
        iterations: Optional[int] = None,
        percentiles: Sequence[int] = (50, 90, 99),
        cuda_graph: bool = False,
    ) -> Dict[str, Any]:
        """trtexec's own timing of the engine, parsed.

        Returns:
            :func:`~edgemnist.engine.trtexec_cmd.parse_performance_summary`'s dict plus
            ``"command"`` and ``"batch"``. Before TensorRT 8.5 trtexec reports one percentile
            (the largest asked for) plus the median (as p50): the others are listed in
            ``"missing"``, never reported as zeros.
        """
        from edgemnist.engine.trtexec_cmd import (
            BenchSpec,
            bench_command,
            parse_performance_summary,
        )

        self.load()
        assert self.trtexec is not None
        spec = BenchSpec(
            self.path, batch=batch, warmup_ms=warmup_ms, duration_s=duration_s,
            iterations=iterations, percentiles=percentiles, cuda_graph=cuda_graph,
        )  # fmt: skip
        cmd = bench_command(self.trtexec, self.version, spec)
        out = self._run(cmd)
        # every percentile asked for: those this version could not print are listed as missing
        result = parse_performance_summary(out, percentiles=percentiles)
        result["command"] = cmd
        result["batch"] = batch
        return result

    def _infer(self, x: np.ndarray) -> np.ndarray:
        from edgemnist.engine.trtexec_cmd import shapes_arg

        assert self.trtexec is not None
        with tempfile.TemporaryDirectory(prefix="edgemnist-trtexec-") as tmp:
            inp, out = Path(tmp) / "input.bin", Path(tmp) / "output.json"
            np.ascontiguousarray(x, dtype=np.float32).tofile(inp)
            cmd = [
                str(self.trtexec),
                f"--loadEngine={self.path}",
                f"--shapes={shapes_arg('input', x.shape[0])}",
                f"--loadInputs=input:{inp}",
                f"--exportOutput={out}",
                "--iterations=1",
                "--warmUp=0",
                "--duration=0",
            ]
            self._run(cmd)
            try:
                tensors = json.loads(out.read_text())
                logits = next(t for t in tensors if t.get("name") == "logits")
            except (OSError, ValueError, StopIteration):
                raise BackendUnavailable("trtexec wrote no 'logits' output") from None
            return np.asarray(logits["values"], dtype=np.float32).reshape(x.shape[0], -1)
