"""Distribution.remaining: X - a given X > a, the time left of an item that is ``a`` into it.

Each continuous family's draws are tested against the analytic conditional law,
P(X - a <= t | X > a) = 1 - S(a + t) / S(a), computed independently of revsim (scipy.stats or
a closed form, in log space where S is tiny), by a Kolmogorov-Smirnov test at ages 0, the
median, p90 and p99.9. Discrete distributions (empirical, choice) get a chi-square test on
their counts, for which KS p-values would be wrong (too conservative).

Significance: every test here uses ALPHA = 0.001 with a fixed seed. A correct implementation
fails one test with probability 0.001; the module makes about 40 such tests, so a correct
implementation fails a run with probability at most 4 % (Bonferroni), once per choice of
seeds, after which the seeds are fixed and the result reproducible. N = 4000 draws give the
KS test power against errors of about 3 % in the CDF (its critical distance at 0.001 is
1.95 / sqrt(N) = 0.031); the power checks below show it rejects the unconditioned law.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special, stats

from revsim.distributions import (
    Deterministic,
    DiscreteChoice,
    Empirical,
    Exponential,
    Gamma,
    Lognormal,
    Mixture,
    ScipyDist,
    Triangular,
    Uniform,
    Weibull,
)
from revsim.distributions.base import beyond_support
from revsim.distributions.conditional import scaled_remaining

ALPHA = 1e-3
N = 4000
AGES_Q = (0.0, 0.5, 0.9, 0.999)  # ages tested: these quantiles of the distribution

LOGNORMAL = Lognormal.from_median_p90(20.0, 60.0)
GAMMA = Gamma(2.5, 8.0)
WEIBULL = Weibull(1.7, 30.0)
EXPONENTIAL = Exponential(12.0)
MIXTURE = Mixture([Exponential(2.0), LOGNORMAL, GAMMA], [0.5, 0.3, 0.2])


def ref_logsf(name: str):
    """log S(x) of each family, from scipy.stats (not from revsim)."""
    refs = {
        "exponential": stats.expon(scale=12.0).logsf,
        "lognormal": stats.lognorm(s=LOGNORMAL.sigma, scale=math.exp(LOGNORMAL.mu)).logsf,
        "gamma": stats.gamma(2.5, scale=8.0).logsf,
        "weibull": stats.weibull_min(1.7, scale=30.0).logsf,
    }
    if name == "mixture":
        parts = [(0.5, stats.expon(scale=2.0)),
                 (0.3, stats.lognorm(s=LOGNORMAL.sigma, scale=math.exp(LOGNORMAL.mu))),
                 (0.2, stats.gamma(2.5, scale=8.0))]
        return lambda x: np.log(sum(w * d.sf(x) for w, d in parts))
    return refs[name]


CONTINUOUS = {
    "exponential": EXPONENTIAL,
    "lognormal": LOGNORMAL,
    "gamma": GAMMA,
    "weibull": WEIBULL,
    "mixture": MIXTURE,
}


def conditional_cdf(logsf, age: float):
    """t -> P(X - age <= t | X > age)."""
    return lambda t: -np.expm1(logsf(age + np.asarray(t)) - logsf(age))


def draws(dist, age: float, seed: int, n: int = N) -> np.ndarray:
    u = np.random.default_rng(seed).random(n)
    return dist.remaining(np.full(n, age), u)


@pytest.mark.parametrize("q", AGES_Q)
@pytest.mark.parametrize("name", sorted(CONTINUOUS))
def test_remaining_follows_the_conditional_survival(name: str, q: float) -> None:
    dist = CONTINUOUS[name]
    age = float(dist.ppf(q))
    rem = draws(dist, age, seed=int(1000 * q) + len(name))
    assert np.isfinite(rem).all() and (rem >= 0).all()
    res = stats.kstest(rem, conditional_cdf(ref_logsf(name), age))
    assert res.pvalue > ALPHA, (name, age, res)


@pytest.mark.parametrize("name", ["lognormal", "gamma", "weibull", "mixture"])
def test_the_test_rejects_the_unconditioned_law(name: str) -> None:
    """Power: at p90, drawing from the distribution as if the item were new is caught."""
    dist = CONTINUOUS[name]
    age = float(dist.ppf(0.9))
    rem = draws(dist, 0.0, seed=7)
    assert stats.kstest(rem, conditional_cdf(ref_logsf(name), age)).pvalue < ALPHA


def test_exponential_is_memoryless() -> None:
    u = np.random.default_rng(3).random(50)
    for age in (0.0, 5.0, 1e6):
        np.testing.assert_array_equal(EXPONENTIAL.remaining(age, u), EXPONENTIAL.ppf(u))


@pytest.mark.parametrize("dist", [EXPONENTIAL, LOGNORMAL, GAMMA, WEIBULL, Uniform(1.0, 4.0),
                                  Triangular(1.0, 2.0, 6.0), ScipyDist("gamma", a=2.5, scale=8.0)],
                         ids=repr)
def test_at_age_zero_it_is_the_quantile_function(dist) -> None:
    u = np.linspace(0.0, 0.999, 37)
    np.testing.assert_allclose(dist.remaining(0.0, u), dist.ppf(u), rtol=1e-9, atol=1e-12)


# -- far in the tail ---------------------------------------------------------------------------
def tail_cases():
    """(dist, age, log S(age + t) reference) with S(age) from 1e-12 to far below 1e-308."""
    mu, sigma = LOGNORMAL.mu, LOGNORMAL.sigma

    def lognormal_logsf(x):
        return special.log_ndtr(-(np.log(x) - mu) / sigma)

    def weibull_logsf(x):
        return -(np.asarray(x) / 30.0) ** 1.7

    def erlang_logsf(x):  # Gamma(2, theta): S(x) = (1 + x / theta) exp(-x / theta), exactly
        y = np.asarray(x) / 8.0
        return np.log1p(y) - y

    for log_s in (-12 * math.log(10), -300 * math.log(10), -5000.0):
        z = -special.ndtri_exp(log_s)
        yield "lognormal", LOGNORMAL, float(math.exp(mu + sigma * z)), lognormal_logsf
        yield "weibull", WEIBULL, 30.0 * (-log_s) ** (1 / 1.7), weibull_logsf
    for age in (250.0, 8000.0, 40000.0):  # S = 4e-13, about 1e-430 and 1e-2170
        yield "erlang", Gamma(2.0, 8.0), age, erlang_logsf


@pytest.mark.parametrize("name, dist, age, logsf", list(tail_cases()),
                         ids=lambda v: v if isinstance(v, str) else None)
def test_remaining_far_in_the_tail(name, dist, age, logsf) -> None:
    rem = draws(dist, age, seed=11)
    assert np.isfinite(rem).all() and (rem > 0).all(), (name, age)
    assert len(np.unique(rem)) > N // 2  # not collapsed onto a few float steps
    assert not beyond_support(dist, age)
    res = stats.kstest(rem, conditional_cdf(logsf, age))
    assert res.pvalue > ALPHA, (name, age, res)


def test_scipy_tail_beyond_underflow_matches_the_closed_form() -> None:
    """Past the point where scipy's sf underflows, ScipyDist takes Newton steps on logsf."""
    twin = ScipyDist("weibull_min", c=1.7, scale=30.0)
    u = np.random.default_rng(5).random(200)
    for age in (30.0 * 1000 ** (1 / 1.7), 30.0 * 3000 ** (1 / 1.7)):  # S = e^-1000, e^-3000
        np.testing.assert_allclose(twin.remaining(age, u), WEIBULL.remaining(age, u), rtol=1e-7)


