"""Checks on a compiled model from its long-run loads: the traffic equations' visit rates, the
lead volume of one replication, and pools whose offered load meets their working capacity."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np

from revsim.errors import Problem
from revsim.limits import MAX_LEADS, MAX_SAMPLES, YEARS
from revsim.scenario.billing import billing_plan
from revsim.scenario.model import NURTURE, WON, Model
from revsim.units import format_duration


def visit_rates(model: Model) -> np.ndarray:
    """Long-run visits per hour to each stage, from the traffic equations (ignores limits and
    decay; billing and collections work is estimated from the deals won)."""
    n = len(model.stages)
    routing = np.zeros((n, n))
    won_share = np.zeros(n)
    seg_mix = np.zeros(max(len(model.segments), 1))
    external = np.zeros(n)
    for src in model.sources:
        external[src.to] += src.rate
        for i, p in zip(src.segment_index, src.segment_probs, strict=True):
            seg_mix[i] += src.rate * p
    if seg_mix.sum() > 0:
        seg_mix = seg_mix / seg_mix.sum()
    for st in model.stages:
        for seg in range(len(seg_mix)):
            r = st.routes_by_segment.get(seg, st.routes)
            weight = seg_mix[seg] if model.segments else 1.0
            for t, p in zip(r.targets, r.probabilities, strict=True):
                if t >= 0:
                    routing[st.index, t] += weight * p
                elif t == NURTURE and model.nurture is not None:
                    routing[st.index, model.nurture.to] += weight * p
                elif t == WON:
                    won_share[st.index] += weight * p
                    if model.cash is not None and model.cash.onboarding is not None:
                        routing[st.index, model.cash.onboarding] += weight * p
            if not model.segments:
                break
    try:
        rates = np.linalg.solve(np.eye(n) - routing.T, external)
    except np.linalg.LinAlgError:
        return np.full(n, math.inf)
    cash = model.cash
    if cash is not None and (cash.billing_stage is not None or cash.collections_stage is not None):
        # Invoices are not leads: estimate their rate as deals won x invoices per deal over the
        # long run (a renewing subscription keeps invoicing, 1 / (1 - renewal) terms on average).
        contract, payment = cash.contract(-1), cash.payment(-1)
        per_term = sum(len(billing_plan(contract, 100, event, 0.0))
                       for event in ("signature", "go_live"))
        terms = 1.0 if contract.one_off else 1.0 / max(1.0 - contract.renewal, 1e-3)
        invoices = float(won_share @ rates) * per_term * terms
        if cash.billing_stage is not None:
            rates[cash.billing_stage] = invoices
        if cash.collections_stage is not None:
            # reminders go out while an invoice is unpaid: late payers by the lateness
            # survival function (ignoring the reminders' own effect), never-payers until the
            # write-off
            late = sum(float(payment.lateness.sf(r)) for r in cash.reminders) \
                if payment.lateness is not None else 0.0
            never = sum(1 for r in cash.reminders
                        if r < payment.write_off_after - contract.terms)
            per_invoice = payment.late * late + payment.never * never
            rates[cash.collections_stage] = invoices * per_invoice
    return rates


def window_problems(model: Model, horizon: float) -> list[Problem]:
    """What a run over ``horizon`` hours would be too large for (leads, level samples) or
    outside the supported dates, refused before anything is allocated."""
    problems = lead_volume_problems(model, horizon)
    samples = horizon / model.sample_every
    if samples > MAX_SAMPLES:
        problems.append(Problem(
            "scenario.sample_every",
            f"sampling every {format_duration(model.sample_every)} over "
            f"{format_duration(horizon)} is {samples:,.3g} samples per replication, more than "
            f"the {MAX_SAMPLES:,} revsim keeps; sample less often (e.g. \"1 d\")"))
    end = dt.datetime.combine(model.start, dt.time()) + dt.timedelta(hours=min(horizon, 1e7))
    if end.year > YEARS[1]:
        problems.append(Problem(
            "scenario.horizon", f"the run would end in {end.year}, after {YEARS[1]}; start "
            "earlier or shorten the horizon"))
    return problems


def lead_volume_problems(model: Model, horizon: float) -> list[Problem]:
    """Sources that would create more leads in one replication than revsim can hold (most
    often a unit slip, "1e6/h" for "1e6/y"), refused before anything is allocated."""
    problems = []
    for src in model.sources:
        expected = src.rate * horizon + sum(n for _, n, _ in src.bursts)
        if src.limit is not None:
            expected = min(expected, src.limit)
        if expected > MAX_LEADS:
            problems.append(Problem(
                f"sources.{src.name}.rate",
                f"{src.rate * 168:,.4g} leads per week over {format_duration(horizon)} is about "
                f"{expected:,.3g} leads per replication, more than the {MAX_LEADS:,} revsim "
                "simulates in one; check the rate's unit, or shorten the horizon"))
    return problems


def capacity_warnings(model: Model) -> list[str]:
    """Warn about pools whose offered load meets or exceeds their working capacity, with the
    planned average headcount over the statistics window (hires and departures included)."""
    rates = visit_rates(model)
    warnings = []
    for pool in model.pools:
        offered = sum(
            rates[st.index] * st.work.mean * st.work_scale
            for st in model.stages
            if st.pool == pool.index and st.work is not None
        )
        if all(st.loses_when_full for st in model.stages if st.pool == pool.index):
            continue  # a loss system sheds its overload: stable by construction
        heads = pool.planned_headcount(model.warmup, model.horizon)
        capacity = heads * pool.calendar.open_fraction()
        if offered <= 0:
            continue
        if capacity <= 0 or offered >= capacity:
            per_week = 168.0
            planned = "" if heads == pool.headcount else " on average, with the planned changes"
            warnings.append(
                f"pool '{pool.name}' is overloaded: offered load {offered * per_week:,.0f} h of work "
                f"per week vs capacity {capacity * per_week:,.0f} h per week "
                f"({heads:.3g} heads{planned} x "
                f"{pool.calendar.open_fraction() * per_week:.0f} h); "
                "its queues will grow without bound unless leads renege or are lost"
            )
    return warnings
