"""The conditional law of an open invoice (revsim.engine.open_invoices) against the engine.

Brute force by the engine itself: one run issues ~16 000 invoices (one-off deals billed
upfront, net 30; on time / late / never; lognormal lateness; two-part payers; three reminders
that triple the payment hazard for 10 days; write-off at 120 days) and logs every payment and
write-off. The invoices still open (no payment of any kind, not written off) ``d`` days after
issue are the ones a forecast would start from at age ``d``. For each age:

* the share of them that ends paid in full must lie in the 99.9 % Wilson interval around
  ``OpenInvoiceLaw.paid_probability`` (invoices draw independent keyed numbers, so they are
  independent Bernoulli trials);
* the hours to their close and, for those that pay, to their next payment, must be
  indistinguishable (two-sample KS at 0.001) from ``OpenInvoiceLaw.sample``'s.

About 15 assertions at 0.001: a correct law fails a run with probability at most 1.5 %
(Bonferroni); fixed seeds make it reproducible. Times are compared rounded to 1e-6 h, since
the engine's close instants (issue + 120 d) and the law's (120 d - age) differ in the last bits.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from dataclasses import replace

import numpy as np
import pytest
from scipy import stats
from validation.stats import assert_proportion_consistent

import revsim
from revsim.engine.cash import LATE, NEVER, ON_TIME
from revsim.engine.open_invoices import OpenInvoiceLaw

ALPHA = 1e-3
DAY = 24.0
DUE = 30 * DAY
WRITE_OFF = 120 * DAY
HORIZON_WEEKS = 100
AGES_DAYS = (15, 40, 80, 110)  # before due; after 1 reminder; after all 3; near write-off

SCENARIO = {
    "scenario": {"name": "open invoices", "start": dt.date(2027, 1, 4),
                 "horizon": f"{HORIZON_WEEKS} w"},
    "sources": {"web": {"rate": "200/w", "to": "close", "value": 1000}},
    "stages": {"close": {"delay": "1 h", "routes": {"won": 1.0}}},
    "deals": {"contract": {"type": "one_off", "billing": "upfront", "terms": "net 30"}},
    "payment": {"on_time": 0.5, "late": 0.35, "never": 0.15,
                "lateness": {"dist": "lognormal", "median": "20 d", "p90": "60 d"},
                "write_off_after": "120 d", "partial_share": 0.3, "partial_gap": "15 d"},
    "dunning": {"reminders": ["7 d", "21 d", "45 d"], "factor": 3.0, "window": "10 d"},
}


@functools.cache
def engine_invoices() -> tuple[OpenInvoiceLaw, dict[str, np.ndarray]]:
    """The law, and per invoice: issue time, first payment (inf if none), close time, paid
    in full."""
    scenario = revsim.Scenario(SCENARIO)
    res = scenario.run(replications=1, seed=5, records=True, progress=False)
    issued: dict[int, float] = {}
    first: dict[int, float] = {}
    close: dict[int, tuple[float, bool]] = {}
    for kind, inv, now, *_ in res.replications[0].extra["invoice_log"]:
        if kind == "invoice_issued":
            issued[inv] = now
        elif kind in ("invoice_paid", "payment_received"):
            first.setdefault(inv, now)
        if kind in ("invoice_paid", "invoice_written_off"):
            close[inv] = (now, kind == "invoice_paid")
    # Only invoices issued at least WRITE_OFF before the horizon: each has closed by then.
    # Keeping the later ones that happen to have closed would favour the early payers.
    ids = [i for i, t in issued.items() if t + WRITE_OFF < HORIZON_WEEKS * 168]
    assert all(i in close for i in ids)
    table = {
        "issued": np.array([issued[i] for i in ids]),
        "first": np.array([first.get(i, math.inf) for i in ids]),
        "close": np.array([close[i][0] for i in ids]),
        "paid": np.array([close[i][1] for i in ids]),
    }
    return OpenInvoiceLaw(scenario.model.cash, -1), table


def open_at(age: float) -> dict[str, np.ndarray]:
    """The engine's invoices with no payment and no write-off by ``age`` after issue."""
    _, t = engine_invoices()
    alive = (t["first"] > t["issued"] + age) & (t["close"] > t["issued"] + age)
    return {k: v[alive] for k, v in t.items()}


