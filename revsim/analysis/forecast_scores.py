"""How good forecasts were, once what happened is known: MAPE, WAPE, bias and the coverage of
the P10-P90 interval, over the origins of a rolling-origin backtest.

``detail`` is tidy, one row per (origin, figure, horizon, method): ``actual``, the point
``forecast`` and, for methods that give a range, ``p10`` and ``p90`` (NaN otherwise).

- MAPE: the mean of |forecast - actual| / |actual| over the origins whose actual is not 0
  (with the 95% t-interval of that mean over origins, and how many origins it used);
- WAPE: sum |forecast - actual| / sum |actual|: the error per unit actually booked, which a
  month with an actual near 0 cannot blow up;
- bias: sum (forecast - actual) / sum |actual|: above 0 the method forecasts too high;
- coverage: the share of origins whose actual fell between P10 and P90 (about 80% when the
  ranges are calibrated), with its 95% Wilson interval.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from revsim.analysis.ci import t_interval
from revsim.analysis.forecast_stats import wilson

SCORE_COLUMNS = ["figure", "horizon", "method", "origins", "mape", "mape_ci_low",
                 "mape_ci_high", "mape_n", "wape", "bias", "coverage", "coverage_ci_low",
                 "coverage_ci_high", "coverage_n"]
NOMINAL_COVERAGE = 0.8  # P10..P90


def scores(detail: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """One row per (figure, horizon, method), in the order they first appear in ``detail``."""
    rows = []
    keys = ["figure", "horizon", "method"]
    for (figure, horizon, method), g in detail.groupby(keys, sort=False):
        g = g[g["actual"].notna() & g["forecast"].notna()]
        actual = g["actual"].to_numpy(float)
        error = g["forecast"].to_numpy(float) - actual
        nonzero = actual != 0
        ape = np.abs(error[nonzero]) / np.abs(actual[nonzero])
        mape, lo, hi, n_mape = t_interval(ape, confidence)
        lo = max(lo, 0.0) if not math.isnan(lo) else lo  # an error cannot be negative
        total = float(np.abs(actual).sum())
        wape = float(np.abs(error).sum() / total) if total > 0 else math.nan
        bias = float(error.sum() / total) if total > 0 else math.nan
        ranged = g[g["p10"].notna() & g["p90"].notna()]
        inside = int(((ranged["p10"] <= ranged["actual"])
                      & (ranged["actual"] <= ranged["p90"])).sum())
        n_cov = len(ranged)
        coverage = inside / n_cov if n_cov else math.nan
        c_lo, c_hi = wilson(inside, n_cov, confidence)
        rows.append((figure, int(horizon), method, len(g), mape, lo, hi, n_mape, wape, bias,
                     coverage, c_lo, c_hi, n_cov))
    return pd.DataFrame(rows, columns=SCORE_COLUMNS)
