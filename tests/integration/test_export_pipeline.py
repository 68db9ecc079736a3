"""`edgemnist pipeline`: train -> export -> quantize -> verify, end to end, on a tiny run."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

from edgemnist.cli.main import main  # noqa: E402

pytestmark = pytest.mark.integration


def test_pipeline_writes_every_artifact_with_manifests(mnist_env, tmp_path, capsys):
    out = tmp_path / "engines" / "lenet5"
    code = main(
        [
            "pipeline",
            "lenet5",
            "--out-dir",
            str(out),
            "--limit",
            "3000",
            "--epochs",
            "2",
            "--set",
            "train.batch_size=32",
            "--calib-size",
            "200",
            "--threads",
            "1",
            "--gate",
            "1.0",
            "--json",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    report = json.loads(captured.out)
    rows = {r["file"]: r for r in report["artifacts"]}
    assert set(rows) == {"model.onnx", "model.int8.onnx", "model.fp16.onnx", "model.torch-int8.pt"}
    assert rows["model.onnx"]["agreement"] == 1.0
    assert rows["model.onnx"]["max_abs_dlogit"] <= 1e-4
    assert rows["model.fp16.onnx"]["agreement"] >= 0.999
    for row in rows.values():
        assert row["passed"] and row["accuracy_drop"] <= 0.01
        assert (out / (row["file"] + ".json")).is_file()
    assert 0.8 < report["train"]["test_accuracy"] <= 1.0  # one unit in the report: fractions
    assert (out / "model.pt").is_file() and (out / "flips.int8.png").is_file()
    manifests = {f: json.loads((out / (f + ".json")).read_text()) for f in rows}
    assert manifests["model.int8.onnx"]["source"]["file"] == "model.onnx"
    assert manifests["model.onnx"]["source"]["file"] == "model.pt"
    assert manifests["model.torch-int8.pt"]["source"]["file"] == "model.pt"
    # the artifacts verify again from their manifests alone (default reference = source)
    assert (
        main(
            [
                "verify",
                str(out / "model.int8.onnx"),
                "--gate",
                "1.0",
                "--threads",
                "1",
                "--json",
            ]
        )
        == 0
    )
    again = json.loads(capsys.readouterr().out)
    assert again["reference"].endswith("model.onnx") and again["images"] == 10000
    assert again["accuracy"] == rows["model.int8.onnx"]["accuracy"]


def test_pipeline_rejects_a_bad_recipe_before_training(mnist_env, tmp_path, capsys):
    out = tmp_path / "x"
    assert main(["pipeline", "no-such-recipe", "--out-dir", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and len(err.splitlines()) == 1
    assert not out.exists()


def test_opset18_uses_dynamo_and_stays_one_file(tiny_checkpoint, mnist_env, tmp_path):
    """The dynamo exporter writes weights to a separate .data file by default: not here."""
    import onnx

    from edgemnist.export.onnx_export import export_onnx

    res = export_onnx(tiny_checkpoint, tmp_path / "m18.onnx", opset=18, threads=1, limit=500)
    assert res.manifest["exporter"] == "dynamo" and res.manifest["opset"] == 18
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m18.onnx", "m18.onnx.json"]
    model = onnx.load(str(res.path), load_external_data=False)
    assert all(t.data_location != onnx.TensorProto.EXTERNAL for t in model.graph.initializer)
    assert model.graph.input[0].name == "input" and model.graph.output[0].name == "logits"
    assert res.report.agreement == 1.0 and res.report.max_abs_dlogit <= 1e-4


def test_pipeline_from_a_trained_checkpoint_skips_training(
    tiny_checkpoint, mnist_env, tmp_path, capsys
):
    out = tmp_path / "from-ckpt"
    code = main(
        [
            "pipeline",
            str(tiny_checkpoint),
            "--out-dir",
            str(out),
            "--no-fp16",
            "--no-torch-int8",
            "--gate",
            "0.5",  # the barely trained fixture model loses ~0.14 points in INT8
            "--json",
        ]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert [row["format"] for row in report["artifacts"]] == ["onnx", "onnx-qdq"]
    assert all(row["passed"] for row in report["artifacts"])
    assert not (out / "last.pt").exists()  # no training happened here
    assert (out / "model.onnx.json").is_file() and (out / "model.int8.onnx.json").is_file()
