"""IDX reader: round trips and every way a file can be broken (one-line errors naming the file)."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from edgemnist.data.idx import encode, parse, read_idx
from edgemnist.errors import DataError


def _write(path: Path, content: bytes, gz: bool) -> Path:
    path.write_bytes(gzip.compress(content, mtime=0) if gz else content)
    return path


def _assert_one_line(exc: pytest.ExceptionInfo, path: Path, words: str) -> None:
    msg = str(exc.value)
    assert "\n" not in msg
    assert str(path) in msg
    assert words in msg


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
@pytest.mark.parametrize(
    "arr",
    [
        np.arange(60, dtype=np.uint8).reshape(5, 3, 4),
        np.array([-128, -1, 0, 127], dtype=np.int8),
        np.arange(-6, 6, dtype=np.int16).reshape(3, 4),
        np.array([[1 << 30, -(1 << 30)], [7, 0]], dtype=np.int32),
        np.linspace(-1, 1, 12, dtype=np.float32).reshape(2, 2, 3),
        np.array([np.pi, -np.e], dtype=np.float64),
    ],
    ids=["u8-3d", "i8-1d", "i16-2d", "i32-2d", "f32-3d", "f64-1d"],
)
def test_round_trip(tmp_path, arr, gz):
    path = _write(tmp_path / ("x.idx.gz" if gz else "x.idx"), encode(arr), gz)
    back = read_idx(path)
    assert back.shape == arr.shape
    assert back.dtype == arr.dtype  # native byte order again, whatever the file stored
    np.testing.assert_array_equal(back, arr)


def test_header_is_big_endian_with_magic():
    content = encode(np.zeros((2, 28, 28), np.uint8))
    assert content[:4] == b"\x00\x00\x08\x03"  # MNIST images: ubyte, 3 dims
    assert content[4:16] == (2).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
    assert len(content) == 16 + 2 * 28 * 28


def test_bad_magic(tmp_path):
    content = bytearray(encode(np.zeros((4,), np.uint8)))
    content[0] = 0x1F  # not the two zero bytes an IDX file starts with
    path = _write(tmp_path / "bad-magic", bytes(content), gz=False)
    with pytest.raises(DataError) as exc:
        read_idx(path)
    _assert_one_line(exc, path, "bad IDX magic number")


def test_unknown_dtype_code(tmp_path):
    content = bytearray(encode(np.zeros((4,), np.uint8)))
    content[2] = 0x07
    path = _write(tmp_path / "bad-code.gz", bytes(content), gz=True)
    with pytest.raises(DataError) as exc:
        read_idx(path)
    _assert_one_line(exc, path, "bad IDX magic number")


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
def test_truncated_data(tmp_path, gz):
    content = encode(np.ones((3, 28, 28), np.uint8))[:-100]
    path = _write(tmp_path / "short", content, gz)
    with pytest.raises(DataError) as exc:
        read_idx(path)
    _assert_one_line(exc, path, "truncated")
    assert "3x28x28" in str(exc.value)


def test_trailing_bytes(tmp_path):
    path = _write(tmp_path / "long", encode(np.ones((3,), np.uint8)) + b"\0", gz=False)
    with pytest.raises(DataError) as exc:
        read_idx(path)
    _assert_one_line(exc, path, "trailing bytes")


def test_truncated_header(tmp_path):
    path = _write(tmp_path / "hdr", encode(np.ones((3, 4), np.uint8))[:9], gz=False)
    with pytest.raises(DataError) as exc:
        read_idx(path)
    _assert_one_line(exc, path, "truncated IDX header")


def test_too_short(tmp_path):
    path = _write(tmp_path / "tiny", b"\0\0", gz=False)
    with pytest.raises(DataError) as exc:
        read_idx(path)
    _assert_one_line(exc, path, "too short")


def test_corrupt_gzip(tmp_path):
    blob = bytearray(gzip.compress(encode(np.arange(200, dtype=np.uint8)), mtime=0))
    blob[12:20] = b"\xff" * 8  # wreck the deflate stream, keep the gzip magic
    path = tmp_path / "corrupt.gz"
    path.write_bytes(bytes(blob))
    with pytest.raises(DataError) as exc:
        read_idx(path)
    _assert_one_line(exc, path, "corrupt or truncated gzip")
    assert "edgemnist data download" in str(exc.value)


def test_truncated_gzip(tmp_path):
    blob = gzip.compress(encode(np.arange(5000, dtype=np.int32)), mtime=0)
    path = tmp_path / "cut.gz"
    path.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(DataError) as exc:
        read_idx(path)
    _assert_one_line(exc, path, "corrupt or truncated gzip")


def test_missing_file(tmp_path):
    path = tmp_path / "nope.gz"
    with pytest.raises(DataError) as exc:
        read_idx(path)
    _assert_one_line(exc, path, "not found")


def test_parse_names_source_in_error():
    with pytest.raises(DataError, match=r"^labels\.idx: "):
        parse(b"\0\0\x08\x01\0\0\0\x05abc", name="labels.idx")
