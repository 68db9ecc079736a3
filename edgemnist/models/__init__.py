"""Model zoo (host side, torch). A registry maps a name to a constructor.

Example:
    >>> from edgemnist.models import build_model
    >>> model = build_model("lenet5")  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any, Callable, Dict

from edgemnist.errors import ConfigError

REGISTRY: Dict[str, str] = {
    # name -> "module:Class"; imported on demand so listing names needs no torch.
    "lenet5": "edgemnist.models.lenet5:LeNet5",
    "vgg_bn": "edgemnist.models.vgg_bn:VGGBN",
    "resnet18_cbam": "edgemnist.models.resnet_cbam:ResNet18CBAM",
    "edge": "edgemnist.models.edge:EdgeNet",
}


def model_class(name: str) -> Callable[..., Any]:
    """Return the class registered under ``name``."""
    import importlib

    if name not in REGISTRY:
        raise ConfigError(f"unknown model {name!r}: choose one of {', '.join(sorted(REGISTRY))}")
    module, cls = REGISTRY[name].split(":")
    return getattr(importlib.import_module(module), cls)


def full_args(name: str, kwargs: Dict[str, Any]) -> Dict[str, Any]:
    """``kwargs`` completed with the constructor's defaults, as plain lists/numbers/strings.

    Checkpoints store this, so a model rebuilt from one does not depend on defaults that a later
    version of the code may change.
    """
    import inspect

    def plain(value: Any) -> Any:
        if isinstance(value, (tuple, list)):
            return [plain(v) for v in value]
        return value

    params = inspect.signature(model_class(name)).parameters
    out = {
        k: plain(p.default)
        for k, p in params.items()
        if p.default is not inspect.Parameter.empty and p.kind is p.POSITIONAL_OR_KEYWORD
    }
    out.update({k: plain(v) for k, v in kwargs.items()})
    return out


def build_model(name: str, **kwargs: Any) -> Any:
    """Instantiate model ``name`` with constructor ``kwargs`` (unknown kwargs -> ConfigError)."""
    cls = model_class(name)
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"model {name!r}: bad arguments {kwargs}: {exc}") from None
