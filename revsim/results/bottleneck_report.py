"""The bottleneck report: which pool limits the cycle, and what one more head is worth."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from revsim.analysis.active_periods import mean_active_period, momentary_bottleneck, queue_slope
from revsim.analysis.ci import t_interval
from revsim.analysis.paired import paired_differences
from revsim.interventions import hire
from revsim.io import output_set, write_csv, write_text
from revsim.kpi_registry import BY_ID, format_signed, format_value, view
from revsim.results.run_result import RunResult
from revsim.scenario.model import BILLING_STAGE, COLLECTIONS_STAGE, Model
from revsim.table import plus_minus, replications_text, too_few_replications

# What the bottleneck report writes beside a run (its manifest lists them; an older revsim's
# manifest without a list owns these names).
BOTTLENECK_FILES = ("bottleneck_pools.csv", "bottleneck_stages.csv", "bottleneck_timeline.csv",
                    "marginal_values.csv", "bottlenecks.txt")

if TYPE_CHECKING:
    from matplotlib.axes import Axes

WEEKS_PER_YEAR = 52.1775


@dataclass
class BottleneckReport:
    """Bottleneck measures per pool and stage, the marginal value of +1 head per pool, and a
    one-sentence answer. Tables are tidy DataFrames; CIs are 95% over replications."""

    base: RunResult
    pools: pd.DataFrame
    stages: pd.DataFrame
    timeline: pd.DataFrame
    marginal: pd.DataFrame
    sentence: str
    #: what each pool's variant adds: one more head from the start, or a ramping hire
    added: str = "+1 head at full productivity from the start"

    def format(self) -> str:
        cur = self.base.model.currency
        m = self.base.manifest
        lines = [f"{m.get('scenario_name')}: {replications_text(m.get('replications'))}, seed "
                 f"{m.get('seed')}, window {m.get('window')}",
                 *too_few_replications(m.get("replications")), "", "Staff pools"]
        lines.append(f"  {'pool':<14}{'utilisation':>22}{'bottleneck share':>24}"
                     f"{'mean active period':>22}")
        for r in _rows(self.pools):
            lines.append(
                f"  {r.pool:<14}{plus_minus(r.utilisation, r.utilisation_hw, 'share'):>22}"
                f"{plus_minus(r.bottleneck_share, r.bottleneck_share_hw, 'share'):>24}"
                f"{plus_minus(r.active_period_h, r.active_period_h_hw, 'h'):>22}"
            )
        lines += ["", "Stages (waiting share = share of all time in stages spent queueing here)",
                  f"  {'stage':<16}{'waiting share':>20}{'queue':>16}{'queue trend /w':>20}"]
        for r in _rows(self.stages):
            flag = "  GROWING" if r.growing else ""
            lines.append(
                f"  {r.stage:<16}{plus_minus(r.wait_share, r.wait_share_hw, 'share'):>20}"
                f"{plus_minus(r.queue_mean, r.queue_mean_hw, 'count'):>16}"
                f"{plus_minus(r.queue_trend, r.queue_trend_hw, 'count'):>20}{flag}"
            )
        if not self.marginal.empty:
            lines += ["", f"Marginal value of {self.added} (paired with common random "
                      "numbers; money and counts per year)"]
            for _, g in self.marginal.groupby("pool", sort=False):
                parts = []
                for r in _rows(g):
                    unit = cur if r.unit == cur else r.unit
                    star = "" if r.significant else " (n.s.)"
                    parts.append(f"{r.metric} {format_signed(r.diff, unit, cur)} "
                                 f"±{format_value(r.half_width, unit, cur)}{star}")
                roi = g["roi"].iloc[0]
                booked = g[g.metric == "bookings"]
                significant = bool(len(booked) and booked["significant"].iloc[0])
                payback = g["payback_months"].iloc[0]
                if math.isnan(roi):
                    extra = ""
                elif not significant:
                    extra = "; ROI not shown: the bookings gain is not significant"
                else:
                    extra = f"; ROI {roi:+.0%} on bookings" + (
                        f", payback {payback:.1f} months" if not math.isnan(payback)
                        else ", no payback")
                lines.append(f"  {g['added'].iloc[0]}: " + "; ".join(parts) + extra)
        lines += ["", self.sentence]
        return "\n".join(lines)

    def plot_tornado(self, metric: str = "bookings", ax: Axes | None = None) -> Axes:
        from revsim.plotting import plot_tornado  # lazy: matplotlib is slow to import

        return plot_tornado(self.marginal, metric=metric, currency=self.base.model.currency,
                            ax=ax)

    def write_plots(self, out: str | Path) -> list[Path]:
        """The tornado chart of marginal values plus the base run's plots (PNG and SVG)."""
        extra = {"marginal": self.marginal} if not self.marginal.empty else {}
        return self.base.write_plots(out, **extra)

    def to_dir(self, out: str | Path) -> list[Path]:
        """Write the bottleneck tables and bottlenecks_manifest.json, replacing the previous
        bottleneck files in ``out`` as a whole (see :func:`revsim.io.output_set`)."""
        with output_set(out, "bottlenecks_manifest.json", BOTTLENECK_FILES) as staged:
            write_csv(self.pools, staged.path("bottleneck_pools.csv"))
            write_csv(self.stages, staged.path("bottleneck_stages.csv"))
            write_csv(self.timeline, staged.path("bottleneck_timeline.csv"))
            write_csv(self.marginal, staged.path("marginal_values.csv"))
            write_text(staged.path("bottlenecks.txt"), self.format() + "\n")
            return staged.commit({**self.base.manifest, "sentence": self.sentence})


