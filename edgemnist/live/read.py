"""Read detected digits: MNIST preparation (shared with ``predict``) and one batched inference.

:func:`prepare_crops` turns each detection's ink crop into a 28x28 MNIST-style digit with
:func:`edgemnist.preprocess.ink_to_mnist`, the function ``predict`` uses for photos, so a digit
seen by the camera reaches the model prepared exactly like a digit in a file. Detection already
removed the lighting and found the digit's own ink, so none of ``prepare_digit``'s whole-image
steps (Otsu, polarity, component choice) run again per crop.

:func:`classify_batch` runs all digits of a frame in **one** ``runner.infer`` call; engines built
for a fixed or smaller batch get chunks instead (see :func:`batch_limit`). A digit whose best
class has a probability below ``threshold`` is reported as unknown (None).

Why 0.6 by default: below it no class has a clear majority of the softmax, the typical output
for a smudge, half a digit from a bad split or a digit the pen made ambiguous. It is
deliberately lenient: one frame's answer is only a vote, and the tracker (3 agreeing reads of
5) does the filtering. With the ``edge`` model on ``benchmarks/live_quality.py``'s default
stream 0.58 % of matched reads fell below it and stable reads were 99.39 % right; raise it to
trade misreads for unknowns.

Example:
    >>> reads = read_digits(runner, frame, detect_digits(frame))  # doctest: +SKIP
    >>> [(r.digit, round(r.confidence, 2)) for r in reads]  # doctest: +SKIP
    [(4, 1.0), (2, 0.97)]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, List, Optional, Sequence, Tuple

import numpy as np

from edgemnist.errors import InputError
from edgemnist.live.types import Detection, Read

if TYPE_CHECKING:
    from edgemnist.runners.base import Runner

#: best-class probability below which a read is "unknown" (see the module docstring)
UNKNOWN_BELOW = 0.6
#: longer side (px) a digit's crop is reduced to before preparation (3x MNIST's 20 px box)
CROP_SIDE = 60


def prepare_crop(image: Optional[np.ndarray], det: Detection) -> Optional[np.ndarray]:
    """One detection -> 28x28 uint8 MNIST-style digit, or None when no usable ink is there.

    Uses the detection's ink crop and mask when it has them (from
    :func:`~edgemnist.live.detect.detect_digits`); otherwise runs ``predict``'s full
    :func:`~edgemnist.preprocess.prepare_digit` on the box (with a margin) of ``image``.
    """
    from edgemnist.preprocess import MIN_CONTRAST, ink_to_mnist, prepare_digit

    try:
        if det.crop is not None and det.mask is not None and det.origin is not None:
            ox, oy = det.origin
            x, y, w, h = det.box
            ink, own = det.crop, det.mask
            bbox = (x - ox, y - oy, w, h)
            f = CROP_SIDE / max(w, h)
            if f < 1.0:
                # the digit ends up 20 px tall: 3x that in the source is plenty, and an
                # 8x smaller crop makes every step of the preparation 8x cheaper
                import cv2

                size = (max(1, round(ink.shape[1] * f)), max(1, round(ink.shape[0] * f)))
                ink = cv2.resize(ink, size, interpolation=cv2.INTER_AREA)
                own = (
                    cv2.resize(own.astype(np.uint8) * 255, size, interpolation=cv2.INTER_AREA)
                    >= 128
                )
                ys, xs = np.nonzero(own.any(axis=1))[0], np.nonzero(own.any(axis=0))[0]
                if ys.size == 0:
                    return None
                bbox = (int(xs[0]), int(ys[0]), int(xs[-1] - xs[0] + 1), int(ys[-1] - ys[0] + 1))
            # paper is what is not clearly ink; the digit's own ink always counts as ink
            mask = (ink > MIN_CONTRAST) | own
            digit, _ = ink_to_mnist(ink, mask, own, bbox)
            return digit
        if image is None:
            return None
        x, y, w, h = det.box
        m = max(2, int(0.2 * max(w, h)))
        H, W = image.shape[:2]
        region = image[max(0, y - m) : min(H, y + h + m), max(0, x - m) : min(W, x + w + m)]
        digit, _ = prepare_digit(region)
        return digit
    except InputError:
        return None


def prepare_crops(image: Optional[np.ndarray], detections: Sequence[Detection]) -> np.ndarray:
    """All detections of a frame -> ``(N, 28, 28)`` uint8 MNIST-style digits.

    Args:
        image: the frame (only used for detections without their own ink crop).
        detections: from :func:`~edgemnist.live.detect.detect_digits`.

    Returns:
        One 28x28 white-on-black digit per detection, in order; an all-zero image where no
        usable ink was found (:func:`classify_batch` reports those as unknown without running
        them).
    """
    out = np.zeros((len(detections), 28, 28), np.uint8)
    for i, det in enumerate(detections):
        digit = prepare_crop(image, det)
        if digit is not None:
            out[i] = digit
    return out


def batch_limit(runner: Runner) -> Tuple[Optional[int], bool]:
    """``(limit, fixed)``: the most digits one ``infer`` call may take (None: any), and
    whether the model takes exactly that batch (a static ONNX input) rather than up to it
    (a TensorRT profile's maximum)."""
    info = getattr(runner, "info", {}) or {}
    fixed = info.get("batch")
    if isinstance(fixed, int) and fixed > 0:
        return fixed, True
    top = info.get("max_batch") or getattr(runner, "max_batch", None)
    if isinstance(top, int) and top > 0:
        return top, False
    return None, False


def classify_batch(
    runner: Runner, digits: np.ndarray, threshold: float = UNKNOWN_BELOW
) -> List[Tuple[Optional[int], float]]:
    """Classify prepared digits in one batched call.

    Args:
        runner: a loaded runner (any backend).
        digits: ``(N, 28, 28)`` uint8 from :func:`prepare_crops`.
        threshold: best-class probability below which the answer is None (unknown).

    Returns:
        ``[(digit or None, confidence), ...]`` in input order; confidence is the best class's
        softmax probability. All-zero images (no usable ink) are ``(None, 0.0)`` and are not
        sent to the model.

    Notes:
        An engine limited to a smaller batch (batch-1 TensorRT plans) is run in chunks of its
        limit; a fixed-batch ONNX model gets its last chunk padded. Each chunk is one call.
    """
    from edgemnist.constants import normalize
    from edgemnist.predict import softmax

    digits = np.asarray(digits)
    if digits.ndim != 3 or digits.shape[1:] != (28, 28):
        raise InputError(f"digits have shape {digits.shape}, expected (N, 28, 28)")
    # all-zero images are detections without usable ink (see prepare_crops): unknown, unrun
    usable = np.nonzero(digits.reshape(len(digits), 28 * 28).any(axis=1))[0]
    answers: List[Tuple[Optional[int], float]] = [(None, 0.0)] * len(digits)
    n = len(usable)
    if n == 0:
        return answers
    x = normalize(digits[usable]).astype(np.float32)
    limit, fixed = batch_limit(runner)
    if limit is None or n <= limit and not fixed:
        logits = runner.infer(x)
    else:
        parts = []
        for start in range(0, n, limit):
            chunk = x[start : start + limit]
            k = len(chunk)
            if fixed and k < limit:
                chunk = np.concatenate(
                    [chunk, np.zeros((limit - k,) + chunk.shape[1:], chunk.dtype)]
                )
            parts.append(runner.infer(np.ascontiguousarray(chunk))[:k])
        logits = np.concatenate(parts)
    probs = softmax(logits)
    best = probs.argmax(axis=1)
    conf = probs[np.arange(n), best]
    for i, b, c in zip(usable.tolist(), best.tolist(), conf.tolist()):
        answers[i] = (int(b) if c >= threshold else None, float(c))
    return answers


def read_digits(
    runner: Runner,
    image: Optional[np.ndarray],
    detections: Sequence[Detection],
    threshold: float = UNKNOWN_BELOW,
    digits: Optional[np.ndarray] = None,
) -> List[Read]:
    """Prepare and classify every detection of a frame (one batched inference).

    Args:
        runner: a loaded runner.
        image: the frame the detections come from.
        detections: from :func:`~edgemnist.live.detect.detect_digits`.
        threshold: unknown below this confidence.
        digits: already prepared digits (from :func:`prepare_crops`), to time the stages
            apart; prepared here when None.

    Returns:
        One :class:`~edgemnist.live.types.Read` per detection, in order; detections without
        usable ink are unknown with confidence 0 and are not sent to the model.
    """
    if digits is None:
        digits = prepare_crops(image, detections)
    answers = classify_batch(runner, digits, threshold)
    return [
        Read(box=d.box, digit=digit, confidence=conf)
        for d, (digit, conf) in zip(detections, answers)
    ]
