"""Rows: which rows a run directory gives, and rows that cannot run stay with their reason."""

from __future__ import annotations

import numpy as np
import pytest
from tiny_onnx import linear_onnx

from edgemnist.bench.result import BenchRow
from edgemnist.bench.rows import MISSING, READY, UNAVAILABLE, plan_rows, rows_for_run_dir
from edgemnist.bench.run import BenchConfig, run_bench
from edgemnist.bench.timing import TimingConfig
from edgemnist.constants import normalize
from edgemnist.errors import ArtifactError, ConfigError
from edgemnist.manifest import build_manifest, write_manifest


def fake_availability(missing_backends=("tensorrt", "trtexec")):
    """Test double for ``backend_available``: these backends are 'not installed'."""

    def check(backend):
        if backend in missing_backends:
            return False, f"{backend} is not installed (test double)"
        return True, ""

    return check


def test_run_dir_rows_that_cannot_run_stay_with_reason(tmp_path):
    run = tmp_path / "engines" / "tiny"
    run.mkdir(parents=True)
    (run / "model.onnx").write_bytes(b"onnx bytes")
    rows = rows_for_run_dir(run, availability=fake_availability())
    by_id = {r.id: r for r in rows}
    assert list(by_id) == [
        "torch-fp32",
        "torch-int8",
        "onnxruntime-fp32",
        "onnxruntime-int8",
        "tensorrt",
    ]
    assert by_id["onnxruntime-fp32"].status == READY
    assert by_id["onnxruntime-fp32"].artifact == run / "model.onnx"
    for rid, file in (("torch-fp32", "model.pt"), ("onnxruntime-int8", "model.int8.onnx")):
        assert by_id[rid].status == MISSING
        assert file in by_id[rid].reason and "edgemnist" in by_id[rid].reason
    trt = by_id["tensorrt"]
    assert trt.status == UNAVAILABLE and "tensorrt is not installed" in trt.reason
    assert all(r.model == "tiny" for r in rows)


def test_backend_not_installed_gives_unavailable_row(tmp_path):
    (tmp_path / "model.pt").write_bytes(b"checkpoint")
    (tmp_path / "model.torch-int8.pt").write_bytes(b"int8 checkpoint")
    rows = rows_for_run_dir(tmp_path, availability=fake_availability(("torch", "tensorrt")))
    torch_rows = [r for r in rows if r.backend == "torch"]
    assert [r.precision for r in torch_rows] == ["fp32", "int8"]
    assert all(r.status == UNAVAILABLE and "torch is not installed" in r.reason for r in torch_rows)
    # with TensorRT installed but no engine, the TensorRT row says how to build one
    rows = rows_for_run_dir(tmp_path, availability=fake_availability(()))
    trt = rows[-1]
    assert trt.status == MISSING and "build-engine" in trt.reason


def test_engines_and_extra_onnx_variants_get_their_rows(tmp_path):
    for name in ("model.onnx", "model.fp16.onnx", "model.ort.onnx", "model.engine"):
        (tmp_path / name).write_bytes(b"x")
    engine = tmp_path / "model.engine"
    write_manifest(engine, build_manifest(engine, "tensorrt", "fp16"))
    (tmp_path / "notes.txt").write_text("not an artifact")
    rows = rows_for_run_dir(tmp_path, availability=fake_availability())
    ids = [r.id for r in rows]
    assert "onnxruntime-fp16" in ids and "onnxruntime-fp32-ort-optimized" in ids
    assert ids[-2:] == ["tensorrt-fp16", "trtexec-fp16"]
    assert rows[-2].label == "TensorRT FP16" and rows[-1].status == UNAVAILABLE
    assert len(set(ids)) == len(ids)


