"""The state of the business at an as-of date, from the same logs, adapters and mappings ``fit``
reads: open leads and deals in their stages, open invoices, live customers, staff load.

Only events at or before the as-of time are used, so a snapshot at a past date sees what was
known then. A journey (lead, then its deal) is open when its last stage entry has no outcome
after it (``calibrate.journeys``); its stage is the scenario stage that entry's activity opens
(the scenario's ``event``, else ``stage:NAME``, else the name ``fit`` would give it). Items that
the scenario or the log say are over are counted by reason in ``Snapshot.dead`` and listed in
``Snapshot.dead_items``, never silently dropped:

- ``DEAD_PATIENCE``: waiting, unworked, on a stage with patience for longer than 99% of the
  scenario's patience times: the model would have lost it (renege) or let it go cold (decay);
- ``DEAD_STALE``: open in its stage longer than any visit of that stage ever closed in the log
  (with at least ``MIN_FIT`` closed): the mass ``fit`` cannot place (competing outcomes'
  "unresolved"), a deal nobody closes;
- ``IN_NURTURE``: recycled and not back yet (a snapshot holds items in stages only);
- ``NO_STAGE``: created but in no stage yet (e.g. a raw lead before its first stage event).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from revsim.calibrate.evidence import MIN_FIT, scenario_key
from revsim.calibrate.fit_log import read_log
from revsim.calibrate.journeys import (
    STAGE_ACTIVITIES,
    Journeys,
    build_journeys,
)
from revsim.calibrate.log import EventLog
from revsim.calibrate.raw_table import ISO_HINT, to_utc, values_text
from revsim.errors import Problem, StateError, suggest
from revsim.scenario.model import Model
from revsim.state.build_cash import case_journeys, customers_at, invoices_at, journey_of
from revsim.state.checks import validate_against
from revsim.state.snapshot import IN_WORK, UNKNOWN, WAITING, OpenItem, PoolLoad, Snapshot
from revsim.version import __version__

DEAD_PATIENCE = "waited past the stage's patience without being worked"
DEAD_STALE = "open longer than any closed visit of its stage in the log"
IN_NURTURE = "in nurture (recycled, not back in a stage yet)"
NO_STAGE = "in no stage yet (created, no stage event)"
PATIENCE_QUANTILE = 0.99
AS_OF_SLACK = pd.Timedelta(days=1)  # an extract is taken some hours after the last event
USED = ("case_id", "activity", "timestamp", "object_type", "parent_id", "lifecycle", "amount",
        "due_date", "source", "segment", "score")
JOURNEY_COLUMNS = ("case_id", "activity", "timestamp", "object_type", "parent_id", "source",
                   "segment", "amount")  # what build_journeys reads


def build_state(log: str | Path | pd.DataFrame | EventLog, *, scenario: Model, as_of: Any,
                mapping: Any = None, format: str = "canonical",
                date_format: str | None = None) -> Snapshot:
    """The snapshot of ``log`` at ``as_of`` as a start of ``scenario`` (a compiled Model).

    ``log``, ``mapping``, ``format`` and ``date_format`` are read exactly as ``revsim fit``
    reads them. An as-of
    outside the log's time span, open items in a stage the scenario does not know, and every
    other problem of the result raise StateError, all at once.
    """
    events_log = read_log(log, mapping=mapping, format=format, date_format=date_format)
    cut = _as_of_in_span(as_of, events_log)
    ev = events_log.events
    late = (ev["timestamp"] > cut).to_numpy()
    # only the columns the state reads: every copy and merge below is then narrower
    ev = ev.loc[~late, [c for c in USED if c in ev.columns]]
    skipped = dict(events_log.skipped)
    if late.any():
        skipped["after as-of"] = skipped.get("after as-of", 0) + int(late.sum())
    notes: list[str] = []
    dead: list[tuple[str, str]] = []
    journeys = build_journeys(ev[[c for c in JOURNEY_COLUMNS if c in ev.columns]], cut)
    journey = journey_of(ev).to_numpy()
    case_journey = case_journeys(ev, journey)
    items = _open_items(ev, journey, journeys, scenario, cut, dead, notes, events_log.source)
    invoices = invoices_at(ev, journeys, case_journey, scenario, cut, dead, notes)
    customers = customers_at(ev, journeys, case_journey, scenario, cut, dead, notes)
    counts: dict[str, int] = {}
    for _, reason in dead:
        counts[reason] = counts.get(reason, 0) + 1
    snapshot = Snapshot(
        as_of=cut.tz_convert(None).to_pydatetime(),
        items=items, invoices=invoices, customers=customers, pools=_pools(items, scenario, ev),
        dead=counts, dead_items=tuple(sorted(dead)), skipped=skipped, notes=tuple(notes),
        provenance={"log": events_log.source, "format": format,
                    "mapping": str(getattr(mapping, "source", mapping) or ""),
                    "scenario": scenario.name, "revsim": __version__,
                    "events_used": str(len(ev))},
    )
    validate_against(snapshot, scenario, source=events_log.source)
    return snapshot


def _as_of_in_span(as_of: Any, log: EventLog) -> pd.Timestamp:
    """The as-of time in UTC; outside the log's span (or unreadable) it is an error."""
    try:
        cut = to_utc(as_of)
    except (ValueError, TypeError):
        raise StateError([Problem("as_of", f"unparseable time {as_of!r}; {ISO_HINT}")],
                         "--as-of") from None
    start, end = log.start, log.end
    span = f"the log spans {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC"
    if cut < start:
        raise StateError([Problem("as_of", f"{cut:%Y-%m-%d %H:%M} UTC is before the log's first "
                                  f"event: {span}; give an as-of within it")], log.source)
    if cut > end.floor("D") + AS_OF_SLACK:
        raise StateError([Problem("as_of", f"{cut:%Y-%m-%d %H:%M} UTC is after the log's last "
                                  f"event: {span}, and what happened after it is unknown; give "
                                  "an as-of within it, or export a newer log")], log.source)
    return cut


