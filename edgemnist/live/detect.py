"""Find every handwritten digit in a camera frame (device side: numpy + OpenCV, no torch).

The steps, and why each is there:

1. **Working resolution.** The frame (or ROI) is converted to gray and shrunk so its longer side
   is ``work_side`` px (320: a 640x480 frame is halved). Digits worth reading are >= 14 px tall,
   still >= 7 px there, and every later step costs a quarter.
2. **Paper level, locally.** The paper's brightness is estimated by a morphological *closing*
   (max then min filter) at a quarter of the working resolution, with a window wider than any
   pen stroke. A closing removes dark marks narrower than its window but follows lighting ramps,
   vignetting and the sharp edge of a shadow exactly, so ink is measured against the paper right
   next to it, not against a global threshold.
3. **Ink = darker than the local paper** by ``min_contrast`` gray levels *and* by
   ``rel_contrast`` of the paper's own level (paper-relative: the same ink on paper in shadow is
   darker in absolute terms, less in levels). Faint ruled lines and shading fall below it.
4. **Ruled lines removed**: ink that lies in a long horizontal run (a ``line_len_frac`` of the
   width, tolerant of a few degrees of roll) and is thin vertically is erased, so digits
   written on a line come loose from it; digit strokes crossing the line (long vertical runs)
   stay.
5. **Connected components**, then filters: specks (tiny), anything touching the frame/ROI edge
   (cut-off digits, page edges, a hand), taller than ``max_height_frac`` of the frame, long thin
   horizontal dashes, solid blobs (ink fill too high for pen strokes).
6. **Broken strokes merged**: a small piece above/below a larger one that overlaps it in x
   (the hat of a 5), or beside it with a tiny gap (a 4 drawn open), or inside its box, joins it.
7. **Touching digits split**: a group wider than ``split_aspect`` times its height is cut at the
   column-projection minimum in its middle (recursively, for three or more).
8. **Crops for reading**: each digit's ink (darkness below the local paper level, 0 = paper) and
   its own ink mask, in source pixels, go into the :class:`~edgemnist.live.types.Detection`;
   :mod:`edgemnist.live.read` turns them into MNIST digits with the same function ``predict``
   uses.

Example:
    >>> from edgemnist.live.detect import detect_digits
    >>> [d.box for d in detect_digits(frame)]  # doctest: +SKIP
    [(212, 180, 41, 66), (270, 176, 52, 70)]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

import numpy as np

from edgemnist.errors import InputError
from edgemnist.live.types import Box, Detection

if TYPE_CHECKING:
    pass


@dataclass
class DetectParams:
    """Detection settings. Sizes are fractions of the frame/ROI (so a 1280x720 camera behaves
    like a 640x480 one) with absolute floors in source pixels where resolution matters."""

    #: longer side of the working image in px: 320 halves 640x480 (speed) and still leaves a
    #: 14 px digit 7 px tall
    work_side: int = 320
    #: shortest digit ink worth reading, source px: below ~14 px a digit has too few pixels
    #: for a 20x20 MNIST box (and is usually noise, print or a speck cluster)
    min_height_px: int = 14
    #: tallest digit as a fraction of the frame/ROI height (bigger: the camera is too close,
    #: or it is a hand, a pen or a shadow)
    max_height_frac: float = 0.7
    #: ink must be at least this many gray levels darker than the paper around it
    min_contrast: int = 20
    #: ... and at least this fraction of the paper's level: pens and pencils are 40-80 %
    #: darker than paper, light-blue rules and soft shading 5-20 %
    rel_contrast: float = 0.25
    #: paper-level window as a fraction of the frame height: must exceed the widest pen
    #: stroke (~0.2 of the tallest digit)
    paper_window_frac: float = 0.14
    #: a ruled line is a horizontal run at least this fraction of the working width
    line_len_frac: float = 0.25
    #: ... no thicker than this in source px (rules are 1-3 px; digit strokes crossing the
    #: line are taller and survive)
    line_thick_px: int = 5
    #: ink fill of the box above which a shape is a blob (a thumb, a shadow, a sticker), not
    #: pen strokes (MNIST digits: 0.2-0.6; a bold 1 alone can be ~1, so thin shapes are exempt)
    max_fill: float = 0.8
    #: a dash, not a digit: wider than this times its height
    max_flat_aspect: float = 4.0
    #: a piece smaller than this fraction of the area of the piece it would join is a speck
    merge_min_area: float = 0.04
    #: pieces of one digit: gap at most this fraction of the larger piece's height
    merge_gap_frac: float = 0.25
    #: stacked pieces join only if the union is at most this many times taller than wide (one
    #: digit: up to ~2 unless it is a 1; two digits on two lines: 2.5 and more)
    merge_max_aspect: float = 2.2
    #: a group wider than this times its height holds touching digits: split it
    split_aspect: float = 1.3
    #: ... at a column holding at most this fraction of the group's median column ink (where
    #: two digits touch, one stroke crosses; inside most digits two or three do)
    split_neck: float = 0.6
    #: ignore components that touch the frame/ROI edge (cut-off digits, page edges, hands)
    reject_border: bool = True
    #: at most this many detections per frame (largest first): bounds the work on clutter
    max_detections: int = 32


def detect_digits(
    image: np.ndarray, roi: Optional[Box] = None, params: Optional[DetectParams] = None
) -> List[Detection]:
    """Find the handwritten digits in a frame.

    Args:
        image: BGR ``(H, W, 3)`` or gray ``(H, W)`` uint8 frame, dark ink on light paper.
        roi: ``(x, y, w, h)`` region to search, in frame pixels (clipped to the frame);
            None: the whole frame.
        params: detection settings (defaults suit 320x240 to 1920x1080 webcams).

    Returns:
        Detections, left to right, each with its box in frame pixels and the ink crop and mask
        that :func:`edgemnist.live.read.prepare_crops` turns into MNIST digits.

    Raises:
        InputError: not an image, or an ROI outside the frame.
    """
    import cv2

    p = params or DetectParams()
    gray = _gray(image, cv2)
    H, W = gray.shape
    rx, ry, rw, rh = _clip_roi(roi, W, H)
    region = gray[ry : ry + rh, rx : rx + rw]

    scale = min(1.0, p.work_side / max(rw, rh))
    if scale < 1.0:
        ww, wh = max(8, int(round(rw * scale))), max(8, int(round(rh * scale)))
        work = cv2.resize(region, (ww, wh), interpolation=cv2.INTER_AREA)
        scale = ww / rw
    else:
        work = region
    wh, ww = work.shape

    paper = _paper_level(work, p, cv2)
    ink = cv2.subtract(paper, work)
    mask = _ink_mask(ink, paper, p, cv2)
    mask = _remove_rules(mask, scale, p, cv2)

    # 16-bit labels: 3x faster than 32-bit in OpenCV 4/5, and a working image under 2^17
    # pixels cannot hold 2^16 components
    ltype = cv2.CV_16U if ww * wh < (1 << 17) else cv2.CV_32S
    n, labels, stats, _ = cv2.connectedComponentsWithStatsWithAlgorithm(
        mask, 8, ltype, cv2.CCL_DEFAULT
    )
    pieces = _filter_pieces(stats[1:], np.arange(1, n), ww, wh, scale, p)
    groups = _merge_pieces(pieces, p)
    groups = _size_filter(groups, labels, wh, scale, p)
    parts = _split_groups(groups, labels, p)
    parts.sort(key=lambda g: -g["area"])
    parts = parts[: p.max_detections]
    detections = []
    for g in parts:
        det = _crop(g, labels, gray, paper, scale, (rx, ry), p, cv2)
        if det is not None:
            detections.append(det)
    detections.sort(key=lambda d: (d.box[0], d.box[1]))
    return detections


# -- stages ----------------------------------------------------------------------------------
def _gray(image: np.ndarray, cv2: Any) -> np.ndarray:
    img = np.asarray(image)
    if img.dtype != np.uint8 or img.ndim not in (2, 3) or img.size == 0:
        raise InputError(f"frame must be uint8 (H, W) or (H, W, 3), got {img.dtype} {img.shape}")
    if img.ndim == 2:
        return img
    if img.shape[2] == 3:
        return cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    if img.shape[2] == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2GRAY)
    if img.shape[2] == 1:
        return img[:, :, 0]
    raise InputError(f"frame has {img.shape[2]} channels: expected 1, 3 or 4")


def _clip_roi(roi: Optional[Box], W: int, H: int) -> Tuple[int, int, int, int]:
    if roi is None:
        return 0, 0, W, H
    x, y, w, h = (int(v) for v in roi)
    x0, y0, x1, y1 = max(0, x), max(0, y), min(W, x + w), min(H, y + h)
    if x1 - x0 < 16 or y1 - y0 < 16:
        raise InputError(
            f"ROI {list(roi)} leaves {max(0, x1 - x0)}x{max(0, y1 - y0)} px of the {W}x{H} "
            "frame: give x,y,w,h inside the frame, at least 16x16"
        )
    return x0, y0, x1 - x0, y1 - y0


def _paper_level(work: np.ndarray, p: DetectParams, cv2: Any) -> np.ndarray:
    """The paper's brightness at every pixel: a closing at quarter resolution, scaled back."""
    wh, ww = work.shape
    f = 4
    small = cv2.resize(work, (max(4, ww // f), max(4, wh // f)), interpolation=cv2.INTER_AREA)
    k = max(3, int(round(p.paper_window_frac * wh / f)) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (k, k))
    closed = cv2.morphologyEx(small, cv2.MORPH_CLOSE, kernel, borderType=cv2.BORDER_REPLICATE)
    # a small blur so the upsampled level has no block edges
    closed = cv2.blur(closed, (3, 3))
    paper = cv2.resize(closed, (ww, wh), interpolation=cv2.INTER_LINEAR)
    # the paper is never darker than the pixel itself (keeps ink >= 0 at bright spots)
    return cv2.max(paper, work)


def _ink_mask(ink: np.ndarray, paper: np.ndarray, p: DetectParams, cv2: Any) -> np.ndarray:
    """Pixels darker than the paper by ``min_contrast`` levels and ``rel_contrast`` of it."""
    need = cv2.max(cv2.multiply(paper, np.array([p.rel_contrast]), dtype=cv2.CV_8U), p.min_contrast)
    mask = cv2.compare(ink, need, cv2.CMP_GT)
    return mask


def _remove_rules(mask: np.ndarray, scale: float, p: DetectParams, cv2: Any) -> np.ndarray:
    """Erase ruled lines: long horizontal runs (after a vertical dilation, so a line rolled a
    few degrees stays one run) made of pixels with short vertical runs."""
    wh, ww = mask.shape
    length = max(15, int(p.line_len_frac * ww))
    thick = max(2, int(round(p.line_thick_px * scale)))
    # the band a rolled line wanders in: +-(thick + 2) px keeps a line rolled ~5 degrees one run
    band = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_RECT, (1, 2 * thick + 5)))
    runs = cv2.morphologyEx(
        band, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (length, 1))
    )
    if not runs.any():
        return mask
    tall = cv2.morphologyEx(
        mask, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, thick + 2))
    )
    line = cv2.bitwise_and(runs, cv2.bitwise_not(tall))
    return cv2.bitwise_and(mask, cv2.bitwise_not(line))


