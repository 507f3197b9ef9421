"""``revsim backtest SCENARIO LOG`` when the log shows something the scenario does not have."""

from __future__ import annotations

import math
from pathlib import Path

import revsim
from revsim.calibrate.backtest import COLUMNS, backtest, format_backtest

SAAS = Path(__file__).resolve().parents[1] / "scenarios" / "saas_sales_led.toml"


def test_an_observed_kpi_without_a_simulated_one_is_a_row_that_says_so() -> None:
    sc = revsim.load(SAAS)
    log = sc.run(1, seed=2, horizon="20 w", warmup="0 h", records=True, jobs=1).event_log()
    # some proposals go through a stage the scenario has not got
    demo = log.index[log["activity"] == "stage:proposal"]
    log.loc[demo[::3], "activity"] = "stage:proposal_review"
    table = backtest(sc, log, replications=2, seed=1, jobs=1, progress=False)
    assert list(table.columns) == COLUMNS
    row = table[table["kpi"] == "conversion:proposal_review"].iloc[0]
    assert row["note"] == "not simulated" and row["n"] == 0 and math.isnan(row["sim_mean"])
    assert row["observed"] >= 0
    assert "conversion:proposal_review" in format_backtest(table)
    # a stage named in the log by the event that opens it (`mql` opens `qualify`) is matched
    mql = table[table["kpi"] == "conversion:mql"].iloc[0]
    assert mql["n"] == 2 and mql["note"] != "not simulated"
