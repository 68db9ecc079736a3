"""The Runner protocol: state, input validation, copy semantics, context manager."""

from __future__ import annotations

import numpy as np
import pytest

from edgemnist.errors import InputError
from edgemnist.runners.base import Runner, validate_input


class BufferReusingRunner(Runner):
    """Test double: writes every answer into ONE preallocated buffer and returns that buffer,
    as TensorRT host buffers do. Records calls to load/close."""

    name = "buffer-double"

    def __init__(self, classes: int = 10, replace_info: bool = False) -> None:
        super().__init__(None)
        self.classes = classes
        self.replace_info = replace_info
        self.calls: list = []
        self.buffer = np.zeros((8, classes), np.float32)

    def _load(self) -> None:
        self.calls.append("load")
        if self.replace_info:
            self.info = {"engine": "double"}  # what a careless subclass does

    def _infer(self, x: np.ndarray) -> np.ndarray:
        self.calls.append(("infer", x.shape, x.dtype, x.flags["C_CONTIGUOUS"]))
        n = x.shape[0]
        # logit k = k + mean pixel: deterministic and input-dependent
        self.buffer[:n] = (
            np.arange(self.classes, dtype=np.float32) + x.mean(axis=(1, 2, 3))[:, None]
        )
        return self.buffer[:n]

    def _close(self) -> None:
        self.calls.append("close")


def batch(n: int = 2, value: float = 0.5) -> np.ndarray:
    return np.full((n, 1, 28, 28), value, np.float32)


def test_infer_before_load_is_refused() -> None:
    with pytest.raises(InputError, match="load"):
        BufferReusingRunner().infer(batch())


@pytest.mark.parametrize(
    "bad, what",
    [
        (np.zeros((2, 1, 28, 28), np.float64), "float32"),
        (np.zeros((2, 1, 28, 28), np.uint8), "float32"),
        (np.zeros((2, 28, 28), np.float32), r"\(N, 1, 28, 28\)"),
        (np.zeros((2, 3, 28, 28), np.float32), r"\(N, 1, 28, 28\)"),
        (np.zeros((2, 1, 32, 32), np.float32), r"\(N, 1, 28, 28\)"),
        (np.zeros((0, 1, 28, 28), np.float32), r"\(N, 1, 28, 28\)"),
        ([[0.0] * 28] * 28, "numpy array"),
    ],
)
def test_wrong_input_is_an_input_error_with_one_line(bad, what) -> None:
    runner = BufferReusingRunner().load()
    with pytest.raises(InputError, match=what) as err:
        runner.infer(bad)
    assert "\n" not in str(err.value)
    assert not any(c[0] == "infer" for c in runner.calls if isinstance(c, tuple))


def test_max_batch_is_enforced() -> None:
    with pytest.raises(InputError, match="maximum batch 1"):
        validate_input(batch(2), max_batch=1)


def test_non_contiguous_input_reaches_backend_contiguous() -> None:
    runner = BufferReusingRunner().load()
    x = np.zeros((2, 1, 28, 56), np.float32)[:, :, :, ::2]
    assert not x.flags["C_CONTIGUOUS"]
    runner.infer(x)
    assert runner.calls[-1] == ("infer", (2, 1, 28, 28), np.float32, True)


def test_output_is_a_fresh_copy_not_the_backend_buffer() -> None:
    runner = BufferReusingRunner().load()
    first = runner.infer(batch(2, 0.0))
    assert not np.shares_memory(first, runner.buffer)
    kept = first.copy()
    second = runner.infer(batch(2, 1.0))  # the backend overwrites its buffer
    np.testing.assert_array_equal(first, kept)
    assert first.shape == second.shape == (2, 10)
    assert first.dtype == np.float32
    np.testing.assert_allclose(second - first, 1.0)
    first[:] = -1  # mutating the answer cannot corrupt the backend
    np.testing.assert_allclose(runner.buffer[:2], second)


def test_latency_is_recorded() -> None:
    runner = BufferReusingRunner().load()
    assert np.isnan(runner.last_latency_s)
    runner.infer(batch(1))
    assert 0.0 <= runner.last_latency_s < 1.0


def test_wrong_number_of_classes_is_reported() -> None:
    runner = BufferReusingRunner(classes=7).load()
    with pytest.raises(InputError, match="7 outputs"):
        runner.infer(batch(1))


def test_context_manager_loads_once_and_closes_once() -> None:
    runner = BufferReusingRunner()
    with runner as r:
        assert r is runner and r.loaded
        r.load()  # idempotent
        r.infer(batch(1))
    assert not runner.loaded
    runner.close()  # safe twice
    assert [c for c in runner.calls if isinstance(c, str)] == ["load", "close"]
    with pytest.raises(InputError, match="load"):
        runner.infer(batch(1))


def test_context_manager_closes_on_error() -> None:
    runner = BufferReusingRunner()
    with pytest.raises(InputError), runner:
        runner.infer(np.zeros((1, 28, 28), np.float32))
    assert runner.calls[-1] == "close" and not runner.loaded


def test_fallback_reason_survives_a_load_that_replaces_info() -> None:
    runner = BufferReusingRunner(replace_info=True)
    runner.fallback_reason = "TensorRT missing: running model.onnx instead"
    runner.load()
    assert runner.info["engine"] == "double"
    assert runner.info["fallback_reason"] == runner.fallback_reason
    assert runner.info["backend"] == "buffer-double"


def test_available_default_and_repr() -> None:
    assert BufferReusingRunner.available() == (True, "")
    assert "BufferReusingRunner" in repr(BufferReusingRunner())
