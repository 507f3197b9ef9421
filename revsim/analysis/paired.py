"""Paired comparisons of scenarios run with common random numbers.

Replication i of every scenario uses the same random streams (same root seed, same stream
names), so the per-replication differences cancel most of the noise that the two runs share.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from revsim.analysis.ci import KEY, t_test
from revsim.errors import Problem, ScenarioError
from revsim.scenario.model import Model
from revsim.units import format_duration

COLUMNS = [*KEY, "base_mean", "variant_mean", "diff", "ci_low", "ci_high", "half_width", "n",
           "p_value"]


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
        mean, lo, hi, p, n = t_test(v - b, confidence)
        half = (hi - lo) / 2 if n > 1 else math.nan
        rows.append((*key, float(b.mean()) if n else math.nan,
                     float(v.mean()) if n else math.nan, mean, lo, hi, half, n, p))
    return pd.DataFrame(rows, columns=COLUMNS)


def independent_differences(base: pd.DataFrame, variant: pd.DataFrame,
                            confidence: float = 0.95) -> pd.DataFrame:
    """The same table from unpaired replications (Welch's t), as if seeds were independent.

    Only for showing what common random numbers buy; use :func:`paired_differences` to compare.
    """
    from scipy import stats  # lazy: scipy.stats is slow to import

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
        if b.var(ddof=1) / len(b) + v.var(ddof=1) / len(v) == 0:
            lo = hi = diff
            p = 1.0 if diff == 0 else 0.0
        else:
            welch = stats.ttest_ind(v, b, equal_var=False)
            ci = welch.confidence_interval(confidence)
            lo, hi, p = float(ci.low), float(ci.high), float(welch.pvalue)
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


def check_comparable(base: Model, variant: Model, label: str, *,
                     horizon: float | None = None, warmup: float | None = None) -> list[str]:
    """Raise if two scenarios cannot be compared; return notes on what differs harmlessly.

    ``horizon``/``warmup`` are run-time overrides (hours) that apply to both sides, so the
    files' own values need not agree on them.
    """
    checks = [("start", "start date"), ("currency", "currency")]
    if horizon is None:
        checks.append(("horizon", "horizon"))
    if warmup is None:
        checks.append(("warmup", "warm-up"))
    problems = []
    for attr, what in checks:
        a, b = getattr(base, attr), getattr(variant, attr)
        if a != b:
            shown = (format_duration(b), format_duration(a)) if attr in ("horizon", "warmup") \
                else (b, a)
            problems.append(Problem(
                attr, f"{label} has a different {what} ({shown[0]}) than the base ({shown[1]}); "
                "paired replications must cover the same window (override both with "
                "--horizon/--warmup)"
            ))
    if problems:
        raise ScenarioError(problems, label)
    notes = []
    for kind, getter in (("stages", lambda m: [s.name for s in m.stages]),
                         ("pools", lambda m: [p.name for p in m.pools]),
                         ("sources", lambda m: [s.name for s in m.sources])):
        only_base = sorted(set(getter(base)) - set(getter(variant)))
        only_variant = sorted(set(getter(variant)) - set(getter(base)))
        if only_base:
            notes.append(f"{label}: {kind} only in the base, not compared: {', '.join(only_base)}")
        if only_variant:
            notes.append(f"{label}: {kind} only in the variant, not compared: "
                         f"{', '.join(only_variant)}")
    if (base.cash is None) != (variant.cash is None):
        notes.append(f"{label}: only one side models cash; cash KPIs are not compared")
    return notes
