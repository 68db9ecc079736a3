from __future__ import annotations

import pytest

from edgemnist.errors import ConfigError
from edgemnist.training.recipe import (
    DEFAULTS,
    Recipe,
    TrainSection,
    load_recipe,
    parse_value,
    resolve,
)


def test_defaults_fill_missing_keys():
    r = resolve({"model": {"name": "edge"}, "train": {"epochs": 3}})
    assert r.train.epochs == 3
    assert r.train.lr == DEFAULTS["train"]["lr"] == TrainSection().lr
    assert r.data.augment is False


def test_unknown_key_is_an_error_naming_it():
    with pytest.raises(ConfigError, match=r"unknown recipe key train\.lrr"):
        resolve({"model": {"name": "edge"}, "train": {"lrr": 0.1}})


def test_unknown_section_and_model():
    with pytest.raises(ConfigError, match="unknown section"):
        resolve({"model": {"name": "edge"}, "optim": {}})
    with pytest.raises(ConfigError, match="unknown model 'resnet50'"):
        resolve({"model": {"name": "resnet50"}})


def test_overrides_are_typed_and_validated():
    r = resolve({"model": {"name": "lenet5"}}, ["train.lr=0.01", "train.optimizer=adamw"])
    assert r.train.lr == 0.01 and r.train.optimizer == "adamw"
    with pytest.raises(ConfigError, match="must be a number"):
        resolve({"model": {"name": "lenet5"}}, ["train.lr=fast"])
    with pytest.raises(ConfigError, match="choose"):
        resolve({"model": {"name": "lenet5"}}, ["train.schedule=step"])
    with pytest.raises(ConfigError, match="section.key=value"):
        resolve({"model": {"name": "lenet5"}}, ["epochs"])


def test_parse_value_literals():
    assert parse_value("3") == 3
    assert parse_value("true") is True
    assert parse_value("[0.9, 1.1]") == [0.9, 1.1]
    assert parse_value("sgd") == "sgd"


def test_every_shipped_recipe_resolves():
    from edgemnist.training.recipe import recipes_dir

    names = sorted(p.stem for p in recipes_dir().glob("*.toml"))
    assert "edge" in names and "lenet5" in names
    for name in names:
        r = load_recipe(name)
        assert r.name == name
        # recipes are named after their model: <model>.toml or <model>-<variant>.toml
        assert name == r.model.name or name.startswith(r.model.name + "-")
        assert Recipe.from_dict(r.to_dict()) == r  # the JSON form round-trips


def test_missing_recipe_lists_known():
    with pytest.raises(ConfigError, match="known: .*edge"):
        load_recipe("no-such-recipe")


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"train": {"epochs": 2.5}}, "train.epochs must be an integer, got 2.5"),
        ({"train": {"nesterov": "yes"}}, "train.nesterov must be true/false"),
        ({"data": {"scale": 1.1}}, "data.scale must be a list"),
        ({"data": {"scale": [0.9, "big"]}}, r"data.scale\[1\] must be a number"),
        ({"train": {"distill_from": 3}}, "train.distill_from must be a string"),
    ],
)
def test_wrong_types_are_named(raw, message):
    with pytest.raises(ConfigError, match=message):
        resolve({"model": {"name": "lenet5"}, **raw}, source="r.toml")


def test_model_arguments_and_json_form():
    r = resolve({"model": {"name": "edge", "width": 8}}, ["train.epochs=2"])
    assert r.model.name == "edge" and r.model.args == {"width": 8}
    d = r.to_dict()
    assert d["schema_version"] == 1 and d["model"] == {"name": "edge", "width": 8}
    assert d["train"]["epochs"] == 2 and d["data"]["scale"] == [0.9, 1.1]
    again = Recipe.from_dict(d, ["train.lr=0.01"])
    assert again.train.lr == 0.01 and again.model.args == {"width": 8}
    with pytest.raises(ConfigError, match="schema_version 2"):
        Recipe.from_dict(dict(d, schema_version=2))
