"""Digit detection on hand-made pages (drawn with OpenCV) and on synthetic:// frames.

The hand-made pages hold digits written with OpenCV's script font in a thick pen, each drawn a
second time alone into its own mask, so the true ink box of every digit is known exactly.
Around them: a shadow gradient, ruled lines the digits sit on, specks, a blob, touching digits,
a 5 whose hat is drawn apart from its body.
"""

from __future__ import annotations

from typing import List, Tuple

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")

from edgemnist.errors import InputError  # noqa: E402
from edgemnist.live.detect import DetectParams, detect_digits  # noqa: E402
from edgemnist.live.evaluate import match_boxes  # noqa: E402
from edgemnist.live.track import iou  # noqa: E402

Box = Tuple[int, int, int, int]
FONT = cv2.FONT_HERSHEY_SCRIPT_SIMPLEX


def ink_box(mask: np.ndarray) -> Box:
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)


def page(
    digits: List[Tuple[str, Tuple[int, int]]],
    size: Tuple[int, int] = (640, 480),
    scale: float = 2.6,
    thickness: int = 7,
    paper: float = 225.0,
    ink: float = 45.0,
) -> Tuple[np.ndarray, List[Box]]:
    """A gray page with ``digits`` (text, bottom-left corner) and their true ink boxes."""
    W, H = size
    alpha = np.zeros((H, W), np.float32)
    boxes = []
    for text, org in digits:
        own = np.zeros((H, W), np.uint8)
        cv2.putText(own, text, org, FONT, scale, 255, thickness, cv2.LINE_AA)
        boxes.append(ink_box(own > 90))
        alpha = np.maximum(alpha, own.astype(np.float32) / 255.0)
    img = paper * (1 - alpha) + ink * alpha
    return img, boxes


