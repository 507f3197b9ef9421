"""Bad scenarios: every problem reported at once, each line naming the file and the field.

Each test writes a scenario file that is valid except for the problem under test, so the error
must come from that problem and nothing else (``minimal()`` itself loads cleanly, checked first).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import DELETE, burst_source, minimal, scenario_dict, write_toml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import revsim
from revsim import ScenarioError


def load_error(path: Path) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        revsim.load(path)
    return info.value


def problem_for(err: ScenarioError, path: str) -> str:
    """The message of the (first) problem at exactly ``path``; fails listing all problems."""
    for p in err.problems:
        if p.path == path:
            return p.message
    raise AssertionError(f"no problem at {path!r}; got:\n" + "\n".join(err.lines()))


def bad(tmp_path: Path, changes: dict[str, Any]) -> ScenarioError:
    """Write minimal() + changes to a file, load it, return the ScenarioError."""
    path = write_toml(tmp_path / "bad.toml", scenario_dict(changes))
    err = load_error(path)
    for line in err.lines():
        assert line.startswith(f"{path}: "), line
    return err


def test_minimal_scenario_is_valid(tmp_path: Path) -> None:
    sc = revsim.load(write_toml(tmp_path / "ok.toml", minimal()))
    assert [s.name for s in sc.model.stages] == ["work"]
    assert sc.warnings == []


# -- one problem at a time ------------------------------------------------------------------------


def test_unknown_pool_suggests_the_close_name(tmp_path: Path) -> None:
    err = bad(tmp_path, {"stages": {"work": {"pool": "staf"}}})
    msg = problem_for(err, "stages.work.pool")
    assert "unknown pool 'staf'" in msg
    assert "did you mean 'staff'" in msg


def test_unknown_stage_in_source_suggests_the_close_name(tmp_path: Path) -> None:
    err = bad(tmp_path, {"sources": {"web": {"to": "wrok"}}})
    msg = problem_for(err, "sources.web.to")
    assert "unknown stage 'wrok'" in msg and "did you mean 'work'" in msg


def test_unknown_route_target_suggests_the_close_name(tmp_path: Path) -> None:
    err = bad(tmp_path, {"stages": {"work": {"routes": {"won": DELETE, "wonn": 1.0}}}})
    msg = problem_for(err, "stages.work.routes.wonn")
    assert "did you mean 'won'" in msg


def test_unknown_nurture_target_stage(tmp_path: Path) -> None:
    err = bad(tmp_path, {
        "stages": {"work": {"routes": {"won": 0.5, "nurture": 0.5}}},
        "nurture": {"after": "3 d", "to": "wrk"},
    })
    assert "did you mean 'work'" in problem_for(err, "nurture.to")


def test_route_probabilities_must_sum_to_one(tmp_path: Path) -> None:
    data = scenario_dict({"stages": {"demo": {"pool": "staff", "work": "1 h",
                                               "routes": {"won": 0.5, "lost": 0.65}}},
                          })
    data["stages"]["work"]["routes"] = {"demo": 1.0}
    path = write_toml(tmp_path / "routes.toml", data)
    err = load_error(path)
    assert f"{path}: stages.demo.routes: probabilities sum to 1.15, expected 1" in err.lines()


def test_segment_specific_routes_are_checked_too(tmp_path: Path) -> None:
    err = bad(tmp_path, {
        "segments": {"smb": {"value": 1000}},
        "stages": {"work": {"routes_by_segment": {"smb": {"won": 0.2, "lost": 0.2}}}},
    })
    assert "sum to 0.4" in problem_for(err, "stages.work.routes_by_segment.smb")


@pytest.mark.parametrize("rate", ["0/w", "-3/w"])
def test_source_rate_must_be_positive(tmp_path: Path, rate: str) -> None:
    err = bad(tmp_path, {"sources": {"web": {"rate": rate}}})
    assert problem_for(err, "sources.web.rate")


def test_negative_duration_parameter_is_rejected(tmp_path: Path) -> None:
    err = bad(tmp_path, {"stages": {"work": {"work": {"dist": "exponential", "mean": "-2 h"}}}})
    assert "negative" in problem_for(err, "stages.work.work.mean")


def test_negative_headcount_is_rejected(tmp_path: Path) -> None:
    err = bad(tmp_path, {"pools": {"staff": {"headcount": -1}}})
    assert "-1" in problem_for(err, "pools.staff.headcount")


def test_unknown_distribution_name(tmp_path: Path) -> None:
    err = bad(tmp_path, {"stages": {"work": {
        "work": {"dist": "lognormall", "median": "1 h", "p90": "3 h"}}}})
    msg = problem_for(err, "stages.work.work.dist")
    assert "unknown distribution 'lognormall'" in msg and "did you mean 'lognormal'" in msg


def test_unit_typo_in_a_duration(tmp_path: Path) -> None:
    err = bad(tmp_path, {"stages": {"work": {"work": "3 dys"}}})
    msg = problem_for(err, "stages.work.work")
    assert "3 dys" in msg and '"d"' in msg


def test_unit_typo_in_the_horizon(tmp_path: Path) -> None:
    err = bad(tmp_path, {"scenario": {"horizon": "2 wks x"}})
    assert problem_for(err, "scenario.horizon")


def test_a_stage_that_only_routes_back_to_itself(tmp_path: Path) -> None:
    err = bad(tmp_path, {"stages": {"work": {"routes": {"won": DELETE, "work": 1.0}}}})
    assert "can never finish" in problem_for(err, "stages.work.routes")


def test_a_closed_loop_of_stages_is_reported_once(tmp_path: Path) -> None:
    err = bad(tmp_path, {"stages": {
        "work": {"routes": {"won": DELETE, "review": 1.0}},
        "review": {"delay": "1 h", "routes": {"work": 1.0}},
    }})
    msg = problem_for(err, "stages.work.routes")
    assert "can never finish" in msg and "review, work" in msg
    assert sum("can never finish" in p.message for p in err.problems) == 1


def test_a_loop_that_leads_can_leave_is_valid(tmp_path: Path) -> None:
    looping = {"stages": {"work": {"routes": {"won": 0.2, "review": 0.8}},
                          "review": {"delay": "1 h", "routes": {"work": 1.0}}}}
    revsim.load(write_toml(tmp_path / "ok.toml", scenario_dict(looping)))
    reneging = {"stages": {"work": {"routes": {"won": DELETE, "work": 1.0},
                                    "patience": {"on_expiry": "renege", "after": "2 h"}}}}
    revsim.load(write_toml(tmp_path / "ok2.toml", scenario_dict(reneging)))


def test_a_rate_with_a_slipped_unit_is_refused_before_allocating(tmp_path: Path) -> None:
    err = bad(tmp_path, {"sources": {"web": {"rate": "1e9/h"}}})
    msg = problem_for(err, "sources.web.rate")
    assert "leads per replication" in msg and "unit" in msg


def test_a_long_horizon_override_is_checked_too(tmp_path: Path) -> None:
    sc = revsim.load(write_toml(tmp_path / "ok.toml",
                                scenario_dict({"sources": {"web": {"rate": "1e4/h"}}})))
    with pytest.raises(ScenarioError) as info:
        sc.run(replications=1, horizon="40 y")
    assert "leads per replication" in problem_for(info.value, "sources.web.rate")


def test_stage_that_no_lead_can_reach(tmp_path: Path) -> None:
    err = bad(tmp_path, {"stages": {"orphan": {"pool": "staff", "work": "1 h",
                                               "routes": {"won": 1.0}}}})
    assert "no lead can reach" in problem_for(err, "stages.orphan")
    assert [p.path for p in err.problems] == ["stages.orphan"]


def test_unknown_field_typo_suggests_the_field(tmp_path: Path) -> None:
    data = minimal()
    data["stages"]["work"]["wrok"] = data["stages"]["work"].pop("work")
    path = write_toml(tmp_path / "typo.toml", data)
    err = load_error(path)
    msg = problem_for(err, "stages.work.wrok")
    assert "unknown field 'wrok'" in msg and "did you mean 'work'" in msg


def test_unknown_section_suggests_the_section(tmp_path: Path) -> None:
    data = minimal()
    data["pool"] = data.pop("pools")
    path = write_toml(tmp_path / "section.toml", data)
    err = load_error(path)
    assert "did you mean 'pools'" in problem_for(err, "pool")


@pytest.mark.parametrize("section", ["scenario", "sources", "stages"])
def test_missing_required_section(tmp_path: Path, section: str) -> None:
    err = bad(tmp_path, {section: DELETE})
    assert "missing" in problem_for(err, section)


def test_missing_required_field(tmp_path: Path) -> None:
    err = bad(tmp_path, {"scenario": {"start": DELETE}})
    assert "missing" in problem_for(err, "scenario.start")


def test_invalid_toml_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "syntax.toml"
    path.write_text('[scenario]\nname = "x"\nstart = 2027-01-04\nhorizon = "2 w\n',
                    encoding="utf-8")
    err = load_error(path)
    assert len(err.lines()) == 1
    line = err.lines()[0]
    assert line.startswith(str(path)) and "invalid TOML" in line and "line 4" in line


def test_loads_names_its_source() -> None:
    with pytest.raises(ScenarioError) as info:
        revsim.loads("[scenario\n", source="pasted.toml")
    assert info.value.lines()[0].startswith("pasted.toml: ")


def test_missing_file_is_a_scenario_error(tmp_path: Path) -> None:
    err = load_error(tmp_path / "nope.toml")
    assert "not found" in err.lines()[0] and str(tmp_path / "nope.toml") in err.lines()[0]


def test_priority_discipline_needs_a_priority_attribute(tmp_path: Path) -> None:
    err = bad(tmp_path, {"stages": {"work": {"discipline": "priority"}}})
    assert "required" in problem_for(err, "stages.work.priority")
    # ... and with the attribute it is fine
    revsim.Scenario(scenario_dict({"stages": {"work": {"discipline": "priority",
                                                       "priority": "score"}}}))


@pytest.mark.parametrize("warmup", ["2 w", "3 w"])
def test_warmup_must_be_shorter_than_the_horizon(tmp_path: Path, warmup: str) -> None:
    err = bad(tmp_path, {"scenario": {"horizon": "2 w", "warmup": warmup}})
    assert "shorter" in problem_for(err, "scenario.warmup")


def test_route_to_nurture_needs_a_nurture_section(tmp_path: Path) -> None:
    err = bad(tmp_path, {"stages": {"work": {"routes": {"won": 0.5, "nurture": 0.5}}}})
    assert "[nurture]" in problem_for(err, "nurture")


def test_decay_to_nurture_needs_a_nurture_section(tmp_path: Path) -> None:
    """decay_outcome = "nurture" sends cold leads to nurture just like a route does; without a
    [nurture] section that must be a validation error, not a crash mid-run."""
    path = write_toml(tmp_path / "decay.toml", scenario_dict({
        "sources": {"web": burst_source("work", [0.0, 0.0])},
        "stages": {"work": {"work": "10 h", "decay_outcome": "nurture",
                            "patience": {"on_expiry": "decay", "after": "2 h"}}},
    }))
    try:
        sc = revsim.load(path)
    except ScenarioError as err:
        assert any(p.path.startswith(("nurture", "stages.work.decay_outcome"))
                   for p in err.problems), err.lines()
        return
    sc.run(replications=1)  # if it loads, it must at least run


def test_reserved_outcome_name_for_a_stage(tmp_path: Path) -> None:
    data = minimal()
    data["stages"]["won"] = data["stages"].pop("work")
    data["sources"]["web"]["to"] = "won"
    err = load_error(write_toml(tmp_path / "reserved.toml", data))
    assert "reserved" in problem_for(err, "stages.won")


@pytest.mark.parametrize(("name", "separator", "fixed"), [
    ("sdr.emea", ".", "sdr_emea"), ("sdr:emea", ":", "sdr_emea"), ("a=b", "=", "a_b"),
    ("x;y", ";", "x_y"),
])
def test_a_name_holding_a_path_separator_is_refused_naming_a_fix(
        tmp_path: Path, name: str, separator: str, fixed: str) -> None:
    """In every named section; the references to the names (a stage's pool, a source's stage)
    still resolve, so each bad name is one problem."""
    data = minimal()
    data["pools"] = {name: data["pools"]["staff"]}
    data["stages"] = {name: {**data["stages"]["work"], "pool": name}}
    data["sources"] = {name: {**data["sources"]["web"], "to": name}}
    data["calendars"] = {name: {"days": ["mon-fri"]}}
    data["segments"] = {name: {"value": 1000}}
    err = load_error(write_toml(tmp_path / "names.toml", data))
    for section in ("calendars", "segments", "sources", "pools", "stages"):
        message = problem_for(err, f'{section}."{name}"')
        assert f"may not contain {separator!r}" in message
        assert f"rename it, e.g. '{fixed}'" in message
    assert len(err.problems) == 5, err.lines()


def test_bad_type_is_reported_with_the_value(tmp_path: Path) -> None:
    err = bad(tmp_path, {"pools": {"staff": {"headcount": "six"}}})
    assert "'six'" in problem_for(err, "pools.staff.headcount")


def test_bad_literal_lists_the_choices(tmp_path: Path) -> None:
    err = bad(tmp_path, {"stages": {"work": {"discipline": "fifoo"}}})
    msg = problem_for(err, "stages.work.discipline")
    assert "'fifoo'" in msg and "fifo" in msg.replace("'fifoo'", "") and "lifo" in msg


# -- everything at once ---------------------------------------------------------------------------

MANY_PROBLEMS = """\
[scenario]
start = 2027-01-04
horizon = "4 w"
warmup = "6 w"

