"""Photo or scan of one handwritten digit -> an MNIST-style 28x28 image (device side).

MNIST's own preparation (LeCun, Bottou, Bengio, Haffner 1998): each digit was size-normalized
to fit a 20x20 box keeping its aspect ratio, anti-aliased (so it has gray levels), and placed in
a 28x28 field so that its centre of mass sits at the centre. :func:`prepare_digit` repeats that
on a real picture: grayscale, light denoise, Otsu threshold with the polarity detected from the
border (paper is light, MNIST ink is light on black), keep the largest plausible ink
component(s), crop, fit into 20x20 with area interpolation, centre by centre of mass.

:func:`prepare_digit` is pure (array in, array out); its last step, :func:`ink_to_mnist`
(chosen ink -> fitted, centred 28x28), is shared with the camera mode
(:mod:`edgemnist.live.read`), which finds each digit's ink in a frame its own way and then
prepares it exactly like a photo. :func:`load_image` reads a file. numpy and OpenCV are
imported inside the functions.

Example:
    >>> from edgemnist.preprocess import load_image, prepare_digit
    >>> digit, info = prepare_digit(load_image("seven.jpg"))  # doctest: +SKIP
    >>> digit.shape, digit.dtype  # doctest: +SKIP
    ((28, 28), dtype('uint8'))
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Tuple, Union

from edgemnist.errors import DependencyMissing, InputError

if TYPE_CHECKING:
    import numpy as np

#: MNIST geometry: the digit's longer side is 20 px, its centre of mass at (14, 14) in the
#: 28x28 field (measured on the training set: mean (14.00, 14.01) in pixel-index coordinates)
BOX = 20
FIELD = 28
CENTRE = 14.0
#: pictures are shrunk to this longer side first: enough for a digit, fast on a Pi
MAX_SIDE = 1600
#: ink must differ from paper by this many gray levels (of 255)
MIN_CONTRAST = 24
#: fraction of stroke pixels that end up saturated at 255 (MNIST: about 38 % of ink pixels)
SATURATED_FRACTION = 0.4
#: gray level (of 255) below which a pixel next to a stroke counts as paper noise, not rim
RIM_LEVEL = 32.0
#: MNIST stroke width in 20x20-box pixels (2 x area / perimeter, test set): median 2.2,
#: 1st percentile 1.2; thinner strokes are thickened to the median
MNIST_STROKE = 2.2
THIN_STROKE = 1.2


def _cv2() -> Any:
    try:
        import cv2
    except ImportError:
        raise DependencyMissing("opencv-python", extra="cv", purpose="reading images") from None
    return cv2


def load_image(path: Union[str, Path]) -> np.ndarray:
    """Read an image file as an array (gray, BGR or BGRA; 8 or 16 bit), as stored.

    Raises:
        InputError: the file is missing or is not an image OpenCV can decode.
    """
    import numpy as np

    cv2 = _cv2()
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such image file")
    # imdecode instead of imread: imread fails silently on some non-ASCII paths
    img = cv2.imdecode(np.fromfile(str(path), dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if img is None or img.size == 0:
        raise InputError(f"{path}: not a readable image (use PNG, JPEG, BMP or TIFF)")
    return img


def to_gray(image: np.ndarray) -> np.ndarray:
    """Any image array -> 2-D uint8 gray. Transparent pixels count as white paper.

    Raises:
        InputError: not an image-shaped array.
    """
    import numpy as np

    cv2 = _cv2()
    img = np.asarray(image)
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[2] not in (3, 4)) or img.size == 0:
        raise InputError(f"image array has shape {img.shape}: expected (H, W), (H, W, 3) or 4")
    if img.dtype != np.uint8:
        if np.issubdtype(img.dtype, np.floating):
            top = 1.0 if float(np.nanmax(img)) <= 1.0 else 255.0
            img = np.clip(np.nan_to_num(img) * (255.0 / top), 0, 255).astype(np.uint8)
        elif img.dtype == np.uint16:
            img = (img // 257).astype(np.uint8)
        else:
            img = np.clip(img, 0, 255).astype(np.uint8)
    if img.ndim == 2:
        return np.ascontiguousarray(img)
    if img.shape[2] == 4:
        alpha = img[:, :, 3:4].astype(np.float32) / 255.0
        rgb = img[:, :, :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
        img = rgb.round().astype(np.uint8)
    return cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)


def prepare_digit(image: np.ndarray) -> Tuple[np.ndarray, Dict[str, Any]]:
    """A picture of one handwritten digit -> a 28x28 uint8 MNIST-style image and a report.

    Args:
        image: gray ``(H, W)``, BGR ``(H, W, 3)`` or BGRA array of any size; dark ink on light
            paper or light on dark.

    Returns:
        ``(digit, info)``: ``digit`` is white-on-black 28x28 uint8 with the digit fitted into
        20x20 and its centre of mass at the centre; ``info`` has the polarity, Otsu threshold,
        contrast, bounding box in the input's pixels ``[x, y, w, h]``, number of ink components
        kept and the scale used.

    Raises:
        InputError: the image is too small, or no ink stands out from the paper.
    """
    import numpy as np

    cv2 = _cv2()
    gray = to_gray(image)
    h0, w0 = gray.shape
    if min(h0, w0) < 8:
        raise InputError(f"image is {w0}x{h0} px: too small to hold a digit (need 8x8 or more)")
    shrink = min(1.0, MAX_SIDE / max(h0, w0))
    if shrink < 1.0:
        gray = cv2.resize(gray, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)
    if min(gray.shape) >= 48:
        gray = cv2.GaussianBlur(gray, (3, 3), 0)  # camera/JPEG noise; small images are clean

    border = np.concatenate([gray[:2].ravel(), gray[-2:].ravel(), gray[:, :2].ravel()])
    border = np.concatenate([border, gray[:, -2:].ravel()])
    threshold, _ = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    dark_ink = float(np.median(border)) > threshold
    ink = (255 - gray) if dark_ink else gray
    ink_threshold = (255.0 - threshold) if dark_ink else float(threshold)
    mask = ink > ink_threshold
    if not mask.any():
        raise InputError("no ink found: the image is blank (one flat gray level)")

    chosen, labels = _pick_components(mask)
    keep = np.isin(labels, [c["label"] for c in chosen])
    digit, fit = ink_to_mnist(ink, mask, keep, _union_bbox(chosen))
    info: Dict[str, Any] = {
        "polarity": "dark-on-light" if dark_ink else "light-on-dark",
        "threshold": float(threshold),
        "contrast": fit["contrast"],
        "bbox": [round(v / shrink) for v in fit["bbox"]],
        "components": len(chosen),
        "stroke_px": fit["stroke_px"],
        "scale": round(fit["scale"] * shrink, 4),
        "shift": fit["shift"],
        "input_size": [int(w0), int(h0)],
    }
    return digit, info


def ink_to_mnist(
    ink: np.ndarray, mask: np.ndarray, keep: np.ndarray, bbox: Tuple[int, int, int, int]
) -> Tuple[np.ndarray, Dict[str, Any]]:
    """The MNIST-style fit-and-centre shared by ``predict`` and ``live``: chosen ink -> 28x28.

    Both callers find the ink their own way (``prepare_digit``: Otsu on one photo;
    :mod:`edgemnist.live.detect`: paper-relative threshold on a frame) and then hand it here,
    so a digit read from a camera is prepared exactly like one read from a file.

    Args:
        ink: 2-D array where larger means more ink (``255 - gray`` for dark ink, or the
            darkness below the local paper level).
        mask: bool, every pixel above the ink threshold (what is not ink is paper).
        keep: bool, the digit's own ink (a subset of ``mask``).
        bbox: ``(x, y, w, h)`` of ``keep`` in ``ink``'s pixels.

    Returns:
        ``(digit, info)``: white-on-black 28x28 uint8, and ``contrast`` (ink minus paper in gray
        levels), ``bbox`` (the crop taken, rim included), ``stroke_px``, ``scale``, ``shift``.

    Raises:
        InputError: the ink is too faint (below ``MIN_CONTRAST``) or vanishes at 20x20.
    """
    levels, contrast, bbox, width = _ink_levels(ink, mask, keep, bbox)
    if contrast < MIN_CONTRAST:
        raise InputError(
            f"no ink found: the digit differs from the paper by {contrast:.0f} gray levels "
            f"(need {MIN_CONTRAST}); use a darker pen, more light or a plain background"
        )
    digit, scale, shift = _fit_and_centre(levels)
    return digit, {
        "contrast": round(float(contrast), 1),
        "bbox": list(bbox),
        "stroke_px": round(width, 2),
        "scale": scale,
        "shift": shift,
    }


def _pick_components(mask: np.ndarray) -> Tuple[List[Dict[str, Any]], np.ndarray]:
    """The digit's ink components: the largest, plus sizeable pieces close to it.

    Components touching the border count for a quarter of their area (page edges, shadows and
    fingers usually do); specks under 2 % of the main component's area are noise. Pieces of a
    broken stroke (the top bar of a 5) are kept when they lie near the main component.
    """
    import numpy as np

    cv2 = _cv2()
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    H, W = mask.shape
    comps = []
    for i in range(1, n):
        x, y, w, h, area = (int(v) for v in stats[i])
        touches = x == 0 or y == 0 or x + w == W or y + h == H
        comps.append(
            {
                "label": i,
                "x": x,
                "y": y,
                "w": w,
                "h": h,
                "area": area,
                "touches": int(touches),
                "rank": area * (0.25 if touches else 1.0),
            }
        )
    if not comps:
        raise InputError("no ink found: nothing stands out from the background")
    comps.sort(key=lambda c: c["rank"], reverse=True)
    main = comps[0]
    chosen = [main]
    for c in comps[1:]:
        if c["area"] < 0.02 * main["area"] or (c["touches"] and not main["touches"]):
            continue
        gx, gy, gw, gh = _union_bbox(chosen)
        reach = 0.35 * max(gw, gh)
        dx = max(gx - (c["x"] + c["w"]), c["x"] - (gx + gw), 0)
        dy = max(gy - (c["y"] + c["h"]), c["y"] - (gy + gh), 0)
        if dx <= reach and dy <= reach:
            chosen.append(c)
    return chosen, labels


def _union_bbox(comps: List[Dict[str, Any]]) -> Tuple[int, int, int, int]:
    """The smallest ``(x, y, w, h)`` holding every component's box."""
    x0 = min(c["x"] for c in comps)
    y0 = min(c["y"] for c in comps)
    x1 = max(c["x"] + c["w"] for c in comps)
    y1 = max(c["y"] + c["h"] for c in comps)
    return x0, y0, x1 - x0, y1 - y0


