"""Fit durations, proportions and rates from event-log data, with right-censoring.

``fit_duration`` fits lognormal, gamma, Weibull, exponential and log-logistic distributions (all
with the lower end fixed at 0) by censored maximum likelihood, ranks them by AIC, checks the best
one's goodness of fit, and falls back to a two-lognormal mixture or to the empirical distribution
when no single family describes the data. The result carries a revsim distribution (hours), a
scenario spec ready for TOML, a Kaplan-Meier estimate for comparison and a plain-words note.

``fit_proportion`` gives a proportion with a Wilson interval; ``fit_rate`` an arrival rate with
a Poisson dispersion test.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import optimize, special, stats

from revsim.distributions import (
    Deterministic,
    Distribution,
    Empirical,
    Exponential,
    Gamma,
    Lognormal,
    Mixture,
    ScipyDist,
    Weibull,
)
from revsim.units import format_duration

__all__ = [
    "FAMILIES",
    "KS_ALPHA",
    "MIN_KS_N",
    "ZERO_SHIFT_MAX_SHARE",
    "DurationFit",
    "FamilyFit",
    "MixtureFit",
    "RateFit",
    "fit_duration",
    "fit_proportion",
    "fit_rate",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

FAMILIES: tuple[str, ...] = ("lognormal", "gamma", "weibull", "exponential", "loglogistic")
KS_ALPHA = 0.01
"""A family (or the mixture) fails when its KS p-value is below this ..."""
MIN_KS_N = 50
"""... and it was computed on at least this many uncensored durations."""
ZERO_SHIFT_MAX_SHARE = 0.01
"""Up to this share of exact zeros is shifted to half the smallest positive duration; more
zeros are kept as a point mass at 0."""
EMPIRICAL_MAX_VALUES = 1000
"""An empirical fallback keeps at most this many values (means of equal-count groups)."""
MIN_FIT_N = 3
"""Fewer uncensored positive durations than this: no family is fitted (empirical only)."""

_ALIASES = {
    "lognorm": "lognormal",
    "weibull_min": "weibull",
    "expon": "exponential",
    "fisk": "loglogistic",
    "log-logistic": "loglogistic",
}
_SCIPY_NAME = {
    "lognormal": "lognorm",
    "gamma": "gamma",
    "weibull": "weibull_min",
    "exponential": "expon",
    "loglogistic": "fisk",
}
# Our parameter names in scipy's order (shapes..., scale); scales are in hours.
_PARAM_NAMES = {
    "lognormal": ("sigma", "median"),
    "gamma": ("shape", "scale"),
    "weibull": ("shape", "scale"),
    "exponential": ("mean",),
    "loglogistic": ("c", "scale"),
}
# Anderson-Darling via scipy.stats.anderson: (transform of the data, scipy's name).
_AD = {
    "lognormal": (np.log, "norm"),
    "exponential": (None, "expon"),
    "weibull": (np.log, "gumbel_l"),
    "loglogistic": (np.log, "logistic"),
}
_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)
# Bounds for the two-lognormal mixture, on the log scale of the (median-scaled) data.
_MIX_MIN_SIGMA = 0.02
_MIX_MAX_SIGMA = 20.0
_MIX_MAX_LOGIT = 9.0
_MIX_SUBSAMPLE = 20_000
_MAX_LOG_SHAPE = math.log(1e6)  # |log shape| beyond this: a degenerate fit (no spread)
_BAD = 1e10  # objective value for parameters where the likelihood is not finite

ZeroHandling = Literal["none", "shifted", "point mass"]
Fallback = Literal["mixture", "empirical"]


# -- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FamilyFit:
    """One family fitted by censored maximum likelihood (to the positive durations).

    ``params`` are revsim-style (scales in hours): lognormal ``sigma, median``; gamma and
    Weibull ``shape, scale``; exponential ``mean``; log-logistic ``c, scale`` (scale = median).
    ``se`` are standard errors from the observed Fisher information (delta method on the log
    parameters); nan when it is singular.
    """

    family: str
    params: dict[str, float]
    se: dict[str, float]
    dist: Distribution | None
    loglik: float
    k: int
    aic: float
    bic: float
    ks_stat: float
    ks_p: float
    ad_stat: float
    ad_p: float
    converged: bool
    message: str


@dataclass(frozen=True)
class MixtureFit:
    """A two-lognormal mixture fitted by censored maximum likelihood (positive durations).

    Components are ordered by median (shorter first); ``medians`` in hours, ``sigmas`` on the
    log scale.
    """

    weights: tuple[float, float]
    medians: tuple[float, float]
    sigmas: tuple[float, float]
    dist: Mixture
    loglik: float
    aic: float
    bic: float
    ks_stat: float
    ks_p: float
    converged: bool


@dataclass
class DurationFit:
    """The result of ``fit_duration``.

    - ``table``: one row per family, best (lowest AIC among converged fits) first, with columns
      family, params, se, loglik, aic, delta_aic, bic, ks_stat, ks_p, ad_stat, ad_p, n,
      n_censored, converged, median_h, p90_h, mean_h (statistics of the positive durations when
      zeros are a point mass; see ``zeros``).
    - ``best``: the best family by AIC ("none" if no family could be fitted).
    - ``dist``: the distribution to simulate with, in hours (the best family, or the fallback).
    - ``spec``: the same as a scenario spec (a dict ready for TOML), which
      ``revsim.distributions.from_spec(spec, kind="duration", field=...)`` accepts.
    - ``fallback``: None, "mixture" or "empirical"; ``note`` says why, in plain words, and
      mentions zero handling, close runners-up and censoring caveats.
    - ``km``: Kaplan-Meier estimate on all durations (columns time (hours), survival,
      ci_lower, ci_upper); ``km_median`` and ``km_p90`` in hours (inf if not reached).
    """

    name: str
    table: pd.DataFrame
    best: str
    dist: Distribution
    spec: dict[str, Any]
    fallback: Fallback | None
    note: str
    km: pd.DataFrame
    km_median: float
    km_p90: float
    n: int
    n_censored: int
    n_zero: int
    zeros: ZeroHandling
    p_zero: float
    fits: dict[str, FamilyFit]
    mixture: MixtureFit | None
    durations: FloatArray = field(repr=False)
    observed: BoolArray = field(repr=False)
    fit_durations: FloatArray = field(repr=False)
    fit_observed: BoolArray = field(repr=False)

    def survival(self, family: str | None = None) -> Distribution | None:
        """The distribution of all durations (zeros included) for a family, or the chosen one."""
        if family is None:
            return self.dist
        ff = self.fits.get(family)
        if ff is None or ff.dist is None:
            return None
        return _with_zero_mass(ff.dist, self.p_zero)

    def describe(self) -> str:
        """A short human summary (name, n, chosen distribution, note)."""
        head = f"{self.name}: " if self.name else ""
        text = f"{head}n={self.n} ({self.n_censored} censored); {self.dist.describe(format_duration)}"
        return f"{text}. {self.note}" if self.note else text


@dataclass(frozen=True)
class RateFit:
    """An arrival rate from counts per period.

    ``ci`` is the exact (Garwood) Poisson interval, widened by the dispersion index
    (quasi-Poisson) when the counts are overdispersed (``overdispersion_p`` < 0.01).
    ``dispersion_index`` is the Pearson statistic over n - 1 (with equal periods, the sample
    variance over the mean; about 1 for Poisson); ``overdispersion_p`` its upper-tail p-value
    (chi2(n - 1)). ``period_hours`` is the mean period length, ``exposure_hours`` their sum.
    """

    rate_per_hour: float
    ci: tuple[float, float]
    dispersion_index: float
    overdispersion_p: float
    n_periods: int
    total: int
    period_hours: float
    exposure_hours: float
    note: str = ""


# -- public functions -------------------------------------------------------------------------


def fit_duration(
    durations: npt.ArrayLike,
    observed: npt.ArrayLike | None = None,
    *,
    families: Sequence[str] = FAMILIES,
    name: str = "",
) -> DurationFit:
    """Fit durations (hours), some right-censored, and choose a distribution to simulate with.

    ``observed[i]`` False means duration i is right-censored (the case was still open after
    that long); None means all are observed.

    Method:

    - Each family in ``families`` (lognormal, gamma, weibull, exponential, loglogistic; the
      lower end fixed at 0) is fitted by censored maximum likelihood with
      ``scipy.stats.<dist>.fit(CensoredData(...), floc=0)`` on durations divided by their
      median (for conditioning), optimised over the log parameters by L-BFGS-B (Nelder-Mead if
      that fails). Families are ranked by AIC (k parameters, n all durations); BIC is shown.
    - Goodness of fit: a Kolmogorov-Smirnov test of the uncensored durations. With censoring,
      completed durations are not a sample of the fitted distribution F (long ones are more
      often censored), so they are compared with F weighted by the probability of not being
      censored, estimated by the Kaplan-Meier estimate of the censoring times (this is the
      ordinary KS test when nothing is censored). The KS p-value is approximate: the
      parameters are estimated from the same data (which makes it conservative, as in
      Lilliefors' case) and the censoring distribution is estimated too; ties (durations
      rounded to days) make it anticonservative. Anderson-Darling (statistic and scipy's
      interpolated p-value, clipped to its tables' range of about 0.005-0.25) is given for
      lognormal, exponential, Weibull and log-logistic when nothing is censored, else nan.
    - Fallback: when no family converges, or the best one's KS p-value is below 0.01 with at
      least 50 uncensored durations, a two-component lognormal mixture is fitted by censored
      maximum likelihood (5 parameters, L-BFGS-B with an analytic gradient, several 2-means
      starts on the log durations); it is used if its KS p-value is at least 0.01, else an
      empirical distribution (at most 1000 equally likely values). Without censoring it holds
      the durations (means of equal-count groups when there are more than 1000). With
      censoring, resampling only the completed durations would understate long ones, so the
      values are quantiles of the Kaplan-Meier estimate; where KM stops (beyond the longest
      completed duration, if cases are still open there) the tail follows the mixture (or the
      best family) conditional on exceeding that duration. Only if there is no model for that
      tail are the completed durations used, and the note says they are biased short.
    - Zeros: negative or non-finite durations raise ValueError. Censored zeros carry no
      information and are dropped. If at most 1% of durations are exactly zero they are
      replaced by half the smallest positive duration; otherwise they are kept as a point mass
      at 0 (a mixture with ``fixed(0)``) and the families describe the positive durations.
    - A Kaplan-Meier estimate (lifelines) of all durations is kept for comparison and plots.
    """
    t, obs = _validate(durations, observed)
    fams = _check_families(families)
    n = len(t)
    n_cens = int((~obs).sum())
    notes: list[str] = []

    # Zeros: shift a few, or keep many as a point mass.
    zero_obs = (t == 0) & obs
    zero_cens = (t == 0) & ~obs
    n_zero = int(zero_obs.sum())
    zeros: ZeroHandling = "none"
    p_zero = 0.0
    ft, fobs = t.copy(), obs.copy()
    if zero_cens.any():
        notes.append(
            f"{int(zero_cens.sum())} censored durations of exactly 0 carry no information and were left out"
        )
    positive = t > 0
    if n_zero and not positive.any():
        raise ValueError("every observed duration is 0; there is nothing to fit")
    if n_zero and n_zero <= ZERO_SHIFT_MAX_SHARE * n:
        half = float(t[positive].min()) / 2
        ft = np.where(zero_obs, half, t)
        keep = ~zero_cens
        ft, fobs = ft[keep], fobs[keep]
        zeros = "shifted"
        notes.append(
            f"{_count(n_zero, 'duration')} ({n_zero / n:.1%}) {_was(n_zero)} exactly 0; "
            f"replaced by half the smallest positive duration ({format_duration(half)}) "
            "before fitting"
        )
    elif n_zero:
        p_zero = n_zero / n
        ft, fobs = t[positive], obs[positive]
        zeros = "point mass"
        notes.append(
            f"{_count(n_zero, 'duration')} ({p_zero:.1%}) are exactly 0 (e.g. events with "
            f"the same timestamp); they are kept as a point mass at 0 ({p_zero:.1%}) and the "
            "fitted families describe the positive durations"
        )
    else:
        ft, fobs = t[positive], obs[positive]

    km, km_median, km_p90 = _kaplan_meier(t, obs)
    n_unc = int(fobs.sum())
    if n_unc == 0:
        raise ValueError(
            f"{name + ': ' if name else ''}every duration is censored (still open); at least "
            "one completed duration is needed"
        )

    cadj = _CensoringAdjustment(ft, fobs)
    fits: dict[str, FamilyFit] = {}
    unc_values = np.unique(ft[fobs])
    can_fit = n_unc >= MIN_FIT_N and len(unc_values) >= 2
    if can_fit:
        scale = float(np.median(ft))
        for fam in fams:
            fits[fam] = _fit_family(fam, ft, fobs, scale, cadj, n_total=len(ft))
    else:
        fits = {fam: _failed_family(fam, "too few distinct completed durations") for fam in fams}

    ranked = sorted((f for f in fits.values() if f.converged), key=lambda f: (f.aic, fams.index(f.family)))
    failed = [f.family for f in fits.values() if not f.converged]
    if failed and can_fit:
        notes.append(f"{_join_words(failed)} did not converge and {_is_are(failed)} not ranked")
    best = ranked[0] if ranked else None
    table = _table(fits, ranked, n, n_cens)

    fallback: Fallback | None = None
    mixture: MixtureFit | None = None
    values: FloatArray | None = None
    chosen: Distribution | None = best.dist if best is not None else None
    if best is not None and len(ranked) > 1 and ranked[1].aic - best.aic < 2:
        notes.append(f"{ranked[1].family} fits almost as well (AIC {ranked[1].aic - best.aic:.1f} higher)")
    if best is not None and best.dist is not None and _infinite_mean(best.dist):
        notes.append(f"the fitted {best.family} has an infinite mean (a very heavy tail)")

    needs_fallback = best is None or (n_unc >= MIN_KS_N and best.ks_p < KS_ALPHA)
    if needs_fallback:
        why = (
            f"only {_count(n_unc, 'completed duration')}, too few to fit a distribution"
            if n_unc < MIN_FIT_N
            else f"all completed durations are equal ({_fmt_h(float(unc_values[0]))})"
            if not can_fit
            else "no family could be fitted"
            if best is None
            else f"no single family fits (best: {best.family}, KS {best.ks_stat:.2f}, {_fmt_p(best.ks_p)})"
        )
        if can_fit:
            mixture = _fit_mixture(ft, fobs, cadj)
        mix_ok = mixture is not None and mixture.converged and (mixture.ks_p >= KS_ALPHA or n_unc < MIN_KS_N)
        if mixture is not None and mix_ok:
            fallback, chosen = "mixture", mixture.dist
            (w1, w2), (m1, m2) = mixture.weights, mixture.medians
            notes.insert(
                0,
                f"{why}; the durations look bimodal ({w1:.0%} around "
                f"{format_duration(m1)}, {w2:.0%} around {format_duration(m2)}), so a "
                f"two-lognormal mixture is used (KS {mixture.ks_stat:.2f}, "
                f"{_fmt_p(mixture.ks_p)})",
            )
        else:
            fallback = "empirical"
            chosen = None
            mix_text = (
                f", and a two-lognormal mixture does not either (KS {mixture.ks_stat:.2f}, "
                f"{_fmt_p(mixture.ks_p)})"
                if mixture is not None and mixture.converged
                else ""
            )
            tail: Distribution | None = None
            tail_name = ""
            if mixture is not None and mixture.converged:
                tail, tail_name = mixture.dist, "two-lognormal mixture"
            elif best is not None:
                tail, tail_name = best.dist, best.family
            km_values = _km_values(t, obs, tail) if n_cens else None
            if km_values is not None:
                values, t_last, s_last = km_values
                text = (
                    f"{why}{mix_text}; durations are resampled from the Kaplan-Meier estimate "
                    f"instead (empirical), which accounts for the {n_cens} still-open "
                    f"({n_cens / n:.0%})"
                )
                if s_last > 1e-12:
                    text += (
                        f"; beyond the longest completed duration ({_fmt_h(t_last)}), where "
                        f"{s_last:.0%} are still open, the tail follows the {tail_name} fit"
                    )
            else:
                unc = t[obs]
                values = _reduce_values(unc)
                text = (
                    f"{why}{mix_text}; the completed durations (n={len(unc)}) are resampled "
                    "instead (empirical)"
                )
                if n_cens:
                    text += (
                        f"; {n_cens / n:.0%} of durations are still open (censored) and left "
                        "out, so long durations are understated (Kaplan-Meier median "
                        f"{_fmt_h(km_median)} vs {_fmt_h(float(np.median(unc)))} "
                        "for the completed ones)"
                    )
            grid = _grid_hint(ft[fobs]) if can_fit else ""
            if grid:
                text += f"; {grid}"
            notes.insert(0, text)

    if fallback == "empirical" or chosen is None:
        if values is None:
            values = _reduce_values(t[obs])
        dist: Distribution = Empirical(values)
        spec: dict[str, Any] = {
            "dist": "empirical",
            "values": [_sig(v) for v in values],
            "unit": "h",
        }
    else:
        dist = _with_zero_mass(chosen, p_zero)
        spec = _spec_with_zero_mass(chosen, p_zero)

    return DurationFit(
        name=name,
        table=table,
        best=best.family if best is not None else "none",
        dist=dist,
        spec=spec,
        fallback=fallback,
        note="; ".join(notes),
        km=km,
        km_median=km_median,
        km_p90=km_p90,
        n=n,
        n_censored=n_cens,
        n_zero=n_zero,
        zeros=zeros,
        p_zero=p_zero,
        fits=fits,
        mixture=mixture,
        durations=t,
        observed=obs,
        fit_durations=ft,
        fit_observed=fobs,
    )


def fit_proportion(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float, float]:
    """The share ``successes / trials`` with its Wilson score interval: ``(p, lo, hi)``."""
    k, n = _as_count(successes, "successes"), _as_count(trials, "trials")
    if n == 0:
        raise ValueError("trials must be > 0")
    if k > n:
        raise ValueError(f"successes ({k}) must not exceed trials ({n})")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
    return k / n, float(ci.low), float(ci.high)


def fit_rate(
    counts_per_period: npt.ArrayLike, period_hours: float | npt.ArrayLike, confidence: float = 0.95
) -> RateFit:
    """Arrival rate (per hour) from event counts in consecutive periods of ``period_hours``.

    ``period_hours`` is one length for all periods, or one per period (e.g. a shorter last
    week when the log ends mid-week). Overdispersion is tested against Poisson with the
    dispersion test sum((x - e)^2 / e) ~ chi2(n - 1), e = rate x period length (upper tail;
    with equal periods this is sum((x - mean)^2) / mean). See ``RateFit`` for the interval.
    """
    x = np.asarray(counts_per_period, dtype=float).ravel()
    if len(x) == 0:
        raise ValueError("counts_per_period must not be empty")
    if not np.isfinite(x).all() or (x < 0).any() or (x != np.round(x)).any():
        raise ValueError("counts_per_period must be non-negative whole numbers")
    given = np.asarray(period_hours, dtype=float)
    if given.ndim > 1 or given.size not in (1, len(x)):
        raise ValueError("period_hours must be one number or one per period")
    lengths = np.broadcast_to(given.ravel() if given.ndim else given, x.shape).astype(float)
    if not (np.isfinite(lengths).all() and (lengths > 0).all()):
        raise ValueError(f"period_hours must be > 0, got {given.tolist()!r}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    n = len(x)
    total = int(x.sum())
    exposure = float(lengths.sum())
    alpha = 1 - confidence
    if n >= 2 and total > 0:
        expected = total * lengths / exposure
        statistic = float(((x - expected) ** 2 / expected).sum())
        dispersion = statistic / (n - 1)
        p_over = float(stats.chi2.sf(statistic, n - 1))
    else:
        dispersion, p_over = math.nan, math.nan
    lo = 0.0 if total == 0 else float(stats.chi2.ppf(alpha / 2, 2 * total)) / 2
    hi = float(stats.chi2.ppf(1 - alpha / 2, 2 * total + 2)) / 2
    note = ""
    if p_over < KS_ALPHA:
        z = float(special.ndtri(1 - alpha / 2))
        half = z * math.sqrt(dispersion * total)
        lo, hi = max(total - half, 0.0), total + half
        note = (
            f"counts vary {dispersion:.1f}x more than Poisson ({_fmt_p(p_over)}); the interval "
            "is widened accordingly (quasi-Poisson); consider bursts or a seasonal profile"
        )
    return RateFit(
        rate_per_hour=total / exposure,
        ci=(lo / exposure, hi / exposure),
        dispersion_index=dispersion,
        overdispersion_p=p_over,
        n_periods=n,
        total=total,
        period_hours=exposure / n,
        exposure_hours=exposure,
        note=note,
    )


# -- input checks -----------------------------------------------------------------------------


def _validate(durations: npt.ArrayLike, observed: npt.ArrayLike | None) -> tuple[FloatArray, BoolArray]:
    t = np.asarray(durations, dtype=float)
    if t.ndim != 1:
        raise ValueError(f"durations must be one-dimensional, got shape {t.shape}")
    if len(t) == 0:
        raise ValueError("durations must not be empty")
    if observed is None:
        obs = np.ones(len(t), dtype=bool)
    else:
        raw = np.asarray(observed)
        if raw.shape != t.shape:
            raise ValueError(f"observed has shape {raw.shape} but durations has shape {t.shape}")
        if raw.dtype != bool and not np.isin(raw, (0, 1)).all():
            raise ValueError("observed must be booleans (False = right-censored)")
        obs = raw.astype(bool)
    bad = ~np.isfinite(t)
    if bad.any():
        raise ValueError(
            f"{_count(int(bad.sum()), 'duration')} {_is_are(int(bad.sum()))} not finite "
            f"(positions {_positions(bad)})"
        )
    neg = t < 0
    if neg.any():
        raise ValueError(
            f"{_count(int(neg.sum()), 'duration')} {_is_are(int(neg.sum()))} negative "
            f"(positions {_positions(neg)}; smallest {t.min():.4g} h); check that start and "
            "end events are not swapped"
        )
    return t, obs


def _check_families(families: Sequence[str]) -> list[str]:
    if isinstance(families, str):
        families = [families]
    out: list[str] = []
    for f in families:
        fam = _ALIASES.get(f, f)
        if fam not in FAMILIES:
            raise ValueError(f"unknown family {f!r}; choose from {', '.join(FAMILIES)}")
        if fam not in out:
            out.append(fam)
    if not out:
        raise ValueError("families must not be empty")
    return out


def _as_count(x: Any, name: str) -> int:
    if isinstance(x, bool) or not float(x) == int(x) or int(x) < 0:
        raise ValueError(f"{name} must be a non-negative whole number, got {x!r}")
    return int(x)


# -- family fits ------------------------------------------------------------------------------


def _make_dist(family: str, p: dict[str, float]) -> Distribution:
    if family == "lognormal":
        return Lognormal.from_median_sigma(p["median"], p["sigma"])
    if family == "gamma":
        return Gamma(p["shape"], p["scale"])
    if family == "weibull":
        return Weibull(p["shape"], p["scale"])
    if family == "exponential":
        return Exponential(p["mean"])
    return ScipyDist("fisk", c=p["c"], scale=p["scale"])


def _failed_family(family: str, message: str) -> FamilyFit:
    names = _PARAM_NAMES[family]
    nan = math.nan
    return FamilyFit(
        family=family,
        params={k: nan for k in names},
        se={k: nan for k in names},
        dist=None,
        loglik=nan,
        k=len(names),
        aic=nan,
        bic=nan,
        ks_stat=nan,
        ks_p=nan,
        ad_stat=nan,
        ad_p=nan,
        converged=False,
        message=message,
    )


def _fit_family(
    family: str,
    t: FloatArray,
    obs: BoolArray,
    scale: float,
    cadj: _CensoringAdjustment,
    n_total: int,
) -> FamilyFit:
    xu, xc = t[obs] / scale, t[~obs] / scale
    # The lognormal is fitted as a normal on the log durations (same likelihood up to the
    # Jacobian, and scipy's normal survival function is much faster than the lognormal's).
    lognormal = family == "lognormal"
    rv = stats.norm if lognormal else getattr(stats, _SCIPY_NAME[family])
    du, dc = (np.log(xu), np.log(xc)) if lognormal else (xu, xc)
    data = stats.CensoredData(uncensored=du, right=dc)
    # scipy solves some uncensored cases in closed form without calling the optimizer.
    state: dict[str, Any] = {"converged": True, "message": "closed form"}
    positive = [False, True] if lognormal else None  # free parameters that must be > 0
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            kw: dict[str, Any] = {} if lognormal else {"floc": 0}
            fitted = rv.fit(data, optimizer=_log_optimizer(state, len(t), positive), **kw)
    except (ValueError, RuntimeError, FloatingPointError, np.linalg.LinAlgError) as e:
        return _failed_family(family, f"scipy could not fit: {e}")
    fitted = np.asarray(fitted, dtype=float)
    if lognormal:
        mu, sigma = fitted
        z_hat = np.array([math.log(sigma) if sigma > 0 else math.nan, mu])
    else:
        free = np.array([*fitted[:-2], fitted[-1]])  # shapes..., scale (loc is 0)
        z_hat = np.log(free) if (free > 0).all() else np.full(len(free), math.nan)
    if not np.isfinite(z_hat).all() or (np.abs(z_hat[: len(z_hat) - 1]) > _MAX_LOG_SHAPE).any():
        return _failed_family(family, f"degenerate fit: parameters {fitted.tolist()}")

    def nll(z: FloatArray) -> float:
        with np.errstate(all="ignore"):
            if lognormal:
                args: tuple[float, ...] = ()
                kwargs = {"loc": z[1], "scale": float(np.exp(z[0]))}
            else:
                p = np.exp(z)
                args, kwargs = tuple(p[:-1]), {"scale": p[-1]}
            ll = rv.logpdf(du, *args, **kwargs).sum() + rv.logsf(dc, *args, **kwargs).sum()
        return -float(ll)

    se_log = _hessian_se(nll, z_hat)
    # Log-likelihood in hours: the density picks up 1/scale per uncensored value (and 1/x
    # for the log transform).
    loglik = -nll(z_hat) - len(xu) * math.log(scale)
    if lognormal:
        loglik -= float(du.sum())
        values = [math.exp(z_hat[0]), math.exp(z_hat[1]) * scale]
    else:
        values = [*np.exp(z_hat[:-1]), math.exp(z_hat[-1]) * scale]
    names = _PARAM_NAMES[family]
    params = {k: float(v) for k, v in zip(names, values, strict=True)}
    se = {k: float(v * e) for k, v, e in zip(names, values, se_log, strict=True)}
    if not math.isfinite(loglik):
        return _failed_family(family, "the log-likelihood is not finite at the fitted values")
    try:
        dist = _make_dist(family, params)
    except ValueError as e:
        return _failed_family(family, f"invalid fitted parameters: {e}")
    k = len(names)
    ks_stat, ks_p = cadj.ks(dist.cdf, t[obs])
    ad_stat, ad_p = _anderson(family, t[obs]) if obs.all() else (math.nan, math.nan)
    return FamilyFit(
        family=family,
        params=params,
        se=se,
        dist=dist,
        loglik=loglik,
        k=k,
        aic=2 * k - 2 * loglik,
        bic=k * math.log(n_total) - 2 * loglik,
        ks_stat=ks_stat,
        ks_p=ks_p,
        ad_stat=ad_stat,
        ad_p=ad_p,
        converged=bool(state["converged"]),
        message=str(state["message"]),
    )


def _log_optimizer(
    state: dict[str, Any], n: int, positive: Sequence[bool] | None = None
) -> Callable[..., FloatArray]:
    """An optimizer for ``rv.fit``: BFGS on the mean negative log-likelihood over the free
    parameters, positive ones on the log scale; Nelder-Mead from there if BFGS does not report
    success. Records convergence in ``state``.

    (BFGS rather than L-BFGS-B: the latter's per-iteration overhead dominates these 1-2
    parameter problems on a busy machine.)
    """
    per = 1.0 / max(n, 1)

    def optimizer(
        func: Callable[..., float], x0: Any, args: tuple[Any, ...] = (), disp: int = 0
    ) -> FloatArray:
        start = np.asarray(x0, dtype=float)
        pos = np.ones(len(start), bool) if positive is None else np.asarray(positive, bool)
        start = np.where(np.isfinite(start) & ((start > 0) | ~pos), start, 1.0)

        def to_params(z: FloatArray) -> FloatArray:
            return np.where(pos, np.exp(np.where(pos, z, 0.0)), z)

        def f(z: FloatArray) -> float:
            v = float(func(to_params(z), *args)) * per
            return v if math.isfinite(v) else _BAD

        z0 = np.where(pos, np.log(np.where(pos, start, 1.0)), start)
        res = optimize.minimize(f, z0, method="BFGS")
        ok = bool(res.success) and res.fun < _BAD
        if not ok:
            nm = optimize.minimize(
                f,
                res.x if res.fun < _BAD else z0,
                method="Nelder-Mead",
                options={"xatol": 1e-7, "fatol": 1e-12, "maxiter": 4000},
            )
            if nm.fun <= res.fun:
                res = nm
            ok = bool(nm.success) and nm.fun < _BAD
        state["converged"] = ok
        state["message"] = str(res.message)
        return to_params(np.asarray(res.x, dtype=float))

    return optimizer


def _hessian_se(nll: Callable[[FloatArray], float], z: FloatArray, h: float = 1e-3) -> FloatArray:
    """Standard errors from the inverse of a central-difference Hessian of ``nll`` at ``z``."""
    k = len(z)
    f0 = nll(z)
    hess = np.empty((k, k))
    eye = np.eye(k) * h
    for i in range(k):
        hess[i, i] = (nll(z + eye[i]) - 2 * f0 + nll(z - eye[i])) / h**2
        for j in range(i):
            v = (
                nll(z + eye[i] + eye[j])
                - nll(z + eye[i] - eye[j])
                - nll(z - eye[i] + eye[j])
                + nll(z - eye[i] - eye[j])
            ) / (4 * h**2)
            hess[i, j] = hess[j, i] = v
    try:
        cov = np.linalg.inv(hess)
    except np.linalg.LinAlgError:
        return np.full(k, math.nan)
    d = np.diag(cov)
    return np.where(np.isfinite(d) & (d > 0), np.sqrt(np.abs(d)), math.nan)


def _anderson(family: str, x: FloatArray) -> tuple[float, float]:
    if family not in _AD or len(x) < 8:
        return math.nan, math.nan
    transform, dist = _AD[family]
    v = transform(x) if transform is not None else x
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            res = stats.anderson(v, dist, method="interpolate")  # type: ignore[call-arg]
        return float(res.statistic), float(res.pvalue)
    except (TypeError, ValueError, RuntimeError):  # scipy < 1.17 has no p-values
        return math.nan, math.nan


class _CensoringAdjustment:
    """The distribution of completed durations implied by a fitted F and the censoring.

    A duration t is completed if T <= C, so completed durations have density
    f(t) P(C >= t) / P(T <= C). P(C >= t) is the Kaplan-Meier estimate of the censoring times
    (events at a tied time count as before censorings), a step function; the integral is exact
    for it. Without censoring this is F itself.
    """

    def __init__(self, t: FloatArray, obs: BoolArray) -> None:
        u, inv = np.unique(t, return_inverse=True)
        d_obs = np.bincount(inv, weights=obs.astype(float), minlength=len(u))
        d_cens = np.bincount(inv, weights=(~obs).astype(float), minlength=len(u))
        counts = d_obs + d_cens
        at_risk = len(t) - np.concatenate(([0.0], np.cumsum(counts)[:-1]))
        cens = d_cens > 0
        factor = 1 - d_cens[cens] / (at_risk[cens] - d_obs[cens])
        self.breaks = np.concatenate(([0.0], u[cens]))
        self.weights = np.concatenate(([1.0], np.cumprod(factor)))

    def cdf(self, cdf: Callable[[FloatArray], Any]) -> Callable[[FloatArray], FloatArray]:
        b, g = self.breaks, self.weights
        fb = np.asarray(cdf(b), dtype=float)
        cum = np.concatenate(([0.0], np.cumsum(g[:-1] * np.diff(fb))))
        total = cum[-1] + g[-1] * (1 - fb[-1])

        def adjusted(x: FloatArray) -> FloatArray:
            xa = np.asarray(x, dtype=float)
            k = np.clip(np.searchsorted(b, xa, side="left") - 1, 0, len(b) - 1)
            m = cum[k] + g[k] * (np.asarray(cdf(xa), dtype=float) - fb[k])
            out = np.where(xa > 0, m / total, 0.0) if total > 0 else np.full_like(xa, math.nan)
            return np.clip(out, 0.0, 1.0)

        return adjusted

    def ks(self, cdf: Callable[[FloatArray], Any], x: FloatArray) -> tuple[float, float]:
        """KS statistic and p-value of completed durations ``x`` against adjusted ``cdf``."""
        if len(x) == 0:
            return math.nan, math.nan
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            res = stats.kstest(x, self.cdf(cdf))
        return float(res.statistic), float(res.pvalue)


# -- two-lognormal mixture --------------------------------------------------------------------


def _mixture_nll(theta: FloatArray, yu: FloatArray, yc: FloatArray) -> tuple[float, FloatArray]:
    """Negative log-likelihood (log scale, without the -sum(y) Jacobian) and its gradient.

    theta = (logit w1, mu1, log sigma1, mu2, log sigma2).
    """
    a = theta[0]
    mu = theta[[1, 3]]
    ls = theta[[2, 4]]
    s = np.exp(ls)
    w1 = special.expit(a)
    logw = np.array([-np.logaddexp(0.0, -a), -np.logaddexp(0.0, a)])
    dlogw = np.array([1 - w1, -w1])
    grad = np.zeros(5)
    ll = 0.0
    if len(yu):
        z = (yu[:, None] - mu) / s
        term = logw - 0.5 * z**2 - _LOG_SQRT_2PI - ls
        lse = np.logaddexp(term[:, 0], term[:, 1])
        r = np.exp(term - lse[:, None])
        ll += float(lse.sum())
        grad[0] += float((r @ dlogw).sum())
        grad[[1, 3]] += (r * z).sum(axis=0) / s
        grad[[2, 4]] += (r * (z**2 - 1)).sum(axis=0)
    if len(yc):
        z = (yc[:, None] - mu) / s
        lsf = special.log_ndtr(-z)
        term = logw + lsf
        lse = np.logaddexp(term[:, 0], term[:, 1])
        r = np.exp(term - lse[:, None])
        h = np.exp(-0.5 * z**2 - _LOG_SQRT_2PI - lsf)  # inverse Mills ratio
        ll += float(lse.sum())
        grad[0] += float((r @ dlogw).sum())
        grad[[1, 3]] += (r * h).sum(axis=0) / s
        grad[[2, 4]] += (r * h * z).sum(axis=0)
    return -ll, -grad


def _two_means(y: FloatArray, lo: float, hi: float) -> FloatArray | None:
    c = np.array([lo, hi], dtype=float)
    for _ in range(50):
        split = (c[0] + c[1]) / 2
        left = y <= split
        if left.all() or not left.any():
            return None
        new = np.array([y[left].mean(), y[~left].mean()])
        if np.allclose(new, c):
            break
        c = new
    left = y <= (c[0] + c[1]) / 2
    w = float(np.clip(left.mean(), 0.02, 0.98))
    sd = [max(float(y[left].std()), 0.1), max(float(y[~left].std()), 0.1)]
    return np.array([math.log(w / (1 - w)), c[0], math.log(sd[0]), c[1], math.log(sd[1])])


def _minimize_mixture(
    x0: FloatArray, yu: FloatArray, yc: FloatArray, bounds: list[tuple[float, float]]
) -> Any:
    with np.errstate(all="ignore"):
        return optimize.minimize(_mixture_nll, x0, args=(yu, yc), jac=True, method="L-BFGS-B", bounds=bounds)


def _fit_mixture(t: FloatArray, obs: BoolArray, cadj: _CensoringAdjustment) -> MixtureFit | None:
    scale = float(np.median(t))
    y = np.log(t / scale)
    yu, yc = y[obs], y[~obs]
    qs = np.quantile(yu, [0.1, 0.25, 0.5, 0.75, 0.9])
    starts = [_two_means(yu, lo, hi) for lo, hi in ((qs[1], qs[3]), (qs[0], qs[2]), (qs[2], qs[4]))]
    span = (float(y.min()) - 5, float(y.max()) + 5)
    bounds = [
        (-_MIX_MAX_LOGIT, _MIX_MAX_LOGIT),
        span,
        (math.log(_MIX_MIN_SIGMA), math.log(_MIX_MAX_SIGMA)),
        span,
        (math.log(_MIX_MIN_SIGMA), math.log(_MIX_MAX_SIGMA)),
    ]
    # With many durations, pick the best start on a fixed subsample, then polish on all.
    if len(y) > _MIX_SUBSAMPLE:
        pick = np.random.default_rng(0).choice(len(y), _MIX_SUBSAMPLE, replace=False)
        sub = np.zeros(len(y), bool)
        sub[pick] = True
        su, sc = y[obs & sub], y[~obs & sub]
    else:
        su, sc = yu, yc
    best: Any = None
    for x0 in starts:
        if x0 is None:
            continue
        res = _minimize_mixture(x0, su, sc, bounds)
        if np.isfinite(res.fun) and (best is None or res.fun < best.fun):
            best = res
    if best is None:
        return None
    if len(y) > _MIX_SUBSAMPLE:
        best = _minimize_mixture(best.x, yu, yc, bounds)
        if not np.isfinite(best.fun):
            return None
    a, m1, l1, m2, l2 = (float(v) for v in best.x)
    gnorm = float(np.abs(best.jac).max()) if best.jac is not None else math.inf
    converged = bool(best.success) or gnorm < 1e-4 * max(len(y), 1)
    w1 = float(special.expit(a))
    comps = [(w1, m1 + math.log(scale), math.exp(l1)), (1 - w1, m2 + math.log(scale), math.exp(l2))]
    comps.sort(key=lambda c: c[1])
    (wa, ma, sa), (wb, mb, sb) = comps
    try:
        dist = Mixture([Lognormal(ma, sa), Lognormal(mb, sb)], [wa, wb])
    except ValueError:
        return None
    loglik = -float(best.fun) - float(np.log(t[obs]).sum())
    ks_stat, ks_p = cadj.ks(dist.cdf, t[obs])
    return MixtureFit(
        weights=(wa, wb),
        medians=(math.exp(ma), math.exp(mb)),
        sigmas=(sa, sb),
        dist=dist,
        loglik=loglik,
        aic=2 * 5 - 2 * loglik,
        bic=5 * math.log(len(t)) - 2 * loglik,
        ks_stat=ks_stat,
        ks_p=ks_p,
        converged=converged,
    )


# -- Kaplan-Meier -----------------------------------------------------------------------------


def _kaplan_meier(t: FloatArray, obs: BoolArray) -> tuple[pd.DataFrame, float, float]:
    from lifelines import KaplanMeierFitter

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kmf = KaplanMeierFitter().fit(t, event_observed=obs)
    sf = kmf.survival_function_
    ci = kmf.confidence_interval_
    km = pd.DataFrame(
        {
            "time": sf.index.to_numpy(dtype=float),
            "survival": sf.iloc[:, 0].to_numpy(dtype=float),
            "ci_lower": ci.iloc[:, 0].to_numpy(dtype=float),
            "ci_upper": ci.iloc[:, 1].to_numpy(dtype=float),
        }
    )
    return km, _km_quantile(km, 0.5), _km_quantile(km, 0.9)


def _km_quantile(km: pd.DataFrame, q: float) -> float:
    """The first time at which the KM survival is at or below 1 - q (inf if never)."""
    s = km["survival"].to_numpy()
    hit = np.flatnonzero(s <= 1 - q + 1e-12)
    return float(km["time"].iloc[hit[0]]) if len(hit) else math.inf


# -- table, specs, text -----------------------------------------------------------------------


def _table(fits: dict[str, FamilyFit], ranked: list[FamilyFit], n: int, n_cens: int) -> pd.DataFrame:
    order = [f.family for f in ranked] + [f for f in fits if not fits[f].converged]
    best_aic = ranked[0].aic if ranked else math.nan
    rows = []
    for fam in order:
        f = fits[fam]
        d = f.dist
        rows.append(
            {
                "family": fam,
                "params": f.params,
                "se": f.se,
                "loglik": f.loglik,
                "aic": f.aic,
                "delta_aic": f.aic - best_aic,
                "bic": f.bic,
                "ks_stat": f.ks_stat,
                "ks_p": f.ks_p,
                "ad_stat": f.ad_stat,
                "ad_p": f.ad_p,
                "n": n,
                "n_censored": n_cens,
                "converged": f.converged,
                "median_h": float(d.ppf(0.5)) if d is not None else math.nan,
                "p90_h": float(d.ppf(0.9)) if d is not None else math.nan,
                "mean_h": float(d.mean) if d is not None else math.nan,
            }
        )
    return pd.DataFrame(rows)


def _with_zero_mass(dist: Distribution, p_zero: float) -> Distribution:
    if p_zero <= 0:
        return dist
    if isinstance(dist, Mixture):
        w = [p_zero, *((1 - p_zero) * dist.weights)]
        return Mixture([Deterministic(0.0), *dist.components], w)
    return Mixture([Deterministic(0.0), dist], [p_zero, 1 - p_zero])


def _spec_with_zero_mass(dist: Distribution, p_zero: float) -> dict[str, Any]:
    if isinstance(dist, Mixture):
        comps = [_spec(c) for c in dist.components]
        weights = [float(w) for w in dist.weights]
    else:
        comps, weights = [_spec(dist)], [1.0]
    if p_zero > 0:
        comps = [{"dist": "fixed", "value": "0 h"}, *comps]
        weights = [p_zero, *((1 - p_zero) * np.asarray(weights)).tolist()]
    if len(comps) == 1:
        return comps[0]
    return {"dist": "mixture", "weights": _round_weights(weights), "components": comps}


def _round_weights(weights: Sequence[float]) -> list[float]:
    w = [round(float(x), 6) for x in weights]
    i = int(np.argmax(w))
    w[i] = round(w[i] + 1 - sum(w), 6)
    return w


def _spec(d: Distribution) -> dict[str, Any]:
    """A duration spec with values like "3.2 d" (4 significant digits)."""
    unit = _unit_for(float(d.ppf(0.5)))

    def dur(hours: float) -> str:
        return _dur(hours, unit)

    if isinstance(d, Lognormal):
        median, p90 = dur(d.median), dur(float(d.ppf(0.9)))
        if float(p90.split()[0]) <= float(median.split()[0]):  # too narrow for 4 digits
            return {"dist": "lognormal", "median": median, "sigma": _sig(d.sigma)}
        return {"dist": "lognormal", "median": median, "p90": p90}
    if isinstance(d, Gamma):
        return {"dist": "gamma", "shape": _sig(d.shape), "scale": dur(d.scale)}
    if isinstance(d, Weibull):
        return {"dist": "weibull", "shape": _sig(d.shape), "scale": dur(d.scale)}
    if isinstance(d, Exponential):
        return {"dist": "exponential", "mean": dur(d.mean)}
    if isinstance(d, ScipyDist):
        shapes = {k: _sig(v) for k, v in d.params.items() if k not in ("loc", "scale")}
        return {"dist": "scipy", "name": d.name, **shapes, "scale": dur(d.params["scale"])}
    raise TypeError(f"no spec form for {type(d).__name__}")


_UNITS = (("min", 1 / 60), ("h", 1.0), ("d", 24.0))


def _unit_for(hours: float) -> tuple[str, float]:
    if not math.isfinite(hours) or hours >= 48:
        return _UNITS[2]
    if hours >= 1:
        return _UNITS[1]
    return _UNITS[0]


def _dur(hours: float, unit: tuple[str, float]) -> str:
    label, size = unit
    text = np.format_float_positional(_sig(hours / size), trim="-")
    return f"{text} {label}"


def _sig(x: float, digits: int = 4) -> float:
    return float(f"{float(x):.{digits}g}")


def _km_values(
    t: FloatArray, obs: BoolArray, tail: Distribution | None
) -> tuple[FloatArray, float, float] | None:
    """Equal-weight values representing the Kaplan-Meier estimate: its quantiles at
    (i + 0.5) / m, and beyond the longest completed duration (where KM stops) the quantiles of
    ``tail`` conditional on exceeding it. Returns (values, longest completed duration, KM
    survival there), or None when KM stops short and there is no tail model."""
    u, inv = np.unique(t, return_inverse=True)
    d = np.bincount(inv, weights=obs.astype(float), minlength=len(u))
    counts = np.bincount(inv, minlength=len(u))
    at_risk = len(t) - np.concatenate(([0], np.cumsum(counts)[:-1]))
    surv = np.cumprod(1 - d / at_risk)
    ev = d > 0
    times, cdf = u[ev], 1 - surv[ev]
    t_last, f_last = float(times[-1]), float(cdf[-1])
    s_last = max(1 - f_last, 0.0)
    if s_last > 1e-12 and tail is None:
        return None
    m = min(EMPIRICAL_MAX_VALUES, len(t))
    p = (np.arange(m) + 0.5) / m
    body = p <= f_last
    out = np.empty(m)
    idx = np.searchsorted(cdf, p[body] - 1e-12, side="left")
    out[body] = times[np.minimum(idx, len(times) - 1)]
    if (~body).any():
        assert tail is not None
        f_m = float(tail.cdf(t_last))
        q = f_m + (p[~body] - f_last) / s_last * (1 - f_m)
        with np.errstate(all="ignore"):
            x = np.asarray(tail.ppf(np.clip(q, 0.0, 1 - 1e-12)), dtype=float)
        out[~body] = np.where(np.isfinite(x), np.maximum(x, t_last), t_last)
    return np.sort(out), t_last, s_last


def _reduce_values(x: FloatArray) -> FloatArray:
    """At most EMPIRICAL_MAX_VALUES values: equally spaced quantiles of the data (each stands
    for the same share of it, so resampling them keeps the distribution unbiased)."""
    s = np.sort(np.asarray(x, dtype=float))
    k = EMPIRICAL_MAX_VALUES
    if len(s) <= k:
        return s
    return np.quantile(s, (np.arange(k) + 0.5) / k)


def _infinite_mean(d: Distribution) -> bool:
    return not math.isfinite(d.mean)


def _fmt_h(hours: float) -> str:
    return format_duration(hours) if math.isfinite(hours) else "not reached"


_GRIDS = (("whole days", 24.0), ("whole hours", 1.0), ("whole minutes", 1 / 60))


def _grid_hint(x: FloatArray) -> str:
    """A hint when completed durations are rounded to a coarse grid (many ties)."""
    distinct = len(np.unique(x))
    if len(x) < MIN_KS_N or distinct > len(x) / 5:
        return ""
    for label, size in _GRIDS:
        k = x / size
        if np.allclose(k, np.round(k), rtol=0, atol=1e-6):
            return (
                f"the durations are recorded in {label} ({distinct} distinct values), and the "
                "KS test is strict about such ties: a fitted family may still be usable"
            )
    return ""


def _fmt_p(p: float) -> str:
    if not math.isfinite(p):
        return "p n/a"
    return "p < 0.001" if p < 0.001 else f"p = {p:.2g}"


def _count(k: int, noun: str) -> str:
    return f"{k} {noun}" + ("" if k == 1 else "s")


def _was(k: int) -> str:
    return "was" if k == 1 else "were"


def _is_are(k: int | Sequence[Any]) -> str:
    n = k if isinstance(k, int) else len(k)
    return "is" if n == 1 else "are"


def _join_words(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _positions(mask: BoolArray, limit: int = 5) -> str:
    idx = np.flatnonzero(mask)
    text = ", ".join(str(int(i)) for i in idx[:limit])
    return text + (f" (+{len(idx) - limit} more)" if len(idx) > limit else "")
