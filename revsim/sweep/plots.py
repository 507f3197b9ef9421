"""Plots of a sweep: a KPI against one parameter, over two parameters, and against staff cost.

Same conventions as :mod:`revsim.plotting`: ``fn(summary, ..., ax=None) -> Axes``, inputs are the
sweep's tidy summary (one row per point x KPI), pyplot is only imported when a figure is made.

>>> from revsim.sweep.plots import plot_param
>>> ax = plot_param(result.summary, "won", "pools.sdr.headcount")
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from revsim.io import make_folder
from revsim.kpi_registry import direction, display_label, view
from revsim.plotting import write_figures
from revsim.plotting.figure_parts import (
    ACCENT,
    MUTED,
    finish,
    money_formatter,
    new_axes,
    number_text,
    require_columns,
    unit_axis,
)
from revsim.sweep.kpi_tables import (
    COST,
    SweepTables,
    currency_of,
    kpi_table,
    param_columns,
    param_label,
    pareto_front,
    point_labels,
    resolve_kpi,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

SUMMARY_COLUMNS = ("point", "metric", "scope", "name", "unit", "mean", "ci_low", "ci_high")
MAX_LINES = 8  # more combinations of the other parameters: points, not lines
MAX_POINT_LABELS = 8  # more points on a Pareto plot: only the front is labelled
BAND_NOTE = "band: 95% CI over replications (common random numbers at every point)"


def _rows(summary: pd.DataFrame, metric: str, scope: str | None, name: str
          ) -> tuple[pd.DataFrame, str, str]:
    """One KPI's rows (one per point), its unit and its scope; ValueError if absent."""
    require_columns(summary, SUMMARY_COLUMNS, "summary")
    if scope == "total" and not ((summary["metric"] == metric.split(":")[-1])
                                 & (summary["scope"] == "total")).any():
        scope = None  # the default scope; a cash KPI such as cash_collected has its own
    try:
        metric, scope, name, unit = resolve_kpi(summary, metric, scope, name)
    except ValueError as err:  # OptimizeError is a ValueError; drop the "optimize:" prefix
        lines = getattr(err, "problems", None)
        raise ValueError(lines[0].message if lines else str(err)) from None
    return kpi_table(summary, metric, scope, name), unit, scope


def _check_param(summary: pd.DataFrame, param: str) -> None:
    params = param_columns(summary)
    if param not in params:
        raise ValueError(f"summary has no swept parameter {param!r}; parameters: "
                         f"{', '.join(params) or 'none'}")


def _numeric(values: pd.Series) -> bool:
    return bool(len(values)) and bool(pd.to_numeric(values, errors="coerce").notna().all())


def _levels(values: pd.Series) -> list[Any]:
    """Distinct non-missing values: sorted numbers, or text in order of appearance."""
    present = values.dropna()
    if _numeric(present):
        return sorted(set(pd.to_numeric(present).tolist()))
    return list(dict.fromkeys(present.tolist()))


def _level_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return number_text(value)
    return str(value)


def _axis_label(path: str) -> str:
    short = param_label(path)
    return f"{short} headcount (heads)" if short != path and path.endswith(".headcount") \
        else path


def _kpi_axis_label(metric: str, name: str, unit_text: str) -> str:
    what = display_label(metric) + (f" · {name}" if name else "")
    return f"{what} ({unit_text})"


def _x_positions(values: pd.Series, levels: list[Any], numeric: bool) -> np.ndarray:
    if numeric:
        return pd.to_numeric(values).to_numpy(float)
    index = {v: i for i, v in enumerate(levels)}
    return np.array([index[v] for v in values], dtype=float)


