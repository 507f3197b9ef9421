"""Warm-up detection with MSER-5 (White 1997; White, Cobb & Spratt 2000).

MSER picks the truncation point d that minimises the squared standard error of the mean of what
is left, sum((y_i - mean(y_d..))^2) / (n - d)^2, computed on batch means of 5 observations, and
only searches the first half of the run (a minimum in the second half means the series never
settled).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

BATCH = 5


def mser(y: np.ndarray, batch: int = BATCH) -> tuple[int, bool]:
    """Truncation index (in observations of ``y``) and whether it lies in the first half."""
    y = np.asarray(y, dtype=float)
    k = len(y) // batch
    if k < 4:
        return 0, True
    z = y[: k * batch].reshape(k, batch).mean(axis=1)
    # suffix sums give every tail's mean and sum of squares in one pass
    rev = z[::-1]
    n_tail = np.arange(1, k + 1)
    s1 = np.cumsum(rev)[::-1]
    s2 = np.cumsum(rev**2)[::-1]
    n = n_tail[::-1].astype(float)
    sse = s2 - s1**2 / n
    stat = sse / n**2
    half = k // 2
    d = int(np.argmin(stat[: half + 1]))
    # White's rule: a minimum at the end of the searched half means the series was still
    # drifting there (for stationary data the statistic keeps falling, so do not compare with
    # the second half)
    settled = d < half
    return d * batch, settled


@dataclass
class WarmupChoice:
    """The chosen warm-up and how it was found."""

    hours: float
    per_series: pd.DataFrame  # variable, truncation_hours, settled
    settled: bool

    def describe(self) -> str:
        worst = self.per_series.sort_values("truncation_hours").iloc[-1]
        text = (f"MSER-5 warm-up: {self.hours / 24:.1f} d (set by {worst['variable']}, "
                f"the slowest of {len(self.per_series)} level series to settle)")
        if not self.settled:
            text += ("; some series never settled within the horizon, so steady-state KPIs "
                     "are not reliable - lengthen the horizon")
        return text


def detect_warmup(series: pd.DataFrame, variables: list[str] | None = None) -> WarmupChoice:
    """Warm-up from level series (tidy: replication, t_hours, variable, value): MSER-5 on the
    across-replication mean of each series; the latest truncation point wins."""
    if variables is None:
        variables = [v for v in series["variable"].unique()
                     if v == "system" or v.startswith("wip:") or v == "ar_outstanding"]
    rows = []
    for var in variables:
        g = series[series["variable"] == var]
        mean = g.groupby("t_hours")["value"].mean().sort_index()
        if mean.empty or float(mean.std()) == 0.0:
            continue
        d, settled = mser(mean.to_numpy())
        t = mean.index.to_numpy()
        rows.append((var, float(t[min(d, len(t) - 1)]) if d else 0.0, settled))
    table = pd.DataFrame(rows, columns=["variable", "truncation_hours", "settled"])
    if table.empty:
        return WarmupChoice(0.0, table, True)
    return WarmupChoice(float(table["truncation_hours"].max()), table,
                        bool(table["settled"].all()))
