"""Competing outcomes under censoring: Aalen–Johansen shares and per-outcome durations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import revsim
from revsim.calibrate.competing import competing_outcomes

P_WON = 0.3
YEAR_H = 365 * 24.0


def censored_deals(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Deals entering uniformly over a year, won in ~20 d or lost in ~80 d, seen at year end.

    Returns observed hours, outcome labels, censored flags and the true durations (the entry
    times are the generator's first draw; see :func:`_deal_log`).
    """
    rng = np.random.default_rng(seed)
    entry = rng.uniform(0, YEAR_H, n)
    won = rng.random(n) < P_WON
    dur = np.where(won, rng.lognormal(np.log(20 * 24), 0.5, n),
                   rng.lognormal(np.log(80 * 24), 0.5, n))
    censored = entry + dur > YEAR_H
    hours = np.where(censored, YEAR_H - entry, dur)
    return hours, np.where(won, "won", "lost"), censored, dur


def test_shares_correct_the_bias_of_counting_completed_visits() -> None:
    hours, outcome, censored, _ = censored_deals(20_000, seed=1)
    naive = np.mean(outcome[~censored] == "won")
    co = competing_outcomes(hours, outcome, censored)
    won = co.shares[co.outcomes.index("won")]
    lo, hi = co.ci_low[co.outcomes.index("won")], co.ci_high[co.outcomes.index("won")]
    assert naive - P_WON > 0.03  # the bias this estimator exists for
    assert lo <= P_WON <= hi
    assert abs(won - P_WON) < 0.015
    assert co.shares.sum() == pytest.approx(1.0)
    assert co.completed.sum() == (~censored).sum() and co.n == len(hours)


def test_without_censoring_shares_are_plain_proportions() -> None:
    rng = np.random.default_rng(2)
    hours = rng.exponential(10.0, 500)
    outcome = rng.choice(["a", "b", "c"], 500, p=[0.5, 0.3, 0.2])
    co = competing_outcomes(hours, outcome, np.zeros(500, bool))
    for name, share in zip(co.outcomes, co.shares, strict=True):
        assert share == pytest.approx(np.mean(outcome == name), abs=1e-12)
    assert co.unresolved == pytest.approx(0.0)
    # the conditional distribution of an outcome is then its empirical distribution
    q = co.conditional_quantiles("a", 1000)
    assert np.median(q) == pytest.approx(np.median(hours[outcome == "a"]), rel=0.02)


def test_duration_given_outcome_includes_the_slow_ones_still_open() -> None:
    hours, outcome, censored, dur = censored_deals(20_000, seed=3)
    co = competing_outcomes(hours, outcome, censored)
    true_median = np.median(dur[outcome == "lost"])
    completed_median = np.median(hours[~censored & (outcome == "lost")])
    corrected = np.median(co.conditional_quantiles("lost", 5000))
    assert true_median - completed_median > 0.04 * true_median  # completed ones are too fast
    assert abs(corrected - true_median) < 0.02 * true_median


def test_bootstrap_intervals_cover_at_about_95_percent() -> None:
    reps, hits = 80, 0
    for r in range(reps):
        hours, outcome, censored, _ = censored_deals(600, seed=100 + r)
        co = competing_outcomes(hours, outcome, censored, seed=r)
        k = co.outcomes.index("won")
        hits += co.ci_low[k] <= P_WON <= co.ci_high[k]
    # 99.9% binomial range around 0.95 for 80 trials is about [0.85, 1.0]
    assert 0.85 <= hits / reps <= 1.0


def test_same_input_same_intervals() -> None:
    hours, outcome, censored, _ = censored_deals(2_000, seed=4)
    a = competing_outcomes(hours, outcome, censored)
    b = competing_outcomes(hours, outcome, censored)
    assert np.array_equal(a.ci_low, b.ci_low) and np.array_equal(a.ci_high, b.ci_high)


def test_no_completed_visit_is_an_error() -> None:
    with pytest.raises(ValueError, match="no completed visit"):
        competing_outcomes([1.0, 2.0], ["", ""], [True, True])