def plot_param(summary: pd.DataFrame, metric: str, param: str, *, scope: str | None = "total",
               name: str = "", ax: Axes | None = None, **kw: Any) -> Axes:
    """Mean ``metric`` against the swept ``param`` with its 95% CI band; when other parameters
    vary too, one labelled line per combination of them (points with whiskers when there are
    more than 8 combinations, as in a Latin hypercube). ``scope`` None picks the KPI's scope."""
    _check_param(summary, param)
    rows, unit, scope = _rows(summary, metric, scope, name)
    rows = rows[rows[param].notna()]
    if rows.empty:
        raise ValueError(f"no point of the sweep sets {param}")
    others = [p for p in param_columns(summary) if p != param and rows[p].nunique() > 1]
    levels = _levels(rows[param])
    numeric = _numeric(rows[param])
    mean = rows["mean"].to_numpy(float)
    low, high = rows["ci_low"].to_numpy(float), rows["ci_high"].to_numpy(float)
    scale, fmt, unit_text = unit_axis(unit, np.concatenate([mean, low, high]),
                                      currency_of(summary))
    if ax is None:
        ax = new_axes((8.5, 4.8))
    x_all = _x_positions(rows[param], levels, numeric)
    groups: list[tuple[str, pd.DataFrame]] = []
    if others:
        for key, g in rows.groupby(others, sort=True, dropna=False):
            key = key if isinstance(key, tuple) else (key,)
            groups.append((", ".join(f"{param_label(p)}={_level_text(v)}"
                                     for p, v in zip(others, key, strict=True)), g))
    else:
        groups.append(("mean", rows))
    scatter = len(groups) > MAX_LINES
    if scatter:
        err = np.vstack([np.nan_to_num(mean - low), np.nan_to_num(high - mean)]).clip(min=0)
        ax.errorbar(x_all, mean / scale, yerr=err / scale,
                    **{"fmt": "o", "color": ACCENT, "markersize": 5, "elinewidth": 1.1,
                       "capsize": 2, "label": "point (whiskers: 95% CI)", **kw})
        note = f"{len(rows)} points; other parameters ({', '.join(map(param_label, others))}) " \
               "vary too; whiskers: 95% CI"
    else:
        for i, (label, g) in enumerate(groups):
            g = g.assign(_x=_x_positions(g[param], levels, numeric)).sort_values("_x")
            x = g["_x"].to_numpy(float)
            colour = ACCENT if len(groups) == 1 else f"C{i % 10}"
            ax.plot(x, g["mean"].to_numpy(float) / scale,
                    **{"color": colour, "marker": "o", "markersize": 4.5, "linewidth": 1.6,
                       "label": label, **kw})
            lo, hi = g["ci_low"].to_numpy(float), g["ci_high"].to_numpy(float)
            if np.isfinite(lo).any():
                ax.fill_between(x, lo / scale, hi / scale, color=colour, alpha=0.15,
                                linewidth=0)
        note = "line: mean over replications at each point; " + BAND_NOTE
        if len(groups) > 1:
            ax.legend(title=", ".join(map(param_label, others)), fontsize=8.5,
                      title_fontsize=8.5, frameon=False)
    if not numeric or len(levels) <= 12:
        ticks = levels if numeric else list(range(len(levels)))
        ax.set_xticks([float(t) for t in ticks], [_level_text(v) for v in levels])
    ax.yaxis.set_major_formatter(fmt)
    ax.set_xlabel(_axis_label(param))
    ax.set_ylabel(_kpi_axis_label(metric, name, unit_text))
    n = rows["n"] if "n" in rows.columns else pd.Series(dtype=float)
    reps = f"; n = {int(n.min())}" + (f"-{int(n.max())}" if n.max() != n.min() else "") \
        if len(n) and np.isfinite(n.astype(float)).all() else ""
    finish(ax, f"{display_label(metric).capitalize()} vs {param_label(param)}",
           f"{note}{reps} replications")
    ax.grid(alpha=0.3)
    return ax


