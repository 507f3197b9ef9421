"""Placing a warm start into a replication: open items in their stages with the time they have
already spent, open invoices in the cash module, live contracts with their renewals.

What remains of each item's work, delay, patience or payment is drawn given the time already
passed (:mod:`revsim.engine.start`), from the start's own named streams: one uniform per placed
thing and purpose, by its position in the state. So a variant run from the same state places
the same things the same way (common random numbers), and the sources' arrival streams are
the same as without a state.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from typing import TYPE_CHECKING, Any

import numpy as np

from revsim.engine.entities import FROM_STATE, LATE, NEVER, ON_TIME, Deal, Invoice, Lead
from revsim.engine.start import (
    conditional_route,
    cumulative_hazard,
    late_offsets,
    open_invoice_class,
    remaining,
)
from revsim.scenario.billing import billing_plan
from revsim.scenario.start_model import DRAW_SEGMENT, IN_DELAY, IN_WORK, StartItem, StartState

if TYPE_CHECKING:
    from revsim.engine.simulation import Simulation

#: Keys of placed things for per-item random numbers, clear of the sources' (< 2**62 + leads).
ITEM_KEYS = 1 << 62
INVOICE_KEYS = ITEM_KEYS + (1 << 40)
CUSTOMER_KEYS = ITEM_KEYS + (2 << 40)
WEEK = 168.0


def place_start(sim: Simulation, now: float) -> None:
    """Place ``sim.model.start_state`` at ``now`` (its ``at``)."""
    state = sim.model.start_state
    assert state is not None
    leads = _leads(sim, state, now)
    _place_items(sim, state, leads, now)
    if sim.cash is not None:
        _place_invoices(sim, state, now)
        _place_customers(sim, state, now)


def _mix_choice(index: tuple[int, ...], probs: tuple[float, ...], u: float) -> int:
    if not index:
        return -1
    cum = np.cumsum(probs).tolist()
    return index[min(bisect_right(cum, u * cum[-1]), len(index) - 1)]


def _value_dist(sim: Simulation, source: int, segment: int) -> Any:
    model = sim.model
    if source >= 0 and model.sources[source].value is not None:
        return model.sources[source].value
    if segment >= 0 and model.segment_values[segment] is not None:
        return model.segment_values[segment]
    return next((s.value for s in model.sources if s.value is not None), None)


def _leads(sim: Simulation, state: StartState, now: float) -> list[Lead]:
    """One lead per open item, its missing segment, value and score drawn (per replication)."""
    items = state.items
    n = len(items)
    model = sim.model
    streams = sim.streams
    u_segment = streams.generator("start.segment").random(n)
    u_value = streams.generator("start.value").random(n)
    u_score = streams.generator("start.score").random(n)
    segments = [it.segment for it in items]
    for i, it in enumerate(items):
        if it.segment == DRAW_SEGMENT:
            src = model.sources[it.source] if it.source >= 0 else None
            mix = (src.segment_index, src.segment_probs) if src is not None else state.segment_mix
            segments[i] = _mix_choice(mix[0], mix[1], float(u_segment[i]))
    values = np.array([it.value for it in items], dtype=float)
    scores = np.array([it.score for it in items], dtype=float)
    groups: dict[int, tuple[Any, list[int]]] = {}
    for i in np.flatnonzero(np.isnan(values)).tolist():
        dist = _value_dist(sim, items[i].source, segments[i])
        groups.setdefault(id(dist), (dist, []))[1].append(i)
    for dist, idx in groups.values():
        values[idx] = np.asarray(dist.ppf(u_value[idx]), dtype=float) if dist is not None else 0.0
    scored: dict[int, list[int]] = {}
    for i in np.flatnonzero(np.isnan(scores)).tolist():
        scored.setdefault(items[i].source, []).append(i)
    for source, idx in scored.items():
        dist = model.sources[source].score if source >= 0 else None
        scores[idx] = np.asarray(dist.ppf(u_score[idx]), dtype=float) if dist is not None else 0.0
    leads = []
    records = sim.lead_records
    system = sim.system
    for i, it in enumerate(items):
        lead = Lead(sim.new_id(), it.source, segments[i], float(values[i]), float(scores[i]),
                    it.created)
        lead.key = ITEM_KEYS + i
        lead.origin = FROM_STATE
        lead.first_touch = 0.0  # touched before the start or not: its first touch is not timed
        if records is not None:
            records.add(lead.id, it.source, lead.segment, lead.value, lead.score, it.created)
        system.n += 1
        system.sum_in += now
        leads.append(lead)
    return leads


def _work_done(calendar: Any, now: float, elapsed: float) -> float:
    """Working hours in the ``elapsed`` hours before ``now``: the weekly pattern is periodic,
    so the same span whole weeks later is measured (holidays before the start are not
    known to the calendar)."""
    if calendar.always_open or elapsed <= 0:
        return max(elapsed, 0.0)
    shift = (math.floor(elapsed / WEEK) + 1) * WEEK
    return float(calendar.cumulative(now + shift) - calendar.cumulative(now + shift - elapsed))


def _place_items(sim: Simulation, state: StartState, leads: list[Lead], now: float) -> None:
    items = state.items
    n = len(items)
    streams = sim.streams
    u_route = streams.generator("start.route").random(n)
    u_left = streams.generator("start.remaining").random(n)
    u_patience = streams.generator("start.patience").random(n)
    by_stage: dict[tuple[int, int], list[int]] = {}
    for i, it in enumerate(items):
        by_stage.setdefault((it.stage, it.phase), []).append(i)
    if sim.cash is not None:
        _open_deliveries(sim, items, leads)
    # staff already busy stay busy: the longest-running work first, while staff are there
    queued: list[int] = []
    work: list[tuple[float, int, float]] = []
    for (s, phase), idx in by_stage.items():
        if phase != IN_WORK:
            continue
        st = sim.stages[s]
        assert st.pool is not None and st.model.work is not None
        done = np.array([_work_done(st.pool.calendar, now, now - items[i].work_started)
                         for i in idx])
        left = remaining(st.model.work, done, u_left[idx], st.model.work_scale)
        lefts: list[float] = np.asarray(left, dtype=float).tolist()
        work += [(items[i].work_started, i, w) for i, w in zip(idx, lefts, strict=True)]
    for started, i, left in sorted(work):
        st = sim.stages[items[i].stage]
        pool = st.pool
        assert pool is not None
        if pool.free:
            st.resume_work(leads[i], pool.take_free(now), now, items[i].entered, started, left)
        else:
            queued.append(i)  # more in work than staff: it waits for the next free person
    queued += [i for (s, phase), idx in by_stage.items() if phase not in (IN_WORK, IN_DELAY)
               for i in idx]
    _place_queued(sim, items, leads, sorted(queued, key=lambda i: (items[i].entered, i)),
                  u_patience, now)
    for (s, phase), idx in by_stage.items():
        if phase == IN_DELAY:
            _place_delayed(sim, items, leads, s, idx, u_route, u_left, now)


def _open_deliveries(sim: Simulation, items: tuple[StartItem, ...], leads: list[Lead]) -> None:
    """Items in a delivery stage (onboarding) are deals won before the start: each gets its
    deal, whose go-live invoices are still to come."""
    cash = sim.cash
    assert cash is not None
    sales = set(sim.model.sales_stages)
    if cash.model.onboarding is None or not sales:
        return
    for it, lead in zip(items, leads, strict=True):
        if it.stage in sales:
            continue
        contract = cash.model.contract(lead.segment)
        cents = int(round(lead.value * 100))
        deal = Deal(lead, contract, it.entered, cents)
        lead.deal = deal
        later = sum(c for _, c in billing_plan(contract, cents, "go_live", 0.0))
        cash.add_contract(deal, [], math.inf, later)


def _place_queued(sim: Simulation, items: tuple[StartItem, ...], leads: list[Lead],
                  order: list[int], u: Any, now: float) -> None:
    """Waiting items, in the order they joined the queue; patience is what remains of it."""
    patience = {}
    for s in {items[i].stage for i in order}:
        idx = [i for i in order if items[i].stage == s]
        model = sim.stages[s].model
        waited = np.array([now - items[i].entered for i in idx])
        if model.patience is None:
            total = left = np.full(len(idx), math.inf)
        elif model.patience_mode == "renege":  # still waiting: its patience outlasted the wait
            left = remaining(model.patience, waited, u[idx])
            total = waited + left
        else:  # decay: served cold once the whole wait exceeds its patience
            total = np.asarray(model.patience.ppf(u[idx]), dtype=float)
            left = np.full(len(idx), math.inf)
        patience.update({i: (float(a), float(b)) for i, a, b in zip(idx, total, left, strict=True)})
    for i in order:
        whole, rest = patience[i]
        sim.stages[items[i].stage].place_waiting(leads[i], now, items[i].entered, whole, rest)


def _place_delayed(sim: Simulation, items: tuple[StartItem, ...], leads: list[Lead], s: int,
                   idx: list[int], u_route: Any, u_left: Any, now: float) -> None:
    """Items in an unstaffed delay: the rest of the delay given its age, and where delays
    depend on the route, the route given the age (a route with a short delay is less likely
    for an item that has waited long)."""
    st = sim.stages[s]
    model = st.model
    age = np.array([now - items[i].entered for i in idx])
    targets: list[int | None] = [None] * len(idx)
    left = np.zeros(len(idx))
    if model.delay_by_route:
        by_segment: dict[int, list[int]] = {}
        for k, i in enumerate(idx):
            by_segment.setdefault(leads[i].segment, []).append(k)
        for segment, ks in by_segment.items():
            routing = model.routes_by_segment.get(segment, model.routes)
            drawn = conditional_route(routing.targets, routing.probabilities,
                                      model.delay_by_route, model.delay, age[ks],
                                      u_route[[idx[k] for k in ks]])
            for k, target in zip(ks, drawn.tolist(), strict=True):
                targets[k] = int(target)
        for target in set(targets):
            ks = [k for k, t in enumerate(targets) if t == target]
            dist = model.delay_by_route.get(target, model.delay)  # type: ignore[arg-type]
            assert dist is not None
            left[ks] = remaining(dist, age[ks], u_left[[idx[k] for k in ks]])
    else:
        assert model.delay is not None
        left = remaining(model.delay, age, u_left[idx])
    for k, i in enumerate(idx):
        st.hold_in_delay(leads[i], now, items[i].entered, float(left[k]), targets[k])


def _place_invoices(sim: Simulation, state: StartState, now: float) -> None:
    """Open invoices: whether and when each pays, given that it has not paid yet."""
    cash = sim.cash
    assert cash is not None
    invoices = state.invoices
    u = sim.streams.generator("start.invoices").random((len(invoices), 3))
    reminders = cash.model.reminders
    factor = cash.model.dunning_factor
    by_group: dict[tuple[int, int], list[int]] = {}
    for j, si in enumerate(invoices):
        by_group.setdefault((si.segment, si.dunning_step), []).append(j)
    plans: dict[int, tuple[int, float, float, list[tuple[float, float]]]] = {}
    for (segment, step), js in by_group.items():
        p = cash.model.payment(segment)
        on_time = cash.on_time_dists.get(segment, cash.on_time_dists[-1])
        issued = np.array([invoices[j].issued for j in js])
        due = np.array([invoices[j].due for j in js])
        age, terms, past_due = now - issued, due - issued, np.maximum(now - due, 0.0)
        windows = [(r, r + cash.model.dunning_window) for r in reminders[:step]]
        s_on = np.where(age < terms, np.asarray(on_time.sf(np.maximum(age, 0.0)), dtype=float),
                        0.0)
        hazard = (cumulative_hazard(p.lateness, past_due, windows, factor)
                  if p.lateness is not None else np.zeros(len(js)))
        latent = hazard - np.log1p(-u[js, 2])  # Exp(1) beyond what has accumulated already
        on_pay = issued + np.minimum(np.maximum(age, 0.0)
                                     + remaining(on_time, np.maximum(age, 0.0), u[js, 1]), terms)
        late_pay = (due + late_offsets(p.lateness, latent, windows, factor)
                    if p.lateness is not None else np.full(len(js), math.inf))
        for k, j in enumerate(js):
            p_on, p_late, _ = open_invoice_class(p.on_time, p.late, p.never, float(s_on[k]),
                                                 math.exp(-float(hazard[k])))
            uc = float(u[j, 0])
            if uc < p_on:
                plans[j] = (ON_TIME, float(on_pay[k]), float(latent[k]), windows)
            elif uc < p_on + p_late:
                plans[j] = (LATE, float(late_pay[k]), float(latent[k]), windows)
            else:
                plans[j] = (NEVER, math.inf, float(latent[k]), windows)
    contracts = {seg: cash.model.contract(seg) for seg, _ in by_group}
    write_offs = {seg: cash.model.payment(seg).write_off_after for seg, _ in by_group}
    for j, si in enumerate(invoices):
        kind, pay_at, latent_j, windows = plans[j]
        lead = Lead(sim.new_id(), -1, si.segment, si.cents / 100.0, 0.0, si.issued)
        lead.key = INVOICE_KEYS + j
        lead.origin = FROM_STATE
        deal = Deal(lead, contracts[si.segment], si.issued, si.cents)
        deal.invoices = 1
        cash.next_invoice_id += 1
        inv = Invoice(cash.next_invoice_id, deal, si.cents, now)
        inv.origin = FROM_STATE
        inv.number = 1
        inv.issued = si.issued
        inv.due = si.due
        inv.write_off_at = si.issued + write_offs[si.segment]
        inv.latent = latent_j
        inv.windows = list(windows)
        cash.add_open_invoice(inv, kind, pay_at, si.dunning_step)


def _place_customers(sim: Simulation, state: StartState, now: float) -> None:
    """Live contracts: what their current term still has to invoice, and their renewal."""
    cash = sim.cash
    assert cash is not None
    for k, cu in enumerate(state.customers):
        contract = cu.contract
        lead = Lead(sim.new_id(), -1, cu.segment, cu.term_cents / 100.0, 0.0, cu.started)
        lead.key = CUSTOMER_KEYS + k
        lead.origin = FROM_STATE
        deal = Deal(lead, contract, cu.started, cu.term_cents, live_at=cu.started)
        lead.deal = deal
        cash.add_contract(deal, list(cu.plan), math.inf if contract.one_off else cu.next_renewal)
