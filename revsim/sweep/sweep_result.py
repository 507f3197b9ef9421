"""A finished sweep: its tidy results and per-point summary, tables on disk, plots, and the pick
of its best point."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from revsim.experiment import ExperimentStore
from revsim.io import atomic_path, sha256_file, write_csv
from revsim.kpi_registry import direction, format_value, label
from revsim.sweep.design import SweepSpec
from revsim.sweep.kpi_tables import currency_of, resolve_kpi
from revsim.sweep.optimize import optimize as select_best
from revsim.sweep.plots import plot_heatmap, plot_param, plot_pareto

if TYPE_CHECKING:
    from matplotlib.axes import Axes


@dataclass
class SweepResult:
    """A finished (or partly failed) sweep.

    ``results``: tidy, one row per point x replication x KPI (point, label, one column per
    swept parameter, replication, metric, scope, name, unit, value, staff_cost).
    ``summary``: one row per point x KPI with mean, ci_low, ci_high, half_width and n.
    ``failed``: the tasks that raised, with their error; the rest of the sweep completed.
    """

    spec: SweepSpec
    folder: Path
    results: pd.DataFrame
    summary: pd.DataFrame
    params: list[str]
    failed: list[dict[str, Any]] = field(default_factory=list)
    ran: int = 0
    skipped: int = 0
    wall_time_s: float = 0.0

    def kpi(self, metric: str, scope: str = "total", name: str = "") -> pd.DataFrame:
        """The summary rows of one KPI, one per point."""
        s = self.summary
        return s[(s.metric == metric) & (s.scope == scope) & (s.name == name)].reset_index(
            drop=True)

    def best(self, objective: str = "bookings", n: int = 5) -> pd.DataFrame:
        """The ``n`` best points by a KPI's mean, best first (higher is better unless the KPI
        registry says lower), with their 95% CIs and n. ``objective`` is ``metric``,
        ``scope:metric`` or ``scope:name:metric`` (see revsim.sweep.kpi_tables.resolve_kpi)."""
        metric, scope, name, _unit = resolve_kpi(self.summary, objective)
        rows = self.kpi(metric, scope, name).dropna(subset=["mean"])
        lower = direction(metric) == "lower"
        return rows.sort_values("mean", ascending=lower, kind="stable").head(n).reset_index(
            drop=True)

    def format_best(self, objective: str = "bookings", n: int = 5) -> str:
        """The terminal lines for :meth:`best`: each point's mean [95% CI] and n, and whether
        the replications tell it from the best."""
        top = self.best(objective, n)
        metric = str(top["metric"].iloc[0]) if len(top) else objective
        if top.empty:
            return f"no point has a value of {label(metric)}"
        unit, currency = str(top["unit"].iloc[0]), currency_of(self.summary)
        width = max(len(str(p)) for p in top["label"])
        lines = [f"Best {len(top)} of {len(self.spec.points)} points by {label(metric)} "
                 f"({'lower' if direction(metric) == 'lower' else 'higher'} is better): mean "
                 "[95% CI], n"]
        first = top.iloc[0]
        for i, r in top.iterrows():
            ci = (f"[{format_value(r['ci_low'], unit, currency)}, "
                  f"{format_value(r['ci_high'], unit, currency)}]")
            apart = r["ci_high"] < first["ci_low"] or r["ci_low"] > first["ci_high"]
            tag = "" if i == 0 or apart else "  (CI overlaps the best's)"
            mean = format_value(r["mean"], unit, currency)
            lines.append(f"  {str(r['label']):<{width}}  {mean:>9} {ci:<24} n={int(r['n'])}{tag}")
        return "\n".join(lines)

    def write(self, csv: bool = False) -> list[Path]:
        """results.parquet and summary.parquet (and .csv with ``csv``) in the sweep folder;
        the manifest notes their SHA-256 (``tables``), so a reader can check them."""
        written = []
        for name, frame in (("results", self.results), ("summary", self.summary)):
            target = self.folder / f"{name}.parquet"
            with atomic_path(target) as tmp:
                frame.to_parquet(tmp, engine="pyarrow", index=False)
            written.append(target)
            if csv:
                written.append(write_csv(frame, self.folder / f"{name}.csv"))
        ExperimentStore(self.folder).record_tables({p.name: sha256_file(p) for p in written})
        return written

    def plot_param(self, metric: str, param: str | None = None, *, scope: str = "total",
                   name: str = "", ax: Axes | None = None) -> Axes:
        """A KPI against one swept parameter, with its 95% CI band."""
        return plot_param(self.summary, metric, param or self.params[0], scope=scope, name=name,
                          ax=ax)

    def plot_heatmap(self, metric: str, x: str | None = None, y: str | None = None, *,
                     scope: str = "total", name: str = "", ax: Axes | None = None) -> Axes:
        """A KPI over two swept parameters."""
        x = x or self.params[0]
        y = y or self.params[1]
        return plot_heatmap(self.summary, metric, x, y, scope=scope, name=name, ax=ax)

    def optimize(self, objective: str, *, scope: str | None = None, budget: str | None = None,
                 minimize: bool = False, confidence: float = 0.95) -> Any:
        """The best point under a budget, with how sure that is (see revsim.sweep.optimize)."""
        return select_best(self, objective, scope=scope, budget=budget, minimize=minimize,
                           confidence=confidence)

    def plot_pareto(self, objective: str = "cash_collected", *, scope: str | None = None,
                    cost: str = "staff_cost", ax: Axes | None = None) -> Axes:
        """Points by staff cost and objective, the Pareto front highlighted."""
        if scope is None:
            scope = "cash" if (self.summary.metric == objective).any() and \
                (self.summary[self.summary.metric == objective].scope == "cash").any() \
                else "total"
        return plot_pareto(self.summary, objective, scope=scope, cost=cost, ax=ax)
