"""jetson/edgemnist-live.service: what a service needs, and a command line edgemnist accepts.

The unit's ExecStart is expanded with the example environment file the way systemd does
(``${VAR}`` one word, ``$VAR`` split on spaces) and parsed by the real ``live`` command, so a
renamed option or a typo fails here instead of at boot on a Jetson.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Dict, List

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "jetson" / "edgemnist-live.service"
ENV = REPO / "jetson" / "edgemnist-live.env"


def unit_entries() -> Dict[str, List[str]]:
    entries: Dict[str, List[str]] = {}
    for line in UNIT.read_text().splitlines():
        if not line or line.startswith(("#", "[")):
            continue
        key, _, value = line.partition("=")
        entries.setdefault(key.strip(), []).append(value.strip())
    return entries


def env_file() -> Dict[str, str]:
    env = {}
    for line in ENV.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key] = value
    return env


def expand(command: str, env: Dict[str, str]) -> List[str]:
    """systemd's ExecStart expansion: ``${X}`` stays one word, ``$X`` splits on whitespace."""
    words: List[str] = []
    for word in shlex.split(command):
        if re.fullmatch(r"\$[A-Za-z_]\w*", word):
            words.extend(env.get(word[1:], "").split())
        else:
            words.append(re.sub(r"\$\{(\w+)\}", lambda m: env.get(m.group(1), ""), word))
    return words


def test_service_settings() -> None:
    e = unit_entries()
    assert e["User"] == ["edgemnist"] and e["SupplementaryGroups"] == ["video"]
    assert e["Restart"] == ["on-failure"] and e["KillSignal"] == ["SIGTERM"]
    assert "PYTHONUNBUFFERED=1" in e["Environment"]
    assert e["EnvironmentFile"] == ["/etc/default/edgemnist-live"]
    assert e["WantedBy"] == ["multi-user.target"]
    argv = shlex.split(e["ExecStart"][0])
    assert argv[1:5] == ["-u", "-m", "edgemnist", "live"]
    assert "--token" not in argv, "a token on the command line is visible to everyone in ps"


def test_exec_start_is_a_valid_live_command_line() -> None:
    import typer

    from edgemnist.cli.main import app

    env = env_file()
    assert env["EDGEMNIST_SOURCE"] == "csi://0" and env["EDGEMNIST_WEB"].startswith("0.0.0.0:")
    argv = expand(unit_entries()["ExecStart"][0], env)
    live = typer.main.get_command(app).commands["live"]  # type: ignore[attr-defined]
    assert argv[3:5] == ["edgemnist", "live"]
    ctx = live.make_context("live", argv[5:])
    params = ctx.params
    assert params["source"] == "csi://0"
    assert str(params["artifact"]).endswith("model.engine")
    assert params["web"] == "0.0.0.0:8080" and params["show"] is False
    assert params["width"] == 1280 and params["fps"] == 30


def test_token_reaches_the_command_from_the_environment(monkeypatch) -> None:
    import typer

    from edgemnist.cli.main import app

    monkeypatch.setenv("EDGEMNIST_LIVE_TOKEN", "from-env")
    live = typer.main.get_command(app).commands["live"]  # type: ignore[attr-defined]
    ctx = live.make_context("live", ["synthetic://", "m.onnx", "--web", "0.0.0.0:0"])
    assert ctx.params["token"] == "from-env"


def test_env_file_token_is_a_placeholder_to_replace() -> None:
    token = env_file()["EDGEMNIST_LIVE_TOKEN"]
    assert "replace" in token  # never a real secret in the repository
