"""``edgemnist doctor``: what this device is, what it can run, what to fix."""

from __future__ import annotations

from pathlib import Path

import typer
from typing_extensions import Annotated

from edgemnist.cli.common import JsonOpt, console, print_json

_STYLE = {"ok": "green", "warn": "yellow", "fail": "red", "info": "dim"}


def doctor_cmd(
    json_out: JsonOpt = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 on warnings too, not only on failed checks.")
    ] = False,
    root: Annotated[
        Path,
        typer.Option("--root", hidden=True, help="Read system files under this prefix (tests)."),
    ] = Path("/"),
) -> None:
    """Check platform, backends, OpenCV and cameras; print each problem with its fix.

    Exits 1 when a check failed (with --strict: also when one warned), else 0.
    """
    from rich.table import Table

    from edgemnist.doctor import doctor, exit_code

    report = doctor(root)
    code = exit_code(report, strict)
    if json_out:
        print_json(report)
        raise typer.Exit(code)
    b = report["board"]
    table = Table(title=f"edgemnist doctor: {b['model'] or b['kind']}", show_lines=False)
    for col in ("section", "check", "status", "value", "fix"):
        table.add_column(col, overflow="fold")
    for c in report["checks"]:
        style = _STYLE.get(c["status"], "")
        table.add_row(
            c["section"], c["name"], f"[{style}]{c['status']}[/{style}]", c["value"], c["fix"]
        )
    console.print(table)
    failures, warnings = report["failures"], report["warnings"]
    if failures or warnings:
        console.print(f"{failures} failed, {warnings} warning(s)")
    else:
        console.print("no problems found")
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Add ``doctor`` to the root app."""
    app.command("doctor")(doctor_cmd)
