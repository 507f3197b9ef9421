"""The scenario file format, as pydantic models: structure, types and units.

Cross-references (a stage naming a pool, routes naming stages) and distribution parameters are
checked afterwards in :mod:`revsim.scenario.compile`, so that every problem is reported at once
even when some sections fail here.
"""

from __future__ import annotations

import re
import typing
from typing import Any, Literal

from pydantic import BaseModel, Field

from revsim.limits import MAX_COUNT, MAX_CYCLES, MAX_HEADCOUNT, MAX_PRIORITY
from revsim.scenario.schema_base import (
    Date,
    DistSpec,
    Duration,
    Moment,
    Money,
    Probability,
    Rate,
    Section,
)
from revsim.scenario.schema_money import BillingSpec, DealsSpec, DunningSpec, PaymentSpec

TERMINALS = ("won", "lost", "disqualified", "done", "live", "churned")
"""Route targets that end a lead's journey (besides ``nurture``, which recycles it).
``live`` and ``churned`` end a won deal's delivery (onboarding) stages."""
NURTURE = "nurture"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Meta(Section):
    """The ``[scenario]`` table: name, clock and horizon."""

    name: str = Field("unnamed scenario", max_length=200, description="Shown in tables and reports.")
    description: str = ""
    start: Date = Field(description="Calendar date at simulated time 0 (midnight).")
    horizon: Duration = Field(description="How long to simulate, e.g. \"52 w\".")
    warmup: Duration = Field(0.0, description="Initial period excluded from statistics.")
    currency: str = Field("USD", min_length=1, max_length=12,
                          description="ISO code of every amount in the file.")
    sample_every: Duration = Field(24.0, gt=0, description="Spacing of the level time series.")


class CalendarSpec(Section):
    """A working calendar: weekdays, daily hours and holidays."""

    days: list[str] = Field(
        default_factory=lambda: ["mon-fri"], description="Working days: names or ranges."
    )
    hours: list[str] = Field(
        default_factory=lambda: ["09:00-17:00"],
        description="Working hours each working day, 24-hour \"HH:MM-HH:MM\"; a shift that ends "
        "the next day says so with +1: \"22:00-06:00+1\".",
    )
    holidays: list[Date] = Field(default_factory=list, description="Whole days off.")


class SegmentSpec(Section):
    """A customer segment (e.g. smb, mid, enterprise) and its deal-value distribution."""

    value: DistSpec = Field(description="Deal value, in the scenario currency.")
    description: str = ""


class Burst(Section):
    """A one-off batch of leads, e.g. a webinar list dropped on a date."""

    at: Moment = Field(description="When the batch lands.")
    count: int = Field(gt=0, le=MAX_COUNT, description="Number of leads.")
    over: Duration = Field(0.0, description="Spread the batch uniformly over this window.")


class SourceSpec(Section):
    """A lead source (channel): a non-homogeneous Poisson arrival process."""

    rate: Rate = Field(description="Long-run mean arrival rate, e.g. \"120/w\".")
    to: str = Field(description="The stage new leads enter.")
    hour_profile: list[float] | None = Field(None, description="24 relative weights, hour 0-23.")
    weekday_profile: list[float] | None = Field(None, description="7 weights, Mon..Sun.")
    month_profile: list[float] | None = Field(None, description="12 weights, Jan..Dec.")
    segments: dict[str, Probability] | str | None = Field(
        None, description="Share of leads per segment, or one segment name."
    )
    score: DistSpec | None = Field(None, description="Lead score distribution (a number).")
    value: DistSpec | None = Field(None, description="Deal value; overrides the segment's.")
    limit: int | None = Field(None, gt=0, le=MAX_COUNT, description="Stop after this many arrivals.")
    bursts: list[Burst] = Field(default_factory=list)
    description: str = ""


class Ramp(Section):
    """Productivity of a new hire rises linearly from ``start`` to 1 over ``duration``."""

    duration: Duration = Field(description="Time to full productivity.")
    start: float = Field(0.5, gt=0, le=1, description="Productivity on day one (0-1].")


class Hire(Section):
    """Hires joining a pool on a date."""

    date: Date = Field(description="First working day.")
    count: int = Field(1, gt=0, le=MAX_HEADCOUNT, description="People hired that day.")
    ramp: Ramp | None = Field(None, description="Overrides the pool's ramp.")


class Departure(Section):
    """Planned departures from a pool on a date (busy staff finish their current item)."""

    date: Date = Field(description="Day they leave.")
    count: int = Field(1, gt=0, le=MAX_HEADCOUNT, description="People leaving that day.")


class PoolSpec(Section):
    """A staff pool: SDRs, AEs, onboarding, billing or collections staff."""

    headcount: int = Field(ge=0, le=MAX_HEADCOUNT, description="Fully productive staff at the start.")
    calendar: str = Field("always", description="Name of a [calendars] table, or \"always\".")
    ramp: Ramp | None = Field(None, description="Default ramp for hires and backfills.")
    hires: list[Hire] = Field(default_factory=list)
    departures: list[Departure] = Field(default_factory=list)
    attrition: Rate | None = Field(None, description="Departures per head per unit time.")
    backfill_after: Duration | None = Field(None, description="Delay before a leaver is replaced.")
    cost_per_head: Money | None = Field(None, description="Fully loaded cost per head per year.")
    description: str = ""


