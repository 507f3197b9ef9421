"""The rolling-origin backtest of the forecast (``revsim backtest LOG --forecast``).

The log is a simulation's own event log, so what happened after each origin is known exactly.
Checked: the scores are the textbook formulas; the actuals are read as the forecast defines
its figures; nothing after an origin reaches the fit at it; every method and horizon is
scored over every origin; bad flags end in exit 2 with a message and nothing written.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import revsim
import revsim.rolling_origin as rolling
from revsim.analysis.forecast_scores import scores
from revsim.calibrate.actuals import cash_events, figures_in_log, period_actuals
from revsim.cli import main
from revsim.rolling_origin import BacktestError, origin_dates, parse_horizon

SAAS = Path(__file__).resolve().parents[1] / "scenarios" / "saas_sales_led.toml"
ORIGINS = "2027-05-01,2027-06-01"


@pytest.fixture(scope="module")
def log_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Seven months of the sales-led scenario, as the canonical event log it exports."""
    result = revsim.load(SAAS).run(1, seed=5, horizon="30 w", warmup="0 h", records=True,
                                   jobs=1)
    path = tmp_path_factory.mktemp("log") / "saas_log.csv"
    result.write_event_log(path)
    return path


@pytest.fixture(scope="module")
def backtest(log_file: Path) -> revsim.results.ForecastBacktest:
    return rolling.backtest_forecast(log_file, origins=ORIGINS, horizon="1m", min_history=60,
                                     replications=10, seed=3, jobs=1, progress=False)


# -- the pieces ------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "expected"), [
    ("3m", (3, "month")), ("13w", (13, "week")), ("1q", (1, "quarter")),
    ("2 months", (2, "month")), ("4 Weeks", (4, "week")),
])
def test_horizons(text: str, expected: tuple[int, str]) -> None:
    assert parse_horizon(text) == expected


@pytest.mark.parametrize("text", ["3x", "0m", "m", "-1m", "1.5m", ""])
def test_a_bad_horizon_names_the_flag_and_the_fix(text: str) -> None:
    with pytest.raises(BacktestError, match="--horizon.*e.g. 13w, 3m or 1q"):
        parse_horizon(text)


def test_monthly_origins_leave_history_before_and_the_horizon_after() -> None:
    start, end = dt.datetime(2027, 1, 4, 9), dt.datetime(2027, 8, 15)
    got = origin_dates("monthly", start, end, 2, "month", dt.timedelta(days=60))
    # the first month start 60 days in is April 1st; June 1st + 2 months passes mid-August
    assert got == [dt.datetime(2027, 4, 1), dt.datetime(2027, 5, 1), dt.datetime(2027, 6, 1)]
    weekly = origin_dates("weekly", start, end, 4, "week", dt.timedelta(days=150))
    assert all(t.weekday() == 0 for t in weekly) and weekly[0] >= start + dt.timedelta(150)
    assert weekly[-1] + dt.timedelta(weeks=4) <= end < weekly[-1] + dt.timedelta(weeks=5)
    assert origin_dates("quarterly", start, dt.datetime(2028, 1, 1), 1, "quarter",
                        dt.timedelta(days=30)) == [dt.datetime(2027, 4, 1),
                                                   dt.datetime(2027, 7, 1),
                                                   dt.datetime(2027, 10, 1)]


def test_origins_that_do_not_fit_the_log_are_refused() -> None:
    start, end = dt.datetime(2027, 1, 4), dt.datetime(2027, 8, 15)
    with pytest.raises(BacktestError, match="no origin fits"):
        origin_dates("monthly", start, end, 6, "month", dt.timedelta(days=90))
    with pytest.raises(BacktestError, match="2027-08-01 leaves less than"):
        origin_dates("2027-05-01,2027-08-01", start, end, 1, "month", dt.timedelta(days=60))
    with pytest.raises(BacktestError, match="'fortnightly' is neither"):
        origin_dates("fortnightly", start, end, 1, "month", dt.timedelta(days=60))


