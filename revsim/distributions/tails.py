"""The gamma survival function and its inverse in log space, far into the tail.

``scipy.special.gammaincc`` and ``gammainccinv`` are accurate down to survival probabilities of
about 1e-300 and then underflow to 0, which would make an old item look beyond the support of
an unbounded distribution. Below that threshold the log of the upper incomplete gamma ratio
comes from its continued fraction (Lentz's method; it converges fast there because x > k + 1
whenever Q(k, x) < 1e-300), and its inverse from Newton steps on that log.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import special

from .base import FloatArray

# Below this survival probability scipy's functions are replaced by the log-space ones.
TINY = 1e-290
LOG_TINY = float(np.log(TINY))
_FPMIN = 1e-300
_EPS = 1e-15
_CF_TERMS = 500
_NEWTON_STEPS = 60


def _log_q_cf(k: float, x: FloatArray) -> FloatArray:
    """log Q(k, x) by the continued fraction, for x > k + 1 (elementwise)."""
    b = x + 1.0 - k
    c = np.full_like(x, 1.0 / _FPMIN)
    d = 1.0 / b
    h = d.copy()
    todo = np.ones(x.shape, dtype=bool)
    for i in range(1, _CF_TERMS):
        if not todo.any():
            break
        an = -i * (i - k)
        b = b + 2.0
        d = an * d + b
        d = np.where(np.abs(d) < _FPMIN, _FPMIN, d)
        c = b + an / c
        c = np.where(np.abs(c) < _FPMIN, _FPMIN, c)
        d = 1.0 / d
        step = d * c
        h = np.where(todo, h * step, h)
        todo &= np.abs(step - 1.0) > _EPS
    return -x + k * np.log(x) - special.gammaln(k) + np.log(h)


def gamma_logsf(k: float, x: FloatArray) -> FloatArray:
    """log Q(k, x) = log P(G > x) for G ~ Gamma(k, 1), finite for every finite x."""
    xa = np.maximum(np.asarray(x, dtype=np.float64), 0.0)
    q = special.gammaincc(k, xa)
    deep = (q < TINY) & np.isfinite(xa)
    with np.errstate(divide="ignore"):
        out = np.log(q)
    if deep.any():
        out = np.where(deep, _log_q_cf(k, np.where(deep, xa, k + 2.0)), out)
    return np.where(np.isposinf(xa), -np.inf, out)


def invert_log_survival(logsf: Callable[[FloatArray], FloatArray],
                        logpdf: Callable[[FloatArray], FloatArray],
                        target: FloatArray, start: FloatArray) -> FloatArray:
    """The x >= ``start`` with logsf(x) = ``target``, by Newton steps from ``start``.

    Used only where the survival probability underflows, hence far in a tail; there the
    log-survival is smooth and monotone with slope minus the hazard, nearly linear, and Newton
    converges in a few steps (overshooting at most once when the hazard increases)."""
    x = np.asarray(start, dtype=np.float64).copy()
    for _ in range(_NEWTON_STEPS):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            log_s = logsf(x)
            step = (log_s - target) * np.exp(log_s - logpdf(x))
        step = np.where(np.isfinite(step), step, 0.0)
        x = np.maximum(x + step, start)
        if not (np.abs(step) > 4 * np.spacing(x)).any():
            break
    return x


def gamma_isf_log(k: float, log_s: FloatArray) -> FloatArray:
    """The x with log Q(k, x) = ``log_s`` (elementwise; 0 at log_s = 0, inf at -inf)."""
    ls = np.minimum(np.asarray(log_s, dtype=np.float64), 0.0)
    with np.errstate(under="ignore"):
        out = np.array(special.gammainccinv(k, np.exp(np.maximum(ls, LOG_TINY))), ndmin=1)
    ls = np.array(ls, ndmin=1)
    deep = (ls < LOG_TINY) & np.isfinite(ls)
    if deep.any():
        # start where scipy stops: the answer lies beyond
        x = invert_log_survival(
            lambda x: _log_q_cf(k, x),
            lambda x: (k - 1.0) * np.log(x) - x - special.gammaln(k),
            ls[deep], np.full(int(deep.sum()), float(special.gammainccinv(k, TINY))),
        )
        out[deep] = x
    return np.where(np.isneginf(ls), np.inf, out).reshape(np.shape(log_s))