def test_mixture_tail_follows_the_heaviest_component() -> None:
    """Far out only the lognormal component survives; its posterior weight is ~1."""
    age = float(LOGNORMAL.ppf(1 - 1e-12))
    u = np.random.default_rng(9).random(300)
    np.testing.assert_allclose(MIXTURE.remaining(age, u), LOGNORMAL.remaining(age, u),
                               rtol=1e-6)


# -- bounded and discrete ----------------------------------------------------------------------
@pytest.mark.parametrize("dist, age", [
    (Uniform(1.0, 4.0), 0.5), (Uniform(1.0, 4.0), 2.5),
    (Triangular(1.0, 2.0, 6.0), 1.5), (Triangular(1.0, 2.0, 6.0), 4.0),
    (Triangular(0.0, 0.0, 5.0), 4.99), (Triangular(0.0, 5.0, 5.0), 4.0),
], ids=repr)
def test_bounded_families_follow_the_conditional_survival(dist, age) -> None:
    rem = draws(dist, age, seed=13)
    ref = {Uniform: lambda d: stats.uniform(d.low, d.high - d.low),
           Triangular: lambda d: stats.triang((d.mode - d.low) / (d.high - d.low), d.low,
                                              d.high - d.low)}[type(dist)](dist)
    res = stats.kstest(rem, lambda t: 1 - ref.sf(age + np.asarray(t)) / ref.sf(age))
    assert res.pvalue > ALPHA, res


