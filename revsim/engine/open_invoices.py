"""An open invoice's future given what it has survived: how a forecast starts the cash side.

For a new invoice the engine (:meth:`CashRT.issue <revsim.engine.cash.CashRT.issue>`) draws
four numbers: its payment class (on time with probability ``on_time``, late ``late``, never
``never``), an Exp(1) latent, whether it is paid in two parts, and an on-time delay O. An
on-time payer pays at min(O, terms) after issue; a late payer pays X after the due date, where
X's cumulative hazard is the lateness distribution's, multiplied by the dunning ``factor``
inside the ``window`` after each reminder (proportional hazards), and X is where that
cumulative hazard reaches the latent; a two-part payer pays ``partial_first`` of it then, and
the rest ``partial_gap`` later. Whatever is unpaid ``write_off_after`` issue is written off.

An invoice still open ``age`` hours after issue has survived that long, which changes the odds
(the conditional law, exact, given no payment of any kind yet):

* classes: P(class c | open) = p_c S_c(age) / sum_j p_j S_j(age), with S_on(age) =
  P(O > age) before the due date and 0 after it, S_late(age) = exp(-Lambda(age - due)) past
  due (Lambda: the late payers' cumulative hazard with the reminders sent so far) and 1
  before, S_never = 1;
* on-time delay: O - age given O > age (``Distribution.remaining``);
* a late payer's latent: Lambda(age - due) + Exp(1) (memorylessness of the exponential), so
  the engine's own ``_late_offset`` on this latent, with the windows of the reminders already
  sent, gives its payment time given survival, and reminders still to come act on it as
  they would have;
* the two-part flag is independent of the timing: its prior ``partial_share``.

Usage (one law per segment; times in hours; ``due`` and ``age`` measured from issue)::

    law = OpenInvoiceLaw(model.cash, segment)
    sent = law.reminders_sent(past_due=age - due, count=invoice.dunning_step)
    outlook = law.draw(age, due, sent, (u_class, u_latent, u_partial, u_on_time))
    # or law.sample(age, due, sent, rng); exact odds: law.class_probabilities(age, due, sent),
    # law.paid_probability(age, due, sent)

``draw`` returns an :class:`InvoiceOutlook`: the class, the latent (``Invoice.latent``), the
two-part flag, the hours from ``age`` to the next payment and to the close, and whether the
invoice closes paid in full or (its rest) written off. To seed an engine ``Invoice`` instead,
set ``kind``, ``latent``, ``partial`` and ``windows = law.windows(sent)`` and schedule its
payment ``pay_in`` hours from now; the engine's reminders then carry on. ``pay_in`` and
``settle_in`` assume that reminders still to come go out on schedule (no collections queue):
those whose time has passed without being sent go out now, once.

Overdue: an invoice open at or past ``write_off_after`` would have been written off; one that
no class can leave open (e.g. everyone pays by the due date, and it is past due) would have
been paid. ``draw`` marks both ``overdue=True`` and closes them now (written off, or paid),
so the caller can count them.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import NamedTuple

import numpy as np

from revsim.distributions import Distribution
from revsim.distributions.base import log_survival
from revsim.engine.cash import LATE, NEVER, ON_TIME
from revsim.scenario.compile_cash import default_on_time_delay
from revsim.scenario.model import CashModel

Window = tuple[float, float]


class InvoiceOutlook(NamedTuple):
    """One open invoice's drawn future (hours from the as-of instant)."""

    kind: int  # ON_TIME, LATE or NEVER (revsim.engine.cash), drawn given survival
    latent: float  # the Exp(1) latent, given survival for a late payer (Invoice.latent)
    partial: bool  # paid in two parts
    pay_in: float  # until the next payment; inf if none comes before the write-off
    settle_in: float  # until the invoice closes: paid in full or (its rest) written off
    paid: bool  # closes paid in full (else its unpaid rest is written off)
    overdue: bool  # the model says it should have closed already; closed now


