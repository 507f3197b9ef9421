"""Paired comparisons of scenarios run with common random numbers.

Replication i of every scenario uses the same random streams (same root seed, same stream
names), so the per-replication differences cancel most of the noise that the two runs share.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from revsim.analysis.ci import KEY

COLUMNS = [*KEY, "base_mean", "variant_mean", "diff", "ci_low", "ci_high", "half_width", "n",
           "p_value"]


def _t_test(d: np.ndarray, confidence: float) -> tuple[float, float, float, float, int]:
    """Mean of d, its t-interval, and the two-sided p-value of mean(d) = 0."""
    n = len(d)
    if n == 0:
        return math.nan, math.nan, math.nan, math.nan, 0
    mean = float(d.mean())
    if n == 1:
        return mean, math.nan, math.nan, math.nan, 1
    sd = float(d.std(ddof=1))
    if sd == 0.0:
        # identical differences: no uncertainty left (e.g. a scenario against itself)
        return mean, mean, mean, (1.0 if mean == 0 else 0.0), n
    se = sd / math.sqrt(n)
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * se
    p = float(2 * stats.t.sf(abs(mean / se), n - 1))
    return mean, mean - half, mean + half, p, n


def paired_differences(base: pd.DataFrame, variant: pd.DataFrame,
                       confidence: float = 0.95) -> pd.DataFrame:
    """Per-KPI mean of (variant - base) over paired replications, with its CI and p-value.

    Both inputs are tidy summaries (replication, metric, scope, name, unit, value); KPIs present
    in only one of them are left out. A replication where either value is missing is dropped
    from that KPI's pairs.
    """
    merged = base.merge(variant, on=["replication", *KEY], suffixes=("_base", "_variant"))
    rows = []
    for key, g in merged.groupby(KEY, sort=False, dropna=False):
        ok = g["value_base"].notna() & g["value_variant"].notna()
        b = g.loc[ok, "value_base"].to_numpy(float)
        v = g.loc[ok, "value_variant"].to_numpy(float)
        mean, lo, hi, p, n = _t_test(v - b, confidence)
        half = (hi - lo) / 2 if n > 1 else math.nan
        rows.append((*key, float(b.mean()) if n else math.nan,
                     float(v.mean()) if n else math.nan, mean, lo, hi, half, n, p))
    return pd.DataFrame(rows, columns=COLUMNS)


def independent_differences(base: pd.DataFrame, variant: pd.DataFrame,
                            confidence: float = 0.95) -> pd.DataFrame:
    """The same table from unpaired replications (Welch's t), as if seeds were independent.

    Only for showing what common random numbers buy; use :func:`paired_differences` to compare.
    """
    rows = []
    b_groups = dict(list(base.groupby(KEY, sort=False, dropna=False)))
    for key, g in variant.groupby(KEY, sort=False, dropna=False):
        if key not in b_groups:
            continue
        b = b_groups[key]["value"].dropna().to_numpy(float)
        v = g["value"].dropna().to_numpy(float)
        if len(b) < 2 or len(v) < 2:
            continue
        diff = float(v.mean() - b.mean())
        vb, vv = b.var(ddof=1) / len(b), v.var(ddof=1) / len(v)
        se = math.sqrt(vb + vv)
        if se == 0:
            lo = hi = diff
            p = 1.0 if diff == 0 else 0.0
        else:
            dof = (vb + vv) ** 2 / ((vb**2) / (len(b) - 1) + (vv**2) / (len(v) - 1))
            half = float(stats.t.ppf(0.5 + confidence / 2, dof)) * se
            lo, hi = diff - half, diff + half
            p = float(2 * stats.t.sf(abs(diff / se), dof))
        rows.append((*key, float(b.mean()), float(v.mean()), diff, lo, hi, (hi - lo) / 2,
                     min(len(b), len(v)), p))
    return pd.DataFrame(rows, columns=COLUMNS)


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (NaNs stay NaN)."""
    p = np.asarray(p_values, dtype=float)
    out = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    idx = np.flatnonzero(ok)
    if not len(idx):
        return out
    order = idx[np.argsort(p[idx])]
    m = len(order)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


def adjust_across_variants(table: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Add p_adjusted (Holm across the variants, per KPI) and significant columns."""
    table = table.copy()
    table["p_adjusted"] = np.nan
    for _, idx in table.groupby(KEY, sort=False, dropna=False).groups.items():
        table.loc[idx, "p_adjusted"] = holm(table.loc[idx, "p_value"].to_numpy())
    table["significant"] = table["p_adjusted"] < alpha
    return table
