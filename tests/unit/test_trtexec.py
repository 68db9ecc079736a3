"""trtexec: command lines per version and the subprocess path, through a strict fake trtexec
executable (tests/unit/data/trtexec/fake_trtexec.py: each release's option set from NVIDIA's
sampleOptions.cpp, [W]/[E] on stderr, the summary format of each version). Parsing of real
outputs: tests/unit/test_trtexec_outputs.py."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from tiny_onnx import weights, write_tiny_onnx

from edgemnist.engine.build import BuildOptions, build_engine
from edgemnist.engine.gpu import from_compute_capability
from edgemnist.engine.trtexec_cmd import (
    BenchSpec,
    BuildSpec,
    bench_command,
    build_command,
    find_trtexec,
    parse_banner_version,
)
from edgemnist.errors import ArtifactError, BackendUnavailable, ConfigError
from edgemnist.runners.trtexec import TrtexecRunner

DATA = Path(__file__).parent / "data" / "trtexec"
FAKE = DATA / "fake_trtexec.py"
NANO = from_compute_capability("NVIDIA Tegra X1", (5, 3), "device-tree")
ORIN = from_compute_capability("Orin", (8, 7), "device-tree")
#: build with trtexec, everything else at its default
TRTEXEC = BuildOptions(builder="trtexec")
#: NV_TENSORRT_VERSION of the releases a board can have: Nano (JetPack 4.6 = 8.0.1, 4.6.1+ =
#: 8.2.1), JetPack 5.0.x (8.4.1), 5.1 (8.5.2), 8.6, 10.0.1 (the mis-scaling one), JetPack 6
#: (10.3), 11.0 (strongly typed; no precision flags)
VERSIONS = ["8001", "8201", "8401", "8502", "8601", "100001", "100300", "110000"]


@pytest.mark.parametrize(
    "banner, version",
    [("[TensorRT v8201]", "8.2.1"), ("[TensorRT v8603]", "8.6.3"), ("[TensorRT v100300]", "10.3.0"),
     ("[TensorRT v110400]", "11.4.0")],
)  # fmt: skip
def test_banner_versions(banner, version):
    assert parse_banner_version(f"&&&& RUNNING TensorRT.trtexec {banner} # trtexec") == version


def test_build_command_per_version():
    exe, onnx, eng, tc = Path("trtexec"), Path("m.onnx"), Path("m.engine"), Path("t.cache")
    c82 = build_command(exe, "8.2.1", BuildSpec(onnx, eng, ["FP16"], 256, tc, 1, 1, 64))
    assert "--workspace=256" in c82 and "--fp16" in c82 and "--maxShapes=input:64x1x28x28" in c82
    assert "--buildOnly" in c82 and not any(a.startswith("--memPoolSize") for a in c82)
    c84 = build_command(exe, "8.4.1", BuildSpec(onnx, eng, ["FP16"], 256, tc, 1, 1, 64))
    assert "--memPoolSize=workspace:256" in c84 and "--buildOnly" in c84
    c86 = build_command(exe, "8.6.1", BuildSpec(onnx, eng, ["FP16"], 256, tc, 1, 1, 64))
    assert "--skipInference" in c86 and "--buildOnly" not in c86
    c10 = build_command(
        exe, "10.0.1", BuildSpec(onnx, eng, ["INT8", "FP16"], 256, tc, 1, 1, 64, calib_cache=tc)
    )
    assert "--memPoolSize=workspace:256" in c10 and "--int8" in c10 and "--fp16" in c10
    assert f"--calib={tc}" in c10 and "--timingCacheFile=t.cache" in c10
    c11 = build_command(exe, "11.4.0", BuildSpec(onnx, eng, ["FP16"], 256, None, 1, 1, 64))
    assert "--fp16" not in c11 and "--int8" not in c11  # strongly typed: no precision flags


def test_bench_command_per_version():
    def pct(version):
        cmd = bench_command(
            Path("trtexec"), version, BenchSpec(Path("m.engine"), percentiles=(50, 90, 99))
        )
        return [a for a in cmd if a.startswith("--percentile")]

    # 8.0-8.4 parse one float (std::stof): a list would silently become 50
    assert pct("8.2.1") == pct("8.4.1") == ["--percentile=99"]
    assert pct("8.5.1") == pct("10.3.0") == ["--percentile=50,90,99"]
    b11 = bench_command(Path("trtexec"), "11.4.0", BenchSpec(Path("m.engine"), batch=8))
    assert "--includeDataTransfers" in b11 and "--shapes=input:8x1x28x28" in b11


# -- the fake is as strict as the real tool ---------------------------------------------------
@pytest.fixture
def fake_trtexec(tmp_path, monkeypatch):
    def make(version: str) -> Path:
        exe = tmp_path / f"trtexec-{version}"
        exe.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE}" "$@"\n')
        exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
        monkeypatch.setenv("FAKE_TRTEXEC_VERSION", version)
        monkeypatch.setenv("FAKE_TRTEXEC_LOG", str(tmp_path / "argv.log"))
        return exe

    return make


def _argv(tmp_path):
    return [json.loads(line) for line in (tmp_path / "argv.log").read_text().splitlines()]


@pytest.mark.parametrize(
    "version, flag",
    [("8201", "--skipInference"), ("8502", "--skipInference"), ("100300", "--buildOnly"),
     ("100001", "--workspace=256"), ("8201", "--memPoolSize=workspace:256"),
     ("110000", "--fp16")],
)  # fmt: skip
def test_fake_rejects_what_that_release_rejects(tmp_path, fake_trtexec, version, flag):
    exe = fake_trtexec(version)
    proc = subprocess.run(
        [str(exe), "--onnx=m.onnx", flag], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 1
    name, _, value = flag.partition("=")
    assert f"[E] Unknown option: {name} {value}" in proc.stderr  # [E] goes to stderr
    assert proc.stdout.rstrip().splitlines()[-1].startswith("&&&& FAILED")


@pytest.mark.parametrize("version", VERSIONS)
def test_build_through_trtexec_on_each_release(tmp_path, fake_trtexec, version):
    """Before the fix every build passed --skipInference (8.6+ only) and
    --memPoolSize=workspace:<N>M (2^20 times too large on 10.0.x)."""
    exe = fake_trtexec(version)
    onnx = write_tiny_onnx(tmp_path / "run" / "model.onnx")
    gpu = NANO if version in ("8001", "8201") else ORIN
    opts = BuildOptions(builder="trtexec", max_batch=16, workspace_mib=256)
    res = build_engine(onnx, options=opts, trtexec=exe, gpu=gpu, root=Path("/nonexistent"))
    assert res.builder == "trtexec" and res.artifact.stat().st_size > 0
    build_argv = _argv(tmp_path)[-1]
    only = "--buildOnly" if int(version) < 8600 else "--skipInference"
    assert only in build_argv
    header = json.loads(res.artifact.read_bytes().split(b"\n", 1)[0])
    assert header["workspace_mib"] == 256  # what trtexec understood, per its release's parsing
    log = (res.artifact.parent / "model.engine.build.log").read_text()
    assert log.count("&&&& PASSED") == 1


@pytest.mark.parametrize("version", ["8201", "8401", "8601", "100300", "110000"])
def test_bench_through_trtexec_keeps_warnings_and_percentiles(tmp_path, fake_trtexec, version):
    """[W] lines come on stderr: merged in order they stay inside the summary (before the fix
    they were appended after &&&& PASSED and lost). 8.4 reads one percentile: before the fix
    it got "50,90,99" (= 50) and p99 vanished."""
    exe = fake_trtexec(version)
    onnx = write_tiny_onnx(tmp_path / "run" / "model.onnx")
    gpu = NANO if version == "8201" else ORIN
    res = build_engine(onnx, options=TRTEXEC, trtexec=exe, gpu=gpu, root=Path("/nonexistent"))
    with TrtexecRunner(res.artifact, trtexec=exe) as r:
        timing = r.bench(duration_s=1, percentiles=(50, 90, 99))
        x = np.random.default_rng(0).standard_normal((3, 1, 28, 28)).astype(np.float32)
        w, b = weights()
        np.testing.assert_allclose(r.infer(x), x.reshape(3, -1) @ w.T + b, rtol=1e-4, atol=1e-4)
    lat = timing["latency_ms"]
    assert lat["p99"] > 0 and lat["p50"] > 0 and timing["batch"] == 1
    assert timing["warnings"] == [
        "Throughput may be bound by Enqueue Time rather than GPU Compute and the GPU may be "
        "under-utilized. If not already in use, --useCudaGraph (utilize CUDA graphs where "
        "possible) may increase the throughput."
    ]
    if int(version) < 8500:
        assert "p90" not in lat and "latency_ms.p90" in timing["missing"]
        assert [a for a in _argv(tmp_path)[-2] if a.startswith("--percentile")] == [
            "--percentile=99"
        ]
    else:
        assert lat["p90"] > 0 and not timing["missing"]
    assert ("end_to_end_host_latency_ms" in timing) == (int(version) < 8400)


def test_int8_calibration_through_trtexec_needs_a_cache(tmp_path, fake_trtexec):
    """trtexec --int8 without --calib on a network without Q/DQ sets placeholder dynamic ranges
    (sampleEngines.cpp setTensorDynamicRange): an engine with garbage accuracy. Refused."""
    exe = fake_trtexec("8601")
    onnx = write_tiny_onnx(tmp_path / "run" / "model.onnx")
    int8 = BuildOptions(precision="int8", builder="trtexec")
    with pytest.raises(ConfigError) as e:
        build_engine(onnx, options=int8, trtexec=exe, gpu=ORIN, root=Path("/nonexistent"))
    msg = str(e.value)
    assert "placeholder dynamic ranges" in msg and "edgemnist quantize" in msg
    assert "--target tensorrt" in msg and "\n" not in msg
    assert not (tmp_path / "run" / "model.engine").exists()
    # with the calibration cache a Python-API build leaves beside the engine, trtexec uses it
    cache = Path(msg.split("calibration cache ")[1].split(" ")[0])
    cache.write_bytes(b"TRT-8601-EntropyCalibration2\n")
    res = build_engine(onnx, options=int8, trtexec=exe, gpu=ORIN, root=Path("/nonexistent"))
    header = json.loads(res.artifact.read_bytes().split(b"\n", 1)[0])
    assert header["int8"] and header["calib"] == str(cache) and not header["placeholder_ranges"]


def test_trtexec_failure_is_one_line_with_log(tmp_path, fake_trtexec):
    exe = fake_trtexec("8201")
    onnx = write_tiny_onnx(tmp_path / "model.onnx", opset=18)  # too new for TensorRT 8.2
    with pytest.raises(BackendUnavailable) as e:
        build_engine(onnx, options=TRTEXEC, trtexec=exe, gpu=NANO, root=Path("/nonexistent"))
    assert "Unsupported ONNX opset 18" in str(e.value) and "build.log" in str(e.value)
    assert "\n" not in str(e.value)
    assert not (tmp_path / "model.engine").exists()  # nothing half-written under the final name


def test_corrupt_onnx_is_one_line_artifact_error(tmp_path):
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"garbage")
    with pytest.raises(ArtifactError, match="not a readable ONNX model"):
        build_engine(bad, options=BuildOptions(builder="auto"), gpu=ORIN, root=Path("/nonexistent"))
    with pytest.raises(ArtifactError, match="not found"):
        build_engine(tmp_path / "missing.onnx")


def test_engine_from_other_trtexec_version_fails(tmp_path, fake_trtexec):
    exe = fake_trtexec("8201")
    onnx = write_tiny_onnx(tmp_path / "model.onnx")
    res = build_engine(onnx, options=TRTEXEC, trtexec=exe, gpu=NANO, root=Path("/nonexistent"))
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
        build_engine(onnx, options=TRTEXEC, root=tmp_path)
    ok, why = TrtexecRunner.available()
    assert not ok and "trtexec not found" in why


def test_every_flag_we_pass_exists_in_that_release():
    """Against NVIDIA's option sets per tag (options.json, from sampleOptions.cpp): no command
    edgemnist builds for a release uses an option that release's trtexec would reject."""
    options = json.loads((DATA / "options.json").read_text())
    table = {k: v for k, v in options.items() if k[0] != "_"}
    assert {"8.0.1", "8.2.1", "8.4.1", "8.5.1", "8.6.1", "10.0.1", "10.3.0", "11.0"} <= set(table)
    for release, entry in table.items():
        if release.startswith("7."):
            continue  # no ONNX dynamic-shape builds on TensorRT 7 through edgemnist
        known = set(entry["options"])
        exe, p = Path("trtexec"), Path("m")
        commands = [
            build_command(exe, release, BuildSpec(p, p, ["FP16"], 256, p, 1, 1, 64)),
            build_command(
                exe, release, BuildSpec(p, p, ["INT8", "FP16"], 256, p, 1, 1, 64, calib_cache=p)
            ),
            bench_command(
                exe, release, BenchSpec(p, export_times=p, cuda_graph=True, iterations=10)
            ),
        ]
        used = {a.split("=")[0] for cmd in commands for a in cmd[1:]}
        assert used <= known, f"TensorRT {release} ({entry['tag']}) lacks {used - known}"
