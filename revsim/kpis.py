"""Revenue-cycle KPIs of one replication, as tidy rows (metric, scope, name, unit, value)."""

from __future__ import annotations

import math
from typing import NamedTuple

from revsim.engine.simulation import ReplicationOutput
from revsim.scenario.model import Model

HOURS_PER_DAY = 24.0
HOURS_PER_WEEK = 168.0


class Row(NamedTuple):
    metric: str
    scope: str
    name: str
    unit: str
    value: float


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else math.nan


def replication_rows(out: ReplicationOutput, model: Model) -> list[Row]:
    """All KPIs of one replication. Times in hours (waits) or days (cycles), money in currency."""
    t = out.totals
    cur = model.currency
    weeks = t["window_hours"] / HOURS_PER_WEEK
    rows = [
        Row("leads_in", "total", "", "count", t["leads_in"]),
        Row("won", "total", "", "count", t["outcome:won"]),
        Row("lost", "total", "", "count", t["outcome:lost"]),
        Row("disqualified", "total", "", "count", t["outcome:disqualified"]),
        Row("reneged", "total", "", "count", t["outcome:reneged"]),
        Row("balked", "total", "", "count", t["outcome:balked"]),
        Row("bookings", "total", "", cur, t["value:won"]),
        Row("conversion", "total", "", "share", _ratio(t["outcome:won"], t["leads_in"])),
        Row("time_to_first_touch_mean", "total", "", "h", t["first_touch_mean"]),
        Row("time_to_first_touch_median", "total", "", "h", t["first_touch_p50"]),
        Row("time_to_first_touch_p90", "total", "", "h", t["first_touch_p90"]),
        Row("cycle_time_mean", "total", "", "d", t["cycle_won_mean"] / HOURS_PER_DAY),
        Row("cycle_time_median", "total", "", "d", t["cycle_won_p50"] / HOURS_PER_DAY),
        Row("cycle_time_p90", "total", "", "d", t["cycle_won_p90"] / HOURS_PER_DAY),
        Row("leads_in_system_mean", "total", "", "count", t["system_mean"]),
    ]
    if t["outcome:done"]:
        rows.append(Row("done", "total", "", "count", t["outcome:done"]))
    if "cash:invoiced" in t:
        rows += cash_rows(t, cur)
    for name, src in out.sources.items():
        rows.append(Row("leads_in", "source", name, "count", src["leads_in"]))
    for st in model.stages:
        s = out.stages[st.name]
        outcomes = s["outcomes"]
        exits = sum(outcomes.values())
        onward = sum(v for k, v in outcomes.items()
                     if k in ("won", "live", "issued", "reminded") or k in out.stages)
        rows += [
            Row("arrivals", "stage", st.name, "count", float(s["arrivals"])),
            Row("throughput", "stage", st.name, "per week", s["completed"] / weeks),
            Row("conversion", "stage", st.name, "share", _ratio(onward, exits)),
            Row("time_in_stage_mean", "stage", st.name, "h", s["time_mean"]),
            Row("time_in_stage_p90", "stage", st.name, "h", s["time_p90"]),
            Row("wip_mean", "stage", st.name, "count", s["wip_mean"]),
        ]
        if st.staffed:
            rows += [
                Row("wait_mean", "stage", st.name, "h", s["wait_mean"]),
                Row("wait_p90", "stage", st.name, "h", s["wait_p90"]),
                Row("p_wait", "stage", st.name, "share", _ratio(s["waited"], s["started"])),
                Row("queue_mean", "stage", st.name, "count", s["queue_mean"]),
                Row("staff_hours", "stage", st.name, "staff-h", s["work_hours"]),
                # over all admitted arrivals whose wait ended: those who gave up count the
                # time they waited (the rows above are over the served leads only)
                Row("p_wait_all", "stage", st.name, "share",
                    _ratio(s["waited_all"], s["wait_ended"])),
                Row("wait_mean_all", "stage", st.name, "h",
                    _ratio(s["wait_sum_all"], s["wait_ended"])),
            ]
            if st.service_level is not None:
                rows += [
                    Row("p_wait_over_target", "stage", st.name, "share",
                        _ratio(s["over_target"], s["started"])),
                    Row("p_wait_over_target_all", "stage", st.name, "share",
                        _ratio(s["over_target_all"], s["wait_ended"])),
                ]
        if st.patience_mode == "renege":
            rows.append(Row("reneged", "stage", st.name, "count", float(outcomes.get("reneged", 0))))
        if st.queue_limit is not None or st.wip_limit is not None:
            rows.append(Row("balked", "stage", st.name, "count", float(outcomes.get("balked", 0))))
        if st.when_full == "lose" and (st.queue_limit is not None or st.wip_limit is not None):
            rows += [
                Row("blocked", "stage", st.name, "count", float(s["refused"])),
                Row("blocked_share", "stage", st.name, "share",
                    _ratio(s["refused"], s["arrivals"])),
            ]
        if st.patience_mode is not None:
            abandoned = float(s["reneged"] + s["went_cold"])
            rows += [
                Row("abandoned", "stage", st.name, "count", abandoned),
                Row("abandoned_share", "stage", st.name, "share",
                    _ratio(abandoned, s["arrivals"])),
            ]
    for name, p in out.pools.items():
        rows += [
            Row("utilisation", "pool", name, "share", p["utilisation"]),
            Row("available_hours", "pool", name, "staff-h", p["available_hours"]),
            Row("headcount_end", "pool", name, "count", p["headcount_end"]),
        ]
    return rows


CASH_KPIS: tuple[tuple[str, str, str], ...] = (
    # (metric, key in totals, unit); "$" stands for the scenario currency
    ("renewals", "renewals", "count"),
    ("renewal_bookings", "renewal_bookings", "$"),
    ("not_renewed", "not_renewed", "count"),
    ("go_lives", "go_lives", "count"),
    ("time_to_go_live_median", "time_to_go_live_median", "d"),
    ("churned_in_onboarding", "churned_in_onboarding", "count"),
    ("invoices", "invoices", "count"),
    ("invoiced", "invoiced", "$"),
    ("cash_collected", "collected", "$"),
    ("time_to_cash_median", "time_to_cash_median", "d"),
    ("time_to_cash_p90", "time_to_cash_p90", "d"),
    ("dso", "dso", "d"),
    ("ar_outstanding", "ar_outstanding", "$"),
    ("ar_outstanding_mean", "ar_outstanding_mean", "$"),
    ("open_invoices", "open_invoices", "count"),
    ("open_invoices_mean", "open_invoices_mean", "count"),
    ("ar_current", "ar_current", "$"),
    ("ar_1_30", "ar_1_30", "$"),
    ("ar_31_60", "ar_31_60", "$"),
    ("ar_61_90", "ar_61_90", "$"),
    ("ar_90_plus", "ar_90_plus", "$"),
    ("overdue_share", "overdue_share", "share"),
    ("written_off", "written_off", "$"),
    ("bad_debt_rate", "", "share"),
    ("dunning_touches", "dunning_touches", "count"),
)


def cash_rows(t: dict[str, float], currency: str) -> list[Row]:
    """KPIs of the cash side (scope "cash"): invoicing, collection, AR and its aging, DSO."""
    rows = []
    for metric, key, unit in CASH_KPIS:
        if metric == "bad_debt_rate":
            value = _ratio(t["cash:written_off"], t["cash:invoiced"])
        else:
            value = t[f"cash:{key}"]
            if unit == "d" and metric != "dso":
                value = value / HOURS_PER_DAY
        rows.append(Row(metric, "cash", "", currency if unit == "$" else unit, value))
    return rows
