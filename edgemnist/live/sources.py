"""Where live frames come from: one URI syntax, one small ``Source`` protocol, one table.

==========================  ======================================================  =========
URI                         what                                                    kind
==========================  ======================================================  =========
``0``, ``/dev/video0``,     USB / V4L2 camera via ``cv2.VideoCapture(CAP_V4L2)``:   v4l2
``v4l2:///dev/v4l/by-id/…`` asks MJPG + size + fps, reports what was granted
``csi://0``                 Jetson CSI camera: nvarguscamerasrc → nvvidconv → BGR,   csi
                            through a gst-launch child (OpenCV's GStreamer if any)
``picam://0``               Raspberry Pi camera module through Picamera2            picam
``file.mp4``, ``file://…``  video file (``loop`` rewinds)                           video
``dir/``, ``'dir/*.png'``   folder or glob of images, sorted, unreadable skipped    images
``rtsp://…``, ``http://…``  network stream (RTSP, MJPEG over HTTP) via FFmpeg       stream
``gst://<pipeline>``        any GStreamer pipeline ending in raw video              gst
``synthetic://?digits=1-4`` moving camera over MNIST test digits, with ground truth  synthetic
==========================  ======================================================  =========

A source (after the Runner protocol): cheap constructor, :meth:`Source.open` does the work,
:meth:`Source.read` returns the next :class:`~edgemnist.live.types.Frame` or None (no frame
now; :attr:`Source.ended` tells end of stream apart), :meth:`Source.close`, a never-raising
:meth:`Source.available`, :meth:`Source.describe` (what was granted). ``read`` raises
:class:`SourceError` when the source broke (the capture thread reopens it) and
:class:`BadFrame` for one unusable frame (skipped and counted).

Example:
    >>> from edgemnist.live.sources import parse_uri
    >>> parse_uri("csi://1").kind.name, parse_uri("csi://1").target
    ('csi', '1')
"""

from __future__ import annotations

import dataclasses
import glob
import importlib
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar, Dict, List, Optional, Tuple
from urllib.parse import parse_qsl

import numpy as np

from edgemnist.errors import (
    BackendUnavailable,
    ConfigError,
    DependencyMissing,
    EdgeMnistError,
    InputError,
)
from edgemnist.live import gst
from edgemnist.live.types import Frame


class SourceError(EdgeMnistError):
    """A source cannot be opened, or stopped delivering (the capture thread reopens it)."""


class BadFrame(InputError):
    """One frame is unusable (torn, wrong size, undecodable): skip it and count it."""


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".pgm", ".ppm", ".pbm", ".tif", ".tiff", ".webp")
VIDEO_GROUP_HINT = (
    "add yourself to the video group (sudo usermod -aG video $USER, then log in again)"
)


def _require_cv2(purpose: str) -> Any:
    try:
        import cv2  # type: ignore[import-not-found]
    except ImportError as exc:
        raise DependencyMissing("opencv-python", extra="cv", purpose=purpose) from exc
    return cv2


def fourcc_to_str(code: float) -> str:
    """``"MJPG"`` from OpenCV's ``CAP_PROP_FOURCC`` number ("" when the backend gives 0)."""
    n = int(code)
    text = "".join(chr((n >> (8 * i)) & 0xFF) for i in range(4))
    return text if n and text.isprintable() else ""


_CREDENTIALS = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^\s:/@]+:)[^\s@]+@")


def mask_url(text: str) -> str:
    """``text`` with the password of every ``scheme://user:password@host`` in it replaced by
    ``***`` (URLs, pipelines with ``location=rtsp://...``, commands, error messages).

    Example:
        >>> mask_url("rtspsrc location=rtsp://admin:pw@cam/s ! fakesink")
        'rtspsrc location=rtsp://admin:***@cam/s ! fakesink'
    """
    return _CREDENTIALS.sub(r"\1***@", text)


# -- options ---------------------------------------------------------------------------------
def _as_bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    s = str(v).strip().lower()
    if s in ("1", "true", "yes", "on", ""):
        return True
    if s in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"not a boolean: {v!r}")


def _positive_int(v: Any) -> int:
    n = int(v)
    if n <= 0:
        raise ValueError("must be > 0")
    return n


def _positive_float(v: Any) -> float:
    x = float(v)
    if not x > 0:
        raise ValueError("must be > 0")
    return x


def _fourcc(v: Any) -> str:
    s = str(v).upper()
    if len(s) != 4:
        raise ValueError("must be 4 characters, e.g. MJPG or YUYV")
    return s


def _flip(v: Any) -> str:
    return gst.lookup_flip(v).name


def _backend(v: Any) -> str:
    s = str(v).lower()
    if s not in ("auto", "child", "opencv"):
        raise ValueError("must be auto, child or opencv")
    return s


