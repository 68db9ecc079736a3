"""PyTorch runner: the FP32 reference (a checkpoint) and the PyTorch INT8 model.

- ``precision="fp32"``: rebuilds the model from an edgemnist checkpoint
  (:func:`edgemnist.training.checkpoint.model_from_checkpoint`, ``weights_only=True``).
- ``precision="int8"``: loads ``model.torch-int8.pt``, a TorchScript archive of the converted
  eager-mode model (see :mod:`edgemnist.export.torch_int8`): it needs no recipe and no model code.
  The quantized engine (x86/fbgemm or qnnpack) is the one recorded in its manifest when this
  torch supports it, else the platform's default.
- ``precision=None`` (what ``open_runner`` passes): INT8 if the manifest says ``torch-int8`` or
  the name ends in ``.torch-int8.pt``, else FP32.

torch is imported in :meth:`TorchRunner._load`, never at module top (device-side rule).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Optional, Tuple, Union

import numpy as np

from edgemnist.errors import ArtifactError, ConfigError, DependencyMissing
from edgemnist.runners.base import Runner, module_available

PRECISIONS = ("fp32", "int8")


class TorchRunner(Runner):
    """Run a checkpoint (FP32) or a PyTorch INT8 model on the CPU.

    Args:
        path: ``model.pt`` (checkpoint) or ``model.torch-int8.pt``.
        precision: "fp32", "int8" or None (decide from the manifest / file name).
        threads: torch intra-op threads (``torch.set_num_threads`` is process-wide; None leaves
            torch's setting alone).

    Example:
        >>> r = TorchRunner("engines/edge/model.torch-int8.pt", "int8", threads=1)
        >>> with r:  # doctest: +SKIP
        ...     logits = r.infer(x)
    """

    name: ClassVar[str] = "torch"

    def __init__(
        self,
        path: Union[str, Path],
        precision: Optional[str] = None,
        threads: Optional[int] = None,
    ) -> None:
        if precision is not None and precision not in PRECISIONS:
            raise ConfigError(f"torch runner precision {precision!r}: choose fp32 or int8")
        if threads is not None and int(threads) < 1:
            raise ConfigError(f"threads must be >= 1, got {threads}")
        super().__init__(Path(path), precision=precision, threads=threads)
        self.precision = precision
        self.threads = threads
        self._model: Any = None
        self._torch: Any = None

    @classmethod
    def available(cls) -> Tuple[bool, str]:
        return module_available("torch")

    def _resolve_precision(self, manifest: Optional[dict]) -> str:
        if self.precision is not None:
            return self.precision
        if manifest and manifest.get("format") == "torch-int8":
            return "int8"
        return "int8" if Path(self.path).name.lower().endswith(".torch-int8.pt") else "fp32"

    def _load(self) -> None:
        from edgemnist.manifest import check_artifact_hash, read_manifest

        path = Path(self.path)
        if not path.is_file():
            raise ArtifactError(f"{path} not found")
        try:
            import torch
        except ImportError:
            raise DependencyMissing("torch", extra="host", purpose="PyTorch models") from None
        manifest = read_manifest(path, required=False)
        precision = self._resolve_precision(manifest)
        if self.threads is not None:
            torch.set_num_threads(int(self.threads))
        engine = None
        if precision == "fp32":
            from edgemnist.training.checkpoint import model_from_checkpoint

            model = model_from_checkpoint(path)
        else:
            if manifest is not None:
                check_artifact_hash(path, manifest)
            from edgemnist.export.torch_int8 import select_engine

            engine = select_engine((manifest or {}).get("quantization", {}).get("engine"))
            torch.backends.quantized.engine = engine
            from edgemnist.export.torch_int8 import load_int8

            try:  # TorchScript (eager INT8) or a torch.export archive (PT2E INT8)
                model = load_int8(path)
            except Exception as exc:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise ArtifactError(
                    f"{path}: not a PyTorch INT8 model ({first[:160]}): make one with "
                    "`edgemnist quantize CHECKPOINT --backend torch`"
                ) from None
        self._model = model
        self._torch = torch
        self.info.update(
            {
                "backend": self.name,
                "file": str(path),
                "format": "torch-int8" if precision == "int8" else "torch",
                "precision": precision,
                "threads": torch.get_num_threads(),
                "torch": torch.__version__,
                "quantized_engine": engine,
            }
        )

    def _infer(self, x: np.ndarray) -> np.ndarray:
        torch = self._torch
        if self.info.get("precision") == "int8":
            from edgemnist.export.torch_int8 import quantized_kernels_allowed

            with quantized_kernels_allowed(), torch.inference_mode():
                return self._model(torch.from_numpy(x)).float().numpy()
        with torch.inference_mode():
            return self._model(torch.from_numpy(x)).float().numpy()

    def _close(self) -> None:
        self._model = None
