"""Shared machinery: the Distribution protocol, a base class, parameter checks and formatting."""

from __future__ import annotations

import math
import operator
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from ..errors import RevsimError

FloatArray = npt.NDArray[np.float64]
Formatter = Callable[[float], str]

# Parameters measured in the field's own unit (hours, money, ...); the rest are unitless shapes.
SCALE_PARAMS: frozenset[str] = frozenset(
    {"mean", "sd", "median", "p90", "scale", "low", "mode", "high", "value", "values", "loc"}
)

PROB_TOLERANCE = 1e-6


def literal(text: str) -> str:
    """Escape text for use inside an Issue template."""
    return text.replace("{", "{{").replace("}", "}}")


def fmt_number(x: float) -> str:
    """Format a plain number compactly (integers without a decimal point)."""
    if math.isfinite(x) and x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.4g}"


@runtime_checkable
class Distribution(Protocol):
    """What the engine needs from a distribution: batch sampling, moments and quantiles."""

    def sample(self, rng: np.random.Generator, n: int) -> FloatArray: ...

    @property
    def mean(self) -> float: ...

    @property
    def var(self) -> float: ...

    def ppf(self, q: npt.ArrayLike) -> Any: ...

    def cdf(self, x: npt.ArrayLike) -> Any: ...

    def sf(self, x: npt.ArrayLike) -> Any: ...

    def remaining(self, age: npt.ArrayLike, u: npt.ArrayLike) -> FloatArray: ...

    def describe(self, fmt: Formatter | None = None) -> str: ...


@dataclass(frozen=True)
class Issue:
    """One invalid parameter; values are kept as numbers so callers can render them in units."""

    param: str
    template: str
    values: Mapping[str, float] = field(default_factory=dict)

    def render(self, fmt: Formatter | None = None) -> str:
        """The message, with scale-like values formatted by ``fmt``."""
        scale_fmt = fmt or fmt_number
        rendered = {
            k: scale_fmt(v) if k in SCALE_PARAMS else fmt_number(v) for k, v in self.values.items()
        }
        return self.template.format(**rendered)


class ParamError(RevsimError, ValueError):
    """Invalid distribution parameters; ``issues`` lists every one found."""

    def __init__(self, issues: Sequence[Issue]) -> None:
        self.issues = list(issues)
        super().__init__(self.issues)

    def __str__(self) -> str:
        return "; ".join(i.render() for i in self.issues)


class Checks:
    """Accumulates parameter issues so a constructor reports all of them at once."""

    def __init__(self) -> None:
        self.issues: list[Issue] = []

    def add(self, param: str, template: str, **values: float) -> None:
        self.issues.append(Issue(param, template, values))

    def number(self, name: str, x: Any) -> float:
        """Return ``x`` as a finite float, recording an issue (and returning nan) otherwise."""
        if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)):
            self.add(name, literal(f"{name} must be a number, got {x!r}"))
            return math.nan
        value = float(x)
        if not math.isfinite(value):
            self.add(name, literal(f"{name} must be finite, got {value}"))
        return value

    def positive(self, name: str, x: Any) -> float:
        value = self.number(name, x)
        if math.isfinite(value) and value <= 0:
            self.add(name, f"{name} must be > 0, got {{{name}}}", **{name: value})
        return value

    def numbers(self, name: str, xs: Any) -> FloatArray:
        """A non-empty list of finite numbers."""
        if isinstance(xs, (str, bytes, Mapping)) or not isinstance(xs, Iterable):
            self.add(name, literal(f"{name} must be a list of numbers, got {xs!r}"))
            return np.empty(0)
        items = list(xs)
        if not items:
            self.add(name, f"{name} must not be empty")
        return np.array([self.number(f"{name}[{i}]", x) for i, x in enumerate(items)], dtype=float)

    def probabilities(self, name: str, p: Any, n: int) -> FloatArray:
        """Non-negative weights, one per item, summing to 1 within PROB_TOLERANCE; normalised."""
        before = len(self.issues)
        arr = self.numbers(name, p)
        if len(self.issues) > before:
            return arr
        if len(arr) != n:
            self.add(name, f"{name} has {len(arr)} entries but there are {n} items")
        if (arr < 0).any():
            self.add(name, f"{name} must be >= 0, got {fmt_number(float(arr.min()))}")
        total = float(arr.sum())
        if abs(total - 1.0) > PROB_TOLERANCE:
            self.add(name, f"{name} must sum to 1, got {total:.6g}")
        if len(self.issues) > before:
            return arr
        return arr / total

    def raise_if_any(self) -> None:
        if self.issues:
            raise ParamError(self.issues)


def check_n(n: int) -> int:
    """Validate a sample size."""
    n = operator.index(n)
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    return n


def as_float_array(x: npt.ArrayLike) -> FloatArray:
    return np.asarray(x, dtype=np.float64)


