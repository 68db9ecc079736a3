"""The tracker: association by geometry (not class), confidence-weighted votes, reading order."""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

from edgemnist.live.track import Tracker, TrackParams, iou, reading
from edgemnist.live.types import Read, TrackState


def reads(*items: Tuple[Tuple[int, int, int, int], Optional[int], float]) -> List[Read]:
    return [Read(box=box, digit=d, confidence=c) for box, d, c in items]


def by_id(tracks: Sequence[TrackState]):
    return {t.id: t for t in tracks}


def test_iou() -> None:
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (10, 0, 10, 10)) == 0.0
    assert abs(iou((0, 0, 10, 10), (5, 0, 10, 10)) - 50 / 150) < 1e-9


def test_a_flickering_class_keeps_its_track_and_votes_it_down() -> None:
    tracker = Tracker()
    box = (100, 100, 40, 60)
    answers = [3, 3, 8, 3, 3, 8, 3]
    ids = set()
    for n, d in enumerate(answers):
        moved = (box[0] + 2 * n, box[1] + n, 40, 60)  # a slow pan
        rs = reads((moved, d, 0.9 if d == 3 else 0.7))
        (tr,) = tracker.update(rs, t=n / 30)
        ids.add(tr.id)
        assert rs[0].track == tr.id
        if n >= 3:
            assert tr.stable and tr.digit == 3
    assert len(ids) == 1, "a class change must not start a new track"


def test_stable_only_after_three_agreeing_reads_of_five() -> None:
    tracker = Tracker()
    box = (50, 50, 30, 50)
    seq = [(7, 0.99), (None, 0.3), (7, 0.95), (1, 0.8), (7, 0.9)]
    states = [tracker.update(reads((box, d, c)), t=i)[0] for i, (d, c) in enumerate(seq)]
    assert [s.stable for s in states] == [False, False, False, False, True]
    assert states[-1].digit == 7
    assert states[-1].votes[7] > states[-1].votes[1]
    assert 0.9 <= states[-1].confidence <= 0.99


def test_one_misread_never_shows_a_wrong_digit() -> None:
    tracker = Tracker()
    box = (50, 50, 30, 50)
    for i in range(5):
        tracker.update(reads((box, 4, 0.99)), t=i)
    # an unsure misread is outvoted
    (tr,) = tracker.update(reads((box, 9, 0.7)), t=5)
    assert tr.stable and tr.digit == 4
    # a confident one withdraws the answer (never shows 9) until 4 wins again
    states = [tracker.update(reads((box, 9, 0.99)), t=6)[0]]
    states += [tracker.update(reads((box, 4, 0.99)), t=7 + i)[0] for i in range(3)]
    assert [s.digit for s in states] == [None, None, None, 4]
    assert states[0].id == states[-1].id


def test_a_new_digit_under_an_old_track_is_withdrawn_then_read() -> None:
    # the sheet is swapped for one with a 2 where a 5 of the same size was
    tracker = Tracker()
    box = (50, 50, 30, 50)
    for i in range(5):
        tracker.update(reads((box, 5, 0.99)), t=i)
    digits = [tracker.update(reads((box, 2, 0.99)), t=5 + i)[0].digit for i in range(3)]
    assert digits == [None, None, 2]


def test_a_different_size_in_the_same_place_is_a_new_track() -> None:
    tracker = Tracker()
    (a,) = tracker.update(reads(((50, 50, 30, 50), 1, 0.99)), t=0)
    (b,) = tracker.update(reads(((45, 45, 60, 60), 0, 0.99)), t=1)
    assert a.id != b.id


def test_neighbours_keep_their_ids_when_the_camera_jerks() -> None:
    tracker = Tracker()
    row = [(100, 100, 40, 60), (160, 100, 40, 60), (220, 100, 40, 60)]
    first = tracker.update(reads(*[(b, d, 0.99) for b, d in zip(row, (1, 2, 3))]), t=0)
    # every box moves 27 px at once: little overlap with its own old box (IoU < 0.2), and
    # each is nearly as close to its right neighbour's old box: the nearest must win
    jerked = [(x + 27, y + 3, w, h) for x, y, w, h in row]
    assert all(iou(a, b) < 0.2 for a, b in zip(row, jerked))
    second = tracker.update(reads(*[(b, d, 0.99) for b, d in zip(jerked, (1, 2, 3))]), t=1)
    assert [t.id for t in first] == [t.id for t in second]


def test_tracks_survive_short_gaps_and_are_dropped_after_max_misses() -> None:
    tracker = Tracker(TrackParams(max_misses=3))
    box = (10, 10, 30, 40)
    (tr,) = tracker.update(reads((box, 6, 0.99)), t=0)
    for i in range(3):
        assert tracker.update([], t=1 + i) == []
        assert [t.id for t in tracker.tracks()] == [tr.id]
    (again,) = tracker.update(reads((box, 6, 0.99)), t=4)
    assert again.id == tr.id
    for i in range(4):
        tracker.update([], t=5 + i)
    assert tracker.tracks() == []
    (new,) = tracker.update(reads((box, 6, 0.99)), t=10)
    assert new.id != tr.id


