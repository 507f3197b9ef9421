"""What remains of work already under way: the conditional draws a warm start needs.

Every function takes the elapsed times of many items at once and one uniform per item, so the
engine draws them from its own keyed streams and calls these once per stage. They are the one
place the engine asks "given that this much time has passed, what is left?", so an exact
method for a family (or a fitted competing-risks model) replaces the formula here only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from revsim.distributions import Distribution

FloatArray = npt.NDArray[np.float64]


def remaining(dist: Distribution, age: FloatArray, u: FloatArray, scale: float = 1.0
              ) -> FloatArray:
    """X - age given X > age, for X = ``scale`` times a draw of ``dist`` (exact inverse CDF
    of the truncated distribution, by :meth:`Distribution.remaining`)."""
    if scale == 1.0:
        return np.asarray(dist.remaining(age, u), dtype=float)
    return scale * np.asarray(dist.remaining(np.asarray(age) / scale, u), dtype=float)


def conditional_route(targets: Sequence[int], probabilities: Sequence[float],
                      delays: Mapping[int, Distribution], default: Distribution | None,
                      age: FloatArray, u: FloatArray) -> npt.NDArray[np.int64]:
    """The route of items that have waited ``age`` in a delay whose length depends on the
    route: P(k | age) = p_k S_k(age) / sum_j p_j S_j(age), with S_k the survival of route k's
    delay (``default`` for the routes without their own). Where every route's delay is over
    (all S_k = 0, the item should have left), the unconditional probabilities decide."""
    a = np.asarray(age, dtype=float)
    weights = np.empty((len(targets), len(a)))
    for i, (target, p) in enumerate(zip(targets, probabilities, strict=True)):
        dist = delays.get(target, default)
        weights[i] = p * (np.asarray(dist.sf(a), dtype=float) if dist is not None else 1.0)
    total = weights.sum(axis=0)
    dead = total <= 0
    if dead.any():
        weights[:, dead] = np.asarray(probabilities, dtype=float)[:, None]
        total[dead] = 1.0
    cumulative = np.cumsum(weights / total, axis=0)
    index = np.minimum((np.asarray(u)[None, :] >= cumulative).sum(axis=0), len(targets) - 1)
    return np.asarray(targets, dtype=np.int64)[index]


def _hazard(dist: Distribution, t: FloatArray) -> FloatArray:
    """-log S(t), infinite where the survival is 0."""
    s = np.asarray(dist.sf(np.maximum(t, 0.0)), dtype=float)
    with np.errstate(divide="ignore"):
        return np.where(s > 0, -np.log(np.where(s > 0, s, 1.0)), math.inf)


def _pieces(windows: Sequence[tuple[float, float]], factor: float
            ) -> list[tuple[float, float, float]]:
    """(from, to, hazard multiplier) pieces of the time past due: each reminder's window
    multiplies the hazard by ``factor`` (as engine.cash's late payment does)."""
    if not windows or factor == 1.0:
        return [(0.0, math.inf, 1.0)]
    breaks = sorted({0.0, *(a for a, _ in windows), *(b for _, b in windows)})
    out = []
    for i, lo in enumerate(breaks):
        hi = breaks[i + 1] if i + 1 < len(breaks) else math.inf
        mid = lo + (hi - lo) / 2 if math.isfinite(hi) else lo + 1.0
        out.append((lo, hi, factor ** sum(1 for a, b in windows if a <= mid < b)))
    return out


def cumulative_hazard(dist: Distribution, x: FloatArray, windows: Sequence[tuple[float, float]],
                      factor: float) -> FloatArray:
    """The lateness hazard accumulated by ``x`` hours past due under the reminders'
    ``windows`` (each multiplies the hazard by ``factor`` while it lasts)."""
    xs = np.maximum(np.asarray(x, dtype=float), 0.0)
    total = np.zeros_like(xs)
    for lo, hi, m in _pieces(windows, factor):
        inside = xs > lo
        if not inside.any():
            continue
        gain = _hazard(dist, np.minimum(xs[inside], hi)) - _hazard(dist, np.array([lo]))
        total[inside] += m * gain
    return total


def late_offsets(dist: Distribution, target: FloatArray, windows: Sequence[tuple[float, float]],
                 factor: float) -> FloatArray:
    """The time past due at which the modified cumulative hazard reaches ``target`` (each
    invoice's latent Exp(1) draw): the inverse of :func:`cumulative_hazard`, inf if never."""
    t = np.asarray(target, dtype=float)
    out = np.full_like(t, math.inf)
    todo = np.ones(len(t), dtype=bool)
    acc = 0.0
    for lo, hi, m in _pieces(windows, factor):
        h_lo = float(_hazard(dist, np.array([lo]))[0])
        h_hi = float(_hazard(dist, np.array([hi]))[0]) if math.isfinite(hi) else math.inf
        gain = m * (h_hi - h_lo)
        here = todo & (t < acc + gain)
        if here.any():
            h = h_lo + (t[here] - acc) / m
            out[here] = np.asarray(dist.ppf(-np.expm1(-h)), dtype=float)
            todo &= ~here
        acc += gain
        if not todo.any() or not math.isfinite(acc):
            break
    return out


def open_invoice_class(on_time: float, late: float, never: float, paid_on_time_by: float,
                       still_late: float) -> tuple[float, float, float]:
    """P(on time, late, never) of an invoice still open: each class's prior times the chance
    that an invoice of that class would still be open now, renormalised. ``paid_on_time_by``
    is P(an on-time payer has not paid yet), ``still_late`` P(a late payer has not paid yet)."""
    w = (on_time * paid_on_time_by, late * still_late, never)
    total = sum(w)
    if total <= 0:
        return on_time, late, never
    return w[0] / total, w[1] / total, w[2] / total
