"""The terminal KPI table and human formatting of KPI values."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from revsim.units import format_duration, format_money

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
    "ar_outstanding_mean": "AR outstanding, time average",
    "open_invoices": "open invoices at end",
    "open_invoices_mean": "open invoices, time average",
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


# Per-stage and per-pool KPIs shown as columns of a matrix, in this order.
_STAGE_COLUMNS = [("throughput", "throughput"), ("conversion", "conversion"),
                  ("wait_mean", "wait mean"), ("wait_p90", "wait p90"),
                  ("time_in_stage_mean", "time in stage"), ("queue_mean", "queue"),
                  ("wip_mean", "WIP"), ("blocked", "blocked"), ("abandoned", "abandoned")]
_POOL_COLUMNS = [("utilisation", "utilisation"), ("available_hours", "available hours"),
                 ("headcount_end", "headcount at end")]
# Counts that are structurally zero unless the scenario uses the feature.
_HIDE_IF_ZERO = {"reneged", "balked", "done", "churned_in_onboarding", "written_off", "blocked",
                 "abandoned"}


def _cell(r: pd.Series | None, currency: str) -> str:
    if r is None:
        return ""
    mean = format_value(r["mean"], r["unit"], currency)
    half = r["half_width"]
    if r["n"] > 1 and not math.isnan(half):
        return f"{mean} ±{format_value(half, r['unit'], currency)}"
    return mean


def replications_text(n: Any, kind: str = "") -> str:
    """``"1 replication"`` / ``"10 replications"`` (``kind="paired"``: "10 paired ...")."""
    return f"{n} {kind + ' ' if kind else ''}replication{'' if n == 1 else 's'}"


def too_few_replications(n: Any) -> list[str]:
    """A warning line when there are too few replications for any confidence interval."""
    if isinstance(n, int) and n < 2:
        return ["One replication gives no confidence intervals ([-]): they need at least 2; "
                "use -n 10 or more."]
    return []


def format_table(kpis: pd.DataFrame, currency: str, manifest: dict[str, Any]) -> str:
    """The KPI table: flat rows with [95% CI] for totals and cash, matrices for stages/pools."""
    n_reps = manifest.get("replications")
    lines = [
        f"{manifest.get('scenario_name', '')}: {replications_text(n_reps)}, seed "
        f"{manifest.get('seed')}, window {manifest.get('window', '')}",
        "Each KPI: mean over replications [95% confidence interval] (n = replications with a "
        "value).",
        *too_few_replications(n_reps),
    ]
    width = 40

    def row(label: str, r: pd.Series) -> str:
        mean = format_value(r["mean"], r["unit"], currency)
        if r["n"] > 1 and not math.isnan(r["ci_low"]):
            ci = (f"[{format_value(r['ci_low'], r['unit'], currency)}, "
                  f"{format_value(r['ci_high'], r['unit'], currency)}]")
        else:
            ci = "[-]"
        return f"  {label:<{width}} {mean:>11}  {ci:<24} n={r['n']}"

    for scope, title in (("total", "Whole cycle"), ("cash", "Cash (deals, invoices, payments)"),
                         ("source", "Leads in, by source")):
        part = kpis[kpis.scope == scope]
        if part.empty:
            continue
        lines += ["", title]
        for _, r in part.iterrows():
            if r.metric in _HIDE_IF_ZERO and r["mean"] == 0 and r["ci_high"] == 0:
                continue
            label = r["name"] if scope == "source" else _LABELS.get(r.metric, r.metric)
            lines.append(row(label, r))
    for scope, title, columns in (("stage", "Stages", _STAGE_COLUMNS),
                                  ("pool", "Staff pools", _POOL_COLUMNS)):
        part = kpis[kpis.scope == scope]
        if part.empty:
            continue
        lines += ["", f"{title} (mean ±95% CI half-width, n = {replications_text(n_reps)})"]
        lines += _matrix(part, columns, currency)
    return "\n".join(lines)


def _matrix(part: pd.DataFrame, columns: list[tuple[str, str]], currency: str) -> list[str]:
    names = list(dict.fromkeys(part["name"]))
    index = {(r["name"], r["metric"]): r for _, r in part.iterrows()}
    # a loss column (blocked, abandoned) shows only when some stage has such losses
    columns = [(metric, head) for metric, head in columns if metric not in _HIDE_IF_ZERO
               or any(k[1] == metric and r["mean"] > 0 for k, r in index.items())]
    cells = [[_cell(index.get((name, metric)), currency) for metric, _ in columns]
             for name in names]
    heads = [head for _, head in columns]
    widths = [max(len(heads[j]), *(len(row[j]) for row in cells)) for j in range(len(heads))]
    first = max(len(n) for n in names) + 2
    out = ["  " + " " * first + "  ".join(h.rjust(w) for h, w in zip(heads, widths, strict=True))]
    for name, row in zip(names, cells, strict=True):
        out.append("  " + name.ljust(first)
                   + "  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))
    return out


def plus_minus(mean: float | None, half_width: float, unit: str, currency: str = "USD") -> str:
    """``mean ±half-width`` in ``unit`` ("-" without a mean, no ± without a half-width)."""
    if mean is None or math.isnan(mean):
        return "-"
    text = format_value(mean, unit, currency)
    return text if math.isnan(half_width) else f"{text} ±{format_value(half_width, unit, currency)}"
