"""Data-driven and composite distributions: empirical, discrete choices and mixtures."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from .base import (
    Checks,
    Distribution,
    DistributionBase,
    FloatArray,
    Formatter,
    as_float_array,
    check_n,
    fmt_number,
    literal,
    log_survival,
    ppf_domain,
    remaining_args,
    remaining_result,
    unbox,
)
from .families import Exponential

# Bisection steps for the mixture quantile: halves the bracket to float resolution.
_PPF_ITERATIONS = 100
_CUM_SLACK = 1e-12


def _inverse_index(cum: FloatArray, u: FloatArray) -> npt.NDArray[np.intp]:
    """Index i with cum[i-1] <= u < cum[i]; zero-probability entries are never chosen."""
    idx = np.searchsorted(cum, u, side="right")
    return np.minimum(idx, len(cum) - 1)


def _step_ppf(support: FloatArray, cum: FloatArray, q: npt.ArrayLike) -> Any:
    """Generalised inverse of a step cdf with jumps ``cum`` at ``support``."""
    qa = as_float_array(q)
    # First i with cum[i] >= q; the slack stops round-off in cumsum pushing q = cum[i] past i.
    idx = np.searchsorted(cum, np.clip(qa, 0, 1) - _CUM_SLACK, side="left")
    return ppf_domain(qa, support[np.minimum(idx, len(support) - 1)])


def _step_cdf(support: FloatArray, cum: FloatArray, x: npt.ArrayLike) -> Any:
    xa = as_float_array(x)
    idx = np.searchsorted(support, xa, side="right")
    padded = np.concatenate(([0.0], cum))
    return unbox(padded[idx])


class Empirical(DistributionBase):
    """Bootstrap resampling of observed values; moments are the values' population moments."""

    def __init__(self, values: Sequence[float] | npt.ArrayLike) -> None:
        c = Checks()
        arr = c.numbers("values", values)
        c.raise_if_any()
        self.values = np.sort(arr)
        self._cum = np.arange(1, len(arr) + 1) / len(arr)

    def sample(self, rng: np.random.Generator, n: int) -> FloatArray:
        """Draw ``n`` values with replacement."""
        return self.values[rng.integers(0, len(self.values), check_n(n))]

    @property
    def mean(self) -> float:
        return float(np.mean(self.values))

    @property
    def var(self) -> float:
        return float(np.var(self.values))

    def ppf(self, q: npt.ArrayLike) -> Any:
        """Quantile of the empirical cdf (no interpolation)."""
        return _step_ppf(self.values, self._cum, q)

    def cdf(self, x: npt.ArrayLike) -> Any:
        """Share of values <= x."""
        return _step_cdf(self.values, self._cum, x)

    def remaining(self, age: npt.ArrayLike, u: npt.ArrayLike) -> FloatArray:
        """Exact on the empirical distribution: one of the values above the age, each as
        likely (no interpolation, as in ``ppf``), minus the age; none above: overdue, 0."""
        a, uu, ok = remaining_args(age, u)
        n = len(self.values)
        first = np.searchsorted(self.values, a, side="right")
        left = n - first
        pick = first + np.minimum(np.floor(uu * left), np.maximum(left - 1, 0)).astype(np.intp)
        x = self.values[np.minimum(pick, n - 1)]
        rem = np.where(left > 0, x - a, 0.0)
        return remaining_result(rem, ok)

    def describe(self, fmt: Formatter | None = None) -> str:
        """E.g. "empirical(120 values, mean 3 h, range 1 h to 9 h)"."""
        f = fmt or fmt_number
        lo, hi = float(self.values[0]), float(self.values[-1])
        n = len(self.values)
        return f"empirical({n} values, mean {f(self.mean)}, range {f(lo)} to {f(hi)})"


