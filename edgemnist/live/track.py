"""Stable answers: follow each digit across frames by geometry, vote on its class, read in order.

A single frame's answer flickers (motion blur, a shadow edge, a split that went wrong), so each
digit becomes a *track*:

- **Association by geometry, never by class**: a read continues the track whose predicted box
  (last box moved by the track's own velocity) it overlaps most (IoU), or, for fast motion,
  whose centre is nearest within a fraction of the box size. Pairs are taken greedily, best
  first; with digits that do not overlap each other this gives the same pairs as the Hungarian
  method at a fraction of the code. Tracks left over get a second chance after the median shift
  of the matched ones is applied (a camera jerk moves every digit alike).
- **Votes**: the last ``window`` reads of a track vote, each weighted by its confidence
  (unknown reads vote for nothing but take a place in the window). The digit is reported once
  it has ``min_votes`` agreeing reads in the window and at least ``min_share`` of the weight:
  3 of the last 5 at 30 fps is 100-170 ms, quick to a person and enough that a one-frame
  misread (1 of 5) can never win. A stable digit changes only when another one wins the same
  way, so a few blurred frames do not erase an answer.
  A stable digit contradicted by a confident read (``doubt_reads``, ``doubt_confidence``) is
  withdrawn and its votes forgotten until a digit wins again: a sheet swapped under a track
  reads ``?`` for a few frames, never the old digit.
- **Forgetting**: a track unseen for ``max_misses`` frames is dropped (10 frames = 1/3 s at
  30 fps: a pen or a hand passing over a digit does not restart its vote).

:func:`reading` puts the tracks in reading order: lines by vertical overlap (chained left to
right, so a tilted line stays one line), left to right in each line, lines top to bottom,
a space between lines and ``?`` for a digit not (yet) read.

Example:
    >>> tracker = Tracker()
    >>> tracks = tracker.update(reads, t=frame.t_capture)  # doctest: +SKIP
    >>> reading(tracks)  # doctest: +SKIP
    '1984 42'
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Deque, Dict, List, Optional, Protocol, Sequence, Tuple, TypeVar

from edgemnist.live.types import Box, Read, TrackState


@dataclass
class TrackParams:
    """Tracker settings (argued in the module docstring)."""

    #: a read continues a track when their boxes overlap at least this much (IoU) ...
    min_iou: float = 0.2
    #: ... or when its centre is within this fraction of the track box's diagonal
    max_centre_dist: float = 0.5
    #: reads that vote (the most recent ones)
    window: int = 5
    #: agreeing reads in the window before a digit is reported
    min_votes: int = 3
    #: share of the window's confidence weight the winner needs
    min_share: float = 0.5
    #: frames a track survives without a read
    max_misses: int = 10
    #: a read continues a track only if its width and height are within this ratio of the
    #: track's (a different digit put in the same place is a new track)
    min_size_ratio: float = 0.6
    #: a stable digit is withdrawn (unknown again, its votes forgotten) after this many reads
    #: in a row that confidently (>= ``doubt_confidence``) say one other digit: a confident
    #: contradiction is likelier a new digit in the same place than a misread
    doubt_reads: int = 1
    doubt_confidence: float = 0.75


class _Track:
    def __init__(self, tid: int, read: Read, t: float, window: int) -> None:
        self.id = tid
        self.box = read.box
        self.velocity = (0.0, 0.0)
        self.history: Deque[Tuple[Optional[int], float]] = deque(maxlen=window)
        self.digit: Optional[int] = None
        self.confidence = 0.0
        self.stable = False
        self.age = 0
        self.misses = 0
        self.t_seen = t
        self.votes: Dict[int, float] = {}

    def predicted(self) -> Box:
        x, y, w, h = self.box
        k = self.misses + 1
        return (int(round(x + self.velocity[0] * k)), int(round(y + self.velocity[1] * k)), w, h)

    def state(self) -> TrackState:
        return TrackState(
            id=self.id,
            box=self.box,
            digit=self.digit,
            confidence=self.confidence,
            stable=self.stable,
            age=self.age,
            misses=self.misses,
            votes=dict(self.votes),
        )


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two ``(x, y, w, h)`` boxes."""
    ix = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    iy = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    if ix <= 0 or iy <= 0:
        return 0.0
    inter = ix * iy
    return inter / float(a[2] * a[3] + b[2] * b[3] - inter)


