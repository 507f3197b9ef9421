"""The cash side of the cycle: deals, invoices, payments, reminders, write-offs.

Amounts are kept in integer cents so that the cash identities hold exactly on every
replication: booked = invoiced + not yet invoiced + cancelled, and
invoiced = collected + written off + outstanding.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Any, cast

from revsim.engine.entities import LATE, NEVER, ON_TIME, Deal, Invoice, Item, Lead, Wake
from revsim.engine.monitor import ValueSink
from revsim.engine.streams import keyed_uniform
from revsim.scenario.billing import billing_plan
from revsim.scenario.compile_cash import default_on_time_delay
from revsim.scenario.model import CHURNED, ISSUED, LIVE, CashModel

if TYPE_CHECKING:
    from revsim.engine.simulation import Simulation

DAY = 24.0
AGING_EDGES_DAYS = (0, 30, 60, 90)
AGING_BUCKETS = ("current", "1_30", "31_60", "61_90", "90_plus")


class CashRT:
    """Deals, invoices and payments during one replication."""

    def __init__(self, sim: Simulation, model: CashModel) -> None:
        self.sim = sim
        self.env = sim.env
        self.model = model
        streams = sim.streams
        # Per-deal and per-invoice keyed random numbers (see streams.keyed_uniform): the same
        # deal's n-th invoice behaves the same in two scenarios, whatever the event order.
        self.k_renewal = streams.key("cash.renewal")
        self.k_class = streams.key("cash.payment.class")
        self.k_latent = streams.key("cash.payment.latent")
        self.k_partial = streams.key("cash.payment.partial")
        self.k_on_time = streams.key("cash.payment.on_time")
        # One distribution per segment: payment behaviour and terms (hence the default spread
        # of on-time payments over the terms) can differ by segment.
        self.on_time_dists: dict[int, Any] = {}
        for seg in (-1, *range(len(sim.model.segments))):
            p, c = model.payment(seg), model.contract(seg)
            self.on_time_dists[seg] = p.on_time_delay or default_on_time_delay(c.terms)
        self.billing = sim.stages[model.billing_stage] if model.billing_stage is not None else None
        self.collections = (
            sim.stages[model.collections_stage] if model.collections_stage is not None else None
        )
        self.next_invoice_id = 0
        self.open: dict[int, Invoice] = {}
        # The lateness cumulative hazard at the reminder windows' edges, per segment: the
        # edges are the same few offsets for every invoice, and each reminder recomputes a
        # late payer's payment time from them (a scipy call per edge otherwise).
        self._hazard_at: dict[tuple[int, float], float] = {}
        # whole-run ledger, integer cents
        self.booked = 0
        self.unbilled = 0
        self.cancelled = 0
        self.invoiced = 0
        self.collected = 0
        self.written_off = 0
        self.outstanding = 0
        # What a warm start placed: receivables and the instalments still to invoice of the
        # contracts already signed, so the identities read booked + opening_unbilled = ... and
        # invoiced + opening_ar = collected + written off + outstanding.
        self.opening_ar = 0
        self.opening_unbilled = 0
        # Whole-run counts that the per-period figures difference at period boundaries.
        self.renewal_booked = 0
        self.renewal_count = 0
        self.issued_count = 0
        self.collected_by_origin = [0, 0]  # indexed by Item.origin: NEW, FROM_STATE
        # Areas under AR (cent-hours) and under the count of open invoices since the window
        # start, brought up to date at every change, for their time averages.
        self.ar_area = 0.0
        self.open_area = 0.0
        self.levels_at = 0.0
        self.time_to_cash = ValueSink(sim.keep_values)
        self.time_to_live = ValueSink(sim.keep_values)
        self.invoice_log: list[tuple[Any, ...]] | None = [] if sim.records is not None else None
        self.reset_window()

    def reset_window(self) -> None:
        self.ar_area = 0.0
        self.open_area = 0.0
        self.levels_at = self.env._now
        self.w_invoiced = 0
        self.w_collected = 0
        self.w_written_off = 0
        self.w_renewal_bookings = 0
        self.w_renewals = 0
        self.w_not_renewed = 0
        self.w_touches = 0
        self.w_go_lives = 0
        self.w_churned = 0
        self.w_invoices = 0
        self.time_to_cash.reset()
        self.time_to_live.reset()

    def _advance_levels(self, now: float) -> None:
        """Add the area under AR and open invoices since the last change (call before one)."""
        span = now - self.levels_at
        self.ar_area += self.outstanding * span
        self.open_area += len(self.open) * span
        self.levels_at = now

    def time_averages(self, now: float, window: float) -> tuple[float, float]:
        """(AR in cents, open invoices), each averaged over the window ending at ``now``."""
        self._advance_levels(now)
        if window <= 0:
            return math.nan, math.nan
        return self.ar_area / window, self.open_area / window

    def _log(self, *row: Any) -> None:
        if self.invoice_log is not None:
            self.invoice_log.append(row)

    def _at(self, when: float, callback: Any, **payload: Any) -> None:
        ev = Wake(self.env, callback)
        for key, value in payload.items():
            setattr(ev, key, value)
        self.env.wake(ev, max(when - self.env._now, 0.0))

    # -- deals ---------------------------------------------------------------------------------
    def won(self, lead: Lead, now: float) -> None:
        contract = self.model.contract(lead.segment)
        value = int(round(lead.value * 100))
        deal = Deal(lead, contract, now, value, unbilled=value)
        lead.deal = deal
        self.booked += value
        self.unbilled += value
        self._plan(deal, billing_plan(contract, value, "signature", now))
        if self.model.onboarding is not None:
            self.sim.stages[self.model.onboarding].offer(lead, now)
        else:
            self.go_live(lead, now)

    def delivery_done(self, lead: Lead, outcome: int, now: float) -> None:
        """A delivery stage routed the deal to ``live`` or ``churned``."""
        if outcome == LIVE:
            self.go_live(lead, now)
        elif outcome == CHURNED:
            deal: Deal = lead.deal
            deal.churned = True
            self.w_churned += 1
            self.unbilled -= deal.unbilled
            self.cancelled += deal.unbilled
            deal.unbilled = 0
            self._log("deal_churned", lead.id, now)

    def go_live(self, lead: Lead, now: float) -> None:
        deal: Deal = lead.deal
        deal.live_at = now
        self.w_go_lives += 1
        self.time_to_live.add(now - deal.won_at)
        self._log("go_live", lead.id, now)
        c = deal.contract
        self._plan(deal, billing_plan(c, deal.term_value, "go_live", now))
        if not c.one_off:
            term_start = now if c.service_start == "go_live" else deal.won_at
            self._at(term_start + c.term, self._term_end, deal=deal, term_start=term_start)

    def _plan(self, deal: Deal, plan: list[tuple[float, int]]) -> None:
        for when, cents in plan:
            self._at(when, self._raise, deal=deal, cents=cents)

    def _term_end(self, ev: Wake) -> None:
        deal: Deal = ev.deal
        now = self.env._now
        c = deal.contract
        p = c.renewal
        if c.slow_onboarding is not None and deal.live_at - deal.won_at > c.slow_onboarding:
            p = c.renewal_if_slow or 0.0
        deal.terms_done += 1
        if keyed_uniform(self.k_renewal, deal.lead.key, deal.terms_done) >= p:
            self.w_not_renewed += 1
            self._log("not_renewed", deal.lead.id, now)
            return
        value = deal.term_value
        self.booked += value
        self.unbilled += value
        deal.unbilled += value
        self.w_renewals += 1
        self.w_renewal_bookings += value
        self.renewal_count += 1
        self.renewal_booked += value
        self._log("renewed", deal.lead.id, now)
        self._plan(deal, billing_plan(c, value, "renewal", now))
        self._at(now + c.term, self._term_end, deal=deal, term_start=now)

    # -- invoices ------------------------------------------------------------------------------
    def _raise(self, ev: Wake) -> None:
        deal: Deal = ev.deal
        cents: int = ev.cents
        if deal.churned:
            return  # cancelled with the rest of the unbilled amount
        now = self.env._now
        deal.unbilled -= cents
        self.next_invoice_id += 1
        inv = Invoice(self.next_invoice_id, deal, cents, now)
        deal.invoices += 1
        inv.number = deal.invoices
        if deal.first_invoice is None:
            deal.first_invoice = inv
        run = self._next_run(now)
        if run > now:
            self._at(run, self._to_billing, invoice=inv)
        else:
            self._send_to_billing(inv, now)

    def _next_run(self, now: float) -> float:
        """Next billing-run instant (noon of a run day) at or after ``now``."""
        days = self.model.run_days
        if not days:
            return now
        start = self.sim.model.start
        day = int(now // DAY)
        for k in range(0, 62):
            date = start + dt.timedelta(days=day + k)
            last = (date + dt.timedelta(days=1)).month != date.month
            if date.day in days or (0 in days and last):
                t = (day + k) * DAY + 12.0
                if t >= now:
                    return t
        return now

    def _to_billing(self, ev: Wake) -> None:
        self._send_to_billing(ev.invoice, self.env._now)

    def _send_to_billing(self, inv: Invoice, now: float) -> None:
        if self.billing is not None:
            self.billing.offer(inv, now)
        else:
            self.issue(inv, now)

    def issue(self, inv: Invoice, now: float) -> None:
        deal = inv.deal_ref
        c = deal.contract
        p = self.model.payment(inv.segment)
        inv.issued = now
        inv.due = now + c.terms
        inv.open = True
        inv.write_off_at = now + p.write_off_after
        self._advance_levels(now)
        self.open[inv.id] = inv
        self.unbilled -= inv.amount
        self.invoiced += inv.amount
        self.outstanding += inv.amount
        self.w_invoiced += inv.amount
        self.w_invoices += 1
        self.issued_count += 1
        self._log("invoice_issued", inv.id, now, deal.lead.id, inv.amount, inv.due)
        # Draw every latent number for every invoice, whatever its class, so that the streams
        # stay aligned across scenarios (common random numbers).
        key, n = deal.lead.key, inv.number
        u = keyed_uniform(self.k_class, key, n)
        latent = -math.log1p(-keyed_uniform(self.k_latent, key, n))
        partial = keyed_uniform(self.k_partial, key, n) < p.partial_share
        dist = self.on_time_dists.get(inv.segment, self.on_time_dists[-1])
        on_time_delay = float(dist.ppf(keyed_uniform(self.k_on_time, key, n)))
        inv.latent = latent
        inv.partial = partial
        if u < p.on_time:
            inv.kind = ON_TIME
            pay_at = now + min(max(on_time_delay, 0.0), c.terms)
        elif u < p.on_time + p.late:
            inv.kind = LATE
            pay_at = inv.due + self.late_offset(inv)
        else:
            inv.kind = NEVER
            pay_at = math.inf
        self._schedule_payment(inv, pay_at)
        self._at(inv.write_off_at, self._write_off, invoice=inv)
        if self.model.reminders:
            self._at(inv.due + self.model.reminders[0], self._reminder_due, invoice=inv, j=0)

    def _schedule_payment(self, inv: Invoice, pay_at: float) -> None:
        inv.pay_token += 1
        inv.pay_at = pay_at
        if pay_at < inv.write_off_at:
            self._at(pay_at, self._payment_due, invoice=inv, token=inv.pay_token)

    def late_offset(self, inv: Invoice) -> float:
        """Time past due at which a late payer pays, given the reminders it has received.

        Proportional hazards: each reminder multiplies the lateness hazard by ``factor`` over
        its window, so the payment comes when the cumulative hazard, stretched accordingly,
        reaches the invoice's latent Exp(1) draw.
        """
        dist = self.model.payment(inv.segment).lateness
        assert dist is not None
        factor = self.model.dunning_factor

        cache = self._hazard_at
        segment = inv.segment

        def cum_hazard(x: float) -> float:
            if x <= 0:
                return 0.0
            key = (segment, x)
            h = cache.get(key)
            if h is None:
                s = float(dist.sf(x))
                h = math.inf if s <= 0 else -math.log(s)
                cache[key] = h
            return h

        def inverse(h: float) -> float:
            return float(dist.ppf(-math.expm1(-h)))

        target = inv.latent
        if not inv.windows or factor == 1.0:
            return inverse(target)
        breaks = sorted({0.0, *(a for a, _ in inv.windows), *(b for _, b in inv.windows)})
        acc = 0.0
        h_prev = 0.0
        for i, lo in enumerate(breaks):
            hi = breaks[i + 1] if i + 1 < len(breaks) else math.inf
            mid = lo + (hi - lo) / 2 if math.isfinite(hi) else lo + 1.0
            m = factor ** sum(1 for a, b in inv.windows if a <= mid < b)
            h_hi = cum_hazard(hi) if math.isfinite(hi) else math.inf
            h_lo = h_prev if i else cum_hazard(lo)
            gain = m * (h_hi - h_lo)
            if acc + gain >= target:
                return inverse(h_lo + (target - acc) / m)
            acc += gain
            h_prev = h_hi
        return math.inf

    def _payment_due(self, ev: Wake) -> None:
        inv: Invoice = ev.invoice
        if not inv.open or ev.token != inv.pay_token:
            return
        now = self.env._now
        p = self.model.payment(inv.segment)
        remaining = inv.amount - inv.paid
        if inv.partial and not inv.first_part_paid:
            inv.first_part_paid = True
            first = int(round(inv.amount * p.partial_first))
            self._pay(inv, first, now)
            self._schedule_payment(inv, now + p.partial_gap)
            return
        self._pay(inv, remaining, now)

    def _pay(self, inv: Invoice, cents: int, now: float) -> None:
        self._advance_levels(now)
        inv.paid += cents
        self.collected += cents
        self.outstanding -= cents
        self.w_collected += cents
        self.collected_by_origin[inv.origin] += cents
        if inv.paid >= inv.amount:
            self._close(inv)
            self._log("invoice_paid", inv.id, now, inv.deal_ref.lead.id, cents, inv.due)
            deal = inv.deal_ref
            if deal.first_invoice is inv:
                self.time_to_cash.add(now - deal.won_at)
        else:
            self._log("payment_received", inv.id, now, inv.deal_ref.lead.id, cents, inv.due)

    def _close(self, inv: Invoice) -> None:
        inv.open = False
        inv.pay_token += 1
        self.open.pop(inv.id, None)

    def _write_off(self, ev: Wake) -> None:
        inv: Invoice = ev.invoice
        if not inv.open:
            return
        now = self.env._now
        self._advance_levels(now)
        remaining = inv.amount - inv.paid
        self.written_off += remaining
        self.outstanding -= remaining
        self.w_written_off += remaining
        self._close(inv)
        self._log("invoice_written_off", inv.id, now, inv.deal_ref.lead.id, remaining, inv.due)

    # -- dunning -------------------------------------------------------------------------------
    def _reminder_due(self, ev: Wake) -> None:
        inv: Invoice = ev.invoice
        j: int = ev.j
        if not inv.open:
            return
        now = self.env._now
        if j + 1 < len(self.model.reminders):
            self._at(inv.due + self.model.reminders[j + 1], self._reminder_due, invoice=inv, j=j + 1)
        if self.collections is not None:
            if not inv.in_collections:  # one reminder in the collectors' queue at a time
                inv.in_collections = True
                self.collections.offer(inv, now)
            return
        self.send_reminder(inv, now)

    def send_reminder(self, inv: Invoice, now: float) -> None:
        inv.in_collections = False
        if not inv.open:
            return
        self.w_touches += 1
        self._log("reminder_sent", inv.id, now, inv.deal_ref.lead.id, 0, inv.due)
        if inv.kind != LATE or inv.first_part_paid or self.model.dunning_factor == 1.0:
            return
        since_due = now - inv.due
        inv.windows.append((since_due, since_due + self.model.dunning_window))
        new_pay = inv.due + self.late_offset(inv)
        if new_pay < inv.pay_at:
            self._schedule_payment(inv, max(new_pay, now))

    def on_stage_exit(self, item: Item, outcome: int, now: float) -> None:
        """Billing or collections staff finished an item (routed to an internal outcome)."""
        inv = cast(Invoice, item)  # only invoices reach these outcomes
        if outcome == ISSUED:
            self.issue(inv, now)
        else:
            self.send_reminder(inv, now)

    # -- a warm start: receivables and contracts already there ---------------------------------
    def add_open_invoice(self, inv: Invoice, kind: int, pay_at: float, next_reminder: int) -> None:
        """An invoice issued before the start and still open (``issued``, ``due``,
        ``write_off_at`` and ``latent`` set): it owes its amount, pays at ``pay_at`` (inf:
        never) and is reminded from reminder ``next_reminder`` on."""
        now = self.env._now
        self._advance_levels(now)
        inv.open = True
        inv.kind = kind
        self.open[inv.id] = inv
        self.outstanding += inv.amount
        self.opening_ar += inv.amount
        self._schedule_payment(inv, max(pay_at, now))
        self._at(inv.write_off_at, self._write_off, invoice=inv)
        reminders = self.model.reminders
        if next_reminder < len(reminders):
            self._at(inv.due + reminders[next_reminder], self._reminder_due, invoice=inv,
                     j=next_reminder)

    def add_contract(self, deal: Deal, plan: list[tuple[float, int]], term_ends: float,
                     later: int = 0) -> None:
        """A contract signed before the start: ``plan`` is what is still to invoice (time,
        cents), ``later`` what a later event (its go-live) will invoice; its term ends (renews
        or not) at ``term_ends``, unless inf."""
        cents = sum(c for _, c in plan) + later
        deal.unbilled += cents
        self.unbilled += cents
        self.opening_unbilled += cents
        self._plan(deal, plan)
        if math.isfinite(term_ends):
            self._at(term_ends, self._term_end, deal=deal, term_start=term_ends - deal.contract.term)

    # -- summary -------------------------------------------------------------------------------
    def aging(self, now: float) -> dict[str, int]:
        """Outstanding cents by days past due at ``now``."""
        buckets = dict.fromkeys(AGING_BUCKETS, 0)
        for inv in self.open.values():
            remaining = inv.amount - inv.paid
            days = (now - inv.due) / DAY
            if days <= 0:
                buckets["current"] += remaining
            elif days <= 30:
                buckets["1_30"] += remaining
            elif days <= 60:
                buckets["31_60"] += remaining
            elif days <= 90:
                buckets["61_90"] += remaining
            else:
                buckets["90_plus"] += remaining
        return buckets

    def ledger(self) -> dict[str, int]:
        """Whole-run totals in cents (the cash identities hold exactly on these; after a warm
        start, with what it brought in: opening_ar and opening_unbilled)."""
        out = {
            "booked": self.booked, "invoiced": self.invoiced, "unbilled": self.unbilled,
            "cancelled": self.cancelled, "collected": self.collected,
            "written_off": self.written_off, "outstanding": self.outstanding,
        }
        if self.sim.model.start_state is not None:
            out["opening_ar"] = self.opening_ar
            out["opening_unbilled"] = self.opening_unbilled
        return out
