"""`edgemnist export`, `quantize`, `verify`, `pipeline`: thin wrappers over edgemnist.export.

FP16 lives under ``quantize`` (``--precision fp16``): like INT8 it turns the FP32 ONNX into a
reduced-precision ONNX beside it, gated against that same FP32 model; ``export`` only ever
writes the FP32 reference.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional

import typer
from typing_extensions import Annotated

from edgemnist.cli.common import (
    ForceAsKeepFailedOpt,
    GateOpt,
    JsonOpt,
    KeepFailedOpt,
    OutAliasOpt,
    OutFileOpt,
    SetOpt,
    ThreadsOpt,
    ThresholdAliasOpt,
    console,
    print_json,
    renamed,
)
from edgemnist.errors import GateError
from edgemnist.formats import (
    CalibMethod,
    QuantizeBackend,
    QuantizePrecision,
    QuantTarget,
    TorchQEngine,
)

LimitOpt = Annotated[
    Optional[int],
    typer.Option("--limit", min=10, help="Gate on the first N test images only (quick checks)."),
]


def _fmt(v: Any, spec: str = "") -> str:
    if v is None:
        return "-"
    return format(v, spec) if spec else str(v)


def _report_table(rows: List[Dict[str, Any]], title: str) -> None:
    from rich.table import Table

    from edgemnist.scoring import pct

    # rates are fractions everywhere (edgemnist.scoring); percentages only here, in print
    table = Table(title=title, title_justify="left")
    for col in ("file", "prec", "size", "accuracy", "vs", "drop", "agree", "max|Δlogit|", "gate"):
        table.add_column(col, justify="left" if col in ("file", "vs") else "right")
    for r in rows:
        if r.get("skipped"):
            table.add_row(r["file"], "-", "-", "-", "-", "-", "-", "-", "[yellow]skipped[/yellow]")
            continue
        size = r.get("size_bytes")
        table.add_row(
            r["file"],
            _fmt(r.get("precision")),
            f"{size / 1024:.1f} KiB" if size else "-",
            f"{pct(r['accuracy'])}%",
            _fmt(r.get("reference")),
            _fmt(None if r.get("accuracy_drop") is None else 100 * r["accuracy_drop"], "+.2f"),
            pct(r.get("agreement")) + ("%" if r.get("agreement") is not None else ""),
            _fmt(r.get("max_abs_dlogit"), ".3g"),
            "[green]pass[/green]" if r.get("passed") else "[red]FAIL[/red]",
        )
    console.print(table)
    for r in rows:
        if r.get("skipped"):
            console.print(f"[yellow]{r['file']} skipped:[/yellow] {r['skipped']}")


def _result_row(result: Any) -> Dict[str, Any]:
    rep = result.report
    return {
        "file": str(result.path),
        "manifest": str(result.manifest_path),
        "format": result.manifest["format"],
        "precision": result.manifest["precision"],
        "size_bytes": result.manifest["size_bytes"],
        **{k: v for k, v in rep.to_dict().items() if k not in ("flips", "artifact")},
        "reference": Path(rep.reference).name if rep.reference else None,
    }


def _render(result: Any, json_: bool, title: str) -> None:
    row = _result_row(result)
    if json_:
        print_json(row)
        return
    _report_table([{**row, "file": Path(row["file"]).name}], title)
    console.print(f"wrote {result.path} and {result.manifest_path.name}")


def export_cmd(
    checkpoint: Annotated[Path, typer.Argument(help="Checkpoint (model.pt) written by training.")],
    opset: Annotated[
        int, typer.Option("--opset", help="ONNX opset: 9-17 TorchScript exporter, 18-23 dynamo.")
    ] = 13,
    out: OutFileOpt = None,
    gate: GateOpt = 0.10,
    limit: LimitOpt = None,
    keep_failed: KeepFailedOpt = False,
    threads: ThreadsOpt = None,
    json_: JsonOpt = False,
    threshold: ThresholdAliasOpt = None,
    force: ForceAsKeepFailedOpt = False,
) -> None:
    """Export a checkpoint to one self-contained ONNX file, gated against PyTorch."""
    from edgemnist.export.onnx_export import export_onnx

    gate = renamed(gate, threshold, "--threshold", "--gate")
    keep_failed = renamed(keep_failed, force, "--force", "--keep-failed")
    result = export_onnx(
        checkpoint, out, opset=opset, threshold=gate, force=keep_failed, threads=threads,
        limit=limit,
    )  # fmt: skip
    _render(result, json_, f"export {checkpoint.name} -> ONNX opset {opset}")


def quantize_cmd(
    model: Annotated[
        Path, typer.Argument(help="FP32 model.onnx, or model.pt with --backend torch.")
    ],
    backend: Annotated[
        Optional[QuantizeBackend],
        typer.Option(
            "--backend", help="onnxruntime (for .onnx) or torch (for .pt); default: by suffix."
        ),
    ] = None,
    precision: Annotated[
        QuantizePrecision, typer.Option("--precision", help="int8 (QDQ) or fp16 (ONNX only).")
    ] = QuantizePrecision.INT8,
    calib_size: Annotated[
        int,
        typer.Option("--calib-size", min=10, help="Calibration images (train split, balanced)."),
    ] = 1000,
    method: Annotated[
        CalibMethod, typer.Option("--method", help="INT8 activation-range calibration.")
    ] = CalibMethod.MINMAX,
    symmetric: Annotated[
        Optional[bool],
        typer.Option(
            "--symmetric/--asymmetric",
            help="Activation quantization (default: asymmetric for cpu, symmetric for tensorrt).",
        ),
    ] = None,
    per_channel: Annotated[
        bool, typer.Option("--per-channel/--per-tensor", help="Weight scales per output channel.")
    ] = True,
    target: Annotated[
        QuantTarget,
        typer.Option("--target", help="Where the INT8 model runs (tensorrt implies --symmetric)."),
    ] = QuantTarget.CPU,
    reduce_range: Annotated[
        Optional[bool],
        typer.Option(
            "--reduce-range/--full-range",
            help="7-bit weights (default: on for cpu, avoids x86 AVX2 saturation).",
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the calibration subset.")] = 0,
    qat_epochs: Annotated[
        int, typer.Option("--qat-epochs", min=0, help="torch: quantization-aware fine-tune epochs.")
    ] = 0,
    qat_limit: Annotated[
        Optional[int], typer.Option("--qat-limit", min=100, help="torch QAT: first N train images.")
    ] = None,
    engine: Annotated[
        Optional[TorchQEngine],
        typer.Option("--engine", help="torch: quantized CPU engine (default: the platform's)."),
    ] = None,
    api: Annotated[
        Optional[str],
        typer.Option(
            "--api", help="torch: pt2e (torchao, maintained) or eager (torch.ao, deprecated)."
        ),
    ] = None,
    out: OutFileOpt = None,
    gate: GateOpt = 0.10,
    limit: LimitOpt = None,
    keep_failed: KeepFailedOpt = False,
    threads: ThreadsOpt = None,
    json_: JsonOpt = False,
    threshold: ThresholdAliasOpt = None,
    force: ForceAsKeepFailedOpt = False,
) -> None:
    """Quantize: ONNX -> INT8 QDQ or FP16 ONNX; checkpoint -> PyTorch INT8. Gated."""
    gate = renamed(gate, threshold, "--threshold", "--gate")
    keep_failed = renamed(keep_failed, force, "--force", "--keep-failed")
    if backend is None:
        by_suffix = model.suffix in (".pt", ".pth")
        backend = QuantizeBackend.TORCH if by_suffix else QuantizeBackend.ONNXRUNTIME
    if backend is QuantizeBackend.TORCH:
        if precision is not QuantizePrecision.INT8:
            raise typer.BadParameter(
                "--backend torch makes INT8 only: drop --precision fp16", param_hint="--precision"
            )
        from edgemnist.export.torch_int8 import TorchInt8Options, export_torch_int8

        torch_options = TorchInt8Options(
            calib_size=calib_size,
            seed=seed,
            qat_epochs=qat_epochs,
            qat_limit=qat_limit,
            engine=engine.value if engine else None,
            threshold=gate,
            force=keep_failed,
            threads=threads,
            limit=limit,
            api=api,
        )
        result = export_torch_int8(model, out, torch_options)
        title = f"PyTorch INT8 ({'QAT' if qat_epochs else 'PTQ'}) of {model.name}"
    elif precision is QuantizePrecision.FP16:
        from edgemnist.export.fp16 import export_fp16

        result = export_fp16(
            model, out, threshold=gate, force=keep_failed, threads=threads, limit=limit
        )
        title = f"FP16 ONNX of {model.name}"
    else:
        from edgemnist.export.quantize_ort import QuantizeOptions, quantize_onnx

        options = QuantizeOptions(
            calib_size=calib_size,
            method=method.value,
            target=target.value,
            symmetric=symmetric,
            per_channel=per_channel,
            reduce_range=reduce_range,
            seed=seed,
            threshold=gate,
            force=keep_failed,
            threads=threads,
            limit=limit,
        )
        result = quantize_onnx(model, out, options)
        title = f"INT8 QDQ ({method.value}, {target.value}) of {model.name}"
    _render(result, json_, title)


def verify_cmd(
    artifact: Annotated[
        Path, typer.Argument(help="Model to check (ONNX, checkpoint, torch-int8).")
    ],
    reference: Annotated[
        Optional[Path],
        typer.Option("--reference", help="FP32 reference (default: the manifest's source)."),
    ] = None,
    gate: GateOpt = 0.10,
    gallery: Annotated[
        Optional[Path], typer.Option("--gallery", help="Write a PNG of the digits that flipped.")
    ] = None,
    limit: LimitOpt = None,
    threads: ThreadsOpt = None,
    json_: JsonOpt = False,
    threshold: ThresholdAliasOpt = None,
) -> None:
    """Parity gate: accuracy, top-1 agreement and max |Δlogit| vs the FP32 reference."""
    from edgemnist.export.verify import verify_artifact
    from edgemnist.manifest import read_manifest

    gate = renamed(gate, threshold, "--threshold", "--gate")
    report = verify_artifact(
        artifact, reference, gate, gallery=gallery, threads=threads, limit=limit
    )
    if json_:
        d = report.to_dict()
        d["flips"] = d["flips"][:1000]
        print_json(d)
    else:
        _report_table(
            [
                {
                    **report.to_dict(),
                    "file": artifact.name,
                    "reference": Path(report.reference).name if report.reference else None,
                    "size_bytes": artifact.stat().st_size,
                    "precision": (read_manifest(artifact, required=False) or {}).get("precision"),
                }
            ],
            f"verify {artifact.name} on {report.images} test images",
        )
        if report.gallery:
            console.print(f"flip gallery: {report.gallery} ({len(report.flips)} flips)")
        if report.fallback:
            console.print(f"[yellow]note:[/yellow] {report.fallback}")
        if report.reference is None:
            console.print("[yellow]no reference found: accuracy only (pass --reference)[/yellow]")
    if not report.passed:
        raise GateError(f"{artifact.name} failed the parity gate: {report.summary()}")


def pipeline_cmd(
    recipe: Annotated[
        str,
        typer.Argument(
            help="Recipe (train/NAME.toml, a path, NAME) or a trained .pt (skips training)."
        ),
    ],
    out_dir: Annotated[
        Optional[Path],
        typer.Option("--out-dir", help="Output directory (default: engines/<name>/)."),
    ] = None,
    set_: SetOpt = None,
    limit: Annotated[
        Optional[int], typer.Option("--limit", min=10, help="Tiny mode: N train/test images.")
    ] = None,
    epochs: Annotated[Optional[int], typer.Option("--epochs", min=1)] = None,
    calib_size: Annotated[int, typer.Option("--calib-size", min=10)] = 1000,
    method: Annotated[
        CalibMethod, typer.Option("--method", help="INT8 activation-range calibration.")
    ] = CalibMethod.MINMAX,
    target: Annotated[
        QuantTarget, typer.Option("--target", help="Where the INT8 model runs.")
    ] = QuantTarget.CPU,
    fp16: Annotated[
        bool, typer.Option("--fp16/--no-fp16", help="Also write model.fp16.onnx.")
    ] = True,
    torch_int8: Annotated[
        bool, typer.Option("--torch-int8/--no-torch-int8", help="Also write model.torch-int8.pt.")
    ] = True,
    gate: GateOpt = 0.10,
    keep_failed: KeepFailedOpt = False,
    threads: ThreadsOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No training progress bar.")] = False,
    json_: JsonOpt = False,
    threshold: ThresholdAliasOpt = None,
    force: ForceAsKeepFailedOpt = False,
    out: OutAliasOpt = None,
) -> None:
    """Train -> export -> quantize -> verify, all into engines/<name>/ (or --out-dir)."""
    from edgemnist.pipeline import PipelineOptions, run_pipeline

    gate = renamed(gate, threshold, "--threshold", "--gate")
    keep_failed = renamed(keep_failed, force, "--force", "--keep-failed")
    out_dir = renamed(out_dir, out, "--out", "--out-dir")

    def step(msg: str) -> None:
        if not json_:
            console.print(f"[bold]>[/bold] {msg}")

    options = PipelineOptions(
        overrides=list(set_ or []),
        limit=limit,
        epochs=epochs,
        threads=threads,
        calib_size=calib_size,
        method=method.value,
        target=target.value,
        fp16=fp16,
        torch_int8=torch_int8,
        threshold=gate,
        force=keep_failed,
        quiet=quiet or json_,
    )
    result = run_pipeline(recipe, out_dir, options, on_step=step)
    if json_:
        print_json(result.to_dict())
        return
    m = result.train_metrics
    if m.get("test_accuracy") is not None:
        from edgemnist.scoring import pct

        console.print(f"trained: test accuracy {pct(m['test_accuracy'])}% (PyTorch FP32)")
    _report_table(result.rows, f"pipeline {recipe} -> {result.out_dir}")


def register(app: typer.Typer) -> None:
    """Add export, quantize, verify and pipeline to the root app."""
    app.command("export")(export_cmd)
    app.command("quantize")(quantize_cmd)
    app.command("verify")(verify_cmd)
    app.command("pipeline")(pipeline_cmd)
