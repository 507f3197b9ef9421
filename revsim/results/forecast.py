"""A forecast from today's state: each period's figures over replications, with both kinds of
range (see revsim.analysis.forecast_stats), where the money comes from, and targets."""

from __future__ import annotations

import datetime as dt
import html
import math
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from revsim.analysis.forecast_stats import (
    QUANTILE_COLUMNS,
    TOTAL,
    Target,
    outcome_summary,
    target_table,
    with_total,
)
from revsim.experiment import Period
from revsim.io import output_set, write_csv
from revsim.kpi_registry import direction, format_value, label
from revsim.scenario.model import Model
from revsim.table import replications_text, too_few_replications, uncertainty_line

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: The terminal's blocks: a figure, then the parts it splits into.
BLOCKS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("total_bookings", ("bookings_open_pipeline", "bookings_new_leads", "renewal_bookings")),
    ("won", ("won_open_pipeline", "won_new_leads")),
    ("pipeline_created", ()),
    ("cash_collected", ("cash_from_open_ar", "cash_from_new_invoices")),
    ("invoiced", ()),
    ("ar_outstanding", ()),
    ("open_invoices", ()),
)
#: The fan charts written with the forecast: (figure, cumulative).
# What a forecast writes to its folder (the manifest lists them; an older forecast's manifest
# without a list owns these names).
FORECAST_FILES = ("forecast.csv", "forecast_replications.csv", "forecast_targets.csv",
                  "forecast_without_parameter_uncertainty.csv")
FAN_CHARTS = (("total_bookings", True), ("cash_collected", True), ("total_bookings", False),
              ("ar_outstanding", False))
SPLITS_SHOWN_UP_TO = 6  # periods; with more, the terminal splits only the whole forecast
RANGES = ("Two kinds of range: 'mean [95% CI]' is the expected value and how precisely the "
          "replications pin it down; P10-P50-P90 is the range of outcomes, a prediction "
          "interval for the one future that happens (8 in 10 fall between P10 and P90).")


