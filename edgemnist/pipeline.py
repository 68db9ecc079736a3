"""``edgemnist pipeline``: train -> export -> quantize -> verify, into one directory.

Everything lands in ``engines/<recipe name>/`` (or ``out``)::

    model.pt                 final checkpoint (plus the trainer's last.pt, metrics, recipe)
    model.onnx  (+ .json)    FP32 ONNX, opset 13, gated against PyTorch
    model.int8.onnx          ONNX Runtime QDQ INT8, gated against model.onnx
    model.fp16.onnx          FP16 weights, FP32 input/output, gated against model.onnx
    model.torch-int8.pt      PyTorch eager INT8, gated against model.pt (skipped, with the
                             reason, for models eager mode cannot quantize)
    flips.int8.png           the INT8 model's flip gallery

Each step runs its own parity gate on all 10 000 test images (scored by
:mod:`edgemnist.scoring`: rates are fractions); a failing gate stops the pipeline (nothing is
kept for that artifact) unless ``force``. MNIST is fetched and verified first when it is missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Union

from edgemnist.errors import ConfigError, GateError
from edgemnist.export.verify import DEFAULT_THRESHOLD

PathLike = Union[str, Path]


@dataclass
class PipelineResult:
    """The directory and one row per artifact for the summary table."""

    out_dir: Path
    rows: List[Dict[str, Any]] = field(default_factory=list)
    train_metrics: Dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> Dict[str, Any]:
        """JSON-ready; every rate a fraction."""
        return {"out_dir": str(self.out_dir), "train": self.train_metrics, "artifacts": self.rows}


def _row(result: Any, fmt: str) -> Dict[str, Any]:
    rep = result.report
    return {
        "file": result.path.name,
        "format": fmt,
        "precision": result.manifest["precision"],
        "size_bytes": result.manifest["size_bytes"],
        "accuracy": rep.accuracy,
        "reference": Path(rep.reference).name if rep.reference else None,
        "accuracy_drop": rep.accuracy_drop,
        "agreement": rep.agreement,
        "max_abs_dlogit": rep.max_abs_dlogit,
        "passed": rep.passed,
    }


def run_pipeline(
    recipe: PathLike,
    out: Optional[PathLike] = None,
    overrides: Iterable[str] = (),
    limit: Optional[int] = None,
    epochs: Optional[int] = None,
    threads: Optional[int] = None,
    calib_size: int = 1000,
    method: str = "minmax",
    target: str = "cpu",
    fp16: bool = True,
    torch_int8: bool = True,
    threshold: float = DEFAULT_THRESHOLD,
    force: bool = False,
    quiet: bool = False,
    on_step: Optional[Callable[[str], None]] = None,
) -> PipelineResult:
    """Train a recipe and export, quantize and verify the result.

    Args:
        recipe: recipe name (``train/<name>.toml``) or path, or a trained checkpoint
            (``.pt``: training is skipped).
        out: output directory (default ``engines/<recipe name>/``).
        overrides: ``key=value`` recipe overrides.
        limit: tiny mode: train/test images the trainer uses (the gates still use all 10 000).
        epochs: override ``train.epochs``.
        threads: CPU threads for training and the gates.
        calib_size / method / target: ONNX Runtime INT8 options (see :mod:`.export.quantize_ort`).
        fp16: also write the FP16 ONNX.
        torch_int8: also write the PyTorch INT8 model.
        threshold: accuracy gate in percentage points, for every step.
        force: keep artifacts that fail their gate.
        quiet: no training progress bar.
        on_step: called with a short message before each step.

    Returns:
        A :class:`PipelineResult`.
    """
    from edgemnist.data.mnist import ensure
    from edgemnist.export.fp16 import export_fp16
    from edgemnist.export.onnx_export import export_onnx
    from edgemnist.export.quantize_ort import quantize_onnx
    from edgemnist.export.torch_int8 import export_torch_int8
    from edgemnist.export.verify import verify_artifact
    from edgemnist.paths import engines_dir
    from edgemnist.training.recipe import load_recipe, recipe_name
    from edgemnist.training.trainer import train_recipe

    say = on_step or (lambda _msg: None)
    overrides = list(overrides)
    if not (str(recipe).endswith(".pt") and Path(recipe).is_file()):
        load_recipe(str(recipe), overrides)  # a bad recipe fails before anything is fetched
    ensure(on_event=say)
    if str(recipe).endswith(".pt") and Path(recipe).is_file():
        # A trained checkpoint: skip training, run export -> quantize -> verify on it.
        from edgemnist.training.checkpoint import load_checkpoint

        loaded = load_checkpoint(Path(recipe))
        name = loaded.get("recipe", {}).get("name") or loaded["model"]["name"]
        out_dir = Path(out) if out is not None else engines_dir() / name
        result = PipelineResult(out_dir)
        result.train_metrics = dict(loaded.get("metrics", {}))
        ckpt = Path(recipe)
        say(f"checkpoint {ckpt} ({name}): training skipped -> {out_dir}")
    else:
        resolved = load_recipe(str(recipe), overrides)  # fails fast on a bad recipe/override
        out_dir = Path(out) if out is not None else engines_dir() / recipe_name(resolved)
        result = PipelineResult(out_dir)
        say(f"train {recipe_name(resolved)} -> {out_dir}")
        trained = train_recipe(
            str(recipe),
            overrides,
            run_dir=out_dir,
            limit=limit,
            epochs=epochs,
            threads=threads,
            quiet=quiet,
        )
        result.train_metrics = dict(trained.metrics)
        ckpt = Path(trained.checkpoint)
    if ckpt.resolve() != (out_dir / "model.pt").resolve():
        from edgemnist.atomic import write_bytes

        write_bytes(out_dir / "model.pt", ckpt.read_bytes())
        ckpt = out_dir / "model.pt"

    say("export ONNX FP32 (opset 13) + parity gate vs PyTorch")
    onnx_res = export_onnx(
        ckpt, out_dir / "model.onnx", threshold=threshold, force=force, threads=threads
    )
    result.rows.append(_row(onnx_res, "onnx"))

    say(f"quantize INT8 QDQ ({method}, {target}) + parity gate vs FP32 ONNX")
    int8 = quantize_onnx(
        onnx_res.path,
        out_dir / "model.int8.onnx",
        calib_size=calib_size,
        method=method,
        target=target,
        threshold=threshold,
        force=force,
        threads=threads,
    )
    result.rows.append(_row(int8, "onnx-qdq"))

    if fp16:
        say("convert FP16 ONNX + parity gate vs FP32 ONNX")
        half = export_fp16(
            onnx_res.path,
            out_dir / "model.fp16.onnx",
            threshold=threshold,
            force=force,
            threads=threads,
        )
        result.rows.append(_row(half, "onnx-fp16"))

    if torch_int8:
        say("quantize PyTorch INT8 (eager PTQ) + parity gate vs PyTorch")
        try:
            tint8 = export_torch_int8(
                ckpt,
                out_dir / "model.torch-int8.pt",
                calib_size=calib_size,
                threshold=threshold,
                force=force,
                threads=threads,
            )
            result.rows.append(_row(tint8, "torch-int8"))
        except ConfigError as exc:  # e.g. resnet18_cbam: not eager-quantizable; say so, go on
            result.rows.append(
                {"file": "model.torch-int8.pt", "format": "torch-int8", "skipped": str(exc)}
            )
        except GateError as exc:  # the optional PyTorch INT8 row must not sink the ONNX ones
            result.rows.append(
                {
                    "file": "model.torch-int8.pt",
                    "format": "torch-int8",
                    "skipped": f"rejected by the parity gate: {exc}",
                }
            )

    say("verify INT8 + flip gallery")
    verify_artifact(
        int8.path, onnx_res.path, threshold, gallery=out_dir / "flips.int8.png", threads=threads
    )
    return result
