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


def summarise(tidy: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Per-KPI mean, CI and n from a tidy table with one row per replication x KPI."""
    rows = []
    for key, group in tidy.groupby(KEY, sort=False, dropna=False):
        mean, lo, hi, n = t_interval(group["value"].to_numpy(), confidence)
        rows.append((*key, mean, lo, hi, (hi - lo) / 2 if n > 1 else math.nan, n))
    return pd.DataFrame(rows, columns=[*KEY, "mean", "ci_low", "ci_high", "half_width", "n"])
