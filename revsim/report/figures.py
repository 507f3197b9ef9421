"""Plots of the report, rendered to PNG and embedded as ``data:`` URIs (:class:`Figure`), and
the plots revsim.plotting does not have (:func:`plot_bottleneck_weeks`, :func:`plot_sweep_points`).
"""

from __future__ import annotations

import base64
import io
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from revsim.kpi_registry import display_label
from revsim.plotting.figure_parts import (
    CI_STYLE,
    finish,
    legend_below,
    new_axes,
    percent_formatter,
    unit_axis,
    whiskers,
)
from revsim.report.markup import _e

if TYPE_CHECKING:
    from matplotlib.axes import Axes

MAX_SWEEP_PLOT_POINTS = 40
DPI = 144  # PNG resolution; shown at 96 CSS px per inch, so sharp on high-density screens


# -- plots ----------------------------------------------------------------------------------------
@dataclass
class Figure:
    """One embedded plot: PNG bytes, alt text, caption and its size in CSS pixels."""

    png: bytes
    alt: str
    caption: str
    width: int
    height: int

    def html(self) -> str:
        data = base64.b64encode(self.png).decode("ascii")
        cap = f"<figcaption>{_e(self.caption)}</figcaption>" if self.caption else ""
        return (f'<figure><img src="data:image/png;base64,{data}" alt="{_e(self.alt)}" '
                f'width="{self.width}" height="{self.height}">{cap}</figure>')


def _render(draw: Callable[[], Axes], alt: str, caption: str = "") -> Figure:
    """Draw a plot on a new figure, rasterise it with Agg at DPI, close it; the PNG has a
    256-colour palette (charts have few colours; a third of the size of full colour)."""
    # lazy: matplotlib is slow to import
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure as MplFigure
    from PIL import Image

    before = set(plt.get_fignums())
    try:
        ax = draw()
        fig = ax.figure
        assert isinstance(fig, MplFigure)  # the plot functions draw on new figures
        fig.set_dpi(DPI)
        fig.set_facecolor("white")
        canvas = FigureCanvasAgg(fig)  # whatever the pyplot backend is
        canvas.draw()
        rgba = canvas.buffer_rgba()
        image = Image.frombuffer("RGBA", (rgba.shape[1], rgba.shape[0]), rgba, "raw", "RGBA",
                                 0, 1)
        palette = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                                                dither=Image.Dither.NONE)
    finally:
        for num in set(plt.get_fignums()) - before:
            plt.close(num)
    out = io.BytesIO()
    palette.save(out, format="PNG", compress_level=9)
    png = out.getvalue()
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk
    scale = 96 / DPI
    return Figure(png, alt, caption, round(width * scale), round(height * scale))


class _Plots:
    """Renders plots, turning a plot that cannot be drawn from these files into a note."""

    def __init__(self) -> None:
        self.notes: list[str] = []

    def make(self, what: str, draw: Callable[[], Axes], alt: str, caption: str = "") -> str:
        try:
            return _render(draw, alt, caption).html()
        except (ValueError, KeyError, IndexError, TypeError) as err:
            return f'<p class="note">No {_e(what)} plot: {_e(err)}</p>'


# -- plots that revsim.plotting does not have -------------------------------------------------------
def plot_bottleneck_weeks(timeline: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Share of each week in which each pool was the momentary bottleneck (stacked bars)."""
    wide = timeline.pivot_table(index="week_start", columns="pool", values="share",
                                aggfunc="mean").fillna(0.0).sort_index()
    if wide.empty:
        raise ValueError("the bottleneck timeline is empty")
    order = wide.mean().sort_values(ascending=False).index
    wide = wide[order]
    if ax is None:
        ax = new_axes((9, 4.2))
    colours = ["#3b6fb6", "#e08a1e", "#3a9a5b", "#c8412c", "#7b5ea7", "#8c6d31", "#5b6472"]
    bottom = np.zeros(len(wide))
    x = np.arange(len(wide))
    for i, pool in enumerate(wide.columns):
        values = wide[pool].to_numpy(float)
        ax.bar(x, values, bottom=bottom, width=0.85, color=colours[i % len(colours)],
               label=str(pool))
        bottom += values
    step = max(1, len(wide) // 10)
    ax.set_xticks(x[::step], [pd.Timestamp(t).strftime("%d %b") for t in wide.index[::step]])
    ax.set_ylim(0, 1.0)
    ax.yaxis.set_major_formatter(percent_formatter())
    ax.set_xlabel("week starting (simulated calendar)")
    ax.set_ylabel("share of the week")
    legend_below(ax, ncols=min(len(wide.columns), 5))
    finish(ax, "Which pool was the bottleneck, week by week",
           "momentary bottleneck: saturated and busy longest; mean over replications")
    ax.grid(axis="y", alpha=0.3)
    return ax


def plot_sweep_points(rows: pd.DataFrame, metric: str, currency: str = "USD",
                      ax: Axes | None = None) -> Axes:
    """One KPI at each point of a sweep (one row per point, best first) with CI whiskers."""
    unit = str(rows["unit"].iloc[0])
    mean = rows["mean"].to_numpy(float)
    order = np.argsort(-mean, kind="stable")[:MAX_SWEEP_PLOT_POINTS]
    part = rows.iloc[order]
    pm = part["mean"].to_numpy(float)
    low, high = part["ci_low"].to_numpy(float), part["ci_high"].to_numpy(float)
    scale, fmt, unit_text = unit_axis(unit, np.concatenate([pm, low, high]), currency)
    err = whiskers(pm, low, high)
    if ax is None:
        ax = new_axes((9, 1.8 + 0.32 * len(part)))
    y = np.arange(len(part), dtype=float)
    ax.set_yticks(y, [str(v) for v in part["label"]])
    ax.set_ylim(len(part) - 0.5, -0.5)
    ax.tick_params(axis="y", length=0)
    ax.errorbar(pm / scale, y, xerr=err / scale, **{**CI_STYLE, "fmt": "o", "color": "#3b6fb6"})
    ax.xaxis.set_major_formatter(fmt)
    label = display_label(metric)
    ax.set_xlabel(f"{label} ({unit_text})")
    ax.set_ylabel("point")
    shown = "" if len(rows) <= MAX_SWEEP_PLOT_POINTS else \
        f"; the best {MAX_SWEEP_PLOT_POINTS} of {len(rows)} points"
    finish(ax, f"{label.capitalize()} by sweep point",
           f"mean per point, best first; whiskers: 95% CI{shown}")
    ax.grid(axis="x", alpha=0.3)
    return ax



__all__ = ["DPI", "MAX_SWEEP_PLOT_POINTS", "Figure", "plot_bottleneck_weeks", "plot_sweep_points"]
