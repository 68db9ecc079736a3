"""The data that flows through the live pipeline: frames, boxes, reads, tracks.

Plain dataclasses shared by every stage, so sources, detection, tracking and sinks agree on one
shape. Boxes are ``(x, y, w, h)`` integers in source-frame pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

if TYPE_CHECKING:
    import numpy as np

#: ``(x, y, w, h)`` in source-frame pixels
Box = Tuple[int, int, int, int]


@dataclass
class Frame:
    """One captured frame.

    Attributes:
        image: BGR ``(H, W, 3)`` or gray ``(H, W)`` uint8.
        index: the source's own frame counter (0, 1, 2, ...; gaps mean frames were dropped).
        t_capture: ``time.monotonic()`` when the frame was captured (or read from a file).
        truth: ground truth when the source knows it (``synthetic://``): a list of
            ``{"box": [x, y, w, h], "digit": d}``; None otherwise.
    """

    image: np.ndarray
    index: int
    t_capture: float
    truth: Optional[List[Dict[str, Any]]] = None


@dataclass
class Detection:
    """A digit candidate found in a frame, before classification."""

    box: Box
    #: the crop handed to preparation, in source pixels: from ``detect_digits`` the ink's
    #: darkness below the local paper level (uint8, 0 = paper), so lighting is already removed
    crop: Optional[np.ndarray] = None
    #: bool mask over ``crop``: this digit's own ink (not a neighbour's, not specks)
    mask: Optional[np.ndarray] = None
    #: ``(x, y)`` of the crop's top-left corner in source-frame pixels
    origin: Optional[Tuple[int, int]] = None


@dataclass
class Read:
    """A classified detection in one frame."""

    box: Box
    #: best digit, or None when the confidence is below the unknown threshold
    digit: Optional[int]
    confidence: float
    #: track id once associated (set by the tracker)
    track: Optional[int] = None


@dataclass
class TrackState:
    """A digit followed across frames (associated by geometry, not by class)."""

    id: int
    box: Box
    #: voted digit (None until enough agreeing votes)
    digit: Optional[int]
    confidence: float
    #: True once the vote is stable: reported, saved once, counted in the reading
    stable: bool
    age: int = 0
    misses: int = 0
    votes: Dict[int, float] = field(default_factory=dict)
