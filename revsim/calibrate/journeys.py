"""From an event log to journeys: stage visits with their exits and durations, censored at as-of.

A *journey* is one lead followed through its opportunity (revsim's export and CRM exports link
them with ``parent_id``). Stage-entry activities (``mql``, ``sql``, ``opportunity_created``,
``stage:X``, ``onboarding_started``) open a visit; the next stage entry or outcome
(``closed_won``, ``closed_lost``, ``disqualified``, ``recycled``, ``go_live``, ``churned``)
closes it. A visit still open at the as-of time is right-censored there, never dropped.
A stage event repeating the stage the journey is in extends that visit, and a stage event after
the journey ended (won, lost, disqualified; a won deal's onboarding excepted) opens none: both
are counted in ``Journeys``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

STAGE_ACTIVITIES = {"mql": "mql", "sql": "sql", "opportunity_created": "opportunity",
                    "onboarding_started": "onboarding"}
OUTCOMES = {"closed_won": "won", "closed_lost": "lost", "disqualified": "disqualified",
            "recycled": "nurture", "go_live": "live", "churned": "churned"}
CREATION = {"lead_created", "opportunity_created"}


def stage_name(activity: str) -> str | None:
    """The stage an activity opens (``stage:demo`` -> ``demo``), or None."""
    if activity.startswith("stage:"):
        return activity[6:]
    return STAGE_ACTIVITIES.get(activity)


@dataclass
class Journeys:
    """Stage visits and journey-level facts derived from a log.

    ``visits``: journey, stage, entered (UTC), exit (a stage name, an outcome or NaN when
    censored), hours (time in stage, or time until as-of when censored), censored, plus the
    journey's source/segment/amount where known. ``journeys``: journey, created, source,
    segment, amount, outcome, outcome_time, won_time.
    """

    visits: pd.DataFrame
    journeys: pd.DataFrame
    nurture: pd.DataFrame  # journey, left (UTC), back_to (stage or NaN), hours, censored
    as_of: pd.Timestamp
    superseded: int = 0
    """Events left out because their activity also completes in the case: an XES log's
    ``start`` of a stage next to its ``complete`` would otherwise enter the stage twice."""
    merged: int = 0
    """Stage events repeating the stage the journey is already in (several work items of one
    stage): they belong to the visit the first one opened."""
    after_outcome: int = 0
    """Stage events after the journey was won, lost or disqualified (other than the won deal's
    delivery: onboarding and the stages after it)."""
    stale: dict[str, int] | None = None
    """With ``stale_after``: how many open journeys were closed as ``lost`` / ``disqualified``
    by the inactivity rule (see ``_stale_outcomes``); None without the rule."""


_USED = ("case_id", "activity", "timestamp", "object_type", "parent_id", "lifecycle", "amount",
         "source", "segment")


def build_journeys(events: pd.DataFrame, as_of: pd.Timestamp,
                   stale_after: pd.Timedelta | None = None) -> Journeys:
    """Journeys from canonical events (sorted by case then time; ties in file order).

    ``stale_after``: an open journey untouched for longer than this before ``as_of`` is
    closed as lost (see ``_stale_outcomes``).
    """
    funnel = (events["object_type"].isin(["lead", "opportunity"])
              | events["object_type"].isna()).to_numpy()
    # only the columns read here: a log's own attribute named like a working column (entered,
    # stage, journey) must not collide with it
    ev = events.loc[funnel, [c for c in _USED if c in events.columns]].copy()
    superseded = _superseded(ev)
    if superseded.any():
        ev = ev[~superseded]
    leads = set(ev.loc[ev["object_type"] == "lead", "case_id"])
    parent = ev["parent_id"] if "parent_id" in ev else pd.Series(np.nan, index=ev.index)
    ev["journey"] = np.where(
        (ev["object_type"] == "opportunity") & parent.isin(leads), parent, ev["case_id"]
    )
    ev["_row"] = np.arange(len(ev))
    ev = ev.sort_values(["journey", "timestamp", "_row"], kind="stable")
    # each distinct activity once: a million events have a few dozen
    ev["stage"] = ev["activity"].map({a: stage_name(a) for a in pd.unique(ev["activity"])})
    ev["outcome"] = ev["activity"].map(OUTCOMES)
    attrs = _journey_attributes(ev)

    flow = ev[ev["stage"].notna() | ev["outcome"].notna()]
    late = _after_outcome(flow)
    flow = flow[~late]
    # A process-mining log records each work item of a stage: only a change of stage (or a
    # return after an outcome, e.g. recycled and back) opens a visit, else routes come out as
    # self-loops and durations as the gaps between items.
    stage = flow["stage"].to_numpy(dtype=object)
    repeat = np.zeros(len(flow), dtype=bool)
    repeat[1:] = (~_journey_starts(flow)[1:] & flow["stage"].notna().to_numpy()[1:]
                  & (stage[1:] == stage[:-1]))
    flow = flow[~repeat].copy()
    stale: dict[str, int] | None = None
    if stale_after is not None:
        flow, stale = _stale_outcomes(ev, flow, as_of, stale_after)
    # A journey's entry into onboarding follows its win at the same instant: the won closes
    # the sales stage first.
    grp = flow.groupby("journey", sort=False)
    flow["next_stage"] = grp["stage"].shift(-1)
    flow["next_outcome"] = grp["outcome"].shift(-1)
    flow["next_time"] = grp["timestamp"].shift(-1)

    visits = flow[flow["stage"].notna()].copy()
    exit_target = visits["next_outcome"].where(visits["next_outcome"].notna(),
                                               visits["next_stage"])
    visits["exit"] = exit_target
    visits["censored"] = visits["next_time"].isna()
    end = visits["next_time"].where(~visits["censored"], as_of)
    visits["hours"] = (end - visits["timestamp"]).dt.total_seconds() / 3600.0
    visits = visits.rename(columns={"timestamp": "entered"})
    visits = visits[["journey", "stage", "entered", "exit", "hours", "censored"]].merge(
        attrs[["journey", "source", "segment"]], on="journey", how="left")

    rec = flow[flow["outcome"] == "nurture"].copy()
    rec["censored"] = rec["next_time"].isna()
    back_end = rec["next_time"].where(~rec["censored"], as_of)
    rec["hours"] = (back_end - rec["timestamp"]).dt.total_seconds() / 3600.0
    nurture = rec.rename(columns={"timestamp": "left", "next_stage": "back_to"})[
        ["journey", "left", "back_to", "hours", "censored"]]

    terminal = flow[flow["outcome"].isin(["won", "lost", "disqualified"])]
    last = terminal.groupby("journey").agg(outcome=("outcome", "last"),
                                           outcome_time=("timestamp", "last"))
    won = terminal[terminal["outcome"] == "won"].groupby("journey")["timestamp"].first()
    journeys = attrs.merge(last, left_on="journey", right_index=True, how="left")
    journeys["won_time"] = journeys["journey"].map(won)
    return Journeys(visits.reset_index(drop=True), journeys.reset_index(drop=True),
                    nurture.reset_index(drop=True), as_of, int(superseded.sum()),
                    merged=int(repeat.sum()), after_outcome=int(late.sum()), stale=stale)


def _stale_outcomes(ev: pd.DataFrame, flow: pd.DataFrame, as_of: pd.Timestamp,
                    after: pd.Timedelta) -> tuple[pd.DataFrame, dict[str, int]]:
    """``flow`` with an outcome row added to each open journey whose last event (of any
    activity) is more than ``after`` before ``as_of``, and the count per outcome.

    Open: the journey's last stage-or-outcome row is a stage entry and it was never won (a won
    deal in onboarding is in delivery, not in the funnel; a recycled journey is parked in
    nurture on purpose). The outcome is ``lost`` in the stage it was in, or ``disqualified``
    when the journey never became an opportunity, as the CRM would have recorded it. It is
    placed at last event + ``after``: the moment the rule first calls the journey stale, so
    the closed visit is never longer than the censored one it replaces, and a journey that goes
    quiet just before as-of keeps its censored visit.
    """
    last_row = flow.groupby("journey", sort=False).tail(1)
    ever_won = set(flow.loc[flow["outcome"] == "won", "journey"])
    open_rows = last_row[last_row["stage"].notna() & ~last_row["journey"].isin(ever_won)]
    touched = ev.groupby("journey", sort=False)["timestamp"].max()
    when = open_rows["journey"].map(touched) + after
    open_rows, when = open_rows[when < as_of], when[when < as_of]
    if open_rows.empty:
        return flow, {"lost": 0, "disqualified": 0}
    opportunity = set(ev.loc[(ev["object_type"] == "opportunity")
                             | (ev["activity"] == "opportunity_created"), "journey"])
    became_opp = open_rows["journey"].isin(opportunity).to_numpy()
    added = pd.DataFrame({
        "journey": open_rows["journey"].to_numpy(),
        "case_id": open_rows["case_id"].to_numpy(),
        "object_type": open_rows["object_type"].to_numpy(),
        "activity": np.where(became_opp, "closed_lost", "disqualified"),
        "timestamp": when.reset_index(drop=True),
        "stage": None,
        "outcome": np.where(became_opp, "lost", "disqualified"),
        "_row": np.arange(len(ev), len(ev) + len(open_rows)),
    })
    flow = pd.concat([flow, added], ignore_index=True).sort_values(
        ["journey", "timestamp", "_row"], kind="stable")
    return flow, {"lost": int(became_opp.sum()), "disqualified": int((~became_opp).sum())}


_CLOSED = ("won", "lost", "disqualified", "live", "churned")


def _after_outcome(flow: pd.DataFrame) -> np.ndarray:
    """Stage rows of a journey that has already ended: after won, lost, disqualified, live or
    churned with no ``recycled`` since (recycling reopens it). A won deal's hand-over to
    onboarding, and the delivery stages after it until live or churned, are not after it."""
    outcome = flow["outcome"].to_numpy(dtype=object)
    is_stage = flow["stage"].notna().to_numpy()
    closed = pd.Series(outcome).isin(_CLOSED).to_numpy()
    marker = closed | (outcome == "nurture")
    first = np.maximum.accumulate(np.where(_journey_starts(flow), np.arange(len(flow)), 0))
    prev = _latest_before(marker, first)
    handover = (is_stage & (flow["stage"] == "onboarding").to_numpy() & (prev >= 0)
                & (outcome[prev] == "won"))
    # from the hand-over on, the deal is in delivery: its stages stand until live or churned
    prev = _latest_before(marker | handover, first)
    return is_stage & (prev >= 0) & closed[prev] & ~handover


def _journey_starts(flow: pd.DataFrame) -> np.ndarray:
    """Whether each row is its journey's first (the rows are grouped by journey)."""
    journey = flow["journey"].to_numpy(dtype=object)
    starts = np.ones(len(journey), dtype=bool)
    starts[1:] = journey[1:] != journey[:-1]
    return starts


