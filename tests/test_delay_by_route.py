"""Outcome-specific delays: the route is drawn first, then that route's own delay."""

import pytest

import revsim
from revsim.errors import ScenarioError

BASE = """
[scenario]
start = 2027-01-04
horizon = "20 w"
[sources.a]
rate = "50/w"
to = "s"
[stages.s]
{body}
"""


def _run(body: str):
    return revsim.loads(BASE.format(body=body)).run(replications=2, seed=3, records=True)


def test_each_route_takes_its_own_delay() -> None:
    res = _run('delay_by_route = { won = "10 d", lost = "2 d" }\n'
               'routes = { won = 0.3, lost = 0.7 }')
    v = res.visits.assign(hours=lambda d: d.end_h - d.arrival_h)
    assert v.loc[v.outcome == "won", "hours"].to_numpy() == pytest.approx(240.0)
    assert v.loc[v.outcome == "lost", "hours"].to_numpy() == pytest.approx(48.0)


def test_routes_without_their_own_delay_use_delay() -> None:
    res = _run('delay = "1 d"\ndelay_by_route = { won = "10 d" }\n'
               'routes = { won = 0.3, lost = 0.7 }')
    v = res.visits.assign(hours=lambda d: d.end_h - d.arrival_h)
    assert v.loc[v.outcome == "lost", "hours"].to_numpy() == pytest.approx(24.0)


def test_route_shares_are_unchanged_by_drawing_first() -> None:
    with_delays = _run('delay_by_route = { won = "10 d", lost = "2 d" }\n'
                       'routes = { won = 0.3, lost = 0.7 }')
    plain = _run('delay = "2 d"\nroutes = { won = 0.3, lost = 0.7 }')
    # per-lead keyed routing: the same leads are won either way
    a = with_delays.visits.set_index(["replication", "lead"]).outcome
    b = plain.visits.set_index(["replication", "lead"]).outcome
    common = a.index.intersection(b.index)
    assert len(common) > 1000
    assert (a.loc[common] == b.loc[common]).all()


@pytest.mark.parametrize("body, path", [
    ('delay_by_route = { maybe = "1 d" }\nroutes = { won = 1.0 }', "delay_by_route.maybe"),
    ('delay_by_route = { won = "1 d" }\nroutes = { won = 0.5, lost = 0.5 }', "stages.s.delay"),
])
def test_bad_outcome_delays_are_reported(body: str, path: str) -> None:
    with pytest.raises(ScenarioError) as err:
        revsim.loads(BASE.format(body=body))
    assert any(path in line for line in err.value.lines()), err.value.lines()
