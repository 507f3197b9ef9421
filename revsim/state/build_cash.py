"""The cash side of a snapshot: open invoices (``calibrate.journeys.invoice_outcomes``, the one
reading of invoice outcomes that fitting and the backtest share) and customers with a live
contract, at the as-of time.

An invoice is open when it was issued and neither paid, written off nor voided by as-of; what is
outstanding is its amount less the partial payments (``payment_received``) so far. A customer is a
won deal not churned by as-of whose contract (the scenario's, by segment) is a subscription.
Invoices and deals the model could not carry are counted by reason, as the open items are.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd

from revsim.calibrate.evidence import scenario_key
from revsim.calibrate.journeys import Journeys, invoice_outcomes
from revsim.scenario.model import Model
from revsim.state.snapshot import Customer, OpenInvoice

NO_AMOUNT = "invoice without an amount"
NO_DUE = "invoice without a due date (fit leaves these out too)"
WRITTEN_OFF = "unpaid past the scenario's write-off age"
DEAL_NO_AMOUNT = "won deal without an amount"
CONTRACT_ENDED = "contract term over before as-of (the scenario renews none)"
HOURS_PER_MONTH = 8766.0 / 12


def segment_index(keys: pd.Series, model: Model) -> pd.Series:
    """The scenario's index of each segment key (-1: the default tables)."""
    index = {name: i for i, name in enumerate(model.segments)}
    return keys.map(lambda k: index.get(k, -1) if isinstance(k, str) else -1).astype(int)


def _segment_keys(values: pd.Series, model: Model) -> pd.Series:
    keys = values.map(lambda v: scenario_key(str(v)) if pd.notna(v) else np.nan)
    return keys.where(keys.isin(list(model.segments)))


def journey_of(ev: pd.DataFrame) -> pd.Series:
    """Each event's journey, as ``build_journeys`` groups them: a deal whose parent_id is a
    lead of the log belongs to that lead's journey."""
    leads = pd.unique(ev.loc[ev["object_type"] == "lead", "case_id"])
    opp = (ev["object_type"] == "opportunity") & ev["parent_id"].isin(leads)
    return ev["case_id"].where(~opp, ev["parent_id"])


def case_journeys(ev: pd.DataFrame, journey: np.ndarray) -> pd.Series:
    """The journey of each lead or deal case id (``journey``: each event's, from journey_of)."""
    funnel = (ev["object_type"].isin(["lead", "opportunity"]) | ev["object_type"].isna()
              ).to_numpy()
    return pd.Series(journey[funnel]).groupby(ev["case_id"].to_numpy()[funnel]).first()


def invoices_at(ev: pd.DataFrame, journeys: Journeys, case_journey: pd.Series, model: Model,
                as_of: pd.Timestamp, dead: list[tuple[str, str]], notes: list[str]
                ) -> tuple[OpenInvoice, ...]:
    inv = ev[ev["object_type"].isin(["invoice", "payment"])]
    if inv.empty:
        return ()
    out = invoice_outcomes(inv)
    voided = set(inv.loc[inv["activity"] == "invoice_voided", "case_id"])
    out = out[out["paid"].isna() & out["written_off"].isna() & ~out.index.isin(voided)].copy()
    if out.empty:
        return ()
    partial = inv[inv["activity"] == "payment_received"].groupby("case_id")["amount"].sum()
    out["outstanding"] = out["amount"] - partial.reindex(out.index).fillna(0.0)
    out["dunning_step"] = (inv[inv["activity"] == "reminder_sent"].groupby("case_id").size()
                           .reindex(out.index).fillna(0).astype(int))
    own = (inv.groupby("case_id")["segment"].first().reindex(out.index)
           if "segment" in inv.columns else pd.Series(np.nan, index=out.index, dtype=object))
    deal_segment = journeys.journeys.set_index("journey")["segment"]
    parent = out["parent"].astype(object)
    deal = parent.map(case_journey).astype(object)
    via_deal = deal.where(deal.notna(), parent).map(deal_segment).astype(object)
    own = own.astype(object)
    out["segment"] = _segment_keys(own.where(own.notna(), via_deal), model)
    no_amount = out["amount"].isna().to_numpy()
    no_due = out["due"].isna().to_numpy() & ~no_amount
    settled = (out["outstanding"] <= 0).to_numpy()
    too_old = np.zeros(len(out), dtype=bool)
    if model.cash is not None:
        limit = segment_index(out["segment"], model).map(
            lambda i: model.cash.payment(i).write_off_after)  # type: ignore[union-attr]
        age = (as_of - out["issued"]).dt.total_seconds() / 3600.0
        too_old = (age > limit).to_numpy() & ~no_amount & ~no_due & ~settled
    for mask, reason in ((no_amount, NO_AMOUNT), (no_due, NO_DUE), (too_old, WRITTEN_OFF)):
        dead.extend((str(i), reason) for i in out.index[mask])
    keep = out.loc[~(no_amount | no_due | settled | too_old)].sort_index()
    # the log may send more reminders than the scenario has (a fit without dunning, a scenario
    # written by hand): such an invoice has had every reminder the scenario can send
    reminders = len(model.cash.reminders) if model.cash is not None else 0
    beyond = int((keep["dunning_step"] > reminders).sum())
    if beyond:
        keep = keep.assign(dunning_step=keep["dunning_step"].clip(upper=reminders))
        notes.append(f"{beyond:,} open invoice{'s' if beyond > 1 else ''} had more reminders "
                     f"in the log than the scenario's {reminders}: started past its last one")
    if model.cash is None and len(keep):
        notes.append(f"the scenario has no [deals]: its {len(keep):,} open invoices cannot be "
                     "collected in it (add [deals] and [payment])")
    return tuple(
        OpenInvoice(id=str(case), issued=_day(row.issued), due=_day(row.due),
                    outstanding=float(row.outstanding), dunning_step=int(row.dunning_step),
                    segment=None if pd.isna(row.segment) else str(row.segment))
        for case, row in zip(keep.index, keep.itertuples(index=False), strict=True))


