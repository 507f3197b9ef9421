"""The sections of a run's report: at a glance, settings, reproduce, KPI tables, the plots of
the run (funnel, time in stage, utilisation, queues, cash) and the scenario source."""

from __future__ import annotations

import math
import re
import shlex
from collections.abc import Sequence
from functools import partial

import pandas as pd

from revsim import plotting
from revsim.analysis.level_series import series_time_averages
from revsim.kpi_registry import (
    MATRIX_SCOPES,
    SCOPES,
    SECTIONS,
    columns,
    display_label,
    format_value,
    hidden_if_zero,
    view,
)
from revsim.plotting.series_plots import queue_stages
from revsim.report.context import _ReportBase, _Section
from revsim.report.markup import _dl, _duration_arg, _e, _num, _table
from revsim.table import cell_text
from revsim.units import format_duration

MAX_QUEUE_PLOTS = 2


class _RunSections(_ReportBase):
    # -- at a glance ----------------------------------------------------------------------------
    def glance(self) -> _Section:
        cards = []
        for metric, scope in view("glance"):
            r = self.kpi(scope, metric)
            if r is None or not math.isfinite(_num(r["mean"])):
                continue
            ci = (f"95% CI {self.fmt(r['ci_low'], r['unit'])} to "
                  f"{self.fmt(r['ci_high'], r['unit'])}"
                  if _num(r["n"]) > 1 and math.isfinite(_num(r["ci_low"])) else "no CI")
            cards.append(f'<li class="card"><span class="label">{_e(display_label(metric))}</span>'
                         f'<span class="value">{_e(self.fmt(r["mean"], r["unit"]))}</span>'
                         f'<span class="ci">{_e(ci)}</span></li>')
        body = [f"<p>Means over {_e(self.m.get('replications'))} replications of the window "
                f"{_e(self.m.get('window', ''))}; counts and money are totals over that "
                "window.</p>"]
        if cards:
            body.append(f'<ul class="cards">{"".join(cards)}</ul>')
        sentence = self.bottleneck_sentence()
        if sentence:
            body.append(f'<p class="answer"><strong>Bottleneck</strong> (from the separate '
                        f'<a href="#bottlenecks">bottleneck analysis</a>): {_e(sentence)}</p>')
        return _Section("at-a-glance", "At a glance", "\n".join(body))

    # -- scenario and run settings --------------------------------------------------------------
    def settings(self) -> _Section:
        m = self.m
        items: list[tuple[str, str]] = [
            ("Scenario", _e(self._scenario_name() or "-")),
            ("Scenario file", f"<code>{_e(m.get('scenario_file') or '-')}</code>"),
            ("Scenario hash", f"<code>{_e(m.get('scenario_hash', '-'))}</code>"
             + self._hash_check()),
        ]
        description = self._scenario_field("description")
        if description:
            items.append(("Description", _e(description)))
        items.append(("Currency", _e(self.currency)))
        items += [
            ("Replications", _e(m.get("replications", "-"))),
            ("Seed", _e(m.get("seed", "-"))),
            ("Horizon", _e(self._hours_text(m.get("horizon_hours")))),
            ("Warm-up", _e(self._hours_text(m.get("warmup_hours")))
             + " <span class=\"muted\">(excluded from every KPI)</span>"),
            ("Window", _e(m.get("window", "-"))),
            ("Confidence", _e(self._confidence())),
        ]
        for key, label in (("warmup_auto", "Warm-up choice"), ("method", "Method")):
            if m.get(key):
                items.append((label, _e(m[key])))
        if isinstance(m.get("parameter_uncertainty"), dict):
            u = m["parameter_uncertainty"]
            items.append(("Parameter uncertainty",
                          _e(f"on: each replication ran one of {u.get('draws')} bootstrap "
                             f"draws of the fitted parameters ({u.get('file')}, SHA-256 "
                             f"{str(u.get('sha256'))[:12]}…), so the intervals include the "
                             "fit's estimation error")))
        if isinstance(m.get("precision"), dict):
            p = m["precision"]
            verdict = "met" if p.get("met") else f"not met (cap of {p.get('cap')} reached)"
            items.append(("Precision target",
                          _e(f"{_num(p.get('target')):.0%} relative half-width: {verdict} after "
                             f"{p.get('replications')} replications (worst "
                             f"{_num(p.get('worst_relative_half_width')):.1%})")))
        items += [("revsim version", _e(m.get("revsim_version", "-")))]
        if m.get("python"):
            items.append(("Python", _e(m["python"])))
        if m.get("created"):
            items.append(("Run at", _e(m["created"])
                          + (f" <span class=\"muted\">({_num(m['wall_time_s']):.1f} s)</span>"
                             if "wall_time_s" in m else "")))
        body = _dl(items)
        if self.model_note:
            body += f'<p class="warning">{_e(self.model_note)}; the funnel shows every stage.</p>'
        return _Section("run", "Scenario and run settings", body)

    def _hash_check(self) -> str:
        if self.model is None or not self.m.get("scenario_hash"):
            return ""
        if self.model_hash == self.m["scenario_hash"]:
            return ' <span class="yes">matches scenario.toml in this folder</span>'
        return (' <span class="flag">differs from scenario.toml in this folder '
                f"({_e(self.model_hash)})</span>")

    # -- reproduce ------------------------------------------------------------------------------
    def run_command(self, scenario_file: str, sets: Sequence[str] = ()) -> str:
        m = self.m
        args = ["revsim", "run", scenario_file]
        if "method" in m and str(m["method"]).startswith("batch means"):
            found = re.search(r"(\d+) batches", str(m["method"]))
            args += ["--batch-means", found.group(1) if found else str(m.get("replications"))]
        else:
            args += ["-n", str(m.get("replications"))]
        args += ["--seed", str(m.get("seed"))]
        if m.get("parameter_uncertainty"):
            args += ["--parameter-uncertainty", "on"]
        for key, flag in (("horizon_hours", "--horizon"), ("warmup_hours", "--warmup")):
            h = _num(m.get(key))
            if math.isfinite(h):
                args += [flag, _duration_arg(h)]
        for item in sets:
            args += ["--set", item]
        args += ["-o", self.f.path.name or "results"]
        return shlex.join(args)

    def _overrides(self) -> list[str]:
        """The --set overrides of the run, from the header revsim writes into scenario.toml."""
        text = self.f.scenario_text or ""
        first = text.splitlines()[0] if text else ""
        prefix = "# scenario as run, with overrides: "
        if not first.startswith(prefix):
            return []
        return [part.strip() for part in first[len(prefix):].split(", ") if "=" in part]

    def reproduce(self) -> _Section:
        m = self.m
        sets = self._overrides()
        file = str(m.get("scenario_file") or "SCENARIO.toml")
        command = self.run_command(file, sets)
        notes = [f"Run in the folder the original command ran in (the scenario file path "
                 f"<code>{_e(file)}</code> is as it was given). The same seed gives identical "
                 "results whatever <code>--jobs</code> is; horizon and warm-up are given "
                 "explicitly so later edits of the file's defaults do not change the window."]
        if not m.get("scenario_file"):
            notes.append("The run was made from Python, not from a file, so the manifest names "
                         "no scenario file: save the scenario as <code>SCENARIO.toml</code> "
                         f"(its hash must be <code>{_e(m.get('scenario_hash', '?'))}</code>).")
        if self.f.scenario_text is not None:
            notes.append("The folder holds the scenario as it was run (<code>scenario.toml"
                         "</code>, reproduced in full at the end of this report); running that "
                         "copy instead of the original file gives the same results"
                         + (" (it already includes the overrides)." if sets else "."))
        if "precision" in m:
            notes.append("The run added replications until the precision target was met; "
                         "<code>-n</code> with the final count reproduces the same replications.")
        if "warmup_auto" in m:
            notes.append("The warm-up was chosen automatically (<code>--warmup auto</code>); "
                         "the command fixes it at the chosen value.")
        extra = self._extras_provenance()
        body = ['<p>The exact command that reproduces these results:</p>',
                f'<pre class="reproduce" id="reproduce-command"><code>{_e(command)}</code></pre>',
                *[f'<p class="note">{n}</p>' for n in notes], *extra]
        return _Section("reproduce", "Reproduce", "\n".join(body))

    def _extras_provenance(self) -> list[str]:
        out = []
        if self.f.bottleneck_text:
            first = self.f.bottleneck_text.splitlines()[0]
            out.append(f'<p class="note">The bottleneck analysis in this folder was a separate '
                       f"run (<code>revsim bottlenecks</code>): {_e(first)}.</p>")
        if self.f.comparison_base is not None and not self.f.comparison_base.empty:
            n = int(_num(self.f.comparison_base["n"].max()))
            out.append(f'<p class="note">The comparison in this folder was a separate run '
                       f"(<code>revsim compare</code>) with {n} paired replications.</p>")
        return out

    # -- KPI tables -----------------------------------------------------------------------------
    def kpi_tables(self) -> _Section:
        assert self.f.kpis is not None
        n_reps = self.m.get("replications")
        conf = self._confidence()
        out = [f"<p>Each KPI: the mean over replications, its {conf} confidence interval and n "
               "(replications with a value). Counts and money are totals over the window.</p>"]
        hidden = hidden_if_zero()
        for scope in SCOPES:
            title = SECTIONS[scope]
            part = self.kpis_scope(scope)
            if part.empty or scope in MATRIX_SCOPES:
                continue
            rows = []
            for _, r in part.iterrows():
                if r["metric"] in hidden and _num(r["mean"]) == 0 \
                        and _num(r["ci_high"]) == 0:
                    continue
                label = r["name"] if scope == "source" else display_label(str(r["metric"]))
                rows.append(self._kpi_row(label, r))
            out.append(f'<h3 id="kpis-{scope}">{_e(title)}</h3>')
            out.append(_table([("KPI", ""), ("mean", "num"), (f"{conf} CI", "num"), ("n", "num")],
                              rows, f"{title}: mean [{conf} CI], n", class_="kpis",
                              data_scope=scope))
        for scope in MATRIX_SCOPES:
            title = SECTIONS[scope]
            part = self.kpis_scope(scope)
            if part.empty:
                continue
            out.append(f'<h3 id="kpis-{scope}">{_e(title)}</h3>')
            out.append(self._matrix(part, columns(scope), scope, f"{title}: mean ± {conf} CI "
                                    f"half-width, n = {n_reps} replications"))
        return _Section("kpis", "Key performance indicators", "\n".join(out))

    def _kpi_row(self, label: str, r: pd.Series) -> str:
        unit = str(r["unit"])
        n = _num(r["n"])
        if n > 1 and math.isfinite(_num(r["ci_low"])):
            ci = f"{self.fmt(r['ci_low'], unit)} to {self.fmt(r['ci_high'], unit)}"
        else:
            ci = "-"
        title = f"{_num(r['mean']):.6g} {unit}"
        return (f'<tr data-scope="{_e(r["scope"])}" data-metric="{_e(r["metric"])}" '
                f'data-name="{_e(r["name"])}"><th scope="row">{_e(label)}</th>'
                f'<td class="num" title="{_e(title)}">{_e(self.fmt(r["mean"], unit))}</td>'
                f'<td class="num">{_e(ci)}</td>'
                f'<td class="num">{int(n) if math.isfinite(n) else "-"}</td></tr>')

    def _matrix(self, part: pd.DataFrame, cols: list[tuple[str, str]], scope: str,
                caption: str) -> str:
        n_reps = _num(self.m.get("replications"))
        names = list(dict.fromkeys(part["name"]))
        index = {(r["name"], r["metric"]): r for _, r in part.iterrows()}
        present = [(metric, head) for metric, head in cols
                   if any((name, metric) in index for name in names)]
        rows = []
        for name in names:
            cells = []
            for metric, _ in present:
                r = index.get((name, metric))
                if r is None:
                    cells.append('<td class="num"></td>')
                    continue
                text = cell_text(r, self.currency)
                n = _num(r["n"])
                if math.isfinite(n) and math.isfinite(n_reps) and n < n_reps:
                    text += f" (n={int(n)})"
                cells.append(f'<td class="num" data-metric="{_e(metric)}">{_e(text)}</td>')
            rows.append(f'<tr data-scope="{scope}" data-name="{_e(name)}">'
                        f'<th scope="row">{_e(name)}</th>{"".join(cells)}</tr>')
        head = [("stage" if scope == "stage" else "pool", "")] + [(h, "num") for _, h in present]
        return _table(head, rows, caption, class_="kpis matrix", data_scope=scope)

    # -- plots of the run -----------------------------------------------------------------------
    def funnel(self) -> _Section | None:
        assert self.f.kpis is not None
        k = self.f.kpis
        metrics = set(zip(k["scope"], k["metric"], strict=True))
        if not ({("stage", "arrivals"), ("total", "leads_in"), ("total", "won")} <= metrics):
            return None
        stages = self.funnel_stages()
        names = stages or list(dict.fromkeys(self.kpis_scope("stage")["name"]))
        parts = []
        for label, scope, metric, name in ((display_label("leads_in"), "total", "leads_in", ""),
                                           *((s, "stage", "arrivals", s) for s in names),
                                           (display_label("won"), "total", "won", "")):
            r = self.kpi(scope, metric, name)
            if r is not None:
                parts.append(f"{label} {self.fmt(r['mean'], 'count')}")
        alt = ("Horizontal bar chart of the funnel, mean leads or deals per replication at each "
               "step: " + "; ".join(parts) + ".")
        figure = self.plots.make("funnel", lambda: plotting.plot_funnel(k, stages), alt,
                                 "Arrivals at each sales stage, from leads in to deals won. The "
                                 "percentages compare each bar with the one above it.")
        note = ("" if stages else '<p class="note">The stages before the sale are not known '
                "without the scenario, so every stage is shown.</p>")
        return _Section("funnel", "Funnel", figure + note)

    def stage_time(self) -> _Section | None:
        assert self.f.kpis is not None
        k = self.f.kpis
        total = self.kpis_scope("stage")
        total = total[total["metric"] == "time_in_stage_mean"]
        if total.empty:
            return None
        parts = []
        for _, r in total.iterrows():
            wait = self.kpi("stage", "wait_mean", str(r["name"]))
            w = f" (waiting {format_duration(_num(wait['mean']))})" if wait is not None else ""
            parts.append(f"{r['name']} {format_duration(_num(r['mean']))}{w}")
        alt = ("Stacked bar chart of the mean time in each stage, split into waiting for staff "
               "and work and delays: " + "; ".join(parts) + ".")
        figure = self.plots.make(
            "stage-time", lambda: plotting.plot_stage_time(k, self.funnel_stages()), alt,
            "Where the time goes: waiting in a queue for staff (orange) against working time "
            "and the prospect's own delays (blue), in calendar time.")
        return _Section("stage-time", "Time in stage", figure)

    def utilisation(self) -> _Section | None:
        assert self.f.kpis is not None
        k = self.f.kpis
        util = self.kpis_scope("pool")
        util = util[util["metric"] == "utilisation"]
        if util.empty:
            return None
        parts = [f"{r['name']} {self.fmt(r['mean'], 'share')}" for _, r in util.iterrows()]
        alt = ("Bar chart of staff utilisation by pool (share of working hours busy): "
               + "; ".join(parts) + "; reference lines at 85% and 100%.")
        figure = self.plots.make("utilisation", lambda: plotting.plot_utilisation(k), alt,
                                 "Above about 85% queues grow quickly; at 100% the pool is "
                                 "saturated.")
        return _Section("utilisation", "Staff utilisation", figure)

    def queues(self) -> _Section | None:
        series = self.f.series
        if series is None or series.empty:
            return None
        stages = queue_stages(series)
        queues = series[series["variable"].isin([f"queue:{s}" for s in stages])]
        averages = series_time_averages(queues)
        means = []
        for stage in stages:
            values = queues.loc[queues["variable"] == f"queue:{stage}", "value"]
            if len(values) and float(values.max()) > 0:
                means.append((float(averages[f"queue:{stage}"]), float(values.max()), stage))
        if not means:
            return None
        top = sorted(means, reverse=True)[:MAX_QUEUE_PLOTS]
        order = {s: i for i, s in enumerate(stages)}
        figures = []
        for mean, peak, stage in sorted(top, key=lambda t: order[t[2]]):
            alt = (f"Line chart of the queue at {stage} over time (leads waiting for staff), "
                   f"mean over replications: average {mean:,.1f}, peak {peak:,.0f}.")
            figures.append(self.plots.make(
                f"queue {stage}", partial(plotting.plot_queue, series, stage,
                                          warmup_hours=self.m.get("warmup_hours")), alt))
        intro = (f"<p>The {len(top)} longest queue{'s' if len(top) != 1 else ''}, over the whole "
                 "run; the grey area is the warm-up, left out of every KPI (coloured band: "
                 "confidence interval across replications). A queue that keeps rising is a sign "
                 "of a bottleneck.</p>")
        return _Section("queues", "Queues over time", intro + "\n".join(figures))

    # -- cash -----------------------------------------------------------------------------------
    def cash(self) -> _Section | None:
        if self.f.kpis is None or self.kpis_scope("cash").empty:
            return None
        cur = self.currency
        out = []
        series = self.f.series
        if series is not None and "bookings" in set(series["variable"]):
            ends = []
            last = series[series["t_hours"] == series["t_hours"].max()]
            for variable in ("bookings", "invoiced", "collected"):
                values = last.loc[last["variable"] == variable, "value"]
                if len(values):
                    ends.append(f"{variable} {format_value(float(values.mean()), cur, cur)}")
            alt = ("Line chart of cumulative bookings, invoiced and cash collected over the run, "
                   "mean over replications with confidence bands; at the end: "
                   + "; ".join(ends) + ".")
            out.append('<h3 id="cash-curve">Bookings against cash collected</h3>')
            out.append(self.plots.make("cash curve",
                                       lambda: plotting.plot_cash_curve(
                                           series, cur, warmup_hours=self.m.get("warmup_hours")),
                                       alt,
                                       "Cumulative from the start of the run; the grey area is "
                                       "the warm-up, left out of every KPI. The gap between the "
                                       "lines is money booked or invoiced but not yet "
                                       "collected."))
        aging = [self.kpi("cash", m) for m in ("ar_current", "ar_1_30", "ar_31_60", "ar_61_90",
                                                 "ar_90_plus")]
        if all(r is not None for r in aging):
            labels = ("not yet due", "1-30 days past due", "31-60 days", "61-90 days",
                      "over 90 days")
            alt = ("Bar chart of accounts receivable at the end of the run by days past due: "
                   + "; ".join(f"{lab} {self.fmt(r['mean'], cur)}"
                               for lab, r in zip(labels, aging, strict=True) if r is not None)
                   + ".")
            k = self.f.kpis
            out.append('<h3 id="ar-aging">Receivables aging</h3>')
            out.append(self.plots.make("AR aging", lambda: plotting.plot_ar_aging(k, cur), alt,
                                       "Unpaid invoices at the end of the run, by how far past "
                                       "their due date they are."))
        if not out:
            return None
        return _Section("cash", "Cash", "\n".join(out))

    # -- scenario source ------------------------------------------------------------------------
    def scenario_source(self) -> _Section | None:
        text = self.f.scenario_text
        if text is None:
            return None
        lines = text.count("\n") + 1
        body = ("<p>The scenario exactly as it was run (a copy of <code>scenario.toml</code> "
                "from the results folder), so the run can be reproduced from this report alone."
                f"</p><details><summary>Show scenario.toml ({lines} lines)</summary>"
                f'<pre class="source" id="scenario-source"><code>{_e(text)}</code></pre>'
                "</details>")
        return _Section("scenario-file", "Scenario file", body)