class PatienceSpec(Section):
    """How long a lead waits for first touch before it leaves or goes cold."""

    on_expiry: Literal["renege", "decay"] = Field(
        "decay", description="renege: the lead leaves the queue; decay: it stays but goes cold."
    )
    curve: Literal["moderate", "aggressive"] | None = Field(
        None, description="A speed-to-lead preset instead of `after`."
    )
    after: DistSpec | None = Field(None, description="Patience distribution (a duration).")


class StageSpec(Section):
    """A stage of the cycle: staffed work and/or a pure delay, then probabilistic routes."""

    pool: str | None = Field(None, description="Staff pool that works the stage.")
    work: DistSpec | None = Field(None, description="Staff time per item (a duration).")
    delay: DistSpec | None = Field(None, description="Unstaffed delay after the work.")
    delay_by_route: dict[str, DistSpec] = Field(
        default_factory=dict,
        description="Outcome-specific delays: the route is drawn first, then its own delay "
        "(e.g. won deals close slower than lost ones); other routes use `delay`.",
    )
    work_scale: float = Field(
        1.0, gt=0, le=1000, description="Multiplies the staff time (e.g. 0.7 after automating 30%)."
    )
    discipline: Literal["fifo", "lifo", "priority"] = Field(
        "fifo", description="Order in which waiting items are served."
    )
    priority: Literal["value", "score"] | None = Field(
        None, description="Attribute served highest-first; only with discipline = \"priority\"."
    )
    pool_priority: int = Field(0, ge=-MAX_PRIORITY, le=MAX_PRIORITY,
                               description="Higher is served first when stages share a pool.")
    queue_limit: int | None = Field(None, ge=0, le=MAX_COUNT, description="Most items waiting.")
    wip_limit: int | None = Field(None, gt=0, le=MAX_COUNT,
                                  description="Most items waiting or in work.")
    when_full: Literal["lose", "block"] = Field(
        "lose", description="At a limit: lose the arriving lead, or block the upstream server."
    )
    service_level: Duration | None = Field(
        None, description="Service-level target for the wait of a staffed stage, e.g. \"1 h\": "
        "the share of leads that waited longer is reported (KPI p_wait_over_target)."
    )
    patience: Literal["none", "moderate", "aggressive"] | PatienceSpec = Field(
        "none", description="Patience for first touch: a preset name or a table."
    )
    decay_outcome: str = Field(
        "disqualified", description="Where a lead that went cold while waiting is routed."
    )
    routes: dict[str, Probability] = Field(
        description="Next stage or outcome -> probability; must sum to 1."
    )
    routes_by_segment: dict[str, dict[str, Probability]] = Field(
        default_factory=dict, description="Per-segment routes that replace `routes`."
    )
    event: str | None = Field(
        None, description="Canonical activity logged when a lead enters, e.g. \"sql\" "
        "(default \"stage:NAME\")."
    )
    description: str = ""


class NurtureSpec(Section):
    """Recycling: leads routed to ``nurture`` come back to a stage after a delay."""

    after: DistSpec = Field(description="Time in nurture before a lead returns.")
    to: str = Field(description="Stage a returning lead re-enters.")
    max_cycles: int = Field(1, ge=0, le=MAX_CYCLES,
                            description="After this many cycles a lead is disqualified.")


class ParameterDrawsSpec(Section):
    """Bootstrap draws of the fitted parameters, written beside the scenario by ``revsim fit``."""

    file: str = Field(description="The draws file (JSON), relative to this scenario file.")
    sha256: str | None = Field(
        None, pattern=r"^[0-9a-f]{64}$",
        description="SHA-256 of the draws file; a file that does not match is refused.",
    )


class ScenarioFile(Section):
    """A revsim scenario: lead sources, staff pools, stages and their routes."""

    scenario: Meta
    calendars: dict[str, CalendarSpec] = Field(default_factory=dict)
    segments: dict[str, SegmentSpec] = Field(default_factory=dict)
    sources: dict[str, SourceSpec]
    pools: dict[str, PoolSpec] = Field(default_factory=dict)
    stages: dict[str, StageSpec]
    nurture: NurtureSpec | None = None
    deals: DealsSpec | None = None
    billing: BillingSpec | None = None
    payment: PaymentSpec | None = None
    dunning: DunningSpec | None = None
    parameter_draws: ParameterDrawsSpec | None = None


SECTION_MODELS: dict[str, type[BaseModel]] = {
    name: typing.get_args(info.annotation)[1]
    for name, info in ScenarioFile.model_fields.items()
    if typing.get_origin(info.annotation) is dict
}
"""Sections that are tables of named entries (calendars, segments, sources, pools, stages),
validated entry by entry; read off :class:`ScenarioFile` so the list is written once."""

NAME_SEPARATORS = ".:=;"
"""Characters a name in those sections may not hold: they separate the parts of the paths and
keys names are written in (``pools.NAME.headcount``, ``pool:NAME:utilisation``,
``--set PATH=VALUE;PATH=VALUE``), so a name holding one would be read as two."""


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a scenario file, for editors (``revsim schema``)."""
    schema = ScenarioFile.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "revsim scenario"
    for section in SECTION_MODELS:
        schema["properties"][section]["propertyNames"] = {
            "pattern": f"^[^{re.escape(NAME_SEPARATORS)}]+$"}
    return schema
