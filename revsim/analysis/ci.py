"""Confidence intervals over independent replications."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

KEY = ["metric", "scope", "name", "unit"]


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
    sd = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)
    return mean, mean - half, mean + half, n


# Natural bounds of a KPI by unit. A t-interval on skewed replication values can cross them
# (a negative wait); the reported interval is cut at the bound, ``half_width`` is not.
_BOUNDS = {"share": (0.0, 1.0)}
_NON_NEGATIVE = {"count", "h", "d", "per week", "staff-h"}


def _bounds(unit: str, currency_units: frozenset[str]) -> tuple[float, float]:
    if unit in _BOUNDS:
        return _BOUNDS[unit]
    if unit in _NON_NEGATIVE or unit in currency_units:
        return 0.0, math.inf
    return -math.inf, math.inf


def cut_to_bounds(low: float, high: float, unit: str,
                  currency_units: frozenset[str] = frozenset()) -> tuple[float, float]:
    """An interval cut at the natural bounds of a KPI in ``unit`` (no negative time)."""
    low_bound, high_bound = _bounds(unit, currency_units)
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
