"""The snapshot's tables, as typed records: what is in flight at the as-of date.

Times are datetimes (naive, in the log's clock); money is in the scenario currency. The
folder format (a manifest plus one CSV or Parquet file per table) is read and written by
``revsim.state.files``; turning a snapshot into an engine start is ``revsim.state.start``.
"""

from __future__ import annotations

import datetime as dt
import html
from collections import Counter
from dataclasses import dataclass, field

FORMAT = "revsim-state"
VERSION = 1

#: Where an open item is in its stage, when the log says.
WAITING = "waiting"  # queued for the stage's staff
IN_WORK = "in_work"  # a person is working on it
UNKNOWN = ""  # not recorded: the start places it by what the stage is (staffed or a delay)
STATUSES = (WAITING, IN_WORK, UNKNOWN)


@dataclass(frozen=True)
class OpenItem:
    """A lead or deal that is open at the as-of date."""

    id: str
    stage: str  # a stage the scenario knows
    entered_stage: dt.datetime  # when it entered that stage (its current visit)
    created: dt.datetime  # when it was created (first seen): its age is as_of - created
    amount: float | None = None  # deal value; None: the scenario's value distribution decides
    source: str | None = None
    segment: str | None = None
    score: float | None = None
    pool: str | None = None  # the staff pool that owns it, where known
    status: str = UNKNOWN  # WAITING, IN_WORK or UNKNOWN
    started_work: dt.datetime | None = None  # when work on it began in this stage, if known


@dataclass(frozen=True)
class OpenInvoice:
    """An invoice issued before the as-of date and not settled by it."""

    id: str
    issued: dt.date
    due: dt.date
    outstanding: float  # amount still owed at the as-of date
    dunning_step: int = 0  # reminders already sent
    segment: str | None = None


@dataclass(frozen=True)
class Customer:
    """A customer with a live contract at the as-of date."""

    id: str
    start: dt.date
    term_months: int
    next_renewal: dt.date
    arr: float  # annual contract value
    segment: str | None = None


@dataclass(frozen=True)
class PoolLoad:
    """Work in progress and queue of one staff pool at the as-of date, as the log shows it."""

    pool: str
    wip: int
    queue: int


@dataclass(frozen=True, repr=False)
class Snapshot:
    """Everything in flight at ``as_of``, plus what was left out and why."""

    as_of: dt.datetime
    items: tuple[OpenItem, ...] = ()
    invoices: tuple[OpenInvoice, ...] = ()
    customers: tuple[Customer, ...] = ()
    pools: tuple[PoolLoad, ...] = ()
    #: open in the log but treated as dead (e.g. untouched for longer than the stage's
    #: patience): counted by reason, never silently dropped
    dead: dict[str, int] = field(default_factory=dict)
    #: where it came from (log files, scenario, revsim version): free-form, for the manifest
    provenance: dict[str, str] = field(default_factory=dict)
    #: the dead items themselves, as (id, reason): the rows behind ``dead``
    dead_items: tuple[tuple[str, str], ...] = ()
    #: rows of the log left out while reading it (after as-of, adapter skips), by reason
    skipped: dict[str, int] = field(default_factory=dict)
    #: what the builder had to decide, in words (e.g. a source the scenario does not know)
    notes: tuple[str, ...] = ()

    def describe(self) -> str:
        """The summary ``revsim state`` prints: what is open per stage, receivables, customers,
        staff load, and what was left out and why."""
        snapshot = self
        lines = [f"state as of {snapshot.as_of:%Y-%m-%d %H:%M}: "
                 f"{_count(len(snapshot.items), 'open item')}"]
        for stage, n in sorted(Counter(i.stage for i in snapshot.items).items()):
            statuses = Counter(i.status for i in snapshot.items if i.stage == stage)
            known = ", ".join(f"{statuses[s]:,} {s.replace('_', ' ')}" for s in ("waiting", "in_work")
                              if statuses[s])
            lines.append(f"  {stage}: {n:,}" + (f" ({known})" if known else ""))
        outstanding = sum(i.outstanding for i in snapshot.invoices)
        overdue = sum(1 for i in snapshot.invoices if i.due < snapshot.as_of.date())
        lines.append(f"open invoices: {len(snapshot.invoices):,} ({overdue:,} overdue), "
                     f"outstanding {outstanding:,.2f}")
        arr = sum(c.arr for c in snapshot.customers)
        lines.append(f"customers with live contracts: {len(snapshot.customers):,}, ARR {arr:,.2f}")
        for pool in snapshot.pools:
            lines.append(f"pool {pool.pool}: {pool.wip:,} in work, {pool.queue:,} waiting")
        if snapshot.dead:
            lines.append("left out (open in the log, treated as dead):")
            lines += [f"  {n:,} {reason}" for reason, n in sorted(snapshot.dead.items())]
        else:
            lines.append("left out: none")
        if snapshot.skipped:
            lines.append("log rows skipped: " + ", ".join(f"{n:,} {reason}" for reason, n in
                                                          snapshot.skipped.items()))
        return "\n".join(lines)

    def __repr__(self) -> str:  # the dataclass's would list every open item
        return (f"<Snapshot as of {self.as_of:%Y-%m-%d %H:%M}: {_count(len(self.items), 'open item')}, "
                f"{_count(len(self.invoices), 'open invoice')}, "
                f"{_count(len(self.customers), 'live contract')}>")

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.describe())}</pre>"


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"
