"""Checkpoints: one dict that rebuilds its model with nothing else.

Keys: ``format`` ("edgemnist-checkpoint"), ``schema``, ``model`` ({"name", "args"}),
``state_dict``, ``recipe`` (the resolved recipe dict), ``metrics`` (at least
``test_accuracy`` once evaluated), ``versions``, ``created_at``; a resumable checkpoint also
holds ``train_state`` (epoch, optimizer, scheduler, RNG states, history).

Schema history: 1 kept accuracies in percent; 2 keeps them as fractions, like every rate in
edgemnist (:mod:`edgemnist.scoring`). Schema-1 checkpoints are converted when loaded.
Everything is plain containers + tensors, so ``torch.load(weights_only=True)`` reads it.
"""

from __future__ import annotations

import datetime as _dt
import platform
from pathlib import Path
from typing import Any, Dict, Optional

from edgemnist import __version__
from edgemnist.atomic import atomic_path
from edgemnist.errors import CheckpointError

FORMAT = "edgemnist-checkpoint"
SCHEMA = 2


def versions() -> Dict[str, str]:
    """Tool versions recorded in checkpoints and manifests."""
    import torch

    return {
        "edgemnist": __version__,
        "torch": str(torch.__version__),  # TorchVersion would not load with weights_only
        "python": platform.python_version(),
    }


def make_checkpoint(
    model: Any,
    model_name: str,
    model_args: Dict[str, Any],
    recipe: Optional[Dict[str, Any]] = None,
    metrics: Optional[Dict[str, Any]] = None,
    train_state: Optional[Dict[str, Any]] = None,
) -> Dict[str, Any]:
    """Assemble the checkpoint dict for ``model``."""
    ckpt: Dict[str, Any] = {
        "format": FORMAT,
        "schema": SCHEMA,
        "model": {"name": model_name, "args": dict(model_args)},
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "recipe": recipe or {},
        "metrics": metrics or {},
        "versions": versions(),
        "created_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    if train_state is not None:
        ckpt["train_state"] = train_state
    return ckpt


def save_checkpoint(ckpt: Dict[str, Any], path: Path) -> Path:
    """Write ``ckpt`` atomically to ``path``."""
    import torch

    with atomic_path(path, suffix=".pt") as tmp:
        torch.save(ckpt, tmp)
    return Path(path)


def load_checkpoint(path: Path) -> Dict[str, Any]:
    """Read and validate a checkpoint (``weights_only=True``: no code runs from the file).

    Raises:
        CheckpointError: missing, unreadable, not an edgemnist checkpoint, or unknown model.
    """
    import torch

    from edgemnist.models import REGISTRY

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} not found")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 (pickle, zip and IO errors all mean unreadable)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(
            f"cannot read checkpoint {path}: {type(exc).__name__}: {first[:200]} (is it a file "
            "written by `edgemnist train`?)"
        ) from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an edgemnist checkpoint (no 'format' key)")
    schema = ckpt.get("schema", 1)
    if not isinstance(schema, int) or schema > SCHEMA:
        raise CheckpointError(
            f"{path}: checkpoint schema {schema!r} is newer than this edgemnist reads ({SCHEMA}): "
            "upgrade edgemnist"
        )
    if schema < 2:
        _percent_to_fractions(ckpt)
    name = ckpt.get("model", {}).get("name")
    if name not in REGISTRY:
        raise CheckpointError(
            f"{path}: unknown model {name!r} (known: {', '.join(sorted(REGISTRY))}); "
            "was it written by a newer edgemnist?"
        )
    return ckpt


def _percent_to_fractions(ckpt: Dict[str, Any]) -> None:
    """Schema 1 -> 2 in place: accuracies in percent become fractions."""

    def scale(d: Any, keys: Any) -> None:
        for key in keys:
            if isinstance(d, dict) and isinstance(d.get(key), (int, float)):
                d[key] = round(d[key] / 100.0, 6)

    scale(ckpt.get("metrics"), ("test_accuracy",))
    history = (ckpt.get("train_state") or {}).get("history") or []
    for row in history:
        scale(row, ("train_acc", "test_acc"))
    ckpt["schema"] = SCHEMA


def model_from_checkpoint(ckpt_or_path: Any) -> Any:
    """Rebuild the model from a checkpoint dict or path, weights loaded, in eval mode."""
    from edgemnist.models import build_model

    ckpt = ckpt_or_path if isinstance(ckpt_or_path, dict) else load_checkpoint(ckpt_or_path)
    model = build_model(ckpt["model"]["name"], **ckpt["model"]["args"])
    try:
        model.load_state_dict(ckpt["state_dict"])
    except RuntimeError as exc:
        raise CheckpointError(f"checkpoint weights do not fit model: {str(exc)[:200]}") from None
    return model.eval()
