"""``revsim fit`` and ``revsim backtest`` on the command line (click's CliRunner).

A Maven sample export is fitted into an annotated scenario plus a report folder, and
backtested; broken inputs end with exit code 2, the file name and the rows on stderr, and no
traceback.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import SAAS

import revsim
from revsim.cli import main

DATA = Path(__file__).parent / "data"
SAMPLE = DATA / "maven_pipeline_sample.csv"
BROKEN = sorted(DATA.glob("broken_*.csv"))


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(scope="module")
def fitted_files(runner: CliRunner, tmp_path_factory: pytest.TempPathFactory
                 ) -> tuple[Path, Path, object]:
    out = tmp_path_factory.mktemp("fit_cli")
    toml, report = out / "maven.toml", out / "report"
    result = runner.invoke(main, ["fit", str(SAMPLE), "--format", "maven", "-o", str(toml),
                                  "--report", str(report)])
    return toml, report, result


def assert_clean_failure(result, code: int = 2) -> None:
    assert result.exit_code == code, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


# -- fit ---------------------------------------------------------------------------------------

def test_fit_exits_0_and_reports_on_stderr(fitted_files) -> None:
    toml, _, result = fitted_files
    assert result.exit_code == 0, result.output
    assert result.stdout == ""  # everything is a message, nothing is data
    assert "290 cases" in result.stderr  # 300 rows minus 10 Prospecting deals
    assert "10 maven: Prospecting deal without dates" in result.stderr
    assert f"wrote the fitted scenario to {toml}" in result.stderr


def test_fit_writes_a_scenario_that_loads(fitted_files) -> None:
    toml, _, _ = fitted_files
    sc = revsim.load(toml)
    assert [s.name for s in sc.model.stages] == ["engaging"]
    assert set(sc.raw["stages"]["engaging"]["routes"]) == {"won", "lost"}


def _unannotated_numbers(text: str) -> list[str]:
    """Assignments outside [scenario] and [parameter_draws] (a file name and its checksum, not
    fitted numbers) whose value holds a number but have no comment block directly above them
    containing ``n=``."""
    missing = []
    lines = text.splitlines()
    section = ""
    for i, line in enumerate(lines):
        header = re.match(r"^\[(.+)\]\s*$", line)
        if header:
            section = header.group(1)
            continue
        assignment = re.match(r"^([A-Za-z0-9_\"-]+)\s*=\s*(.+)$", line)
        if (not assignment or section in ("scenario", "parameter_draws")
                or not re.search(r"\d", assignment.group(2))):
            continue
        block = []
        j = i - 1
        while j >= 0 and lines[j].startswith("#"):
            block.append(lines[j])
            j -= 1
        if not re.search(r"\bn=\d", " ".join(block)):
            missing.append(f"[{section}] {line[:80]}")
    return missing


def test_every_fitted_number_has_an_n_comment_above_it(fitted_files) -> None:
    toml, _, _ = fitted_files
    text = toml.read_text(encoding="utf-8")
    for key in ("rate", "delay", "routes", "value"):  # the headline fitted numbers
        assert re.search(rf"^# .*n=\d+.*\n(# .*\n)*{key} = ", text, re.M), key
    missing = _unannotated_numbers(text)
    assert not missing, "fitted numbers without a `# n=` comment directly above:\n" + \
        "\n".join(missing)


def test_fit_writes_the_parameter_draws_beside_the_scenario(fitted_files) -> None:
    toml, _, result = fitted_files
    draws = toml.with_name("maven.draws.json")
    assert f"wrote 200 bootstrap draws of 4 parameters to {draws}" in result.stderr
    sc = revsim.load(toml)
    assert sc.raw["parameter_draws"]["file"] == "maven.draws.json"
    assert len(sc.parameter_draws) == 200


def test_fit_bootstrap_0_writes_no_draws(runner: CliRunner, tmp_path: Path) -> None:
    toml = tmp_path / "plain.toml"
    result = runner.invoke(main, ["fit", str(DATA / "canonical_log.csv"), "-o", str(toml),
                                  "--bootstrap", "0"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain.toml"]
    assert "parameter_draws" not in toml.read_text(encoding="utf-8")
    assert "bootstrap draws" not in result.stderr


def test_fit_report_folder(fitted_files) -> None:
    toml, report, _ = fitted_files
    files = {p.name for p in report.iterdir()}
    assert {"fit_table.csv", "transitions.csv", "arrivals.csv", "summary.md"} <= files
    pngs = sorted(report.glob("fit_*.png"))
    assert len(pngs) == 1 and pngs[0].name == "fit_stages_engaging_delay.png"
    assert pngs[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and pngs[0].stat().st_size > 10_000
    fit_table = pd.read_csv(report / "fit_table.csv")
    assert set(fit_table["family"]) == {"lognormal", "gamma", "weibull", "exponential",
                                        "loglogistic"}
    assert (fit_table["fitted"] == "stages.engaging.delay").all()
    assert fit_table["chosen"].sum() == 1
    transitions = pd.read_csv(report / "transitions.csv").set_index("to")
    raw = pd.read_csv(SAMPLE, dtype=str)["deal_stage"].value_counts()
    assert int(transitions.loc["won", "count"]) == int(raw["Won"])
    assert int(transitions.loc["lost", "count"]) == int(raw["Lost"])
    assert (transitions["ci_low"] <= transitions["p"]).all()
    assert (transitions["p"] <= transitions["ci_high"]).all()
    arrivals = pd.read_csv(report / "arrivals.csv")
    assert list(arrivals["source"]) == ["leads"] and int(arrivals["n"].iloc[0]) == 290
    summary = (report / "summary.md").read_text(encoding="utf-8")
    assert summary.startswith("# Calibration summary")
    assert "stages.engaging.delay" in summary and "right-censored" in summary


# -- backtest ----------------------------------------------------------------------------------

def test_backtest_prints_the_table(runner: CliRunner, fitted_files, tmp_path: Path) -> None:
    toml, _, _ = fitted_files
    csv = tmp_path / "backtest.csv"
    result = runner.invoke(main, ["backtest", str(toml), str(SAMPLE), "--format", "maven",
                                  "-n", "5", "--seed", "3", "-o", str(csv)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("Backtest: observed (log) vs simulated")
    for kpi in ("win_rate", "cycle_time_median", "cycle_time_p90", "conversion:engaging"):
        assert re.search(rf"^\s+{re.escape(kpi)}\s+observed .* simulated .* range \[.*\] n=5",
                         out, re.M), kpi
    assert re.search(r"^\d+ of \d+ KPIs outside the range\.$", out, re.M)
    assert "With 5 replications the 95% range" in out  # few replications: said so
    table = pd.read_csv(csv)
    assert {"kpi", "observed", "sim_mean", "pi_low", "pi_high", "inside"} <= set(table.columns)


def test_backtest_of_a_scenario_that_starts_after_the_log_exits_2(runner: CliRunner) -> None:
    result = runner.invoke(main, ["backtest", str(SAAS),
                                  str(SAMPLE), "--format", "maven", "-n", "2"])
    assert_clean_failure(result)
    assert "scenario.start" in result.stderr and "after the log's as-of" in result.stderr


def test_fit_shows_its_steps_only_when_asked_or_on_a_terminal(runner: CliRunner,
                                                              tmp_path: Path) -> None:
    args = ["fit", str(SAMPLE), "--format", "maven", "-o", str(tmp_path / "f.toml")]
    quiet = runner.invoke(main, args)  # CliRunner's stderr is not a terminal
    assert quiet.exit_code == 0 and "fitting:" not in quiet.stderr
    shown = runner.invoke(main, [*args, "--progress"])
    assert shown.exit_code == 0, shown.output
    for step in ("reading the log", "journeys", "arrivals", "stage engaging", "payments"):
        assert f"fitting: {step}" in shown.stderr, step


def test_a_source_that_enters_at_several_stages_keeps_each_reachable(tmp_path: Path) -> None:
    """Without parent links, leads (entering at mql) and opportunities (created directly) are
    separate journeys of one source: each entry stage gets its own source."""
    table = pd.read_csv(DATA / "canonical_log.csv", usecols=["case_id", "activity", "timestamp"])
    fitted = revsim.fit(table, as_of="2024-03-31T23:59:59Z")
    sources = fitted.raw["sources"]
    entries = {spec["to"] for spec in sources.values()}
    assert {"mql", "opportunity"} <= entries and len(entries) == len(sources)
    assert all(name.startswith("leads_to_") for name in sources)
    revsim.loads(fitted.to_toml()).run(replications=1, progress=False)  # every stage reachable


def test_backtest_intervals_stop_at_natural_bounds() -> None:
    """A few tiny invoices make DSO vary wildly between replications; its interval must still
    not go below 0 days (as in every other KPI table)."""
    from revsim.calibrate.backtest import backtest

    fitted = revsim.fit(DATA / "generic_ar.csv", format="ar")
    table = backtest(fitted.model(), fitted.log, replications=10, seed=1, progress=False)
    dso = table.set_index("kpi").loc["dso"]
    assert dso.n == 10 and dso.ci_high > dso.sim_mean > 0
    assert dso.ci_low == 0.0  # the t-interval itself reaches below zero here (-7.5 d)


EVERY_FORMAT = [
    ("canonical_log.csv", "canonical"),
    ("xes_log.csv", "canonical"),
    ("hubspot_deals.csv", "hubspot"),
    ("salesforce_opportunity_history.csv", "salesforce"),
    ("stripe_invoices.csv", "stripe"),
    ("generic_ar.csv", "ar"),
    ("maven_pipeline_sample.csv", "maven"),
]


@pytest.mark.parametrize(("name", "fmt"), EVERY_FORMAT, ids=[e[0] for e in EVERY_FORMAT])
def test_every_shipped_log_fits_into_a_scenario_that_runs(runner: CliRunner, tmp_path: Path,
                                                          name: str, fmt: str) -> None:
    """Tiny logs hit the edge cases (segments without a won deal, stages whose visits all
    take 0 h, logs of invoices only): each must still give a scenario that loads and runs."""
    out = tmp_path / "fitted.toml"
    fitted = runner.invoke(main, ["fit", str(DATA / name), "--format", fmt, "-o", str(out)])
    assert fitted.exit_code == 0, fitted.output
    ran = runner.invoke(main, ["run", str(out), "-n", "2", "-q", "--no-progress"])
    assert ran.exit_code == 0, ran.output


@pytest.mark.parametrize("name", ["stripe_invoices.csv", "generic_ar.csv"])
def test_an_invoice_only_log_models_the_cash_side(name: str) -> None:
    fmt = "stripe" if name.startswith("stripe") else "ar"
    fitted = revsim.fit(DATA / name, format=fmt)
    raw = fitted.raw
    assert list(raw["stages"]) == ["invoiced"] and raw["stages"]["invoiced"]["delay"] == "0 h"
    assert raw["deals"]["contract"]["billing"] == "upfront"
    assert {"on_time", "late", "never"} <= set(raw["payment"])
    assert any("invoices only" in n for n in fitted.notes)
    invoices = fitted.log.events["activity"].eq("invoice_issued").sum()
    weeks = (fitted.log.as_of - fitted.log.start.floor("D")).total_seconds() / (168 * 3600)
    rate = float(raw["sources"]["invoices"]["rate"].removesuffix("/w"))
    assert rate == pytest.approx(invoices / weeks, rel=1e-3)


# -- bad input ---------------------------------------------------------------------------------

@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.name)
def test_broken_logs_exit_2_with_file_and_rows(runner: CliRunner, path: Path,
                                               tmp_path: Path) -> None:
    out = tmp_path / "never.toml"
    result = runner.invoke(main, ["fit", str(path), "-o", str(out)])
    assert_clean_failure(result)
    assert not out.exists()
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert errors, result.stderr
    assert all(line.startswith(f"error: {path}: ") for line in errors), errors
    n_rows = len(path.read_text(encoding="utf-8").splitlines())
    if path.name == "broken_missing_columns.csv":
        # a header problem: no data row to point at, so it names the columns instead
        assert "missing required columns case_id, activity, timestamp" in result.stderr
        assert "columns found: id, event, time" in result.stderr
        return
    cited = [int(r) for m in re.finditer(r"\brows? ([\d, ]+)", result.stderr)
             for r in re.findall(r"\d+", m.group(1))]
    assert cited, result.stderr
    assert all(2 <= r <= n_rows for r in cited), (cited, n_rows)


def test_broken_everything_reports_every_problem_at_once(runner: CliRunner,
                                                         tmp_path: Path) -> None:
    result = runner.invoke(main, ["fit", str(DATA / "broken_everything.csv"),
                                  "-o", str(tmp_path / "x.toml")])
    assert_clean_failure(result)
    for text in ("row 10: blank case_id", 'row 11: not a canonical activity: "Demo Call"',
                 "row 7: unparseable time", 'row 16: unknown object_type "opp"',
                 'row 15: amount is not a number "12,000"', "row 4: event earlier",
                 "row 9: duplicate event", "row 12: due date before", "row 13: case ends before",
                 "row 6: case reaches a terminal"):
        assert text in result.stderr, text


def test_broken_timestamps_cut_the_row_list(runner: CliRunner, tmp_path: Path) -> None:
    path = DATA / "broken_timestamps.csv"
    frame = pd.read_csv(path, dtype=str)
    bad = [i + 2 for i, t in enumerate(frame["timestamp"]) if not t.startswith("20")]
    result = runner.invoke(main, ["fit", str(path), "-o", str(tmp_path / "x.toml")])
    assert_clean_failure(result)
    shown = ", ".join(map(str, bad[:5]))
    assert f"rows {shown} (+{len(bad) - 5} more): a date that is not ISO 8601" in result.stderr


def test_unknown_format_is_a_usage_error(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["fit", str(SAMPLE), "--format", "excel",
                                  "-o", str(tmp_path / "x.toml")], prog_name="revsim")
    assert_clean_failure(result)
    assert "Usage: revsim fit" in result.stderr
    assert "Invalid value for '--format'" in result.stderr and "maven" in result.stderr


def test_missing_log_file(runner: CliRunner, tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    result = runner.invoke(main, ["fit", str(missing), "-o", str(tmp_path / "x.toml")])
    assert_clean_failure(result)
    assert f"error: {missing}: file not found" in result.stderr


def test_backtest_with_missing_files(runner: CliRunner, fitted_files, tmp_path: Path) -> None:
    toml, _, _ = fitted_files
    missing = tmp_path / "nope.csv"
    result = runner.invoke(main, ["backtest", str(toml), str(missing), "--format", "maven"])
    assert_clean_failure(result)
    assert str(missing) in result.stderr
    result = runner.invoke(main, ["backtest", str(tmp_path / "nope.toml"), str(SAMPLE),
                                  "--format", "maven"])
    assert_clean_failure(result)
    assert "nope.toml" in result.stderr


def test_unparseable_as_of(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["fit", str(SAMPLE), "--format", "maven", "--as-of", "soon",
                                  "-o", str(tmp_path / "x.toml")])
    assert_clean_failure(result)
    assert '"soon" is not an ISO 8601 date or time' in result.stderr


@pytest.mark.parametrize("as_of", ["03/04/2024", "4 March 2024"])
def test_a_date_that_reads_two_ways_is_refused(runner: CliRunner, tmp_path: Path,
                                               as_of: str) -> None:
    # "03/04/2024" is 3 April or 4 March depending on the reader; only ISO 8601 is one date
    out = tmp_path / "x.toml"
    result = runner.invoke(main, ["fit", str(SAMPLE), "--format", "maven", "--as-of", as_of,
                                  "-o", str(out)])
    assert_clean_failure(result)
    assert f'"{as_of}" is not an ISO 8601 date or time' in result.stderr
    assert not out.exists()


def test_an_as_of_long_after_the_log_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "x.toml"
    result = runner.invoke(main, ["fit", str(SAMPLE), "--format", "maven", "--as-of",
                                  "2099-01-01", "-o", str(out)])
    assert_clean_failure(result)
    assert "days after the log's last event" in result.stderr
    assert not out.exists()


@pytest.mark.parametrize("log, starts", [("xes_log.csv", True), ("canonical_log.csv", False)])
def test_the_staffing_note_says_only_what_was_inferred(log: str, starts: bool) -> None:
    fitted = revsim.fit(DATA / log)
    (note,) = [n for n in fitted.notes if "resources in the log" in n]
    resources = fitted.log.events["resource"].dropna().nunique()
    assert note.startswith(f"{resources} resources in the log")
    assert "no pools, headcounts or staff time are inferred from them" in note
    assert ("nor work from start events" in note) is starts
    assert "needs start/complete events" not in note  # a claim the fit cannot back


def test_the_contract_s_evidence_is_written_above_it() -> None:
    fitted = revsim.fit(DATA / "canonical_log.csv")
    lines = fitted.to_toml().splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("contract = {"))
    above = []
    for line in reversed(lines[:at]):
        if not line.startswith("#"):
            break
        above.insert(0, line)
    text = " ".join(line[2:] for line in above)
    assert text.startswith(f"terms: {fitted.comments['deals.contract.terms']}")
    assert f"billing: {fitted.comments['deals.contract.billing']}" in text
