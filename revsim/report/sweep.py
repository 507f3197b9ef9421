"""The sections of a sweep's report: settings, the command that reproduces it and the results."""

from __future__ import annotations

import math
import shlex
from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

import pandas as pd

from revsim.kpi_registry import PLAIN_UNITS, display_label, format_value, view
from revsim.report.context import _ReportBase, _Section
from revsim.report.figures import plot_sweep_points
from revsim.report.markup import _dl, _duration_arg, _e, _num, _table
from revsim.sweep.plots import plot_param, plot_pareto

if TYPE_CHECKING:
    from matplotlib.axes import Axes


class _SweepSections(_ReportBase):
    # -- sweeps ---------------------------------------------------------------------------------
    def sweep_settings(self) -> _Section:
        m = self.m
        items = [("Sweep spec hash", f"<code>{_e(m.get('spec_hash'))}</code>"),
                 ("Design", _e(m.get("design", "-"))),
                 ("Points", _e(len(m.get("points", [])))),
                 ("Replications per point", _e(m.get("replications", "-"))),
                 ("Seed", _e(m.get("seed", "-"))),
                 ("Horizon", _e(self._hours_text(m.get("horizon_hours")))
                  if m.get("horizon_hours") is not None else "the scenario's"),
                 ("Warm-up", _e(self._hours_text(m.get("warmup_hours")))
                  if m.get("warmup_hours") is not None else "the scenario's"),
                 ("Replication seeds", _e(m.get("replication_seeds", "-"))),
                 ("revsim version", _e(m.get("revsim_version", "-")))]
        failed = self.f.path / "failed"
        body = _dl(items)
        if failed.is_dir() and any(failed.glob("*.json")):
            count = len(list(failed.glob("*.json")))
            body += (f'<p class="warning">{count} task{"s" if count != 1 else ""} of this sweep '
                     "failed; their points have fewer replications (see n).</p>")
        return _Section("run", "Sweep settings", body)

    def _sweep_params(self) -> list[str]:
        summary = self.f.sweep_summary
        assert summary is not None
        cols = list(summary.columns)
        try:
            params = cols[cols.index("label") + 1: cols.index("metric")]
        except ValueError:
            return []
        # the order of the design (as in the point labels), not the table's alphabetical one
        order: list[str] = []
        for point in self.m.get("points", []):
            order += [k for k in (point.get("changes") or {}) if k not in order]
        return [p for p in order if p in params] + [p for p in params if p not in order]

    def reproduce_sweep(self) -> _Section:
        m = self.m
        points = m.get("points", [])
        params: dict[str, list[Any]] = {}
        for p in points:
            for path, value in (p.get("changes") or {}).items():
                params.setdefault(path, [])
                if value not in params[path]:
                    params[path].append(value)
        args = ["revsim", "sweep", "BASE_SCENARIO.toml"]
        exact = m.get("design", "grid") == "grid" and all(
            isinstance(v, (int, float, bool, str)) and not (isinstance(v, str) and "," in v)
            for values in params.values() for v in values)
        for path, values in params.items():
            args += ["--param", f"{path}=" + ",".join(_param_text(v) for v in values)]
        args += ["-n", str(m.get("replications")), "--seed", str(m.get("seed"))]
        for key, flag in (("horizon_hours", "--horizon"), ("warmup_hours", "--warmup")):
            h = _num(m.get(key))
            if math.isfinite(h):
                args += [flag, _duration_arg(h)]
        args += ["-o", self.f.path.name or "sweep"]
        notes = ["The sweep's manifest does not record the base scenario file: replace "
                 "<code>BASE_SCENARIO.toml</code> with it. The spec hash above must match the "
                 "new folder's manifest.json."]
        if not exact:
            notes.append("This design cannot be written as <code>--param</code> flags exactly "
                         "(a Latin hypercube, named variants or table values); its points, with "
                         "every change, are listed in <code>manifest.json</code>.")
        body = ["<p>The command that reproduces this sweep:</p>",
                f'<pre class="reproduce" id="reproduce-command"><code>{_e(shlex.join(args))}'
                "</code></pre>", *[f'<p class="note">{n}</p>' for n in notes]]
        return _Section("reproduce", "Reproduce", "\n".join(body))

    def sweep_metric(self) -> tuple[str, str] | None:
        summary = self.f.sweep_summary
        assert summary is not None
        for scope, metric in (("cash", "cash_collected"), ("total", "bookings"),
                              ("total", "won")):
            sel = summary[(summary["scope"] == scope) & (summary["metric"] == metric)
                          & (summary["name"] == "")]
            if not sel.empty and (sel["mean"].fillna(0) != 0).any():
                return scope, metric
        return None

    def sweep(self) -> _Section:
        summary = self.f.sweep_summary
        assert summary is not None
        params = self._sweep_params()
        points = list(dict.fromkeys(summary["point"]))
        totals = summary[summary["name"] == ""]
        index = {(r["point"], r["scope"], r["metric"]): r for _, r in totals.iterrows()}
        labels = dict(zip(summary["point"], summary["label"], strict=True))
        money = [u for u in summary["unit"].unique() if u not in PLAIN_UNITS]
        cur = str(money[0]) if money else "USD"
        self.currency = cur
        columns = [(s, m) for m, s in view("sweep_table")
                   if any((p, s, m) in index for p in points)]
        main = self.sweep_metric()
        out = [f"<p>{len(points)} points. Each cell: mean ± 95% CI half-width over the "
               "replications of the point; every point uses the same random streams (common "
               "random numbers), so differences between points are not noise from the seed.</p>"]
        if main is not None:
            out.append(self._sweep_plot(summary, main, params, cur))
        rows = []
        staff = "staff_cost" in summary.columns
        for p in points:
            first = summary[summary["point"] == p].iloc[0]
            keys = [_param_cell(first[c]) for c in params] or [str(labels[p])]
            cells = f'<th scope="row">{_e(keys[0])}</th>' + "".join(
                f"<td>{_e(k)}</td>" for k in keys[1:])
            for scope, metric in columns:
                r = index.get((p, scope, metric))
                if r is None:
                    cells += '<td class="num"></td>'
                    continue
                text = format_value(_num(r["mean"]), str(r["unit"]), cur)
                hw = _num(r.get("half_width"))
                if math.isfinite(hw):
                    text += f" ±{format_value(hw, str(r['unit']), cur)}"
                cells += f'<td class="num">{_e(text)}</td>'
            if staff:
                cells += f'<td class="num">{_e(format_value(_num(first["staff_cost"]), cur, cur))}</td>'
            n = _num(first.get("n"))
            cells += f'<td class="num">{int(n) if math.isfinite(n) else "-"}</td>'
            rows.append(f'<tr data-point="{_e(p)}" title="{_e(labels[p])}">{cells}</tr>')
        head = (([(_short_path(c), "") for c in params] or [("point", "")])
                + [(display_label(m), "num") for _, m in columns]
                + ([("staff cost per year", "num")] if staff else []) + [("n", "num")])
        out.append('<h3 id="sweep-points">Points</h3>')
        out.append(_table(head, rows, "Every point of the sweep; all KPIs of every point are in "
                          "summary.parquet", id="sweep-table"))
        return _Section("sweep", "Sweep results", "\n".join(out))

    def _sweep_plot(self, summary: pd.DataFrame, main: tuple[str, str], params: list[str],
                    cur: str) -> str:
        """The main KPI against the swept parameters (revsim.sweep.plots.plot_param), or by
        point for named variants; plus staff cost against it when the cost varies."""
        scope, metric = main
        sel = summary[(summary["scope"] == scope) & (summary["metric"] == metric)
                      & (summary["name"] == "")]
        best = sel.sort_values("mean", ascending=False).iloc[0]
        worst = sel.sort_values("mean").iloc[0]
        unit = str(sel["unit"].iloc[0])
        extremes = (f"highest at {best['label']} "
                    f"({format_value(_num(best['mean']), unit, cur)}), lowest at "
                    f"{worst['label']} ({format_value(_num(worst['mean']), unit, cur)})")
        x_param = _x_param(sel, params) if self.m.get("design") != "variants" else None
        draw: Callable[[], Axes]
        if x_param is not None:
            others = [p for p in params if p != x_param]
            alt = (f"Line chart of {display_label(metric)} against {x_param}"
                   + (f", one line per value of {', '.join(others)}" if others else "")
                   + f", with 95% confidence bands; {extremes}.")
            draw = partial(plot_param, summary, metric, x_param, scope=scope)
        else:
            alt = (f"Dot chart of {display_label(metric)} at each point of the sweep with 95% "
                   f"confidence intervals, best first; {extremes}.")
            draw = partial(plot_sweep_points, sel, metric, cur)
        out = [self.plots.make("sweep", draw, alt,
                               f"The main KPI, {display_label(metric)}, across the sweep; bands or "
                               "whiskers: 95% CI over replications.")]
        if "staff_cost" in sel.columns and sel["staff_cost"].nunique() > 1:
            cheapest = sel.sort_values("staff_cost").iloc[0]
            alt = (f"Scatter chart of staff cost per year against {display_label(metric)} for every "
                   f"point, the Pareto front highlighted; cheapest point {cheapest['label']} "
                   f"({format_value(_num(cheapest['staff_cost']), cur, cur)} a year); "
                   f"{extremes}.")
            out.append(f'<h3 id="sweep-cost">Staff cost against {_e(display_label(metric))}</h3>')
            out.append(self.plots.make(
                "cost", partial(plot_pareto, summary, metric, scope=scope), alt,
                "Points on the front are the cheapest way to reach their result; a point "
                "right of the front costs more for no more."))
        return "\n".join(out)


def _x_param(rows: pd.DataFrame, params: Sequence[str]) -> str | None:
    """The parameter for the x axis: the numeric one with the most levels, else the first."""
    if not params:
        return None
    numeric = [p for p in params
               if pd.to_numeric(rows[p], errors="coerce").notna().all()
               and not pd.api.types.is_bool_dtype(rows[p])]
    pool = numeric or list(params)
    return max(pool, key=lambda p: rows[p].nunique())


def _short_path(path: str) -> str:
    """A swept path as in the point labels: pools.sdr.headcount -> sdr.headcount."""
    return path.split(".", 1)[-1] if path.count(".") > 1 else path


def _param_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _param_cell(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return str(value)
