"""Reader for the IDX format (LeCun's MNIST files), raw or gzip-compressed.

Layout: 2 zero bytes, a dtype code, the number of dimensions, then one big-endian uint32 per
dimension, then the data in C order. Every check names the file and the problem.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path
from typing import Dict

import numpy as np

from edgemnist.errors import DataError

_DTYPES: Dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_bytes(path: Path) -> bytes:
    """Return the decompressed content of ``path`` (``.gz`` by magic bytes, else raw)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror})") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as exc:
            raise DataError(
                f"{path}: corrupt or truncated gzip ({exc}); delete it and run "
                "`edgemnist data download`"
            ) from None
    return raw


def parse(content: bytes, name: str = "<bytes>") -> np.ndarray:
    """Parse IDX ``content`` into an array, checking magic, dimensions and size.

    Args:
        content: decompressed IDX bytes.
        name: file name used in error messages.

    Returns:
        The array with the dimensions the header declares.
    """
    hint = "; delete it and run `edgemnist data download`"
    if len(content) < 4:
        raise DataError(f"{name}: too short to be an IDX file ({len(content)} bytes){hint}")
    zero, code, ndim = struct.unpack(">HBB", content[:4])
    if zero != 0 or code not in _DTYPES or not 1 <= ndim <= 4:
        raise DataError(f"{name}: bad IDX magic number 0x{content[:4].hex()}{hint}")
    header = 4 + 4 * ndim
    if len(content) < header:
        raise DataError(f"{name}: truncated IDX header{hint}")
    dims = struct.unpack(f">{ndim}I", content[4:header])
    dtype = _DTYPES[code]
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    got = len(content) - header
    if got != expected:
        what = "truncated" if got < expected else "has trailing bytes"
        raise DataError(
            f"{name}: {what}: header says {'x'.join(map(str, dims))} "
            f"({expected} data bytes), file holds {got}{hint}"
        )
    arr = np.frombuffer(content, dtype=dtype, offset=header).reshape(dims)
    return arr.astype(dtype.newbyteorder("="), copy=False)


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (raw or ``.gz``) into a numpy array."""
    path = Path(path)
    return parse(read_bytes(path), name=str(path))


def encode(arr: np.ndarray) -> bytes:
    """Encode an array as IDX bytes (used by tests to make small, real IDX files)."""
    codes = {v.newbyteorder(">") if v.itemsize > 1 else v: k for k, v in _DTYPES.items()}
    dt = arr.dtype.newbyteorder(">") if arr.dtype.itemsize > 1 else arr.dtype
    if dt not in codes:
        raise ValueError(f"no IDX code for dtype {arr.dtype}")
    header = struct.pack(">HBB", 0, codes[dt], arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return header + np.ascontiguousarray(arr, dtype=dt).tobytes()
