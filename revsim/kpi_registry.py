"""Every KPI revsim reports, defined once: label, unit, direction, bounds, aggregation, section.

The terminal table, kpis.csv, the HTML report, the plots, comparisons ("which way is better"),
optimize objectives and the docs all read this module, so a KPI is added in one place. A
KPI's id is its ``metric`` in the tidy tables; one id can appear in several scopes (``leads_in``
is a total and a per-source count), with the same meaning and unit.

Units: ``count``, ``share`` (0..1), ``h`` (hours), ``d`` (days), ``per week``, ``staff-h``
(staff hours) and ``$``, which stands for the scenario's currency.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from revsim.units import format_duration, format_money

Direction = Literal["higher", "lower", "neutral"]
CURRENCY = "$"
SCOPES = ("total", "cash", "source", "stage", "pool", "period")
#: The heading of each scope's section in the terminal table and the report, in display order.
SECTIONS: dict[str, str] = {
    "total": "Whole cycle",
    "cash": "Cash (deals, invoices, payments)",
    "source": "Leads in, by source",
    "stage": "Stages",
    "pool": "Staff pools",
    "period": "Forecast, per period",
}
#: Scopes shown as a matrix (one row per stage or pool, one column per KPI), not as rows.
MATRIX_SCOPES = ("stage", "pool")
#: Units that are not money (any other unit of a tidy table is a currency code).
PLAIN_UNITS = frozenset({"count", "share", "h", "d", "per week", "staff-h", ""})
_NON_NEGATIVE_UNITS = frozenset({"count", "h", "d", "per week", "staff-h"})


@dataclass(frozen=True)
class KPI:
    """One KPI: what it is called, how it is measured and which way is better."""

    id: str
    label: str
    unit: str
    #: "higher" or "lower" is better, or "neutral" (a volume that is neither)
    direction: Direction
    #: how one replication's value is made from the window
    aggregation: str
    #: the scopes (table sections) it is reported in
    scopes: tuple[str, ...] = ("total",)
    #: heading of its column in the per-stage / per-pool matrix (None: not a column)
    column: str | None = None
    #: a count that is structurally zero unless the scenario uses the feature
    hide_if_zero: bool = False
    description: str = ""
    #: when a run reports it only for some scenarios: "scope: condition" ("" = always)
    only_when: str = ""

    @property
    def bounds(self) -> tuple[float, float]:
        """The natural range of a value (a CI is cut at it): 0..1 for shares, >= 0 else."""
        return unit_bounds(self.unit)

    @property
    def window_total(self) -> bool:
        """A count or amount summed over the window, so it scales with the window's length."""
        return self.aggregation in (_COUNT_IN_WINDOW, _AMOUNT_IN_WINDOW)

    @property
    def at_end(self) -> bool:
        """A level read at the end of the window (or period), not a total over it."""
        return self.aggregation == _AT_END

    @property
    def sign(self) -> int:
        """+1 when higher is better, -1 when lower is better, 0 when neutral."""
        return {"higher": 1, "lower": -1, "neutral": 0}[self.direction]


def _k(id: str, label: str, unit: str, direction: Direction, aggregation: str,
       scopes: tuple[str, ...] = ("total",), **kw: object) -> KPI:
    return KPI(id, label, unit, direction, aggregation, scopes, **kw)  # type: ignore[arg-type]


_COUNT_IN_WINDOW = "count in the window"
_AMOUNT_IN_WINDOW = "amount in the window"
_TIME_AVERAGE = "time average over the window"
_AT_END = "value at the end of the window"
_MEAN_OVER = "mean over the window's items"
_MEDIAN_OVER = "median over the window's items"
_P90_OVER = "90th percentile over the window's items"
_RATIO = "ratio of two window totals"
_CAN_REFUSE = "stage: a stage with a queue or WIP limit and when_full = lose"
_HAS_TARGET = "stage: a stage with a service_level target"
_FORECAST = "period: a forecast (figures per period)"
_FORECAST_CASH = "period: a forecast of a scenario with a cash side"
_IN_PERIOD = "amount in the period"
_COUNT_IN_PERIOD = "count in the period"

