"""Plots of comparisons: the value of one more head per pool (tornado) and variants vs the
base scenario (forest)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from revsim.kpi_registry import display_label, view
from revsim.plotting.figure_parts import (
    ACCENT,
    CI_STYLE,
    MUTED,
    finish,
    legend_below,
    new_axes,
    percent_formatter,
    require_columns,
    unit_axis,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

MARGINAL_COLUMNS = ("pool", "metric", "unit", "diff", "ci_low", "ci_high", "significant")
COMPARISON_COLUMNS = ("variant", "metric", "name", "unit", "base_mean", "diff", "ci_low",
                      "ci_high", "significant")
# Headline KPIs of the multi-KPI forest plot, in this order (whole-cycle and cash scopes).
FOREST_HEADLINE = tuple(metric for metric, _ in view("forest"))
SIG_NOTE = "grey: not significant"


def _significant(frame: pd.DataFrame) -> np.ndarray:
    return frame["significant"].fillna(False).astype(bool).to_numpy()


def _select(frame: pd.DataFrame, metric: str, scope: str | None, name: str | None
            ) -> pd.DataFrame:
    part = frame[frame["metric"] == metric]
    if scope is not None and "scope" in frame.columns:
        part = part[part["scope"] == scope]
    if name is not None and "name" in frame.columns:
        part = part[part["name"].fillna("") == name]
    return part


def _extras(row: pd.Series) -> str:
    """ROI and payback of one pool's extra head, when the marginal table has them."""
    bits = []
    roi = float(row.get("roi", math.nan))
    payback = float(row.get("payback_months", math.nan))
    if math.isfinite(roi):
        bits.append(f"ROI {roi:+.0%}")  # net return: gain / cost - 1
    if math.isfinite(payback):
        bits.append(f"payback {payback:.1f} mo")
    return ", ".join(bits)


def plot_tornado(marginal: pd.DataFrame, metric: str = "bookings", currency: str = "USD",
                 ax: Axes | None = None, *, scope: str | None = None, name: str | None = None,
                 **kw: Any) -> Axes:
    """Value of one more head in each pool: change in ``metric`` (its own unit; money in
    ``currency``) as horizontal bars sorted by size, CI whiskers, non-significant in grey."""
    require_columns(marginal, MARGINAL_COLUMNS, "marginal")
    part = _select(marginal, metric, scope, name)
    if part.empty:
        known = ", ".join(pd.unique(marginal["metric"].astype(str))) or "none"
        raise ValueError(f"marginal has no rows for metric {metric!r}; metrics: {known}")
    if part["pool"].duplicated().any():
        raise ValueError(f"marginal has several {metric!r} rows per pool; pass scope= and name= "
                         "to pick one")
    part = part.iloc[np.argsort(-part["diff"].abs().to_numpy(float), kind="stable")]
    unit = str(part["unit"].iloc[0])
    diff = part["diff"].to_numpy(float)
    low, high = part["ci_low"].to_numpy(float), part["ci_high"].to_numpy(float)
    scale, fmt, unit_text = unit_axis(unit, np.concatenate([diff, low, high]), currency,
                                      signed=True)
    sig = _significant(part)
    if ax is None:
        ax = new_axes((8.5, 2.0 + 0.45 * len(part)))
    y = np.arange(len(part), dtype=float)
    ax.set_yticks(y, [f"+1 {p}" for p in part["pool"].astype(str)])
    ax.set_ylim(len(part) - 0.5, -0.5)
    ax.tick_params(axis="y", length=0)
    ax.barh(y, diff / scale, height=0.6, **{"color": [ACCENT if s else MUTED for s in sig], **kw})
    err = np.vstack([np.nan_to_num(diff - low), np.nan_to_num(high - diff)]).clip(min=0)
    ax.errorbar(diff / scale, y, xerr=err / scale, label="CI", **CI_STYLE)
    ax.axvline(0, color="#222222", linewidth=1)
    lo = min(0.0, float(np.nanmin(np.minimum(diff - err[0], diff))))
    hi = max(0.0, float(np.nanmax(np.maximum(diff + err[1], diff))))
    span = (hi - lo) or 1.0
    ax.set_xlim((lo - (0.25 if lo < 0 else 0.04) * span) / scale,
                (hi + (0.25 if hi > 0 else 0.04) * span) / scale)
    extras = [_extras(row) for _, row in part.iterrows()]
    trans = ax.get_yaxis_transform()
    for yi, d, e, extra in zip(y, diff, err.T, extras, strict=True):
        end = d + e[1] if d >= 0 else d - e[0]
        ax.annotate(fmt(d / scale), xy=(end / scale, yi), xytext=(4 if d >= 0 else -4, 0),
                    textcoords="offset points", va="center", ha="left" if d >= 0 else "right",
                    fontsize=8.5)
        ax.text(1.02, yi, extra or "-", transform=trans, va="center", fontsize=8.5)
    ax.xaxis.set_major_formatter(fmt)
    per_year = "per_year" in part.columns and bool(part["per_year"].fillna(False).all())
    ax.set_xlabel(f"change in {display_label(metric)} from one more head "
                  f"({unit_text}{' per year' if per_year else ''})")
    ax.set_ylabel("staff pool")
    finish(ax, f"Value of one more head: {display_label(metric)}",
           f"mean difference vs base; whiskers: CI; {SIG_NOTE}")
    ax.grid(axis="x", alpha=0.3)
    return ax


