"""Plots of revsim results, following the matplotlib convention ``fn(data, ..., ax=None, **kw)``.

Each function draws on ``ax`` (a new figure when ``ax`` is None) and returns the Axes; ``**kw``
goes to the main artist (bars, line or histogram). Inputs are the tidy frames of a run:

>>> from revsim import plotting
>>> ax = plotting.plot_funnel(result.kpis)
>>> plotting.write_plots("out/plots", kpis=result.kpis, series=result.series)

pyplot is only imported when a figure is created.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from revsim.analysis.level_series import series_time_averages
from revsim.io import atomic_path, output_set
from revsim.plotting.compare_plots import plot_forest, plot_tornado
from revsim.plotting.figure_parts import duration_formatter, money_formatter
from revsim.plotting.forecast_plots import plot_backtest, plot_fan
from revsim.plotting.kpi_plots import (
    plot_ar_aging,
    plot_cycle_time,
    plot_funnel,
    plot_stage_time,
    plot_utilisation,
)
from revsim.plotting.series_plots import plot_cash_curve, plot_queue, queue_stages
from revsim.version import __version__

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "duration_formatter",
    "money_formatter",
    "plot_ar_aging",
    "plot_cash_curve",
    "plot_cycle_time",
    "plot_backtest",
    "plot_fan",
    "plot_forest",
    "plot_funnel",
    "plot_queue",
    "plot_stage_time",
    "plot_tornado",
    "plot_utilisation",
    "write_figures",
    "write_plots",
]

MAX_QUEUE_PLOTS = 8


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._") or "stage"


def save_figure(ax: Axes, path: Path, formats: Sequence[str]) -> list[Path]:
    """Save the figure of ``ax`` once per format (atomically: temporary file, then rename)."""
    # lazy: matplotlib is slow to import
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    fig = ax.figure
    assert isinstance(fig, Figure)  # write_plots draws on new figures, never subfigures
    written = []
    try:
        for fmt in formats:
            target = path.with_suffix(f".{fmt}")
            metadata = {"Date": None} if fmt in ("svg", "pdf") else None
            with atomic_path(target) as tmp:
                fig.savefig(tmp, format=fmt, dpi=150, metadata=metadata)
            written.append(target)
    finally:
        plt.close(fig)  # type: ignore[arg-type]
    return written


def _queue_plot_stages(series: pd.DataFrame) -> list[str]:
    """Stages whose queue is ever non-zero: the MAX_QUEUE_PLOTS longest (by mean), in order."""
    stages = queue_stages(series)
    queues = series[series["variable"].isin([f"queue:{s}" for s in stages])]
    mean = {str(k): float(v) for k, v in series_time_averages(queues).items()}
    peak = {str(k): float(v) for k, v in queues.groupby("variable")["value"].max().items()}
    busy = [s for s in stages if peak[f"queue:{s}"] > 0]
    top = set(sorted(busy, key=lambda s: -mean[f"queue:{s}"])[:MAX_QUEUE_PLOTS])
    return [s for s in busy if s in top]


def write_plots(out_dir: str | Path, *, kpis: pd.DataFrame | None = None,
                series: pd.DataFrame | None = None,
                cycle_times: np.ndarray | pd.Series | Sequence[float] | None = None,
                comparison: pd.DataFrame | None = None, marginal: pd.DataFrame | None = None,
                currency: str = "USD", stages: Sequence[str] | None = None,
                formats: Iterable[str] = ("png", "svg"),
                warmup_hours: float | None = None) -> list[Path]:
    """Write every plot whose inputs are given (and hold the data it needs) into ``out_dir``,
    once per format; returns the written paths. Figures are closed after saving.
    ``warmup_hours`` greys out the warm-up on the plots over time."""
    # lazy: matplotlib is slow to import
    from matplotlib.backend_bases import FigureCanvasBase

    formats = [f.lower().lstrip(".") for f in formats]
    supported = FigureCanvasBase.get_supported_filetypes()
    bad = [f for f in formats if f not in supported]
    if bad:
        raise ValueError(f"unsupported format(s) {', '.join(bad)}; "
                         f"use one of: {', '.join(sorted(supported))}")
    out = Path(out_dir)
    jobs: list[tuple[str, Callable[[], Axes]]] = []
    metrics = set() if kpis is None else set(zip(kpis["scope"], kpis["metric"], strict=True))
    variables = set() if series is None else set(series["variable"].astype(str))
    if kpis is not None:
        if ("stage", "arrivals") in metrics and {("total", "leads_in"), ("total", "won")} <= metrics:
            jobs.append(("funnel", partial(plot_funnel, kpis, stages)))
        if ("stage", "time_in_stage_mean") in metrics:
            jobs.append(("stage_time", partial(plot_stage_time, kpis, stages)))
        if ("pool", "utilisation") in metrics:
            jobs.append(("utilisation", partial(plot_utilisation, kpis)))
    if series is not None:
        for stage in _queue_plot_stages(series):
            jobs.append((f"queue_{_safe_name(stage)}",
                         partial(plot_queue, series, stage, warmup_hours=warmup_hours)))
    if cycle_times is not None and np.isfinite(np.asarray(cycle_times, dtype=float)).any():
        jobs.append(("cycle_time", partial(plot_cycle_time, cycle_times)))
    if series is not None and "bookings" in variables:
        jobs.append(("cash_curve", partial(plot_cash_curve, series, currency,
                                           warmup_hours=warmup_hours)))
    if kpis is not None and ("cash", "ar_current") in metrics:
        jobs.append(("ar_aging", partial(plot_ar_aging, kpis, currency)))
    if marginal is not None and not marginal.empty:
        metric = "bookings" if "bookings" in set(marginal["metric"]) else str(
            marginal["metric"].iloc[0])
        jobs.append(("tornado", partial(plot_tornado, marginal, metric, currency)))
    if comparison is not None and not comparison.empty:
        jobs.append(("forest", partial(plot_forest, comparison)))
    return write_figures(out, jobs, formats)


PLOTS_MANIFEST = "plots_manifest.json"


def write_figures(out: Path, jobs: Sequence[tuple[str, Callable[[], Axes]]],
                  formats: Sequence[str]) -> list[Path]:
    """Draw each (file name, draw) job and save it once per format into ``out``, the plots
    replacing the folder's earlier plots as a whole (plots_manifest.json lists them; see
    :func:`revsim.io.output_set`), so plots of two runs are never mixed. Returns the plot
    paths, in job order."""
    # lazy: matplotlib is slow to import
    import matplotlib.pyplot as plt

    written: list[Path] = []
    with output_set(out, PLOTS_MANIFEST) as staged:
        for name, draw in jobs:
            before = set(plt.get_fignums())
            try:
                ax = draw()
            except BaseException:
                for num in set(plt.get_fignums()) - before:  # a half-drawn figure
                    plt.close(num)
                raise
            for fmt in formats:
                staged.path(f"{name}.{fmt}")
            written += [out / p.name for p in save_figure(ax, staged.staging / name, formats)]
        staged.commit({"revsim_version": __version__})
    return written
