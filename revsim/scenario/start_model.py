"""The engine's warm start: what is in flight when a replication begins, in engine terms.

Built from a snapshot of the business (:mod:`revsim.state`) by :mod:`revsim.state.start`;
the engine places it at ``at`` (hours since the model start, usually 0: the snapshot's as-of
date becomes the model's start date). Every time here is on the model clock, so what happened
before the start is negative: an item that entered its stage ten days before the as-of date
has ``entered = at - 240``. Stages, segments and sources are indices; money is in cents where
the cash ledger needs exact sums.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from revsim.scenario.model import ContractModel

#: Where an open item is in its stage. A staffed stage has a queue (QUEUED) and work
#: (IN_WORK), possibly followed by an unstaffed delay (IN_DELAY); an unstaffed stage is a delay.
QUEUED: Final = 0
IN_WORK: Final = 1
IN_DELAY: Final = 2
PHASE_NAMES: dict[int, str] = {QUEUED: "waiting", IN_WORK: "in work", IN_DELAY: "in delay"}

#: An item whose segment the snapshot does not give: the engine draws one from the mix of its
#: source (or of all sources), per replication.
DRAW_SEGMENT: Final = -2


@dataclass(frozen=True)
class StartItem:
    """An open lead or deal. ``value`` and ``score`` are NaN when the engine must draw them
    (from the scenario's distributions, per replication); ``source`` is -1 when unknown."""

    stage: int
    phase: int
    entered: float  # when it entered its stage (model clock, hours)
    created: float  # when it was created: its cycle time counts from here
    work_started: float  # IN_WORK: when its current work began (its work done is the rest)
    value: float
    segment: int
    source: int
    score: float


@dataclass(frozen=True)
class StartInvoice:
    """An open invoice: issued and due on the model clock, what is still owed (cents)."""

    issued: float
    due: float
    cents: int
    dunning_step: int  # reminders already sent
    segment: int


@dataclass(frozen=True)
class StartCustomer:
    """A live contract: its current term ends (renews or not) at ``next_renewal``.

    ``contract`` is the segment's contract with this customer's own term; ``plan`` holds the
    instalments (time, cents) of the current term that fall after the start, still to be
    invoiced: the same in every replication, so worked out once."""

    started: float
    next_renewal: float
    term_cents: int
    segment: int
    contract: ContractModel
    plan: tuple[tuple[float, int], ...] = ()


@dataclass(frozen=True)
class StartState:
    """Everything placed at ``at``; ``segment_mix`` is the rate-weighted mix of all sources,
    for items whose segment and source are both unknown. ``notes`` say what the compiler
    decided that the user should know (items it could not place as the snapshot says)."""

    at: float
    items: tuple[StartItem, ...] = ()
    invoices: tuple[StartInvoice, ...] = ()
    customers: tuple[StartCustomer, ...] = ()
    segment_mix: tuple[tuple[int, ...], tuple[float, ...]] = ((), ())
    notes: tuple[str, ...] = ()
    label: str = ""  # what it is, for manifests and reports ("as of 2027-01-04: 40 deals, ...")
