"""Statistical assertions for simulation-vs-theory validation.

The tolerance of every assertion comes from the data's own confidence interval,
never from a hand-picked "within 5%" number: with few replications or noisy
outputs the interval is wide, with many replications it is tight, and a real
engine bias eventually shows up as the interval shrinks.

How to use
----------
Run ``R`` **independent replications** (distinct seeds / independent RNG streams,
e.g. ``np.random.SeedSequence(s).spawn(R)``), reduce each replication to one
number (its mean wait, its abandonment fraction, ...), and pass the ``R`` numbers
to :func:`assert_consistent`. Replication means are (close to) i.i.d. and, by the
CLT, (close to) normal, which is what the Student-t interval needs. Do **not** pass
per-customer observations from a single run: they are autocorrelated and the
interval would be far too narrow. Aim for R >= 20; heavy-tailed outputs (waits
near saturation, high-variance service) need more or longer replications.

Why confidence = 0.999
----------------------
A correct engine fails one assertion with probability 1 - 0.999 = 0.1 %. A suite
run makes about 20 such assertions, so the chance that a *correct* engine fails a
run is at most 20 x 0.1 % = 2 % (Bonferroni, valid whatever the dependence;
1 - 0.999**20 = 1.98 % when, as intended, each assertion is computed on its own
independent replications). With fixed seeds a run is reproducible, so a spurious
failure is a one-off that changes only with the seeds; 2 % keeps that rare while
intervals stay narrow enough (t quantile ~3.6 for R = 20, vs ~2.1 at 95 %) to
catch real bias.

``rel_floor``
-------------
The t-interval measures *sampling noise only*. Some comparisons also carry a
known, deterministic bias that no number of replications removes: finite-horizon
/ warm-up (initial-transient) bias of a steady-state formula, truncation of a
distribution, a formula that is itself an approximation. ``rel_floor`` widens the
acceptance band by ``rel_floor * |expected|`` to absorb such bias. Keep it 0 (the
default) whenever the formula is exact for the simulated model and the run is long
enough; when you set it, say in a comment which bias it covers and how big you
estimate it to be. Never use it to make a noisy test pass: add replications.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
from scipy import stats as _st

__all__ = [
    "DEFAULT_CONFIDENCE",
    "mean_ci",
    "wilson_ci",
    "assert_consistent",
    "assert_proportion_consistent",
]

DEFAULT_CONFIDENCE = 0.999

# Relative slack for floating-point round-off only (e.g. zero-variance samples that
# equal the expected value up to the last bits). Not a statistical tolerance.
_ROUNDOFF = 1e-12


def _check_conf(confidence: float) -> float:
    confidence = float(confidence)
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    return confidence


def mean_ci(
    samples: Iterable[float] | np.ndarray, confidence: float = DEFAULT_CONFIDENCE
) -> tuple[float, float, float, float, int]:
    """Student-t confidence interval for the mean of independent replication values.

    NaNs are dropped (e.g. a replication with no served customers has no mean wait).
    Returns ``(mean, lo, hi, half_width, n)`` where ``n`` counts the non-NaN values and
    ``half_width = t_{(1+confidence)/2, n-1} * s / sqrt(n)``. Raises ``ValueError``
    if fewer than 2 values remain (no variance estimate).
    """
    confidence = _check_conf(confidence)
    x = np.asarray(list(samples) if not isinstance(samples, np.ndarray) else samples, float)
    x = x.ravel()
    x = x[~np.isnan(x)]
    n = int(x.size)
    if n < 2:
        raise ValueError(f"need at least 2 non-NaN replications for a t-interval, got {n}")
    mean = float(x.mean())
    sd = float(x.std(ddof=1))
    tq = float(_st.t.ppf(0.5 + confidence / 2.0, n - 1))
    half = tq * sd / math.sqrt(n)
    return mean, mean - half, mean + half, half, n


def assert_consistent(
    samples: Iterable[float] | np.ndarray,
    expected: float,
    *,
    name: str,
    confidence: float = DEFAULT_CONFIDENCE,
    rel_floor: float = 0.0,
) -> tuple[float, float, float, float, int]:
    """Assert that ``expected`` lies in the t-confidence interval of the replication means.

    ``samples``: one value per independent replication (NaNs dropped).
    ``expected``: the analytic value (e.g. from :mod:`theory`).
    ``rel_floor``: extra half-width ``rel_floor * |expected|`` for a *known deterministic
    bias* (warm-up / finite horizon / approximate formula); see the module docstring.
    Default 0: pure sampling-noise tolerance.

    Raises ``AssertionError`` with the estimate, interval, expected value, distance in
    standard errors and ``n``. Returns the :func:`mean_ci` tuple for logging.
    """
    if rel_floor < 0:
        raise ValueError(f"rel_floor must be >= 0, got {rel_floor!r}")
    expected = float(expected)
    mean, lo, hi, half, n = mean_ci(samples, confidence)
    tol = half + (rel_floor + _ROUNDOFF) * abs(expected)
    if not abs(mean - expected) <= tol:  # also fails on NaN / inf mismatch
        tq = float(_st.t.ppf(0.5 + confidence / 2.0, n - 1))
        se = half / tq if tq > 0 else float("nan")
        n_se = abs(mean - expected) / se if se > 0 else float("inf")
        floor_txt = (
            f", widened by rel_floor={rel_floor:g} to [{mean - tol:.6g}, {mean + tol:.6g}]"
            if rel_floor
            else ""
        )
        rel_err = (mean - expected) / expected if expected != 0 else float("nan")
        raise AssertionError(
            f"{name}: simulated {mean:.6g} vs expected {expected:.6g} "
            f"(rel. diff {rel_err:+.3%}, {n_se:.1f} SE); "
            f"{confidence:.3%} t-CI [{lo:.6g}, {hi:.6g}] (±{half:.3g}){floor_txt} "
            f"excludes expected; n={n} replications"
        )
    return mean, lo, hi, half, n


def wilson_ci(
    successes: int, trials: int, confidence: float = DEFAULT_CONFIDENCE
) -> tuple[float, float]:
    """Wilson score interval ``(lo, hi)`` for a binomial proportion."""
    confidence = _check_conf(confidence)
    if trials <= 0 or successes < 0 or successes > trials:
        raise ValueError(f"need 0 <= successes <= trials, trials > 0; got {successes}/{trials}")
    z = float(_st.norm.ppf(0.5 + confidence / 2.0))
    n = float(trials)
    p = successes / n
    z2n = z * z / n
    centre = (p + z2n / 2.0) / (1.0 + z2n)
    half = z / (1.0 + z2n) * math.sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def assert_proportion_consistent(
    successes: int | Iterable[int] | np.ndarray,
    trials: int | Iterable[int] | np.ndarray,
    expected_p: float,
    *,
    name: str,
    confidence: float = DEFAULT_CONFIDENCE,
) -> tuple[float, float, float]:
    """Assert ``expected_p`` lies in the Wilson interval of the pooled success fraction.

    ``successes`` / ``trials`` may be scalars or per-replication arrays (they are
    summed). **Validity:** the Wilson interval assumes the pooled trials are
    independent Bernoulli draws — e.g. an i.i.d. routing/branch decision, or one
    trial per replication. Per-customer outcomes *within* a queueing run (blocked,
    abandoned, waited) are positively correlated in time, so pooling them
    understates the variance and the test becomes too strict; for those pass the
    per-replication fractions to :func:`assert_consistent` instead.

    Returns ``(p_hat, lo, hi)``.
    """
    s = int(np.sum(np.asarray(successes, dtype=np.int64)))
    t = int(np.sum(np.asarray(trials, dtype=np.int64)))
    expected_p = float(expected_p)
    if not 0.0 <= expected_p <= 1.0:
        raise ValueError(f"expected_p must be in [0, 1], got {expected_p!r}")
    lo, hi = wilson_ci(s, t, confidence)
    p_hat = s / t
    slack = _ROUNDOFF * max(expected_p, 1e-300)
    if not (lo - slack <= expected_p <= hi + slack):
        se = math.sqrt(expected_p * (1.0 - expected_p) / t) if 0 < expected_p < 1 else 0.0
        n_se = abs(p_hat - expected_p) / se if se > 0 else float("inf")
        raise AssertionError(
            f"{name}: observed proportion {p_hat:.6g} ({s}/{t}) vs expected {expected_p:.6g} "
            f"({n_se:.1f} SE under H0); {confidence:.3%} Wilson CI [{lo:.6g}, {hi:.6g}] "
            f"excludes expected; pooled trials={t}"
        )
    return p_hat, lo, hi