KPIS: tuple[KPI, ...] = (
    # -- the whole cycle ------------------------------------------------------------------------
    _k("leads_in", "leads in", "count", "neutral", _COUNT_IN_WINDOW, ("total", "source")),
    _k("won", "deals won", "count", "higher", _COUNT_IN_WINDOW, ("total", "period")),
    _k("lost", "lost", "count", "lower", _COUNT_IN_WINDOW),
    _k("disqualified", "disqualified", "count", "lower", _COUNT_IN_WINDOW),
    _k("reneged", "lost to reneging", "count", "lower", _COUNT_IN_WINDOW, ("total", "stage"),
       hide_if_zero=True, only_when="stage: a stage whose patience mode is renege"),
    _k("balked", "lost to full queue", "count", "lower", _COUNT_IN_WINDOW, ("total", "stage"),
       hide_if_zero=True, only_when="stage: a stage with a queue or WIP limit"),
    _k("done", "done", "count", "neutral", _COUNT_IN_WINDOW, hide_if_zero=True,
       only_when="total: a lead reached a done exit in the window"),
    _k("bookings", "bookings", CURRENCY, "higher", _AMOUNT_IN_WINDOW, ("total", "period")),
    _k("conversion", "conversion", "share", "higher", _RATIO, ("total", "stage"),
       column="conversion"),
    _k("time_to_first_touch_mean", "time to first touch, mean", "h", "lower", _MEAN_OVER),
    _k("time_to_first_touch_median", "time to first touch, median", "h", "lower", _MEDIAN_OVER),
    _k("time_to_first_touch_p90", "time to first touch, p90", "h", "lower", _P90_OVER),
    *(_k(f"touched_within_{tag}", f"first touched within {text}", "share", "higher",
         "share of the window's first touches",
         description=f"Speed to lead: the share of the leads first touched in the window whose "
         f"first touch came within {text} of their arrival (leads never touched, e.g. gone "
         "cold or reneged, are counted by abandoned).")
      for tag, text in (("5min", "5 minutes"), ("1h", "1 hour"), ("24h", "24 hours"))),
    _k("cycle_time_mean", "cycle time created->won, mean", "d", "lower", _MEAN_OVER),
    _k("cycle_time_median", "cycle time created->won, median", "d", "lower", _MEDIAN_OVER),
    _k("cycle_time_p90", "cycle time created->won, p90", "d", "lower", _P90_OVER),
    _k("leads_in_system_mean", "leads in the system, mean", "count", "neutral", _TIME_AVERAGE),
    # -- stages ---------------------------------------------------------------------------------
    _k("arrivals", "arrivals", "count", "neutral", _COUNT_IN_WINDOW, ("stage",)),
    _k("throughput", "throughput", "per week", "higher", "completions per week",
       ("stage",), column="throughput"),
    _k("time_in_stage_mean", "time in stage, mean", "h", "lower", _MEAN_OVER, ("stage",),
       column="time in stage"),
    _k("time_in_stage_p90", "time in stage, p90", "h", "lower", _P90_OVER, ("stage",)),
    _k("wip_mean", "in stage (WIP), mean", "count", "neutral", _TIME_AVERAGE, ("stage",),
       column="WIP"),
    _k("wait_mean", "wait, mean (served leads)", "h", "lower", _MEAN_OVER, ("stage",), column="wait mean"),
    _k("wait_p90", "wait, p90 (served leads)", "h", "lower", _P90_OVER, ("stage",), column="wait p90"),
    _k("p_wait", "share that waited (served leads)", "share", "lower", _RATIO, ("stage",)),
    _k("queue_mean", "queue length, mean", "count", "lower", _TIME_AVERAGE, ("stage",),
       column="queue"),
    _k("staff_hours", "staff hours", "staff-h", "neutral", _AMOUNT_IN_WINDOW, ("stage",)),
    # -- staff pools ----------------------------------------------------------------------------
    _k("utilisation", "utilisation (working hours)", "share", "neutral",
       "busy staff hours / available staff hours", ("pool",), column="utilisation"),
    _k("available_hours", "available staff hours", "staff-h", "neutral", _AMOUNT_IN_WINDOW,
       ("pool",), column="available hours"),
    _k("headcount_end", "headcount at end", "count", "neutral", _AT_END, ("pool",),
       column="headcount at end"),
    # -- cash -----------------------------------------------------------------------------------
    _k("renewals", "renewals", "count", "higher", _COUNT_IN_WINDOW, ("cash", "period")),
    _k("renewal_bookings", "renewal bookings", CURRENCY, "higher", _AMOUNT_IN_WINDOW,
       ("cash", "period")),
    _k("not_renewed", "subscriptions not renewed", "count", "lower", _COUNT_IN_WINDOW,
       ("cash",)),
    _k("go_lives", "go-lives", "count", "higher", _COUNT_IN_WINDOW, ("cash",)),
    _k("time_to_go_live_median", "time won->go-live, median", "d", "lower", _MEDIAN_OVER,
       ("cash",)),
    _k("churned_in_onboarding", "churned in onboarding", "count", "lower", _COUNT_IN_WINDOW,
       ("cash",), hide_if_zero=True),
    _k("invoices", "invoices issued", "count", "neutral", _COUNT_IN_WINDOW, ("cash", "period")),
    _k("invoiced", "invoiced", CURRENCY, "higher", _AMOUNT_IN_WINDOW, ("cash", "period")),
    _k("cash_collected", "cash collected", CURRENCY, "higher", _AMOUNT_IN_WINDOW,
       ("cash", "period")),
    _k("time_to_cash_median", "time to cash won->paid, median", "d", "lower", _MEDIAN_OVER,
       ("cash",)),
    _k("time_to_cash_p90", "time to cash won->paid, p90", "d", "lower", _P90_OVER, ("cash",)),
    _k("dso", "DSO (AR end / invoiced x days)", "d", "lower",
       "AR at the end / amount invoiced in the window x days in the window", ("cash",)),
    _k("ar_outstanding", "AR outstanding at end", CURRENCY, "lower", _AT_END,
       ("cash", "period")),
    _k("ar_current", "AR not yet due", CURRENCY, "neutral", _AT_END, ("cash",)),
    _k("ar_1_30", "AR 1-30 days past due", CURRENCY, "lower", _AT_END, ("cash",)),
    _k("ar_31_60", "AR 31-60 days past due", CURRENCY, "lower", _AT_END, ("cash",)),
    _k("ar_61_90", "AR 61-90 days past due", CURRENCY, "lower", _AT_END, ("cash",)),
    _k("ar_90_plus", "AR over 90 days past due", CURRENCY, "lower", _AT_END, ("cash",)),
    _k("overdue_share", "overdue share of AR", "share", "lower", _AT_END, ("cash",)),
    _k("written_off", "written off", CURRENCY, "lower", _AMOUNT_IN_WINDOW, ("cash", "period"),
       hide_if_zero=True),
    _k("bad_debt_rate", "bad-debt rate (written off / invoiced)", "share", "lower", _RATIO,
       ("cash",)),
    _k("dunning_touches", "dunning touches", "count", "neutral", _COUNT_IN_WINDOW, ("cash",)),
    # -- stages: losses and waiting over all arrivals -------------------------------------------
    _k("blocked", "blocked (refused at a full stage)", "count", "lower", _COUNT_IN_WINDOW,
       ("stage",), column="blocked", hide_if_zero=True,
       description="Leads refused on arrival because the stage was full (when_full = lose).",
       only_when=_CAN_REFUSE),
    _k("blocked_share", "blocked share of arrivals", "share", "lower", _RATIO, ("stage",),
       description="blocked / arrivals (arrivals include the blocked leads).",
       only_when=_CAN_REFUSE),
    _k("abandoned", "abandoned (reneged or gone cold)", "count", "lower", _COUNT_IN_WINDOW,
       ("stage",), column="abandoned", hide_if_zero=True,
       description="Leads whose patience ran out while waiting: they left the queue "
       "(renege) or were served cold (decay)."),
    _k("abandoned_share", "abandoned share of arrivals", "share", "lower", _RATIO, ("stage",),
       description="abandoned / arrivals."),
    _k("p_wait_all", "share that waited (all arrivals)", "share", "lower", _RATIO, ("stage",),
       description="Share of the admitted arrivals whose wait ended in the window (served or "
       "gave up) that waited at all; blocked leads never joined the queue."),
    _k("wait_mean_all", "wait, mean (all arrivals)", "h", "lower", _MEAN_OVER, ("stage",),
       description="Mean wait of the admitted arrivals whose wait ended in the window; a lead "
       "that gave up counts the time it waited."),
    _k("p_wait_over_target", "waited over the service-level target (served leads)", "share",
       "lower", _RATIO, ("stage",),
       description="Share of the served leads that waited longer than the stage's "
       "service_level; reported only for stages that set one.", only_when=_HAS_TARGET),
    _k("p_wait_over_target_all", "waited over the service-level target (all arrivals)",
       "share", "lower", _RATIO, ("stage",),
       description="As p_wait_over_target, over every admitted arrival whose wait ended "
       "(a lead that gave up counts the time it waited).", only_when=_HAS_TARGET),
    # -- cash: time averages --------------------------------------------------------------------
    _k("ar_outstanding_mean", "AR outstanding, time average", CURRENCY, "lower", _TIME_AVERAGE,
       ("cash",)),
    _k("open_invoices", "open invoices at end", "count", "neutral", _AT_END, ("cash", "period")),
    _k("open_invoices_mean", "open invoices, time average", "count", "neutral", _TIME_AVERAGE,
       ("cash",)),
    # -- a forecast's figures per period (a window total above is the period's total there) ----
    _k("total_bookings", "bookings incl. renewals", CURRENCY, "higher", _IN_PERIOD, ("period",),
       description="New business plus renewals: bookings_open_pipeline + bookings_new_leads + "
       "renewal_bookings.", only_when=_FORECAST),
    _k("bookings_open_pipeline", "bookings from the open pipeline", CURRENCY, "higher",
       _IN_PERIOD, ("period",), description="Deals won that were open at the as-of date.",
       only_when=_FORECAST),
    _k("bookings_new_leads", "bookings from new leads", CURRENCY, "higher", _IN_PERIOD,
       ("period",), description="Deals won that were created after the as-of date.",
       only_when=_FORECAST),
    _k("won_open_pipeline", "deals won from the open pipeline", "count", "higher",
       _COUNT_IN_PERIOD, ("period",), only_when=_FORECAST),
    _k("won_new_leads", "deals won from new leads", "count", "higher", _COUNT_IN_PERIOD,
       ("period",), only_when=_FORECAST),
    _k("pipeline_created", "new pipeline created", CURRENCY, "higher", _IN_PERIOD, ("period",),
       description="Value of the deals entering the opportunity stage (the stage whose event "
       "is opportunity_created).",
       only_when="period: a forecast of a scenario with an opportunity_created stage"),
    _k("opportunities_created", "opportunities created", "count", "higher", _COUNT_IN_PERIOD,
       ("period",), description="Deals entering the opportunity stage.",
       only_when="period: a forecast of a scenario with an opportunity_created stage"),
    _k("cash_from_open_ar", "cash from open AR", CURRENCY, "higher", _IN_PERIOD, ("period",),
       description="Payments on invoices that were open at the as-of date.",
       only_when=_FORECAST_CASH),
    _k("cash_from_new_invoices", "cash from new invoices", CURRENCY, "higher", _IN_PERIOD,
       ("period",), description="Payments on invoices issued after the as-of date.",
       only_when=_FORECAST_CASH),
)

