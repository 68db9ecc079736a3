"""What is in a data directory: files and checksums, counts and class balance per split."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import numpy as np

from edgemnist.data import mnist
from edgemnist.data.idx import parse, read_bytes
from edgemnist.errors import DataError
from edgemnist.paths import data_dir as default_data_dir


def class_balance(labels: np.ndarray, num_classes: int = 10) -> Dict[str, Any]:
    """Counts and fractions per class, plus the smallest/largest class ratio.

    Example:
        >>> class_balance(np.array([0, 1, 1], np.uint8), 2)["counts"]
        [1, 2]
    """
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=num_classes)
    total = int(counts.sum())
    return {
        "counts": counts.tolist(),
        "fractions": [round(c / total, 4) if total else 0.0 for c in counts.tolist()],
        "min_max_ratio": round(float(counts.min()) / float(counts.max()), 4) if total else 0.0,
    }


def pixel_stats(images: np.ndarray) -> Tuple[float, float]:
    """Mean and standard deviation of uint8 pixels scaled to [0, 1] (cf. MNIST_MEAN/STD).

    A 256-bin histogram gives both exactly without a float copy of the images.
    """
    hist = np.bincount(np.asarray(images, dtype=np.uint8).ravel(), minlength=256)
    values = np.arange(256, dtype=np.float64) / 255.0
    total = hist.sum()
    if total == 0:
        return 0.0, 0.0
    mean = float(hist @ values / total)
    var = float(hist @ (values - mean) ** 2 / total)
    return mean, var**0.5


def dataset_info(root: Optional[Path] = None) -> Dict[str, Any]:
    """Describe the MNIST files in ``root``, verifying each one.

    Args:
        root: data directory (default ``EDGEMNIST_DATA`` or the user cache).

    Returns:
        ``{"data_dir", "files": {name: {path, bytes, sha256, sha256_ok}},
        "splits": {split: {count, class_balance, pixel_mean, pixel_std}}}``.

    Raises:
        DataError: a file is missing, corrupt, mismatched, or images and labels disagree.
    """
    root = Path(root) if root else default_data_dir()
    files: Dict[str, Any] = {}
    arrays: Dict[str, np.ndarray] = {}
    for name, spec in mnist.FILES.items():
        path = mnist._local_path(root, name)
        if path is None:
            raise DataError(f"MNIST file {name} not found in {root}: run `edgemnist data download`")
        content = read_bytes(path)
        digest = hashlib.sha256(content).hexdigest()
        arr = parse(content, name=str(path))
        if digest != spec.sha256:
            raise DataError(
                f"{path}: checksum mismatch (content sha256 {digest[:12]}…, expected "
                f"{spec.sha256[:12]}…); delete it and run `edgemnist data download`"
            )
        files[name] = {
            "path": str(path),
            "bytes": path.stat().st_size,
            "sha256": digest,
            "sha256_ok": True,
        }
        arrays[name] = arr
    splits: Dict[str, Any] = {}
    for split, (img_name, lbl_name) in mnist.SPLITS.items():
        images, labels = arrays[img_name], arrays[lbl_name]
        if len(images) != len(labels):
            raise DataError(f"{split}: {len(images)} images but {len(labels)} labels in {root}")
        mean, std = pixel_stats(images)
        splits[split] = {
            "count": int(len(labels)),
            "class_balance": class_balance(labels),
            "pixel_mean": round(mean, 4),
            "pixel_std": round(std, 4),
        }
    return {"data_dir": str(root), "files": files, "splits": splits}
