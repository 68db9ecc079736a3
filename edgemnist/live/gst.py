"""GStreamer without OpenCV: pipelines as text, run by a ``gst-launch-1.0`` child process.

pip's OpenCV has no GStreamer, and JetPack 4.6's system OpenCV only serves Python 3.6, so the
default route for ``csi://`` and ``gst://`` runs ``gst-launch-1.0 -q <pipeline> ! fdsink fd=1``
as a child process and reads raw BGR frames of a known size from its stdout pipe. OpenCV's
GStreamer backend (``appsink drop=true max-buffers=1 sync=false``) is used only where
``cv2.getBuildInformation()`` says ``GStreamer: YES``.

The pipeline builders are pure functions, so the exact commands a Jetson would run are tested
on any machine. The flip names and their ``nvvidconv flip-method`` numbers follow NVIDIA's
enumeration (as in jetson-utils ``videoOptions::FlipMethod``); for ``gst://`` pipelines the same
flips go to ``videoflip video-direction=`` (checked against the software flips with a real
GStreamer in tests/integration/test_live_gst.py).
"""

from __future__ import annotations

import collections
import contextlib
import os
import re
import select
import shlex
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Deque, Dict, List, Optional, Tuple

import numpy as np

from edgemnist.errors import BackendUnavailable, ConfigError, InputError

GST_LAUNCH = "gst-launch-1.0"
GST_INSPECT = "gst-inspect-1.0"
INSTALL_HINT = (
    "install GStreamer: sudo apt install gstreamer1.0-tools gstreamer1.0-plugins-base "
    "gstreamer1.0-plugins-good"
)
#: elements that exist only on a Jetson (L4T's GStreamer plugins)
JETSON_ELEMENTS = ("nvarguscamerasrc", "nvvidconv", "nvv4l2decoder", "nvjpegdec")


@dataclass(frozen=True)
class Flip:
    """One row of the flip table."""

    name: str
    #: ``nvvidconv flip-method=`` value (NVIDIA's enumeration)
    nvvidconv: int
    #: ``videoflip video-direction=`` nick (its older ``method`` property numbers the same
    #: names differently, and GStreamer 1.22 ignored it in our tests)
    videoflip: str
    #: the same transform on a ``(H, W[, C])`` array (software path for non-GStreamer sources)
    apply: Callable[[np.ndarray], np.ndarray]


def _t(a: np.ndarray) -> np.ndarray:
    return a.swapaxes(0, 1)


FLIPS: Tuple[Flip, ...] = (
    Flip("none", 0, "identity", lambda a: a),
    Flip("counterclockwise", 1, "90l", lambda a: np.rot90(a, 1)),
    Flip("rotate-180", 2, "180", lambda a: a[::-1, ::-1]),
    Flip("clockwise", 3, "90r", lambda a: np.rot90(a, -1)),
    Flip("horizontal-flip", 4, "horiz", lambda a: a[:, ::-1]),
    Flip("upper-right-diagonal", 5, "ur-ll", lambda a: _t(a)[::-1, ::-1]),
    Flip("vertical-flip", 6, "vert", lambda a: a[::-1]),
    Flip("upper-left-diagonal", 7, "ul-lr", _t),
)
#: short spellings accepted on the command line
FLIP_ALIASES = {"horizontal": "horizontal-flip", "vertical": "vertical-flip", "180": "rotate-180"}


def lookup_flip(name: Optional[str]) -> Flip:
    """The :class:`Flip` row for ``name`` (None means ``none``).

    Raises:
        ConfigError: unknown name (the message lists the valid ones).
    """
    key = FLIP_ALIASES.get(str(name or "none").lower(), str(name or "none").lower())
    for row in FLIPS:
        if row.name == key:
            return row
    names = ", ".join(f.name for f in FLIPS)
    raise ConfigError(f"unknown flip {name!r}: use one of {names}")


def apply_flip(image: np.ndarray, flip: Flip) -> np.ndarray:
    """``image`` transformed by ``flip`` as a C-contiguous array (a view is never returned)."""
    if flip.name == "none":
        return image
    return np.ascontiguousarray(flip.apply(image))


