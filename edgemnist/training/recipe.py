"""Training recipes: TOML files in ``train/``, one per model (variants: ``<model>-<variant>.toml``).

A recipe has four tables. Every key has a default here, so a recipe states only what differs;
an unknown key is an error (a typo must not silently train something else).

```toml
[model]            # name + constructor arguments (free-form, checked by the model)
name = "edge"
[data]             # augmentation (edgemnist.data.augment.AugmentConfig) and subset size
augment = true
rotation = 15.0
[train]            # optimisation
epochs = 20
[eval]
batch_size = 1000
```

BatchNorm momentum follows PyTorch's convention: ``running = (1 - m) * running + m * batch`` with
``m = 0.1`` by default. Keras calls ``1 - m`` its momentum (0.9, 0.99): Keras 0.99 = PyTorch 0.01.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any, Dict, Iterable, Optional

from edgemnist.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on older Pythons only
    import tomli as tomllib

#: Defaults for every recipe key except the free-form ``model`` table.
DEFAULTS: Dict[str, Dict[str, Any]] = {
    "data": {
        "augment": False,
        "rotation": 15.0,  # degrees, uniform in [-r, r]
        "scale": [0.9, 1.1],  # uniform isotropic scale factor [min, max]
        "translate": 2.0,  # pixels, uniform in [-t, t]
        "elastic_alpha": 34.0,
        "elastic_sigma": 5.0,
        "elastic_p": 0.5,  # fraction of images that also get an elastic distortion
        "noise_std": 0.0,  # fraction of the pixel range (0.05 = ~13 grey levels)
        # the last N epochs train on the original images, without augmentation: the test digits
        # are clean and centred, and a small model spends its last steps fitting those
        "clean_last_epochs": 0,
        "limit": 0,  # 0 = full 60 000 training images
        "test_limit": 0,  # 0 = full 10 000 test images
    },
    "train": {
        "epochs": 10,
        "batch_size": 128,
        "optimizer": "sgd",  # sgd | adamw
        "lr": 0.05,
        "momentum": 0.9,
        "nesterov": True,
        "weight_decay": 5e-4,
        "schedule": "onecycle",  # onecycle | cosine | none
        "eta_min": 0.0,  # cosine: final learning rate
        "t_max": 0,  # cosine: period in epochs (0 = the whole run)
        "pct_start": 0.25,  # onecycle: fraction of steps spent warming up
        "div_factor": 25.0,  # onecycle: initial lr = lr / div_factor
        "final_div_factor": 1e4,  # onecycle: final lr = initial lr / final_div_factor
        "loss": "cross_entropy",  # cross_entropy | label_smoothing | focal
        "label_smoothing": 0.1,  # epsilon, for loss = label_smoothing
        "focal_gamma": 2.0,
        "focal_alpha": 0.0,  # 0 = no class weighting; else weight of the true class
        "seed": 0,
        "threads": 0,  # 0 = torch's default (all cores)
        "deterministic": True,
        # NHWC tensors: ~2x faster CPU training for depthwise convs (oneDNN), slower for some
        # dense convs; measure per model.
        "channels_last": False,
        "eval_every": 1,  # epochs between test-set evaluations (the last epoch always)
        # cpu | cuda | auto (cuda when torch sees a GPU). Checkpoints are always saved on CPU.
        "device": "cpu",
        # knowledge distillation: a trained checkpoint whose softened outputs the student also
        # matches (Hinton et al., 2015); "" = off. loss = (1 - a) * task loss
        # + a * T^2 * KL(teacher_T || student_T), a = distill_alpha, T = distill_temperature.
        "distill_from": "",
        "distill_alpha": 0.5,
        "distill_temperature": 4.0,
        # online: the teacher sees every augmented batch (exact; costs a teacher forward pass
        # per batch: vgg_bn on one CPU thread is 5-8x an EdgeNet training step). cached: the
        # teacher's logits on the clean training images, computed once (one pass) and reused
        # for every augmented view of that image.
        "distill_mode": "online",
    },
    "eval": {"batch_size": 1000},
}

CHOICES = {
    "train.optimizer": ("sgd", "adamw"),
    "train.schedule": ("onecycle", "cosine", "none"),
    "train.loss": ("cross_entropy", "label_smoothing", "focal"),
    "train.device": ("cpu", "cuda", "auto"),
    "train.distill_mode": ("online", "cached"),
}


def recipes_dir() -> Path:
    """The recipes shipped inside the package (``edgemnist/recipes/``), so that
    ``edgemnist train edge`` works from an installed wheel as well as from a checkout."""
    return Path(__file__).resolve().parents[1] / "recipes"


def find_recipe(name_or_path: str) -> Path:
    """Resolve a recipe file, a name (``edge``, ``edge.toml``) or the pre-wheel spelling
    ``train/edge.toml`` (the recipes lived in ``train/`` before they moved into the package)."""
    p = Path(name_or_path)
    if p.is_file():
        return p
    for cand in (recipes_dir() / p.name, recipes_dir() / f"{p.name}.toml"):
        if cand.is_file() and (p.parent == Path(".") or p.parent.name == "train"):
            return cand
    known = sorted(x.stem for x in recipes_dir().glob("*.toml"))
    raise ConfigError(f"recipe {name_or_path!r} not found (known: {', '.join(known) or 'none'})")


def parse_value(text: str) -> Any:
    """Parse an override value as a TOML literal (``0.1``, ``true``, ``"sgd"``, ``[1, 2]``);
    bare words fall back to strings, so ``--set train.optimizer=adamw`` works unquoted."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_override(recipe: Dict[str, Any], item: str) -> None:
    """Apply one ``section.key=value`` override in place (unknown keys -> ConfigError)."""
    if "=" not in item:
        raise ConfigError(f"--set {item!r}: expected section.key=value, e.g. train.epochs=5")
    key, value = item.split("=", 1)
    parts = key.strip().split(".")
    if len(parts) != 2:
        raise ConfigError(f"--set {key!r}: expected section.key, e.g. train.lr")
    section, name = parts
    if section not in recipe:
        raise ConfigError(f"unknown recipe section {section!r} (known: {', '.join(recipe)})")
    recipe[section][name] = parse_value(value.strip())