def _rows(frame: pd.DataFrame) -> list[Any]:
    return list(cast(Any, frame).itertuples())


def build_report(base: RunResult, variants: Mapping[str, tuple[str, RunResult]], *,
                 ramped: bool = False) -> BottleneckReport:
    """Assemble the report from the base run (with active periods) and, per pool, the label
    and run of its "+1 head" variant (see :func:`marginal_variants`; none: no marginal
    values)."""
    start, end = base.manifest["warmup_hours"], base.manifest["horizon_hours"]
    pools = _pool_table(base, start, end)
    timeline = _timeline(base, start, end)
    stages = _stage_table(base, start, end)
    marg = _marginal(base, variants) if variants else pd.DataFrame()
    added = ("one hire per pool on the first day of the window, ramping up like the pool's "
             "hires" if ramped else "+1 head at full productivity from the start")
    report = BottleneckReport(base, pools, stages, timeline, marg, "", added)
    report.sentence = _sentence(report)
    return report


def marginal_variants(raw: Mapping[str, Any], model: Model, warmup_hours: float,
                      ramped: bool = False) -> dict[str, tuple[str, dict[str, Any]]]:
    """Per pool, the label and the scenario changes of its variant: one more head from the
    start at full productivity (the capacity's shadow price), or with ``ramped`` a hire on the
    first day of the window who ramps up as the pool's hires do (what hiring now is worth
    over the window)."""
    out = {}
    for pool in model.pools:
        if ramped:
            label, changes = hire(raw, pool.name, 1,
                                  first_window_day(model.start, warmup_hours))
            if pool.ramp is None:
                label += " (no ramp set for this pool: fully productive)"
        else:
            label, changes = (f"+1 {pool.name}",
                              {f"pools.{pool.name}.headcount": pool.headcount + 1})
        out[pool.name] = (label, changes)
    return out


