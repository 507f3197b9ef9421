"""The sections on the files other commands add to a run's folder: the bottleneck analysis
(``revsim bottlenecks -o DIR``) and the comparison with variants (``revsim compare -o DIR``)."""

from __future__ import annotations

import math

import pandas as pd

from revsim import plotting
from revsim.kpi_registry import display_label, format_signed, format_value, view
from revsim.report.context import _ReportBase, _Section
from revsim.report.figures import plot_bottleneck_weeks
from revsim.report.markup import _attrs, _e, _num, _table
from revsim.table import plus_minus

# Short column heads of the marginal-value table.
MARGINAL_HEADS = {"won": "deals won", "bookings": "bookings", "cash_collected": "cash collected",
                  "cycle_time_mean": "cycle time, mean",
                  "time_to_first_touch_mean": "first touch, mean"}


class _ExtrasSections(_ReportBase):
    # -- bottlenecks ----------------------------------------------------------------------------
    def bottlenecks(self) -> _Section | None:
        f = self.f
        if not f.has_bottlenecks:
            return None
        assert f.bottleneck_pools is not None

        cur = self.currency
        out = []
        sentence = self.bottleneck_sentence()
        if sentence:
            out.append(f'<p class="answer" id="bottleneck-answer">{_e(sentence)}</p>')
        if f.bottleneck_text:
            out.append(f'<p class="note">From <code>revsim bottlenecks</code>: '
                       f"{_e(f.bottleneck_text.splitlines()[0])}. ± is the 95% CI "
                       "half-width.</p>")
        rows = []
        for rank, (_, r) in enumerate(f.bottleneck_pools.iterrows(), start=1):
            rows.append(
                f'<tr data-pool="{_e(r["pool"])}"><td class="num">{rank}</td>'
                f'<th scope="row">{_e(r["pool"])}</th>'
                f'<td class="num">{_e(plus_minus(_num(r.get("bottleneck_share")), _num(r.get("bottleneck_share_hw")), "share"))}</td>'  # noqa: E501
                f'<td class="num">{_e(plus_minus(_num(r.get("utilisation")), _num(r.get("utilisation_hw")), "share"))}</td>'  # noqa: E501
                f'<td class="num">{_e(plus_minus(_num(r.get("active_period_h")), _num(r.get("active_period_h_hw")), "h"))}</td>'  # noqa: E501
                "</tr>")
        out.append('<h3 id="bottleneck-pools">Pools ranked as the bottleneck</h3>')
        out.append("<p>Bottleneck share: the share of the window in which the pool was saturated "
                   "and had been busy longest (the momentary bottleneck). Mean active period: "
                   "how long a stretch of full occupation lasts.</p>")
        out.append(_table([("rank", "num"), ("pool", ""), ("bottleneck share", "num"),
                           ("utilisation", "num"), ("mean active period", "num")], rows,
                          "Staff pools, most often the bottleneck first",
                          id="bottleneck-ranking"))
        timeline = f.bottleneck_timeline
        if timeline is not None and not timeline.empty:
            out.append('<h3 id="bottleneck-weeks">Week by week</h3>')
            top = (timeline.groupby("pool")["share"].mean().sort_values(ascending=False))
            alt = ("Stacked bar chart of the share of each week in which each pool was the "
                   "bottleneck; on average " + "; ".join(
                       f"{p} {100 * s:.0f}%" for p, s in top.items()) + ".")
            out.append(self.plots.make("bottleneck timeline",
                                       lambda: plot_bottleneck_weeks(timeline), alt,
                                       "Mean over replications; a bar below 100% means that part "
                                       "of the week no pool was saturated."))
        stages = f.bottleneck_stages
        if stages is not None and not stages.empty:
            rows = []
            for _, r in stages.iterrows():
                growing = '<span class="flag">growing</span>' if r.get("growing") else ""
                rows.append(
                    f'<tr data-stage="{_e(r["stage"])}"><th scope="row">{_e(r["stage"])}</th>'
                    f'<td class="num">{_e(plus_minus(_num(r.get("wait_share")), _num(r.get("wait_share_hw")), "share"))}</td>'  # noqa: E501
                    f'<td class="num">{_e(plus_minus(_num(r.get("queue_mean")), _num(r.get("queue_mean_hw")), "count"))}</td>'  # noqa: E501
                    f'<td class="num">{_e(plus_minus(_num(r.get("queue_trend")), _num(r.get("queue_trend_hw")), "count"))}</td>'  # noqa: E501
                    f"<td>{growing}</td></tr>")
            out.append('<h3 id="bottleneck-stages">Where leads wait</h3>')
            out.append(_table([("stage", ""), ("waiting share", "num"), ("queue, mean", "num"),
                               ("queue trend per week", "num"), ("", "")], rows,
                              "Waiting share: share of all time in stages spent queueing at "
                              "this stage. Growing: a significant upward trend with more "
                              "arriving than leaving."))
        marginal = f.marginal
        if marginal is not None and not marginal.empty:
            out.append('<h3 id="marginal-values">Value of one more head</h3>')
            out += self._marginal(marginal, cur)
        return _Section("bottlenecks", "Bottlenecks", "\n".join(out))

    def _marginal(self, marginal: pd.DataFrame, cur: str) -> list[str]:
        out = ["<p>Each pool rerun with one more head, paired with the base run (common random "
               "numbers). Counts and money are per year; greyed differences are not "
               "significant (p ≥ 0.05).</p>"]
        metric = "bookings" if "bookings" in set(marginal["metric"]) else str(
            marginal["metric"].iloc[0])
        rows_m = marginal[marginal["metric"] == metric]
        alt = (f"Bar chart of the change in {display_label(metric)} per year from one more head in "
               "each pool: " + "; ".join(
                   f"+1 {r['pool']} {format_signed(_num(r['diff']), str(r['unit']), cur)}"
                   + ("" if r["significant"] else " (not significant)")
                   for _, r in rows_m.iterrows()) + ".")
        out.append(self.plots.make("marginal value",
                                   lambda: plotting.plot_tornado(marginal, metric, cur), alt,
                                   "Whiskers: 95% CI of the paired difference; grey bars are "
                                   "not significant. Right: return on the head's cost and "
                                   "payback, where the pool has a cost per head."))
        present = list(dict.fromkeys(marginal["metric"]))
        metrics = [m for m in MARGINAL_HEADS if m in present] + [
            m for m in present if m not in MARGINAL_HEADS]
        rows = []
        for pool, g in marginal.groupby("pool", sort=False):
            by_metric = {str(r["metric"]): r for _, r in g.iterrows()}
            cells = []
            for m in metrics:
                r = by_metric.get(m)
                if r is None:
                    cells.append('<td class="num"></td>')
                    continue
                unit = str(r["unit"])
                diff = format_signed(_num(r["diff"]), unit, cur)
                half = format_value(_num(r["half_width"]), unit, cur)
                cls = "num sig" if r["significant"] else "num ns"
                cells.append(f'<td class="{cls}">{_e(diff)}<br>'
                             f'<span class="hw">±{_e(half)}</span></td>')
            first = g.iloc[0]
            roi, payback = _num(first.get("roi")), _num(first.get("payback_months"))
            cells.append(f'<td class="num">{f"{roi:+.0%}" if math.isfinite(roi) else "-"}</td>')
            cells.append(f'<td class="num">{f"{payback:.1f} mo" if math.isfinite(payback) else "-"}'
                         "</td>")
            rows.append(f'<tr data-pool="{_e(pool)}"><th scope="row">+1 {_e(pool)}</th>'
                        f'{"".join(cells)}</tr>')
        head = [("one more", "")] + [
            (MARGINAL_HEADS.get(m, display_label(m)) + (" /yr" if self._per_year(marginal, m) else ""),
             "num") for m in metrics] + [("ROI", "num"), ("payback", "num")]
        out.append(_table(head, rows, "Difference vs base ± 95% CI half-width, ranked by "
                          "bookings gained; /yr = per year", id="marginal-table"))
        return out

    @staticmethod
    def _per_year(marginal: pd.DataFrame, metric: str) -> bool:
        if "per_year" not in marginal.columns:
            return False
        return bool(marginal.loc[marginal["metric"] == metric, "per_year"].all())

    # -- comparison -----------------------------------------------------------------------------
    def comparison(self) -> _Section | None:
        table = self.f.comparison
        if table is None or table.empty:
            return None
        cur = self.currency
        variants = list(dict.fromkeys(table["variant"]))
        keys = {(m, s, "") for m, s in view("compare")}
        head_rows = table[[(m, s, n) in keys for m, s, n in
                           zip(table["metric"], table["scope"], table["name"], strict=True)]]
        order = {(m, s, ""): i for i, (m, s) in enumerate(view("compare"))}
        out = [f"<p>{len(variants)} variant{'s' if len(variants) != 1 else ''} against the base "
               "scenario, paired by replication (common random numbers). diff = variant − base "
               "with a 95% CI; significant after Holm's correction across the variants.</p>"]
        sig = head_rows[head_rows["significant"]]
        alt_parts = [f"{r['variant']}: {display_label(str(r['metric']))} "
                     f"{format_signed(_num(r['diff']), str(r['unit']), cur)}"
                     for _, r in sig.iterrows()]
        alt = ("Forest plot of the relative difference of the headline KPIs, each variant "
               "against the base, with confidence intervals; "
               + ("significant: " + "; ".join(alt_parts) if alt_parts
                  else "no difference is significant") + ".")
        out.append(self.plots.make("comparison", lambda: plotting.plot_forest(table), alt,
                                   "Points: mean difference as % of the base mean; whiskers: "
                                   "95% CI; grey: not significant."))
        groups = []
        for variant in variants:
            rows = []
            part = head_rows[head_rows["variant"] == variant]
            part = part.iloc[sorted(range(len(part)), key=lambda i: order[(
                part["metric"].iloc[i], part["scope"].iloc[i], part["name"].iloc[i])])]
            for _, r in part.iterrows():
                if not math.isfinite(_num(r["diff"])):
                    continue
                unit = str(r["unit"])
                ci = (f"{format_signed(_num(r['ci_low']), unit, cur)} to "
                      f"{format_signed(_num(r['ci_high']), unit, cur)}"
                      if math.isfinite(_num(r["ci_low"])) else "-")
                p = _num(r.get("p_adjusted"))
                cls = "num sig" if r["significant"] else "num ns"
                rows.append(
                    f'<tr data-variant="{_e(variant)}" data-metric="{_e(r["metric"])}">'
                    f"<th scope=\"row\">{_e(display_label(str(r['metric'])))}</th>"
                    f'<td class="num">{_e(format_value(_num(r["base_mean"]), unit, cur))}</td>'
                    f'<td class="num">{_e(format_value(_num(r["variant_mean"]), unit, cur))}</td>'
                    f'<td class="{cls}">{_e(format_signed(_num(r["diff"]), unit, cur))}</td>'
                    f'<td class="num">{_e(ci)}</td>'
                    f'<td class="num">{f"{p:.3g}" if math.isfinite(p) else "-"}</td>'
                    f'<td>{"yes" if r["significant"] else "no"}</td></tr>')
            groups.append(f'<tbody><tr class="group"><th colspan="7" scope="rowgroup">'
                          f"{_e(variant)}</th></tr>\n" + "\n".join(rows) + "</tbody>")
        out.append('<h3 id="comparison-table">Headline differences</h3>')
        heads = "".join(f'<th scope="col"{_attrs({"class_": c or None})}>{_e(t)}</th>'
                        for t, c in (("KPI", ""), ("base", "num"), ("variant", "num"),
                                     ("diff", "num"), ("95% CI of diff", "num"),
                                     ("p (Holm)", "num"), ("significant", "")))
        out.append('<div class="table-wrap"><table id="comparison-headline" class="kpis">'
                   "<caption>Headline KPIs of each variant against the base; bold: "
                   f"significant</caption><thead><tr>{heads}</tr></thead>\n"
                   + "\n".join(groups) + "</table></div>")
        out.append('<p class="note">Every KPI of every variant is in '
                   "<code>comparison.csv</code>.</p>")
        return _Section("comparison", "Comparison with variants", "\n".join(out))
