"""Shared CLI pieces: the console, the option vocabulary as ``Annotated`` aliases, JSON output.

The vocabulary (docs/cli.md) is defined here once, so that every command spells an idea the
same way: ``--gate`` (accuracy gate), ``--force`` (overwrite / rebuild / fetch again),
``--keep-failed`` (keep an artifact that failed its gate), ``--out FILE``, ``--out-dir DIR``,
``--threads``, ``--json``. Old spellings stay as hidden aliases that still work and print a
one-line deprecation warning on stderr.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, List, Optional, Tuple, TypeVar

import typer
from rich.console import Console, ConsoleDimensions
from typer.core import TyperCommand, TyperGroup
from typing_extensions import Annotated

#: width of output that is not a terminal (a pipe, a log file, CI): wide enough that tables keep
#: full file names instead of cutting them to 80 columns (``model.…``); COLUMNS still wins
LOG_WIDTH = 240


class LogConsole(Console):
    """A rich console that is :data:`LOG_WIDTH` wide when it does not write to a terminal."""

    @property
    def size(self) -> ConsoleDimensions:
        size = super().size
        if self._width is None and not self.is_terminal and "COLUMNS" not in os.environ:
            return ConsoleDimensions(max(size.width, LOG_WIDTH), size.height)
        return size

    @size.setter
    def size(self, new_size: Tuple[int, int]) -> None:
        Console.size.fset(self, new_size)  # type: ignore[attr-defined]


console = LogConsole(stderr=False, highlight=False)
err_console = LogConsole(stderr=True, highlight=False)

T = TypeVar("T")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print a machine-readable JSON report.")]
GateOpt = Annotated[
    float,
    typer.Option(
        "--gate",
        min=0.0,
        help="Accuracy gate: largest accepted test-accuracy drop from the FP32 reference, "
        "in percentage points.",
    ),
]
#: deprecated spelling of --gate (export, quantize, verify, pipeline used it)
ThresholdAliasOpt = Annotated[
    Optional[float], typer.Option("--threshold", min=0.0, hidden=True, help="Use --gate.")
]
KeepFailedOpt = Annotated[
    bool,
    typer.Option("--keep-failed", help="Keep the artifact even if it fails the accuracy gate."),
]
#: deprecated spelling of --keep-failed (export, quantize, pipeline used --force for it)
ForceAsKeepFailedOpt = Annotated[
    bool, typer.Option("--force", hidden=True, help="Use --keep-failed.")
]
ThreadsOpt = Annotated[
    Optional[int], typer.Option("--threads", min=1, help="CPU threads (default: backend's choice).")
]
OutFileOpt = Annotated[
    Optional[Path], typer.Option("--out", help="Output file (default: beside the input).")
]
#: deprecated spelling of --out-dir (train, eval, bench, pipeline, build-engine used --out)
OutAliasOpt = Annotated[Optional[Path], typer.Option("--out", hidden=True, help="Use --out-dir.")]
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


def renamed(new_value: T, old_value: Optional[T], old: str, new: str) -> T:
    """The value of an option given under its old name, else of the new one.

    Args:
        new_value: value of the option under its current name (``--gate``).
        old_value: value of the hidden deprecated alias (``--threshold``): None or False when
            it was not given.
        old / new: the two spellings, for the warning.

    Returns:
        ``old_value`` if the alias was used (after a one-line warning on stderr), else
        ``new_value``.
    """
    if old_value is None or old_value is False:
        return new_value
    err_console.print(f"[yellow]warning:[/yellow] {old} is deprecated: use {new}", highlight=False)
    return old_value


def _hide_flag_types(params: List[Any]) -> None:
    # typer's rich help prints a "<bool>" type column for flags (--json, even --help), which
    # reads as if the flag took a value; an empty metavar leaves that column blank.
    for param in params:
        if getattr(param, "is_flag", False) and getattr(param, "metavar", None) is None:
            param.metavar = ""


class Command(TyperCommand):
    """A typer command whose help shows flags without a ``<bool>`` type."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        _hide_flag_types(self.get_params(ctx))
        super().format_help(ctx, formatter)


class Group(TyperGroup):
    """A typer group whose help shows flags without a ``<bool>`` type."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        _hide_flag_types(self.get_params(ctx))
        super().format_help(ctx, formatter)


def adopt(app: typer.Typer) -> typer.Typer:
    """Give every command and group of ``app`` (recursively) edgemnist's help classes.

    Called once on the root app after every command is registered, so that command modules
    (``cli/live.py`` included) declare plain typer commands.
    """
    # typer fills in its own classes (or a placeholder) where none was asked for: only those
    # are replaced, a command that names its own class keeps it
    if _plain(app.info.cls, TyperGroup):
        app.info.cls = Group
    for info in app.registered_commands:
        if _plain(info.cls, TyperCommand):
            info.cls = Command
    for group in app.registered_groups:
        if _plain(group.cls, TyperGroup):
            group.cls = Group
        if group.typer_instance is not None:
            adopt(group.typer_instance)
    return app


def _plain(cls: Any, default: type) -> bool:
    return cls is None or cls is default or not isinstance(cls, type)


def print_json(obj: Any) -> None:
    """Write ``obj`` as JSON to stdout (plain, no rich markup)."""
    from edgemnist.atomic import _json_default

    sys.stdout.write(json.dumps(obj, indent=2, default=_json_default) + "\n")
    sys.stdout.flush()
