from __future__ import annotations

import pytest

from edgemnist.errors import ConfigError
from edgemnist.training.recipe import DEFAULTS, load_recipe, parse_value, resolve


def test_defaults_fill_missing_keys():
    r = resolve({"model": {"name": "edge"}, "train": {"epochs": 3}})
    assert r["train"]["epochs"] == 3
    assert r["train"]["lr"] == DEFAULTS["train"]["lr"]
    assert r["data"]["augment"] is False


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
    assert r["train"]["lr"] == 0.01 and r["train"]["optimizer"] == "adamw"
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
        assert r["name"] == name
        # recipes are named after their model: <model>.toml or <model>-<variant>.toml
        assert name == r["model"]["name"] or name.startswith(r["model"]["name"] + "-")


def test_missing_recipe_lists_known():
    with pytest.raises(ConfigError, match="known: .*edge"):
        load_recipe("no-such-recipe")
