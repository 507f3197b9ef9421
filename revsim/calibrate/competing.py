"""Competing outcomes under right-censoring: Aalen–Johansen cumulative incidence.

A stage visit ends in one of several outcomes (won, lost, the next stage...), and visits still
open at the as-of time are right-censored. Counting the outcomes of completed visits only is
biased towards the outcomes that come quickly: a recent visit that will end slowly is still
open, one that ends quickly is already counted. (With won deals closing in ~20 days and lost
ones in ~80, entries spread over a year and an as-of at its end, completed visits show a ~35%
win rate when the truth is 30%.)

The Aalen–Johansen estimator counts each outcome at the moment it happens, weighted by the
share of visits still open then (the Kaplan–Meier survival of "any outcome"), so open visits
contribute for as long as they have been observed. Its limit at the longest observed duration
is the probability of each outcome; whatever stays unresolved past that (visits open longer
than any visit ever closed) is assumed to split like the rest, so the shares are normalised.
The duration *given* an outcome follows from the same increments (``CIF_k(t) / CIF_k(end)``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from revsim.calibrate.survival import cumulative_incidence

FloatArray = npt.NDArray[np.float64]

BOOTSTRAP = 400  # resamples for the confidence intervals of the shares
CI_BINS = 2000  # the bootstrap resamples counts in at most this many duration bins


@dataclass(frozen=True)
class CompetingOutcomes:
    """Outcome probabilities and per-outcome durations of one stage's visits."""

    outcomes: tuple[str, ...]
    shares: FloatArray  # P(outcome), Aalen–Johansen, normalised over the resolved mass
    ci_low: FloatArray  # 95% bootstrap percentile interval of each share
    ci_high: FloatArray
    se: FloatArray  # bootstrap standard error of each share
    completed: npt.NDArray[np.int64]  # completed visits per outcome
    n: int  # visits, open ones included
    unresolved: float  # P(still open after the longest observed duration)
    times: FloatArray  # distinct durations observed (completed or censored), increasing
    increments: FloatArray  # (outcomes, times): jumps of each cumulative incidence

    def conditional_quantiles(self, outcome: str, m: int) -> FloatArray:
        """``m`` evenly spaced quantiles of the duration given ``outcome``.

        A deterministic sample of the Aalen–Johansen conditional distribution, for fitting a
        parametric family to it with the tools that fit samples (censoring is already
        accounted for in the weights).
        """
        row = self.increments[self.outcomes.index(outcome)]
        keep = row > 0
        times, weights = self.times[keep], row[keep]
        cdf = np.cumsum(weights) / weights.sum()
        probs = (np.arange(m) + 0.5) / m
        return times[np.minimum(np.searchsorted(cdf, probs, side="left"), len(times) - 1)]


def _shares(inc: FloatArray) -> FloatArray:
    total = inc.sum()
    return inc.sum(axis=1) / total if total > 0 else np.full(len(inc), np.nan)


def competing_outcomes(hours: npt.ArrayLike, outcomes: npt.ArrayLike, censored: npt.ArrayLike,
                       *, seed: int = 0, resamples: int = BOOTSTRAP) -> CompetingOutcomes:
    """Aalen–Johansen outcome shares (with bootstrap CIs) and per-outcome increments.

    ``outcomes`` holds each completed visit's outcome (ignored where ``censored``). The
    bootstrap resamples visits (as multinomial counts over duration bins and outcomes) with a
    fixed ``seed``, so the same log always gives the same intervals. ``resamples=0`` skips it
    (the intervals are then the shares themselves and the standard errors nan): the parameter
    draws of revsim.calibrate.draws, which are themselves resamples, need only the shares.
    """
    h = np.asarray(hours, dtype=float)
    cens = np.asarray(censored, dtype=bool)
    out = np.asarray(outcomes, dtype=object)
    names = tuple(sorted({str(o) for o in out[~cens]}))
    if not names:
        raise ValueError("no completed visit: outcome shares need at least one")
    code = np.full(len(h), len(names))
    for i, name in enumerate(names):
        code[(~cens) & (out == name)] = i
    times, t_index = np.unique(h, return_inverse=True)
    counts = np.zeros((len(names) + 1, len(times)))
    np.add.at(counts, (code, t_index), 1.0)
    inc, unresolved = cumulative_incidence(counts)
    shares = _shares(inc)
    completed = counts[:-1].sum(axis=1).astype(np.int64)
    if resamples < 1:
        return CompetingOutcomes(names, shares, shares.copy(), shares.copy(),
                                 np.full(len(names), np.nan), completed, len(h), unresolved,
                                 times, inc)

    # Bootstrap on binned counts: resampling visits is a multinomial draw over the cells.
    edges = np.unique(np.quantile(h, np.linspace(0, 1, CI_BINS + 1)[1:-1]))
    b_index = np.searchsorted(edges, h, side="left")
    n_bins = len(edges) + 1
    cells = np.zeros((len(names) + 1) * n_bins)
    np.add.at(cells, code * n_bins + b_index, 1.0)
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(len(h), cells / cells.sum(), size=resamples)
    boot = np.empty((resamples, len(names)))
    for b in range(resamples):
        boot_inc, _ = cumulative_incidence(draws[b].reshape(len(names) + 1, n_bins).astype(float))
        boot[b] = _shares(boot_inc)
    low, high = np.nanquantile(boot, [0.025, 0.975], axis=0)
    return CompetingOutcomes(names, shares, np.minimum(low, shares), np.maximum(high, shares),
                             np.nanstd(boot, axis=0, ddof=1), completed, len(h), unresolved,
                             times, inc)