[sources.web]
rate = "40/w"
to = "qualify"

[pools.sdr]
headcount = 2

[stages.qualify]
pool = "sdrs"
wrok = "20 min"
routes = { demo = 0.5, lost = 0.5 }

[stages.demo]
pool = "sdr"
work = "3 dys"
routes = { won = 0.5, lost = 0.65 }
"""


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = write_toml(tmp_path / "many.toml", MANY_PROBLEMS)
    err = load_error(path)
    lines = err.lines()
    assert len(lines) >= 4, lines
    for line in lines:
        assert line.startswith(f"{path}: ")
    paths = {p.path for p in err.problems}
    assert {"scenario.warmup", "stages.qualify.wrok", "stages.demo.work",
            "stages.demo.routes"} <= paths
    assert str(err).splitlines() == lines


def test_cross_reference_in_a_stage_with_a_schema_error_is_still_reported(
        tmp_path: Path) -> None:
    """A typo'd field in a stage must not hide that stage's unknown pool: fixing the typo and
    re-running should not reveal a new problem that was there all along."""
    path = write_toml(tmp_path / "many.toml", MANY_PROBLEMS)
    err = load_error(path)
    assert "sdrs" in problem_for(err, "stages.qualify.pool")


def test_problems_in_several_stages_and_pools_are_all_reported(tmp_path: Path) -> None:
    err = bad(tmp_path, {
        "pools": {"staff": {"headcount": -1}, "other": {"headcount": 1, "calendar": "ofice"}},
        "stages": {"work": {"work": "1 hr x", "routes": {"won": 0.9}}},
        "sources": {"web": {"rate": "0/w"}},
    })
    paths = {p.path for p in err.problems}
    assert {"pools.staff.headcount", "pools.other.calendar", "stages.work.work",
            "stages.work.routes", "sources.web.rate"} <= paths


# -- capacity warning -----------------------------------------------------------------------------


def test_overloaded_pool_gets_a_warning_naming_load_and_capacity() -> None:
    sc = revsim.Scenario(scenario_dict({"sources": {"web": {"rate": "300/w"}}}))
    assert len(sc.warnings) == 1
    w = sc.warnings[0]
    assert "'staff'" in w
    assert "300" in w and "168" in w  # offered 300 h/w of work vs 1 head x 168 h/w


def test_capacity_counts_only_working_hours() -> None:
    office = {"calendars": {"office": {"days": ["mon-fri"], "hours": ["09:00-17:00"]}},
              "pools": {"staff": {"calendar": "office"}}}
    over = revsim.Scenario(scenario_dict(office, sources={"web": {"rate": "50/w",
                                                                   "to": "work"}}))
    assert len(over.warnings) == 1
    assert "50" in over.warnings[0] and "40" in over.warnings[0]
    under = revsim.Scenario(scenario_dict(office, sources={"web": {"rate": "30/w",
                                                                    "to": "work"}}))
    assert under.warnings == []


def test_capacity_accounts_for_routing_and_headcount() -> None:
    # 100 leads/w x 1 h, half of them come back for a second 1 h pass: 150 h/w offered.
    data = scenario_dict({"sources": {"web": {"rate": "100/w"}},
                          "stages": {"work": {"routes": {"won": 0.5, "again": 0.5}},
                                     "again": {"pool": "staff", "work": "1 h",
                                               "routes": {"won": 1.0}}}})
    assert revsim.Scenario(data).warnings == []  # 150 < 168
    data["pools"]["staff"]["headcount"] = 0
    data["sources"]["web"]["rate"] = "10/w"
    warnings = revsim.Scenario(data).warnings
    assert len(warnings) == 1 and "'staff'" in warnings[0] and "15 h" in warnings[0]


def test_capacity_counts_the_planned_hires() -> None:
    # 300 h/w of work for one head (168 h/w) is overloaded, but not with two more hired when
    # the window starts (3 heads); if they leave a week later, 1.14 heads on average are not
    # enough again
    over = scenario_dict({"sources": {"web": {"rate": "300/w"}}})
    over["scenario"].update(horizon="16 w", warmup="2 w")
    assert len(revsim.Scenario(over).warnings) == 1
    hired = scenario_dict(over, pools={"staff": {"hires": [{"date": "2027-01-18",
                                                            "count": 2}]}})
    assert revsim.Scenario(hired).warnings == []
    gone = scenario_dict(hired, pools={"staff": {"departures": [{"date": "2027-01-25",
                                                                 "count": 2}]}})
    (w,) = revsim.Scenario(gone).warnings
    assert "on average, with the planned changes" in w


# -- property tests on route validation -----------------------------------------------------------

TARGETS = ["won", "lost", "disqualified", "done"]

weights = st.dictionaries(
    st.sampled_from(TARGETS),
    st.floats(min_value=1e-3, max_value=1e3, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=len(TARGETS),
)


def with_routes(routes: dict[str, float]) -> dict[str, Any]:
    return scenario_dict({"stages": {"work": {"routes": {"won": DELETE, **routes}}}})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(weights)
def test_normalised_routes_always_load(w: dict[str, float]) -> None:
    total = sum(w.values())
    routes = {k: v / total for k, v in w.items()}
    sc = revsim.Scenario(with_routes(routes))
    routing = sc.model.stages[0].routes
    assert math.isclose(sum(routing.probabilities), 1.0, rel_tol=1e-9)
    assert routing.cumulative[-1] == pytest.approx(1.0)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(weights, st.floats(min_value=1.0011, max_value=1.5) | st.floats(min_value=0.5,
                                                                        max_value=0.9989))
def test_routes_off_one_are_rejected_naming_the_field(w: dict[str, float], factor: float) -> None:
    total = sum(w.values())
    routes = {k: factor * v / total for k, v in w.items()}
    assume(all(p <= 1 for p in routes.values()))
    assume(abs(sum(routes.values()) - 1) > 1e-3)
    with pytest.raises(ScenarioError) as info:
        revsim.Scenario(with_routes(routes), source="prop.toml")
    msg = problem_for(info.value, "stages.work.routes")
    m = re.search(r"probabilities sum to ([0-9.]+), expected 1", msg)
    assert m is not None, msg
    assert float(m.group(1)) == pytest.approx(sum(routes.values()), rel=1e-3)
    assert "prop.toml: stages.work.routes: " in str(info.value)
