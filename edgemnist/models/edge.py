"""EdgeNet: a deployment-first MNIST model (< 20 k parameters, ~0.5 M MACs).

Design, measured with ONNX Runtime at batch 1 on one CPU thread (see benchmarks/):
- A stride-2 3x3 stem brings 28x28 down to 14x14 at once: full-resolution layers are where
  MACs go, and MNIST strokes are 2-3 px wide, so a 3x3 stride-2 window still sees every stroke.
- Depthwise-separable blocks (MobileNet-style 3x3 depthwise + 1x1 pointwise) cost ~1/8 of a
  full 3x3 conv at these widths. Each conv is followed by BatchNorm (folded into the conv at
  export) and ReLU (fused by ONNX Runtime), so the deployed graph is just convs, one pool, a GEMM.
- Global average pooling + one linear layer: no large flatten-FC (which would dominate
  parameters) and translation robustness for free.
- Plain ReLU rather than ReLU6/SiLU/hard-swish: fuses everywhere (ORT, TensorRT 8.2, INT8).
"""

from __future__ import annotations

from typing import Sequence, Tuple

import torch
from torch import nn


def conv_bn_relu(
    c_in: int,
    c_out: int,
    kernel: int = 3,
    stride: int = 1,
    groups: int = 1,
    bn_momentum: float = 0.1,
) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(c_out, momentum=bn_momentum),
        nn.ReLU(inplace=True),
    )


class SeparableBlock(nn.Sequential):
    """3x3 depthwise (stride s) + 1x1 pointwise, each with BatchNorm + ReLU."""

    def __init__(self, c_in: int, c_out: int, stride: int, bn_momentum: float) -> None:
        super().__init__(
            conv_bn_relu(c_in, c_in, 3, stride, groups=c_in, bn_momentum=bn_momentum),
            conv_bn_relu(c_in, c_out, 1, bn_momentum=bn_momentum),
        )


class EdgeNet(nn.Module):
    """Stem (3x3, stride 2) -> separable blocks -> global average pool -> linear.

    Args:
        stem: channels of the stride-2 stem conv.
        blocks: ``(channels, stride)`` per separable block; stride 2 halves the resolution.
        dropout: before the classifier.
        bn_momentum: PyTorch convention (0.1 default = Keras 0.9).
    """

    def __init__(
        self,
        stem: int = 16,
        blocks: Sequence[Tuple[int, int]] = ((32, 1), (64, 2), (64, 1), (96, 1)),
        dropout: float = 0.0,
        bn_momentum: float = 0.1,
        num_classes: int = 10,
    ) -> None:
        super().__init__()
        layers = [conv_bn_relu(1, stem, 3, 2, bn_momentum=bn_momentum)]
        c = stem
        for c_out, stride in blocks:
            layers.append(SeparableBlock(c, int(c_out), int(stride), bn_momentum))
            c = int(c_out)
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(c, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.features(x)).flatten(1)
        return self.classifier(self.dropout(x))
