"""Shared fixtures. Integration tests read MNIST from ../shared/data/mnist (or EDGEMNIST_DATA)
through the real download-and-verify path, into a per-session temporary data directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_mnist() -> Path | None:
    """The local MNIST mirror: EDGEMNIST_TEST_MIRROR, else ../shared/data/mnist."""
    for cand in (os.environ.get("EDGEMNIST_TEST_MIRROR"), REPO.parent / "shared/data/mnist"):
        if cand and (Path(cand) / "t10k-labels-idx1-ubyte.gz").exists():
            return Path(cand)
    return None


@pytest.fixture(autouse=True)
def _hermetic(tmp_path_factory, monkeypatch):
    """Every test gets its own EDGEMNIST_HOME; EDGEMNIST_DEBUG is off."""
    monkeypatch.setenv("EDGEMNIST_HOME", str(tmp_path_factory.mktemp("home")))
    monkeypatch.delenv("EDGEMNIST_DEBUG", raising=False)
    monkeypatch.delenv("EDGEMNIST_MNIST_MIRROR", raising=False)


@pytest.fixture(scope="session")
def mnist_dir(tmp_path_factory) -> Path:
    """A data directory filled by `download()` from the local mirror (verified)."""
    mirror = shared_mnist()
    if mirror is None:
        pytest.skip("MNIST not found: put it in ../shared/data/mnist or set EDGEMNIST_TEST_MIRROR")
    from edgemnist.data.mnist import download

    root = tmp_path_factory.mktemp("mnist")
    download(root, mirror=str(mirror))
    return root


@pytest.fixture
def mnist_env(mnist_dir, monkeypatch) -> Path:
    """EDGEMNIST_DATA points at the verified session data directory."""
    monkeypatch.setenv("EDGEMNIST_DATA", str(mnist_dir))
    return mnist_dir
