"""Choosing the best point of a sweep: budget, paired (CRN) comparisons, subset, bootstrap."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import scenario_dict, write_toml

from revsim.analysis.ci import summarise
from revsim.cli import main
from revsim.sweep import SweepResult
from revsim.sweep.budget import parse_budget
from revsim.sweep.kpi_tables import OptimizeError, pareto_front, point_labels
from revsim.sweep.optimize import Selection, optimize

COSTS = (4e6, 3e6, 2e6, 1e6)


def make_sweep(means: list[float], costs: tuple[float, ...] = COSTS, *, n: int = 10,
               noise: float = 1.0, shared: float = 20.0, seed: int = 7, center: bool = False,
               metric: str = "cash_collected", scope: str = "cash", unit: str = "USD",
               extra: dict[str, list[float]] | None = None) -> SweepResult:
    """A SweepResult-like object whose truth is known: point i has mean ``means[i]``; every
    replication adds one effect shared by all points (sd ``shared``, what common random numbers
    cancel) and independent noise (sd ``noise``; ``center`` makes each point's noise sum to 0,
    so sample means equal the true means plus the common mean). ``extra``: more KPIs (unit d)
    with a known mean per point and no noise."""
    rng = np.random.default_rng(seed)
    common = rng.normal(0.0, shared, n)
    rows = []
    for i, (mean, cost) in enumerate(zip(means, costs, strict=True)):
        e = rng.normal(0.0, noise, n)
        if center:
            e -= e.mean()
        kpis = [(metric, scope, unit, mean + common + e)]
        for name, values in (extra or {}).items():
            kpis.append((name, "cash", "d", np.full(n, values[i])))
        for kpi, kpi_scope, kpi_unit, values in kpis:
            for r, v in enumerate(values):
                rows.append({"point": f"p{i}", "label": f"x={i}", "x": i, "replication": r,
                             "metric": kpi, "scope": kpi_scope, "name": "", "unit": kpi_unit,
                             "value": float(v), "staff_cost": cost})
    results = pd.DataFrame(rows)
    frames = []
    for pid, g in results.groupby("point", sort=False):
        s = summarise(g[["replication", "metric", "scope", "name", "unit", "value"]])
        s.insert(0, "point", pid)
        s.insert(1, "label", g["label"].iloc[0])
        s.insert(2, "x", g["x"].iloc[0])
        s["staff_cost"] = g["staff_cost"].iloc[0]
        frames.append(s)
    summary = pd.concat(frames, ignore_index=True)
    return SweepResult(None, Path("."), results, summary, ["x"])  # type: ignore[arg-type]


def test_clearly_separated_points_are_all_beaten_thanks_to_pairing() -> None:
    sweep = make_sweep([100, 95, 90, 85])
    sel = optimize(sweep, "cash_collected")
    assert isinstance(sel, Selection)
    assert sel.point == "p0" and sel.label == "x=0" and sel.params == {"x": 0}
    assert sel.staff_cost == 4e6 and sel.scope == "cash"
    assert sorted(sel.worse) == ["x=1", "x=2", "x=3"] and sel.tied == []
    assert sel.subset == ["x=0"]
    assert sel.p_best > 0.99
    # Unpaired, the CIs overlap (the shared replication effect dominates): only pairing over
    # common random numbers separates the points.
    s = sweep.kpi("cash_collected", "cash").set_index("point")
    assert s.loc["p0", "ci_low"] < s.loc["p1", "ci_high"]
    t = sel.table
    assert list(t["point"]) == ["p0", "p1", "p2", "p3"] and list(t["rank"]) == [1, 2, 3, 4]
    assert np.allclose(t["diff"], [0, -5, -10, -15], atol=1.5)
    text = sel.format()
    assert "Best: x=0" in text and "beats 3 of the 3 other feasible points at 95%" in text
    assert "Bonferroni" in text and "Add replications" not in text


def test_nearly_equal_points_cannot_be_told_apart() -> None:
    sweep = make_sweep([100, 99.9, 80, 70], center=True)
    sel = optimize(sweep, "cash_collected")
    assert sel.point == "p0"
    assert sel.tied == ["x=1"] and sorted(sel.worse) == ["x=2", "x=3"]
    assert sel.subset == ["x=0", "x=1"]
    assert 0.2 < sel.p_best < 0.8
    t = sel.table.set_index("point")
    assert t.loc["p1", "in_subset"] and not t.loc["p1", "worse"]
    assert t.loc["p1", "diff_low"] < 0 < t.loc["p1", "diff_high"]
    assert t["p_best"].sum() == pytest.approx(1.0)
    assert t.loc["p0", "p_best"] + t.loc["p1", "p_best"] == pytest.approx(1.0)
    text = sel.format()
    assert "x=1 cannot be told apart" in text and "Add replications" in text
    assert f"P(best) = {sel.p_best:.2f}" in text
    # the bootstrap has a fixed seed: the same answer every time
    assert optimize(sweep, "cash_collected").p_best == sel.p_best


def test_worse_matches_bonferroni_and_the_simultaneous_interval() -> None:
    sweep = make_sweep([100, 99.5, 99, 98], noise=1.0, seed=3)
    for minimize in (False, True):
        sel = optimize(sweep, "cash_collected", minimize=minimize, confidence=0.9)
        t = sel.table[sel.table["point"] != sel.point]
        k = len(t)
        assert np.allclose(t["p_adjusted"], np.minimum(t["p_value"] * k, 1.0))
        assert list(t["worse"]) == list(t["p_value"] < 0.1 / k)
        beyond = t["diff_high"] < 0 if not minimize else t["diff_low"] > 0
        assert list(t["worse"]) == list(beyond)


def test_minimize_picks_the_lowest() -> None:
    sel = optimize(make_sweep([100, 95, 90, 85]), "cash_collected", minimize=True)
    assert sel.point == "p3" and len(sel.worse) == 3
    assert sel.table["mean"].is_monotonic_increasing
    assert "(lowest cash collected)" in sel.format()


def test_budget_on_staff_cost_is_respected() -> None:
    sweep = make_sweep([100, 95, 90, 85])
    sel = optimize(sweep, "cash_collected", budget="staff_cost <= 3M")
    assert sel.point == "p1" and sel.feasible == 3 and sel.total == 4
    assert set(sel.table["point"]) == {"p1", "p2", "p3"}
    assert "Best under staff_cost <= 3M: x=1" in sel.format()
    assert optimize(sweep, "cash_collected", budget="staff_cost < 3M").point == "p2"
    assert optimize(sweep, "cash_collected", budget="staff_cost>=3,500,000").point == "p0"
    with pytest.raises(OptimizeError, match=r"cheapest point \(x=3\) costs \$1M/year"):
        optimize(sweep, "cash_collected", budget="staff_cost <= 0.5M")


def test_budget_on_a_kpi_uses_its_mean_and_says_so() -> None:
    sweep = make_sweep([100, 95, 90, 85], extra={"dso": [60, 50, 40, 30]})
    sel = optimize(sweep, "cash_collected", budget="dso <= 45 d")
    assert sel.point == "p2"
    assert any("mean over replications" in note for note in sel.notes)
    assert optimize(sweep, "cash_collected", budget="dso <= 1200 h").point == "p1"
    with pytest.raises(OptimizeError, match=r"lowest dso \(x=3\) has 30.0 d"):
        optimize(sweep, "cash_collected", budget="dso < 30 d")


def test_only_one_feasible_point() -> None:
    sel = optimize(make_sweep([100, 95, 90, 85]), "cash_collected",
                   budget="staff_cost <= 1M")
    assert sel.point == "p3" and sel.feasible == 1 and sel.p_best == 1.0
    assert "only feasible point" in sel.format()


def test_parse_budget() -> None:
    b = parse_budget("staff_cost<=2.4M")
    assert (b.left, b.op, b.text) == ("staff_cost", "<=", "staff_cost <= 2.4M")
    assert b.value("USD") == pytest.approx(2.4e6)
    assert parse_budget("staff_cost ≥ $950k").op == ">="
    assert parse_budget("dso <= 45 d").value("d") == pytest.approx(45)
    assert parse_budget("dso <= 2 w").value("d") == pytest.approx(14)
    assert parse_budget("conversion >= 1.5%").value("share") == pytest.approx(0.015)
    assert parse_budget("pool:sdr:utilisation < 85%").value("share") == pytest.approx(0.85)


@pytest.mark.parametrize(("text", "message"), [
    ("staff_cost =< 2M", "cannot read"),
    ("staff_cost", "cannot read"),
    ("", "cannot read"),
    ("staff_cost <= lots", "cannot read the amount"),
    ("1M <= staff_cost <= 2M", "cannot read"),
    ("staff_cost <= 2M <= 3M", "one comparison only"),
    ("staf_cost <= 2M", "did you mean staff_cost"),
    ("staff_cost <= 2 parsecs", "cannot read the amount"),
])
def test_bad_budgets_are_clean_errors(text: str, message: str) -> None:
    with pytest.raises(OptimizeError, match=message) as err:
        parse_budget(text)
    assert isinstance(err.value, ValueError)
    assert err.value.lines()[0].startswith("optimize: --budget: ")


def test_budget_units_must_fit_the_kpi() -> None:
    sweep = make_sweep([100, 95, 90, 85], extra={"dso": [60, 50, 40, 30]})
    with pytest.raises(OptimizeError, match="is a duration but staff_cost"):
        optimize(sweep, "cash_collected", budget="staff_cost <= 45 d")
    with pytest.raises(OptimizeError, match="not a duration"):
        optimize(sweep, "cash_collected", budget="dso <= 2M")


def test_unknown_objective_and_scope() -> None:
    sweep = make_sweep([100, 95, 90, 85])
    with pytest.raises(OptimizeError, match="did you mean cash_collected"):
        optimize(sweep, "cash_colected")
    with pytest.raises(OptimizeError, match="no scope 'total'"):
        optimize(sweep, "cash_collected", scope="total")
    with pytest.raises(OptimizeError, match="between 0 and 1"):
        optimize(sweep, "cash_collected", confidence=1.5)


def test_pareto_front_and_labels() -> None:
    front = pareto_front([1, 2, 2, 3, 4], [10, 12, 11, 12, 15])
    assert list(front) == [True, True, False, False, True]
    assert list(pareto_front([1, 2, 3], [5, 4, 3], minimize=True)) == [True, True, True]
    assert list(pareto_front([1, np.nan], [5, 9])) == [True, False]
    frame = pd.DataFrame({"point": ["a", "b"], "label": ["sdr.headcount=8, ae.headcount=9",
                                                         "hire two"],
                          "pools.ae.headcount": [9, np.nan],
                          "pools.sdr.headcount": [8, np.nan]})
    assert point_labels(frame) == {"a": "sdr=8, ae=9", "b": "hire two"}


# -- the command ---------------------------------------------------------------------------------
@pytest.fixture
def costed(tmp_path: Path) -> Path:
    return write_toml(tmp_path / "costed.toml", scenario_dict(
        {"sources": {"web": {"rate": "60/w"}},
         "pools": {"staff": {"headcount": 1, "cost_per_head": "50k"}},
         "stages": {"work": {"work": {"dist": "exponential", "mean": "1 h"},
                             "routes": {"won": 0.3, "lost": 0.7}}}}))


def _args(scenario: Path, out: Path, *extra: str) -> list[str]:
    return ["optimize", str(scenario), "--param", "pools.staff.headcount=1:3", "-n", "3",
            "-j", "1", "-o", str(out), *extra]


def test_cli_optimize_end_to_end(costed: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "sweep"
    result = runner.invoke(main, _args(costed, out, "--objective", "won",
                                       "--budget", "staff_cost <= 100k"))
    assert result.exit_code == 0, result.output
    assert "Best under staff_cost <= 100k: staff=" in result.stdout
    assert "Feasible: 2 of 3 points." in result.stdout
    assert (out / "summary.parquet").exists()
    # again, with another objective: the finished tasks are reused
    again = runner.invoke(main, _args(costed, out, "--objective", "cycle_time_median",
                                      "--minimize"))
    assert again.exit_code == 0, again.output
    assert "ran 0 tasks, 9 already done" in again.stderr
    assert "Best (lowest cycle time" in again.stdout


@pytest.mark.parametrize(("extra", "message"), [
    (["--objective", "won", "--budget", "staff_cost =< 2M"], "--budget: cannot read"),
    (["--objective", "wins"], "--objective: unknown KPI 'wins'"),
])
def test_cli_rejects_bad_input_before_running(costed: Path, tmp_path: Path,
                                               extra: list[str], message: str) -> None:
    out = tmp_path / "sweep"
    result = CliRunner().invoke(main, _args(costed, out, *extra))
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "Traceback" not in result.output
    assert not out.exists()  # nothing was run


def test_cli_objective_missing_from_the_sweep(costed: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, _args(costed, tmp_path / "sweep", "--objective",
                                            "cash_collected"))
    assert result.exit_code == 2, result.output
    assert "the sweep has no KPI 'cash_collected'" in result.stderr