def greedy_pairs(scored: List[Tuple[float, int, int]]) -> List[Tuple[int, int]]:
    """One-to-one ``(a, b)`` pairs from ``(score, a, b)`` candidates, highest score first."""
    used_a, used_b, pairs = set(), set(), []
    for _, a, b in sorted(scored, key=lambda s: -s[0]):
        if a not in used_a and b not in used_b:
            used_a.add(a)
            used_b.add(b)
            pairs.append((a, b))
    return pairs


def _similar(a: Box, b: Box, ratio: float) -> bool:
    """Widths and heights within ``ratio`` of each other (zoom changes little per frame)."""
    return min(a[2], b[2]) >= ratio * max(a[2], b[2]) and min(a[3], b[3]) >= ratio * max(a[3], b[3])


def _centre(b: Box) -> Tuple[float, float]:
    return b[0] + b[2] / 2.0, b[1] + b[3] / 2.0


class Tracker:
    """Follows digits across frames; see the module docstring.

    Args:
        params: settings; defaults suit 15-60 fps.
    """

    def __init__(self, params: Optional[TrackParams] = None) -> None:
        self.params = params or TrackParams()
        self._tracks: List[_Track] = []
        self._next_id = 1

    def reset(self) -> None:
        """Forget every track (a new scene, a reopened camera)."""
        self._tracks = []

    def update(self, reads: List[Read], t: float) -> List[TrackState]:
        """Add one frame's reads; sets each read's ``track`` and returns the live tracks.

        Args:
            reads: this frame's classified detections (boxes in frame pixels).
            t: the frame's time in seconds (capture timestamp).

        Returns:
            Every live track (``misses == 0``: seen in this frame), oldest first.
        """
        p = self.params
        pairs = self._associate(self._tracks, reads, shift=(0.0, 0.0))
        matched_t = {ti for ti, _ in pairs}
        matched_r = {ri for _, ri in pairs}
        if len(matched_t) < len(self._tracks) and len(matched_r) < len(reads) and pairs:
            # tracks not found where expected: try again moved like the matched ones
            dxs = sorted(
                _centre(reads[ri].box)[0] - _centre(self._tracks[ti].predicted())[0]
                for ti, ri in pairs
            )
            dys = sorted(
                _centre(reads[ri].box)[1] - _centre(self._tracks[ti].predicted())[1]
                for ti, ri in pairs
            )
            shift = (dxs[len(dxs) // 2], dys[len(dys) // 2])
            rest_t = [i for i in range(len(self._tracks)) if i not in matched_t]
            rest_r = [i for i in range(len(reads)) if i not in matched_r]
            more = self._associate(
                [self._tracks[i] for i in rest_t], [reads[i] for i in rest_r], shift=shift
            )
            pairs += [(rest_t[a], rest_r[b]) for a, b in more]
            matched_t = {ti for ti, _ in pairs}
            matched_r = {ri for _, ri in pairs}

        for ti, ri in pairs:
            self._observe(self._tracks[ti], reads[ri], t)
        for i, track in enumerate(self._tracks):
            if i not in matched_t:
                track.misses += 1
        for ri, read in enumerate(reads):
            if ri not in matched_r:
                track = _Track(self._next_id, read, t, p.window)
                self._next_id += 1
                self._observe(track, read, t)
                self._tracks.append(track)
        self._tracks = [tr for tr in self._tracks if tr.misses <= p.max_misses]
        return [tr.state() for tr in self._tracks if tr.misses == 0]

    def tracks(self) -> List[TrackState]:
        """Every track still kept, including those missed in recent frames."""
        return [tr.state() for tr in self._tracks]

    # -- internals ---------------------------------------------------------------------------
    def _associate(
        self, tracks: Sequence[_Track], reads: Sequence[Read], shift: Tuple[float, float]
    ) -> List[Tuple[int, int]]:
        """Greedy best-first pairs ``(track index, read index)`` by overlap, then distance."""
        p = self.params
        scored = []
        for ti, tr in enumerate(tracks):
            px, py, pw, ph = tr.predicted()
            pred = (int(round(px + shift[0])), int(round(py + shift[1])), pw, ph)
            cx, cy = _centre(pred)
            diag = (pw * pw + ph * ph) ** 0.5
            for ri, rd in enumerate(reads):
                # similar size too: a neighbour's or a new sheet's digit is not this one
                if not _similar(rd.box, pred, p.min_size_ratio):
                    continue
                o = iou(pred, rd.box)
                if o >= p.min_iou:
                    scored.append((1.0 + o, ti, ri))
                    continue
                rx, ry = _centre(rd.box)
                dist = ((rx - cx) ** 2 + (ry - cy) ** 2) ** 0.5
                if dist <= p.max_centre_dist * diag:
                    scored.append((1.0 - dist / (p.max_centre_dist * diag + 1e-9), ti, ri))
        return greedy_pairs(scored)

    def _observe(self, tr: _Track, read: Read, t: float) -> None:
        p = self.params
        if tr.age:
            (ox, oy), (nx, ny) = _centre(tr.box), _centre(read.box)
            k = tr.misses + 1
            vx, vy = (nx - ox) / k, (ny - oy) / k
            tr.velocity = (0.5 * tr.velocity[0] + 0.5 * vx, 0.5 * tr.velocity[1] + 0.5 * vy)
        tr.box = read.box
        tr.misses = 0
        tr.age += 1
        tr.t_seen = t
        read.track = tr.id
        tr.history.append((read.digit, float(read.confidence)))
        recent = list(tr.history)[-p.doubt_reads :]
        challenger = recent[0][0]
        if (
            tr.stable
            and len(recent) == p.doubt_reads
            and challenger not in (None, tr.digit)
            and all(d == challenger and c >= p.doubt_confidence for d, c in recent)
        ):
            # the paper changed under the track (or this is a rare confident misread): say
            # nothing until a digit wins a vote among the reads from here on
            tr.digit, tr.stable = None, False
            tr.history = deque(recent, maxlen=p.window)
        votes: Dict[int, float] = {}
        counts: Dict[int, int] = {}
        total = 0.0
        for d, c in tr.history:
            total += c
            if d is not None:
                votes[d] = votes.get(d, 0.0) + c
                counts[d] = counts.get(d, 0) + 1
        tr.votes = votes
        if not votes:
            return
        best = max(votes, key=lambda d: votes[d])
        if counts[best] >= p.min_votes and votes[best] >= p.min_share * total:
            tr.digit, tr.stable = best, True
        if tr.digit is not None:
            n = counts.get(tr.digit, 0)
            tr.confidence = votes.get(tr.digit, 0.0) / n if n else 0.0


class _Boxed(Protocol):
    box: Box


B = TypeVar("B", bound=_Boxed)


def reading_lines(items: Sequence[B]) -> List[List[B]]:
    """Anything with a ``box`` grouped into lines of text, in reading order.

    One rule for the reading string, the JSONL order and the view: a box joins the line whose
    last box it overlaps most vertically (at least half the smaller height), walking left to
    right, so a slightly tilted line stays one line; lines are sorted by their mean centre,
    boxes in a line left to right.
    """
    lines: List[List[B]] = []
    for it in sorted(items, key=lambda t: t.box[0]):
        y0, y1 = it.box[1], it.box[1] + it.box[3]
        best, best_overlap = None, 0.0
        for line in lines:
            last = line[-1]
            ly0, ly1 = last.box[1], last.box[1] + last.box[3]
            overlap = (min(y1, ly1) - max(y0, ly0)) / float(max(1, min(it.box[3], last.box[3])))
            if overlap > best_overlap:
                best, best_overlap = line, overlap
        if best is not None and best_overlap >= 0.5:
            best.append(it)
        else:
            lines.append([it])
    lines.sort(key=lambda line: sum(t.box[1] + t.box[3] / 2.0 for t in line) / len(line))
    return lines


def reading(tracks: Sequence[TrackState], unknown: str = "?") -> str:
    """The digits in reading order: lines top to bottom, left to right, lines split by a space.

    Args:
        tracks: usually :meth:`Tracker.update`'s result (the tracks seen in this frame).
        unknown: shown for a track whose digit is not stable yet.

    Returns:
        e.g. ``"1984 42"``; ``""`` without tracks. Tracks seen fewer than 3 times and not yet
        stable are left out (too new to say anything).
    """
    shown = [t for t in tracks if t.stable or t.age >= 3]
    lines = reading_lines(shown)
    return " ".join(
        "".join(str(t.digit) if t.stable and t.digit is not None else unknown for t in line)
        for line in lines
    )