def plot_heatmap(summary: pd.DataFrame, metric: str, x: str, y: str, *,
                 scope: str | None = "total", name: str = "", ax: Axes | None = None,
                 cmap: str = "viridis", **kw: Any) -> Axes:
    """Mean ``metric`` over two swept parameters, each cell annotated "value ± half-width"
    (95% CI). Other parameters must be fixed: filter the summary to one level of each."""
    for p in (x, y):
        _check_param(summary, p)
    if x == y:
        raise ValueError("x and y must be different parameters")
    rows, unit, scope = _rows(summary, metric, scope, name)
    rows = rows[rows[x].notna() & rows[y].notna()]
    if rows.empty:
        raise ValueError(f"no point of the sweep sets both {x} and {y}")
    varying = [p for p in param_columns(summary) if p not in (x, y) and rows[p].nunique() > 1]
    if varying or rows.duplicated([x, y]).any():
        raise ValueError(f"several points share a cell of {x} x {y} (other parameters vary: "
                         f"{', '.join(varying) or 'none'}); filter the summary to one level of "
                         "each, e.g. summary[summary[PATH] == VALUE]")
    fixed = [f"{param_label(p)}={_level_text(rows[p].iloc[0])}"
             for p in param_columns(summary) if p not in (x, y) and rows[p].notna().any()]
    xs, ys = _levels(rows[x]), _levels(rows[y])
    xi = {v: i for i, v in enumerate(xs)}
    yi = {v: i for i, v in enumerate(ys)}
    xnum, ynum = _numeric(rows[x]), _numeric(rows[y])
    grid = np.full((len(ys), len(xs)), np.nan)
    half = np.full_like(grid, np.nan)
    for _, r in rows.iterrows():
        cx = xi[float(r[x]) if xnum else r[x]]
        cy = yi[float(r[y]) if ynum else r[y]]
        grid[cy, cx] = float(r["mean"])
        half[cy, cx] = float(r["half_width"]) if "half_width" in r.index else math.nan
    scale, fmt, unit_text = unit_axis(unit, grid.ravel(), currency_of(summary))
    if ax is None:
        ax = new_axes((1.6 + 1.25 * len(xs) + 1.4, 1.9 + 0.75 * len(ys)))
    shown = np.ma.masked_invalid(grid / scale)
    image = ax.imshow(shown, origin="lower", aspect="auto", **{"cmap": cmap, **kw})
    colours = image.cmap
    norm = image.norm
    for cy in range(len(ys)):
        for cx in range(len(xs)):
            value = grid[cy, cx]
            if not math.isfinite(value):
                continue
            text = fmt(value / scale)
            if math.isfinite(half[cy, cx]):
                text += f"\n± {fmt(half[cy, cx] / scale)}"
            r_, g_, b_, _a = colours(norm(value / scale))
            light = 0.299 * r_ + 0.587 * g_ + 0.114 * b_ > 0.55
            ax.text(cx, cy, text, ha="center", va="center", fontsize=8,
                    color="#111111" if light else "white")
    ax.set_xticks(range(len(xs)), [_level_text(v) for v in xs])
    ax.set_yticks(range(len(ys)), [_level_text(v) for v in ys])
    ax.set_xlabel(_axis_label(x))
    ax.set_ylabel(_axis_label(y))
    bar = ax.figure.colorbar(image, ax=ax, format=fmt, shrink=0.9)
    bar.set_label(_kpi_axis_label(metric, name, unit_text), fontsize=9)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    at = f"at {', '.join(fixed)}; " if fixed else ""
    finish(ax, f"{display_label(metric).capitalize()} by {param_label(x)} and {param_label(y)}",
           f"{at}cell: mean ± 95% CI half-width over replications")
    return ax


def plot_pareto(summary: pd.DataFrame, objective: str = "cash_collected", *,
                scope: str | None = None, name: str = "", cost: str = COST,
                minimize: bool | None = None, ax: Axes | None = None, **kw: Any) -> Axes:
    """Every point as ``cost`` (the staff cost per year, or any KPI's mean) against
    ``objective`` with CI whiskers; the Pareto front (lowest cost for a given objective) is
    joined and highlighted, points are labelled. ``minimize``: lower objective is better
    (default: the KPI's registered direction)."""
    if minimize is None:
        minimize = direction(objective.split(":")[-1]) == "lower"
    rows, unit, scope = _rows(summary, objective, scope, name)
    labels = point_labels(summary)
    currency = currency_of(summary)
    if cost in rows.columns and cost not in ("mean", "ci_low", "ci_high"):
        c = rows[cost].to_numpy(float)
        c_err = np.zeros((2, len(rows)))
        c_fmt = money_formatter(currency)
        c_scale = 1.0
        c_label = "staff cost per year" if cost == COST else cost.replace("_", " ")
        c_label += f" ({currency})"
    else:
        c_rows, c_unit, _ = _rows(summary, cost, None, "")
        c_rows = c_rows.set_index("point").reindex(rows["point"])
        c = c_rows["mean"].to_numpy(float)
        c_err = np.vstack([np.nan_to_num(c - c_rows["ci_low"].to_numpy(float)),
                           np.nan_to_num(c_rows["ci_high"].to_numpy(float) - c)]).clip(min=0)
        c_scale, c_fmt, c_unit_text = unit_axis(c_unit, c, currency)
        c_label = f"{display_label(cost)} ({c_unit_text})"
    o = rows["mean"].to_numpy(float)
    lo, hi = rows["ci_low"].to_numpy(float), rows["ci_high"].to_numpy(float)
    o_err = np.vstack([np.nan_to_num(o - lo), np.nan_to_num(hi - o)]).clip(min=0)
    scale, fmt, unit_text = unit_axis(unit, np.concatenate([o, lo, hi]), currency)
    front = pareto_front(c, o, minimize)
    if not front.any():
        raise ValueError(f"no point has both a {cost} and a {objective} value")
    if ax is None:
        ax = new_axes((8.5, 5.2))
    for mask, style in ((~front, {"color": MUTED, "mfc": "white", "label": "dominated point"}),
                        (front, {"color": ACCENT, "mfc": ACCENT, "label": "on the Pareto front"})):
        if mask.any():
            ax.errorbar(c[mask] / c_scale, o[mask] / scale, xerr=c_err[:, mask] / c_scale,
                        yerr=o_err[:, mask] / scale,
                        **{"fmt": "o", "markersize": 6, "elinewidth": 1.1, "capsize": 2.5,
                           "zorder": 3, **style, **kw})
    order = np.argsort(c[front], kind="stable")
    ax.plot(c[front][order] / c_scale, o[front][order] / scale, color=ACCENT, linewidth=1.8,
            zorder=2, label="Pareto front: best " + display_label(objective) + " for the cost")
    few = len(rows) <= MAX_POINT_LABELS
    for i, pid in enumerate(rows["point"].astype(str)):
        if not (few or front[i]) or not (math.isfinite(c[i]) and math.isfinite(o[i])):
            continue
        ax.annotate(labels.get(pid, pid), xy=(c[i] / c_scale, o[i] / scale), xytext=(5, 4),
                    textcoords="offset points", fontsize=7.5,
                    color="#222222" if front[i] else "#777777")
    ax.xaxis.set_major_formatter(c_fmt)
    ax.yaxis.set_major_formatter(fmt)
    ax.set_xlabel(c_label)
    ax.set_ylabel(_kpi_axis_label(objective, name, unit_text))
    ax.legend(fontsize=8.5, frameon=False, loc="best")
    better = "lower" if minimize else "higher"
    labelled = "" if few else "; only the front is labelled"
    finish(ax, f"{display_label(objective).capitalize()} vs {c_label.split(' (')[0]}",
           f"{better} is better; whiskers: 95% CI over replications{labelled}")
    ax.grid(alpha=0.3)
    return ax


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._") or "param"


