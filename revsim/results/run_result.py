"""Results of a run: tidy tables, a terminal table, and files written atomically."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from revsim.analysis.ci import summarise
from revsim.analysis.wipe_outs import wipe_out_warnings
from revsim.eventlog import event_log
from revsim.experiment import ReplicationSummary, Runs
from revsim.io import output_set, write_bytes, write_csv, write_text
from revsim.scenario.model import Model
from revsim.table import format_table

# What a run writes to its folder (the manifest's file list names them; a manifest of an older
# revsim without one owns these names).
RUN_FILES = ("summary.csv", "kpis.csv", "series.csv", "visits.csv", "periods.csv", "scenario.toml")


@dataclass
class RunResult:
    """KPIs over replications, each with mean, 95% CI and n; plus the tidy per-replication data."""

    model: Model
    replications: list[ReplicationSummary]
    manifest: dict[str, Any]
    confidence: float = 0.95
    _kpis: pd.DataFrame | None = field(default=None, repr=False)

    @classmethod
    def from_runs(cls, runs: Runs, point: str, model: Model,
                  manifest: dict[str, Any]) -> RunResult:
        """The result of one point of an experiment."""
        return cls(model, runs.replications(point), manifest)

    @property
    def summary(self) -> pd.DataFrame:
        """Tidy: one row per replication x metric x scope/name (columns replication, metric,
        scope, name, unit, value)."""
        frames = [
            pd.DataFrame(r.rows).assign(replication=r.replication) for r in self.replications
        ]
        tidy = pd.concat(frames, ignore_index=True)
        return tidy[["replication", "metric", "scope", "name", "unit", "value"]]

    @property
    def periods(self) -> pd.DataFrame:
        """Per-period figures of a run from a state with ``by`` (tidy, as :attr:`summary`;
        scope "period", name = the period's label); empty otherwise."""
        return Runs({"run": self.replications}).periods("run")

    @property
    def kpis(self) -> pd.DataFrame:
        """One row per KPI: metric, scope, name, unit, mean, ci_low, ci_high, half_width, n."""
        if self._kpis is None:
            self._kpis = summarise(
                self.summary, self.confidence, frozenset({self.model.currency})
            )
        return self._kpis

    def kpi(self, metric: str, scope: str = "total", name: str = "") -> pd.Series:
        """The KPI row for ``metric`` (e.g. ``kpi("wait_mean", "stage", "qualify")``)."""
        k = self.kpis
        hit = k[(k.metric == metric) & (k.scope == scope) & (k.name == name)]
        if hit.empty:
            raise KeyError(f"no KPI {metric!r} for {scope} {name!r}")
        return hit.iloc[0]

    def values(self, metric: str, scope: str = "total", name: str = "") -> np.ndarray:
        """The per-replication values of one KPI, in replication order."""
        s = self.summary
        sel = s[(s.metric == metric) & (s.scope == scope) & (s.name == name)]
        return sel.sort_values("replication")["value"].to_numpy()

    @property
    def series(self) -> pd.DataFrame:
        """Level time series, tidy: replication, t_hours, date, variable, value."""
        frames = []
        start = pd.Timestamp(self.model.start)
        for r in self.replications:
            t = r.series["t"]
            data = {k: v for k, v in r.series.items() if k != "t"}
            wide = pd.DataFrame(data)
            wide["t_hours"] = t
            long = wide.melt(id_vars="t_hours", var_name="variable", value_name="value")
            long.insert(0, "replication", r.replication)
            frames.append(long)
        out = pd.concat(frames, ignore_index=True)
        out.insert(2, "date", start + pd.to_timedelta(out["t_hours"], unit="h"))
        return out

    @property
    def visits(self) -> pd.DataFrame:
        """Per-visit records (only when the run kept records): one row per visit to a stage."""
        frames = []
        names = [s.name for s in self.model.stages]
        for r in self.replications:
            if r.visits is None:
                raise ValueError("this run kept no visit records; run with records=True")
            df = pd.DataFrame(r.visits)
            df.insert(0, "replication", r.replication)
            frames.append(df)
        out = pd.concat(frames, ignore_index=True)
        out["stage"] = [names[i] for i in out["stage"]]
        out["outcome"] = [self.model.target_name(int(i)) for i in out["outcome"]]
        return out.rename(columns={"arrival": "arrival_h", "start": "start_h", "end": "end_h"})

    def event_log(self) -> pd.DataFrame:
        """Simulated events in the canonical event-log format (needs ``records=True``)."""
        return event_log(self.model, self.replications)

    def write_event_log(self, path: str | Path) -> Path:
        """Write :meth:`event_log` as CSV, atomically."""
        return write_csv(self.event_log(), Path(path))

    def cycle_times(self) -> np.ndarray:
        """Cycle times (days, created -> won) of every won deal, pooled over replications."""
        parts = [r.extra["cycle_times_d"] for r in self.replications if "cycle_times_d" in r.extra]
        return np.concatenate(parts) if parts else np.array([])

    def plot(self, kind: str, ax: Any = None, **kw: Any) -> Any:
        """One plot by name: funnel, stage_time, utilisation, queue (stage=...), cycle_time,
        cash_curve, ar_aging. Returns the matplotlib Axes."""
        from revsim import plotting  # lazy: matplotlib is slow to import

        cur = self.model.currency
        stages = self._funnel_stages()
        warm = self.manifest.get("warmup_hours")
        makers = {
            "funnel": lambda: plotting.plot_funnel(self.kpis, stages=stages, ax=ax, **kw),
            "stage_time": lambda: plotting.plot_stage_time(self.kpis, stages=stages, ax=ax, **kw),
            "utilisation": lambda: plotting.plot_utilisation(self.kpis, ax=ax, **kw),
            "queue": lambda: plotting.plot_queue(self.series, ax=ax, **{"warmup_hours": warm,
                                                                          **kw}),
            "cycle_time": lambda: plotting.plot_cycle_time(self.cycle_times(), ax=ax, **kw),
            "cash_curve": lambda: plotting.plot_cash_curve(
                self.series, currency=cur, ax=ax, **{"warmup_hours": warm, **kw}),
            "ar_aging": lambda: plotting.plot_ar_aging(self.kpis, currency=cur, ax=ax, **kw),
        }
        if kind not in makers:
            raise ValueError(f"unknown plot {kind!r}; choose from {', '.join(makers)}")
        return makers[kind]()

    def write_plots(self, out: str | Path, **extra: Any) -> list[Path]:
        """Write every plot this run supports to ``out`` as PNG and SVG."""
        from revsim.plotting import write_plots  # lazy: matplotlib is slow to import

        return write_plots(
            Path(out), kpis=self.kpis, series=self.series, cycle_times=self.cycle_times(),
            currency=self.model.currency, stages=self._funnel_stages(),
            warmup_hours=self.manifest.get("warmup_hours"), **extra,
        )

    def _funnel_stages(self) -> list[str]:
        """Stages before the sale, in file order (the funnel); all stages if unknown."""
        chosen = [self.model.stages[i].name for i in self.model.sales_stages]
        return chosen or [s.name for s in self.model.stages]

    # -- presentation --------------------------------------------------------------------------
    @property
    def warnings(self) -> list[str]:
        """What looks silently wrong in these results (a stage that loses most of its arrivals
        to patience, nothing booked or collected), each naming the setting to look at."""
        pools = {s.name: (self.model.pools[s.pool].name if s.pool is not None else None)
                 for s in self.model.stages}
        return wipe_out_warnings(self.kpis, pools, self.model.currency)

    def table(self) -> str:
        """A readable terminal table of every KPI with its mean, 95% CI and n."""
        return format_table(self.kpis, self.model.currency, self.manifest)

    def to_dir(self, out: str | Path, *, visits: bool = False,
               scenario_text: str | None = None,
               files: Mapping[str, bytes] | None = None) -> list[Path]:
        """Write summary.csv, kpis.csv, series.csv, manifest.json (+ visits.csv, periods.csv
        for a run from a state with periods, scenario.toml, and ``files``: name -> content,
        e.g. the parameter draws the scenario copy names).

        The files replace the previous run's in ``out`` as a whole (:func:`revsim.io.output_set`):
        an interrupted write never leaves two runs' files mixed; the manifest, written last,
        holds each file's SHA-256.
        """
        with output_set(out, "manifest.json", RUN_FILES) as staged:
            write_csv(self.summary, staged.path("summary.csv"))
            write_csv(self.kpis, staged.path("kpis.csv"))
            write_csv(self.series, staged.path("series.csv"))
            if visits:
                write_csv(self.visits, staged.path("visits.csv"))
            if any(r.periods for r in self.replications):
                write_csv(self.periods, staged.path("periods.csv"))
            if scenario_text is not None:
                write_text(staged.path("scenario.toml"), scenario_text)
            for name, data in (files or {}).items():
                write_bytes(staged.path(name), data)
            return staged.commit(self.manifest)


__all__ = ["RunResult"]
