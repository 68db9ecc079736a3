"""``edgemnist doctor``: what this device is, what it can run, what to fix."""

from __future__ import annotations

from pathlib import Path

import typer
from typing_extensions import Annotated

from edgemnist.cli.common import JsonOpt, console, print_json

_STYLE = {"ok": "green", "warn": "yellow", "fail": "red", "info": "dim"}


def doctor_cmd(
    json_out: JsonOpt = False,
    root: Annotated[
        Path, typer.Option("--root", help="Read system files under this prefix (for testing).")
    ] = Path("/"),
) -> None:
    """Check platform, backends, OpenCV and cameras; print each problem with its fix."""
    from rich.table import Table

    from edgemnist.doctor import doctor

    report = doctor(root)
    if json_out:
        print_json(report)
        return
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
    n = report["problems"]
    console.print(f"{n} problem(s)" if n else "no problems found")


def register(app: typer.Typer) -> None:
    """Add ``doctor`` to the root app."""
    app.command("doctor")(doctor_cmd)
