"""The report's forecast section: fan charts and per-period tables of a forecast folder
(``revsim forecast ... -o DIR``: forecast.csv, forecast_replications.csv,
forecast_manifest.json, and forecast_targets.csv with targets)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from revsim import plotting
from revsim.kpi_registry import display_label, format_value
from revsim.report.context import _ReportBase, _Section
from revsim.report.markup import _e, _num, _table

#: The figures the section tables, in order (every figure is in forecast.csv).
TABLED = ("total_bookings", "bookings_open_pipeline", "bookings_new_leads", "renewal_bookings",
          "won", "pipeline_created", "cash_collected", "cash_from_open_ar",
          "cash_from_new_invoices", "ar_outstanding")
FANS = (("total_bookings", True), ("cash_collected", True), ("ar_outstanding", False))


@dataclass(frozen=True)
class _Period:
    label: str
    start: dt.datetime
    end: dt.datetime


class _ForecastSections(_ReportBase):
    def forecast(self) -> _Section | None:
        f = self.f
        table = f.forecast
        if table is None or table.empty:
            return None
        m = f.forecast_manifest or {}
        cur = str(m.get("currency") or self.currency)
        out = [f"<p>From the state {_e(m.get('state', ''))}, {_e(m.get('window', ''))} by "
               f"{_e(m.get('by', ''))}, over {_e(m.get('replications'))} replications. "
               "Two kinds of range: the <strong>mean with its 95% CI</strong> says how precisely "
               "the replications pin down the expected value; <strong>P10–P90</strong> is the "
               "range of outcomes, a prediction interval for the one future that happens "
               "(8 in 10 fall inside it).</p>"]
        periods = [_Period(p["label"], dt.datetime.fromisoformat(p["start"]),
                           dt.datetime.fromisoformat(p["end"])) for p in m.get("periods", [])]
        reps = f.forecast_replications
        if reps is not None and periods:
            for metric, cumulative in FANS:
                if metric not in set(reps["metric"]):
                    continue
                what = display_label(metric) + (", cumulative" if cumulative else "")
                out.append(self.plots.make(
                    f"{metric} fan", lambda metric=metric, cumulative=cumulative:
                    plotting.plot_fan(reps, metric, periods, cumulative=cumulative,
                                      currency=cur),
                    f"Fan chart of {what} over the forecast periods: median with the P25–P75 "
                    "and P10–P90 bands of the outcome over replications.",
                    "Dark band: P25–P75; light band: P10–P90; line: the median."))
        for metric in TABLED:
            part = table[table["metric"] == metric]
            if part.empty:
                continue
            rows = []
            for _, r in part.iterrows():
                unit = str(r["unit"])
                ci = (f"{format_value(_num(r['ci_low']), unit, cur)} to "
                      f"{format_value(_num(r['ci_high']), unit, cur)}"
                      if math.isfinite(_num(r["ci_low"])) else "-")
                cells = "".join(f'<td class="num">{_e(format_value(_num(r[q]), unit, cur))}</td>'
                                for q in ("p10", "p50", "p90"))
                rows.append(f'<tr><th scope="row">{_e(r["period"])}</th>'
                            f'<td class="num">{_e(format_value(_num(r["mean"]), unit, cur))}</td>'
                            f'<td class="num">{_e(ci)}</td>{cells}</tr>')
            out.append(f"<h3>{_e(display_label(metric))}</h3>")
            out.append(_table((("period", ""), ("mean", "num"), ("95% CI of the mean", "num"),
                               ("P10", "num"), ("P50", "num"), ("P90", "num")), rows,
                              f"{display_label(metric)} per period", class_="kpis",
                              data_metric=metric))
        targets = f.forecast_targets
        if targets is not None and not targets.empty:
            rows = [f'<tr><th scope="row">{_e(r["target"])}</th><td>{_e(r["kind"])}</td>'
                    f'<td>{_e(r["period"])}</td><td class="num">{_num(r["p_met"]):.0%}</td>'
                    f'<td class="num">{_num(r["ci_low"]):.0%} to {_num(r["ci_high"]):.0%}</td>'
                    f'<td class="num">{_e(r["met"])} of {_e(r["n"])}</td></tr>'
                    for _, r in targets.iterrows()]
            out.append("<h3>Targets</h3>")
            out.append(_table((("target", ""), ("kind", ""), ("to / in period", ""),
                               ("P(met)", "num"), ("95% Wilson CI", "num"),
                               ("replications", "num")), rows, "Chance of meeting each target",
                              class_="kpis"))
        out.append('<p class="note">Every figure of every period is in '
                   "<code>forecast.csv</code>; each replication's in "
                   "<code>forecast_replications.csv</code>.</p>")
        return _Section("forecast", "Forecast from the state", "\n".join(out))
