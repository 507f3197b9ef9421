"""Diagnostic plots for ``fit_duration`` results (matplotlib is imported only when plotting).

- ``plot_survival`` (alias ``plot_fit``): the Kaplan-Meier estimate with its confidence band
  against each fitted family's survival curve; the chosen distribution is drawn bold.
- ``plot_qq``: completed durations against the chosen fit's quantiles, on log axes.

Durations are shown in days.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from revsim.calibrate.fitting import DurationFit
from revsim.calibrate.survival import kaplan_meier
from revsim.distributions import Distribution

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_fit", "plot_qq", "plot_survival"]

HOURS_PER_DAY = 24.0
_MAX_QQ_POINTS = 2000
_GRID_POINTS = 400


def _axes(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt  # lazy: matplotlib is slow to import; only plots need it

    _, new = plt.subplots(figsize=(7, 4.5))
    return new


def _chosen_label(fit: DurationFit) -> str:
    if fit.fallback == "mixture":
        return "two-lognormal mixture (chosen)"
    if fit.fallback == "empirical":
        return "empirical (chosen)"
    return f"{fit.best} (chosen)"


def plot_survival(fit: DurationFit, ax: Axes | None = None) -> Axes:
    """Kaplan-Meier survival (step, with its 95% band) vs each family's fitted survival."""
    ax = _axes(ax)
    km = fit.km
    days = km["time"].to_numpy(dtype=float) / HOURS_PER_DAY
    ax.fill_between(
        days,
        km["ci_lower"].to_numpy(dtype=float),
        km["ci_upper"].to_numpy(dtype=float),
        step="post",
        color="0.6",
        alpha=0.3,
        linewidth=0,
        label="95% band",
    )
    ax.step(
        days,
        km["survival"].to_numpy(dtype=float),
        where="post",
        color="black",
        linewidth=1.2,
        label=f"Kaplan-Meier (n={fit.n}, {fit.n_censored} censored)",
    )
    top = float(np.max(fit.durations)) if len(fit.durations) else 1.0
    grid = np.linspace(0.0, max(top, 1e-9), _GRID_POINTS)
    for fam in fit.table["family"]:
        dist = fit.survival(str(fam))
        if dist is None:
            continue
        chosen = fit.fallback is None and fam == fit.best
        ax.plot(
            grid / HOURS_PER_DAY,
            np.asarray(dist.sf(grid), dtype=float),
            linewidth=2.6 if chosen else 1.0,
            alpha=1.0 if chosen else 0.75,
            linestyle="-" if chosen or fit.fallback is None else "--",
            label=f"{fam} (chosen)" if chosen else str(fam),
        )
    if fit.fallback is not None:
        ax.plot(
            grid / HOURS_PER_DAY,
            np.asarray(fit.dist.sf(grid), dtype=float),
            color="crimson",
            linewidth=2.6,
            label=_chosen_label(fit),
        )
    ax.set_xlabel("Duration (days)")
    ax.set_ylabel("Share still open, S(t)")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlim(left=0)
    ax.set_title(f"{fit.name + ': ' if fit.name else ''}fitted vs Kaplan-Meier survival")
    ax.legend(fontsize="small")
    return ax


plot_fit = plot_survival


def _km_positions(
    t: npt.NDArray[np.float64], obs: npt.NDArray[np.bool_]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Distinct completed durations and their Kaplan-Meier plotting positions (mid-jump)."""
    times, surv, before = kaplan_meier(t, obs)
    return times, 1 - (before + surv) / 2


def _qq_model(fit: DurationFit) -> tuple[Distribution | None, str]:
    if fit.fallback == "mixture" and fit.mixture is not None:
        return fit.mixture.dist, "two-lognormal mixture"
    ff = fit.fits.get(fit.best)
    if ff is None or ff.dist is None:
        return None, ""
    if fit.fallback == "empirical":
        return ff.dist, f"{fit.best} (best family; not used: empirical fallback)"
    return ff.dist, fit.best


def plot_qq(fit: DurationFit, ax: Axes | None = None) -> Axes:
    """Completed durations against the fitted quantiles (log axes, 45-degree line).

    Plotting positions are Kaplan-Meier estimates, so censoring is accounted for; when zeros
    are a point mass, only the positive durations are shown (against the positive part).
    """
    ax = _axes(ax)
    model, label = _qq_model(fit)
    ax.set_xlabel("Fitted quantile (days)")
    ax.set_ylabel("Observed duration (days)")
    title = f"{fit.name + ': ' if fit.name else ''}Q-Q plot"
    if model is None:
        ax.set_title(f"{title} (no family could be fitted)")
        return ax
    times, pos = _km_positions(fit.fit_durations, fit.fit_observed)
    if len(times) > _MAX_QQ_POINTS:
        pick = np.unique(np.linspace(0, len(times) - 1, _MAX_QQ_POINTS).round().astype(int))
        times, pos = times[pick], pos[pick]
    theo = np.asarray(model.ppf(pos), dtype=float) / HOURS_PER_DAY
    obs = times / HOURS_PER_DAY
    ok = np.isfinite(theo) & (theo > 0) & (obs > 0)
    ax.scatter(theo[ok], obs[ok], s=8, alpha=0.6, label="completed durations")
    if ok.any():
        lo = float(min(theo[ok].min(), obs[ok].min()))
        hi = float(max(theo[ok].max(), obs[ok].max()))
        ax.plot([lo, hi], [lo, hi], color="black", linewidth=1, label="45° line")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_title(f"{title} vs {label}")
    ax.legend(fontsize="small")
    return ax
