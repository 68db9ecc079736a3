from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from edgemnist.training.losses import FocalLoss, make_loss  # noqa: E402
from edgemnist.training.recipe import DEFAULTS  # noqa: E402


def test_focal_with_gamma_zero_is_cross_entropy():
    g = torch.Generator().manual_seed(0)
    logits, target = torch.randn(16, 10, generator=g), torch.randint(0, 10, (16,), generator=g)
    ce = torch.nn.functional.cross_entropy(logits, target)
    assert torch.allclose(FocalLoss(gamma=0.0)(logits, target), ce)
    # focusing down-weights easy examples: the focal loss is never above cross-entropy
    assert FocalLoss(gamma=2.0)(logits, target) < ce


def test_make_loss_by_name():
    train = dict(DEFAULTS["train"])
    train.update(loss="label_smoothing", label_smoothing=0.1)
    assert make_loss(train).label_smoothing == 0.1
    train["loss"] = "focal"
    assert isinstance(make_loss(train), FocalLoss)
