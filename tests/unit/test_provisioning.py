"""Device provisioning scripts (jetson/*.sh): shellcheck, and --dry-run against fake roots.

Each script reads the board's state from files under ``--root`` (the dpkg database,
/proc/swaps, the systemd default target, nv_tegra_release, the venv's pyvenv.cfg), so a fake
tree decides what it would do. These tests check those decisions and that a re-run on a board
that is already set up does nothing again. What the commands do on a real board is not tested
here (no board): jetson/README.md says so for every step.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Dict, List, Optional

import pytest

JETSON = Path(__file__).resolve().parents[2] / "jetson"
SCRIPTS = sorted(JETSON.glob("*.sh"))
NANO_L4T = "# R32 (release), REVISION: 7.1, GCID: 29818004, BOARD: t210ref, EABI: aarch64, DATE: x"
TRT_HEADER = (
    "#define NV_TENSORRT_MAJOR {0} //!< TensorRT major version.\n"
    "#define NV_TENSORRT_MINOR {1} //!< TensorRT minor version.\n"
    "#define NV_TENSORRT_PATCH {2} //!< TensorRT patch version.\n"
    "#define NV_TENSORRT_BUILD {3} //!< TensorRT build number.\n"
)
SWAPS_HEAD = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"


def _write(root: Path, rel: str, text: str) -> None:
    path = root / rel.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _dpkg(packages: Dict[str, str]) -> str:
    return "".join(
        f"Package: {name}\nStatus: install ok installed\nPriority: optional\nVersion: {ver}\n\n"
        for name, ver in packages.items()
    )


def fake_nano(root: Path, trt=(8, 2, 1, 8), provisioned: bool = False) -> Path:
    """A Jetson Nano on JetPack 4.6.1 (L4T r32.7.1), fresh from the SD card image or set up."""
    release = NANO_L4T if trt[:2] == (8, 2) else NANO_L4T.replace("REVISION: 7.1", "REVISION: 6.1")
    _write(root, "/etc/nv_tegra_release", release + "\n")
    _write(root, "/proc/device-tree/model", "NVIDIA Jetson Nano Developer Kit\0")
    _write(root, "/usr/include/aarch64-linux-gnu/NvInferVersion.h", TRT_HEADER.format(*trt))
    _write(root, "/usr/lib/python3.6/dist-packages/tensorrt/__init__.py", "")
    systemd = root / "etc/systemd/system"
    (systemd / "multi-user.target.wants").mkdir(parents=True)
    debs = {"python3": "3.6.7-1~18.04", f"libnvinfer{trt[0]}": "{}.{}.{}-1+cuda10.2".format(*trt)}
    if provisioned:
        _write(root, "/proc/swaps", SWAPS_HEAD + "/swapfile  file  4194300  0  -2\n")
        _write(root, "/swapfile", "")
        _write(root, "/etc/fstab", "/swapfile none swap sw 0 0\n")
        (systemd / "default.target").symlink_to("/lib/systemd/system/multi-user.target")
        for name in ("python3.8", "python3.8-venv", "python3.8-dev", "gstreamer1.0-tools"):
            debs[name] = "3.8.0-3ubuntu1~18.04.2"
        _write(root, "/usr/src/tensorrt/bin/trtexec", "")
        (root / "usr/src/tensorrt/bin/trtexec").chmod(0o755)
    else:
        _write(root, "/proc/swaps", SWAPS_HEAD + "/dev/zram0  partition  506152  0  5\n")
        _write(root, "/etc/fstab", "# UNCONFIGURED FSTAB FOR BASE SYSTEM\n")
        (systemd / "default.target").symlink_to("/lib/systemd/system/graphical.target")
        (systemd / "multi-user.target.wants/nvzramconfig.service").symlink_to(
            "/etc/systemd/nvzramconfig.service"
        )
    _write(root, "/var/lib/dpkg/status", _dpkg(debs))
    return root


def fake_orin(root: Path, l4t: str = "35", python: str = "3.8") -> Path:
    rev = {"35": "4.1", "36": "4.3"}[l4t]
    _write(root, "/etc/nv_tegra_release", f"# R{l4t} (release), REVISION: {rev}, GCID: 1\n")
    _write(root, "/proc/device-tree/model", "NVIDIA Jetson AGX Orin Developer Kit\0")
    trt = (8, 5, 2, 2) if l4t == "35" else (10, 3, 0, 30)
    _write(root, "/usr/include/aarch64-linux-gnu/NvInferVersion.h", TRT_HEADER.format(*trt))
    _write(root, f"/usr/lib/python{python}/dist-packages/tensorrt/__init__.py", "")
    (root / "usr/bin").mkdir(parents=True, exist_ok=True)
    (root / "usr/bin/python3").symlink_to(f"python{python}")
    _write(root, "/var/lib/dpkg/status", _dpkg({"python3-numpy": "1:1.17.4-5ubuntu3"}))
    return root


def fake_pi(root: Path, codename: str = "bookworm", bits: int = 64, numpy: str = "") -> Path:
    _write(root, "/proc/device-tree/model", "Raspberry Pi 5 Model B Rev 1.0\0")
    _write(root, "/etc/os-release", f'PRETTY_NAME="Debian"\nVERSION_CODENAME={codename}\n')
    loader = "ld-linux-aarch64.so.1" if bits == 64 else "ld-linux-armhf.so.3"
    _write(root, f"/lib/{loader}", "")
    (root / "usr/bin").mkdir(parents=True, exist_ok=True)
    (root / "usr/bin/python3").symlink_to("python3.11" if codename == "bookworm" else "python3.13")
    debs = {"python3-venv": "3.11.2-1+b1"}
    if numpy:
        debs.update({"python3-numpy": numpy, "python3-opencv": "4.6.0+dfsg-12"})
    _write(root, "/var/lib/dpkg/status", _dpkg(debs))
    for cpu in range(4):
        _write(root, f"/sys/devices/system/cpu/cpu{cpu}/cpufreq/scaling_governor", "ondemand\n")
    return root


def fake_venv(path: Path, version: str, site_packages: Optional[List[str]] = None) -> Path:
    _write(path, "pyvenv.cfg", f"home = /usr/bin\nversion = {version}\n")
    for name in site_packages or []:
        short = ".".join(version.split(".")[:2])
        (path / f"lib/python{short}/site-packages" / name).mkdir(parents=True)
    return path


@pytest.fixture
def env(tmp_path):
    """Environment with a private HOME/cache, and a wheel to install."""
    wheel = tmp_path / "dist" / "edgemnist-0.1.0-py3-none-any.whl"
    wheel.parent.mkdir()
    wheel.write_bytes(b"")
    e = dict(os.environ, HOME=str(tmp_path / "home"), EDGEMNIST_CACHE=str(tmp_path / "cache"))
    e.pop("EDGEMNIST_ROOT", None)
    e.pop("EDGEMNIST_VENV", None)
    return {"env": e, "wheel": wheel, "tmp": tmp_path}


def run(script: str, *args: str, env: dict, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        ["bash", str(JETSON / script), *args],
        capture_output=True,
        text=True,
        env=env["env"],
        timeout=60,
    )
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def commands(out: str) -> List[str]:
    """The commands a dry run would run, without the sudo (absent when the tests run as root)."""
    found = (re.search(r"would run(?: \(in [^)]*\))?: (.*)", line) for line in out.splitlines())
    return [re.sub(r"^sudo ", "", m.group(1)) for m in found if m]


def snapshot(*roots: Path) -> Dict[str, str]:
    out = {}
    for root in roots:
        for p in sorted(root.rglob("*")):
            out[str(p)] = (
                os.readlink(p) if p.is_symlink() else (p.read_text() if p.is_file() else "")
            )
    return out


# -- shellcheck --------------------------------------------------------------------------------


def test_scripts_pass_shellcheck():
    exe = shutil.which("shellcheck")
    if exe is None:
        pytest.skip("shellcheck not installed (apt install shellcheck; .ci/run installs it)")
    proc = subprocess.run(
        [exe, "-x", "--severity=style", *map(str, SCRIPTS)],
        capture_output=True,
        text=True,
        cwd=JETSON,
    )
    assert proc.returncode == 0, proc.stdout
    assert {p.name for p in SCRIPTS} >= {
        "lib.sh",
        "setup-nano.sh",
        "setup-orin.sh",
        "setup-pi.sh",
        "build_trt_bindings.sh",
        "bench-mode.sh",
    }


# -- Jetson Nano ---------------------------------------------------------------------------------


def test_nano_fresh_board_gets_every_step(env):
    root = fake_nano(env["tmp"] / "root")
    venv = env["tmp"] / "venv"
    before = snapshot(root)
    out = run(
        "setup-nano.sh", "--dry-run", "--root", str(root), "--venv", str(venv),
        "--wheel", str(env["wheel"]), env=env,
    ).stdout  # fmt: skip
    cmds = commands(out)
    assert snapshot(root) == before and not venv.exists()  # a dry run changes nothing
    assert "L4T 32.7.1, TensorRT 8.2.1" in out
    # memory for engine builds: swap file, zram off, desktop off
    assert cmds[:4] == [
        "fallocate -l 4G /swapfile", "chmod 600 /swapfile", "mkswap /swapfile", "swapon /swapfile"
    ]  # fmt: skip
    assert "would append to /etc/fstab: /swapfile none swap sw 0 0" in out
    assert "systemctl disable nvzramconfig" in cmds and "swapoff /dev/zram0" in cmds
    assert "systemctl set-default multi-user.target" in cmds
    # Python 3.8 beside 3.6, gst-launch-1.0 for csi://, trtexec
    apt = next(c for c in cmds if c.startswith("apt-get install"))
    assert set(apt.split()[4:]) == {
        "python3.8", "python3.8-venv", "python3.8-dev", "gstreamer1.0-tools", "libnvinfer-bin"
    }  # fmt: skip
    # the venv does not see /usr/lib/python3/dist-packages (JetPack's Python 3.6 builds)
    assert f"python3.8 -m venv {venv}" in cmds
    pip = [c for c in cmds if " -m pip install " in c and "edgemnist" in c]
    assert len(pip) == 1 and f"'edgemnist[ort,cv] @ file://{env['wheel']}'" in pip[0]
    assert "--only-binary=numpy,onnxruntime,opencv-python" in pip[0]
    assert "numpy<1.25 onnxruntime==1.19.2" in out  # the constraints it would write
    # TensorRT bindings for Python 3.8 from NVIDIA's sources at the installed version's tag
    assert any(
        c.startswith("git clone --depth 1 --branch 8.2.1 https://github.com/NVIDIA/TensorRT")
        for c in cmds
    )  # noqa: E501
    assert any("--branch v2.6.2 https://github.com/pybind/pybind11.git" in c for c in cmds)
    cmake = next(c for c in cmds if c.startswith("cmake .."))
    assert "-DPYTHON_MINOR_VERSION=8" in cmake and "-DTARGET=aarch64" in cmake
    assert "-DONNX_INC_DIR=" in cmake and "-DTENSORRT_BUILD=/usr/lib/aarch64-linux-gnu/" in cmake
    assert any(
        "setup.py -q bdist_wheel --python-tag=cp38 --plat-name=linux_aarch64" in c for c in cmds
    )  # noqa: E501
    assert "libnvonnxparsers-dev" in " ".join(cmds)
    assert "import tensorrt" in cmds[-1]


def test_nano_on_jetpack_4_6_builds_from_the_8_0_1_tag(env):
    root = fake_nano(env["tmp"] / "root", trt=(8, 0, 1, 6))
    out = run(
        "build_trt_bindings.sh", "--dry-run", "--root", str(root), "--python", "3.8",
        "--venv", str(env["tmp"] / "venv"), env=env,
    ).stdout  # fmt: skip
    assert "TensorRT 8.0.1 (L4T 32.6.1)" in out
    assert any("--branch 8.0.1 https://github.com/NVIDIA/TensorRT.git" in c for c in commands(out))


def test_nano_rerun_on_a_set_up_board_does_nothing_again(env):
    root = fake_nano(env["tmp"] / "root", provisioned=True)
    venv = fake_venv(env["tmp"] / "venv", "3.8.0", ["tensorrt-8.2.1.8.dist-info"])
    out = run(
        "setup-nano.sh", "--dry-run", "--root", str(root), "--venv", str(venv),
        "--wheel", str(env["wheel"]), env=env,
    ).stdout  # fmt: skip
    cmds = commands(out)
    assert "ok: 4095 MiB of disk swap" in out
    assert "ok: /etc/fstab has: /swapfile none swap sw 0 0" in out
    assert "ok: nvzramconfig is not enabled" in out and "ok: no zram swap active" in out
    assert "ok: default target multi-user.target" in out
    assert f"ok: venv {venv} (Python 3.8)" in out
    assert "ok: tensorrt 8.2.1 is installed" in out
    assert not [c for c in cmds if c.split()[0] in ("apt-get", "fallocate", "systemctl", "git")]
    # pip is the one step that always runs: it is itself a no-op when nothing changed
    assert [c for c in cmds if "pip install" in c and "edgemnist" in c]


def test_nano_installs_a_cached_bindings_wheel_without_building(env):
    root = fake_nano(env["tmp"] / "root", provisioned=True)
    venv = fake_venv(env["tmp"] / "venv", "3.8.0")
    cached = env["tmp"] / "cache/wheels/tensorrt-8.2.1.8-cp38-none-linux_aarch64.whl"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"")
    out = run(
        "build_trt_bindings.sh", "--dry-run", "--root", str(root), "--venv", str(venv), env=env
    ).stdout
    cmds = commands(out)
    assert f"{venv}/bin/python -m pip install {cached}" in cmds
    assert not [c for c in cmds if c.startswith(("git ", "cmake", "make", "apt-get"))]


def test_nano_script_refuses_other_boards(env):
    for make, hint in ((fake_orin, "use setup-orin.sh"), (fake_pi, "use setup-pi.sh")):
        root = make(env["tmp"] / make.__name__)
        proc = run(
            "setup-nano.sh", "--dry-run", "--root", str(root), "--wheel", str(env["wheel"]),
            env=env, check=False,
        )  # fmt: skip
        assert proc.returncode == 1 and hint in proc.stderr


def test_bindings_refuse_a_tensorrt_without_a_source_tag(env):
    root = fake_nano(env["tmp"] / "root", trt=(7, 1, 3, 0))
    proc = run(
        "build_trt_bindings.sh", "--dry-run", "--root", str(root), "--python", "3.8",
        env=env, check=False,
    )  # fmt: skip
    assert proc.returncode == 1 and "no NVIDIA/TensorRT tag known for TensorRT 7.1.3" in proc.stderr


# -- Orin ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "l4t,python,ort", [("35", "3.8", "onnxruntime==1.19.2"), ("36", "3.10", "onnxruntime==1.23.0")]
)
def test_orin_uses_jetpacks_python_tensorrt_and_opencv(env, l4t, python, ort):
    root = fake_orin(env["tmp"] / "root", l4t=l4t, python=python)
    venv = env["tmp"] / "venv"
    out = run(
        "setup-orin.sh", "--dry-run", "--root", str(root), "--venv", str(venv),
        "--wheel", str(env["wheel"]), env=env,
    ).stdout  # fmt: skip
    cmds = commands(out)
    assert f"Python {python}" in out
    assert f"ok: tensorrt in /usr/lib/python{python}/dist-packages" in out
    apt = next(c for c in cmds if c.startswith("apt-get install"))
    assert "nvidia-opencv" in apt and "python3-libnvinfer" not in apt  # cv2 missing, trt present
    assert f"python{python} -m venv --system-site-packages {venv}" in cmds
    assert f"numpy<2 {ort} opencv-python<0 opencv-python-headless<0" in out
    pip = next(c for c in cmds if "pip install" in c and "edgemnist" in c)
    assert "'edgemnist[ort] @ file://" in pip  # no [cv]: pip's OpenCV has no GStreamer


def test_orin_script_sends_a_nano_to_its_own_script(env):
    root = fake_nano(env["tmp"] / "root")
    proc = run(
        "setup-orin.sh", "--dry-run", "--root", str(root), "--wheel", str(env["wheel"]),
        env=env, check=False,
    )  # fmt: skip
    assert proc.returncode == 1 and "use setup-nano.sh" in proc.stderr


# -- Raspberry Pi ------------------------------------------------------------------------------


def test_pi_keeps_the_system_numpy_and_opencv(env):
    root = fake_pi(env["tmp"] / "root", numpy="1:1.24.2-1+deb12u1")
    venv = env["tmp"] / "venv"
    out = run(
        "setup-pi.sh", "--dry-run", "--root", str(root), "--venv", str(venv),
        "--wheel", str(env["wheel"]), env=env,
    ).stdout  # fmt: skip
    cmds = commands(out)
    apt = next(c for c in cmds if c.startswith("apt-get install"))
    assert apt.split()[-1] == "python3-picamera2"  # the others are installed already
    assert f"python3.11 -m venv --system-site-packages {venv}" in cmds
    # numpy pinned to what python3-picamera2 was built against; pip's OpenCV forbidden
    assert "numpy==1.24.2 onnxruntime==1.23.2 opencv-python<0 opencv-python-headless<0" in out
    pip = next(c for c in cmds if "pip install" in c and "edgemnist" in c)
    assert "'edgemnist[ort] @ file://" in pip
    assert "import numpy, cv2, picamera2, onnxruntime" in cmds[-1]


def test_pi_refuses_32_bit_and_unknown_releases(env):
    proc = run(
        "setup-pi.sh", "--dry-run", "--root", str(fake_pi(env["tmp"] / "a", bits=32)),
        "--wheel", str(env["wheel"]), env=env, check=False,
    )  # fmt: skip
    assert proc.returncode == 1 and "64-bit" in proc.stderr
    proc = run(
        "setup-pi.sh", "--dry-run", "--root", str(fake_pi(env["tmp"] / "b", codename="bullseye")),
        "--wheel", str(env["wheel"]), env=env, check=False,
    )  # fmt: skip
    assert proc.returncode == 1 and "Bookworm" in proc.stderr


def test_pi_on_trixie_picks_the_python_3_13_onnxruntime(env):
    root = fake_pi(env["tmp"] / "root", codename="trixie", numpy="1:2.2.4+ds-1")
    out = run(
        "setup-pi.sh", "--dry-run", "--root", str(root), "--venv", str(env["tmp"] / "v"),
        "--wheel", str(env["wheel"]), env=env,
    ).stdout  # fmt: skip
    assert "numpy==2.2.4 onnxruntime==1.22.0" in out


# -- common options ----------------------------------------------------------------------------


def test_fake_root_only_with_dry_run_and_a_source_is_required(env):
    root = fake_pi(env["tmp"] / "root", numpy="1:1.24.2-1")
    proc = run("setup-pi.sh", "--root", str(root), env=env, check=False)
    assert proc.returncode == 1 and "use it with --dry-run only" in proc.stderr
    # a copy of the scripts with no dist/ beside them (the checkout may have one)
    alone = env["tmp"] / "copy" / "jetson"
    shutil.copytree(JETSON, alone)
    proc = subprocess.run(
        ["bash", str(alone / "setup-pi.sh"), "--dry-run", "--root", str(root)],
        capture_output=True, text=True, env=env["env"], timeout=60,
    )  # fmt: skip
    assert proc.returncode == 1 and "make dist" in proc.stderr
    (alone.parent / "dist").mkdir()
    (alone.parent / "dist" / "edgemnist-0.2.0-py3-none-any.whl").write_bytes(b"")
    proc = subprocess.run(
        ["bash", str(alone / "setup-pi.sh"), "--dry-run", "--root", str(root), "--venv", "/v"],
        capture_output=True, text=True, env=env["env"], timeout=60,
    )  # fmt: skip
    assert f"@ file://{alone.parent}/dist/edgemnist-0.2.0-py3-none-any.whl'" in proc.stdout
    proc = run(
        "setup-pi.sh", "--dry-run", "--root", str(root), "--venv", str(env["tmp"] / "v"),
        "--source", "git+https://example.org/edgemnist.git", env=env,
    )  # fmt: skip
    assert "'edgemnist[ort] @ git+https://example.org/edgemnist.git'" in proc.stdout
    proc = run(
        "setup-pi.sh", "--dry-run", "--root", str(root),
        "--wheel", str(env["tmp"] / "nowhere.whl"), env=env, check=False,
    )  # fmt: skip
    assert proc.returncode == 1 and "make dist" in proc.stderr


def test_every_script_has_help():
    for script in SCRIPTS:
        if script.name == "lib.sh":
            continue
        proc = subprocess.run(["bash", str(script), "--help"], capture_output=True, text=True)
        assert proc.returncode == 0 and proc.stdout.startswith("usage:"), script.name


# -- bench mode --------------------------------------------------------------------------------


def test_bench_mode_on_a_pi_sets_the_performance_governor(env):
    root = fake_pi(env["tmp"] / "root")
    out = run("bench-mode.sh", "--dry-run", "--root", str(root), env=env).stdout
    assert out.count("would write performance to /sys/devices/system/cpu/cpu") == 4
    assert "would save to" in out and "governor: ondemand" in out
    assert "vcgencmd get_throttled" in out


def test_bench_mode_on_a_jetson_stores_then_restores(env):
    root = fake_nano(env["tmp"] / "root")
    _write(root, "/var/lib/nvpmodel/status", "pmode:0001\n")
    out = run("bench-mode.sh", "--dry-run", "--root", str(root), env=env).stdout
    cmds = commands(out)
    assert "nvpmodel -m 0" in cmds and "jetson_clocks" in cmds
    state = env["tmp"] / "cache/bench-mode"
    assert f"jetson_clocks --store {state}/jetson_clocks.conf" in cmds
    assert f"would save to {state}/nvpmodel: 1" in out
    # after a real lock the state files exist: --restore puts mode 1 and the clocks back
    state.mkdir(parents=True)
    (state / "nvpmodel").write_text("1\n")
    (state / "jetson_clocks.conf").write_text("")
    cmds = commands(
        run("bench-mode.sh", "--dry-run", "--restore", "--root", str(root), env=env).stdout
    )
    assert cmds[:2] == [f"jetson_clocks --restore {state}/jetson_clocks.conf", "nvpmodel -m 1"]
    # already locked: mode 0 is left alone
    _write(root, "/var/lib/nvpmodel/status", "pmode:0000\n")
    out = run("bench-mode.sh", "--dry-run", "--root", str(root), env=env).stdout
    assert "nvpmodel -m 0" not in commands(out) and "ok: mode 0" in out


def test_install_instructions_never_name_a_pypi_package_that_does_not_exist():
    """edgemnist is not on PyPI: every documented pip install of it goes through the wheel
    file or a git URL (``"edgemnist[...] @ file://..."`` / ``@ git+https://...``)."""
    repo = JETSON.parent
    for doc in (repo / "README.md", JETSON / "README.md"):
        for line in doc.read_text().splitlines():
            m = re.search(r"pip install [^|`]*?[\"']?edgemnist(\[[^\]]*\])?[\"']?(\s|$)", line)
            assert not m or "@" in line, f"{doc.name}: {line.strip()}"
            assert "pip install edgemnist" not in line, f"{doc.name}: {line.strip()}"
    assert 'pip install "edgemnist[ort,cv] @ file://' in (repo / "README.md").read_text()


def test_a_venv_of_another_python_is_not_reused(env):
    root = fake_nano(env["tmp"] / "root", provisioned=True)
    venv = fake_venv(env["tmp"] / "venv", "3.6.9")
    proc = run(
        "setup-nano.sh", "--dry-run", "--root", str(root), "--venv", str(venv),
        "--wheel", str(env["wheel"]), env=env, check=False,
    )  # fmt: skip
    assert proc.returncode == 1
    assert f"{venv} is a Python 3.6 venv; this board needs python3.8" in proc.stderr
