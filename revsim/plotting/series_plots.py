"""Plots of the level time series: queue length and the cash curve."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from revsim.plotting.figure_parts import (
    ACCENT,
    GOOD,
    WARN,
    count_formatter,
    finish,
    money_formatter,
    new_axes,
    require_columns,
    shade_warmup,
    time_axis,
    value_band,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def _line_with_band(ax: Axes, x: np.ndarray, mean: np.ndarray, low: np.ndarray,
                    high: np.ndarray, colour: str, label: str, **kw: Any) -> None:
    ax.plot(x, mean, **{"color": colour, "linewidth": 1.6, "label": label, **kw})
    if np.isfinite(low).any():
        ax.fill_between(x, np.maximum(low, 0.0), high, color=colour, alpha=0.2, linewidth=0)


def queue_stages(series: pd.DataFrame) -> list[str]:
    """Stages with a queue series, in order of appearance."""
    require_columns(series, ("variable",), "series")
    names = pd.unique(series["variable"].astype(str))
    return [str(v)[len("queue:"):] for v in names if str(v).startswith("queue:")]


def plot_queue(series: pd.DataFrame, stage: str, ax: Axes | None = None,
               confidence: float = 0.95, warmup_hours: float | None = None, **kw: Any) -> Axes:
    """Queue length of one stage over time (leads waiting for staff): mean across replications
    with a Student-t confidence band, dates on the x axis; ``warmup_hours`` greys out the
    warm-up."""
    if f"queue:{stage}" not in set(series["variable"].astype(str)):
        known = ", ".join(queue_stages(series)) or "none"
        raise ValueError(f"series has no queue for stage {stage!r}; stages with a queue: {known}")
    x, mean, low, high, n = value_band(series, f"queue:{stage}", confidence)
    if ax is None:
        ax = new_axes((9, 4.2))
    _line_with_band(ax, x, mean, low, high, ACCENT, "mean over replications", **kw)
    if n > 1:
        ax.fill_between([], [], [], color=ACCENT, alpha=0.2,
                        label=f"{confidence:.0%} CI (Student t, n = {n})")
    shade_warmup(ax, series, warmup_hours)
    time_axis(ax, np.issubdtype(x.dtype, np.datetime64))
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_formatter(count_formatter())
    ax.set_ylabel("queue length (leads waiting)")
    ax.legend(loc="upper left", fontsize=8.5, frameon=False)
    finish(ax, f"Queue at {stage}",
           "leads waiting for staff; sampled series incl. warm-up, mean over replications")
    ax.grid(alpha=0.3)
    return ax


CASH_LINES = (("bookings", "bookings (cumulative)", ACCENT),
              ("invoiced", "invoiced (cumulative)", WARN),
              ("collected", "cash collected (cumulative)", GOOD))


def plot_cash_curve(series: pd.DataFrame, currency: str = "USD", ax: Axes | None = None,
                    confidence: float = 0.95, warmup_hours: float | None = None,
                    **kw: Any) -> Axes:
    """Cumulative bookings, invoiced (if present) and cash collected over time (money in
    ``currency``): means across replications with Student-t confidence bands;
    ``warmup_hours`` greys out the warm-up."""
    require_columns(series, ("variable",), "series")
    present = set(series["variable"].astype(str))
    if "bookings" not in present:
        raise ValueError("series has no 'bookings' variable")
    if ax is None:
        ax = new_axes((9, 4.6))
    n = 1
    is_date = False
    for variable, label, colour in CASH_LINES:
        if variable not in present:
            continue
        x, mean, low, high, n = value_band(series, variable, confidence)
        is_date = bool(np.issubdtype(x.dtype, np.datetime64))
        _line_with_band(ax, x, mean, low, high, colour, label, **kw)
    shade_warmup(ax, series, warmup_hours)
    time_axis(ax, is_date)
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_formatter(money_formatter(currency))
    ax.set_ylabel(f"cumulative amount ({currency})")
    ax.legend(loc="upper left", fontsize=8.5, frameon=False)
    band = f"bands: {confidence:.0%} CI (Student t, n = {n})" if n > 1 else "one replication"
    gap = "" if "collected" in present else "; no cash model: bookings only"
    finish(ax, "Bookings vs cash collected", f"mean over replications, from the start; "
           f"{band}{gap}")
    ax.grid(alpha=0.3)
    return ax
