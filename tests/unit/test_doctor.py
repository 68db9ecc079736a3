"""doctor on fake Jetson Nano and Raspberry Pi root trees (files in their real formats)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgemnist.cli.main import main
from edgemnist.doctor import (
    board,
    decode_throttled,
    doctor,
    exit_code,
    l4t_release,
    probe_package,
)


def _write(root: Path, rel: str, data) -> None:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data if isinstance(data, bytes) else data.encode())


@pytest.fixture
def jetson_nano(tmp_path) -> Path:
    r = tmp_path / "nano"
    _write(r, "proc/device-tree/model", b"NVIDIA Jetson Nano Developer Kit\0")
    _write(
        r,
        "proc/device-tree/compatible",
        b"nvidia,p3450-0000\0nvidia,jetson-nano\0nvidia,tegra210\0",
    )
    _write(r, "etc/nv_tegra_release",
           "# R32 (release), REVISION: 7.1, GCID: 29818004, BOARD: t210ref, EABI: aarch64, "
           "DATE: Sat Feb 19 17:05:08 UTC 2022\n")  # fmt: skip
    _write(r, "var/lib/nvpmodel/status", "pmode:0001 fmode:quiet\n")
    nvpmodel_conf = (
        "< POWER_MODEL ID=0 NAME=MAXN >\nCPU_ONLINE CORE_0 1\n"
        "< POWER_MODEL ID=1 NAME=5W >\nCPU_ONLINE CORE_0 1\n< PM_CONFIG DEFAULT=0 >\n"
    )
    _write(r, "etc/nvpmodel.conf", nvpmodel_conf)
    gpu = "sys/devices/57000000.gpu/devfreq/57000000.gpu"
    _write(r, f"{gpu}/min_freq", "76800000\n")
    _write(r, f"{gpu}/max_freq", "921600000\n")
    _write(r, "proc/meminfo", "MemTotal:        4051048 kB\nMemFree:          512000 kB\n"
           "MemAvailable:    2897000 kB\nSwapTotal:       2025524 kB\n"
           "SwapFree:        2025524 kB\n")  # fmt: skip
    _write(r, "proc/swaps", "Filename\t\t\t\tType\t\tSize\tUsed\tPriority\n"
           "/dev/zram0                              partition\t506380\t0\t5\n"
           "/dev/zram1                              partition\t506380\t0\t5\n")  # fmt: skip
    _write(r, "proc/1234/comm", "Xorg\n")
    _write(r, "dev/video0", "")
    _write(r, "sys/class/video4linux/video0/name", "vi-output, imx219 6-0010\n")
    _write(r, "usr/src/tensorrt/bin/trtexec", "")
    _write(r, "usr/local/cuda-10.2/lib64/libcudart.so.10.2", "")
    return r


@pytest.fixture
def raspberry_pi(tmp_path) -> Path:
    r = tmp_path / "pi"
    _write(r, "proc/device-tree/model", b"Raspberry Pi 4 Model B Rev 1.4\0")
    _write(r, "proc/device-tree/compatible", b"raspberrypi,4-model-b\0brcm,bcm2711\0")
    _write(r, "sys/devices/platform/soc/soc:firmware/get_throttled", "50005\n")
    _write(r, "sys/class/thermal/thermal_zone0/temp", "82300\n")
    _write(
        r,
        "proc/meminfo",
        "MemTotal:        3884504 kB\nMemAvailable:    3100000 kB\nSwapTotal:        102396 kB\n",
    )
    return r


def _by_name(report):
    return {c["name"]: c for c in report["checks"]}


def test_fake_jetson_nano(jetson_nano, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")  # find trtexec through the root prefix only
    assert board(jetson_nano) == ("jetson", "NVIDIA Jetson Nano Developer Kit")
    assert l4t_release(jetson_nano) == "32.7.1"
    rep = doctor(jetson_nano)
    c = _by_name(rep)
    assert c["L4T / JetPack"]["value"] == "L4T 32.7.1 / JetPack 4.6.x"
    assert c["nvpmodel"]["status"] == "warn" and "nvpmodel -m 0" in c["nvpmodel"]["fix"]
    assert c["nvpmodel"]["value"] == "mode 1 (5W)"
    assert c["jetson_clocks"]["status"] == "warn" and "76-921 MHz" in c["jetson_clocks"]["value"]
    assert (
        c["gpu"]["status"] == "ok"
        and "sm 5.3" in c["gpu"]["value"]
        and "Maxwell" in c["gpu"]["value"]
    )
    assert c["trtexec"]["status"] == "ok" and c["libcudart"]["status"] == "ok"
    assert c["tensorrt"]["status"] == "fail" and "python3-libnvinfer" in c["tensorrt"]["fix"]
    assert c["/dev/video0"]["value"] == "vi-output, imx219 6-0010"
    memory = [x for x in rep["checks"] if x["section"] == "memory"]
    assert any("zram" in x["value"] for x in memory) and any("Xorg" in x["value"] for x in memory)
    if c.get("gstreamer", {}).get("value", "").startswith("no"):  # pip OpenCV here: no GStreamer
        assert c["gstreamer"]["status"] == "warn" and "JetPack" in c["gstreamer"]["fix"]
    problems = [x for x in rep["checks"] if x["status"] in ("warn", "fail")]
    assert rep["problems"] == len(problems) >= 4
    assert all(x["fix"] and "\n" not in x["fix"] for x in problems)  # each problem: one-line fix


def test_fake_raspberry_pi(raspberry_pi):
    def probe(name):  # a TEST DOUBLE of package lookup: the wheel that crashes a Pi 4
        return ("1.21.0", "") if name == "onnxruntime" else probe_package(name)

    rep = doctor(raspberry_pi, probe=probe)
    c = _by_name(rep)
    assert rep["board"] == {"kind": "raspberry-pi", "model": "Raspberry Pi 4 Model B Rev 1.4"}
    assert c["throttling"]["status"] == "warn" and "under-voltage now" in c["throttling"]["value"]
    assert c["temperature"]["status"] == "warn" and c["temperature"]["value"] == "82.3 C"
    assert c["onnxruntime"]["status"] == "fail" and "onnxruntime!=1.21.0" in c["onnxruntime"]["fix"]
    assert (
        c["tensorrt"]["status"] == "info" and "falls back to ONNX Runtime" in c["tensorrt"]["value"]
    )
    assert c["video devices"]["status"] == "warn" and "Picamera2" in c["video devices"]["fix"]
    assert "memory" not in {x["section"] for x in rep["checks"]}


def test_throttle_bits():
    assert decode_throttled(0x50005) == [
        "under-voltage now",
        "throttled now",
        "under-voltage has occurred",
        "throttling has occurred",
    ]


def test_cli_json_on_fake_jetson_exits_1_on_a_failed_check(jetson_nano, capsys):
    assert main(["doctor", "--json", "--root", str(jetson_nano)]) == 1  # tensorrt: fail
    rep = json.loads(capsys.readouterr().out)
    assert rep["board"]["kind"] == "jetson" and rep["failures"] >= 1
    assert rep["problems"] == rep["failures"] + rep["warnings"]


def test_exit_code_counts_failures_and_with_strict_warnings():
    assert exit_code({"failures": 0, "warnings": 0}) == 0
    assert exit_code({"failures": 0, "warnings": 3}) == 0
    assert exit_code({"failures": 0, "warnings": 3}, strict=True) == 1
    assert exit_code({"failures": 1, "warnings": 0}) == 1
    assert exit_code({"failures": 0, "warnings": 0}, strict=True) == 0


def test_cli_table_here_exit_code_follows_the_report(capsys):
    rep = doctor()
    expected = 1 if rep["failures"] else 0
    assert main(["doctor"]) == expected
    out = capsys.readouterr().out
    assert "onnxruntime" in out and "python" in out
    assert main(["doctor", "--strict"]) == (1 if rep["problems"] else 0)


def test_root_is_hidden_from_help(capsys):
    assert main(["doctor", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--strict" in out and "--root" not in out
