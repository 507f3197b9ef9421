"""Snapshots cut from a simulation's own records, and what that simulation did after the cut.

A run with ``records=True`` keeps every visit, every stage entry, every lead and the invoice
log, which is all a snapshot needs: what was open at the cut, for how long, with its amount,
and every invoice still unpaid with the reminders it had. So a forecast from the cut can be
checked against what the same model actually did next (the round-trip test).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from revsim.scenario.model import WON
from revsim.state.snapshot import IN_WORK, UNKNOWN, WAITING, Customer, OpenInvoice, OpenItem, Snapshot

PAYMENTS = ("invoice_paid", "payment_received")


def _clock(model: Any) -> Any:
    base = dt.datetime.combine(model.start, dt.time())
    return lambda h: base + dt.timedelta(hours=float(h))


def snapshot_at(result: Any, replication: int, cut: float) -> Snapshot:
    """What replication ``replication`` of ``result`` had open at ``cut`` hours."""
    model = result.model
    rep = result.replications[replication]
    at = _clock(model)
    leads = rep.extra["leads"]
    created = dict(zip(leads["lead"].tolist(), leads["created"].tolist(), strict=True))
    value = dict(zip(leads["lead"].tolist(), leads["value"].tolist(), strict=True))
    segment = dict(zip(leads["lead"].tolist(), leads["segment"].tolist(), strict=True))
    v = rep.visits
    done = {(int(lead), int(stage), float(arrival)): (float(start), float(end))
            for lead, stage, arrival, start, end in zip(v["lead"], v["stage"], v["arrival"],
                                                         v["start"], v["end"], strict=True)}
    e = rep.extra["entries"]
    items = []
    for lead, stage, when in zip(e["entry_lead"].tolist(), e["entry_stage"].tolist(),
                                 e["entry_time"].tolist(), strict=True):
        if when >= cut:
            continue
        start, end = done.get((lead, stage, when), (None, None))
        if end is not None and end <= cut:
            continue
        st = model.stages[stage]
        status, started = UNKNOWN, None
        if st.pool is not None:
            in_work = start is not None and start < cut
            status, started = (IN_WORK, at(start)) if in_work else (WAITING, None)
        seg = segment[lead]
        items.append(OpenItem(id=f"L{lead}", stage=st.name, entered_stage=at(when),
                              created=at(created[lead]), amount=value[lead],
                              segment=model.segments[seg] if seg >= 0 else None, status=status,
                              started_work=started))
    log = rep.extra["invoice_log"]
    issued, paid, reminded, closed = {}, defaultdict(int), defaultdict(int), set()
    live, lapsed = {}, set()
    for row in log:
        kind, t = row[0], row[2]
        if t >= cut:
            continue
        if kind == "invoice_issued":
            issued[row[1]] = (t, row[3], row[4], row[5])
        elif kind in PAYMENTS:
            paid[row[1]] += row[4]
            if kind == "invoice_paid":
                closed.add(row[1])
        elif kind == "invoice_written_off":
            closed.add(row[1])
        elif kind == "reminder_sent":
            reminded[row[1]] += 1
        elif kind == "go_live":
            live[row[1]] = t
        elif kind == "not_renewed":
            lapsed.add(row[1])
    invoices = []
    for inv, (t, lead, cents, due) in issued.items():
        if inv in closed:
            continue
        seg = segment[lead]
        invoices.append(OpenInvoice(id=f"I{inv}", issued=at(t), due=at(due),
                                    outstanding=(cents - paid[inv]) / 100.0,
                                    dunning_step=reminded[inv],
                                    segment=model.segments[seg] if seg >= 0 else None))
    customers = []
    for lead, t in live.items():
        contract = model.cash.contract(segment[lead])
        if lead in lapsed or contract.one_off:
            continue
        terms_done = int((cut - t) // contract.term)
        months = round(contract.term / 730.5)
        seg = segment[lead]
        customers.append(Customer(id=f"C{lead}", start=at(t), term_months=months,
                                  next_renewal=at(t + (terms_done + 1) * contract.term),
                                  arr=value[lead] * 12 / months,
                                  segment=model.segments[seg] if seg >= 0 else None))
    return Snapshot(at(cut), tuple(items), tuple(invoices), tuple(customers))


def after_cut(result: Any, replication: int, cut: float, end: float) -> dict[str, float]:
    """What replication ``replication`` did in [cut, end): the forecast's figures, measured
    from its records (deals created before the cut are the open pipeline; invoices issued
    before it, the open AR)."""
    rep = result.replications[replication]
    leads = rep.extra["leads"]
    created = dict(zip(leads["lead"].tolist(), leads["created"].tolist(), strict=True))
    value = dict(zip(leads["lead"].tolist(), leads["value"].tolist(), strict=True))
    v = rep.visits
    out = dict.fromkeys(["won_open_pipeline", "won_new_leads", "bookings_open_pipeline",
                         "bookings_new_leads", "renewals", "renewal_bookings",
                         "cash_from_open_ar", "cash_from_new_invoices", "ar_outstanding"], 0.0)
    for lead, outcome, t in zip(v["lead"].tolist(), v["outcome"].tolist(), v["end"].tolist(),
                                strict=True):
        if outcome == WON and cut <= t < end:
            part = "open_pipeline" if created[lead] < cut else "new_leads"
            out[f"won_{part}"] += 1
            out[f"bookings_{part}"] += value[lead]
    issued_at, owed = {}, 0
    for row in rep.extra["invoice_log"]:
        kind, t = row[0], row[2]
        if t >= end:
            continue
        if kind == "invoice_issued":
            issued_at[row[1]] = t
            owed += row[4]
        elif kind in PAYMENTS or kind == "invoice_written_off":
            owed -= row[4]
            if kind in PAYMENTS and t >= cut:
                part = "open_ar" if issued_at[row[1]] < cut else "new_invoices"
                out[f"cash_from_{part}"] += row[4] / 100.0
        elif kind == "renewed" and t >= cut:
            out["renewals"] += 1
            out["renewal_bookings"] += value[row[1]]
    out["ar_outstanding"] = owed / 100.0
    return out
