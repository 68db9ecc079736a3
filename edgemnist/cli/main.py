"""The ``edgemnist`` command. Each command group lives in its own thin module.

Nothing heavy (torch, onnxruntime, tensorrt, cv2) is imported here or at the top of any CLI
module: ``edgemnist --help`` works on a device with none of them installed.
"""

from __future__ import annotations

import sys

import typer

from edgemnist import __version__
from edgemnist.cli import bench as bench_cli
from edgemnist.cli import data as data_cli
from edgemnist.cli import doctor as doctor_cli
from edgemnist.cli import engine as engine_cli
from edgemnist.cli import export as export_cli
from edgemnist.cli import formats as formats_cli
from edgemnist.cli import live as live_cli
from edgemnist.cli import predict as predict_cli
from edgemnist.cli import robustness as robustness_cli
from edgemnist.cli import train as train_cli
from edgemnist.cli.common import adopt

app = typer.Typer(
    name="edgemnist",
    help="Handwritten digits from workstation to edge: train, export, quantize, verify, "
    "build engines, benchmark, predict.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Command groups and commands: one line each.
app.add_typer(data_cli.app, name="data")
train_cli.register(app)
export_cli.register(app)
predict_cli.register(app)
engine_cli.register(app)
doctor_cli.register(app)
bench_cli.register(app)
live_cli.register(app)
robustness_cli.register(app)
formats_cli.register(app)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"edgemnist {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False,
        "--version",
        callback=_version,
        is_eager=True,
        help="Print the version.",
    ),
) -> None:
    """Handwritten digits from workstation to edge."""


# after every registration: edgemnist's help classes for every command (no "<bool>" on flags)
adopt(app)

try:  # typer >= 0.2x vendors click: its usage errors derive from typer.TyperException
    from typer import TyperException as _UsageErrorBase
except ImportError:  # older typer runs on click, whose errors derive from ClickException
    from click import ClickException as _UsageErrorBase  # type: ignore[import-not-found,no-redef,unused-ignore]


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app, turn :class:`EdgeMnistError` into one red line and exit 1."""
    from edgemnist.errors import EdgeMnistError
    from edgemnist.paths import debug

    try:
        rc = app(args=argv, standalone_mode=False)
    except EdgeMnistError as exc:
        if debug():
            raise
        from rich.markup import escape

        from edgemnist.cli.common import err_console

        err_console.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True, highlight=False)
        return 1
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except typer.Abort:
        print("Aborted.", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    except _UsageErrorBase as exc:  # bad option, bad choice, missing argument: exit 2
        show = getattr(exc, "show", None)
        if show is not None:
            show()
        else:  # pragma: no cover - a TyperException that is not a click error
            print(f"error: {exc.format_message()}", file=sys.stderr)
        return int(getattr(exc, "exit_code", 2))
    # standalone_mode=False returns the exit code of a command that raised typer.Exit(code)
    return rc if isinstance(rc, int) else 0


def _console_script() -> None:
    sys.exit(main())


if __name__ == "__main__":
    _console_script()