def _state(box, digit, stable=True, tid=0, age=5) -> TrackState:
    return TrackState(id=tid, box=box, digit=digit, confidence=0.99, stable=stable, age=age)


def test_reading_order_two_lines_left_to_right() -> None:
    tracks = [
        _state((300, 210, 40, 60), 2),  # line 2
        _state((200, 52, 40, 60), 9),  # line 1, slightly lower: still line 1
        _state((100, 50, 40, 60), 1),
        _state((250, 55, 40, 60), 8),
        _state((200, 205, 40, 60), 4),
        _state((300, 48, 40, 60), 4),
    ]
    assert reading(tracks) == "1984 42"


def test_reading_marks_unknown_and_skips_brand_new_tracks() -> None:
    tracks = [
        _state((100, 50, 40, 60), 1),
        _state((160, 50, 40, 60), None, stable=False, age=4),  # seen, not agreed yet
        _state((220, 50, 40, 60), 7, stable=False, age=1),  # one frame old: not shown
        _state((280, 50, 40, 60), 5),
    ]
    assert reading(tracks) == "1?5"
    assert reading([]) == ""


def test_a_tilted_line_stays_one_line() -> None:
    # a rolled camera: each digit 20 px lower than the one before
    tracks = [_state((100 + 60 * i, 50 + 20 * i, 40, 60), i + 1) for i in range(5)]
    assert reading(tracks) == "12345"


def test_stream_score_counts_matches_misses_and_stable_reads() -> None:
    from edgemnist.live.evaluate import StreamScore, match_boxes

    truth = [
        {"box": [10, 10, 20, 30], "digit": 1, "id": 1},
        {"box": [50, 10, 20, 30], "digit": 2, "id": 2},
        {"box": [90, 10, 20, 30], "digit": 3, "id": 3},
    ]
    # one good box, one shifted to IoU ~0.4 (still a match), one missed; plus a false positive
    boxes = [(10, 10, 20, 30), (58, 10, 20, 30), (200, 200, 20, 30)]
    assert match_boxes([tuple(t["box"]) for t in truth], boxes) == [(0, 0), (1, 1)]
    rds = [Read(b, d, 0.9) for b, d in zip(boxes, (1, 7, None))]
    tracks = [_state(boxes[0], 1), _state(boxes[1], 7, stable=False)]
    score = StreamScore()
    score.add(truth, boxes, rds, tracks, frame=0)
    s = score.summary()
    assert (s["truth_digits"], s["detections"], s["matched"]) == (3, 3, 2)
    assert abs(s["recall"] - 2 / 3) < 1e-4 and abs(s["precision"] - 2 / 3) < 1e-4
    assert s["single_frame_accuracy"] == 0.5
    assert (s["stable_matched"], s["stable_accuracy"]) == (1, 1.0)
    assert s["final_answer_accuracy"] == 1.0
    kinds = sorted(e["kind"] for e in score.errors)
    assert kinds == ["false_positive", "missed"]


def test_stream_score_reports_a_stable_misread() -> None:
    from edgemnist.live.evaluate import StreamScore

    score = StreamScore()
    truth = [{"box": [10, 10, 20, 30], "digit": 4, "id": 9}]
    score.add(truth, [(10, 10, 20, 30)], None, [_state((10, 10, 20, 30), 9, tid=3)], frame=5)
    s = score.summary()
    assert s["stable_accuracy"] == 0.0 and s["single_frame_accuracy"] is None
    assert score.errors == [
        {
            "kind": "stable_misread",
            "frame": 5,
            "box": [10, 10, 20, 30],
            "digit": 4,
            "read": 9,
            "track": 3,
        }
    ]


def test_jsonl_order_and_reading_string_share_one_line_rule():
    # a staircase: chaining by vertical centres makes one line of A, C, B; by overlap with the
    # line's last box (left to right) A and B are one line and C is below. Whatever the rule,
    # the JSONL order and the reading string must agree.
    from edgemnist.live.loop import reading_order
    from edgemnist.live.track import reading
    from edgemnist.live.types import Read, TrackState

    boxes = [(10, 100, 20, 40), (200, 118, 20, 40), (100, 136, 20, 40)]
    digits = [1, 2, 3]
    reads = [Read(box=b, digit=d, confidence=0.9) for b, d in zip(boxes, digits)]
    tracks = [
        TrackState(id=i, box=b, digit=d, confidence=0.9, stable=True, age=5)
        for i, (b, d) in enumerate(zip(boxes, digits))
    ]
    ordered = "".join(str(r.digit) for r in reading_order(reads))
    assert ordered == reading(tracks).replace(" ", "")
