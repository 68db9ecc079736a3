"""INT8 (ONNX Runtime QDQ, PyTorch eager), FP16 and the parity gate on a tiny trained LeNet-5."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgemnist.cli.main import main
from edgemnist.errors import ArtifactError, ConfigError


@pytest.fixture(scope="module")
def onnx_dir(tiny_checkpoint, mnist_dir, tmp_path_factory):
    """model.onnx + model.int8.onnx (default CPU recipe) in one directory; EDGEMNIST_DATA set."""
    from edgemnist.export.onnx_export import export_onnx
    from edgemnist.export.quantize_ort import QuantizeOptions, quantize_onnx

    d = tmp_path_factory.mktemp("quant")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EDGEMNIST_DATA", str(mnist_dir))
        fp32 = export_onnx(tiny_checkpoint, d / "model.onnx", threads=1)
        int8 = quantize_onnx(fp32.path, options=QuantizeOptions(threshold=0.5, threads=1))
    return d, fp32, int8


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and len(err.splitlines()) == 1, err
    return err


def test_int8_graph_has_qdq_nodes_and_int8_weights(onnx_dir):
    import onnx

    _, fp32, int8 = onnx_dir
    assert int8.path.name == "model.int8.onnx"
    model = onnx.load(str(int8.path))
    ops = [n.op_type for n in model.graph.node]
    assert ops.count("QuantizeLinear") >= 3 and ops.count("DequantizeLinear") >= 6
    dequantized = {n.input[0] for n in model.graph.node if n.op_type == "DequantizeLinear"}
    int8_weights = [
        t
        for t in model.graph.initializer
        if t.data_type == onnx.TensorProto.INT8 and t.name in dequantized and len(t.dims) >= 2
    ]
    # conv 2 + 3 linears of LeNet-5; conv 1 reads the one-channel image and stays float
    assert len(int8_weights) == 4
    assert int8.manifest["quantization"]["placement"]["float"].get("Conv") == 1
    assert not [
        t
        for t in model.graph.initializer
        if t.data_type == onnx.TensorProto.FLOAT and int(np.prod(t.dims or [1])) > 1000
    ]  # no large float weight left behind
    ratio = fp32.manifest["size_bytes"] / int8.manifest["size_bytes"]
    assert ratio > 3.0


def test_int8_manifest_records_the_recipe_and_calibration(onnx_dir, mnist_dir):
    from edgemnist.data.mnist import load_split
    from edgemnist.export.calibration import balanced_indices, indices_sha256

    _, fp32, int8 = onnx_dir
    m = json.loads(int8.manifest_path.read_text())
    assert (m["format"], m["precision"]) == ("onnx-qdq", "int8")
    q = m["quantization"]
    assert q["format"] == "QDQ" and q["method"] == "minmax" and q["per_channel"] is True
    assert q["activation_symmetric"] is False and q["weight_symmetric"] is True
    assert q["target"] == "cpu" and q["reduce_range"] is True
    _, labels = load_split("train", root=mnist_dir)
    cal = m["calibration"]
    assert cal["size"] == 1000 and cal["seed"] == 0 and cal["split"] == "train"
    assert cal["indices_sha256"] == indices_sha256(balanced_indices(labels, 1000, 0))
    assert m["source"]["file"] == "model.onnx"
    assert m["parity"]["images"] == 10000


def test_int8_manifest_records_the_measured_load_level(onnx_dir):
    from edgemnist.runners.onnxruntime import OnnxRuntimeRunner
    from edgemnist.runners.ort_levels import cpu_identity

    _, _, int8 = onnx_dir
    runtime = int8.manifest["runtime"]
    measured = runtime["graph_opt_measured"]
    assert set(measured["p50_us"]) == {"all", "extended"}
    assert all(v > 0 for v in measured["p50_us"].values())
    assert measured["cpu"] == cpu_identity() and measured["threads"] == 1
    assert runtime["graph_opt"] in ("all", "extended")
    assert f"graph_opt {runtime['graph_opt']}" in int8.manifest["quantization"]["gate_runtime"]
    with OnnxRuntimeRunner(int8.path) as runner:  # loads at the level measured here
        assert runner.info["graph_opt"] == runtime["graph_opt"]
        assert runner.info["graph_opt_from"] == "manifest"


def test_int8_accuracy_close_to_fp32(onnx_dir):
    _, _, int8 = onnx_dir
    rep = int8.report
    assert rep.accuracy_drop <= 0.005 and rep.agreement >= 0.99


def test_verify_passes_good_and_fails_damaged_artifact(onnx_dir, mnist_env, tmp_path, capsys):
    import cv2
    import onnx
    from onnx import numpy_helper

    from edgemnist.export.verify import verify_artifact

    d, fp32, int8 = onnx_dir
    good = verify_artifact(int8.path, threshold=0.5, gallery=tmp_path / "flips.png", threads=1)
    assert good.passed and good.reference.endswith("model.onnx") and good.images == 10000
    png = cv2.imread(str(tmp_path / "flips.png"))
    assert png is not None and png.shape[1] >= 84  # at least one 3x-scaled tile wide

    damaged = onnx.load(str(fp32.path))
    for t in damaged.graph.initializer:
        if len(t.dims) == 4:  # conv weights: scale down 50x, as a broken conversion might
            t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t) * 0.02, t.name))
    bad_path = tmp_path / "damaged.onnx"
    onnx.save(damaged, str(bad_path))
    bad = verify_artifact(bad_path, reference=fp32.path, threads=1)
    assert not bad.passed and bad.accuracy_drop > 0.01 and len(bad.flips) > 100

    code = main(
        ["verify", str(bad_path), "--reference", str(fp32.path), "--threads", "1", "--json"]
    )
    assert code == 1
    out, err = capsys.readouterr()
    assert json.loads(out)["passed"] is False
    assert "failed the parity gate" in err and len(err.strip().splitlines()) == 1


def test_quantize_gate_failure_keeps_nothing(onnx_dir, mnist_env, tmp_path):
    from edgemnist.errors import GateError
    from edgemnist.export.calibration import CalibrationSet
    from edgemnist.export.quantize_ort import QuantizeOptions, quantize_onnx

    _, fp32, _ = onnx_dir
    # calibrating on blank images collapses every activation range: a really broken INT8 model
    blank = CalibrationSet(
        images=np.full((20, 1, 28, 28), -0.1307 / 0.3081, np.float32),
        labels=np.zeros(20, np.uint8),
        indices=np.arange(20),
        seed=0,
    )
    out = tmp_path / "broken.int8.onnx"
    with pytest.raises(GateError, match="parity gate"):
        quantize_onnx(fp32.path, out, QuantizeOptions(calibration=blank, threads=1, limit=1000))
    assert list(tmp_path.iterdir()) == []  # no file, no manifest, no temp left behind
    forced = quantize_onnx(
        fp32.path, out, QuantizeOptions(calibration=blank, threads=1, limit=1000, force=True)
    )
    assert not forced.report.passed and out.is_file()
    assert forced.manifest["parity"]["passed"] is False


def test_non_onnx_and_quantized_inputs_are_refused(onnx_dir, tmp_path, capsys):
    _, _, int8 = onnx_dir
    text = tmp_path / "notes.onnx"
    text.write_text("definitely not protobuf\n" * 20)
    assert main(["quantize", str(text)]) == 1
    assert "not an ONNX model" in _one_error_line(capsys)
    assert main(["verify", str(text)]) == 1
    assert "not an ONNX model" in _one_error_line(capsys)
    assert main(["quantize", str(text), "--precision", "fp16"]) == 1
    _one_error_line(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.onnx"]
    assert main(["verify", str(tmp_path / "missing.onnx")]) == 1
    _one_error_line(capsys)
    from edgemnist.export.quantize_ort import QuantizeOptions, quantize_onnx

    with pytest.raises(ArtifactError, match="already quantized"):
        quantize_onnx(int8.path, out=tmp_path / "again.onnx")
    with pytest.raises(ConfigError):
        quantize_onnx(int8.path, options=QuantizeOptions(method="kl"))
    with pytest.raises(ConfigError, match="symmetric"):
        quantize_onnx(int8.path, options=QuantizeOptions(target="tensorrt", symmetric=False))


def test_tensorrt_target_is_symmetric(onnx_dir, mnist_env, tmp_path):
    import onnx
    from onnx import numpy_helper

    from edgemnist.export.quantize_ort import QuantizeOptions, quantize_onnx

    _, fp32, _ = onnx_dir
    res = quantize_onnx(
        fp32.path,
        tmp_path / "trt.int8.onnx",
        QuantizeOptions(target="tensorrt", calib_size=200, threshold=1.0, threads=1, limit=2000),
    )
    q = res.manifest["quantization"]
    assert q["activation_symmetric"] is True and q["reduce_range"] is False
    assert "runtime" not in res.manifest  # TensorRT's speed is not ONNX Runtime's: not measured
    model = onnx.load(str(res.path))
    inits = {t.name: t for t in model.graph.initializer}
    zero_points = [
        inits[n.input[2]]
        for n in model.graph.node
        if n.op_type == "QuantizeLinear" and len(n.input) > 2 and n.input[2] in inits
    ]
    assert zero_points and all(not numpy_helper.to_array(z).any() for z in zero_points)


def test_fp16_keeps_float32_io(onnx_dir, mnist_env, capsys):
    import onnx

    d, fp32, _ = onnx_dir
    assert (
        main(["quantize", str(fp32.path), "--precision", "fp16", "--threads", "1", "--json"]) == 0
    )
    report = json.loads(capsys.readouterr().out)
    path = d / "model.fp16.onnx"
    assert report["file"] == str(path) and report["passed"] and report["agreement"] >= 0.999
    model = onnx.load(str(path))
    onnx.checker.check_model(model)
    f32 = onnx.TensorProto.FLOAT
    assert model.graph.input[0].type.tensor_type.elem_type == f32
    assert model.graph.output[0].type.tensor_type.elem_type == f32
    assert any(t.data_type == onnx.TensorProto.FLOAT16 for t in model.graph.initializer)
    assert json.loads((d / "model.fp16.onnx.json").read_text())["format"] == "onnx-fp16"


def test_torch_int8_ptq_loads_without_recipe(tiny_checkpoint, mnist_env, tmp_path):
    import shutil

    from edgemnist.export.torch_int8 import TorchInt8Options, export_torch_int8
    from edgemnist.export.verify import verify_artifact
    from edgemnist.runners.open import open_runner

    ckpt = tmp_path / "model.pt"
    shutil.copy(tiny_checkpoint, ckpt)
    res = export_torch_int8(
        ckpt, options=TorchInt8Options(calib_size=200, threshold=1.0, threads=1)
    )
    assert res.path.name == "model.torch-int8.pt"
    assert res.report.accuracy_drop <= 0.01 and res.report.agreement >= 0.98
    m = res.manifest
    assert (m["format"], m["precision"]) == ("torch-int8", "int8")
    assert m["quantization"]["mode"] == "ptq" and m["quantization"]["fused"]
    assert m["size_bytes"] < ckpt.stat().st_size / 2  # TorchScript code adds ~50 KB
    ckpt.unlink()  # the INT8 file must stand on its own
    x = np.zeros((3, 1, 28, 28), np.float32)
    with open_runner(res.path, threads=1) as r:
        assert r.info["precision"] == "int8" and r.infer(x).shape == (3, 10)
    again = verify_artifact(res.path, limit=500, threads=1)
    assert again.reference is None and again.accuracy > 0.85


def test_torch_int8_qat_short_finetune(tiny_checkpoint, mnist_env, tmp_path):
    from edgemnist.export.torch_int8 import TorchInt8Options, export_torch_int8

    res = export_torch_int8(
        tiny_checkpoint,
        tmp_path / "qat.torch-int8.pt",
        TorchInt8Options(qat_epochs=1, qat_limit=1000, threshold=2.0, threads=1, limit=2000),
    )
    assert res.manifest["quantization"]["mode"] == "qat"
    assert res.report.accuracy > 0.85


def test_torch_int8_refuses_functional_models(mnist_env, tmp_path):
    from edgemnist.export.torch_int8 import TorchInt8Options, export_torch_int8
    from edgemnist.models import build_model
    from edgemnist.training.checkpoint import make_checkpoint, save_checkpoint

    model = build_model("resnet18_cbam", width=8).eval()
    ckpt = save_checkpoint(make_checkpoint(model, "resnet18_cbam", {"width": 8}), tmp_path / "r.pt")
    with pytest.raises(ConfigError, match="ONNX Runtime INT8"):
        export_torch_int8(ckpt, options=TorchInt8Options(calib_size=20, threads=1))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.pt"]


def _activation_scales(path):
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    inits = {t.name: t for t in model.graph.initializer}
    return {
        n.input[1]: float(numpy_helper.to_array(inits[n.input[1]]))
        for n in model.graph.node
        if n.op_type == "QuantizeLinear" and n.input[1] in inits
    }


def test_calibration_methods_really_differ(onnx_dir, mnist_env, tmp_path):
    """Entropy and percentile must clip ranges below minmax's (ORT's default entropy bins would
    leave a single candidate and silently reproduce minmax)."""
    from edgemnist.export.quantize_ort import QuantizeOptions, quantize_onnx

    _, fp32, _ = onnx_dir
    scales = {}
    for method in ("minmax", "entropy", "percentile"):
        res = quantize_onnx(
            fp32.path,
            tmp_path / f"{method}.int8.onnx",
            QuantizeOptions(method=method, calib_size=100, threshold=2.0, threads=1, limit=1000),
        )
        assert res.manifest["quantization"]["method"] == method
        scales[method] = _activation_scales(res.path)
    assert scales["minmax"].keys() == scales["entropy"].keys() == scales["percentile"].keys()
    # the one-channel first conv stays float, so the image itself is not quantized: what is
    # left are post-ReLU activations, whose 99.999th percentile sits just below the maximum
    for method, factor in (("entropy", 0.999), ("percentile", 1.0)):
        smaller = [k for k in scales["minmax"] if scales[method][k] < scales["minmax"][k] * factor]
        assert smaller, f"{method} produced the same ranges as minmax"
