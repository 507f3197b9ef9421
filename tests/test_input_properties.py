"""Property tests over generated scenarios: every valid one (random pools, calendars, stages,
routes, patience and cash, on short horizons) keeps the engine's invariants, and every invalid
mutation of one is refused by the CLI with exit code 2 and a short message, never a traceback.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
from pathlib import Path
from typing import Any

import tomli_w
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import revsim
from revsim.cli import main

settings.register_profile("input", max_examples=20, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow,
                                                 HealthCheck.function_scoped_fixture])
PROFILE = settings.get_profile("input")
TIME_UNITS = {"h", "d", "w"}
OUTCOMES = ("won", "lost", "disqualified", "reneged", "balked", "done")


@st.composite
def calendars(draw: st.DrawFn) -> dict[str, Any]:
    out = {}
    for i in range(draw(st.integers(0, 2))):
        days = draw(st.sampled_from([["mon-fri"], ["mon", "wed", "fri"], ["daily"], ["sat-sun"],
                                     ["fri-mon"]]))
        if draw(st.booleans()):
            a = draw(st.integers(0, 20))
            b = draw(st.integers(a + 1, 24))
            hours = [f"{a:02d}:00-{b:02d}:00"]
        else:
            a = draw(st.integers(13, 23))
            b = draw(st.integers(0, a))
            hours = [f"{a:02d}:00-{b:02d}:30+1" if b < a else f"{a:02d}:00-{b:02d}:00+1"]
        out[f"cal{i}"] = {"days": days, "hours": hours}
    return out


def work() -> st.SearchStrategy[Any]:
    minutes = st.integers(5, 240)
    return st.one_of(
        minutes.map(lambda m: {"dist": "exponential", "mean": f"{m} min"}),
        minutes.map(lambda m: {"dist": "lognormal", "median": f"{m} min", "p90": f"{3 * m} min"}),
        minutes.map(lambda m: f"{m} min"),
    )


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    """A valid scenario: a chain of stages, each routing on or out, small and short."""
    cals = draw(calendars())
    n_pools = draw(st.integers(1, 3))
    pools = {f"p{i}": {"headcount": draw(st.integers(1, 4)),
                       "calendar": draw(st.sampled_from(["always", *cals]))}
             for i in range(n_pools)}
    segments = {}
    if draw(st.booleans()):
        segments = {"smb": {"value": {"dist": "lognormal", "median": "8k", "p90": "20k"}},
                    "ent": {"value": {"dist": "gamma", "mean": "60k", "sd": "30k"}}}
    n_stages = draw(st.integers(1, 4))
    stages = {}
    for i in range(n_stages):
        onward = draw(st.floats(0.2, 0.9)) if i < n_stages - 1 else 0.0
        won = round((1 - onward) * draw(st.floats(0.0, 1.0)), 6)
        routes = {"won": won, "lost": round(1 - onward - won, 6)}
        if onward:
            routes[f"s{i + 1}"] = round(onward, 6)
        routes["lost"] = round(1 - sum(v for k, v in routes.items() if k != "lost"), 9)
        stage: dict[str, Any] = {"routes": routes}
        if draw(st.integers(0, 4)) > 0:  # mostly staffed
            stage["pool"] = draw(st.sampled_from(sorted(pools)))
            stage["work"] = draw(work())
            discipline = draw(st.sampled_from(["fifo", "lifo", "priority"]))
            stage["discipline"] = discipline
            if discipline == "priority":
                stage["priority"] = draw(st.sampled_from(["value", "score"]))
            stage["patience"] = draw(st.one_of(
                st.sampled_from(["none", "moderate", "aggressive"]),
                st.integers(1, 48).map(lambda h: {"on_expiry": "renege",
                                                  "after": {"dist": "exponential",
                                                            "mean": f"{h} h"}})))
            if draw(st.booleans()):
                stage["delay"] = f"{draw(st.integers(1, 72))} h"
        else:
            stage["delay"] = {"dist": "exponential", "mean": f"{draw(st.integers(1, 72))} h"}
        stages[f"s{i}"] = stage
    sources = {}
    for j in range(draw(st.integers(1, 2))):
        source: dict[str, Any] = {"rate": f"{draw(st.integers(5, 60))}/w", "to": "s0",
                                  "score": {"dist": "uniform", "low": 0, "high": 100}}
        if segments:
            share = round(draw(st.floats(0.0, 1.0)), 6)
            source["segments"] = {"smb": share, "ent": round(1 - share, 6)}
        sources[f"src{j}"] = source
    raw: dict[str, Any] = {
        "scenario": {"name": "generated", "start": draw(st.dates(dt.date(2020, 1, 1),
                                                                 dt.date(2030, 12, 31))),
                     "horizon": f"{draw(st.integers(2, 5))} w", "warmup": "0 h",
                     "sample_every": "1 d"},
        "calendars": cals, "pools": pools, "stages": stages, "sources": sources,
    }
    if segments:
        raw["segments"] = segments
    if draw(st.booleans()):
        if not segments:
            for source in sources.values():
                source["value"] = {"dist": "lognormal", "median": "10k", "p90": "30k"}
        raw["deals"] = {"contract": {"type": draw(st.sampled_from(["one_off", "subscription"])),
                                     "billing": "upfront",
                                     "terms": draw(st.sampled_from(["net 15", "net 30", 45]))}}
        on_time = round(draw(st.floats(0.3, 0.9)), 6)
        raw["payment"] = {"on_time": on_time, "late": round(1 - on_time, 6),
                          "lateness": {"dist": "exponential", "mean": "10 d"}}
    return raw


def write(raw: dict[str, Any], path: Path) -> Path:
    path.write_text(tomli_w.dumps(raw), encoding="utf-8")
    return path


@settings(PROFILE)
@given(raw=scenarios(), seed=st.integers(0, 2**32))
def test_every_valid_scenario_keeps_the_invariants(raw: dict[str, Any], seed: int) -> None:
    sc = revsim.Scenario(raw)
    result = sc.run(replications=1, seed=seed, jobs=1, records=True)
    kpis = result.kpis
    total = {r.metric: r.mean for r in kpis[kpis.scope == "total"].itertuples()}
    # conservation: every lead that arrived has an outcome or is still in the system
    series = result.series
    system = series[series.variable == "system"].sort_values("t_hours")
    assert system.t_hours.iloc[-1] == sc.model.horizon
    left = sum(total.get(k, 0.0) for k in OUTCOMES)
    assert total["leads_in"] == left + system.value.iloc[-1]
    # times are never negative, and every visit starts after it arrives and ends after it starts
    visits = result.visits
    assert (visits.arrival_h >= 0).all()
    assert (visits.start_h >= visits.arrival_h - 1e-9).all()
    assert (visits.end_h >= visits.start_h - 1e-9).all()
    for row in kpis.itertuples():
        assert not math.isinf(row.mean), f"{row.metric} {row.scope} {row.name} is infinite"
        if row.unit in TIME_UNITS and not math.isnan(row.mean):
            assert row.mean >= 0, f"{row.metric} {row.name} = {row.mean}"
        if math.isnan(row.mean):
            # undefined, never broken: a rate or statistic of something that did not happen
            assert _undefined_because_empty(row, kpis), f"{row.metric} {row.name} is NaN"


def _undefined_because_empty(row: Any, kpis: Any) -> bool:
    """A NaN KPI has its reason: nothing it is computed from happened in the window (no lead
    won, no invoice paid, no lead reached the stage, nobody waited)."""
    counts = {r.metric: r.mean for r in kpis[(kpis.scope == row.scope)
                                             & (kpis.name == row.name)].itertuples()}
    total = {r.metric: r.mean for r in kpis[kpis.scope == "total"].itertuples()}
    cash = {r.metric: r.mean for r in kpis[kpis.scope == "cash"].itertuples()}
    if row.scope == "stage":
        # no staff time spent in the stage: nobody's wait ended (all still queue behind others)
        return counts.get("arrivals", 0) == 0 or counts.get("p_wait", 1) == 0 or \
            counts.get("staff_hours", 1) == 0 or \
            row.metric in ("conversion", "time_in_stage_mean", "time_in_stage_p90")
    if row.metric.startswith("cycle_time"):
        return total["won"] == 0
    if row.metric.startswith("time_to_first_touch"):
        return True  # no staffed first stage, or nobody was touched in the window
    if row.metric.startswith("touched_within"):  # the same first touches, so the same reason
        return math.isnan(total["time_to_first_touch_mean"])
    if row.metric == "conversion":
        return total["leads_in"] == 0
    if row.scope == "cash":
        return cash.get("invoices", 0) == 0 or cash.get("cash_collected", 0) == 0 \
            or row.metric in ("dso", "time_to_go_live_median", "bad_debt_rate", "overdue_share")
    if row.scope == "pool":
        return counts.get("available_hours", 0) == 0
    return False


@settings(PROFILE, max_examples=3)  # two runs of each on a process pool: keep it to a few
@given(raw=scenarios())
def test_results_are_the_same_bytes_whatever_the_workers(raw: dict[str, Any]) -> None:
    sc = revsim.Scenario(raw)
    one = sc.run(replications=2, seed=7, jobs=1)
    two = sc.run(replications=2, seed=7, jobs=2)
    assert one.kpis.to_csv(index=False) == two.kpis.to_csv(index=False)
    assert one.series.to_csv(index=False) == two.series.to_csv(index=False)


def _set(raw: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(raw)
    node = out
    parts = path.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    return out


BAD_VALUES = st.sampled_from([True, False, "three", float("inf"), float("nan"), -1, 10**15,
                              [1, 2], {"a": 1}, "1" * 40 + "-", "a\x00b", "x" * 5000])


@st.composite
def mutations(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    """A valid scenario with one field made invalid; the field's dotted path."""
    raw = draw(scenarios())
    pool = draw(st.sampled_from(sorted(raw["pools"])))
    stage = draw(st.sampled_from(sorted(raw["stages"])))
    choice = draw(st.sampled_from([
        (f"pools.{pool}.headcount", BAD_VALUES),
        (f"stages.{stage}.routes.lost", BAD_VALUES),
        ("scenario.horizon", st.sampled_from([5, True, "0 h", "1000 y", "1" * 40 + "-", "-2 w"])),
        ("scenario.sample_every", st.sampled_from([0, "0 h", "1 s", 24, False])),
        ("scenario.start", st.sampled_from([dt.date(2999, 1, 4), dt.date(9999, 1, 1),
                                            "2027-01-04x", 1700000000, True])),
        (f"stages.{stage}.work_scale", BAD_VALUES),
        (f"stages.{stage}.delay", st.sampled_from([5, -3, True, "5 parsecs", [[[1]]]])),
        (f"stages.{stage}.pool_priority", st.sampled_from([True, 1.5, 10**9, "high"])),
        ("scenario.name", st.sampled_from(["a\x00b", "bell\x07", 12, True])),
        (f"pools.{pool}.hires", st.sampled_from([[{"date": dt.date(9999, 1, 1)}],
                                                  [{"date": "soon"}],
                                                  [{"date": dt.date(2027, 1, 5),
                                                    "count": 10**12}]])),
        (f"pools.{pool}.cost_per_head", st.sampled_from([-5, "-5k", float("inf"), True])),
        ("calendars.bad.hours", st.sampled_from([["9-5"], ["17:00-09:00"], ["09:00-09:00"],
                                                 ["09:00-17:00+1"], "09:00-17:00"])),
    ]))
    path, values = choice
    value = draw(values)
    mutated = _set(raw, path, value)
    if path.startswith("calendars.bad"):
        mutated["calendars"]["bad"].setdefault("days", ["mon-fri"])
        mutated["pools"][pool]["calendar"] = "bad"
    return mutated, path


@settings(PROFILE)
@given(case=mutations())
def test_every_invalid_mutation_exits_2_with_a_short_message(case: tuple[dict[str, Any], str],
                                                               tmp_path_factory: Any) -> None:
    raw, path = case
    target = write(raw, tmp_path_factory.mktemp("bad") / "mutated.toml")
    result = CliRunner().invoke(main, ["validate", str(target)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 2, (path, result.output)
    assert "Traceback" not in result.output
    assert str(target) in result.stderr
    assert path.rsplit(".", 1)[0].split(".")[0] in result.stderr
    assert max(len(line) for line in result.stderr.splitlines()) <= 600
