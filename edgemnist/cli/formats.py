"""``edgemnist formats``: every artifact format, what makes it, what runs it, and whether this
machine can run it now. The rows are :data:`edgemnist.formats.FORMATS`, printed as they are."""

from __future__ import annotations

from typing import Any, Dict, List

import typer

from edgemnist.cli.common import JsonOpt, console, print_json


def format_rows() -> List[Dict[str, Any]]:
    """One dict per row of the formats table, with ``runs_here`` and its reason.

    Availability comes from each backend's ``Runner.available()``, which never raises and
    imports nothing heavy at module top (it checks whether the package can be found).
    """
    from edgemnist.formats import FORMATS
    from edgemnist.runners.open import backend_available

    known: Dict[str, Any] = {}
    rows = []
    for f in FORMATS:
        if f.backend not in known:
            known[f.backend] = backend_available(f.backend)
        ok, why = known[f.backend]
        rows.append(
            {
                "name": f.name,
                "description": f.description,
                "suffixes": list(f.suffixes),
                "precisions": list(f.precisions),
                "manifest_format": f.manifest_format,
                "backend": f.backend,
                "needs_gpu": f.needs_gpu,
                "made_by": f.made_by,
                "export": f.export,
                "auto": f.auto,
                "runs_here": ok,
                "runs_here_detail": why,
            }
        )
    return rows


def formats_cmd(json_out: JsonOpt = False) -> None:
    """List artifact formats: what each is, what makes it, what runs it, what runs here now."""
    rows = format_rows()
    if json_out:
        print_json({"formats": rows})
        return
    from rich import box
    from rich.table import Table

    # narrow columns (fits 80 characters, the width of a log), the prose below the table
    table = Table(
        title="artifact formats", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False
    )
    table.add_column("format", no_wrap=True)
    table.add_column("files", no_wrap=True)
    table.add_column("precisions", no_wrap=True)
    table.add_column("run by", no_wrap=True)
    table.add_column("here", no_wrap=True)
    for r in rows:
        runner = r["backend"] + (" GPU" if r["needs_gpu"] else "")
        here = "[green]yes[/green]" if r["runs_here"] else "[yellow]no[/yellow]"
        table.add_row(r["name"], " ".join(r["suffixes"]), ",".join(r["precisions"]), runner, here)
    console.print(table)
    for r in rows:
        by_name = " Used only when asked for by name (--backend)." if not r["auto"] else ""
        console.print(
            f"[bold]{r['name']}[/bold]: {r['description']}. Made by `{r['made_by']}`.{by_name}",
            soft_wrap=True,
        )
    missing = {r["backend"]: r["runs_here_detail"] for r in rows if not r["runs_here"]}
    for backend, why in missing.items():
        console.print(f"[yellow]{backend}[/yellow] cannot run here: {why}", soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add ``formats`` to the root app."""
    app.command("formats")(formats_cmd)
