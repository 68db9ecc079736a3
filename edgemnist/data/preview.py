"""Labelled PNG grids of digits (data previews, misclassified-digit grids), drawn with OpenCV.

Example:
    >>> titles = [f"True {t}/Pred {p}" for t, p in pairs]  # doctest: +SKIP
    >>> png = grid_png(images[:25], titles, cols=5)  # doctest: +SKIP
    >>> write_grid("errors.png", images[:25], titles, cols=5)  # doctest: +SKIP
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np

from edgemnist import atomic
from edgemnist.errors import InputError

_BACKGROUND = 255  # white page, digits keep MNIST's white-on-black look
_GAP = 4  # pixels between cells


def grid_image(
    images: np.ndarray,
    titles: Optional[Sequence[str]] = None,
    cols: Optional[int] = None,
    scale: int = 3,
) -> np.ndarray:
    """Lay ``images`` out in a grid, each with an optional title above it.

    Args:
        images: uint8 (N, H, W) or (N, 1, H, W) digits.
        titles: one short string per image (``None``: no title strip).
        cols: cells per row (default: a square-ish grid).
        scale: integer upscaling per digit (nearest neighbour, so pixels stay visible).

    Returns:
        A greyscale uint8 image (H', W').
    """
    import cv2

    images = np.asarray(images)
    if images.ndim == 4 and images.shape[1] == 1:
        images = images[:, 0]
    if images.ndim != 3 or images.shape[0] == 0:
        raise InputError(f"grid expects a non-empty (N, H, W) image batch, got {images.shape}")
    if images.dtype != np.uint8:
        raise InputError(f"grid expects uint8 images, got {images.dtype}")
    if titles is not None and len(titles) != len(images):
        raise InputError(f"{len(titles)} titles for {len(images)} images")
    if scale < 1:
        raise InputError(f"scale must be >= 1, got {scale}")
    n, h, w = images.shape
    cols = max(1, min(cols or math.ceil(math.sqrt(n)), n))
    rows = math.ceil(n / cols)
    cell_w, cell_h = w * scale, h * scale

    font = cv2.FONT_HERSHEY_SIMPLEX
    font_scale, thickness, title_h = 0.0, 1, 0
    if titles:
        # One font size for the whole grid: the largest that fits the longest title in a cell.
        font_scale = 0.5
        longest = max(titles, key=len)
        while font_scale > 0.25:
            (tw, _), _ = cv2.getTextSize(longest, font, font_scale, thickness)
            if tw <= cell_w - 2:
                break
            font_scale -= 0.05
        (_, th), baseline = cv2.getTextSize("Tg", font, font_scale, thickness)
        title_h = th + baseline + 4

    page = np.full(
        (rows * (cell_h + title_h + _GAP) + _GAP, cols * (cell_w + _GAP) + _GAP),
        _BACKGROUND,
        np.uint8,
    )
    for i in range(n):
        r, c = divmod(i, cols)
        x0 = _GAP + c * (cell_w + _GAP)
        y0 = _GAP + r * (cell_h + title_h + _GAP)
        digit = cv2.resize(images[i], (cell_w, cell_h), interpolation=cv2.INTER_NEAREST)
        page[y0 + title_h : y0 + title_h + cell_h, x0 : x0 + cell_w] = digit
        if titles:
            cv2.putText(
                page,
                str(titles[i]),
                (x0 + 1, y0 + title_h - baseline - 2),
                font,
                font_scale,
                0,
                thickness,
                cv2.LINE_AA,
            )
    return page


def grid_png(
    images: np.ndarray,
    titles: Optional[Sequence[str]] = None,
    cols: Optional[int] = None,
    scale: int = 3,
) -> bytes:
    """PNG bytes of :func:`grid_image` (same arguments)."""
    import cv2

    ok, buf = cv2.imencode(".png", grid_image(images, titles, cols, scale))
    if not ok:  # pragma: no cover (imencode fails only on broken OpenCV builds)
        raise InputError("OpenCV could not encode the grid as PNG")
    return buf.tobytes()


def write_grid(
    path: Union[str, Path],
    images: np.ndarray,
    titles: Optional[Sequence[str]] = None,
    cols: Optional[int] = None,
    scale: int = 3,
) -> Path:
    """Write the grid PNG atomically to ``path`` and return the path."""
    return atomic.write_bytes(path, grid_png(images, titles, cols, scale))