def resolve(raw: Dict[str, Any], overrides: Iterable[str] = (), source: str = "<dict>") -> Dict:
    """Merge ``raw`` over the defaults, apply overrides and validate.

    Args:
        raw: the parsed TOML (``model`` table required, with ``name``).
        overrides: ``section.key=value`` strings.
        source: file name for error messages.

    Returns:
        The complete recipe dict (``model``, ``data``, ``train``, ``eval``).
    """
    from edgemnist.models import REGISTRY

    recipe: Dict[str, Any] = copy.deepcopy(DEFAULTS)
    recipe["model"] = {}
    for section, table in raw.items():
        if section not in recipe:
            raise ConfigError(
                f"{source}: unknown section [{section}] (known: model, data, train, eval)"
            )
        if not isinstance(table, dict):
            raise ConfigError(f"{source}: [{section}] must be a table")
        recipe[section].update(table)
    for item in overrides:
        apply_override(recipe, item)
    for section, defaults in DEFAULTS.items():
        unknown = sorted(set(recipe[section]) - set(defaults))
        if unknown:
            raise ConfigError(
                f"{source}: unknown recipe key {section}.{unknown[0]} "
                f"(known {section} keys: {', '.join(defaults)})"
            )
        for key, default in defaults.items():
            value = recipe[section][key]
            if isinstance(default, bool) and not isinstance(value, bool):
                raise ConfigError(f"{source}: {section}.{key} must be true or false")
            if isinstance(default, (int, float)) and not isinstance(default, bool):
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise ConfigError(f"{source}: {section}.{key} must be a number, got {value!r}")
                recipe[section][key] = type(default)(value) if isinstance(default, float) else value
    for dotted, allowed in CHOICES.items():
        section, key = dotted.split(".")
        if recipe[section][key] not in allowed:
            raise ConfigError(
                f"{source}: {dotted} = {recipe[section][key]!r} (choose {', '.join(allowed)})"
            )
    name = recipe["model"].get("name")
    if name not in REGISTRY:
        raise ConfigError(
            f"{source}: unknown model {name!r} in [model] (choose {', '.join(sorted(REGISTRY))})"
        )
    if recipe["train"]["epochs"] < 1:
        raise ConfigError(f"{source}: train.epochs must be >= 1")
    tr = recipe["train"]
    if not 0 <= recipe["data"]["clean_last_epochs"] <= tr["epochs"]:
        raise ConfigError(f"{source}: data.clean_last_epochs must be in [0, train.epochs]")
    if not isinstance(tr["distill_from"], str):
        raise ConfigError(f'{source}: train.distill_from must be a checkpoint path or ""')
    if not 0.0 <= tr["distill_alpha"] <= 1.0 or tr["distill_temperature"] <= 0:
        raise ConfigError(
            f"{source}: train.distill_alpha must be in [0, 1] and train.distill_temperature > 0"
        )
    return recipe


def load_recipe(name_or_path: str, overrides: Iterable[str] = ()) -> Dict[str, Any]:
    """Read a recipe file (or name in ``train/``), apply overrides, validate.

    Example:
        >>> r = load_recipe("edge", ["train.epochs=1"])  # doctest: +SKIP
    """
    path = find_recipe(name_or_path)
    try:
        raw = tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read recipe {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML ({exc})") from None
    recipe = resolve(raw, overrides, source=str(path))
    recipe["name"] = path.stem
    return recipe


def model_args(recipe: Dict[str, Any]) -> Dict[str, Any]:
    """Constructor arguments of the recipe's model (its ``[model]`` table minus ``name``)."""
    return {k: v for k, v in recipe["model"].items() if k != "name"}


def recipe_name(recipe: Dict[str, Any], default: Optional[str] = None) -> str:
    return str(recipe.get("name") or default or recipe["model"]["name"])
