"""``predict`` on photo-like PNGs of MNIST test digits, with a model trained here.

The photos are MNIST test digits written dark-on-light, resized to 60-300 px, offset on a
larger sheet with uneven light, blurred and noised, a third in color
(``benchmarks/predict_photos.py`` renders them). Reading them back through the MNIST
preparation must cost (almost) nothing: accuracy on the photos is within one point of the
same model's accuracy on the raw 28x28 digits.
"""

from __future__ import annotations

import importlib.util
import json
import warnings
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
cv2 = pytest.importorskip("cv2")
pytest.importorskip("onnxruntime")

from edgemnist.cli.main import main  # noqa: E402
from edgemnist.constants import normalize  # noqa: E402
from edgemnist.data.mnist import load_split  # noqa: E402
from edgemnist.manifest import build_manifest, write_manifest  # noqa: E402
from edgemnist.predict import predict_images  # noqa: E402
from edgemnist.preprocess import load_image, prepare_digit  # noqa: E402
from edgemnist.runners.onnxruntime import OnnxRuntimeRunner  # noqa: E402

pytestmark = pytest.mark.integration

N_PHOTOS = 300


@pytest.fixture(scope="module")
def quick_model(mnist_dir: Path, tmp_path_factory) -> Path:
    """LeNet-5, one epoch on 10k training images, one thread, exported to ONNX opset 13
    (``model.onnx``), its checkpoint beside it (``model.pt``)."""
    from edgemnist.models import build_model

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(0)
        images, labels = load_split("train", root=mnist_dir)
        idx = np.random.default_rng(0).choice(len(labels), 10_000, replace=False)
        x = torch.from_numpy(normalize(images[idx]))
        y = torch.from_numpy(labels[idx].astype(np.int64))
        model = build_model("lenet5")
        opt = torch.optim.Adam(model.parameters(), lr=2e-3)
        for batch in torch.randperm(len(y)).split(64):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x[batch]), y[batch]).backward()
            opt.step()
        model.eval()
        path = tmp_path_factory.mktemp("quick") / "model.onnx"
        with warnings.catch_warnings():
            # opset 13 for TensorRT 8.2 needs the TorchScript exporter, deprecated on purpose
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(
                model,
                (torch.zeros(1, 1, 28, 28),),
                str(path),
                input_names=["input"],
                output_names=["logits"],
                dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
                opset_version=13,
                dynamo=False,
            )
        from edgemnist.training.checkpoint import make_checkpoint, save_checkpoint

        save_checkpoint(make_checkpoint(model, "lenet5", {}), path.with_suffix(".pt"))
    finally:
        torch.set_num_threads(threads)
    write_manifest(path, build_manifest(path, "onnx", "fp32"))
    return path


@pytest.fixture(scope="module")
def photos(mnist_dir: Path, tmp_path_factory, benchmark_script):
    """N_PHOTOS photo-like PNG files of test digits, their labels and the raw digits."""
    images, labels = load_split("test", root=mnist_dir)
    idx = np.random.default_rng(7).choice(len(labels), N_PHOTOS, replace=False)
    out = tmp_path_factory.mktemp("photos")
    paths = benchmark_script("predict_photos").write_photos(images[idx], out, seed=7)
    return paths, labels[idx], images[idx]


def test_photos_are_photo_like(photos) -> None:
    paths, _, _ = photos
    sizes, colored = [], 0
    for p in paths[:60]:
        img = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
        sizes.append(max(img.shape[:2]))
        colored += img.ndim == 3
        assert np.median(img) > 150  # light paper, dark ink
    assert min(sizes) >= 60 and max(sizes) > 300 and 5 <= colored <= 40


def test_predict_on_photos_matches_the_raw_digits(quick_model: Path, photos) -> None:
    paths, labels, raw = photos
    report = predict_images(quick_model, paths)
    assert report.failed == 0
    got = np.array([p.digit for p in report.predictions])
    with OnnxRuntimeRunner(quick_model) as runner:
        raw_pred = runner.infer(normalize(raw)).argmax(axis=1)
    photo_acc = float((got == labels).mean())
    raw_acc = float((raw_pred == labels).mean())
    agreement = float((got == raw_pred).mean())
    print(f"photo {photo_acc:.4f} raw {raw_acc:.4f} agreement {agreement:.4f}")
    assert raw_acc > 0.85  # the quick model learned something
    assert photo_acc >= raw_acc - 0.01
    assert agreement >= 0.96
    assert report.runner["backend"] == "onnxruntime"