def _pool_table(base: RunResult, start: float, end: float) -> pd.DataFrame:
    names = [p.name for p in base.model.pools]
    share: dict[str, list[float]] = {n: [] for n in names}
    active: dict[str, list[float]] = {n: [] for n in names}
    for rep in base.replications:
        periods = rep.extra.get("active_periods", {})
        s, _ = momentary_bottleneck(periods, start, end)
        for n in names:
            share[n].append(s.get(n, 0.0))
            active[n].append(mean_active_period(periods.get(n, np.empty((0, 2))), start, end))
    rows = []
    for n in names:
        util = base.kpi("utilisation", "pool", n)
        sm, slo, shi, _ = t_interval(np.asarray(share[n], dtype=float))
        am, alo, ahi, _ = t_interval(np.asarray(active[n], dtype=float))
        rows.append((n, util["mean"], util["half_width"], sm, (shi - slo) / 2, am,
                     (ahi - alo) / 2))
    table = pd.DataFrame(rows, columns=["pool", "utilisation", "utilisation_hw",
                                        "bottleneck_share", "bottleneck_share_hw",
                                        "active_period_h", "active_period_h_hw"])
    return table.sort_values("bottleneck_share", ascending=False, ignore_index=True)


def _timeline(base: RunResult, start: float, end: float) -> pd.DataFrame:
    frames = []
    for rep in base.replications:
        _, per_week = momentary_bottleneck(rep.extra.get("active_periods", {}), start, end)
        frames.append(per_week.assign(replication=rep.replication))
    if not frames:
        return pd.DataFrame(columns=["week_start", "pool", "share"])
    t = pd.concat(frames, ignore_index=True)
    t = t.groupby(["bin_start", "pool"], as_index=False)["share"].mean()  # type: ignore[assignment]
    t.insert(0, "week_start", pd.Timestamp(base.model.start)
             + pd.to_timedelta(t["bin_start"], unit="h"))
    return t.drop(columns="bin_start")


def _stage_table(base: RunResult, start: float, end: float) -> pd.DataFrame:
    model = base.model
    internal = {BILLING_STAGE, COLLECTIONS_STAGE} if model.cash else set()
    names = [s.name for s in model.stages if s.staffed and s.name not in internal]
    everything = [s.name for s in model.stages if s.name not in internal]
    series = base.series
    window = series[series.t_hours >= start]
    rows = []
    for name in names:
        shares, slopes = [], []
        for rep in range(len(base.replications)):
            queue = base.values("queue_mean", "stage", name)[rep]
            total = sum(base.values("wip_mean", "stage", s)[rep] for s in everything)
            shares.append(queue / total if total > 0 else math.nan)
            g = window[(window.replication == base.replications[rep].replication)
                       & (window.variable == f"queue:{name}")]
            slopes.append(queue_slope(g.t_hours.to_numpy(), g.value.to_numpy()))
        sm, slo, shi, _ = t_interval(np.asarray(shares, dtype=float))
        tm, tlo, thi, _ = t_interval(np.asarray(slopes, dtype=float))
        q = base.kpi("queue_mean", "stage", name)
        # Growing without bound: a significant upward trend *and* more arriving than leaving
        # (a flow imbalance of over 2% of arrivals) - unlike a level test, this does not
        # depend on how long the warm-up was.
        weeks = (end - start) / 168.0
        arrivals = base.values("arrivals", "stage", name)
        left = base.values("throughput", "stage", name) * weeks
        with np.errstate(invalid="ignore", divide="ignore"):
            imbalance = np.where(arrivals > 0, (arrivals - left) / arrivals, np.nan)
        growing = bool(tlo > 0 and float(np.nanmean(imbalance)) > 0.02)
        rows.append((name, sm, (shi - slo) / 2, q["mean"], q["half_width"], tm,
                     (thi - tlo) / 2, growing))
    return pd.DataFrame(rows, columns=["stage", "wait_share", "wait_share_hw", "queue_mean",
                                       "queue_mean_hw", "queue_trend", "queue_trend_hw",
                                       "growing"])


def first_window_day(start: dt.date, warmup_hours: float) -> dt.date:
    """The first whole day of the statistics window (hires start at midnight)."""
    begins = dt.datetime.combine(start, dt.time()) + dt.timedelta(hours=float(warmup_hours))
    return begins.date() + dt.timedelta(days=0 if begins.time() == dt.time() else 1)