class DiscreteChoice(DistributionBase):
    """A finite set of numeric values drawn with the given probabilities."""

    def __init__(self, values: Sequence[float], probabilities: Sequence[float]) -> None:
        c = Checks()
        vals = c.numbers("values", values)
        p = c.probabilities("probabilities", probabilities, len(vals)) if len(vals) else None
        c.raise_if_any()
        assert p is not None
        self.values, self.probabilities = vals, p
        # Merge duplicates and sort so cdf/ppf are simple step functions.
        support, inverse = np.unique(vals, return_inverse=True)
        merged = np.bincount(inverse, weights=p, minlength=len(support))
        self._support, self._cum = support, np.cumsum(merged, dtype=np.float64)
        self._cum[-1] = 1.0
        # P(X >= support[i]), summed from the top so that small tails keep their precision
        self._tail = np.append(np.cumsum(merged[::-1])[::-1], 0.0)

    def sample(self, rng: np.random.Generator, n: int) -> FloatArray:
        """Draw ``n`` values."""
        return self._support[_inverse_index(self._cum, rng.random(check_n(n)))]

    @property
    def mean(self) -> float:
        return float(np.dot(self.probabilities, self.values))

    @property
    def var(self) -> float:
        return float(np.dot(self.probabilities, (self.values - self.mean) ** 2))

    def ppf(self, q: npt.ArrayLike) -> Any:
        """Quantile function."""
        return _step_ppf(self._support, self._cum, q)

    def cdf(self, x: npt.ArrayLike) -> Any:
        """P(X <= x)."""
        return _step_cdf(self._support, self._cum, x)

    def sf(self, x: npt.ArrayLike) -> Any:
        """P(X > x)."""
        return unbox(self._tail[np.searchsorted(self._support, as_float_array(x), side="right")])

    def remaining(self, age: npt.ArrayLike, u: npt.ArrayLike) -> FloatArray:
        """Exact: a value above the age with its renormalised probability (zero-probability
        values never), minus the age; no probability above the age: overdue, 0."""
        a, uu, ok = remaining_args(age, u)
        s = self._tail[np.searchsorted(self._support, a, side="right")]
        # value i is chosen when P(X > support[i]) < (1 - u) P(X > age) <= P(X >= support[i])
        pick = np.searchsorted(-self._tail[1:], -(1 - uu) * s, side="right")
        x = self._support[np.minimum(pick, len(self._support) - 1)]
        rem = np.where(s > 0, x - a, 0.0)
        return remaining_result(rem, ok)

    def describe(self, fmt: Formatter | None = None) -> str:
        """E.g. "choice(1 h 30%, 4 h 70%)"."""
        f = fmt or fmt_number
        pairs = zip(self.values, self.probabilities, strict=True)
        parts = (f"{f(float(v))} {p:.0%}" for v, p in pairs)
        return f"choice({', '.join(parts)})"


class LabelChoice:
    """A categorical choice among labels (e.g. deal outcomes); not a numeric distribution."""

    def __init__(self, labels: Sequence[str], probabilities: Sequence[float]) -> None:
        c = Checks()
        labs = list(labels)
        if not labs:
            c.add("labels", "labels must not be empty")
        elif len(set(labs)) != len(labs):
            dupes = sorted({str(x) for x in labs if labs.count(x) > 1})
            c.add("labels", literal(f"labels must be distinct; repeated: {', '.join(dupes)}"))
        p = c.probabilities("probabilities", probabilities, len(labs))
        c.raise_if_any()
        self.labels: tuple[str, ...] = tuple(labs)
        self.probabilities = p
        self._cum = np.cumsum(p)
        self._cum[-1] = 1.0

    def sample_index(self, rng: np.random.Generator, n: int) -> npt.NDArray[np.intp]:
        """Draw ``n`` indices into ``labels``."""
        return _inverse_index(self._cum, rng.random(check_n(n)))

    def describe(self) -> str:
        """E.g. "choice(won 30%, lost 70%)"."""
        parts = (f"{lab} {p:.0%}" for lab, p in zip(self.labels, self.probabilities, strict=True))
        return f"choice({', '.join(parts)})"

    def __repr__(self) -> str:
        return f"<LabelChoice {self.describe()}>"


