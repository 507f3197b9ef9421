"""Export simulated events in the canonical event-log format ("revsim event log v1").

One row per event with ``case_id``, ``activity``, ``timestamp`` (ISO 8601, UTC), ``object_type``
(lead, opportunity, invoice, payment), ``parent_id``, ``resource``, ``amount``, ``due_date`` and
the lead's attributes (``source``, ``segment``, ``score``). Activity names follow the canonical
list (lead_created, first_touch, mql, sql, opportunity_created, stage:NAME, closed_won,
closed_lost, disqualified, recycled, onboarding_started, go_live, invoice_issued, reminder_sent,
payment_received, invoice_paid, invoice_written_off), so ``revsim fit`` can read it back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import pandas as pd

from revsim.experiment import ReplicationSummary
from revsim.scenario.model import (
    BALKED,
    CHURNED,
    DISQUALIFIED,
    LIVE,
    LOST,
    NURTURE,
    RENEGED,
    WON,
    Model,
)

COLUMNS = ["case_id", "activity", "timestamp", "object_type", "parent_id", "resource", "amount",
           "due_date", "source", "segment", "score", "replication"]
OPPORTUNITY_EVENTS = {"opportunity_created", "converted"}
_TERMINAL_ACTIVITY = {
    WON: "closed_won",
    LOST: "closed_lost",
    DISQUALIFIED: "disqualified",
    RENEGED: "disqualified",
    BALKED: "disqualified",
    NURTURE: "recycled",
    CHURNED: "churned",
}


def event_log(model: Model, replications: Sequence[ReplicationSummary]) -> pd.DataFrame:
    """The events of ``replications`` of ``model`` as a tidy table (they must have been run
    with ``records=True``: visits plus the leads, entries and invoice log)."""
    stage_names = [s.name for s in model.stages]
    events = list(model.stage_events) or [f"stage:{n}" for n in stage_names]
    internal = {model.cash.billing_stage, model.cash.collections_stage} if model.cash else set()
    onboarding = model.cash.onboarding if model.cash else None
    pools = [p.name for p in model.pools]
    sources = [s.name for s in model.sources]
    frames = []
    multi = len(replications) > 1
    for rep in replications:
        if rep.visits is None or "leads" not in rep.extra:
            raise ValueError("this run kept no records; run with records=True for an event log")
        prefix = f"{rep.replication}-" if multi else ""
        leads = pd.DataFrame(rep.extra["leads"]).set_index("lead")
        visits = pd.DataFrame(rep.visits)
        visits = visits[~visits["stage"].isin(internal)]
        rows: list[tuple[Any, ...]] = []
        # When a lead becomes an opportunity: its first visit to a stage logged as one.
        opp_stages = [i for i, e in enumerate(events) if e in OPPORTUNITY_EVENTS]
        entries = pd.DataFrame(rep.extra["entries"])
        converted_at = (
            entries[entries["entry_stage"].isin(opp_stages)].groupby("entry_lead")["entry_time"]
            .min()
            if opp_stages else pd.Series(dtype=float)
        )
        for lead_id, attrs in leads.iterrows():
            rows.append((lead_id, "lead_created", attrs["created"], None, None, None,
                         attrs["value"], np.nan, -1))
        for lead_id, stage, t, seq in zip(entries["entry_lead"], entries["entry_stage"],
                                          entries["entry_time"], entries["entry_seq"],
                                          strict=True):
            if int(stage) in internal:
                continue
            activity = events[int(stage)]
            if int(stage) == onboarding and activity.startswith("stage:"):
                activity = "onboarding_started"
            rows.append((int(lead_id), activity, float(t), None, None, None,
                         leads["value"].get(int(lead_id), np.nan), np.nan, int(seq)))
        touched: set[int] = set()
        ordered = visits.sort_values(["lead", "arrival", "start"], kind="stable")
        for v in cast(Any, ordered.itertuples()):
            stage = int(v.stage)
            pool = model.stages[stage].pool
            resource = f"{pools[pool]}-{v.resource}" if pool is not None and v.resource >= 0 \
                else None
            if pool is not None and v.lead not in touched and v.resource >= 0:
                touched.add(v.lead)
                rows.append((v.lead, "first_touch", v.start, None, None, resource, v.value,
                             np.nan, v.seq - 0.5))
            outcome = int(v.outcome)
            if outcome in _TERMINAL_ACTIVITY:
                rows.append((v.lead, _TERMINAL_ACTIVITY[outcome], v.end, None, None, resource,
                             v.value, np.nan, v.seq))
            elif outcome == LIVE:
                pass  # go_live comes from the cash log, with the same time
        # cash events come after the lead events of the same instant, in the order they happened
        cash_order = 1 << 52
        for i, row in enumerate(rep.extra.get("invoice_log") or []):
            kind, obj_id, t = row[0], row[1], row[2]
            if kind in ("go_live", "renewed", "not_renewed", "deal_churned"):
                if kind == "go_live":
                    rows.append((obj_id, "go_live", t, None, None, None, np.nan, np.nan,
                                 cash_order + i))
                continue
            lead_id, cents, due = row[3], row[4], row[5]
            rows.append((f"I{obj_id}", kind, t, "invoice", lead_id, None, cents / 100.0, due,
                         cash_order + i))
        df = pd.DataFrame(rows, columns=["case", "activity", "t", "object_type", "parent",
                                         "resource", "amount", "due", "order"])
        lead_cases = df["object_type"].isna()
        conv = df.loc[lead_cases, "case"].map(converted_at)
        is_opp = lead_cases & conv.notna().reindex(df.index, fill_value=False) & (
            df["t"] >= conv.reindex(df.index)
        )
        df.loc[lead_cases, "object_type"] = "lead"
        df.loc[is_opp, "object_type"] = "opportunity"
        lead_num = pd.to_numeric(df["case"].where(lead_cases), errors="coerce")
        df["case_id"] = np.where(
            is_opp, prefix + "O" + lead_num.astype("Int64").astype(str),
            np.where(lead_cases, prefix + "L" + lead_num.astype("Int64").astype(str),
                     prefix + df["case"].astype(str)),
        )
        df.loc[is_opp, "parent_id"] = prefix + "L" + lead_num[is_opp].astype("Int64").astype(str)
        inv = df["object_type"] == "invoice"
        parent_lead = pd.to_numeric(df.loc[inv, "parent"], errors="coerce").astype("Int64")
        parent_is_opp = parent_lead.isin(converted_at.index)
        df.loc[inv, "parent_id"] = np.where(parent_is_opp, prefix + "O", prefix + "L") + \
            parent_lead.astype(str)
        payment = df["activity"].isin(["payment_received", "invoice_paid"])
        df.loc[payment, "object_type"] = "payment"
        key = pd.to_numeric(df["case"].where(lead_cases, df["parent"]), errors="coerce")
        df["source"] = key.map(leads["source"]).map(
            lambda i: sources[int(i)] if pd.notna(i) and i >= 0 else None  # -1: not known
        )
        df["segment"] = key.map(leads["segment"]).map(
            lambda i: model.segments[int(i)] if pd.notna(i) and i >= 0 else None
        )
        df["score"] = key.map(leads["score"])
        df["timestamp"] = _iso(model.start, df["t"])
        df["due_date"] = _iso(model.start, df["due"])
        df["replication"] = rep.replication
        df["resource"] = df["resource"]
        # time order; ties keep the order in which things happened in the simulation
        frames.append(df.sort_values(["t", "order"], kind="stable"))
    out = pd.concat(frames, ignore_index=True)
    return out.reindex(columns=COLUMNS)


def _iso(start: Any, hours: pd.Series) -> pd.Series:
    base = pd.Timestamp(start, tz="UTC")
    stamps = base + pd.to_timedelta(hours.astype(float), unit="h")
    return stamps.dt.strftime("%Y-%m-%dT%H:%M:%S%z").str.replace(
        r"(\+\d\d)(\d\d)$", r"\1:\2", regex=True
    ).where(hours.notna(), None)
