"""Parametric families with closed-form moments, quantiles and numpy-native sampling."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import special

from .base import (
    Checks,
    DistributionBase,
    FloatArray,
    Formatter,
    as_float_array,
    check_n,
    fmt_number,
    ppf_domain,
    remaining_args,
    remaining_result,
    unbox,
)
from .tails import gamma_isf_log, gamma_logsf

Z90 = float(special.ndtri(0.9))


def _given(pairs: tuple[tuple[str, float], ...], fmt: Formatter | None, scale: set[str]) -> str:
    f = fmt or fmt_number
    return ", ".join(f"{k} {f(v) if k in scale else fmt_number(v)}" for k, v in pairs)


class Exponential(DistributionBase):
    """Exponential distribution with the given mean (memoryless waits, Poisson gaps)."""

    def __init__(self, mean: float) -> None:
        c = Checks()
        self._mean = c.positive("mean", mean)
        c.raise_if_any()

    def sample(self, rng: np.random.Generator, n: int) -> FloatArray:
        """Draw ``n`` values."""
        return rng.exponential(self._mean, check_n(n))

    @property
    def mean(self) -> float:
        return self._mean

    @property
    def var(self) -> float:
        return self._mean**2

    def ppf(self, q: npt.ArrayLike) -> Any:
        """Quantile function."""
        qa = as_float_array(q)
        with np.errstate(invalid="ignore", divide="ignore"):
            return ppf_domain(qa, -self._mean * np.log1p(-qa))

    def cdf(self, x: npt.ArrayLike) -> Any:
        """P(X <= x)."""
        xa = as_float_array(x)
        return unbox(np.where(xa > 0, -np.expm1(-np.maximum(xa, 0) / self._mean), 0.0))

    def sf(self, x: npt.ArrayLike) -> Any:
        """P(X > x)."""
        xa = as_float_array(x)
        return unbox(np.where(xa > 0, np.exp(-np.maximum(xa, 0) / self._mean), 1.0))

    def logsf(self, x: npt.ArrayLike) -> Any:
        """log P(X > x)."""
        return unbox(-np.maximum(as_float_array(x), 0) / self._mean)

    def remaining(self, age: npt.ArrayLike, u: npt.ArrayLike) -> FloatArray:
        """Memoryless: the remaining time is a fresh draw whatever the age."""
        _, uu, ok = remaining_args(age, u)
        return remaining_result(-self._mean * np.log1p(-uu), ok)

    def describe(self, fmt: Formatter | None = None) -> str:
        """E.g. "exponential(mean 20 min)"."""
        return f"exponential(mean {(fmt or fmt_number)(self._mean)})"


class Lognormal(DistributionBase):
    """Lognormal: log X ~ Normal(mu, sigma). Use the classmethods for friendlier parameters."""

    def __init__(
        self, mu: float, sigma: float, *, _given: tuple[tuple[str, float], ...] | None = None
    ) -> None:
        c = Checks()
        self.mu = c.number("mu", mu)
        self.sigma = c.positive("sigma", sigma)
        c.raise_if_any()
        # Remember how the user parametrised it, for describe() and to_spec().
        self.given = _given or (("mu", self.mu), ("sigma", self.sigma))

    @classmethod
    def from_mean_sd(cls, mean: float, sd: float) -> Lognormal:
        """Lognormal with the given mean and standard deviation."""
        c = Checks()
        m, s = c.positive("mean", mean), c.positive("sd", sd)
        c.raise_if_any()
        sigma2 = math.log1p((s / m) ** 2)
        return cls(math.log(m) - sigma2 / 2, math.sqrt(sigma2), _given=(("mean", m), ("sd", s)))

    @classmethod
    def from_median_p90(cls, median: float, p90: float) -> Lognormal:
        """Lognormal whose 50% and 90% quantiles are exactly ``median`` and ``p90``."""
        c = Checks()
        m, p = c.positive("median", median), c.positive("p90", p90)
        if math.isfinite(m) and math.isfinite(p) and m > 0 and p <= m:
            c.add("p90", "p90 ({p90}) must be greater than median ({median})", p90=p, median=m)
        c.raise_if_any()
        sigma = (math.log(p) - math.log(m)) / Z90
        return cls(math.log(m), sigma, _given=(("median", m), ("p90", p)))

    @classmethod
    def from_median_sigma(cls, median: float, sigma: float) -> Lognormal:
        """Lognormal with the given median and log-scale sigma."""
        c = Checks()
        m, s = c.positive("median", median), c.positive("sigma", sigma)
        c.raise_if_any()
        return cls(math.log(m), s, _given=(("median", m), ("sigma", s)))

    @property
    def median(self) -> float:
        return math.exp(self.mu)

    def sample(self, rng: np.random.Generator, n: int) -> FloatArray:
        """Draw ``n`` values."""
        return rng.lognormal(self.mu, self.sigma, check_n(n))

    @property
    def mean(self) -> float:
        with np.errstate(over="ignore"):
            return float(np.exp(self.mu + self.sigma**2 / 2))

    @property
    def var(self) -> float:
        s2 = self.sigma**2
        with np.errstate(over="ignore", invalid="ignore"):
            return float(np.expm1(s2) * np.exp(2 * self.mu + s2))

    def ppf(self, q: npt.ArrayLike) -> Any:
        """Quantile function."""
        qa = as_float_array(q)
        with np.errstate(invalid="ignore", over="ignore"):
            return ppf_domain(qa, np.exp(self.mu + self.sigma * special.ndtri(qa)))

    def _z(self, x: FloatArray) -> FloatArray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return (np.log(np.where(x > 0, x, np.nan)) - self.mu) / self.sigma

    def cdf(self, x: npt.ArrayLike) -> Any:
        """P(X <= x)."""
        xa = as_float_array(x)
        return unbox(np.where(xa > 0, special.ndtr(self._z(xa)), 0.0))

    def sf(self, x: npt.ArrayLike) -> Any:
        """P(X > x)."""
        xa = as_float_array(x)
        return unbox(np.where(xa > 0, special.ndtr(-self._z(xa)), 1.0))

    def logsf(self, x: npt.ArrayLike) -> Any:
        """log P(X > x), finite however far in the tail."""
        xa = as_float_array(x)
        return unbox(np.where(xa > 0, special.log_ndtr(-self._z(xa)), 0.0))

    def remaining(self, age: npt.ArrayLike, u: npt.ArrayLike) -> FloatArray:
        """In log-survival space on the normal scale (``ndtri_exp`` inverts ``log_ndtr``),
        so ages far in the tail keep full precision."""
        a, uu, ok = remaining_args(age, u)
        z_age = np.where(a > 0, self._z(a), -np.inf)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            z = -special.ndtri_exp(special.log_ndtr(-z_age) + np.log1p(-uu))
            # x - age = age * (exp(sigma (z - z_age)) - 1), without cancelling x against age
            rem = np.where(a > 0, a * np.expm1(self.sigma * (z - z_age)),
                           np.exp(self.mu + self.sigma * z))
        return remaining_result(np.where(z == z_age, 0.0, rem), ok)

    def describe(self, fmt: Formatter | None = None) -> str:
        """E.g. "lognormal(median 20 min, p90 45 min)"."""
        return f"lognormal({_given(self.given, fmt, {'mean', 'sd', 'median', 'p90'})})"


class Gamma(DistributionBase):
    """Gamma distribution with shape k and scale theta (mean k*theta)."""

    def __init__(
        self, shape: float, scale: float, *, _given: tuple[tuple[str, float], ...] | None = None
    ) -> None:
        c = Checks()
        self.shape = c.positive("shape", shape)
        self.scale = c.positive("scale", scale)
        c.raise_if_any()
        self.given = _given or (("shape", self.shape), ("scale", self.scale))

    @classmethod
    def from_mean_sd(cls, mean: float, sd: float) -> Gamma:
        """Gamma with the given mean and standard deviation."""
        c = Checks()
        m, s = c.positive("mean", mean), c.positive("sd", sd)
        c.raise_if_any()
        return cls((m / s) ** 2, s**2 / m, _given=(("mean", m), ("sd", s)))

    def sample(self, rng: np.random.Generator, n: int) -> FloatArray:
        """Draw ``n`` values."""
        return rng.gamma(self.shape, self.scale, check_n(n))

    @property
    def mean(self) -> float:
        return self.shape * self.scale

    @property
    def var(self) -> float:
        return self.shape * self.scale**2

    def ppf(self, q: npt.ArrayLike) -> Any:
        """Quantile function."""
        qa = as_float_array(q)
        return ppf_domain(qa, self.scale * special.gammaincinv(self.shape, np.clip(qa, 0, 1)))

    def cdf(self, x: npt.ArrayLike) -> Any:
        """P(X <= x)."""
        xa = as_float_array(x)
        return unbox(special.gammainc(self.shape, np.maximum(xa, 0) / self.scale))

    def sf(self, x: npt.ArrayLike) -> Any:
        """P(X > x)."""
        xa = as_float_array(x)
        return unbox(special.gammaincc(self.shape, np.maximum(xa, 0) / self.scale))

    def logsf(self, x: npt.ArrayLike) -> Any:
        """log P(X > x), finite however far in the tail."""
        return unbox(gamma_logsf(self.shape, as_float_array(x) / self.scale))

    def isf(self, s: npt.ArrayLike) -> Any:
        """Inverse survival function."""
        sa = as_float_array(s)
        with np.errstate(divide="ignore"):
            x = self.scale * gamma_isf_log(self.shape, np.log(np.clip(sa, 0, 1)))
        return ppf_domain(sa, x)

    def remaining(self, age: npt.ArrayLike, u: npt.ArrayLike) -> FloatArray:
        """Inverting the log-survival, which stays finite where ``sf`` underflows."""
        a, uu, ok = remaining_args(age, u)
        with np.errstate(divide="ignore"):
            log_s = gamma_logsf(self.shape, a / self.scale) + np.log1p(-uu)
        return remaining_result(self.scale * gamma_isf_log(self.shape, log_s) - a, ok)

    def describe(self, fmt: Formatter | None = None) -> str:
        """E.g. "gamma(shape 2, scale 3 h)"."""
        return f"gamma({_given(self.given, fmt, {'mean', 'sd', 'scale'})})"


class Weibull(DistributionBase):
    """Weibull distribution with shape k and scale lambda."""

    def __init__(self, shape: float, scale: float) -> None:
        c = Checks()
        self.shape = c.positive("shape", shape)
        self.scale = c.positive("scale", scale)
        c.raise_if_any()

    def sample(self, rng: np.random.Generator, n: int) -> FloatArray:
        """Draw ``n`` values."""
        return self.scale * rng.weibull(self.shape, check_n(n))

    @property
    def mean(self) -> float:
        return float(self.scale * special.gamma(1 + 1 / self.shape))

    @property
    def var(self) -> float:
        g1 = special.gamma(1 + 1 / self.shape)
        g2 = special.gamma(1 + 2 / self.shape)
        with np.errstate(invalid="ignore"):
            v = float(self.scale**2 * (g2 - g1**2))
        return v if math.isfinite(v) else math.inf

    def ppf(self, q: npt.ArrayLike) -> Any:
        """Quantile function."""
        qa = as_float_array(q)
        with np.errstate(invalid="ignore", divide="ignore"):
            return ppf_domain(qa, self.scale * (-np.log1p(-qa)) ** (1 / self.shape))

    def _h(self, x: FloatArray) -> FloatArray:
        return (np.maximum(x, 0) / self.scale) ** self.shape

    def cdf(self, x: npt.ArrayLike) -> Any:
        """P(X <= x)."""
        return unbox(-np.expm1(-self._h(as_float_array(x))))

    def sf(self, x: npt.ArrayLike) -> Any:
        """P(X > x)."""
        return unbox(np.exp(-self._h(as_float_array(x))))

    def logsf(self, x: npt.ArrayLike) -> Any:
        """log P(X > x) = -(x / scale) ** shape."""
        return unbox(-self._h(as_float_array(x)))

    def remaining(self, age: npt.ArrayLike, u: npt.ArrayLike) -> FloatArray:
        """Closed form: ((age / scale) ** k - log(1 - u)) ** (1 / k) * scale - age."""
        a, uu, ok = remaining_args(age, u)
        e = -np.log1p(-uu)
        h = self._h(a)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            # age * ((1 + e / H(age)) ** (1 / k) - 1) does not cancel x against an old age;
            # where it would overflow x dwarfs the age and the plain difference is exact enough
            grow = np.log1p(e / h) / self.shape
            rem = np.where((h > 0) & (grow < 700), a * np.expm1(grow),
                           self.scale * (h + e) ** (1 / self.shape) - a)
        return remaining_result(np.where(e == 0, 0.0, rem), ok)

    def describe(self, fmt: Formatter | None = None) -> str:
        """E.g. "weibull(shape 1.5, scale 2 d)"."""
        return f"weibull(shape {fmt_number(self.shape)}, scale {(fmt or fmt_number)(self.scale)})"


class Triangular(DistributionBase):
    """Triangular distribution on [low, high] with peak at mode."""

    def __init__(self, low: float, mode: float, high: float) -> None:
        c = Checks()
        a, m, b = c.number("low", low), c.number("mode", mode), c.number("high", high)
        if all(map(math.isfinite, (a, m, b))):
            if not a < b:
                c.add("high", "high ({high}) must be greater than low ({low})", high=b, low=a)
            elif not a <= m <= b:
                c.add(
                    "mode",
                    "mode ({mode}) must lie between low ({low}) and high ({high})",
                    mode=m,
                    low=a,
                    high=b,
                )
        c.raise_if_any()
        self.low, self.mode, self.high = a, m, b

    def sample(self, rng: np.random.Generator, n: int) -> FloatArray:
        """Draw ``n`` values."""
        return rng.triangular(self.low, self.mode, self.high, check_n(n))

    @property
    def mean(self) -> float:
        return (self.low + self.mode + self.high) / 3

    @property
    def var(self) -> float:
        a, m, b = self.low, self.mode, self.high
        return (a * a + m * m + b * b - a * m - a * b - m * b) / 18

    def ppf(self, q: npt.ArrayLike) -> Any:
        """Quantile function."""
        qa = np.clip(as_float_array(q), 0, 1)
        a, m, b = self.low, self.mode, self.high
        fm = (m - a) / (b - a)
        left = a + np.sqrt(qa * (b - a) * (m - a))
        right = b - np.sqrt((1 - qa) * (b - a) * (b - m))
        return ppf_domain(as_float_array(q), np.where(qa <= fm, left, right))

    def cdf(self, x: npt.ArrayLike) -> Any:
        """P(X <= x)."""
        xa = as_float_array(x)
        a, m, b = self.low, self.mode, self.high
        with np.errstate(divide="ignore", invalid="ignore"):
            left = (xa - a) ** 2 / ((b - a) * (m - a))
            right = 1 - (b - xa) ** 2 / ((b - a) * (b - m))
        out = np.where(xa <= a, 0.0, np.where(xa >= b, 1.0, np.where(xa <= m, left, right)))
        return unbox(out)

    def sf(self, x: npt.ArrayLike) -> Any:
        """P(X > x), computed directly so that it stays exact near ``high``."""
        xa = as_float_array(x)
        a, m, b = self.low, self.mode, self.high
        with np.errstate(divide="ignore", invalid="ignore"):
            left = 1 - (xa - a) ** 2 / ((b - a) * (m - a))
            right = (b - xa) ** 2 / ((b - a) * (b - m))
        out = np.where(xa <= a, 1.0, np.where(xa >= b, 0.0, np.where(xa <= m, left, right)))
        return unbox(out)

    def remaining(self, age: npt.ArrayLike, u: npt.ArrayLike) -> FloatArray:
        """Closed form. Past the mode the truncated law is again triangular, so the rest is
        (high - age) * (1 - sqrt(1 - u)); at or past ``high`` the item is overdue: 0."""
        age_a, uu, ok = remaining_args(age, u)
        a, m, b = self.low, self.mode, self.high
        s = (1 - uu) * as_float_array(self.sf(age_a))  # survival at the answer
        with np.errstate(divide="ignore", invalid="ignore"):
            x = np.where(s * (b - a) <= b - m, b - np.sqrt(s * (b - a) * (b - m)),
                         a + np.sqrt(np.maximum(1 - s, 0) * (b - a) * (m - a)))
            # the same past the mode, with 1 - sqrt(1 - u) written without cancellation
            tail = (b - age_a) * uu / (1 + np.sqrt(1 - uu))
        rem = np.where(age_a >= m, tail, x - age_a)
        return remaining_result(np.where(age_a >= b, 0.0, rem), ok)

    def describe(self, fmt: Formatter | None = None) -> str:
        """E.g. "triangular(low 1 h, mode 2 h, high 6 h)"."""
        f = fmt or fmt_number
        return f"triangular(low {f(self.low)}, mode {f(self.mode)}, high {f(self.high)})"


class Uniform(DistributionBase):
    """Continuous uniform distribution on [low, high]."""

    def __init__(self, low: float, high: float) -> None:
        c = Checks()
        a, b = c.number("low", low), c.number("high", high)
        if math.isfinite(a) and math.isfinite(b) and not a < b:
            c.add("high", "high ({high}) must be greater than low ({low})", high=b, low=a)
        c.raise_if_any()
        self.low, self.high = a, b

    def sample(self, rng: np.random.Generator, n: int) -> FloatArray:
        """Draw ``n`` values."""
        return rng.uniform(self.low, self.high, check_n(n))

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2

    @property
    def var(self) -> float:
        return (self.high - self.low) ** 2 / 12

    def ppf(self, q: npt.ArrayLike) -> Any:
        """Quantile function."""
        qa = as_float_array(q)
        return ppf_domain(qa, self.low + qa * (self.high - self.low))

    def cdf(self, x: npt.ArrayLike) -> Any:
        """P(X <= x)."""
        xa = as_float_array(x)
        return unbox(np.clip((xa - self.low) / (self.high - self.low), 0.0, 1.0))

    def sf(self, x: npt.ArrayLike) -> Any:
        """P(X > x)."""
        xa = as_float_array(x)
        return unbox(np.clip((self.high - xa) / (self.high - self.low), 0.0, 1.0))

    def remaining(self, age: npt.ArrayLike, u: npt.ArrayLike) -> FloatArray:
        """Uniform again, on [max(age, low), high]; at or past ``high`` overdue: 0."""
        a, uu, ok = remaining_args(age, u)
        start = np.maximum(a, self.low)
        rem = start - a + uu * (self.high - start)
        return remaining_result(np.where(a >= self.high, 0.0, rem), ok)

    def describe(self, fmt: Formatter | None = None) -> str:
        """E.g. "uniform(low 1 h, high 3 h)"."""
        f = fmt or fmt_number
        return f"uniform(low {f(self.low)}, high {f(self.high)})"


class Deterministic(DistributionBase):
    """Always the same value."""

    def __init__(self, value: float) -> None:
        c = Checks()
        self.value = c.number("value", value)
        c.raise_if_any()

    def sample(self, rng: np.random.Generator, n: int) -> FloatArray:
        """``n`` copies of the value (consumes no randomness)."""
        return np.full(check_n(n), self.value)

    @property
    def mean(self) -> float:
        return self.value

    @property
    def var(self) -> float:
        return 0.0

    def ppf(self, q: npt.ArrayLike) -> Any:
        """Quantile function."""
        qa = as_float_array(q)
        return ppf_domain(qa, np.full_like(qa, self.value))

    def cdf(self, x: npt.ArrayLike) -> Any:
        """P(X <= x)."""
        return unbox((as_float_array(x) >= self.value).astype(np.float64))

    def sf(self, x: npt.ArrayLike) -> Any:
        """P(X > x)."""
        return unbox((as_float_array(x) < self.value).astype(np.float64))

    def remaining(self, age: npt.ArrayLike, u: npt.ArrayLike) -> FloatArray:
        """value - age; at or past the value the item is overdue: 0."""
        a, _, ok = remaining_args(age, u)
        return remaining_result(self.value - a, ok)

    def describe(self, fmt: Formatter | None = None) -> str:
        """E.g. "fixed(20 min)"."""
        return f"fixed({(fmt or fmt_number)(self.value)})"