BY_ID: dict[str, KPI] = {k.id: k for k in KPIS}

#: Named selections of (metric, scope), in display order; each consumer reads its view.
VIEWS: dict[str, tuple[tuple[str, str], ...]] = {
    # what --precision drives to its target
    "precision": (("leads_in", "total"), ("won", "total"), ("bookings", "total"),
                  ("conversion", "total"), ("time_to_first_touch_median", "total"),
                  ("cycle_time_median", "total"), ("cash_collected", "cash"), ("dso", "cash")),
    # the comparison's terminal table and the report's comparison table
    "compare": (("won", "total"), ("bookings", "total"), ("conversion", "total"),
                ("cycle_time_median", "total"), ("time_to_first_touch_median", "total"),
                ("cash_collected", "cash"), ("dso", "cash")),
    # the comparison's multi-KPI forest plot
    "forest": (("won", "total"), ("bookings", "total"), ("cash_collected", "cash"),
               ("cycle_time_median", "total"), ("time_to_first_touch_median", "total")),
    # the report's "at a glance" cards
    "glance": (("won", "total"), ("bookings", "total"), ("conversion", "total"),
               ("cycle_time_median", "total"), ("time_to_first_touch_median", "total"),
               ("cash_collected", "cash"), ("dso", "cash"), ("ar_outstanding", "cash")),
    # the columns of the terminal's stage and pool matrices, in order
    "stage_matrix": (("throughput", "stage"), ("conversion", "stage"), ("wait_mean", "stage"),
                     ("wait_p90", "stage"), ("time_in_stage_mean", "stage"),
                     ("queue_mean", "stage"), ("wip_mean", "stage"), ("blocked", "stage"),
                     ("abandoned", "stage")),
    "pool_matrix": (("utilisation", "pool"), ("available_hours", "pool"),
                    ("headcount_end", "pool")),
    # the sweep report's table columns (when the sweep has them) and the sweep plots' KPIs
    "sweep_table": (("won", "total"), ("bookings", "total"), ("cash_collected", "cash"),
                    ("cycle_time_median", "total")),
    "sweep_plots": (("won", "total"), ("bookings", "total"), ("cash_collected", "cash")),
    # what one more head is worth (bottlenecks)
    "marginal": (("won", "total"), ("bookings", "total"), ("cash_collected", "cash"),
                 ("cycle_time_mean", "total"), ("time_to_first_touch_mean", "total")),
}


