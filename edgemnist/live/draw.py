"""Annotate a frame: boxes, digits, confidences, stable vs tentative, a status line.

Colours (BGR): a stable digit is a thick green box with its voted digit; a tentative one (its
track has not settled yet) a thin yellow box with this frame's read and a ``?``; an unknown read
(confidence under the threshold) a thin red box marked ``?``. The status line at the top shows
FPS, processing time, frame age, drops and the reading; when the source is not delivering (a
camera lost and being reopened) a red banner says so.

Only called when someone needs pixels (a window, a connected web viewer, ``--record``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Dict, Optional, Sequence

from edgemnist.live.types import Box, Read, TrackState

if TYPE_CHECKING:
    import numpy as np

STABLE = (60, 200, 60)
TENTATIVE = (0, 210, 255)
UNKNOWN = (60, 60, 230)
ROI = (255, 160, 0)
BAR = (25, 25, 25)
ALERT = (30, 30, 200)
WHITE = (255, 255, 255)


def draw_frame(
    image: np.ndarray,
    reads: Sequence[Read],
    tracks: Sequence[TrackState] = (),
    status: str = "",
    alert: Optional[str] = None,
    roi: Optional[Box] = None,
) -> np.ndarray:
    """A BGR copy of ``image`` with every read boxed and labelled, and the status on top.

    Args:
        image: the source frame, BGR ``(H, W, 3)`` or gray ``(H, W)`` uint8 (not modified).
        reads: this frame's classified detections (``track`` ids set by the tracker).
        tracks: the tracker's states: a read whose track is stable shows the voted digit.
        status: one line of text for the top bar (empty: no bar).
        alert: a red banner under the bar (e.g. ``"camera lost - reconnecting (attempt 3)"``).
        roi: the region of interest to outline, if any.

    Returns:
        The annotated BGR image.
    """
    import cv2

    out = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image.copy()
    by_id: Dict[int, TrackState] = {t.id: t for t in tracks}
    if roi is not None:
        x, y, w, h = roi
        cv2.rectangle(out, (x, y), (x + w - 1, y + h - 1), ROI, 1)
    for read in reads:
        track = by_id.get(read.track) if read.track is not None else None
        _draw_read(out, read, track)
    top = 0
    if status:
        top = _bar(out, status, 0, BAR)
    if alert:
        _bar(out, alert, top, ALERT)
    return out


def _draw_read(out: np.ndarray, read: Read, track: Optional[TrackState]) -> None:
    import cv2

    x, y, w, h = (int(v) for v in read.box)
    if track is not None and track.stable and track.digit is not None:
        color, thick = STABLE, 2
        label = f"{track.digit} {track.confidence:.0%}"
    elif read.digit is None:
        color, thick = UNKNOWN, 1
        label = "?"
    else:
        color, thick = TENTATIVE, 1
        label = f"{read.digit}? {read.confidence:.0%}"
    cv2.rectangle(out, (x, y), (x + w - 1, y + h - 1), color, thick)
    scale = min(1.2, max(0.45, h / 70.0))
    (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    ty = y - 4 if y - th - base - 4 >= 0 else y + h + th + 4
    cv2.rectangle(out, (x, ty - th - 3), (x + tw + 4, ty + base - 1), color, -1)
    cv2.putText(
        out, label, (x + 2, ty - 1), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1, cv2.LINE_AA
    )


def _bar(out: np.ndarray, text: str, top: int, color: tuple) -> int:
    """A full-width bar at ``top`` with ``text``; returns the y below it."""
    import cv2

    scale = max(0.4, min(0.6, out.shape[1] / 1100.0))
    (_, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    bottom = top + th + base + 8
    cv2.rectangle(out, (0, top), (out.shape[1] - 1, bottom), color, -1)
    cv2.putText(
        out, text, (6, bottom - base - 3), cv2.FONT_HERSHEY_SIMPLEX, scale, WHITE, 1, cv2.LINE_AA
    )
    return bottom + 1


def status_line(stats: Dict[str, object], reading: str = "", dropped: Optional[int] = None) -> str:
    """The one-line live status: ``"30.0 FPS | proc 3.1 ms | age 14 ms | drop 2 | 4271"``.

    Args:
        stats: :meth:`edgemnist.live.stats.LiveStats.snapshot`.
        reading: the stable digits in reading order.
        dropped: frames the capture dropped (newer ones replaced them), if known.
    """
    parts = []
    fps = stats.get("fps")
    parts.append(f"{fps:.1f} FPS" if isinstance(fps, (int, float)) else "-- FPS")
    proc = stats.get("processing_ms_p50")
    if isinstance(proc, (int, float)):
        parts.append(f"proc {proc:.1f} ms")
    age = stats.get("age_ms_p50")
    if isinstance(age, (int, float)):
        parts.append(f"age {age:.0f} ms")
    if dropped is not None:
        parts.append(f"drop {dropped}")
    parts.append(f"read {reading}" if reading else "read -")
    return " | ".join(parts)