def stage_of_activity(model: Model) -> dict[str, str]:
    """The scenario stage each log activity opens: its ``event`` (``stage:NAME`` by default),
    and ``onboarding_started`` for the scenario's onboarding stage."""
    internal = {model.cash.billing_stage, model.cash.collections_stage} if model.cash else set()
    out = {event: st.name for event, st in zip(model.stage_events, model.stages, strict=False)
           if st.index not in internal}
    if model.cash is not None and model.cash.onboarding is not None:
        out.setdefault("onboarding_started", model.stages[model.cash.onboarding].name)
    return out


def _scenario_stages(stages: pd.Series, model: Model) -> pd.Series:
    """The scenario stage of each journey stage name (NaN where the scenario has none)."""
    by_activity = stage_of_activity(model)
    names = set(by_activity.values())
    activity_of = {v: k for k, v in STAGE_ACTIVITIES.items()}
    table = {}
    for stage in pd.unique(stages.dropna()):
        activity = activity_of.get(stage, f"stage:{stage}")
        found = by_activity.get(activity)
        if found is None and scenario_key(stage) in names:
            found = scenario_key(stage)  # the name fit gives the stage
        table[stage] = found if found is not None else np.nan
    return stages.map(table)


def _current_visits(journeys: Journeys) -> pd.DataFrame:
    """The open (censored) visit of each open journey, its entry the first of a run of entries
    into the same stage (an XES start/complete pair is one visit)."""
    v = journeys.visits
    same = (v["journey"].eq(v["journey"].shift()) & v["stage"].eq(v["stage"].shift())
            & v["exit"].shift().eq(v["stage"]))
    run = (~same).cumsum()
    first = v.groupby(run.to_numpy())["entered"].transform("first")
    current = v.loc[v["censored"].to_numpy()].copy()
    current["entered_stage"] = first[v["censored"].to_numpy()].to_numpy()
    return current


