"""Receivables as an M/G/infinity system: outstanding invoices vs theory.

Leads arrive as a Poisson process (rate lambda per hour) into a stage that wins every one of them
after a deterministic hour. Each won deal is a one-off contract billed upfront with a fixed value
V, so invoices are issued as a Poisson process of rate lambda (shifted by one hour). An invoice is
outstanding from its issue until it is paid (or written off): a sojourn D, independent across
invoices. The number of open invoices is therefore the number in an M/G/infinity system, whose
stationary mean is lambda * E[D] (for any distribution of D), and

    E[AR] = lambda * V * E[D].

D is bounded in both scenarios (on-time payers are capped at the due date, late payers are
written off at ``write_off_after``), so once the warm-up is longer than the bound plus the hour of
the stage, the count is *exactly* stationary: no warm-up bias, no ``rel_floor``.

E[D] is computed exactly with the lognormal partial expectation
E[min(X, c)] = E[X] Phi((ln c - mu - s^2)/s) + c (1 - Phi((ln c - mu)/s)).

The statistic of one replication is the time-average of the ``ar_outstanding`` series (sampled
once a day) over the samples after the warm-up: each sample of a stationary process has the
stationary mean, so the average is unbiased, and replications are independent, so the Student-t
interval over replications (``assert_consistent``) gives the tolerance.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate
from scipy import stats as st

import revsim

from .conftest import JOBS, START, hours, per_hour, seed
from .stats import assert_consistent, mean_ci

DAY = 24.0
LAM = 3.0 / DAY  # invoices per hour
VALUE = 1000.0
CLOSE_H = 1.0  # the deterministic stage before the deal is won
REPS = 20


def lognormal_params(mean: float, sd: float) -> tuple[float, float]:
    s2 = math.log1p((sd / mean) ** 2)
    return math.log(mean) - s2 / 2, math.sqrt(s2)


def mean_min_lognormal(mean: float, sd: float, cap: float) -> float:
    """E[min(X, cap)] for X lognormal with the given mean and sd."""
    mu, s = lognormal_params(mean, sd)
    lc = math.log(cap)
    return mean * st.norm.cdf((lc - mu - s * s) / s) + cap * st.norm.sf((lc - mu) / s)


def lognormal_sf(mean: float, sd: float):
    mu, s = lognormal_params(mean, sd)
    return st.lognorm(s=s, scale=math.exp(mu)).sf


def scenario(*, terms_days: int, payment: str, warmup_h: float, horizon_h: float) -> str:
    return f"""
[scenario]
name = "receivables M/G/inf"
start = {START}
horizon = "{hours(horizon_h)}"
warmup = "{hours(warmup_h)}"

[sources.leads]
rate = "{per_hour(LAM)}"
to = "close"
value = {VALUE}

[stages.close]
delay = "{hours(CLOSE_H)}"
routes = {{ won = 1.0 }}

[deals.contract]
type = "one_off"
billing = "upfront"
terms = "net {terms_days}"

