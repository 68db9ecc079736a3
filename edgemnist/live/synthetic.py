"""``synthetic://``: a camera moving over sheets of paper with MNIST **test** digits, with truth.

Each sheet holds 1-4 test digits written dark on light paper at realistic sizes (40-120 px tall
at 640x480), either on one line like a number or scattered, never overlapping (unless
``touching`` asks for touching pairs). The paper may be ruled (faint blue lines the digits sit
on, sometimes darker printed ones), has specks of dust, a tint and uneven light. A hand-held
camera drifts, zooms, rotates and tilts slowly over it (one homography per frame); on top come a
moving soft shadow, vignetting, auto-exposure drift, sensor noise, blur and optionally JPEG
compression. Every ``sheet_every`` frames the sheet is replaced by a new one.

Ground truth per frame is a list of ``{"box": [x, y, w, h], "digit": d, "id": i}`` (``id``
names one digit across the frames of its sheet): the box is the
bounding box of the digit's ink (coverage >= 0.35) mapped through the frame's homography, so it
is what a careful human would draw. Ruled lines and specks are distractors, not in the truth.

Everything random comes from ``seed``: frame ``n`` is a pure function of ``(options, n)``, so
two cameras with the same options give identical frames (tests check a checksum).

Example:
    >>> cam = SyntheticCamera(parse_synthetic_options("digits=1-4&seed=3"))  # doctest: +SKIP
    >>> image, truth = cam.next_frame()  # doctest: +SKIP
    >>> image.shape, truth[0]["digit"]  # doctest: +SKIP
    ((480, 640, 3), 7)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, Dict, Iterator, List, Optional, Tuple

import numpy as np

from edgemnist.errors import ConfigError

#: ink coverage (0..1 of full ink) a pixel needs to count in the truth box
TRUTH_COVERAGE = 0.35


@dataclass
class SyntheticOptions:
    """Options of ``synthetic://?key=value&...`` (every key optional)."""

    #: digits per sheet: ``"1-4"`` (a range) or ``"3"``
    digits: Tuple[int, int] = (1, 4)
    #: frames per second the camera claims (and paces at when a source runs in real time)
    fps: float = 30.0
    seed: int = 0
    width: int = 640
    height: int = 480
    #: stop after this many frames (None: endless)
    frames: Optional[int] = None
    #: frames per sheet of paper before the next sheet is shown
    sheet_every: int = 90
    #: digit ink height range in pixels at the reference pose: ``"40-120"``
    size: Tuple[int, int] = (40, 120)
    #: strongest sensor noise (std of gray levels); each sheet draws 0.3-1x of it
    noise: float = 4.0
    #: strongest Gaussian blur sigma in pixels; each sheet draws 0.3-1x of it
    blur: float = 1.2
    #: lighting gradients, vignetting, a moving shadow and exposure drift (``on``/``off``)
    lighting: bool = True
    #: JPEG quality for compression artifacts, as from an MJPG webcam (0: off)
    jpeg: int = 0
    #: share of sheets that are ruled paper
    rules: float = 0.35
    #: share of sheets with specks of dust and pencil dots
    specks: float = 0.6
    #: share of one-line sheets where two neighbouring digits touch (0: digits keep gaps)
    touching: float = 0.0


_RANGE_KEYS = ("digits", "size")
_BOOL_KEYS = ("lighting",)


def _parse_range(key: str, text: str) -> Tuple[int, int]:
    lo, _, hi = text.partition("-")
    try:
        a, b = int(lo), int(hi or lo)
    except ValueError:
        raise ConfigError(
            f"synthetic: {key}={text!r} is not a number or a range like 1-4"
        ) from None
    if a > b or a < (1 if key == "digits" else 8):
        raise ConfigError(f"synthetic: {key}={text!r} is not a valid range (low-high, low >= 1)")
    return a, b


