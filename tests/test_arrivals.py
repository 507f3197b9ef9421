"""Tests of revsim.engine.arrivals: exact NHPP arrivals and bursts.

Statistical tests use fixed seeds and a p-value threshold of 1e-4, so a correct
implementation passes for all but a tiny fraction of seeds.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

import numpy as np
import pytest
from scipy import stats

from revsim.engine.arrivals import burst_times, nhpp_times

P_MIN = 1e-4
HOUR = [0.0] * 7 + [1, 2, 3, 3, 3, 2, 3, 3, 3, 2, 1] + [0.5] * 4 + [0.0] * 2
WEEKDAY = [1.0, 1.0, 1.2, 1.0, 0.8, 0.3, 0.0]


def reference_intensity(rate, start, n_hours, hour=None, weekday=None, month=None):
    """Per-hour intensity computed with datetime arithmetic, independently of the module."""
    h = np.ones(24) if hour is None else np.asarray(hour, float) / np.mean(hour)
    w = np.ones(7) if weekday is None else np.asarray(weekday, float) / np.mean(weekday)
    m = np.ones(12) if month is None else np.asarray(month, float) / np.mean(month)
    t0 = datetime(start.year, start.month, start.day)
    out = np.empty(n_hours)
    for i in range(n_hours):
        moment = t0 + timedelta(hours=i)
        out[i] = rate * h[moment.hour] * w[moment.weekday()] * m[moment.month - 1]
    return out


def poisson_chi2_pvalue(observed: np.ndarray, expected: np.ndarray) -> float:
    """P-value of sum (O - E)^2 / E for independent Poisson cells (chi2 with one df per cell)."""
    stat = float(np.sum((observed - expected) ** 2 / expected))
    return float(stats.chi2.sf(stat, df=len(expected)))


def test_counts_per_hour_of_week_match_intensity() -> None:
    start = date(2025, 3, 5)  # a Wednesday
    weeks = 10
    lam = reference_intensity(4.0, start, 168 * weeks, HOUR, WEEKDAY)
    t = nhpp_times(np.random.default_rng(12345), 4.0, start, 168.0 * weeks, HOUR, WEEKDAY)
    observed = np.bincount(np.floor(t).astype(int) % 168, minlength=168).astype(float)
    expected = lam.reshape(weeks, 168).sum(axis=0)
    zero = expected == 0
    assert 40 < zero.sum() < 168
    assert np.all(observed[zero] == 0), "arrivals in zero-rate hours"
    assert expected[~zero].min() >= 5  # keeps the chi-square approximation honest
    assert poisson_chi2_pvalue(observed[~zero], expected[~zero]) > P_MIN


def test_times_are_uniform_within_each_hour() -> None:
    t = nhpp_times(np.random.default_rng(7), 4.0, date(2025, 1, 1), 24.0 * 60, HOUR, WEEKDAY)
    assert stats.kstest(t % 1.0, "uniform").pvalue > P_MIN


def test_output_is_sorted_and_inside_horizon() -> None:
    t = nhpp_times(np.random.default_rng(3), 10.0, date(2024, 2, 28), 100.5, HOUR)
    assert t.dtype == np.float64
    assert np.all(np.diff(t) >= 0)
    assert t.min() >= 0 and t.max() < 100.5
    assert np.all(np.isin(np.floor(t).astype(int) % 24, np.nonzero(HOUR)[0]))


def test_total_count_is_poisson_over_many_seeds() -> None:
    start, horizon = date(2025, 6, 27), 47.5  # ends half-way through an hour
    lam = reference_intensity(2.0, start, math.ceil(horizon), HOUR, WEEKDAY)
    lam[-1] *= 0.5
    mu = lam.sum()
    counts = np.array(
        [
            len(nhpp_times(np.random.default_rng(seed), 2.0, start, horizon, HOUR, WEEKDAY))
            for seed in range(600)
        ]
    )
    n = len(counts)
    z = (counts.mean() - mu) / math.sqrt(mu / n)
    assert 2 * stats.norm.sf(abs(z)) > P_MIN
    # Dispersion test: sum (N - mean)^2 / mu ~ chi2(n - 1) if Var N = mu.
    dispersion = float(np.sum((counts - counts.mean()) ** 2) / mu)
    p_dispersion = 2 * min(stats.chi2.sf(dispersion, n - 1), stats.chi2.cdf(dispersion, n - 1))
    assert p_dispersion > P_MIN


def test_month_profile_is_respected() -> None:
    start = date(2025, 1, 1)
    month = [1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 3]
    n_hours = 365 * 24
    t = nhpp_times(np.random.default_rng(99), 0.5, start, float(n_hours), month_profile=month)
    months = np.array([(start + timedelta(hours=float(x))).month for x in t])
    observed = np.bincount(months - 1, minlength=12).astype(float)
    assert observed[2] == 0, "arrivals in a zero-weight month"
    lam = reference_intensity(0.5, start, n_hours, month=month)
    hour_months = np.array([(start + timedelta(hours=i)).month - 1 for i in range(0, n_hours, 24)])
    expected = np.bincount(hour_months, weights=lam.reshape(-1, 24).sum(axis=1), minlength=12)
    nonzero = expected > 0
    assert poisson_chi2_pvalue(observed[nonzero], expected[nonzero]) > P_MIN
    # December carries three times an ordinary month's rate.
    assert observed[11] > 2 * observed[10]


def test_month_boundaries_follow_the_real_calendar() -> None:
    # Only February is open; a leap year has 29 February days.
    month = [0.0] * 12
    month[1] = 1.0
    start = date(2024, 1, 1)
    t = nhpp_times(np.random.default_rng(5), 3.0, start, 24.0 * 366, month_profile=month)
    assert t.min() >= 31 * 24 and t.max() < 60 * 24
    assert t.max() > 59 * 24  # arrivals on 29 February as well


def test_mean_rate_is_long_run_average() -> None:
    t = nhpp_times(np.random.default_rng(11), 5.0, date(2025, 1, 6), 168.0 * 20, HOUR, WEEKDAY)
    mu = 5.0 * 168 * 20
    assert abs(len(t) - mu) < 4.5 * math.sqrt(mu)


def test_same_seed_same_times_different_seed_differs() -> None:
    args = (1.5, date(2025, 1, 1), 500.0, HOUR, WEEKDAY)
    a = nhpp_times(np.random.default_rng(42), *args)
    b = nhpp_times(np.random.default_rng(42), *args)
    c = nhpp_times(np.random.default_rng(43), *args)
    np.testing.assert_array_equal(a, b)
    assert len(a) != len(c) or not np.array_equal(a, c)


def test_degenerate_inputs_give_no_arrivals() -> None:
    rng = np.random.default_rng(0)
    assert nhpp_times(rng, 0.0, date(2025, 1, 1), 100.0).size == 0
    assert nhpp_times(rng, 5.0, date(2025, 1, 1), 0.0).size == 0
    # Horizon entirely inside zero-rate night hours.
    assert nhpp_times(rng, 5.0, date(2025, 1, 1), 6.5, HOUR).size == 0


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"hour_profile": [1.0] * 23}, r"hour_profile needs 24 values"),
        ({"weekday_profile": [1.0] * 5}, r"weekday_profile needs 7 values"),
        ({"month_profile": [1.0] * 13}, r"month_profile needs 12 values"),
        ({"hour_profile": [1.0] * 23 + [-1.0]}, r"negative values at positions \[23\]"),
        ({"weekday_profile": [0.0] * 7}, r"all zeros"),
        ({"month_profile": [1.0] * 11 + [math.nan]}, r"non-finite"),
    ],
)
def test_profile_validation(kwargs, pattern) -> None:
    with pytest.raises(ValueError, match=pattern):
        nhpp_times(np.random.default_rng(0), 1.0, date(2025, 1, 1), 10.0, **kwargs)


@pytest.mark.parametrize(("rate", "horizon"), [(-1.0, 10.0), (math.nan, 10.0), (1.0, math.inf)])
def test_rate_and_horizon_validation(rate, horizon) -> None:
    with pytest.raises(ValueError):
        nhpp_times(np.random.default_rng(0), rate, date(2025, 1, 1), horizon)


def test_burst_at_a_single_instant() -> None:
    t = burst_times(np.random.default_rng(0), 12.5, 40, 0.0)
    np.testing.assert_array_equal(t, np.full(40, 12.5))
    assert burst_times(np.random.default_rng(0), 3.0, 0, 2.0).size == 0


def test_burst_spread_is_uniform_and_sorted() -> None:
    t = burst_times(np.random.default_rng(8), 100.0, 2000, 24.0)
    assert len(t) == 2000 and np.all(np.diff(t) >= 0)
    assert t.min() >= 100.0 and t.max() < 124.0
    assert stats.kstest((t - 100.0) / 24.0, "uniform").pvalue > P_MIN


@pytest.mark.parametrize(
    ("at", "count", "over"), [(-1.0, 3, 0.0), (1.0, -2, 0.0), (1.0, 2.5, 0.0), (1.0, 3, -1.0)]
)
def test_burst_validation(at, count, over) -> None:
    with pytest.raises(ValueError):
        burst_times(np.random.default_rng(0), at, count, over)


@pytest.mark.parametrize("limit", [1, 7, 500, 5_000, 10**6])
def test_a_limit_keeps_exactly_the_first_arrivals(limit: int) -> None:
    """Drawing fewer points must not change which arrivals come first (a source's ``limit``)."""
    start = date(2025, 3, 5)
    full = nhpp_times(np.random.default_rng(21), 4.0, start, 168.0 * 8, HOUR, WEEKDAY)
    limited = nhpp_times(np.random.default_rng(21), 4.0, start, 168.0 * 8, HOUR, WEEKDAY,
                         limit=limit)
    assert 500 < len(full) < 10**6
    np.testing.assert_array_equal(limited, full[:limit])