class Mixture(DistributionBase):
    """Draw a component by weight, then a value from it."""

    def __init__(self, components: Sequence[Distribution], weights: Sequence[float]) -> None:
        c = Checks()
        comps = list(components)
        if not comps:
            c.add("components", "components must not be empty")
        for i, comp in enumerate(comps):
            if not isinstance(comp, Distribution):
                msg = literal(f"components[{i}] is not a distribution: {comp!r}")
                c.add(f"components[{i}]", msg)
        w = c.probabilities("weights", weights, len(comps))
        c.raise_if_any()
        self.components: tuple[Distribution, ...] = tuple(comps)
        self.weights = w
        self._cum = np.cumsum(w)
        self._cum[-1] = 1.0

    def sample(self, rng: np.random.Generator, n: int) -> FloatArray:
        """Draw ``n`` values (batched per component)."""
        idx = _inverse_index(self._cum, rng.random(check_n(n)))
        out = np.empty(n)
        for j, comp in enumerate(self.components):
            mask = idx == j
            k = int(mask.sum())
            if k:
                out[mask] = comp.sample(rng, k)
        return out

    @property
    def mean(self) -> float:
        return float(sum(w * c.mean for w, c in zip(self.weights, self.components, strict=True)))

    @property
    def var(self) -> float:
        # Law of total variance: E[Var | component] + Var[E | component].
        m = self.mean
        if not math.isfinite(m):
            return math.inf
        pairs = zip(self.weights, self.components, strict=True)
        return float(sum(w * (c.var + (c.mean - m) ** 2) for w, c in pairs))

    def cdf(self, x: npt.ArrayLike) -> Any:
        """Weighted sum of component cdfs."""
        xa = as_float_array(x)
        pairs = zip(self.weights, self.components, strict=True)
        return unbox(np.sum([w * as_float_array(c.cdf(xa)) for w, c in pairs], axis=0))

    def sf(self, x: npt.ArrayLike) -> Any:
        """Weighted sum of component survival functions."""
        xa = as_float_array(x)
        pairs = zip(self.weights, self.components, strict=True)
        return unbox(np.sum([w * as_float_array(c.sf(xa)) for w, c in pairs], axis=0))

    def logsf(self, x: npt.ArrayLike) -> Any:
        """log of the weighted sum of component survival functions, from their logs."""
        return unbox(_logsumexp(self._log_weighted_sf(as_float_array(x))))

    def _log_weighted_sf(self, x: FloatArray) -> FloatArray:
        """log(w_k S_k(x)) per live component (axis 0)."""
        live = [(w, c) for w, c in zip(self.weights, self.components, strict=True) if w > 0]
        return np.stack([np.broadcast_to(math.log(w) + log_survival(c, x), x.shape)
                         for w, c in live])

    def remaining(self, age: npt.ArrayLike, u: npt.ArrayLike) -> FloatArray:
        """Exact: the component is chosen by its posterior weight given survival to the age,
        w_k S_k(age) / sum_j w_j S_j(age) (in log space), then that component's remaining
        time. One uniform does both: where it falls among the posterior weights picks the
        component, and its position inside that component's share is the inner uniform."""
        a, uu, ok = remaining_args(age, u)
        live = [c for c, w in zip(self.components, self.weights, strict=True) if w > 0]
        log_w = self._log_weighted_sf(a)
        top = log_w.max(axis=0)
        overdue = np.isneginf(top) | np.isnan(top)
        post = np.exp(log_w - np.where(overdue, 0.0, top))
        cum = np.cumsum(post, axis=0)
        v = uu * cum[-1]
        pick = np.minimum((cum <= v).sum(axis=0), len(live) - 1)
        below = np.where(pick > 0, np.take_along_axis(cum, np.maximum(pick - 1, 0)[None], 0)[0],
                         0.0)
        share = np.take_along_axis(post, pick[None], 0)[0]
        with np.errstate(divide="ignore", invalid="ignore"):
            inner = np.clip((v - below) / share, 0.0, 1.0)
        rem = np.zeros(a.shape)
        for j, comp in enumerate(live):
            mask = (pick == j) & ~overdue
            if mask.any():
                rem[mask] = comp.remaining(a[mask], inner[mask])
        return remaining_result(rem, ok)

    def ppf(self, q: npt.ArrayLike) -> Any:
        """Quantile by vectorised bisection between the component quantiles."""
        qa = as_float_array(q)
        qc = np.clip(qa, 0, 1)
        live = [c for c, w in zip(self.components, self.weights, strict=True) if w > 0]
        qs = np.stack([np.broadcast_to(as_float_array(c.ppf(qc)), qc.shape) for c in live])
        # Every component cdf is < q just below min_i ppf_i(q) and >= q at max_i ppf_i(q).
        lo, hi = qs.min(axis=0), qs.max(axis=0)
        with np.errstate(invalid="ignore"):
            # If the cdf already reaches q at the lower bracket (a jump from a discrete
            # component, or all components agreeing) that bracket is the answer.
            at_lo = as_float_array(self.cdf(np.where(np.isfinite(lo), lo, 0.0))) >= qc
            at_lo |= qc == 0
            todo = ~at_lo & (lo < hi) & np.isfinite(lo) & np.isfinite(hi)
            lo_start = lo
            for _ in range(_PPF_ITERATIONS):
                if not todo.any():
                    break
                mid = np.where(todo, lo + (hi - lo) / 2, lo)
                below = as_float_array(self.cdf(mid)) < qc
                lo = np.where(todo & below, mid, lo)
                hi = np.where(todo & ~below, mid, hi)
                todo &= (hi - lo) > 4 * np.spacing(np.maximum(np.abs(lo), np.abs(hi)))
        res = np.where(at_lo & np.isfinite(lo_start), lo_start, hi)
        return ppf_domain(qa, res)

    def describe(self, fmt: Formatter | None = None) -> str:
        """E.g. "mixture(30% exponential(mean 1 h), 70% fixed(4 h))"."""
        pairs = zip(self.weights, self.components, strict=True)
        parts = (f"{w:.0%} {c.describe(fmt)}" for w, c in pairs)
        return f"mixture({', '.join(parts)})"


def _logsumexp(log_terms: FloatArray) -> FloatArray:
    """log(sum(exp(terms))) over axis 0 without overflow or needless underflow."""
    top = log_terms.max(axis=0)
    safe = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        return safe + np.log(np.exp(log_terms - safe).sum(axis=0))


def hyperexponential(weights: Sequence[float], means: Sequence[float]) -> Mixture:
    """A mixture of exponentials with the given weights and means."""
    c = Checks()
    m = c.numbers("means", means)
    for i, x in enumerate(m):
        if math.isfinite(x) and x <= 0:
            c.add(f"means[{i}]", f"means[{i}] must be > 0, got {fmt_number(x)}")
    c.raise_if_any()
    return Mixture([Exponential(float(x)) for x in m], weights)
