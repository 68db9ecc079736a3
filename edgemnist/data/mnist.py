"""MNIST files: verified download from mirrors (URL or local directory) and loading.

Every file is verified by the SHA-256 of its *decompressed* content (any faithful copy is
accepted); the MD5 of the published ``.gz`` is checked too and reported where it matches.
Files are written atomically, so an interrupted download never leaves a file that looks valid.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import shutil
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np

from edgemnist import atomic
from edgemnist.data.idx import parse, read_bytes
from edgemnist.errors import DataError, DownloadError
from edgemnist.paths import data_dir as default_data_dir


@dataclass(frozen=True)
class MnistFile:
    name: str  # without .gz
    md5_gz: str  # MD5 of the published .gz
    sha256: str  # SHA-256 of the decompressed content
    shape: Tuple[int, ...]


FILES: Dict[str, MnistFile] = {
    f.name: f
    for f in (
        MnistFile(
            "train-images-idx3-ubyte",
            "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            (60000, 28, 28),
        ),
        MnistFile(
            "train-labels-idx1-ubyte",
            "d53e105ee54ea40749a09fcbcd1e9432",
            "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            (60000,),
        ),
        MnistFile(
            "t10k-images-idx3-ubyte",
            "9fb629c4189551a2d022fa330f9573f3",
            "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            (10000, 28, 28),
        ),
        MnistFile(
            "t10k-labels-idx1-ubyte",
            "ec29112dd5afa0611ce80d1b7f02629c",
            "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
            (10000,),
        ),
    )
}

SPLITS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

#: The canonical mirrors, tried in order after a user-given mirror.
MIRRORS: List[str] = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
]

_TIMEOUT_S = 20


@dataclass
class FileStatus:
    name: str
    path: Optional[Path]
    sha256_ok: bool
    md5_gz_match: Optional[bool]  # None when the local copy is not gzipped
    source: str = "local"


def _local_path(root: Path, name: str) -> Optional[Path]:
    for candidate in (root / f"{name}.gz", root / name):
        if candidate.is_file():
            return candidate
    return None


def _fetch(mirror: str, name: str) -> bytes:
    """Bytes of ``name`` (.gz preferred) from a URL or a local directory."""
    if "://" not in mirror or mirror.startswith("file://"):
        root = Path(mirror[7:] if mirror.startswith("file://") else mirror).expanduser()
        if not root.is_dir():
            raise DownloadError(f"mirror directory {root} does not exist")
        path = _local_path(root, name)
        if path is None:
            raise DownloadError(f"{root} has no {name}.gz or {name}")
        return path.read_bytes()
    url = mirror.rstrip("/") + "/" + name + ".gz"
    req = urllib.request.Request(url, headers={"User-Agent": "edgemnist"})
    with urllib.request.urlopen(req, timeout=_TIMEOUT_S) as resp:  # noqa: S310 (http mirrors)
        return resp.read()


def verify_bytes(spec: MnistFile, blob: bytes, origin: str) -> Tuple[bytes, Optional[bool]]:
    """Check ``blob`` (gz or raw) against ``spec``; return (content, md5-of-gz matched)."""
    md5_match: Optional[bool] = None
    if blob[:2] == b"\x1f\x8b":
        md5_match = hashlib.md5(blob).hexdigest() == spec.md5_gz  # noqa: S324 (published checksum)
        try:
            content = gzip.decompress(blob)
        except Exception as exc:  # noqa: BLE001 (zlib/EOF/OSError all mean corrupt)
            raise DataError(f"{origin}: corrupt or truncated gzip ({exc})") from None
    else:
        content = blob
    digest = hashlib.sha256(content).hexdigest()
    if digest != spec.sha256:
        raise DataError(
            f"{origin}: checksum mismatch (sha256 {digest[:12]}…, expected {spec.sha256[:12]}…)"
        )
    return content, md5_match


def download(
    root: Optional[Path] = None,
    mirror: Optional[str] = None,
    force: bool = False,
    on_event: Optional[Callable[[str], None]] = None,
) -> List[FileStatus]:
    """Make sure all four MNIST files are in ``root``, verified; fetch what is missing.

    Args:
        root: data directory (default ``EDGEMNIST_DATA`` or the user cache).
        mirror: URL or local directory tried before the canonical mirrors
            (default ``EDGEMNIST_MNIST_MIRROR``).
        force: re-fetch even if a verified copy exists.
        on_event: called with a short message per step (for progress output).

    Returns:
        One :class:`FileStatus` per file.

    Raises:
        DownloadError: no mirror delivered a verified copy of some file.
    """
    root = Path(root) if root else default_data_dir()
    mirror = mirror or os.environ.get("EDGEMNIST_MNIST_MIRROR") or None
    say = on_event or (lambda _msg: None)
    mirrors = ([mirror] if mirror else []) + MIRRORS
    results = []
    for spec in FILES.values():
        existing = None if force else _local_path(root, spec.name)
        if existing is not None:
            try:
                _, md5 = verify_bytes(spec, existing.read_bytes(), str(existing))
                results.append(FileStatus(spec.name, existing, True, md5))
                say(f"{spec.name}: present and verified")
                continue
            except DataError as exc:
                say(f"{exc}; fetching again")
        failures = []
        for m in mirrors:
            try:
                say(f"{spec.name}: fetching from {m}")
                blob = _fetch(m, spec.name)
                _, md5 = verify_bytes(spec, blob, f"{m} {spec.name}")
            # HTTPException: a truncated or malformed HTTP response (IncompleteRead) is not an
            # OSError, yet it is just another failed mirror.
            except (
                DataError,
                OSError,
                urllib.error.URLError,
                ValueError,
                http.client.HTTPException,
            ) as exc:
                reason = getattr(exc, "reason", None) or exc
                failures.append(f"{m}: {reason}")
                continue
            is_gz = blob[:2] == b"\x1f\x8b"
            dest = root / (spec.name + (".gz" if is_gz else ""))
            atomic.write_bytes(dest, blob)
            other = root / (spec.name if is_gz else spec.name + ".gz")
            if other.exists():  # a stale copy in the other form would shadow or confuse
                other.unlink()
            results.append(FileStatus(spec.name, dest, True, md5, source=m))
            say(f"{spec.name}: verified (sha256 ok, published gz md5 {'ok' if md5 else 'differs'})")
            break
        else:
            raise DownloadError(
                f"could not get {spec.name} from any mirror ({'; '.join(failures)}); "
                "pass --mirror URL|DIR or set EDGEMNIST_MNIST_MIRROR"
            )
    return results


def missing_files(root: Optional[Path] = None) -> List[str]:
    """Names of the MNIST files not present in ``root`` (presence only; loading verifies)."""
    root = Path(root) if root else default_data_dir()
    return [name for name in FILES if _local_path(root, name) is None]


def ensure(root: Optional[Path] = None, on_event: Optional[Callable[[str], None]] = None) -> Path:
    """Fetch and verify the MNIST files missing from ``root`` (nothing to do when all are there).

    ``train`` and ``pipeline`` call this, so a fresh machine needs no separate
    ``edgemnist data download``; the mirror order and ``EDGEMNIST_MNIST_MIRROR`` are those of
    :func:`download`.

    Returns:
        The data directory.

    Raises:
        DownloadError: no mirror delivered a verified copy (the message names the mirrors).
    """
    root = Path(root) if root else default_data_dir()
    missing = missing_files(root)
    if missing:
        say = on_event or (lambda _msg: None)
        say(f"MNIST is not in {root} ({len(missing)} of {len(FILES)} files missing): fetching it")
        download(root, on_event=on_event)
    return root


def load_test_set(
    limit: Optional[int] = None, root: Optional[Path] = None, fetch: bool = False
) -> Tuple[np.ndarray, np.ndarray]:
    """The MNIST test split, first ``limit`` images: ``(uint8 (N, 28, 28), labels (N,))``.

    Args:
        limit: keep the first ``limit`` images (None: all 10 000).
        root: data directory (default ``EDGEMNIST_DATA`` or the user cache).
        fetch: download (and verify) missing files first instead of failing.

    Raises:
        DataError: MNIST is not there and ``fetch`` is off (the message says how to get it).
    """
    if fetch:
        ensure(root)
    images, labels = load_split("test", root)
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    return images, labels


def load_split(split: str, root: Optional[Path] = None) -> Tuple[np.ndarray, np.ndarray]:
    """Load a verified split as ``(images uint8 (N, 28, 28), labels uint8 (N,))``.

    Raises:
        DataError: files missing, corrupt, or not matching their checksums.
    """
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}: use one of {', '.join(SPLITS)}")
    root = Path(root) if root else default_data_dir()
    arrays = []
    for name in SPLITS[split]:
        spec = FILES[name]
        path = _local_path(root, name)
        if path is None:
            raise DataError(
                f"MNIST file {name} not found in {root}: run `edgemnist data download` "
                "(or set EDGEMNIST_DATA to the directory that holds it)"
            )
        content = read_bytes(path)
        digest = hashlib.sha256(content).hexdigest()
        if digest != spec.sha256:
            raise DataError(
                f"{path}: checksum mismatch (content sha256 {digest[:12]}…); delete it and run "
                "`edgemnist data download`"
            )
        arr = parse(content, name=str(path))
        if arr.shape != spec.shape:
            raise DataError(f"{path}: shape {arr.shape}, expected {spec.shape}")
        arrays.append(arr)
    images, labels = arrays
    return images, labels


def copy_tree(src: Path, dst: Path) -> None:
    """Copy verified files from one data directory to another (used by tests)."""
    dst.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        p = _local_path(src, name)
        if p is not None:
            shutil.copy2(p, dst / p.name)