def _filter_pieces(
    stats: np.ndarray, ids: np.ndarray, ww: int, wh: int, scale: float, p: DetectParams
) -> List[Dict[str, Any]]:
    """Components that could be (part of) a digit, as dicts; vectorized first, clutter is many."""
    if stats.size == 0:
        return []
    x, y, w, h, area = (stats[:, i] for i in range(5))
    keep = area >= 3  # single noisy pixels
    if p.reject_border:
        keep &= (x > 0) & (y > 0) & (x + w < ww) & (y + h < wh)
    keep &= h <= p.max_height_frac * wh
    keep &= w <= 0.95 * ww
    keep &= w <= p.max_flat_aspect * np.maximum(h, 1) * 2  # groups are checked again below
    out: List[Dict[str, Any]] = []
    for i in np.nonzero(keep)[0]:
        out.append(
            {
                "labels": [int(ids[i])],
                "x": int(x[i]),
                "y": int(y[i]),
                "w": int(w[i]),
                "h": int(h[i]),
                "area": int(area[i]),
            }
        )
    out.sort(key=lambda c: -int(c["area"]))
    return out[: 4 * p.max_detections]


def _union(a: Dict[str, Any], b: Dict[str, Any]) -> Dict[str, Any]:
    x0, y0 = min(a["x"], b["x"]), min(a["y"], b["y"])
    x1 = max(a["x"] + a["w"], b["x"] + b["w"])
    y1 = max(a["y"] + a["h"], b["y"] + b["h"])
    return {
        "labels": a["labels"] + b["labels"],
        "x": x0,
        "y": y0,
        "w": x1 - x0,
        "h": y1 - y0,
        "area": a["area"] + b["area"],
    }