def parse_synthetic_options(query: str) -> SyntheticOptions:
    """Parse the query of a ``synthetic://`` URI into options.

    Args:
        query: ``"digits=1-4&fps=30&seed=0"``; a leading ``?`` or a whole
            ``synthetic://?...`` URI is accepted too. Empty: all defaults.

    Returns:
        The options, defaults filled in.

    Raises:
        ConfigError: an unknown key (the message lists the valid ones) or a bad value.
    """
    from urllib.parse import parse_qsl

    if "?" in query:
        query = query.split("?", 1)[1]
    elif query.startswith("synthetic://"):
        query = query[len("synthetic://") :]
    opts = SyntheticOptions()
    types = {f.name: f.type for f in fields(SyntheticOptions)}
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key not in types:
            raise ConfigError(
                f"synthetic: unknown option {key!r}: valid options are {', '.join(types)}"
            )
        try:
            if key in _RANGE_KEYS:
                parsed: Any = _parse_range(key, value)
            elif key in _BOOL_KEYS:
                if value.lower() not in ("on", "off", "1", "0", "true", "false", "yes", "no"):
                    raise ValueError
                parsed = value.lower() in ("on", "1", "true", "yes")
            elif key == "frames":
                parsed = None if value.lower() in ("", "none", "0") else int(value)
            elif "float" in str(types[key]):
                parsed = float(value)
            else:
                parsed = int(value)
        except ValueError:
            raise ConfigError(f"synthetic: bad value {key}={value!r}") from None
        setattr(opts, key, parsed)
    if opts.width < 64 or opts.height < 64:
        raise ConfigError("synthetic: width and height must be at least 64 pixels")
    if opts.fps <= 0 or opts.sheet_every < 1 or (opts.frames is not None and opts.frames < 0):
        raise ConfigError("synthetic: fps, sheet_every and frames must be positive")
    if not 0 <= opts.jpeg <= 100:
        raise ConfigError("synthetic: jpeg is a quality 1-100 (0: off)")
    if opts.digits[1] > 8:
        raise ConfigError("synthetic: at most 8 digits per sheet")
    return opts


@dataclass
class _Digit:
    label: int
    #: ink coverage 0..1, float32, placed with its top-left corner at (x, y) in world pixels
    coverage: np.ndarray
    x: int
    y: int
    #: ink outline points (convex hull of coverage >= TRUTH_COVERAGE) in world pixels, (K, 1, 2)
    hull: np.ndarray


@dataclass
class _Sheet:
    world: np.ndarray  # BGR uint8, the paper (and table) in world pixels
    digits: List[_Digit]
    noise: np.ndarray  # int16 (H + 16, W + 16, 3) bank of sensor noise
    blur: float
    motion: np.ndarray  # (6, 3) amplitude, frequency, phase for tx, ty, zoom, angle, tilt x/y
    shadow: Tuple[float, float, float, float]  # depth, angle, offset, penumbra
    vignette: float
    exposure: Tuple[float, float]  # amplitude, frequency


