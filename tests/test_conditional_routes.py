"""The route of an item already ``a`` hours into an outcome-specific delay, and what is left.

Brute force: the engine's generative process (the route by its prior probabilities, then that
route's delay; see StageRT._delay_for), simulated many times; the items whose delay exceeds
``a`` are the ones still there at age ``a``. Their route shares must match
conditional_routes within a 99.9 % Wilson interval, and the remaining delays drawn by
route_and_remaining must be indistinguishable (two-sample KS at 0.001) from the survivors'
delay minus ``a``. About 15 such tests: a correct implementation fails a run with probability
at most 1.5 % (Bonferroni), fixed seeds make it reproducible.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from scipy import stats
from validation.stats import assert_proportion_consistent

from revsim.distributions import Deterministic, Exponential, Gamma, Lognormal, Uniform
from revsim.distributions.conditional import conditional_routes, route_and_remaining

ALPHA = 1e-3
WON, LOST, NEXT = -1, -2, 3
TARGETS = (WON, LOST, NEXT)
PROBS = np.array([0.2, 0.5, 0.3])
CUM = tuple(float(c) for c in np.cumsum(PROBS))
DELAYS = {WON: Lognormal.from_median_p90(240.0, 600.0), LOST: Gamma(2.0, 24.0)}
DEFAULT = Exponential(100.0)  # NEXT has no delay of its own


@functools.cache
def brute_force(n: int = 400_000, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(route, delay) of ``n`` items as the engine draws them: route first, then its delay."""
    rng = np.random.default_rng(seed)
    idx = np.minimum(np.searchsorted(CUM, rng.random(n), side="right"), len(TARGETS) - 1)
    routes = np.array(TARGETS)[idx]
    delay = np.empty(n)
    for t in TARGETS:
        mask = routes == t
        delay[mask] = DELAYS.get(t, DEFAULT).sample(rng, int(mask.sum()))
    return routes, delay



@pytest.mark.parametrize("age", [0.0, 30.0, 120.0, 400.0])
def test_route_shares_of_the_survivors(age: float) -> None:
    routes_all, delay_all = brute_force()
    alive = delay_all > age
    targets, cum = conditional_routes(TARGETS, CUM, DELAYS, DEFAULT, age)
    probs = dict(zip(targets, np.diff((0.0, *cum)), strict=True))
    assert cum[-1] == 1.0
    for t in TARGETS:
        assert_proportion_consistent(int((routes_all[alive] == t).sum()), int(alive.sum()),
                                     probs.get(t, 0.0), name=f"route {t} at age {age}")


def test_the_shares_move_towards_the_slow_route() -> None:
    """Old items are mostly the slow (won) ones: the check above is not the prior again."""
    _, cum = conditional_routes(TARGETS, CUM, DELAYS, DEFAULT, 400.0)
    assert cum[0] > 0.5 > PROBS[0]


@pytest.mark.parametrize("age", [30.0, 200.0])
def test_drawn_route_and_remaining_delay_match_the_survivors(age: float) -> None:
    routes_all, delay_all = brute_force()
    rng = np.random.default_rng([2, int(age)])
    n = 4000
    draws = [route_and_remaining(TARGETS, CUM, DELAYS, DEFAULT, age, *rng.random(2))
             for _ in range(n)]
    routes = np.array([d.target for d in draws])
    rem = np.array([d.remaining for d in draws])
    assert not any(d.overdue for d in draws)
    alive = delay_all > age
    for t in TARGETS:
        share = float((routes_all[alive] == t).mean())
        assert_proportion_consistent(int((routes == t).sum()), n, share,
                                     name=f"drawn route {t} at age {age}")
        mine, theirs = rem[routes == t], delay_all[alive & (routes_all == t)] - age
        assert stats.ks_2samp(mine, theirs).pvalue > ALPHA, (t, age)
    # power: the won route's delay as if new is told apart
    assert stats.ks_2samp(rem[routes == WON], delay_all[routes_all == WON]).pvalue < ALPHA


def test_without_outcome_specific_delays_the_prior_stands() -> None:
    """Staffed work, or one delay for every route: the route does not depend on the time."""
    assert conditional_routes(TARGETS, CUM, {}, DEFAULT, 500.0) == (TARGETS, CUM)
    same = {t: DEFAULT for t in TARGETS}
    targets, cum = conditional_routes(TARGETS, CUM, same, None, 500.0)
    assert targets == TARGETS
    np.testing.assert_allclose(cum, CUM, rtol=1e-12)
    with pytest.raises(ValueError, match="prior"):
        route_and_remaining(TARGETS, CUM, {}, DEFAULT, 5.0, 0.5, 0.5)


def test_routes_whose_delay_is_over_drop_out() -> None:
    delays = {WON: Deterministic(240.0), LOST: Uniform(0.0, 48.0)}
    targets, cum = conditional_routes(TARGETS, CUM, delays, Deterministic(100.0), 60.0)
    assert targets == (WON, NEXT)
    np.testing.assert_allclose(cum, [0.2 / 0.5, 1.0])
    draw = route_and_remaining(TARGETS, CUM, delays, Deterministic(100.0), 150.0, 0.99, 0.5)
    assert draw == (WON, 90.0, False)


def test_older_than_every_route_allows_is_overdue() -> None:
    delays = {WON: Deterministic(240.0), LOST: Uniform(0.0, 48.0)}
    assert conditional_routes(TARGETS, CUM, delays, Deterministic(100.0), 300.0) == (TARGETS, CUM)
    draw = route_and_remaining(TARGETS, CUM, delays, Deterministic(100.0), 300.0, 0.1, 0.5)
    assert draw.overdue and draw.remaining == 0.0 and draw.target == WON  # the prior's pick


def test_far_in_the_tail_the_odds_come_from_log_survivals() -> None:
    """At an age where every sf underflows, the heaviest tail (lognormal: won) takes all."""
    targets, cum = conditional_routes(TARGETS, CUM, DELAYS, DEFAULT, 1e6)
    assert targets[0] == WON and cum[0] == pytest.approx(1.0)
    draw = route_and_remaining(TARGETS, CUM, DELAYS, DEFAULT, 1e6, 0.5, 0.5)
    assert draw.target == WON and np.isfinite(draw.remaining) and draw.remaining > 0


def test_a_route_without_any_delay_is_reported() -> None:
    with pytest.raises(ValueError, match="no delay"):
        conditional_routes(TARGETS, CUM, {WON: DEFAULT}, None, 5.0)
