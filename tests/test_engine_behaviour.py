"""Engine behaviour, checked against exact traces computed by hand.

Leads arrive only through bursts at exact instants (the sources' Poisson rate is negligible) and
every duration is deterministic, so each visit's arrival, start and end times are known exactly,
as in SimPy's own tests. Times are hours since Monday 2027-01-04 00:00.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import QUIET_RATE, START, burst_source, run_trace, scenario_dict

import revsim

OFFICE = {"days": ["mon-fri"], "hours": ["09:00-17:00"]}


def rows(visits: pd.DataFrame, stage: str | None = None) -> list[tuple]:
    """(lead, stage, arrival, start, end, outcome) per visit, in lead then time order."""
    v = visits if stage is None else visits[visits.stage == stage]
    return [
        (int(r.lead), r.stage, round(r.arrival_h, 9), round(r.start_h, 9), round(r.end_h, 9),
         r.outcome)
        for r in v.itertuples()
    ]


def one_stage(times: list[float], **stage: Any) -> dict[str, Any]:
    """Leads at ``times`` into stage ``work`` (pool ``staff`` of one) with the given fields."""
    data = scenario_dict({"sources": {"web": burst_source("work", times)},
                          "stages": {"work": stage}})
    if "routes" in stage:
        data["stages"]["work"]["routes"] = stage["routes"]
    return data


def total(result: revsim.RunResult, metric: str) -> float:
    return float(result.values(metric)[0])


# -- queue disciplines ----------------------------------------------------------------------------


def test_fifo_order() -> None:
    visits, result = run_trace(one_stage([0.0, 0.25, 0.5], work="1 h"))
    assert rows(visits) == [
        (1, "work", 0.0, 0.0, 1.0, "won"),
        (2, "work", 0.25, 1.0, 2.0, "won"),
        (3, "work", 0.5, 2.0, 3.0, "won"),
    ]
    assert total(result, "won") == 3 and total(result, "leads_in") == 3
    assert result.values("wait_mean", "stage", "work")[0] == pytest.approx((0 + 0.75 + 1.5) / 3)


def test_fifo_with_two_servers() -> None:
    data = one_stage([0.0, 0.0, 0.0, 0.5], work="2 h")
    data["pools"]["staff"]["headcount"] = 2
    visits, _ = run_trace(data)
    assert [(r[0], r[3], r[4]) for r in rows(visits)] == [
        (1, 0.0, 2.0), (2, 0.0, 2.0), (3, 2.0, 4.0), (4, 2.0, 4.0)]


def test_lifo_order() -> None:
    visits, _ = run_trace(one_stage([0.0, 0.25, 0.5, 0.75], work="1 h", discipline="lifo"))
    assert [(r[0], r[3]) for r in rows(visits)] == [(1, 0.0), (2, 3.0), (3, 2.0), (4, 1.0)]


def priority_scenario(attr: str, values: list[float], **stage: Any) -> dict[str, Any]:
    """One lead per value, arriving at 0, 0.25, 0.5, ... each from its own source."""
    sources = {
        f"s{i}": burst_source("work", [0.25 * i], **{attr: v}) for i, v in enumerate(values)
    }
    data = scenario_dict(stages={"work": {"work": "1 h", "discipline": "priority",
                                          "priority": attr, **stage}})
    data["sources"] = sources
    return data


def test_priority_by_value_serves_highest_first() -> None:
    # lead 1 (value 50) is served at once; then 300, 200, 200 (FIFO between equals), 100
    visits, _ = run_trace(priority_scenario("value", [50, 100, 300, 200, 200]))
    starts = {r[0]: r[3] for r in rows(visits)}
    assert starts == {1: 0.0, 3: 1.0, 4: 2.0, 5: 3.0, 2: 4.0}
    assert dict(zip(visits.lead, visits.value, strict=True)) == {1: 50, 2: 100, 3: 300, 4: 200,
                                                                 5: 200}


def test_priority_by_score_serves_highest_first() -> None:
    visits, _ = run_trace(priority_scenario("score", [10, 20, 90, 50, 70]))
    starts = {r[0]: r[3] for r in rows(visits)}
    assert starts == {1: 0.0, 3: 1.0, 5: 2.0, 4: 3.0, 2: 4.0}


def test_priority_by_value_ignores_score() -> None:
    data = priority_scenario("value", [0, 100, 200])
    data["sources"]["s1"]["score"] = 99
    data["sources"]["s2"]["score"] = 1
    visits, _ = run_trace(data)
    assert {r[0]: r[3] for r in rows(visits)} == {1: 0.0, 3: 1.0, 2: 2.0}


def test_shared_pool_serves_the_higher_pool_priority_first() -> None:
    data = scenario_dict({
        "sources": {"web": burst_source("low", [0.0, 1.0]), "vip": burst_source("high", [2.0])},
        "stages": {
            "work": None,
            "low": {"pool": "staff", "work": "5 h", "routes": {"lost": 1.0}},
            "high": {"pool": "staff", "work": "1 h", "pool_priority": 1, "routes": {"won": 1.0}},
        },
    })
    del data["stages"]["work"]
    visits, _ = run_trace(data)
    assert rows(visits) == [
        (1, "low", 0.0, 0.0, 5.0, "lost"),
        (2, "low", 1.0, 6.0, 11.0, "lost"),  # waits for the later, higher-priority lead
        (3, "high", 2.0, 5.0, 6.0, "won"),
    ]


def test_shared_pool_without_priority_is_fifo_across_stages() -> None:
    data = scenario_dict({
        "sources": {"web": burst_source("low", [0.0, 1.0]), "vip": burst_source("high", [2.0])},
        "stages": {
            "low": {"pool": "staff", "work": "5 h", "routes": {"lost": 1.0}},
            "high": {"pool": "staff", "work": "1 h", "routes": {"won": 1.0}},
        },
    })
    del data["stages"]["work"]
    visits, _ = run_trace(data)
    assert [(r[0], r[3]) for r in rows(visits)] == [(1, 0.0), (2, 5.0), (3, 10.0)]


# -- working calendars ----------------------------------------------------------------------------


def office(data: dict[str, Any], holidays: list[dt.date] | None = None) -> dict[str, Any]:
    data["calendars"] = {"office": {**OFFICE, "holidays": holidays or []}}
    data["pools"]["staff"]["calendar"] = "office"
    return data


def test_work_pauses_overnight_and_resumes_next_morning() -> None:
    # a 4 h item started Monday 15:00 stops at 17:00 and ends Tuesday 11:00
    visits, _ = run_trace(office(one_stage([15.0], work="4 h")))
    assert rows(visits) == [(1, "work", 15.0, 15.0, 35.0, "won")]


def test_lead_arriving_after_hours_waits_for_the_morning() -> None:
    # Monday 20:00 -> starts Tuesday 09:00; Saturday 10:00 -> starts Monday 09:00
    visits, result = run_trace(office(one_stage([20.0, 5 * 24 + 10.0], work="1 h")))
    assert rows(visits) == [
        (1, "work", 20.0, 33.0, 34.0, "won"),
        (2, "work", 130.0, 7 * 24 + 9.0, 7 * 24 + 10.0, "won"),
    ]
    assert result.values("wait_mean", "stage", "work")[0] == pytest.approx((13 + 47) / 2)


def test_work_spanning_a_weekend() -> None:
    # Friday 15:00 + 4 h of work -> Monday 11:00
    visits, _ = run_trace(office(one_stage([4 * 24 + 15.0], work="4 h")))
    assert rows(visits)[0][3:5] == (111.0, 7 * 24 + 11.0)


def test_holiday_is_skipped() -> None:
    # Tuesday is a holiday: Monday 15:00 + 4 h -> Wednesday 11:00
    data = office(one_stage([15.0, 30.0], work="4 h"), holidays=[dt.date(2027, 1, 5)])
    visits, _ = run_trace(data)
    assert rows(visits) == [
        (1, "work", 15.0, 15.0, 59.0, "won"),
        (2, "work", 30.0, 59.0, 63.0, "won"),  # waits for lead 1, then Wednesday 11-15
    ]


def test_unstaffed_delay_ignores_the_calendar() -> None:
    data = office(one_stage([15.0], work="4 h"))
    data["stages"]["work"]["delay"] = "10 h"
    visits, _ = run_trace(data)
    assert rows(visits) == [(1, "work", 15.0, 15.0, 45.0, "won")]


def test_utilisation_is_over_working_hours() -> None:
    data = office(one_stage([9.0, 33.0], work="4 h"))
    data["scenario"]["horizon"] = "1 w"
    _, result = run_trace(data)
    # 8 h of work in a 40 h working week
    assert result.values("utilisation", "pool", "staff")[0] == pytest.approx(8 / 40)
    assert result.values("available_hours", "pool", "staff")[0] == pytest.approx(40)


# -- limits: lose and block -----------------------------------------------------------------------


def test_queue_limit_loses_leads_that_find_the_queue_full() -> None:
    visits, result = run_trace(one_stage([0.0, 0.0, 0.0, 0.5], work="1 h", queue_limit=1))
    assert rows(visits) == [
        (1, "work", 0.0, 0.0, 1.0, "won"),
        (2, "work", 0.0, 1.0, 2.0, "won"),
        (3, "work", 0.0, 0.0, 0.0, "balked"),
        (4, "work", 0.5, 0.5, 0.5, "balked"),
    ]
    assert total(result, "balked") == 2 and total(result, "won") == 2
    assert result.values("balked", "stage", "work")[0] == 2


def test_wip_limit_counts_items_in_work() -> None:
    visits, result = run_trace(one_stage([0.0, 0.0, 1.0], work="1 h", wip_limit=1))
    assert rows(visits) == [
        (1, "work", 0.0, 0.0, 1.0, "won"),
        (2, "work", 0.0, 0.0, 0.0, "balked"),
        (3, "work", 1.0, 1.0, 2.0, "won"),  # the first one left at the same instant
    ]
    assert total(result, "balked") == 1


def test_block_holds_the_upstream_server_until_space_frees() -> None:
    data = scenario_dict({
        "sources": {"web": burst_source("a", [0.0, 0.0, 0.0])},
        "pools": {"pa": {"headcount": 1}, "pb": {"headcount": 1}},
        "stages": {
            "a": {"pool": "pa", "work": "1 h", "routes": {"b": 1.0}},
            "b": {"pool": "pb", "work": "5 h", "wip_limit": 1, "when_full": "block",
                  "routes": {"won": 1.0}},
        },
    })
    del data["pools"]["staff"], data["stages"]["work"]
    visits, result = run_trace(data)
    assert rows(visits, "a") == [
        (1, "a", 0.0, 0.0, 1.0, "b"),
        (2, "a", 0.0, 1.0, 6.0, "b"),    # done at 2, blocked (server held) until b frees at 6
        (3, "a", 0.0, 6.0, 11.0, "b"),   # so lead 3 cannot start before 6
    ]
    assert rows(visits, "b") == [
        (1, "b", 1.0, 1.0, 6.0, "won"),
        (2, "b", 6.0, 6.0, 11.0, "won"),
        (3, "b", 11.0, 11.0, 16.0, "won"),
    ]
    assert total(result, "balked") == 0
    # pa was busy (working or blocked) from 0 to 11 -> its staff hours are the work, not 11
    assert result.values("staff_hours", "stage", "a")[0] == pytest.approx(3.0)


def test_block_on_a_queue_limit_admits_as_soon_as_the_queue_has_room() -> None:
    """With queue_limit (not wip_limit), space frees when a queued lead starts work, which
    can be long before any lead leaves the stage (here b has a 10 h delay after its work)."""
    data = scenario_dict({
        "sources": {"web": burst_source("a", [0.0, 0.0, 0.0])},
        "pools": {"pa": {"headcount": 1}, "pb": {"headcount": 1}},
        "stages": {
            "a": {"pool": "pa", "work": "6 min", "routes": {"b": 1.0}},
            "b": {"pool": "pb", "work": "2 h", "delay": "10 h", "queue_limit": 1,
                  "when_full": "block", "routes": {"won": 1.0}},
        },
    })
    del data["pools"]["staff"], data["stages"]["work"]
    visits, _ = run_trace(data)
    assert rows(visits, "b")[:2] == [
        (1, "b", 0.1, 0.1, 12.1, "won"),   # works 0.1-2.1, then the delay
        (2, "b", 0.2, 2.1, 14.1, "won"),   # queued (the queue is now full), starts at 2.1
    ]
    # lead 3 finished a at 0.3 and found b's queue full; at 2.1 lead 2 left the queue, so
    # lead 3 moves in then, releasing a's server, and starts work when lead 2's work ends
    assert rows(visits, "a")[2] == (3, "a", 0.0, 0.2, 2.1, "b")
    assert rows(visits, "b")[2] == (3, "b", 2.1, 4.1, 16.1, "won")


def test_lose_downstream_does_not_hold_upstream() -> None:
    data = scenario_dict({
        "sources": {"web": burst_source("a", [0.0, 0.0, 0.0])},
        "pools": {"pa": {"headcount": 1}, "pb": {"headcount": 1}},
        "stages": {
            "a": {"pool": "pa", "work": "1 h", "routes": {"b": 1.0}},
            "b": {"pool": "pb", "work": "5 h", "wip_limit": 1, "when_full": "lose",
                  "routes": {"won": 1.0}},
        },
    })
    del data["pools"]["staff"], data["stages"]["work"]
    visits, _ = run_trace(data)
    assert rows(visits, "a") == [(1, "a", 0.0, 0.0, 1.0, "b"), (2, "a", 0.0, 1.0, 2.0, "b"),
                                 (3, "a", 0.0, 2.0, 3.0, "b")]
    assert [r[5] for r in rows(visits, "b")] == ["won", "balked", "balked"]


# -- patience -------------------------------------------------------------------------------------


def test_renege_leaves_the_queue_when_patience_runs_out() -> None:
    visits, result = run_trace(one_stage(
        [0.0, 0.0, 1.5], work="3 h", patience={"on_expiry": "renege", "after": "2 h"}))
    assert rows(visits) == [
        (1, "work", 0.0, 0.0, 3.0, "won"),
        (2, "work", 0.0, 2.0, 2.0, "reneged"),   # waited its 2 h and left
        (3, "work", 1.5, 3.0, 6.0, "won"),       # served at 3, before its patience ran out (3.5)
    ]
    assert total(result, "reneged") == 1
    assert result.values("reneged", "stage", "work")[0] == 1


def test_decay_routes_leads_that_waited_too_long_to_the_decay_outcome() -> None:
    visits, result = run_trace(one_stage(
        [0.0, 0.0, 0.0], work="4 h", patience={"on_expiry": "decay", "after": "5 h"},
        decay_outcome="lost"))
    assert rows(visits) == [
        (1, "work", 0.0, 0.0, 4.0, "won"),
        (2, "work", 0.0, 4.0, 8.0, "won"),    # waited 4 h < 5 h: still warm
        (3, "work", 0.0, 8.0, 12.0, "lost"),  # waited 8 h > 5 h: went cold, still worked
    ]
    assert total(result, "lost") == 1 and total(result, "reneged") == 0


def test_decay_only_overrides_onward_routes() -> None:
    # a cold lead that would have been disqualified anyway stays disqualified
    visits, _ = run_trace(one_stage(
        [0.0, 0.0], work="4 h", patience={"on_expiry": "decay", "after": "1 h"},
        decay_outcome="lost", routes={"disqualified": 1.0}))
    assert [r[5] for r in rows(visits)] == ["disqualified", "disqualified"]


# -- nurture --------------------------------------------------------------------------------------


def test_nurture_recycles_then_disqualifies_after_max_cycles() -> None:
    data = scenario_dict({
        "sources": {"web": burst_source("review", [0.0])},
        "stages": {"work": None, "review": {"delay": "1 h", "routes": {"nurture": 1.0}}},
        "nurture": {"after": "10 h", "to": "review", "max_cycles": 2},
    })
    del data["stages"]["work"], data["pools"]
    visits, result = run_trace(data)
    assert rows(visits) == [
        (1, "review", 0.0, 0.0, 1.0, "nurture"),
        (1, "review", 11.0, 11.0, 12.0, "nurture"),
        (1, "review", 22.0, 22.0, 23.0, "disqualified"),  # no cycles left
    ]
    assert total(result, "disqualified") == 1 and total(result, "leads_in") == 1


def test_nurture_with_zero_cycles_disqualifies_at_once() -> None:
    data = scenario_dict({
        "sources": {"web": burst_source("work", [0.0])},
        "nurture": {"after": "10 h", "to": "work", "max_cycles": 0},
    })
    data["stages"]["work"]["routes"] = {"nurture": 1.0}
    visits, result = run_trace(data)
    # the visit is recorded with what actually happens to the lead: no cycles left, so it is
    # disqualified rather than recycled
    assert rows(visits) == [(1, "work", 0.0, 0.0, 1.0, "disqualified")]
    assert total(result, "disqualified") == 1


def test_recycled_lead_gets_a_new_first_touch_time() -> None:
    data = scenario_dict({
        "sources": {"web": burst_source("work", [0.0, 0.0])},
        "stages": {"work": {"work": "2 h"}},
        "nurture": {"after": "100 h", "to": "work", "max_cycles": 1},
    })
    data["stages"]["work"]["routes"] = {"nurture": 1.0}
    visits, result = run_trace(data)
    # first touches at 0 and 2 (waited 2 h), then after nurture at 102 and 104 (lead 2 arrives
    # back at 104 and starts at once)
    assert [(r[0], r[2], r[3]) for r in rows(visits)] == [
        (1, 0.0, 0.0), (1, 102.0, 102.0), (2, 0.0, 2.0), (2, 104.0, 104.0)]
    assert total(result, "time_to_first_touch_mean") == pytest.approx(0.5)


# -- segments -------------------------------------------------------------------------------------


def test_routes_by_segment() -> None:
    data = scenario_dict({
        "segments": {"smb": {"value": 1000}, "ent": {"value": "50k"}},
        "sources": {"web": burst_source("work", [0.0, 2.0], segments="smb"),
                    "sales": burst_source("work", [1.0], segments="ent")},
        "stages": {"work": {"routes_by_segment": {"ent": {"won": 1.0}}}},
    })
    data["stages"]["work"]["routes"] = {"lost": 1.0}
    visits, result = run_trace(data)
    assert [(r[0], r[5]) for r in rows(visits)] == [(1, "lost"), (2, "won"), (3, "lost")]
    assert visits.sort_values("lead").value.tolist() == [1000, 50000, 1000]
    assert total(result, "bookings") == 50000


def test_source_value_overrides_the_segment_value() -> None:
    data = scenario_dict({
        "segments": {"smb": {"value": 1000}},
        "sources": {"web": burst_source("work", [0.0], segments="smb", value="2k")},
    })
    visits, _ = run_trace(data)
    assert visits.value.tolist() == [2000]


# -- arrivals: bursts, limit, warm-up -------------------------------------------------------------


def test_bursts_arrive_in_exact_counts() -> None:
    data = scenario_dict({"sources": {"web": {
        "rate": QUIET_RATE, "to": "work",
        "bursts": [{"at": dt.date(2027, 1, 6), "count": 5},
                   {"at": dt.datetime(2027, 1, 8, 12, 0), "count": 4, "over": "1 d"}],
    }}}, stages={"work": {"work": "1 min"}})
    visits, result = run_trace(data)
    assert total(result, "leads_in") == 9
    arrivals = visits.arrival_h.to_numpy()
    assert (arrivals == 48.0).sum() == 5
    late = arrivals[arrivals != 48.0]
    assert len(late) == 4 and ((late >= 108.0) & (late < 132.0)).all()


def test_source_limit_caps_arrivals() -> None:
    data = scenario_dict({"sources": {"web": {"rate": "100/d", "limit": 7}}},
                         stages={"work": {"work": "1 min"}})
    visits, result = run_trace(data)
    assert total(result, "leads_in") == 7
    assert visits.lead.nunique() == 7
    assert result.values("leads_in", "source", "web")[0] == 7


def test_warmup_excludes_early_arrivals_from_counts() -> None:
    data = one_stage([10.0] * 5 + [50.0] * 3, work="1 h")
    data["scenario"]["warmup"] = "2 d"
    _, result = run_trace(data)
    assert total(result, "leads_in") == 3
    assert total(result, "won") == 3
    assert result.values("arrivals", "stage", "work")[0] == 3
    # overriding the warm-up at run time moves the window
    _, result = run_trace(data, warmup="1 h")
    assert total(result, "leads_in") == 8


def test_horizon_cuts_the_run() -> None:
    data = one_stage([10.0, 30.0], work="1 h")
    _, result = run_trace(data, horizon="1 d")
    assert total(result, "leads_in") == 1


# -- staffing over time ---------------------------------------------------------------------------


def test_hire_adds_capacity_on_its_date() -> None:
    data = one_stage([0.0, 0.0], work="100 h")
    data["pools"]["staff"]["hires"] = [{"date": dt.date(2027, 1, 5), "count": 1}]
    visits, result = run_trace(data)
    assert [(r[0], r[3], r[4]) for r in rows(visits)] == [(1, 0.0, 100.0), (2, 24.0, 124.0)]
    assert result.values("headcount_end", "pool", "staff")[0] == 2


def test_departure_removes_capacity_after_the_item_in_hand() -> None:
    data = one_stage([0.0] * 8, work="10 h")
    data["pools"]["staff"]["headcount"] = 2
    data["pools"]["staff"]["departures"] = [{"date": dt.date(2027, 1, 5), "count": 1}]
    visits, result = run_trace(data)
    # two at a time until 30; the leaver (busy at 24) finishes at 30, then one at a time
    assert [r[3] for r in rows(visits)] == [0.0, 0.0, 10.0, 10.0, 20.0, 20.0, 30.0, 40.0]
    assert result.values("headcount_end", "pool", "staff")[0] == 1


def test_ramp_makes_early_work_slower() -> None:
    data = one_stage([0.0, 0.0], work="10 h")
    data["pools"]["staff"]["headcount"] = 0
    data["pools"]["staff"]["hires"] = [{"date": dt.date(2027, 1, 5), "count": 1,
                                        "ramp": {"duration": "10 d", "start": 0.5}}]
    visits, _ = run_trace(data)
    # hired at 24 at 50% -> 10 h of work takes 20 h; at 44 productivity is 0.5 + 0.5 * 20/240
    second = 10.0 / (0.5 + 0.5 * 20.0 / 240.0)
    assert [(r[3], r[4]) for r in rows(visits)] == [(24.0, 44.0),
                                                    (44.0, round(44.0 + second, 9))]


def test_pool_ramp_applies_to_hires_without_their_own() -> None:
    data = one_stage([0.0], work="10 h")
    data["pools"]["staff"].update(headcount=0, ramp={"duration": "10 d", "start": 0.25},
                                  hires=[{"date": dt.date(2027, 1, 5)}])
    visits, _ = run_trace(data)
    assert rows(visits)[0][3:5] == (24.0, 64.0)


def attrition_run(backfill: bool) -> tuple[np.ndarray, revsim.RunResult]:
    data = scenario_dict({
        "scenario": {"horizon": "52 w"},
        "sources": {"web": {"rate": QUIET_RATE}},
        "pools": {"staff": {"headcount": 10, "attrition": "4/y"}},
    })
    if backfill:
        data["pools"]["staff"]["backfill_after"] = "1 w"
    result = revsim.Scenario(data).run(replications=2, seed=7)
    s = result.series
    heads = s[s.variable == "headcount:staff"].value.to_numpy()
    return heads, result


def test_attrition_with_backfill_keeps_the_average_headcount() -> None:
    heads, result = attrition_run(backfill=True)
    assert heads.max() <= 10
    # a leaver is replaced a week later; at 4 leavers/head/year ~7% of heads are vacant
    assert 8.5 <= heads.mean() <= 9.9
    assert heads.min() < 10  # people did leave


def test_attrition_without_backfill_shrinks_the_pool() -> None:
    heads, result = attrition_run(backfill=False)
    assert heads[0] == 10
    assert result.values("headcount_end", "pool", "staff").max() <= 2  # ~10 e^-4 = 0.2 left
    assert heads.mean() < 5


# -- records ---------------------------------------------------------------------------------------


def test_without_records_visits_raise() -> None:
    result = revsim.Scenario(one_stage([0.0], work="1 h")).run(replications=1)
    with pytest.raises(ValueError, match="records"):
        _ = result.visits


def test_visit_columns() -> None:
    visits, _ = run_trace(one_stage([0.0], work="1 h"))
    assert {"replication", "lead", "stage", "arrival_h", "start_h", "end_h", "outcome",
            "value"} <= set(visits.columns)
    assert list(visits.columns[:3]) == ["replication", "lead", "stage"]


def test_kpis_agree_with_the_trace() -> None:
    data = scenario_dict({"scenario": {"horizon": "4 w"},
                          "sources": {"web": {"rate": "60/w"}},
                          "stages": {"work": {"work": {"dist": "exponential", "mean": "1 h"},
                                              "routes": {"won": 0.3, "lost": 0.7}}}})
    visits, result = run_trace(data, replications=2)
    for rep in (0, 1):
        v = visits[visits.replication == rep]
        won = result.values("won")[rep]
        assert won == (v.outcome == "won").sum()
        assert result.values("lost")[rep] == (v.outcome == "lost").sum()
        span = (v.end_h - v.arrival_h).to_numpy()
        assert result.values("time_in_stage_mean", "stage", "work")[rep] == pytest.approx(
            span.mean())
    assert (visits.start_h >= visits.arrival_h).all()


def test_start_date_and_clock() -> None:
    data = one_stage([36.0], work="1 h")
    _, result = run_trace(data)
    s = result.series
    assert s.date.min() == pd.Timestamp(START)
    assert (s.t_hours % 24 == 0).all()