[payment]
{payment}
"""


def ar_time_average(res: revsim.RunResult, t_from: float, t_to: float = math.inf) -> np.ndarray:
    """Per replication: the mean of the daily ar_outstanding samples with t in [t_from, t_to]."""
    s = res.series
    s = s[(s["variable"] == "ar_outstanding") & (s["t_hours"] >= t_from)
          & (s["t_hours"] <= t_to)]
    out = s.groupby("replication")["value"].mean()
    assert len(out) == res.manifest["replications"]
    return out.sort_index().to_numpy()


def run(toml: str, k: int) -> revsim.RunResult:
    return revsim.loads(toml).run(replications=REPS, seed=seed(k), jobs=JOBS, progress=False)


# on-time payers: lognormal time from issue to payment, mean 10 d, sd 6 d, capped at the terms
ON_TIME_MEAN, ON_TIME_SD = 10 * DAY, 6 * DAY
ON_TIME_DELAY = (f'{{ dist = "lognormal", mean = "{hours(ON_TIME_MEAN)}", '
                 f'sd = "{hours(ON_TIME_SD)}" }}')


def test_outstanding_invoices_all_on_time() -> None:
    """Everyone pays on time: D = min(X, terms), terms net 60 (X > 60 d has P ~ 1e-5)."""
    terms = 60 * DAY
    warmup = terms + CLOSE_H + DAY  # longer than the largest D plus the stage: stationary
    toml = scenario(terms_days=60, warmup_h=warmup, horizon_h=warmup + 365 * DAY,
                    payment=f"on_time = 1.0\nlate = 0.0\non_time_delay = {ON_TIME_DELAY}")
    res = run(toml, 71)
    mean_d = mean_min_lognormal(ON_TIME_MEAN, ON_TIME_SD, terms)
    expected = LAM * VALUE * mean_d
    assert_consistent(ar_time_average(res, warmup), expected,
                      name="time-average AR, on-time payers (lambda V E[D])")
    # Period-end DSO = AR at the end / invoiced in the window x days in the window: in steady
    # state E[AR_end] / E[invoiced per day] = E[D] in days. (The ratio of two random numbers has
    # an O(1/n) bias, n ~ 1100 invoices per window: ~0.1%, far inside the interval.)
    assert_consistent(res.values("dso", "cash"), mean_d / DAY,
                      name="DSO = mean time to pay (days)")
    # everything is paid, nothing written off
    assert np.all(res.values("written_off", "cash") == 0)


def test_outstanding_invoices_with_late_payers() -> None:
    """60% on time (lognormal, capped at net 30), 40% late by a lognormal lateness (mean 20 d,
    sd 15 d) past the due date, written off at 120 d of age if still unpaid:
    E[D] = 0.6 E[min(X, 30 d)] + 0.4 (30 d + E[min(L, 90 d)])."""
    terms, write_off = 30 * DAY, 120 * DAY
    late_mean, late_sd = 20 * DAY, 15 * DAY
    warmup = write_off + CLOSE_H + DAY
    payment = (
        f"on_time = 0.6\nlate = 0.4\non_time_delay = {ON_TIME_DELAY}\n"
        f'lateness = {{ dist = "lognormal", mean = "{hours(late_mean)}", '
        f'sd = "{hours(late_sd)}" }}\n'
        f'write_off_after = "{hours(write_off)}"'
    )
    toml = scenario(terms_days=30, warmup_h=warmup, horizon_h=warmup + 365 * DAY,
                    payment=payment)
    res = run(toml, 72)
    mean_d = (0.6 * mean_min_lognormal(ON_TIME_MEAN, ON_TIME_SD, terms)
              + 0.4 * (terms + mean_min_lognormal(late_mean, late_sd, write_off - terms)))
    expected = LAM * VALUE * mean_d
    assert_consistent(ar_time_average(res, warmup), expected,
                      name="time-average AR, on-time/late mixture (lambda V E[D])")
    # the mixture really matters: the on-time-only value is far outside the interval
    on_time_only = LAM * VALUE * mean_min_lognormal(ON_TIME_MEAN, ON_TIME_SD, terms)
    _, lo, _, _, _ = mean_ci(ar_time_average(res, warmup))
    assert lo > on_time_only
    # share written off: late payers with L > 90 d (independent Bernoulli per invoice)
    p_write_off = 0.4 * lognormal_sf(late_mean, late_sd)(write_off - terms)
    invoiced = res.values("invoiced", "cash")
    assert_consistent(res.values("written_off", "cash") / invoiced, p_write_off,
                      name="bad-debt rate = P(late) P(L > write-off age - terms)")


def test_empty_start_biases_ar_low_without_warm_up() -> None:
    """Over the first 30 days the receivables fill up from zero: the average is well below the
    steady state, and matches the transient M/G/infinity mean
    E[N(t)] = lambda * integral_0^(t - 1 h) P(D > u) du."""
    terms = 60 * DAY
    first = 30 * DAY
    toml = scenario(terms_days=60, warmup_h=0.0, horizon_h=first,
                    payment=f"on_time = 1.0\nlate = 0.0\non_time_delay = {ON_TIME_DELAY}")
    res = run(toml, 73)
    avg = ar_time_average(res, 0.0, first)
    steady = LAM * VALUE * mean_min_lognormal(ON_TIME_MEAN, ON_TIME_SD, terms)
    _, _, hi, _, _ = mean_ci(avg)
    assert hi < steady, (hi, steady)

    sf = lognormal_sf(ON_TIME_MEAN, ON_TIME_SD)

    def transient(t: float) -> float:
        upper = min(max(t - CLOSE_H, 0.0), terms)
        return LAM * VALUE * integrate.quad(sf, 0.0, upper, limit=200)[0] if upper > 0 else 0.0

    sample_times = np.arange(0.0, first + 1e-9, DAY)
    expected = float(np.mean([transient(t) for t in sample_times]))
    assert expected < 0.8 * steady  # the bias is large over this window
    assert_consistent(avg, expected, name="AR average over the first 30 days (transient)")


def test_default_on_time_spread_is_uniform_over_each_segments_terms() -> None:
    """No on_time_delay: on-time payers pay uniformly over their terms, so E[D] = terms / 2.
    Two equally likely segments, smb on the default net 30 and ent on net 60:
    E[D] = (15 d + 30 d) / 2 = 22.5 d."""
    warmup = 60 * DAY + CLOSE_H + DAY
    toml = scenario(terms_days=30, warmup_h=warmup, horizon_h=warmup + 365 * DAY,
                    payment="on_time = 1.0\nlate = 0.0")
    toml = toml.replace('to = "close"', 'to = "close"\nsegments = { smb = 0.5, ent = 0.5 }')
    toml += (f"\n[segments.smb]\nvalue = {VALUE}\n[segments.ent]\nvalue = {VALUE}\n"
             '[deals.by_segment.ent]\nterms = "net 60"\n')
    res = run(toml, 74)
    expected = LAM * VALUE * 22.5 * DAY
    assert_consistent(ar_time_average(res, warmup), expected,
                      name="time-average AR, default on-time spread over each segment's terms")