def finish(img: np.ndarray, seed: int = 0, noise: float = 3.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur(img.astype(np.float32), (0, 0), 0.8)
    img = img + rng.normal(0, noise, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def shadow(img: np.ndarray, depth: float = 0.5, edge_x: float = 300.0, soft: float = 40.0):
    """Darken the right part of the page by ``depth`` behind a soft vertical edge."""
    H, W = img.shape[:2]
    x = np.arange(W, dtype=np.float32)
    gain = 1.0 - depth / (1.0 + np.exp(-(x - edge_x) / soft))
    return img * gain[None, :]


def assert_found(dets, boxes: List[Box], min_iou: float = 0.5) -> None:
    found = [d.box for d in dets]
    pairs = match_boxes(boxes, found, min_iou)
    assert len(pairs) == len(boxes), f"truth {boxes} found {found}"
    assert len(found) == len(boxes), f"extra detections: truth {boxes} found {found}"


def test_digits_on_a_clean_page_are_found_with_tight_boxes() -> None:
    img, boxes = page([("3", (100, 250)), ("7", (260, 250)), ("0", (420, 250))])
    dets = detect_digits(finish(img))
    assert_found(dets, boxes, min_iou=0.7)
    # left to right, each with the crop and mask the reader needs
    assert [d.box[0] for d in dets] == sorted(d.box[0] for d in dets)
    for d in dets:
        assert d.crop is not None and d.mask is not None and d.origin is not None
        assert d.crop.shape == d.mask.shape and d.mask.any()


def test_shadow_gradient_and_dim_light_do_not_matter() -> None:
    img, boxes = page([("4", (100, 260)), ("2", (270, 260)), ("9", (440, 260))])
    # the shadow edge runs through the middle digit; the right side gets half the light
    img = shadow(img, depth=0.55, edge_x=300, soft=30)
    # and a lamp gradient top to bottom
    img = img * np.linspace(1.0, 0.7, img.shape[0], dtype=np.float32)[:, None]
    assert_found(detect_digits(finish(img)), boxes)


def test_ruled_lines_the_digits_sit_on_and_specks_are_not_digits() -> None:
    img, boxes = page([("5", (120, 300)), ("8", (300, 300)), ("1", (470, 300))])
    alpha = np.zeros(img.shape, np.uint8)
    for y in range(60, 480, 48):  # ruled paper, 2 px lines, one under the digits
        cv2.line(alpha, (0, y + 12), (640, y + 12), 255, 2, cv2.LINE_AA)
    # a darker printed line, and a slightly rolled one
    cv2.line(alpha, (0, 420), (640, 424), 255, 2, cv2.LINE_AA)
    for x, y, r in ((60, 80, 2), (580, 400, 2), (330, 120, 3), (200, 420, 1)):
        cv2.circle(alpha, (x, y), r, 255, -1)  # dust and pencil dots
    line = alpha.astype(np.float32) / 255.0
    img = img * (1 - line) + 70.0 * line
    assert_found(detect_digits(finish(img)), boxes)


def test_a_solid_blob_a_dash_and_a_long_line_alone_are_not_digits() -> None:
    img, _ = page([])
    cv2.circle(img, (200, 200), 45, 40.0, -1)  # a thumb, a sticker
    cv2.line(img, (350, 150), (420, 150), 40.0, 6)  # a dash
    cv2.line(img, (20, 380), (620, 390), 40.0, 3)  # a long line across the page
    assert detect_digits(finish(img)) == []


def test_blank_and_noisy_pages_give_nothing() -> None:
    blank = np.full((480, 640), 200, np.uint8)
    assert detect_digits(blank) == []
    rng = np.random.default_rng(1)
    noisy = np.clip(rng.normal(180, 8, (480, 640)), 0, 255).astype(np.uint8)
    assert detect_digits(noisy) == []


@pytest.mark.parametrize("pair, x", [(("2", "3"), 236), (("1", "7"), 230)])
def test_two_touching_digits_are_split(pair, x) -> None:
    # the second digit written so close that the strokes meet: one connected component
    first, (b1,) = page([(pair[0], (200, 280))], scale=3.0, thickness=5)
    second, (b2,) = page([(pair[1], (x, 280))], scale=3.0, thickness=5)
    merged = np.minimum(first, second)
    n, _ = cv2.connectedComponents((merged < 130).astype(np.uint8))
    assert n - 1 == 1, "the test digits must touch"
    dets = detect_digits(finish(merged))
    assert len(dets) == 2, [d.box for d in dets]
    assert iou(dets[0].box, b1) > 0.5 and iou(dets[1].box, b2) > 0.5


def test_a_wide_single_digit_is_not_split() -> None:
    img, boxes = page([("7", (150, 300))], scale=3.0)
    stretched = cv2.resize(img, None, fx=1.9, fy=1.0)[:, :640]
    dets = detect_digits(finish(stretched))
    assert len(dets) == 1


def test_a_broken_stroke_stays_one_digit() -> None:
    # a 5 written in two strokes that do not meet: the hat apart from the body
    img = np.full((480, 640), 220.0, np.float32)
    cv2.line(img, (300, 150), (360, 150), 40.0, 8, cv2.LINE_AA)  # hat
    cv2.line(img, (300, 165), (296, 210), 40.0, 8, cv2.LINE_AA)  # down stroke
    cv2.ellipse(img, (320, 245), (35, 38), 0, -150, 140, 40.0, 8, cv2.LINE_AA)  # belly
    dets = detect_digits(finish(img))
    assert len(dets) == 1, [d.box for d in dets]
    x, y, w, h = dets[0].box
    assert y <= 150 and y + h >= 280


def test_roi_limits_the_search_and_boxes_stay_in_frame_pixels() -> None:
    img, boxes = page([("3", (100, 250)), ("7", (260, 250)), ("0", (420, 250))])
    frame = finish(img)
    roi = (220, 100, 180, 220)
    dets = detect_digits(frame, roi=roi)
    assert_found(dets, [boxes[1]])


def test_gray_and_bgr_give_the_same_boxes() -> None:
    img, _ = page([("6", (150, 250)), ("1", (330, 250))])
    gray = finish(img)
    bgr = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
    assert [d.box for d in detect_digits(gray)] == [d.box for d in detect_digits(bgr)]


def test_size_limits_scale_with_the_frame() -> None:
    # the same page at twice the resolution: same digits, boxes twice as big
    img, boxes = page([("4", (100, 250)), ("8", (300, 250))])
    small = finish(img)
    big = cv2.resize(small, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    b1 = [d.box for d in detect_digits(small)]
    b2 = [d.box for d in detect_digits(big)]
    assert len(b1) == len(b2) == 2
    for a, b in zip(b1, b2):
        assert iou(tuple(2 * v for v in a), b) > 0.8  # type: ignore[arg-type]


def test_tiny_marks_below_the_minimum_height_are_ignored() -> None:
    img, _ = page([("3", (300, 250))], scale=0.6, thickness=2)  # 11 px tall
    assert detect_digits(finish(img, noise=1.0)) == []
    params = DetectParams(min_height_px=6)
    assert len(detect_digits(finish(img, noise=1.0), params=params)) == 1


def test_bad_inputs_are_input_errors() -> None:
    with pytest.raises(InputError, match="uint8"):
        detect_digits(np.zeros((10, 10), np.float32))
    with pytest.raises(InputError, match="ROI"):
        detect_digits(np.zeros((100, 100), np.uint8), roi=(200, 200, 50, 50))


@pytest.mark.integration
def test_recall_and_precision_on_200_synthetic_frames(mnist_env) -> None:
    from edgemnist.live.evaluate import StreamScore
    from edgemnist.live.synthetic import SyntheticCamera, parse_synthetic_options

    cam = SyntheticCamera(parse_synthetic_options("digits=1-4&seed=11&sheet_every=20"))
    score = StreamScore()
    for _ in range(200):
        image, truth = cam.next_frame()
        score.add(truth, [d.box for d in detect_digits(image)])
    s = score.summary()
    assert s["truth_digits"] >= 400
    assert s["recall"] >= 0.98, score.errors[:5]
    assert s["precision"] >= 0.98, score.errors[:5]