def _deal_log(n: int, seed: int) -> pd.DataFrame:
    """The deals of :func:`censored_deals` as a canonical event log (as-of = year end)."""
    hours, outcome, censored, _ = censored_deals(n, seed)
    entry_h = np.random.default_rng(seed).uniform(0, YEAR_H, n)  # the generator's first draw
    start = pd.Timestamp("2027-01-01", tz="UTC")
    entered = start + pd.to_timedelta(entry_h, unit="h")
    closed = entered + pd.to_timedelta(hours, unit="h")
    opened = pd.DataFrame({"case_id": [f"D{i}" for i in range(n)],
                           "activity": "opportunity_created", "timestamp": entered})
    done = pd.DataFrame({"case_id": [f"D{i}" for i in range(n)],
                         "activity": [f"closed_{o}" for o in outcome], "timestamp": closed})
    df = pd.concat([opened, done[~censored]], ignore_index=True)
    df["object_type"] = "opportunity"
    return df


def test_fit_uses_censoring_corrected_win_rates() -> None:
    log = _deal_log(4_000, seed=5)
    fitted = revsim.fit(log, as_of=pd.Timestamp("2027-01-01", tz="UTC") + pd.Timedelta(hours=YEAR_H))
    routes = fitted.to_toml()
    stage = next(iter(fitted.raw["stages"].values()))
    won = stage["routes"]["won"]
    completed = log["activity"].value_counts()
    naive = completed["closed_won"] / (completed["closed_won"] + completed["closed_lost"])
    assert naive - P_WON > 0.03
    assert abs(won - P_WON) < 0.03
    assert "Aalen-Johansen" in routes


P_NEVER = 0.25  # share of overdue invoices written off


def _invoice_log(n: int, seed: int) -> tuple[pd.DataFrame, pd.Timestamp]:
    """Won deals each billed once, net 30: half paid on time, the overdue rest paid ~15 d late
    or written off ~120 d after the due date; the log is cut a year after the first invoice."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2027-01-01", tz="UTC")
    as_of = start + pd.Timedelta(days=365)
    won_at = start + pd.to_timedelta(rng.uniform(0, 365 * 24, n), unit="h")
    due = won_at + pd.Timedelta(days=30)
    on_time = rng.random(n) < 0.5
    never = ~on_time & (rng.random(n) < P_NEVER)
    paid = np.where(on_time, won_at + pd.to_timedelta(rng.uniform(1, 29, n), unit="D"),
                    due + pd.to_timedelta(rng.gamma(2.0, 7.5, n), unit="D"))
    written = due + pd.to_timedelta(rng.normal(120, 10, n), unit="D")
    rows = []
    for i in range(n):
        deal, inv = f"O{i}", f"I{i}"
        rows.append((deal, "opportunity_created", won_at[i] - pd.Timedelta(days=20),
                     "opportunity", None, None))
        rows.append((deal, "closed_won", won_at[i], "opportunity", None, None))
        rows.append((inv, "invoice_issued", won_at[i], "invoice", deal, due[i]))
        end = written[i] if never[i] else paid[i]
        if end <= as_of:
            rows.append((inv, "invoice_written_off" if never[i] else "invoice_paid", end,
                         "payment", deal, None))
    df = pd.DataFrame(rows, columns=["case_id", "activity", "timestamp", "object_type",
                                     "parent_id", "due_date"])
    df["amount"] = 1000.0
    return df, as_of


def test_never_paid_share_counts_open_overdue_invoices() -> None:
    log, as_of = _invoice_log(3_000, seed=6)
    fitted = revsim.fit(log, as_of=as_of)
    pay = fitted.raw["payment"]
    overdue_never = pay["never"] / (pay["late"] + pay["never"])
    # written-off invoices take ~120 d and recent ones are still open: counting decided
    # invoices only puts the share far lower
    issued = log[log["activity"] == "invoice_issued"].set_index("case_id")
    ends = log[log["activity"].isin(["invoice_paid", "invoice_written_off"])].set_index("case_id")
    late = (ends["activity"] == "invoice_paid") & (ends["timestamp"] > issued["due_date"]
                                                  .reindex(ends.index))
    decided_never = (ends["activity"] == "invoice_written_off").sum()
    naive = decided_never / (decided_never + late.sum())
    assert P_NEVER - naive > 0.05
    assert abs(overdue_never - P_NEVER) < 0.04
    assert "Aalen-Johansen" in fitted.to_toml()
