"""``--record FILE`` (the annotated video) and ``--save-digits DIR`` (each stable digit once).

The recording is written under a temporary name beside ``FILE`` and renamed into place when
the run ends (Ctrl-C and SIGTERM included), like every other file edgemnist writes: a crash
never leaves a half-written video under the final name. The codec follows the suffix: ``.avi``
is Motion-JPEG (readable even when cut short), ``.mp4`` is MPEG-4 part 2 (``mp4v``, which every
pip OpenCV can write); frames of another size than the first are resized to it.

Saved digits are the 28x28 images the model saw (white on black, like MNIST and like
``predict --save-crops``), one PNG per stable track:
``<frame>-t<track>-<digit>.png``, written atomically.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Set, Tuple, Union

from edgemnist.atomic import atomic_path
from edgemnist.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np

#: suffix -> FourCC
CODECS = {".avi": "MJPG", ".mp4": "mp4v", ".m4v": "mp4v", ".mkv": "MJPG"}


class VideoRecorder:
    """Write annotated frames to a video file, opened on the first frame.

    Args:
        path: the final file (``.avi``, ``.mp4``, ``.m4v`` or ``.mkv``).
        fps: the frame rate written in the file (the source's nominal rate).

    Raises:
        ConfigError: unknown suffix.
    """

    def __init__(self, path: Union[str, Path], fps: float = 30.0) -> None:
        self.path = Path(path)
        suffix = self.path.suffix.lower()
        if suffix not in CODECS:
            raise ConfigError(
                f"--record {self.path}: unknown video type {suffix or '(none)'}; "
                f"use one of {', '.join(CODECS)}"
            )
        self.fourcc = CODECS[suffix]
        self.fps = fps if fps and fps > 0 else 30.0
        self.size: Optional[Tuple[int, int]] = None
        self.frames = 0
        self._writer: Any = None
        self._tmp: Optional[Path] = None

    def write(self, image: np.ndarray) -> None:
        """Append one BGR frame (opens the file on the first call).

        Raises:
            ConfigError: OpenCV cannot write this file (no codec, no space, no rights).
        """
        import cv2

        if self._writer is None:
            self._open(image.shape[1], image.shape[0])
        if (image.shape[1], image.shape[0]) != self.size:
            image = cv2.resize(image, self.size, interpolation=cv2.INTER_AREA)
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        self._writer.write(image)
        self.frames += 1

    def _open(self, width: int, height: int) -> None:
        import cv2

        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(
            prefix=f".{self.path.stem}.", suffix=self.path.suffix, dir=self.path.parent
        )
        os.close(fd)
        self._tmp = Path(name)
        self.size = (int(width), int(height))
        writer = cv2.VideoWriter(
            str(self._tmp), cv2.VideoWriter.fourcc(*self.fourcc), float(self.fps), self.size
        )
        if not writer.isOpened():
            self._tmp.unlink()
            self._tmp = None
            raise ConfigError(
                f"--record {self.path}: OpenCV cannot write {self.fourcc} video here; "
                "try a .avi file"
            )
        self._writer = writer

    def close(self) -> Optional[Path]:
        """Finish the file and move it into place; returns the path (None if no frame came)."""
        if self._writer is None:
            return None
        self._writer.release()
        self._writer = None
        tmp, self._tmp = self._tmp, None
        assert tmp is not None
        if self.frames == 0 or tmp.stat().st_size == 0:
            tmp.unlink()
            return None
        os.replace(tmp, self.path)
        return self.path

    def abandon(self) -> None:
        """Drop the partial file (used when the run failed before any useful frame)."""
        if self._writer is not None:
            self._writer.release()
            self._writer = None
        if self._tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                self._tmp.unlink()
            self._tmp = None


class DigitSaver:
    """``--save-digits DIR``: write each stable track's 28x28 digit once.

    Args:
        directory: where the PNGs go (created).
    """

    def __init__(self, directory: Union[str, Path]) -> None:
        self.directory = Path(directory)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"--save-digits {directory}: {exc.strerror}") from None
        self.saved: Set[int] = set()

    def wants(self, track: int) -> bool:
        """Whether ``track`` has not been saved yet."""
        return track not in self.saved

    def save(self, frame: int, track: int, digit: int, image: np.ndarray) -> Path:
        """Write ``image`` (28x28 uint8) for ``track`` as ``<frame>-t<track>-<digit>.png``."""
        import cv2

        path = self.directory / f"{frame:07d}-t{track}-{digit}.png"
        ok, data = cv2.imencode(".png", image)
        if not ok:
            raise ConfigError(f"--save-digits: cannot encode the digit of track {track}")
        with atomic_path(path, suffix=".png") as tmp:
            tmp.write_bytes(data.tobytes())
        self.saved.add(track)
        return path

    def forget(self, active: Set[int]) -> None:
        """Drop finished tracks from the saved set, so it stays as small as the scene."""
        self.saved &= active
