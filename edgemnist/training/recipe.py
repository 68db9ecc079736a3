"""Training recipes: TOML files in ``train/``, one per model (variants: ``<model>-<variant>.toml``).

A recipe has four tables, typed by the dataclasses below (:class:`Recipe` and its sections).
Every key has a default here, so a recipe states only what differs; an unknown key or a value of
the wrong type is an error naming it (a typo must not silently train something else).

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional

from edgemnist.documents import from_dict, to_dict
from edgemnist.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on older Pythons only
    import tomli as tomllib

#: Version of a resolved recipe's JSON (``recipe.json`` in a run directory, the ``recipe`` of a
#: checkpoint). TOML files need not state it; a recipe that names a newer version is refused.
SCHEMA_VERSION = 1


@dataclass
class DataSection:
    """``[data]``: augmentation (:class:`edgemnist.data.augment.AugmentConfig`) and subsets."""

    augment: bool = False
    rotation: float = 15.0  # degrees, uniform in [-r, r]
    scale: List[float] = field(default_factory=lambda: [0.9, 1.1])  # isotropic, [min, max]
    translate: float = 2.0  # pixels, uniform in [-t, t]
    elastic_alpha: float = 34.0
    elastic_sigma: float = 5.0
    elastic_p: float = 0.5  # fraction of images that also get an elastic distortion
    noise_std: float = 0.0  # fraction of the pixel range (0.05 = ~13 grey levels)
    # the last N epochs train on the original images, without augmentation: the test digits
    # are clean and centred, and a small model spends its last steps fitting those
    clean_last_epochs: int = 0
    limit: int = 0  # 0 = full 60 000 training images
    test_limit: int = 0  # 0 = full 10 000 test images


@dataclass
class TrainSection:
    """``[train]``: optimisation."""

    epochs: int = 10
    batch_size: int = 128
    optimizer: str = "sgd"  # sgd | adamw
    lr: float = 0.05
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    schedule: str = "onecycle"  # onecycle | cosine | none
    eta_min: float = 0.0  # cosine: final learning rate
    t_max: int = 0  # cosine: period in epochs (0 = the whole run)
    pct_start: float = 0.25  # onecycle: fraction of steps spent warming up
    div_factor: float = 25.0  # onecycle: initial lr = lr / div_factor
    final_div_factor: float = 1e4  # onecycle: final lr = initial lr / final_div_factor
    loss: str = "cross_entropy"  # cross_entropy | label_smoothing | focal
    label_smoothing: float = 0.1  # epsilon, for loss = label_smoothing
    focal_gamma: float = 2.0
    focal_alpha: float = 0.0  # 0 = no class weighting; else weight of the true class
    seed: int = 0
    threads: int = 0  # 0 = torch's default (all cores)
    deterministic: bool = True
    # NHWC tensors: ~2x faster CPU training for depthwise convs (oneDNN), slower for some
    # dense convs; measure per model.
    channels_last: bool = False
    eval_every: int = 1  # epochs between test-set evaluations (the last epoch always)
    # cpu | cuda | auto (cuda when torch sees a GPU). Checkpoints are always saved on CPU.
    device: str = "cpu"
    # knowledge distillation: a trained checkpoint whose softened outputs the student also
    # matches (Hinton et al., 2015); "" = off. loss = (1 - a) * task loss
    # + a * T^2 * KL(teacher_T || student_T), a = distill_alpha, T = distill_temperature.
    distill_from: str = ""
    distill_alpha: float = 0.5
    distill_temperature: float = 4.0
    # online: the teacher sees every augmented batch (exact; costs a teacher forward pass
    # per batch: vgg_bn on one CPU thread is 5-8x an EdgeNet training step). cached: the
    # teacher's logits on the clean training images, computed once (one pass) and reused
    # for every augmented view of that image.
    distill_mode: str = "online"


@dataclass
class EvalSection:
    """``[eval]``."""

    batch_size: int = 1000


@dataclass
class ModelSection:
    """``[model]``: a registry name plus constructor arguments (free-form: the model checks
    them when it is built)."""

    name: str
    args: Dict[str, Any] = field(default_factory=dict)


@dataclass
class Recipe:
    """A resolved recipe: every key present, types checked, choices validated."""

    name: str
    model: ModelSection
    data: DataSection = field(default_factory=DataSection)
    train: TrainSection = field(default_factory=TrainSection)
    eval: EvalSection = field(default_factory=EvalSection)
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> Dict[str, Any]:
        """The JSON form (``recipe.json``; a checkpoint's ``recipe``): the TOML tables, with
        ``[model]`` flat (``name`` beside the constructor arguments) as in the TOML."""
        return {
            "schema_version": self.schema_version,
            "name": self.name,
            "model": {"name": self.model.name, **self.model.args},
            "data": to_dict(self.data),
            "train": to_dict(self.train),
            "eval": to_dict(self.eval),
        }

    @classmethod
    def from_dict(
        cls, data: Dict[str, Any], overrides: Iterable[str] = (), source: str = "<dict>"
    ) -> Recipe:
        """Resolve a recipe in its JSON/TOML form (:meth:`to_dict`'s output, a parsed TOML)."""
        data = dict(data)
        version = data.pop("schema_version", SCHEMA_VERSION)
        if not isinstance(version, int) or not 1 <= version <= SCHEMA_VERSION:
            raise ConfigError(
                f"{source}: recipe schema_version {version!r} is not one this edgemnist reads "
                f"(1 to {SCHEMA_VERSION}): upgrade edgemnist"
            )
        name = data.pop("name", None)
        recipe = resolve(data, overrides, source)
        if isinstance(name, str) and name:
            recipe.name = name
        return recipe


SECTIONS: Dict[str, type] = {"data": DataSection, "train": TrainSection, "eval": EvalSection}

#: Defaults for every recipe key except the free-form ``model`` table.
DEFAULTS: Dict[str, Dict[str, Any]] = {k: to_dict(cls()) for k, cls in SECTIONS.items()}

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


def resolve(raw: Dict[str, Any], overrides: Iterable[str] = (), source: str = "<dict>") -> Recipe:
    """Merge ``raw`` over the defaults, apply overrides and validate.

    Args:
        raw: the parsed TOML (``model`` table required, with ``name``).
        overrides: ``section.key=value`` strings.
        source: file name for error messages.

    Returns:
        The :class:`Recipe` (named after ``model.name``; :func:`load_recipe` names it after
        its file).

    Raises:
        ConfigError: an unknown section or key, a value of the wrong type or out of its
            choices, an unknown model (each named, with the file).
    """
    from edgemnist.models import REGISTRY

    tables: Dict[str, Dict[str, Any]] = {"model": {}, **copy.deepcopy(DEFAULTS)}
    for section, table in raw.items():
        if section not in tables:
            raise ConfigError(
                f"{source}: unknown section [{section}] (known: model, data, train, eval)"
            )
        if not isinstance(table, dict):
            raise ConfigError(f"{source}: [{section}] must be a table")
        tables[section].update(table)
    for item in overrides:
        apply_override(tables, item)
    sections: Dict[str, Any] = {}
    for section, cls in SECTIONS.items():
        unknown = sorted(set(tables[section]) - set(DEFAULTS[section]))
        if unknown:
            raise ConfigError(
                f"{source}: unknown recipe key {section}.{unknown[0]} "
                f"(known {section} keys: {', '.join(DEFAULTS[section])})"
            )
        try:
            sections[section] = from_dict(cls, tables[section], ConfigError, section)
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}") from None
    model_table = dict(tables["model"])
    name = model_table.pop("name", None)
    if name not in REGISTRY:
        raise ConfigError(
            f"{source}: unknown model {name!r} in [model] (choose {', '.join(sorted(REGISTRY))})"
        )
    recipe = Recipe(name=str(name), model=ModelSection(str(name), model_table), **sections)
    for dotted, allowed in CHOICES.items():
        section, key = dotted.split(".")
        value = getattr(sections[section], key)
        if value not in allowed:
            raise ConfigError(f"{source}: {dotted} = {value!r} (choose {', '.join(allowed)})")
    tr = recipe.train
    if tr.epochs < 1:
        raise ConfigError(f"{source}: train.epochs must be >= 1")
    if not 0 <= recipe.data.clean_last_epochs <= tr.epochs:
        raise ConfigError(f"{source}: data.clean_last_epochs must be in [0, train.epochs]")
    if not 0.0 <= tr.distill_alpha <= 1.0 or tr.distill_temperature <= 0:
        raise ConfigError(
            f"{source}: train.distill_alpha must be in [0, 1] and train.distill_temperature > 0"
        )
    if len(recipe.data.scale) != 2:
        raise ConfigError(f"{source}: data.scale must be [min, max]")
    return recipe


def load_recipe(name_or_path: str, overrides: Iterable[str] = ()) -> Recipe:
    """Read a recipe file (or a name of a shipped recipe), apply overrides, validate.

    Example:
        >>> r = load_recipe("edge", ["train.epochs=1"])  # doctest: +SKIP
        >>> r.train.epochs, r.model.name  # doctest: +SKIP
        (1, 'edge')
    """
    path = find_recipe(name_or_path)
    try:
        raw = tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read recipe {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML ({exc})") from None
    version = raw.pop("schema_version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        raise ConfigError(f"{path}: schema_version {version!r}: this edgemnist reads 1")
    recipe = resolve(raw, overrides, source=str(path))
    recipe.name = path.stem
    return recipe


def model_args(recipe: Recipe) -> Dict[str, Any]:
    """Constructor arguments of the recipe's model (its ``[model]`` table minus ``name``)."""
    return dict(recipe.model.args)


def recipe_name(recipe: Recipe, default: Optional[str] = None) -> str:
    return recipe.name or default or recipe.model.name
