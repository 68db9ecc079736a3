"""`edgemnist bench --quick` end to end on a small real model exported in the test.

A LeNet-5 trained for a few dozen steps is exported to ONNX (and to INT8 QDQ with ONNX
Runtime), benchmarked on the real MNIST test set, and the written JSON/CSV/Markdown are
checked; then the regression gate is run against a baseline it must pass and one it must fail.
Timings are printed, never asserted (benchmarks, not tests).
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import numpy as np
import pytest

from edgemnist.cli.main import main

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),  # torch's legacy ONNX exporter
]

QUICK_IMAGES = 2000


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, mnist_dir):
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnxruntime")
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, quantize_static

    from edgemnist.constants import normalize
    from edgemnist.data.mnist import load_split
    from edgemnist.models import build_model
    from edgemnist.training.checkpoint import make_checkpoint, save_checkpoint

    torch.set_num_threads(1)
    torch.manual_seed(0)
    images, labels = load_split("train", mnist_dir)
    x = torch.from_numpy(normalize(images[:4096]))
    y = torch.from_numpy(labels[:4096].astype(np.int64))
    model = build_model("lenet5")
    opt = torch.optim.Adam(model.parameters(), 2e-3)
    model.train()
    for step in range(60):
        idx = slice((step * 64) % 4096, (step * 64) % 4096 + 64)
        loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()

    out = tmp_path_factory.mktemp("engines") / "lenet-tiny"
    out.mkdir()
    save_checkpoint(make_checkpoint(model, "lenet5", {}), out / "model.pt")
    torch.onnx.export(
        model,
        (torch.zeros(1, 1, 28, 28),),
        str(out / "model.onnx"),
        input_names=["input"],
        output_names=["logits"],
        dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
        opset_version=13,
        dynamo=False,
    )

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.batches = iter([{"input": normalize(images[i : i + 1])} for i in range(64)])

        def get_next(self):
            return next(self.batches, None)

    quantize_static(
        str(out / "model.onnx"),
        str(out / "model.int8.onnx"),
        Reader(),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
    )
    return out


def _ort_accuracy(path: Path, n: int) -> float:
    """Accuracy computed independently of the benchmark, straight through ONNX Runtime."""
    import onnxruntime as ort

    from edgemnist.constants import normalize
    from edgemnist.data.mnist import load_split

    images, labels = load_split("test")
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    logits = sess.run(None, {"input": normalize(images[:n])})[0]
    return float((logits.argmax(axis=1) == labels[:n]).mean())


def test_bench_quick_writes_valid_reports(run_dir, mnist_env, tmp_path, capsys):
    from edgemnist.bench.result import validate

    out = tmp_path / "results"
    t0 = time.perf_counter()
    rc = main(["bench", "--run-dir", str(run_dir), "--quick", "--rounds", "2", "--out", str(out)])
    elapsed = time.perf_counter() - t0
    printed = capsys.readouterr().out
    print(f"bench --quick took {elapsed:.1f} s")  # a benchmark figure, not a test
    assert rc == 0, printed

    doc = json.loads((out / "lenet-tiny.json").read_text())
    assert validate(doc) == []
    rows = {r["id"]: r for r in doc["rows"]}
    assert list(rows) == [
        "torch-fp32",
        "torch-int8",
        "onnxruntime-fp32",
        "onnxruntime-int8",
        "tensorrt",
    ]
    ort32, ort8, pt32 = rows["onnxruntime-fp32"], rows["onnxruntime-int8"], rows["torch-fp32"]
    for r in (ort32, ort8, pt32):
        assert r["status"] == "ok", r["reason"]
        assert r["n_images"] == QUICK_IMAGES
        assert r["latency_us"]["n"] >= 50
        assert len(r["latency_rounds_p50_us"]) == 2  # --rounds 2: two turns over the rows
        assert [t["batch"] for t in r["throughput"]] == [1, 32]
    assert ort32["accuracy"] == pytest.approx(_ort_accuracy(run_dir / "model.onnx", QUICK_IMAGES))
    assert ort8["accuracy"] == pytest.approx(
        _ort_accuracy(run_dir / "model.int8.onnx", QUICK_IMAGES)
    )
    assert ort32["accuracy"] > 0.5  # a real, briefly trained model
    # PyTorch and its ONNX export predict the same digits
    assert pt32["agreement"] >= 0.999 and ort32["reference"] == "onnxruntime-fp32"
    assert 0.9 <= ort8["agreement"] <= 1.0
    # rows that cannot run stay, with a reason
    assert rows["torch-int8"]["status"] == "missing"
    assert "model.torch-int8.pt" in rows["torch-int8"]["reason"]
    assert rows["tensorrt"]["status"] in ("unavailable", "missing") and rows["tensorrt"]["reason"]
    # environment and harness floor travel with the numbers
    assert doc["environment"]["models"][str(run_dir / "model.onnx")] == ort32["sha256"]
    assert doc["harness"]["timed_call_us"]["p50"] > 0
    rec = doc["recommendation"]
    assert rec["choice"] in rows and rows[rec["choice"]]["status"] == "ok"
    assert "Ship" in printed and "edgemnist bench" in printed
    assert any(v["row"] == "onnxruntime-int8" for v in rec["int8"])

    with open(out / "lenet-tiny.csv", newline="") as fh:
        csv_rows = list(csv.DictReader(fh))
    assert [r["id"] for r in csv_rows] == list(rows)
    assert float(csv_rows[2]["accuracy"]) == ort32["accuracy"]
    md = (out / "lenet-tiny.md").read_text()
    assert "| ONNX Runtime FP32 | ok" in md and rec["line"] in md
    print(
        "harness timed call p50 {:.3f} us; ORT identity p50 {:.2f} us; ORT FP32 p50 {:.1f} us; "
        "INT8 p50 {:.1f} us; torch p50 {:.1f} us".format(
            doc["harness"]["timed_call_us"]["p50"],
            doc["harness"]["ort_identity"]["latency_us"]["p50"],
            ort32["latency_us"]["p50"],
            ort8["latency_us"]["p50"],
            pt32["latency_us"]["p50"],
        )
    )

    # -- the regression gate, against baselines built from this very run ------------------
    fast = json.loads(json.dumps(doc))  # a baseline 100x faster than anything here: must fail
    slow = json.loads(json.dumps(doc))  # a baseline 100x slower: must pass
    for base, factor in ((fast, 0.01), (slow, 100.0)):
        for r in base["rows"]:
            if r["status"] == "ok":
                r["latency_us"] = {k: v * factor for k, v in r["latency_us"].items()}
                for t in r["throughput"]:
                    t["images_per_s"] = t["images_per_s"] / factor
    (tmp_path / "fast.json").write_text(json.dumps(fast))
    (tmp_path / "slow.json").write_text(json.dumps(slow))
    tiny = ["--limit", "200", "--no-plots", "--warmup-s", "0", "--min-iters", "20"]
    tiny += ["--min-time-s", "0", "--batch-sizes", "1", "--out", str(tmp_path / "cmp")]
    onnx = str(run_dir / "model.onnx")

    assert main(["bench", onnx, *tiny, "--compare", str(tmp_path / "slow.json")]) == 0
    assert "no regression" in capsys.readouterr().out

    rc = main(["bench", onnx, *tiny, "--compare", str(tmp_path / "fast.json"), "--json"])
    captured = capsys.readouterr()
    assert rc == 1
    assert "regression(s) against" in captured.err
    result = json.loads(captured.out)
    assert result["comparison"]["ok"] is False
    assert result["comparison"]["regressions"][0].startswith("onnxruntime-fp32: p50")
