"""``edgemnist build-engine``: ONNX -> TensorRT engine here, or an ONNX Runtime fallback."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Optional

import typer
from typing_extensions import Annotated

from edgemnist.cli.common import JsonOpt, OutAliasOpt, err_console, print_json, renamed
from edgemnist.formats import Builder, BuildPrecision


def _ticker(json_out: bool) -> Any:
    """Heartbeat renderer: a live rich status on a terminal, a line every 15 s elsewhere."""
    if json_out:
        return None, None
    if err_console.is_terminal:
        status = err_console.status("checking TensorRT, GPU and memory ...")

        def tick(label: str, elapsed: float) -> None:
            status.update(f"{label} ... {elapsed:.0f} s")

        return status, tick

    def tick_plain(label: str, elapsed: float) -> None:
        if int(elapsed) % 15 == 0:
            err_console.print(f"{label} ... {elapsed:.0f} s")

    return None, tick_plain


def build_engine_cmd(
    model: Annotated[
        Path, typer.Argument(help="The ONNX model (model.onnx, model.int8.onnx, ...).")
    ],
    precision: Annotated[
        BuildPrecision,
        typer.Option("--precision", help="Engine precision (auto: the best this GPU runs well)."),
    ] = BuildPrecision.AUTO,
    builder: Annotated[
        Builder,
        typer.Option("--builder", help="python: the tensorrt module; trtexec: NVIDIA's tool."),
    ] = Builder.AUTO,
    workspace: Annotated[
        Optional[int],
        typer.Option(
            "--workspace",
            min=16,
            help="Builder workspace in MiB (default 256 on <= 4 GB boards, else 1024).",
        ),
    ] = None,
    max_batch: Annotated[
        int, typer.Option("--max-batch", min=1, help="Largest batch the engine accepts.")
    ] = 256,
    out_dir: Annotated[
        Optional[Path],
        typer.Option("--out-dir", help="Output directory (default: beside the model)."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Rebuild even if the cached engine matches.")
    ] = False,
    json_out: JsonOpt = False,
    out: OutAliasOpt = None,
    force_rebuild: Annotated[
        bool, typer.Option("--force-rebuild", hidden=True, help="Use --force.")
    ] = False,
) -> None:
    """Build a TensorRT engine for this device (or fall back to ONNX Runtime, saying why)."""
    from edgemnist.engine.build import BuildOptions, build_engine

    out_dir = renamed(out_dir, out, "--out", "--out-dir")
    force = renamed(force, force_rebuild, "--force-rebuild", "--force")

    def say(line: str) -> None:
        if not json_out:
            err_console.print(line, markup=False, highlight=False, soft_wrap=True)

    status, tick = _ticker(json_out)
    if status is not None:
        status.start()
    try:
        options = BuildOptions(
            precision=precision.value, builder=builder.value, workspace_mib=workspace,
            force_rebuild=force, max_batch=max_batch,
        )  # fmt: skip
        result = build_engine(model, out_dir, options, say=say, tick=tick)
    finally:
        if status is not None:
            status.stop()
    if json_out:
        print_json(result.as_dict())
        return
    what = "reused" if result.reused else "wrote"
    kind = "TensorRT engine" if result.backend == "tensorrt" else "ONNX Runtime model (fallback)"
    sys.stdout.write(f"{what} {kind}: {result.artifact} ({result.manifest.get('precision')})\n")


def register(app: typer.Typer) -> None:
    """Add ``build-engine`` to the root app."""
    app.command("build-engine")(build_engine_cmd)
