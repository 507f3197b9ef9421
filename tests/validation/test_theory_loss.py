"""Loss, abandonment and service-level KPIs against exact queueing theory.

The KPIs checked here: per stage ``blocked`` / ``blocked_share`` (refused at a full stage),
``abandoned`` / ``abandoned_share`` (reneged), ``throughput`` (completions only),
``time_in_stage_mean`` (over admitted leads), the waiting KPIs over all arrivals
(``p_wait_all``, ``wait_mean_all``) and over served leads (``p_wait``, ``wait_mean``), and
``p_wait_over_target`` / ``p_wait_over_target_all`` for a stage's ``service_level``.

As in :mod:`test_queueing`, each replication is reduced to one number per quantity and the
analytic steady-state value must lie in the 99.9% t-interval of those numbers
(:func:`stats.assert_consistent`): tolerances come from the replications' own spread. The
runs are short (a 2000 h window, some 5,000 arrivals per replication) to keep each test to a
few seconds on the interpreted engine; the intervals widen accordingly. Warm-ups are many
relaxation times of each system (a few hours for these loss and abandonment systems, ~30 h
for the M/M/2 at rho = 0.75), so no ``rel_floor`` is needed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import revsim

from . import theory as th
from .conftest import (
    assert_littles_law_everywhere,
    exponential,
    run,
    seed,
    stage_values,
    station_toml,
    window_hours,
)
from .stats import assert_consistent

REPS = 20
WARMUP, HORIZON = 200.0, 2200.0
PER_WEEK = 168.0


def _station(k: int, **kw: Any) -> revsim.RunResult:
    """A single station observed over [WARMUP, HORIZON], REPS replications from seed(k)."""
    toml = station_toml(name="station", horizon_h=HORIZON, warmup_h=WARMUP, **kw)
    return run(toml, replications=REPS, seed=seed(k))


# ----------------------------------------------------------------------------- M/M/c/K
def test_mmck_blocking_throughput_and_admitted_times() -> None:
    c, K, lam, mu = 3, 6, 3.3, 1.0  # offered load 1.1 per server: blocking matters
    theory = th.mmck(lam, mu, c, K)
    res = _station(lam=lam, servers=c, work=exponential(1.0 / mu), wip_limit=K, k=120)

    arrivals = stage_values(res, "arrivals", "station")
    blocked = stage_values(res, "blocked", "station")
    np.testing.assert_allclose(stage_values(res, "blocked_share", "station"), blocked / arrivals)
    assert_consistent(blocked / arrivals, theory["p_block"], name="M/M/3/6 blocking probability")
    # completions only: lam (1 - p_block) per hour, the refused leads not counted
    assert_consistent(stage_values(res, "throughput", "station"), theory["throughput"] * PER_WEEK,
                      name="M/M/3/6 throughput")
    # time in stage over admitted leads: W = L / throughput (refused leads not averaged at 0)
    assert_consistent(stage_values(res, "time_in_stage_mean", "station"), theory["w"],
                      name="M/M/3/6 time in stage of admitted leads")
    # nobody abandons: the wait over all (admitted) arrivals is the served leads' wait
    assert_consistent(stage_values(res, "wait_mean_all", "station"), theory["wq"],
                      name="M/M/3/6 Wq, all arrivals")
    assert_consistent(stage_values(res, "wait_mean", "station"), theory["wq"],
                      name="M/M/3/6 Wq, served leads")
    assert_littles_law_everywhere(res)


def test_erlang_b_pure_loss() -> None:
    # M/M/c/c: no waiting room at all (queue_limit = 0), offered load above capacity.
    c, lam, mu = 4, 5.0, 1.0
    blocking = th.erlang_b(c, lam / mu)
    toml = station_toml(name="M/M/4/4", lam=lam, servers=c, work=exponential(1.0 / mu),
                        queue_limit=0, horizon_h=HORIZON, warmup_h=WARMUP)
    # overloaded, but a loss system sheds the excess: no "queues will grow" warning
    assert not [w for w in revsim.loads(toml).warnings if "overloaded" in w]
    res = run(toml, replications=REPS, seed=seed(121))

    assert_consistent(stage_values(res, "blocked_share", "station"), blocking,
                      name="Erlang B blocking probability")
    assert_consistent(stage_values(res, "throughput", "station"),
                      lam * (1.0 - blocking) * PER_WEEK, name="M/M/4/4 throughput")
    assert_consistent(stage_values(res, "time_in_stage_mean", "station"), 1.0 / mu,
                      name="M/M/4/4 time in stage of admitted leads")
    # nobody waits in a loss system
    assert np.all(stage_values(res, "p_wait_all", "station") == 0.0)
    assert np.all(stage_values(res, "wait_mean_all", "station") == 0.0)
    assert_littles_law_everywhere(res)


# ----------------------------------------------------------------------------- Erlang A
def test_erlang_a_abandonment_and_wait_over_all_arrivals() -> None:
    # Overloaded (lam / (c mu) = 1.1): stable only thanks to abandonment.
    c, lam, mu, theta = 4, 4.4, 1.0, 0.5
    theory = th.erlang_a(lam, mu, theta, c)
    res = _station(lam=lam, servers=c, work=exponential(1.0 / mu),
                   patience=exponential(1.0 / theta), k=122)

    arrivals = stage_values(res, "arrivals", "station")
    abandoned = stage_values(res, "abandoned", "station")
    np.testing.assert_allclose(abandoned, stage_values(res, "reneged", "station"))
    np.testing.assert_allclose(stage_values(res, "abandoned_share", "station"),
                               abandoned / arrivals)
    assert_consistent(abandoned / arrivals, theory["p_abandon"], name="Erlang A P(abandon)")
    # all arrivals: an abandoning lead counts the time it waited before giving up
    assert_consistent(stage_values(res, "wait_mean_all", "station"), theory["wq"],
                      name="Erlang A Wq, all arrivals")
    assert_consistent(stage_values(res, "p_wait_all", "station"), theory["p_wait"],
                      name="Erlang A P(wait > 0), all arrivals")
    assert_consistent(stage_values(res, "wait_mean", "station"), theory["wq_served"],
                      name="Erlang A Wq, served leads")
    # completions only: the served leads, lam (1 - P(abandon)) per hour
    assert_consistent(stage_values(res, "throughput", "station"),
                      theory["throughput"] * PER_WEEK, name="Erlang A throughput")
    assert_littles_law_everywhere(res)


# ----------------------------------------------------------------------------- service level
def test_wait_over_service_level_target_vs_erlang_c() -> None:
    c, lam, mu, target = 2, 1.5, 1.0, 0.5
    expected = th.erlang_c_wait_tail(lam, mu, c, target)
    res = _station(lam=lam, servers=c, work=exponential(1.0 / mu),
                   service_level=f"{target:g} h", k=123)

    assert window_hours(res) == HORIZON - WARMUP
    # no abandonment, no blocking: both versions estimate the same P(Wq > t)
    assert_consistent(stage_values(res, "p_wait_over_target", "station"), expected,
                      name="P(Wq > 0.5 h), served leads, vs Erlang C")
    assert_consistent(stage_values(res, "p_wait_over_target_all", "station"), expected,
                      name="P(Wq > 0.5 h), all arrivals, vs Erlang C")
    assert_consistent(stage_values(res, "p_wait", "station"), th.erlang_c(c, lam / mu),
                      name="P(Wq > 0) vs Erlang C")


def test_no_service_level_no_target_kpi() -> None:
    toml = station_toml(name="M/M/1", lam=0.5, servers=1, work=exponential(1.0),
                        horizon_h=200.0, warmup_h=0.0)
    res = run(toml, replications=2, seed=seed(124))
    metrics = set(res.summary.metric)
    assert {"p_wait_all", "wait_mean_all", "p_wait", "wait_mean"} <= metrics
    assert not {"p_wait_over_target", "p_wait_over_target_all", "blocked", "abandoned"} & metrics
