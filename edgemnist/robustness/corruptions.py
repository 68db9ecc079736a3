"""Corrupted MNIST digits, generated on the fly with numpy + OpenCV (device side: no torch).

In the spirit of MNIST-C (Mu & Gilmer 2019, arXiv:1906.02337; its definitions in
github.com/google-research/mnist-c ``corruptions.py``), re-implemented with numpy and OpenCV
only, one severity per corruption. Where MNIST-C defines the corruption, its parameters are
used (the severity its generator applies by default, given per entry below); the camera-like
ones (uneven lighting, paper texture, thin/thick strokes) are this toolkit's own: they imitate
what ``edgemnist predict`` and the live camera feed a model after their own preprocessing
(light digits on a dark background, with the photo's lighting and paper left in).

Nothing is stored: a corrupted test set is a function of (corruption, seed, test index). Each
image has its own random generator, seeded by ``SeedSequence([seed, crc32(name), index])``, so
image 7 of ``fog`` is the same whether 10 or 10 000 images are generated, on any machine with
the same numpy and OpenCV (a unit test pins sha256 checksums of a small subset).

Images go in and come out as uint8 ``(N, 28, 28)``, the MNIST form every runner's
``normalize`` expects; work is in float32 on [0, 1] in between.

Example:
    >>> from edgemnist.robustness.corruptions import corrupt
    >>> bad = corrupt("fog", images[:100], seed=0)  # doctest: +SKIP
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

from edgemnist.errors import ConfigError

SIZE = 28
CENTRE = (SIZE - 1) / 2.0  # 13.5, the centre MNIST-C keeps fixed in its affine maps

Fn = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def _cv2():  # type: ignore[no-untyped-def]
    from edgemnist.errors import BackendUnavailable

    try:
        import cv2
    except ImportError:
        raise BackendUnavailable(
            "corruptions need OpenCV: pip install opencv-python-headless"
        ) from None
    return cv2


@dataclass(frozen=True)
class Corruption:
    """One corruption: its name, family, what it does, and the function (float image, rng)."""

    name: str
    family: str
    description: str
    fn: Fn


# ---------------------------------------------------------------- helpers


def _affine(x: np.ndarray, inverse: np.ndarray) -> np.ndarray:
    """Sample ``x`` at ``inverse @ (col, row, 1)`` (bilinear, zero outside), like skimage.warp."""
    cv2 = _cv2()
    return cv2.warpAffine(
        x,
        inverse[:2].astype(np.float64),
        (SIZE, SIZE),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0.0,
    )


def _about_centre(m: np.ndarray) -> np.ndarray:
    """A 2x2 linear map as a 3x3 affine map that keeps the image centre fixed."""
    out = np.eye(3)
    out[:2, :2] = m
    out[:2, 2] = CENTRE - m @ np.array([CENTRE, CENTRE])
    return out


def _gaussian(x: np.ndarray, sigma: float) -> np.ndarray:
    cv2 = _cv2()
    return cv2.GaussianBlur(x, (0, 0), sigmaX=sigma, borderType=cv2.BORDER_REFLECT)


def _line(c0: float, r0: float, c1: float, r1: float) -> np.ndarray:
    """A soft line from (col c0, row r0) to (c1, r1): 1 on it, falling to 0 at 2.3 px (MNIST-C).

    The distance is measured along the column (vertical), and the line stops at its end columns.
    """
    if c1 == c0:
        return np.zeros((SIZE, SIZE), np.float32)
    cols = np.arange(SIZE, dtype=np.float64)[None, :]
    rows = np.arange(SIZE, dtype=np.float64)[:, None]
    centre_row = (r1 - r0) / (c1 - c0) * (cols - c0) + r0
    dist = np.minimum(np.abs(rows - centre_row), 2.3 - 1e-9)
    out = np.clip(np.log1p(-dist / 2.3) + 1.0, 0.0, 1.0)
    out[:, : int(np.floor(min(c0, c1)))] = 0.0
    out[:, int(np.ceil(max(c0, c1))) :] = 0.0
    return out.astype(np.float32)


def _plasma(rng: np.random.Generator, size: int = 128, decay: float = 1.4) -> np.ndarray:
    """Diamond-square fractal noise on a ``size`` x ``size`` torus scaled to [0, 1], 28x28 crop.

    As in MNIST-C (a 256 map there), the map is scaled over its whole area before the crop, so
    the crop is a patch of fog rather than the full range.
    """
    grid = np.zeros((size, size), np.float64)
    step = size
    wibble = 100.0
    while step >= 2:
        half = step // 2
        # squares: centre of each square = mean of its 4 corners + noise
        corners = grid[0:size:step, 0:size:step]
        mean = (
            corners
            + np.roll(corners, -1, axis=0)
            + np.roll(corners, -1, axis=1)
            + np.roll(np.roll(corners, -1, axis=0), -1, axis=1)
        ) / 4.0
        grid[half:size:step, half:size:step] = mean + rng.uniform(-wibble, wibble, mean.shape)
        # diamonds: edge midpoints = mean of their 4 neighbours + noise
        centres = grid[half:size:step, half:size:step]
        corners = grid[0:size:step, 0:size:step]
        top = (corners + np.roll(corners, -1, axis=1) + centres + np.roll(centres, 1, axis=0)) / 4
        grid[0:size:step, half:size:step] = top + rng.uniform(-wibble, wibble, top.shape)
        left = (corners + np.roll(corners, -1, axis=0) + centres + np.roll(centres, 1, axis=1)) / 4
        grid[half:size:step, 0:size:step] = left + rng.uniform(-wibble, wibble, left.shape)
        step = half
        wibble /= decay
    grid -= grid.min()
    grid /= max(grid.max(), 1e-12)
    return grid[:SIZE, :SIZE].astype(np.float32)


def _ramp(rng: np.random.Generator) -> np.ndarray:
    """A linear ramp from 0 to 1 across the image in a random direction."""
    angle = rng.uniform(0.0, 2.0 * np.pi)
    cols, rows = np.meshgrid(np.arange(SIZE), np.arange(SIZE))
    t = (cols - CENTRE) * np.cos(angle) + (rows - CENTRE) * np.sin(angle)
    t = t - t.min()
    return (t / t.max()).astype(np.float32)


def _disk(radius: float, alias_blur: float) -> np.ndarray:
    """MNIST-C's defocus kernel: an aliased disk (17x17 for radius <= 8), smoothed, sum 1."""
    cv2 = _cv2()
    half = 8 if radius <= 8 else int(radius)
    coords = np.arange(-half, half + 1)
    xx, yy = np.meshgrid(coords, coords)
    disk = ((xx**2 + yy**2) <= radius**2).astype(np.float32)
    disk /= disk.sum()
    ksize = (3, 3) if radius <= 8 else (5, 5)
    return cv2.GaussianBlur(disk, ksize, sigmaX=alias_blur)


