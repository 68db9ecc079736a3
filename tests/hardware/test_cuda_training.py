"""Training on a CUDA GPU (``train.device=cuda``): checkpoints come back CPU-loadable,
deterministic runs repeat exactly, resume works across the device boundary.

Skipped unless torch sees a CUDA device. Run on a GPU workstation:
``pytest tests/hardware/test_cuda_training.py``.
"""

from __future__ import annotations

import importlib.util

import pytest

torch = pytest.importorskip("torch")

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.integration,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="torch sees no CUDA GPU"),
]

COMMON = dict(limit=2000, threads=1, quiet=True)
# augmentation runs on the CPU (OpenCV) either way; it is on where OpenCV is installed
AUGMENT = importlib.util.find_spec("cv2") is not None
SETS = ["train.device=cuda", "train.batch_size=64", f"data.augment={str(AUGMENT).lower()}"]


def test_cuda_run_learns_and_saves_a_cpu_checkpoint(mnist_env, tmp_path):
    from edgemnist.training.checkpoint import model_from_checkpoint
    from edgemnist.training.trainer import train_recipe

    result = train_recipe("lenet5", overrides=SETS, epochs=2, run_dir=tmp_path / "a", **COMMON)
    assert result.metrics["device"].startswith("cuda: ")
    assert result.metrics["test_accuracy"] > 0.8  # 2 000 images, 2 epochs
    raw = torch.load(result.checkpoint, map_location="cpu", weights_only=True)
    assert all(t.device.type == "cpu" for t in raw["state_dict"].values())
    model = model_from_checkpoint(result.checkpoint)  # on a CPU
    with torch.no_grad():
        assert model(torch.zeros(3, 1, 28, 28)).shape == (3, 10)


def test_deterministic_cuda_runs_repeat_exactly(mnist_env, tmp_path):
    from edgemnist.training.trainer import train_recipe

    runs = [
        train_recipe("edge", overrides=SETS, epochs=1, run_dir=tmp_path / f"r{i}", **COMMON)
        for i in range(2)
    ]
    a, b = (torch.load(r.checkpoint, weights_only=True)["state_dict"] for r in runs)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert runs[0].history[-1]["train_loss"] == runs[1].history[-1]["train_loss"]


def test_cuda_resume_is_bit_identical_to_an_uninterrupted_run(mnist_env, tmp_path, interrupt):
    from edgemnist.training.trainer import train_recipe

    full = train_recipe("lenet5", overrides=SETS, epochs=2, run_dir=tmp_path / "full", **COMMON)

    Interrupted, stop_after_epoch = interrupt

    part = tmp_path / "part"
    with pytest.raises(Interrupted):
        train_recipe(
            "lenet5", overrides=SETS, epochs=2, run_dir=part, on_epoch=stop_after_epoch, **COMMON
        )
    resumed = train_recipe("lenet5", overrides=SETS, epochs=2, resume=part, **COMMON)
    a = torch.load(full.checkpoint, weights_only=True)["state_dict"]
    b = torch.load(resumed.checkpoint, weights_only=True)["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)
