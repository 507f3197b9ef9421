"""The things that move and the people who work them: work items (leads, invoices), the deals
behind invoices, staff members, wake-up events."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from simpy import Environment
from simpy.events import NORMAL as SIMPY_NORMAL

from revsim.scenario.model import ContractModel

#: SimPy's priority for ordinary events, as a constant the compiled engine inlines.
NORMAL: Final = 1
assert NORMAL == SIMPY_NORMAL

#: Where an item comes from: created during the run, or in flight at a warm start.
NEW: Final = 0
FROM_STATE: Final = 1

#: How an invoice will be paid (drawn when it is issued).
ON_TIME, LATE, NEVER = 0, 1, 2


class Wake:
    """An event that fires its callback after a delay, carrying a payload.

    It follows SimPy's event protocol (``env``, ``callbacks``, ``_ok``, ``_value``) and goes on
    SimPy's event queue like a ``Timeout``, so SimPy's own ``step()`` could process it too. It is
    a plain class rather than a subclass of ``simpy.Event`` so that the compiled engine reads and
    writes its fields directly: the engine handles one or two of these per visit, and this is
    where most of its time goes.
    """

    # Payload attributes set by whoever schedules the wake-up.
    lead: Any
    server: Any
    token: int
    payload: Any
    deal: Any
    cents: int
    invoice: Any
    j: int
    term_start: float
    target: int | None = None  # a route already drawn (outcome-specific delays)

    def __init__(self, env: Environment, callback: Callable[[Any], None]) -> None:
        self.env = env
        self.callbacks: list[Callable[[Any], None]] | None = [callback]
        self._ok = True
        self._value: Any = None


def _unset(event: Any) -> None:
    raise AssertionError("timer fired without a callback")


class Item:
    """Something staff work at a stage: a lead, or an invoice in billing or collections.

    It holds what the stage machinery reads and writes on every visit (queueing, patience,
    routing); what a lead or an invoice is beyond that lives in its own class.
    """

    __slots__ = (
        "id",
        "segment",
        "value",
        "score",
        "ready",
        "first_touch",
        "stage",
        "t_arrive",
        "t_start",
        "token",
        "patience",
        "cold",
        "worker",
        "key",
        "hops",
        "origin",
    )

    def __init__(self, item_id: int, segment: int, value: float, score: float,
                 now: float) -> None:
        self.id = item_id
        self.segment = segment
        self.value = value
        self.score = score  # what discipline = "priority" by score reads
        self.ready = now  # when it became workable (created, or back from nurture)
        # When staff first worked it (-1: not yet). Only leads time their first touch; an
        # item that must not be timed starts with a value >= 0.
        self.first_touch = -1.0
        self.stage: Any = None
        self.t_arrive = now
        self.t_start = now
        # Incremented whenever the item leaves a queue, so stale queue entries and stale
        # patience timers can be recognised and skipped (lazy deletion).
        self.token = 0
        self.patience = 0.0
        self.cold = False
        self.worker = -1  # id of the staff member working it at its current stage
        self.key = item_id  # identity for per-item random numbers (set by the source)
        self.hops = 0  # stages entered so far
        # NEW, or FROM_STATE for what a warm start placed (an open deal, an open invoice, a
        # live customer): bookings and cash are split by where they came from
        self.origin = NEW


class Lead(Item):
    """One lead (later opportunity) moving through the cycle."""

    __slots__ = ("source", "created", "cycles", "deal")

    def __init__(self, lead_id: int, source: int, segment: int, value: float, score: float,
                 created: float) -> None:
        super().__init__(lead_id, segment, value, score, created)
        self.source = source
        self.created = created
        self.cycles = 0
        self.deal: Any = None  # set when the lead is won (see engine.cash)


class Server:
    """One member of a staff pool, with a hire date and an optional productivity ramp."""

    __slots__ = ("id", "key", "hired", "ramp", "active", "busy", "leaving", "timer", "lead")

    def __init__(self, server_id: int, hired: float, ramp: tuple[float, float] | None,
                 env: Environment) -> None:
        self.id = server_id
        self.key = server_id  # who this is, for per-person random numbers (set by the pool)
        # A server finishes at most one item at a time, so one completion event per server is
        # reused for all its items instead of allocating one per item.
        self.timer = Wake(env, _unset)
        self.timer.server = self
        self.lead: Any = None  # the item in hand (read on completion: cheaper than the event)
        self.hired = hired
        self.ramp = ramp
        self.active = True
        self.busy = False
        self.leaving = False

    def productivity(self, now: float) -> float:
        """Share of full productivity at ``now`` (rises linearly over the ramp)."""
        ramp = self.ramp
        if ramp is None:
            return 1.0
        duration, start = ramp
        done = (now - self.hired) / duration
        if done >= 1.0:
            self.ramp = None
            return 1.0
        return start + (1.0 - start) * max(done, 0.0)


@dataclass
class Deal:
    """A won lead's contract: booking, go-live and what is left to invoice this term."""

    lead: Lead
    contract: ContractModel
    won_at: float
    term_value: int  # cents per term
    unbilled: int = 0
    live_at: float = math.nan
    churned: bool = False
    terms_done: int = 0
    invoices: int = 0
    first_invoice: Invoice | None = None


class Invoice(Item):
    """An invoice: a work item (billing and collections staff work it), not a lead."""

    __slots__ = ("deal_ref", "amount", "paid", "issued", "due", "kind", "latent", "windows",
                 "pay_token", "pay_at", "partial", "first_part_paid", "in_collections", "open",
                 "write_off_at", "number")

    def __init__(self, invoice_id: int, deal: Deal, amount: int, now: float) -> None:
        lead = deal.lead
        super().__init__(invoice_id, lead.segment, amount / 100.0, lead.score, now)
        self.first_touch = now  # billing work is no lead's "first touch": never timed
        self.deal_ref = deal
        self.amount = amount
        self.paid = 0
        self.issued = math.nan
        self.due = math.nan
        self.kind = ON_TIME
        self.latent = 0.0
        self.windows: list[tuple[float, float]] = []
        self.pay_token = 0
        self.pay_at = math.inf
        self.partial = False
        self.first_part_paid = False
        self.in_collections = False
        self.open = False
        self.write_off_at = math.inf
        self.number = 0  # n-th invoice of its deal
