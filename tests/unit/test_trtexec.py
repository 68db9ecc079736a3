"""trtexec: command lines per version, performance-summary parsing on recorded 8.2 and 10.3
outputs, and the subprocess path through a fake trtexec executable (tests/unit/data)."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import numpy as np
import pytest
from tiny_onnx import weights, write_tiny_onnx

from edgemnist.engine.build import build_engine
from edgemnist.engine.gpu import from_compute_capability
from edgemnist.engine.trtexec_cmd import (
    bench_command,
    build_command,
    find_trtexec,
    parse_banner_version,
    parse_performance_summary,
)
from edgemnist.errors import ArtifactError, BackendUnavailable
from edgemnist.runners.trtexec import TrtexecRunner

DATA = Path(__file__).parent / "data"
NANO = from_compute_capability("NVIDIA Tegra X1", (5, 3), "device-tree")
ORIN = from_compute_capability("Orin", (8, 7), "device-tree")


def test_parse_82_summary():
    r = parse_performance_summary((DATA / "trtexec_8.2_bench.txt").read_text())
    assert r["tensorrt_version"] == "8.2.1"
    assert r["throughput_qps"] == 2739.9
    assert r["latency_ms"] == {
        "min": 0.318848, "max": 2.80396, "mean": 0.352219, "p50": 0.336182, "p99": 0.588867,
    }  # fmt: skip
    assert r["end_to_end_host_latency_ms"]["p99"] == 0.601562  # 8.2-only line
    assert r["gpu_compute_ms"]["p50"] == 0.310791
    assert r["h2d_ms"]["min"] == 0.0112305 and r["d2h_ms"]["max"] == 0.0478516
    assert r["total_host_walltime_s"] == 3.00046 and r["total_gpu_compute_s"] == 2.67941
    assert len(r["warnings"]) == 2
    assert r["warnings"][1].startswith(
        "GPU compute time is unstable, with coefficient of variance = 11.36%"
    )


def test_parse_10_summary():
    r = parse_performance_summary((DATA / "trtexec_10.3_bench.txt").read_text())
    assert r["tensorrt_version"] == "10.3.0"
    assert r["throughput_qps"] == 18035.4
    lat = r["latency_ms"]
    assert (lat["p50"], lat["p90"], lat["p99"]) == (0.0507812, 0.0527344, 0.0654297)
    assert "end_to_end_host_latency_ms" not in r
    assert r["enqueue_ms"]["p90"] == 0.0322266
    assert r["warnings"] == [
        "Throughput may be bound by Enqueue Time rather than GPU Compute and the GPU may be "
        "under-utilized."
    ]


def test_parse_without_summary_raises():
    text = (DATA / "trtexec_10.3_bench.txt").read_text().split("=== Performance summary ===")[0]
    with pytest.raises(ValueError, match="Performance summary"):
        parse_performance_summary(text)


@pytest.mark.parametrize(
    "banner, version",
    [("[TensorRT v8201]", "8.2.1"), ("[TensorRT v8603]", "8.6.3"), ("[TensorRT v100300]", "10.3.0"),
     ("[TensorRT v110400]", "11.4.0")],
)  # fmt: skip
def test_banner_versions(banner, version):
    assert parse_banner_version(f"&&&& RUNNING TensorRT.trtexec {banner} # trtexec") == version


def test_build_command_per_version(tmp_path):
    exe, onnx, eng, tc = Path("trtexec"), Path("m.onnx"), Path("m.engine"), Path("t.cache")
    c82 = build_command(exe, "8.2.1", onnx, eng, ["FP16"], 256, tc, 1, 1, 64)
    assert "--workspace=256" in c82 and "--fp16" in c82 and "--maxShapes=input:64x1x28x28" in c82
    assert not any(a.startswith("--memPoolSize") for a in c82)
    c10 = build_command(exe, "10.3.0", onnx, eng, ["INT8", "FP16"], 256, tc, 1, 1, 64)
    assert "--memPoolSize=workspace:256M" in c10 and "--int8" in c10 and "--fp16" in c10
    assert "--timingCacheFile=t.cache" in c10
    c11 = build_command(exe, "11.4.0", onnx, eng, ["FP16"], 256, None, 1, 1, 64)
    assert "--fp16" not in c11 and "--int8" not in c11  # strongly typed: no precision flags


def test_bench_command_per_version():
    b82 = bench_command(Path("trtexec"), "8.2.1", Path("m.engine"), percentiles=(50, 90, 99))
    assert [a for a in b82 if a.startswith("--percentile")] == ["--percentile=99"]
    b10 = bench_command(Path("trtexec"), "10.3.0", Path("m.engine"))
    assert "--percentile=50,90,99" in b10 and "--includeDataTransfers" not in b10
    b11 = bench_command(Path("trtexec"), "11.4.0", Path("m.engine"), batch=8)
    assert "--includeDataTransfers" in b11 and "--shapes=input:8x1x28x28" in b11


# -- the subprocess path, with the fake executable --------------------------------------------
@pytest.fixture
def fake_trtexec(tmp_path, monkeypatch):
    def make(version: str) -> Path:
        exe = tmp_path / f"trtexec-{version}"
        exe.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{DATA / "fake_trtexec.py"}" "$@"\n')
        exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
        monkeypatch.setenv("FAKE_TRTEXEC_VERSION", version)
        monkeypatch.setenv("FAKE_TRTEXEC_LOG", str(tmp_path / "argv.log"))
        return exe

    return make


def _argv(tmp_path):
    return [json.loads(line) for line in (tmp_path / "argv.log").read_text().splitlines()]


@pytest.mark.parametrize(
    "version, gpu, flag",
    [("8201", NANO, "--workspace=1024"), ("100300", ORIN, "--memPoolSize=workspace:1024M")],
)
def test_build_and_bench_through_trtexec(tmp_path, fake_trtexec, version, gpu, flag):
    exe = fake_trtexec(version)
    onnx = write_tiny_onnx(tmp_path / "run" / "model.onnx")
    lines: list = []
    res = build_engine(
        onnx, builder="trtexec", trtexec=exe, gpu=gpu, say=lines.append, root=Path("/nonexistent"),
        max_batch=16,
    )  # fmt: skip
    assert res.builder == "trtexec" and res.artifact.stat().st_size > 0
    assert res.manifest["tensorrt"]["builder"] == "trtexec"
    assert (res.artifact.parent / "model.engine.build.log").read_text().count("PASSED") == 1
    build_argv = _argv(tmp_path)[-1]
    assert flag in build_argv and "--fp16" in build_argv and "--skipInference" in build_argv
    assert any(a.startswith("--timingCacheFile=") for a in build_argv)

    with TrtexecRunner(res.artifact, trtexec=exe) as r:
        timing = r.bench(duration_s=1)
        assert timing["latency_ms"]["p99"] > 0 and timing["batch"] == 1
        x = np.random.default_rng(0).standard_normal((3, 1, 28, 28)).astype(np.float32)
        w, b = weights()
        np.testing.assert_allclose(r.infer(x), x.reshape(3, -1) @ w.T + b, rtol=1e-4, atol=1e-4)
    bench_argv = _argv(tmp_path)[-2]
    pct = [a for a in bench_argv if a.startswith("--percentile")]
    assert pct == (["--percentile=99"] if version == "8201" else ["--percentile=50,90,99"])


def test_trtexec_failure_is_one_line_with_log(tmp_path, fake_trtexec):
    exe = fake_trtexec("8201")
    onnx = write_tiny_onnx(tmp_path / "model.onnx", opset=18)  # too new for TensorRT 8.2
    with pytest.raises(BackendUnavailable) as e:
        build_engine(onnx, builder="trtexec", trtexec=exe, gpu=NANO, root=Path("/nonexistent"))
    assert "Unsupported ONNX opset 18" in str(e.value) and "build.log" in str(e.value)
    assert "\n" not in str(e.value)
    assert not (tmp_path / "model.engine").exists()  # nothing half-written under the final name


def test_corrupt_onnx_is_one_line_artifact_error(tmp_path):
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"garbage")
    with pytest.raises(ArtifactError, match="not a readable ONNX model"):
        build_engine(bad, builder="auto", gpu=ORIN, root=Path("/nonexistent"))
    with pytest.raises(ArtifactError, match="not found"):
        build_engine(tmp_path / "missing.onnx")


def test_engine_from_other_trtexec_version_fails(tmp_path, fake_trtexec):
    exe = fake_trtexec("8201")
    onnx = write_tiny_onnx(tmp_path / "model.onnx")
    res = build_engine(onnx, builder="trtexec", trtexec=exe, gpu=NANO, root=Path("/nonexistent"))
    exe10 = fake_trtexec("100300")
    with pytest.raises(BackendUnavailable, match="Serialization assertion"):
        TrtexecRunner(res.artifact, trtexec=exe10).bench(duration_s=1)


def test_find_trtexec_jetson_location(tmp_path, monkeypatch):
    monkeypatch.delenv("EDGEMNIST_TRTEXEC", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert find_trtexec(tmp_path) is None
    exe = tmp_path / "usr/src/tensorrt/bin/trtexec"
    exe.parent.mkdir(parents=True)
    exe.write_text("")
    assert find_trtexec(tmp_path) == exe


def test_trtexec_missing_is_one_line(tmp_path, monkeypatch):
    monkeypatch.delenv("EDGEMNIST_TRTEXEC", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    onnx = write_tiny_onnx(tmp_path / "model.onnx")
    with pytest.raises(BackendUnavailable, match="trtexec not found"):
        build_engine(onnx, builder="trtexec", root=tmp_path)
    ok, why = TrtexecRunner.available()
    assert not ok and "trtexec not found" in why