def test_scores_are_the_textbook_formulas() -> None:
    rows = []
    actual = [100.0, 200.0, 0.0, 50.0]
    forecast = [110.0, 180.0, 5.0, 50.0]
    p10 = [90.0, 185.0, 0.0, 40.0]
    p90 = [120.0, 190.0, 10.0, 60.0]
    for i, (a, f, lo, hi) in enumerate(zip(actual, forecast, p10, p90, strict=True)):
        rows.append((f"o{i}", "bookings", 1, "simulation", a, f, lo, hi))
        rows.append((f"o{i}", "bookings", 1, "run_rate", a, f + 10, math.nan, math.nan))
    detail = pd.DataFrame(rows, columns=["origin", "figure", "horizon", "method", "actual",
                                         "forecast", "p10", "p90"])
    s = scores(detail).set_index("method")
    a, f = np.array(actual), np.array(forecast)
    nonzero = a != 0
    assert s.loc["simulation", "mape"] == pytest.approx(
        np.mean(np.abs(f - a)[nonzero] / a[nonzero]))
    assert s.loc["simulation", "mape_n"] == 3
    assert s.loc["simulation", "wape"] == pytest.approx(np.abs(f - a).sum() / a.sum())
    assert s.loc["simulation", "bias"] == pytest.approx((f - a).sum() / a.sum())
    # inside P10..P90: 100 in [90, 120], 0 in [0, 10], 50 in [40, 60]; 200 is above 190
    assert s.loc["simulation", "coverage"] == pytest.approx(3 / 4)
    assert s.loc["simulation", "coverage_n"] == 4
    assert s.loc["simulation", "coverage_ci_low"] < 0.75 < s.loc["simulation", "coverage_ci_high"]
    assert s.loc["run_rate", "coverage_n"] == 0 and math.isnan(s.loc["run_rate", "coverage"])
    assert s.loc["run_rate", "bias"] == pytest.approx((f + 10 - a).sum() / a.sum())


def test_actuals_count_each_payment_once() -> None:
    t = pd.Timestamp("2027-02-10", tz="UTC")
    events = pd.DataFrame({
        "case_id": ["O1", "O2", "I1", "P1", "P2", "I1", "I2", "I2", "I3"],
        "activity": ["closed_won", "closed_won", "invoice_issued", "payment_received",
                     "payment_received", "invoice_paid", "invoice_issued", "invoice_paid",
                     "invoice_issued"],
        "timestamp": [t, t + pd.Timedelta(days=30), t, t, t + pd.Timedelta(days=1),
                      t + pd.Timedelta(days=1), t, t + pd.Timedelta(days=2), t],
        "parent_id": [None, None, "O1", "I1", "I1", "O1", "O2", "O2", "O2"],
        "amount": [1000.0, 500.0, 1000.0, 400.0, 600.0, 1000.0, 300.0, np.nan, 70.0],
    })
    # I1 is paid in two parts (its invoice_paid closes it); I2 by invoice_paid without an
    # amount: the invoice's 300
    assert sorted(cash_events(events)["amount"]) == [300.0, 400.0, 600.0]
    figures = figures_in_log(events)
    assert figures == ["won", "bookings", "invoiced", "cash_collected"]
    periods = [("2027-02", dt.datetime(2027, 2, 1), dt.datetime(2027, 3, 1)),
               ("2027-03", dt.datetime(2027, 3, 1), dt.datetime(2027, 4, 1))]
    got = period_actuals(events, periods, figures).set_index(["period", "figure"])["value"]
    assert got[("2027-02", "won")] == 1 and got[("2027-03", "won")] == 1
    assert got[("2027-02", "bookings")] == 1000 and got[("2027-03", "bookings")] == 500
    assert got[("2027-02", "invoiced")] == 1370
    assert got[("2027-02", "cash_collected")] == 1300 and got[("2027-03", "cash_collected")] == 0


# -- the whole backtest ----------------------------------------------------------------------
def test_each_origin_fits_on_the_log_before_it_only(log_file: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[pd.Timestamp, pd.Timestamp]] = []
    real_fit = rolling.fit

    def watching_fit(log: revsim.calibrate.log.EventLog, **kw: object) -> object:
        seen.append((log.as_of, log.events["timestamp"].max()))
        return real_fit(log, **kw)

    monkeypatch.setattr(rolling, "fit", watching_fit)
    rolling.backtest_forecast(log_file, origins="2027-05-01", horizon="1m", min_history=60,
                              replications=10, seed=3, jobs=1, progress=False)
    [(as_of, last)] = seen
    assert as_of == pd.Timestamp("2027-05-01", tz="UTC") and last <= as_of


