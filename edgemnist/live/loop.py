"""The live loop: newest frame -> detect -> prepare -> one batched infer -> track -> sinks.

One clock (``time.monotonic``, the clock ``Frame.t_capture`` is read from) times every stage of
every frame:

==========  ==================================================================================
capture     waiting for a frame newer than the last one (the capture thread keeps one slot)
detect      finding digit boxes (adaptive threshold, components, filters)
prepare     the MNIST preparation of every crop (the same function ``predict`` uses)
infer       one batched runner call for all crops of the frame (argmax, confidence)
track       associating boxes with tracks, voting, the reading string
draw        annotating the frame: only when someone needs pixels (window, viewer, recording)
encode      JPEG for the web view: only while a viewer is connected or a snapshot waits
output      JSONL line, window, recording, saved digits
==========  ==================================================================================

"Processing" is detect + prepare + infer + track + draw. The frame age at result is the clock
after the frame's outputs minus its capture time. Statistics are kept in bounded memory
(:mod:`edgemnist.live.stats`); nothing grows per frame.

Shutdown: :meth:`LiveLoop.stop` (thread-safe; the SIGTERM / SIGINT handlers of
:func:`stop_on_signals` call it) ends the loop after the current frame; :func:`run_live` then
stops the capture thread (camera released), the web server, the window and closes every file,
and returns the summary. A frame that cannot be processed is skipped and counted, never fatal.
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Iterator,
    List,
    Optional,
    Sequence,
    Tuple,
)

from edgemnist.errors import ConfigError, InputError
from edgemnist.live.stats import LiveStats
from edgemnist.live.types import Box, Detection, Frame, Read, TrackState

if TYPE_CHECKING:
    import numpy as np

    from edgemnist.live.jsonl import JsonlWriter
    from edgemnist.live.record import DigitSaver, VideoRecorder
    from edgemnist.live.web import WebView
    from edgemnist.live.window import Window

#: seconds between two live status updates (terminal line, /stats.json)
STATUS_EVERY_S = 0.5
#: seconds the loop waits for a frame before it looks at the stop flag and the source state
GET_TIMEOUT_S = 0.2
#: JPEG quality of the web view (80: ~35 kB per 640x480 frame, sharp digits)
JPEG_QUALITY = 80
#: this many frames in a row failing in the stages is a bug, not bad frames: stop with it
MAX_FAILED_FRAMES = 30
#: a frame within this many seconds means the source delivers, whatever its state says
FRESH_S = 1.0


@dataclass
class Stages:
    """The per-frame functions, so tests and benchmarks can swap one (all plain functions).

    Attributes:
        detect: ``(image, roi) -> [Detection]``.
        prepare: ``(image, detections) -> (N, 28, 28) uint8``.
        classify: ``(digits) -> [(digit or None, confidence)]``: one batched infer.
        update: ``(reads, t) -> [TrackState]`` (the tracker; sets ``Read.track``).
        reading: ``(tracks) -> str``, the stable digits in reading order.
        order: ``(reads) -> reads`` in reading order (line by line, left to right).
    """

    detect: Callable[[np.ndarray, Optional[Box]], List[Detection]]
    prepare: Callable[[np.ndarray, List[Detection]], np.ndarray]
    classify: Callable[[np.ndarray], List[Tuple[Optional[int], float]]]
    update: Callable[[List[Read], float], List[TrackState]]
    reading: Callable[[List[TrackState]], str]
    order: Callable[[List[Read]], List[Read]]


def default_stages(runner: Any, detect_params: Any = None, track_params: Any = None) -> Stages:
    """The real stages: :mod:`detect`, :mod:`read` (with ``runner``) and :mod:`track`."""
    from edgemnist.live import detect, read, track

    tracker = track.Tracker(track_params) if track_params is not None else track.Tracker()

    def classify(digits: np.ndarray) -> List[Tuple[Optional[int], float]]:
        return read.classify_batch(runner, digits)

    return Stages(
        detect=lambda image, roi: detect.detect_digits(image, roi=roi, params=detect_params),
        prepare=read.prepare_crops,
        classify=classify,
        update=tracker.update,
        reading=track.reading,
        order=reading_order,
    )


def reading_order(reads: Sequence[Read]) -> List[Read]:
    """Reads in reading order: the lines of the reading string (:func:`track.reading_lines`)."""
    from edgemnist.live.track import reading_lines

    return [r for line in reading_lines(reads) for r in line]


def frame_problem(image: Any) -> Optional[str]:
    """Why ``image`` cannot be processed (a torn or garbage frame), or None when it can."""
    import numpy as np

    if not isinstance(image, np.ndarray):
        return f"not an image ({type(image).__name__})"
    if image.dtype != np.uint8:
        return f"pixel type {image.dtype}, expected uint8"
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3)):
        return f"shape {image.shape}, expected (H, W) or (H, W, 3)"
    if min(image.shape[:2]) < 8:
        return f"frame of {image.shape[1]}x{image.shape[0]} px"
    return None


@dataclass
class Sinks:
    """Where results go; every one optional. The loop owns none of them (``run_live`` does)."""

    window: Optional[Window] = None
    web: Optional[WebView] = None
    jsonl: Optional[JsonlWriter] = None
    recorder: Optional[VideoRecorder] = None
    digits: Optional[DigitSaver] = None

    def need_pixels(self) -> bool:
        """Whether this frame must be drawn: a window, a watching web viewer, a recording."""
        return (
            self.window is not None
            or self.recorder is not None
            or (self.web is not None and self.web.watching())
        )


@dataclass
class _Last:
    """The latest processed frame, to redraw with an alert while the source is down."""

    image: Any = None
    reads: List[Read] = field(default_factory=list)
    tracks: List[TrackState] = field(default_factory=list)
    reading: str = ""


class LiveLoop:
    """Run the stages over a capture's newest frames until told to stop.

    Args:
        capture: the capture thread (``get(timeout)``, ``state``, counters, ``ended``).
        stages: the per-frame functions (:func:`default_stages`).
        sinks: outputs.
        roi: region of interest ``(x, y, w, h)`` handed to detection.
        frames: stop after this many processed frames (None: no limit).
        duration: stop after this many seconds (None: no limit).
        on_status: called every :data:`STATUS_EVERY_S` with the live status dict.
        info: facts merged into the status and summary (source, model, backend).
        clock: the one clock (``time.monotonic``).
    """

    def __init__(
        self,
        capture: Any,
        stages: Stages,
        sinks: Optional[Sinks] = None,
        roi: Optional[Box] = None,
        frames: Optional[int] = None,
        duration: Optional[float] = None,
        on_status: Optional[Callable[[Dict[str, Any]], None]] = None,
        info: Optional[Dict[str, Any]] = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if frames is not None and frames < 1:
            raise ConfigError("--frames must be 1 or more")
        if duration is not None and not duration > 0:
            raise ConfigError("--duration must be more than 0 seconds")
        self.capture = capture
        self.stages = stages
        self.sinks = sinks or Sinks()
        self.roi = roi
        self.max_frames = frames
        self.duration = duration
        self.on_status = on_status
        self.info = dict(info or {})
        self.clock = clock
        self.stats = LiveStats()
        self.stop_reason: Optional[str] = None
        self._stop = threading.Event()
        self._last = _Last()
        self._last_status = -math.inf
        self._last_alert_draw = -math.inf
        self.t_start = math.nan
        #: problems of skipped frames, most recent last (bounded)
        self.skip_reasons: List[str] = []
        self._failures = 0  # frames in a row the stages failed on
        self._t_frame = -math.inf  # the clock when the last frame arrived

    # -- control --------------------------------------------------------------------------------
    def stop(self, reason: str = "stopped") -> None:
        """Ask the loop to finish after the current frame (thread- and signal-safe)."""
        if self.stop_reason is None:
            self.stop_reason = reason
        self._stop.set()

    @property
    def stopping(self) -> bool:
        """True once :meth:`stop` was called."""
        return self._stop.is_set()

    # -- the loop -------------------------------------------------------------------------------
    def run(self) -> Dict[str, Any]:
        """Process frames until stopped, the limit is reached or the source ends.

        Returns:
            The summary (:meth:`summary`).
        """
        clock = self.clock
        self.t_start = clock()
        self.stats.start(self.t_start)
        while not self._stop.is_set():
            t0 = clock()
            if self.duration is not None and t0 - self.t_start >= self.duration:
                self.stop("duration")
                break
            frame = self.capture.get(GET_TIMEOUT_S)
            t1 = clock()
            if frame is None:
                if getattr(self.capture, "ended", False):
                    self.stop("end of source")
                    break
                self._idle(t1)
                continue
            self._t_frame = t1
            self._process(frame, t1 - t0)
            if self.max_frames is not None and self.stats.frames >= self.max_frames:
                self.stop("frames")
            self._maybe_status(clock())
        self.stop("stopped")
        return self.summary()

    def _process(self, frame: Frame, waited: float) -> None:
        """One frame through every stage; a frame that cannot be processed is skipped."""
        clock, st, sinks = self.clock, self.stages, self.sinks
        problem = frame_problem(frame.image)
        if problem is not None:
            self._skip(frame, problem)
            return
        image = frame.image
        times: Dict[str, float] = {"capture": waited}
        t = clock()
        try:
            detections = st.detect(image, self.roi)
            t2 = clock()
            digits = st.prepare(image, detections) if detections else None
            t3 = clock()
            results = st.classify(digits) if digits is not None and len(digits) else []
            t4 = clock()
        except Exception as exc:
            # a frame the stages cannot handle (OpenCV refusing a malformed image, an
            # unusable crop) is skipped; the same failure frame after frame is a bug: raise
            self._failures += 1
            self._skip(frame, _one_line(exc))
            if self._failures >= MAX_FAILED_FRAMES:
                raise
            return
        self._failures = 0
        reads = [
            Read(box=tuple(int(v) for v in d.box), digit=digit, confidence=float(conf))  # type: ignore[arg-type]
            for d, (digit, conf) in zip(detections, results)
        ]
        tracks = st.update(reads, frame.t_capture)
        reading = st.reading(tracks)
        ordered = st.order(reads)
        t5 = clock()
        times.update(detect=t2 - t, prepare=t3 - t2, infer=t4 - t3, track=t5 - t4)

        annotated = None
        if sinks.need_pixels():
            annotated = self._draw(image, ordered, tracks, reading)
            t6 = clock()
            times["draw"] = t6 - t5
            t5 = t6
        if sinks.web is not None and sinks.web.watching() and annotated is not None:
            sinks.web.publish_jpeg(encode_jpeg(annotated))
            t6 = clock()
            times["encode"] = t6 - t5
            t5 = t6
        record = None
        if sinks.jsonl is not None or sinks.web is not None:
            from edgemnist.live.jsonl import frame_record

            record = frame_record(
                frame.index, frame.t_capture - self.t_start, ordered, tracks, reading, time.time()
            )
        if sinks.jsonl is not None:
            sinks.jsonl.write(record)  # type: ignore[arg-type]
        if sinks.web is not None:
            sinks.web.publish_info(detections=record)
        if sinks.recorder is not None and annotated is not None:
            sinks.recorder.write(annotated)
        if sinks.digits is not None:
            self._save_digits(frame.index, reads, tracks, digits)
        if sinks.window is not None and annotated is not None and not sinks.window.show(annotated):
            self.stop("window closed")
        t_end = clock()
        times["output"] = t_end - t5
        self.stats.frame_done(times, t_end - frame.t_capture, t_end)
        self._last = _Last(image, ordered, tracks, reading)

    def _skip(self, frame: Frame, problem: str) -> None:
        self.stats.skipped()
        self.skip_reasons.append(f"frame {frame.index}: {problem}")
        del self.skip_reasons[:-10]

    def _save_digits(
        self,
        index: int,
        reads: List[Read],
        tracks: List[TrackState],
        digits: Optional[np.ndarray],
    ) -> None:
        saver = self.sinks.digits
        assert saver is not None
        stable = {t.id: t for t in tracks if t.stable and t.digit is not None}
        if digits is not None:
            for i, r in enumerate(reads):
                track = stable.get(r.track) if r.track is not None else None
                if track is not None and saver.wants(track.id):
                    saver.save(index, track.id, int(track.digit), digits[i])  # type: ignore[arg-type]
        saver.forget({t.id for t in tracks})

    def _draw(
        self, image: np.ndarray, reads: List[Read], tracks: List[TrackState], reading: str
    ) -> np.ndarray:
        from edgemnist.live.draw import draw_frame, status_line

        status = status_line(self.stats.snapshot(), reading, self._counter("dropped"))
        return draw_frame(image, reads, tracks, status, alert=self.alert(), roi=self.roi)

    def _idle(self, now: float) -> None:
        """No new frame: keep the status current, and show an alert over the last frame."""
        self._maybe_status(now)
        alert = self.alert()
        last = self._last
        if alert is None or last.image is None or not self.sinks.need_pixels():
            return
        if now - self._last_alert_draw < STATUS_EVERY_S:
            return
        self._last_alert_draw = now
        annotated = self._draw(last.image, last.reads, last.tracks, last.reading)
        if self.sinks.web is not None and self.sinks.web.watching():
            self.sinks.web.publish_jpeg(encode_jpeg(annotated))
        if self.sinks.window is not None and not self.sinks.window.show(annotated):
            self.stop("window closed")

    # -- status ---------------------------------------------------------------------------------
    def _counter(self, name: str) -> Optional[int]:
        value = getattr(self.capture, name, None)
        return int(value) if isinstance(value, (int, float)) else None

    def source_state(self) -> str:
        """The capture's state (``"running"``, ``"reconnecting: ..."``, ...).

        "reconnecting" while frames still arrive (a read that was merely slow, e.g. a starved
        generator, can trip the watchdog) is shown as "running": what a viewer needs to know
        is whether frames come, and they do.
        """
        state = str(getattr(self.capture, "state", "running") or "running")
        if state.startswith("reconnecting") and self.clock() - self._t_frame < FRESH_S:
            return "running"
        return state

    def alert(self) -> Optional[str]:
        """A banner when the source is not delivering (``camera lost - reconnecting ...``)."""
        state = self.source_state()
        if not state.startswith("reconnecting"):
            return None
        why = state.partition(":")[2].strip()
        reopens = self._counter("reopens")
        done = f", {reopens} reopened so far" if reopens else ""
        return f"camera lost - reconnecting ({why}{done})" if why else "camera lost - reconnecting"

    def capture_counters(self) -> Dict[str, Optional[int]]:
        """Frames captured, dropped (replaced by newer ones), reopens, bad frames."""
        return {k: self._counter(k) for k in ("frames", "dropped", "reopens", "bad_frames")}

    def status(self) -> Dict[str, Any]:
        """The live status: recent timing, counters, source state, reading."""
        out: Dict[str, Any] = dict(self.info)
        out.update(self.stats.snapshot())
        out["frames"] = self.stats.frames
        out["skipped"] = self.stats.skipped_frames
        counters = self.capture_counters()
        out["captured"] = counters["frames"]
        out["dropped"] = counters["dropped"]
        out["reopens"] = counters["reopens"]
        out["state"] = self.source_state()
        out["reading"] = self._last.reading
        out["elapsed_s"] = round(self.clock() - self.t_start, 1)
        return out

    def _maybe_status(self, now: float) -> None:
        if now - self._last_status < STATUS_EVERY_S:
            return
        self._last_status = now
        status = self.status()
        if self.sinks.web is not None:
            self.sinks.web.publish_info(stats=status)
        if self.on_status is not None:
            self.on_status(status)

    def summary(self) -> Dict[str, Any]:
        """Whole-run numbers: p50/p90/p99 per stage, processing, frame age, FPS, counters."""
        out: Dict[str, Any] = dict(self.info)
        out["stopped_by"] = self.stop_reason
        out.update(self.stats.summary())
        out["capture"] = self.capture_counters()
        out["state"] = self.source_state()
        out["reading"] = self._last.reading
        if self.skip_reasons:
            out["skip_reasons"] = list(self.skip_reasons)
        return out


def encode_jpeg(image: np.ndarray, quality: int = JPEG_QUALITY) -> bytes:
    """``image`` as JPEG bytes."""
    import cv2

    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise InputError("OpenCV could not encode a JPEG of the annotated frame")
    return buf.tobytes()


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[-1].strip() if lines else ''}"


class StartupInterrupted(Exception):
    """SIGTERM arrived before the loop started: unwind (closing what was opened) and stop."""


class SignalStop:
    """Where :func:`stop_on_signals` sends a signal: the loop once it runs (``loop``), or an
    exception that unwinds the start-up while there is none yet."""

    def __init__(self, loop: Optional[LiveLoop] = None) -> None:
        self.loop = loop

    def on_term(self, signum: int, _frame: Any) -> None:
        if self.loop is None:
            raise StartupInterrupted("SIGTERM")
        self.loop.stop("SIGTERM")

    def on_int(self, signum: int, _frame: Any) -> None:
        if self.loop is None or self.loop.stopping:
            raise KeyboardInterrupt
        self.loop.stop("Ctrl-C")


@contextlib.contextmanager
def stop_on_signals(loop: Optional[LiveLoop] = None) -> Iterator[SignalStop]:
    """SIGTERM and the first Ctrl-C stop the loop cleanly; a second Ctrl-C interrupts at once.

    Before a loop is set (``with stop_on_signals() as s: ...; s.loop = loop``), SIGTERM raises
    :class:`StartupInterrupted` and Ctrl-C ``KeyboardInterrupt``, so a stop while the camera
    or the model is still opening unwinds and closes what was opened (a ``gst-launch`` child
    would otherwise outlive the process and keep the camera busy). Only in the main thread
    (Python delivers signals there); elsewhere a no-op. The previous handlers are restored.
    """
    target = SignalStop(loop)
    if threading.current_thread() is not threading.main_thread():
        yield target
        return
    previous = {
        signal.SIGTERM: signal.signal(signal.SIGTERM, target.on_term),
        signal.SIGINT: signal.signal(signal.SIGINT, target.on_int),
    }
    try:
        yield target
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


# -- everything together ----------------------------------------------------------------------
@dataclass
class LiveConfig:
    """What ``edgemnist live`` was asked to do (the CLI fills it; benchmarks too)."""

    source: str
    artifact: Path
    backend: str = "auto"
    runner_options: Dict[str, Any] = field(default_factory=dict)
    source_options: Dict[str, Any] = field(default_factory=dict)
    roi: Optional[Box] = None
    web: Optional[str] = None
    token: Optional[str] = None
    max_viewers: int = 4
    jsonl: Optional[Path] = None
    record: Optional[Path] = None
    save_digits: Optional[Path] = None
    show: bool = False
    frames: Optional[int] = None
    duration: Optional[float] = None


def parse_roi(text: Optional[str]) -> Optional[Box]:
    """``"x,y,w,h"`` -> a box; None stays None.

    Raises:
        ConfigError: not four integers with a positive width and height.
    """
    if text is None or not str(text).strip():
        return None
    try:
        x, y, w, h = (int(v) for v in str(text).split(","))
    except ValueError:
        raise ConfigError(
            f"--roi {text!r}: expected x,y,w,h in pixels, e.g. 100,80,440,200"
        ) from None
    if w <= 0 or h <= 0 or x < 0 or y < 0:
        raise ConfigError(f"--roi {text!r}: x and y must be >= 0, width and height > 0")
    return (x, y, w, h)


def run_live(
    config: LiveConfig,
    on_start: Optional[Callable[[Dict[str, Any]], None]] = None,
    on_status: Optional[Callable[[Dict[str, Any]], None]] = None,
    stages: Optional[Callable[[Any], Stages]] = None,
    source: Any = None,
) -> Dict[str, Any]:
    """Open the model, the source and the sinks, run the loop, close everything.

    Args:
        config: what to run.
        on_start: called once everything is open, with the start info (source as granted,
            backend, the web URL, fallback note).
        on_status: called with the live status every :data:`STATUS_EVERY_S`.
        stages: builds the stages from the loaded runner (default :func:`default_stages`).
        source: an already built (not opened) source object to use instead of ``config.source``
            (benchmarks pass a pre-rendered one).

    Returns:
        The summary (see :meth:`LiveLoop.summary`), with ``outputs``.
    """
    with stop_on_signals() as signals, contextlib.ExitStack() as stack:
        try:
            loop, runner, src, capture, sinks, outputs = _start(config, stages, source, stack)
        except StartupInterrupted:
            return {"source": config.source, "model": str(config.artifact), "frames": 0,
                    "stopped_by": "SIGTERM before the first frame"}  # fmt: skip
        signals.loop = loop  # from here on a signal stops the loop instead of unwinding
        loop.on_status = on_status
        if on_start is not None:
            start = dict(loop.info)
            start["runner"] = dict(runner.info)
            start["fallback_reason"] = getattr(runner, "fallback_reason", None)
            start["web_url"] = outputs.get("web")
            on_start(start)
        summary = loop.run()
        capture.stop()
        summary["source_info"] = _describe(src)
        summary["runner"] = dict(runner.info)
    # every sink is closed here (ExitStack), so the outputs can report what was written
    if sinks.jsonl is not None:
        outputs["jsonl_lines"] = sinks.jsonl.lines
    if sinks.recorder is not None:
        outputs["record_frames"] = sinks.recorder.frames
    if sinks.digits is not None:
        outputs["digits_saved"] = len(list(Path(config.save_digits or ".").glob("*.png")))
    summary["outputs"] = outputs
    return summary


def _start(
    config: LiveConfig,
    stages: Optional[Callable[[Any], Stages]],
    source: Any,
    stack: contextlib.ExitStack,
) -> Tuple[LiveLoop, Any, Any, Any, Sinks, Dict[str, Any]]:
    """Open the model, the sinks and the source (each close registered on ``stack``)."""
    from edgemnist.live.capture import Capture
    from edgemnist.live.sources import make_source
    from edgemnist.runners.open import open_runner

    runner = open_runner(config.artifact, backend=config.backend, **config.runner_options)
    stack.enter_context(runner)  # loads
    warm_up(runner)
    src = source if source is not None else make_source(config.source, **config.source_options)
    sinks, outputs = _open_sinks(config, src, stack)
    capture = Capture(src)
    stack.callback(capture.stop)
    capture.start()
    info: Dict[str, Any] = {
        "source": config.source,
        "model": str(config.artifact),
        "backend": runner.info.get("backend", getattr(runner, "name", "?")),
    }
    loop = LiveLoop(
        capture,
        (stages or default_stages)(runner),
        sinks,
        roi=config.roi,
        frames=config.frames,
        duration=config.duration,
        info=info,
    )
    return loop, runner, src, capture, sinks, outputs


def _describe(src: Any) -> Dict[str, Any]:
    try:
        return dict(src.describe())
    except Exception as exc:  # a report must not fail on a closed source
        return {"error": str(exc)}


def warm_up(runner: Any) -> None:
    """One untimed batch, so the first frame's p99 does not carry the backend's lazy setup."""
    import numpy as np

    from edgemnist.constants import normalize

    runner.infer(normalize(np.zeros((4, 28, 28), np.uint8)).astype(np.float32))


def _open_sinks(
    config: LiveConfig, src: Any, stack: contextlib.ExitStack
) -> Tuple[Sinks, Dict[str, Any]]:
    """Open every asked-for sink, registering its close on ``stack``."""
    sinks = Sinks()
    outputs: Dict[str, Any] = {}
    if config.jsonl is not None:
        from edgemnist.live.jsonl import JsonlWriter

        sinks.jsonl = stack.enter_context(JsonlWriter(config.jsonl))
        outputs["jsonl"] = str(config.jsonl)
    if config.record is not None:
        from edgemnist.live.record import VideoRecorder

        fps = float(config.source_options.get("fps") or getattr(src, "fps", 0) or 30.0)
        sinks.recorder = VideoRecorder(config.record, fps=fps)
        stack.callback(sinks.recorder.close)
        outputs["record"] = str(config.record)
    if config.save_digits is not None:
        from edgemnist.live.record import DigitSaver

        sinks.digits = DigitSaver(config.save_digits)
        outputs["digits"] = str(config.save_digits)
    if config.web is not None:
        from edgemnist.live.web import WebView, parse_bind

        host, port = parse_bind(config.web)
        sinks.web = WebView(host, port, token=config.token, max_viewers=config.max_viewers)
        stack.enter_context(sinks.web)
        outputs["web"] = sinks.web.url
    if config.show:
        from edgemnist.live.window import Window

        sinks.window = stack.enter_context(Window())
    return sinks, outputs
