"""Queue disciplines against theory: non-preemptive priority (Cobham) and LIFO.

Two Poisson classes share one M/M/c station; the class is carried by the lead's value (2 for
the high class, 1 for the low one) and the stage serves the highest value first, without
preempting work in hand. With equal service rates, class k waits on average

    Wq_k = (C(c, a) / (c mu)) / ((1 - s_{k-1}) (1 - s_k)),   s_k = sum_{i <= k} lam_i / (c mu)

(Cobham's formula; C is Erlang C's probability of waiting at the total load a = lam / mu).
A LIFO station is work-conserving and chooses without looking at service times, so its mean
wait equals FIFO's (Erlang C) while its waits spread more. Per-class waits come from the
per-visit records: each replication gives one mean per class over the visits that arrived in
the observation window (minus a tail that every visit leaves before the horizon), and the
theory must lie in the 99.9% t-interval of those means (:func:`stats.assert_consistent`).
"""

from __future__ import annotations

import numpy as np

from . import theory as th
from .conftest import (
    START,
    assert_littles_law_everywhere,
    exponential,
    hours,
    per_hour,
    run,
    seed,
    stage_values,
    station_toml,
)
from .stats import assert_consistent

REPS = 20
HORIZON_H, WARMUP_H, TAIL_H = 10_000.0, 500.0, 200.0


def class_waits(res, value: float) -> np.ndarray:
    """Per replication, the mean wait of visits of one class arriving in the window."""
    v = res.visits
    v = v[(v["value"] == value) & (v["arrival_h"] >= WARMUP_H)
          & (v["arrival_h"] < HORIZON_H - TAIL_H)]
    waits = (v["start_h"] - v["arrival_h"]).groupby(v["replication"]).mean()
    assert len(waits) == res.manifest["replications"]
    return waits.to_numpy()


def test_non_preemptive_priority_matches_cobham() -> None:
    c, mean_s, lam_high, lam_low = 2, 1.0, 0.6, 0.9
    mu = 1.0 / mean_s
    toml = "\n".join([
        f'[scenario]\nname = "priority M/M/{c}"\nstart = {START}\n'
        f'horizon = "{hours(HORIZON_H)}"\nwarmup = "{hours(WARMUP_H)}"\n',
        f'[sources.high]\nrate = "{per_hour(lam_high)}"\nto = "station"\nvalue = 2.0\n',
        f'[sources.low]\nrate = "{per_hour(lam_low)}"\nto = "station"\nvalue = 1.0\n',
        f"[pools.servers]\nheadcount = {c}\n",
        '[stages.station]\npool = "servers"\n'
        f'work = {exponential(mean_s)}\ndiscipline = "priority"\npriority = "value"\n'
        "routes = { done = 1.0 }\n",
    ])
    res = run(toml, replications=REPS, seed=seed(31), records=True)

    lam = lam_high + lam_low
    w0 = th.mmc(lam, mu, c)["p_wait"] / (c * mu)
    s_high = lam_high / (c * mu)
    s_all = lam / (c * mu)
    assert_consistent(class_waits(res, 2.0), w0 / (1 - s_high), name="Wq high class")
    assert_consistent(class_waits(res, 1.0), w0 / ((1 - s_high) * (1 - s_all)),
                      name="Wq low class")
    # the order of service changes who waits, not how much waiting there is overall
    assert_consistent(stage_values(res, "wait_mean", "station"), th.mmc(lam, mu, c)["wq"],
                      name="Wq all classes")
    assert_littles_law_everywhere(res)


def test_lifo_has_fifo_mean_wait_and_a_wider_spread() -> None:
    lam, mean_s = 0.75, 1.0
    mu = 1.0 / mean_s
    rho = lam / mu
    theory = th.mmc(lam, mu, 1)
    lifo = station_toml(name="M/M/1 LIFO", lam=lam, servers=1, work=exponential(mean_s),
                        horizon_h=HORIZON_H, warmup_h=WARMUP_H).replace(
        "routes = { done = 1.0 }", 'discipline = "lifo"\nroutes = { done = 1.0 }')
    res = run(lifo, replications=REPS, seed=seed(32), records=True)
    assert_consistent(stage_values(res, "wait_mean", "station"), theory["wq"], name="Wq LIFO")
    # second moment: E[W^2] under LIFO = E[W^2] under FIFO / (1 - rho) (M/G/1, Kleinrock),
    # with E[W^2]_FIFO = 2 rho / (mu^2 (1 - rho)^2) for M/M/1
    v = res.visits
    v = v[(v["arrival_h"] >= WARMUP_H) & (v["arrival_h"] < HORIZON_H - TAIL_H)]
    second = ((v["start_h"] - v["arrival_h"]) ** 2).groupby(v["replication"]).mean()
    assert_consistent(second.to_numpy(), 2 * rho / (mu**2 * (1 - rho) ** 3),
                      name="E[W^2] LIFO")
    assert_littles_law_everywhere(res)
