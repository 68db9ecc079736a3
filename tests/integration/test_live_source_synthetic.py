"""``synthetic://`` through the Source protocol and the capture thread, on real MNIST test
digits (edgemnist.live.synthetic): frames carry their truth, ``frames=N`` ends the stream,
``loop`` replays it, back-pressure loses nothing."""

from __future__ import annotations

import numpy as np
import pytest

from edgemnist.errors import ConfigError
from edgemnist.live.capture import Capture
from edgemnist.live.sources import SyntheticSource, make_source

pytest.importorskip("cv2")
pytest.importorskip("edgemnist.live.synthetic", reason="the synthetic camera is not in this tree")


def test_synthetic_frames_carry_truth_and_end(mnist_env):
    with make_source("synthetic://?digits=2-3&seed=4&frames=4&width=160&height=120") as src:
        assert isinstance(src, SyntheticSource) and not src.live
        frames = []
        while (f := src.read()) is not None:
            frames.append(f)
        d = src.describe()
    assert [f.index for f in frames] == [0, 1, 2, 3] and src.ended
    assert all(f.image.shape == (120, 160, 3) and f.image.dtype == np.uint8 for f in frames)
    for f in frames:
        assert 2 <= len(f.truth) <= 3
        assert all(set(t) >= {"box", "digit"} and 0 <= t["digit"] <= 9 for t in f.truth)
    assert d["kind"] == "synthetic" and d["width"] == 160 and d["fps"] == 30.0
    assert d["options"]["seed"] == 4


def test_synthetic_loop_replays_the_same_frames(mnist_env):
    with make_source("synthetic://?seed=2&frames=2&width=96&height=96", loop=True) as src:
        frames = [src.read() for _ in range(5)]
    assert [f.index for f in frames] == [0, 1, 2, 3, 4]
    assert np.array_equal(frames[0].image, frames[2].image)
    assert frames[0].truth == frames[2].truth


def test_synthetic_through_capture_loses_nothing(mnist_env):
    src = make_source("synthetic://?seed=1&frames=30&width=96&height=96")
    with Capture(src) as cap:
        got = []
        while (f := cap.get(timeout=30)) is not None:
            got.append(f)
    assert [f.index for f in got] == list(range(30)) and cap.dropped == 0
    assert cap.state == "ended" and all(f.truth is not None for f in got)


def test_bad_synthetic_options_are_reported(mnist_env):
    with pytest.raises(ConfigError, match="synthetic"):
        make_source("synthetic://?colour=blue").open()
