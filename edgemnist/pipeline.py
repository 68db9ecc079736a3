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
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

from edgemnist.errors import ConfigError, GateError
from edgemnist.export.verify import DEFAULT_THRESHOLD

PathLike = Union[str, Path]


@dataclass
class PipelineResult:
    """The directory and one row per artifact for the summary table."""

    out_dir: Path
    checkpoint: Path  # the trained model the artifacts come from
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


@dataclass
class PipelineOptions:
    """What :func:`run_pipeline` does besides the recipe and the output directory.

    Attributes:
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
    """

    overrides: List[str] = field(default_factory=list)
    limit: Optional[int] = None
    epochs: Optional[int] = None
    threads: Optional[int] = None
    calib_size: int = 1000
    method: str = "minmax"
    target: str = "cpu"
    fp16: bool = True
    torch_int8: bool = True
    threshold: float = DEFAULT_THRESHOLD
    force: bool = False
    quiet: bool = False


def run_pipeline(
    recipe: PathLike,
    out: Optional[PathLike] = None,
    options: Optional[PipelineOptions] = None,
    on_step: Optional[Callable[[str], None]] = None,
) -> PipelineResult:
    """Train a recipe and export, quantize and verify the result.

    Args:
        recipe: recipe name (``train/<name>.toml``) or path, or a trained checkpoint
            (``.pt``: training is skipped).
        out: output directory (default ``engines/<recipe name>/``).
        options: see :class:`PipelineOptions` (default: its defaults).
        on_step: called with a short message before each step.

    Returns:
        A :class:`PipelineResult`.
    """
    from edgemnist.data.mnist import ensure
    from edgemnist.export.verify import verify_artifact

    opts = options or PipelineOptions()
    say = on_step or (lambda _msg: None)
    trained = str(recipe).endswith(".pt") and Path(recipe).is_file()
    if not trained:
        from edgemnist.training.recipe import load_recipe

        load_recipe(str(recipe), opts.overrides)  # a bad recipe fails before anything is fetched
    ensure(on_event=say)
    result = _from_checkpoint(Path(recipe), out, say) if trained else _train(recipe, out, opts, say)
    ckpt, out_dir = result.checkpoint, result.out_dir
    if ckpt.resolve() != (out_dir / "model.pt").resolve():
        from edgemnist.atomic import write_bytes

        write_bytes(out_dir / "model.pt", ckpt.read_bytes())
        result.checkpoint = ckpt = out_dir / "model.pt"
    onnx_path, int8_path = _export_onnx_steps(result, opts, say)
    if opts.torch_int8:
        _torch_int8_step(result, opts, say)
    say("verify INT8 + flip gallery")
    verify_artifact(
        int8_path,
        onnx_path,
        opts.threshold,
        gallery=out_dir / "flips.int8.png",
        threads=opts.threads,
    )
    return result


def _from_checkpoint(
    ckpt: Path, out: Optional[PathLike], say: Callable[[str], None]
) -> PipelineResult:
    """A trained checkpoint: training is skipped, export -> quantize -> verify run on it."""
    from edgemnist.paths import engines_dir
    from edgemnist.training.checkpoint import load_checkpoint

    loaded = load_checkpoint(ckpt)
    name = loaded.get("recipe", {}).get("name") or loaded["model"]["name"]
    out_dir = Path(out) if out is not None else engines_dir() / name
    say(f"checkpoint {ckpt} ({name}): training skipped -> {out_dir}")
    return PipelineResult(out_dir, ckpt, train_metrics=dict(loaded.get("metrics", {})))


def _train(
    recipe: PathLike, out: Optional[PathLike], opts: PipelineOptions, say: Callable[[str], None]
) -> PipelineResult:
    from edgemnist.paths import engines_dir
    from edgemnist.training.recipe import load_recipe, recipe_name
    from edgemnist.training.trainer import train_recipe

    resolved = load_recipe(str(recipe), opts.overrides)
    out_dir = Path(out) if out is not None else engines_dir() / recipe_name(resolved)
    say(f"train {recipe_name(resolved)} -> {out_dir}")
    trained = train_recipe(
        str(recipe),
        opts.overrides,
        run_dir=out_dir,
        limit=opts.limit,
        epochs=opts.epochs,
        threads=opts.threads,
        quiet=opts.quiet,
    )
    return PipelineResult(out_dir, Path(trained.checkpoint), train_metrics=dict(trained.metrics))


def _export_onnx_steps(
    result: PipelineResult, opts: PipelineOptions, say: Callable[[str], None]
) -> Tuple[Path, Path]:
    """FP32 ONNX, INT8 QDQ and (``fp16``) FP16 ONNX, each gated; returns the FP32 and INT8
    paths."""
    from edgemnist.export.fp16 import export_fp16
    from edgemnist.export.onnx_export import export_onnx
    from edgemnist.export.quantize_ort import QuantizeOptions, quantize_onnx

    out_dir, gate, keep = result.out_dir, opts.threshold, opts.force
    say("export ONNX FP32 (opset 13) + parity gate vs PyTorch")
    onnx_res = export_onnx(
        result.checkpoint, out_dir / "model.onnx", threads=opts.threads, threshold=gate, force=keep
    )
    result.rows.append(_row(onnx_res, "onnx"))

    say(f"quantize INT8 QDQ ({opts.method}, {opts.target}) + parity gate vs FP32 ONNX")
    quant = QuantizeOptions(
        calib_size=opts.calib_size,
        method=opts.method,
        target=opts.target,
        threads=opts.threads,
        threshold=gate,
        force=keep,
    )
    int8 = quantize_onnx(onnx_res.path, out_dir / "model.int8.onnx", quant)
    result.rows.append(_row(int8, "onnx-qdq"))
    if opts.fp16:
        say("convert FP16 ONNX + parity gate vs FP32 ONNX")
        half = export_fp16(
            onnx_res.path,
            out_dir / "model.fp16.onnx",
            threads=opts.threads,
            threshold=gate,
            force=keep,
        )
        result.rows.append(_row(half, "onnx-fp16"))
    return onnx_res.path, int8.path


def _torch_int8_step(
    result: PipelineResult, opts: PipelineOptions, say: Callable[[str], None]
) -> None:
    """PyTorch INT8: optional, so a model eager mode cannot quantize, or one the gate rejects,
    gives a row saying why instead of sinking the ONNX rows."""
    from edgemnist.export.torch_int8 import TorchInt8Options, export_torch_int8

    say("quantize PyTorch INT8 (eager PTQ) + parity gate vs PyTorch")
    try:
        tint8 = export_torch_int8(
            result.checkpoint,
            result.out_dir / "model.torch-int8.pt",
            TorchInt8Options(
                calib_size=opts.calib_size,
                threshold=opts.threshold,
                force=opts.force,
                threads=opts.threads,
            ),
        )
        result.rows.append(_row(tint8, "torch-int8"))
    except ConfigError as exc:  # e.g. resnet18_cbam: not eager-quantizable; say so, go on
        result.rows.append(
            {"file": "model.torch-int8.pt", "format": "torch-int8", "skipped": str(exc)}
        )
    except GateError as exc:
        result.rows.append(
            {
                "file": "model.torch-int8.pt",
                "format": "torch-int8",
                "skipped": f"rejected by the parity gate: {exc}",
            }
        )
