"""Recipes ship inside the package, so ``edgemnist train edge`` works from an installed wheel;
the spelling ``train/<name>.toml`` from before the move keeps working."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgemnist.errors import ConfigError
from edgemnist.training.recipe import find_recipe, recipes_dir

REPO = Path(__file__).resolve().parents[2]


def test_recipes_live_in_the_package():
    assert recipes_dir() == REPO / "edgemnist" / "recipes"
    names = sorted(p.stem for p in recipes_dir().glob("*.toml"))
    assert {"edge", "edge-fast", "lenet5", "vgg_bn-flagship"} <= set(names)
    # train/ keeps the results and a pointer, not a second copy of any recipe
    assert not list((REPO / "train").glob("*.toml"))


@pytest.mark.parametrize("spelling", ["edge", "edge.toml", "train/edge.toml"])
def test_names_and_the_old_path_resolve_to_the_packaged_recipe(spelling, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # not the repository: nothing relative to it
    assert find_recipe(spelling) == recipes_dir() / "edge.toml"


def test_an_existing_file_wins_and_unknown_names_fail(tmp_path):
    own = tmp_path / "edge.toml"
    own.write_text('[model]\nname = "edge"\n')
    assert find_recipe(str(own)) == own
    with pytest.raises(ConfigError, match="not found"):
        find_recipe("no-such-recipe")
    # a missing file in another folder is not silently replaced by the packaged recipe
    with pytest.raises(ConfigError, match="not found"):
        find_recipe(str(tmp_path / "elsewhere" / "edge.toml"))


def test_pyproject_ships_the_recipes_as_package_data():
    text = (REPO / "pyproject.toml").read_text()
    assert 'edgemnist = ["recipes/*.toml"]' in text