def test_every_method_and_horizon_is_scored_over_every_origin(backtest) -> None:
    detail, table = backtest.detail, backtest.scores
    assert backtest.origins == ["2027-05-01", "2027-06-01"]
    assert set(table["figure"]) == {"won", "bookings", "pipeline_created", "invoiced",
                                    "cash_collected"}
    for figure, part in table.groupby("figure"):
        methods = set(part["method"])
        expected = {"simulation", "empty_start", "run_rate"}
        if figure in ("won", "bookings"):
            expected.add("weighted_pipeline")
        assert methods == expected, figure
        assert (part["origins"] == 2).all()
        sims = part[part["method"].isin(["simulation", "empty_start"])]
        assert (sims["coverage_n"] == 2).all() and sims["coverage"].between(0, 1).all()
    # the fit splits a source entering two stages (inbound_to_mql, ...): the state names
    # each open item's source as the fit did, so none is left blank
    assert not [note for note in backtest.notes if "does not know" in note], backtest.notes
    sim = detail[detail["method"] == "simulation"]
    assert (sim["p10"] <= sim["forecast"]).all() and (sim["forecast"] <= sim["p90"]).all()
    assert (sim["n"] == 10).all()


def test_the_actuals_are_the_log_after_the_origin(backtest, log_file: Path) -> None:
    events = pd.read_csv(log_file)
    stamp = pd.to_datetime(events["timestamp"], utc=True)
    may = (stamp >= pd.Timestamp("2027-05-01", tz="UTC")) & \
        (stamp < pd.Timestamp("2027-06-01", tz="UTC"))
    won = events[may & (events["activity"] == "closed_won")]
    row = backtest.detail[(backtest.detail["origin"] == dt.datetime(2027, 5, 1))
                          & (backtest.detail["figure"] == "bookings")
                          & (backtest.detail["method"] == "simulation")].iloc[0]
    assert row["actual"] == pytest.approx(won["amount"].sum())


def test_the_weighted_pipeline_is_open_amount_times_stage_win_rate(backtest) -> None:
    rows = backtest.detail[(backtest.detail["method"] == "weighted_pipeline")
                           & (backtest.detail["figure"] == "won")]
    # a probability-weighted count of the open deals: positive, one per origin, like revsim's
    sims = backtest.detail[(backtest.detail["method"] == "simulation")
                           & (backtest.detail["figure"] == "won")]
    assert (rows["forecast"] > 0).all()
    assert len(rows) == len(sims) == 2


def test_the_cli_writes_tables_and_plots(log_file: Path, tmp_path: Path) -> None:
    out, plots = tmp_path / "bt", tmp_path / "plots"
    result = CliRunner().invoke(main, [
        "backtest", str(log_file), "--forecast", "--origins", "2027-06-01", "--horizon", "1m",
        "--min-history", "60", "-n", "10", "-j", "1", "-o", str(out), "--plots", str(plots)])
    assert result.exit_code == 0, result.output
    assert "P10-P90 coverage" in result.output and "weighted pipeline" in result.output
    assert {p.name for p in out.iterdir()} == {
        "forecast_backtest.csv", "forecast_backtest_origins.csv",
        "forecast_backtest_manifest.json"}
    manifest = json.loads((out / "forecast_backtest_manifest.json").read_text())
    assert manifest["origins"] == ["2027-06-01"] and manifest["replications"] == 10
    table = pd.read_csv(out / "forecast_backtest.csv")
    assert {"mape", "wape", "bias", "coverage", "coverage_n"} <= set(table.columns)
    assert (plots / "backtest_bookings.png").stat().st_size > 0


@pytest.mark.parametrize(("args", "needle"), [
    (["--forecast", "--horizon", "3x"], "--horizon"),
    (["--forecast", "--origins", "sometimes"], "--origins"),
    (["--forecast", "--origins", "2031-01-01"], "2031-01-01 leaves less than"),
    (["--forecast", "--min-history", "2"], "--min-history"),
    (["--forecast", "-n", "5"], "cannot give a P10 and a P90"),
    (["--origins", "monthly"], "--origins needs --forecast"),
    (["--forecast", "{log}"], "backtest takes LOG (with --forecast); got 2 arguments"),
])
def test_bad_flags_exit_2_and_write_nothing(log_file: Path, tmp_path: Path, args: list[str],
                                            needle: str) -> None:
    out = tmp_path / "bt"
    argv = ["backtest", str(log_file), *[a.replace("{log}", str(log_file)) for a in args],
            "-o", str(out)]
    if "--forecast" not in args:
        argv.insert(1, str(SAAS))
    result = CliRunner().invoke(main, argv)
    assert result.exit_code == 2, result.output
    assert needle in result.output and "Traceback" not in result.output
    assert not out.exists()