def test_explicit_artifacts_and_bad_input(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "model.int8.onnx").write_bytes(b"x")
    rows = plan_rows([tmp_path / "a" / "model.int8.onnx"], availability=fake_availability())
    assert [(r.id, r.precision, r.format, r.model) for r in rows] == [
        ("onnxruntime-int8", "int8", "onnx-qdq", "a")
    ]
    with pytest.raises(ArtifactError, match="not found"):
        plan_rows([tmp_path / "nope.onnx"], availability=fake_availability())
    with pytest.raises(ArtifactError, match="not a directory"):
        plan_rows(run_dirs=[tmp_path / "nope"], availability=fake_availability())
    with pytest.raises(ConfigError, match="nothing to benchmark"):
        plan_rows()


def test_run_bench_keeps_unrunnable_rows_and_reports_broken_ones(tmp_path):
    """Real ONNX Runtime on a real (linear) ONNX model; a corrupt ONNX; a missing INT8."""
    pytest.importorskip("onnxruntime")
    good = tmp_path / "good"
    w = linear_onnx(good / "model.onnx")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model.onnx").write_bytes(b"this is not protobuf")
    rows = plan_rows(run_dirs=[good, broken], availability=fake_availability(("torch", "tensorrt")))

    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, size=(300, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=300).astype(np.uint8)
    config = BenchConfig(
        batch_sizes=(1, 7),
        latency=TimingConfig(warmup_s=0.0, min_iters=20, min_time_s=0.0),
        overhead=False,
    )
    doc = run_bench(rows, config, data=(images, labels)).to_dict()
    by_id = {r["id"]: r for r in doc["rows"]}
    assert len(doc["rows"]) == len(rows) == 10  # nothing dropped

    ok = by_id["good/onnxruntime-fp32"]
    assert ok["status"] == "ok", ok["reason"]
    expected = (normalize(images).reshape(300, 784) @ w).argmax(axis=1)
    assert ok["accuracy"] == pytest.approx(float((expected == labels).mean()))
    assert ok["agreement"] == 1.0 and ok["reference"] == "good/onnxruntime-fp32"
    assert ok["latency_us"]["n"] >= 20 and ok["e2e_us"]["n"] >= 10
    assert [t["batch"] for t in ok["throughput"]] == [1, 7]
    assert all(t["status"] == "ok" and t["images_per_s"] > 0 for t in ok["throughput"])
    assert ok["file_size_bytes"] == (good / "model.onnx").stat().st_size
    assert ok["peak_rss_mb"] > 0

    bad = by_id["broken/onnxruntime-fp32"]
    assert bad["status"] == "error" and bad["reason"].startswith("load:")
    assert bad["accuracy"] is None
    for rid in ("good/torch-fp32", "broken/torch-fp32"):
        assert by_id[rid]["status"] == MISSING and "model.pt" in by_id[rid]["reason"]
    assert by_id["good/tensorrt"]["status"] == UNAVAILABLE
    assert doc["recommendation"]["choice"] == "good/onnxruntime-fp32"


FAKE_TRTEXEC = """#!{python}
# Test double of NVIDIA trtexec: prints its banner and a 10.x performance summary.
import sys
print("&&&& RUNNING TensorRT.trtexec [TensorRT v100300] # trtexec " + " ".join(sys.argv[1:]))
if "--help" in sys.argv:
    sys.exit(0)
print("[11/28/2026-10:00:00] [I] === Performance summary ===")
print("[11/28/2026-10:00:00] [I] Throughput: 20000 qps")
print("[11/28/2026-10:00:00] [I] Latency: min = 0.04 ms, max = 0.3 ms, mean = 0.05 ms, "
      "median = 0.048 ms, percentile(90%) = 0.06 ms, percentile(95%) = 0.07 ms, "
      "percentile(99%) = 0.09 ms")
print("[11/28/2026-10:00:00] [I] GPU Compute Time: min = 0.02 ms, max = 0.1 ms, mean = 0.03 ms, "
      "median = 0.03 ms, percentile(90%) = 0.04 ms, percentile(95%) = 0.04 ms, "
      "percentile(99%) = 0.05 ms")
print("[11/28/2026-10:00:00] [I] Total Host Walltime: 3.0 s")
print("[11/28/2026-10:00:00] [I] * GPU compute time is unstable, "
      "with coefficient of variance = 12%.")
print("&&&& PASSED TensorRT.trtexec")
"""