def bgr_stride(width: int) -> int:
    """Bytes per row of a GStreamer ``format=BGR`` buffer: rows are padded to 4 bytes."""
    return (width * 3 + 3) & ~3


def frame_bytes(width: int, height: int) -> int:
    """Size of one raw BGR frame as ``fdsink`` writes it (padded rows included)."""
    return bgr_stride(width) * height


def bgr_caps(width: int, height: int) -> str:
    """The caps that fix the pipe's frame geometry."""
    return f"video/x-raw,format=BGR,width={int(width)},height={int(height)}"


def csi_pipeline(
    sensor_id: int = 0,
    width: int = 1280,
    height: int = 720,
    fps: int = 30,
    flip: str = "none",
) -> str:
    """The Jetson CSI camera pipeline up to raw BGR (no sink).

    ``nvarguscamerasrc`` delivers NV12 in NVMM (hardware) memory; ``nvvidconv`` flips and
    converts to BGRx in system memory in hardware; ``videoconvert`` drops the padding byte on
    the CPU (BGR is what the rest of the toolkit reads).

    Example:
        >>> csi_pipeline(0, 640, 480, 30, "rotate-180").split(" ! ")[2]
        'nvvidconv flip-method=2'
    """
    f = lookup_flip(flip)
    return (
        f"nvarguscamerasrc sensor-id={int(sensor_id)} ! "
        f"video/x-raw(memory:NVMM),width={int(width)},height={int(height)},"
        f"framerate={int(round(fps))}/1,format=NV12 ! "
        f"nvvidconv flip-method={f.nvvidconv} ! "
        f"video/x-raw,width={int(width)},height={int(height)},format=BGRx ! "
        "videoconvert ! video/x-raw,format=BGR"
    )


def custom_tail(width: int, height: int, fps: Optional[float] = None, flip: str = "none") -> str:
    """What ``gst://`` appends to a user's pipeline so the pipe carries BGR frames of one size.

    The user's pipeline must end in raw video (``video/x-raw``, any format and size):
    ``videoconvert ! videoscale`` turn it into BGR at ``width`` x ``height``; ``videorate`` is
    added only when ``fps`` is asked for; ``videoflip`` only when a flip is.
    """
    parts = []
    f = lookup_flip(flip)
    if f.name != "none":
        parts.append(f"videoflip video-direction={f.videoflip}")
    parts += ["videoconvert", "videoscale"]
    if fps:
        parts.append("videorate")
        parts.append(bgr_caps(width, height) + f",framerate={int(round(fps))}/1")
    else:
        parts.append(bgr_caps(width, height))
    return " ! ".join(parts)


def launch_argv(pipeline: str, exe: str = GST_LAUNCH, sync: bool = False) -> List[str]:
    """The child's argv: ``gst-launch-1.0 -q <pipeline> ! fdsink fd=1 sync=false``.

    ``-q`` keeps gst-launch's own messages off stdout, which carries nothing but frames.
    The description is split like a shell would (so quoted property values survive) because
    gst-launch joins its arguments back into one description. ``sync=true`` makes the sink
    wait for each buffer's time (plays a file at its frame rate); cameras never need it.
    """
    sink = ["fdsink", "fd=1", f"sync={'true' if sync else 'false'}"]
    return [exe, "-q", *shlex.split(pipeline), "!", *sink]


def appsink_pipeline(pipeline: str) -> str:
    """The same pipeline for OpenCV's GStreamer backend: newest buffer only, no clock sync."""
    return f"{pipeline} ! appsink drop=true max-buffers=1 sync=false"


def opencv_has_gstreamer() -> bool:
    """Whether this OpenCV was built with GStreamer. Never raises."""
    try:
        import cv2  # type: ignore[import-not-found]

        m = re.search(r"GStreamer:\s*(\S+)", cv2.getBuildInformation())
        return bool(m and m.group(1).upper().startswith("YES"))
    except Exception:
        return False


def gst_launch_path() -> Optional[str]:
    """Path of ``gst-launch-1.0`` on PATH, or None."""
    return shutil.which(GST_LAUNCH)


