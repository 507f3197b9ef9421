"""Tests for revsim.distributions: moments, quantiles, validation and spec parsing."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from revsim.distributions import (
    DIST_NAMES,
    SPEC_JSON_SCHEMA,
    Deterministic,
    DiscreteChoice,
    Distribution,
    Empirical,
    Exponential,
    Gamma,
    LabelChoice,
    Lognormal,
    Mixture,
    ParamError,
    ScipyDist,
    SpecError,
    Triangular,
    Uniform,
    Weibull,
    formatter_for,
    from_spec,
    hyperexponential,
    to_spec,
)
from revsim.units import format_duration

N = 200_000
Z = 5.0  # tolerance in standard errors

CONTINUOUS = {
    "exponential": Exponential(2.0),
    "lognormal_mu_sigma": Lognormal(0.1, 0.4),
    "lognormal_median_p90": Lognormal.from_median_p90(1.0, 2.0),
    "lognormal_mean_sd": Lognormal.from_mean_sd(3.0, 1.0),
    "lognormal_median_sigma": Lognormal.from_median_sigma(2.0, 0.3),
    "gamma": Gamma(2.5, 1.5),
    "gamma_mean_sd": Gamma.from_mean_sd(4.0, 2.0),
    "gamma_small_shape": Gamma(0.5, 2.0),
    "weibull": Weibull(1.7, 3.0),
    "triangular": Triangular(1.0, 2.0, 6.0),
    "triangular_mode_at_low": Triangular(0.0, 0.0, 1.0),
    "triangular_mode_at_high": Triangular(0.0, 1.0, 1.0),
    "uniform": Uniform(2.0, 5.0),
    "hyperexponential": hyperexponential([0.3, 0.7], [0.5, 4.0]),
    "mixture_continuous": Mixture([Gamma(2, 1), Uniform(10, 12)], [0.6, 0.4]),
    "scipy_gamma": ScipyDist("gamma", a=2.0, scale=3.0),
    "scipy_lognorm": ScipyDist("lognorm", s=0.5, scale=2.0),
    "scipy_truncnorm": ScipyDist("truncnorm", a=0.0, b=3.0, loc=1.0, scale=2.0),
}
DISCRETE = {
    "deterministic": Deterministic(3.0),
    "empirical": Empirical([1.0, 2.0, 2.0, 5.0, 9.5, 0.5]),
    "choice": DiscreteChoice([1.0, 4.0, 10.0, 4.0], [0.2, 0.3, 0.1, 0.4]),
    "choice_with_zero_p": DiscreteChoice([1.0, 2.0, 3.0], [0.5, 0.0, 0.5]),
    "mixture_discrete": Mixture([Deterministic(0.0), Deterministic(10.0)], [0.3, 0.7]),
    "mixture_mixed": Mixture([Deterministic(0.0), Exponential(1.0)], [0.25, 0.75]),
}
ALL = {**CONTINUOUS, **DISCRETE}


def _ids(d: dict) -> list[str]:
    return list(d)


# -- moments -------------------------------------------------------------------------------------


@pytest.mark.parametrize("dist", ALL.values(), ids=_ids(ALL))
def test_sample_moments_match_declared_moments(dist: Distribution) -> None:
    x = dist.sample(np.random.default_rng(12345), N)
    assert x.dtype == np.float64 and x.shape == (N,)
    if dist.var == 0:
        assert np.all(x == dist.mean)
        return
    se_mean = math.sqrt(dist.var / N)
    assert abs(x.mean() - dist.mean) <= Z * se_mean
    # SE of the sample variance: sqrt((m4 - s^4) / n), from the sample's own central moments.
    dev2 = (x - x.mean()) ** 2
    se_var = math.sqrt((np.mean(dev2**2) - np.mean(dev2) ** 2) / N)
    assert abs(x.var() - dist.var) <= Z * se_var


@pytest.mark.parametrize("dist", ALL.values(), ids=_ids(ALL))
def test_protocol_and_sample_sizes(dist: Distribution) -> None:
    assert isinstance(dist, Distribution)
    rng = np.random.default_rng(0)
    assert dist.sample(rng, 0).shape == (0,)
    assert dist.sample(rng, 1024).shape == (1024,)
    with pytest.raises(ValueError):
        dist.sample(rng, -1)
    assert isinstance(dist.describe(), str) and dist.describe()


@pytest.mark.parametrize("dist", ALL.values(), ids=_ids(ALL))
def test_same_seed_reproduces_samples(dist: Distribution) -> None:
    a = dist.sample(np.random.default_rng(7), 500)
    b = dist.sample(np.random.default_rng(7), 500)
    np.testing.assert_array_equal(a, b)
    if dist.var > 0:
        c = dist.sample(np.random.default_rng(8), 500)
        assert not np.array_equal(a, c)


# -- ppf / cdf / sf ------------------------------------------------------------------------------

Q = np.linspace(0.001, 0.999, 199)


@pytest.mark.parametrize("dist", CONTINUOUS.values(), ids=_ids(CONTINUOUS))
def test_continuous_ppf_inverts_cdf(dist: Distribution) -> None:
    x = np.asarray(dist.ppf(Q))
    assert np.all(np.diff(x) >= 0)
    np.testing.assert_allclose(dist.cdf(x), Q, atol=1e-9)
    np.testing.assert_allclose(dist.sf(x), 1 - Q, atol=1e-9)


@pytest.mark.parametrize("dist", DISCRETE.values(), ids=_ids(DISCRETE))
def test_discrete_ppf_is_generalised_inverse(dist: Distribution) -> None:
    x = np.asarray(dist.ppf(Q))
    assert np.all(np.diff(x) >= 0)
    assert np.all(np.asarray(dist.cdf(x)) >= Q - 1e-12)
    below = x - 1e-9 * np.maximum(1.0, np.abs(x))
    assert np.all(np.asarray(dist.cdf(below)) < Q)


@pytest.mark.parametrize("dist", ALL.values(), ids=_ids(ALL))
def test_cdf_sf_complement_and_ppf_domain(dist: Distribution) -> None:
    grid = np.linspace(float(dist.ppf(0.0)) - 1, float(dist.ppf(0.999)) + 1, 301)
    np.testing.assert_allclose(np.asarray(dist.cdf(grid)) + np.asarray(dist.sf(grid)), 1.0)
    assert float(dist.cdf(grid[0])) == 0.0
    assert np.isnan(dist.ppf(-0.1)) and np.isnan(dist.ppf(1.1))
    assert np.ndim(dist.ppf(0.5)) == 0 and np.ndim(dist.cdf(1.0)) == 0
    assert np.asarray(dist.ppf([[0.1, 0.5]])).shape == (1, 2)


SCIPY_TWINS = [
    (Exponential(2.0), stats.expon(scale=2.0)),
    (Lognormal(0.3, 0.7), stats.lognorm(s=0.7, scale=math.exp(0.3))),
    (Gamma(2.5, 1.5), stats.gamma(a=2.5, scale=1.5)),
    (Gamma(0.4, 3.0), stats.gamma(a=0.4, scale=3.0)),
    (Weibull(1.7, 3.0), stats.weibull_min(c=1.7, scale=3.0)),
    (Weibull(0.6, 1.0), stats.weibull_min(c=0.6, scale=1.0)),
    (Triangular(1.0, 2.0, 6.0), stats.triang(c=0.2, loc=1.0, scale=5.0)),
    (Uniform(2.0, 5.0), stats.uniform(loc=2.0, scale=3.0)),
]


@pytest.mark.parametrize(("dist", "twin"), SCIPY_TWINS, ids=lambda d: type(d).__name__)
def test_closed_forms_agree_with_scipy(dist: Distribution, twin: stats.rv_continuous) -> None:
    x = twin.ppf(Q)
    np.testing.assert_allclose(dist.ppf(Q), x, rtol=1e-9)
    np.testing.assert_allclose(dist.cdf(x), twin.cdf(x), atol=1e-12)
    np.testing.assert_allclose(dist.sf(x), twin.sf(x), atol=1e-12)
    m, v = twin.stats("mv")
    assert dist.mean == pytest.approx(float(m), rel=1e-12)
    assert dist.var == pytest.approx(float(v), rel=1e-9)


# -- parametrisations ----------------------------------------------------------------------------


@given(
    median=st.floats(1e-3, 1e4),
    ratio=st.floats(1.001, 100.0),
)
def test_lognormal_median_p90_are_exact_quantiles(median: float, ratio: float) -> None:
    p90 = median * ratio
    d = Lognormal.from_median_p90(median, p90)
    assert float(d.ppf(0.5)) == pytest.approx(median, rel=1e-12)
    assert float(d.ppf(0.9)) == pytest.approx(p90, rel=1e-12)
    assert d.median == pytest.approx(median, rel=1e-12)


@given(mean=st.floats(1e-3, 1e4), cv=st.floats(0.01, 3.0))
def test_mean_sd_parametrisations_recover_moments(mean: float, cv: float) -> None:
    sd = mean * cv
    for d in (Lognormal.from_mean_sd(mean, sd), Gamma.from_mean_sd(mean, sd)):
        assert d.mean == pytest.approx(mean, rel=1e-9)
        assert math.sqrt(d.var) == pytest.approx(sd, rel=1e-9)


def test_describe_uses_the_formatter_and_the_given_parameters() -> None:
    d = Lognormal.from_median_p90(20 / 60, 45 / 60)
    assert d.describe(format_duration) == "lognormal(median 20 min, p90 45 min)"
    assert Exponential(0.5).describe(format_duration) == "exponential(mean 30 min)"
    assert Gamma(2, 3).describe() == "gamma(shape 2, scale 3)"
    mix = hyperexponential([0.3, 0.7], [1.0, 4.0])
    assert mix.describe(format_duration) == (
        "mixture(30% exponential(mean 1 h), 70% exponential(mean 4 h))"
    )


# -- composite distributions ---------------------------------------------------------------------


def test_mixture_moments_follow_law_of_total_variance() -> None:
    m = Mixture([Deterministic(0.0), Deterministic(10.0)], [0.3, 0.7])
    assert m.mean == pytest.approx(7.0)
    assert m.var == pytest.approx(0.3 * 0.7 * 100)
    h = hyperexponential([0.2, 0.8], [1.0, 5.0])
    mean = 0.2 * 1 + 0.8 * 5
    assert h.mean == pytest.approx(mean)
    assert h.var == pytest.approx(0.2 * 2 * 1 + 0.8 * 2 * 25 - mean**2)


def test_mixture_cdf_sf_are_weighted_sums_and_ppf_hits_jumps() -> None:
    a, b = Exponential(1.0), Uniform(2.0, 4.0)
    m = Mixture([a, b], [0.4, 0.6])
    x = np.linspace(-1, 6, 50)
    np.testing.assert_allclose(m.cdf(x), 0.4 * a.cdf(x) + 0.6 * b.cdf(x))
    np.testing.assert_allclose(m.sf(x), 0.4 * a.sf(x) + 0.6 * b.sf(x))
    d = Mixture([Deterministic(0.0), Deterministic(10.0)], [0.3, 0.7])
    assert float(d.ppf(0.3)) == 0.0 and float(d.ppf(0.31)) == 10.0
    assert float(d.ppf(0.0)) == 0.0 and float(d.ppf(1.0)) == 10.0
    assert float(m.ppf(1.0)) == math.inf


def test_empirical_moments_quantiles_and_resampling() -> None:
    values = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0]
    e = Empirical(values)
    assert e.mean == pytest.approx(np.mean(values))
    assert e.var == pytest.approx(np.var(values))  # population variance, ddof=0
    assert float(e.ppf(0.0)) == 1.0 and float(e.ppf(1.0)) == 9.0
    assert float(e.ppf(0.25)) == 1.0 and float(e.ppf(0.26)) == 2.0
    assert float(e.cdf(1.0)) == 0.25 and float(e.cdf(0.999)) == 0.0
    x = e.sample(np.random.default_rng(1), 10_000)
    assert set(np.unique(x)) == set(values)


def test_choice_merges_duplicates_and_never_draws_zero_probability() -> None:
    d = DiscreteChoice([1.0, 4.0, 4.0, 7.0], [0.25, 0.25, 0.25, 0.25])
    assert float(d.cdf(4.0)) == pytest.approx(0.75)
    x = DiscreteChoice([1.0, 2.0, 3.0], [0.5, 0.0, 0.5]).sample(np.random.default_rng(2), 10_000)
    assert 2.0 not in x


def test_label_choice() -> None:
    lc = LabelChoice(["won", "lost", "stalled"], [0.2, 0.5, 0.3])
    assert lc.labels == ("won", "lost", "stalled")
    idx = lc.sample_index(np.random.default_rng(3), 100_000)
    freq = np.bincount(idx, minlength=3) / len(idx)
    se = np.sqrt(lc.probabilities * (1 - lc.probabilities) / len(idx))
    assert np.all(np.abs(freq - lc.probabilities) <= Z * se)
    np.testing.assert_array_equal(idx, lc.sample_index(np.random.default_rng(3), 100_000))
    assert lc.describe() == "choice(won 20%, lost 50%, stalled 30%)"


def test_scipy_dist_moments_from_stats_and_infinite_mean() -> None:
    d = ScipyDist("gamma", a=2.0, scale=3.0)
    assert d.mean == pytest.approx(6.0) and d.var == pytest.approx(18.0)
    heavy = ScipyDist("pareto", b=0.8)
    assert heavy.mean == math.inf and heavy.var == math.inf


# -- constructor validation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Exponential(-1), "mean must be > 0, got -1"),
        (lambda: Exponential(math.nan), "mean must be finite"),
        (lambda: Exponential("2"), "mean must be a number"),
        (lambda: Lognormal(0, 0), "sigma must be > 0"),
        (lambda: Lognormal.from_median_p90(45, 30), "p90 (30) must be greater than median (45)"),
        (lambda: Lognormal.from_mean_sd(1, -2), "sd must be > 0"),
        (lambda: Gamma.from_mean_sd(1, 0), "sd must be > 0"),
        (lambda: Gamma(0, 1), "shape must be > 0"),
        (lambda: Weibull(1, -1), "scale must be > 0"),
        (lambda: Triangular(2, 1, 3), "mode (1) must lie between low (2) and high (3)"),
        (lambda: Triangular(2, 2, 2), "high (2) must be greater than low (2)"),
        (lambda: Uniform(5, 1), "high (1) must be greater than low (5)"),
        (lambda: Empirical([]), "values must not be empty"),
        (lambda: Empirical([1, math.inf]), "values[1] must be finite"),
        (lambda: DiscreteChoice([1, 2], [0.5, 0.4]), "probabilities must sum to 1, got 0.9"),
        (lambda: DiscreteChoice([1, 2], [1.0]), "probabilities has 1 entries but there are 2"),
        (lambda: DiscreteChoice([1, 2], [1.5, -0.5]), "probabilities must be >= 0"),
        (lambda: LabelChoice(["a", "a"], [0.5, 0.5]), "labels must be distinct; repeated: a"),
        (lambda: LabelChoice([], []), "labels must not be empty"),
        (lambda: Mixture([], []), "components must not be empty"),
        (lambda: Mixture([Exponential(1), 3.0], [0.5, 0.5]), "components[1] is not a dist"),
        (lambda: Mixture([Exponential(1)], [0.9]), "weights must sum to 1"),
        (lambda: hyperexponential([0.5, 0.5], [1, 0]), "means[1] must be > 0"),
        (lambda: ScipyDist("gama", a=2), "did you mean 'gamma'"),
        (lambda: ScipyDist("gamma", a=2, shape=3), "gamma takes a, loc, scale; got unknown"),
        (lambda: ScipyDist("gamma"), "gamma needs shape parameter a"),
        (lambda: ScipyDist("gamma", a=-1), "scipy rejects these parameters for gamma: a=-1"),
        (lambda: ScipyDist("gamma", a=1, scale=0), "scale must be > 0"),
        (lambda: ScipyDist("norm"), "norm is unbounded below"),
        (lambda: ScipyDist("poisson", mu=2), "poisson is a discrete scipy distribution"),
    ],
)
def test_constructor_errors_name_the_parameter(make, message: str) -> None:
    with pytest.raises(ValueError) as err:
        make()
    assert isinstance(err.value, ParamError)
    assert message in str(err.value)


def test_constructor_reports_every_bad_parameter() -> None:
    with pytest.raises(ParamError) as err:
        Lognormal.from_mean_sd(-1, 0)
    assert [i.param for i in err.value.issues] == ["mean", "sd"]


# -- spec parsing --------------------------------------------------------------------------------


def _parse(spec, kind="duration"):
    return from_spec(spec, kind=kind, field="stages.demo.work")


@pytest.mark.parametrize(
    ("spec", "kind", "expected"),
    [
        ("20 min", "duration", Deterministic(1 / 3)),
        (5, "number", Deterministic(5)),
        ("$12k", "money", Deterministic(12_000)),
        ({"dist": "fixed", "value": "2 d"}, "duration", Deterministic(48)),
        ({"dist": "exponential", "mean": "30 min"}, "duration", Exponential(0.5)),
        ({"dist": "exponential", "rate": 4}, "number", Exponential(0.25)),
        ({"dist": "exponential", "mean": 2, "unit": "d"}, "duration", Exponential(48)),
        (
            {"dist": "lognormal", "median": "20 min", "p90": "45 min"},
            "duration",
            Lognormal.from_median_p90(1 / 3, 0.75),
        ),
        (
            {"dist": "lognormal", "mean": "$10k", "sd": "5k"},
            "money",
            Lognormal.from_mean_sd(1e4, 5e3),
        ),
        ({"dist": "lognormal", "mu": 1, "sigma": 0.5}, "number", Lognormal(1, 0.5)),
        ({"dist": "lognormal", "median": "1 h", "sigma": 0.5}, "duration", Lognormal(0, 0.5)),
        ({"dist": "gamma", "shape": 2, "scale": "3 h"}, "duration", Gamma(2, 3)),
        ({"dist": "gamma", "mean": 4, "sd": 2}, "number", Gamma.from_mean_sd(4, 2)),
        ({"dist": "weibull", "shape": 1.5, "scale": "1 w"}, "duration", Weibull(1.5, 168)),
        ({"dist": "triangular", "low": -1, "mode": 0, "high": 4}, "number", Triangular(-1, 0, 4)),
        ({"dist": "uniform", "low": "1 h", "high": "3 h"}, "duration", Uniform(1, 3)),
        ({"dist": "empirical", "values": [1, 2, 6], "unit": "h"}, "duration", Empirical([1, 2, 6])),
        (
            {"dist": "choice", "values": ["1 h", "1 d"], "p": [0.25, 0.75]},
            "duration",
            DiscreteChoice([1, 24], [0.25, 0.75]),
        ),
        (
            {
                "dist": "mixture",
                "unit": "h",
                "components": [{"dist": "exponential", "mean": 1}, "1 d"],
                "weights": [0.5, 0.5],
            },
            "duration",
            Mixture([Exponential(1), Deterministic(24)], [0.5, 0.5]),
        ),
        (
            {"dist": "scipy", "name": "gamma", "a": 2, "scale": "30 min"},
            "duration",
            Gamma(2, 0.5),
        ),
        ({"dist": "scipy", "name": "gamma", "a": 2, "unit": "d"}, "duration", Gamma(2, 24)),
    ],
)
def test_from_spec_builds_the_right_distribution(spec, kind, expected: Distribution) -> None:
    d = _parse(spec, kind)
    assert d.mean == pytest.approx(expected.mean, rel=1e-12)
    assert d.var == pytest.approx(expected.var, rel=1e-12)
    np.testing.assert_allclose(d.ppf(Q), expected.ppf(Q), rtol=1e-9)


@pytest.mark.parametrize(
    ("spec", "kind", "path", "message"),
    [
        (20, "duration", "stages.demo.work", 'give a unit, e.g. "30 min", or add unit = "h"'),
        (
            {"dist": "exponential", "mean": 30},
            "duration",
            "stages.demo.work.mean",
            'mean = 30 has no unit; give a unit, e.g. "30 min", or add unit = "h"',
        ),
        (
            {"dist": "lognormal", "median": "45 min", "p90": "30 min"},
            "duration",
            "stages.demo.work.p90",
            "p90 (30 min) must be greater than median (45 min)",
        ),
        (
            {"dist": "lognormal", "median": "20 min", "p95": "45 min"},
            "duration",
            "stages.demo.work",
            "lognormal takes mean+sd, median+p90, median+sigma or mu+sigma; got median, p95",
        ),
        (
            {"dist": "lognormal", "median": "20 min", "p95": "45 min"},
            "duration",
            "stages.demo.work",
            "did you mean 'p90'",
        ),
        (
            {"dist": "lognormall", "median": 1},
            "number",
            "stages.demo.work.dist",
            "unknown distribution 'lognormall'; did you mean 'lognormal'?",
        ),
        ({"mean": 1}, "number", "stages.demo.work", "missing dist"),
        ([1, 2], "number", "stages.demo.work", "expected a value or a table"),
        ({"dist": "gamma", "mean": 1, "sd": -1}, "number", "stages.demo.work.sd", "sd must be > 0"),
        ({"dist": "gamma", "shape": "2", "scale": 1}, "number", "stages.demo.work.shape", "plain"),
        ({"dist": "gamma", "shape": True, "scale": 1}, "number", "stages.demo.work.shape", "plain"),
        ({"dist": "uniform", "low": "1 h", "high": 3}, "number", "stages.demo.work.low", "number"),
        (
            {"dist": "uniform", "low": "-1 h", "high": "3 h"},
            "duration",
            "stages.demo.work.low",
            "negative",
        ),
        (
            {"dist": "exponential", "mean": "3 dys"},
            "duration",
            "stages.demo.work.mean",
            "did you mean",
        ),
        (
            {"dist": "exponential", "mean": "12q"},
            "money",
            "stages.demo.work.mean",
            "unknown suffix",
        ),
        (
            {"dist": "exponential", "mean": 1, "unit": "hrz"},
            "duration",
            "stages.demo.work.unit",
            "did you mean",
        ),
        (
            {"dist": "exponential", "mean": 1, "unit": "h"},
            "number",
            "stages.demo.work.unit",
            "only applies",
        ),
        (
            {"dist": "exponential", "rate": 2},
            "duration",
            "stages.demo.work",
            "rate is only accepted",
        ),
        ({"dist": "exponential", "rate": 0}, "number", "stages.demo.work.rate", "rate must be > 0"),
        (
            {"dist": "choice", "values": [1, 2], "p": [0.5, 0.6]},
            "number",
            "stages.demo.work.p",
            "p must sum to 1",
        ),
        (
            {"dist": "choice", "values": 3, "p": [1]},
            "number",
            "stages.demo.work.values",
            "must be a list",
        ),
        (
            {"dist": "empirical", "values": ["1 h", "x"]},
            "duration",
            "stages.demo.work.values[1]",
            "could not read",
        ),
        (
            {"dist": "mixture", "components": [], "weights": []},
            "number",
            "stages.demo.work.components",
            "empty",
        ),
        (
            {"dist": "mixture", "components": [1, 2], "weights": [0.5, 0.6]},
            "number",
            "stages.demo.work.weights",
            "weights must sum to 1",
        ),
        (
            {"dist": "mixture", "components": [1, {"dist": "gamma"}], "weights": [0.5, 0.5]},
            "number",
            "stages.demo.work.components[1]",
            "gamma takes shape+scale or mean+sd; got nothing",
        ),
        (
            {"dist": "scipy", "name": "norm", "loc": "1 h", "scale": "1 h"},
            "duration",
            "stages.demo.work.name",
            "norm is unbounded below",
        ),
        (
            {"dist": "scipy", "name": "truncnorm", "a": -1, "b": 1, "unit": "h"},
            "duration",
            "stages.demo.work",
            "durations can't be negative",
        ),
        ({"dist": "scipy", "a": 2}, "number", "stages.demo.work", "scipy needs name"),
        ({"dist": "scipy", "name": "gama", "a": 2}, "number", "stages.demo.work.name", "'gamma'"),
        (
            {"dist": "scipy", "name": "gamma", "b": 2},
            "number",
            "stages.demo.work.b",
            "a, loc, scale",
        ),
        (
            {"dist": "scipy", "name": "gamma", "a": 2},
            "duration",
            "stages.demo.work",
            "scale with a unit",
        ),
    ],
)
def test_spec_errors_name_the_field(spec, kind, path: str, message: str) -> None:
    with pytest.raises(SpecError) as err:
        _parse(spec, kind)
    assert isinstance(err.value, ValueError)
    matches = [m for p, m in err.value.problems if p == path and message in m]
    assert matches, err.value.problems
    assert f"{path}: " in str(err.value)


def test_all_problems_are_reported_at_once() -> None:
    spec = {"dist": "lognormal", "median": "20 mn", "p90": 45}
    with pytest.raises(SpecError) as err:
        _parse(spec)
    assert [p for p, _ in err.value.problems] == ["stages.demo.work.median", "stages.demo.work.p90"]
    assert len(str(err.value).splitlines()) == 2


def test_nested_mixture_problems_are_all_reported() -> None:
    spec = {
        "dist": "mixture",
        "components": [
            {"dist": "exponential", "mean": "-1 h"},
            {"dist": "uniform", "low": "3 h", "high": "1 h"},
            {"dist": "mixture", "components": ["2 x"], "weights": [1.0]},
        ],
        "weights": [0.5, 0.3, 0.3],
    }
    with pytest.raises(SpecError) as err:
        _parse(spec)
    paths = [p for p, _ in err.value.problems]
    assert paths == [
        "stages.demo.work.components[0].mean",
        "stages.demo.work.components[1].high",
        "stages.demo.work.components[2].components[0]",
        "stages.demo.work.weights",
    ]
    assert [p.path for p in err.value.to_problems()] == paths


def test_mixture_components_inherit_unit_but_may_override() -> None:
    spec = {
        "dist": "mixture",
        "unit": "min",
        "components": [
            {"dist": "exponential", "mean": 30},
            {"dist": "fixed", "value": 2, "unit": "h"},
        ],
        "weights": [0.5, 0.5],
    }
    assert _parse(spec).mean == pytest.approx(0.5 * 0.5 + 0.5 * 2)


def test_duration_support_must_be_non_negative_but_numbers_may_be_negative() -> None:
    assert _parse({"dist": "uniform", "low": -2, "high": 1}, "number").mean == -0.5
    assert _parse({"dist": "scipy", "name": "truncnorm", "a": -1, "b": 1}, "number").mean == 0


def test_unknown_kind_is_rejected() -> None:
    with pytest.raises(ValueError, match="kind must be one of"):
        from_spec(1, kind="speed", field="x")  # type: ignore[arg-type]


def test_formatter_for_kinds() -> None:
    assert formatter_for("duration")(0.75) == "45 min"
    assert formatter_for("money")(1_200_000) == "$1.2M"
    assert formatter_for("number")(2.0) == "2"


# -- to_spec round trip --------------------------------------------------------------------------

pos = st.floats(0.05, 50.0)
shape = st.floats(0.3, 5.0)


@st.composite
def _weights(draw, k: int) -> list[float]:
    raw = draw(st.lists(st.floats(0.05, 1.0), min_size=k, max_size=k))
    return [w / sum(raw) for w in raw]


@st.composite
def _triangular(draw) -> Triangular:
    a, b, c = sorted(draw(st.lists(pos, min_size=3, max_size=3)))
    if a == c:
        c = a + 1
    return Triangular(a, b, c)


@st.composite
def _uniform(draw) -> Uniform:
    a, b = draw(pos), draw(pos)
    return Uniform(min(a, b), max(a, b) + 0.1)


@st.composite
def _choice(draw) -> DiscreteChoice:
    values = draw(st.lists(pos, min_size=1, max_size=5))
    return DiscreteChoice(values, draw(_weights(len(values))))


leaf = st.one_of(
    pos.map(Exponential),
    st.builds(lambda m, r: Lognormal.from_median_p90(m, m * r), pos, st.floats(1.05, 5.0)),
    st.builds(Lognormal.from_mean_sd, pos, pos),
    st.builds(Lognormal.from_median_sigma, pos, st.floats(0.05, 1.5)),
    st.builds(Lognormal, st.floats(-2, 3), st.floats(0.05, 1.5)),
    st.builds(Gamma, shape, pos),
    st.builds(Gamma.from_mean_sd, pos, pos),
    st.builds(Weibull, shape, pos),
    _triangular(),
    _uniform(),
    pos.map(Deterministic),
    st.lists(pos, min_size=1, max_size=8).map(Empirical),
    _choice(),
    st.builds(lambda a, s: ScipyDist("gamma", a=a, scale=s), shape, pos),
)


@st.composite
def _mixture(draw) -> Mixture:
    comps = draw(st.lists(leaf, min_size=1, max_size=3))
    return Mixture(comps, draw(_weights(len(comps))))


@settings(max_examples=150, deadline=None)
@given(dist=st.one_of(leaf, _mixture()), kind=st.sampled_from(["number", "duration", "money"]))
def test_from_spec_inverts_to_spec(dist: Distribution, kind: str) -> None:
    spec = to_spec(dist, kind=kind)  # type: ignore[arg-type]
    json.dumps(spec)  # plain data, writable to TOML/JSON
    back = from_spec(spec, kind=kind, field="x")  # type: ignore[arg-type]
    assert type(back) is type(dist)
    assert back.mean == pytest.approx(dist.mean, rel=1e-9)
    assert back.var == pytest.approx(dist.var, rel=1e-9, abs=1e-12)
    assert back.describe() == dist.describe()


def test_to_spec_rejects_unknown_types() -> None:
    class Custom:
        pass

    with pytest.raises(TypeError):
        to_spec(Custom())  # type: ignore[arg-type]


# -- JSON schema ---------------------------------------------------------------------------------


def test_json_schema_covers_every_family_and_embeds_in_pydantic() -> None:
    text = json.dumps(SPEC_JSON_SCHEMA)
    assert "$ref" not in text and "$id" not in text  # safe to embed verbatim
    titles = {s.get("title") for s in SPEC_JSON_SCHEMA["oneOf"]}
    assert set(DIST_NAMES) - {"fixed"} <= titles
    assert all("description" in s for s in SPEC_JSON_SCHEMA["oneOf"])

    from typing import Annotated, Any

    from pydantic import BaseModel, WithJsonSchema

    class Model(BaseModel):
        work: Annotated[Any, WithJsonSchema(SPEC_JSON_SCHEMA)]
        delay: Annotated[Any, WithJsonSchema(SPEC_JSON_SCHEMA)]

    assert Model.model_json_schema()["properties"]["work"]["oneOf"]


GOOD_SPECS = [
    "20 min",
    12000,
    {"dist": "lognormal", "median": "20 min", "p90": "45 min"},
    {"dist": "fixed", "value": "2 h"},
    {
        "dist": "mixture",
        "components": [{"dist": "exponential", "mean": 1}, 3],
        "weights": [0.5, 0.5],
        "unit": "h",
    },
    {"dist": "scipy", "name": "gamma", "a": 2, "scale": "1 h"},
    {
        "dist": "mixture",
        "components": [{"dist": "mixture", "components": ["1 h"], "weights": [1]}],
        "weights": [1],
    },
]
BAD_SPECS = [
    {"dist": "lognormal", "median": "20 min", "p95": "45 min"},
    {"dist": "lognormal", "median": "20 min", "p90": "45 min", "sigma": 1},
    {"dist": "gamma", "shape": 2},
    {"dist": "nope"},
    {"dist": "mixture", "components": [{"dist": "exponential"}], "weights": [1]},
    {"dist": "mixture", "components": [{"dist": "gamma", "mean": 1}], "weights": [1]},
]


def test_json_schema_validates_examples() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **SPEC_JSON_SCHEMA}
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for spec in GOOD_SPECS:
        assert validator.is_valid(spec), spec
    for spec in BAD_SPECS:
        assert not validator.is_valid(spec), spec
