"""Checks of a snapshot: its rows on their own (ages, order of times, duplicate ids), and against
the scenario it is to start (stages, pools, sources and segments the scenario knows).

Problems name the file and rows the snapshot is (or would be) written to, so a snapshot built in
Python and a folder written by hand are reported alike.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from revsim.calibrate.raw_table import row_problem, values_text
from revsim.errors import Problem, StateError, suggest
from revsim.scenario.model import Model
from revsim.state.snapshot import STATUSES, Snapshot
from revsim.state.tables import TABLES, Table, frame_of, row_checks


def as_of_of(snapshot: Snapshot) -> pd.Timestamp:
    """The snapshot's as-of time, naive (an aware one is taken to UTC)."""
    stamp = pd.Timestamp(snapshot.as_of)
    return stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo is not None else stamp


def frames_of(snapshot: Snapshot) -> dict[str, pd.DataFrame]:
    """Each table of ``snapshot`` as typed columns, indexed by the row of its CSV."""
    rows = {"open_items": snapshot.items, "open_invoices": snapshot.invoices,
            "customers": snapshot.customers, "pools": snapshot.pools}
    return {name: frame_of(TABLES[name], rows[name]) for name in TABLES}


def snapshot_problems(snapshot: Snapshot) -> list[Problem]:
    """Every problem of a snapshot's rows on their own (no scenario needed)."""
    problems: list[Problem] = []
    as_of = as_of_of(snapshot)
    for name, frame in frames_of(snapshot).items():
        table = TABLES[name]
        prefix = f"{table.file}: "
        rows = frame.index.to_numpy(dtype=np.int64)
        for c in table.columns:
            if c.required:
                blank = frame[c.name].isna().to_numpy()
                if blank.any():
                    problems.append(row_problem(f"{prefix}{c.name}", rows[blank],
                                                f"blank {c.name}", f"give every row a {c.name}"))
        if name == "open_items":
            bad = ~frame["status"].isin(STATUSES).to_numpy()
            if bad.any():
                problems.append(row_problem(f"{prefix}status", rows[bad], "unknown status",
                                            "use waiting, in_work or blank",
                                            frame["status"][bad].head(50)))
        problems += row_checks(table, frame, as_of, prefix)
    for reason, n in snapshot.dead.items():
        if not isinstance(n, int | np.integer) or n < 0:
            problems.append(Problem(f"dead.{reason}", f"count {n!r} is not a whole number >= 0"))
    return problems


def _unknown(table: Table, frame: pd.DataFrame, column: str, valid: Iterable[str], what: str,
             fix: str) -> list[Problem]:
    """One problem per unknown value of ``column`` (blank values are fine)."""
    valid = list(valid)
    values = frame[column]
    bad = values.notna() & ~values.isin(valid)
    problems = []
    rows = frame.index.to_numpy(dtype=np.int64)
    for value in pd.unique(values[bad]):
        hits = (values == value).to_numpy()
        problems.append(row_problem(f"{table.file}: {column}", rows[hits],
                                    f"{what} {values_text([value])}",
                                    f"{fix}; {suggest(str(value), valid)}"))
    return problems


def scenario_problems(snapshot: Snapshot, model: Model) -> list[Problem]:
    """Every way ``snapshot`` does not fit ``model``: stages, pools, sources and segments it
    does not know, staff status on a stage without staff, a pool that does not work the stage."""
    frames = frames_of(snapshot)
    internal = {model.cash.billing_stage, model.cash.collections_stage} if model.cash else set()
    stages = {s.name: s for s in model.stages if s.index not in internal}
    pools = [p.name for p in model.pools]
    sources = [s.name for s in model.sources]
    segments = list(model.segments)
    items, table = frames["open_items"], TABLES["open_items"]
    problems = _unknown(table, items, "stage", stages, "stage not in the scenario:",
                        "use the scenario's stage names (fit the scenario to this log, or map "
                        "the log's labels to its stages with a mapping file)")
    rows = items.index.to_numpy(dtype=np.int64)
    known = items["stage"].isin(list(stages)).to_numpy()
    pool_of = items["stage"].map(
        {n: (pools[s.pool] if s.pool is not None else None) for n, s in stages.items()})
    staffed = pool_of.notna().to_numpy()
    status = items["status"].to_numpy(dtype=object)
    no_staff = known & ~staffed & (status != "")
    if no_staff.any():
        problems.append(row_problem(f"{table.file}: status", rows[no_staff],
                                    "waiting or in_work on a stage without staff (no pool):",
                                    "leave status blank there", items["stage"][no_staff]))
    problems += _unknown(table, items, "pool", pools, "pool not in the scenario:",
                         "use a [pools] name or leave it blank")
    other = (known & staffed & items["pool"].notna().to_numpy()
             & items["pool"].isin(pools).to_numpy()
             & (items["pool"] != pool_of).to_numpy())
    if other.any():
        problems.append(row_problem(f"{table.file}: pool", rows[other],
                                    "not the pool that works the item's stage:",
                                    "use the stage's pool (its `pool` in the scenario) or leave "
                                    "it blank", items["pool"][other]))
    problems += _unknown(table, items, "source", sources, "source not in the scenario:",
                         "use a [sources] name or leave it blank")
    for name in ("open_items", "open_invoices", "customers"):
        frame = frames[name]
        if segments:
            problems += _unknown(TABLES[name], frame, "segment", segments,
                                 "segment not in the scenario:",
                                 "use a [segments] name or leave it blank")
        elif frame["segment"].notna().any():
            hits = frame["segment"].notna().to_numpy()
            problems.append(row_problem(f"{TABLES[name].file}: segment",
                                        frame.index.to_numpy(dtype=np.int64)[hits],
                                        "the scenario has no [segments]:",
                                        "leave segment blank, or add the segments to the "
                                        "scenario", frame["segment"][hits]))
    problems += _unknown(TABLES["pools"], frames["pools"], "pool", pools,
                         "pool not in the scenario:", "use a [pools] name")
    if model.cash is None:
        for name in ("open_invoices", "customers"):
            if len(frames[name]):
                problems.append(Problem(TABLES[name].file, f"{len(frames[name])} rows, but the "
                                        "scenario has no [deals]: it bills no one; add [deals] "
                                        "(and [payment]) to the scenario or leave this table "
                                        "empty"))
    return problems


def validate_against(snapshot: Snapshot, model: Model, *, source: str | None = None) -> None:
    """Raise StateError with every problem of ``snapshot``, on its own and as a start of
    ``model`` (a compiled scenario); nothing is returned when it is fine."""
    problems = snapshot_problems(snapshot) + scenario_problems(snapshot, model)
    if problems:
        raise StateError(problems, source or str(snapshot.provenance.get("source", "snapshot")))


__all__ = ["scenario_problems", "snapshot_problems", "validate_against"]
