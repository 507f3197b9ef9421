"""Shared pieces of the plots: tick formatters, KPI look-ups, CI whiskers and bands.

Nothing here imports pyplot; matplotlib itself is imported inside the functions so that
``import revsim.plotting`` stays cheap.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from revsim.analysis.ci import t_half_width
from revsim.units import format_money

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.ticker import FuncFormatter

# Display units for durations: (label, hours per unit, long name).
TIME_UNITS = {"min": (1 / 60, "minutes"), "h": (1.0, "hours"), "d": (24.0, "days"),
              "w": (168.0, "weeks")}
# Colours: one accent per role, greys for "not significant" and reference lines.
ACCENT, GOOD, WARN, BAD, MUTED = "#3b6fb6", "#3a9a5b", "#e08a1e", "#c8412c", "#b9b9b9"
CI_STYLE: dict[str, Any] = {"fmt": "none", "ecolor": "#333333", "elinewidth": 1.1, "capsize": 3,
                            "zorder": 3}


# -- tick formatters ------------------------------------------------------------------------------
def _trim(text: str) -> str:
    return text.rstrip("0").rstrip(".") if "." in text else text


def _money_text(x: float, currency: str, signed: bool) -> str:
    text = format_money(x, currency)
    # format_money keeps one decimal ("$1.2M"); a tick at exactly 1.25M would then read like
    # 1.2M, so a value that is exact at two decimals of its suffix keeps both.
    for suffix, scale in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if text.endswith(suffix):
            scaled = abs(x) / scale
            shown = 1 if scaled < 99.95 else 0
            exact = next((d for d in range(3) if abs(scaled * 10**d - round(scaled * 10**d))
                          < 1e-6 * max(1.0, scaled * 10**d)), None)
            if exact is not None and exact > shown:
                prefix = format_money(0.0, currency)[:-1]
                text = f"{'-' if x < 0 else ''}{prefix}{_trim(f'{scaled:.{exact}f}')}{suffix}"
            break
    if signed and x > 0:
        text = "+" + text
    return text


def money_formatter(currency: str = "USD", *, signed: bool = False) -> FuncFormatter:
    """Tick formatter for money in ``currency``: 1_234_567 -> "$1.2M", 350_000 -> "$350k"."""
    # lazy: matplotlib is slow to import
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda x, _pos=None: _money_text(float(x), currency, signed))


def number_text(x: float, signed: bool = False, compact: bool = False) -> str:
    """1234.5 -> "1,234.5"; with ``compact`` 12_000 -> "12k"; at most two decimals."""
    if x == 0:
        return "0"
    sign = "-" if x < 0 else ("+" if signed else "")
    size = abs(x)
    if compact and size >= 1000:
        for suffix, scale in (("M", 1e6), ("k", 1e3)):
            if size >= scale:
                return f"{sign}{_trim(f'{size / scale:.1f}')}{suffix}"
    return f"{sign}{_trim(f'{size:,.2f}')}"


def count_formatter(*, signed: bool = False, compact: bool = False) -> FuncFormatter:
    """Tick formatter for plain numbers: 1,234 (or 12k with ``compact``)."""
    # lazy: matplotlib is slow to import
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda x, _pos=None: number_text(float(x), signed, compact))


def duration_formatter(unit: str = "h", *, signed: bool = False) -> FuncFormatter:
    """Tick formatter for durations measured in ``unit`` ("min", "h", "d", "w"): 36 -> "36 h"."""
    if unit not in TIME_UNITS:
        raise ValueError(f"unknown duration unit {unit!r}; use one of: {', '.join(TIME_UNITS)}")
    # lazy: matplotlib is slow to import
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda x, _pos=None: f"{number_text(float(x), signed)} {unit}")


def percent_formatter(*, signed: bool = False, points: bool = False) -> FuncFormatter:
    """Tick formatter for shares (0.85 -> "85%"); ``points`` writes percentage points ("pp")."""
    # lazy: matplotlib is slow to import
    from matplotlib.ticker import FuncFormatter

    suffix = " pp" if points else "%"
    return FuncFormatter(lambda x, _pos=None: f"{number_text(100 * float(x), signed)}{suffix}")


def pct_text(share: float) -> str:
    """0.2593 -> "26%", 0.0130 -> "1.3%", 0.00042 -> "0.04%"."""
    if not math.isfinite(share):
        return "-"
    p = 100 * share
    if abs(round(p, 1)) >= 10:
        return f"{p:.0f}%"
    if abs(round(p, 2)) >= 1:
        return f"{p:.1f}%"
    return f"{p:.2g}%"


def time_unit_for(max_hours: float) -> str:
    """The display unit for durations up to ``max_hours``: minutes, hours or days."""
    if not math.isfinite(max_hours) or max_hours < 1:
        return "min" if math.isfinite(max_hours) and max_hours > 0 else "h"
    return "h" if max_hours < 48 else "d"


def unit_axis(unit: str, values: Sequence[float] | np.ndarray, currency: str,
              signed: bool = False) -> tuple[float, FuncFormatter, str]:
    """How to show values in KPI ``unit``: (divide the data by this, tick formatter, axis unit).

    Durations in hours switch to minutes or days by magnitude; shares show as %; any unit
    that is not a known plain unit is a currency code.
    """
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    biggest = float(np.abs(finite).max()) if finite.size else math.nan
    if unit == "h":
        shown = time_unit_for(biggest)
        scale, long = TIME_UNITS[shown]
        return scale, duration_formatter(shown, signed=signed), long
    if unit == "d":
        return 1.0, duration_formatter("d", signed=signed), "days"
    if unit == "share":
        return 1.0, percent_formatter(signed=signed, points=signed), (
            "percentage points" if signed else "%")
    if unit == "staff-h":
        return 1.0, count_formatter(signed=signed, compact=True), "staff hours"
    if unit == "per week":
        return 1.0, count_formatter(signed=signed), "per week"
    if unit in ("count", ""):
        return 1.0, count_formatter(signed=signed, compact=True), "count"
    return 1.0, money_formatter(unit or currency, signed=signed), unit or currency


# -- data -----------------------------------------------------------------------------------------
def require_columns(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    """Raise a ValueError naming the missing columns of ``df``."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what} is missing column(s) {', '.join(missing)}; "
                         f"expected {', '.join(columns)}")


