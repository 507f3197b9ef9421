"""Revenue-cycle KPIs of one replication, as tidy rows (metric, scope, name, unit, value)."""

from __future__ import annotations

import math
from typing import NamedTuple

from revsim.engine.simulation import ReplicationOutput
from revsim.kpi_registry import unit_in
from revsim.scenario.model import Model

HOURS_PER_DAY = 24.0
HOURS_PER_WEEK = 168.0


class Row(NamedTuple):
    metric: str
    scope: str
    name: str
    unit: str  # the registry's unit, with the scenario currency for money
    value: float


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else math.nan


def replication_rows(out: ReplicationOutput, model: Model) -> list[Row]:
    """All KPIs of one replication. Times in hours (waits) or days (cycles), money in currency."""
    t = out.totals
    cur = model.currency

    def row(metric: str, scope: str, name: str, value: float) -> Row:
        return Row(metric, scope, name, unit_in(metric, cur), value)

    weeks = t["window_hours"] / HOURS_PER_WEEK
    rows = [
        row("leads_in", "total", "", t["leads_in"]),
        row("won", "total", "", t["outcome:won"]),
        row("lost", "total", "", t["outcome:lost"]),
        row("disqualified", "total", "", t["outcome:disqualified"]),
        row("reneged", "total", "", t["outcome:reneged"]),
        row("balked", "total", "", t["outcome:balked"]),
        row("bookings", "total", "", t["value:won"]),
        row("conversion", "total", "", _ratio(t["outcome:won"], t["leads_in"])),
        row("time_to_first_touch_mean", "total", "", t["first_touch_mean"]),
        row("time_to_first_touch_median", "total", "", t["first_touch_p50"]),
        row("time_to_first_touch_p90", "total", "", t["first_touch_p90"]),
        row("cycle_time_mean", "total", "", t["cycle_won_mean"] / HOURS_PER_DAY),
        row("cycle_time_median", "total", "", t["cycle_won_p50"] / HOURS_PER_DAY),
        row("cycle_time_p90", "total", "", t["cycle_won_p90"] / HOURS_PER_DAY),
        row("leads_in_system_mean", "total", "", t["system_mean"]),
    ]
    if t["outcome:done"]:
        rows.append(row("done", "total", "", t["outcome:done"]))
    if "cash:invoiced" in t:
        rows += cash_rows(t, cur)
    for name, src in out.sources.items():
        rows.append(row("leads_in", "source", name, src["leads_in"]))
    for st in model.stages:
        s = out.stages[st.name]
        outcomes = s["outcomes"]
        exits = sum(outcomes.values())
        onward = sum(v for k, v in outcomes.items()
                     if k in ("won", "live", "issued", "reminded") or k in out.stages)
        rows += [
            row("arrivals", "stage", st.name, float(s["arrivals"])),
            row("throughput", "stage", st.name, s["completed"] / weeks),
            row("conversion", "stage", st.name, _ratio(onward, exits)),
            row("time_in_stage_mean", "stage", st.name, s["time_mean"]),
            row("time_in_stage_p90", "stage", st.name, s["time_p90"]),
            row("wip_mean", "stage", st.name, s["wip_mean"]),
        ]
        if st.staffed:
            rows += [
                row("wait_mean", "stage", st.name, s["wait_mean"]),
                row("wait_p90", "stage", st.name, s["wait_p90"]),
                row("p_wait", "stage", st.name, _ratio(s["waited"], s["started"])),
                row("queue_mean", "stage", st.name, s["queue_mean"]),
                row("staff_hours", "stage", st.name, s["work_hours"]),
                # over all admitted arrivals whose wait ended: those who gave up count the
                # time they waited (the rows above are over the served leads only)
                row("p_wait_all", "stage", st.name,
                    _ratio(s["waited_all"], s["wait_ended"])),
                row("wait_mean_all", "stage", st.name,
                    _ratio(s["wait_sum_all"], s["wait_ended"])),
            ]
            if st.service_level is not None:
                rows += [
                    row("p_wait_over_target", "stage", st.name,
                        _ratio(s["over_target"], s["started"])),
                    row("p_wait_over_target_all", "stage", st.name,
                        _ratio(s["over_target_all"], s["wait_ended"])),
                ]
        if st.patience_mode == "renege":
            rows.append(row("reneged", "stage", st.name, float(outcomes.get("reneged", 0))))
        if st.queue_limit is not None or st.wip_limit is not None:
            rows.append(row("balked", "stage", st.name, float(outcomes.get("balked", 0))))
        if st.when_full == "lose" and (st.queue_limit is not None or st.wip_limit is not None):
            rows += [
                row("blocked", "stage", st.name, float(s["refused"])),
                row("blocked_share", "stage", st.name,
                    _ratio(s["refused"], s["arrivals"])),
            ]
        if st.patience_mode is not None:
            abandoned = float(s["reneged"] + s["went_cold"])
            rows += [
                row("abandoned", "stage", st.name, abandoned),
                row("abandoned_share", "stage", st.name,
                    _ratio(abandoned, s["arrivals"])),
            ]
    for name, p in out.pools.items():
        rows += [
            row("utilisation", "pool", name, p["utilisation"]),
            row("available_hours", "pool", name, p["available_hours"]),
            row("headcount_end", "pool", name, p["headcount_end"]),
        ]
    return rows


CASH_KPIS: tuple[tuple[str, str], ...] = (
    # (metric, key in totals); units come from the KPI registry
    ("renewals", "renewals"),
    ("renewal_bookings", "renewal_bookings"),
    ("not_renewed", "not_renewed"),
    ("go_lives", "go_lives"),
    ("time_to_go_live_median", "time_to_go_live_median"),
    ("churned_in_onboarding", "churned_in_onboarding"),
    ("invoices", "invoices"),
    ("invoiced", "invoiced"),
    ("cash_collected", "collected"),
    ("time_to_cash_median", "time_to_cash_median"),
    ("time_to_cash_p90", "time_to_cash_p90"),
    ("dso", "dso"),
    ("ar_outstanding", "ar_outstanding"),
    ("ar_outstanding_mean", "ar_outstanding_mean"),
    ("open_invoices", "open_invoices"),
    ("open_invoices_mean", "open_invoices_mean"),
    ("ar_current", "ar_current"),
    ("ar_1_30", "ar_1_30"),
    ("ar_31_60", "ar_31_60"),
    ("ar_61_90", "ar_61_90"),
    ("ar_90_plus", "ar_90_plus"),
    ("overdue_share", "overdue_share"),
    ("written_off", "written_off"),
    ("bad_debt_rate", ""),
    ("dunning_touches", "dunning_touches"),
)


def cash_rows(t: dict[str, float], currency: str) -> list[Row]:
    """KPIs of the cash side (scope "cash"): invoicing, collection, AR and its aging, DSO."""
    rows = []
    for metric, key in CASH_KPIS:
        unit = unit_in(metric, currency)
        if metric == "bad_debt_rate":
            value = _ratio(t["cash:written_off"], t["cash:invoiced"])
        else:
            value = t[f"cash:{key}"]
            if unit == "d" and metric != "dso":
                value = value / HOURS_PER_DAY
        rows.append(Row(metric, "cash", "", unit, value))
    return rows
