"""Validation of multi-stage behaviour: an open Jackson network, and a stage on office hours.

The Jackson network is written once as arrays (external rates, routing matrix, servers, mean
service times); the same arrays build the scenario TOML and feed :func:`theory.jackson`, so the
simulated model and the formula cannot drift apart.
"""

from __future__ import annotations

import numpy as np
import pytest

from . import theory as th
from .conftest import (
    assert_littles_law_everywhere,
    deterministic,
    exponential,
    header,
    per_hour,
    run,
    seed,
    stage_values,
    station_toml,
    window_hours,
)
from .stats import assert_consistent

HOURS_PER_WEEK = 168.0


# ----------------------------------------------------------------------------- Jackson
# Four stations. External Poisson arrivals at triage and build. Triage sends 70% on to build;
# build always goes to check; check sends 15% back to build (rework loop to an earlier
# station), 10% back to itself (immediate re-check, rejoining the back of its queue) and 75% to
# approve; approve is an unstaffed exponential delay (an M/M/inf node) after which 10% return to
# triage. Everything else leaves (route "done"). Loads 0.71-0.75 at the staffed stations.
NAMES = ["triage", "build", "check", "approve"]
EXTERNAL = np.array([1.5, 0.5, 0.0, 0.0])  # per hour
ROUTING = np.array(
    [
        [0.0, 0.70, 0.0, 0.0],
        [0.0, 0.0, 1.0, 0.0],
        [0.0, 0.15, 0.10, 0.75],
        [0.10, 0.0, 0.0, 0.0],
    ]
)
SERVERS = np.array([2, 3, 1, np.inf])
MEAN_SERVICE = np.array([0.9, 1.1, 0.32, 2.0])  # hours


def network_toml(horizon_h: float, warmup_h: float) -> str:
    parts = [header("Jackson network", horizon_h, warmup_h)]
    for name, rate in zip(NAMES, EXTERNAL, strict=True):
        if rate > 0:
            parts.append(f'[sources.into_{name}]\nrate = "{per_hour(rate)}"\nto = "{name}"\n')
    for i, name in enumerate(NAMES):
        routes = {NAMES[j]: ROUTING[i, j] for j in range(len(NAMES)) if ROUTING[i, j] > 0}
        leave = round(1.0 - ROUTING[i].sum(), 12)
        if leave > 0:
            routes["done"] = leave
        route_txt = ", ".join(f"{k} = {v:.12g}" for k, v in routes.items())
        if np.isinf(SERVERS[i]):
            lines = [f"delay = {exponential(MEAN_SERVICE[i])}"]
        else:
            parts.append(f"[pools.{name}_staff]\nheadcount = {int(SERVERS[i])}\n")
            lines = [f'pool = "{name}_staff"', f"work = {exponential(MEAN_SERVICE[i])}"]
        parts.append(f"[stages.{name}]\n" + "\n".join(lines) + f"\nroutes = {{ {route_txt} }}\n")
    return "\n".join(parts)


def test_open_jackson_network() -> None:
    theory = th.jackson(EXTERNAL, ROUTING, 1.0 / MEAN_SERVICE, SERVERS)
    assert np.all(theory["rho"][np.isfinite(SERVERS)] < 0.8)
    res = run(network_toml(horizon_h=16000, warmup_h=500), replications=30, seed=seed(20))

    for i, name in enumerate(NAMES):
        assert_consistent(stage_values(res, "throughput", name),
                          theory["lam"][i] * HOURS_PER_WEEK,
                          name=f"{name}: throughput per week vs traffic equations")
        assert_consistent(stage_values(res, "time_in_stage_mean", name), theory["w"][i],
                          name=f"{name}: mean time per visit")
    assert_consistent(res.values("leads_in_system_mean", "total", ""), theory["total_l"],
                      name="mean number in the network")
    assert_littles_law_everywhere(res)


# ----------------------------------------------------------------------------- office hours
OFFICE = (["mon-fri"], ["09:00-17:00"])  # 40 of the 168 hours of a week
OPEN_H, CLOSE_H = 9.0, 17.0


def in_office_hours(t: np.ndarray, *, end: bool = False) -> np.ndarray:
    """Whether instants t (hours since Monday 00:00) fall in Mon-Fri 09:00-17:00.

    Opening hours are [09:00, 17:00): a job may start at 09:00 but not at 17:00. With
    ``end=True`` the instants are job ends, which lie in (09:00, 17:00]: a job can finish
    exactly at closing time but not at opening time. Instants are sums of whole hours and
    working time, so an absolute slack of 1e-9 h (3.6 us) absorbs floating-point round-off
    (a start within 1e-9 h of 17:00 counts as a start at 17:00).
    """
    eps = 1e-9
    day = np.floor(t / 24.0) % 7
    hod = t - 24.0 * np.floor(t / 24.0)
    if end:
        ok_hour = (hod > OPEN_H + eps) & (hod <= CLOSE_H + eps)
    else:
        ok_hour = (hod >= OPEN_H - eps) & (hod < CLOSE_H - eps)
    return (day < 5) & ok_hour


@pytest.mark.parametrize(
    ("servers", "work", "mean_work", "k"),
    [
        pytest.param(6, exponential(1.5), 1.5, 21, id="exponential 1.5 h"),
        # A job that takes exactly one shift: jobs started at 09:00 end exactly at closing time,
        # the instant at which the next job must *not* start.
        pytest.param(4, deterministic(8.0), 8.0, 22, id="deterministic full shift 8 h"),
    ],
)
def test_office_hours_capacity(servers: int, work: str, mean_work: float, k: int) -> None:
    capacity = servers * 40.0 / mean_work  # items per week, the cap when overloaded
    lam = 1.5 * capacity / HOURS_PER_WEEK  # 24/7 arrivals at 150% of capacity
    toml = station_toml(
        name="office hours", lam=lam, servers=servers, work=work, calendar=OFFICE,
        horizon_h=6 * HOURS_PER_WEEK, warmup_h=HOURS_PER_WEEK,
    )
    res = run(toml, replications=20, seed=seed(k), records=True)
    assert window_hours(res) == 5 * HOURS_PER_WEEK  # whole weeks, starting Monday 00:00

    # Overloaded, the queue never empties after the first week, so every server works every
    # working hour of the window. Completions per week then equal servers x 40 h / mean work
    # in expectation (exactly so for exponential work, whose completions while busy form a
    # Poisson process on the working clock), and utilisation over working hours is 1.
    assert_consistent(stage_values(res, "throughput", "station"), capacity,
                      name="throughput capped by 40 h/week of staff time")
    assert_consistent(res.values("utilisation", "pool", "servers"), 1.0,
                      name="utilisation over working hours when overloaded")
    available = res.values("available_hours", "pool", "servers")
    assert_consistent(available, servers * 40.0 * 5, name="available staff-hours in window")

    visits = res.visits
    assert len(visits) > 0
    starts = visits["start_h"].to_numpy()
    outside = ~in_office_hours(starts)
    assert not outside.any(), (
        f"{outside.sum()} of {len(starts)} jobs started outside Mon-Fri 09:00-17:00, e.g. at "
        f"t = {np.unique(starts[outside])[:5].tolist()} h (hour of day "
        f"{np.unique(np.round(starts[outside] % 24.0, 6))[:5].tolist()})"
    )
    ends = visits["end_h"].to_numpy()
    late = ~in_office_hours(ends, end=True)
    assert not late.any(), f"{late.sum()} jobs ended outside working hours"
    # Little's law is not checked here: the stage is overloaded on purpose, its queue grows
    # without bound, and L = lambda W only holds for a system with a steady state.
