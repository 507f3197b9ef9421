"""The snapshot's tables, as typed records: what is in flight at the as-of date.

Times are datetimes (naive, in the log's clock); money is in the scenario currency. The
folder format (a manifest plus one CSV or Parquet file per table) is read and written by
``revsim.state.files``; turning a snapshot into an engine start is ``revsim.state.start``.
"""

from __future__ import annotations

import datetime as dt
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


@dataclass(frozen=True)
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
