"""Results of a run: tidy tables, a terminal table, and files written atomically."""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from revsim.analysis.ci import summarise
from revsim.experiment import ReplicationSummary
from revsim.scenario.model import OUTCOME_NAMES, Model
from revsim.units import format_duration, format_money


@dataclass
class RunResult:
    """KPIs over replications, each with mean, 95% CI and n; plus the tidy per-replication data."""

    model: Model
    replications: list[ReplicationSummary]
    manifest: dict[str, Any]
    confidence: float = 0.95
    _kpis: pd.DataFrame | None = field(default=None, repr=False)

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
        from revsim.eventlog import event_log

        return event_log(self)

    def write_event_log(self, path: str | Path) -> Path:
        """Write :meth:`event_log` as CSV, atomically."""
        return _atomic_csv(self.event_log(), Path(path))

    # -- presentation --------------------------------------------------------------------------
    def table(self) -> str:
        """A readable terminal table of every KPI with its mean, 95% CI and n."""
        return format_table(self.kpis, self.model.currency, self.manifest)

    def to_dir(self, out: str | Path, *, visits: bool = False,
               scenario_text: str | None = None) -> list[Path]:
        """Write summary.csv, kpis.csv, series.csv, manifest.json (+ visits.csv, scenario.toml).

        Every file is written to a temporary name and renamed, so an interrupted run leaves no
        half-written file; the manifest is written last.
        """
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        written = [
            _atomic_csv(self.summary, out / "summary.csv"),
            _atomic_csv(self.kpis, out / "kpis.csv"),
            _atomic_csv(self.series, out / "series.csv"),
        ]
        if visits:
            written.append(_atomic_csv(self.visits, out / "visits.csv"))
        if scenario_text is not None:
            written.append(_atomic_text(scenario_text, out / "scenario.toml"))
        written.append(
            _atomic_text(json.dumps(self.manifest, indent=2, default=str) + "\n",
                         out / "manifest.json")
        )
        return written


@contextmanager
def _atomic(path: Path) -> Iterator[Path]:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _atomic_csv(df: pd.DataFrame, path: Path) -> Path:
    with _atomic(path) as tmp:
        df.to_csv(tmp, index=False, float_format="%.10g")
    return path


def _atomic_text(text: str, path: Path) -> Path:
    with _atomic(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


# -- terminal table ------------------------------------------------------------------------------
_LABELS = {
    "leads_in": "leads in",
    "won": "deals won",
    "lost": "lost",
    "disqualified": "disqualified",
    "reneged": "lost to reneging",
    "balked": "lost to full queue",
    "bookings": "bookings",
    "conversion": "conversion",
    "time_to_first_touch_mean": "time to first touch, mean",
    "time_to_first_touch_median": "time to first touch, median",
    "time_to_first_touch_p90": "time to first touch, p90",
    "cycle_time_mean": "cycle time created->won, mean",
    "cycle_time_median": "cycle time created->won, median",
    "cycle_time_p90": "cycle time created->won, p90",
    "leads_in_system_mean": "leads in the system, mean",
    "done": "done",
    "arrivals": "arrivals",
    "throughput": "throughput",
    "time_in_stage_mean": "time in stage, mean",
    "time_in_stage_p90": "time in stage, p90",
    "wip_mean": "in stage (WIP), mean",
    "wait_mean": "wait, mean",
    "wait_p90": "wait, p90",
    "p_wait": "share that waited",
    "queue_mean": "queue length, mean",
    "staff_hours": "staff hours",
    "utilisation": "utilisation (working hours)",
    "available_hours": "available staff hours",
    "headcount_end": "headcount at end",
    "renewals": "renewals",
    "renewal_bookings": "renewal bookings",
    "not_renewed": "subscriptions not renewed",
    "go_lives": "go-lives",
    "time_to_go_live_median": "time won->go-live, median",
    "churned_in_onboarding": "churned in onboarding",
    "invoices": "invoices issued",
    "invoiced": "invoiced",
    "cash_collected": "cash collected",
    "time_to_cash_median": "time to cash won->paid, median",
    "time_to_cash_p90": "time to cash won->paid, p90",
    "dso": "DSO (AR end / invoiced x days)",
    "ar_outstanding": "AR outstanding at end",
    "ar_current": "AR not yet due",
    "ar_1_30": "AR 1-30 days past due",
    "ar_31_60": "AR 31-60 days past due",
    "ar_61_90": "AR 61-90 days past due",
    "ar_90_plus": "AR over 90 days past due",
    "overdue_share": "overdue share of AR",
    "written_off": "written off",
    "bad_debt_rate": "bad-debt rate (written off / invoiced)",
    "dunning_touches": "dunning touches",
}


def format_value(value: float, unit: str, currency: str = "USD") -> str:
    """A KPI value in human units: $1.2M, 23.4%, 3.2 h, 41 d, 1,234."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if unit == "share":
        return f"{100 * value:.1f}%"
    if unit == "h":
        return format_duration(value)
    if unit == "staff-h":
        return f"{value:,.0f} h"
    if unit == "d":
        return f"{value:,.1f} d"
    if unit == "per week":
        return f"{value:,.1f}/w"
    if unit == currency:
        return format_money(value, currency)
    if abs(value) >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def format_table(kpis: pd.DataFrame, currency: str, manifest: dict[str, Any]) -> str:
    lines: list[str] = []
    n_reps = manifest.get("replications")
    header = (
        f"{manifest.get('scenario_name', '')}: {n_reps} replications, seed "
        f"{manifest.get('seed')}, window {manifest.get('window', '')}"
    )
    lines.append(header)
    lines.append("Each KPI: mean over replications [95% confidence interval] (n replications).")
    width = 44

    def row(label: str, r: pd.Series) -> str:
        mean = format_value(r["mean"], r["unit"], currency)
        if r["n"] > 1 and not math.isnan(r["ci_low"]):
            ci = (f"[{format_value(r['ci_low'], r['unit'], currency)}, "
                  f"{format_value(r['ci_high'], r['unit'], currency)}]")
        else:
            ci = "[-]"
        return f"  {label:<{width}} {mean:>12}  {ci:<26} n={r['n']}"

    sections = [("total", "Whole cycle"), ("cash", "Cash (deals, invoices, payments)"),
                ("source", "Leads in, by source"), ("stage", "Stages"), ("pool", "Staff pools")]
    for scope, title in sections:
        part = kpis[kpis.scope == scope]
        if part.empty:
            continue
        lines.append("")
        lines.append(title)
        if scope in ("total", "source", "cash"):
            for _, r in part.iterrows():
                label = r["name"] if scope == "source" else _LABELS.get(r.metric, r.metric)
                lines.append(row(label, r))
            continue
        for name, group in part.groupby("name", sort=False):
            lines.append(f" {scope} {name}")
            for _, r in group.iterrows():
                lines.append(row(_LABELS.get(r.metric, r.metric), r))
    return "\n".join(lines)


__all__ = ["RunResult", "format_value", "format_table", "OUTCOME_NAMES"]
