"""Any continuous scipy.stats distribution by name, validated up front."""

from __future__ import annotations

import difflib
import functools
import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats

from .base import (
    Checks,
    DistributionBase,
    FloatArray,
    Formatter,
    Issue,
    as_float_array,
    check_n,
    fmt_number,
    literal,
    remaining_args,
    remaining_result,
    unbox,
)
from .tails import invert_log_survival


@functools.cache
def continuous_names() -> tuple[str, ...]:
    """Names of scipy.stats continuous distributions."""
    return tuple(
        sorted(n for n in dir(stats) if isinstance(getattr(stats, n, None), stats.rv_continuous))
    )


@functools.cache
def _discrete_names() -> frozenset[str]:
    return frozenset(
        n for n in dir(stats) if isinstance(getattr(stats, n, None), stats.rv_discrete)
    )


def shape_names(name: str) -> tuple[str, ...]:
    """Shape parameter names of a scipy.stats continuous distribution (without loc/scale)."""
    shapes = getattr(stats, name).shapes or ""
    return tuple(s.strip() for s in shapes.split(",") if s.strip())


def _suggest(word: str, options: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, options, n=3)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def check_scipy_names(name: Any, keys: Iterable[str]) -> list[Issue]:
    """Issues with a scipy distribution name and its parameter names (values not checked)."""
    c = Checks()
    if not isinstance(name, str) or name not in continuous_names():
        if isinstance(name, str) and name in _discrete_names():
            msg = (
                f"{name} is a discrete scipy distribution; only continuous ones are "
                "supported (use choice or empirical for discrete values)"
            )
        else:
            msg = f"unknown scipy.stats continuous distribution {name!r}" + (
                _suggest(name, continuous_names()) if isinstance(name, str) else ""
            )
        c.add("name", literal(msg))
        return c.issues
    shapes = shape_names(name)
    valid = (*shapes, "loc", "scale")
    keys = list(keys)
    for key in keys:
        if key not in valid:
            msg = f"{name} takes {', '.join(valid)}; got unknown parameter {key!r}"
            c.add(key, literal(msg + _suggest(key, valid)))
    for s in shapes:
        if s not in keys:
            c.add(s, f"{name} needs shape parameter {s} (takes {', '.join(valid)})")
    return c.issues


class ScipyDist(DistributionBase):
    """A frozen scipy.stats continuous distribution with a finite lower end of its support."""

    def __init__(self, name: str, **params: float) -> None:
        c = Checks()
        c.issues.extend(check_scipy_names(name, params))
        c.raise_if_any()
        self.name = name
        self.params: dict[str, float] = {
            k: c.positive(k, v) if k == "scale" else c.number(k, v) for k, v in params.items()
        }
        c.raise_if_any()
        try:
            self.frozen = getattr(stats, name)(**self.params)
            lo, hi = (float(v) for v in self.frozen.support())
        except (ValueError, TypeError, ArithmeticError) as e:
            c.add("name", literal(f"scipy could not use these parameters for {name}: {e}"))
            c.raise_if_any()
        if math.isnan(lo) or math.isnan(hi):
            # Placeholders let callers render loc/scale in the field's unit.
            given = ", ".join(f"{k}={{{k}}}" for k in self.params)
            c.add("name", f"scipy rejects these parameters for {name}: {given}", **self.params)
        elif lo == -math.inf:
            c.add(
                "name",
                f"{name} is unbounded below (its support starts at -inf); revsim needs a "
                "finite lower end, e.g. lognorm, gamma, weibull_min or truncnorm",
            )
        c.raise_if_any()
        self.support = (lo, hi)
        m, v = (float(x) for x in self.frozen.stats(moments="mv"))
        # With the support bounded below, an undefined moment (nan) diverges to +inf.
        self._mean = math.inf if math.isnan(m) else m
        self._var = math.inf if math.isnan(v) or not math.isfinite(self._mean) else v

    def sample(self, rng: np.random.Generator, n: int) -> FloatArray:
        """Draw ``n`` values via scipy (slower than the numpy-native families)."""
        n = check_n(n)
        return np.asarray(self.frozen.rvs(size=n, random_state=rng), dtype=np.float64).reshape(n)

    @property
    def mean(self) -> float:
        return self._mean

    @property
    def var(self) -> float:
        return self._var

    def ppf(self, q: npt.ArrayLike) -> Any:
        """Quantile function."""
        return unbox(as_float_array(self.frozen.ppf(as_float_array(q))))

    def cdf(self, x: npt.ArrayLike) -> Any:
        """P(X <= x)."""
        return unbox(as_float_array(self.frozen.cdf(as_float_array(x))))

    def sf(self, x: npt.ArrayLike) -> Any:
        """P(X > x)."""
        return unbox(as_float_array(self.frozen.sf(as_float_array(x))))

    def logsf(self, x: npt.ArrayLike) -> Any:
        """log P(X > x), as precise in the tail as scipy makes it."""
        with np.errstate(divide="ignore"):
            return unbox(as_float_array(self.frozen.logsf(as_float_array(x))))

    def isf(self, s: npt.ArrayLike) -> Any:
        """Inverse survival function."""
        return unbox(as_float_array(self.frozen.isf(as_float_array(s))))

    def remaining(self, age: npt.ArrayLike, u: npt.ArrayLike) -> FloatArray:
        """Through scipy's ``logsf`` and ``isf``; where the target survival probability
        underflows, Newton steps on ``logsf`` from the age (slope: minus the hazard).

        As precise in the tail as scipy's ``logsf``: where that underflows to -inf (some
        distributions compute it as log(sf)), the age counts as beyond the support (0, and
        ``beyond_support`` says so); the native families do not have this limit."""
        a, uu, ok = remaining_args(age, u)
        with np.errstate(divide="ignore", invalid="ignore", under="ignore"):
            log_s = as_float_array(self.logsf(a))
            target = log_s + np.log1p(-uu)
            s = np.exp(target)
            x = np.array(self.frozen.isf(s), dtype=np.float64, ndmin=1).reshape(a.shape)
        deep = (s == 0) & np.isfinite(target)
        if deep.any():
            frozen = self.frozen
            x[deep] = invert_log_survival(
                lambda v: np.asarray(frozen.logsf(v), dtype=np.float64),
                lambda v: np.asarray(frozen.logpdf(v), dtype=np.float64),
                target[deep], a[deep],
            )
        return remaining_result(np.where(np.isneginf(log_s), 0.0, x - a), ok)

    def describe(self, fmt: Formatter | None = None) -> str:
        """E.g. "scipy.gamma(a=2, scale=3 h)"."""
        f = fmt or fmt_number
        parts = (
            f"{k}={f(v) if k in ('loc', 'scale') else fmt_number(v)}"
            for k, v in self.params.items()
        )
        return f"scipy.{self.name}({', '.join(parts)})"
