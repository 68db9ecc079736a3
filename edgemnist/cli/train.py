"""`edgemnist train` and `edgemnist eval`: thin wrappers over edgemnist.training."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from typing_extensions import Annotated

from edgemnist.cli.common import (
    JsonOpt,
    OutAliasOpt,
    SetOpt,
    ThreadsOpt,
    console,
    print_json,
    renamed,
)


def train_cmd(
    recipe: Annotated[str, typer.Argument(help="Recipe: train/NAME.toml, a path, or NAME.")],
    set_: SetOpt = None,
    out_dir: Annotated[
        Optional[Path],
        typer.Option("--out-dir", help="Run directory (default: runs/<recipe>-s<seed>/)."),
    ] = None,
    resume: Annotated[
        Optional[Path], typer.Option("--resume", help="Continue a run (its dir or last.pt).")
    ] = None,
    limit: Annotated[
        Optional[int], typer.Option("--limit", min=10, help="Tiny mode: N train/test images.")
    ] = None,
    epochs: Annotated[Optional[int], typer.Option("--epochs", min=1)] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", help="Overrides train.seed.")] = None,
    threads: ThreadsOpt = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Build everything, run one batch, write nothing.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    json_: JsonOpt = False,
    out: OutAliasOpt = None,
) -> None:
    """Train a model from a TOML recipe; evaluate on the test set each epoch."""
    from edgemnist.training.trainer import train_recipe

    out_dir = renamed(out_dir, out, "--out", "--out-dir")
    overrides = list(set_ or [])
    if seed is not None:
        overrides.append(f"train.seed={seed}")
    result = train_recipe(
        recipe,
        overrides,
        run_dir=out_dir,
        limit=limit,
        epochs=epochs,
        threads=threads,
        quiet=quiet or json_,
        resume=resume,
        dry_run=dry_run,
    )
    report = {
        "run_dir": str(result.run_dir),
        "checkpoint": str(result.checkpoint),
        **result.metrics,
    }
    if json_:
        print_json(report)
    elif dry_run:
        console.print(
            f"dry run ok: {result.metrics['params']:,} params, {result.metrics['macs']:,} MACs, "
            f"first-batch loss {result.metrics['loss']:.4f}; nothing written"
        )
    else:
        from edgemnist.scoring import pct

        m = result.metrics
        console.print(
            f"[green]done[/green]: test accuracy {pct(m['test_accuracy'])}% after {m['epochs']} "
            f"epochs in {m['train_wall_s']:.0f}s; checkpoint {result.checkpoint}"
        )


def eval_cmd(
    checkpoint: Annotated[Path, typer.Argument(help="A checkpoint written by `edgemnist train`.")],
    out_dir: Annotated[
        Optional[Path],
        typer.Option(
            "--out-dir", help="Where eval.json and the PNGs go (default: <checkpoint dir>/eval/)."
        ),
    ] = None,
    json_: JsonOpt = False,
    out: OutAliasOpt = None,
) -> None:
    """Evaluate a checkpoint on the test set: accuracy, F1, confusion matrix, error gallery."""
    from edgemnist.training.evaluate import evaluate_checkpoint

    out_dir = renamed(out_dir, out, "--out", "--out-dir")
    report = evaluate_checkpoint(checkpoint, out_dir=out_dir)
    if json_:
        print_json(report)
        return
    from rich.table import Table

    from edgemnist.scoring import pct

    console.print(
        f"accuracy [bold]{pct(report['accuracy'])}%[/bold]  macro F1 {report['macro_f1']:.4f}  "
        f"errors {report['errors']}/{report['n']}"
    )
    table = Table("class", "precision", "recall", "F1", "support")
    for row in report["per_class"]:
        table.add_row(
            str(row["class"]),
            f"{row['precision']:.4f}",
            f"{row['recall']:.4f}",
            f"{row['f1']:.4f}",
            str(row["support"]),
        )
    console.print(table)
    pairs = ", ".join(
        f"{p['true']}→{p['pred']} ({p['count']})" for p in report["confused_pairs"][:5]
    )
    console.print(f"most confused (true→pred): {pairs}")
    console.print(f"4↔9 rank among unordered pairs: {report['four_nine_rank']}")
    for key in ("confusion_png", "errors_png", "report_json"):
        console.print(f"{key}: {report[key]}")


def register(app: typer.Typer) -> None:
    """Add ``train`` and ``eval`` to the root app."""
    app.command("train")(train_cmd)
    app.command("eval")(eval_cmd)
