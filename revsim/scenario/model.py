"""The compiled scenario: plain, validated numbers and objects that the engine runs.

Times are hours since the scenario start; rates are per hour; money is in the scenario currency.

A scenario has two representations, and this one is derived from the other. The pydantic spec
(:mod:`revsim.scenario.schema`, :mod:`~revsim.scenario.schema_money`) is what the user writes:
sections of named entries, names that refer to each other, dates, distribution specs as
tables, per-segment overrides as partial tables; pydantic checks it field by field so that
every problem is reported with its path. :func:`revsim.scenario.compile.compile_scenario`
turns it, once, into the dataclasses here, which hold what the engine needs instead: indices
for names, samplers (:class:`~revsim.distributions.Distribution`) for distribution specs,
cumulative route probabilities, hours since the start for dates, per-segment tables keyed by
segment index with the defaults merged in, a calendar's weekly open runs, and things no spec
states (the internal billing and collections stages, the sales stages, the event names). So
the two layers hold different things, not the same fields twice; nothing here is read back
into a spec. The few values that pass through unchanged (the ``[scenario]`` clock, a stage's
queue options) stay plain attributes so that the compiled engine reads them natively. Lists
that the spec alone defines, such as the sections that are tables of named entries, are read
off the spec (``schema.SECTION_MODELS``) rather than written again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from revsim.distributions import Distribution

if TYPE_CHECKING:
    from revsim.scenario.start_model import StartState

# Route targets: a non-negative int is a stage index; negative ints are outcomes. Final, so that
# the compiled engine uses them as constants.
WON: Final = -1
LOST: Final = -2
DISQUALIFIED: Final = -3
DONE: Final = -4
NURTURE: Final = -5
RENEGED: Final = -6
BALKED: Final = -7
# delivery ends; billing/collections work done
LIVE: Final = -8
CHURNED: Final = -9
ISSUED: Final = -10
REMINDED: Final = -11
OUTCOME_SLOTS: Final = 12  # outcome codes are -1..-11; counters index by target + OUTCOME_SLOTS
OUTCOME_NAMES: dict[int, str] = {
    WON: "won",
    LOST: "lost",
    DISQUALIFIED: "disqualified",
    DONE: "done",
    NURTURE: "nurture",
    RENEGED: "reneged",
    BALKED: "balked",
    LIVE: "live",
    CHURNED: "churned",
    ISSUED: "issued",
    REMINDED: "reminded",
}
TERMINAL_CODES: dict[str, int] = {
    "won": WON,
    "lost": LOST,
    "disqualified": DISQUALIFIED,
    "done": DONE,
    "nurture": NURTURE,
    "live": LIVE,
    "churned": CHURNED,
}
#: The stage event at which a deal becomes an opportunity: entering that stage creates pipeline.
OPPORTUNITY_EVENT = "opportunity_created"
BILLING_STAGE = "billing"
COLLECTIONS_STAGE = "collections"

DECAY_CURVES: dict[str, tuple[float, float, float]] = {
    # (weight of the fast phase, tau1 hours, tau2 hours): two-phase exponential patience fitted to
    # the HBR 2011 ratios ("moderate") and HBR + MIT/InsideSales 2007 ratios ("aggressive");
    # see docs/domain.md section 1.4. Both reproduce their target odds ratios exactly.
    "moderate": (0.962, 18.7 / 60.0, 17.8),
    "aggressive": (0.984, 5.3 / 60.0, 15.3),
}


@dataclass(frozen=True)
class Routing:
    """Probabilistic next step: ``targets[i]`` with cumulative probability ``cumulative[i]``."""

    targets: tuple[int, ...]
    cumulative: tuple[float, ...]
    probabilities: tuple[float, ...]


@dataclass(frozen=True)
class SourceModel:
    name: str
    rate: float
    to: int
    hour_profile: tuple[float, ...] | None
    weekday_profile: tuple[float, ...] | None
    month_profile: tuple[float, ...] | None
    segment_index: tuple[int, ...]
    segment_probs: tuple[float, ...]
    score: Distribution | None
    value: Distribution | None
    limit: int | None
    bursts: tuple[tuple[float, int, float], ...]


@dataclass(frozen=True)
class HireModel:
    at: float
    count: int
    ramp: tuple[float, float] | None


@dataclass(frozen=True)
class CalendarModel:
    """A checked working calendar: the weekly pattern of open hours minus holidays.

    Built by :mod:`revsim.scenario.compile_calendar`; the engine answers time queries on it
    with a :class:`~revsim.engine.calendar.WorkingCalendar`. Times are hours from midnight at
    ``start``; ``runs`` are the merged open runs of one week (hour 0 = the start's weekday
    00:00; the last may end past 168, wrapping into the next week) and ``holiday_spans`` the
    merged clock-day spans of the holidays on or after the start.
    """

    start: dt.date
    days: tuple[int, ...]
    shifts: tuple[tuple[float, float], ...]
    holidays: tuple[Any, ...]
    runs: tuple[tuple[float, float], ...]
    holiday_spans: tuple[tuple[float, float], ...]

    def week_hours(self) -> float:
        """Working hours in one week without holidays."""
        return sum(hi - lo for lo, hi in self.runs)

    def open_fraction(self) -> float:
        """Long-run share of hours that are working hours (holidays ignored), in [0, 1]."""
        return min(self.week_hours() / 168.0, 1.0)


@dataclass(frozen=True)
class PoolModel:
    name: str
    index: int
    headcount: int
    calendar: CalendarModel
    calendar_name: str
    ramp: tuple[float, float] | None
    hires: tuple[HireModel, ...]
    departures: tuple[tuple[float, int], ...]
    attrition: float | None
    backfill_after: float | None
    cost_per_head: float | None

    def planned_headcount(self, start: float, end: float) -> float:
        """Average headcount over [start, end] hours under the plan: the starting team plus
        the hires and minus the departures scheduled so far (random attrition is not planned,
        so it is left out; ramping hires count in full, as they are paid in full)."""
        if end <= start:
            raise ValueError("the window must end after it starts")
        changes = sorted([(h.at, h.count) for h in self.hires]
                         + [(at, -n) for at, n in self.departures])
        area, level, t = 0.0, float(self.headcount), start
        for at, delta in changes:
            if at > start:
                stop = min(at, end)
                area += level * (stop - t)
                t = stop
            if at >= end:
                break
            level = max(level + delta, 0.0)
        return (area + level * (end - t)) / (end - start)


@dataclass(frozen=True)
class StageModel:
    name: str
    index: int
    pool: int | None
    work: Distribution | None
    delay: Distribution | None
    discipline: str
    priority: str | None
    pool_priority: int
    queue_limit: int | None
    wip_limit: int | None
    when_full: str
    patience: Distribution | None
    patience_mode: str | None
    decay_outcome: int
    routes: Routing
    routes_by_segment: dict[int, Routing]
    work_scale: float = 1.0
    delay_by_route: dict[int, Distribution] = field(default_factory=dict)
    service_level: float | None = None  # wait target (h) that P(wait > target) is reported for

    @property
    def staffed(self) -> bool:
        return self.pool is not None

    @property
    def loses_when_full(self) -> bool:
        """A finite capacity (queue_limit or wip_limit) and the leads beyond it lost: the stage
        never holds more than a fixed number, so nothing there grows without bound whatever the
        load (an M/M/c/K is stable at every load; queue_limit = 0 is Erlang B's loss system)."""
        return self.when_full == "lose" and (self.queue_limit is not None
                                             or self.wip_limit is not None)


@dataclass(frozen=True)
class NurtureModel:
    after: Distribution
    to: int
    max_cycles: int


@dataclass(frozen=True)
class ContractModel:
    """How a won deal of one segment is booked and billed (times in hours)."""

    one_off: bool
    term: float
    renewal: float
    slow_onboarding: float | None
    renewal_if_slow: float | None
    billing: str
    service_start: str
    milestones: tuple[tuple[float, str, float], ...]  # (share, "signature"|"go_live", after)
    terms: float  # hours


@dataclass(frozen=True)
class PaymentModel:
    """Payment behaviour of one segment's invoices (times in hours)."""

    on_time: float
    late: float
    never: float
    on_time_delay: Distribution | None
    lateness: Distribution | None
    write_off_after: float
    partial_share: float
    partial_first: float
    partial_gap: float


@dataclass(frozen=True)
class CashModel:
    """Deals, billing, payment and dunning. Per-segment tables are keyed by segment index,
    with -1 for the default."""

    onboarding: int | None
    contracts: dict[int, ContractModel]
    payments: dict[int, PaymentModel]
    billing_stage: int | None
    run_days: tuple[int, ...]  # day of month; 0 means the last day
    reminders: tuple[float, ...]
    dunning_factor: float
    dunning_window: float
    collections_stage: int | None

    def contract(self, segment: int) -> ContractModel:
        return self.contracts.get(segment, self.contracts[-1])

    def payment(self, segment: int) -> PaymentModel:
        return self.payments.get(segment, self.payments[-1])


@dataclass(frozen=True)
class Model:
    """A scenario ready to simulate."""

    name: str
    start: dt.date
    horizon: float
    warmup: float
    currency: str
    sample_every: float
    segments: tuple[str, ...]
    segment_values: tuple[Distribution | None, ...]
    sources: tuple[SourceModel, ...]
    pools: tuple[PoolModel, ...]
    stages: tuple[StageModel, ...]
    nurture: NurtureModel | None
    cash: CashModel | None = None
    stage_events: tuple[str, ...] = ()
    sales_stages: tuple[int, ...] = ()  # stages leads visit before they are won (the funnel)
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)
    #: what is in flight at the start (a forecast's warm start); None: the cycle starts empty
    start_state: StartState | None = field(default=None, repr=False)

    def stage_index(self, name: str) -> int:
        return next(s.index for s in self.stages if s.name == name)

    def target_name(self, target: int) -> str:
        return self.stages[target].name if target >= 0 else OUTCOME_NAMES[target]
