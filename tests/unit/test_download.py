"""Verified download from local-directory mirrors, with small synthetic MNIST-shaped files.

The real checksum table is swapped for one describing tiny IDX files made here, so the real
download/verify/atomic-write code runs without the data set and without touching the network:
the canonical mirrors are replaced by local directories that do not exist.
"""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path
from typing import Dict

import numpy as np
import pytest

from edgemnist import atomic
from edgemnist.data import mnist
from edgemnist.data.idx import encode
from edgemnist.errors import DataError, DownloadError

SIZES = {"train": 30, "test": 12}


def _arrays(seed: int = 0) -> Dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    out = {}
    for split, (img, lbl) in mnist.SPLITS.items():
        n = SIZES[split]
        out[img] = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        out[lbl] = rng.integers(0, 10, n, dtype=np.uint8)
    return out


def _gz(content: bytes) -> bytes:
    return gzip.compress(content, mtime=0)


@pytest.fixture
def synthetic(monkeypatch, tmp_path):
    """Swap in a checksum table for tiny files; return (arrays, good gz mirror directory)."""
    arrays = _arrays()
    table = {}
    mirror = tmp_path / "mirror-good"
    mirror.mkdir()
    for name, arr in arrays.items():
        content = encode(arr)
        blob = _gz(content)
        (mirror / f"{name}.gz").write_bytes(blob)
        table[name] = mnist.MnistFile(
            name,
            hashlib.md5(blob).hexdigest(),  # noqa: S324 (the "published" checksum here)
            hashlib.sha256(content).hexdigest(),
            arr.shape,
        )
    monkeypatch.setattr(mnist, "FILES", table)
    # Canonical mirrors that cannot be reached: local paths that do not exist.
    monkeypatch.setattr(
        mnist, "MIRRORS", [str(tmp_path / "no-such-mirror-1"), str(tmp_path / "no-such-mirror-2")]
    )
    return arrays, mirror


