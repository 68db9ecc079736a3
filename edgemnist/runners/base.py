"""The one inference protocol every backend implements (after NVIDIA Polygraphy's runners).

- cheap constructor (stores paths/options); :meth:`Runner.load` does the work; :meth:`close`
  frees it; usable as a context manager;
- :meth:`Runner.infer` validates input ``(N, 1, 28, 28)`` float32 and state, times only the
  backend call (``last_latency_s``), calls the subclass's ``_infer`` and returns ``(N, 10)``
  float32 logits as a fresh array (never a reused buffer);
- :meth:`Runner.available` says whether the backend can run here and never raises.
"""

from __future__ import annotations

import importlib
import time
from typing import Any, ClassVar, Dict, Optional, Tuple

import numpy as np

from edgemnist.constants import INPUT_SHAPE, NUM_CLASSES
from edgemnist.errors import InputError


class Runner:
    """Base class. Subclasses set ``name`` and implement ``_load``, ``_infer``, ``_close``."""

    #: backend name as used on the command line and in reports (e.g. "onnxruntime")
    name: ClassVar[str] = "base"

    def __init__(self, path: Any = None, **options: Any) -> None:
        self.path = path
        self.options: Dict[str, Any] = dict(options)
        self.loaded = False
        self.last_latency_s: float = float("nan")
        #: facts about the loaded backend for reports (provider, precision, versions, ...)
        self.info: Dict[str, Any] = {}
        #: why this runner stands in for the backend asked for (set by ``open_runner``), or None
        self.fallback_reason: Optional[str] = None

    # -- protocol ---------------------------------------------------------------------------
    @classmethod
    def available(cls) -> Tuple[bool, str]:
        """``(True, "")`` if this backend can run here, else ``(False, reason)``. Never raises."""
        return True, ""

    def load(self) -> Runner:
        """Load the model; idempotent. Returns ``self`` so ``runner = R(p).load()`` works."""
        if not self.loaded:
            self._load()
            self.loaded = True
            # kept across loads even when ``_load`` replaces ``info``
            self.info.setdefault("backend", self.name)
            if self.fallback_reason:
                self.info["fallback_reason"] = self.fallback_reason
        return self

    def infer(self, x: np.ndarray) -> np.ndarray:
        """Run a batch ``(N, 1, 28, 28)`` float32 (normalized) and return ``(N, 10)`` logits."""
        if not self.loaded:
            raise InputError(f"{self.name} runner: call load() before infer()")
        x = validate_input(x)
        t0 = time.perf_counter()
        out = self._infer(x)
        self.last_latency_s = time.perf_counter() - t0
        out = np.array(out, dtype=np.float32, copy=True).reshape(x.shape[0], -1)
        if out.shape[1] != NUM_CLASSES:
            raise InputError(f"{self.name} runner: model returned {out.shape[1]} outputs, not 10")
        return out

    def close(self) -> None:
        """Free the backend's resources; safe to call twice."""
        if self.loaded:
            self._close()
            self.loaded = False

    def __enter__(self) -> Runner:
        return self.load()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.path!r})"

    # -- to implement ------------------------------------------------------------------------
    def _load(self) -> None:
        raise NotImplementedError

    def _infer(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _close(self) -> None:
        pass


def validate_input(x: Any, max_batch: Optional[int] = None) -> np.ndarray:
    """Return ``x`` as a C-contiguous float32 array of shape ``(N, 1, 28, 28)``.

    Raises:
        InputError: wrong type, dtype or shape (the message says the expected layout).
    """
    if not isinstance(x, np.ndarray):
        raise InputError(f"input must be a numpy array, got {type(x).__name__}")
    if x.dtype != np.float32:
        raise InputError(
            f"input dtype is {x.dtype}, expected float32 (normalize uint8 images with "
            "edgemnist.constants.normalize)"
        )
    if x.ndim != 4 or tuple(x.shape[1:]) != INPUT_SHAPE or x.shape[0] < 1:
        raise InputError(f"input shape is {tuple(x.shape)}, expected (N, 1, 28, 28)")
    if max_batch is not None and x.shape[0] > max_batch:
        raise InputError(f"batch {x.shape[0]} exceeds this engine's maximum batch {max_batch}")
    return np.ascontiguousarray(x)


def module_available(module: str) -> Tuple[bool, str]:
    """Whether the Python package ``module`` imports here, for :meth:`Runner.available`.

    Args:
        module: the importable name (``"onnxruntime"``, ``"torch"``).

    Returns:
        ``(True, "<module> <version>")``, or ``(False, reason)``; never raises.
    """
    try:
        mod = importlib.import_module(module)
        return True, f"{module} {mod.__version__}"
    except Exception as exc:  # a broken install must not crash a report
        return False, f"{module} cannot be imported ({type(exc).__name__}: {exc})"
