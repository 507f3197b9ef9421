"""The forecast's fan chart: the spread of outcomes over replications, period by period."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from revsim.kpi_registry import display_label, kpi
from revsim.plotting.figure_parts import finish, new_axes, require_columns, unit_axis

if TYPE_CHECKING:
    from matplotlib.axes import Axes

FAN = "#1f5fa8"


def fan_values(replications: pd.DataFrame, metric: str, labels: Sequence[str],
               cumulative: bool = False) -> np.ndarray:
    """One figure's values as (replications x periods), periods in ``labels`` order,
    summed from the first period on with ``cumulative``."""
    require_columns(replications, ("replication", "metric", "name", "value"), "replications")
    part = replications[replications["metric"] == metric]
    if part.empty:
        raise ValueError(f"the forecast has no figure {metric!r}")
    wide = part.pivot_table(index="replication", columns="name", values="value",
                            sort=False).reindex(columns=list(labels))
    values = wide.to_numpy(dtype=float)
    return np.cumsum(values, axis=1) if cumulative else values


def plot_fan(replications: pd.DataFrame, metric: str, periods: Sequence[Any], *,
             cumulative: bool = False, currency: str = "USD", ax: Axes | None = None,
             **kw: Any) -> Axes:
    """Fan chart of ``metric`` over ``periods`` (each with ``label``, ``start`` and ``end``):
    the P10-P90 and P25-P75 bands of the outcome over replications, and the median. Each
    period is drawn at its end; ``cumulative`` sums the figure from the as-of date.
    ``replications`` is a forecast's tidy per-replication table; ``**kw`` goes to the median
    line."""
    labels = [p.label for p in periods]
    values = fan_values(replications, metric, labels, cumulative)
    unit = str(replications.loc[replications["metric"] == metric, "unit"].iloc[0])
    x = np.array([np.datetime64(p.end, "s") for p in periods])
    ticks = [f"to {label}" if cumulative else label for label in labels]
    if cumulative:  # from nothing at the as-of date
        x = np.concatenate([[np.datetime64(periods[0].start, "s")], x])
        values = np.hstack([np.zeros((values.shape[0], 1)), values])
        ticks = [f"{periods[0].start:%Y-%m-%d}", *ticks]
    q = np.nanquantile(values, [0.10, 0.25, 0.50, 0.75, 0.90], axis=0)
    if ax is None:
        ax = new_axes((9, 4.6))
    ax.fill_between(x, q[0], q[4], color=FAN, alpha=0.18, linewidth=0, label="P10–P90")
    ax.fill_between(x, q[1], q[3], color=FAN, alpha=0.35, linewidth=0, label="P25–P75")
    ax.plot(x, q[2], color=FAN, marker="o", markersize=3.5, label="median (P50)",
            **{"linewidth": 1.8, **kw})
    ax.set_xticks(x, ticks, rotation=45 if len(ticks) > 7 else 0,
                  ha="right" if len(ticks) > 7 else "center", fontsize=8.5)
    ax.set_xlabel("at the end of each period" if not cumulative else
                  "summed from the as-of date to the end of each period")
    _, formatter, axis_unit = unit_axis(unit, values.ravel(), currency)
    ax.yaxis.set_major_formatter(formatter)
    found = kpi(metric)
    what = display_label(metric) + (", cumulative" if cumulative else
                                     "" if found is not None and found.at_end else " per period")
    ax.set_ylabel(f"{what} ({axis_unit})")
    if np.nanmin(values) >= 0:
        ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8.5, frameon=False)
    finish(ax, f"Forecast: {what}",
           f"range of outcomes over {values.shape[0]} replications (a prediction interval "
           "for the one future that happens), not a CI of the mean")
    return ax


METHOD_LABELS = {"simulation": "revsim from the state", "empty_start": "revsim from empty",
                 "weighted_pipeline": "weighted pipeline", "run_rate": "run rate"}


def plot_backtest(detail: pd.DataFrame, figure: str, horizon: int, *, currency: str = "USD",
                  ax: Axes | None = None) -> Axes:
    """Forecast vs actual at each origin of a rolling-origin backtest, for one figure summed
    from the origin over ``horizon`` periods: what happened (black), revsim's median with its
    P10-P90 range, and the other methods' point forecasts. ``detail`` is the backtest's
    per-origin table (origin, figure, horizon, method, actual, forecast, p10, p90)."""
    require_columns(detail, ["origin", "figure", "horizon", "method", "actual", "forecast",
                             "p10", "p90"], "plot_backtest")
    rows = detail[(detail["figure"] == figure) & (detail["horizon"] == horizon)]
    if rows.empty:
        raise ValueError(f"the backtest has no {figure!r} at horizon {horizon}")
    if ax is None:
        ax = new_axes((9, 4.6))
    sim = rows[rows["method"] == "simulation"].sort_values("origin")
    x = pd.to_datetime(sim["origin"]).to_numpy()
    ax.fill_between(x, sim["p10"], sim["p90"], color=FAN, alpha=0.2, linewidth=0,
                    label="revsim P10–P90")
    ax.plot(x, sim["forecast"], color=FAN, marker="o", markersize=4,
            label=f"{METHOD_LABELS['simulation']} (P50)")
    styles = {"empty_start": ("#8c8c8c", "--", "s"), "weighted_pipeline": ("#d95f02", ":", "^"),
              "run_rate": ("#7570b3", ":", "v")}
    for method, (colour, line, marker) in styles.items():
        part = rows[rows["method"] == method].sort_values("origin")
        if not part.empty:
            ax.plot(pd.to_datetime(part["origin"]).to_numpy(), part["forecast"], color=colour,
                    linestyle=line, marker=marker, markersize=4, linewidth=1.2,
                    label=METHOD_LABELS[method])
    ax.plot(x, sim["actual"], color="black", marker="o", markersize=4.5, linewidth=1.8,
            label="actual (the log)")
    values = np.concatenate([rows["forecast"].to_numpy(float), rows["actual"].to_numpy(float),
                             sim["p90"].to_numpy(float)])
    unit = "count" if figure in ("won", "opportunities_created") else currency
    _, formatter, axis_unit = unit_axis(unit, values, currency)
    ax.yaxis.set_major_formatter(formatter)
    ax.set_ylabel(f"{display_label(figure)}, {horizon} period{'s' if horizon > 1 else ''} "
                  f"ahead ({axis_unit})")
    ticks = [f"{t:%Y-%m-%d}" for t in pd.to_datetime(sim["origin"])]
    ax.set_xticks(x, ticks, rotation=45 if len(ticks) > 7 else 0,
                  ha="right" if len(ticks) > 7 else "center", fontsize=8.5)
    ax.set_xlabel("forecast origin (fitted on the log before it)")
    if np.nanmin(values) >= 0:
        ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    finish(ax, f"Backtest: {display_label(figure)}, forecast vs actual",
           f"summed over the {horizon} period{'s' if horizon > 1 else ''} after each origin; "
           "the band is the range of outcomes, not a CI of the mean")
    return ax