class SyntheticCamera:
    """A deterministic camera over sheets of MNIST test digits.

    Args:
        options: from :func:`parse_synthetic_options`.
        images, labels: the digits to draw (default: the MNIST test split from
            ``EDGEMNIST_DATA``); tests may pass a subset.

    Raises:
        DataError: MNIST is not there (the message says to run ``edgemnist data download``).
    """

    #: margin of world around the reference view, as a fraction of the frame (zoom-out room)
    MARGIN = 0.15

    def __init__(
        self,
        options: Optional[SyntheticOptions] = None,
        images: Optional[np.ndarray] = None,
        labels: Optional[np.ndarray] = None,
    ) -> None:
        self.options = options or SyntheticOptions()
        if images is None or labels is None:
            from edgemnist.data.mnist import load_split

            images, labels = load_split("test")
        self._images, self._labels = images, labels
        self.index = 0
        self._sheet_index = -1
        self._sheet: Optional[_Sheet] = None

    @property
    def fps(self) -> float:
        """Frames per second this camera claims."""
        return float(self.options.fps)

    @property
    def done(self) -> bool:
        """True once ``frames`` frames were delivered (never for an endless camera)."""
        return self.options.frames is not None and self.index >= self.options.frames

    def __iter__(self) -> Iterator[Tuple[np.ndarray, List[Dict[str, Any]]]]:
        while not self.done:
            yield self.next_frame()

    def next_frame(self) -> Tuple[np.ndarray, List[Dict[str, Any]]]:
        """The next frame and its truth.

        Returns:
            ``(image, truth)``: BGR uint8 ``(height, width, 3)`` and
            ``[{"box": [x, y, w, h], "digit": d}, ...]`` in frame pixels.

        Raises:
            StopIteration: ``frames`` frames were already delivered.
        """
        if self.done:
            raise StopIteration
        out = self.frame(self.index)
        self.index += 1
        return out

    def frame(self, n: int) -> Tuple[np.ndarray, List[Dict[str, Any]]]:
        """Frame ``n`` (random access; the same ``n`` always gives the same frame)."""
        import cv2

        o = self.options
        sheet_index = n // o.sheet_every
        if sheet_index != self._sheet_index:
            self._sheet = self._make_sheet(sheet_index)
            self._sheet_index = sheet_index
        sheet = self._sheet
        assert sheet is not None
        t = (n % o.sheet_every) / o.fps
        H = self._homography(sheet, t)
        image = cv2.warpPerspective(
            sheet.world,
            H,
            (o.width, o.height),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )
        rng = np.random.default_rng([o.seed, sheet_index, n % o.sheet_every, 7])
        if o.lighting:
            image = self._light(image, sheet, t)
        if sheet.blur > 0.3:
            image = cv2.GaussianBlur(image, (0, 0), sheet.blur)
        if sheet.noise.size:
            dy, dx = (int(v) for v in rng.integers(0, 16, 2))
            noise = sheet.noise[dy : dy + o.height, dx : dx + o.width]
            image = cv2.add(image, noise, dtype=cv2.CV_8U)
        if o.jpeg:
            ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(o.jpeg)])
            decoded = cv2.imdecode(buf, cv2.IMREAD_COLOR)
            if ok and decoded is not None:  # an encoder that fails leaves the frame as it was
                image = decoded
        truth = []
        for k, d in enumerate(sheet.digits):
            pts = cv2.perspectiveTransform(d.hull, H).reshape(-1, 2)
            x0, y0 = np.floor(pts.min(axis=0))
            x1, y1 = np.ceil(pts.max(axis=0))
            box = [int(x0), int(y0), int(x1 - x0), int(y1 - y0)]
            # id: the same digit across the frames of its sheet
            truth.append({"box": box, "digit": d.label, "id": sheet_index * 16 + k})
        return image, truth

    # -- the camera ------------------------------------------------------------------------
    def _homography(self, sheet: _Sheet, t: float) -> np.ndarray:
        """World -> frame: a slow hand-held drift, zoom, roll and a little keystone tilt."""
        o = self.options
        amp, freq, phase = sheet.motion[:, 0], sheet.motion[:, 1], sheet.motion[:, 2]
        v = amp * np.sin(2 * np.pi * freq * t + phase)
        tx, ty, zoom, angle, kx, ky = v
        zoom = 1.0 + zoom
        mx, my = self.MARGIN * o.width, self.MARGIN * o.height
        cx, cy = o.width / 2, o.height / 2
        c, s = math.cos(angle) * zoom, math.sin(angle) * zoom
        # world pixel (u, v) -> reference view (u - mx, v - my) -> rotate/zoom about the centre
        A = np.array(
            [
                [c, -s, cx + tx * o.width - c * (cx + mx) + s * (cy + my)],
                [s, c, cy + ty * o.height - s * (cx + mx) - c * (cy + my)],
                [0.0, 0.0, 1.0],
            ]
        )
        # keystone: the camera is not quite square to the paper
        P = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [kx / o.width, ky / o.height, 1.0]])
        T = np.array([[1.0, 0.0, -cx], [0.0, 1.0, -cy], [0.0, 0.0, 1.0]])
        Ti = np.array([[1.0, 0.0, cx], [0.0, 1.0, cy], [0.0, 0.0, 1.0]])
        return Ti @ P @ T @ A

    def _light(self, image: np.ndarray, sheet: _Sheet, t: float) -> np.ndarray:
        """Multiply by a gain field: vignetting, a soft moving shadow and exposure drift."""
        import cv2

        o = self.options
        gh, gw = max(8, o.height // 8), max(8, o.width // 8)
        yy, xx = np.mgrid[0:gh, 0:gw].astype(np.float32)
        xx = xx / (gw - 1) - 0.5
        yy = yy / (gh - 1) - 0.5
        gain = 1.0 - sheet.vignette * (xx * xx + yy * yy) * 2.0
        depth, angle, offset, penumbra = sheet.shadow
        if depth > 0:
            # a hand or a phone between lamp and paper: a half-plane with a soft edge, drifting
            d = np.cos(angle) * xx + np.sin(angle) * yy - (offset + 0.08 * math.sin(0.7 * t))
            gain = gain * (1.0 - depth / (1.0 + np.exp(-d / penumbra)))
        amp, freq = sheet.exposure
        gain = gain * (1.0 + amp * math.sin(2 * np.pi * freq * t))
        gain = cv2.resize(gain.astype(np.float32), (o.width, o.height))
        g8 = np.clip(gain * 200.0, 0, 255).astype(np.uint8)
        return cv2.multiply(image, cv2.merge([g8, g8, g8]), scale=1 / 200.0)

    # -- the sheet -------------------------------------------------------------------------
    def _make_sheet(self, sheet_index: int) -> _Sheet:
        import cv2

        o = self.options
        rng = np.random.default_rng([o.seed, sheet_index])
        W, H = o.width, o.height
        mx, my = int(self.MARGIN * W), int(self.MARGIN * H)
        WW, WH = W + 2 * mx, H + 2 * my

        # paper and ink are reflectances; the lamp's light (a gradient across the sheet, faint
        # blotches) multiplies both, so ink in shadow is darker in levels, as on real paper
        level = rng.uniform(175, 245)
        tint = np.array([rng.uniform(0.88, 1.0), rng.uniform(0.94, 1.0), 1.0], np.float32)
        yy, xx = np.mgrid[0:WH, 0:WW].astype(np.float32)
        ang = rng.uniform(0, 2 * np.pi)
        ramp = (np.cos(ang) * xx / WW + np.sin(ang) * yy / WH) - 0.5
        light = 1.0 + (rng.uniform(0.0, 0.35) if o.lighting else 0.0) * ramp
        blot = cv2.resize(rng.normal(0, 1, (6, 8)).astype(np.float32), (WW, WH))
        light = (light * (1.0 + 0.02 * blot)).astype(np.float32)
        paper = np.empty((WH, WW, 3), np.float32)
        paper[:] = level * tint
        # a table around the paper, seen when the paper edge comes into view
        if rng.random() < 0.4:
            side = int(rng.integers(0, 4))
            edge = int(rng.uniform(0.2, 0.8) * (mx if side < 2 else my))
            region = [
                (slice(None), slice(0, edge)),
                (slice(None), slice(WW - edge, WW)),
                (slice(0, edge), slice(None)),
                (slice(WH - edge, WH), slice(None)),
            ][side]
            paper[region] = np.array(rng.uniform(40, 140, 3), np.float32)
        ink_alpha = np.zeros((WH, WW), np.float32)

        digits = self._place_digits(rng, mx, my)
        if rng.random() < o.rules:
            self._rule(paper, rng, digits, mx, my, level)
        for d in digits:
            h, w = d.coverage.shape
            ink_alpha[d.y : d.y + h, d.x : d.x + w] = np.maximum(
                ink_alpha[d.y : d.y + h, d.x : d.x + w], d.coverage
            )
        if rng.random() < o.specks:
            for _ in range(int(rng.integers(1, 12))):
                r = rng.uniform(0.6, 2.2)
                cx, cy = rng.uniform(0, WW), rng.uniform(0, WH)
                cv2.circle(ink_alpha, (int(cx), int(cy)), max(1, int(r)), rng.uniform(0.3, 0.9), -1)
        pen = rng.random()
        if pen < 0.45:
            ink = np.full(3, rng.uniform(15, 60), np.float32)  # black marker / felt pen
        elif pen < 0.85:
            base = rng.uniform(20, 60)
            ink = np.array([base + 90, base + 30, base], np.float32)  # blue ballpoint
        else:
            ink = np.full(3, rng.uniform(60, 100), np.float32)  # pencil
        a = ink_alpha[..., None]
        world = (paper * (1 - a) + ink[None, None, :] * a) * light[..., None]
        world = np.clip(world, 0, 255).astype(np.uint8)

        noise_std = o.noise * rng.uniform(0.3, 1.0)
        if noise_std > 0:
            noise = rng.normal(0, noise_std, (H + 16, W + 16, 3)).astype(np.int16)
        else:
            noise = np.zeros((0, 0, 3), np.int16)
        # motion: amplitudes (fractions of the frame, zoom, radians, keystone), Hz, phase
        still = rng.random() < 0.2  # a camera on a stand
        k = 0.25 if still else 1.0
        motion = np.stack(
            [
                np.array([0.05, 0.05, 0.08, 0.06, 0.06, 0.06]) * k * rng.uniform(0.2, 1.0, 6),
                rng.uniform(0.05, 0.4, 6),
                rng.uniform(0, 2 * np.pi, 6),
            ],
            axis=1,
        )
        shadow = (
            (rng.uniform(0.15, 0.45), rng.uniform(0, 2 * np.pi), rng.uniform(-0.4, 0.4))
            if o.lighting and rng.random() < 0.5
            else (0.0, 0.0, 0.0)
        )
        return _Sheet(
            world=world,
            digits=digits,
            noise=noise,
            blur=o.blur * rng.uniform(0.3, 1.0),
            motion=motion,
            shadow=(*shadow, rng.uniform(0.03, 0.1)),
            vignette=rng.uniform(0.0, 0.25) if o.lighting else 0.0,
            exposure=(rng.uniform(0.0, 0.12) if o.lighting else 0.0, rng.uniform(0.05, 0.3)),
        )

    def _digit(self, rng: np.random.Generator, height: float) -> Tuple[int, np.ndarray]:
        """A random test digit as ink coverage with an ink height of about ``height`` px."""
        import cv2

        i = int(rng.integers(0, len(self._labels)))
        img = self._images[i].astype(np.float32) / 255.0
        rows = np.nonzero(img.max(axis=1) > TRUTH_COVERAGE)[0]
        ink_h = max(4, rows[-1] - rows[0] + 1) if rows.size else 20
        scale = height * rng.uniform(0.9, 1.1) / ink_h
        size = max(8, int(round(28 * scale)))
        cov = cv2.resize(img, (size, size), interpolation=cv2.INTER_CUBIC)
        # pen weight: a thinner or bolder stroke than MNIST's, and a slightly uneven ink
        cov = np.clip(cov, 0, 1) ** rng.uniform(0.7, 1.5)
        cov = cov * rng.uniform(0.85, 1.0)
        return int(self._labels[i]), np.clip(cov, 0, 1).astype(np.float32)

    def _place_digits(self, rng: np.random.Generator, mx: int, my: int) -> List[_Digit]:
        """Lay out the sheet's digits inside the area every camera pose keeps in view."""
        o = self.options
        n = int(rng.integers(o.digits[0], o.digits[1] + 1))
        # safe area in reference-view pixels: motion moves points by up to ~12 % of the frame
        x0, x1 = 0.16 * o.width, 0.84 * o.width
        y0, y1 = 0.16 * o.height, 0.84 * o.height
        lo, hi = float(o.size[0]), float(o.size[1])
        hi = min(hi, float(int(0.5 * (y1 - y0))))
        lo = min(lo, hi)
        for _ in range(200):
            height = rng.uniform(lo, hi)
            one_line = rng.random() < 0.5
            touch = one_line and n > 1 and rng.random() < o.touching
            placed = self._try_layout(rng, n, height, one_line, touch, (x0, y0, x1, y1))
            if placed is not None:
                return [self._finish(d, mx, my) for d in placed]
            hi = max(lo, 0.9 * hi)
        raise ConfigError(
            f"synthetic: cannot fit {n} digits of {lo:g}-{hi:g} px in {o.width}x{o.height}: "
            "use a larger frame, fewer digits or a smaller size"
        )

    def _try_layout(
        self,
        rng: np.random.Generator,
        n: int,
        height: float,
        one_line: bool,
        touch: bool,
        area: Tuple[float, float, float, float],
    ) -> Optional[List[Tuple[int, np.ndarray, int, int]]]:
        """Digits as ``(label, coverage, x, y)`` in reference-view pixels, or None if no fit."""
        x0, y0, x1, y1 = area
        digits = [self._digit(rng, height) for _ in range(n)]
        boxes = [_ink_box(cov) for _, cov in digits]
        out: List[Tuple[int, np.ndarray, int, int]] = []
        if one_line:
            gaps = rng.uniform(0.15, 0.6, n) * height
            if touch:
                gaps[int(rng.integers(1, n))] = -0.04 * height  # strokes meet
            widths = [b[2] for b in boxes]
            total = sum(widths) + float(gaps[1:].sum())
            if total > x1 - x0:
                return None
            x = rng.uniform(x0, x1 - total)
            base = rng.uniform(y0 + 1.1 * height, y1)
            for i, ((label, cov), (bx, by, bw, bh)) in enumerate(zip(digits, boxes)):
                if i:
                    x += gaps[i]
                # a hand-written line wanders a little around its baseline
                yb = base + rng.normal(0, 0.04 * height)
                out.append((label, cov, int(round(x - bx)), int(round(yb - (by + bh)))))
                x += bw
            return out
        placed: List[Tuple[float, float, float, float]] = []
        for (label, cov), (bx, by, bw, bh) in zip(digits, boxes):
            for _ in range(100):
                x = rng.uniform(x0, x1 - bw)
                y = rng.uniform(y0, y1 - bh)
                gap = 0.35 * height
                if all(
                    x + bw + gap < px or px + pw + gap < x or y + bh + gap < py or py + ph + gap < y
                    for px, py, pw, ph in placed
                ):
                    placed.append((x, y, bw, bh))
                    out.append((label, cov, int(round(x - bx)), int(round(y - by))))
                    break
            else:
                return None
        return out

    def _finish(self, d: Tuple[int, np.ndarray, int, int], mx: int, my: int) -> _Digit:
        import cv2

        label, cov, x, y = d
        ys, xs = np.nonzero(cov >= TRUTH_COVERAGE)
        pts = np.stack([xs, ys], axis=1).astype(np.float32)
        hull = cv2.convexHull(pts)
        # pixel (i, j) covers [i, i + 1): take the hull of the pixel squares
        hull = np.concatenate([hull + [[dx, dy]] for dx in (0, 1) for dy in (0, 1)], axis=0)
        hull = hull + np.array([[x + mx, y + my]], np.float32)
        return _Digit(label, cov, x + mx, y + my, hull.astype(np.float32))

    def _rule(
        self,
        paper: np.ndarray,
        rng: np.random.Generator,
        digits: List[_Digit],
        mx: int,
        my: int,
        level: float,
    ) -> None:
        """Ruled lines (light blue; sometimes darker printed gray) and maybe a red margin."""
        import cv2

        WH, WW = paper.shape[:2]
        bottoms = sorted(d.y + int(np.nonzero(d.coverage.max(axis=1) > 0.3)[0][-1]) for d in digits)
        spacing = rng.uniform(28, 60)
        # the digits sit on a rule: put one rule through the first digit's baseline
        start = (bottoms[0] + rng.uniform(-2, 3)) % spacing
        if rng.random() < 0.75:
            color = (level, level - rng.uniform(15, 35), level - rng.uniform(35, 70))  # blue
        else:
            color = (level - rng.uniform(40, 90),) * 3  # printed gray form lines
        thick = int(rng.integers(1, 3))
        y = start
        while y < WH:
            cv2.line(paper, (0, int(y)), (WW, int(y)), color, thick, cv2.LINE_AA)
            y += spacing
        if rng.random() < 0.3:
            x = mx + rng.uniform(0.03, 0.12) * (WW - 2 * mx)
            cv2.line(paper, (int(x), 0), (int(x), WH), (level - 60, level - 60, level), 1)


def _ink_box(cov: np.ndarray) -> Tuple[int, int, int, int]:
    """``(x, y, w, h)`` of the coverage >= TRUTH_COVERAGE pixels."""
    ys, xs = np.nonzero(cov >= TRUTH_COVERAGE)
    return int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)
