"""Named RevOps changes, each turned into dotted-path overrides of a scenario.

Every function takes the scenario's raw mapping (as read from TOML) and returns
``(label, changes)``; ``Scenario.with_changes(changes)`` applies them. Bad arguments raise
``OverrideError`` naming the option and the valid choices.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from revsim.errors import OverrideError, Problem, clip, suggest
from revsim.limits import MAX_HEADCOUNT, YEARS
from revsim.units import parse_duration

Change = tuple[str, dict[str, Any]]


def _fail(option: str, message: str) -> OverrideError:
    return OverrideError([Problem(option, message)], "intervention")


def _table(raw: Mapping[str, Any], section: str, name: str, option: str) -> Mapping[str, Any]:
    table = raw.get(section, {})
    if not isinstance(table, Mapping) or name not in table:
        valid = list(table) if isinstance(table, Mapping) else []
        raise _fail(option, f"unknown {section[:-1]} '{clip(name, 60)}'; {suggest(name, valid)}")
    return table[name]


def hire(raw: Mapping[str, Any], pool: str, count: int, date: dt.date | str | None = None,
         ramp: str | None = None) -> Change:
    """Hire ``count`` people into ``pool``: from the start, or on ``date`` with the pool's
    ramp (or ``ramp``, a duration, from 50% productivity)."""
    spec = _table(raw, "pools", pool, "--hire")
    if count < 1:
        raise _fail("--hire", f"hire at least one person, got {count}")
    if count > MAX_HEADCOUNT:
        raise _fail("--hire", f"{count:,} people are more than the {MAX_HEADCOUNT:,} a pool may "
                    "have")
    if date is None:
        return f"+{count} {pool}", {f"pools.{pool}.headcount": int(spec["headcount"]) + count}
    try:
        when = dt.date.fromisoformat(date) if isinstance(date, str) else date
    except ValueError:
        raise _fail("--hire", f"cannot read the date {clip(repr(date))}; write YYYY-MM-DD") \
            from None
    if not YEARS[0] <= when.year <= YEARS[1]:
        raise _fail("--hire", f"{when} is outside the years {YEARS[0]}-{YEARS[1]} revsim "
                    "simulates; check the year")
    hire_entry: dict[str, Any] = {"date": when, "count": count}
    if ramp is not None:
        hire_entry["ramp"] = {"duration": ramp}
    hires = [*spec.get("hires", []), hire_entry]
    return f"+{count} {pool} from {when}", {f"pools.{pool}.hires": hires}


def respond_first(raw: Mapping[str, Any], stage: str) -> Change:
    """Service-level rule for first touch: staff work ``stage`` before anything else their
    pool does."""
    spec = _table(raw, "stages", stage, "--respond-first")
    pool = spec.get("pool")
    if pool is None:
        raise _fail("--respond-first", f"stage '{stage}' has no pool; nobody touches it")
    others = [s.get("pool_priority", 0) for n, s in raw["stages"].items()
              if n != stage and s.get("pool") == pool]
    top = max(others, default=0) + 1
    return f"respond first at {stage}", {f"stages.{stage}.pool_priority": top}


def route_by_value(raw: Mapping[str, Any], stage: str) -> Change:
    """Serve the highest-value leads first at ``stage``."""
    spec = _table(raw, "stages", stage, "--route-by-value")
    if spec.get("pool") is None:
        raise _fail("--route-by-value", f"stage '{stage}' has no queue (no pool)")
    return f"route {stage} by value", {f"stages.{stage}.discipline": "priority",
                                       f"stages.{stage}.priority": "value"}


def automate(raw: Mapping[str, Any], stage: str, percent: float) -> Change:
    """Automate part of a step: cut its staff time by ``percent`` (0-100)."""
    spec = _table(raw, "stages", stage, "--automate")
    if spec.get("work") is None:
        raise _fail("--automate", f"stage '{stage}' has no staff time to cut")
    if not 0 < percent < 100:
        raise _fail("--automate", f"the cut must be between 0 and 100%, got {percent:g}%")
    scale = float(spec.get("work_scale", 1.0)) * (1 - percent / 100)
    return f"automate {percent:g}% of {stage}", {f"stages.{stage}.work_scale": scale}


def payment_terms(raw: Mapping[str, Any], terms: str | int, segment: str | None = None
                  ) -> Change:
    """Change the payment terms (e.g. "net 15"), for all deals or one segment."""
    if "deals" not in raw:
        raise _fail("--terms", "the scenario has no [deals] table, so nothing is invoiced")
    if segment is None:
        changes: dict[str, Any] = {"deals.contract.terms": terms}
        by_segment = raw["deals"].get("by_segment", {}) or {}
        if any("terms" in entry for entry in by_segment.values()):
            # "all deals" includes segments that set their own terms
            changes["deals.by_segment"] = {
                seg: ({**entry, "terms": terms} if "terms" in entry else entry)
                for seg, entry in by_segment.items()
            }
        return f"terms {terms}", changes
    _table(raw, "segments", segment, "--terms")
    by_segment = dict(raw["deals"].get("by_segment", {}))
    by_segment[segment] = {**by_segment.get(segment, {}), "terms": terms}
    return f"terms {terms} for {segment}", {"deals.by_segment": by_segment}


def dunning(raw: Mapping[str, Any], reminders: list[str], factor: float | None = None
            ) -> Change:
    """Set the dunning cadence: reminders at these times past due (e.g. ["1 d", "7 d"])."""
    if "deals" not in raw:
        raise _fail("--dunning", "the scenario has no [deals] table, so nothing is invoiced")
    for r in reminders:
        try:
            parse_duration(r, field="--dunning")
        except ValueError as err:
            raise _fail("--dunning", str(err)) from None
    current = dict(raw.get("dunning") or {})
    current["reminders"] = list(reminders)
    if factor is not None:
        current["factor"] = factor
    return f"dunning at {', '.join(reminders)}", {"dunning": current}


def raise_conversion(raw: Mapping[str, Any], stage: str, target: str, change: str) -> Change:
    """Raise the probability of one route (``"+10%"`` relative, ``"+5pp"`` absolute); the
    other routes of the stage shrink in proportion so they still sum to 1."""
    spec = _table(raw, "stages", stage, "--conversion")
    routes = dict(spec.get("routes", {}))
    if target not in routes:
        raise _fail("--conversion", f"stage '{stage}' has no route to '{clip(target, 60)}'; "
                    f"{suggest(target, list(routes))}")
    match = re.fullmatch(r"\s*([+-]?\d+(?:\.\d+)?)\s*(%|pp)\s*", change)
    if not match:
        raise _fail("--conversion", f"cannot read {clip(repr(change))}; write e.g. +10% or +5pp")
    amount, kind = float(match.group(1)), match.group(2)
    old = float(routes[target])
    new = old * (1 + amount / 100) if kind == "%" else old + amount / 100
    if not 0 <= new <= 1:
        raise _fail("--conversion", f"{stage} -> {target} would become {new:.3g}, outside 0..1")
    rest = 1 - old
    for other in routes:
        if other != target:
            routes[other] = float(routes[other]) * (1 - new) / rest if rest > 0 else 0.0
    routes[target] = new
    return f"{stage}->{target} {change}", {f"stages.{stage}.routes": routes}