def gst_version(timeout: float = 10.0) -> Optional[str]:
    """``"1.22.0"`` from ``gst-launch-1.0 --version``, or None. Never raises."""
    exe = gst_launch_path()
    if exe is None:
        return None
    try:
        out = subprocess.run(
            [exe, "--version"], capture_output=True, text=True, timeout=timeout
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"GStreamer\s+([\d.]+)", out)
    return m.group(1) if m else None


def has_element(name: str, timeout: float = 20.0) -> Tuple[bool, str]:
    """``(True, "")`` if ``gst-inspect-1.0 name`` finds the element, else ``(False, why)``."""
    exe = shutil.which(GST_INSPECT)
    if exe is None:
        return False, f"{GST_INSPECT} not found"
    try:
        proc = subprocess.run([exe, name], capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.SubprocessError) as exc:
        return False, f"{GST_INSPECT} failed ({type(exc).__name__})"
    return (proc.returncode == 0, "" if proc.returncode == 0 else "no such element")


def explain_failure(
    stderr: str, returncode: Optional[int], what: str = "GStreamer pipeline"
) -> str:
    """One line saying why a gst-launch child failed and what to do about it."""
    m = re.search(r'no element "([^"]+)"', stderr)
    if m:
        element = m.group(1)
        if element in JETSON_ELEMENTS:
            return (
                f"GStreamer element {element} is missing: it exists only on a Jetson with "
                "JetPack (L4T's GStreamer plugins); on other machines use a USB camera (0 or "
                "/dev/video0)"
            )
        return (
            f"GStreamer element {element} is missing: install the plugin package that "
            f"provides it (gstreamer1.0-plugins-good/-bad/-ugly), check with "
            f"gst-inspect-1.0 {element}"
        )
    reason = _first_error(stderr)
    if returncode is None:
        code = "stopped"
    elif returncode < 0:
        name = getattr(signal.Signals(-returncode), "name", "") if -returncode in _SIGNALS else ""
        code = f"was killed by signal {-returncode}" + (f" ({name})" if name else "")
    else:
        code = f"exited with code {returncode}"
    hint = "run the pipeline alone with gst-launch-1.0 to see more"
    return f"{what} {code}: {reason or 'no message'} ({hint})"