def _belongs(piece: Dict[str, Any], main: Dict[str, Any], p: DetectParams) -> bool:
    """Is ``piece`` (smaller) a broken-off stroke of the digit ``main``?"""
    if piece["area"] < p.merge_min_area * main["area"]:
        return False
    px0, px1 = piece["x"], piece["x"] + piece["w"]
    py0, py1 = piece["y"], piece["y"] + piece["h"]
    mx0, mx1 = main["x"], main["x"] + main["w"]
    my0, my1 = main["y"], main["y"] + main["h"]
    cx, cy = (px0 + px1) / 2, (py0 + py1) / 2
    if mx0 <= cx <= mx1 and my0 <= cy <= my1:
        return True  # inside the main box: a broken 0, 8, 6
    uw = max(px1, mx1) - min(px0, mx0)
    uh = max(py1, my1) - min(py0, my0)
    x_overlap = min(px1, mx1) - max(px0, mx0)
    y_overlap = min(py1, my1) - max(py0, my0)
    x_gap = max(px0 - mx1, mx0 - px1, 0)
    y_gap = max(py0 - my1, my0 - py1, 0)
    reach = max(1.0, p.merge_gap_frac * max(main["h"], piece["h"]))
    small = piece["area"] <= 0.35 * main["area"]
    if (x_overlap >= 0.5 * min(piece["w"], main["w"]) or small and x_overlap > 0) and (
        y_gap <= reach
    ):
        # stacked (the hat of a 5, a faint stroke broken in two): the union must still be
        # shaped like one digit; two digits on two lines make a union twice as tall as wide
        return uh <= p.merge_max_aspect * uw
    if piece["h"] > 0.75 * main["h"]:
        return False  # beside it and as tall: a digit of its own (11, 71)
    if y_overlap >= 0.5 * piece["h"] and x_gap <= 0.5 * reach:
        return uw <= 1.1 * uh  # beside, nearly touching: a 4 drawn open
    return False


