"""Summary statistics of latency samples: min, percentiles, mean, spread.

Percentiles use linear interpolation between closest ranks (numpy's default, "type 7"), so
``percentile([1, 2, 3, 4], 50) == 2.5``. Pure Python: it runs the same on every device.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Dict, List, Sequence

#: a coefficient of variation above this gets a warning in reports
CV_WARN = 0.25


def percentile(sorted_samples: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) of already sorted samples, linearly interpolated.

    Args:
        sorted_samples: samples in ascending order (at least one).
        q: percentile in [0, 100].

    Returns:
        The interpolated value.

    Raises:
        ValueError: no samples, or ``q`` outside [0, 100].

    Example:
        >>> percentile([1.0, 2.0, 3.0, 4.0], 50)
        2.5
    """
    n = len(sorted_samples)
    if n == 0:
        raise ValueError("percentile of no samples")
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"percentile {q} outside [0, 100]")
    pos = (n - 1) * q / 100.0
    lo = int(math.floor(pos))
    hi = min(lo + 1, n - 1)
    frac = pos - lo
    return float(sorted_samples[lo] + (sorted_samples[hi] - sorted_samples[lo]) * frac)


@dataclass(frozen=True)
class Summary:
    """Statistics of one set of samples, in the samples' own unit."""

    n: int
    min: float
    p50: float
    p90: float
    p99: float
    max: float
    mean: float
    #: sample standard deviation (n - 1 in the denominator; 0 for one sample)
    std: float
    #: coefficient of variation, std / mean (0 when the mean is 0)
    cv: float

    def scaled(self, factor: float) -> Summary:
        """The same statistics with every value (not ``n`` or ``cv``) multiplied by ``factor``."""
        return Summary(
            n=self.n,
            min=self.min * factor,
            p50=self.p50 * factor,
            p90=self.p90 * factor,
            p99=self.p99 * factor,
            max=self.max * factor,
            mean=self.mean * factor,
            std=self.std * factor,
            cv=self.cv,
        )

    def as_dict(self, digits: int = 3) -> Dict[str, float]:
        """Plain dict for JSON, values rounded to ``digits`` decimals (``n`` stays an int)."""
        out: Dict[str, float] = {}
        for key, value in asdict(self).items():
            out[key] = value if key == "n" else round(float(value), digits if key != "cv" else 4)
        return out

    @property
    def unstable(self) -> bool:
        """True when the spread is large enough that single numbers mislead (CV > CV_WARN)."""
        return self.cv > CV_WARN


def summarize(samples: Sequence[float]) -> Summary:
    """Summarize samples (any unit).

    Args:
        samples: at least one finite value.

    Returns:
        A :class:`Summary`.

    Raises:
        ValueError: no samples, or a sample that is not finite.

    Example:
        >>> s = summarize([1.0, 2.0, 3.0, 4.0])
        >>> (s.min, s.p50, s.mean, s.max)
        (1.0, 2.5, 2.5, 4.0)
    """
    values: List[float] = sorted(float(v) for v in samples)
    if not values:
        raise ValueError("no samples to summarize")
    if not all(math.isfinite(v) for v in values):
        raise ValueError("samples must be finite numbers")
    n = len(values)
    mean = math.fsum(values) / n
    var = math.fsum((v - mean) ** 2 for v in values) / (n - 1) if n > 1 else 0.0
    std = math.sqrt(var)
    return Summary(
        n=n,
        min=values[0],
        p50=percentile(values, 50),
        p90=percentile(values, 90),
        p99=percentile(values, 99),
        max=values[-1],
        mean=mean,
        std=std,
        cv=std / mean if mean > 0 else 0.0,
    )


def cdf_points(samples: Sequence[float], max_points: int = 2000) -> List[float]:
    """Sorted samples thinned to at most ``max_points`` evenly spaced quantiles.

    Enough to draw a CDF (and to keep result JSON small) without keeping every sample.

    Args:
        samples: the raw samples.
        max_points: how many quantiles to keep (>= 2).

    Returns:
        Ascending values; the first is the minimum and the last the maximum.
    """
    values = sorted(float(v) for v in samples)
    n = len(values)
    if n <= max_points:
        return values
    step = (n - 1) / (max_points - 1)
    return [values[int(round(i * step))] for i in range(max_points)]
