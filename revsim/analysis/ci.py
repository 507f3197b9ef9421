"""Confidence intervals over independent replications."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from revsim.kpi_registry import unit_bounds

KEY = ["metric", "scope", "name", "unit"]


class TTest(NamedTuple):
    """A Student-t test of mean(x) = 0 with its interval: mean, CI low/high, p-value, n."""

    mean: float
    low: float
    high: float
    p_value: float
    n: int


def t_half_width(sd: Any, n: Any, confidence: float = 0.95) -> Any:
    """Half-width of the Student-t interval of a mean: t(confidence, n-1) * sd / sqrt(n);
    ``sd`` and ``n`` may be arrays (one interval each)."""
    from scipy import stats  # lazy: scipy.stats is slow to import

    return stats.t.ppf(0.5 + confidence / 2, np.asarray(n) - 1) * sd / np.sqrt(n)


def t_interval(values: np.ndarray, confidence: float = 0.95) -> tuple[float, float, float, int]:
    """Mean, lower and upper Student-t bounds, and n (NaNs dropped; one value gives no CI)."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    n = len(x)
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    mean = float(x.mean())
    if n == 1:
        return mean, math.nan, math.nan, 1
    half = float(t_half_width(float(x.std(ddof=1)), n, confidence))
    return mean, mean - half, mean + half, n


def t_test(x: np.ndarray, confidence: float = 0.95, alternative: str = "two-sided") -> TTest:
    """Student-t test of mean(x) = 0 (``alternative`` as in scipy: two-sided, less, greater)
    and the two-sided ``confidence`` interval of the mean. Identical values leave no
    uncertainty: the interval is the point and p is 1 if they are 0, else 0."""
    from scipy import stats  # lazy: scipy.stats is slow to import

    d = np.asarray(x, dtype=float)
    n = len(d)
    if n == 0:
        return TTest(math.nan, math.nan, math.nan, math.nan, 0)
    mean = float(d.mean())
    if n == 1:
        return TTest(mean, math.nan, math.nan, math.nan, 1)
    if float(d.std(ddof=1)) == 0.0:
        # identical differences: no uncertainty left (e.g. a scenario against itself)
        worse = mean == 0 or (alternative == "less" and mean > 0) or \
            (alternative == "greater" and mean < 0)
        return TTest(mean, mean, mean, 1.0 if worse else 0.0, n)
    test = stats.ttest_1samp(d, 0.0, alternative=alternative)
    two_sided = test if alternative == "two-sided" else stats.ttest_1samp(d, 0.0)
    ci = two_sided.confidence_interval(confidence)
    return TTest(mean, float(ci.low), float(ci.high), float(test.pvalue), n)


# A t-interval on skewed replication values can cross a KPI's natural bounds (a negative
# wait); the reported interval is cut at the bound, ``half_width`` is not.
def cut_to_bounds(low: float, high: float, unit: str,
                  currency_units: frozenset[str] = frozenset()) -> tuple[float, float]:
    """An interval cut at the natural bounds of a KPI in ``unit`` (no negative time)."""
    low_bound, high_bound = unit_bounds(unit, currency_units)
    return max(low, low_bound), min(high, high_bound)


def summarise(tidy: pd.DataFrame, confidence: float = 0.95,
              currency_units: frozenset[str] = frozenset()) -> pd.DataFrame:
    """Per-KPI mean, CI and n from a tidy table with one row per replication x KPI.

    ``half_width`` is the t-interval half-width (the precision); ``ci_low``/``ci_high`` are the
    interval cut at the KPI's natural bounds (0 for counts, times and money; 0..1 for shares).
    """
    rows = []
    for key, group in tidy.groupby(KEY, sort=False, dropna=False):
        mean, lo, hi, n = t_interval(group["value"].to_numpy(), confidence)
        half = (hi - lo) / 2 if n > 1 else math.nan
        if n > 1:
            lo, hi = cut_to_bounds(lo, hi, str(key[3]), currency_units)
        rows.append((*key, mean, lo, hi, half, n))
    return pd.DataFrame(rows, columns=[*KEY, "mean", "ci_low", "ci_high", "half_width", "n"])
