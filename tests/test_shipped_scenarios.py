"""Every scenario shipped in scenarios/ validates and runs (like Mesa's test_examples)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import SCENARIOS, SHIPPED_REPLICATIONS, shipped_run

import revsim
from revsim.cli import main

SHIPPED = sorted(SCENARIOS.glob("*.toml"))


def test_there_are_shipped_scenarios() -> None:
    assert SHIPPED, f"no scenarios in {SCENARIOS}"


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_validates(path: Path) -> None:
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"{path}: ok")
    sc = revsim.load(path)
    assert sc.model.stages and sc.model.sources
    assert sc.name and sc.name != "unnamed scenario"


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_runs_with_finite_kpis(path: Path, tmp_path: Path) -> None:
    # over the scenario's own horizon: long-cycle scenarios (enterprise) win nothing in a
    # short run, and a KPI such as cycle time then has no value
    sc, result = shipped_run(path)
    kpis = result.kpis
    assert set(kpis.n) == {SHIPPED_REPLICATIONS}
    bad = kpis[~kpis["mean"].map(math.isfinite)]
    assert bad.empty, f"non-finite KPIs:\n{bad.to_string()}"
    counts = kpis[kpis.unit == "count"]
    assert (counts["mean"] >= 0).all()
    shares = kpis[kpis.unit == "share"]
    assert ((shares["mean"] >= 0) & (shares["mean"] <= 1)).all()
    assert result.kpi("leads_in")["mean"] > 0
    assert result.values("leads_in").shape == (SHIPPED_REPLICATIONS,)
    # the result files can be written
    written = result.to_dir(tmp_path / "out", scenario_text=sc.text)
    assert {p.name for p in written} >= {"summary.csv", "kpis.csv", "series.csv",
                                          "manifest.json", "scenario.toml"}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_stage_is_visited(path: Path) -> None:
    """A shipped scenario has no dead stage: each one gets visits in a short run."""
    sc, result = shipped_run(path)  # the scenario's own horizon: long cycles need it
    for stage in sc.model.stages:
        assert (result.values("arrivals", "stage", stage.name) > 0).all(), stage.name


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_has_no_capacity_warning(path: Path) -> None:
    """Shipped examples are meant to be stable systems."""
    assert revsim.load(path).warnings == []
