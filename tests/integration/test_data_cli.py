"""``edgemnist data download|info|preview`` end to end, on the real MNIST files.

The download runs the real fetch-and-verify path from a local mirror (the session's verified
copy of ../shared/data/mnist); errors are checked the way a user sees them: exit code 1, one
line on stderr, no traceback.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edgemnist.cli.main import main
from edgemnist.data import mnist
from edgemnist.data.idx import encode

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _run(capsys, *args: str):
    rc = main(list(args))
    out, err = capsys.readouterr()
    return rc, out, err


def _error_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert "Traceback" not in err
    return lines[-1]


@pytest.fixture
def data_copy(mnist_dir, tmp_path, monkeypatch) -> Path:
    """A private, verified data directory the test may break; EDGEMNIST_DATA points at it."""
    root = tmp_path / "data"
    mnist.copy_tree(mnist_dir, root)
    monkeypatch.setenv("EDGEMNIST_DATA", str(root))
    return root


@pytest.mark.integration
def test_download_info_preview(mnist_dir, tmp_path, monkeypatch, capsys):
    root = tmp_path / "data"
    monkeypatch.setenv("EDGEMNIST_DATA", str(root))
    rc, out, err = _run(capsys, "data", "download", "--mirror", str(mnist_dir))
    assert rc == 0, err
    assert sorted(p.name for p in root.iterdir()) == sorted(f"{n}.gz" for n in mnist.FILES)
    assert "verified" in err  # progress lines
    assert "train-images-idx3-ubyte" in out  # the table

    # Second run: everything present and verified, nothing fetched; JSON on stdout only.
    rc, out, _ = _run(capsys, "data", "download", "--json")
    assert rc == 0
    report = json.loads(out)
    assert report["data_dir"] == str(root)
    assert {f["source"] for f in report["files"]} == {"local"}
    assert all(f["sha256_ok"] for f in report["files"])

    rc, out, _ = _run(capsys, "data", "info", "--json")
    assert rc == 0
    info = json.loads(out)
    assert info["splits"]["train"]["count"] == 60000
    assert info["splits"]["test"]["count"] == 10000
    for split, n in (("train", 60000), ("test", 10000)):
        counts = info["splits"][split]["class_balance"]["counts"]
        assert len(counts) == 10 and sum(counts) == n and min(counts) > 0.08 * n
    assert info["splits"]["train"]["pixel_mean"] == pytest.approx(0.1307, abs=1e-4)
    assert info["splits"]["train"]["pixel_std"] == pytest.approx(0.3081, abs=1e-4)
    for name, f in info["files"].items():
        assert f["sha256"] == mnist.FILES[name].sha256 and f["sha256_ok"]

    rc, out, _ = _run(capsys, "data", "info")
    assert rc == 0 and "class balance" in out and "60000" in out

    png = tmp_path / "grid.png"
    rc, out, err = _run(capsys, "data", "preview", "--n", "16", "--out", str(png))
    assert rc == 0, err
    _check_png(png, cells=16)

    aug_png = tmp_path / "aug.png"
    rc, out, err = _run(
        capsys, "data", "preview", "--split", "test", "--n", "9", "--augment", "--seed", "3",
        "--set", "elastic_p=1", "--out", str(aug_png), "--json",
    )  # fmt: skip
    assert rc == 0, err
    rep = json.loads(out)
    assert rep["augment"]["elastic_p"] == 1.0
    labels = mnist.load_split("test", root)[1]
    assert rep["labels"] == labels[rep["indices"]].tolist()
    _check_png(aug_png, cells=9)
    assert aug_png.read_bytes() != png.read_bytes()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp files


def _check_png(path: Path, cells: int) -> None:
    import cv2

    blob = path.read_bytes()
    assert blob[:8] == PNG_MAGIC
    img = cv2.imdecode(np.frombuffer(blob, np.uint8), cv2.IMREAD_UNCHANGED)
    assert img is not None and img.ndim == 2
    side = int(np.ceil(np.sqrt(cells)))
    assert img.shape[1] >= side * 28 * 3  # side cells of 3x-scaled digits per row
    assert (img < 128).mean() > 0.3  # the black digit cells are there, not a blank page


@pytest.mark.integration
def test_env_mirror(mnist_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EDGEMNIST_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("EDGEMNIST_MNIST_MIRROR", str(mnist_dir))
    rc, out, err = _run(capsys, "data", "download", "--json")
    assert rc == 0, err
    assert {f["source"] for f in json.loads(out)["files"]} == {str(mnist_dir)}


@pytest.mark.integration
@pytest.mark.parametrize("command", [["data", "info"], ["data", "preview", "--n", "4"]])
def test_truncated_file_is_one_line_error(data_copy, capsys, command):
    path = data_copy / "train-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-200])
    rc, out, err = _run(capsys, *command)
    assert rc == 1
    line = _error_line(err)
    assert str(path) in line and "corrupt or truncated gzip" in line
    assert "edgemnist data download" in line  # what to do


@pytest.mark.integration
def test_mismatched_file_is_one_line_error(data_copy, capsys, monkeypatch):
    path = data_copy / "t10k-labels-idx1-ubyte.gz"
    wrong = np.zeros(10000, np.uint8)  # well-formed IDX, wrong content
    path.write_bytes(gzip.compress(encode(wrong)))
    rc, _, err = _run(capsys, "data", "info")
    assert rc == 1
    line = _error_line(err)
    assert str(path) in line and "checksum mismatch" in line
    # EDGEMNIST_DEBUG=1 shows the real exception instead.
    monkeypatch.setenv("EDGEMNIST_DEBUG", "1")
    with pytest.raises(Exception, match="checksum mismatch"):
        main(["data", "info"])


@pytest.mark.integration
def test_download_repairs_corrupt_file(data_copy, mnist_dir, capsys):
    path = data_copy / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:1000])
    rc, out, err = _run(capsys, "data", "download", "--mirror", str(mnist_dir), "--json")
    assert rc == 0, err
    assert "fetching again" in err
    assert mnist.load_split("test")[0].shape == (10000, 28, 28)


def test_download_without_reachable_mirror(tmp_path, monkeypatch, capsys):
    root = tmp_path / "data"
    monkeypatch.setenv("EDGEMNIST_DATA", str(root))
    monkeypatch.setattr(mnist, "MIRRORS", [str(tmp_path / "gone-1"), str(tmp_path / "gone-2")])
    rc, _, err = _run(capsys, "data", "download")
    assert rc == 1
    line = _error_line(err)
    assert "could not get train-images-idx3-ubyte" in line and "--mirror" in line
    assert not root.exists() or not any(root.iterdir())


def test_missing_data_and_bad_options(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EDGEMNIST_DATA", str(tmp_path / "empty"))
    rc, _, err = _run(capsys, "data", "info")
    assert rc == 1 and "edgemnist data download" in _error_line(err)
    rc, _, err = _run(capsys, "data", "preview", "--set", "rotation=5")
    assert rc == 1 and "--augment" in _error_line(err)
    rc, _, err = _run(capsys, "data", "preview", "--augment", "--set", "spin=5")
    assert rc == 1 and "unknown augment key(s) spin" in _error_line(err)


def test_data_help_without_heavy_modules(tmp_path):
    """`edgemnist data --help` must work on a device without torch, cv2 or onnxruntime."""
    code = (
        "import sys\n"
        "for m in ('torch', 'cv2', 'onnxruntime', 'tensorrt', 'matplotlib'):\n"
        "    sys.modules[m] = None\n"
        "from edgemnist.cli.main import main\n"
        "rc = main(['data', '--help'])\n"
        "rc2 = main(['data', 'preview', '--help'])\n"
        "import edgemnist.cli.data, edgemnist.data.info, edgemnist.data.preview\n"
        "import edgemnist.data.augment\n"
        "sys.exit(rc or rc2)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert "download" in proc.stdout and "preview" in proc.stdout and "--augment" in proc.stdout


def test_grid_png_layout():
    import cv2

    from edgemnist.data.preview import grid_image, grid_png
    from edgemnist.errors import InputError

    rng = np.random.default_rng(0)
    digits = rng.integers(0, 256, (7, 28, 28), dtype=np.uint8)
    page = grid_image(digits, None, cols=3, scale=2)
    assert page.shape == (3 * (56 + 4) + 4, 3 * (56 + 4) + 4)
    # Cell (row 1, col 0) holds digit 3, upscaled by nearest neighbour.
    cell = page[4 + 60 : 4 + 60 + 56, 4 : 4 + 56]
    np.testing.assert_array_equal(cell, np.repeat(np.repeat(digits[3], 2, 0), 2, 1))
    png = grid_png(digits, [f"True {i}/Pred {i}" for i in range(7)], cols=4, scale=3)
    img = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED)
    assert png[:8] == PNG_MAGIC and img.shape[1] == 4 * (84 + 4) + 4
    assert img.shape[0] > 2 * (84 + 4)  # title strips add height
    with pytest.raises(InputError, match="2 titles for 7 images"):
        grid_png(digits, ["a", "b"])
    with pytest.raises(InputError, match="uint8"):
        grid_png(digits.astype(np.float32))