class OpenInvoiceLaw:
    """The conditional law of the invoices of one segment (see the module docstring)."""

    def __init__(self, cash: CashModel, segment: int) -> None:
        p = cash.payment(segment)
        self.payment = p
        self.on_time: Distribution = p.on_time_delay or default_on_time_delay(
            cash.contract(segment).terms)
        self.lateness = p.lateness
        self.schedule = cash.reminders
        self.factor = cash.dunning_factor
        self.window = cash.dunning_window
        self.write_off_after = p.write_off_after

    # -- reminders -----------------------------------------------------------------------------
    def reminders_sent(self, past_due: float, count: int | None = None) -> tuple[float, ...]:
        """Times past due of the reminders already sent: the first ``count`` of the schedule
        (None: those due by ``past_due``), none later than ``past_due``. Steps beyond the
        scenario's schedule have no effect in the model and are left out."""
        due_by_now = [r for r in self.schedule if r <= past_due]
        n = len(due_by_now) if count is None else min(max(count, 0), len(self.schedule))
        return tuple(min(r, max(past_due, 0.0)) for r in self.schedule[:n])

    def windows(self, sent: Sequence[float]) -> list[Window]:
        """The hazard windows of reminders sent at these times past due (``Invoice.windows``);
        none when reminders do not change the hazard."""
        if self.factor == 1.0:
            return []
        return [(s, s + self.window) for s in sent]

    def _future(self, past_due: float, sent: Sequence[float]) -> list[float]:
        """Times past due of the reminders still to come, on schedule; overdue ones now."""
        rest = list(self.schedule[len(sent):])
        later = [r for r in rest if r > past_due]
        return ([max(past_due, 0.0)] if len(later) < len(rest) else []) + later

    # -- the late payers' cumulative hazard ----------------------------------------------------
    def _h(self, x: float) -> float:
        """Cumulative hazard of the lateness distribution, without dunning."""
        if x <= 0:
            return 0.0
        assert self.lateness is not None
        return -float(log_survival(self.lateness, x))

    def _segments(self, windows: Sequence[Window], start: float) -> Iterator[tuple[float, float,
                                                                                    float]]:
        """(lo, hi, hazard multiplier) from ``start`` on, as the engine's ``_late_offset``."""
        cuts = sorted({start, *(t for w in windows for t in w if t > start)})
        for i, lo in enumerate(cuts):
            hi = cuts[i + 1] if i + 1 < len(cuts) else math.inf
            mid = lo + (hi - lo) / 2 if math.isfinite(hi) else lo + 1.0
            yield lo, hi, self.factor ** sum(1 for a, b in windows if a <= mid < b)

    def cum_hazard(self, x: float, windows: Sequence[Window]) -> float:
        """Lambda(x): the late payers' cumulative hazard x past due, with these windows."""
        if x <= 0:
            return 0.0
        total = 0.0
        for lo, hi, m in self._segments(windows, 0.0):
            if lo >= x:
                break
            h_lo = self._h(lo)
            if math.isinf(h_lo):
                return math.inf
            total += m * (self._h(min(hi, x)) - h_lo)
        return total

    def late_offset(self, latent: float, windows: Sequence[Window], start: float = 0.0) -> float:
        """Where Lambda reaches ``latent`` (>= Lambda(start)): the late payer's time past due.
        Inverted through ``Distribution.remaining`` inside each segment, so it keeps its
        precision far in the lateness tail."""
        assert self.lateness is not None
        start = max(start, 0.0)
        acc = self.cum_hazard(start, windows)
        for lo, hi, m in self._segments(windows, start):
            h_lo = self._h(lo)
            if math.isinf(h_lo):
                return math.inf
            gain = m * (self._h(hi) - h_lo)
            if acc + gain >= latent:
                step = (latent - acc) / m
                # the x past lo where H(x) - H(lo) = step, i.e. survival ratio exp(-step)
                return lo + float(self.lateness.remaining(lo, -math.expm1(-step)))
            acc += gain
        return math.inf

    # -- the conditional law -------------------------------------------------------------------
    def _log_survivals(self, age: float, due: float, sent: Sequence[float]) -> np.ndarray:
        """log P(still open at ``age`` | class), per class (ON_TIME, LATE, NEVER)."""
        on = float(log_survival(self.on_time, age)) if age < due else -math.inf
        late = -self.cum_hazard(age - due, self.windows(sent)) if self.lateness else -math.inf
        return np.array([on, late, 0.0])

    def class_probabilities(self, age: float, due: float, sent: Sequence[float] = ()
                            ) -> tuple[float, float, float]:
        """P(on time), P(late), P(never) of an invoice still open ``age`` hours after issue
        (all 0 if no class leaves it open)."""
        p = self.payment
        with np.errstate(divide="ignore"):
            log_w = np.log([p.on_time, p.late, p.never]) + self._log_survivals(age, due, sent)
        top = float(log_w.max())
        if not math.isfinite(top):
            return 0.0, 0.0, 0.0
        w = np.exp(log_w - top)
        w /= w.sum()
        return float(w[0]), float(w[1]), float(w[2])

    def _pay_before(self, kind: int, t: float, age: float, due: float,
                    sent: Sequence[float]) -> float:
        """P(the (first) payment comes before ``t`` after issue | class, open at ``age``)."""
        if t <= age or kind == NEVER:
            return 0.0
        if kind == ON_TIME:
            if due < t:
                return 1.0
            return -math.expm1(float(log_survival(self.on_time, t))
                               - float(log_survival(self.on_time, age)))
        now = max(age - due, 0.0)
        windows = self.windows([*sent, *self._future(age - due, sent)])
        gain = self.cum_hazard(t - due, windows) - self.cum_hazard(now, windows)
        return -math.expm1(-gain)

    def paid_probability(self, age: float, due: float, sent: Sequence[float] = ()) -> float:
        """P(paid in full before the write-off | open ``age`` hours after issue), exact, with
        reminders still to come on schedule."""
        if age >= self.write_off_after:
            return 0.0
        probs = self.class_probabilities(age, due, sent)
        if sum(probs) == 0:
            return 1.0  # overdue for a payment: paid now
        p = self.payment
        w = self.write_off_after
        total = 0.0
        for kind, prob in zip((ON_TIME, LATE), probs[:2], strict=True):
            if prob > 0:
                whole = self._pay_before(kind, w, age, due, sent)
                split = self._pay_before(kind, w - p.partial_gap, age, due, sent)
                total += prob * ((1 - p.partial_share) * whole + p.partial_share * split)
        return total

    def draw(self, age: float, due: float, sent: Sequence[float],
             u: tuple[float, float, float, float]) -> InvoiceOutlook:
        """Draw an open invoice's future from four uniforms in [0, 1): class, latent,
        two-part flag and on-time delay, the engine's four per-invoice numbers (pass its keyed
        uniforms for common random numbers)."""
        u_class, u_latent, u_partial, u_on_time = u
        p = self.payment
        fresh = -math.log1p(-u_latent)
        partial = u_partial < p.partial_share
        w = self.write_off_after
        if age >= w:
            return InvoiceOutlook(NEVER, fresh, partial, math.inf, 0.0, False, True)
        probs = self.class_probabilities(age, due, sent)
        if sum(probs) == 0:
            kind = ON_TIME if u_class < p.on_time else LATE
            return InvoiceOutlook(kind, fresh, False, 0.0, 0.0, True, True)
        kind = ON_TIME if u_class < probs[0] else LATE if u_class < probs[0] + probs[1] \
            else NEVER
        latent = fresh
        if kind == ON_TIME:
            pay_at = min(age + float(self.on_time.remaining(age, u_on_time)), due)
        elif kind == LATE:
            past = max(age - due, 0.0)
            windows = self.windows([*sent, *self._future(age - due, sent)])
            latent = self.cum_hazard(past, self.windows(sent)) + fresh
            pay_at = due + self.late_offset(latent, windows, past)
        else:
            pay_at = math.inf
        if pay_at >= w:
            return InvoiceOutlook(kind, latent, partial, math.inf, w - age, False, False)
        settle = pay_at + p.partial_gap if partial else pay_at
        if settle >= w:
            return InvoiceOutlook(kind, latent, partial, pay_at - age, w - age, False, False)
        return InvoiceOutlook(kind, latent, partial, pay_at - age, settle - age, True, False)

    def sample(self, age: float, due: float, sent: Sequence[float],
               rng: np.random.Generator) -> InvoiceOutlook:
        """:meth:`draw` with four uniforms from ``rng``."""
        u = rng.random(4)
        return self.draw(age, due, sent, (float(u[0]), float(u[1]), float(u[2]), float(u[3])))