def _merge_pieces(pieces: List[Dict[str, Any]], p: DetectParams) -> List[Dict[str, Any]]:
    """Join broken strokes to the largest nearby piece; pieces come largest first."""
    groups: List[Dict[str, Any]] = []
    for piece in pieces:
        best = None
        for i, g in enumerate(groups):
            if _belongs(piece, g, p):
                best = i
                break
        if best is None:
            groups.append(dict(piece))
        else:
            groups[best] = _union(groups[best], piece)
    return groups


def _size_filter(
    groups: List[Dict[str, Any]], labels: np.ndarray, wh: int, scale: float, p: DetectParams
) -> List[Dict[str, Any]]:
    """Drop groups too small, too tall, flat like a dash, or solid like a blob."""
    min_h = max(4.0, p.min_height_px * scale)
    out = []
    for g in groups:
        w, h = g["w"], g["h"]
        if h < min_h or h > p.max_height_frac * wh:
            continue
        if w > p.max_flat_aspect * h and w < 2.5 * p.split_aspect * h:
            continue  # a dash or an underline (touching runs of digits are split instead)
        if w > 6 * h:
            continue
        fill = g["area"] / float(w * h)
        if fill > p.max_fill and w > 0.4 * h:
            continue
        out.append(g)
    return out


def _split_groups(
    groups: List[Dict[str, Any]], labels: np.ndarray, p: DetectParams
) -> List[Dict[str, Any]]:
    """Cut groups wider than ``split_aspect`` x height at their thinnest middle column."""
    out: List[Dict[str, Any]] = []
    todo = list(groups)
    while todo:
        g = todo.pop()
        g.setdefault("cols", (g["x"], g["x"] + g["w"]))
        too_wide = g["w"] > p.split_aspect * g["h"] and g["w"] >= 8
        if not too_wide or g.get("unsplit") or len(out) > 4 * p.max_detections:
            out.append(g)
            continue
        x0, y0 = g["x"], g["y"]
        sub = labels[y0 : y0 + g["h"], x0 : x0 + g["w"]]
        sub = sub == g["labels"][0] if len(g["labels"]) == 1 else np.isin(sub, g["labels"])
        cols = sub.sum(axis=0).astype(np.float32)
        # n digits of about equal width: look for the cut near each 1/n of the width
        n = max(2, int(round(g["w"] / (0.75 * g["h"]))))
        lo, hi = int(g["w"] * (0.5 / n + 0.1)), int(g["w"] * (1 - 0.5 / n - 0.1)) + 1
        lo, hi = max(1, lo), min(g["w"] - 1, max(hi, lo + 1))
        # where two digits touch, the cut crosses one or two strokes, never three (the middle
        # of a wide 3 or 8). (A hole test would spare a wide 0, but touching digits close
        # holes of the same size between them.)
        starts = np.count_nonzero(np.diff(sub.astype(np.int8), axis=0) == 1, axis=0) + sub[0]
        allowed = np.where(starts[lo:hi] <= 2, cols[lo:hi], np.inf)
        cut = lo + int(np.argmin(allowed))
        halves = []
        for a, b in ((0, cut), (cut, g["w"])):
            part = sub[:, a:b]
            ys = np.nonzero(part.any(axis=1))[0]
            xs = np.nonzero(part.any(axis=0))[0]
            if ys.size == 0:
                break
            halves.append(
                {
                    "labels": g["labels"],
                    "x": x0 + a + int(xs[0]),
                    "y": y0 + int(ys[0]),
                    "w": int(xs[-1] - xs[0] + 1),
                    "h": int(ys[-1] - ys[0] + 1),
                    "area": int(part.sum()),
                    "cols": (x0 + a, x0 + b),
                    "split": True,
                }
            )
        # a real cut leaves two digit-sized parts at a thin neck; a wide 7 or 2 does not
        nonzero = cols[cols > 0]
        neck = bool(np.isfinite(allowed).any()) and nonzero.size > 0
        neck = neck and cols[cut] <= p.split_neck * float(np.median(nonzero))
        if len(halves) == 2 and neck and all(hf["h"] >= 0.55 * g["h"] for hf in halves):
            todo.extend(halves)
        else:
            g["unsplit"] = True
            out.append(g)
    return out