def test_trtexec_row_reports_trtexecs_own_figures(tmp_path, monkeypatch):
    """An engine here: TensorRT itself is absent, trtexec (a test double) times it."""
    import sys

    exe = tmp_path / "trtexec"
    exe.write_text(FAKE_TRTEXEC.format(python=sys.executable))
    exe.chmod(0o755)
    monkeypatch.setenv("EDGEMNIST_TRTEXEC", str(exe))
    run = tmp_path / "engines" / "e"
    run.mkdir(parents=True)
    (run / "model.engine").write_bytes(b"plan")
    write_manifest(run / "model.engine", build_manifest(run / "model.engine", "tensorrt", "fp16"))
    rows = plan_rows(run_dirs=[run], availability=fake_availability(("torch", "tensorrt")))
    assert [r.status for r in rows if r.backend == "trtexec"] == [READY]
    images = np.zeros((10, 28, 28), np.uint8)
    config = BenchConfig(latency=TimingConfig(0.0, 5, 0.0), overhead=False)
    doc = run_bench(rows, config, data=(images, np.zeros(10, np.uint8))).to_dict()
    by_id = {r["id"]: r for r in doc["rows"]}
    trt = by_id["trtexec-fp16"]
    assert trt["status"] == "ok", trt["reason"]
    assert trt["latency_us"]["p50"] == pytest.approx(48.0)
    assert trt["latency_us"]["p99"] == pytest.approx(90.0)
    assert trt["gpu_compute_us"]["p50"] == pytest.approx(30.0)
    assert trt["throughput"][0]["images_per_s"] == 20000
    assert trt["accuracy"] is None and "coefficient of variance" in trt["warnings"][0]
    assert by_id["tensorrt-fp16"]["status"] == UNAVAILABLE
    # trtexec figures are not ranked: they carry no accuracy
    from edgemnist.bench.result import validate

    assert validate(doc) == []
    assert doc["recommendation"]["choice"] is None
    assert any("trtexec rows" in ln for ln in doc["recommendation"]["lines"])


def test_engine_maximum_batch_is_respected():
    """A numpy runner that, like a TensorRT engine, rejects batches above its maximum."""
    from edgemnist.bench.run import _predict, _throughput
    from edgemnist.errors import InputError
    from edgemnist.runners.base import Runner

    w = np.random.default_rng(5).standard_normal((784, 10)).astype(np.float32)

    class MaxBatchNumpyRunner(Runner):  # test double of an engine with max batch 4
        name = "max-batch-numpy"

        def _load(self):
            self.info["max_batch"] = 4

        def _infer(self, x):
            if x.shape[0] > 4:
                raise InputError("batch exceeds this engine's maximum batch 4")
            return x.reshape(len(x), -1) @ w

    x = normalize(np.random.default_rng(6).integers(0, 256, (11, 28, 28), dtype=np.uint8))
    config = BenchConfig(latency=TimingConfig(0.0, 10, 0.0))
    with MaxBatchNumpyRunner() as runner:
        np.testing.assert_array_equal(_predict(runner, x), (x.reshape(11, -1) @ w).argmax(1))
        assert _throughput(runner, x, 4, config).status == "ok"
        too_big = _throughput(runner, x, 32, config)
        assert too_big.status == "unavailable" and "maximum batch is 4" in str(too_big.reason)


def test_tensorrt_target_qdq_is_simulated_in_float_and_named(tmp_path):
    """A QDQ model made for TensorRT runs on ORT with graph optimizations off (as verify does),
    and an extra file's row names the file, so two INT8 rows are never confused."""
    path = tmp_path / "model.int8-trt.onnx"
    linear_onnx(path)
    quantization = {"target": "tensorrt", "symmetric_activations": True}
    write_manifest(path, build_manifest(path, "onnx-qdq", "int8", quantization=quantization))
    rows = rows_for_run_dir(tmp_path, availability=lambda backend: (True, ""))
    row = next(r for r in rows if r.artifact == path)
    assert row.options == {"graph_opt": "disable"}
    assert "simulated in float" in row.label and "[model.int8-trt.onnx]" in row.label