def _first_error(stderr: str) -> str:
    """``"rtspsrc0: Could not open resource for reading and writing (Failed to connect.)"``
    from gst-launch's stderr: the first error, by element, with its debug detail line."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    for i, line in enumerate(lines):
        m = re.match(r"ERROR: from element (\S+?):\s+(.*)", line)
        if m:
            element = m.group(1).split("/")[-1].split(":")[-1]  # /GstPipeline:p0/GstX:name
            text = f"{element}: {m.group(2).rstrip('.')}"
            # "Additional debug info:", "<file>.c(<line>): <function> (): <path>:", then the cause
            rest = lines[i + 1 : i + 4]
            if (
                len(rest) == 3
                and rest[0].startswith("Additional")
                and re.search(r"\.c\(\d+\)", rest[1])
            ):
                text += f" ({rest[2]})"
            return text
    for line in lines:
        if line.startswith(("ERROR", "WARNING: erroneous")):
            return line
    return lines[-1] if lines else ""


_SIGNALS = {int(s) for s in signal.Signals}


class ChildEnded(Exception):
    """The child closed its stdout. ``clean`` is True for exit status 0 (end of stream)."""

    def __init__(self, message: str, clean: bool) -> None:
        super().__init__(message)
        self.clean = clean


class FrameTimeout(Exception):
    """No complete frame arrived within the timeout (the child is alive but silent)."""


class TornFrame(InputError):
    """The child stopped in the middle of a frame: the partial frame is unusable."""


class GstChild:
    """A ``gst-launch-1.0`` child writing raw BGR frames of one size to a pipe.

    The child runs in its own process group (so killing it also kills anything it forked and
    a Ctrl-C in the terminal reaches only the parent, which then shuts it down in order);
    its stderr is drained by a thread into a bounded buffer, for error messages.
    """

    def __init__(self, argv: List[str], width: int, height: int) -> None:
        self.argv = list(argv)
        self.width, self.height = int(width), int(height)
        self.stride = bgr_stride(self.width)
        self.size = frame_bytes(self.width, self.height)
        self.proc: Optional[subprocess.Popen] = None
        self._stderr: Deque[str] = collections.deque(maxlen=40)
        self._stderr_thread: Optional[threading.Thread] = None

    @property
    def command(self) -> str:
        """The command line, ready to paste into a shell."""
        return shlex.join(self.argv)

    def start(self) -> None:
        """Spawn the child.

        Raises:
            BackendUnavailable: gst-launch-1.0 is not installed.
        """
        try:
            self.proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                bufsize=0,
                start_new_session=True,
            )
        except FileNotFoundError as exc:
            raise BackendUnavailable(f"{self.argv[0]} not found: {INSTALL_HINT}") from exc
        self._stderr.clear()
        self._stderr_thread = threading.Thread(
            target=self._drain_stderr, args=(self.proc,), name="gst-stderr", daemon=True
        )
        self._stderr_thread.start()

    def _drain_stderr(self, proc: subprocess.Popen) -> None:
        assert proc.stderr is not None
        for raw in iter(proc.stderr.readline, b""):
            self._stderr.append(raw.decode(errors="replace").rstrip())

    def stderr_text(self) -> str:
        """The last lines the child wrote to stderr."""
        proc, thread = self.proc, self._stderr_thread
        if thread is not None and proc is not None and proc.poll() is not None:
            thread.join(timeout=1.0)  # the rest of a dying child's message
        return "\n".join(self._stderr)

    def read_frame(self, timeout: Optional[float] = None) -> np.ndarray:
        """Read exactly one frame and return it as a fresh ``(H, W, 3)`` uint8 array.

        Raises:
            FrameTimeout: nothing (or not a whole frame) within ``timeout`` seconds.
            TornFrame: the pipe ended inside a frame (the partial frame is dropped).
            ChildEnded: the pipe ended on a frame boundary.
        """
        if self.proc is None or self.proc.stdout is None:
            raise ChildEnded("not started", clean=False)
        fd = self.proc.stdout.fileno()
        buf = np.empty((self.height, self.stride), dtype=np.uint8)
        view = buf.data.cast("B")
        got = 0
        deadline = None if timeout is None else time.monotonic() + timeout
        while got < self.size:
            if deadline is not None:
                left = deadline - time.monotonic()
                ready, _, _ = select.select([fd], [], [], max(0.0, left))
                if not ready:
                    raise FrameTimeout(f"no frame from the GStreamer child within {timeout:g} s")
            n = os.readv(fd, [view[got:]])  # straight into the frame: no intermediate copy
            if not n:
                break
            got += n
        if got == self.size:
            if self.stride == self.width * 3:
                return buf.reshape(self.height, self.width, 3)
            return np.ascontiguousarray(buf[:, : self.width * 3]).reshape(
                self.height, self.width, 3
            )
        code = self.wait(timeout=2.0)
        if got:
            raise TornFrame(f"GStreamer child stopped inside a frame ({got} of {self.size} bytes)")
        clean = code == 0
        msg = "end of stream" if clean else explain_failure(self.stderr_text(), code)
        raise ChildEnded(msg, clean=clean)

    def wait(self, timeout: float) -> Optional[int]:
        """The child's exit status after up to ``timeout`` seconds (None if still running)."""
        if self.proc is None:
            return None
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def interrupt(self) -> None:
        """Kill the child (from any thread) so a blocked :meth:`read_frame` returns."""
        proc = self.proc
        if proc is not None and proc.poll() is None:
            _killpg(proc, signal.SIGKILL)

    def stop(self, grace: float = 1.0) -> None:
        """Stop the child: SIGTERM to its group, SIGKILL after ``grace`` seconds; idempotent."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            _killpg(proc, signal.SIGTERM)
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                _killpg(proc, signal.SIGKILL)
                proc.wait(timeout=5.0)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
        if self._stderr_thread is not None:
            self._stderr_thread.join(timeout=1.0)

    def describe(self) -> Dict[str, Any]:
        """Facts for reports."""
        return {"command": self.command, "frame_bytes": self.size, "pid": self.pid}

    @property
    def pid(self) -> Optional[int]:
        """The child's process id while it runs."""
        return self.proc.pid if self.proc is not None else None


def _killpg(proc: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)
