"""Bench results across devices: the committed results of the development VM next to a second
device folder made here (a Jetson Nano result derived from the committed edge.json)."""

from __future__ import annotations

import copy
import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from edgemnist.bench.devices import compare_devices, fingerprint_summary, to_markdown, write
from edgemnist.errors import ArtifactError

REPO = Path(__file__).resolve().parents[2]
DEV = REPO / "benchmarks" / "results" / "dev-epyc-2vcpu"


def _nano_result(src: dict) -> dict:
    """edge.json as if benched on a Jetson Nano: TensorRT ran, ONNX Runtime 8x slower."""
    doc = copy.deepcopy(src)
    doc["created_at"] = "2026-11-30T10:00:00+00:00"
    doc["environment"].update(
        host="nano-01",
        machine="aarch64",
        cpu={"model": "ARMv8 Processor rev 1 (v8l)", "cores": 4, "arm_part": "0xd07",
             "governor": "schedutil", "cur_mhz": 1479, "max_mhz": 1479,
             "flags": ["asimd", "fphp"]},
        board={"kind": "jetson", "model": "NVIDIA Jetson Nano Developer Kit", "l4t": "32.7.1",
               "nvpmodel": "MAXN (0)", "jetson_clocks": "on (inferred from sysfs)"},
        versions={"python": "3.8.0", "edgemnist": "0.1.0", "numpy": "1.24.4", "torch": None,
                  "onnxruntime": "1.19.2", "tensorrt": "8.2.1.8"},
    )  # fmt: skip
    for row in doc["rows"]:
        if row["status"] == "ok":
            row["latency_us"] = {k: v * 8 if k not in ("n", "cv") else v
                                 for k, v in row["latency_us"].items()}  # fmt: skip
        if row["backend"] == "tensorrt":
            row.update(status="ok", reason="", precision="fp16", accuracy=0.9955, agreement=0.9993,
                       latency_us={"n": 3000, "min": 250.0, "p50": 300.0, "p90": 320.0,
                                   "p99": 410.0, "max": 900.0, "mean": 305.0, "std": 20.0,
                                   "cv": 0.07})  # fmt: skip
    return doc


@pytest.fixture
def folders(tmp_path):
    nano = tmp_path / "nano-01"
    nano.mkdir()
    src = json.loads((DEV / "edge.json").read_text())
    (nano / "edge.json").write_text(json.dumps(_nano_result(src)))
    older = _nano_result(src)
    older["created_at"] = "2026-11-29T10:00:00+00:00"
    (nano / "edge-old.json").write_text(json.dumps(older))
    (nano / "predict-photos-edge.json").write_text(json.dumps({"accuracy": 0.99}))
    return [DEV, nano]


def test_two_devices_side_by_side(folders):
    doc = compare_devices(folders)
    devices = {d["name"]: d for d in doc["devices"]}
    assert set(devices) == {"dev-epyc-2vcpu", "nano-01"}
    # the committed folder: its four bench results used, every other JSON named as skipped
    dev = devices["dev-epyc-2vcpu"]
    assert sorted(dev["results"]) == [
        "edge-fast.json", "edge-separable.json", "edge.json", "vgg_bn-flagship.json"
    ]  # fmt: skip
    assert "training-runs.json: not a bench result" in dev["skipped"]
    assert dev["fingerprint"]["cpu"] == "AMD EPYC" and dev["fingerprint"]["onnxruntime"] == "1.32.0"
    nano = devices["nano-01"]
    assert "predict-photos-edge.json: not a bench result" in nano["skipped"]
    assert any(s.startswith("edge-old.json: edge / TensorRT superseded by newer edge.json")
               for s in nano["skipped"])  # fmt: skip
    fp = nano["fingerprint"]
    assert fp["gpu"] == "Maxwell, sm_53" and fp["jetpack"] == "4.6.x" and fp["l4t"] == "32.7.1"
    assert fp["tensorrt"] == "8.2.1.8" and fp["cpu_flags"] == ["asimd", "fphp"]
    assert (
        fp["clocks"]
        == "governor schedutil, nvpmodel MAXN (0), jetson_clocks on (inferred from sysfs)"
    )

    rows = {(r["device"], r["model"], r["label"]): r for r in doc["rows"]}
    trt_nano = rows[("nano-01", "edge", "TensorRT")]
    assert (
        trt_nano["status"] == "ok" and trt_nano["p50_us"] == 300.0 and trt_nano["p99_us"] == 410.0
    )
    assert trt_nano["accuracy"] == 0.9955 and trt_nano["file"] == "edge.json"
    assert rows[("dev-epyc-2vcpu", "edge", "TensorRT")]["status"] == "unavailable"
    ort = rows[("dev-epyc-2vcpu", "edge", "ONNX Runtime FP32")]
    assert ort["p50_us"] == pytest.approx(55.945) and ort["accuracy"] == pytest.approx(0.996)
    assert rows[("nano-01", "edge", "ONNX Runtime FP32")]["p50_us"] == pytest.approx(8 * 55.945)
    # models only one device ran are still listed (the other column says so)
    assert ("dev-epyc-2vcpu", "vgg_bn-flagship", "ONNX Runtime INT8") in rows
    assert not any(k[0] == "nano-01" and k[1] == "vgg_bn-flagship" for k in rows)

    md = to_markdown(doc)
    assert "| row | dev-epyc-2vcpu | nano-01 |" in md
    assert "| TensorRT | unavailable | 300.0 µs / 410.0 µs · 99.55 % |" in md
    assert (
        "| ONNX Runtime FP32 | 55.9 µs / 107.3 µs · 99.60 % | 447.6 µs / 858.2 µs · 99.60 % |" in md
    )
    assert "| nano-01 | NVIDIA Jetson Nano Developer Kit | ARMv8 Processor rev 1 (v8l) | 4 |" in md
    assert "4.6.x (32.7.1) | 8.2.1.8 | 1.19.2 | 3.8.0 |" in md
    vgg = md.split("## vgg_bn-flagship")[1]
    assert "| ONNX Runtime INT8 | 452.1 µs / 561.3 µs · 99.60 % | not run |" in vgg