def _latest_before(marked: np.ndarray, first: np.ndarray) -> np.ndarray:
    """For each row, the position of the latest marked row before it in its journey, or -1;
    ``first`` is the position of each row's journey's first row."""
    upto = np.maximum.accumulate(np.where(marked, np.arange(len(marked)), -1))
    before = np.full(len(marked), -1, dtype=np.int64)
    before[1:] = upto[:-1]
    return np.where(before >= first, before, -1)


def _superseded(ev: pd.DataFrame) -> np.ndarray:
    """Rows whose lifecycle is not ``complete`` while the same case completes the same activity
    (the completion is the event; a log of starts only keeps its starts)."""
    if "lifecycle" not in ev:  # a log without lifecycle transitions: every event stands
        return np.zeros(len(ev), dtype=bool)
    complete = ev["lifecycle"].eq("complete")
    if complete.all():
        return np.zeros(len(ev), dtype=bool)
    completes = complete.groupby([ev["case_id"], ev["activity"]], sort=False).transform("any")
    return (~complete & completes).to_numpy(dtype=bool)


def _journey_attributes(ev: pd.DataFrame) -> pd.DataFrame:
    """Creation time, source, segment and amount of each journey (first known values)."""
    grp = ev.groupby("journey", sort=False)
    out = pd.DataFrame({"journey": grp.size().index})
    created = grp["timestamp"].min()
    out["created"] = out["journey"].map(created)
    for col in ("source", "segment"):
        if col in ev.columns:
            out[col] = out["journey"].map(grp[col].first())  # first non-missing value
        else:
            out[col] = np.nan
    if "amount" in ev.columns:
        won_amount = ev[ev["activity"] == "closed_won"].groupby("journey")["amount"].last()
        any_amount = grp["amount"].last()
        out["amount"] = out["journey"].map(won_amount).fillna(out["journey"].map(any_amount))
    else:
        out["amount"] = np.nan
    return out