def chi_square_pvalue(picked: np.ndarray, values: np.ndarray, probs: np.ndarray) -> float:
    counts = np.array([(picked == v).sum() for v in values])
    assert counts.sum() == len(picked)  # nothing outside the expected support
    return float(stats.chisquare(counts, probs * len(picked)).pvalue)


@pytest.mark.parametrize("age", [0.0, 2.0, 2.5, 6.9])
def test_empirical_resamples_the_values_above_the_age(age: float) -> None:
    values = np.array([1.0, 2.0, 2.0, 3.0, 5.0, 5.0, 5.0, 7.0, 8.0, 13.0])
    dist = Empirical(values)
    x = age + draws(dist, age, seed=17)
    above = values[values > age]
    support, counts = np.unique(above, return_counts=True)
    assert chi_square_pvalue(x, support, counts / counts.sum()) > ALPHA


def test_choice_renormalises_above_the_age_and_skips_impossible_values() -> None:
    dist = DiscreteChoice([1.0, 4.0, 6.0, 9.0], [0.2, 0.5, 0.0, 0.3])
    x = 3.0 + draws(dist, 3.0, seed=19)
    assert chi_square_pvalue(x, np.array([4.0, 9.0]), np.array([0.5, 0.3]) / 0.8) > ALPHA


@pytest.mark.parametrize("dist, age", [
    (Deterministic(5.0), 5.0), (Deterministic(5.0), 7.0), (Uniform(1.0, 4.0), 4.0),
    (Triangular(1.0, 2.0, 6.0), 6.5), (Empirical([1.0, 3.0]), 3.0),
    (DiscreteChoice([1.0, 4.0, 9.0], [0.5, 0.5, 0.0]), 4.0),
    (ScipyDist("beta", a=2.0, b=3.0, scale=10.0), 10.0),
    (Mixture([Uniform(0.0, 2.0), Deterministic(3.0)], [0.5, 0.5]), 3.0),
], ids=repr)
def test_beyond_the_support_nothing_remains_and_it_is_detectable(dist, age) -> None:
    assert beyond_support(dist, age)
    np.testing.assert_array_equal(dist.remaining(age, [0.0, 0.5, 0.999]), 0.0)


def test_deterministic_remaining_is_what_is_left() -> None:
    np.testing.assert_array_equal(Deterministic(5.0).remaining([0.0, 2.0, 4.5], 0.3),
                                  [5.0, 3.0, 0.5])
    assert not beyond_support(Deterministic(5.0), 4.5).any()


def test_shapes_broadcast_and_bad_uniforms_give_nan() -> None:
    out = GAMMA.remaining(np.array([[1.0], [50.0]]), np.array([0.1, 0.5, 0.9]))
    assert out.shape == (2, 3) and out.dtype == np.float64
    for dist in (EXPONENTIAL, LOGNORMAL, GAMMA, WEIBULL, MIXTURE, Uniform(0.0, 1.0),
                 Empirical([1.0, 2.0]), Deterministic(1.0), ScipyDist("gamma", a=2.0)):
        got = dist.remaining(0.5, [-0.1, 0.5, 1.5])
        assert np.isnan(got[[0, 2]]).all() and np.isfinite(got[1]), dist


def test_scaled_remaining_is_the_remaining_of_the_scaled_draw() -> None:
    """Work drawn as work_scale * X (Streams.draws): what remains of it after ``age`` hours."""
    scale, age = 0.6, 25.0
    u = np.random.default_rng(23).random(N)
    rem = scaled_remaining(GAMMA, np.full(N, age), u, scale)
    ref = stats.gamma(2.5, scale=8.0 * scale)
    res = stats.kstest(rem, lambda t: -np.expm1(ref.logsf(age + np.asarray(t)) - ref.logsf(age)))
    assert res.pvalue > ALPHA, res
    np.testing.assert_array_equal(scaled_remaining(GAMMA, age, u[:5], 0.0), 0.0)
    with pytest.raises(ValueError, match="scale"):
        scaled_remaining(GAMMA, age, u[:5], -1.0)


def test_nan_ages_give_nan() -> None:
    for dist in (EXPONENTIAL, LOGNORMAL, GAMMA, WEIBULL, MIXTURE, Uniform(0.0, 1.0),
                 Triangular(0.0, 1.0, 2.0), Empirical([1.0, 2.0]), Deterministic(1.0),
                 DiscreteChoice([1.0, 2.0], [0.5, 0.5]), ScipyDist("gamma", a=2.0)):
        got = dist.remaining([np.nan, 0.5], 0.5)
        assert np.isnan(got[0]) and np.isfinite(got[1]), dist