def _marginal(base: RunResult, variants: Mapping[str, tuple[str, RunResult]]) -> pd.DataFrame:
    model = base.model
    weeks = base.manifest["window_hours"] / 168.0
    per_year = WEEKS_PER_YEAR / weeks
    keys = pd.DataFrame(view("marginal"), columns=["metric", "scope"])
    # totals over the window are shown per year; means and medians are not
    annual = {m for m, _ in view("marginal") if BY_ID[m].window_total}
    frames = []
    for pool in model.pools:
        label, result = variants[pool.name]
        diffs = paired_differences(base.summary, result.summary).merge(
            keys, on=["metric", "scope"])
        for col in ("base_mean", "variant_mean", "diff", "ci_low", "ci_high", "half_width"):
            diffs[col] = np.where(diffs.metric.isin(annual), diffs[col] * per_year, diffs[col])
        diffs.insert(0, "pool", pool.name)
        diffs.insert(1, "added", label)
        diffs["per_year"] = diffs.metric.isin(annual)
        diffs["significant"] = diffs["p_value"] < 0.05
        cost = pool.cost_per_head if pool.cost_per_head is not None else math.nan
        gain = diffs.loc[diffs.metric == "bookings", "diff"]
        gain_value = float(gain.iloc[0]) if len(gain) else math.nan
        diffs["cost_per_head"] = cost
        diffs["roi"] = gain_value / cost - 1 if cost and not math.isnan(cost) else math.nan
        diffs["payback_months"] = (12 * cost / gain_value
                                   if cost and not math.isnan(cost) and gain_value > 0
                                   else math.nan)
        frames.append(diffs)
    table = pd.concat(frames, ignore_index=True)
    order = (table[table.metric == "bookings"].sort_values("diff", ascending=False)["pool"]
             .tolist())
    table["rank"] = table["pool"].map({p: i + 1 for i, p in enumerate(order)})
    return table.sort_values(["rank", "metric"], kind="stable", ignore_index=True)


def _sentence(report: BottleneckReport) -> str:
    cur = report.base.model.currency
    if report.pools.empty:
        return "The scenario has no staff pools, so no pool can be a bottleneck."
    top = report.pools.iloc[0]
    if top["bottleneck_share"] <= 0:
        head = "No pool is ever saturated: the cycle is limited by demand and delays, not staff"
    else:
        head = (f"The {top['pool']} pool is the bottleneck (saturated and the longest-active "
                f"pool {top['bottleneck_share']:.0%} of the time)")
    m = report.marginal
    if m.empty:
        return head + "."
    rows = m[m.metric == "bookings"].sort_values("rank")
    # a pool that only works after the sale (onboarding, billing, collections) cannot add
    # bookings: what it is worth shows in the cash collected
    model = report.base.model
    selling = {model.pools[st.pool].name for st in model.stages
               if st.pool is not None and st.index in model.sales_stages}
    parts = []
    for r in _rows(rows):
        if r.pool not in selling and (m.metric == "cash_collected").any():
            r = _rows(m[(m.metric == "cash_collected") & (m.pool == r.pool)])[0]
            what = BY_ID["cash_collected"].label
        else:
            what = BY_ID["bookings"].label
        if math.isnan(r.half_width):
            text = f"{r.added} adds {format_signed(r.diff, cur, cur)} {what} per year (no CI)"
        else:
            text = (f"{r.added} adds {format_signed(r.diff, cur, cur)} ± "
                    f"{format_value(r.half_width, cur, cur)} {what} per year")
            if not r.significant:
                text += " (not significant)"
        parts.append(text)
    best = rows.iloc[0]
    if best["pool"] != top["pool"] and best["significant"] and top["bottleneck_share"] > 0:
        head += f", but one more head is worth most in {best['pool']}"
    return head + ": " + "; ".join(parts) + "."