def _motion_kernel(radius: int, sigma: float, angle_deg: float) -> np.ndarray:
    """A one-sided Gaussian streak of ``radius`` px at ``angle_deg`` (ImageMagick's motion blur)."""
    cv2 = _cv2()
    size = 2 * radius + 1
    k = np.zeros((size, size), np.float32)
    d = np.arange(radius + 1, dtype=np.float32)
    w = np.exp(-(d**2) / (2.0 * sigma**2))
    k[radius, radius : radius + radius + 1] = w
    rot = cv2.getRotationMatrix2D((float(radius), float(radius)), angle_deg, 1.0)
    k = cv2.warpAffine(k, rot, (size, size), flags=cv2.INTER_LINEAR)
    return k / k.sum()


# ---------------------------------------------------------------- the corruptions
# Each takes a float32 (28, 28) image on [0, 1] and its own generator; returns float32.


def gaussian_noise(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return x + rng.normal(0.0, 0.38, x.shape).astype(np.float32)


def shot_noise(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    photons = 3.0
    return (rng.poisson(x * photons) / photons).astype(np.float32)


def impulse_noise(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    amount = 0.17  # share of pixels replaced, half salt, half pepper (skimage's 's&p')
    hit = rng.random(x.shape) < amount
    salt = rng.random(x.shape) < 0.5
    out = x.copy()
    out[hit & salt] = 1.0
    out[hit & ~salt] = 0.0
    return out


def defocus_blur(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    cv2 = _cv2()
    return cv2.filter2D(x, -1, _disk(3, 0.1), borderType=cv2.BORDER_REFLECT)


def motion_blur(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    cv2 = _cv2()
    k = _motion_kernel(10, 3.0, float(rng.uniform(-45.0, 45.0)))
    return cv2.filter2D(x, -1, k, borderType=cv2.BORDER_CONSTANT)


def glass_blur(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    sigma, delta, iterations = 0.7, 1, 2
    img = np.round(np.clip(_gaussian(x, sigma), 0, 1) * 255.0) / 255.0
    flat = img.astype(np.float32).ravel().tolist()  # a list: scalar swaps are cheap on it
    rows = list(range(SIZE - delta, delta, -1))
    n = len(rows) * len(rows)
    for _ in range(iterations):
        coins = rng.random(n) < 0.5
        shifts = rng.integers(-delta, delta, size=(n, 2))
        i = 0
        for h in rows:
            for w in rows:
                if coins[i]:
                    dx, dy = int(shifts[i, 0]), int(shifts[i, 1])
                    a, b = h * SIZE + w, (h + dy) * SIZE + (w + dx)
                    flat[a], flat[b] = flat[b], flat[a]
                i += 1
    return _gaussian(np.asarray(flat, np.float32).reshape(SIZE, SIZE), sigma)


def shear(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    s = 0.4 * rng.choice([-1.0, 1.0])  # MNIST-C severity 2: shear angle 0.4 rad
    m = np.array([[1.0, -np.sin(s)], [0.0, np.cos(s)]])
    return _affine(x, _about_centre(m))


def scale(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return _affine(x, _about_centre(np.eye(2) / 0.7))  # severity 3: digit shrunk to 70 %


def rotate(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    a = 0.4 * rng.choice([-1.0, 1.0])  # severity 2: 0.4 rad (23 degrees) either way
    m = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return _affine(x, _about_centre(m))


def translate(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    dx, dy = 3.0 * rng.choice([-1.0, 1.0], size=2)  # severity 3: 3 px on each axis
    m = np.eye(3)
    m[:2, 2] = [dx, dy]
    return _affine(x, m)


def brightness(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return x + 0.5  # severity 5: HSV value + 0.5, which for a gray image is the pixel + 0.5


def contrast(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    mean = float(x.mean())
    return (x - mean) * 0.2 + mean  # severity 3 (MNIST-C's default 0.1 rounds to ~25 gray levels)


def stripe(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = x.copy()
    out[:, :7] = 1.0 - out[:, :7]
    out[:, 21:] = 1.0 - out[:, 21:]
    return out


def dotted_line(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    r0, r1 = rng.integers(0, 27, size=2)
    line = _line(0.0, float(r0), 27.0, float(r1))
    line[:, (np.arange(SIZE) // 2) % 2 == 0] = 0.0  # 2 px dashes, 2 px gaps
    return x + line


def zigzag(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    r0 = int(rng.integers(0, 27))
    r1 = r0 + int(rng.integers(-5, 5))
    c0, c1, step, amp = 2.0, 25.0, 2.0, 2.0
    cols = np.arange(c0, c1 + 1e-9, step)
    base = r0 + (r1 - r0) * (cols - c0) / (c1 - c0)
    rows = base + amp * np.where(np.arange(len(cols)) % 2 == 0, 0.0, 1.0) * (
        (-1.0) ** (np.arange(len(cols)) // 2)
    )
    out = x.copy()
    for i in range(1, len(cols)):
        out = np.clip(out + _line(cols[i - 1], rows[i - 1], cols[i], rows[i]), 0.0, 1.0)
    return out


def fog(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    strength = 3.0  # severity 5: (3.0, decay 1.4)
    top = float(x.max())
    return (x + strength * _plasma(rng, decay=1.4)) * top / (top + strength)


def spatter(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    # severity 4: liquid (0.65, 0.3), blur 1, threshold 0.65, mask blur 1.5, mud
    liquid = _gaussian(rng.normal(0.65, 0.3, x.shape).astype(np.float32), 1.0)
    mask = _gaussian((liquid > 0.65).astype(np.float32), 1.5)
    mask[mask < 0.8] = 0.0
    return x * (1.0 - mask) + (63.0 / 255.0) * mask


def elastic(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    cv2 = _cv2()
    alpha, sigma = 34.0, 4.0  # Simard et al. 2003
    dx = _gaussian(rng.uniform(-1, 1, x.shape).astype(np.float32), sigma) * alpha
    dy = _gaussian(rng.uniform(-1, 1, x.shape).astype(np.float32), sigma) * alpha
    cols, rows = np.meshgrid(np.arange(SIZE, dtype=np.float32), np.arange(SIZE, dtype=np.float32))
    return cv2.remap(
        x,
        cols + dx,
        rows + dy,
        interpolation=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0.0,
    )


def jpeg(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    cv2 = _cv2()
    u8 = np.round(np.clip(x, 0, 1) * 255.0).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", u8, [cv2.IMWRITE_JPEG_QUALITY, 7])  # severity 5
    return cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE).astype(np.float32) / 255.0


def pixelate(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    cv2 = _cv2()
    small = cv2.resize(x, (11, 11), interpolation=cv2.INTER_AREA)  # severity 3: 0.4 x 28
    return cv2.resize(small, (SIZE, SIZE), interpolation=cv2.INTER_NEAREST)


def canny_edges(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    cv2 = _cv2()
    u8 = np.round(np.clip(_gaussian(x, 1.0), 0, 1) * 255.0).astype(np.uint8)
    return (cv2.Canny(u8, 50, 100, L2gradient=True) > 0).astype(np.float32)


def uneven_lighting(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A photo lit from one side: ink dims towards the far side, paper glows on the near one."""
    ramp = _ramp(rng)
    gain = 1.0 - 0.5 * ramp
    return x * gain + 0.35 * (1.0 - ramp)


def paper_texture(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Grainy paper: fine grain on coarse blotches, added under the ink."""
    grain = _gaussian(rng.normal(0, 1, x.shape).astype(np.float32), 0.7)
    blotch = _gaussian(rng.normal(0, 1, x.shape).astype(np.float32), 3.0)
    grain = grain / max(float(grain.std()), 1e-6)
    blotch = blotch / max(float(blotch.std()), 1e-6)
    paper = 0.12 + 0.06 * grain + 0.08 * blotch
    return np.maximum(x, paper)


def thin_strokes(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A fine pen: strokes eroded by a 2x2 minimum filter."""
    cv2 = _cv2()
    return cv2.erode(x, np.ones((2, 2), np.uint8))


def thick_strokes(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A marker: strokes dilated by a 3x3 maximum filter."""
    cv2 = _cv2()
    return cv2.dilate(x, np.ones((3, 3), np.uint8))


def _table() -> Dict[str, Corruption]:
    rows = [
        ("gaussian_noise", "noise", "Gaussian noise, sd 0.38 (MNIST-C sev. 5)", gaussian_noise),
        ("shot_noise", "noise", "Poisson noise, 3 photons at full scale (sev. 5)", shot_noise),
        ("impulse_noise", "noise", "salt and pepper on 17 % of pixels (sev. 4)", impulse_noise),
        ("defocus_blur", "blur", "disk kernel, radius 3 (sev. 1)", defocus_blur),
        ("motion_blur", "blur", "streak r 10, sd 3, +-45 deg (sev. 1)", motion_blur),
        ("glass_blur", "blur", "blur 0.7, 1 px pixel swaps x2 (sev. 1)", glass_blur),
        ("shear", "affine", "shear 0.4 rad either way about the centre (sev. 2)", shear),
        ("scale", "affine", "digit shrunk to 70 % about the centre (sev. 3)", scale),
        ("rotate", "affine", "rotation 0.4 rad (23 deg) either way (sev. 2)", rotate),
        ("translate", "affine", "shift 3 px on each axis, random signs (sev. 3)", translate),
        ("brightness", "digital", "+0.5 on every pixel (sev. 5)", brightness),
        ("contrast", "digital", "contrast 0.2 about the image mean (sev. 3)", contrast),
        ("stripe", "lines", "columns 0-6 and 21-27 inverted", stripe),
        ("dotted_line", "lines", "a dashed line across the image", dotted_line),
        ("zigzag", "lines", "a zigzag line across the image", zigzag),
        ("fog", "weather", "plasma-fractal fog, strength 3 (sev. 5)", fog),
        ("spatter", "weather", "mud spatter (sev. 4)", spatter),
        ("elastic", "deform", "elastic field alpha 34, sigma 4 (Simard 2003)", elastic),
        ("jpeg", "digital", "JPEG quality 7 (sev. 5)", jpeg),
        ("pixelate", "digital", "area-downscaled to 11x11, nearest up (sev. 3)", pixelate),
        ("canny_edges", "digital", "Canny edges of the blurred digit", canny_edges),
        ("uneven_lighting", "camera", "ink dims 50 %, paper 0.35 (own)", uneven_lighting),
        ("paper_texture", "camera", "grain + blotches, ~0.12 (own)", paper_texture),
        ("thin_strokes", "camera", "strokes eroded 2x2 (own)", thin_strokes),
        ("thick_strokes", "camera", "strokes dilated 3x3 (own)", thick_strokes),
    ]  # fmt: skip
    return {name: Corruption(name, fam, desc, fn) for name, fam, desc, fn in rows}


CORRUPTIONS: Dict[str, Corruption] = _table()


def names() -> List[str]:
    """Every corruption name, in table order."""
    return list(CORRUPTIONS)


def select(spec: Optional[str]) -> List[str]:
    """Corruption names from a comma list (None or ``all``: every one).

    Raises:
        ConfigError: an unknown name.
    """
    if spec is None or spec.strip() in ("", "all"):
        return names()
    wanted = [s.strip() for s in spec.split(",") if s.strip()]
    unknown = [w for w in wanted if w not in CORRUPTIONS]
    if unknown:
        raise ConfigError(
            f"unknown corruption {', '.join(unknown)}: choose from {', '.join(CORRUPTIONS)}"
        )
    return wanted


def image_rng(name: str, seed: int, index: int) -> np.random.Generator:
    """The generator of test image ``index`` under corruption ``name`` and ``seed``."""
    return np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(name.encode()), index]))


def corrupt(
    name: str,
    images: np.ndarray,
    seed: int = 0,
    indices: Optional[Sequence[int]] = None,
) -> np.ndarray:
    """Corrupt uint8 digits ``(N, 28, 28)``; deterministic per (name, seed, test index).

    Args:
        name: a corruption from :data:`CORRUPTIONS`.
        images: uint8 ``(N, 28, 28)`` MNIST digits (white on black).
        seed: the benchmark seed.
        indices: each image's index in the test set (default ``0..N-1``); it keys the image's
            generator, so a subset gets the same corrupted images as the full set.

    Returns:
        uint8 ``(N, 28, 28)``.

    Raises:
        ConfigError: unknown corruption, or images not ``(N, 28, 28)`` uint8.
    """
    if name not in CORRUPTIONS:
        raise ConfigError(f"unknown corruption {name!r}: choose from {', '.join(CORRUPTIONS)}")
    images = np.asarray(images)
    if images.ndim != 3 or images.shape[1:] != (SIZE, SIZE) or images.dtype != np.uint8:
        raise ConfigError(
            f"corruptions take uint8 (N, 28, 28) digits, got {images.dtype} {images.shape}"
        )
    idx = np.arange(len(images)) if indices is None else np.asarray(indices)
    if len(idx) != len(images):
        raise ConfigError(f"{len(idx)} indices for {len(images)} images: give one per image")
    fn = CORRUPTIONS[name].fn
    out = np.empty_like(images)
    for k, (img, i) in enumerate(zip(images, idx)):
        y = fn(img.astype(np.float32) / 255.0, image_rng(name, seed, int(i)))
        out[k] = np.round(np.clip(y, 0.0, 1.0) * 255.0).astype(np.uint8)
    return out
