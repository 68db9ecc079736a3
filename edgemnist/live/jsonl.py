"""``--jsonl FILE``: one JSON line per processed frame, each written whole.

A line is encoded in full first and handed to the kernel in one ``os.write`` on a file opened
with ``O_APPEND`` and no Python buffering, so Ctrl-C, SIGTERM or a crash between two frames
leaves only complete lines: a reader never sees half a record, and ``tail -f`` shows each frame
as it is processed. (A buffered text file would flush at arbitrary byte counts and leave a torn
last line when the process dies.)

Line format::

    {"frame": 12, "t": 0.402, "unix": 1764547200.123, "reading": "42",
     "digits": [{"box": [x, y, w, h], "digit": 4, "confidence": 0.998, "track": 3,
                 "stable": true}, ...]}

``frame`` is the source's frame index, ``t`` the capture time in seconds since the run started,
``digits`` in reading order (line by line, left to right), boxes in source-frame pixels;
``digit`` is this frame's read (null when below the confidence threshold), ``stable`` whether
its track's vote is settled, ``reading`` the stable digits as one string.
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

from edgemnist.errors import ConfigError
from edgemnist.live.types import Read, TrackState


def frame_record(
    frame: int,
    t: float,
    reads: Sequence[Read],
    tracks: Sequence[TrackState] = (),
    reading: str = "",
    unix: Optional[float] = None,
) -> Dict[str, Any]:
    """The JSON object of one frame.

    Args:
        frame: the source's frame index.
        t: seconds since the run started, at the frame's capture.
        reads: this frame's classified detections, already in reading order.
        tracks: the tracker's states (to say which reads belong to a stable track).
        reading: the stable digits in reading order, as a string.
        unix: wall-clock time of the result (``time.time()``), or None to leave it out.

    Returns:
        A JSON-ready dict (see the module docstring).
    """
    stable = {tr.id for tr in tracks if tr.stable}
    digits: List[Dict[str, Any]] = [
        {
            "box": [int(v) for v in r.box],
            "digit": None if r.digit is None else int(r.digit),
            "confidence": round(float(r.confidence), 4),
            "track": r.track,
            "stable": r.track is not None and r.track in stable,
        }
        for r in reads
    ]
    out: Dict[str, Any] = {"frame": int(frame), "t": round(float(t), 4)}
    if unix is not None:
        out["unix"] = round(float(unix), 3)
    out["reading"] = reading
    out["digits"] = digits
    return out


class JsonlWriter:
    """Append one JSON object per line to a file, each line in a single ``os.write``.

    Args:
        path: the file; created or truncated (``append=True`` keeps what is there).
        append: add to an existing file instead of starting it over.

    Raises:
        ConfigError: the file cannot be opened for writing.

    Example:
        >>> with JsonlWriter("/tmp/frames.jsonl") as out:  # doctest: +SKIP
        ...     out.write({"frame": 0, "t": 0.0, "digits": []})
    """

    def __init__(self, path: Union[str, Path], append: bool = False) -> None:
        self.path = Path(path)
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | (0 if append else os.O_TRUNC)
        try:
            if self.path.parent != Path(""):
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd: Optional[int] = os.open(str(self.path), flags, 0o644)
        except OSError as exc:
            raise ConfigError(
                f"cannot write --jsonl {self.path}: {exc.strerror}; pick a writable path"
            ) from None
        self.lines = 0

    def write(self, obj: Dict[str, Any]) -> None:
        """Write ``obj`` as one line; the whole line reaches the kernel in one call."""
        if self._fd is None:
            raise ConfigError(f"--jsonl {self.path} is closed")
        data = (json.dumps(obj, separators=(",", ":"), allow_nan=False) + "\n").encode("utf-8")
        while True:
            try:
                written = os.write(self._fd, data)
                break
            except InterruptedError:  # a signal before any byte was written: retry the line
                continue
            except OSError as exc:
                raise ConfigError(
                    f"--jsonl {self.path}: {exc.strerror or errno.errorcode.get(exc.errno or 0)}"
                    " (disk full?); free space or write elsewhere"
                ) from None
        if written != len(data):
            # only a full disk or a hard quota shortens a regular-file write; what did reach
            # the file is then the torn line, so say so instead of carrying on silently
            raise ConfigError(
                f"--jsonl {self.path}: wrote {written} of {len(data)} bytes (disk full?); "
                "free space or write elsewhere"
            )
        self.lines += 1

    def close(self) -> None:
        """Close the file (safe to call twice)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> JsonlWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