@pytest.mark.parametrize("days", AGES_DAYS)
def test_paid_share_of_open_invoices_matches_the_engine(days: int) -> None:
    law, _ = engine_invoices()
    age = days * DAY
    inv = open_at(age)
    assert len(inv["paid"]) > 2000
    expected = law.paid_probability(age, DUE, law.reminders_sent(age - DUE))
    assert_proportion_consistent(int(inv["paid"].sum()), len(inv["paid"]), expected,
                                 name=f"paid in full, open at {days} d")


@pytest.mark.parametrize("days", AGES_DAYS)
def test_times_to_payment_and_close_match_the_engine(days: int) -> None:
    law, _ = engine_invoices()
    age = days * DAY
    inv = open_at(age)
    rng = np.random.default_rng(days)
    sent = law.reminders_sent(age - DUE)
    draws = [law.sample(age, DUE, sent, rng) for _ in range(4000)]
    settle = np.round([d.settle_in for d in draws], 6)
    assert stats.ks_2samp(settle, np.round(inv["close"] - inv["issued"] - age, 6)).pvalue > ALPHA
    pay = np.array([d.pay_in for d in draws])
    theirs = inv["first"] - inv["issued"] - age
    paying, theirs = pay[np.isfinite(pay)], theirs[np.isfinite(theirs)]
    if days <= 80:  # by 110 d hardly any still pay (their share is tested above)
        assert min(len(paying), len(theirs)) >= 50
        assert stats.ks_2samp(paying, theirs).pvalue > ALPHA
    assert not any(d.overdue for d in draws)


def test_the_check_tells_conditioning_apart() -> None:
    """Power: the odds of a new invoice are not those of one open for 40 days, nor are those
    computed as if reminders did nothing."""
    law, _ = engine_invoices()
    age = 40 * DAY
    inv = open_at(age)
    n, paid = len(inv["paid"]), int(inv["paid"].sum())
    sent = law.reminders_sent(age - DUE)
    undunned = OpenInvoiceLaw(replace(_cash(), dunning_factor=1.0), -1)
    for wrong in (law.paid_probability(0.0, DUE), undunned.paid_probability(age, DUE, sent)):
        with pytest.raises(AssertionError):
            assert_proportion_consistent(paid, n, wrong, name="wrong law")


def _cash():
    return revsim.Scenario(SCENARIO).model.cash


# -- hand-computed odds ------------------------------------------------------------------------
def test_class_odds_before_the_due_date() -> None:
    """15 d into net 30, on-time payers spread uniformly over the terms are half left:
    weights 0.5 * 0.5, 0.35, 0.15, i.e. 1/3, 7/15, 1/5."""
    law = OpenInvoiceLaw(_cash(), -1)
    assert law.class_probabilities(15 * DAY, DUE) == pytest.approx((1 / 3, 7 / 15, 1 / 5))


def test_class_odds_past_due_follow_the_dunned_lateness() -> None:
    """Past due no on-time payer is left; a late payer survives exp(-Lambda), Lambda being
    the lateness cumulative hazard tripled in the reminder window [7 d, 17 d)."""
    cash = _cash()
    law = OpenInvoiceLaw(cash, -1)
    lateness = cash.payment(-1).lateness
    x = 12 * DAY  # 42 d after issue
    h = -np.log(lateness.sf(np.array([7 * DAY, x])))
    lam = h[0] + 3 * (h[1] - h[0])
    late = 0.35 * math.exp(-lam)
    got = law.class_probabilities(DUE + x, DUE, law.reminders_sent(x))
    assert got == pytest.approx((0.0, late / (late + 0.15), 0.15 / (late + 0.15)))
    assert law.cum_hazard(x, law.windows((7 * DAY,))) == pytest.approx(lam)


def test_a_late_payer_keeps_its_latent_beyond_what_it_survived() -> None:
    """The posterior latent is Lambda(now) + Exp(1): the engine's offset from it is past now,
    and without reminders it is the lateness distribution's own remaining time."""
    cash = _cash()
    law = OpenInvoiceLaw(cash, -1)
    age = DUE + 50 * DAY
    sent = law.reminders_sent(age - DUE)
    probs = law.class_probabilities(age, DUE, sent)
    out = law.draw(age, DUE, sent, (probs[0] + probs[1] / 2, 0.4, 0.9, 0.5))
    assert out.kind == LATE
    assert out.latent == pytest.approx(law.cum_hazard(50 * DAY, law.windows(sent))
                                       - math.log1p(-0.4))
    assert DUE + law.late_offset(out.latent, law.windows(sent)) >= age
    plain = OpenInvoiceLaw(replace(cash, dunning_factor=1.0), -1)
    lateness = cash.payment(-1).lateness
    out = plain.draw(age, DUE, (), (probs[0] + 1e-9, 0.4, 0.9, 0.5))
    assert out.kind == LATE
    assert out.pay_in == pytest.approx(float(lateness.remaining(50 * DAY, 0.4)), rel=1e-9)


