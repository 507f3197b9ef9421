"""Fit durations from event-log data, with right-censoring.

``fit_duration`` fits lognormal, gamma, Weibull, exponential and log-logistic distributions (all
with the lower end fixed at 0) by censored maximum likelihood, ranks them by AIC, checks the best
one's goodness of fit, and falls back to a two-lognormal mixture or to the empirical distribution
when no single family describes the data. The result carries a revsim distribution (hours), a
scenario spec ready for TOML, a Kaplan-Meier estimate for comparison and a plain-words note.

Shares and arrival rates are in revsim.calibrate.rates.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from revsim.calibrate._families import (
    FAMILIES,
    FamilyFit,
    check_families,
    comparison_table,
    failed_family,
    fit_family,
)
from revsim.calibrate._format import (
    count,
    fmt_h,
    fmt_p,
    is_are,
    join_words,
    positions,
    sig,
    spec_with_zero_mass,
    was,
    with_zero_mass,
)
from revsim.calibrate._gof import KS_ALPHA, MIN_KS_N, CensoringAdjustment, grid_hint
from revsim.calibrate._mixture import MixtureFit, fit_mixture, km_values, reduce_values
from revsim.calibrate.survival import km_quantile, km_table
from revsim.distributions import Distribution, Empirical
from revsim.units import format_duration

__all__ = [
    "FAMILIES",
    "KS_ALPHA",
    "MIN_KS_N",
    "ZERO_SHIFT_MAX_SHARE",
    "DurationFit",
    "FamilyFit",
    "MixtureFit",
    "fit_duration",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


ZERO_SHIFT_MAX_SHARE = 0.01
"""Up to this share of exact zeros is shifted to half the smallest positive duration; more
zeros are kept as a point mass at 0."""
MIN_FIT_N = 3
"""Fewer uncensored positive durations than this: no family is fitted (empirical only)."""

ZeroHandling = Literal["none", "shifted", "point mass"]
Fallback = Literal["mixture", "empirical"]


# -- results ----------------------------------------------------------------------------------


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
        return with_zero_mass(ff.dist, self.p_zero)

    def describe(self) -> str:
        """A short human summary (name, n, chosen distribution, note)."""
        head = f"{self.name}: " if self.name else ""
        text = f"{head}n={self.n} ({self.n_censored} censored); {self.dist.describe(format_duration)}"
        return f"{text}. {self.note}" if self.note else text


# -- public functions -------------------------------------------------------------------------


def fit_duration(
    durations: npt.ArrayLike,
    observed: npt.ArrayLike | None = None,
    *,
    families: Sequence[str] = FAMILIES,
    name: str = "",
    like: DurationFit | None = None,
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
    - A Kaplan-Meier estimate of all durations (revsim.calibrate.survival) is kept for
      comparison and plots.
    - ``like``: refit in the form an earlier fit chose, as a bootstrap of that fit needs
      (revsim.calibrate.draws): only its family is fitted, and its fallback (mixture or
      empirical, with the same kind of tail) is used whatever this data's goodness of fit says;
      the parameters are this data's (a mixture starts from the earlier one's). The draws are
      then conditional on the model chosen; the refit's note and table are not meaningful.
    """
    t, obs = _validate(durations, observed)
    fams = check_families((like.best,) if like is not None and like.best in FAMILIES
                          else families)
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
            f"{count(n_zero, 'duration')} ({n_zero / n:.1%}) {was(n_zero)} exactly 0; "
            f"replaced by half the smallest positive duration ({format_duration(half)}) "
            "before fitting"
        )
    elif n_zero:
        p_zero = n_zero / n
        ft, fobs = t[positive], obs[positive]
        zeros = "point mass"
        notes.append(
            f"{count(n_zero, 'duration')} ({p_zero:.1%}) are exactly 0 (e.g. events with "
            f"the same timestamp); they are kept as a point mass at 0 ({p_zero:.1%}) and the "
            "fitted families describe the positive durations"
        )
    else:
        ft, fobs = t[positive], obs[positive]

    km = km_table(t, obs)
    km_median, km_p90 = (km_quantile(km["time"].to_numpy(), km["survival"].to_numpy(), q)
                         for q in (0.5, 0.9))
    n_unc = int(fobs.sum())
    if n_unc == 0:
        raise ValueError(
            f"{name + ': ' if name else ''}every duration is censored (still open); at least "
            "one completed duration is needed"
        )

    cadj = CensoringAdjustment(ft, fobs)
    fits: dict[str, FamilyFit] = {}
    unc_values = np.unique(ft[fobs])
    can_fit = n_unc >= MIN_FIT_N and len(unc_values) >= 2
    like_mixture = like is not None and like.mixture is not None and like.mixture.converged
    # a refit needs a family only where the form it copies used one (not for a mixture, nor
    # for an empirical fallback whose tail was a mixture)
    no_family = like is not None and (like.fallback == "mixture"
                                      or like.fallback == "empirical" and like_mixture)
    if not can_fit:
        fits = {fam: failed_family(fam, "too few distinct completed durations") for fam in fams}
    elif not no_family:
        scale = float(np.median(ft))
        for fam in fams:
            fits[fam] = fit_family(fam, ft, fobs, scale, cadj, n_total=len(ft))

    ranked = sorted((f for f in fits.values() if f.converged), key=lambda f: (f.aic, fams.index(f.family)))
    failed = [f.family for f in fits.values() if not f.converged]
    if failed and can_fit:
        notes.append(f"{join_words(failed)} did not converge and {is_are(failed)} not ranked")
    best = ranked[0] if ranked else None
    table = comparison_table(fits, ranked, n, n_cens)

    fallback: Fallback | None = None
    mixture: MixtureFit | None = None
    values: FloatArray | None = None
    chosen: Distribution | None = best.dist if best is not None else None
    if best is not None and len(ranked) > 1 and ranked[1].aic - best.aic < 2:
        notes.append(f"{ranked[1].family} fits almost as well (AIC {ranked[1].aic - best.aic:.1f} higher)")
    if best is not None and best.dist is not None and _infinite_mean(best.dist):
        notes.append(f"the fitted {best.family} has an infinite mean (a very heavy tail)")

    needs_fallback = best is None or (n_unc >= MIN_KS_N and best.ks_p < KS_ALPHA)
    if like is not None:
        needs_fallback = best is None or like.fallback is not None
    if needs_fallback:
        why = (
            f"only {count(n_unc, 'completed duration')}, too few to fit a distribution"
            if n_unc < MIN_FIT_N
            else f"all completed durations are equal ({fmt_h(float(unc_values[0]))})"
            if not can_fit
            else "no family could be fitted"
            if best is None
            else f"no single family fits (best: {best.family}, KS {best.ks_stat:.2f}, {fmt_p(best.ks_p)})"
        )
        if can_fit and (like is None or like_mixture):
            mixture = fit_mixture(ft, fobs, cadj, start=like.mixture if like else None)
        mix_ok = mixture is not None and mixture.converged and (
            like.fallback == "mixture" if like is not None
            else mixture.ks_p >= KS_ALPHA or n_unc < MIN_KS_N)
        if mixture is not None and mix_ok:
            fallback, chosen = "mixture", mixture.dist
            (w1, w2), (m1, m2) = mixture.weights, mixture.medians
            notes.insert(
                0,
                f"{why}; the durations look bimodal ({w1:.0%} around "
                f"{format_duration(m1)}, {w2:.0%} around {format_duration(m2)}), so a "
                f"two-lognormal mixture is used (KS {mixture.ks_stat:.2f}, "
                f"{fmt_p(mixture.ks_p)})",
            )
        else:
            fallback = "empirical"
            chosen = None
            mix_text = (
                f", and a two-lognormal mixture does not either (KS {mixture.ks_stat:.2f}, "
                f"{fmt_p(mixture.ks_p)})"
                if mixture is not None and mixture.converged
                else ""
            )
            tail: Distribution | None = None
            tail_name = ""
            if mixture is not None and mixture.converged:
                tail, tail_name = mixture.dist, "two-lognormal mixture"
            elif best is not None:
                tail, tail_name = best.dist, best.family
            from_km = km_values(t, obs, tail) if n_cens else None
            if from_km is not None:
                values, t_last, s_last = from_km
                text = (
                    f"{why}{mix_text}; durations are resampled from the Kaplan-Meier estimate "
                    f"instead (empirical), which accounts for the {n_cens} still-open "
                    f"({n_cens / n:.0%})"
                )
                if s_last > 1e-12:
                    text += (
                        f"; beyond the longest completed duration ({fmt_h(t_last)}), where "
                        f"{s_last:.0%} are still open, the tail follows the {tail_name} fit"
                    )
            else:
                unc = t[obs]
                values = reduce_values(unc)
                text = (
                    f"{why}{mix_text}; the completed durations (n={len(unc)}) are resampled "
                    "instead (empirical)"
                )
                if n_cens:
                    text += (
                        f"; {n_cens / n:.0%} of durations are still open (censored) and left "
                        "out, so long durations are understated (Kaplan-Meier median "
                        f"{fmt_h(km_median)} vs {fmt_h(float(np.median(unc)))} "
                        "for the completed ones)"
                    )
            grid = grid_hint(ft[fobs]) if can_fit else ""
            if grid:
                text += f"; {grid}"
            notes.insert(0, text)

    if fallback == "empirical" or chosen is None:
        if values is None:
            values = reduce_values(t[obs])
        dist: Distribution = Empirical(values)
        spec: dict[str, Any] = {
            "dist": "empirical",
            "values": [sig(v) for v in values],
            "unit": "h",
        }
    else:
        dist = with_zero_mass(chosen, p_zero)
        spec = spec_with_zero_mass(chosen, p_zero)

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
            f"{count(int(bad.sum()), 'duration')} {is_are(int(bad.sum()))} not finite "
            f"(positions {positions(bad)})"
        )
    neg = t < 0
    if neg.any():
        raise ValueError(
            f"{count(int(neg.sum()), 'duration')} {is_are(int(neg.sum()))} negative "
            f"(positions {positions(neg)}; smallest {t.min():.4g} h); check that start and "
            "end events are not swapped"
        )
    return t, obs


def _infinite_mean(d: Distribution) -> bool:
    return not math.isfinite(d.mean)
