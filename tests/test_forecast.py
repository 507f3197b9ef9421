"""Forecasting from a state: placing aged items (M/G/inf theory), the exact split of bookings and
cash, common random numbers with a state, periods, targets, and clear errors on bad states."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import QUIET_RATE, SAAS, START
from scipy import stats

import revsim
from revsim import interventions as iv
from revsim.analysis.forecast_stats import parse_target, wilson
from revsim.cli import main
from revsim.errors import ExperimentError, ScenarioError, StateError
from revsim.experiment import calendar_periods
from revsim.state.files import read_snapshot
from revsim.state.snapshot import Customer, OpenInvoice, OpenItem, Snapshot

EXAMPLE = SAAS.parent / "state_example"
AS_OF = dt.datetime.combine(START, dt.time())
DAY = dt.timedelta(days=1)
SPLITS = {"total_bookings": ("bookings_open_pipeline", "bookings_new_leads", "renewal_bookings"),
          "bookings": ("bookings_open_pipeline", "bookings_new_leads"),
          "won": ("won_open_pipeline", "won_new_leads"),
          "cash_collected": ("cash_from_open_ar", "cash_from_new_invoices")}


@cache
def saas() -> revsim.Scenario:
    return revsim.load(SAAS)


@cache
def example_run() -> revsim.RunResult:
    return saas().run(replications=3, seed=5, jobs=1, state=EXAMPLE, until="2027-03-31",
                      by="month", progress=False)


@cache
def example_forecast() -> revsim.Forecast:
    return saas().forecast(EXAMPLE, "2027-03-31", "month", replications=12, seed=5, jobs=2,
                           targets=["total_bookings=1.8M", "won=8/period",
                                    "ar_outstanding=400k"], progress=False)


# -- theory: M/G/inf with aged initial items ---------------------------------------------------
def test_aged_items_leave_a_delay_as_conditional_survival_says() -> None:
    """With no arrivals, the expected number of initial items still in an infinite-server
    delay t after the start is sum_i S(a_i + t) / S(a_i): each leaves at its remaining time
    given its age a_i."""
    sc = revsim.Scenario({
        "scenario": {"name": "aged delay", "start": START, "horizon": "2 w"},
        "sources": {"web": {"rate": QUIET_RATE, "to": "wait"}},
        "stages": {"wait": {"delay": {"dist": "lognormal", "median": "10 d", "p90": "40 d"},
                            "routes": {"won": 1.0}}}})
    ages = np.arange(1, 41, dtype=float) * 24.0  # 1..40 days in the delay
    items = tuple(OpenItem(id=f"a{i}", stage="wait", entered_stage=AS_OF - dt.timedelta(hours=a),
                           created=AS_OF - dt.timedelta(hours=a), amount=1.0)
                  for i, a in enumerate(ages))
    result = sc.forecast(Snapshot(AS_OF, items), "2027-02-28", "week", replications=300,
                         seed=3, jobs=2, progress=False)
    delay = sc.model.stages[sc.model.stage_index("wait")].delay
    wide = result.replications.pivot_table(index="replication", columns="name", values="value",
                                           sort=False).reindex(columns=result.order)
    won = result.replications[result.replications.metric == "won_open_pipeline"]
    cumulative = won.pivot_table(index="replication", columns="name", values="value",
                                 sort=False)[result.order].cumsum(axis=1)
    assert len(wide) == 300
    for period in result.periods:
        t = period.end_h
        still_open = len(ages) - cumulative[period.label].to_numpy()
        expected = float(np.sum(delay.sf(ages + t) / delay.sf(ages)))
        half = stats.t.ppf(0.9995, len(still_open) - 1) * still_open.std(ddof=1) / math.sqrt(
            len(still_open))
        assert abs(still_open.mean() - expected) <= half, (period.label, expected)


# -- where the money comes from ------------------------------------------------------------------
def test_splits_add_up_to_their_totals_exactly_and_to_the_ledger() -> None:
    result = example_run()
    periods = result.periods
    assert set(periods["name"]) == {"2027-01", "2027-02", "2027-03"}
    for r in result.replications:
        f = {(row.metric, row.name): row.value for row in r.periods}
        for label in ("2027-01", "2027-02", "2027-03"):
            for total, parts in SPLITS.items():
                assert f[total, label] == sum((f[p, label] for p in parts[1:]),
                                              f[parts[0], label]), (total, label)
        ledger = r.extra["ledger"]
        labels = ("2027-01", "2027-02", "2027-03")
        assert round(sum(f["total_bookings", p] for p in labels) * 100) == ledger["booked"]
        assert round(sum(f["cash_collected", p] for p in labels) * 100) == ledger["collected"]
        assert round(sum(f["invoiced", p] for p in labels) * 100) == ledger["invoiced"]
        assert round(f["ar_outstanding", "2027-03"] * 100) == ledger["outstanding"]
        # the cash identities, with what the state brought in
        assert ledger["opening_ar"] == round(sum(i.outstanding for i in
                                                 read_snapshot(EXAMPLE).invoices) * 100)
        assert ledger["invoiced"] + ledger["opening_ar"] == (
            ledger["collected"] + ledger["written_off"] + ledger["outstanding"])
        assert ledger["booked"] + ledger["opening_unbilled"] == (
            ledger["invoiced"] + ledger["unbilled"] + ledger["cancelled"])
        assert f["bookings_open_pipeline", "2027-01"] > 0 and f["cash_from_open_ar", "2027-01"] > 0


def test_a_forecast_reports_both_ranges_and_splits_in_its_table() -> None:
    f = example_forecast()
    s = f.summary
    assert list(s.columns) == ["period", "first_day", "last_day", "metric", "label", "unit", "n",
                               "mean", "ci_low", "ci_high", "p10", "p25", "p50", "p75", "p90"]
    assert list(dict.fromkeys(s["period"])) == ["2027-01", "2027-02", "2027-03", "total"]
    jan = s[s.period == "2027-01"].iloc[0]
    assert (jan.first_day, jan.last_day) == ("2027-01-04", "2027-01-31")
    assert (s["p10"] <= s["p50"]).all() and (s["p50"] <= s["p90"]).all()
    assert (s["ci_low"] <= s["mean"]).all() and (s["mean"] <= s["ci_high"]).all()
    assert (s["n"] == 12).all()
    for total, parts in SPLITS.items():
        t = f.figure(total).set_index("period")["mean"]
        p = sum(f.figure(part).set_index("period")["mean"] for part in parts)
        assert np.allclose(t, p, rtol=1e-12)
    # the whole forecast: flows summed per replication, stocks at the end
    flows = f.replications[f.replications.metric == "cash_collected"]
    per_rep = flows.groupby("replication")["value"].sum().sort_index()
    assert np.allclose(f.values("cash_collected").to_numpy(), per_rep.to_numpy())
    ar = f.figure("ar_outstanding").set_index("period")["mean"]
    assert ar["total"] == ar["2027-03"]
    text = f.format()
    assert "95% CI" in text and "P10" in text and "prediction interval" in text
    assert "from the open pipeline" in text and "from open AR" in text
    assert "Forecast" in repr(f) and "<table>" in f._repr_html_()


def test_targets_give_the_share_of_replications_that_meet_them_with_a_wilson_ci() -> None:
    f = example_forecast()
    t = f.target_table
    cumulative = t[t.target == "total_bookings=1.8M"]
    assert list(cumulative["kind"].unique()) == ["cumulative"]
    whole = cumulative[cumulative.period == "2027-03"].iloc[0]
    assert whole.met == int((f.values("total_bookings") >= 1.8e6).sum())
    assert (whole.ci_low, whole.ci_high) == pytest.approx(wilson(whole.met, 12))
    assert cumulative["p_met"].is_monotonic_increasing  # bookings only add up
    per = t[t.target == "won=8/period"]
    assert list(per["kind"].unique()) == ["per period"]
    ar = t[t.target == "ar_outstanding=400k"].iloc[-1]  # lower is better: met at or below
    assert ar.met == int((f.values("ar_outstanding") <= 4e5).sum())
    assert "Targets" in f.format()


def test_wilson_interval_matches_scipy() -> None:
    for k, n in ((0, 50), (3, 10), (25, 50), (50, 50)):
        ci = stats.binomtest(k, n).proportion_ci(0.95, method="wilson")
        assert wilson(k, n) == pytest.approx((ci.low, ci.high), abs=1e-12)


@pytest.mark.parametrize(("text", "fix"), [
    ("bookngs=2M", "did you mean 'bookings'"), ("bookings", "FIGURE=AMOUNT"),
    ("bookings=lots", "not an amount"),
])
def test_bad_targets_are_refused_clearly(text: str, fix: str) -> None:
    with pytest.raises(ExperimentError, match=fix):
        parse_target(text)


def test_target_amounts_read_money_and_counts() -> None:
    assert parse_target("total_bookings=2.5M").threshold == 2.5e6
    assert parse_target("won=40/period").per_period
    assert parse_target("won=40").threshold == 40


# -- periods ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("by", "labels", "ends"), [
    ("week", ["2027-W01", "2027-W02", "2027-W03"], ["2027-01-11", "2027-01-18", "2027-01-20"]),
    ("month", ["2027-01", "2027-02", "2027-03"], ["2027-02-01", "2027-03-01", "2027-03-15"]),
    ("quarter", ["2026-Q4", "2027-Q1"], ["2027-01-01", "2027-02-10"]),
])
def test_periods_follow_the_calendar_from_the_as_of_date(by, labels, ends) -> None:
    start = {"week": dt.datetime(2027, 1, 6, 9), "month": dt.datetime(2027, 1, 6),
             "quarter": dt.datetime(2026, 11, 20)}[by]
    end = dt.datetime.fromisoformat(ends[-1])
    periods = calendar_periods(start, end, by, dt.datetime.combine(start.date(), dt.time()))
    assert [p.label for p in periods] == labels
    assert [f"{p.end:%Y-%m-%d}" for p in periods] == ends
    assert periods[0].start == start and periods[0].start_h == start.hour
    assert all(a.end == b.start for a, b in zip(periods, periods[1:], strict=False))


# -- common random numbers with a state --------------------------------------------------------
def test_a_hire_keeps_the_state_and_changes_nothing_before_its_date() -> None:
    sc = saas()
    comparison = sc.compare(iv.hire(sc.raw, "ae", 2, "2027-02-15"), state=EXAMPLE,
                            until="2027-04-30", by="month", replications=3, seed=9, jobs=1,
                            progress=False)
    (variant,) = comparison.variants.values()
    assert variant.model.start_state is not None
    assert variant.model.start_state == comparison.base.model.start_state
    p = comparison.periods
    assert set(p["name"]) == {"2027-01", "2027-02", "2027-03", "2027-04"}
    jan = p[p.name == "2027-01"]
    assert (jan["diff"] == 0).all(), "before the hire both sides live the same future"
    assert (p.loc[p.name == "2027-04", "diff"] != 0).any()
    assert "Per period" in comparison.format()


def test_arrivals_are_the_same_with_and_without_a_state() -> None:
    with_state = saas().run(replications=2, seed=4, jobs=1, state=EXAMPLE, horizon="6 w",
                            progress=False)
    empty = saas().run(replications=2, seed=4, jobs=1, horizon="6 w", warmup="0 w",
                       progress=False)
    for source in ("inbound", "outbound"):
        assert (with_state.values("leads_in", "source", source).tolist()
                == empty.values("leads_in", "source", source).tolist())
    assert (with_state.values("won").sum() > empty.values("won").sum())  # the open pipeline


def test_an_empty_state_is_an_empty_start() -> None:
    with_state = saas().run(replications=2, seed=4, jobs=1, state=Snapshot(AS_OF),
                            horizon="4 w", progress=False)
    empty = saas().run(replications=2, seed=4, jobs=1, horizon="4 w", warmup="0 w",
                       progress=False)
    pd.testing.assert_frame_equal(with_state.summary, empty.summary)


# -- moving the scenario to the as-of date -------------------------------------------------------
def test_the_plan_before_the_as_of_date_has_happened() -> None:
    started = saas().from_state(Snapshot(dt.datetime(2027, 5, 1)), until="2027-06-30")
    model = started.model
    assert model.start == dt.date(2027, 5, 1) and model.warmup == 0
    ae = model.pools[[p.name for p in model.pools].index("ae")]
    assert ae.headcount == 10  # the April hires joined but are still ramping up
    (hire,) = ae.hires
    assert (hire.at, hire.count) == (0.0, 2)
    assert hire.ramp == pytest.approx(((150 - 26) * 24.0, 0.3 + 0.7 * 26 / 150))
    assert all(not s.bursts for s in model.sources)  # the March webinar is in the past
    assert any("hire" in note for note in started.start_notes)
    assert model.horizon == (dt.date(2027, 7, 1) - dt.date(2027, 5, 1)).days * 24.0


def test_a_warm_up_on_a_state_is_refused_unless_forced() -> None:
    with pytest.raises(ScenarioError, match="force-warmup"):
        saas().run(replications=1, state=EXAMPLE, until="2027-02-28", warmup="1 w")
    forced = saas().run(replications=1, jobs=1, state=EXAMPLE, until="2027-02-28",
                        warmup="1 w", force_warmup=True, progress=False)
    assert forced.manifest["warmup_hours"] == 168.0
    assert forced.manifest["state"].startswith("as of 2027-01-04")


def test_an_as_of_time_of_day_starts_the_run_there() -> None:
    snap = dataclasses.replace(read_snapshot(EXAMPLE), as_of=dt.datetime(2027, 1, 4, 10, 30))
    result = saas().run(replications=1, jobs=1, state=snap, until="2027-01-31", by="week",
                        progress=False)
    assert result.series["t_hours"].min() == 10.5
    assert result.manifest["warmup_hours"] == 10.5
    assert sorted(set(result.periods["name"]))[0] == "2027-W01"


def test_more_items_in_work_than_staff_wait_for_the_next_person() -> None:
    items = tuple(OpenItem(id=f"q{i}", stage="qualify", entered_stage=AS_OF - DAY,
                           created=AS_OF - DAY, status="in_work") for i in range(9))
    started = saas().from_state(Snapshot(AS_OF, items), until="2027-01-31")
    assert any("9 items are in work in pool sdr" in n for n in started.start_notes)
    result = started.run(replications=1, jobs=1, progress=False)
    assert result.kpi("won")["mean"] >= 0


# -- bad states --------------------------------------------------------------------------------
def bad_snapshot() -> Snapshot:
    later = AS_OF + DAY
    return Snapshot(AS_OF, (
        OpenItem(id="a", stage="demoo", entered_stage=AS_OF, created=AS_OF),
        OpenItem(id="b", stage="demo", entered_stage=later, created=AS_OF - DAY),
        OpenItem(id="b", stage="legal", entered_stage=AS_OF, created=AS_OF, segment="smbb"),
    ), (OpenInvoice(id="i", issued=START, due=START, outstanding=0.0),),
        (Customer(id="c", start=dt.date(2026, 1, 4), term_months=12,
                  next_renewal=dt.date(2027, 1, 4), arr=1000.0),))


def test_a_bad_state_lists_every_problem_with_its_row_and_fix() -> None:
    with pytest.raises(StateError) as caught:
        saas().from_state(bad_snapshot(), until="2027-02-28")
    text = "\n".join(caught.value.lines())
    assert "items row 1 (id a): stage 'demoo' is not a stage of the scenario; did you mean 'demo'" \
        in text
    assert "items row 2 (id b).entered_stage" in text and "negative" in text
    assert "items row 3 (id b): duplicate id" in text
    assert "items row 3 (id b).segment: unknown segment 'smbb'" in text
    assert "invoices row 1 (id i).outstanding: must be > 0" in text
    assert "customers row 1 (id c).next_renewal" in text
    assert len(caught.value.problems) == 6


def test_the_cli_reports_a_bad_state_cleanly_and_writes_nothing(tmp_path: Path) -> None:
    # written by hand, as a user would: revsim's own writer refuses a snapshot like this
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "manifest.json").write_text('{"format": "revsim-state", "version": 1, '
                                       '"as_of": "2027-01-04"}', encoding="utf-8")
    (bad / "open_items.csv").write_text(
        "id,stage,entered_stage\na,demoo,2027-01-04\nb,demo,2027-01-05\nb,legal,2027-01-04\n",
        encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["forecast", str(SAAS), "--state", str(tmp_path / "bad"),
                                       "--until", "2027-02-28", "-n", "2", "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    # every problem at once, each naming the file, the row and the fix
    assert "open_items.csv" in result.output and "duplicate id" in result.output
    assert "negative age" in result.output
    assert not out.exists()


def test_the_cli_forecast_writes_its_tables(tmp_path: Path) -> None:
    out = tmp_path / "fc"
    result = CliRunner().invoke(main, [
        "forecast", str(SAAS), "--state", str(EXAMPLE), "--until", "2027-02-28", "--by",
        "month", "-n", "3", "-j", "1", "--target", "total_bookings=1M", "-o", str(out),
        "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "prediction interval" in result.output
    assert {p.name for p in out.iterdir()} == {
        "forecast.csv", "forecast_replications.csv", "forecast_targets.csv",
        "forecast_manifest.json"}
    table = pd.read_csv(out / "forecast.csv")
    assert set(table["period"]) == {"2027-01", "2027-02", "total"}


def test_the_state_options_of_run_compare_and_bottlenecks(tmp_path: Path) -> None:
    common = ["--state", str(EXAMPLE), "--until", "2027-01-31", "-n", "2", "-j", "1",
              "--no-progress"]
    run = CliRunner().invoke(main, ["run", str(SAAS), *common, "--by", "week", "-q",
                                    "-o", str(tmp_path / "run")])
    assert run.exit_code == 0, run.output
    assert (tmp_path / "run" / "periods.csv").exists()
    assert "started from the state as of 2027-01-04" in run.output
    compare = CliRunner().invoke(main, ["compare", str(SAAS), "--hire", "ae=2@2027-01-18",
                                        *common, "--by", "week"])
    assert compare.exit_code == 0, compare.output
    assert "Per period" in compare.output
    refused = CliRunner().invoke(main, ["bottlenecks", str(SAAS), *common, "--warmup", "1 w"])
    assert refused.exit_code == 2 and "force-warmup" in refused.output


def test_fan_chart_draws_bands_and_median_on_the_given_axes() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    f = example_forecast()
    fig, ax = plt.subplots()
    assert f.plot_fan("total_bookings", cumulative=True, ax=ax) is ax
    assert len(ax.collections) == 2 and len(ax.lines) == 1
    median = ax.lines[0].get_ydata()
    cumulative = f.replications[f.replications.metric == "total_bookings"].pivot_table(
        index="replication", columns="name", values="value")[f.order].cumsum(axis=1)
    assert median[0] == 0 and np.allclose(median[1:], cumulative.median().to_numpy())
    plt.close(fig)


def test_the_report_has_a_forecast_section(tmp_path: Path) -> None:
    from revsim.report import render_html

    f = example_forecast()
    f.to_dir(tmp_path / "alone")
    page = render_html(tmp_path / "alone")
    assert '<section id="forecast"' in page and "prediction interval" in page
    assert page.count('<img src="data:image/png;base64,') == 3
    assert 'data-metric="total_bookings"' in page and "<h3>Targets</h3>" in page
    run = tmp_path / "run"
    example_run().to_dir(run)
    f.to_dir(run)
    both = render_html(run)
    assert '<section id="forecast"' in both and '<section id="at-a-glance"' in both


def test_sweep_and_bottlenecks_start_from_a_state(tmp_path: Path) -> None:
    import json

    sweep = saas().sweep(tmp_path / "sweep", ["pools.ae.headcount=10,12"], replications=2,
                         jobs=1, state=EXAMPLE, until="2027-01-31", progress=False)
    manifest = json.loads((tmp_path / "sweep" / "manifest.json").read_text())
    assert manifest["state"].startswith("as of 2027-01-04: 29 open items")
    won = sweep.results[sweep.results.metric == "won"]
    assert len(won) == 4 and (won["value"] > 0).all()  # January's wins are the open pipeline's
    with pytest.raises(ExperimentError, match="different sweep"):
        other = dataclasses.replace(read_snapshot(EXAMPLE), items=())
        saas().sweep(tmp_path / "sweep", ["pools.ae.headcount=10,12"], replications=2, jobs=1,
                     state=other, until="2027-01-31", resume=True, progress=False)
    report = saas().bottlenecks(replications=2, jobs=1, state=EXAMPLE, until="2027-01-31",
                                progress=False)
    assert report.base.model.start_state is not None
    assert set(report.marginal["pool"]) == {"sdr", "ae", "onboarding"}
