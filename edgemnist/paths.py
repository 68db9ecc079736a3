"""Every writable location roots here, overridable by environment (tests stay hermetic).

- ``EDGEMNIST_HOME``: root for runs, caches and engines made by commands (default: the user
  data directory, e.g. ``~/.local/share/edgemnist``).
- ``EDGEMNIST_DATA``: where MNIST lives (default: ``<user cache>/edgemnist/mnist``).
"""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    """Root of everything edgemnist writes when no explicit path is given."""
    env = os.environ.get("EDGEMNIST_HOME")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("edgemnist"))


def data_dir() -> Path:
    """Directory holding the MNIST IDX files."""
    env = os.environ.get("EDGEMNIST_DATA")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("edgemnist")) / "mnist"


def runs_dir() -> Path:
    """Default parent of training run directories."""
    env = os.environ.get("EDGEMNIST_RUNS")
    return Path(env).expanduser() if env else Path("runs")


def engines_dir() -> Path:
    """Default parent of build outputs (``engines/<name>/``)."""
    return Path("engines")


def debug() -> bool:
    """True when ``EDGEMNIST_DEBUG`` asks for tracebacks."""
    return os.environ.get("EDGEMNIST_DEBUG", "") not in ("", "0", "false", "no")
