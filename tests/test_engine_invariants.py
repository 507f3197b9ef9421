"""Invariants that must hold on any run of any scenario, checked on the shipped ones."""

from pathlib import Path

import numpy as np
import pytest

import revsim

SCENARIOS = sorted((Path(__file__).parent.parent / "scenarios").glob("*.toml"))


@pytest.fixture(scope="module", params=SCENARIOS, ids=lambda p: p.stem)
def run(request):
    scenario = revsim.load(request.param)
    return scenario, scenario.run(replications=1, seed=7, horizon="20 w", warmup="0 h",
                                  records=True)


def test_visit_times_are_ordered(run):
    _, res = run
    v = res.visits
    assert (v.arrival_h <= v.start_h + 1e-9).all()
    assert (v.start_h <= v.end_h + 1e-9).all()


def test_a_lead_is_never_in_two_places(run):
    scenario, res = run
    internal = {"billing", "collections"}  # invoices, numbered separately from leads
    v = res.visits[~res.visits.stage.isin(internal)].sort_values(["lead", "arrival_h", "end_h"])
    same_lead = v.lead.to_numpy()[1:] == v.lead.to_numpy()[:-1]
    next_arrival = v.arrival_h.to_numpy()[1:]
    this_end = v.end_h.to_numpy()[:-1]
    overlaps = same_lead & (next_arrival < this_end - 1e-9)
    assert not overlaps.any(), v.iloc[np.flatnonzero(overlaps)[:3]]


def test_staff_never_work_two_items_at_once(run):
    scenario, res = run
    # On stages without a post-work delay a visit ends when the work ends, so each staff
    # member's [start, end) spells there must not overlap.
    no_delay = {s.name: s.pool for s in scenario.model.stages if s.pool is not None
                and s.delay is None}
    v = res.visits[res.visits.stage.isin(no_delay) & (res.visits.resource >= 0)].copy()
    v["pool"] = v.stage.map(no_delay)
    checked = 0
    for _, g in v.groupby(["pool", "resource"]):
        g = g.sort_values("start_h")
        assert (g.start_h.to_numpy()[1:] >= g.end_h.to_numpy()[:-1] - 1e-9).all()
        checked += len(g)
    assert checked > 0 or v.empty


def test_counts_agree_with_records(run):
    _, res = run
    v = res.visits
    for stage, departures in v.groupby("stage").size().items():
        assert res.kpi("arrivals", "stage", stage)["mean"] >= departures
    assert (v.outcome == "won").sum() == res.kpi("won")["mean"]