def _open_items(ev: pd.DataFrame, journey: np.ndarray, journeys: Journeys, model: Model,
                as_of: pd.Timestamp, dead: list[tuple[str, str]], notes: list[str], source: str
                ) -> tuple[OpenItem, ...]:
    current = _current_visits(journeys)
    current["scenario_stage"] = _scenario_stages(current["stage"], model).to_numpy()
    unknown = current["scenario_stage"].isna().to_numpy()
    if unknown.any():
        valid = sorted(set(stage_of_activity(model).values()))
        problems = []
        for stage, group in current.loc[unknown].groupby("stage", sort=True):
            ids = group["journey"].astype(str).tolist()
            problems.append(Problem("stage", (
                f"{len(ids):,} open item{'s' if len(ids) != 1 else ''} in stage {stage!r} that "
                f"the scenario does not know (e.g. {values_text(ids)}); {suggest(stage, valid)}; "
                "fit the scenario to this log, map the label to a scenario stage with a mapping "
                "file, or give the scenario stage an `event`")))
        raise StateError(problems, source)
    _left_out_journeys(ev, journey, journeys, current, dead)
    if current.empty:
        return ()

    facts = journeys.journeys.set_index("journey")
    cur = current.set_index("journey")
    cur["created"] = facts["created"].reindex(cur.index)
    cur["amount"] = facts["amount"].reindex(cur.index)
    cur["source"] = _known(_fitted_sources(facts["source"].reindex(cur.index), journeys,
                                           [s.name for s in model.sources]),
                           [s.name for s in model.sources], "source", notes)
    cur["segment"] = _known(facts["segment"].reindex(cur.index), list(model.segments),
                            "segment", notes)
    cur["score"] = (ev["score"].groupby(journey).first().reindex(cur.index)
                    if "score" in ev.columns else np.nan)
    stages = {st.name: st for st in model.stages}
    pool_names = [p.name for p in model.pools]
    cur["pool"] = cur["scenario_stage"].map(
        {n: pool_names[s.pool] for n, s in stages.items() if s.pool is not None})
    _work_status(ev, journey, cur)
    hours = (as_of - cur["entered_stage"]).dt.total_seconds() / 3600.0
    patience = cur["scenario_stage"].map(
        {n: float(s.patience.ppf(PATIENCE_QUANTILE)) for n, s in stages.items()
         if s.patience is not None})
    waiting = cur["status"].ne(IN_WORK) & cur["work_done"].eq(False) & cur["pool"].notna()
    out_of_patience = (waiting & (hours > patience)).to_numpy()
    # a visit that "exits" into the same stage is half of a start/complete pair, not a visit
    closed = journeys.visits.loc[~journeys.visits["censored"].to_numpy()
                                 & journeys.visits["exit"].ne(journeys.visits["stage"]).to_numpy()]
    per_stage = closed.groupby("stage")["hours"].agg(["max", "size"])
    longest = per_stage.loc[per_stage["size"] >= MIN_FIT, "max"]
    stale = ~out_of_patience & (hours > cur["stage"].map(longest)).to_numpy()
    for mask, reason in ((out_of_patience, DEAD_PATIENCE), (stale, DEAD_STALE)):
        dead.extend((str(i), reason) for i in cur.index[mask])
    live = cur.loc[~(out_of_patience | stale)].sort_index()
    return _items_of(live)


def _left_out_journeys(ev: pd.DataFrame, journey: np.ndarray, journeys: Journeys,
                       current: pd.DataFrame, dead: list[tuple[str, str]]) -> None:
    """Open journeys that are in no stage: recycled ones, and ones with no stage event yet."""
    funnel = (ev["object_type"].isin(["lead", "opportunity"]) | ev["object_type"].isna()
              ).to_numpy()
    ended = set(journeys.journeys.loc[journeys.journeys["outcome"].notna(), "journey"])
    nurture = journeys.nurture.loc[journeys.nurture["censored"].to_numpy(), "journey"]
    resting = set(nurture) - set(current["journey"]) - ended
    dead.extend((str(j), IN_NURTURE) for j in sorted(resting, key=str))
    never = (set(pd.unique(journey[funnel])) - set(journeys.visits["journey"]) - ended
             - resting)
    dead.extend((str(j), NO_STAGE) for j in sorted(never, key=str))


def _fitted_sources(sources: pd.Series, journeys: Journeys, valid: list[str]) -> pd.Series:
    """A log source that enters more than one stage is fitted as one source per entry stage,
    ``SOURCE_to_STAGE``: name an open item's source so, from its journey's first stage, when
    the scenario has it."""
    wanted = set(valid)
    first = (journeys.visits.sort_values("entered", kind="stable").groupby("journey")["stage"]
             .first().reindex(sources.index))

    def name(value: Any, entry: Any) -> Any:
        if pd.isna(value) or pd.isna(entry):
            return value
        split = f"{scenario_key(str(value))}_to_{scenario_key(str(entry))}"
        return split if scenario_key(str(value)) not in wanted and split in wanted else value

    return pd.Series([name(v, e) for v, e in zip(sources, first, strict=True)],
                     index=sources.index, dtype=object)


def _known(values: pd.Series, valid: list[str], what: str, notes: list[str]) -> pd.Series:
    """Log values as scenario names (as ``fit`` names them); values the scenario does not know
    are left blank, with a note."""
    keys = values.map(lambda v: scenario_key(str(v)) if pd.notna(v) else np.nan)
    if not valid:
        if keys.notna().any():
            notes.append(f"the scenario has no {what}s: the log's {what} of "
                         f"{int(keys.notna().sum()):,} open items is left blank")
        return pd.Series(np.nan, index=values.index, dtype=object)
    unknown = keys.notna() & ~keys.isin(valid)
    if unknown.any():
        notes.append(f"{int(unknown.sum()):,} open items have a {what} the scenario does not "
                     f"know ({values_text(values[unknown])}; the scenario's: "
                     f"{', '.join(valid)}): left blank")
    return keys.where(~unknown)