def write_sweep_plots(result: SweepTables, folder: str | Path,
                      formats: Iterable[str] = ("png", "svg")) -> list[Path]:
    """Write the default plots of a sweep (each format; figures closed after saving):
    won, bookings and cash_collected (when present) against each swept parameter; a heatmap of
    cash_collected (or bookings) over the first two parameters of a grid (the others fixed at
    the best point's levels); and the Pareto front of it against staff cost."""
    summary = result.summary
    out = Path(folder)
    formats = [f.lower().lstrip(".") for f in formats]
    if summary is None or summary.empty:
        make_folder(out)
        return []
    present = set(zip(summary["metric"], summary["scope"], summary["name"].fillna(""),
                      strict=True))
    params = [p for p in (result.params or param_columns(summary)) if p in summary.columns]
    jobs: list[tuple[str, Callable[[], Axes]]] = []
    for metric, scope in view("sweep_plots"):
        if (metric, scope, "") not in present:
            continue
        for p in params:
            if summary[p].nunique() > 1:
                jobs.append((f"{metric}_vs_{_safe(param_label(p))}",
                             partial(plot_param, summary, metric, p, scope=scope)))
    objective = next(((m, s) for m, s in (("cash_collected", "cash"), ("bookings", "total"))
                      if (m, s, "") in present), None)
    design = getattr(getattr(result, "spec", None), "design", "grid")
    varying = [p for p in params if summary[p].nunique() > 1]
    if objective is not None and len(varying) >= 2 and design == "grid":
        metric, scope = objective
        x, y = varying[0], varying[1]
        part = _slice_at_best(summary, metric, scope, [p for p in varying if p not in (x, y)])
        jobs.append((f"{metric}_heatmap_{_safe(param_label(x))}_{_safe(param_label(y))}",
                     partial(plot_heatmap, part, metric, x, y, scope=scope)))
    if objective is not None and COST in summary.columns and \
            (summary[COST].fillna(0) > 0).any():
        metric, scope = objective
        jobs.append((f"{metric}_pareto_staff_cost",
                     partial(plot_pareto, summary, metric, scope=scope)))
    return write_figures(out, jobs, formats)


def _slice_at_best(summary: pd.DataFrame, metric: str, scope: str,
                   others: Sequence[str]) -> pd.DataFrame:
    """The summary rows at the best point's levels of ``others`` (for a 2-D slice)."""
    if not others:
        return summary
    rows = kpi_table(summary, metric, scope, "")
    best = rows.iloc[int(np.nanargmax(rows["mean"].to_numpy(float)))]
    keep = np.ones(len(summary), dtype=bool)
    for p in others:
        keep &= (summary[p] == best[p]).to_numpy()
    return summary[keep]