KPI_COLUMNS = ("metric", "scope", "name", "unit", "mean", "ci_low", "ci_high")


def kpi_rows(kpis: pd.DataFrame, scope: str, metric: str) -> pd.DataFrame:
    """Rows of one KPI in one scope, indexed by name (stage, pool, source; "" for totals)."""
    require_columns(kpis, KPI_COLUMNS, "kpis")
    part = kpis[(kpis["scope"] == scope) & (kpis["metric"] == metric)]
    names = part["name"].fillna("").astype(str)
    return part.set_axis(names, axis=0)


def stage_order(kpis: pd.DataFrame, stages: Sequence[str] | None) -> list[str]:
    """``stages`` checked against the stage KPIs, or every stage in order of appearance."""
    require_columns(kpis, KPI_COLUMNS, "kpis")
    known = list(dict.fromkeys(kpis.loc[kpis["scope"] == "stage", "name"].astype(str)))
    if stages is None:
        if not known:
            raise ValueError("kpis has no stage KPIs (scope 'stage')")
        return known
    unknown = [s for s in stages if s not in known]
    if unknown:
        raise ValueError(f"unknown stage(s) {', '.join(map(repr, unknown))}; "
                         f"stages in kpis: {', '.join(known)}")
    return list(stages)


def whiskers(mean: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Errorbar extents (2 x n, non-negative) from means and CI bounds; missing CI -> 0."""
    lo = np.nan_to_num(np.asarray(mean, float) - np.asarray(low, float), nan=0.0)
    hi = np.nan_to_num(np.asarray(high, float) - np.asarray(mean, float), nan=0.0)
    return np.vstack([np.maximum(lo, 0.0), np.maximum(hi, 0.0)])


def new_axes(figsize: tuple[float, float]) -> Axes:
    """A fresh figure with one Axes (constrained layout, so long labels fit)."""
    # lazy: matplotlib is slow to import
    import matplotlib.pyplot as plt

    _fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def finish(ax: Axes, title: str, subtitle: str = "") -> None:
    """Title (and a smaller grey subtitle line) and a light grid behind the data."""
    ax.set_title(title, loc="left", fontsize=12, fontweight="bold",
                 pad=18 if subtitle else 6)
    if subtitle:
        ax.annotate(subtitle, xy=(0, 1), xycoords="axes fraction", xytext=(0, 5),
                    textcoords="offset points", fontsize=8.5, color="#555555", va="bottom")
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def value_band(series: pd.DataFrame, variable: str, confidence: float
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """One series variable over time: (x, mean, CI low, CI high, replications).

    x is the calendar date when the series has a ``date`` column, else days since the start.
    The band is the Student-t interval over replications at each time (none with one
    replication).
    """
    require_columns(series, ("replication", "t_hours", "variable", "value"), "series")
    sel = series[series["variable"] == variable]
    if sel.empty:
        raise ValueError(f"series has no variable {variable!r}")
    wide = sel.pivot_table(index="t_hours", columns="replication", values="value",
                           aggfunc="mean").sort_index()
    values = wide.to_numpy(dtype=float)
    n = np.sum(~np.isnan(values), axis=1)
    mean = np.nanmean(values, axis=1)
    low = np.full_like(mean, np.nan)
    high = np.full_like(mean, np.nan)
    several = n > 1
    if several.any():
        sd = np.nanstd(values[several], axis=1, ddof=1)
        half = t_half_width(sd, n[several], confidence)
        low[several], high[several] = mean[several] - half, mean[several] + half
    x: np.ndarray
    if "date" in sel.columns:
        dates = pd.to_datetime(sel.groupby("t_hours")["date"].first()).reindex(wide.index)
        x = dates.to_numpy()
    else:
        x = wide.index.to_numpy(dtype=float) / 24.0
    return x, mean, low, high, int(wide.shape[1])


def shade_warmup(ax: Axes, series: pd.DataFrame, warmup_hours: float | None) -> None:
    """Grey out the warm-up (from the start to ``warmup_hours``) on a time axis drawn by
    :func:`value_band`: statistics leave it out, the series shows it."""
    if not warmup_hours or warmup_hours <= 0:
        return
    if "date" in series.columns:
        i = int(np.argmin(series["t_hours"].to_numpy()))
        start = (pd.Timestamp(series["date"].iloc[i])
                 - pd.Timedelta(hours=float(series["t_hours"].iloc[i])))
        left, right = start, start + pd.Timedelta(hours=warmup_hours)
        ax.axvspan(left, right, color="0.5", alpha=0.12, linewidth=0,  # type: ignore[arg-type]
                   label="warm-up (not in the KPIs)")
    else:
        ax.axvspan(0.0, warmup_hours / 24.0, color="0.5", alpha=0.12, linewidth=0,
                   label="warm-up (not in the KPIs)")


def legend_below(ax: Axes, ncols: int = 3) -> None:
    """A legend in one row under the x axis label (outside the data)."""
    # lazy: matplotlib is slow to import
    from matplotlib.transforms import offset_copy

    # a SubFigure works too: offset_copy only uses its dpi_scale_trans
    below = offset_copy(ax.transAxes, fig=ax.figure, y=-42, units="points")  # type: ignore[arg-type]
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, 0), bbox_transform=below, ncols=ncols,
              fontsize=8.5, frameon=False)


def time_axis(ax: Axes, is_date: bool) -> None:
    """Concise date ticks (or days since the start) on the x axis."""
    if is_date:
        # lazy: matplotlib is slow to import
        import matplotlib.dates as mdates

        locator = mdates.AutoDateLocator(minticks=4, maxticks=9)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        ax.set_xlabel("date (simulated calendar)")
    else:
        ax.set_xlabel("time since start (days)")
