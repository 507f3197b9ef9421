"""The compiled scenario: plain, validated numbers and objects that the engine runs.

Times are hours since the scenario start; rates are per hour; money is in the scenario currency.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from revsim.distributions import Distribution
from revsim.engine.calendar import WorkingCalendar

# Route targets: a non-negative int is a stage index; negative ints are outcomes.
WON, LOST, DISQUALIFIED, DONE, NURTURE, RENEGED, BALKED = -1, -2, -3, -4, -5, -6, -7
OUTCOME_SLOTS = 8  # outcome codes are -1..-7; counters index by target + OUTCOME_SLOTS
OUTCOME_NAMES: dict[int, str] = {
    WON: "won",
    LOST: "lost",
    DISQUALIFIED: "disqualified",
    DONE: "done",
    NURTURE: "nurture",
    RENEGED: "reneged",
    BALKED: "balked",
}
TERMINAL_CODES: dict[str, int] = {
    "won": WON,
    "lost": LOST,
    "disqualified": DISQUALIFIED,
    "done": DONE,
    "nurture": NURTURE,
}

DECAY_CURVES: dict[str, tuple[float, float, float]] = {
    # (weight of the fast phase, tau1 hours, tau2 hours): two-phase exponential patience fitted to
    # the HBR 2011 ratios ("moderate") and HBR + MIT/InsideSales 2007 ratios ("aggressive");
    # see shared docs/domain.md section 1.4. Both reproduce their target odds ratios exactly.
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
class PoolModel:
    name: str
    index: int
    headcount: int
    calendar: WorkingCalendar
    calendar_name: str
    ramp: tuple[float, float] | None
    hires: tuple[HireModel, ...]
    departures: tuple[tuple[float, int], ...]
    attrition: float | None
    backfill_after: float | None
    cost_per_head: float | None


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

    @property
    def staffed(self) -> bool:
        return self.pool is not None


@dataclass(frozen=True)
class NurtureModel:
    after: Distribution
    to: int
    max_cycles: int


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
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    def stage_index(self, name: str) -> int:
        return next(s.index for s in self.stages if s.name == name)

    def target_name(self, target: int) -> str:
        return self.stages[target].name if target >= 0 else OUTCOME_NAMES[target]
