"""EdgeNet: a deployment-first MNIST model (19.1 k parameters, 0.78 M MACs by default).

Design, measured with ONNX Runtime at batch 1 on one CPU thread (AMD EPYC, AVX2), and by
training each candidate on this machine (train/README.md, "EdgeNet: what the runs say"):

- A 5x5 stride-2 stem brings 28x28 down to 14x14 at once: full-resolution layers are where
  MACs go, and a 5x5 window at stride 2 still sees every 2-3 px stroke (a 3x3 stem was no
  faster and slightly less accurate).
- Dense 3x3 convs, not depthwise-separable blocks. The first EdgeNet (``blocks`` with
  ``"sep"``, kept as ``train/edge-separable.toml``) had fewer MACs per layer, but ORT's depthwise
  kernels are memory-bound and each separable block is two nodes: it ran at ~57 us p50 against
  ~25-40 us for the dense nets with similar parameters, and was less accurate (99.36 %).
- Depth at 7x7, where a 3x3 conv of 24 channels costs 5.2 k parameters but only 0.25 M MACs:
  a stride-2 conv to 24 channels, two more 24-channel convs, then a conv down to 8 channels.
  The small models underfit (training accuracy under augmentation stays below test accuracy),
  so depth is what the parameter budget is best spent on: v2 (one 32-channel stride-2 conv and
  one 16-channel conv, 17.6 k parameters, 0.54 M MACs, now ``train/edge-fast.toml``) reached
  99.49 +- 0.08 % over three seeds, a three-conv 24-channel body 99.56 +- 0.05 %, and this
  four-conv body 99.60 +- 0.01 % (99.58 +- 0.04 % over five seeds).
- **Flatten** into one linear layer: the classifier sees where each feature is. A
  global-average-pool head with the same body lost ~0.2 points (99.30 vs 99.51 %, 30 epochs).
  Narrowing the last conv to 8 channels keeps the flatten layer at 3.9 k weights.
- BatchNorm after each conv (folded into the conv at export) and plain ReLU (fused by ONNX
  Runtime, TensorRT 8.2 and INT8): the deployed graph is five Conv nodes, a Flatten and a Gemm.
"""

from __future__ import annotations

from typing import Any, Sequence

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


class ResidualConv(nn.Sequential):
    """3x3 conv + BN with an identity shortcut: ``relu(x + bn(conv(x)))`` (same channels, stride 1).

    Its parameters have the same names as :func:`conv_bn_relu`'s. ONNX Runtime folds the BN,
    and on a CPU with its NCHWc layout fuses the Add and the ReLU into the conv node, so the
    shortcut costs no graph node.
    """

    def __init__(self, channels: int, bn_momentum: float = 0.1) -> None:
        super().__init__(
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False),
            nn.BatchNorm2d(channels, momentum=bn_momentum),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + super().forward(x))


BlockSpec = Sequence[Any]  # (channels, stride) or (channels, stride, "conv" | "sep")


class EdgeNet(nn.Module):
    """Stride-2 stem -> conv blocks -> flatten (or global average pool) -> one linear layer.

    Args:
        stem: channels of the stride-2 stem conv.
        stem_kernel: its kernel size (5 sees a whole stroke pair at stride 2; 3 is cheaper).
        blocks: ``(channels, stride, kind)`` per block; stride 2 halves the resolution. ``kind``
            is ``"conv"`` (dense 3x3 + BN + ReLU) or ``"sep"`` (3x3 depthwise + 1x1 pointwise,
            each with BN + ReLU); a two-element block is ``"sep"`` (the first EdgeNet's form).
        squeeze: channels of an optional 1x1 conv after the blocks (0 = none), to shrink what
            the flatten head sees.
        head: ``"flatten"`` (keeps where each feature is: the classifier sees all 7x7 cells)
            or ``"gap"`` (global average pool: fewer parameters, position-blind).
        dropout: before the classifier.
        residual: give every dense stride-1 block whose input and output channels match an
            identity shortcut (:class:`ResidualConv`): free in ONNX Runtime on a CPU, it
            helps a thin, deep body train.
        bn_momentum: PyTorch convention (0.1 default = Keras 0.9).
    """

    def __init__(
        self,
        stem: int = 12,
        stem_kernel: int = 5,
        blocks: Sequence[BlockSpec] = (
            (24, 2, "conv"),
            (24, 1, "conv"),
            (24, 1, "conv"),
            (8, 1, "conv"),
        ),
        squeeze: int = 0,
        head: str = "flatten",
        dropout: float = 0.0,
        bn_momentum: float = 0.1,
        num_classes: int = 10,
        residual: bool = False,
    ) -> None:
        super().__init__()
        if head not in ("flatten", "gap"):
            raise TypeError(f"head must be 'flatten' or 'gap', got {head!r}")
        layers = [conv_bn_relu(1, stem, int(stem_kernel), 2, bn_momentum=bn_momentum)]
        size = _out_size(28, int(stem_kernel), 2)
        c = stem
        for spec in blocks:
            c_out, stride = int(spec[0]), int(spec[1])
            kind = str(spec[2]) if len(spec) > 2 else "sep"
            if kind == "sep":
                layers.append(SeparableBlock(c, c_out, stride, bn_momentum))
            elif kind == "conv" and residual and stride == 1 and c == c_out:
                layers.append(ResidualConv(c, bn_momentum))
            elif kind == "conv":
                layers.append(conv_bn_relu(c, c_out, 3, stride, bn_momentum=bn_momentum))
            else:
                raise TypeError(f"block kind must be 'conv' or 'sep', got {kind!r}")
            size = _out_size(size, 3, stride)
            c = c_out
        if squeeze:
            layers.append(conv_bn_relu(c, int(squeeze), 1, bn_momentum=bn_momentum))
            c = int(squeeze)
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1) if head == "gap" else nn.Identity()
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(c if head == "gap" else c * size * size, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.features(x)).flatten(1)
        return self.classifier(self.dropout(x))


def _out_size(size: int, kernel: int, stride: int) -> int:
    """Output side of a conv with ``padding = kernel // 2``."""
    return (size + 2 * (kernel // 2) - kernel) // stride + 1
