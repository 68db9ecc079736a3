"""The calibration subset: seeded, class-balanced, drawn from the TRAIN split only.

Calibration must never see test images (the parity gate measures on them). The subset is
recorded in manifests by its size, seed and the SHA-256 of its sorted indices, so anyone can
check that two artifacts were calibrated on the same images.

Example:
    >>> import numpy as np
    >>> labels = np.repeat(np.arange(10, dtype=np.uint8), 50)
    >>> idx = balanced_indices(labels, size=100, seed=0)
    >>> len(idx), np.bincount(labels[idx]).tolist() == [10] * 10
    (100, True)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional

import numpy as np

from edgemnist.constants import NUM_CLASSES, normalize
from edgemnist.errors import ConfigError

DEFAULT_SIZE = 1000
DEFAULT_SEED = 0


def balanced_indices(
    labels: np.ndarray, size: int = DEFAULT_SIZE, seed: int = DEFAULT_SEED
) -> np.ndarray:
    """Pick ``size`` indices with (as near as possible) equal counts per class, reproducibly.

    Each class gets ``size // 10`` images; the remainder goes one each to the lowest classes.
    Within a class the choice is a seeded permutation, so the same (labels, size, seed) always
    gives the same subset.

    Args:
        labels: class labels of the pool (uint8, shape (N,)).
        size: number of images wanted (10 <= size <= len(labels)).
        seed: RNG seed.

    Returns:
        Sorted int64 indices into ``labels``.

    Raises:
        ConfigError: size out of range or a class has too few images.
    """
    labels = np.asarray(labels)
    if size < NUM_CLASSES or size > len(labels):
        raise ConfigError(
            f"calibration size {size} out of range: choose {NUM_CLASSES}..{len(labels)}"
        )
    rng = np.random.default_rng(seed)
    per_class = [
        size // NUM_CLASSES + (1 if c < size % NUM_CLASSES else 0) for c in range(NUM_CLASSES)
    ]
    chosen = []
    for cls, count in enumerate(per_class):
        pool = np.flatnonzero(labels == cls)
        if len(pool) < count:
            raise ConfigError(
                f"class {cls} has {len(pool)} training images, fewer than the {count} a "
                f"calibration set of {size} needs: choose a smaller --calib-size"
            )
        chosen.append(rng.permutation(pool)[:count])
    return np.sort(np.concatenate(chosen)).astype(np.int64)


def indices_sha256(indices: np.ndarray) -> str:
    """SHA-256 of the indices as little-endian int64 (independent of platform and dtype)."""
    return hashlib.sha256(np.asarray(indices, dtype="<i8").tobytes()).hexdigest()


@dataclass
class CalibrationSet:
    """Normalized calibration images and how they were chosen."""

    images: np.ndarray  # float32 (N, 1, 28, 28), normalized
    labels: np.ndarray  # uint8 (N,)
    indices: np.ndarray  # int64 indices into the train split
    seed: int

    @property
    def size(self) -> int:
        return int(len(self.indices))

    def record(self) -> Dict[str, Any]:
        """What a manifest stores about this subset."""
        return {
            "split": "train",
            "size": self.size,
            "seed": self.seed,
            "class_balanced": True,
            "indices_sha256": indices_sha256(self.indices),
        }


def load_calibration(
    size: int = DEFAULT_SIZE, seed: int = DEFAULT_SEED, root: Optional[Path] = None
) -> CalibrationSet:
    """Load the calibration subset from the MNIST train split.

    Args:
        size: number of images (default 1000, 100 per class).
        seed: RNG seed for the choice within each class.
        root: MNIST directory (default ``EDGEMNIST_DATA`` or the user cache).

    Returns:
        A :class:`CalibrationSet`.

    Raises:
        DataError: the train split is missing or corrupt.
        ConfigError: size out of range.
    """
    from edgemnist.data.mnist import load_split

    images, labels = load_split("train", root=root)
    idx = balanced_indices(labels, size=size, seed=seed)
    return CalibrationSet(normalize(images[idx]), labels[idx], idx, seed)
