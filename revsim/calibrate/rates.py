"""Shares and arrival rates from event-log counts, with their intervals.

``fit_proportion`` gives a share with its Wilson score interval; ``fit_rate`` an arrival rate
from counts per period with the exact (Garwood) Poisson interval and a dispersion test against
Poisson (widened, quasi-Poisson, when the counts are overdispersed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import special, stats

from revsim.calibrate._format import fmt_p
from revsim.calibrate._gof import KS_ALPHA


@dataclass(frozen=True)
class RateFit:
    """An arrival rate from counts per period.

    ``ci`` is the exact (Garwood) Poisson interval, widened by the dispersion index
    (quasi-Poisson) when the counts are overdispersed (``overdispersion_p`` < 0.01).
    ``dispersion_index`` is the Pearson statistic over n - 1 (with equal periods, the sample
    variance over the mean; about 1 for Poisson); ``overdispersion_p`` its upper-tail p-value
    (chi2(n - 1)). ``period_hours`` is the mean period length, ``exposure_hours`` their sum.
    """

    rate_per_hour: float
    ci: tuple[float, float]
    dispersion_index: float
    overdispersion_p: float
    n_periods: int
    total: int
    period_hours: float
    exposure_hours: float
    note: str = ""


def fit_proportion(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float, float]:
    """The share ``successes / trials`` with its Wilson score interval: ``(p, lo, hi)``."""
    k, n = _as_count(successes, "successes"), _as_count(trials, "trials")
    if n == 0:
        raise ValueError("trials must be > 0")
    if k > n:
        raise ValueError(f"successes ({k}) must not exceed trials ({n})")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
    return k / n, float(ci.low), float(ci.high)


def fit_rate(
    counts_per_period: npt.ArrayLike, period_hours: float | npt.ArrayLike, confidence: float = 0.95
) -> RateFit:
    """Arrival rate (per hour) from event counts in consecutive periods of ``period_hours``.

    ``period_hours`` is one length for all periods, or one per period (e.g. a shorter last
    week when the log ends mid-week). Overdispersion is tested against Poisson with the
    dispersion test sum((x - e)^2 / e) ~ chi2(n - 1), e = rate x period length (upper tail;
    with equal periods this is sum((x - mean)^2) / mean). See ``RateFit`` for the interval.
    """
    x = np.asarray(counts_per_period, dtype=float).ravel()
    if len(x) == 0:
        raise ValueError("counts_per_period must not be empty")
    if not np.isfinite(x).all() or (x < 0).any() or (x != np.round(x)).any():
        raise ValueError("counts_per_period must be non-negative whole numbers")
    given = np.asarray(period_hours, dtype=float)
    if given.ndim > 1 or given.size not in (1, len(x)):
        raise ValueError("period_hours must be one number or one per period")
    lengths = np.broadcast_to(given.ravel() if given.ndim else given, x.shape).astype(float)
    if not (np.isfinite(lengths).all() and (lengths > 0).all()):
        raise ValueError(f"period_hours must be > 0, got {given.tolist()!r}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    n = len(x)
    total = int(x.sum())
    exposure = float(lengths.sum())
    alpha = 1 - confidence
    if n >= 2 and total > 0:
        expected = total * lengths / exposure
        statistic = float(((x - expected) ** 2 / expected).sum())
        dispersion = statistic / (n - 1)
        p_over = float(stats.chi2.sf(statistic, n - 1))
    else:
        dispersion, p_over = math.nan, math.nan
    lo = 0.0 if total == 0 else float(stats.chi2.ppf(alpha / 2, 2 * total)) / 2
    hi = float(stats.chi2.ppf(1 - alpha / 2, 2 * total + 2)) / 2
    note = ""
    if p_over < KS_ALPHA:
        z = float(special.ndtri(1 - alpha / 2))
        half = z * math.sqrt(dispersion * total)
        lo, hi = max(total - half, 0.0), total + half
        note = (
            f"counts vary {dispersion:.1f}x more than Poisson ({fmt_p(p_over)}); the interval "
            "is widened accordingly (quasi-Poisson); consider bursts or a seasonal profile"
        )
    return RateFit(
        rate_per_hour=total / exposure,
        ci=(lo / exposure, hi / exposure),
        dispersion_index=dispersion,
        overdispersion_p=p_over,
        n_periods=n,
        total=total,
        period_hours=exposure / n,
        exposure_hours=exposure,
        note=note,
    )


def _as_count(x: Any, name: str) -> int:
    if isinstance(x, bool) or not float(x) == int(x) or int(x) < 0:
        raise ValueError(f"{name} must be a non-negative whole number, got {x!r}")
    return int(x)