def _work_status(ev: pd.DataFrame, journey: np.ndarray, cur: pd.DataFrame) -> None:
    """``status``, ``started_work`` and ``work_done`` of each open item, from lifecycle start /
    complete events of its stage's activity (and ``first_touch`` on a staffed stage) since it
    entered the stage. A stage whose activity never has a start event in the log records no
    waiting: its items' status stays unknown unless worked."""
    cur["status"] = UNKNOWN
    cur["started_work"] = pd.Series(pd.NaT, index=cur.index, dtype="datetime64[ns, UTC]")
    cur["work_done"] = False
    activity_of = {v: k for k, v in STAGE_ACTIVITIES.items()}
    cur["activity"] = cur["stage"].map(lambda s: activity_of.get(s, f"stage:{s}"))
    starts_logged = set(ev.loc[ev["lifecycle"] == "start", "activity"])
    wanted = ((ev["lifecycle"] == "start") | (ev["lifecycle"] == "complete")
              | (ev["activity"] == "first_touch")).to_numpy()
    rel = ev.loc[wanted, ["activity", "timestamp", "lifecycle"]].assign(
        journey=journey[wanted]).reset_index(drop=True)
    rel = rel[rel["journey"].isin(cur.index)]
    rel = rel.join(cur[["activity", "entered_stage"]].rename(columns={"activity": "current"}),
                   on="journey")
    rel = rel[rel["timestamp"] >= rel["entered_stage"]]
    own = rel["activity"] == rel["current"]
    start = rel[own & (rel["lifecycle"] == "start")].groupby("journey")["timestamp"].max()
    done = rel[own & (rel["lifecycle"] == "complete") & rel["current"].isin(starts_logged)]
    done = done.groupby("journey")["timestamp"].max()
    touch = rel[rel["activity"] == "first_touch"].groupby("journey")["timestamp"].min()
    staffed = cur["pool"].notna()
    started = start.reindex(cur.index)
    finished = done.reindex(cur.index)
    in_work = started.notna() & ~(finished >= started)
    cur.loc[in_work, "status"] = IN_WORK
    cur.loc[in_work, "started_work"] = started[in_work]
    cur.loc[started.notna() & (finished >= started), "work_done"] = True
    touched = staffed & ~in_work & ~cur["work_done"] & touch.reindex(cur.index).notna()
    cur.loc[touched, "status"] = IN_WORK
    cur.loc[touched, "started_work"] = touch.reindex(cur.index)[touched]
    recorded = cur["activity"].isin(starts_logged)
    waiting = staffed & recorded & (cur["status"] == UNKNOWN) & ~cur["work_done"]
    cur.loc[waiting, "status"] = WAITING


def _naive(value: Any) -> Any:
    return None if pd.isna(value) else pd.Timestamp(value).tz_convert(None).to_pydatetime()


def _text(value: Any) -> str | None:
    return None if pd.isna(value) else str(value)


def _number(value: Any) -> float | None:
    return None if pd.isna(value) else float(value)


def _items_of(cur: pd.DataFrame) -> tuple[OpenItem, ...]:
    return tuple(
        OpenItem(id=str(j), stage=str(row.scenario_stage), entered_stage=_naive(row.entered_stage),
                 created=_naive(row.created), amount=_number(row.amount),
                 source=_text(row.source), segment=_text(row.segment), score=_number(row.score),
                 pool=_text(row.pool), status=str(row.status),
                 started_work=_naive(row.started_work))
        for j, row in zip(cur.index, cur.itertuples(index=False), strict=True))


def _pools(items: tuple[OpenItem, ...], model: Model, ev: pd.DataFrame) -> tuple[PoolLoad, ...]:
    """Work in progress and queue of each pool whose stages' waiting the log records."""
    starts = set(ev.loc[ev["lifecycle"] == "start", "activity"])
    by_stage = stage_of_activity(model)
    shown = set()
    for activity, name in by_stage.items():
        st = next(s for s in model.stages if s.name == name)
        if activity in starts and st.pool is not None:
            shown.add(model.pools[st.pool].name)
    shown |= {i.pool for i in items if i.pool is not None and i.status != UNKNOWN}
    return tuple(PoolLoad(pool=p, wip=sum(1 for i in items if i.pool == p and i.status == IN_WORK),
                          queue=sum(1 for i in items if i.pool == p and i.status == WAITING))
                 for p in sorted(shown))


__all__ = ["DEAD_PATIENCE", "DEAD_STALE", "IN_NURTURE", "NO_STAGE", "build_state"]
