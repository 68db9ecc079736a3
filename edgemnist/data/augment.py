"""Seeded, batched augmentation of uint8 MNIST digits with numpy + OpenCV (no torch).

Per image: a random rotation, isotropic scale and translation (one affine map), optionally an
elastic distortion (Simard et al. 2003: a uniform random displacement field smoothed by a
Gaussian of width ``sigma`` and scaled by ``alpha``), then optional Gaussian pixel noise.

Speed is the point: the trainer calls this per batch in a background thread. Two choices make
it cheap:

- The affine map and the elastic field (added to the source coordinates) are folded into ONE
  sampling map per image, and the maps of a whole batch are applied by ONE ``cv2.remap``
  call: the batch is stacked into a tall image with a zero row between digits, and source
  coordinates are clamped into each digit's own zero border, which gives exactly what a
  per-image remap with a constant-zero border gives.
- Smoothing white noise with a Gaussian of sigma 5 px leaves only wavelengths of ~30 px, so the
  noise is drawn as the means of 4x4 pixel blocks (a 7x7 grid, normal by the central limit
  theorem, with the variance of a mean of 16 uniforms) and mapped to 28x28 by the precomputed
  matrix ``A = G @ S`` (block-to-pixel indicator ``S``, then the exact reflect-border Gaussian
  blur ``G``): the field is ``alpha * A @ M @ A.T``. What is dropped is the within-block part of
  the noise, which the blur removes anyway; the few per cent of variance it carried are put
  back by a constant factor (a unit test compares the statistics with the textbook fields).

Measured (benchmarks/augment_overhead.py, 2-core host under load, one thread): about 0.7-1.1 s
of CPU per 60 000-image epoch with the defaults; a per-image ``cv2.warpAffine`` loop alone (no
elastic) costs about 1.3-1.9 s.

Example:
    >>> aug = Augmenter(AugmentConfig(), seed=0)  # doctest: +SKIP
    >>> batch = aug(images[:256])                 # uint8 (256, 28, 28)
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any, Dict, Mapping, Optional, Tuple

import numpy as np
from numpy.typing import ArrayLike

from edgemnist.errors import ConfigError, InputError

#: Images per ``cv2.remap`` call: the stacked source is ``n * (H + 1) + 1`` rows tall and
#: OpenCV's remap works in 16-bit fixed-point coordinates, so keep it well under 32767.
_CHUNK = 1024


@dataclass(frozen=True)
class AugmentConfig:
    """Augmentation parameters (a recipe's ``[augment]`` table maps onto these fields).

    Attributes:
        rotation: maximum rotation in degrees; the angle is uniform in ``[-rotation, rotation]``.
        scale: ``(min, max)`` of the uniform isotropic scale factor.
        translate: maximum shift per axis, uniform in ``[-t, t]``; in pixels, or, below 1, a
            fraction of the image size (``0.1`` -> 2.8 px on 28 px).
        elastic_alpha: elastic displacement scale (Simard's alpha), in pixels.
        elastic_sigma: width of the Gaussian that smooths the displacement field, in pixels.
        elastic_p: probability that an image gets the elastic distortion (0 turns it off).
        noise_std: standard deviation of additive Gaussian noise as a fraction of the full
            pixel range (``0.05`` -> about 13 grey levels); 0 turns it off.
    """

    rotation: float = 15.0
    scale: Tuple[float, float] = (0.9, 1.1)
    translate: float = 2.0
    elastic_alpha: float = 34.0
    elastic_sigma: float = 5.0
    elastic_p: float = 0.5
    noise_std: float = 0.0

    def __post_init__(self) -> None:
        try:
            lo, hi = (float(v) for v in self.scale)
        except (TypeError, ValueError):
            raise ConfigError(f"augment.scale must be [min, max], got {self.scale!r}") from None
        object.__setattr__(self, "scale", (lo, hi))
        for name in ("rotation", "translate", "elastic_alpha", "elastic_sigma", "noise_std"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ConfigError(f"augment.{name} must be a number >= 0, got {value!r}")
            object.__setattr__(self, name, float(value))
        if not 0 < lo <= hi:
            raise ConfigError(f"augment.scale must satisfy 0 < min <= max, got [{lo}, {hi}]")
        p = self.elastic_p
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
            raise ConfigError(f"augment.elastic_p must be in [0, 1], got {p!r}")
        object.__setattr__(self, "elastic_p", float(p))
        if self.elastic_p > 0 and self.elastic_alpha > 0 and self.elastic_sigma <= 0:
            raise ConfigError("augment.elastic_sigma must be > 0 when elastic distortion is on")

    @classmethod
    def from_dict(cls, values: Optional[Mapping[str, Any]]) -> AugmentConfig:
        """Build a config from a recipe table; unknown keys raise :class:`ConfigError`.

        Example:
            >>> AugmentConfig.from_dict({"rotation": 10, "elastic_p": 0}).rotation
            10.0
        """
        values = dict(values or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(
                f"unknown augment key(s) {', '.join(unknown)}: use {', '.join(sorted(known))}"
            )
        return cls(**values)

    @classmethod
    def off(cls) -> AugmentConfig:
        """A config that changes nothing (useful to switch augmentation off explicitly)."""
        return cls(rotation=0.0, scale=(1.0, 1.0), translate=0.0, elastic_p=0.0, noise_std=0.0)

    def to_dict(self) -> Dict[str, Any]:
        """Plain dict (JSON/TOML friendly) of the fields."""
        d = asdict(self)
        d["scale"] = list(self.scale)
        return d


def _reflect_index(i: np.ndarray, n: int) -> np.ndarray:
    """Half-sample symmetric reflection (``d c b a | a b c d``), as scipy's ``reflect`` mode."""
    i = np.mod(i, 2 * n)
    return np.where(i >= n, 2 * n - 1 - i, i)


def gaussian_matrix(n: int, sigma: float, truncate: float = 4.0) -> np.ndarray:
    """The (n, n) matrix of a 1-D Gaussian blur with reflect borders: ``blur(v) = G @ v``."""
    radius = max(1, int(truncate * sigma + 0.5))
    offsets = np.arange(-radius, radius + 1)
    weights = np.exp(-0.5 * (offsets / sigma) ** 2)
    weights /= weights.sum()
    g = np.zeros((n, n))
    rows = np.arange(n)[:, None]
    np.add.at(
        g,
        (np.broadcast_to(rows, (n, offsets.size)), _reflect_index(rows + offsets, n)),
        np.broadcast_to(weights, (n, offsets.size)),
    )
    return g


def _block_size(sigma: float) -> int:
    # Blocks much narrower than sigma keep the smoothed field's statistics (see module doc).
    return max(1, min(4, int(sigma)))


class _ElasticBasis:
    """Precomputed ``A = G @ S`` for one image size and sigma, and per-block noise scales."""

    def __init__(self, size: int, sigma: float) -> None:
        block = _block_size(sigma)
        owner = np.arange(size) // block  # pixel -> block
        nblocks = int(owner[-1]) + 1
        s = np.zeros((size, nblocks))
        s[np.arange(size), owner] = 1.0
        g = gaussian_matrix(size, sigma)
        a = g @ s
        counts = s.sum(axis=0)
        # The mean of c uniforms on [-1, 1] has variance 1 / (3 c); a 2-D block has c = ci * cj.
        self.std = (1.0 / np.sqrt(3.0 * np.outer(counts, counts))).astype(np.float32)
        # Dropping the within-block noise loses a few per cent of variance; restore it at the
        # centre (per axis, the exact variance factor is sum(G[x]**2), the block one is
        # sum(A[x]**2 / counts); A enters twice per axis pair, hence the fourth root overall).
        c = size // 2
        ratio = float(g[c] @ g[c]) / float((a[c] ** 2 / counts).sum())
        self.a = (a * math.sqrt(ratio)).astype(np.float32)
        self.at = np.ascontiguousarray(self.a.T)
        self.nblocks = nblocks
        self.size = size

    def fields(self, rng: np.random.Generator, k: int, alpha: float) -> np.ndarray:
        """``k`` smoothed displacement fields ``alpha * A @ M @ A.T``: (k, 2, size, size)."""
        nb, size = self.nblocks, self.size
        m = rng.standard_normal((k, 2, nb, nb), dtype=np.float32)
        m *= self.std * np.float32(alpha)
        # Two plain 2-D products instead of k small batched matmuls.
        t = _matmul_rows(m.reshape(-1, nb), self.at).reshape(k, 2, nb, size)  # [block_y, x]
        t = _matmul_rows(np.ascontiguousarray(t.transpose(0, 1, 3, 2)).reshape(-1, nb), self.at)
        # This is the transpose A @ M.T @ A.T of the field; M.T has the same distribution as M
        # (i.i.d. entries, symmetric scales), so it is an equally valid field, and contiguous.
        return t.reshape(k, 2, size, size)


#: Rows per BLAS call. OpenBLAS goes multithreaded above m*n*k = 262144; on a busy machine
#: (the trainer's threads, other jobs) its spinning threads made these thin products ~50x
#: slower than one thread. Row blocks keep each call single-threaded on any BLAS.
_ROWS = 512


def _matmul_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    out = np.empty((x.shape[0], y.shape[1]), dtype=np.float32)
    for start in range(0, x.shape[0], _ROWS):
        np.matmul(x[start : start + _ROWS], y, out=out[start : start + _ROWS])
    return out


def exact_elastic_fields(
    rng: np.random.Generator, k: int, size: int, alpha: float, sigma: float
) -> np.ndarray:
    """Reference (slow) fields: full-resolution uniform noise, exact Gaussian blur, times alpha.

    Used by tests to check that the fast block-noise fields have the same statistics.
    """
    g = gaussian_matrix(size, sigma)
    noise = rng.uniform(-1.0, 1.0, (k, 2, size, size))
    return alpha * (g @ noise @ g.T)


class Augmenter:
    """Callable that augments uint8 batches ``(N, H, W)`` with a private numpy Generator.

    The same seed and the same sequence of calls give the same images. Not thread-safe: give
    each thread its own ``Augmenter``.

    Args:
        config: the augmentation parameters (default: :class:`AugmentConfig` defaults).
        seed: seed of the numpy Generator (``None``: fresh entropy).
    """

    def __init__(self, config: Optional[AugmentConfig] = None, seed: Optional[int] = 0) -> None:
        self.config = config or AugmentConfig()
        self.rng = np.random.default_rng(seed)
        self._bases: Dict[int, _ElasticBasis] = {}

    def __call__(self, images: np.ndarray) -> np.ndarray:
        """Augment ``images`` (uint8, (N, H, W)); returns a new uint8 array of the same shape."""
        images = np.asarray(images)
        if images.dtype != np.uint8 or images.ndim != 3:
            raise InputError(
                f"augment expects uint8 images (N, H, W), got {images.dtype} {images.shape}"
            )
        if len(images) <= _CHUNK:
            return self._augment(images)
        # Chunks bound the memory for displacement fields when a whole data set is passed.
        return np.concatenate(
            [self._augment(images[s : s + _CHUNK]) for s in range(0, len(images), _CHUNK)]
        )

    def _augment(self, images: np.ndarray) -> np.ndarray:
        cfg, rng = self.config, self.rng
        n, h, w = images.shape
        # Random parameters, drawn in a fixed order so a seed always means the same batch.
        angles = rng.uniform(-cfg.rotation, cfg.rotation, n)
        scales = rng.uniform(cfg.scale[0], cfg.scale[1], n)
        t = cfg.translate if cfg.translate >= 1 else cfg.translate * max(h, w)
        shifts = rng.uniform(-t, t, (n, 2))
        fields, index = None, None
        if cfg.elastic_alpha > 0 and cfg.elastic_p > 0:
            index = np.flatnonzero(rng.random(n) < cfg.elastic_p)
            fields = self._basis(h, w).fields(rng, index.size, cfg.elastic_alpha)
        out = warp_batch(images, angles, scales, shifts, fields, index)
        if cfg.noise_std > 0:
            noisy = rng.standard_normal(out.shape, dtype=np.float32)
            noisy *= np.float32(cfg.noise_std * 255.0)
            noisy += out
            out = np.clip(np.rint(noisy), 0, 255).astype(np.uint8)
        return out

    def _basis(self, h: int, w: int) -> _ElasticBasis:
        if h != w:
            raise InputError(f"elastic distortion expects square images, got {h}x{w}")
        if h not in self._bases:
            self._bases[h] = _ElasticBasis(h, self.config.elastic_sigma)
        return self._bases[h]


def warp_batch(
    images: np.ndarray,
    angles: ArrayLike,
    scales: ArrayLike,
    shifts: ArrayLike,
    fields: Optional[np.ndarray] = None,
    index: Optional[ArrayLike] = None,
) -> np.ndarray:
    """Rotate, scale and shift each image (and displace it by a field) with bilinear sampling.

    Per image this equals ``cv2.warpAffine(img, M, (W, H))`` with
    ``M = cv2.getRotationMatrix2D(centre, angle, scale)`` plus the shift, and a constant-zero
    border. A displacement field ``d`` moves the sampling position in the source:
    output pixel ``q`` samples ``T^-1(q) + d(q)`` (``T`` the affine map). For the isotropic
    random fields of elastic distortion this is distributed like displacing the affine result,
    up to the scale factor, and saves rotating every field.

    Args:
        images: uint8 (N, H, W).
        angles: (N,) degrees, counter-clockwise as displayed (OpenCV's convention); a scalar
            applies to all images (so do scalar ``scales`` and a single ``shifts`` pair).
        scales: (N,) isotropic scale factors.
        shifts: (N, 2) ``(dx, dy)`` in pixels (right, down).
        fields: optional (K, 2, H, W) displacement fields ``(dx, dy)`` in pixels.
        index: (K,) which images get ``fields`` (default: the first K).

    Returns:
        uint8 (N, H, W).
    """
    images = np.asarray(images)
    n = len(images)
    out = np.empty_like(images)
    where = np.full(n, -1, dtype=np.int64)  # image -> row of ``fields``
    if fields is not None:
        k = len(fields)
        where[np.arange(k) if index is None else np.asarray(index)] = np.arange(k)
    angles_ = np.broadcast_to(np.asarray(angles, np.float64), (n,))
    scales_ = np.broadcast_to(np.asarray(scales, np.float64), (n,))
    shifts_ = np.broadcast_to(np.asarray(shifts, np.float32), (n, 2))
    for s in range(0, n, _CHUNK):
        sl = slice(s, s + _CHUNK)
        rows = where[sl]
        # Displaced images first, so that adding their fields works on a contiguous slice.
        k = int((rows >= 0).sum())
        if fields is None or k == 0:
            out[sl] = _warp_chunk(images[sl], angles_[sl], scales_[sl], shifts_[sl], None)
            continue
        order = np.argsort(rows < 0, kind="stable")
        out[sl][order] = _warp_chunk(
            images[sl][order],
            angles_[sl][order],
            scales_[sl][order],
            shifts_[sl][order],
            fields[rows[order[:k]]],
        )
    return out


def _warp_chunk(
    images: np.ndarray,
    angles: np.ndarray,
    scales: np.ndarray,
    shifts: np.ndarray,
    fields: Optional[np.ndarray],
) -> np.ndarray:
    import cv2

    n, h, w = images.shape
    # Inverse map (output pixel q -> source pixel) about the image centre c:
    # src = c + R(angle) / scale @ (q - c - shift) + d(q), R the rotation that undoes OpenCV's.
    # Without d each map is a row term plus a column term: one broadcast add per map.
    # The batch is stacked into one tall source image, a zero row above each digit and one at
    # the end, so map_y also carries each digit's row offset.
    rad = np.deg2rad(angles)
    a = (np.cos(rad) / scales).astype(np.float32)[:, None]
    b = (np.sin(rad) / scales).astype(np.float32)[:, None]
    cx, cy = np.float32((w - 1) / 2.0), np.float32((h - 1) / 2.0)
    u = (np.arange(w, dtype=np.float32) - cx)[None, :]
    v = (np.arange(h, dtype=np.float32) - cy)[None, :]
    tx, ty = shifts[:, 0:1], shifts[:, 1:2]
    map_x = (a * u)[:, None, :] + (b * ty - a * tx - b * v + cx)[:, :, None]
    top = (np.arange(n, dtype=np.float32) * (h + 1) + 1)[:, None]  # each digit's first row
    map_y = (b * u)[:, None, :] + (a * v - b * tx - a * ty + cy + top)[:, :, None]
    if fields is not None:  # for the first len(fields) images
        k = len(fields)
        map_x[:k] += fields[:, 0]
        map_y[:k] += fields[:, 1]
    # Clamping y into [top - 1, top + h] keeps every bilinear sample inside the digit's own
    # zero rows: exactly a per-image remap with a zero border. x needs no clamp: remap's
    # constant-zero border handles the left and right edges.
    np.clip(map_y, (top - 1)[:, :, None], (top + h)[:, :, None], out=map_y)
    tall = np.zeros((n * (h + 1) + 1, w), np.uint8)
    tall[:-1].reshape(n, h + 1, w)[:, 1:, :] = images
    return cv2.remap(
        tall,
        map_x.reshape(n * h, w),
        map_y.reshape(n * h, w),
        interpolation=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    ).reshape(n, h, w)


def augment(
    images: np.ndarray, config: Optional[AugmentConfig] = None, seed: Optional[int] = 0
) -> np.ndarray:
    """One-shot helper: ``Augmenter(config, seed)(images)``."""
    return Augmenter(config, seed)(images)


def expected_elastic_std(alpha: float, sigma: float, size: int = 28) -> float:
    """Standard deviation of one displacement component at the image centre (in pixels).

    For uniform noise on [-1, 1] (variance 1/3) blurred by ``G`` in both axes, the centre
    value has variance ``alpha**2 / 3 * sum(g_row**2) ** 2``.
    """
    g = gaussian_matrix(size, sigma)
    row = g[size // 2]
    return float(alpha * math.sqrt(1.0 / 3.0) * float(row @ row))
