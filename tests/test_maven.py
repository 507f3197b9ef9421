"""Real-shaped data: the full Maven CRM sales pipeline (8,800 opportunities), end to end.

``revsim.fit(..., format="maven", as_of=2017-12-31)`` reads the export, fits one stage
(engaging, from engage date to close date) with its won/lost routes, and writes a scenario that
loads. The engaging durations are known not to follow any single family (tests/data/README.md:
KS about 0.17), so the fit must say so and use a fallback. The backtest compares the log's KPIs
with the spread of single replications of the fitted scenario (a 95% prediction range): the
win rate and the median cycle time of won deals must be inside it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import revsim
from revsim.calibrate.backtest import COLUMNS, backtest, format_backtest
from revsim.calibrate.fitted import FittedScenario

DATA = Path(__file__).parent / "data"
MAVEN = DATA / "maven_crm_sales_pipeline.csv"
AS_OF = "2017-12-31"
REPLICATIONS = 20
SEED = 20171231


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    return pd.read_csv(MAVEN, dtype=str)


@pytest.fixture(scope="module")
def fitted() -> FittedScenario:
    return revsim.fit(MAVEN, format="maven", as_of=AS_OF)


@pytest.fixture(scope="module")
def backtest_table(fitted: FittedScenario) -> pd.DataFrame:
    table = backtest(fitted.model(), fitted.log, replications=REPLICATIONS, seed=SEED, jobs=2,
                     progress=False)
    print("\n" + format_backtest(table))
    return table


def test_the_log_is_read_as_the_export_says(fitted: FittedScenario, raw: pd.DataFrame) -> None:
    stages = raw["deal_stage"].value_counts()
    log = fitted.log
    assert log.as_of == pd.Timestamp(AS_OF, tz="UTC")
    assert log.skipped == {"maven: Prospecting deal without dates": int(stages["Prospecting"])}
    assert log.n_cases == len(raw) - int(stages["Prospecting"])
    assert set(log.events["activity"]) == {"stage:engaging", "closed_won", "closed_lost"}
    assert len(log.open_cases()) == int(stages["Engaging"])
    text = log.describe()
    assert f"{log.n_cases:,} cases" in text and "open at as-of (censored): " \
        f"{int(stages['Engaging']):,} cases" in text


def test_routes_and_censoring_match_the_export(fitted: FittedScenario, raw: pd.DataFrame) -> None:
    stages = raw["deal_stage"].value_counts()
    tr = fitted.transitions.set_index("to")
    assert set(fitted.transitions["stage"]) == {"engaging"}
    assert int(tr.loc["won", "count"]) == int(stages["Won"])
    assert int(tr.loc["lost", "count"]) == int(stages["Lost"])
    fit = fitted.fits["stages.engaging.delay"]
    assert fit.n_censored == int(stages["Engaging"])  # open deals censored, not dropped
    assert fit.n == int(stages[["Won", "Lost", "Engaging"]].sum())
    p = int(stages["Won"]) / int(stages[["Won", "Lost"]].sum())
    assert tr.loc["won", "ci_low"] < p < tr.loc["won", "ci_high"]


def test_no_single_family_fits_and_a_fallback_is_used(fitted: FittedScenario) -> None:
    fit = fitted.fits["stages.engaging.delay"]
    best = fit.table.iloc[0]
    assert fit.fallback in ("mixture", "empirical"), fit.note
    assert "no single family fits" in fit.note
    assert f"KS {best['ks_stat']:.2f}" in fit.note
    assert round(float(best["ks_stat"]), 2) == 0.17  # as tests/data/README.md documents
    assert best["ks_p"] < 0.01
    if fit.fallback == "mixture":
        assert "bimodal" in fit.note
    else:  # the two-lognormal mixture was tried and rejected too
        assert fit.mixture is not None and "mixture does not either" in fit.note
    assert fit.spec["dist"] == ("mixture" if fit.fallback == "mixture" else "empirical")
    assert "no single family fits" in fitted.comments["stages.engaging.delay"]


def test_the_written_scenario_loads_and_runs(fitted: FittedScenario, tmp_path: Path) -> None:
    path = fitted.write(tmp_path / "maven.toml")
    sc = revsim.load(path)
    assert [s.name for s in sc.model.stages] == ["engaging"]
    assert sc.raw["stages"]["engaging"]["routes"] == fitted.raw["stages"]["engaging"]["routes"]
    result = sc.run(replications=2, seed=SEED, horizon="8 w", warmup="0 h", progress=False)
    assert (result.values("won") + result.values("lost")).sum() > 0


def test_backtest_table_shape(backtest_table: pd.DataFrame) -> None:
    assert list(backtest_table.columns) == COLUMNS
    assert {"win_rate", "cycle_time_median", "cycle_time_p90"} <= set(backtest_table["kpi"])
    simulated = backtest_table[backtest_table["n"] > 0]
    assert (simulated["n"] == REPLICATIONS).all()
    assert (simulated["pi_low"] <= simulated["pi_high"]).all()
    assert (simulated["ci_low"] <= simulated["sim_mean"]).all()
    assert (simulated["sim_mean"] <= simulated["ci_high"]).all()


@pytest.mark.parametrize("kpi", ["win_rate", "cycle_time_median"])
def test_backtest_kpi_inside_the_range_of_single_replications(backtest_table: pd.DataFrame,
                                                              kpi: str) -> None:
    row = backtest_table.set_index("kpi").loc[kpi]
    assert bool(row["inside"]), (
        f"{kpi}: observed {row['observed']:.4g} outside the 95% range of single replications "
        f"[{row['pi_low']:.4g}, {row['pi_high']:.4g}] (simulated mean {row['sim_mean']:.4g}, "
        f"n={row['n']})\n" + backtest_table.to_string())


def test_other_copies_of_the_table_read_the_same(fitted: FittedScenario, raw: pd.DataFrame,
                                                 tmp_path: Path) -> None:
    """The Kaggle mirror writes ISO dates (YYYY-MM-DD); hand-edited copies change the letter
    case of deal stages. Both must give the same fit as the data.world original."""
    other = raw.copy()
    for col in ("engage_date", "close_date"):
        other[col] = pd.to_datetime(other[col], format="%d-%m-%y").dt.strftime("%Y-%m-%d")
    other["deal_stage"] = " " + other["deal_stage"].str.lower() + " "
    path = tmp_path / "sales_pipeline.csv"
    other.to_csv(path, index=False)
    again = revsim.fit(path, format="maven", as_of=AS_OF)
    pd.testing.assert_frame_equal(again.log.events.reset_index(drop=True),
                                  fitted.log.events.reset_index(drop=True))
    assert again.raw["stages"] == fitted.raw["stages"]


def test_dates_in_neither_style_are_reported_with_both(raw: pd.DataFrame,
                                                       tmp_path: Path) -> None:
    bad = raw.copy()
    bad.loc[bad.index[:3], "close_date"] = "March 1st"
    path = tmp_path / "bad.csv"
    bad.to_csv(path, index=False)
    with pytest.raises(revsim.RevsimError, match=r"not a %d-%m-%y or %Y-%m-%d date"):
        revsim.fit(path, format="maven", as_of=AS_OF)
