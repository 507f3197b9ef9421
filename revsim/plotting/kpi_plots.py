"""Plots of the KPI table: funnel, time in stage, utilisation, AR aging, cycle-time histogram."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from revsim.plotting.figure_parts import (
    ACCENT,
    BAD,
    CI_STYLE,
    GOOD,
    MUTED,
    TIME_UNITS,
    WARN,
    count_formatter,
    duration_formatter,
    finish,
    kpi_rows,
    legend_below,
    money_formatter,
    new_axes,
    number_text,
    pct_text,
    percent_formatter,
    stage_order,
    time_unit_for,
    whiskers,
)
from revsim.units import format_duration, format_money

if TYPE_CHECKING:
    from matplotlib.axes import Axes

CI_NOTE = "whiskers: confidence interval over replications"


def _bar_slots(ax: Axes, labels: Sequence[str]) -> np.ndarray:
    """Horizontal-bar positions top to bottom with ``labels`` as y tick labels."""
    y = np.arange(len(labels), dtype=float)
    ax.set_yticks(y, labels)
    ax.set_ylim(len(labels) - 0.5, -0.5)
    ax.tick_params(axis="y", length=0)
    return y


def plot_funnel(kpis: pd.DataFrame, stages: Sequence[str] | None = None, ax: Axes | None = None,
                *, log: bool | None = None, **kw: Any) -> Axes:
    """Funnel: leads in, arrivals at each stage and deals won (counts per replication), with
    CI whiskers and the step conversion (% of the bar above); ``log`` None = log scale when
    the largest count is over 30 times the smallest."""
    names = stage_order(kpis, stages)
    arrivals = kpi_rows(kpis, "stage", "arrivals")
    totals = kpi_rows(kpis, "total", "leads_in"), kpi_rows(kpis, "total", "won")
    if totals[0].empty or totals[1].empty:
        raise ValueError("kpis needs the total KPIs leads_in and won for a funnel")
    missing = [s for s in names if s not in arrivals.index]
    if missing:
        raise ValueError(f"no arrivals KPI for stage(s) {', '.join(missing)}")
    rows = pd.concat([totals[0].iloc[[0]], arrivals.loc[names], totals[1].iloc[[0]]])
    labels = ["leads in", *names, "deals won"]
    mean = rows["mean"].to_numpy(float)
    if log is None:
        positive = mean[mean > 0]
        log = bool(positive.size and positive.max() / positive.min() > 30)
    if ax is None:
        ax = new_axes((8.5, 1.8 + 0.42 * len(labels)))
    y = _bar_slots(ax, labels)
    colours = [MUTED] + [ACCENT] * len(names) + [GOOD]
    ax.barh(y, mean, height=0.62, **{"color": colours, "label": "mean per replication", **kw})
    err = whiskers(mean, rows["ci_low"].to_numpy(float), rows["ci_high"].to_numpy(float))
    ax.errorbar(mean, y, xerr=err, label="CI", **CI_STYLE)
    top = float(np.nanmax(mean + err[1])) if mean.size else 1.0
    if log:
        ax.set_xscale("log")
        floor = float(np.nanmin(mean[mean > 0])) / 3 if (mean > 0).any() else 0.1
        ax.set_xlim(floor, top * 6)
        ax.xaxis.set_major_formatter(count_formatter(compact=True))
        ax.xaxis.set_minor_formatter(count_formatter(compact=True) if top / floor < 30
                                     else "")
    else:
        ax.set_xlim(0, top * 1.18)
        ax.xaxis.set_major_formatter(count_formatter(compact=True))
    for yi, value, hi in zip(y, mean, mean + err[1], strict=True):
        ax.annotate(number_text(round(value)) if value >= 100 else number_text(round(value, 1)),
                    xy=(hi, yi), xytext=(4, 0), textcoords="offset points", va="center",
                    fontsize=8.5)
    # Step conversion in a column right of the plot, between the two bars it compares.
    trans = ax.get_yaxis_transform()
    for i in range(len(mean) - 1):
        share = mean[i + 1] / mean[i] if mean[i] > 0 else math.nan
        arrow = "↑" if share > 1 else "↓"  # more than the bar above: a branch joins, or rework
        ax.text(1.02, y[i] + 0.5, f"{arrow} {pct_text(share)}", transform=trans, ha="left",
                va="center", fontsize=8.5, color="#333333")
    ax.set_xlabel("leads or deals per replication (count" + (", log scale)" if log else ")"))
    ax.set_ylabel("funnel step")
    finish(ax, "Funnel: leads in to deals won",
           f"bars: mean arrivals per replication; {CI_NOTE}; ↓ = bar as % of the bar above")
    ax.grid(axis="x", alpha=0.3, which="major")
    return ax


def plot_stage_time(kpis: pd.DataFrame, stages: Sequence[str] | None = None,
                    ax: Axes | None = None, **kw: Any) -> Axes:
    """Mean time in each stage split into waiting for staff (wait_mean) and "work and delays"
    (the rest), as stacked horizontal bars in hours or days, with the CI of the total."""
    names = stage_order(kpis, stages)
    total = kpi_rows(kpis, "stage", "time_in_stage_mean")
    wait = kpi_rows(kpis, "stage", "wait_mean")
    names = [s for s in names if s in total.index]
    if not names:
        raise ValueError("kpis has no time_in_stage_mean for the stages")
    t_mean = total.loc[names, "mean"].to_numpy(float)
    w_mean = wait["mean"].reindex(names).fillna(0.0).to_numpy(float)
    w_mean = np.nan_to_num(np.minimum(w_mean, t_mean), nan=0.0)
    rest = np.maximum(np.nan_to_num(t_mean) - w_mean, 0.0)
    err = whiskers(t_mean, total.loc[names, "ci_low"].to_numpy(float),
                   total.loc[names, "ci_high"].to_numpy(float))
    unit = time_unit_for(float(np.nanmax(t_mean + err[1])))
    scale = TIME_UNITS[unit][0]
    if ax is None:
        ax = new_axes((8.5, 1.9 + 0.42 * len(names)))
    y = _bar_slots(ax, names)
    ax.barh(y, w_mean / scale, height=0.62, label="waiting for staff",
            **{"color": WARN, **kw})
    ax.barh(y, rest / scale, left=w_mean / scale, height=0.62, label="work and delays",
            **{"color": ACCENT, **kw})
    ax.errorbar(t_mean / scale, y, xerr=err / scale, label="CI of time in stage", **CI_STYLE)
    for yi, t, hi in zip(y, t_mean, t_mean + err[1], strict=True):
        text = (f"{number_text(round(t / scale, 1))} {unit}" if t >= scale
                else format_duration(float(t)))
        ax.annotate(text, xy=(hi / scale, yi), xytext=(4, 0),
                    textcoords="offset points", va="center", fontsize=8.5)
    ax.set_xlim(0, float(np.nanmax(t_mean + err[1])) / scale * 1.15)
    ax.xaxis.set_major_formatter(duration_formatter(unit))
    ax.set_xlabel(f"mean time in stage ({TIME_UNITS[unit][1]}, calendar time)")
    ax.set_ylabel("stage")
    legend_below(ax)
    finish(ax, "Time in stage: waiting vs work and delays",
           f"mean per replication; {CI_NOTE}; unstaffed stages have no wait")
    ax.grid(axis="x", alpha=0.3)
    return ax


def plot_utilisation(kpis: pd.DataFrame, ax: Axes | None = None, **kw: Any) -> Axes:
    """Utilisation of each staff pool (share of working hours busy, %) with CI whiskers and
    reference lines at 85% and 100%."""
    rows = kpi_rows(kpis, "pool", "utilisation")
    if rows.empty:
        raise ValueError("kpis has no pool utilisation KPIs (scope 'pool')")
    names = list(rows.index)
    mean = rows["mean"].to_numpy(float)
    err = whiskers(mean, rows["ci_low"].to_numpy(float), rows["ci_high"].to_numpy(float))
    if ax is None:
        ax = new_axes((8, 2.0 + 0.45 * len(names)))
    y = _bar_slots(ax, names)
    colours = [BAD if m >= 1 else WARN if m >= 0.85 else ACCENT for m in mean]
    ax.barh(y, mean, height=0.6, **{"color": colours, **kw})
    ax.errorbar(mean, y, xerr=err, label="CI", **CI_STYLE)
    ax.axvline(0.85, color=WARN, linestyle="--", linewidth=1.2, label="85%: queues grow fast")
    ax.axvline(1.0, color=BAD, linestyle="-", linewidth=1.2, label="100%: saturated")
    for yi, m, hi in zip(y, mean, mean + err[1], strict=True):
        ax.annotate(pct_text(float(m)), xy=(hi, yi), xytext=(4, 0), textcoords="offset points",
                    va="center", fontsize=8.5)
    ax.set_xlim(0, max(1.12, float(np.nanmax(mean + err[1])) * 1.1))
    ax.xaxis.set_major_formatter(percent_formatter())
    ax.set_xlabel("utilisation (% of working hours busy)")
    ax.set_ylabel("staff pool")
    legend_below(ax)
    finish(ax, "Staff utilisation by pool", f"mean per replication; {CI_NOTE}")
    ax.grid(axis="x", alpha=0.3)
    return ax


AGING = (("ar_current", "not yet due"), ("ar_1_30", "1–30 d"), ("ar_31_60", "31–60 d"),
         ("ar_61_90", "61–90 d"), ("ar_90_plus", "over 90 d"))
AGING_COLOURS = (GOOD, "#b5c94c", WARN, "#d8642a", BAD)


def plot_ar_aging(kpis: pd.DataFrame, currency: str = "USD", ax: Axes | None = None,
                  **kw: Any) -> Axes:
    """Accounts receivable at the end of the run by days past due (money in ``currency``),
    with CI whiskers."""
    rows = [kpi_rows(kpis, "cash", metric) for metric, _ in AGING]
    if any(r.empty for r in rows):
        raise ValueError("kpis has no AR aging KPIs (scope 'cash'); the scenario has no "
                         "cash model")
    table = pd.concat([r.iloc[[0]] for r in rows])
    mean = table["mean"].to_numpy(float)
    err = whiskers(mean, table["ci_low"].to_numpy(float), table["ci_high"].to_numpy(float))
    if ax is None:
        ax = new_axes((7.5, 4.6))
    x = np.arange(len(AGING))
    ax.bar(x, mean, width=0.65, **{"color": list(AGING_COLOURS), **kw})
    ax.errorbar(x, mean, yerr=err, label="CI", **CI_STYLE)
    for xi, m, hi in zip(x, mean, mean + err[1], strict=True):
        ax.annotate(format_money(float(m), currency), xy=(xi, hi), xytext=(0, 5),
                    textcoords="offset points", ha="center", fontsize=8.5)
    ax.set_xticks(x, [label for _, label in AGING])
    ax.set_ylim(0, float(np.nanmax(mean + err[1])) * 1.12 or 1.0)
    ax.yaxis.set_major_formatter(money_formatter(currency))
    ax.set_xlabel("days past due date")
    ax.set_ylabel(f"receivables outstanding at end ({currency})")
    total = kpi_rows(kpis, "cash", "ar_outstanding")
    note = (f"total AR {format_money(float(total['mean'].iloc[0]), currency)}; "
            if not total.empty else "")
    finish(ax, "Accounts receivable aging at end of run", f"{note}mean per replication; {CI_NOTE}")
    ax.grid(axis="y", alpha=0.3)
    return ax


def plot_cycle_time(cycle_times: np.ndarray | pd.Series | Sequence[float], ax: Axes | None = None,
                    *, bins: int | str = "auto", **kw: Any) -> Axes:
    """Histogram of won-deal cycle times (days, lead created to won) with median and p90."""
    values = np.asarray(cycle_times, dtype=float).ravel()
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise ValueError("cycle_times is empty: no won deals to plot")
    if ax is None:
        ax = new_axes((8, 4.6))
    edges = np.histogram_bin_edges(values, bins=bins)
    if len(edges) > 61:  # "auto" on many deals gives needle-thin bins
        edges = np.histogram_bin_edges(values, bins=60)
    ax.hist(values, bins=list(edges), **{"color": ACCENT, "alpha": 0.85, "edgecolor": "white",
                                   "linewidth": 0.5, "label": "won deals", **kw})
    median, p90 = np.percentile(values, [50, 90])
    ax.axvline(median, color="#222222", linestyle="-", linewidth=1.6,
               label=f"median {number_text(round(float(median), 1))} d")
    ax.axvline(p90, color=BAD, linestyle="--", linewidth=1.6,
               label=f"p90 {number_text(round(float(p90), 1))} d")
    ax.xaxis.set_major_formatter(duration_formatter("d"))
    ax.yaxis.set_major_formatter(count_formatter())
    ax.set_xlim(left=0)
    ax.set_xlabel("cycle time, lead created → won (days)")
    ax.set_ylabel("won deals (count)")
    ax.legend(fontsize=8.5, frameon=False)
    finish(ax, "Cycle time of won deals",
           f"{number_text(values.size)} deals, pooled over replications")
    ax.grid(axis="y", alpha=0.3)
    return ax
