"""Revenue-cycle KPIs of one replication, as tidy rows (metric, scope, name, unit, value)."""

from __future__ import annotations

import math
from typing import NamedTuple

from revsim.engine.periods import READING
from revsim.engine.simulation import ReplicationOutput
from revsim.kpi_registry import unit_in
from revsim.scenario.model import OPPORTUNITY_EVENT, Model

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
        row("touched_within_5min", "total", "", t["first_touch_within_5min"]),
        row("touched_within_1h", "total", "", t["first_touch_within_1h"]),
        row("touched_within_24h", "total", "", t["first_touch_within_24h"]),
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


#: The per-period figures of a forecast, in display order. Parts of a split follow their total:
#: total_bookings = bookings_open_pipeline + bookings_new_leads + renewal_bookings, bookings (new
#: business) = its first two parts, won likewise, cash_collected = cash_from_open_ar +
#: cash_from_new_invoices.
PERIOD_FIGURES = (
    "total_bookings", "bookings", "bookings_open_pipeline", "bookings_new_leads",
    "renewal_bookings", "won", "won_open_pipeline", "won_new_leads", "renewals",
    "pipeline_created", "opportunities_created", "invoiced", "invoices", "cash_collected",
    "cash_from_open_ar", "cash_from_new_invoices", "written_off", "ar_outstanding",
    "open_invoices",
)
_CASH_FIGURES = frozenset({"renewal_bookings", "renewals", "invoiced", "invoices",
                           "cash_collected", "cash_from_open_ar", "cash_from_new_invoices",
                           "written_off", "ar_outstanding", "open_invoices"})


def period_rows(readings: list[tuple[float, ...]], model: Model, labels: tuple[str, ...]
                ) -> list[Row]:
    """The figures of each period (scope "period", name = its label) from the engine's
    readings at the window start and at every period end (engine.periods.READING): flows are
    differences of consecutive readings, AR and open invoices the reading at the period's end.
    Money is differenced in cents, then each total is the sum of its parts, so splits add up
    exactly."""
    if not readings:
        return []
    cur = model.currency
    pipeline = any(st.index < len(model.stage_events) and
                   model.stage_events[st.index] == OPPORTUNITY_EVENT for st in model.stages)
    wanted = [f for f in PERIOD_FIGURES if (model.cash is not None or f not in _CASH_FIGURES)
              and (pipeline or f not in ("pipeline_created", "opportunities_created"))]
    rows = []
    for k, label in enumerate(labels):
        b = dict(zip(READING, readings[k + 1], strict=True))
        d = dict(zip(READING, (y - x for x, y in zip(readings[k], readings[k + 1],
                                                     strict=True)), strict=True))
        flow = d.__getitem__
        f: dict[str, float] = {
            "bookings_open_pipeline": flow("bookings_open_pipeline_cents") / 100.0,
            "bookings_new_leads": flow("bookings_new_leads_cents") / 100.0,
            "renewal_bookings": flow("renewal_bookings_cents") / 100.0,
            "won_open_pipeline": float(flow("won_open_pipeline")),
            "won_new_leads": float(flow("won_new_leads")),
            "renewals": float(flow("renewals")),
            "pipeline_created": flow("pipeline_created"),
            "opportunities_created": float(flow("opportunities_created")),
            "invoiced": flow("invoiced_cents") / 100.0,
            "invoices": float(flow("invoices")),
            "cash_from_open_ar": flow("cash_from_open_ar_cents") / 100.0,
            "cash_from_new_invoices": flow("cash_from_new_invoices_cents") / 100.0,
            "written_off": flow("written_off_cents") / 100.0,
            "ar_outstanding": b["ar_outstanding_cents"] / 100.0,
            "open_invoices": float(b["open_invoices"]),
        }
        f["bookings"] = f["bookings_open_pipeline"] + f["bookings_new_leads"]
        f["total_bookings"] = f["bookings"] + f["renewal_bookings"]
        f["won"] = f["won_open_pipeline"] + f["won_new_leads"]
        f["cash_collected"] = f["cash_from_open_ar"] + f["cash_from_new_invoices"]
        rows += [Row(name, "period", label, unit_in(name, cur), f[name]) for name in wanted]
    return rows