def test_cli_json_gives_digit_confidence_and_top3(quick_model: Path, photos, capsys) -> None:
    paths, _, _ = photos
    chosen = [str(p) for p in paths[:3]]
    assert main(["predict", str(quick_model), *chosen, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    expected = predict_images(quick_model, chosen).predictions
    assert [p["digit"] for p in data["predictions"]] == [p.digit for p in expected]
    for p in data["predictions"]:
        top3 = p["top3"]
        assert len(top3) == 3 and len({d for d, _ in top3}) == 3
        probs = [prob for _, prob in top3]
        assert probs == sorted(probs, reverse=True) and sum(probs) <= 1 + 1e-6
        assert p["digit"] == top3[0][0] and p["confidence"] == top3[0][1]
        assert p["error"] is None and len(p["preprocess"]["bbox"]) == 4
    assert data["runner"]["providers"] == ["CPUExecutionProvider"]


def test_cli_text_and_saved_crops(quick_model: Path, photos, tmp_path: Path, capsys) -> None:
    paths, _, _ = photos
    crops = tmp_path / "crops"
    rc = main(["predict", str(quick_model), str(paths[0]), "--save-crops", str(crops)])
    assert rc == 0
    out = capsys.readouterr().out
    pred = predict_images(quick_model, [paths[0]]).predictions[0]
    assert f"{paths[0]}: {pred.digit} (" in out and "%" in out
    saved = crops / f"{paths[0].stem}.crop.png"
    np.testing.assert_array_equal(load_image(saved), prepare_digit(load_image(paths[0]))[0])


def test_cli_reports_unreadable_images_and_exits_1(
    quick_model: Path, photos, tmp_path: Path, capsys
) -> None:
    paths, _, _ = photos
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not a png")
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((100, 100), 230, np.uint8))
    rc = main(["predict", str(quick_model), str(paths[0]), str(junk), str(blank)])
    out = capsys.readouterr().out
    assert rc == 1
    assert "junk.png: error: " in out and "blank.png: error: no ink found" in out
    assert f"{paths[0]}: " in out and f"{paths[0]}: error" not in out


def test_cli_missing_model_is_one_red_line(tmp_path: Path, photos, capsys) -> None:
    paths, _, _ = photos
    rc = main(["predict", str(tmp_path / "absent.onnx"), str(paths[0])])
    err = capsys.readouterr().err.strip()
    assert rc == 1 and err.startswith("error:") and "\n" not in err and "not found" in err


@pytest.mark.skipif(importlib.util.find_spec("tensorrt") is not None, reason="TensorRT here")
def test_engine_falls_back_to_its_onnx_and_says_so(
    quick_model: Path, photos, tmp_path: Path, capsys
) -> None:
    paths, _, _ = photos
    onnx_copy = tmp_path / "model.onnx"
    onnx_copy.write_bytes(quick_model.read_bytes())
    engine = tmp_path / "model.engine"
    engine.write_bytes(b"a plan this machine cannot load (no TensorRT)")
    write_manifest(engine, build_manifest(engine, "tensorrt", "fp16", source=onnx_copy))
    chosen = [str(p) for p in paths[:5]]
    assert main(["predict", str(engine), *chosen]) == 0
    captured = capsys.readouterr()
    assert "note:" in captured.err and "model.onnx on onnxruntime" in captured.err
    direct = predict_images(quick_model, chosen).predictions
    for p in direct:
        assert f"{p.image}: {p.digit} (" in captured.out


def test_checkpoint_on_torch_gives_the_same_digits(quick_model: Path, photos, capsys) -> None:
    paths, _, _ = photos
    chosen = [str(p) for p in paths[:20]]
    checkpoint = quick_model.with_suffix(".pt")
    assert main(["predict", str(checkpoint), *chosen, "--json", "--threads", "1"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["runner"]["backend"] == "torch" and "fallback_reason" not in data["runner"]
    onnx_digits = [p.digit for p in predict_images(quick_model, chosen).predictions]
    assert [p["digit"] for p in data["predictions"]] == onnx_digits


def test_cli_provider_that_is_absent_is_one_red_line(quick_model: Path, photos, capsys) -> None:
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("this onnxruntime has CUDA")
    paths, _, _ = photos
    rc = main(["predict", str(quick_model), str(paths[0]), "--providers", "cuda"])
    err = capsys.readouterr().err.strip()
    assert rc == 1 and err.startswith("error:") and "CUDAExecutionProvider" in err
    assert "\n" not in err
