"""Score a live stream against ground truth (``synthetic://`` knows where every digit is).

Per frame, truth boxes are matched one-to-one to detections and to stable tracks, best IoU
first, a pair counting when IoU >= 0.3 (the issue's rule: boxes of one digit drawn by two
people, or by a threshold at two gray levels, overlap far less than perfectly). From the matches:

- **detection recall**: matched truth digits / truth digits;
- **detection precision**: matched detections / detections (a ruled line, a speck or half a
  split digit reported as a digit is a false positive);
- **stable accuracy**: of the truth digits matched to a *stable* track in a frame, the share
  whose voted digit is right (the number the issue sets at >= 99 %);
- **stable coverage**: truth digits with a stable track / truth digits (a new sheet needs a few
  frames before its votes settle, so this is below recall by design);
- **single-frame accuracy**: of matched detections, the share read right in that frame alone
  (what voting improves on).

Example:
    >>> score = StreamScore()
    >>> score.add(truth, [d.box for d in detections], reads, tracks)  # doctest: +SKIP
    >>> score.summary()["recall"]  # doctest: +SKIP
    0.998
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

from edgemnist.live.track import greedy_pairs, iou
from edgemnist.live.types import Box, Read, TrackState

#: a detected box matches a truth box when their IoU is at least this
MATCH_IOU = 0.3


def match_boxes(
    truth: Sequence[Box], found: Sequence[Box], min_iou: float = MATCH_IOU
) -> List[Tuple[int, int]]:
    """One-to-one ``(truth index, found index)`` pairs, best IoU first, IoU >= ``min_iou``."""
    scored = [
        (o, i, j)
        for i, a in enumerate(truth)
        for j, b in enumerate(found)
        if (o := iou(tuple(a), tuple(b))) >= min_iou  # type: ignore[arg-type]
    ]
    return greedy_pairs(scored)


class StreamScore:
    """Accumulates per-frame matches; :meth:`summary` gives the rates."""

    def __init__(self, keep_errors: int = 50) -> None:
        self.frames = 0
        self.truth = 0
        self.detections = 0
        self.matched = 0
        self.read_scored = 0
        self.read_right = 0
        self.read_unknown = 0
        self.stable_matched = 0
        self.stable_right = 0
        self.keep_errors = keep_errors
        #: examples of what went wrong: misses, false positives, stable misreads
        self.errors: List[Dict[str, Any]] = []
        #: per truth digit id: the last stable answer seen for it
        self._final: Dict[Any, Tuple[int, Optional[int]]] = {}

    def _note(self, kind: str, frame: int, **facts: Any) -> None:
        if len(self.errors) < self.keep_errors:
            self.errors.append({"kind": kind, "frame": frame, **facts})

    def add(
        self,
        truth: Sequence[Dict[str, Any]],
        boxes: Sequence[Box],
        reads: Optional[Sequence[Read]] = None,
        tracks: Optional[Sequence[TrackState]] = None,
        frame: Optional[int] = None,
    ) -> None:
        """Score one frame.

        Args:
            truth: ``[{"box": [x, y, w, h], "digit": d, "id": ...}, ...]`` (``id`` optional:
                it names a digit across frames for the per-digit final answer).
            boxes: the detections' boxes.
            reads: the frame's reads (same order as ``boxes``), for single-frame accuracy.
            tracks: the tracks seen in this frame (:meth:`Tracker.update`'s result).
            frame: the frame number, for the error examples.
        """
        n = self.frames if frame is None else frame
        self.frames += 1
        tboxes = [tuple(t["box"]) for t in truth]
        self.truth += len(truth)
        self.detections += len(boxes)
        pairs = match_boxes(tboxes, boxes)  # type: ignore[arg-type]
        self.matched += len(pairs)
        hit_t = {i for i, _ in pairs}
        hit_f = {j for _, j in pairs}
        for i, t in enumerate(truth):
            if i not in hit_t:
                self._note("missed", n, box=list(t["box"]), digit=t["digit"])
        for j, b in enumerate(boxes):
            if j not in hit_f:
                self._note("false_positive", n, box=list(b))
        if reads is not None:
            self.read_scored += len(pairs)
            for i, j in pairs:
                if reads[j].digit == truth[i]["digit"]:
                    self.read_right += 1
                elif reads[j].digit is None:
                    self.read_unknown += 1
        if tracks is not None:
            stable = [t for t in tracks if t.stable and t.digit is not None]
            for i, j in match_boxes(tboxes, [t.box for t in stable]):  # type: ignore[arg-type]
                self.stable_matched += 1
                right = stable[j].digit == truth[i]["digit"]
                self.stable_right += int(right)
                if not right:
                    self._note(
                        "stable_misread",
                        n,
                        box=list(truth[i]["box"]),
                        digit=truth[i]["digit"],
                        read=stable[j].digit,
                        track=stable[j].id,
                    )
                if "id" in truth[i]:
                    self._final[truth[i]["id"]] = (truth[i]["digit"], stable[j].digit)

    def summary(self) -> Dict[str, Any]:
        """The rates (None where nothing was counted) and the raw counts."""

        def rate(a: int, b: int) -> Optional[float]:
            return round(a / b, 5) if b else None

        finals = list(self._final.values())
        return {
            "frames": self.frames,
            "truth_digits": self.truth,
            "detections": self.detections,
            "matched": self.matched,
            "recall": rate(self.matched, self.truth),
            "precision": rate(self.matched, self.detections),
            "single_frame_accuracy": rate(self.read_right, self.read_scored),
            "single_frame_unknown": rate(self.read_unknown, self.read_scored),
            "stable_matched": self.stable_matched,
            "stable_accuracy": rate(self.stable_right, self.stable_matched),
            "stable_coverage": rate(self.stable_matched, self.truth),
            "digits_on_sheets": len(finals),
            "final_answer_accuracy": rate(sum(d == r for d, r in finals), len(finals)),
        }