def test_model_filter_and_written_files(folders, tmp_path):
    doc = compare_devices(folders, models=["edge"])
    assert {r["model"] for r in doc["rows"]} == {"edge"}
    paths = write(doc, tmp_path / "out")
    assert json.loads(paths["json"].read_text()) == doc
    assert paths["markdown"].read_text() == to_markdown(doc)
    if importlib.util.find_spec("matplotlib") is None:
        assert paths["plot"] is None
    else:
        assert paths["plot"].stat().st_size > 10_000
    assert write(doc, tmp_path / "noplot", plots=False)["plot"] is None


def test_script_writes_the_comparison(folders, tmp_path, benchmark_script, capsys):
    script = benchmark_script("compare_devices")
    out = tmp_path / "cmp"
    assert script.main([*map(str, folders), "--out", str(out), "--no-plot"]) == 0
    text = capsys.readouterr().out
    assert "2 device(s) with results (dev-epyc-2vcpu, nano-01)" in text
    assert (out / "devices.md").is_file() and (out / "devices.json").is_file()
    assert not (out / "devices.png").exists()
    assert script.main([str(tmp_path / "missing"), "--out", str(out)]) == 1
    assert "no such results folder" in capsys.readouterr().err


def test_folders_without_results_or_with_the_same_name_are_refused(tmp_path, folders):
    empty = tmp_path / "nvidia-h200"
    empty.mkdir()
    (empty / "cuda-parity.json").write_text("{}")
    with pytest.raises(ArtifactError, match="no bench results in"):
        compare_devices([empty])
    doc = compare_devices([*folders, empty])  # a folder without results is named, not fatal
    assert "- nvidia-h200: no bench results" in to_markdown(doc)
    twin = tmp_path / "x" / "nano-01"
    shutil.copytree(folders[1], twin)
    with pytest.raises(ArtifactError, match="named 'nano-01'"):
        compare_devices([folders[1], twin])


def test_fingerprint_of_a_raspberry_pi_and_a_bare_environment():
    fp = fingerprint_summary(
        {
            "cpu": {"model": "Cortex-A76", "cores": 4, "governor": "performance",
                    "flags": {"notable": ["asimd", "asimddp"], "all": []}},
            "board": {"kind": "raspberry-pi", "model": "Raspberry Pi 5 Model B Rev 1.0",
                      "throttled": {"raw": "0x50005", "ok": False}},
            "versions": {"onnxruntime": "1.23.2"},
        }
    )  # fmt: skip
    assert fp["cpu_flags"] == ["asimd", "asimddp"] and fp["gpu"] is None
    assert fp["clocks"] == "governor performance, THROTTLED 0x50005"
    bare = fingerprint_summary({})
    assert bare["board"] is None and bare["clocks"] is None and bare["jetpack"] is None


def test_new_results_record_the_cpu_flags_that_the_comparison_shows(tmp_path):
    from edgemnist.bench.fingerprint import fingerprint

    (tmp_path / "proc/device-tree").mkdir(parents=True)
    (tmp_path / "proc/device-tree/model").write_bytes(b"Raspberry Pi 5 Model B Rev 1.0\0")
    (tmp_path / "proc/cpuinfo").write_text(
        "processor\t: 0\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 "
        "crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp\nCPU part\t: 0xd0b\n"
    )
    env = fingerprint(root=tmp_path)
    assert env["cpu"]["flags"] == ["asimd", "asimddp", "fphp", "asimdhp"]
    fp = fingerprint_summary(env)
    assert fp["cpu_flags"] == ["asimd", "asimddp", "fphp", "asimdhp"]
    assert fp["board"] == "Raspberry Pi 5 Model B Rev 1.0" and fp["kind"] == "raspberry-pi"
