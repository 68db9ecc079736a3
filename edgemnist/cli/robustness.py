"""``edgemnist robustness ARTIFACT...``: accuracy under MNIST-C-style corruptions, side by side."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from typing_extensions import Annotated

from edgemnist.cli.common import JsonOpt, OutAliasOpt, console, err_console, print_json, renamed


def robustness(
    artifacts: Annotated[
        Optional[List[Path]],
        typer.Argument(help="Model files (FP32 first: the default baseline).", show_default=False),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, help="Test images per corruption.")
    ] = 2000,
    seed: Annotated[int, typer.Option("--seed", help="Corruption seed.")] = 0,
    corruptions: Annotated[
        Optional[str],
        typer.Option("--corruptions", help="Comma list of corruptions (default: all; see --list)."),
    ] = None,
    baseline: Annotated[
        Optional[Path],
        typer.Option("--baseline", help="Artifact mCE is normalized by (default: the first)."),
    ] = None,
    margin: Annotated[
        float,
        typer.Option(
            "--margin",
            min=0,
            help="Flag when the mean corrupted accuracy drops more than the clean one by this "
            "many percentage points, vs the FP32 reference.",
        ),
    ] = 0.25,
    threads: Annotated[int, typer.Option("--threads", min=1, help="CPU threads per backend.")] = 1,
    out_dir: Annotated[
        Optional[Path],
        typer.Option("--out-dir", help="Write robustness.json and robustness.png in this folder."),
    ] = None,
    list_only: Annotated[
        bool, typer.Option("--list", help="List the corruptions and exit.")
    ] = False,
    json_out: JsonOpt = False,
    out: OutAliasOpt = None,
) -> None:
    """Accuracy per corruption, mean corruption error and mCE for every artifact.

    Corrupted digits are generated from the MNIST test images on the fly (seeded, never stored).
    An artifact is flagged when its robustness drops more than its clean accuracy does, relative
    to its FP32 reference.
    """
    from edgemnist.robustness.corruptions import CORRUPTIONS

    out = renamed(out_dir, out, "--out", "--out-dir")

    if list_only:
        for c in CORRUPTIONS.values():
            console.print(f"{c.name:16s} {c.family:8s} {c.description}", soft_wrap=True)
        return

    from edgemnist.errors import ConfigError
    from edgemnist.robustness.evaluate import evaluate, flag_lines, table_rows, write_plot
    from edgemnist.scoring import points

    if not artifacts:
        raise ConfigError(
            "give model files, e.g. engines/edge/model.onnx engines/edge/model.int8.onnx"
        )

    def progress(name: str, done: int, total: int) -> None:
        if not json_out:
            err_console.print(f"[dim]{done}/{total} {name}[/dim]", highlight=False)

    report = evaluate(
        artifacts,
        corruptions=corruptions,
        limit=limit,
        seed=seed,
        threads=threads,
        baseline=baseline,
        margin=points(margin),
        progress=progress,
    )
    if out is not None:
        from edgemnist.atomic import write_json
        from edgemnist.bench.cpuflags import cpu_flags
        from edgemnist.bench.fingerprint import fingerprint

        report["environment"] = fingerprint()
        report["cpu_flags"] = cpu_flags()
        write_json(out / "robustness.json", report)
        plot = write_plot(report, out / "robustness.png")
        report["plot"] = str(plot) if plot else None
        if plot is None and not json_out:
            err_console.print("plot skipped: matplotlib is not installed")
    if json_out:
        print_json(report)
        return
    from rich.table import Table

    table = Table(title=f"accuracy % on {report['images']} test images, seed {report['seed']}")
    table.add_column("corruption")
    for a in report["artifacts"]:
        table.add_column(a["label"], justify="right")
    for row in table_rows(report):
        table.add_row(*row)
    console.print(table)
    for line in flag_lines(report):
        style = "red" if "FLAGGED" in line else "green"
        console.print(f"[{style}]{line}[/{style}]", soft_wrap=True)
    if out is not None:
        console.print(f"wrote {out / 'robustness.json'}", soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add ``robustness`` to the root app."""
    app.command("robustness")(robustness)
