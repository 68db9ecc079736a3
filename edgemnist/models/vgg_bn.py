"""A small VGG: four 3x3 convs (32, 32, 64, 64) with BatchNorm, two max-pools, one hidden FC."""

from __future__ import annotations

import torch
from torch import nn


def conv_bn_relu(c_in: int, c_out: int, bn_momentum: float = 0.1) -> nn.Sequential:
    """3x3 conv (no bias: BatchNorm has one) + BatchNorm + ReLU."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(c_out, momentum=bn_momentum),
        nn.ReLU(inplace=True),
    )


class VGGBN(nn.Module):
    def __init__(
        self,
        widths: tuple = (32, 32, 64, 64),
        hidden: int = 256,
        dropout: float = 0.3,
        bn_momentum: float = 0.1,
        num_classes: int = 10,
    ) -> None:
        super().__init__()
        w1, w2, w3, w4 = widths
        self.features = nn.Sequential(
            conv_bn_relu(1, w1, bn_momentum),
            conv_bn_relu(w1, w2, bn_momentum),
            nn.MaxPool2d(2),  # 14x14
            conv_bn_relu(w2, w3, bn_momentum),
            conv_bn_relu(w3, w4, bn_momentum),
            nn.MaxPool2d(2),  # 7x7
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(w4 * 7 * 7, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))
