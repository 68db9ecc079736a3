"""Default locations of what edgemnist writes, each overridable (tests stay hermetic).

- ``EDGEMNIST_HOME`` (default: the user data directory, e.g. ``~/.local/share/edgemnist``):
  the TensorRT timing cache (``cache/tensorrt/``), ``data preview`` PNGs (``previews/``) and,
  when the variable is set, ``bench`` results (``benchmarks/<host>/``).
- ``EDGEMNIST_DATA`` (default: ``<user cache>/edgemnist/mnist``): the MNIST files.
- ``EDGEMNIST_RUNS`` (default: ``runs/`` in the working directory): training run directories.
- ``engines/`` in the working directory: ``pipeline`` outputs (``--out-dir`` changes it).

Commands given an explicit ``--out``/``--out-dir`` write there instead.
"""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    """Root of caches and previews (see the module docstring for what lives where)."""
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
