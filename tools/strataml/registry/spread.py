"""Count, mean, spread and a 95% interval of a sample (TFC-0003 R18): what `strata runs
aggregate` says of each group's metric, with Student's t for the interval (no SciPy needed)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

CONFIDENCE = 0.95


@dataclass(frozen=True, slots=True)
class Spread:
    """One metric over a group's runs. `std` is the sample standard deviation (n - 1); it and the
    interval are None for a single value, where no spread can be told."""

    count: int
    mean: float
    std: float | None
    min: float
    max: float
    low: float | None  # the mean's 95% interval, Student's t with count - 1 degrees of freedom
    high: float | None

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        """The figures of finite `values`, computed on the values scaled to at most 1 in size,
        so that no sum overflows however large they are (1e308 twice has a mean); a deviation or
        bound past what a float holds is None, as for a single value."""
        n, low, high = len(values), min(values), max(values)
        scale = max(abs(low), abs(high)) or 1.0
        scaled = [v / scale for v in values]
        mean_scaled = math.fsum(scaled) / n
        mean = min(max(mean_scaled * scale, low), high)  # rounding never leaves the range
        if n < 2:
            return cls(n, mean, None, low, high, None, None)
        spread = math.sqrt(math.fsum((v - mean_scaled) ** 2 for v in scaled) / (n - 1))
        std = _finite(spread * scale)
        if std is None:
            return cls(n, mean, None, low, high, None, None)
        half = t_quantile(0.5 + CONFIDENCE / 2, n - 1) * spread / math.sqrt(n)
        bounds = _finite((mean_scaled - half) * scale), _finite((mean_scaled + half) * scale)
        if bounds[0] is None or bounds[1] is None:
            return cls(n, mean, std, low, high, None, None)
        return cls(n, mean, std, low, high, *bounds)

    def document(self) -> dict[str, object]:
        return {
            "count": self.count, "mean": self.mean, "std": self.std, "min": self.min,
            "max": self.max, "ci95": None if self.low is None else [self.low, self.high],
        }  # fmt: skip

    def stat(self, name: str) -> float | None:
        """mean, min, max, low or high by name (what `runs best --aggregate` ranks by)."""
        value: float | None = getattr(self, name)
        return value


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def t_quantile(p: float, df: int) -> float:
    """The p-quantile of Student's t with `df` degrees of freedom (0.5 < p < 1), found by
    bisection on its distribution function (the continued fraction holds it to about 1e-10
    relative at a million degrees of freedom, 1e-12 below a thousand)."""
    low, high = 0.0, 1.0
    while _t_cdf(high, df) < p:
        high *= 2
    for _ in range(200):
        middle = (low + high) / 2
        if _t_cdf(middle, df) < p:
            low = middle
        else:
            high = middle
        if high - low < 1e-12:
            break
    return (low + high) / 2


def _t_cdf(t: float, df: int) -> float:
    """P(T <= t) for t >= 0: 1 - I_x(df/2, 1/2) / 2 with x = df / (df + t^2)."""
    return 1.0 - 0.5 * _incomplete_beta(df / (df + t * t), df / 2, 0.5)


def _incomplete_beta(x: float, a: float, b: float) -> float:
    """The regularized incomplete beta function I_x(a, b), by its continued fraction."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1) / (a + b + 2):
        return front * _fraction(x, a, b) / a
    return 1.0 - front * _fraction(1.0 - x, b, a) / b


def _fraction(x: float, a: float, b: float) -> float:
    """The continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 400):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            result *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return result
