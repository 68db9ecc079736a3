"""``synthetic://`` through the Source protocol and the capture thread, on real MNIST test
digits (edgemnist.live.synthetic): frames carry their truth, ``loop`` replays a ``frames=N``
stream, without it the stream ends, and back-pressure loses nothing."""

from __future__ import annotations

import numpy as np
import pytest

from edgemnist.errors import ConfigError
from edgemnist.live.capture import Capture
from edgemnist.live.sources import SyntheticSource, make_source

pytest.importorskip("cv2")
pytest.importorskip("edgemnist.live.synthetic", reason="the synthetic camera is not in this tree")


def test_synthetic_frames_carry_truth_and_loop_replays_them(mnist_env):
    # one source (loading MNIST is the slow part): frames=3 with loop replays frames 0-2
    with make_source(
        "synthetic://?digits=2-3&seed=4&frames=3&width=160&height=120", loop=True
    ) as src:
        assert isinstance(src, SyntheticSource) and not src.live
        frames = [src.read() for _ in range(5)]
        d = src.describe()
    assert [f.index for f in frames] == [0, 1, 2, 3, 4] and not src.ended
    assert all(f.image.shape == (120, 160, 3) and f.image.dtype == np.uint8 for f in frames)
    for f in frames:
        assert 2 <= len(f.truth) <= 3
        assert all(set(t) >= {"box", "digit"} and 0 <= t["digit"] <= 9 for t in f.truth)
    assert np.array_equal(frames[0].image, frames[3].image) and frames[1].truth == frames[4].truth
    assert d["kind"] == "synthetic" and d["width"] == 160 and d["fps"] == 30.0
    assert d["options"]["seed"] == 4


def test_synthetic_through_capture_loses_nothing(mnist_env):
    src = make_source("synthetic://?seed=1&frames=12&width=96&height=96")
    with Capture(src) as cap:
        got = []
        while (f := cap.get(timeout=30)) is not None:
            got.append(f)
    assert [f.index for f in got] == list(range(12)) and cap.dropped == 0
    assert cap.state == "ended" and all(f.truth is not None for f in got)


def test_bad_synthetic_options_are_reported(mnist_env):
    with pytest.raises(ConfigError, match="synthetic"):
        make_source("synthetic://?colour=blue").open()
