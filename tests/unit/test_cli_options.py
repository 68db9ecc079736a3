"""The CLI's option vocabulary (docs/cli.md): choices listed and enforced, flags shown as flags,
test-only and deprecated options hidden, deprecated spellings still working."""

from __future__ import annotations

import ast
import json
import re
from enum import Enum
from pathlib import Path
from typing import List, Type

import pytest

from edgemnist import formats
from edgemnist.cli.data import Split
from edgemnist.cli.main import app, main

REPO = Path(__file__).resolve().parents[2]

#: (command words, option, enum of its choices, arguments the command needs to parse)
CHOICES = [
    (["quantize"], "--backend", formats.QuantizeBackend, ["m.onnx"]),
    (["quantize"], "--precision", formats.QuantizePrecision, ["m.onnx"]),
    (["quantize"], "--method", formats.CalibMethod, ["m.onnx"]),
    (["quantize"], "--target", formats.QuantTarget, ["m.onnx"]),
    (["quantize"], "--engine", formats.TorchQEngine, ["m.pt"]),
    (["pipeline"], "--method", formats.CalibMethod, ["edge"]),
    (["pipeline"], "--target", formats.QuantTarget, ["edge"]),
    (["build-engine"], "--precision", formats.BuildPrecision, ["m.onnx"]),
    (["build-engine"], "--builder", formats.Builder, ["m.onnx"]),
    (["predict"], "--backend", formats.BackendChoice, ["m.onnx", "digit.png"]),
    (["data", "preview"], "--split", Split, []),
]


def _all_commands() -> List[List[str]]:
    """Every command path of the app, groups included (``[]`` is the root)."""
    import typer

    paths: List[List[str]] = []

    def walk(cmd, path: List[str]) -> None:
        paths.append(path)
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return paths


def _help(capsys, words: List[str], monkeypatch) -> str:
    monkeypatch.setenv("COLUMNS", "200")  # rich wraps help at the terminal width
    assert main([*words, "--help"]) == 0, words
    return capsys.readouterr().out


@pytest.mark.parametrize("words", _all_commands(), ids=lambda w: " ".join(w) or "edgemnist")
def test_every_help_works_and_shows_flags_without_a_bool_type(words, capsys, monkeypatch):
    out = _help(capsys, words, monkeypatch)
    assert "Usage:" in out
    assert "<bool>" not in out


def _id(case) -> str:
    return " ".join([*case[0], case[1]])


@pytest.mark.parametrize("words, option, enum, args", CHOICES, ids=[_id(c) for c in CHOICES])
def test_help_lists_every_choice(words, option, enum: Type[Enum], args, capsys, monkeypatch):
    out = _help(capsys, words, monkeypatch)
    line = next(ln for ln in out.splitlines() if ln.lstrip("│ ").startswith(option + " "))
    for member in enum:
        assert member.value in line, f"{' '.join(words)} {option}: {member.value} not listed"


@pytest.mark.parametrize("words, option, enum, args", CHOICES, ids=[_id(c) for c in CHOICES])
def test_a_bad_choice_is_a_usage_error(words, option, enum, args, capsys):
    assert main([*words, *args, option, "no-such-choice"]) == 2
    err = capsys.readouterr().err
    assert option in err and "no-such-choice" in err


def test_split_enum_matches_the_data_module():
    from edgemnist.data.mnist import SPLITS

    assert {s.value for s in Split} == set(SPLITS)


def test_conflicting_options_are_a_usage_error(capsys):
    assert main(["quantize", "m.pt", "--backend", "torch", "--precision", "fp16"]) == 2
    assert "INT8 only" in capsys.readouterr().err


@pytest.mark.parametrize(
    "words, hidden, shown",
    [
        (["doctor"], ["--root"], ["--strict", "--json"]),
        (["export"], ["--threshold", "--force "], ["--gate", "--keep-failed", "--out "]),
        (["quantize"], ["--threshold", "--force "], ["--gate", "--keep-failed", "--out "]),
        (["verify"], ["--threshold"], ["--gate"]),
        (["pipeline"], ["--threshold", "--force ", "--out "], ["--gate", "--keep-failed"]),
        (["train"], ["--out "], ["--out-dir"]),
        (["eval"], ["--out "], ["--out-dir"]),
        (["bench"], ["--out "], ["--out-dir", "--gate", "--threads"]),
        (["build-engine"], ["--force-rebuild", "--out "], ["--force", "--out-dir"]),
        (["robustness"], ["--out "], ["--out-dir", "--threads", "--json"]),
    ],
)
def test_vocabulary_shown_and_old_spellings_hidden(words, hidden, shown, capsys, monkeypatch):
    out = _help(capsys, words, monkeypatch) + " "
    for opt in hidden:
        assert opt not in out, f"{words}: {opt.strip()} should be hidden"
    for opt in shown:
        assert opt in out, f"{words}: {opt.strip()} missing"


def test_a_deprecated_spelling_still_works_and_warns(tmp_path, capsys):
    # --force-rebuild is parsed as --force; the command then fails on the missing model (exit 1)
    assert main(["build-engine", str(tmp_path / "absent.onnx"), "--force-rebuild"]) == 1
    err = capsys.readouterr().err
    assert "--force-rebuild is deprecated: use --force" in err
    assert "absent.onnx" in err


def test_renamed_prefers_the_old_spelling_only_when_given(capsys):
    from edgemnist.cli.common import renamed

    assert renamed(0.1, None, "--threshold", "--gate") == 0.1
    assert capsys.readouterr().err == ""
    assert renamed(0.1, 0.5, "--threshold", "--gate") == 0.5
    assert "--threshold is deprecated: use --gate" in capsys.readouterr().err
    assert renamed(False, False, "--force", "--keep-failed") is False


def test_formats_json_lists_the_table_and_what_runs_here(capsys):
    assert main(["formats", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["formats"]
    assert [r["name"] for r in rows] == list(formats.names())
    by_name = {r["name"]: r for r in rows}
    assert by_name["onnx"]["runs_here"] is True  # onnxruntime is a dev dependency
    assert all(isinstance(r["runs_here"], bool) and r["runs_here_detail"] for r in rows)
    assert by_name["onnx-qdq"]["made_by"].startswith("edgemnist quantize")


def test_formats_table_fits_a_log(capsys):
    assert main(["formats"]) == 0
    out = capsys.readouterr().out
    assert "onnxruntime-optimized" in out and "…" not in out  # nothing truncated at 80 columns


def test_cli_imports_no_private_typer_module():
    private = re.compile(r"^typer\._|^click\._")
    for path in sorted((REPO / "edgemnist").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            bad = [n for n in names if private.match(n)]
            assert not bad, f"{path.relative_to(REPO)} imports {bad}"