def _files(root: Path):
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def test_download_from_local_directory(synthetic, tmp_path):
    arrays, mirror = synthetic
    root = tmp_path / "data"
    events = []
    statuses = mnist.download(root, mirror=str(mirror), on_event=events.append)
    assert [s.name for s in statuses] == list(mnist.FILES)
    assert all(s.sha256_ok and s.md5_gz_match is True for s in statuses)
    assert {s.source for s in statuses} == {str(mirror)}
    assert _files(root) == sorted(f"{n}.gz" for n in mnist.FILES)
    assert any("verified" in e for e in events)
    images, labels = mnist.load_split("train", root)
    np.testing.assert_array_equal(images, arrays["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(labels, arrays["train-labels-idx1-ubyte"])
    assert mnist.load_split("test", root)[0].shape == (SIZES["test"], 28, 28)


def test_file_url_and_env_mirror(synthetic, tmp_path, monkeypatch):
    _, mirror = synthetic
    monkeypatch.setenv("EDGEMNIST_MNIST_MIRROR", f"file://{mirror}")
    statuses = mnist.download(tmp_path / "data")
    assert {s.source for s in statuses} == {f"file://{mirror}"}


def test_present_files_are_verified_not_refetched_unless_forced(synthetic, tmp_path):
    _, mirror = synthetic
    root = tmp_path / "data"
    mnist.download(root, mirror=str(mirror))
    again = mnist.download(root)  # no mirror reachable now: must not be needed
    assert {s.source for s in again} == {"local"}
    assert all(s.sha256_ok for s in again)
    forced = mnist.download(root, mirror=str(mirror), force=True)
    assert {s.source for s in forced} == {str(mirror)}


def test_raw_files_verify_by_content(synthetic, tmp_path):
    arrays, _ = synthetic
    raw = tmp_path / "mirror-raw"
    raw.mkdir()
    for name, arr in arrays.items():
        (raw / name).write_bytes(encode(arr))
    root = tmp_path / "data"
    statuses = mnist.download(root, mirror=str(raw))
    assert all(s.sha256_ok and s.md5_gz_match is None for s in statuses)
    assert _files(root) == sorted(mnist.FILES)


def test_recompressed_gz_is_accepted_with_md5_mismatch(synthetic, tmp_path):
    arrays, _ = synthetic
    other = tmp_path / "mirror-recompressed"
    other.mkdir()
    for name, arr in arrays.items():  # same content, different gzip bytes
        (other / f"{name}.gz").write_bytes(gzip.compress(encode(arr), compresslevel=1, mtime=7))
    statuses = mnist.download(tmp_path / "data", mirror=str(other))
    assert all(s.sha256_ok for s in statuses)
    assert all(s.md5_gz_match is False for s in statuses)


def test_checksum_mismatch_falls_through_to_next_mirror(synthetic, tmp_path, monkeypatch):
    arrays, good = synthetic
    bad = tmp_path / "mirror-bad"
    bad.mkdir()
    wrong = _arrays(seed=1)
    for name in arrays:
        src = wrong if name == "t10k-labels-idx1-ubyte" else arrays
        (bad / f"{name}.gz").write_bytes(_gz(encode(src[name])))
    monkeypatch.setattr(mnist, "MIRRORS", [str(tmp_path / "gone"), str(good)])
    events = []
    statuses = {
        s.name: s for s in mnist.download(tmp_path / "data", str(bad), on_event=events.append)
    }
    assert statuses["t10k-labels-idx1-ubyte"].source == str(good)
    assert statuses["train-images-idx3-ubyte"].source == str(bad)
    labels = mnist.load_split("test", tmp_path / "data")[1]
    np.testing.assert_array_equal(labels, arrays["t10k-labels-idx1-ubyte"])


def test_no_mirror_reachable(synthetic, tmp_path):
    root = tmp_path / "data"
    with pytest.raises(DownloadError) as exc:
        mnist.download(root)
    msg = str(exc.value)
    assert "\n" not in msg
    assert "train-images-idx3-ubyte" in msg
    assert "no-such-mirror-1" in msg and "no-such-mirror-2" in msg
    assert "--mirror" in msg  # says what to do
    assert _files(root) == []


def test_corrupt_mirror_only_gives_download_error(synthetic, tmp_path):
    _, good = synthetic
    broken = tmp_path / "mirror-broken"
    broken.mkdir()
    for p in good.iterdir():
        (broken / p.name).write_bytes(p.read_bytes()[:-30])  # truncated gzip
    with pytest.raises(DownloadError, match="corrupt or truncated gzip"):
        mnist.download(tmp_path / "data", mirror=str(broken))
    assert _files(tmp_path / "data") == []


def test_interrupted_write_leaves_no_file(synthetic, tmp_path, monkeypatch):
    _, mirror = synthetic
    root = tmp_path / "data"

    def crash(src, dst):  # the moment the finished temp file would be renamed into place
        raise OSError("simulated crash before rename")

    monkeypatch.setattr(atomic.os, "replace", crash)
    with pytest.raises(OSError, match="simulated crash"):
        mnist.download(root, mirror=str(mirror))
    assert _files(root) == []  # neither a final name nor a temp file


def test_corrupt_local_copy_is_replaced(synthetic, tmp_path):
    _, mirror = synthetic
    root = tmp_path / "data"
    root.mkdir()
    name = "t10k-images-idx3-ubyte"
    (root / name).write_bytes(b"\0\0\x08\x03garbage")  # raw, wrong: must go, .gz replaces it
    events = []
    mnist.download(root, mirror=str(mirror), on_event=events.append)
    assert any(name in e and "fetching again" in e for e in events)
    assert (root / f"{name}.gz").exists() and not (root / name).exists()


def test_load_split_errors(synthetic, tmp_path):
    arrays, mirror = synthetic
    root = tmp_path / "data"
    with pytest.raises(DataError, match="edgemnist data download"):
        mnist.load_split("train", root)
    mnist.download(root, mirror=str(mirror))
    with pytest.raises(DataError, match="unknown split"):
        mnist.load_split("validation", root)
    # A well-formed file with other content: caught by its checksum, named in the message.
    path = root / "train-labels-idx1-ubyte.gz"
    path.write_bytes(_gz(encode(np.zeros(SIZES["train"], np.uint8))))
    with pytest.raises(DataError) as exc:
        mnist.load_split("train", root)
    assert "checksum mismatch" in str(exc.value) and str(path) in str(exc.value)


@pytest.fixture
def http_mirror(synthetic):
    """A loopback HTTP server: ``/good/`` serves the mirror; ``/short/`` sends half a body."""
    import functools
    import http.server
    import threading

    _, mirror = synthetic

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server API)
            name = self.path.rsplit("/", 1)[-1]
            blob = (mirror / name).read_bytes() if (mirror / name).exists() else None
            if blob is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(blob)))
            self.end_headers()
            # A dropped connection mid-body: the client sees http.client.IncompleteRead.
            self.wfile.write(blob if self.path.startswith("/good/") else blob[: len(blob) // 2])

        def log_message(self, *args):  # keep pytest output clean
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_http_mirror_and_truncated_response(http_mirror, tmp_path, monkeypatch):
    root = tmp_path / "data"
    statuses = mnist.download(root, mirror=f"{http_mirror}/good/")
    assert all(s.sha256_ok and s.md5_gz_match for s in statuses)
    # A mirror that cuts responses short is skipped like any failed mirror.
    monkeypatch.setattr(mnist, "MIRRORS", [f"{http_mirror}/good"])
    statuses = mnist.download(tmp_path / "data2", mirror=f"{http_mirror}/short/", force=True)
    assert {s.source for s in statuses} == {f"{http_mirror}/good"}
    monkeypatch.setattr(mnist, "MIRRORS", [])
    with pytest.raises(DownloadError, match="could not get"):
        mnist.download(tmp_path / "data3", mirror=f"{http_mirror}/short")
    assert _files(tmp_path / "data3") == []


def test_dataset_info_on_downloaded_files(synthetic, tmp_path):
    from edgemnist.data.info import dataset_info, pixel_stats

    arrays, mirror = synthetic
    root = tmp_path / "data"
    mnist.download(root, mirror=str(mirror))
    info = dataset_info(root)
    assert info["data_dir"] == str(root)
    assert {n: f["sha256"] for n, f in info["files"].items()} == {
        n: spec.sha256 for n, spec in mnist.FILES.items()
    }
    train = info["splits"]["train"]
    labels = arrays["train-labels-idx1-ubyte"]
    assert train["count"] == SIZES["train"]
    assert train["class_balance"]["counts"] == np.bincount(labels, minlength=10).tolist()
    images = arrays["train-images-idx3-ubyte"] / 255.0
    mean, std = pixel_stats(arrays["train-images-idx3-ubyte"])
    assert mean == pytest.approx(images.mean()) and std == pytest.approx(images.std())
    # A file that parses but holds other content is refused, naming the file.
    (root / "t10k-labels-idx1-ubyte.gz").write_bytes(_gz(encode(np.zeros(12, np.uint8))))
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz: checksum mismatch"):
        dataset_info(root)


def test_ensure_fetches_what_is_missing_and_nothing_else(synthetic, tmp_path, monkeypatch):
    """``train`` and ``pipeline`` call ensure(): a fresh machine gets MNIST fetched and verified
    (from EDGEMNIST_MNIST_MIRROR first), a machine that has it touches nothing."""
    arrays, mirror = synthetic
    root = tmp_path / "fresh"
    monkeypatch.setenv("EDGEMNIST_MNIST_MIRROR", str(mirror))
    assert mnist.missing_files(root) == list(mnist.FILES)
    events = []
    assert mnist.ensure(root, on_event=events.append) == root
    assert mnist.missing_files(root) == [] and "fetching it" in events[0]
    images, labels = mnist.load_test_set(limit=5, root=root)
    np.testing.assert_array_equal(images, arrays["t10k-images-idx3-ubyte"][:5])
    assert labels.shape == (5,)
    events.clear()
    mnist.ensure(root, on_event=events.append)
    assert events == []  # all there: no fetch, no message


def test_load_test_set_fetches_on_request_and_fails_clearly_otherwise(synthetic, tmp_path):
    arrays, mirror = synthetic
    root = tmp_path / "empty"
    with pytest.raises(DataError, match="edgemnist data download"):
        mnist.load_test_set(root=root)
    with pytest.raises(DownloadError, match="could not get"):
        mnist.load_test_set(root=root, fetch=True)  # the canonical mirrors are unreachable here
