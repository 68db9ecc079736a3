"""Environment fingerprint through a root prefix: a fake Jetson Nano and a fake Raspberry Pi."""

from __future__ import annotations

from pathlib import Path

from edgemnist.bench.fingerprint import decode_throttled, fingerprint


def _write(root: Path, path: str, text: str) -> None:
    p = root / path.lstrip("/")
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)


def _cpus(root: Path, n: int, governor: str, model_line: str) -> None:
    _write(root, "/proc/cpuinfo", "".join(f"processor\t: {i}\n{model_line}\n\n" for i in range(n)))
    for i in range(n):
        _write(root, f"/sys/devices/system/cpu/cpu{i}/cpufreq/scaling_governor", governor + "\n")
    _write(root, "/sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq", "1479000\n")
    _write(root, "/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq", "1479000\n")


def test_fake_jetson_nano(tmp_path):
    _cpus(tmp_path, 4, "performance", "model name\t: ARMv8 Processor rev 1 (v8l)")
    _write(tmp_path, "/proc/device-tree/model", "NVIDIA Jetson Nano Developer Kit\x00")
    _write(
        tmp_path,
        "/etc/nv_tegra_release",
        "# R32 (release), REVISION: 7.1, GCID: 29818004, BOARD: t210ref, EABI: aarch64\n",
    )
    _write(tmp_path, "/var/lib/nvpmodel/status", "pmode:0000\n")
    _write(
        tmp_path,
        "/etc/nvpmodel.conf",
        "< POWER_MODEL ID=0 NAME=MAXN >\nCPU_ONLINE CORE_0 1\n< POWER_MODEL ID=1 NAME=5W >\n",
    )
    gpu = "/sys/class/devfreq/57000000.gpu"
    _write(tmp_path, gpu + "/min_freq", "921600000\n")
    _write(tmp_path, gpu + "/max_freq", "921600000\n")
    _write(tmp_path, "/sys/class/thermal/thermal_zone0/temp", "41500\n")
    _write(tmp_path, "/proc/meminfo", "MemTotal:        4059412 kB\n")

    fp = fingerprint(root=tmp_path, models={"model.onnx": "ab" * 32})
    board = fp["board"]
    assert board["kind"] == "jetson"
    assert board["model"] == "NVIDIA Jetson Nano Developer Kit"
    assert board["l4t"] == "32.7.1"
    assert board["nvpmodel"] == "MAXN (0)"
    assert board["jetson_clocks"].startswith("on")
    assert fp["cpu"]["cores"] == 4 and fp["cpu"]["governor"] == "performance"
    assert fp["cpu"]["max_mhz"] == 1479
    assert fp["temperature_c"] == 41.5 and fp["memory_mb"] == 3964
    assert fp["models"] == {"model.onnx": "ab" * 32}
    assert fp["host"] is None  # a fake root says nothing about the real host
    assert fp["versions"]["python"] and fp["versions"]["edgemnist"]


def test_fake_jetson_without_jetson_clocks(tmp_path):
    _cpus(tmp_path, 4, "schedutil", "model name\t: ARMv8 Processor rev 1 (v8l)")
    _write(tmp_path, "/etc/nv_tegra_release", "# R35 (release), REVISION: 4.1, GCID: 1\n")
    _write(tmp_path, "/sys/class/devfreq/17000000.ga10b/min_freq", "306000000\n")
    _write(tmp_path, "/sys/class/devfreq/17000000.ga10b/max_freq", "624750000\n")
    # nvpmodel -q answers through the command hook
    fp = fingerprint(
        root=tmp_path,
        run_cmd=lambda argv: "NV Power Mode: 15W\n0\n" if argv[0] == "nvpmodel" else None,
    )
    assert fp["board"]["l4t"] == "35.4.1"
    assert fp["board"]["nvpmodel"] == "15W (0)"
    assert fp["board"]["jetson_clocks"].startswith("off")


def test_fake_raspberry_pi_throttled(tmp_path):
    _cpus(tmp_path, 4, "ondemand", "CPU part\t: 0xd08")
    _write(tmp_path, "/proc/cpuinfo", (tmp_path / "proc/cpuinfo").read_text() + "Model\t: x\n")
    _write(tmp_path, "/proc/device-tree/model", "Raspberry Pi 4 Model B Rev 1.4\x00")
    _write(tmp_path, "/sys/devices/platform/soc/soc:firmware/get_throttled", "50005\n")
    fp = fingerprint(root=tmp_path)
    board = fp["board"]
    assert board["kind"] == "raspberry-pi"
    assert board["model"] == "Raspberry Pi 4 Model B Rev 1.4"
    assert board["throttled"]["now"] == ["under-voltage", "throttled"]
    assert board["throttled"]["since_boot"] == ["under-voltage", "throttled"]
    assert board["throttled"]["ok"] is False
    assert fp["cpu"]["arm_part"] == "0xd08" and fp["cpu"]["governor"] == "ondemand"


def test_raspberry_pi_throttled_from_vcgencmd(tmp_path):
    _write(tmp_path, "/proc/device-tree/model", "Raspberry Pi 5 Model B Rev 1.0\x00")
    fp = fingerprint(root=tmp_path, run_cmd=lambda argv: "throttled=0x0\n")
    assert fp["board"]["throttled"] == {"raw": "0x0", "now": [], "since_boot": [], "ok": True}


def test_decode_throttled_bits():
    d = decode_throttled(0x80008)
    assert d["now"] == ["soft temperature limit"]
    assert d["since_boot"] == ["soft temperature limit"]


def test_this_machine():
    fp = fingerprint()
    assert fp["cpu"]["cores"] and fp["cpu"]["model"]
    assert fp["host"]
    assert set(fp["versions"]) >= {"python", "edgemnist", "torch", "onnxruntime", "tensorrt"}
