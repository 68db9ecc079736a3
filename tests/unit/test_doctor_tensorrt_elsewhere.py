"""doctor: TensorRT installed for another Python than the one running (the Jetson Nano case:
JetPack 4.6 ships the bindings for Python 3.6 only) points to jetson/build_trt_bindings.sh."""

from __future__ import annotations

import sys
from pathlib import Path

from edgemnist.doctor import doctor, tensorrt_elsewhere

HERE = f"{sys.version_info[0]}.{sys.version_info[1]}"


def _nano(root: Path, *site_dirs: str) -> Path:
    (root / "proc/device-tree").mkdir(parents=True)
    (root / "proc/device-tree/model").write_bytes(b"NVIDIA Jetson Nano Developer Kit\0")
    (root / "etc").mkdir()
    (root / "etc/nv_tegra_release").write_text("# R32 (release), REVISION: 7.1, GCID: 1\n")
    for d in site_dirs:
        (root / d).mkdir(parents=True)
        (root / d / "__init__.py").write_text("")
    return root


def _no_tensorrt(name):
    return None, "not installed"  # nothing importable in this interpreter


def _trt_check(report):
    return next(c for c in report["checks"] if c["name"] == "tensorrt")


def test_tensorrt_for_python_3_6_only_prints_the_bindings_route(tmp_path):
    root = _nano(tmp_path / "nano", "usr/lib/python3.6/dist-packages/tensorrt")
    assert tensorrt_elsewhere(root) == [("3.6", "/usr/lib/python3.6/dist-packages/tensorrt")]
    check = _trt_check(doctor(root, probe=_no_tensorrt))
    assert check["status"] == "fail"
    assert f"in Python {HERE}; TensorRT is installed only for Python 3.6" in check["value"]
    assert "jetson/build_trt_bindings.sh" in check["fix"] and "--builder trtexec" in check["fix"]


def test_tensorrt_for_this_python_but_hidden_by_the_venv(tmp_path):
    root = _nano(tmp_path / "orin", f"usr/lib/python{HERE}/dist-packages/tensorrt")
    check = _trt_check(doctor(root, probe=_no_tensorrt))
    assert check["status"] == "fail" and f"installed for this Python {HERE}" in check["value"]
    assert "--system-site-packages" in check["fix"]


def test_debians_shared_folder_names_the_python_by_the_extension_tag(tmp_path):
    root = _nano(tmp_path / "r", "usr/lib/python3/dist-packages/tensorrt")
    d = root / "usr/lib/python3/dist-packages/tensorrt"
    (d / "tensorrt.cpython-36m-aarch64-linux-gnu.so").write_text("")
    assert tensorrt_elsewhere(root) == [("3.6", "/usr/lib/python3/dist-packages/tensorrt")]


def test_importable_tensorrt_or_none_anywhere_keeps_the_old_answers(tmp_path):
    root = _nano(tmp_path / "n", "usr/lib/python3.6/dist-packages/tensorrt")
    check = _trt_check(
        doctor(root, probe=lambda n: ("8.2.1.8", "") if n == "tensorrt" else (None, "x"))
    )
    assert check["status"] == "ok" and check["value"] == "8.2.1.8"
    bare = _nano(tmp_path / "bare")
    check = _trt_check(doctor(bare, probe=_no_tensorrt))
    assert "build_trt_bindings" not in check["fix"]  # nothing installed at all: JetPack's apt fix