def _ink_levels(
    ink: np.ndarray, mask: np.ndarray, keep: np.ndarray, bbox: Tuple[int, int, int, int]
) -> Tuple[np.ndarray, float, Tuple[int, int, int, int], float]:
    """Crop the gray levels of the chosen ink: paper -> 0, stroke cores -> 255, edges between.

    The gray levels (not the binary mask) carry the anti-aliasing MNIST digits have. Paper
    level is measured around the digit, so uneven light across the page does not matter. The
    crop is the extent of all visible ink, anti-aliased rim included (MNIST's 20x20 box holds
    the whole rim), not just of the pixels above the threshold.

    Returns:
        ``(levels, contrast, bbox, width)``: float32 crop, ink-minus-paper in gray levels,
        the crop's ``(x, y, w, h)`` in ``ink``'s pixels, and the stroke width measured in
        20x20-box pixels (before any thickening).
    """
    import numpy as np

    cv2 = _cv2()
    x, y, w, h = bbox
    H, W = ink.shape
    m = max(2, int(0.15 * max(w, h)))
    ry0, ry1, rx0, rx1 = max(0, y - m), min(H, y + h + m), max(0, x - m), min(W, x + w + m)
    region = ink[ry0:ry1, rx0:rx1].astype(np.float32)
    keep = keep[ry0:ry1, rx0:rx1]
    around = region[~mask[ry0:ry1, rx0:rx1]]
    paper = _median(around) if around.size else 0.0
    stroke = _quantile(region[keep], 1 - SATURATED_FRACTION)
    contrast = stroke - paper
    if contrast <= 0:
        return np.zeros((1, 1), np.float32), contrast, bbox, 0.0
    levels = np.clip((region - paper) * (255.0 / contrast), 0, 255)
    # keep the anti-aliased rim just outside the threshold, drop other marks nearby
    k = max(3, (int(0.06 * max(w, h)) // 2) * 2 + 1)
    near = cv2.dilate(keep.astype(np.uint8), np.ones((k, k), np.uint8)).astype(bool)
    levels = levels * near
    width = stroke_width(keep) * BOX / max(w, h)
    if width < THIN_STROKE:
        # a fine pen on a big sheet: shrunk to 20x20 its strokes would fade to faint lines
        # that MNIST never has, so thicken them to MNIST's typical width first
        k = int(round((MNIST_STROKE - width) * max(w, h) / BOX)) + 1
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
        levels = cv2.dilate(levels, kernel)
    ys, xs = np.nonzero(levels >= RIM_LEVEL)
    if ys.size == 0:
        return np.zeros((1, 1), np.float32), 0.0, bbox, 0.0
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    crop = np.where(levels[y0:y1, x0:x1] >= RIM_LEVEL, levels[y0:y1, x0:x1], 0.0)
    return crop, contrast, (int(rx0 + x0), int(ry0 + y0), int(x1 - x0), int(y1 - y0)), width


def _median(values: np.ndarray) -> float:
    """``np.median`` of a 1-D array, bit for bit, without its generic overhead (~5x faster on
    the small crops the live camera prepares several of per frame)."""
    import numpy as np

    n = values.size
    half = n // 2
    if n % 2:
        return float(np.partition(values, half)[half])
    part = np.partition(values, (half - 1, half))
    return float(np.mean(part[half - 1 : half + 1]))


def _quantile(values: np.ndarray, q: float) -> float:
    """``np.percentile(values, 100 * q)`` (linear method) of a 1-D array, bit for bit."""
    import numpy as np

    pos = q * (values.size - 1)
    lo = int(np.floor(pos))
    hi = min(lo + 1, values.size - 1)
    part = np.partition(values, (lo, hi))
    a, b, t = part[lo], part[hi], pos - lo
    diff = b - a
    # numpy's _lerp: from the nearer end, so t = 1 gives b exactly
    return float(b - diff * (1 - t)) if t >= 0.5 else float(a + diff * t)


def stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width of a binary ink mask, in its pixels: 2 x area / perimeter.

    (A stroke of width w and length L has area w*L and perimeter about 2*L.)
    """
    import numpy as np

    cv2 = _cv2()
    m = mask.astype(np.uint8)
    contours, _ = cv2.findContours(m, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    perimeter = sum(cv2.arcLength(c, True) for c in contours)
    return 2.0 * float(m.sum()) / perimeter if perimeter > 0 else 0.0


def _fit_and_centre(levels: np.ndarray) -> Tuple[np.ndarray, float, List[int]]:
    """Fit into BOX x BOX keeping the aspect ratio, paste in FIELD x FIELD centred by mass."""
    import numpy as np

    cv2 = _cv2()
    h, w = levels.shape
    scale = BOX / max(h, w)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    small = cv2.resize(levels, (nw, nh), interpolation=interp)
    small = np.clip(small, 0, 255)
    total = float(small.sum())
    if total <= 0:
        raise InputError("no ink found: the digit vanished when scaled to 20x20")
    cy = float((small.sum(axis=1) * np.arange(nh)).sum() / total)
    cx = float((small.sum(axis=0) * np.arange(nw)).sum() / total)
    oy = int(np.clip(round(CENTRE - cy), 0, FIELD - nh))
    ox = int(np.clip(round(CENTRE - cx), 0, FIELD - nw))
    field = np.zeros((FIELD, FIELD), np.float32)
    field[oy : oy + nh, ox : ox + nw] = small
    return field.round().astype(np.uint8), scale, [oy, ox]
