"""Time averages of the sampled level series (queue, WIP, busy staff, AR).

A level is sampled every ``sample_every`` and once more at the horizon; between two samples it
is read as holding the earlier one's value. A time average weights each sample by the interval
it holds for, so the last interval [last regular sample, horizon] counts for its real length,
while the horizon's own sample, which holds for no time, carries no weight. A plain mean of the
samples gets both wrong whenever the spacing does not divide the horizon.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def time_average(t: np.ndarray, values: np.ndarray) -> float:
    """The time average over [t[0], t[-1]] of a level sampled at the (increasing) times ``t``;
    a single sample is its own average."""
    t = np.asarray(t, dtype=float)
    v = np.asarray(values, dtype=float)
    if len(t) == 0:
        return float("nan")
    span = t[-1] - t[0]
    if span <= 0:
        return float(v[-1])
    return float(np.sum(v[:-1] * np.diff(t)) / span)


def series_time_averages(series: pd.DataFrame) -> pd.Series:
    """Each variable's time average (tidy series: replication, t_hours, variable, value),
    computed per replication and then averaged over the replications."""
    per_rep = {
        key: time_average(g["t_hours"].to_numpy(), g["value"].to_numpy())
        for key, g in series.sort_values("t_hours", kind="stable").groupby(
            ["variable", "replication"], sort=False)
    }
    if not per_rep:
        return pd.Series(dtype=float)
    index = pd.MultiIndex.from_tuples(list(per_rep), names=["variable", "replication"])
    return pd.Series(list(per_rep.values()), index=index).groupby(level="variable",
                                                                 sort=False).mean()
