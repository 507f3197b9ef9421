"""A forecast's two kinds of range, and the chance of meeting a target.

Over the replications of a forecast, each figure of each period has
- the **mean with the 95% CI of the mean**: how precisely the replications pin down the
  expected value (it narrows as replications are added);
- **P10 / P25 / P50 / P75 / P90 of the outcome**: the spread of the outcomes themselves, a
  prediction interval for the one future that will happen (8 futures in 10 fall between P10
  and P90; more replications make these quantiles sharper, not narrower).

P(target met) is the share of replications that meet it, with a Wilson score interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from revsim.analysis.ci import cut_to_bounds, t_interval
from revsim.errors import ExperimentError, Problem, suggest
from revsim.kpi_registry import direction, format_value, ids, kpi
from revsim.units import UnitError, parse_money

QUANTILES = (0.10, 0.25, 0.50, 0.75, 0.90)
QUANTILE_COLUMNS = tuple(f"p{round(100 * q)}" for q in QUANTILES)
TOTAL = "total"  # the pseudo-period over the whole forecast
SUMMARY_COLUMNS = ["metric", "period", "unit", "n", "mean", "ci_low", "ci_high",
                   *QUANTILE_COLUMNS]


def is_stock(metric: str) -> bool:
    """A level at the period's end (AR, open invoices) rather than a flow within it."""
    found = kpi(metric)
    return found is not None and found.at_end


def with_total(tidy: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    """``tidy`` (replication, metric, name = period, unit, value) plus a "total" period per
    replication and figure: flows summed over the periods, stocks at the last period's end."""
    last = order[-1]
    flows = tidy[~tidy["metric"].map(is_stock)]
    summed = flows.groupby(["replication", "metric", "scope", "unit"], sort=False,
                           as_index=False)["value"].sum()
    stocks = tidy[tidy["metric"].map(is_stock) & (tidy["name"] == last)]
    total = pd.concat([summed, stocks.drop(columns="name")], ignore_index=True).assign(name=TOTAL)
    return pd.concat([tidy, total[tidy.columns]], ignore_index=True)


def outcome_summary(tidy: pd.DataFrame, confidence: float = 0.95,
                    currency_units: frozenset[str] = frozenset()) -> pd.DataFrame:
    """Per figure and period (``name``): n, the mean with its ``confidence`` CI (Student t,
    cut at the figure's natural bounds: no negative money), and the outcome quantiles
    P10..P90, in the order the figures and periods first appear."""
    rows = []
    for (metric, period, unit), g in tidy.groupby(["metric", "name", "unit"], sort=False):
        x = g["value"].to_numpy(float)
        x = x[~np.isnan(x)]
        mean, lo, hi, n = t_interval(x, confidence)
        if n > 1:
            lo, hi = cut_to_bounds(lo, hi, str(unit), currency_units)
        qs = np.quantile(x, QUANTILES).tolist() if n else [math.nan] * len(QUANTILES)
        rows.append((metric, period, unit, n, mean, lo, hi, *qs))
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def wilson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of a proportion k / n (NaN for n = 0)."""
    from scipy import stats  # lazy: scipy.stats is slow to import

    if n == 0:
        return math.nan, math.nan
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(centre - half, 0.0), min(centre + half, 1.0)


@dataclass(frozen=True)
class Target:
    """A figure's target: met when the figure reaches ``threshold`` (or stays at or below it,
    for a figure where lower is better, such as AR), over the forecast so far (cumulative,
    the default) or in each period on its own (``per_period``)."""

    figure: str
    threshold: float
    per_period: bool = False
    text: str = ""

    @property
    def kind(self) -> str:
        return "per period" if self.per_period or is_stock(self.figure) else "cumulative"

    def met(self, values: np.ndarray) -> np.ndarray:
        if direction(self.figure) == "lower":
            return values <= self.threshold
        return values >= self.threshold


def parse_target(text: str, currency: str = "USD") -> Target:
    """``FIGURE=AMOUNT`` (cumulative) or ``FIGURE=AMOUNT/period``, e.g. ``bookings=2.5M``,
    ``won=40/period``, ``ar_outstanding=900k``."""
    figures = ids(["period"])
    name, sep, amount = (part.strip() for part in text.partition("="))
    per_period = amount.endswith("/period")
    amount = amount.removesuffix("/period").strip()
    if not sep or not name or not amount:
        raise ExperimentError([Problem("--target", f"expected FIGURE=AMOUNT[/period], e.g. "
                                       f"bookings=2.5M, got {text!r}")], "forecast")
    if name not in figures:
        raise ExperimentError([Problem("--target", f"unknown figure {name!r}; "
                                       f"{suggest(name, figures)}")], "forecast")
    found = kpi(name)
    try:
        if found is not None and found.unit not in ("count", "share"):
            threshold = parse_money(amount, field="--target")
        else:
            threshold = float(amount)
    except (UnitError, ValueError):
        raise ExperimentError([Problem("--target", f"{amount!r} is not an amount; write e.g. "
                                       f"{name}=2.5M or {name}=40")], "forecast") from None
    return Target(name, threshold, per_period, text or f"{name}={amount}")


def target_table(tidy: pd.DataFrame, targets: list[Target], order: list[str],
                 currency: str = "USD", confidence: float = 0.95) -> pd.DataFrame:
    """Per target and period: how many replications met it, of n, P(met) and its Wilson CI.
    A cumulative target is judged on the figure summed from the as-of date to the period's
    end; the last period's row is the whole forecast."""
    rows = []
    for target in targets:
        part = tidy[tidy["metric"] == target.figure]
        wide = part.pivot_table(index="replication", columns="name", values="value",
                                sort=False).reindex(columns=order)
        values = wide.cumsum(axis=1) if target.kind == "cumulative" else wide
        unit = part["unit"].iloc[0] if len(part) else ""
        for period in order:
            x = values[period].to_numpy(float)
            x = x[~np.isnan(x)]
            k = int(target.met(x).sum())
            lo, hi = wilson(k, len(x), confidence)
            rows.append((target.text, target.figure, target.threshold,
                         format_value(target.threshold, unit, currency), target.kind, period,
                         k, len(x), k / len(x) if len(x) else math.nan, lo, hi))
    return pd.DataFrame(rows, columns=["target", "metric", "threshold", "threshold_text", "kind",
                                       "period", "met", "n", "p_met", "ci_low", "ci_high"])
