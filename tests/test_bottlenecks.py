"""The bottleneck report (Scenario.bottlenecks, ``revsim bottlenecks``): its tables, the weekly
timeline, the marginal value of +1 head with ROI and payback, the growing-queue flag and the CLI.

The statistical claims (the right pool is named, +1 head is worth what theory says) are in
tests/validation/test_analysis_theory.py; here the report's structure and arithmetic.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import write_toml

import revsim
import revsim.scenario_runs
from revsim.analysis.paired import COLUMNS
from revsim.cli import main
from revsim.results.bottleneck_report import WEEKS_PER_YEAR, BottleneckReport

POOL_COLUMNS = ["pool", "utilisation", "utilisation_hw", "bottleneck_share",
                "bottleneck_share_hw", "active_period_h", "active_period_h_hw"]
STAGE_COLUMNS = ["stage", "wait_share", "wait_share_hw", "queue_mean", "queue_mean_hw",
                 "queue_trend", "queue_trend_hw", "growing"]
TIMELINE_COLUMNS = ["week_start", "pool", "share"]
MARGINAL_COLUMNS = ["pool", "added", *COLUMNS, "per_year", "significant", "cost_per_head",
                    "roi", "payback_months", "rank"]
START = dt.date(2027, 1, 4)
JOBS = 2


def line(means: tuple[float, float, float] = (0.3, 1.3, 0.3), *, horizon: str = "600 h",
         warmup: str = "100 h", costs: tuple[str | None, ...] = (None, "120k", "80k")
         ) -> dict[str, Any]:
    """Leads at 1/h through one -> two -> three -> won, each station worked by its own 24/7
    pool of one (p1, p2, p3); every lead is worth 1000. The default middle station is
    overloaded (offered load 1.3) and has no abandonment, so its queue grows."""
    raw: dict[str, Any] = {
        "scenario": {"name": "line", "start": START, "horizon": horizon, "warmup": warmup},
        "segments": {"std": {"value": 1000}},
        "sources": {"leads": {"rate": "1/h", "to": "one", "segments": "std"}},
        "pools": {},
        "stages": {},
    }
    names = ["one", "two", "three"]
    for i, (stage, mean) in enumerate(zip(names, means, strict=True)):
        pool = {"headcount": 1}
        if costs[i] is not None:
            pool["cost_per_head"] = costs[i]
        raw["pools"][f"p{i + 1}"] = pool
        raw["stages"][stage] = {
            "pool": f"p{i + 1}", "work": {"dist": "exponential", "mean": f"{mean} h"},
            "routes": {names[i + 1] if i < 2 else "won": 1.0}}
    return raw


@pytest.fixture(scope="module")
def report() -> BottleneckReport:
    return revsim.Scenario(line()).bottlenecks(replications=5, seed=4, jobs=JOBS,
                                               progress=False)


def test_report_tables_have_the_documented_columns(report: BottleneckReport) -> None:
    assert list(report.pools.columns) == POOL_COLUMNS
    assert list(report.stages.columns) == STAGE_COLUMNS
    assert list(report.timeline.columns) == TIMELINE_COLUMNS
    assert list(report.marginal.columns) == MARGINAL_COLUMNS
    assert sorted(report.pools.pool) == ["p1", "p2", "p3"]
    assert list(report.stages.stage) == ["one", "two", "three"]
    # sorted by bottleneck share, highest first
    assert report.pools.bottleneck_share.is_monotonic_decreasing
    assert ((report.pools.bottleneck_share >= 0) & (report.pools.bottleneck_share <= 1)).all()
    assert report.pools.iloc[0]["pool"] == "p2"
    # one row per pool x marginal KPI; the rank follows the bookings gain
    assert set(report.marginal.pool) == {"p1", "p2", "p3"}
    bookings = report.marginal[report.marginal.metric == "bookings"].sort_values("rank")
    assert bookings["diff"].is_monotonic_decreasing
    assert list(bookings["rank"]) == [1, 2, 3]


def test_timeline_has_a_row_per_week_per_pool(report: BottleneckReport) -> None:
    t = report.timeline
    warmup, horizon = report.base.manifest["warmup_hours"], report.base.manifest["horizon_hours"]
    weeks = math.ceil((horizon - warmup) / 168)
    assert len(t) == weeks * 3
    first = pd.Timestamp(START) + pd.Timedelta(hours=warmup)
    expected_starts = [first + pd.Timedelta(weeks=k) for k in range(weeks)]
    assert sorted(t.week_start.unique()) == expected_starts
    assert (t.groupby("week_start").pool.apply(sorted) == pd.Series(
        [["p1", "p2", "p3"]] * weeks, index=expected_starts)).all()
    assert ((t.share >= 0) & (t.share <= 1)).all()
    assert (t.groupby("week_start").share.sum() <= 1 + 1e-9).all()
    # the weekly shares average (weighted by the length of each week in the window) to the
    # pool table's bottleneck share
    lengths = np.minimum(168.0, (horizon - warmup) - 168.0 * np.arange(weeks))
    for pool, g in t.groupby("pool"):
        g = g.sort_values("week_start")
        overall = float(np.sum(g.share.to_numpy() * lengths) / lengths.sum())
        assert overall == pytest.approx(
            report.pools.set_index("pool").loc[pool, "bottleneck_share"], abs=1e-9)


def test_marginal_values_are_annualised_consistently(report: BottleneckReport) -> None:
    """Counts and money per year: base_mean, variant_mean and diff all on the same scale, so
    diff = variant_mean - base_mean; times stay as they are."""
    m = report.marginal
    per_year = WEEKS_PER_YEAR / (report.base.manifest["window_hours"] / 168.0)
    won = m[(m.pool == "p2") & (m.metric == "won")].iloc[0]
    assert won["per_year"]
    assert won["base_mean"] == pytest.approx(report.base.kpi("won")["mean"] * per_year)
    cycle = m[(m.pool == "p2") & (m.metric == "cycle_time_mean")].iloc[0]
    assert not cycle["per_year"]
    assert cycle["base_mean"] == pytest.approx(report.base.kpi("cycle_time_mean")["mean"])
    for r in m.itertuples():
        assert r.diff == pytest.approx(r.variant_mean - r.base_mean, rel=1e-9, abs=1e-9), (
            f"+1 {r.pool} {r.metric}: base {r.base_mean:.6g}, variant {r.variant_mean:.6g}, "
            f"diff {r.diff:.6g}")


def test_roi_and_payback_follow_from_cost_per_head(report: BottleneckReport) -> None:
    m = report.marginal
    for pool, cost in (("p2", 120_000.0), ("p3", 80_000.0)):
        g = m[m.pool == pool]
        gain = float(g.loc[g.metric == "bookings", "diff"].iloc[0])  # per year
        assert (g.cost_per_head == cost).all()
        assert g.roi.iloc[0] == pytest.approx(gain / cost - 1)
        if gain > 0:
            assert g.payback_months.iloc[0] == pytest.approx(12 * cost / gain)
        else:
            assert math.isnan(g.payback_months.iloc[0])
    p1 = m[m.pool == "p1"]
    assert p1.cost_per_head.isna().all() and p1.roi.isna().all()
    assert p1.payback_months.isna().all()
    # +1 at the overloaded pool pays for itself: the report says so
    p2 = m[(m.pool == "p2") & (m.metric == "bookings")].iloc[0]
    assert p2["diff"] > 0 and p2["payback_months"] > 0
    text = report.format()
    p2_line = next(s for s in text.splitlines() if s.startswith("  +1 p2:"))
    assert "ROI" in p2_line and "payback" in p2_line
    p1_line = next(s for s in text.splitlines() if s.startswith("  +1 p1:"))
    assert "ROI" not in p1_line


def test_growing_queue_is_flagged_and_a_stable_one_is_not(report: BottleneckReport) -> None:
    """Station two is offered 1.3x its capacity with no abandonment: its queue grows by about
    (1 - 1/1.3) leads/h x 168 h = 39 a week, without end. Stations one and three are stable."""
    s = report.stages.set_index("stage")
    assert s.loc["two", "growing"]
    assert s.loc["two", "queue_trend"] - s.loc["two", "queue_trend_hw"] > 0
    assert not s.loc["one", "growing"]
    assert not s.loc["three", "growing"]
    text = report.format()
    assert "GROWING" in next(x for x in text.splitlines() if x.strip().startswith("two"))
    assert "GROWING" not in next(x for x in text.splitlines() if x.strip().startswith("one"))


def test_stable_line_has_no_growing_queue() -> None:
    rep = revsim.Scenario(line((0.3, 0.8, 0.3))).bottlenecks(
        replications=5, seed=6, jobs=JOBS, progress=False, marginal=False)
    assert not rep.stages.growing.any()


def test_growing_queue_is_flagged_after_a_long_warmup() -> None:
    """The same overloaded station, watched over 300 h after a 700 h warm-up: the queue grows
    by (1 - 1/1.3) = 0.23 leads/h, so it starts the window with a backlog of ~160 and gains
    ~70 more, a trend whose CI excludes 0. A queue that grows without end must be flagged
    whatever the ratio of the warm-up to the window (the current rule, growth over the window
    > mean queue, reduces to window > 2 x warm-up for a steadily growing queue)."""
    rep = revsim.Scenario(line(horizon="1000 h", warmup="700 h")).bottlenecks(
        replications=5, seed=8, jobs=JOBS, progress=False, marginal=False)
    two = rep.stages.set_index("stage").loc["two"]
    assert two.queue_trend - two.queue_trend_hw > 0
    assert two.growing, (
        f"queue trend {two.queue_trend:.1f} ± {two.queue_trend_hw:.1f} per week over "
        f"{(1000 - 700) / 168:.1f} weeks, mean queue {two.queue_mean:.0f}: not flagged")


def test_no_marginal_skips_the_reruns(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []  # the points of each experiment the report runs
    real_run_points = revsim.scenario_runs.run_points

    def counting_run_points(points: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(len(points))
        return real_run_points(points, *args, **kwargs)

    monkeypatch.setattr(revsim.scenario_runs, "run_points", counting_run_points)
    sc = revsim.Scenario(line())
    rep = sc.bottlenecks(replications=2, seed=1, jobs=1, progress=False, marginal=False)
    assert calls == [1]
    assert rep.marginal.empty
    assert "Marginal value" not in rep.format()
    assert rep.sentence.startswith("The p2 pool is the bottleneck")
    assert rep.sentence.endswith(".") and "+1" not in rep.sentence
    calls.clear()
    sc.bottlenecks(replications=2, seed=1, jobs=1, progress=False)
    assert calls == [1 + 3]  # one experiment: the base and one +1-head point per pool


def test_scenario_without_pools() -> None:
    raw = {"scenario": {"name": "no staff", "start": START, "horizon": "2 w"},
           "sources": {"web": {"rate": "20/w", "to": "wait"}},
           "stages": {"wait": {"delay": "1 d", "routes": {"won": 1.0}}}}
    rep = revsim.Scenario(raw).bottlenecks(replications=2, seed=1, progress=False)
    assert rep.pools.empty and rep.marginal.empty
    assert "no staff pools" in rep.sentence


# ------------------------------------------------------------------------------------- CLI


def test_cli_bottlenecks_writes_csvs_and_ends_with_the_answer(tmp_path: Path) -> None:
    path = write_toml(tmp_path / "line.toml", line(horizon="8 w", warmup="1 w"))
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["bottlenecks", str(path), "-n", "3", "--horizon",
                                       "500 h", "--warmup", "100 h", "--seed", "2",
                                       "-o", str(out)])
    assert result.exit_code == 0, result.output
    last = result.stdout.rstrip("\n").splitlines()[-1]
    assert last.startswith("The p2 pool is the bottleneck")
    assert last.endswith(".")
    assert "+1 p2 adds" in last
    for name, columns in (("bottleneck_pools.csv", POOL_COLUMNS),
                          ("bottleneck_stages.csv", STAGE_COLUMNS),
                          ("bottleneck_timeline.csv", TIMELINE_COLUMNS),
                          ("marginal_values.csv", MARGINAL_COLUMNS)):
        frame = pd.read_csv(out / name)
        assert list(frame.columns) == columns, name
    text = (out / "bottlenecks.txt").read_text(encoding="utf-8")
    assert text.rstrip("\n").splitlines()[-1] == last
    # the window the CLI asked for
    timeline = pd.read_csv(out / "bottleneck_timeline.csv")
    assert timeline.week_start.nunique() == math.ceil(400 / 168)


def test_cli_bottlenecks_no_marginal_and_bad_input(tmp_path: Path) -> None:
    path = write_toml(tmp_path / "line.toml", line())
    runner = CliRunner()
    result = runner.invoke(main, ["bottlenecks", str(path), "-n", "2", "--no-marginal"])
    assert result.exit_code == 0, result.output
    assert "Marginal value" not in result.stdout
    result = runner.invoke(main, ["bottlenecks", str(path), "-n", "2",
                                  "--set", "pools.p9.headcount=2"])
    assert result.exit_code == 2
    assert "valid: p1, p2, p3" in result.output
    assert "Traceback" not in result.output


def sell_then_onboard() -> dict[str, Any]:
    """Leads at 1/h sold by pool 'sales' (every one won), then onboarded by pool 'delivery';
    one-off deals of 1000 billed when signed and paid 10 d later."""
    return {
        "scenario": {"name": "sell then onboard", "start": START, "horizon": "800 h",
                     "warmup": "100 h"},
        "segments": {"std": {"value": 1000}},
        "sources": {"leads": {"rate": "1/h", "to": "sell", "segments": "std"}},
        "pools": {"sales": {"headcount": 1}, "delivery": {"headcount": 1}},
        "stages": {
            "sell": {"pool": "sales", "work": {"dist": "exponential", "mean": "0.5 h"},
                     "routes": {"won": 1.0}},
            "onboard": {"pool": "delivery", "work": {"dist": "exponential", "mean": "0.9 h"},
                        "routes": {"live": 1.0}},
        },
        "deals": {"onboarding": "onboard",
                  "contract": {"type": "one_off", "billing": "upfront"}},
        "payment": {"on_time": 1.0, "late": 0.0, "on_time_delay": "10 d"},
    }


def test_a_pool_that_works_after_the_sale_is_valued_in_cash() -> None:
    report = revsim.Scenario(sell_then_onboard()).bottlenecks(replications=3, seed=4, jobs=JOBS,
                                                             progress=False)
    assert "+1 sales adds" in report.sentence and "bookings per year" in report.sentence
    delivery = report.sentence.split("+1 delivery adds", 1)[1]
    assert "cash collected per year" in delivery.split(";")[0]


def test_one_replication_says_there_are_no_intervals(tmp_path: Path) -> None:
    path = write_toml(tmp_path / "line.toml", line())
    runner = CliRunner()
    for command in (["run"], ["bottlenecks"], ["compare", "--hire", "p2=1"]):
        result = runner.invoke(main, [command[0], str(path), *command[1:], "-n", "1",
                                      "--no-progress"])
        assert result.exit_code == 0, result.output
        assert re.search(r"\b1 (paired )?replication\b", result.stdout), command
        assert "1 replications" not in result.stdout
        assert "no confidence intervals" in result.stdout, command
        assert "± -" not in result.stdout


def test_ramped_values_a_hire_on_the_first_day_of_the_window(tmp_path: Path) -> None:
    raw = line(horizon="600 h", warmup="100 h")  # the window starts 2027-01-08 04:00
    raw["pools"]["p2"]["ramp"] = {"duration": "10 d", "start": 0.5}
    sc = revsim.Scenario(raw)
    ramped = sc.bottlenecks(replications=3, seed=2, jobs=JOBS, progress=False, ramped=True)
    full = sc.bottlenecks(replications=3, seed=2, jobs=JOBS, progress=False)
    added = dict(zip(ramped.marginal["pool"], ramped.marginal["added"], strict=False))
    assert added["p2"] == "+1 p2 from 2027-01-09"  # the first whole day of the window
    assert "no ramp set for this pool" in added["p1"]
    assert set(full.marginal["added"]) == {"+1 p1", "+1 p2", "+1 p3"}
    assert "ramping up like the pool's hires" in ramped.format()

    def won(report: BottleneckReport) -> float:
        m = report.marginal
        return float(m.loc[(m.pool == "p2") & (m.metric == "won"), "diff"].iloc[0])

    # station two is overloaded: a hire helps either way, but it is a different experiment
    # (a hire at the window start also clears the backlog built during the warm-up)
    assert won(ramped) > 0 and won(full) > 0 and won(ramped) != won(full)
    result = CliRunner().invoke(main, ["bottlenecks", str(write_toml(tmp_path / "l.toml", raw)),
                                       "-n", "2", "--ramped", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "+1 p2 from 2027-01-09" in result.stdout
