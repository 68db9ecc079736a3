"""``--jsonl``: the record of a frame, and lines that are whole even when the writer is killed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edgemnist.errors import ConfigError
from edgemnist.live.jsonl import JsonlWriter, frame_record
from edgemnist.live.types import Read, TrackState

REPO = Path(__file__).resolve().parents[2]


def test_frame_record_schema() -> None:
    reads = [Read((10, 20, 30, 40), 4, 0.98765, track=1), Read((50, 20, 30, 40), None, 0.3)]
    tracks = [TrackState(1, (10, 20, 30, 40), 4, 0.99, stable=True)]
    rec = frame_record(12, 0.40004, reads, tracks, reading="4", unix=1.5)
    assert rec == {
        "frame": 12,
        "t": 0.4,
        "unix": 1.5,
        "reading": "4",
        "digits": [
            {"box": [10, 20, 30, 40], "digit": 4, "confidence": 0.9877, "track": 1, "stable": True},
            {"box": [50, 20, 30, 40], "digit": None, "confidence": 0.3, "track": None,
             "stable": False},
        ],
    }  # fmt: skip
    json.dumps(rec, allow_nan=False)


def test_lines_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "frames.jsonl"
    with JsonlWriter(path) as out:
        for i in range(3):
            out.write(frame_record(i, i / 30, [Read((1, 2, 3, 4), i, 0.9, track=7)]))
    assert out.lines == 3
    lines = path.read_text().splitlines()
    assert [json.loads(ln)["frame"] for ln in lines] == [0, 1, 2]
    with JsonlWriter(path, append=True) as out:
        out.write({"frame": 3, "t": 0.1, "digits": []})
    assert len(path.read_text().splitlines()) == 4
    with JsonlWriter(path) as out:  # not appending: starts over
        pass
    assert path.read_text() == ""


def test_unwritable_path_and_full_disk_are_one_line_errors(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="cannot write --jsonl"):
        JsonlWriter(tmp_path / "file" / "frames.jsonl")
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    with JsonlWriter("/dev/full", append=True) as out, pytest.raises(ConfigError, match="disk"):
        out.write({"frame": 0})


WRITER = """
import sys
from edgemnist.live.jsonl import JsonlWriter
out = JsonlWriter(sys.argv[1])
pad = "x" * 3000   # lines of ~3 kB: many times a pipe's atomic size, none split
i = 0
while True:
    out.write({"frame": i, "pad": pad})
    i += 1
"""


def test_killed_writer_leaves_only_whole_lines(tmp_path: Path) -> None:
    path = tmp_path / "frames.jsonl"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], env=env)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (not path.exists() or path.stat().st_size < 3e6):
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)  # no handler, no flush, no close: mid-loop death
        proc.wait()
    data = path.read_bytes()
    assert len(data) >= 3e6 and data.endswith(b"\n")
    frames = [json.loads(line)["frame"] for line in data.splitlines()]
    assert frames == list(range(len(frames)))