def _forest_rows(comparison: pd.DataFrame, metric: str | None) -> pd.DataFrame:
    if metric is None:
        part = comparison[comparison["metric"].isin(FOREST_HEADLINE)
                          & (comparison["name"].fillna("") == "")]
        if part.empty:
            raise ValueError("comparison has none of the headline KPIs "
                             f"{', '.join(FOREST_HEADLINE)}; pass metric=")
        order = {m: i for i, m in enumerate(FOREST_HEADLINE)}
        return part.assign(_group=part["metric"].map(order)).sort_values("_group", kind="stable")
    part = comparison[comparison["metric"] == metric]
    if part.empty:
        known = ", ".join(pd.unique(comparison["metric"].astype(str))) or "none"
        raise ValueError(f"comparison has no rows for metric {metric!r}; metrics: {known}")
    names = list(dict.fromkeys(part["name"].fillna("")))
    return part.assign(_group=part["name"].fillna("").map(names.index)).sort_values(
        "_group", kind="stable")


def plot_forest(comparison: pd.DataFrame, metric: str | None = None, ax: Axes | None = None,
                *, relative: bool | None = None, **kw: Any) -> Axes:
    """Forest plot of variants vs base: difference and CI per (variant, KPI), zero line,
    significant ones highlighted. metric None = headline KPIs as relative difference (% of
    the base mean); one metric = absolute difference in its unit (``relative`` overrides)."""
    require_columns(comparison, COMPARISON_COLUMNS, "comparison")
    part = _forest_rows(comparison, metric)
    relative = metric is None if relative is None else relative
    dropped = 0
    if relative:
        base = part["base_mean"].abs().to_numpy(float)
        ok = np.isfinite(base) & (base > 0)
        dropped = int((~ok).sum())
        part, base = part[ok], base[ok]
        if part.empty:
            raise ValueError("no row has a non-zero base_mean to compute a relative difference")
    elif part["unit"].nunique() > 1:
        raise ValueError("rows have different units; use relative=True")
    else:
        base = np.ones(len(part))
    diff = part["diff"].to_numpy(float) / base
    low, high = part["ci_low"].to_numpy(float) / base, part["ci_high"].to_numpy(float) / base
    if relative:
        scale, fmt, unit_text = 1.0, percent_formatter(signed=True), "% of base mean"
    else:
        unit = str(part["unit"].iloc[0])
        scale, fmt, unit_text = unit_axis(unit, np.concatenate([diff, low, high]), unit,
                                          signed=True)
    # Group by KPI (or by stage/pool name for one metric); a bold header row per group when
    # there are several groups with several variants each.
    group_key = part["metric"] if metric is None else part["name"].fillna("")
    variants = part["variant"].astype(str)
    several = group_key.nunique() > 1 and variants.nunique() > 1
    labels: list[str] = []
    headers: list[int] = []
    ypos = np.empty(len(part))
    previous = None
    for i, (key, variant) in enumerate(zip(group_key, variants, strict=True)):
        group = display_label(str(key)) if metric is None else str(key)
        if several and key != previous:
            headers.append(len(labels))
            labels.append(group)
            previous = key
        ypos[i] = len(labels)
        if several:
            labels.append(f"{variant}")
        elif group_key.nunique() > 1:
            labels.append(group)
        else:
            labels.append(variant + (f" · {group}" if group else ""))
    if ax is None:
        ax = new_axes((9, 1.9 + 0.36 * len(labels)))
    ax.set_yticks(np.arange(len(labels)), labels)
    for h in headers:
        ax.get_yticklabels()[h].set_fontweight("bold")
    ax.set_ylim(len(labels) - 0.5, -0.5)
    ax.tick_params(axis="y", length=0)
    sig = _significant(part)
    err = np.vstack([np.nan_to_num(diff - low), np.nan_to_num(high - diff)]).clip(min=0)
    for mask, style in ((sig, {"color": ACCENT, "mfc": ACCENT, "label": "significant"}),
                        (~sig, {"color": MUTED, "mfc": "white", "label": "not significant"})):
        if mask.any():
            ax.errorbar(diff[mask] / scale, ypos[mask], xerr=err[:, mask] / scale,
                        **{"fmt": "o", "markersize": 6, "elinewidth": 1.6, "capsize": 3,
                           "zorder": 3, **style, **kw})
    ax.axvline(0, color="#222222", linewidth=1)
    trans = ax.get_yaxis_transform()
    show = (lambda v: f"{100 * v:+.1f}%") if relative else (lambda v: fmt(v / scale))
    for yi, d, lo_, hi_ in zip(ypos, diff, low, high, strict=True):
        ci = f" [{show(lo_)}, {show(hi_)}]" if np.isfinite(lo_) else ""
        ax.text(1.02, yi, f"{show(d)}{ci}", transform=trans, va="center", fontsize=8)
    ax.xaxis.set_major_formatter(fmt)
    what = "headline KPIs" if metric is None else display_label(metric)
    ax.set_xlabel(f"difference vs base ({unit_text})")
    ax.set_ylabel("KPI and variant" if several else ("KPI" if metric is None else "variant"))
    legend_below(ax, ncols=2)
    single = variants.nunique() == 1 and not several
    note = f"variant {variants.iloc[0]}; " if single and metric is None else ""
    omitted = f"; {dropped} row(s) with base 0 omitted" if dropped else ""
    finish(ax, f"Variants vs base: {what}" + (" (relative difference)" if relative else ""),
           f"{note}point: mean difference; whiskers and [ ]: CI; {SIG_NOTE}{omitted}")
    ax.grid(axis="x", alpha=0.3)
    return ax
