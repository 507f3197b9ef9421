"""Censored distribution fitting for calibration (revsim.calibrate.fitting and fit_plots).

Tolerances come from sampling variability: standard errors from the observed Fisher
information that fit_duration reports (checked themselves against the spread over seeds),
binomial standard errors for shares, and 4 SE bands (two-sided p ~ 6e-5 per check).
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable
from typing import Any

import matplotlib
import numpy as np
import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import optimize, stats

from revsim.calibrate.fitting import FAMILIES, DurationFit, fit_duration
from revsim.calibrate.rates import fit_proportion, fit_rate
from revsim.distributions import Empirical, Mixture, from_spec

matplotlib.use("Agg")

Z = 4.0  # width of the tolerance bands, in standard errors

Sampler = Callable[[np.random.Generator, int], np.ndarray]

# True parameters in fit_duration's naming (scales in hours), and a sampler for each family.
TRUE: dict[str, tuple[dict[str, float], Sampler]] = {
    "lognormal": ({"sigma": 0.8, "median": 30.0}, lambda r, n: r.lognormal(math.log(30), 0.8, n)),
    "gamma": ({"shape": 2.5, "scale": 12.0}, lambda r, n: r.gamma(2.5, 12.0, n)),
    "weibull": ({"shape": 1.6, "scale": 35.0}, lambda r, n: 35.0 * r.weibull(1.6, n)),
    "exponential": ({"mean": 30.0}, lambda r, n: r.exponential(30.0, n)),
    "loglogistic": (
        {"c": 3.0, "scale": 30.0},
        lambda r, n: 30.0 * (1 / r.random(n) - 1) ** (-1 / 3.0),
    ),
}
CENSORED_SHARE = 0.3


@functools.cache
def censoring_mean(family: str) -> float:
    """Mean of an independent exponential censoring time giving a 30% censored share."""
    x = TRUE[family][1](np.random.default_rng(12345), 200_000)
    return float(
        optimize.brentq(
            lambda m: np.mean(1 - np.exp(-x / m)) - CENSORED_SHARE, 1e-3 * x.mean(), 1e4 * x.mean()
        )
    )


def simulate(
    family: str, n: int, seed: int, censored: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(durations seen, observed flags, true durations)."""
    rng = np.random.default_rng(seed)
    x = TRUE[family][1](rng, n)
    if not censored:
        return x, np.ones(n, bool), x
    c = rng.exponential(censoring_mean(family), n)
    return np.minimum(x, c), x <= c, x


def spec_mean(fit: DurationFit) -> float:
    return float(from_spec(fit.spec, kind="duration", field="x").mean)


def assert_same_mean(a: float, b: float, rel: float = 0.01) -> None:
    if math.isinf(a) or math.isinf(b):
        assert a == b
    else:
        assert a == pytest.approx(b, rel=rel)


# -- parameter recovery -----------------------------------------------------------------------


@pytest.mark.parametrize("censored", [False, True], ids=["complete", "censored"])
@pytest.mark.parametrize("family", FAMILIES)
def test_recovers_parameters(family: str, censored: bool) -> None:
    t, obs, _ = simulate(family, 1500, seed=7, censored=censored)
    if censored:
        share = 1 - obs.mean()
        assert abs(share - CENSORED_SHARE) < Z * math.sqrt(0.3 * 0.7 / len(t))
    fit = fit_duration(t, obs, families=(family,))
    ff = fit.fits[family]
    assert ff.converged
    truth = TRUE[family][0]
    assert set(ff.params) == set(truth)
    for name, true_value in truth.items():
        se = ff.se[name]
        assert 0 < se < 0.2 * true_value
        assert abs(ff.params[name] - true_value) < Z * se, (name, ff.params, ff.se)


@pytest.mark.parametrize("family", ["gamma", "lognormal"])
def test_standard_errors_match_spread_over_seeds(family: str) -> None:
    """sum(((estimate - truth) / se)^2) over seeds is chi2(seeds) if the SEs are right."""
    seeds = range(40)
    truth = TRUE[family][0]
    z2 = {k: 0.0 for k in truth}
    for seed in seeds:
        t, obs, _ = simulate(family, 300, seed=100 + seed)
        ff = fit_duration(t, obs, families=(family,)).fits[family]
        for k, v in truth.items():
            z2[k] += ((ff.params[k] - v) / ff.se[k]) ** 2
    for k, total in z2.items():
        assert stats.chi2.sf(total, len(seeds)) > 1e-3, (k, total)  # SEs not too small
        assert stats.chi2.cdf(total, len(seeds)) > 1e-3, (k, total)  # nor too large