INVOICE_STAGE = "invoiced"


def invoice_journeys(events: pd.DataFrame, as_of: pd.Timestamp) -> Journeys | None:
    """Journeys for a log of invoices only (a Stripe or AR export): each invoice stands for one
    deal won when it was issued, worth its amount, passing one instant stage (``invoiced``).

    The funnel is a stand-in so that the cash side (terms, payment behaviour) can be simulated
    at the observed invoicing rate; None when the log has no issued invoice either.
    """
    issued = events[events["activity"] == "invoice_issued"]
    if issued.empty:
        return None
    grp = issued.groupby("case_id", sort=False)
    journeys = pd.DataFrame({"journey": grp.size().index})
    journeys["created"] = journeys["journey"].map(grp["timestamp"].first())
    journeys["source"] = "invoices"
    journeys["segment"] = (journeys["journey"].map(grp["segment"].first())
                           if "segment" in issued.columns else np.nan)
    journeys["amount"] = (journeys["journey"].map(grp["amount"].first())
                          if "amount" in issued.columns else np.nan)
    journeys["outcome"] = "won"
    journeys["outcome_time"] = journeys["created"]
    journeys["won_time"] = journeys["created"]
    visits = journeys[["journey", "created", "source", "segment"]].rename(
        columns={"created": "entered"})
    visits.insert(1, "stage", INVOICE_STAGE)
    visits.insert(3, "exit", "won")
    visits.insert(4, "hours", 0.0)
    visits.insert(5, "censored", False)
    nurture = pd.DataFrame({"journey": pd.Series(dtype=object),
                            "left": pd.Series(dtype="datetime64[ns, UTC]"),
                            "back_to": pd.Series(dtype=object),
                            "hours": pd.Series(dtype=float),
                            "censored": pd.Series(dtype=bool)})
    return Journeys(visits, journeys, nurture, as_of)


def invoice_outcomes(events: pd.DataFrame) -> pd.DataFrame:
    """One row per issued invoice (index: its case id): when it was issued, its due date, amount
    and parent deal as the issue event gives them, and when it was paid or written off (NaT while
    open). The one reading of invoice outcomes that fitting and the backtest share."""
    issued = events[events["activity"] == "invoice_issued"].groupby("case_id").agg(
        issued=("timestamp", "first"), due=("due_date", "first"), amount=("amount", "first"),
        parent=("parent_id", "first"))
    for column, activity in (("paid", "invoice_paid"), ("written_off", "invoice_written_off")):
        issued[column] = events[events["activity"] == activity].groupby("case_id")[
            "timestamp"].first()
    return issued