def kpi(metric: str) -> KPI | None:
    """The definition of ``metric``, or None for an id that is not a KPI (e.g. staff_cost)."""
    return BY_ID.get(metric)


def label(metric: str) -> str:
    """The human label of a KPI (its id with spaces for an unknown one)."""
    found = BY_ID.get(metric)
    return found.label if found else metric.replace("_", " ")


def display_label(metric: str) -> str:
    """The label for plots and HTML, with a real arrow: "cycle time created→won, median"."""
    return label(metric).replace("->", "→")


def direction(metric: str) -> Direction:
    """Which way is better for ``metric`` ("neutral" for unknown ids)."""
    found = BY_ID.get(metric)
    return found.direction if found else "neutral"


def verdict(metric: str, diff: float, significant: bool) -> str:
    """What a significant change of ``diff`` in ``metric`` means: "better" or "worse" by the
    KPI's direction, "changed" for a neutral KPI, else "no significant change"."""
    if not significant or not math.isfinite(diff) or diff == 0:
        return "no significant change"
    sign = BY_ID[metric].sign if metric in BY_ID else 0
    if sign == 0:
        return "changed"
    return "better" if sign * diff > 0 else "worse"


def columns(scope: str) -> list[tuple[str, str]]:
    """(metric, heading) of the matrix columns of the "stage" or "pool" table, in order."""
    return [(metric, BY_ID[metric].column or label(metric))
            for metric, _ in VIEWS[f"{scope}_matrix"]]


