"""Corrupted MNIST: deterministic generation (pinned checksums) and the robustness report.

The checksums pin what ``corrupt`` makes of the first 16 test digits with seed 0 under the
numpy and OpenCV of this checkout's venv: a change to any corruption (or to a library's
resampling, Gaussian kernel or JPEG codec) shows up here and has to be re-pinned on purpose,
since committed robustness results were measured on the old images.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

pytest.importorskip("cv2")

#: sha256 (first 16 hex digits) of corrupt(name, test[:16], seed=0).tobytes()
CHECKSUMS = {
    "gaussian_noise": "14cd0ecd5da71b6e",
    "shot_noise": "574f224820a7af4f",
    "impulse_noise": "1bce8039888237bb",
    "defocus_blur": "e450935f7c8ed3d0",
    "motion_blur": "8d236ce028fa4406",
    "glass_blur": "f9e83b52e3cf7f0a",
    "shear": "fcfcc9cf7a095cfb",
    "scale": "458d55d0966f270d",
    "rotate": "6620efaf67e9bff3",
    "translate": "e943fd035295f4e2",
    "brightness": "78607cf99b97155d",
    "contrast": "d7f85f006ce9511e",
    "stripe": "d230a16371e47609",
    "dotted_line": "c69457f15487b543",
    "zigzag": "d787456551b896cb",
    "fog": "265e3fb707170488",
    "spatter": "82c17a97f385d1a5",
    "elastic": "294029492f1e0a1f",
    "jpeg": "81ca118b705120d8",
    "pixelate": "4728586c023b9620",
    "canny_edges": "7b5004961d3c78cf",
    "uneven_lighting": "c369f741ad9a0877",
    "paper_texture": "15e5fc509eaffa14",
    "thin_strokes": "f42508f446a73413",
    "thick_strokes": "77626c7badbc2217",
}


@pytest.fixture(scope="module")
def test_digits(mnist_dir):
    from edgemnist.data.mnist import load_split

    images, labels = load_split("test", root=mnist_dir)
    return images[:40], labels[:40]


def _sha(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()[:16]


def test_at_least_15_corruptions_all_pinned():
    from edgemnist.robustness.corruptions import names

    assert len(names()) >= 15
    assert set(names()) == set(CHECKSUMS)


@pytest.mark.parametrize("name", sorted(CHECKSUMS))
def test_generation_is_pinned(name, test_digits):
    from edgemnist.robustness.corruptions import corrupt

    out = corrupt(name, test_digits[0][:16], seed=0)
    assert out.dtype == np.uint8 and out.shape == (16, 28, 28)
    assert _sha(out) == CHECKSUMS[name]
    assert not np.array_equal(out, test_digits[0][:16]), "the corruption changed nothing"


@pytest.mark.parametrize("name", ["fog", "glass_blur", "rotate", "zigzag", "paper_texture"])
def test_an_image_does_not_depend_on_the_subset(name, test_digits):
    """Image i is keyed by its test index: 10 images give the first 10 of 40."""
    from edgemnist.robustness.corruptions import corrupt

    images = test_digits[0]
    full = corrupt(name, images, seed=3)
    np.testing.assert_array_equal(corrupt(name, images[:10], seed=3), full[:10])
    np.testing.assert_array_equal(
        corrupt(name, images[20:30], seed=3, indices=range(20, 30)), full[20:30]
    )
    assert not np.array_equal(corrupt(name, images, seed=4), full), "the seed is ignored"


def test_unknown_corruption_and_bad_input_say_what_to_do():
    from edgemnist.errors import ConfigError
    from edgemnist.robustness.corruptions import corrupt, select

    with pytest.raises(ConfigError, match="choose from"):
        select("fog,smog")
    with pytest.raises(ConfigError, match="uint8"):
        corrupt("fog", np.zeros((2, 28, 28), np.float32))


def _linear_onnx(path, seed):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
    from tiny_onnx import write_tiny_onnx

    return write_tiny_onnx(path, seed=seed)


def test_report_and_cli(mnist_env, tmp_path):
    """Two tiny linear models: per-corruption accuracies, mCE, flags, JSON, plot, CLI table."""
    from edgemnist.cli.main import main
    from edgemnist.robustness.evaluate import evaluate

    a = _linear_onnx(tmp_path / "a.onnx", 0)
    b = _linear_onnx(tmp_path / "b.onnx", 1)
    report = evaluate([a, b], corruptions="fog,stripe,thick_strokes", limit=60, seed=0)
    assert [c["name"] for c in report["corruptions"]] == ["fog", "stripe", "thick_strokes"]
    first, second = report["artifacts"]
    assert first["mce"] == 1.0  # the baseline against itself
    assert first["reference"] is None  # the baseline has no reference
    ref = second["reference"]
    assert ref["path"] == str(a)
    assert ref["clean_drop"] == pytest.approx(first["clean_accuracy"] - second["clean_accuracy"])
    assert ref["flagged"] == (ref["mean_corrupted_drop"] - ref["clean_drop"] > 0.0025)
    for c in ("fog", "stripe", "thick_strokes"):
        assert second["error"][c] == pytest.approx(1 - second["accuracy"][c])
        assert 0.0 <= second["accuracy"][c] <= 1.0  # a fraction, like every rate in JSON

    out = tmp_path / "out"
    assert main([
        "robustness", str(a), str(b), "--limit", "60", "--corruptions", "fog,stripe",
        "--out-dir", str(out), "--json",
    ]) == 0  # fmt: skip
    saved = json.loads((out / "robustness.json").read_text())
    assert saved["schema"] == "edgemnist.robustness/1"
    assert saved["environment"]["cpu"]
    assert saved["artifacts"][1]["accuracy"]["fog"] == second["accuracy"]["fog"]
    pytest.importorskip("matplotlib")
    assert (out / "robustness.png").read_bytes()[:4] == b"\x89PNG"


def test_flag_when_robustness_drops_more_than_clean_accuracy():
    from edgemnist.robustness.evaluate import _against

    ref = {"clean": 0.99, "fog": 0.90, "stripe": 0.80}
    same = _against(
        {"clean": 0.989, "fog": 0.899, "stripe": 0.799}, ref, ["fog", "stripe"], 0.0025, 0.01, "r"
    )
    assert not same["flagged"] and same["worse_corruptions"] == []
    worse = _against(
        {"clean": 0.99, "fog": 0.85, "stripe": 0.80}, ref, ["fog", "stripe"], 0.0025, 0.01, "r"
    )
    assert worse["flagged"] and worse["worse_corruptions"] == ["fog"]
    assert worse["excess_drop"] == pytest.approx(0.025)