def test_draws_follow_the_class_thresholds() -> None:
    law = OpenInvoiceLaw(_cash(), -1)
    p_on, p_late, _ = law.class_probabilities(15 * DAY, DUE)
    kinds = [law.draw(15 * DAY, DUE, (), (u, 0.5, 0.5, 0.5)).kind
             for u in (0.0, p_on - 1e-9, p_on + 1e-9, p_on + p_late + 1e-9)]
    assert kinds == [ON_TIME, ON_TIME, LATE, NEVER]
    never = law.draw(15 * DAY, DUE, (), (0.999, 0.5, 0.0, 0.5))
    assert never.pay_in == math.inf and never.settle_in == WRITE_OFF - 15 * DAY
    assert not never.paid


def test_two_part_payers_settle_a_gap_later_or_are_written_off() -> None:
    law = OpenInvoiceLaw(_cash(), -1)
    whole = law.draw(15 * DAY, DUE, (), (0.0, 0.5, 0.99, 0.5))
    split = law.draw(15 * DAY, DUE, (), (0.0, 0.5, 0.0, 0.5))
    assert not whole.partial and split.partial and whole.pay_in == split.pay_in
    assert split.settle_in == pytest.approx(split.pay_in + 15 * DAY) and split.paid
    # 100 d after issue, 20 d before the write-off: a late two-part payer settles in full
    # only if its first part comes more than the 15 d gap before the write-off
    age, sent = 100 * DAY, law.reminders_sent(70 * DAY)
    u_late = law.class_probabilities(age, DUE, sent)[1] / 2
    outcomes = set()
    for u in np.linspace(0.01, 0.99, 25):
        out = law.draw(age, DUE, sent, (u_late, float(u), 0.0, 0.5))
        assert out.kind == LATE and out.partial
        if out.pay_in + 15 * DAY < 20 * DAY:
            assert out.paid and out.settle_in == pytest.approx(out.pay_in + 15 * DAY)
        else:
            assert not out.paid and out.settle_in == pytest.approx(20 * DAY)
        outcomes.add(out.paid)
    assert outcomes == {True, False}


def test_overdue_invoices_close_now_and_say_so() -> None:
    cash = _cash()
    law = OpenInvoiceLaw(cash, -1)
    gone = law.draw(WRITE_OFF, DUE, (), (0.5, 0.5, 0.5, 0.5))
    assert gone.overdue and not gone.paid and gone.settle_in == 0.0
    assert law.paid_probability(WRITE_OFF, DUE) == 0.0
    prompt = replace(cash, payments={-1: replace(cash.payment(-1), on_time=1.0, late=0.0,
                                                 never=0.0)})
    everyone = OpenInvoiceLaw(prompt, -1)
    assert everyone.class_probabilities(DUE + DAY, DUE) == (0.0, 0.0, 0.0)
    late = everyone.draw(DUE + DAY, DUE, (), (0.5, 0.5, 0.5, 0.5))
    assert late.overdue and late.paid and late.settle_in == 0.0


def test_reminders_sent_default_to_the_schedule_so_far() -> None:
    law = OpenInvoiceLaw(_cash(), -1)
    assert law.reminders_sent(-5.0) == ()
    assert law.reminders_sent(10 * DAY) == (7 * DAY,)
    assert law.reminders_sent(10 * DAY, count=2) == (7 * DAY, 10 * DAY)  # sent early: by now
    assert law.reminders_sent(60 * DAY, count=9) == (7 * DAY, 21 * DAY, 45 * DAY)
    assert law.windows((7 * DAY,)) == [(7 * DAY, 17 * DAY)]


def test_sample_is_reproducible() -> None:
    law = OpenInvoiceLaw(_cash(), -1)
    a = law.sample(40 * DAY, DUE, (7 * DAY,), np.random.default_rng(3))
    b = law.sample(40 * DAY, DUE, (7 * DAY,), np.random.default_rng(3))
    assert a == b
