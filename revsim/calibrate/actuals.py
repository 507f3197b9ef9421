"""What a log shows actually happened in each period, figure by figure, defined as a forecast
defines them (revsim.kpi_registry): what a forecast from an earlier date is judged against.

Also the win rate of each stage in the log, the weight of the weighted-pipeline forecast that
CRMs show (stage win rate x deal amount).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pandas as pd

from revsim.calibrate.evidence import scenario_key
from revsim.calibrate.journeys import build_journeys

#: figure -> the activity whose events it counts or sums, and how
FIGURES: dict[str, tuple[str, str]] = {
    "won": ("closed_won", "count"),
    "bookings": ("closed_won", "amount"),
    "pipeline_created": ("opportunity_created", "amount"),
    "invoiced": ("invoice_issued", "amount"),
    "cash_collected": ("payment", "amount"),
}
PAYMENTS = ("payment_received", "invoice_paid")


def _utc(when: dt.datetime) -> pd.Timestamp:
    stamp = pd.Timestamp(when)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def figures_in_log(events: pd.DataFrame) -> list[str]:
    """The figures a log can judge: those whose events it has at all (a CRM export has no
    invoices, a billing export no deals), and, for sums, with amounts on them."""
    out = []
    activities = set(events["activity"].unique())
    has_amount = "amount" in events.columns
    for figure, (activity, how) in FIGURES.items():
        wanted = set(PAYMENTS) if activity == "payment" else {activity}
        if not wanted & activities:
            continue
        if how == "amount":
            if not has_amount:
                continue
            rows = events["activity"].isin(list(wanted))
            if events.loc[rows, "amount"].notna().sum() == 0:
                continue
        out.append(figure)
    return out


def cash_events(events: pd.DataFrame) -> pd.DataFrame:
    """One row per payment (timestamp, amount). An invoice with ``payment_received`` events is
    paid by them; its ``invoice_paid`` marks the end and is not counted again. An invoice
    paid without partial payments is paid by ``invoice_paid`` (its amount, else the invoice's)."""
    if "amount" not in events.columns:
        return pd.DataFrame({"timestamp": pd.Series(dtype="datetime64[ns, UTC]"),
                             "amount": pd.Series(dtype=float)})
    received = events[events["activity"] == "payment_received"]
    paid = events[events["activity"] == "invoice_paid"]
    # a payment's case is its invoice, or its parent when the payment is its own case
    paying = set(received["case_id"]) | set(received.get("parent_id", pd.Series(dtype=object))
                                             .dropna())
    paid = paid[~paid["case_id"].isin(paying)]
    issued = events[events["activity"] == "invoice_issued"].groupby("case_id")["amount"].first()
    amounts = paid["amount"].fillna(paid["case_id"].map(issued))
    return pd.concat([received[["timestamp", "amount"]],
                      pd.DataFrame({"timestamp": paid["timestamp"], "amount": amounts})])


def period_actuals(events: pd.DataFrame, periods: Sequence[tuple[str, dt.datetime, dt.datetime]],
                   figures: Sequence[str]) -> pd.DataFrame:
    """Tidy (period, figure, value): each figure over [start, end) of each period."""
    cash = cash_events(events) if "cash_collected" in figures else None
    rows = []
    for label, start, end in periods:
        lo, hi = _utc(start), _utc(end)
        for figure in figures:
            activity, how = FIGURES[figure]
            if activity == "payment":
                assert cash is not None
                chosen = cash[(cash["timestamp"] >= lo) & (cash["timestamp"] < hi)]
            else:
                chosen = events[(events["activity"] == activity) & (events["timestamp"] >= lo)
                                & (events["timestamp"] < hi)]
            if how == "count":
                value = float(chosen["case_id"].nunique())
            else:
                value = float(chosen["amount"].fillna(0.0).sum())
            rows.append((label, figure, value))
    return pd.DataFrame(rows, columns=["period", "figure", "value"])


def stage_win_rates(events: pd.DataFrame, as_of: pd.Timestamp) -> tuple[dict[str, float], float]:
    """For each stage (by its scenario key), the share of the journeys that passed through it
    and had ended by ``as_of`` that ended won; and the mean amount of a won deal (the value a
    weighted pipeline gives an open item without an amount)."""
    journeys = build_journeys(events, as_of)
    done = journeys.journeys[journeys.journeys["outcome"].isin(["won", "lost", "disqualified"])]
    won = done.set_index("journey")["outcome"].eq("won")
    visits = journeys.visits[journeys.visits["journey"].isin(won.index)]
    rates: dict[str, float] = {}
    for stage, group in visits.groupby("stage"):
        passed = won.reindex(pd.unique(group["journey"]))
        rates[scenario_key(str(stage))] = float(passed.mean())
    amounts = done.loc[done["outcome"] == "won", "amount"].dropna()
    return rates, float(amounts.mean()) if len(amounts) else float(np.nan)
