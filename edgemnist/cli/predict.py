"""``edgemnist predict ARTIFACT IMAGE...``: classify photos or scans of handwritten digits."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional

import typer
from typing_extensions import Annotated

from edgemnist.cli.common import JsonOpt, ThreadsOpt, console, err_console, print_json
from edgemnist.formats import BackendChoice


def predict(
    artifact: Annotated[Path, typer.Argument(help="Model: .onnx, .engine, .pt (any exported).")],
    images: Annotated[List[Path], typer.Argument(help="Image files, one handwritten digit each.")],
    backend: Annotated[
        BackendChoice,
        typer.Option("--backend", help="Who runs the model (auto picks one and says why)."),
    ] = BackendChoice.AUTO,
    save_crops: Annotated[
        Optional[Path],
        typer.Option("--save-crops", help="Write each 28x28 digit the model saw to this folder."),
    ] = None,
    threads: ThreadsOpt = None,
    providers: Annotated[
        Optional[str],
        typer.Option(
            "--providers",
            help="ONNX Runtime providers: auto, or a list like xnnpack,cpu (default: cpu).",
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Classify photos or scans of handwritten digits (dark ink on light paper, any size).

    Prepared like MNIST (threshold, crop, fit into 20x20, centre by mass in 28x28).
    """
    from edgemnist.predict import predict_images

    options: Dict[str, Any] = {}
    if threads is not None:
        options["threads"] = threads
    if providers:
        options["providers"] = providers
    report = predict_images(
        artifact, images, backend=backend.value, save_crops=save_crops, **options
    )
    if json_out:
        print_json(report.to_dict())
    else:
        reason = report.runner.get("fallback_reason")
        if reason:
            err_console.print(f"[yellow]note:[/yellow] {reason}", soft_wrap=True)
        for p in report.predictions:
            if p.error is not None:
                console.print(f"{p.image}: [red]error:[/red] {p.error}", soft_wrap=True)
                continue
            others = ", ".join(f"{d} {prob:.1%}" for d, prob in p.top3[1:])
            console.print(
                f"{p.image}: [bold]{p.digit}[/bold] ({p.confidence:.1%}; then {others})",
                soft_wrap=True,
            )
    if report.failed:
        from edgemnist.errors import InputError

        raise InputError(
            f"{report.failed} of {len(report.predictions)} images could not be read (see above)"
        )


def register(app: typer.Typer) -> None:
    """Add ``predict`` to the root app."""
    app.command("predict")(predict)
