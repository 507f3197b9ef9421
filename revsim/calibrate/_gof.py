"""Goodness-of-fit helpers for ``fit_duration``: KS under censoring and Anderson-Darling.

``CensoringAdjustment`` turns a fitted F into the distribution of completed durations (F
weighted by the Kaplan-Meier estimate of the censoring times) for the KS test; ``anderson``
gives scipy's Anderson-Darling test where it exists; ``grid_hint`` explains KS failures caused
by rounded durations.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats

from revsim.calibrate.survival import censoring_survival

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


KS_ALPHA = 0.01
"""A family (or the mixture) fails when its KS p-value is below this ..."""
MIN_KS_N = 50
"""... and it was computed on at least this many uncensored durations."""


# Anderson-Darling via scipy.stats.anderson: (transform of the data, scipy's name).
_AD = {
    "lognormal": (np.log, "norm"),
    "exponential": (None, "expon"),
    "weibull": (np.log, "gumbel_l"),
    "loglogistic": (np.log, "logistic"),
}


# -- KS and Anderson-Darling ------------------------------------------------------------------


def anderson(family: str, x: FloatArray) -> tuple[float, float]:
    if family not in _AD or len(x) < 8:
        return math.nan, math.nan
    transform, dist = _AD[family]
    v = transform(x) if transform is not None else x
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            res = stats.anderson(v, dist, method="interpolate")  # type: ignore[call-arg]
        return float(res.statistic), float(res.pvalue)
    except (TypeError, ValueError, RuntimeError):  # scipy < 1.17 has no p-values
        return math.nan, math.nan


class CensoringAdjustment:
    """The distribution of completed durations implied by a fitted F and the censoring.

    A duration t is completed if T <= C, so completed durations have density
    f(t) P(C >= t) / P(T <= C). P(C >= t) is the Kaplan-Meier estimate of the censoring times
    (events at a tied time count as before censorings), a step function; the integral is exact
    for it. Without censoring this is F itself.
    """

    def __init__(self, t: FloatArray, obs: BoolArray) -> None:
        self.breaks, self.weights = censoring_survival(t, obs)

    def cdf(self, cdf: Callable[[FloatArray], Any]) -> Callable[[FloatArray], FloatArray]:
        b, g = self.breaks, self.weights
        fb = np.asarray(cdf(b), dtype=float)
        cum = np.concatenate(([0.0], np.cumsum(g[:-1] * np.diff(fb))))
        total = cum[-1] + g[-1] * (1 - fb[-1])

        def adjusted(x: FloatArray) -> FloatArray:
            xa = np.asarray(x, dtype=float)
            k = np.clip(np.searchsorted(b, xa, side="left") - 1, 0, len(b) - 1)
            m = cum[k] + g[k] * (np.asarray(cdf(xa), dtype=float) - fb[k])
            out = np.where(xa > 0, m / total, 0.0) if total > 0 else np.full_like(xa, math.nan)
            return np.clip(out, 0.0, 1.0)

        return adjusted

    def ks(self, cdf: Callable[[FloatArray], Any], x: FloatArray) -> tuple[float, float]:
        """KS statistic and p-value of completed durations ``x`` against adjusted ``cdf``."""
        if len(x) == 0:
            return math.nan, math.nan
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            res = stats.kstest(x, self.cdf(cdf))
        return float(res.statistic), float(res.pvalue)


_GRIDS = (("whole days", 24.0), ("whole hours", 1.0), ("whole minutes", 1 / 60))


def grid_hint(x: FloatArray) -> str:
    """A hint when completed durations are rounded to a coarse grid (many ties)."""
    distinct = len(np.unique(x))
    if len(x) < MIN_KS_N or distinct > len(x) / 5:
        return ""
    for label, size in _GRIDS:
        k = x / size
        if np.allclose(k, np.round(k), rtol=0, atol=1e-6):
            return (
                f"the durations are recorded in {label} ({distinct} distinct values), and the "
                "KS test is strict about such ties: a fitted family may still be usable"
            )
    return ""