@pytest.mark.parametrize("family", FAMILIES)
def test_agrees_with_scipy_censored_fit(family: str) -> None:
    t, obs, _ = simulate(family, 400, seed=3)
    ff = fit_duration(t, obs, families=(family,)).fits[family]
    name = {"lognormal": "lognorm", "weibull": "weibull_min", "exponential": "expon"}.get(
        family, "fisk" if family == "loglogistic" else family
    )
    rv = getattr(stats, name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = rv.fit(stats.CensoredData(uncensored=t[obs], right=t[~obs]), floc=0)
    ref_ll = rv.logpdf(t[obs], *ref).sum() + rv.logsf(t[~obs], *ref).sum()
    # Ours is at least as good as scipy's default optimizer, and essentially the same point.
    assert ff.loglik >= ref_ll - 1e-6
    assert ff.loglik - ref_ll < 1e-3
    ref_values = [*ref[:-2], ref[-1]]
    assert list(ff.params.values()) == pytest.approx(ref_values, rel=2e-3)


def test_ignoring_censoring_biases_median_short() -> None:
    t, obs, _ = simulate("lognormal", 2000, seed=11)
    true_median = TRUE["lognormal"][0]["median"]
    naive = fit_duration(t, families=("lognormal",)).fits["lognormal"]
    proper = fit_duration(t, obs, families=("lognormal",)).fits["lognormal"]
    assert naive.params["median"] + Z * naive.se["median"] < true_median
    assert abs(proper.params["median"] - true_median) < Z * proper.se["median"]


def test_ks_accounts_for_censoring() -> None:
    """Completed durations are biased short; KS against the raw fitted cdf would reject the
    true family, the censoring-adjusted KS does not."""
    t, obs, _ = simulate("lognormal", 5000, seed=5)
    fit = fit_duration(t, obs)
    ff = fit.fits["lognormal"]
    assert fit.best == "lognormal" and fit.fallback is None
    assert ff.ks_p > 0.01
    assert ff.dist is not None
    assert stats.kstest(t[obs], ff.dist.cdf).pvalue < 0.01
    # Without censoring the adjusted test is the plain KS test.
    x = t[obs]
    plain = fit_duration(x, families=("lognormal",)).fits["lognormal"]
    assert plain.dist is not None
    assert plain.ks_stat == pytest.approx(stats.kstest(x, plain.dist.cdf).statistic, abs=1e-12)
    assert math.isfinite(plain.ad_stat) and 0 < plain.ad_p <= 1
    assert math.isnan(ff.ad_stat)  # scipy's AD ignores censoring, so it is not reported


# -- model choice -----------------------------------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES)
def test_aic_selects_true_family(family: str) -> None:
    seeds = range(6)
    wins = 0
    for seed in seeds:
        t, obs, _ = simulate(family, 2000, seed=200 + seed)
        fit = fit_duration(t, obs)
        if family == "exponential":
            # Nested in gamma and Weibull (shape 1): one of them wins by chance about 30%
            # of the time, but then only by a small AIC margin (> 2 with p ~ 0.05 each).
            row = fit.table.set_index("family").loc["exponential"]
            wins += bool(row["delta_aic"] <= 2)
        else:
            wins += fit.best == family
        assert list(fit.table["aic"]) == sorted(fit.table["aic"])
    assert wins >= 5, (family, wins)


def test_table_columns_and_ranking() -> None:
    t, obs, _ = simulate("gamma", 800, seed=1)
    fit = fit_duration(t, obs, name="demo")
    cols = {"family", "params", "loglik", "aic", "bic", "ks_stat", "ks_p", "n", "n_censored"}
    assert cols <= set(fit.table.columns)
    assert len(fit.table) == len(FAMILIES)
    assert fit.table["family"].iloc[0] == fit.best
    assert fit.table["delta_aic"].iloc[0] == 0
    assert (fit.table["n"] == 800).all()
    assert (fit.table["n_censored"] == int((~obs).sum())).all()
    k = fit.table["family"].map({f: 1 if f == "exponential" else 2 for f in FAMILIES})
    assert np.allclose(fit.table["aic"], 2 * k - 2 * fit.table["loglik"])
    assert np.allclose(fit.table["bic"], k * math.log(800) - 2 * fit.table["loglik"])
    assert "demo" in fit.describe()


def test_kaplan_meier_median_and_p90() -> None:
    t, obs, _ = simulate("lognormal", 3000, seed=9)
    fit = fit_duration(t, obs)
    assert list(fit.km.columns) == ["time", "survival", "ci_lower", "ci_upper"]
    assert (np.diff(fit.km["survival"]) <= 1e-12).all()
    sigma, median = TRUE["lognormal"][0]["sigma"], TRUE["lognormal"][0]["median"]
    # Uncensored sample-median SE is 1 / (2 f(m) sqrt(n)); censoring inflates it modestly.
    se = median * sigma * math.sqrt(2 * math.pi) / (2 * math.sqrt(len(t))) / math.sqrt(0.7)
    assert abs(fit.km_median - median) < Z * se
    p90 = median * math.exp(sigma * stats.norm.ppf(0.9))
    assert fit.km_p90 == pytest.approx(p90, rel=0.15)


# -- fallbacks --------------------------------------------------------------------------------


def bimodal(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Like the Maven CRM won cycles: a fast group around 6 d and a slow one around 85 d."""
    rng = np.random.default_rng(seed)
    fast = rng.random(n) < 0.35
    x = np.where(fast, rng.lognormal(math.log(6 * 24), 0.7, n), rng.lognormal(math.log(85 * 24), 0.25, n))
    c = rng.exponential(400 * 24, n)
    return np.minimum(x, c), x <= c


def test_bimodal_durations_fall_back_to_a_mixture() -> None:
    t, obs = bimodal(1500, seed=2)
    fit = fit_duration(t, obs, name="won")
    assert fit.fallback == "mixture"
    best = fit.fits[fit.best]
    assert best.ks_stat > 0.1 and best.ks_p < 0.01
    for words in ("no single family fits", f"best: {fit.best}", "bimodal", "mixture"):
        assert words in fit.note
    mix = fit.mixture
    assert mix is not None and mix.converged and mix.ks_p >= 0.01
    assert mix.aic < best.aic
    n = len(t)
    assert abs(mix.weights[0] - 0.35) < Z * math.sqrt(0.35 * 0.65 / n)
    for med, true_med, sigma, w in (
        (mix.medians[0], 6 * 24, 0.7, 0.35),
        (mix.medians[1], 85 * 24, 0.25, 0.65),
    ):
        assert abs(math.log(med / true_med)) < Z * sigma / math.sqrt(w * n * 0.9)
    assert isinstance(fit.dist, Mixture)
    assert fit.spec["dist"] == "mixture" and len(fit.spec["components"]) == 2
    assert all(c["dist"] == "lognormal" for c in fit.spec["components"])
    assert_same_mean(spec_mean(fit), fit.dist.mean)


def test_unfittable_durations_fall_back_to_empirical() -> None:
    x = three_modes(np.random.default_rng(4), 1000)
    fit = fit_duration(x)
    assert fit.fallback == "empirical"
    assert "no single family fits" in fit.note and "does not either" in fit.note
    assert "empirical" in fit.note
    assert fit.mixture is not None and fit.mixture.ks_p < 0.01
    assert isinstance(fit.dist, Empirical)
    assert fit.spec["dist"] == "empirical" and fit.spec["unit"] == "h"
    assert len(fit.spec["values"]) == 1000
    # 1000 equally spaced quantiles of the data: each stands for the same share, so the mean is
    # kept up to the quantile grid's resolution (well under the data's own standard error)
    se = x.std(ddof=1) / math.sqrt(len(x))
    assert abs(fit.dist.mean - x.mean()) < 0.1 * se
    assert_same_mean(spec_mean(fit), fit.dist.mean, rel=1e-3)


def three_modes(rng: np.random.Generator, n_each: int) -> np.ndarray:
    return np.concatenate([rng.lognormal(m, 0.1, n_each) for m in (0.0, 3.5, 7.0)])


def test_empirical_fallback_with_censoring_follows_kaplan_meier() -> None:
    """Resampling only the completed durations would under-represent long ones; the
    fallback resamples the Kaplan-Meier estimate instead."""
    rng = np.random.default_rng(8)
    x = three_modes(rng, 400)
    c = rng.exponential(3000, len(x))
    t, obs = np.minimum(x, c), x <= c
    fit = fit_duration(t, obs)
    assert fit.fallback == "empirical"
    assert "Kaplan-Meier" in fit.note and "still-open" in fit.note
    assert len(fit.spec["values"]) == 1000
    slow_true = 1 / 3  # share of the slow mode (around e^7 h)
    se = math.sqrt(slow_true * (1 - slow_true) / obs.sum())
    slow_fitted = float(fit.dist.sf(300.0))
    slow_completed = float(np.mean(t[obs] > 300))
    assert abs(slow_fitted - slow_true) < Z * se
    assert slow_completed < slow_true - Z * se  # what ignoring censoring would give
    assert_same_mean(spec_mean(fit), fit.dist.mean, rel=1e-3)


def test_empirical_fallback_takes_the_tail_beyond_the_data_from_the_fit() -> None:
    rng = np.random.default_rng(8)
    x = three_modes(rng, 400)
    c = rng.uniform(0, 500, len(x))  # the slow mode is never seen to complete
    t, obs = np.minimum(x, c), x <= c
    fit = fit_duration(t, obs)
    assert fit.fallback == "empirical" and "the tail follows" in fit.note
    longest = t[obs].max()
    s_last = float(fit.km["survival"].iloc[-1])
    beyond = np.mean(np.asarray(fit.spec["values"]) > longest)
    assert beyond == pytest.approx(s_last, abs=2e-3)


def test_identical_and_too_few_durations() -> None:
    fit = fit_duration(np.full(100, 24.0))
    assert fit.fallback == "empirical" and "all completed durations are equal" in fit.note
    assert spec_mean(fit) == pytest.approx(24.0)
    few = fit_duration([5.0, 7.0, 30.0, 40.0], [True, True, False, False])
    assert few.fallback == "empirical" and few.best == "none"
    assert "too few" in few.note
    assert len(few.table) == len(FAMILIES) and not few.table["converged"].any()


# -- zeros and bad input ----------------------------------------------------------------------


def test_few_zeros_are_shifted() -> None:
    rng = np.random.default_rng(6)
    x = np.concatenate([[0.0, 0.0], rng.lognormal(2, 1, 498)])
    fit = fit_duration(x)
    assert fit.zeros == "shifted" and fit.n_zero == 2 and fit.p_zero == 0
    assert "exactly 0" in fit.note and "half the smallest positive" in fit.note
    assert fit.fit_durations.min() == pytest.approx(x[x > 0].min() / 2)
    assert fit.spec["dist"] != "mixture"


def test_many_zeros_are_a_point_mass() -> None:
    rng = np.random.default_rng(6)
    x = np.concatenate([np.zeros(100), rng.lognormal(2, 1, 900)])
    obs = np.concatenate([np.ones(100, bool), rng.random(900) < 0.8])
    fit = fit_duration(x, obs)
    assert fit.zeros == "point mass" and fit.p_zero == pytest.approx(0.1)
    assert "point mass at 0" in fit.note
    assert fit.spec["dist"] == "mixture"
    assert fit.spec["components"][0] == {"dist": "fixed", "value": "0 h"}
    assert fit.spec["weights"][0] == pytest.approx(0.1)
    dist = from_spec(fit.spec, kind="duration", field="x")
    assert float(dist.cdf(0.0)) == pytest.approx(0.1)
    assert_same_mean(dist.mean, fit.dist.mean)
    # The families describe the positive durations.
    assert (fit.fit_durations > 0).all() and len(fit.fit_durations) == 900
    assert fit.km["survival"].iloc[0] == pytest.approx(0.9)


def test_censored_zeros_are_dropped() -> None:
    rng = np.random.default_rng(1)
    x = np.concatenate([[0.0], rng.gamma(2, 5, 200)])
    obs = np.concatenate([[False], np.ones(200, bool)])
    fit = fit_duration(x, obs)
    assert "left out" in fit.note and len(fit.fit_durations) == 200


@pytest.mark.parametrize(
    ("durations", "observed", "message"),
    [
        ([1.0, -2.0, 3.0], None, "negative"),
        ([1.0, float("nan"), 3.0], None, "not finite"),
        ([1.0, 2.0], [True], "shape"),
        ([1.0, 2.0, 3.0], [False, False, False], "censored"),
        ([0.0, 0.0], None, "every observed duration is 0"),
        ([], None, "empty"),
    ],
)
def test_bad_input_raises(durations: list[float], observed: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        fit_duration(durations, observed)


def test_unknown_family_raises() -> None:
    with pytest.raises(ValueError, match="unknown family"):
        fit_duration([1.0, 2.0, 3.0], families=("normal",))


# -- specs ------------------------------------------------------------------------------------


@pytest.mark.parametrize("family", FAMILIES)
def test_spec_round_trips_through_from_spec(family: str) -> None:
    t, obs, _ = simulate(family, 600, seed=21)
    fit = fit_duration(t, obs, families=(family,))
    assert fit.fallback is None
    spec = fit.spec
    tomli_w.dumps({"delay": spec})  # TOML-ready
    expected_dist = {"loglogistic": "scipy"}.get(family, family)
    assert spec["dist"] == expected_dist
    if family == "lognormal":
        assert set(spec) == {"dist", "median", "p90"}
    if family == "loglogistic":
        assert spec["name"] == "fisk" and "c" in spec
    scale_keys = [k for k in ("median", "p90", "scale", "mean") if k in spec]
    assert scale_keys and all(isinstance(spec[k], str) for k in scale_keys)
    dist = from_spec(spec, kind="duration", field="x")
    assert_same_mean(dist.mean, fit.dist.mean)
    assert float(dist.ppf(0.5)) == pytest.approx(float(fit.dist.ppf(0.5)), rel=1e-3)


def test_spec_uses_days_for_long_durations() -> None:
    rng = np.random.default_rng(0)
    fit = fit_duration(rng.lognormal(math.log(20 * 24), 0.5, 300), families=("lognormal",))
    assert fit.spec["median"].endswith(" d")
    short = fit_duration(rng.lognormal(math.log(0.25), 0.5, 300), families=("lognormal",))
    assert short.spec["median"].endswith(" min")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.one_of(st.just(0.0), st.floats(1e-3, 1e5, allow_nan=False)),
            st.booleans(),
        ),
        min_size=1,
        max_size=80,
    )
)
def test_any_valid_input_gives_a_usable_spec(rows: list[tuple[float, bool]]) -> None:
    t = np.array([r[0] for r in rows])
    obs = np.array([r[1] for r in rows])
    if not (obs & (t > 0)).any():
        with pytest.raises(ValueError):
            fit_duration(t, obs)
        return
    fit = fit_duration(t, obs)
    assert fit.note is not None
    dist = from_spec(fit.spec, kind="duration", field="x")
    assert_same_mean(dist.mean, fit.dist.mean, rel=0.02)


# -- proportions and rates --------------------------------------------------------------------


def test_fit_proportion_is_wilson() -> None:
    k, n = 37, 120
    p, lo, hi = fit_proportion(k, n)
    z = stats.norm.ppf(0.975)
    phat = k / n
    centre = (phat + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * math.sqrt(phat * (1 - phat) / n + z**2 / (4 * n**2))
    assert p == pytest.approx(phat)
    assert (lo, hi) == pytest.approx((centre - half, centre + half))
    assert fit_proportion(0, 10)[1] == 0.0 and fit_proportion(10, 10)[2] == pytest.approx(1.0)
    assert fit_proportion(5, 10, confidence=0.5)[1] > fit_proportion(5, 10)[1]
    for bad in ((11, 10), (1, 0), (-1, 10)):
        with pytest.raises(ValueError):
            fit_proportion(*bad)


def test_fit_rate_poisson_is_not_overdispersed() -> None:
    rng = np.random.default_rng(0)
    counts = rng.poisson(5.0, 200)
    rate = fit_rate(counts, 168.0)
    assert rate.rate_per_hour == pytest.approx(counts.sum() / (200 * 168.0))
    assert rate.overdispersion_p > 0.001
    assert rate.ci[0] < 5.0 / 168 < rate.ci[1]
    assert rate.dispersion_index == pytest.approx(counts.var(ddof=1) / counts.mean())
    assert rate.n_periods == 200 and rate.total == counts.sum() and rate.note == ""


def test_fit_rate_flags_negative_binomial_counts() -> None:
    rng = np.random.default_rng(0)
    r = 2.0  # variance = mean + mean^2 / r = 17.5 for mean 5
    counts = rng.negative_binomial(r, r / (r + 5.0), 200)
    rate = fit_rate(counts, 168.0)
    assert rate.overdispersion_p < 0.001
    assert rate.dispersion_index > 2
    assert "more than Poisson" in rate.note
    poisson_width = fit_rate(np.full(200, counts.mean()).round(), 168.0).ci
    assert rate.ci[1] - rate.ci[0] > poisson_width[1] - poisson_width[0]
    assert rate.ci[0] < 5.0 / 168 < rate.ci[1]


def test_fit_rate_with_a_partial_last_period() -> None:
    """A log that ends mid-week: the last period is shorter and must count as such."""
    rng = np.random.default_rng(1)
    lengths = np.array([168.0] * 8 + [12.0])
    counts = rng.poisson(800 / 168 * lengths)
    rate = fit_rate(counts, lengths)
    assert rate.rate_per_hour == pytest.approx(counts.sum() / lengths.sum())
    assert rate.exposure_hours == pytest.approx(lengths.sum())
    assert rate.overdispersion_p > 0.001
    assert rate.ci[0] < 800 / 168 < rate.ci[1]
    # Treating the short week as a full one is both biased and flagged as overdispersed.
    wrong = fit_rate(counts, 168.0)
    assert wrong.overdispersion_p < 0.001 and wrong.rate_per_hour < rate.ci[0]
    with pytest.raises(ValueError, match="one per period"):
        fit_rate(counts, [168.0, 168.0])


def test_fit_rate_bad_input() -> None:
    for counts, period in (([1, -1], 1.0), ([1.5, 2], 1.0), ([], 1.0), ([1, 2], 0.0)):
        with pytest.raises(ValueError):
            fit_rate(counts, period)
    zero = fit_rate([0, 0, 0], 24.0)
    assert zero.rate_per_hour == 0 and zero.ci[0] == 0 and zero.ci[1] > 0


# -- plots ------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["family", "mixture", "empirical", "zeros"])
def test_plots_return_labelled_axes(case: str) -> None:
    import matplotlib.pyplot as plt

    from revsim.calibrate.fit_plots import plot_fit, plot_qq, plot_survival

    rng = np.random.default_rng(3)
    if case == "family":
        t, obs, _ = simulate("gamma", 500, seed=1)
    elif case == "mixture":
        t, obs = bimodal(800, seed=2)
    elif case == "empirical":
        t = np.concatenate([rng.lognormal(m, 0.1, 300) for m in (0.0, 3.5, 7.0)])
        obs = np.ones(len(t), bool)
    else:
        t = np.concatenate([np.zeros(50), rng.gamma(2, 30, 450)])
        obs = np.ones(len(t), bool)
    fit = fit_duration(t, obs, name=case)
    try:
        ax = plot_survival(fit)
        assert "days" in ax.get_xlabel() and ax.get_ylabel()
        assert len(ax.get_lines()) >= len(FAMILIES) + 1
        assert ax.get_legend() is not None
        ax2 = plot_qq(fit)
        assert "days" in ax2.get_xlabel() and "days" in ax2.get_ylabel()
        assert ax2.get_xscale() == "log" and ax2.get_yscale() == "log"
        assert len(ax2.collections) >= 1
        _, given_ax = plt.subplots()
        assert plot_fit(fit, ax=given_ax) is given_ax
    finally:
        plt.close("all")