#: every option a source accepts: name -> (converter, what it means)
OPTIONS: Dict[str, Tuple[Callable[[Any], Any], str]] = {
    "width": (_positive_int, "frame width asked of the camera / pipeline"),
    "height": (_positive_int, "frame height asked of the camera / pipeline"),
    "fps": (_positive_float, "frame rate asked of the camera; pace of images in realtime mode"),
    "fourcc": (_fourcc, "V4L2 pixel format asked for (default MJPG)"),
    "flip": (_flip, "none, rotate-180, horizontal-flip, vertical-flip, clockwise, ..."),
    "loop": (_as_bool, "rewind files and folders at the end"),
    "realtime": (_as_bool, "play files at their frame rate, newest frame wins (drops)"),
    "gst_backend": (_backend, "auto | child (gst-launch-1.0) | opencv (cv2 with GStreamer)"),
    "open_timeout": (_positive_float, "seconds to wait for the first frame when opening"),
    "read_timeout": (_positive_float, "seconds without a frame before a read gives up"),
    "live": (_as_bool, "gst:// only: the pipeline is a camera (reopen at end of stream)"),
}


def validate_options(options: Dict[str, Any]) -> Dict[str, Any]:
    """Convert and check source options; None values are dropped (not given).

    Raises:
        ConfigError: an unknown option or a bad value (the message names the option).
    """
    out: Dict[str, Any] = {}
    for key, value in options.items():
        if value is None:
            continue
        name = key.replace("-", "_")
        if name not in OPTIONS:
            raise ConfigError(f"unknown source option {key!r}: known are {', '.join(OPTIONS)}")
        try:
            out[name] = OPTIONS[name][0](value)
        except (ValueError, TypeError, ConfigError) as exc:
            raise ConfigError(f"source option {key}={value!r}: {exc}") from exc
    return out


# -- the protocol ----------------------------------------------------------------------------
class Source:
    """Base class. Subclasses set ``kind`` and implement ``_open``, ``_read``, ``_close``."""

    #: the row name in :data:`SOURCES`
    kind: ClassVar[str] = "base"
    #: a camera or network stream: never "ends" (end of stream is a fault to reopen), and
    #: stale frames are dropped; False for files, folders and generators (read every frame)
    live: bool = True

    def __init__(self, target: str = "", **options: Any) -> None:
        self.target = target
        self.options: Dict[str, Any] = validate_options(options)
        self.opened = False
        #: True once a non-live source has delivered its last frame
        self.ended = False
        #: frames the source itself skipped (unreadable images, ...)
        self.skipped = 0
        #: nominal frames per second (0: unknown / as fast as read)
        self.fps: float = float(self.options.get("fps", 0.0))
        self.realtime: bool = bool(self.options.get("realtime", False))
        self.flip = gst.lookup_flip(self.options.get("flip"))
        #: the flip done in software after reading (sources that flip in hardware clear it)
        self._soft_flip = self.flip
        self._index = 0
        #: what was granted, filled by ``_open``
        self.info: Dict[str, Any] = {}

    @classmethod
    def available(cls) -> Tuple[bool, str]:
        """``(True, "")`` if this kind of source can work here, else ``(False, why)``.

        Never raises; says nothing about whether a given device is plugged in.
        """
        return True, ""

    def open(self) -> Source:
        """Open the device / file / child; idempotent. Returns ``self``.

        Raises:
            SourceError: with a one-line message saying what to do.
        """
        if not self.opened:
            self.ended = False
            self._open()
            self.opened = True
        return self

    def read(self) -> Optional[Frame]:
        """The next frame, or None (nothing now; end of stream when :attr:`ended`).

        Raises:
            SourceError: the source broke (unplugged, child died, stream lost).
            BadFrame: this one frame is unusable; the next read may succeed.
        """
        if not self.opened:
            raise SourceError(f"{self.kind} source: call open() before read()")
        if self.ended:
            return None
        got = self._read()
        if got is None:
            return None
        image, truth = got
        t = time.monotonic()
        if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim not in (2, 3):
            raise BadFrame(f"{self.kind} source returned an unusable frame")
        if image.size == 0:
            raise BadFrame(f"{self.kind} source returned an empty frame")
        frame = Frame(gst.apply_flip(image, self._soft_flip), self._index, t, truth)
        self._index += 1
        return frame

    def interrupt(self) -> None:
        """Make a ``read`` blocked in another thread return soon (the watchdog calls it)."""

    def close(self) -> None:
        """Release the device / file / child; safe to call twice."""
        if self.opened:
            self.opened = False
            self._close()

    def describe(self) -> Dict[str, Any]:
        """What was asked and granted: kind, uri target, width, height, fps, pixel format,
        backend, the exact command or pipeline, frames skipped."""
        d: Dict[str, Any] = {"kind": self.kind, "target": self.target, "live": self.live}
        d.update(self.info)
        d.setdefault("fps", self.fps)
        d["flip"] = self.flip.name
        d["skipped"] = self.skipped
        # reports and logs never show a stream's password
        return {k: mask_url(v) if isinstance(v, str) else v for k, v in d.items()}

    def __enter__(self) -> Source:
        return self.open()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({mask_url(self.target)!r})"

    # -- to implement ------------------------------------------------------------------------
    def _open(self) -> None:
        raise NotImplementedError

    def _read(self) -> Optional[Tuple[np.ndarray, Optional[List[Dict[str, Any]]]]]:
        raise NotImplementedError

    def _close(self) -> None:
        pass


