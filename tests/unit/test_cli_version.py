"""``edgemnist --version``: one line, exit 0, before any command runs."""

from __future__ import annotations


def test_version_prints_one_line_and_exits_0(capsys):
    from edgemnist import __version__
    from edgemnist.cli.main import main

    assert main(["--version", "train"]) == 0
    assert capsys.readouterr().out == f"edgemnist {__version__}\n"
