"""Calibration round trip: simulate a known scenario, export its event log, fit it back.

The scenario is made of pure-delay stages (no pools), so every stage's duration is a draw from
the distribution written in the TOML and every exit a draw from its routes, independent of
everything else; two Poisson sources have known rates (one with hour and weekday profiles).
``revsim.fit`` must recover every arrival rate, every route probability and every stage
duration within the sampling error of the data:

- arrival rates: the exact (Garwood) Poisson interval at 99.9% computed on the fit's own count
  and exposure (``n`` and ``n / rate_per_week`` from ``.arrivals``), the same interval the fit
  reports at 95%; the weekly counts of a Poisson source must not look overdispersed;
- route probabilities: the fit's Aalen-Johansen share (open visits count while observed)
  within +-z(99.9%) of its bootstrap standard errors (``.transitions``);
- durations: each parameter of the true family within +-z(99.9%) standard errors reported by
  the fit, and the fitted distribution's median and p90 (``.fits[path].dist.ppf``) within
  +-z(99.9%) bootstrap standard errors of the Kaplan-Meier quantile computed here from the same
  (censored) durations. The KM quantile is nonparametric, so its spread is at least that of the
  parametric estimate when the family is right: a conservative yardstick, not a tuned one.

The suite makes ~80 such checks at 99.9%, so a correct pipeline fails one with probability
below ~8% (Bonferroni) for a random seed; with the fixed seed the run is reproducible.
Override the seed with ``REVSIM_VALIDATION_SEED`` to check it is not green by luck.

Everything is done twice: with the as-of time at the end of the run (little censoring) and in
mid-horizon (a Monday noon, 8 weeks and 12 hours in), where open visits are right-censored;
there the parameters must still be recovered, while the naive estimate that drops open visits
is biased short.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import revsim
from revsim.calibrate.fitted import FittedScenario
from revsim.calibrate.survival import kaplan_meier, km_quantile

from .conftest import seed

CONFIDENCE = 0.999
Z = float(stats.norm.ppf(0.5 + CONFIDENCE / 2))  # 3.29
BOOTSTRAP = 200
HOURS_PER_WEEK = 168.0
START = pd.Timestamp("2027-01-04", tz="UTC")  # a Monday
HORIZON_W = 16
AS_OF = {
    "end": START + pd.Timedelta(weeks=HORIZON_W),
    "mid": START + pd.Timedelta(weeks=8, hours=12),  # Monday noon, mid-horizon
}

# -------------------------------------------------------------------------- the true model
HOUR_PROFILE = [0.2] * 7 + [1, 2, 3, 3, 3, 2, 3, 3, 3, 2, 1] + [0.5] * 6
WEEKDAY_PROFILE = [1.2, 1.2, 1.2, 1.2, 1.0, 0.3, 0.1]
SOURCES = {  # name: (rate per week, entry stage, hour profile, weekday profile)
    "inbound": (800.0, "qualify", HOUR_PROFILE, WEEKDAY_PROFILE),
    "outbound": (300.0, "discovery", None, None),
}
ROUTES = {
    "qualify": {"discovery": 0.6, "disqualified": 0.4},
    "discovery": {"proposal": 0.65, "lost": 0.35},
    "proposal": {"negotiation": 0.5, "discovery": 0.2, "lost": 0.3},  # a loop back
    "negotiation": {"won": 0.7, "lost": 0.3},
}


@dataclass(frozen=True)
class Delay:
    family: str
    params: dict[str, float]  # revsim-style names, scales in hours (as FamilyFit.params)

    def toml(self) -> str:
        p = self.params
        if self.family == "lognormal":
            return f'{{ dist = "lognormal", median = "{p["median"]} h", sigma = {p["sigma"]} }}'
        if self.family in ("gamma", "weibull"):
            return (f'{{ dist = "{self.family}", shape = {p["shape"]}, '
                    f'scale = "{p["scale"]} h" }}')
        return f'{{ dist = "exponential", mean = "{p["mean"]} h" }}'

    def ppf(self, q: float) -> float:
        p = self.params
        if self.family == "lognormal":
            return float(stats.lognorm.ppf(q, p["sigma"], scale=p["median"]))
        if self.family == "gamma":
            return float(stats.gamma.ppf(q, p["shape"], scale=p["scale"]))
        if self.family == "weibull":
            return float(stats.weibull_min.ppf(q, p["shape"], scale=p["scale"]))
        return float(stats.expon.ppf(q, scale=p["mean"]))


DELAYS = {
    "qualify": Delay("lognormal", {"median": 36.0, "sigma": 0.8}),
    "discovery": Delay("gamma", {"shape": 2.0, "scale": 24.0}),
    # long enough (median ~7.8 d) for a large share of open visits at the mid-horizon as-of
    "proposal": Delay("weibull", {"shape": 1.5, "scale": 240.0}),
    "negotiation": Delay("exponential", {"mean": 72.0}),
}


def scenario_toml() -> str:
    parts = [
        f'[scenario]\nname = "calibration round trip"\nstart = {START.date()}\n'
        f'horizon = "{HORIZON_W} w"\nwarmup = "0 h"\n'
    ]
    for name, (rate, to, hour, weekday) in SOURCES.items():
        text = f'[sources.{name}]\nrate = "{rate:g}/w"\nto = "{to}"\n'
        if hour is not None:
            text += f"hour_profile = {hour}\n"
        if weekday is not None:
            text += f"weekday_profile = {weekday}\n"
        parts.append(text)
    for stage, routes in ROUTES.items():
        inline = ", ".join(f"{k} = {v}" for k, v in routes.items())
        parts.append(f"[stages.{stage}]\ndelay = {DELAYS[stage].toml()}\nroutes = {{ {inline} }}\n")
    return "\n".join(parts)


# -------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def event_log() -> pd.DataFrame:
    sc = revsim.loads(scenario_toml())
    result = sc.run(replications=1, seed=seed(41), horizon=f"{HORIZON_W} w", warmup="0 h",
                    records=True, progress=False)
    return result.event_log()


@pytest.fixture(scope="module")
def fitted(event_log: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory
           ) -> dict[str, FittedScenario]:
    # the end-of-run fit reads the CSV (as `revsim fit` does), the mid-horizon one the DataFrame
    path = tmp_path_factory.mktemp("roundtrip") / "simulated_log.csv"
    event_log.to_csv(path, index=False)
    return {
        "end": revsim.fit(path, as_of=AS_OF["end"].isoformat()),
        "mid": revsim.fit(event_log, as_of=AS_OF["mid"].isoformat()),
    }


CASES = ["end", "mid"]


# -------------------------------------------------------------------------- helpers
def garwood(count: int, exposure_w: float, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Exact Poisson interval of a rate per week (the interval fit_rate reports)."""
    alpha = 1 - confidence
    lo = 0.0 if count == 0 else float(stats.chi2.ppf(alpha / 2, 2 * count)) / 2
    hi = float(stats.chi2.ppf(1 - alpha / 2, 2 * count + 2)) / 2
    return lo / exposure_w, hi / exposure_w