def _cv2_available() -> Tuple[bool, str]:
    from edgemnist.runners.base import module_available

    return module_available("cv2")


class _OpenCvSource(Source):
    """A source read through a ``cv2.VideoCapture`` (``self._cap``) or ``cv2.imread``."""

    _cap: Any = None

    @classmethod
    def available(cls) -> Tuple[bool, str]:
        return _cv2_available()

    def _close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


# -- V4L2 ------------------------------------------------------------------------------------
def v4l2_device(target: str) -> str:
    """``/dev/video2`` for ``"2"``; paths are kept as given (``/dev/v4l/by-id/...``)."""
    return f"/dev/video{int(target)}" if target.isdigit() else target


def check_device(path: str) -> None:
    """Explain why a device node cannot be opened, before OpenCV says only "failed".

    Raises:
        SourceError: missing node, or no permission (video group).
    """
    if not os.path.exists(path):
        have = sorted(glob.glob("/dev/video*"))
        listed = ", ".join(have) if have else "none"
        raise SourceError(
            f"no camera at {path} (video devices here: {listed}): plug one in or pick "
            "another (edgemnist doctor lists them)"
        )
    if not os.access(path, os.R_OK | os.W_OK):
        raise SourceError(f"permission denied on {path}: {VIDEO_GROUP_HINT}")


class V4l2Source(_OpenCvSource):
    """USB / V4L2 camera through OpenCV's V4L2 backend.

    Asks for ``fourcc`` (default MJPG: YUYV cannot carry 640x480 at 30 fps on many USB 2
    links), width, height and fps, then reads back what the driver granted: drivers silently
    substitute the nearest mode they have.
    """

    kind = "v4l2"

    def _open(self) -> None:
        cv2 = _require_cv2("USB cameras")
        self.device = v4l2_device(self.target)
        check_device(self.device)
        cap = cv2.VideoCapture(self.device, cv2.CAP_V4L2)
        if not cap.isOpened():
            cap.release()
            raise SourceError(
                f"cannot open {self.device}: busy (close other programs using it: "
                f"fuser {self.device}) or not a capture device (try the next /dev/video*)"
            )
        asked = {
            "fourcc": self.options.get("fourcc", "MJPG"),
            "width": self.options.get("width", 640),
            "height": self.options.get("height", 480),
            "fps": self.options.get("fps", 30.0),
        }
        # order matters for many UVC drivers: the format first, then the size, then the rate
        cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*asked["fourcc"]))
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, asked["width"])
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, asked["height"])
        cap.set(cv2.CAP_PROP_FPS, asked["fps"])
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # fewer queued driver buffers: less latency
        # some cameras accept a mode they then cannot stream: find out now, not in the loop
        ok, first = cap.read()
        if not ok or first is None:
            cap.release()
            raise SourceError(
                f"{self.device} opened but delivered no frame as {asked['fourcc']} "
                f"{asked['width']}x{asked['height']}@{asked['fps']:g}: try --fourcc YUYV or a "
                "smaller size (v4l2-ctl -d DEV --list-formats-ext lists its modes)"
            )
        self._cap = cap
        self._pending: Optional[np.ndarray] = first
        self.fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.info = {
            "backend": "opencv-v4l2",
            "device": self.device,
            "asked": asked,
            # the first frame's shape is what was granted, whatever the properties say
            "width": int(first.shape[1]),
            "height": int(first.shape[0]),
            "fps": self.fps,
            "pixel_format": fourcc_to_str(cap.get(cv2.CAP_PROP_FOURCC)) or "unknown",
        }

    def _read(self) -> Optional[Tuple[np.ndarray, None]]:
        if self._pending is not None:
            image, self._pending = self._pending, None
            return image, None
        ok, image = self._cap.read()
        if not ok or image is None:
            raise SourceError(f"{self.device} stopped delivering frames (unplugged?)")
        return image, None

    def _close(self) -> None:
        super()._close()
        self._pending = None