def test_latency_rounds_visit_rows_in_turn_and_merge_samples(tmp_path):
    """Two real ONNX Runtime rows, three rounds: samples add up, each round is recorded, and
    the rows alternate (A, B, A, B, A, B) so drift hits both alike."""
    pytest.importorskip("onnxruntime")
    from edgemnist.bench.result import validate
    from edgemnist.runners.onnxruntime import OnnxRuntimeRunner

    for name in ("a", "b"):
        linear_onnx(tmp_path / name / "model.onnx", seed=len(name))
    rows = plan_rows(
        run_dirs=[tmp_path / "a", tmp_path / "b"],
        availability=fake_availability(("torch", "tensorrt")),
    )
    order, closed = [], []
    real_infer, real_close = OnnxRuntimeRunner.infer, OnnxRuntimeRunner.close

    def spy_infer(self, x):
        if x.shape[0] == 1:
            order.append(self.path.parent.name)
        return real_infer(self, x)

    def spy_close(self):
        closed.append(self.path.parent.name)
        return real_close(self)

    rng = np.random.default_rng(4)
    images = rng.integers(0, 256, size=(50, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=50).astype(np.uint8)
    config = BenchConfig(
        batch_sizes=(1,),
        latency=TimingConfig(warmup_s=0.0, min_iters=30, min_time_s=0.0),
        overhead=False,
        rounds=3,
    )
    mp = pytest.MonkeyPatch()
    mp.setattr(OnnxRuntimeRunner, "infer", spy_infer)
    mp.setattr(OnnxRuntimeRunner, "close", spy_close)
    try:
        doc = run_bench(rows, config, data=(images, labels)).to_dict()
    finally:
        mp.undo()
    ran = [r for r in doc["rows"] if r["status"] == "ok"]
    assert [r["id"] for r in ran] == ["a/onnxruntime-fp32", "b/onnxruntime-fp32"]
    for r in ran:
        assert r["latency_us"]["n"] >= 30  # 3 rounds x ceil(30 / 3)
        assert len(r["latency_rounds_p50_us"]) == 3 and min(r["latency_rounds_p50_us"]) > 0
    assert doc["config"]["rounds"] == 3 and validate(doc) == []
    # rounds 2 and 3 alternate between the rows (round 1 sits inside each row's own pass)
    later = [name for i, name in enumerate(order) if i > 0 and order[i - 1] != name]
    assert later[-4:] == ["a", "b", "a", "b"]
    assert sorted(closed) == ["a", "b"]


def test_a_later_round_that_fails_keeps_what_was_measured():
    from edgemnist.bench.run import latency_rounds
    from edgemnist.errors import InputError
    from edgemnist.runners.base import Runner

    class FailsLater(Runner):  # test double: round 1 is given below; any later call fails
        name = "fails-later"

        def _load(self):
            pass

        def _infer(self, x):
            raise InputError("device lost")

    runner = FailsLater().load()
    x1 = np.zeros((1, 1, 28, 28), np.float32)
    result = BenchRow("fails", "fails", "m", "onnxruntime", "fp32", "onnx", "ok")
    first = [1e-5, 2e-5, 3e-5]
    config = BenchConfig(latency=TimingConfig(0.0, 6, 0.0), rounds=2)
    latency_rounds([(result, runner, x1, first, False)], config)
    assert result.latency_us is not None and result.latency_us["n"] == 3
    assert result.latency_rounds_p50_us == [20.0]
    assert any("later rounds stopped" in w and "device lost" in w for w in result.warnings)
    assert not runner.loaded  # closed all the same
