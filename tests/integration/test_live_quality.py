"""The live vision stages with a real model on ONNX Runtime: synthetic:// -> detect -> prepare
(the same preparation as ``predict``) -> one batched infer -> tracker, scored against truth.

The model is the tiny LeNet-5 of ``tiny_checkpoint`` (~95 % on MNIST), so the bars here are
for the pipeline, not the model: the acceptance numbers with the real ``edge`` model come from
``benchmarks/live_quality.py`` (results in ``benchmarks/results/``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
cv2 = pytest.importorskip("cv2")
pytest.importorskip("onnxruntime")

from edgemnist.live.detect import detect_digits  # noqa: E402
from edgemnist.live.read import classify_batch, prepare_crops, read_digits  # noqa: E402
from edgemnist.runners.open import open_runner  # noqa: E402

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def tiny_onnx(tiny_checkpoint, mnist_dir, tmp_path_factory) -> Path:
    from edgemnist.export.onnx_export import export_onnx

    out = tmp_path_factory.mktemp("live") / "model.onnx"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EDGEMNIST_DATA", str(mnist_dir))
        return export_onnx(tiny_checkpoint, out, threads=1, limit=500).path


class CountingRunner:
    """A real runner whose ``infer`` calls are recorded (batch sizes), to check batching."""

    def __init__(self, runner) -> None:
        self.runner = runner
        self.info = runner.info
        self.batches = []

    def infer(self, x):
        self.batches.append(len(x))
        return self.runner.infer(x)


def test_stream_quality_with_a_real_model(tiny_onnx, mnist_env, benchmark_script) -> None:
    bench = benchmark_script("live_quality")
    with open_runner(tiny_onnx, threads=1) as runner:
        out = bench.run_stream(runner, "synthetic://?digits=1-4&seed=21&sheet_every=30", 150)
    q = out["quality"]
    assert q["truth_digits"] >= 300
    assert q["recall"] >= 0.98 and q["precision"] >= 0.98, out["errors"][:5]
    # a ~95 % model: voting over frames must not be worse than one frame's answer
    assert q["single_frame_accuracy"] >= 0.85
    assert q["stable_accuracy"] >= max(0.9, q["single_frame_accuracy"])
    assert q["stable_coverage"] >= 0.8


def test_one_batched_infer_per_frame(tiny_onnx, mnist_env) -> None:
    from edgemnist.live.synthetic import SyntheticCamera, parse_synthetic_options

    cam = SyntheticCamera(parse_synthetic_options("digits=4&seed=3"))
    image, truth = cam.next_frame()
    with open_runner(tiny_onnx, threads=1) as runner:
        spy = CountingRunner(runner)
        dets = detect_digits(image)
        reads = read_digits(spy, image, dets)
    assert len(dets) == 4 and spy.batches == [4]
    assert [r.box for r in reads] == [d.box for d in dets]
    assert all(0.0 <= r.confidence <= 1.0 for r in reads)


def test_a_batch_1_model_is_run_one_digit_at_a_time(tiny_onnx, tmp_path, mnist_env) -> None:
    import onnx

    from edgemnist.data.mnist import load_split

    model = onnx.load(str(tiny_onnx))
    for value in (model.graph.input[0], model.graph.output[0]):
        value.type.tensor_type.shape.dim[0].dim_value = 1
    fixed = tmp_path / "fixed.onnx"
    onnx.save(model, str(fixed))
    images, _ = load_split("test")
    digits = images[:3]
    with open_runner(tiny_onnx, threads=1) as dynamic, open_runner(fixed, threads=1) as one:
        assert one.info["batch"] == 1
        spy = CountingRunner(one)
        assert classify_batch(spy, digits) == classify_batch(dynamic, digits)
    assert spy.batches == [1, 1, 1]


def test_camera_crops_are_prepared_like_predict_photos(tiny_onnx, mnist_env, benchmark_script):
    """A photo of one digit: predict's prepare_digit on the whole picture and live's detect +
    prepare_crops give (nearly) the same 28x28 image, and the same answers."""
    from edgemnist.data.mnist import load_split
    from edgemnist.preprocess import prepare_digit

    render = benchmark_script("predict_photos").render_photo
    images, labels = load_split("test")
    rng = np.random.default_rng(5)
    pairs = []
    for i in rng.choice(len(labels), 60, replace=False):
        photo = render(images[i], rng)
        photo = cv2.copyMakeBorder(photo, 40, 40, 40, 40, cv2.BORDER_REPLICATE)
        dets = detect_digits(photo)
        assert len(dets) == 1, f"test digit {i}"
        live = prepare_crops(photo, dets)[0]
        pred, _ = prepare_digit(photo)
        pairs.append((live, pred))
    live = np.stack([a for a, _ in pairs])
    pred = np.stack([b for _, b in pairs])
    diff = np.abs(live.astype(np.float32) - pred.astype(np.float32)).mean(axis=(1, 2))
    assert float(np.median(diff)) < 12.0  # gray levels of 255, per pixel
    with open_runner(tiny_onnx, threads=1) as runner:
        a = [d for d, _ in classify_batch(runner, live, threshold=0.0)]
        b = [d for d, _ in classify_batch(runner, pred, threshold=0.0)]
    assert np.mean(np.asarray(a) == np.asarray(b)) >= 0.95


def test_benchmark_report_has_numbers_method_and_fingerprint(
    tiny_onnx, mnist_env, benchmark_script
):
    bench = benchmark_script("live_quality")
    report = bench.measure(tiny_onnx, frames=30, speed_frames=20)
    assert report["quality_run"]["frames"] == 30
    for stage in ("detect", "prepare", "infer", "track", "total"):
        assert report["speed_run"]["stages_wall"][stage]["p50_ms"] > 0
    assert report["speed_run"]["total_cpu"]["p50_ms"] > 0
    assert report["environment"]["cpu"]["model"]
    assert report["runner"]["threads"] == 1
    assert "IoU >= 0.3" in report["method"]
    assert "| detect |" in bench.markdown(report)


def test_digits_without_ink_are_unknown_and_not_run(tiny_onnx, mnist_env) -> None:
    from edgemnist.data.mnist import load_split

    images, _ = load_split("test")
    digits = np.concatenate([images[:2], np.zeros((1, 28, 28), np.uint8), images[2:3]])
    with open_runner(tiny_onnx, threads=1) as runner:
        spy = CountingRunner(runner)
        answers = classify_batch(spy, digits, threshold=0.0)
        assert classify_batch(spy, np.zeros((0, 28, 28), np.uint8)) == []
    assert spy.batches == [3]
    assert answers[2] == (None, 0.0)
    assert all(isinstance(d, int) for d, _ in answers[:2] + answers[3:])
