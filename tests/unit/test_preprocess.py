"""prepare_digit: MNIST's own preparation on drawn pictures (no data set needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")

from edgemnist.errors import InputError  # noqa: E402
from edgemnist.preprocess import load_image, prepare_digit, to_gray  # noqa: E402


def sheet(h: int = 240, w: int = 320, paper: int = 225) -> np.ndarray:
    return np.full((h, w), paper, np.uint8)


def draw_seven(img: np.ndarray, x: int, y: int, size: int, ink: int = 30, thick: int = 0):
    """A 7 (bar + diagonal) with anti-aliased strokes, its box ``size`` tall at (x, y)."""
    t = thick or max(2, size // 9)
    w = int(size * 0.6)
    pts = np.array([[x, y], [x + w, y], [x + w // 3, y + size]], np.int32)
    cv2.polylines(img, [pts], False, ink, t, cv2.LINE_AA)
    return img


def stats(digit: np.ndarray):
    ys, xs = np.nonzero(digit)
    m = digit.astype(np.float64)
    cy = (m.sum(1) * np.arange(28)).sum() / m.sum()
    cx = (m.sum(0) * np.arange(28)).sum() / m.sum()
    return ys.max() - ys.min() + 1, xs.max() - xs.min() + 1, cy, cx


def test_output_is_mnist_shaped_white_on_black_centred_by_mass() -> None:
    digit, info = prepare_digit(draw_seven(sheet(), 100, 50, 120))
    assert digit.shape == (28, 28) and digit.dtype == np.uint8
    assert digit.max() == 255
    assert (
        digit[0].max() == digit[-1].max() == digit[:, 0].max() == digit[:, -1].max() == 0
    )  # black border, like MNIST
    h, w, cy, cx = stats(digit)
    assert max(h, w) in (20, 21)  # 20 + at most one pixel of anti-aliased rim
    assert abs(cy - 14) < 0.75 and abs(cx - 14) < 0.75
    assert info["polarity"] == "dark-on-light" and info["components"] == 1
    x, y, bw, bh = info["bbox"]
    assert 85 <= x <= 100 and 40 <= y <= 50 and 115 <= bh <= 140  # strokes are 13 px wide


def test_gray_levels_are_kept_not_just_a_binary_mask() -> None:
    digit, _ = prepare_digit(draw_seven(sheet(), 100, 50, 120))
    between = ((digit > 0) & (digit < 255)).sum()
    assert between >= 0.2 * (digit > 0).sum()


def test_aspect_ratio_is_kept() -> None:
    img = sheet()
    cv2.line(img, (160, 40), (160, 200), 20, 14, cv2.LINE_AA)  # a "1": tall and thin
    digit, _ = prepare_digit(img)
    h, w, _, _ = stats(digit)
    assert h in (20, 21) and w <= 5


def test_polarity_is_detected_and_gives_the_same_digit() -> None:
    dark_on_light = draw_seven(sheet(), 90, 60, 110)
    a, ia = prepare_digit(dark_on_light)
    b, ib = prepare_digit(255 - dark_on_light)
    assert ia["polarity"] == "dark-on-light" and ib["polarity"] == "light-on-dark"
    assert np.abs(a.astype(int) - b.astype(int)).mean() < 3


def test_size_and_position_do_not_matter() -> None:
    small, _ = prepare_digit(draw_seven(sheet(120, 100), 10, 20, 60, thick=7))
    big, _ = prepare_digit(draw_seven(sheet(900, 700), 350, 400, 420, thick=47))
    assert np.abs(small.astype(int) - big.astype(int)).mean() < 12
    assert (small > 127).sum() == pytest.approx((big > 127).sum(), rel=0.3)


def test_color_and_alpha_inputs() -> None:
    gray = draw_seven(sheet(), 100, 50, 120)
    bgr = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
    bgr[..., 0] = np.clip(bgr[..., 0].astype(int) + 20, 0, 255)  # bluish ink and paper
    ref, _ = prepare_digit(gray)
    out, _ = prepare_digit(bgr)
    assert np.abs(ref.astype(int) - out.astype(int)).mean() < 4
    # a transparent PNG: black ink where alpha is set, nothing elsewhere (counts as paper)
    bgra = np.zeros(gray.shape + (4,), np.uint8)
    bgra[..., 3] = 255 - gray
    out, info = prepare_digit(bgra)
    assert info["polarity"] == "dark-on-light" and np.abs(ref.astype(int) - out).mean() < 6


def test_specks_and_a_shadow_at_the_edge_are_ignored() -> None:
    clean = draw_seven(sheet(), 120, 60, 110)
    ref, ref_info = prepare_digit(clean)
    noisy = clean.copy()
    for x, y in [(20, 20), (300, 220), (40, 200), (280, 30)]:
        cv2.circle(noisy, (x, y), 2, 40, -1)
    noisy[:, :18] = 60  # dark table edge along the left border
    out, info = prepare_digit(noisy)
    assert info["bbox"] == ref_info["bbox"]
    np.testing.assert_array_equal(out, ref)


def test_a_digit_in_two_pieces_is_kept_whole() -> None:
    img = sheet()
    cv2.line(img, (120, 60), (200, 60), 30, 12, cv2.LINE_AA)  # top bar of a 5, detached
    cv2.line(img, (125, 82), (125, 110), 30, 12, cv2.LINE_AA)
    cv2.ellipse(img, (150, 140), (35, 32), 0, -120, 150, 30, 12, cv2.LINE_AA)
    digit, info = prepare_digit(img)
    assert info["components"] == 2
    x, y, w, h = info["bbox"]
    assert y <= 56 and y + h >= 170


def test_idempotent_on_an_mnist_style_digit() -> None:
    """A digit already prepared like MNIST comes back (nearly) unchanged."""
    once, _ = prepare_digit(draw_seven(sheet(), 100, 50, 120))
    twice, info = prepare_digit(once)
    assert info["polarity"] == "light-on-dark"
    assert np.abs(once.astype(int) - twice.astype(int)).mean() < 4


def test_uneven_light_across_the_page() -> None:
    img = draw_seven(sheet(240, 320, 0), 100, 50, 120, ink=255).astype(np.float32)
    ramp = np.linspace(150, 250, 320, dtype=np.float32)[None, :]
    photo = (ramp - img / 255 * (ramp - 30)).astype(np.uint8)  # paper 150..250, ink 30
    ref, _ = prepare_digit(draw_seven(sheet(), 100, 50, 120))
    out, _ = prepare_digit(photo)
    assert np.abs(ref.astype(int) - out.astype(int)).mean() < 8


@pytest.mark.parametrize(
    "image, match",
    [
        (sheet(), "blank"),
        (np.full((5, 5), 200, np.uint8), "too small"),
        (np.zeros((10, 10, 2), np.uint8), "shape"),
    ],
)
def test_unusable_images_are_input_errors(image, match) -> None:
    with pytest.raises(InputError, match=match) as err:
        prepare_digit(image)
    assert "\n" not in str(err.value)


def test_noise_without_ink_is_no_digit() -> None:
    rng = np.random.default_rng(0)
    noise = np.clip(rng.normal(200, 4, (200, 200)), 0, 255).astype(np.uint8)
    with pytest.raises(InputError, match="no ink found"):
        prepare_digit(noise)


def test_faint_pencil_still_reads() -> None:
    digit, info = prepare_digit(draw_seven(sheet(paper=210), 100, 50, 120, ink=160))
    assert info["contrast"] >= 24 and digit.max() == 255


def test_input_types() -> None:
    gray = draw_seven(sheet(), 100, 50, 120)
    ref, _ = prepare_digit(gray)
    as_float = gray.astype(np.float32) / 255.0
    np.testing.assert_array_equal(to_gray(as_float), gray)
    as_16 = gray.astype(np.uint16) * 257
    np.testing.assert_array_equal(prepare_digit(as_16)[0], ref)
    np.testing.assert_array_equal(prepare_digit(gray[..., None])[0], ref)


def test_load_image_reads_files_and_reports_bad_ones(tmp_path: Path) -> None:
    gray = draw_seven(sheet(), 100, 50, 120)
    png = tmp_path / "seven (copy) é.png"
    ok, buf = cv2.imencode(".png", gray)
    png.write_bytes(buf.tobytes())
    np.testing.assert_array_equal(load_image(png), gray)
    with pytest.raises(InputError, match="no such image"):
        load_image(tmp_path / "absent.png")
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"this is not a JPEG")
    with pytest.raises(InputError, match="not a readable image"):
        load_image(junk)


def test_a_fine_pen_is_thickened_to_mnist_stroke_width() -> None:
    fine, fine_info = prepare_digit(draw_seven(sheet(700, 600), 200, 150, 400, thick=3))
    bold, bold_info = prepare_digit(draw_seven(sheet(700, 600), 200, 150, 400, thick=40))
    assert fine_info["stroke_px"] < 1.2 <= bold_info["stroke_px"]
    # without thickening a 3 px line shrunk 20x would peak near 40 gray levels
    assert fine.max() == 255 and (fine > 127).sum() >= 0.6 * (bold > 127).sum()
    assert np.abs(fine.astype(int) - bold.astype(int)).mean() < 15
