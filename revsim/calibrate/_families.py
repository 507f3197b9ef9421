"""Per-family censored maximum likelihood for ``fit_duration``.

Lognormal, gamma, Weibull, exponential and log-logistic (lower end fixed at 0) are fitted with
``scipy.stats.<dist>.fit(CensoredData(...))`` on median-scaled durations, optimised over the log
parameters; standard errors come from a numerical Hessian. ``comparison_table`` lays the fits
out as the comparison table of ``DurationFit``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import optimize, stats

from revsim.calibrate._gof import CensoringAdjustment, anderson
from revsim.distributions import Distribution, Exponential, Gamma, Lognormal, ScipyDist, Weibull

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


FAMILIES: tuple[str, ...] = ("lognormal", "gamma", "weibull", "exponential", "loglogistic")

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
_MAX_LOG_SHAPE = math.log(1e6)  # |log shape| beyond this: a degenerate fit (no spread)
_BAD = 1e10  # objective value for parameters where the likelihood is not finite


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


def check_families(families: Sequence[str]) -> list[str]:
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


def failed_family(family: str, message: str) -> FamilyFit:
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


def fit_family(
    family: str,
    t: FloatArray,
    obs: BoolArray,
    scale: float,
    cadj: CensoringAdjustment,
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
        return failed_family(family, f"scipy could not fit: {e}")
    fitted = np.asarray(fitted, dtype=float)
    if lognormal:
        mu, sigma = fitted
        z_hat = np.array([math.log(sigma) if sigma > 0 else math.nan, mu])
    else:
        free = np.array([*fitted[:-2], fitted[-1]])  # shapes..., scale (loc is 0)
        z_hat = np.log(free) if (free > 0).all() else np.full(len(free), math.nan)
    if not np.isfinite(z_hat).all() or (np.abs(z_hat[: len(z_hat) - 1]) > _MAX_LOG_SHAPE).any():
        return failed_family(family, f"degenerate fit: parameters {fitted.tolist()}")

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
        return failed_family(family, "the log-likelihood is not finite at the fitted values")
    try:
        dist = _make_dist(family, params)
    except ValueError as e:
        return failed_family(family, f"invalid fitted parameters: {e}")
    k = len(names)
    ks_stat, ks_p = cadj.ks(dist.cdf, t[obs])
    ad_stat, ad_p = anderson(family, t[obs]) if obs.all() else (math.nan, math.nan)
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


def comparison_table(fits: dict[str, FamilyFit], ranked: list[FamilyFit], n: int,
                     n_cens: int) -> pd.DataFrame:
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
