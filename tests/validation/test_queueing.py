"""Single-station validation: the engine against exact queueing-theory results.

Each test simulates one stage fed by Poisson arrivals (24/7 unless stated), runs independent
replications, reduces each replication to one number per quantity and asserts that the
analytic steady-state value lies in the 99.9% t-interval of those numbers
(:func:`stats.assert_consistent`). Tolerances therefore come from the data only.

Run lengths: the system starts empty, so each run discards a warm-up of many relaxation times
(for M/M/c roughly ``1 / (mu (sqrt(c) - sqrt(a))^2)``, 20-60 h at the loads used here) before
the observation window. Every test also checks Little's law at every stage
(:func:`conftest.assert_littles_law`).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as st

from . import theory as th
from .conftest import (
    assert_littles_law_everywhere,
    deterministic,
    exponential,
    lognormal,
    run,
    seed,
    stage_values,
    station_toml,
    window_hours,
)
from .stats import assert_consistent

REPS = 30


def pool_values(res, metric: str, pool: str = "servers") -> np.ndarray:
    return res.values(metric, "pool", pool)


# ----------------------------------------------------------------------------- M/M/1, M/M/c
@pytest.mark.parametrize(
    ("c", "lam", "mean_s", "k"),
    [
        pytest.param(1, 1.5, 0.5, 1, id="M/M/1 rho=0.75"),
        pytest.param(5, 1.75, 2.0, 2, id="M/M/5 rho=0.70"),
    ],
)
def test_mmc(c: int, lam: float, mean_s: float, k: int) -> None:
    mu = 1.0 / mean_s
    theory = th.mmc(lam, mu, c)
    toml = station_toml(
        name=f"M/M/{c}", lam=lam, servers=c, work=exponential(mean_s),
        horizon_h=12_000, warmup_h=500,
    )
    res = run(toml, replications=REPS, seed=seed(k))

    assert_consistent(stage_values(res, "wait_mean", "station"), theory["wq"], name="Wq")
    assert_consistent(stage_values(res, "p_wait", "station"), theory["p_wait"],
                      name="P(wait > 0) vs Erlang C")
    assert_consistent(pool_values(res, "utilisation"), theory["rho"], name="utilisation")
    assert_consistent(stage_values(res, "time_in_stage_mean", "station"), theory["w"], name="W")
    assert_consistent(stage_values(res, "queue_mean", "station"), theory["lq"], name="Lq")
    # The wait of an M/M/c customer is 0 w.p. 1 - C and Exp(c mu - lam) w.p. C, so its
    # 0.9-quantile is ln(10 C) / (c mu - lam) when C > 0.1 (true here).
    assert theory["p_wait"] > 0.1
    p90 = math.log(10.0 * theory["p_wait"]) / (c * mu - lam)
    assert_consistent(stage_values(res, "wait_p90", "station"), p90, name="wait p90")
    # speed to lead: the first touch is the start of service here, so the share touched
    # within t is P(Wq <= t) = 1 - C exp(-(c mu - lam) t) (within 24 h it is 1 - 5e-6 here:
    # every replication gives exactly 1, and a zero-variance sample has no t-interval)
    for metric, t in (("touched_within_5min", 5.0 / 60.0), ("touched_within_1h", 1.0)):
        within = 1.0 - theory["p_wait"] * math.exp(-(c * mu - lam) * t)
        assert_consistent(res.values(metric, "total", ""), within, name=metric)
    assert_littles_law_everywhere(res)


# ----------------------------------------------------------------------------- M/M/c/K
@pytest.mark.parametrize(
    ("limit", "k"),
    [
        pytest.param("wip_limit", 3, id="wip_limit=K"),
        pytest.param("queue_limit", 8, id="queue_limit=K-c"),
    ],
)
def test_mmck_blocking(limit: str, k: int) -> None:
    # K = 6 places in all: 3 in service + 3 waiting. Both ways of saying it must agree.
    c, K, lam, mean_s = 3, 6, 2.7, 1.0
    theory = th.mmck(lam, 1.0 / mean_s, c, K)
    toml = station_toml(
        name="M/M/3/6", lam=lam, servers=c, work=exponential(mean_s),
        horizon_h=10_000, warmup_h=300,
        **({"wip_limit": K} if limit == "wip_limit" else {"queue_limit": K - c}),
    )
    res = run(toml, replications=REPS, seed=seed(k))

    arrivals = stage_values(res, "arrivals", "station")  # offered, lost ones included
    balked = stage_values(res, "balked", "station")
    assert_consistent(balked / arrivals, theory["p_block"], name="blocking probability")
    # Admitted customers: their mean wait, and the servers' busy share = throughput / (c mu).
    assert_consistent(stage_values(res, "wait_mean", "station"), theory["wq"],
                      name="Wq of admitted")
    assert_consistent(pool_values(res, "utilisation"), theory["throughput"] * mean_s / c,
                      name="utilisation")
    # time_in_stage_mean averages over the admitted items only (a lost item never entered),
    # so L = lambda W holds with the admission rate, arrivals - blocked.
    assert_consistent(stage_values(res, "time_in_stage_mean", "station"), theory["w"],
                      name="W of admitted")
    assert_littles_law_everywhere(res)


# ----------------------------------------------------------------------------- M/G/1
@pytest.mark.parametrize(
    ("lam", "service", "mean_s", "sd_s", "k"),
    [
        pytest.param(0.75, deterministic(1.0), 1.0, 0.0, 4, id="M/D/1 rho=0.75"),
        pytest.param(0.6, lognormal(1.0, 1.5), 1.0, 1.5, 5, id="M/lognormal/1 rho=0.6 cv=1.5"),
    ],
)
def test_mg1_pollaczek_khinchine(lam: float, service: str, mean_s: float, sd_s: float,
                                 k: int) -> None:
    theory = th.mg1_pk(lam, mean_s, sd_s**2)
    toml = station_toml(
        name="M/G/1", lam=lam, servers=1, work=service, horizon_h=20_000, warmup_h=1000,
    )
    res = run(toml, replications=REPS, seed=seed(k))

    assert_consistent(stage_values(res, "wait_mean", "station"), theory["wq"],
                      name="Wq vs Pollaczek-Khinchine")
    # For M/G/1, P(wait > 0) = P(server busy) = rho (PASTA), whatever the service law.
    assert_consistent(stage_values(res, "p_wait", "station"), theory["rho"], name="P(wait > 0)")
    assert_consistent(pool_values(res, "utilisation"), theory["rho"], name="utilisation")
    assert_littles_law_everywhere(res)


# ----------------------------------------------------------------------------- Erlang A
def test_erlang_a_abandonment() -> None:
    # Overloaded (lam / (c mu) = 1.1): stable only thanks to abandonment.
    c, lam, mean_s, mean_patience = 4, 4.4, 1.0, 2.0
    theory = th.erlang_a(lam, 1.0 / mean_s, 1.0 / mean_patience, c)
    toml = station_toml(
        name="M/M/4+M", lam=lam, servers=c, work=exponential(mean_s),
        patience=exponential(mean_patience), horizon_h=10_000, warmup_h=300,
    )
    res = run(toml, replications=REPS, seed=seed(6))

    arrivals = stage_values(res, "arrivals", "station")
    reneged = stage_values(res, "reneged", "station")
    assert_consistent(reneged / arrivals, theory["p_abandon"], name="P(abandon)")
    # wait_mean averages over the items that started work, i.e. the served ones.
    assert_consistent(stage_values(res, "wait_mean", "station"), theory["wq_served"],
                      name="Wq of served")
    assert_consistent(pool_values(res, "utilisation"), theory["throughput"] * mean_s / c,
                      name="utilisation")
    assert_littles_law_everywhere(res)


# ----------------------------------------------------------------------------- M/G/inf
def test_mginf_pure_delay() -> None:
    lam, mean_d, sd_d = 3.0, 4.0, 8.0
    theory = th.mginf(lam, mean_d)
    # Started empty, E[N(t)] = lam E[min(D, t)], short of lam E[D] by lam E[(D - t)+]. With
    # this heavy-ish lognormal tail, E[(D - t)+] / E[D] is 2.1e-3 at t = 200 h but 2.4e-5 at
    # t = 1000 h: the 1000 h warm-up makes the transient bias negligible (asserted below).
    warmup, horizon = 1000.0, 6000.0
    sigma = math.sqrt(math.log1p((sd_d / mean_d) ** 2))
    dist = st.lognorm(s=sigma, scale=mean_d * math.exp(-sigma**2 / 2))
    assert math.isclose(dist.mean(), mean_d) and math.isclose(dist.std(), sd_d)
    shortfall = dist.expect(lambda x: x - warmup, lb=warmup) / mean_d
    assert shortfall < 1e-4

    toml = station_toml(
        name="M/G/inf", lam=lam, delay=lognormal(mean_d, sd_d),
        horizon_h=horizon, warmup_h=warmup,
    )
    res = run(toml, replications=REPS, seed=seed(7))

    assert window_hours(res) == horizon - warmup
    assert_consistent(stage_values(res, "wip_mean", "station"), theory["l"],
                      name="mean occupancy lam E[D]")
    assert_consistent(stage_values(res, "time_in_stage_mean", "station"), mean_d,
                      name="mean time in a pure delay")
    assert_littles_law_everywhere(res)
