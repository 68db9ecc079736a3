"""LeNet-5 (LeCun et al., 1998) for 28x28 input: the first conv is padded to keep 28x28.

The classic uses tanh and average pooling; ReLU and max pooling are the modern defaults.
"""

from __future__ import annotations

import torch
from torch import nn


class LeNet5(nn.Module):
    def __init__(self, activation: str = "relu", pool: str = "max", num_classes: int = 10) -> None:
        super().__init__()
        act = {"relu": nn.ReLU, "tanh": nn.Tanh}[activation]
        pool_cls = {"max": nn.MaxPool2d, "avg": nn.AvgPool2d}[pool]
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, kernel_size=5, padding=2),  # C1: 6@28x28
            act(),
            pool_cls(2),  # S2: 6@14x14
            nn.Conv2d(6, 16, kernel_size=5),  # C3: 16@10x10
            act(),
            pool_cls(2),  # S4: 16@5x5
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(16 * 5 * 5, 120),  # C5
            act(),
            nn.Linear(120, 84),  # F6
            act(),
            nn.Linear(84, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))