def unbox(a: FloatArray) -> Any:
    """A 0-d result as a numpy scalar, anything else unchanged (the numpy/scipy convention)."""
    return a[()]


def ppf_domain(q: FloatArray, values: FloatArray) -> Any:
    """Apply the ppf convention: nan outside [0, 1]."""
    ok = (q >= 0.0) & (q <= 1.0)
    return unbox(np.where(ok, values, np.nan))


def remaining_args(age: npt.ArrayLike, u: npt.ArrayLike
                   ) -> tuple[FloatArray, FloatArray, npt.NDArray[np.bool_]]:
    """Ages (below 0 counted as 0) and uniforms broadcast together; uniforms outside [0, 1]
    and nan ages are marked False in the third array (their result is nan)."""
    a, uu = np.broadcast_arrays(np.maximum(as_float_array(age), 0.0), as_float_array(u))
    ok = (uu >= 0.0) & (uu <= 1.0) & ~np.isnan(a)
    return np.where(ok, a, 0.0), np.where(ok, uu, 0.0), ok


def remaining_result(rem: npt.ArrayLike, ok: npt.NDArray[np.bool_]) -> FloatArray:
    """The remaining-time convention: >= 0, nan where the uniform was out of range."""
    return np.asarray(np.where(ok, np.maximum(as_float_array(rem), 0.0), np.nan),
                      dtype=np.float64)


def log_survival(dist: Distribution, x: npt.ArrayLike) -> FloatArray:
    """log P(X > x) for any distribution: its ``logsf`` if it has one (accurate far in the
    tail), else the log of its ``sf``."""
    logsf = getattr(dist, "logsf", None)
    if logsf is not None:
        return as_float_array(logsf(x))
    with np.errstate(divide="ignore"):
        return np.log(as_float_array(dist.sf(x)))


def beyond_support(dist: Distribution, age: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """Where no value of ``dist`` exceeds ``age`` (P(X > age) = 0): an item that old is
    overdue, and ``dist.remaining`` returns 0 for it. Far tails of unbounded families are
    not beyond the support: their log-survival stays finite where ``sf`` underflows."""
    return np.asarray(np.isneginf(log_survival(dist, np.maximum(as_float_array(age), 0.0))))


class DistributionBase(ABC):
    """Base class implementing the Distribution protocol's conveniences."""

    @abstractmethod
    def sample(self, rng: np.random.Generator, n: int) -> FloatArray:
        """Draw ``n`` independent values as a float64 array."""

    @property
    @abstractmethod
    def mean(self) -> float:
        """Expected value (may be inf)."""

    @property
    @abstractmethod
    def var(self) -> float:
        """Variance (may be inf)."""

    @property
    def sd(self) -> float:
        """Standard deviation."""
        return math.sqrt(self.var)

    @abstractmethod
    def ppf(self, q: npt.ArrayLike) -> Any:
        """Quantile function (smallest x with cdf(x) >= q); nan for q outside [0, 1]."""

    @abstractmethod
    def cdf(self, x: npt.ArrayLike) -> Any:
        """P(X <= x)."""

    def sf(self, x: npt.ArrayLike) -> Any:
        """P(X > x)."""
        return unbox(1.0 - as_float_array(self.cdf(x)))

    def logsf(self, x: npt.ArrayLike) -> Any:
        """log P(X > x); families override it where ``sf`` underflows long before its log."""
        with np.errstate(divide="ignore"):
            return unbox(np.log(as_float_array(self.sf(x))))

    def isf(self, s: npt.ArrayLike) -> Any:
        """Inverse survival function: the x with P(X > x) = s (``ppf(1 - s)`` by default)."""
        sa = as_float_array(s)
        return ppf_domain(sa, as_float_array(self.ppf(np.clip(1.0 - sa, 0.0, 1.0))))

    def remaining(self, age: npt.ArrayLike, u: npt.ArrayLike) -> FloatArray:
        """What is left of X once ``age`` has passed: X - age given X > age, by inverse CDF
        of the truncated distribution at the uniforms ``u`` (one per age, broadcast).

        ``remaining(0, u)`` is ``ppf(u)``; larger ``u``, longer remaining time. Ages below 0
        count as 0; nan ages and ``u`` outside [0, 1] give nan. Where the age is beyond the
        support (``logsf(age) == -inf``: the item is overdue) the result is 0; see
        :func:`beyond_support`.

        Generic version, in log-survival space: the x with log S(x) = log S(age) +
        log(1 - u). Families override it with closed forms."""
        a, uu, ok = remaining_args(age, u)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_s = as_float_array(self.logsf(a))
            x = as_float_array(self.isf(np.exp(log_s + np.log1p(-uu))))
        return remaining_result(np.where(np.isneginf(log_s), 0.0, x - a), ok)

    @abstractmethod
    def describe(self, fmt: Formatter | None = None) -> str:
        """Human summary; ``fmt`` formats scale values (e.g. hours as "20 min")."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.describe()}>"
