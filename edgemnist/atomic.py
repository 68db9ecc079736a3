"""Atomic writes: temp file in the same directory + fsync + rename.

A crash or an exception never leaves a half-written file under its final name.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator, Union

PathLike = Union[str, "os.PathLike[str]"]


@contextlib.contextmanager
def atomic_path(final: PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path next to ``final``; rename it into place if the block succeeds.

    Use this for writers that insist on a path (torch.save, onnx.save, cv2.imwrite).
    The temp name keeps ``suffix`` (e.g. ``.png``) so format sniffing by extension still works.

    Example:
        >>> with atomic_path("model.onnx", suffix=".onnx") as tmp:  # doctest: +SKIP
        ...     onnx.save(model, str(tmp))
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{final.name}.", suffix=suffix or ".tmp", dir=final.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        if not tmp.exists() or tmp.stat().st_size == 0:
            raise OSError(f"refusing to write an empty file to {final}")
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, final)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def write_bytes(final: PathLike, data: bytes) -> Path:
    """Atomically write ``data`` to ``final``."""
    with atomic_path(final) as tmp:
        tmp.write_bytes(data)
    return Path(final)


def write_text(final: PathLike, text: str) -> Path:
    """Atomically write UTF-8 ``text`` to ``final``."""
    return write_bytes(final, text.encode("utf-8"))


def write_json(final: PathLike, obj: Any) -> Path:
    """Atomically write ``obj`` as indented JSON (keys kept in insertion order)."""
    return write_text(final, json.dumps(obj, indent=2, default=_json_default) + "\n")


def _json_default(o: Any) -> Any:
    if isinstance(o, Path):
        return str(o)
    if hasattr(o, "tolist"):  # numpy scalars and arrays
        return o.tolist()
    raise TypeError(f"not JSON serializable: {type(o).__name__}")


def sha256_file(path: PathLike, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()
