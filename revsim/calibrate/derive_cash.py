"""The cash side fitted from a log's invoices: contract terms and billing schedule, payment
behaviour (on time, late, never) with competing outcomes for overdue invoices, and what the log
says about staffing.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from revsim.calibrate.competing import competing_outcomes
from revsim.calibrate.evidence import MIN_FIT, fit_comment, hours_text, scenario_key, try_fit
from revsim.calibrate.fitting import DurationFit
from revsim.calibrate.journeys import Journeys, invoice_outcomes
from revsim.calibrate.log import EventLog
from revsim.calibrate.rates import fit_proportion


def fit_cash(log: EventLog, j: Journeys, stage_keys: dict[str, str], comments: dict[str, str],
             fits: dict[str, DurationFit], notes: list[str], invoice_only: bool = False,
             excluded: dict[str, int] | None = None) -> dict[str, Any]:
    """Contract terms, billing and payment behaviour from the issued invoices. An invoice
    without a due date, and a second issue or payment event of one invoice, are left out (its
    first is used) and counted in ``excluded``."""
    ev = log.events
    inv = ev[ev["object_type"].isin(["invoice", "payment"])]
    issued = invoice_outcomes(inv).drop(columns="parent")
    if issued.empty:
        return {}
    if issued["due"].isna().all():  # an export without due dates: time to pay from the issue
        issued["due"], assumed = _assumed_due(inv, issued)
        notes.append(assumed)
    if excluded is not None:
        for activity, what in (("invoice_issued", "issued"), ("invoice_paid", "paid"),
                               ("invoice_written_off", "written off")):
            n = int(inv["activity"].eq(activity).sum())
            once = int(inv.loc[inv["activity"].eq(activity), "case_id"].nunique())
            if n > once:
                excluded[f"repeated {activity} events of one invoice (the first time it was "
                         f"{what} is used)"] = n - once
        undated = int(issued["due"].isna().sum())
        if undated:
            excluded["issued invoices without a due date (left out of the terms and payment "
                     "behaviour)"] = undated
    issued = issued[issued["due"].notna()]
    terms_days = ((issued["due"] - issued["issued"]).dt.total_seconds() / 86400).round()
    terms = int(terms_days.median()) if len(terms_days) else 30
    out: dict[str, Any] = {}
    parents = inv.groupby("case_id")["parent_id"].first()
    issued["deal"] = parents.reindex(issued.index)
    jmap = _journey_of_case(log)
    # without a funnel every invoice is its own deal (see invoice_journeys)
    issued["journey"] = (pd.Series(issued.index, index=issued.index) if invoice_only
                         else issued["deal"].map(jmap).fillna(issued["deal"]))
    facts = j.journeys.set_index("journey")
    live = log.events[log.events["activity"] == "go_live"].assign(
        journey=lambda d: d["case_id"].map(jmap).fillna(d["case_id"])
    ).groupby("journey")["timestamp"].first()
    contract, evidence = _billing(issued, facts["won_time"], live, terms)
    deals: dict[str, Any] = {"contract": contract}
    comments["deals.contract.terms"] = (f"median of {len(terms_days)} invoices' due - issue "
                                        f"dates (range {terms_days.min():.0f}-"
                                        f"{terms_days.max():.0f} d)")
    comments["deals.contract.billing"] = evidence
    if facts["segment"].notna().any():
        by_segment = {}
        issued["segment"] = issued["journey"].map(facts["segment"])
        for seg, g in issued.groupby("segment"):
            seg_contract, seg_evidence = _billing(g, facts["won_time"], live,
                                                  int(((g["due"] - g["issued"]).dt.total_seconds()
                                                       / 86400).round().median()))
            diff = {k: v for k, v in seg_contract.items() if contract.get(k) != v}
            if diff:
                by_segment[scenario_key(str(seg))] = diff
                comments[f"deals.by_segment.{scenario_key(str(seg))}"] = seg_evidence
        if by_segment:
            deals["by_segment"] = by_segment
    if "onboarding" in stage_keys.values():
        deals["onboarding"] = "onboarding"
    out["deals"] = deals
    as_of = log.as_of
    due_passed = issued[issued["due"] <= as_of]
    on_time = due_passed["paid"].notna() & (due_passed["paid"] <= due_passed["due"])
    n_due = len(due_passed)
    if n_due == 0:
        notes.append("no invoice is past its due date yet: payment behaviour not fitted")
        return out
    p_on, lo_on, hi_on = fit_proportion(int(on_time.sum()), n_due)
    not_on = due_passed[~on_time]
    # Overdue invoices end paid late or written off (competing outcomes, timed from the due
    # date); those still open at as-of count for as long as they were observed.
    paid_late = not_on["paid"].notna()
    written_off = not_on["written_off"].notna() & ~paid_late
    ended = not_on["paid"].where(paid_late, not_on["written_off"])
    overdue_h = ((ended.fillna(as_of) - not_on["due"]).dt.total_seconds() / 3600).clip(lower=0.0)
    fate = np.where(paid_late, "late", np.where(written_off, "never", ""))
    overdue = (competing_outcomes(overdue_h.to_numpy(float), fate, (fate == "").astype(bool))
               if (fate != "").any() else None)
    never_share = 0.0
    if overdue is not None and "never" in overdue.outcomes:
        never_share = float(overdue.shares[overdue.outcomes.index("never")])
    late_share = (1 - p_on) * (1 - never_share)
    never = (1 - p_on) * never_share
    payment: dict[str, Any] = {"on_time": round(p_on, 6), "late": round(late_share, 6),
                               # + 0.0: no "-0.0" when the two shares fill it
                               "never": round(1 - round(p_on, 6) - round(late_share, 6), 6) + 0.0}
    comments["payment.on_time"] = (f"{int(on_time.sum())} of {n_due} invoices due by as-of "
                                   f"were paid by the due date; 95% CI [{lo_on:.1%}, {hi_on:.1%}]")
    comments["payment.never"] = (
        f"share written off among {len(not_on)} overdue invoices ({never_share:.1%}; "
        f"{int(paid_late.sum())} paid late, {int(written_off.sum())} written off, "
        f"{int((fate == '').sum())} still open and counted while observed: Aalen-Johansen)")
    paid_on = due_passed[on_time]
    if len(paid_on) >= MIN_FIT:
        delay_h = (paid_on["paid"] - paid_on["issued"]).dt.total_seconds().to_numpy() / 3600
        fit = try_fit(np.maximum(delay_h, 0.0), np.ones(len(delay_h), bool), "on_time_delay",
                      notes)
        if fit is not None:
            fits["payment.on_time_delay"] = fit
            payment["on_time_delay"] = fit.spec
            comments["payment.on_time_delay"] = fit_comment(fit)
    if late_share > 0 and len(not_on):
        n_late = int(paid_late.sum())
        # lateness given that the invoice is paid late (the model draws the fate first)
        fit = (try_fit(np.maximum(overdue.conditional_quantiles("late", n_late), 0.0),
                       np.ones(n_late, bool), "lateness", notes)
               if overdue is not None and n_late >= MIN_FIT else None)
        if fit is not None:
            fits["payment.lateness"] = fit
            payment["lateness"] = fit.spec
            comments["payment.lateness"] = fit_comment(fit) + \
                " (of the censoring-corrected distribution: open overdue invoices count)"
        else:
            payment["lateness"] = "30 d"
            comments["payment.lateness"] = "too few late payments to fit: placeholder 30 d"
            notes.append("payment lateness is a placeholder (too few late payments)")
    if never > 0 and issued["written_off"].notna().any():
        ages = (issued["written_off"] - issued["issued"]).dropna().dt.total_seconds() / 3600
        payment["write_off_after"] = hours_text(float(ages.median()))
        comments["payment.write_off_after"] = f"median age at write-off of {len(ages)} invoices"
    else:
        payment["write_off_after"] = hours_text(max(terms * 24 * 4, 180 * 24))
    out["payment"] = payment
    return out


def _journey_of_case(log: EventLog) -> pd.Series:
    """Map opportunity cases to their lead (the journey id used by build_journeys)."""
    ev = log.events
    leads = set(ev.loc[ev["object_type"] == "lead", "case_id"])
    opp = ev[(ev["object_type"] == "opportunity") & ev["parent_id"].isin(leads)]
    return opp.groupby("case_id")["parent_id"].first()


_PERIODS = (("monthly", 30.4), ("quarterly", 91.3), ("annual", 365.25))


def _billing(issued: pd.DataFrame, won: pd.Series, live: pd.Series, terms: int
             ) -> tuple[dict[str, Any], str]:
    """Contract and billing schedule that best explain when the invoices were issued."""
    first = issued.sort_values("issued").groupby("journey")["issued"].first()
    lag_won = (first - won.reindex(first.index)).dt.total_seconds() / 3600
    lag_live = (first - live.reindex(first.index)).dt.total_seconds() / 3600
    at_won = float((lag_won.abs() <= 1).mean()) if lag_won.notna().any() else 0.0
    at_live = float((lag_live.abs() <= 1).mean()) if lag_live.notna().any() else 0.0
    counts = issued.groupby("journey").size()
    gaps = issued.sort_values("issued").groupby("journey")["issued"].diff().dropna()
    gap_days = float(gaps.dt.total_seconds().median() / 86400) if len(gaps) else math.nan
    contract: dict[str, Any] = {"terms": terms}
    start = "go_live" if at_live > at_won else "signature"
    where = f"{max(at_live, at_won):.0%} of first invoices issued at {start.replace('_', '-')}"
    period = next((name for name, days in _PERIODS
                   if not math.isnan(gap_days) and abs(gap_days - days) <= 0.15 * days), None)
    if period is not None and counts.max() > 1:
        contract.update(type="subscription", billing=f"{period}_advance", service_start=start,
                        term="12 mo")
        return contract, (f"{where}; invoices repeat every {gap_days:.0f} d (median gap of "
                          f"{len(gaps)}): a subscription billed {period} in advance; term 12 "
                          "months and renewals are assumptions (not visible in the log)")
    billing = "on_go_live" if start == "go_live" else "upfront"
    contract.update(type="one_off", billing=billing)
    return contract, (f"{where}; {int((counts == 1).sum())} of {len(counts)} deals have one "
                      f"invoice: one-off, billed {billing.replace('_', ' ')}")


#: Attribute columns that may hold an invoice's payment terms, in days ("30") or as "Net 30".
TERMS_COLUMNS = ("payment_terms", "terms", "terms_days", "net_days")
DEFAULT_TERMS_DAYS = 30


def _assumed_due(inv: pd.DataFrame, issued: pd.DataFrame) -> tuple[pd.Series, str]:
    """Due dates for a log that has none: the issue date plus each invoice's terms where an
    attribute gives them, else their median, else 30 days. The payment behaviour is then the
    time from issue to payment split at that date (paid before it: on time; after: late), so
    the simulated time to pay follows the log whatever the terms taken."""
    column = next((c for c in inv.columns if str(c).lower() in TERMS_COLUMNS), None)
    days = pd.Series(np.nan, index=issued.index)
    if column is not None:
        text = inv[inv["activity"] == "invoice_issued"].groupby("case_id")[column].first()
        days = pd.to_numeric(text.astype(str).str.extract(r"(\d+(?:\.\d+)?)")[0],
                             errors="coerce").reindex(issued.index)
    known = days.dropna()
    fill = float(known.median()) if len(known) else float(DEFAULT_TERMS_DAYS)
    due = issued["issued"] + pd.to_timedelta(days.fillna(fill), unit="D")
    if not len(known):
        taken = (f"{DEFAULT_TERMS_DAYS} days after issue (assumed: the log has no terms column "
                 f"such as {TERMS_COLUMNS[0]})")
    elif len(known) < len(issued):
        taken = (f"its {column} after issue (given for {len(known):,} of {len(issued):,} "
                 f"invoices; the others {fill:.0f} days, their median)")
    else:
        taken = f"its {column} after issue"
    return due, (f"the invoices have no due dates: each is taken as due {taken}, and the "
                 "payment behaviour is fitted on the time from issue to payment")


def staffing_notes(log: EventLog, j: Journeys, comments: dict[str, str], notes: list[str]) -> None:
    ev = log.events
    if "resource" not in ev.columns or ev["resource"].isna().all():
        notes.append("no resource column: staff pools and staff time are not fitted; the "
                     "stages are modelled as delays (placeholders to edit)")
        return
    busy = ev[ev["resource"].notna()]
    recent = busy[busy["timestamp"] >= log.as_of - pd.Timedelta(days=90)]
    n_res = recent["resource"].nunique()
    # only what the log shows: resource names are counted, nothing about staffing is inferred
    lifecycle = ("lifecycle" in ev.columns
                 and ev["lifecycle"].dropna().ne("complete").any())
    notes.append(f"{busy['resource'].nunique()} resources in the log ({n_res} active in the "
                 "last 90 days); no pools, headcounts or staff time are inferred from them" + (
                     " (nor work from start events)" if lifecycle else "") +
                 ": every stage is a delay; add pools and work to model queues")
