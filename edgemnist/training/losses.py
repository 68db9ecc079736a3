"""Loss functions selected by ``train.loss`` in a recipe."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from edgemnist.training.recipe import TrainSection


class FocalLoss(nn.Module):
    """Focal loss (Lin et al., 2017): ``-alpha_t (1 - p_t)^gamma log p_t``.

    ``gamma = 0`` and ``alpha = 0`` reduce it to cross-entropy. ``alpha`` > 0 weights the true
    class by ``alpha`` (the multi-class reading of the paper's binary alpha).
    """

    def __init__(self, gamma: float = 2.0, alpha: float = 0.0) -> None:
        super().__init__()
        self.gamma = gamma
        self.alpha = alpha

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        logp = F.log_softmax(logits, dim=1).gather(1, target[:, None]).squeeze(1)
        loss = -((1.0 - logp.exp()) ** self.gamma) * logp
        if self.alpha > 0:
            loss = self.alpha * loss
        return loss.mean()


def make_loss(train: TrainSection) -> nn.Module:
    """Build the loss named in a recipe's ``[train]`` table."""
    kind = train.loss
    if kind == "label_smoothing":
        return nn.CrossEntropyLoss(label_smoothing=float(train.label_smoothing))
    if kind == "focal":
        return FocalLoss(float(train.focal_gamma), float(train.focal_alpha))
    return nn.CrossEntropyLoss()


def distillation_loss(
    student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float
) -> torch.Tensor:
    """``T^2 * KL(softmax(teacher / T) || softmax(student / T))``, batch mean.

    The ``T^2`` keeps the soft term's gradients on the scale of the hard loss's as ``T`` grows
    (Hinton, Vinyals & Dean, 2015, section 2).
    """
    t = float(temperature)
    return F.kl_div(
        F.log_softmax(student_logits / t, dim=1),
        F.log_softmax(teacher_logits / t, dim=1),
        reduction="batchmean",
        log_target=True,
    ) * (t * t)
