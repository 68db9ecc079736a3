"""Shared fixtures. Integration tests read MNIST from ../shared/data/mnist (or EDGEMNIST_DATA)
through the real download-and-verify path, into a per-session temporary data directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

#: fixtures that read MNIST or train a model: a test using one is in the integration tier
INTEGRATION_FIXTURES = {"mnist_dir", "mnist_env", "tiny_checkpoint"}
#: markers of tests that need a device; any of them puts a test in the hardware tier
HARDWARE_MARKERS = {"gpu", "tensorrt", "jetson", "camera"}


def pytest_collection_modifyitems(config, items):
    """Tiers by marker (``make test-unit``: neither; ``make test``: not hardware).

    ``integration`` is added to every test under tests/integration/ and to every test that uses
    MNIST or trains (through the fixtures above) wherever its file lives, so the unit tier never
    trains a model; ``hardware`` to every test under tests/hardware/ or marked
    gpu/tensorrt/jetson/camera.
    """
    for item in items:
        parts = Path(str(item.fspath)).parts
        if "integration" in parts or INTEGRATION_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)
        if "hardware" in parts or HARDWARE_MARKERS & {m.name for m in item.iter_markers()}:
            item.add_marker(pytest.mark.hardware)


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


@pytest.fixture(scope="session")
def tiny_checkpoint(mnist_dir, tmp_path_factory) -> Path:
    """A LeNet-5 checkpoint trained 300 steps on 5 000 train images (1 thread, seeded, ~95 %)."""
    import torch

    from edgemnist.constants import normalize
    from edgemnist.data.mnist import load_split
    from edgemnist.models import build_model
    from edgemnist.training.checkpoint import make_checkpoint, save_checkpoint

    torch.set_num_threads(1)
    torch.manual_seed(0)
    images, labels = load_split("train", root=mnist_dir)
    x = torch.from_numpy(normalize(images[:5000]))
    y = torch.from_numpy(labels[:5000].astype("int64"))
    model = build_model("lenet5")
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    for _ in range(300):
        idx = torch.randint(0, len(x), (64,))
        loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    path = tmp_path_factory.mktemp("tiny") / "model.pt"
    return save_checkpoint(make_checkpoint(model.eval(), "lenet5", {}), path)


class Interrupted(Exception):
    """Raised by the ``interrupt`` fixture's callback: a training run stopped after an epoch."""


@pytest.fixture
def interrupt():
    """``(Interrupted, on_epoch)``: an ``on_epoch`` callback that stops training after epoch 1
    (after its checkpoint is written), to test ``--resume``."""

    def on_epoch(row):
        raise Interrupted(row["epoch"])

    return Interrupted, on_epoch


@pytest.fixture(scope="session")
def benchmark_script():
    """``load(name)``: import ``benchmarks/<name>.py`` (scripts, not a package) as a module."""
    import importlib.util

    def load(name: str):
        spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)  # type: ignore[union-attr]
        return module

    return load
