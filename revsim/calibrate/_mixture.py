"""Fallbacks for ``fit_duration`` when no single family fits.

A two-lognormal mixture fitted by censored maximum likelihood (analytic gradient, L-BFGS-B from
several 2-means starts), and the values for an empirical distribution: Kaplan-Meier quantiles
(with a model tail where KM stops) or equally spaced quantiles of the completed durations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import optimize, special

from revsim.calibrate._gof import CensoringAdjustment
from revsim.calibrate.survival import kaplan_meier
from revsim.distributions import Distribution, Lognormal, Mixture

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


EMPIRICAL_MAX_VALUES = 1000
"""An empirical fallback keeps at most this many values (means of equal-count groups)."""
_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)
# Bounds for the two-lognormal mixture, on the log scale of the (median-scaled) data.
_MIX_MIN_SIGMA = 0.02
_MIX_MAX_SIGMA = 20.0
_MIX_MAX_LOGIT = 9.0
_MIX_SUBSAMPLE = 20_000


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


def fit_mixture(t: FloatArray, obs: BoolArray, cadj: CensoringAdjustment,
                start: MixtureFit | None = None) -> MixtureFit | None:
    """``start``: an earlier fit to start from, instead of three 2-means starts (a bootstrap
    refit of that fit: its optimum is near)."""
    scale = float(np.median(t))
    y = np.log(t / scale)
    yu, yc = y[obs], y[~obs]
    span = (float(y.min()) - 5, float(y.max()) + 5)
    if start is not None:
        (wa, wb), (ma, mb), (sa, sb) = start.weights, start.medians, start.sigmas
        starts: list[FloatArray | None] = [np.array([
            math.log(wa / wb), math.log(ma / scale), math.log(sa), math.log(mb / scale),
            math.log(sb)])]
    else:
        qs = np.quantile(yu, [0.1, 0.25, 0.5, 0.75, 0.9])
        starts = [_two_means(yu, lo, hi)
                  for lo, hi in ((qs[1], qs[3]), (qs[0], qs[2]), (qs[2], qs[4]))]
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
        x0 = np.clip(x0, [b[0] for b in bounds], [b[1] for b in bounds])
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


# -- empirical fallback -----------------------------------------------------------------------


def km_values(
    t: FloatArray, obs: BoolArray, tail: Distribution | None
) -> tuple[FloatArray, float, float] | None:
    """Equal-weight values representing the Kaplan-Meier estimate: its quantiles at
    (i + 0.5) / m, and beyond the longest completed duration (where KM stops) the quantiles of
    ``tail`` conditional on exceeding it. Returns (values, longest completed duration, KM
    survival there), or None when KM stops short and there is no tail model."""
    times, surv, _ = kaplan_meier(t, obs)
    cdf = 1 - surv
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


def reduce_values(x: FloatArray) -> FloatArray:
    """At most EMPIRICAL_MAX_VALUES values: equally spaced quantiles of the data (each stands
    for the same share of it, so resampling them keeps the distribution unbiased)."""
    s = np.sort(np.asarray(x, dtype=float))
    k = EMPIRICAL_MAX_VALUES
    if len(s) <= k:
        return s
    return np.quantile(s, (np.arange(k) + 0.5) / k)