@dataclass
class Forecast:
    """What a forecast returns. ``replications`` is tidy (replication, metric, scope, name =
    period label, unit, value); :attr:`summary` is the table ``forecast.csv`` holds."""

    model: Model
    periods: list[Period]
    replications: pd.DataFrame
    manifest: dict[str, Any]
    targets: list[Target] = field(default_factory=list)
    confidence: float = 0.95
    #: The same replications (same seed) with the parameters as fitted, when the forecast ran
    #: with parameter uncertainty both ways: how much of the range is not knowing them.
    without_uncertainty: Forecast | None = None
    _summary: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def order(self) -> list[str]:
        return [p.label for p in self.periods]

    @property
    def summary(self) -> pd.DataFrame:
        """One row per period (then "total") and figure: period, first_day, last_day (the
        period's days, both included), metric, label,
        unit, n, mean, ci_low, ci_high (95% CI of the mean) and p10, p25, p50, p75, p90 (of
        the outcome over replications)."""
        if self._summary is None:
            tidy = with_total(self.replications, self.order)
            s = outcome_summary(tidy, self.confidence, frozenset({self.model.currency}))
            bounds = {p.label: (p.start, p.end) for p in self.periods}
            bounds[TOTAL] = (self.periods[0].start, self.periods[-1].end)
            s.insert(2, "first_day", s["period"].map(lambda p: f"{bounds[p][0]:%Y-%m-%d}"))
            s.insert(3, "last_day", s["period"].map(
                lambda p: f"{bounds[p][1] - dt.timedelta(microseconds=1):%Y-%m-%d}"))
            s.insert(4, "label", s["metric"].map(label))
            rank = {p: i for i, p in enumerate([*self.order, TOTAL])}
            s = s.assign(_r=s["period"].map(rank)).sort_values("_r", kind="stable")
            self._summary = s.drop(columns="_r").reset_index(drop=True)[
                ["period", "first_day", "last_day", "metric", "label", "unit", "n", "mean", "ci_low",
                 "ci_high", *QUANTILE_COLUMNS]]
        return self._summary

    @property
    def target_table(self) -> pd.DataFrame:
        """Per target and period: met (replications), n, p_met and its 95% Wilson CI."""
        return target_table(self.replications, self.targets, self.order, self.model.currency,
                            self.confidence)

    def figure(self, metric: str) -> pd.DataFrame:
        """The summary rows of one figure, in period order."""
        s = self.summary
        return s[s["metric"] == metric].reset_index(drop=True)

    def values(self, metric: str, period: str = TOTAL) -> pd.Series:
        """One figure's value per replication in ``period`` (default: the whole forecast)."""
        tidy = with_total(self.replications, self.order)
        sel = tidy[(tidy["metric"] == metric) & (tidy["name"] == period)]
        return sel.set_index("replication")["value"].sort_index()

    # -- presentation --------------------------------------------------------------------------
    def _headline(self) -> str:
        row = self.figure("total_bookings")
        if row.empty:
            row = self.figure("bookings")
        r = row[row["period"] == TOTAL].iloc[0]
        cur = self.model.currency
        return (f"{label(r['metric'])} {format_value(r['mean'], r['unit'], cur)} "
                f"(P10 {format_value(r['p10'], r['unit'], cur)}, "
                f"P90 {format_value(r['p90'], r['unit'], cur)})")

    def __repr__(self) -> str:
        m = self.manifest
        return (f"<Forecast {m.get('scenario_name')!r} {m.get('window')} by {m.get('by')}, "
                f"{m.get('replications')} replications: {self._headline()}>")

    def _repr_html_(self) -> str:
        cur = self.model.currency
        s = self.summary
        cells = "".join(f"<th>{html.escape(p)}</th>" for p in [*self.order, TOTAL])
        body = []
        for metric, _ in BLOCKS:
            part = s[s["metric"] == metric]
            if part.empty:
                continue
            tds = "".join(
                f"<td>{format_value(r['p50'], r['unit'], cur)}<br><small>"
                f"{format_value(r['p10'], r['unit'], cur)}–{format_value(r['p90'], r['unit'], cur)}"
                "</small></td>" for _, r in part.iterrows())
            body.append(f"<tr><th>{html.escape(label(metric))}</th>{tds}</tr>")
        return (f"<p>{html.escape(repr(self))}</p><table><tr><th></th>{cells}</tr>"
                f"{''.join(body)}</table><p><small>median, with P10–P90 below: the range of "
                "outcomes over replications</small></p>")

    def format(self) -> str:
        """The terminal table: each headline figure per period, with both kinds of range."""
        m = self.manifest
        cur = self.model.currency
        n = m.get("replications")
        lines = [f"Forecast: {m.get('scenario_name')}, {m.get('state')}; {m.get('window')} by "
                 f"{m.get('by')}; {replications_text(n)}, seed {m.get('seed')}.", RANGES,
                 *too_few_replications(n)]
        lines += [f"note: {note}" for note in m.get("state_notes", [])]
        if m.get("parameter_uncertainty"):
            lines.append(uncertainty_line(m["parameter_uncertainty"]) + ": the ranges include "
                         "the fit's estimation error" + (
                             " (the last table: without it)" if self.without_uncertainty
                             else " (--parameter-uncertainty off: without it)"))
        if m.get("state_left_out_as_dead"):
            dead = ", ".join(f"{k}: {v}" for k, v in m["state_left_out_as_dead"].items())
            lines.append(f"note: left out of the state as dead ({dead})")
        s = self.summary
        width = max(len(p) for p in [*self.order, TOTAL]) + 2
        split_periods = set(self.order) if len(self.order) <= SPLITS_SHOWN_UP_TO else set()

        def row(text: str, r: pd.Series) -> str:
            unit = r["unit"]
            ci = (f"[{format_value(r['ci_low'], unit, cur)}, {format_value(r['ci_high'], unit, cur)}]"
                  if not math.isnan(r["ci_low"]) else "[-]")
            qs = "".join(f"{format_value(r[c], unit, cur):>9}" for c in ("p10", "p50", "p90"))
            return f"  {text:<{width + 24}} {format_value(r['mean'], unit, cur):>9} {ci:<22}{qs}"

        for metric, parts in BLOCKS:
            part = s[s["metric"] == metric]
            if part.empty:
                continue
            lines += ["", f"{label(metric):<{width + 26}} {'mean':>9} {'[95% CI]':<22}"
                          f"{'P10':>9}{'P50':>9}{'P90':>9}"]
            for _, r in part.iterrows():
                lines.append(row(r["period"], r))
                if r["period"] in split_periods or r["period"] == TOTAL:
                    for sub in parts:
                        hit = s[(s["metric"] == sub) & (s["period"] == r["period"])]
                        if not hit.empty:
                            lines.append(row(f"  {PART_LABELS[sub]}", hit.iloc[0]))
        lines += self._format_targets()
        lines += self._format_without()
        return "\n".join(lines)

    def _format_without(self) -> list[str]:
        """The whole forecast's P10..P90 of each headline figure with parameter uncertainty
        and without it (the same replications with the parameters as fitted)."""
        if self.without_uncertainty is None:
            return []
        cur = self.model.currency
        mine, other = self.summary, self.without_uncertainty.summary
        lines = ["", "Parameter uncertainty, whole forecast: P10-P50-P90 with the fit's "
                     "estimation error (each replication one draw) and without it (the "
                     "parameters as fitted), same seed",
                 f"  {'':<28}  {'with':>27}   {'without':>27}"]

        def span(r: pd.Series) -> str:
            return "".join(f"{format_value(r[c], r['unit'], cur):>9}"
                           for c in ("p10", "p50", "p90"))

        for metric, _ in BLOCKS:
            a = mine[(mine["metric"] == metric) & (mine["period"] == TOTAL)]
            b = other[(other["metric"] == metric) & (other["period"] == TOTAL)]
            if a.empty or b.empty:
                continue
            lines.append(f"  {label(metric):<28}  {span(a.iloc[0])}   {span(b.iloc[0])}")
        return lines

    def _format_targets(self) -> list[str]:
        if not self.targets:
            return []
        t = self.target_table
        lines = ["", "Targets: P(met) over replications [95% Wilson CI]"]
        for target, g in t.groupby("target", sort=False):
            first = g.iloc[0]
            lines.append(f"  {target} ({first['kind']}, {label(first['metric'])} "
                         f"{'<=' if direction(first['metric']) == 'lower' else '>='}"
                         f" {first['threshold_text']})")
            for _, r in g.iterrows():
                lines.append(f"    {'to ' if r['kind'] == 'cumulative' else ''}{r['period']:<10} "
                             f"{r['p_met']:>6.0%} [{r['ci_low']:.0%}, {r['ci_high']:.0%}]  "
                             f"{r['met']} of {r['n']}")
        return lines

    def plot_fan(self, metric: str = "total_bookings", *, cumulative: bool = False,
                 ax: Axes | None = None) -> Axes:
        """Fan chart of one figure over the periods (see revsim.plotting.plot_fan)."""
        from revsim.plotting import plot_fan  # lazy: matplotlib is slow to import

        return plot_fan(self.replications, metric, self.periods, cumulative=cumulative,
                        currency=self.model.currency, ax=ax)

    def write_plots(self, out: str | Path, formats: tuple[str, ...] = ("png", "svg")
                    ) -> list[Path]:
        """Fan charts of the headline figures (cumulative bookings and cash, AR at each
        period's end) as PNG and SVG in ``out``."""
        # lazy: matplotlib is slow to import
        from revsim.plotting import write_figures

        present = set(self.replications["metric"])
        jobs = [(f"fan_{metric}{'_cumulative' if cumulative else ''}",
                 partial(self.plot_fan, metric, cumulative=cumulative))
                for metric, cumulative in FAN_CHARTS if metric in present]
        return write_figures(Path(out), jobs, formats)

    def to_dir(self, out: str | Path) -> list[Path]:
        """Write forecast.csv (the summary), forecast_replications.csv, forecast_targets.csv
        (with targets), forecast_without_parameter_uncertainty.csv (the summary without draws,
        when the forecast ran both ways) and forecast_manifest.json, replacing the previous
        forecast's files in ``out`` as a whole (see :func:`revsim.io.output_set`)."""
        with output_set(out, "forecast_manifest.json", FORECAST_FILES) as staged:
            write_csv(self.summary, staged.path("forecast.csv"))
            write_csv(self.replications, staged.path("forecast_replications.csv"))
            if self.targets:
                write_csv(self.target_table, staged.path("forecast_targets.csv"))
            if self.without_uncertainty is not None:
                write_csv(self.without_uncertainty.summary,
                          staged.path("forecast_without_parameter_uncertainty.csv"))
            return staged.commit({
                **self.manifest, "currency": self.model.currency, "ranges": RANGES,
                "periods": [{"label": p.label, "start": p.start.isoformat(),
                             "end": p.end.isoformat()} for p in self.periods],
                "targets": [t.text for t in self.targets]})

PART_LABELS = {
    "bookings_open_pipeline": "from the open pipeline", "bookings_new_leads": "from new leads",
    "renewal_bookings": "from renewals", "won_open_pipeline": "from the open pipeline",
    "won_new_leads": "from new leads", "cash_from_open_ar": "from open AR",
    "cash_from_new_invoices": "from new invoices",
}


__all__ = ["Forecast"]
