"""What the README, docs/cli.md and the CI template say about the CLI is true: every command
they show exists and parses its options, every environment variable they name is read by the
code, and the option vocabulary table matches each command's --help."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import pytest

from edgemnist.cli.main import app, main

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text()
CLI_DOC = (REPO / "docs" / "cli.md").read_text()
WORKFLOW = (REPO / ".github" / "workflows" / "bench-regression.yml").read_text()


def _command_paths() -> Dict[Tuple[str, ...], object]:
    import typer

    paths: Dict[Tuple[str, ...], object] = {}

    def walk(cmd: object, path: Tuple[str, ...]) -> None:
        paths[path] = cmd
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, (*path, name))

    walk(typer.main.get_command(app), ())
    return paths


COMMANDS = _command_paths()


def _split(line: str) -> Tuple[Tuple[str, ...], List[str]]:
    """``edgemnist data download --mirror X`` -> (("data", "download"), ["--mirror"])."""
    words = shlex.split(line, comments=True)[1:]
    path: Tuple[str, ...] = ()
    for word in words:
        if (*path, word) in COMMANDS:
            path = (*path, word)
        else:
            is_group = hasattr(COMMANDS[path], "commands")
            assert not is_group or word.startswith("-"), f"no command {' '.join([*path, word])}"
            break
    options = [w.split("=")[0] for w in words if w.startswith("--")]
    return path, options


def _invocations(text: str) -> Iterator[str]:
    """Command lines that start with ``edgemnist`` (continuation lines joined)."""
    joined = re.sub(r"\\\n\s*", " ", text)
    for line in joined.splitlines():
        line = line.strip()
        if line.startswith("edgemnist "):
            yield line


_HELP: Dict[Tuple[str, ...], str] = {}


def _help(path: Tuple[str, ...]) -> str:
    if path not in _HELP:
        import contextlib
        import io
        import os

        old = os.environ.get("COLUMNS")
        os.environ["COLUMNS"] = "200"
        buf = io.StringIO()
        try:
            with contextlib.redirect_stdout(buf):
                code = main([*path, "--help"])
        finally:
            if old is None:
                os.environ.pop("COLUMNS", None)
            else:
                os.environ["COLUMNS"] = old
        assert code == 0, path
        _HELP[path] = buf.getvalue()
    return _HELP[path]


def _shows(help_text: str, option: str) -> bool:
    return re.search(re.escape(option) + r"(?![\w-])", help_text) is not None


def _readme_code_blocks() -> str:
    return "\n".join(re.findall(r"```bash\n(.*?)```", README, flags=re.S))


@pytest.mark.parametrize(
    "source, line",
    [("README", ln) for ln in _invocations(_readme_code_blocks())]
    + [("workflow", ln) for ln in _invocations(WORKFLOW)],
)
def test_shown_commands_exist_with_their_options(source, line):
    path, options = _split(line)
    assert path, f"{source}: no such command in {line!r}"
    help_text = _help(path)
    for option in options:
        assert _shows(help_text, option), f"{source}: {' '.join(path)} has no {option}"


def test_commands_named_in_readme_prose_exist():
    named = set(re.findall(r"`edgemnist ([a-z-]+(?: [a-z-]+)?)", README))
    assert named
    for words in named:
        first = tuple(words.split()[:1])
        assert first in COMMANDS, f"README names `edgemnist {words}`"
        if hasattr(COMMANDS[first], "commands"):  # a group: its subcommand must exist too
            assert tuple(words.split()[:2]) in COMMANDS, f"README names `edgemnist {words}`"


def test_every_environment_variable_in_the_docs_is_read_by_the_code():
    code = "\n".join(
        p.read_text()
        for folder in ("edgemnist", "jetson", "tests")
        for p in (REPO / folder).rglob("*")
        if p.is_file() and p.suffix in (".py", ".sh", ".env", ".service", "")
    )
    for doc in (README, CLI_DOC, (REPO / "edgemnist" / "paths.py").read_text()):
        for name in set(re.findall(r"EDGEMNIST_[A-Z_]+", doc)):
            assert re.search(rf"\b{name}\b", code), f"{name} is documented but never read"


def _table(doc: str, heading: str) -> List[List[str]]:
    section = doc.split(heading, 1)[1]
    rows = []
    for line in section.splitlines()[1:]:
        if line.startswith("#"):
            break
        if line.startswith("|") and not line.startswith("|---"):
            rows.append([c.strip() for c in line.strip("|").split("|")])
    return rows[1:]  # without the header row


def _commands_in(cell: str) -> List[Tuple[str, ...]]:
    """``build-engine (rebuild ...), data download`` -> [("build-engine",), ("data", "download")];
    [] when the cell is prose ("every command that reports")."""
    parts = [p.strip() for p in re.sub(r"\([^)]*\)", "", cell).split(",")]
    paths = [tuple(p.split()) for p in parts if p]
    return paths if all(p in COMMANDS for p in paths) else []


def test_the_option_vocabulary_table_matches_each_commands_help():
    rows = _table(CLI_DOC, "## Options: one spelling per idea")
    assert len(rows) >= 10
    checked = 0
    for _idea, spelling, where, _notes in rows:
        options = re.findall(r"--[a-z][a-z0-9-]*", spelling)
        for path in _commands_in(where):
            for option in options:
                assert _shows(_help(path), option), f"docs/cli.md: {' '.join(path)} {option}"
                checked += 1
    assert checked >= 25


def test_renamed_options_are_hidden_where_the_doc_says():
    rows = _table(CLI_DOC, "### Renamed options")
    assert rows
    for old, new, where in rows:
        old_opt = re.findall(r"--[a-z][a-z0-9-]*", old)[0]
        new_opt = re.findall(r"--[a-z][a-z0-9-]*", new)[0]
        for path in _commands_in(where):
            help_text = _help(path)
            assert _shows(help_text, new_opt), f"{' '.join(path)}: {new_opt} not shown"
            if old_opt != new_opt and not (old_opt == "--force" and path == ("build-engine",)):
                assert not _shows(help_text, old_opt), f"{' '.join(path)}: {old_opt} shown"


def test_the_commands_table_lists_every_command():
    rows = _table(CLI_DOC, "## Commands")
    listed = {cell.split("`")[1].split()[0] for cell, *_ in rows}
    top = {path[0] for path in COMMANDS if len(path) == 1}
    assert top == listed


def test_ci_template_is_a_template_that_installs_the_device_side_and_gates():
    assert "TEMPLATE" in WORKFLOW.splitlines()[0]
    triggers = WORKFLOW.split("\non:", 1)[1].split("\nenv:", 1)[0]
    assert "workflow_dispatch" in triggers and "pull_request" in triggers
    assert "\n  push" not in triggers and "schedule" not in triggers
    # in this repository (no models/ folder) a pull request never starts it
    paths = re.findall(r'^      - "([^"]+)"', triggers, flags=re.M)
    assert paths and not [p for p in paths if (REPO / p.split("*")[0]).exists()]
    pip = re.search(r'EDGEMNIST_PIP: "([^"]+)"', WORKFLOW)
    assert pip and "[ort,cv]" in pip.group(1)
    assert "find_spec('torch') is not None" in WORKFLOW  # fails if torch came along
    gate = [ln for ln in _invocations(WORKFLOW) if "--compare" in ln]
    assert gate and all("--quick" in ln and "--max-regress" in ln for ln in gate)
