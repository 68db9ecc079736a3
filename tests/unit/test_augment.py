"""Augmentation: determinism, geometry against OpenCV's own warpAffine, elastic statistics."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edgemnist.data import augment as aug
from edgemnist.data.augment import AugmentConfig, Augmenter, warp_batch
from edgemnist.errors import ConfigError, InputError

OFF = AugmentConfig.off()


def _digits(n: int = 64, seed: int = 0) -> np.ndarray:
    """Digit-like test images: a few thick random strokes in the central 20x20 box."""
    rng = np.random.default_rng(seed)
    out = np.zeros((n, 28, 28), np.uint8)
    for img in out:
        for _ in range(3):
            p1 = tuple(int(v) for v in rng.integers(6, 22, 2))
            p2 = tuple(int(v) for v in rng.integers(6, 22, 2))
            cv2.line(img, p1, p2, 255, 2, cv2.LINE_AA)
    return out


def _bar(horizontal: bool = True) -> np.ndarray:
    img = np.zeros((28, 28), np.uint8)
    if horizontal:
        img[13:15, 4:24] = 255
    else:
        img[4:24, 13:15] = 255
    return img


def _orientation_deg(img: np.ndarray) -> float:
    """Principal axis angle in degrees (0 = horizontal, positive = counter-clockwise on screen)."""
    m = cv2.moments(img.astype(np.float32))
    return float(-0.5 * np.degrees(np.arctan2(2 * m["mu11"], m["mu20"] - m["mu02"])))


def _centroid(img: np.ndarray) -> np.ndarray:
    m = cv2.moments(img.astype(np.float32))
    return np.array([m["m10"] / m["m00"], m["m01"] / m["m00"]])


def test_shape_dtype_and_input_untouched():
    x = _digits(50)
    x.setflags(write=False)  # load_split returns read-only arrays
    y = Augmenter(AugmentConfig(elastic_p=1.0, noise_std=0.05), seed=1)(x)
    assert y.shape == x.shape and y.dtype == np.uint8
    assert not np.array_equal(y, x)
    np.testing.assert_array_equal(x, _digits(50))


def test_seeded_determinism():
    x = _digits(40)
    cfg = AugmentConfig(elastic_p=0.5, noise_std=0.02)
    a, b = Augmenter(cfg, seed=7), Augmenter(cfg, seed=7)
    first = [a(x), a(x)]
    np.testing.assert_array_equal(first[0], b(x))
    np.testing.assert_array_equal(first[1], b(x))
    assert not np.array_equal(first[0], first[1])  # the generator advances between calls
    assert not np.array_equal(first[0], Augmenter(cfg, seed=8)(x))


def test_zero_config_is_identity():
    rng = np.random.default_rng(0)
    x = np.concatenate([_digits(20), rng.integers(0, 256, (20, 28, 28), dtype=np.uint8)])
    np.testing.assert_array_equal(Augmenter(OFF, seed=0)(x), x)
    # Elastic switched off by probability alone is an identity too.
    cfg = AugmentConfig(rotation=0, scale=(1, 1), translate=0, elastic_p=0.0)
    np.testing.assert_array_equal(Augmenter(cfg)(x), x)


def test_batched_warp_matches_opencv_warp_affine():
    """One remap over the stacked batch == per-image cv2.warpAffine with a zero border."""
    x = _digits(30, seed=3)
    rng = np.random.default_rng(1)
    angles = rng.uniform(-40, 40, 30)
    scales = rng.uniform(0.7, 1.3, 30)
    shifts = rng.uniform(-5, 5, (30, 2))  # big enough to push strokes over the edges
    got = warp_batch(x, angles, scales, shifts)
    for i in range(30):
        m = cv2.getRotationMatrix2D((13.5, 13.5), angles[i], scales[i])
        m[:, 2] += shifts[i]
        want = cv2.warpAffine(x[i], m, (28, 28), flags=cv2.INTER_LINEAR, borderValue=0)
        diff = np.abs(got[i].astype(int) - want.astype(int))
        # warpAffine and remap round sub-pixel positions differently (1/32 px fixed point).
        assert diff.max() <= 3, i
        assert diff.mean() < 0.2, i


def test_integer_shift_is_exact():
    x = _digits(4)
    got = warp_batch(x, 0.0, 1.0, np.array([[3.0, -2.0]] * 4))
    want = np.zeros_like(x)
    want[:, :-2, 3:] = x[:, 2:, :-3]
    np.testing.assert_array_equal(got, want)


def test_rotation_rotates():
    bar = _bar()[None]
    turned = warp_batch(bar, 90.0, 1.0, np.zeros((1, 2)))[0]
    assert abs(abs(_orientation_deg(turned)) - 90) < 1
    assert np.abs(turned.astype(int) - _bar(horizontal=False)).mean() < 5
    tilted = warp_batch(bar, 30.0, 1.0, np.zeros((1, 2)))[0]
    assert _orientation_deg(tilted) == pytest.approx(30, abs=1.5)  # OpenCV's sign convention
    # Random rotations in +-15 degrees: both directions, never beyond the limit.
    cfg = AugmentConfig(rotation=15, scale=(1, 1), translate=0, elastic_p=0)
    angles = [_orientation_deg(im) for im in Augmenter(cfg, seed=0)(np.repeat(bar, 200, 0))]
    assert max(angles) > 10 and min(angles) < -10
    assert max(np.abs(angles)) < 15 + 1.5


def test_scale_changes_mass_and_keeps_centre():
    blob = np.zeros((1, 28, 28), np.uint8)
    blob[0, 10:18, 10:18] = 200
    big = warp_batch(blob, 0.0, 1.5, np.zeros((1, 2)))[0]
    assert big.sum() / blob.sum() == pytest.approx(1.5**2, rel=0.08)
    np.testing.assert_allclose(_centroid(big), _centroid(blob[0]), atol=0.1)


def test_translation_limits():
    x = np.repeat(_digits(1), 300, 0)
    base = _centroid(x[0])
    for translate, limit in ((2.0, 2.0), (0.1, 2.8)):  # pixels, then a fraction of 28 px
        cfg = AugmentConfig(rotation=0, scale=(1, 1), translate=translate, elastic_p=0)
        moved = np.array([_centroid(im) - base for im in Augmenter(cfg, seed=0)(x)])
        assert np.abs(moved).max() <= limit + 0.15
        assert np.abs(moved).max() > 0.8 * limit


def test_elastic_changes_pixels_but_keeps_mass():
    x = _digits(200, seed=5)
    cfg = AugmentConfig(rotation=0, scale=(1, 1), translate=0, elastic_p=1.0)
    y = Augmenter(cfg, seed=0)(x)
    changed = (y != x).reshape(len(x), -1).any(axis=1)
    assert changed.all()
    ratio = y.reshape(len(x), -1).sum(1) / x.reshape(len(x), -1).sum(1)
    # Ink is conserved on average; a single digit gains or loses some where the field
    # locally stretches or squeezes it (|det J - 1| of ~0.2 at alpha=34, sigma=5).
    assert abs(ratio.mean() - 1) < 0.05
    lo, hi = np.percentile(ratio, [5, 95])
    assert 0.7 < lo < 1 < hi < 1.4
    # A smooth field moves strokes, it does not shuffle pixels: centroids stay close.
    shift = np.array([_centroid(a) - _centroid(b) for a, b in zip(y, x)])
    assert np.median(np.linalg.norm(shift, axis=1)) < 1.5


def test_elastic_probability():
    x = _digits(400, seed=2)
    cfg = AugmentConfig(rotation=0, scale=(1, 1), translate=0, elastic_p=0.3)
    changed = (Augmenter(cfg, seed=0)(x) != x).reshape(len(x), -1).any(axis=1)
    assert 0.2 < changed.mean() < 0.4


def test_fast_fields_match_exact_gaussian_smoothing():
    """Block noise + one matrix product has the statistics of the textbook construction."""
    rng = np.random.default_rng(0)
    fast = aug._ElasticBasis(28, 5.0).fields(rng, 4000, 34.0)
    exact = aug.exact_elastic_fields(rng, 1000, 28, 34.0, 5.0)
    assert fast.shape == (4000, 2, 28, 28)
    assert fast.std() == pytest.approx(exact.std(), rel=0.05)
    centre = aug.expected_elastic_std(34.0, 5.0)
    assert fast[:, :, 14, 14].std() == pytest.approx(centre, rel=0.05)
    assert exact[:, :, 14, 14].std() == pytest.approx(centre, rel=0.08)
    # Smoothness: neighbouring displacements are strongly correlated, as sigma=5 implies.
    corr_fast = np.corrcoef(fast[:, 0, 14, 14], fast[:, 0, 14, 16])[0, 1]
    corr_exact = np.corrcoef(exact[:, 0, 14, 14], exact[:, 0, 14, 16])[0, 1]
    assert corr_fast == pytest.approx(corr_exact, abs=0.05)
    assert corr_fast > 0.85


def test_gaussian_matrix_matches_opencv_blur():
    g = aug.gaussian_matrix(28, 2.0)
    np.testing.assert_allclose(g.sum(axis=1), 1.0)
    v = np.random.default_rng(0).standard_normal(28)
    want = cv2.GaussianBlur(
        v[None, :], (17, 1), sigmaX=2.0, sigmaY=0, borderType=cv2.BORDER_REFLECT
    )[0]
    np.testing.assert_allclose(g @ v, want, atol=1e-6)


def test_noise_std():
    grey = np.full((200, 28, 28), 128, np.uint8)
    cfg = AugmentConfig(rotation=0, scale=(1, 1), translate=0, elastic_p=0, noise_std=0.05)
    y = Augmenter(cfg, seed=0)(grey)
    diff = y.astype(np.float64) - 128
    assert abs(diff.mean()) < 0.5
    assert diff.std() == pytest.approx(0.05 * 255, rel=0.05)


def test_large_batch_is_chunked():
    x = np.repeat(_digits(1), aug._CHUNK + 300, 0)
    y = Augmenter(AugmentConfig(elastic_p=1.0), seed=0)(x)
    assert y.shape == x.shape
    # Every chunk is really augmented (no blank or untouched images at chunk boundaries).
    per_image = (y != x).reshape(len(x), -1).any(axis=1)
    assert per_image.all()
    assert (y.reshape(len(x), -1).sum(1) > 0.5 * x[0].sum()).all()


def test_empty_batch_and_bad_input():
    assert Augmenter()(np.zeros((0, 28, 28), np.uint8)).shape == (0, 28, 28)
    with pytest.raises(InputError, match="uint8"):
        Augmenter()(np.zeros((2, 28, 28), np.float32))
    with pytest.raises(InputError, match=r"\(N, H, W\)"):
        Augmenter()(np.zeros((2, 1, 28, 28), np.uint8))


def test_config_from_dict():
    cfg = AugmentConfig.from_dict({"rotation": 10, "scale": [0.8, 1.2], "elastic_p": 0})
    assert cfg.rotation == 10.0 and cfg.scale == (0.8, 1.2) and cfg.elastic_p == 0.0
    assert AugmentConfig.from_dict(cfg.to_dict()) == cfg
    assert AugmentConfig.from_dict(None) == AugmentConfig()
    assert AugmentConfig() == AugmentConfig(15.0, (0.9, 1.1), 2.0, 34.0, 5.0, 0.5, 0.0)


@pytest.mark.parametrize(
    "values, words",
    [
        ({"rotate": 10}, "unknown augment key(s) rotate"),
        ({"rotation": -1}, "augment.rotation"),
        ({"scale": [1.2, 0.8]}, "augment.scale"),
        ({"scale": 1.1}, "augment.scale"),
        ({"elastic_p": 1.5}, "augment.elastic_p"),
        ({"noise_std": "lots"}, "augment.noise_std"),
        ({"elastic_sigma": 0}, "augment.elastic_sigma"),
    ],
)
def test_config_errors(values, words):
    with pytest.raises(ConfigError) as exc:
        AugmentConfig.from_dict(values)
    assert words in str(exc.value)
    assert "\n" not in str(exc.value)
