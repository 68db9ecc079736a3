"""``synthetic://``: option parsing, determinism, ground truth that matches the pixels."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from edgemnist.errors import ConfigError, DataError
from edgemnist.live.synthetic import SyntheticOptions, parse_synthetic_options

cv2 = pytest.importorskip("cv2")


def test_defaults_and_the_documented_query() -> None:
    assert parse_synthetic_options("") == SyntheticOptions()
    o = parse_synthetic_options("digits=1-4&fps=30&seed=0&width=640&height=480")
    assert (o.digits, o.fps, o.seed, o.width, o.height, o.frames) == (
        (1, 4),
        30.0,
        0,
        640,
        480,
        None,
    )
    o = parse_synthetic_options("synthetic://?digits=3&frames=100&lighting=off&jpeg=80&size=30-60")
    assert (o.digits, o.frames, o.lighting, o.jpeg, o.size) == ((3, 3), 100, False, 80, (30, 60))


@pytest.mark.parametrize(
    "query, match",
    [
        ("digitz=3", "unknown option 'digitz': valid options are digits, fps, seed"),
        ("digits=4-1", "not a valid range"),
        ("digits=a", "not a number or a range"),
        ("fps=fast", "bad value fps='fast'"),
        ("lighting=maybe", "bad value lighting"),
        ("width=10", "at least 64"),
        ("jpeg=101", "quality"),
        ("digits=1-9", "at most 8"),
    ],
)
def test_bad_options_are_config_errors(query: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        parse_synthetic_options(query)


def test_missing_mnist_says_how_to_get_it(tmp_path, monkeypatch) -> None:
    from edgemnist.live.synthetic import SyntheticCamera

    monkeypatch.setenv("EDGEMNIST_DATA", str(tmp_path))
    with pytest.raises(DataError, match="edgemnist data download"):
        SyntheticCamera(SyntheticOptions())


def _digest(cam, n: int) -> str:
    h = hashlib.sha256()
    for _ in range(n):
        image, truth = cam.next_frame()
        h.update(image.tobytes())
        h.update(repr(truth).encode())
    return h.hexdigest()


@pytest.mark.integration
def test_same_seed_same_frames_other_seed_other_frames(mnist_env) -> None:
    from edgemnist.live.synthetic import SyntheticCamera

    opts = parse_synthetic_options("seed=3&sheet_every=4&jpeg=85")
    a = _digest(SyntheticCamera(opts), 10)
    assert a == _digest(SyntheticCamera(opts), 10)
    assert a != _digest(SyntheticCamera(parse_synthetic_options("seed=4&sheet_every=4")), 10)
    # random access gives the frames of the sequence
    cam, seq = SyntheticCamera(opts), SyntheticCamera(opts)
    frames = [seq.next_frame()[0] for _ in range(7)]
    assert np.array_equal(cam.frame(6)[0], frames[6])
    assert np.array_equal(cam.frame(2)[0], frames[2])


@pytest.mark.integration
def test_frames_sheets_and_truth(mnist_env) -> None:
    from edgemnist.live.synthetic import SyntheticCamera

    cam = SyntheticCamera(parse_synthetic_options("digits=1-4&frames=120&sheet_every=30&seed=5"))
    assert cam.fps == 30.0
    counts, ids = [], set()
    for image, truth in cam:
        assert image.shape == (480, 640, 3) and image.dtype == np.uint8
        assert 1 <= len(truth) <= 4
        counts.append(len(truth))
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)
        for t in truth:
            x, y, w, h = t["box"]
            assert 0 <= t["digit"] <= 9
            assert x >= 0 and y >= 0 and x + w <= 640 and y + h <= 480, "digits stay in view"
            assert 30 <= h <= 140, "realistic digit heights"
            ids.add(t["id"])
            # the box holds ink: its darkest pixels are much darker than the paper around it
            inside = gray[y : y + h, x : x + w]
            around = gray[max(0, y - h) : y + 2 * h, max(0, x - w) : x + 2 * w]
            assert np.percentile(inside, 5) < 0.75 * np.median(around)
        boxes = [t["box"] for t in truth]
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                a, b = boxes[i], boxes[j]
                apart = (
                    a[0] + a[2] <= b[0]
                    or b[0] + b[2] <= a[0]
                    or a[1] + a[3] <= b[1]
                    or b[1] + b[3] <= a[1]
                )
                assert apart, "digits never overlap unless touching= asks for it"
    assert cam.done
    with pytest.raises(StopIteration):
        cam.next_frame()
    # 4 sheets, their digits keep an id through the sheet
    assert len(ids) == sum(counts[i] for i in (0, 30, 60, 90))
    assert len({c for c in counts}) > 1


@pytest.mark.integration
def test_the_camera_moves_and_the_light_changes(mnist_env) -> None:
    from edgemnist.live.synthetic import SyntheticCamera

    cam = SyntheticCamera(parse_synthetic_options("digits=2&seed=8&sheet_every=90"))
    first_img, first = cam.frame(0)
    later_img, later = cam.frame(60)
    shift = max(
        abs(a["box"][0] - b["box"][0]) + abs(a["box"][1] - b["box"][1])
        for a, b in zip(first, later)
    )
    assert shift >= 2, "a hand-held camera drifts"
    assert [a["id"] for a in first] == [b["id"] for b in later]
    assert not np.array_equal(first_img, later_img)


@pytest.mark.integration
def test_touching_option_makes_neighbours_touch(mnist_env) -> None:
    from edgemnist.live.synthetic import SyntheticCamera

    cam = SyntheticCamera(parse_synthetic_options("digits=3&touching=1&seed=2&sheet_every=1"))
    touching = 0
    for n in range(40):
        _, truth = cam.frame(n)
        boxes = sorted(t["box"] for t in truth)
        touching += any(
            a[0] + a[2] > b[0] and abs(a[1] - b[1]) < a[3] for a, b in zip(boxes, boxes[1:])
        )
    assert touching >= 10
