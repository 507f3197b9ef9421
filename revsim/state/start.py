"""From a snapshot to an engine start: the scenario moved to the as-of date, the snapshot's
records in engine terms (:class:`~revsim.scenario.start_model.StartState`), and the window of
a run from a state.

The as-of date becomes the scenario's start date (midnight; an as-of time of day places the
state that many hours in), the warm-up goes (the state is the warm start) and the horizon runs
to the end of the forecast. What the scenario plans before the as-of date has happened:
hires join the starting headcount (still ramping, if their ramp is not over), planned
departures leave it, and bursts of leads are in the snapshot already.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

from revsim.errors import Problem, ScenarioError, StateError, suggest
from revsim.experiment import hours
from revsim.scenario.billing import MONTH, billing_plan
from revsim.scenario.model import BILLING_STAGE, COLLECTIONS_STAGE, Model
from revsim.scenario.start_model import (
    DRAW_SEGMENT,
    IN_DELAY,
    IN_WORK,
    QUEUED,
    StartCustomer,
    StartInvoice,
    StartItem,
    StartState,
)
from revsim.state.snapshot import IN_WORK as SNAP_IN_WORK
from revsim.state.snapshot import WAITING, Snapshot
from revsim.units import parse_duration

HOUR = dt.timedelta(hours=1)


def midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time())


def _hours(when: dt.datetime | dt.date, base: dt.datetime) -> float:
    if not isinstance(when, dt.datetime):
        when = midnight(when)
    return (when.replace(tzinfo=None) - base) / HOUR


def rebase(raw: Mapping[str, Any], as_of: dt.datetime, horizon: float
           ) -> tuple[dict[str, Any], list[str]]:
    """The scenario run from ``as_of`` for ``horizon`` hours from midnight of its date (no
    warm-up), and notes on what of its plan fell before the as-of date."""
    out = copy.deepcopy(dict(raw))
    meta = dict(out.get("scenario") or {})
    old_start = meta.get("start")
    day = as_of.date()
    meta.update(start=day, horizon=f"{horizon!r} h", warmup="0 h")
    out["scenario"] = meta
    notes: list[str] = []
    if isinstance(old_start, dt.date) and old_start > day:
        notes.append(f"the as-of date {day} is before the scenario's start {old_start}; the "
                     "scenario is run from the as-of date")
    for name, pool in (out.get("pools") or {}).items():
        if isinstance(pool, Mapping):
            out["pools"][name] = _pool_at(dict(pool), name, as_of, notes)
    for name, source in (out.get("sources") or {}).items():
        if not isinstance(source, Mapping) or not source.get("bursts"):
            continue
        when = [_hours(b["at"], midnight(day)) for b in source["bursts"]]
        t0 = _hours(as_of, midnight(day))
        kept = [b for b, t in zip(source["bursts"], when, strict=True) if t0 <= t < horizon]
        before = sum(1 for t in when if t < t0)
        if before:
            notes.append(f"sources.{name}: {before} burst(s) before the as-of date left out "
                         "(their leads are in the state)")
        if len(kept) < len(when):
            out["sources"][name] = {**source, "bursts": kept}
    return out, notes


def _pool_at(pool: dict[str, Any], name: str, as_of: dt.datetime, notes: list[str]
             ) -> dict[str, Any]:
    """A pool's plan from ``as_of`` on: earlier hires are staff (ramping on where their ramp
    is not over), earlier departures have left."""
    day = as_of.date()
    headcount = int(pool.get("headcount", 0))
    hires, joined = [], 0
    for hire in pool.get("hires") or []:
        when = hire.get("date")
        if not isinstance(when, dt.date) or when >= day:
            hires.append(hire)
            continue
        ramp = hire.get("ramp", pool.get("ramp"))
        count = int(hire.get("count", 1))
        elapsed = (day - when).days * 24.0
        if isinstance(ramp, Mapping) and "duration" in ramp:
            duration = parse_duration(ramp["duration"], field=f"pools.{name}.ramp.duration")
            if elapsed < duration:
                first = float(ramp.get("start", 0.5))
                reached = first + (1.0 - first) * elapsed / duration
                hires.append({"date": day, "count": count,
                              "ramp": {"duration": f"{duration - elapsed!r} h", "start": reached}})
                joined += count
                continue
        headcount += count
        joined += count
    left = 0
    departures = []
    for d in pool.get("departures") or []:
        if isinstance(d.get("date"), dt.date) and d["date"] < day:
            left += int(d.get("count", 1))
        else:
            departures.append(d)
    if joined or left:
        notes.append(f"pools.{name}: {joined} planned hire(s) and {left} departure(s) before "
                     "the as-of date have happened (hires still ramping keep ramping)")
    out = {**pool, "headcount": max(headcount - left, 0), "hires": hires,
           "departures": departures}
    if not out["hires"]:
        out.pop("hires")
    if not out["departures"]:
        out.pop("departures")
    return out


def compile_start(snapshot: Snapshot, model: Model, source: str | None = None) -> StartState:
    """The snapshot in engine terms for ``model`` (already started at the as-of date);
    raises StateError listing every record that does not fit the scenario."""
    problems: list[Problem] = []
    notes: list[str] = []
    base = midnight(model.start)
    at = _hours(snapshot.as_of, base)
    stages = {s.name: s for s in model.stages if s.name not in (BILLING_STAGE, COLLECTIONS_STAGE)}
    segments = list(model.segments)
    sources = [s.name for s in model.sources]

    def index(kind: str, name: str | None, names: list[str], where: str) -> int | None:
        if name is None or name == "":
            return None
        if name not in names:
            problems.append(Problem(where, f"unknown {kind} '{name}'; {suggest(name, names)}"))
            return None
        return names.index(name)

    items: list[StartItem] = []
    seen: set[str] = set()
    in_work: dict[int, int] = {}
    for row, it in enumerate(snapshot.items, start=1):
        where = f"items row {row} (id {it.id})"
        if it.id in seen:
            problems.append(Problem(where, "duplicate id; every open item appears once"))
        seen.add(it.id)
        stage = stages.get(it.stage)
        if stage is None:
            problems.append(Problem(where, f"stage '{it.stage}' is not a stage of the scenario; "
                                    f"{suggest(it.stage, list(stages))}"))
        for field, when in (("entered_stage", it.entered_stage), ("created", it.created),
                            ("started_work", it.started_work)):
            if when is not None and when > snapshot.as_of:
                problems.append(Problem(f"{where}.{field}", f"{when} is after the as-of date "
                                        f"{snapshot.as_of}: its age would be negative"))
        if it.created > it.entered_stage:
            problems.append(Problem(f"{where}.created", "is after entered_stage; an item is "
                                    "created before it enters a stage"))
        segment = index("segment", it.segment, segments, f"{where}.segment")
        src = index("source", it.source, sources, f"{where}.source")
        if stage is None:
            continue
        phase = _phase(stage, it.status)
        if phase == IN_WORK:
            in_work[stage.pool] = in_work.get(stage.pool, 0) + 1  # type: ignore[index]
        entered = _hours(it.entered_stage, base)
        items.append(StartItem(
            stage=stage.index, phase=phase, entered=entered, created=_hours(it.created, base),
            work_started=_hours(it.started_work, base) if it.started_work else entered,
            value=float(it.amount) if it.amount is not None else math.nan,
            segment=segment if segment is not None else (DRAW_SEGMENT if segments else -1),
            source=src if src is not None else -1,
            score=float(it.score) if it.score is not None else math.nan))
    for pool, n in in_work.items():
        heads = model.pools[pool].headcount
        if n > heads:
            notes.append(f"{n} items are in work in pool {model.pools[pool].name}, which starts "
                         f"with {heads} staff: the longest-running {heads} keep their staff, "
                         "the rest wait for the next free person")
    invoices = _invoices(snapshot, model, base, index, problems)
    customers = _customers(snapshot, model, base, at, index, problems)
    if problems:
        raise StateError(problems, source or "state")
    total = sum(s.rate for s in model.sources)
    mix: dict[int, float] = {}
    for s in model.sources:
        for seg, p in zip(s.segment_index, s.segment_probs, strict=True):
            mix[seg] = mix.get(seg, 0.0) + p * s.rate / total
    when = f"{snapshot.as_of:%Y-%m-%d}" + (f" {snapshot.as_of:%H:%M}" if at % 24 else "")
    label = (f"as of {when}: {len(items)} open items, {len(invoices)} open invoices, "
             f"{len(customers)} live contracts")
    return StartState(at=at, items=tuple(items), invoices=tuple(invoices),
                      customers=tuple(customers),
                      segment_mix=(tuple(mix), tuple(mix.values())), notes=tuple(notes),
                      label=label)


def _phase(stage: Any, status: str) -> int:
    """Where an item is in its stage: a staffed stage queues (waiting) or works (in work);
    with no status given, an item in a staffed stage that has a delay is in that delay (the
    work is short beside it), else it waits; an unstaffed stage is a delay."""
    if stage.pool is None:
        return IN_DELAY
    if status == WAITING:
        return QUEUED
    if status == SNAP_IN_WORK:
        return IN_WORK
    return IN_DELAY if stage.delay is not None or stage.delay_by_route else QUEUED


def _invoices(snapshot: Snapshot, model: Model, base: dt.datetime, index: Any,
              problems: list[Problem]) -> list[StartInvoice]:
    out: list[StartInvoice] = []
    if snapshot.invoices and model.cash is None:
        problems.append(Problem("invoices", "the scenario has no cash side ([deals]): open "
                                "invoices need it; add [deals] or leave the invoices out"))
        return out
    seen: set[str] = set()
    reminders = len(model.cash.reminders) if model.cash is not None else 0
    for row, inv in enumerate(snapshot.invoices, start=1):
        where = f"invoices row {row} (id {inv.id})"
        if inv.id in seen:
            problems.append(Problem(where, "duplicate id; every open invoice appears once"))
        seen.add(inv.id)
        if _hours(inv.issued, base) > _hours(snapshot.as_of, base):
            problems.append(Problem(f"{where}.issued", f"{inv.issued} is after the as-of date"))
        if inv.due < inv.issued:
            problems.append(Problem(f"{where}.due", "is before the issue date"))
        cents = int(round(inv.outstanding * 100))
        if cents <= 0:
            problems.append(Problem(f"{where}.outstanding", "must be > 0 (a settled invoice is "
                                    "not open)"))
        if not 0 <= inv.dunning_step <= reminders:
            problems.append(Problem(f"{where}.dunning_step", f"must be 0..{reminders}, the "
                                    "scenario's number of reminders"))
        segment = index("segment", inv.segment, list(model.segments), f"{where}.segment")
        out.append(StartInvoice(issued=_hours(inv.issued, base), due=_hours(inv.due, base),
                                cents=cents, dunning_step=inv.dunning_step,
                                segment=segment if segment is not None else -1))
    return out


def _customers(snapshot: Snapshot, model: Model, base: dt.datetime, at: float, index: Any,
               problems: list[Problem]) -> list[StartCustomer]:
    out: list[StartCustomer] = []
    if snapshot.customers and model.cash is None:
        problems.append(Problem("customers", "the scenario has no cash side ([deals]): live "
                                "contracts need it; add [deals] or leave the customers out"))
        return out
    seen: set[str] = set()
    for row, cu in enumerate(snapshot.customers, start=1):
        where = f"customers row {row} (id {cu.id})"
        if cu.id in seen:
            problems.append(Problem(where, "duplicate id; every customer appears once"))
        seen.add(cu.id)
        if _hours(cu.next_renewal, base) <= _hours(snapshot.as_of, base):
            problems.append(Problem(f"{where}.next_renewal", f"{cu.next_renewal} is not after "
                                    "the as-of date; give the end of the current term"))
        if cu.term_months <= 0:
            problems.append(Problem(f"{where}.term_months", "must be at least 1"))
        if cu.arr < 0:
            problems.append(Problem(f"{where}.arr", "must be >= 0"))
        segment = index("segment", cu.segment, list(model.segments), f"{where}.segment")
        seg = segment if segment is not None else -1
        if model.cash is None or cu.term_months <= 0:
            continue
        term = cu.term_months * MONTH
        contract = dataclasses.replace(model.cash.contract(seg), term=term)
        renewal = _hours(cu.next_renewal, base)
        cents = int(round(cu.arr * cu.term_months / 12.0 * 100))
        plan = tuple((t, c) for t, c in billing_plan(contract, cents, "renewal", renewal - term)
                     if t >= at)
        out.append(StartCustomer(started=_hours(cu.start, base), next_renewal=renewal,
                                 term_cents=cents, segment=seg, contract=contract, plan=plan))
    return out


@dataclasses.dataclass(frozen=True)
class StartFrom:
    """Attaches a snapshot's start to each compiled point of a sweep (a callable, so the
    sweep runner below the state layer needs no state code)."""

    state: Snapshot

    def __call__(self, model: Model) -> Model:
        return dataclasses.replace(model, start_state=compile_start(self.state, model))


def state_horizon(model: Model, as_of: dt.datetime, until: Any,
                  horizon: str | float | None) -> float:
    """The horizon (hours from midnight of the as-of date) of a run from a state."""
    t0 = (as_of - midnight(as_of.date())) / dt.timedelta(hours=1)
    if until is not None and horizon is not None:
        raise ScenarioError([Problem("until", "give either until (a date) or horizon (a "
                                     "duration), not both")], "run")
    if until is not None:
        day = until if isinstance(until, dt.date) else None
        if day is None:
            try:
                day = dt.date.fromisoformat(str(until).strip())
            except ValueError:
                raise ScenarioError([Problem("until", f"expected a date such as 2027-03-31, "
                                             f"got {until!r}")], "run") from None
        if isinstance(day, dt.datetime):
            day = day.date()
        end = (midnight(day) + dt.timedelta(days=1) - midnight(as_of.date())) / dt.timedelta(hours=1)
        if end <= t0:
            raise ScenarioError([Problem("until", f"{day} is before the state's as-of date "
                                         f"{as_of:%Y-%m-%d}")], "run")
        return end
    if horizon is not None:
        return t0 + float(hours(horizon, "horizon"))  # type: ignore[arg-type]
    return t0 + model.horizon - model.warmup


def window_start(started: Any, warmup: str | float | None, force: bool) -> float | None:
    """The window start of a run from a state (hours from the model start): the as-of time,
    plus a warm-up only when one is asked for and forced; None: the model's own (0)."""
    assert started.model.start_state is not None
    at = started.model.start_state.at
    if warmup is None:
        return at if at > 0 else None
    if isinstance(warmup, str) and warmup.strip().lower() == "auto":
        raise ScenarioError([Problem("warmup", "a run from a state starts warm: there is no "
                                     "transient for --warmup auto to find; drop it")], "run")
    w = float(hours(warmup, "warmup"))  # type: ignore[arg-type]
    if w > 0 and not force:
        raise ScenarioError([Problem("warmup", "a run from a state needs no warm-up (the "
                                     "state is the warm start) and would discard the first "
                                     f"{warmup} of the forecast; drop --warmup, or add "
                                     "--force-warmup to discard it anyway")], "run")
    return at + w
