"""Kaplan–Meier and Aalen–Johansen estimates under right-censoring: the one implementation.

Every survival estimate in revsim is computed here: the Kaplan–Meier estimate of a duration
(with its exponential-Greenwood band, for plots and the fit notes), Kaplan–Meier plotting
positions and quantiles (the empirical fallback, Q-Q plots), the Kaplan–Meier estimate of the
*censoring* times (the KS test under censoring) and the Aalen–Johansen cumulative incidence of
competing outcomes (route shares, write-offs, durations given an outcome).

Why not lifelines (its ``KaplanMeierFitter`` and ``AalenJohansenFitter``): the Aalen–Johansen
fitter breaks tied durations by random jitter (logs rounded to days are all ties), so the same
log would not give the same shares; the bootstrap of the shares evaluates the estimator 400
times on binned counts, which needs an estimator of counts rather than of a data frame of
subjects; and the censoring estimate needs events counted before censorings at tied times. So
one small product-limit core on counts serves all of them; lifelines stays a test oracle
(tests/test_survival.py checks these numbers against it).

Conventions: times are the distinct durations in increasing order; at a tied time, events
count before censorings (a case censored at t was still at risk of an event at t).
"""

from __future__ import annotations

import math
from typing import cast

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import special

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

CI_LEVEL = 0.95  # the Kaplan-Meier band


def risk_sets(t: FloatArray, observed: BoolArray) -> tuple[FloatArray, FloatArray, FloatArray,
                                                           FloatArray]:
    """Distinct times with their events, censorings and number at risk just before each."""
    u, inv = np.unique(t, return_inverse=True)
    events = np.bincount(inv, weights=observed.astype(float), minlength=len(u))
    censored = np.bincount(inv, weights=(~observed).astype(float), minlength=len(u))
    at_risk = len(t) - np.concatenate(([0.0], np.cumsum(events + censored)[:-1]))
    return u, cast(FloatArray, events), cast(FloatArray, censored), cast(FloatArray, at_risk)


def product_limit(events: FloatArray, at_risk: FloatArray) -> FloatArray:
    """The product-limit survival after each time: prod(1 - events / at_risk).

    Times with nobody at risk (empty bins of a bootstrap resample) leave it unchanged.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        hazard = np.where(at_risk > 0, events / at_risk, 0.0)
    return cast(FloatArray, np.cumprod(1.0 - hazard))


def kaplan_meier(t: FloatArray, observed: BoolArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Distinct times with an event, the Kaplan–Meier survival after each, and the
    survival just before each."""
    u, events, _, at_risk = risk_sets(t, observed)
    surv = product_limit(events, at_risk)
    before = np.concatenate(([1.0], surv[:-1]))
    hit = events > 0
    return u[hit], surv[hit], before[hit]


def km_quantile(times: FloatArray, surv: FloatArray, q: float) -> float:
    """The first time at which the survival is at or below 1 - q (inf if never)."""
    hit = np.flatnonzero(surv <= 1 - q + 1e-12)
    return float(times[hit[0]]) if len(hit) else math.inf


def km_table(t: FloatArray, observed: BoolArray) -> pd.DataFrame:
    """The Kaplan–Meier estimate from time 0 (time, survival, ci_lower, ci_upper).

    One row per distinct duration (censored ones too) and one at 0; the band is the
    exponential Greenwood ("log-log") interval at CI_LEVEL, 1 where the survival is 1. The
    survival is the product limit summed in the log domain, in the order lifelines sums it (the
    table is lifelines' to the last bit, so plots and notes did not move when it was
    replaced); it equals ``kaplan_meier``'s product to rounding.
    """
    u, events, _, at_risk = risk_sets(t, observed)
    if not len(u) or u[0] > 0:  # start at time 0, where everyone is at risk
        u, events = np.concatenate(([0.0], u)), np.concatenate(([0.0], events))
        at_risk = np.concatenate(([float(len(t))], at_risk))
    with np.errstate(divide="ignore", invalid="ignore"):
        # in the log domain, where the band lives: log S = sum(log(n - d) - log(n))
        surv = np.exp(np.cumsum(np.log(at_risk - events) - np.log(at_risk)))
        log_s = np.log(surv)
        step = events / (at_risk * (at_risk - events))
        step[~np.isfinite(step)] = 0.0  # everyone left at risk has the event
        greenwood = np.cumsum(step)
        z = float(special.ndtri(1 - (1 - CI_LEVEL) / 2))
        width = z * np.sqrt(greenwood) / log_s
        lower = np.exp(-np.exp(np.log(-log_s) - width))
        upper = np.exp(-np.exp(np.log(-log_s) + width))
    return pd.DataFrame({
        "time": u,
        "survival": surv,
        "ci_lower": np.where(np.isnan(lower), 1.0, lower),
        "ci_upper": np.where(np.isnan(upper), 1.0, upper),
    })


def censoring_survival(t: FloatArray, observed: BoolArray) -> tuple[FloatArray, FloatArray]:
    """The Kaplan–Meier estimate of the censoring times, P(C >= x), as a step function.

    Returns (breaks, values): 1 from 0, then the value after each censoring time. Events at a
    censoring time count before it (they leave the risk set of the censoring).
    """
    u, events, censored, at_risk = risk_sets(t, observed)
    cens = censored > 0
    values = product_limit(censored[cens], at_risk[cens] - events[cens])
    return np.concatenate(([0.0], u[cens])), np.concatenate(([1.0], values))


def cumulative_incidence(counts: FloatArray) -> tuple[FloatArray, float]:
    """Aalen–Johansen increments of each outcome's cumulative incidence, and the share still
    unresolved after the last time.

    ``counts`` is (outcomes + 1, times) over increasing times, the last row the cases censored
    then. Each outcome's increment is its hazard weighted by the Kaplan–Meier survival of "any
    outcome" just before.
    """
    events = counts[:-1]
    leaving = counts.sum(axis=0)
    at_risk = leaving[::-1].cumsum()[::-1]  # cases with a duration >= each time
    after = product_limit(events.sum(axis=0), at_risk)
    before = np.concatenate([[1.0], after[:-1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        inc = np.where(at_risk > 0, before * events / at_risk, 0.0)
    return inc, float(after[-1]) if len(after) else 1.0