def _crop(
    g: Dict[str, Any],
    labels: np.ndarray,
    gray: np.ndarray,
    paper: np.ndarray,
    scale: float,
    origin: Tuple[int, int],
    p: DetectParams,
    cv2: Any,
) -> Optional[Detection]:
    """The digit's ink and mask at source resolution, and its tight box in frame pixels."""
    ox, oy = origin
    H, W = gray.shape
    wh, ww = labels.shape
    # the group's box in working pixels, with a margin for the anti-aliased rim
    m = max(2, int(0.15 * max(g["w"], g["h"])))
    c0, c1 = g["cols"]
    wx0, wx1 = max(0, max(g["x"] - m, c0 - 1)), min(ww, min(g["x"] + g["w"] + m, c1 + 1))
    wy0, wy1 = max(0, g["y"] - m), min(wh, g["y"] + g["h"] + m)
    # the same box in source pixels
    sx0, sx1 = ox + int(wx0 / scale), ox + min(W - ox, int(np.ceil(wx1 / scale)))
    sy0, sy1 = oy + int(wy0 / scale), oy + min(H - oy, int(np.ceil(wy1 / scale)))
    sx1, sy1 = min(sx1, W), min(sy1, H)
    cw, ch = sx1 - sx0, sy1 - sy0
    if cw < 2 or ch < 2:
        return None
    src = gray[sy0:sy1, sx0:sx1]
    sub = labels[wy0:wy1, wx0:wx1]
    own = sub == g["labels"][0] if len(g["labels"]) == 1 else np.isin(sub, g["labels"])
    if g.get("split"):
        own[:, : max(0, c0 - wx0)] = False
        own[:, max(0, c1 - wx0) :] = False
    if scale < 1.0:
        lvl = cv2.resize(paper[wy0:wy1, wx0:wx1], (cw, ch), interpolation=cv2.INTER_LINEAR)
        own = cv2.resize(own.astype(np.uint8), (cw, ch), interpolation=cv2.INTER_NEAREST)
        # working pixels are coarse: let the mask reach the stroke edges at full resolution
        k = int(np.ceil(1 / scale)) | 1
        own = cv2.dilate(own, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    else:
        lvl = paper[wy0:wy1, wx0:wx1]
        own = own.astype(np.uint8)
    ink = cv2.subtract(lvl, src)
    # one threshold for the crop: the paper level varies little across one digit
    need = max(float(p.min_contrast), p.rel_contrast * float(lvl.mean()))
    keep = (ink > need) & (own > 0)
    ys = np.nonzero(keep.any(axis=1))[0]
    xs = np.nonzero(keep.any(axis=0))[0]
    if ys.size == 0:
        return None
    box = (sx0 + int(xs[0]), sy0 + int(ys[0]), int(xs[-1] - xs[0] + 1), int(ys[-1] - ys[0] + 1))
    return Detection(box=box, crop=ink, mask=keep, origin=(sx0, sy0))