def view(name: str) -> tuple[tuple[str, str], ...]:
    """A named selection of (metric, scope) pairs, e.g. ``view("compare")``."""
    return VIEWS[name]


def hidden_if_zero() -> frozenset[str]:
    return frozenset(k.id for k in KPIS if k.hide_if_zero)


def ids(scopes: Iterable[str] | None = None) -> list[str]:
    """KPI ids, optionally only those reported in one of ``scopes``."""
    if scopes is None:
        return [k.id for k in KPIS]
    wanted = set(scopes)
    return [k.id for k in KPIS if wanted.intersection(k.scopes)]


def unit_bounds(unit: str, currency_units: frozenset[str] = frozenset()) -> tuple[float, float]:
    """The natural range of a value in ``unit``: shares 0..1, counts, times and money >= 0."""
    if unit == "share":
        return 0.0, 1.0
    if unit in _NON_NEGATIVE_UNITS or unit in currency_units or unit == CURRENCY:
        return 0.0, math.inf
    return -math.inf, math.inf


def format_value(value: float | None, unit: str, currency: str = "USD") -> str:
    """A value in human units: $1.2M, 23.4%, 3.2 h, 41.0 d, 12.5/w, 1,234 (NaN: "-")."""
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
    if unit in (currency, CURRENCY):
        return format_money(value, currency)
    if abs(value) >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def format_signed(value: float, unit: str, currency: str = "USD") -> str:
    """A difference with its sign: +$12k, -3.4 d, +0.5% (NaN or infinite: "-")."""
    if value is None or not math.isfinite(value):
        return "-"
    return ("+" if value >= 0 else "-") + format_value(abs(value), unit, currency)


def unit_in(metric: str, currency: str) -> str:
    """The unit of ``metric``'s values in a run whose money is in ``currency``."""
    unit = BY_ID[metric].unit
    return currency if unit == CURRENCY else unit


def markdown_table() -> str:
    """docs/kpis.md: every KPI with its label, unit, direction, aggregation and scopes."""
    lines = [
        "# KPIs",
        "",
        "Every KPI revsim reports, generated from `revsim/kpi_registry.py` by",
        "`revsim.kpi_registry.markdown_table()` (do not edit by hand; tests/test_docs.py checks",
        "it). A KPI's id is its `metric` in kpis.csv and the sweep tables.",
        "",
        f"Units: `{CURRENCY}` is the scenario's currency, `share` is 0..1, `h` hours, `d` days,",
        "`staff-h` staff hours. Direction: which way is better (`neutral`: neither).",
    ]
    for scope in SCOPES:
        lines += ["", f"## {SECTIONS[scope]} (scope `{scope}`)", "",
                  "| id | label | unit | bounds | better | aggregation | also in |",
                  "|---|---|---|---|---|---|---|"]
        for k in KPIS:
            if k.scopes[0] != scope:
                continue
            others = ", ".join(f"`{s}`" for s in k.scopes[1:])
            low, high = k.bounds
            bounds = f"{low:g}..{high:g}" if math.isfinite(high) else f">= {low:g}"
            lines.append(f"| `{k.id}` | {k.label} | {k.unit} | {bounds} | {k.direction} | "
                         f"{k.aggregation}{' (' + k.description + ')' if k.description else ''}"
                         f"{'; only for ' + k.only_when if k.only_when else ''}"
                         f" | {others} |")
    return "\n".join(lines) + "\n"