def km_quantiles(t: np.ndarray, observed: np.ndarray, qs: tuple[float, ...]) -> np.ndarray:
    """Kaplan-Meier quantiles: the first time the survival is at or below 1 - q (inf if never)."""
    times, surv, _ = kaplan_meier(t, observed.astype(bool))
    return np.array([km_quantile(times, surv, q) for q in qs])


def km_bootstrap(t: np.ndarray, observed: np.ndarray, qs: tuple[float, ...], rng_seed: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """KM quantiles and their bootstrap standard errors (cases resampled with replacement)."""
    rng = np.random.default_rng(rng_seed)
    point = km_quantiles(t, observed, qs)
    boots = np.empty((BOOTSTRAP, len(qs)))
    for b in range(BOOTSTRAP):
        pick = rng.integers(0, len(t), len(t))
        boots[b] = km_quantiles(t[pick], observed[pick], qs)
    assert np.isfinite(boots).all(), "a bootstrap KM quantile was not reached"
    return point, boots.std(axis=0, ddof=1)


def stage_visits(f: FittedScenario, stage: str) -> pd.DataFrame:
    v = f.journeys.visits
    return v[v["stage"] == stage]


# -------------------------------------------------------------------------- arrivals
@pytest.mark.parametrize("case", CASES)
def test_arrival_rates_are_recovered(fitted: dict[str, FittedScenario], case: str) -> None:
    table = fitted[case].arrivals.set_index("source")
    assert set(table.index) == set(SOURCES)
    problems = []
    for name, (rate, to, _, _) in SOURCES.items():
        row = table.loc[name]
        assert fitted[case].raw["sources"][name]["to"] == to
        n = int(row["n"])
        exposure_w = n / float(row["rate_per_week"])
        lo, hi = garwood(n, exposure_w)
        assert row["ci_low"] <= row["rate_per_week"] <= row["ci_high"]
        if not lo <= rate <= hi:
            problems.append(
                f"{case}/{name}: true rate {rate:g}/w outside the 99.9% Poisson CI "
                f"[{lo:.1f}, {hi:.1f}] of the fitted {row['rate_per_week']:.1f}/w (n={n} over "
                f"an exposure of {exposure_w:.2f} w; the log covers "
                f"{(AS_OF[case] - START) / pd.Timedelta(weeks=1):.2f} w)")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("case", CASES)
def test_poisson_sources_are_not_called_overdispersed(fitted: dict[str, FittedScenario],
                                                      case: str) -> None:
    """Weekly counts of a Poisson stream (any hour/weekday profile repeats every week) pass the
    dispersion test at 99.9%."""
    table = fitted[case].arrivals.set_index("source")
    flagged = {name: (round(float(r["dispersion_index"]), 2), float(r["overdispersion_p"]))
               for name, r in table.iterrows() if r["overdispersion_p"] < 1 - CONFIDENCE}
    assert not flagged, f"{case}: Poisson sources flagged as overdispersed: {flagged}"


def test_arrival_profiles_are_recovered(fitted: dict[str, FittedScenario]) -> None:
    """Hour and weekday profiles (whole weeks: the end-of-run fit): chi-square at 99.9% of the
    counts implied by the fitted weights against the true shares."""
    f = fitted["end"]
    n_by_source = f.arrivals.set_index("source")["n"]
    for name, (_, _, hour, weekday) in SOURCES.items():
        spec = f.raw["sources"][name]
        n = int(n_by_source[name])
        for kind, true in (("hour_profile", hour), ("weekday_profile", weekday)):
            size = 24 if kind == "hour_profile" else 7
            w_true = np.ones(size) if true is None else np.asarray(true, float)
            shares = w_true / w_true.sum()
            fitted_w = np.asarray(spec[kind], float)
            counts = np.round(fitted_w / fitted_w.sum() * n)
            chi2, p = stats.chisquare(counts, shares * counts.sum())
            assert p >= 1 - CONFIDENCE, (name, kind, chi2, p, fitted_w.round(2).tolist())


# -------------------------------------------------------------------------- routes
@pytest.mark.parametrize("case", CASES)
def test_route_probabilities_are_recovered(fitted: dict[str, FittedScenario], case: str) -> None:
    f = fitted[case]
    tr = f.transitions
    problems = []
    for stage, routes in ROUTES.items():
        rows = tr[tr["stage"] == stage].set_index("to")
        assert set(rows.index) == set(routes), (stage, sorted(rows.index))
        assert f.raw["stages"][stage]["routes"].keys() == routes.keys()
        assert math.isclose(sum(f.raw["stages"][stage]["routes"].values()), 1.0, abs_tol=1e-9)
        for target, p_true in routes.items():
            # Aalen-Johansen share (open visits count while observed) with a bootstrap SE
            p, se = rows.loc[target, "p"], rows.loc[target, "se"]
            assert rows.loc[target, "ci_low"] <= p <= rows.loc[target, "ci_high"]
            half = Z * se
            if not p - half <= p_true <= p + half:
                problems.append(f"{case}: {stage} -> {target}: true {p_true} outside the "
                                f"{CONFIDENCE:.1%} interval {p:.4f} +- {half:.4f}")
    assert not problems, "\n".join(problems)


def test_the_loop_is_recovered(fitted: dict[str, FittedScenario]) -> None:
    """proposal -> discovery is a route back; re-entered stages are fresh visits."""
    v = fitted["end"].journeys.visits
    revisits = v.groupby(["journey", "stage"]).size()
    assert (revisits.xs("discovery", level="stage") > 1).any()
    assert "discovery" in fitted["end"].raw["stages"]["proposal"]["routes"]


# -------------------------------------------------------------------------- durations
@pytest.mark.parametrize("case", CASES)
def test_duration_parameters_are_recovered(fitted: dict[str, FittedScenario], case: str) -> None:
    """Each true parameter within +-z(99.9%) of the fit's own standard errors (true family)."""
    problems = []
    for stage, delay in DELAYS.items():
        fit = fitted[case].fits[f"stages.{stage}.delay"]
        family = fit.fits[delay.family]
        assert family.converged, (stage, family.message)
        for name, true in delay.params.items():
            est, se = family.params[name], family.se[name]
            assert math.isfinite(se) and se > 0, (stage, name, se)
            if abs(est - true) > Z * se:
                problems.append(f"{case}: {stage} {delay.family} {name}: fitted {est:.4g} "
                                f"+- {Z * se:.3g} (99.9%) excludes the true {true:g}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("case", CASES)
def test_duration_quantiles_are_recovered(fitted: dict[str, FittedScenario], case: str) -> None:
    """Median and p90 of the chosen distribution and of the KM estimate, against the truth,
    within +-z(99.9%) bootstrap standard errors of the KM quantile."""
    qs = (0.5, 0.9)
    problems = []
    for k, (stage, delay) in enumerate(DELAYS.items()):
        fit = fitted[case].fits[f"stages.{stage}.delay"]
        assert fit.fallback is None, (stage, fit.note)
        v = stage_visits(fitted[case], stage)
        t = v["hours"].to_numpy(float)
        obs = (~v["censored"]).to_numpy()
        km, se = km_bootstrap(t, obs, qs, rng_seed=seed(42) + k)
        # the KM of the visits is the fit's own KM
        assert km == pytest.approx([fit.km_median, fit.km_p90])
        for q, km_q, se_q in zip(qs, km, se, strict=True):
            true = delay.ppf(q)
            chosen = float(fit.dist.ppf(q))
            for what, value in (("KM", km_q), (f"fitted {fit.best}", chosen)):
                if abs(value - true) > Z * se_q:
                    problems.append(
                        f"{case}: {stage} q{q:g}: {what} {value:.2f} h vs true {true:.2f} h; "
                        f"99.9% band +-{Z * se_q:.2f} h (bootstrap SE of the KM quantile, "
                        f"n={len(t)}, {int((~obs).sum())} censored)")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("case", CASES)
def test_best_family_when_distinguishable(fitted: dict[str, FittedScenario], case: str) -> None:
    """Lognormal and exponential are far apart at these n: the true one must win. The
    exponential is nested in gamma and Weibull (shape 1), so at the exponential stage neither
    may beat it by a likelihood-ratio test at 99.9% (chi-square, 1 df)."""
    fits = fitted[case].fits
    logn = fits["stages.qualify.delay"]
    assert logn.best == "lognormal", logn.table[["family", "aic"]].to_string()
    expo = fits["stages.negotiation.delay"]
    assert expo.best != "lognormal"
    lr_limit = float(stats.chi2.ppf(CONFIDENCE, 1))
    for wider in ("gamma", "weibull"):
        lr = 2 * (expo.fits[wider].loglik - expo.fits["exponential"].loglik)
        assert lr <= lr_limit, (wider, lr, expo.table[["family", "aic"]].to_string())
    if expo.best != "exponential":  # allowed by AIC noise, but then within the LR bound above
        assert expo.table.set_index("family").loc["exponential", "delta_aic"] < 2 + lr_limit


def test_mid_horizon_censors_open_visits(fitted: dict[str, FittedScenario]) -> None:
    """At the mid-horizon as-of many visits are open: they are kept, censored, in the fits."""
    end, mid = fitted["end"], fitted["mid"]
    for stage in DELAYS:
        path = f"stages.{stage}.delay"
        assert mid.fits[path].n_censored == int(stage_visits(mid, stage)["censored"].sum())
        assert mid.fits[path].n == len(stage_visits(mid, stage))
        assert mid.fits[path].n_censored / mid.fits[path].n >= \
            end.fits[path].n_censored / end.fits[path].n
    proposal = mid.fits["stages.proposal.delay"]
    assert proposal.n_censored / proposal.n > 0.1  # the point of the long stage


def test_dropping_open_visits_biases_the_median_short(fitted: dict[str, FittedScenario]) -> None:
    """The naive median of completed visits only (no censoring), computed from the journeys,
    is short of the truth by more than the sampling error, where the censored fit is not."""
    mid = fitted["mid"]
    v = stage_visits(mid, "proposal")
    t = v["hours"].to_numpy(float)
    obs = (~v["censored"]).to_numpy()
    true = DELAYS["proposal"].ppf(0.5)
    _, (se, _) = km_bootstrap(t, obs, (0.5, 0.9), rng_seed=seed(43))
    naive = float(np.median(t[obs]))
    fitted_median = float(mid.fits["stages.proposal.delay"].dist.ppf(0.5))
    assert naive < true - Z * se, (naive, true, se)
    assert abs(fitted_median - true) <= Z * se, (fitted_median, true, se)
    # and a naive fit of completed durations only is short for every stage with open visits
    for stage in DELAYS:
        sv = stage_visits(mid, stage)
        done = sv.loc[~sv["censored"], "hours"]
        if sv["censored"].any():
            assert float(done.median()) < float(mid.fits[f"stages.{stage}.delay"].dist.ppf(0.5))


def test_fitted_scenario_loads_and_runs(fitted: dict[str, FittedScenario]) -> None:
    sc = revsim.loads(fitted["end"].to_toml())
    assert {s.name for s in sc.model.stages} == set(ROUTES)
    result = sc.run(replications=2, seed=seed(44), horizon="2 w", warmup="0 h", progress=False)
    assert result.values("won").sum() > 0
