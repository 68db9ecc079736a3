"""Shared CLI pieces: the console, Annotated option aliases, JSON output."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, List, Optional

import typer
from rich.console import Console
from typing_extensions import Annotated

console = Console(stderr=False, highlight=False)
err_console = Console(stderr=True, highlight=False)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print a machine-readable JSON report.")]
ForceOpt = Annotated[
    bool, typer.Option("--force", help="Keep the result even if it fails the accuracy gate.")
]
ThreadsOpt = Annotated[
    Optional[int], typer.Option("--threads", min=1, help="CPU threads (default: backend's choice).")
]
OutOpt = Annotated[Optional[Path], typer.Option("--out", help="Output directory.")]
MirrorOpt = Annotated[
    Optional[str],
    typer.Option(
        "--mirror",
        envvar="EDGEMNIST_MNIST_MIRROR",
        help="MNIST mirror: a URL or a local directory (tried before the canonical mirrors).",
    ),
]
SetOpt = Annotated[
    Optional[List[str]],
    typer.Option("--set", help="Override a recipe value: key=value (repeatable)."),
]


def print_json(obj: Any) -> None:
    """Write ``obj`` as JSON to stdout (plain, no rich markup)."""
    from edgemnist.atomic import _json_default

    sys.stdout.write(json.dumps(obj, indent=2, default=_json_default) + "\n")
    sys.stdout.flush()