# -- files, folders, streams -----------------------------------------------------------------
class VideoFileSource(_OpenCvSource):
    """A video file read frame by frame (``loop`` rewinds at the end)."""

    kind = "video"
    live = False

    def _open(self) -> None:
        cv2 = _require_cv2("video files")
        if not Path(self.target).is_file():
            raise SourceError(f"no such video file: {self.target}")
        cap = cv2.VideoCapture(self.target)
        if not cap.isOpened():
            cap.release()
            raise SourceError(f"cannot decode {self.target}: not a video OpenCV can read")
        self._cap = cap
        self.fps = float(self.options.get("fps") or cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.info = {
            "backend": "opencv-" + str(cap.getBackendName()).lower(),
            "path": self.target,
            "width": int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
            "height": int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
            "fps": self.fps,
            "frames": int(cap.get(cv2.CAP_PROP_FRAME_COUNT)),
            "pixel_format": fourcc_to_str(cap.get(cv2.CAP_PROP_FOURCC)) or "unknown",
        }

    def _read(self) -> Optional[Tuple[np.ndarray, None]]:
        ok, image = self._cap.read()
        if not ok and self.options.get("loop"):
            import cv2  # type: ignore[import-not-found]

            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, image = self._cap.read()
        if not ok or image is None:
            self.ended = True
            return None
        return image, None


def image_paths(target: str) -> List[str]:
    """Sorted image files of a folder, or the sorted matches of a glob."""
    if os.path.isdir(target):
        names = sorted(os.listdir(target))
        return [
            os.path.join(target, n)
            for n in names
            if n.lower().endswith(IMAGE_SUFFIXES) and os.path.isfile(os.path.join(target, n))
        ]
    return sorted(p for p in glob.glob(target) if os.path.isfile(p))


class ImageFolderSource(_OpenCvSource):
    """A folder or glob of images, in sorted order; unreadable images are skipped and counted."""

    kind = "images"
    live = False

    def _open(self) -> None:
        _require_cv2("image folders")
        self._paths = image_paths(self.target)
        if not self._paths:
            raise SourceError(
                f"no images in {self.target} (looked for {', '.join(IMAGE_SUFFIXES)})"
            )
        self._next = 0
        # images have no rate of their own: realtime mode shows them at --fps (default 30)
        self.fps = float(self.options.get("fps", 30.0 if self.realtime else 0.0))
        self.info = {"backend": "opencv-imread", "images": len(self._paths), "fps": self.fps}

    def _read(self) -> Optional[Tuple[np.ndarray, None]]:
        import cv2  # type: ignore[import-not-found]

        readable_this_pass = False
        while True:
            if self._next >= len(self._paths):
                # a pass that found nothing readable would loop forever
                if not self.options.get("loop") or not (readable_this_pass or self._index):
                    self.ended = True
                    return None
                self._next = 0
            path = self._paths[self._next]
            self._next += 1
            image = cv2.imread(path, cv2.IMREAD_COLOR)
            if image is None:
                self.skipped += 1
                continue
            readable_this_pass = True
            self.info["path"] = path
            self.info["width"], self.info["height"] = int(image.shape[1]), int(image.shape[0])
            return image, None


class StreamSource(_OpenCvSource):
    """RTSP or HTTP(S) MJPEG stream through OpenCV's FFmpeg backend."""

    kind = "stream"

    @classmethod
    def available(cls) -> Tuple[bool, str]:
        ok, why = _cv2_available()
        if not ok:
            return ok, why
        from edgemnist.live.probe import opencv_backends

        return (True, "") if "FFMPEG" in opencv_backends() else (False, "OpenCV has no FFmpeg")

    def _open(self) -> None:
        cv2 = _require_cv2("network streams")
        shown = mask_url(self.target)
        open_ms = int(1000 * self.options.get("open_timeout", 15.0))
        read_ms = int(1000 * self.options.get("read_timeout", 5.0))
        try:  # bounded waits (OpenCV >= 4.5.2): an unreachable camera must not hang the reader
            params = [
                cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
                open_ms,
                cv2.CAP_PROP_READ_TIMEOUT_MSEC,
                read_ms,
            ]
            cap = cv2.VideoCapture(self.target, cv2.CAP_FFMPEG, params)
        except (AttributeError, TypeError):
            cap = cv2.VideoCapture(self.target, cv2.CAP_FFMPEG)
        if not cap.isOpened():
            cap.release()
            raise SourceError(
                f"cannot open stream {shown}: check the address, that the server is reachable "
                "from here, and the credentials"
            )
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        self._cap = cap
        self.fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.info = {
            "backend": "opencv-ffmpeg",
            "url": shown,
            "width": int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
            "height": int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
            "fps": self.fps,
        }

    def _read(self) -> Optional[Tuple[np.ndarray, None]]:
        ok, image = self._cap.read()
        if not ok or image is None:
            raise SourceError(f"stream {mask_url(self.target)} stopped delivering frames")
        return image, None


# -- GStreamer: CSI and custom pipelines -----------------------------------------------------
#: elements that mark a gst:// pipeline as a live camera or network source
LIVE_ELEMENTS = ("v4l2src", "nvarguscamerasrc", "libcamerasrc", "rtspsrc", "udpsrc", "souphttpsrc")


def is_live_pipeline(pipeline: str) -> bool:
    """Whether a ``gst://`` pipeline is a camera: it starts with a camera or network source
    element, or asks a source for ``is-live=true`` (read newest-wins; reading such a pipeline
    with back-pressure would let frames queue up in the pipe)."""
    text = pipeline.strip()
    first = text.split(" ", 1)[0] if text else ""
    return first in LIVE_ELEMENTS or bool(re.search(r"\bis-live=(true|1)\b", text, re.I))


class GstSource(Source):
    """A GStreamer pipeline ending in raw video (``gst://``), read as BGR frames.

    The route is a ``gst-launch-1.0`` child writing to a pipe (default, needs nothing but
    ``gstreamer1.0-tools``), or OpenCV's GStreamer backend where this OpenCV has one
    (``gst_backend=auto|child|opencv``). The user's pipeline gets
    :func:`~edgemnist.live.gst.custom_tail` appended, so frames have a known size
    (``width`` x ``height``, default 640x480).
    """

    kind = "gst"

    def __init__(self, target: str = "", **options: Any) -> None:
        super().__init__(target, **options)
        self.width = int(self.options.get("width", 640))
        self.height = int(self.options.get("height", 480))
        self.live = bool(self.options.get("live", is_live_pipeline(target)))
        self._child: Optional[gst.GstChild] = None
        self._pending: Optional[np.ndarray] = None

    @classmethod
    def available(cls) -> Tuple[bool, str]:
        if gst.gst_launch_path() or gst.opencv_has_gstreamer():
            return True, ""
        return False, f"neither {gst.GST_LAUNCH} nor OpenCV with GStreamer: {gst.INSTALL_HINT}"

    def pipeline(self) -> str:
        """The pipeline up to raw BGR frames of ``width`` x ``height`` (no sink)."""
        if not self.target.strip():
            raise SourceError("gst:// needs a pipeline, e.g. gst://videotestsrc ! video/x-raw")
        tail = gst.custom_tail(self.width, self.height, self.options.get("fps"), self.flip.name)
        return f"{self.target.strip()} ! {tail}"

    def _flip_in_pipeline(self) -> None:
        self._soft_flip = gst.lookup_flip("none")

    def route(self) -> str:
        """``"child"`` or ``"opencv"``: which way this source will run its pipeline."""
        choice = self.options.get("gst_backend", "auto")
        if choice == "auto":
            return "opencv" if gst.opencv_has_gstreamer() else "child"
        return str(choice)

    def _open(self) -> None:
        self._flip_in_pipeline()
        pipeline = self.pipeline()
        route = self.route()
        self.info = {"width": self.width, "height": self.height, "pixel_format": "BGR"}
        if route == "opencv":
            cv2 = _require_cv2("GStreamer pipelines through OpenCV")
            text = gst.appsink_pipeline(pipeline)
            cap = cv2.VideoCapture(text, cv2.CAP_GSTREAMER)
            if not cap.isOpened():
                cap.release()
                raise SourceError(
                    mask_url(
                        "OpenCV could not start the pipeline (try gst_backend=child to see "
                        f"GStreamer's own message): {text}"
                    )
                )
            self._cap = cap
            self.info.update(backend="opencv-gstreamer", pipeline=text)
            return
        exe = gst.gst_launch_path()
        if exe is None:
            raise SourceError(f"{gst.GST_LAUNCH} not found: {gst.INSTALL_HINT}")
        # a finite pipeline in realtime mode plays at its own rate: fdsink syncs to the clock
        sync = self.realtime and not self.live
        child = gst.GstChild(gst.launch_argv(pipeline, exe, sync=sync), self.width, self.height)
        self.info.update(backend="gst-launch", pipeline=pipeline, command=child.command)
        try:
            child.start()
        except BackendUnavailable as exc:
            raise SourceError(mask_url(str(exc))) from exc
        timeout = float(self.options.get("open_timeout", 15.0))
        try:
            self._pending = child.read_frame(timeout=timeout)
        except gst.ChildEnded as exc:
            child.stop()
            if exc.clean:
                msg = f"the pipeline ended before its first frame: {pipeline}"
                raise SourceError(mask_url(msg)) from exc
            raise SourceError(mask_url(str(exc))) from exc
        except gst.FrameTimeout as exc:
            child.stop()
            raise SourceError(
                mask_url(
                    f"no frame within {timeout:g} s from: {child.command} (camera busy or "
                    "stuck? raise open_timeout if it is slow to start)"
                )
            ) from exc
        except gst.TornFrame as exc:
            child.stop()
            why = gst.explain_failure(child.stderr_text(), None)
            raise SourceError(mask_url(f"{exc}: {why}")) from exc
        except BaseException:  # Ctrl-C while waiting: the child is in its own group, stop it
            child.stop()
            raise
        self._child = child

    def _read(self) -> Optional[Tuple[np.ndarray, None]]:
        if self._child is None:
            ok, image = self._cap.read()
            if ok and image is not None:
                return image, None
            if self.live:
                raise SourceError("the GStreamer pipeline stopped delivering frames")
            self.ended = True
            return None
        if self._pending is not None:
            image, self._pending = self._pending, None
            return image, None
        try:
            return self._child.read_frame(timeout=self.options.get("read_timeout", 5.0)), None
        except gst.TornFrame as exc:
            raise BadFrame(str(exc)) from exc
        except gst.FrameTimeout as exc:
            raise SourceError(mask_url(str(exc))) from exc
        except gst.ChildEnded as exc:
            if not exc.clean or self.live:
                raise SourceError(mask_url(str(exc))) from exc
            if self.options.get("loop"):  # replay: a fresh child from the start
                self._close()
                self._open()
                return self._read()
            self.ended = True
            return None

    def interrupt(self) -> None:
        child = self._child
        if child is not None:
            child.interrupt()

    def _close(self) -> None:
        if self._child is not None:
            self._child.stop()
            self._child = None
        elif getattr(self, "_cap", None) is not None:
            self._cap.release()
            self._cap = None
        self._pending = None

    def describe(self) -> Dict[str, Any]:
        d = super().describe()
        if self._child is not None:
            d["pid"] = self._child.pid
        return d


class CsiSource(GstSource):
    """Jetson CSI camera (``csi://N``, N = sensor-id) through ``nvarguscamerasrc``.

    Unverified on hardware here: the pipeline is NVIDIA's documented one (see
    :func:`~edgemnist.live.gst.csi_pipeline`), flipped by ``nvvidconv`` in hardware.
    """

    kind = "csi"

    def __init__(self, target: str = "", **options: Any) -> None:
        super().__init__(target or "0", **options)
        if not self.target.isdigit():
            raise ConfigError(f"csi://{target}: the sensor id must be a number, e.g. csi://0")
        self.width = int(self.options.get("width", 1280))
        self.height = int(self.options.get("height", 720))
        self.fps = float(self.options.get("fps", 30.0))
        self.live = True

    @classmethod
    def available(cls) -> Tuple[bool, str]:
        ok, why = GstSource.available()
        if not ok:
            return ok, why
        found, why = gst.has_element("nvarguscamerasrc")
        return (True, "") if found else (False, "nvarguscamerasrc missing: csi:// is for Jetson")

    def pipeline(self) -> str:
        return gst.csi_pipeline(
            int(self.target), self.width, self.height, int(round(self.fps)), self.flip.name
        )


# -- Raspberry Pi camera ---------------------------------------------------------------------
PICAMERA2_HINT = (
    "Picamera2 comes from apt, not pip: sudo apt install python3-picamera2, and make the venv "
    "see system packages (python3 -m venv --system-site-packages .venv; see "
    "docs/live-sources.md)"
)
#: flips libcamera's Transform does in the ISP (for free): name -> (hflip, vflip)
PICAM_TRANSFORMS = {
    "none": (0, 0),
    "horizontal-flip": (1, 0),
    "vertical-flip": (0, 1),
    "rotate-180": (1, 1),
}


def picamera2_config(width: int, height: int, fps: float, flip: str) -> Dict[str, Any]:
    """The keyword arguments for ``Picamera2.create_video_configuration``.

    ``"RGB888"`` is libcamera's name for pixels stored B, G, R in memory, which is OpenCV's
    BGR (``"BGR888"`` would give R, G, B). ``transform`` holds ``hflip``/``vflip`` for
    ``libcamera.Transform``; flips it cannot do (90-degree turns) are done after capture.

    Example:
        >>> picamera2_config(640, 480, 30, "rotate-180")["transform"]
        {'hflip': 1, 'vflip': 1}
    """
    hv = PICAM_TRANSFORMS.get(gst.lookup_flip(flip).name, (0, 0))
    return {
        "main": {"size": (int(width), int(height)), "format": "RGB888"},
        "controls": {"FrameRate": float(fps)},
        "transform": {"hflip": hv[0], "vflip": hv[1]},
    }


class PicamSource(Source):
    """Raspberry Pi camera module (``picam://N``) through Picamera2 (libcamera).

    Unverified on hardware here; the configuration is built by :func:`picamera2_config`.
    """

    kind = "picam"

    @classmethod
    def available(cls) -> Tuple[bool, str]:
        from edgemnist.runners.base import module_available

        ok, why = module_available("picamera2")
        return (True, "") if ok else (False, f"{why}; {PICAMERA2_HINT}")

    def _open(self) -> None:
        try:
            from libcamera import Transform  # type: ignore[import-not-found]
            from picamera2 import Picamera2  # type: ignore[import-not-found]
        except ImportError as exc:
            raise SourceError(f"picamera2 is not importable ({exc}): {PICAMERA2_HINT}") from exc
        num = int(self.target or 0)
        width = int(self.options.get("width", 640))
        height = int(self.options.get("height", 480))
        fps = float(self.options.get("fps", 30.0))
        kwargs = picamera2_config(width, height, fps, self.flip.name)
        kwargs["transform"] = Transform(**kwargs["transform"])
        if self.flip.name in PICAM_TRANSFORMS:
            self._soft_flip = gst.lookup_flip("none")
        try:
            cam = Picamera2(num)
            config = cam.create_video_configuration(**kwargs)
            cam.configure(config)
            cam.start()
        except Exception as exc:  # libcamera raises IndexError/RuntimeError without a camera
            raise SourceError(
                f"cannot start Raspberry Pi camera {num} ({type(exc).__name__}: {exc}): check "
                "the ribbon cable, that no other program uses it, and rpicam-hello "
                "--list-cameras"
            ) from exc
        self._cam = cam
        self.fps = fps
        size = config.get("main", {}).get("size", (width, height))
        self.info = {
            "backend": "picamera2",
            "camera": num,
            "width": int(size[0]),
            "height": int(size[1]),
            "fps": fps,
            "pixel_format": "RGB888 (BGR in memory)",
            "config": picamera2_config(width, height, fps, self.flip.name),
        }

    def _read(self) -> Optional[Tuple[np.ndarray, None]]:
        try:
            image = self._cam.capture_array("main")
        except Exception as exc:
            raise SourceError(f"Raspberry Pi camera stopped ({type(exc).__name__}: {exc})") from exc
        if image.ndim == 3 and image.shape[2] == 4:  # XRGB8888 if a platform forces it
            image = image[:, :, :3]
        return image, None

    def _close(self) -> None:
        try:
            self._cam.stop()
        finally:
            self._cam.close()


# -- synthetic -------------------------------------------------------------------------------
class SyntheticSource(Source):
    """``synthetic://?digits=1-4&fps=30&seed=0&frames=N``: the built-in camera over MNIST test
    digits (``edgemnist.live.synthetic``, which parses the query). Frames carry their ground
    truth; ``frames=N`` ends the stream after N frames (``loop`` replays them)."""

    kind = "synthetic"
    live = False

    @classmethod
    def available(cls) -> Tuple[bool, str]:
        from edgemnist.runners.base import module_available

        ok, why = module_available("edgemnist.live.synthetic")
        return (True, "") if ok else (False, why)

    def _open(self) -> None:
        try:
            synthetic = importlib.import_module("edgemnist.live.synthetic")
        except ImportError as exc:
            raise SourceError(f"synthetic:// is not available in this install ({exc})") from exc
        params = synthetic.parse_synthetic_options(self.target)
        self._camera = synthetic.SyntheticCamera(params)
        self.fps = float(self._camera.fps)
        if dataclasses.is_dataclass(params) and not isinstance(params, type):
            shown = dataclasses.asdict(params)
        else:
            shown = dict(params)
        self.info = {
            "backend": "synthetic",
            "options": shown,
            "fps": self.fps,
            "width": shown.get("width"),
            "height": shown.get("height"),
            "pixel_format": "BGR",
        }

    def _read(self) -> Optional[Tuple[np.ndarray, Optional[List[Dict[str, Any]]]]]:
        try:
            image, truth = self._camera.next_frame()
        except StopIteration:
            if not self.options.get("loop") or self._camera.index == 0:
                self.ended = True
                return None
            self._camera.index = 0  # frames are a pure function of their number: replay
            image, truth = self._camera.next_frame()
        return image, truth


# -- the table -------------------------------------------------------------------------------
#: how a row reads ``scheme://rest`` into ``(kind override or None, target, options)``
Split = Callable[[str, str], Tuple[Optional[str], str, Dict[str, Any]]]


def _split_path(uri: str, rest: str) -> Tuple[Optional[str], str, Dict[str, Any]]:
    """``csi://0?flip=rotate-180``: a target, then source options in the query."""
    target, _, query = rest.partition("?")
    return None, target, dict(parse_qsl(query, keep_blank_values=True)) if query else {}


def _split_file(uri: str, rest: str) -> Tuple[Optional[str], str, Dict[str, Any]]:
    """``file:///data/x``: a folder or image is still read as images, anything else as video."""
    _, target, options = _split_path(uri, rest)
    return _bare_kind(target or "/"), target or "/", options


def _split_whole(uri: str, rest: str) -> Tuple[Optional[str], str, Dict[str, Any]]:
    """``rtsp://user:pw@host/x?y``: the whole URI is the target (its query is the server's)."""
    return None, uri, {}


def _split_rest(uri: str, rest: str) -> Tuple[Optional[str], str, Dict[str, Any]]:
    """``gst://a ! b``: everything after the scheme is the target, verbatim."""
    return None, rest.strip(), {}


def _split_query(uri: str, rest: str) -> Tuple[Optional[str], str, Dict[str, Any]]:
    """``synthetic://?digits=1-4``: the query is the target (the generator parses it)."""
    return None, rest.partition("?")[2], {}


@dataclass(frozen=True)
class SourceKind:
    """One row of the sources table."""

    #: kind name used in reports
    name: str
    #: URI schemes that select it (``csi`` for ``csi://0``)
    schemes: Tuple[str, ...]
    #: the class as ``"module:Class"``, imported when used
    source: str
    #: example URIs for help and error messages
    example: str
    #: one line for help and docs
    description: str
    #: how the part after ``scheme://`` is read
    split: Split = _split_path


_M = "edgemnist.live.sources"
SOURCES: Tuple[SourceKind, ...] = (
    SourceKind("v4l2", ("v4l2",), f"{_M}:V4l2Source", "0, /dev/video0, v4l2:///dev/video0",
               "USB / V4L2 camera (OpenCV V4L2 backend, MJPG asked)"),
    SourceKind("csi", ("csi",), f"{_M}:CsiSource", "csi://0",
               "Jetson CSI camera (nvarguscamerasrc through a gst-launch child)"),
    SourceKind("picam", ("picam",), f"{_M}:PicamSource", "picam://0",
               "Raspberry Pi camera module (Picamera2)"),
    SourceKind("video", ("file",), f"{_M}:VideoFileSource", "clip.mp4, file:///data/clip.avi",
               "video file", _split_file),
    SourceKind("images", (), f"{_M}:ImageFolderSource", "photos/, 'photos/*.png'",
               "folder or glob of images (sorted)"),
    SourceKind("stream", ("rtsp", "rtsps", "http", "https"), f"{_M}:StreamSource",
               "rtsp://host:8554/cam, http://host:8080/video.mjpg",
               "network stream: RTSP or MJPEG over HTTP (OpenCV FFmpeg backend)", _split_whole),
    SourceKind("gst", ("gst",), f"{_M}:GstSource", "gst://videotestsrc ! video/x-raw",
               "any GStreamer pipeline ending in raw video", _split_rest),
    SourceKind("synthetic", ("synthetic",), f"{_M}:SyntheticSource",
               "synthetic://?digits=1-4&fps=30&seed=0",
               "moving camera over MNIST test digits, with ground truth", _split_query),
)  # fmt: skip


def lookup_kind(name: str) -> SourceKind:
    """The row named ``name``."""
    for row in SOURCES:
        if row.name == name:
            return row
    known = ", ".join(k.name for k in SOURCES)
    raise ConfigError(f"unknown source kind {name!r}: known are {known}")


def supported_schemes() -> str:
    """One line listing every accepted form, for error messages."""
    return "; ".join(f"{k.name}: {k.example}" for k in SOURCES)


@dataclass(frozen=True)
class ParsedUri:
    """A source URI split into its row, its target and the options found in its query."""

    kind: SourceKind
    target: str
    options: Dict[str, Any]


def _bare_kind(text: str) -> str:
    """The kind of a scheme-less source: camera index, device node, folder, glob, file."""
    if text.isdigit() or text.startswith(("/dev/video", "/dev/v4l/")):
        return "v4l2"
    if any(c in text for c in "*?[") or os.path.isdir(text):
        return "images"
    if text.lower().endswith(IMAGE_SUFFIXES):
        return "images"
    if os.path.exists(text):
        return "video"
    raise ConfigError(
        f"no such file or folder, and not a source URI: {text!r}. Supported: {supported_schemes()}"
    )


def parse_uri(uri: str) -> ParsedUri:
    """Split ``uri`` by the :data:`SOURCES` table.

    Raises:
        ConfigError: unsupported scheme or a path that does not exist (the message lists the
            supported forms).
    """
    text = str(uri).strip()
    if not text:
        raise ConfigError(f"empty source. Supported: {supported_schemes()}")
    m = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://(.*)$", text, re.S)
    if not m:
        return ParsedUri(lookup_kind(_bare_kind(text)), text, {})
    scheme = m.group(1).lower()
    row = next((k for k in SOURCES if scheme in k.schemes), None)
    if row is None:
        raise ConfigError(
            f"unsupported source scheme {scheme}://. Supported: {supported_schemes()}"
        )
    override, target, options = row.split(text, m.group(2))
    return ParsedUri(lookup_kind(override) if override else row, target, options)


def source_class(kind: SourceKind) -> type:
    """Import the class of a row."""
    module, _, name = kind.source.partition(":")
    return getattr(importlib.import_module(module), name)


def make_source(uri: str, **options: Any) -> Source:
    """Build (not open) the source for ``uri``; ``options`` override those in the URI query.

    Args:
        uri: see the module table (``0``, ``csi://0``, ``clip.mp4``, ``synthetic://?...``).
        options: width, height, fps, fourcc, flip, loop, realtime, gst_backend, open_timeout,
            read_timeout, live (None values are ignored).
    """
    parsed = parse_uri(uri)
    merged = dict(parsed.options)
    merged.update({k: v for k, v in options.items() if v is not None})
    return source_class(parsed.kind)(parsed.target, **merged)


def open_source(uri: str, **options: Any) -> Source:
    """Build and open the source for ``uri`` (see :func:`make_source`).

    Example:
        >>> with open_source("photos/", loop=True) as src:  # doctest: +SKIP
        ...     frame = src.read()
    """
    return make_source(uri, **options).open()
