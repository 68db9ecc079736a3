"""Parameter and MAC counts (multiply-accumulates for one 1x28x28 image)."""

from __future__ import annotations

from typing import Any, Dict

import torch
from torch import nn


def count_params(model: nn.Module) -> int:
    """Number of parameters (trainable or not; BatchNorm running stats excluded)."""
    return sum(p.numel() for p in model.parameters())


def count_macs(model: nn.Module, input_shape: tuple = (1, 1, 28, 28)) -> int:
    """MACs of one forward pass, counted on Conv2d and Linear layers via forward hooks.

    Elementwise work (BatchNorm, activations, pooling, attention gates' sigmoids) is not
    counted: by convention MACs measure the multiply-accumulates of weights, which dominate.
    """
    total = 0

    def conv_hook(mod: nn.Conv2d, _inp: Any, out: torch.Tensor) -> None:
        nonlocal total
        k = mod.kernel_size[0] * mod.kernel_size[1]
        total += out.numel() * (mod.in_channels // mod.groups) * k

    def linear_hook(mod: nn.Linear, _inp: Any, out: torch.Tensor) -> None:
        nonlocal total
        total += out.numel() * mod.in_features

    hooks = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(linear_hook))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros(input_shape))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    return total


def summary(model: nn.Module) -> Dict[str, int]:
    return {"params": count_params(model), "macs": count_macs(model)}