def _day(stamp: Any) -> dt.date:
    return pd.Timestamp(stamp).tz_convert(None).date()


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus whole months, on the last day of a shorter month (Jan 31 + 1 = Feb 28/29)."""
    total = day.year * 12 + day.month - 1 + months
    year, month = divmod(total, 12)
    month += 1
    nxt = dt.date(year + (month == 12), month % 12 + 1, 1)
    return dt.date(year, month, min(day.day, (nxt - dt.timedelta(days=1)).day))


def next_renewal(start: dt.date, term_months: int, as_of: dt.date) -> dt.date:
    """The first term end after ``start`` on or after ``as_of``."""
    elapsed = (as_of.year - start.year) * 12 + as_of.month - start.month
    k = max(1, math.ceil(elapsed / term_months) - 1)
    renewal = add_months(start, k * term_months)
    while renewal < as_of:
        k += 1
        renewal = add_months(start, k * term_months)
    return renewal


def customers_at(ev: pd.DataFrame, journeys: Journeys, case_journey: pd.Series, model: Model,
                 as_of: pd.Timestamp, dead: list[tuple[str, str]], notes: list[str]
                 ) -> tuple[Customer, ...]:
    facts = journeys.journeys.set_index("journey")
    won = facts[facts["won_time"].notna()].copy()
    if won.empty:
        return ()
    if model.cash is None:
        notes.append(f"the scenario has no [deals]: the log's {len(won):,} won deals are not "
                     "customers with contracts in it")
        return ()

    def first(activity: str) -> pd.Series:
        rows = ev[ev["activity"] == activity]
        journey = rows["case_id"].map(case_journey).fillna(rows["case_id"])
        return rows["timestamp"].groupby(journey.to_numpy()).min()

    churned = first("churned").reindex(won.index)
    won = won[churned.isna().to_numpy()]
    live_at = first("go_live").reindex(won.index)
    won["segment"] = _segment_keys(won["segment"], model)
    seg = segment_index(won["segment"], model)
    contracts = {i: model.cash.contract(i) for i in pd.unique(seg)}

    def per_contract(value: Any) -> np.ndarray:
        return seg.map(lambda i: value(contracts[i])).to_numpy()

    subscription = per_contract(lambda c: not c.one_off).astype(bool)
    at_go_live = per_contract(lambda c: c.service_start == "go_live").astype(bool)
    term = per_contract(lambda c: max(1, round(c.term / HOURS_PER_MONTH))).astype(int)
    renews = per_contract(lambda c: c.renewal > 0).astype(bool)
    not_live = at_go_live & live_at.isna().to_numpy()
    onboarding = journeys.visits.loc[journeys.visits["censored"].to_numpy(), "journey"]
    pending = not_live & won.index.isin(onboarding)  # an open item of the onboarding stage
    at_signature = int((subscription & not_live & ~pending).sum())
    starts = live_at.where(at_go_live & live_at.notna().to_numpy(), won["won_time"])
    start_days = starts.dt.tz_convert(None).dt.date.to_numpy()
    no_amount = won["amount"].isna().to_numpy()
    as_of_day = _day(as_of)
    out: list[Customer] = []
    for k, journey in enumerate(won.index):
        if not subscription[k] or pending[k]:
            continue
        if no_amount[k]:
            dead.append((str(journey), DEAL_NO_AMOUNT))
            continue
        start, months = start_days[k], int(term[k])
        if not renews[k] and add_months(start, months) < as_of_day:
            dead.append((str(journey), CONTRACT_ENDED))
            continue
        segment = won["segment"].iat[k]
        out.append(Customer(id=str(journey), start=start, term_months=months,
                            next_renewal=next_renewal(start, months, as_of_day),
                            arr=float(won["amount"].iat[k]) * 12 / months,
                            segment=None if pd.isna(segment) else str(segment)))
    if at_signature:
        notes.append(f"{at_signature:,} won deal{'s have' if at_signature != 1 else ' has'} no "
                     "go_live event: taken to start at signature")
    return tuple(sorted(out, key=lambda c: c.id))
