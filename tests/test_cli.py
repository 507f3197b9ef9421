"""The ``revsim`` command: run, validate, schema; exit codes and clean error messages."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import click
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import REPO, SAAS, minimal, scenario_dict, write_toml

import revsim
import revsim.api
import revsim.engine
from revsim.cli import COMMANDS, main, output
from revsim.cli.lazy_group import import_command
from revsim.cli.output import OutputPath
from revsim.cli.terminal import printable

SUMMARY_COLUMNS = ["replication", "metric", "scope", "name", "unit", "value"]
KPI_COLUMNS = ["metric", "scope", "name", "unit", "mean", "ci_low", "ci_high", "half_width", "n"]
SERIES_COLUMNS = ["replication", "t_hours", "date", "variable", "value"]
MANIFEST_KEYS = {"revsim_version", "scenario_hash", "seed", "replications", "wall_time_s"}


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def small(tmp_path: Path) -> Path:
    """A small, fast scenario file (one source, one pool, one stage)."""
    return write_toml(tmp_path / "small.toml", scenario_dict(
        {"sources": {"web": {"rate": "60/w"}}, "stages": {"work": {
            "work": {"dist": "exponential", "mean": "1 h"}, "routes": {"won": 0.3, "lost": 0.7}}}}))


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    """A scenario with exactly three distinct problems."""
    return write_toml(tmp_path / "broken.toml", scenario_dict({
        "pools": {"staff": {"headcount": -1}},
        "stages": {"work": {"pool": "staf", "routes": {"won": 0.5, "lost": 0.6}}},
    }))


def assert_clean_failure(result, code: int = 2) -> None:
    assert result.exit_code == code, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


# -- run ------------------------------------------------------------------------------------------


def test_run_writes_result_files(runner: CliRunner, small: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(main, ["run", str(small), "-n", "3", "--seed", "5", "-q",
                                  "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""  # -q: no table
    assert {p.name for p in out.iterdir()} == {
        "summary.csv", "kpis.csv", "series.csv", "manifest.json", "scenario.toml"}
    assert not list(out.glob(".*"))  # no leftover temporary files

    summary = pd.read_csv(out / "summary.csv", keep_default_na=False)
    assert list(summary.columns) == SUMMARY_COLUMNS
    assert sorted(summary.replication.unique()) == [0, 1, 2]
    kpis = pd.read_csv(out / "kpis.csv", keep_default_na=False)
    assert list(kpis.columns) == KPI_COLUMNS
    assert set(kpis.n) == {3}
    # kpis.csv is the summary's mean per KPI
    leads = summary[(summary.metric == "leads_in") & (summary.scope == "total")]
    row = kpis[(kpis.metric == "leads_in") & (kpis.scope == "total")].iloc[0]
    assert row["mean"] == pytest.approx(leads.value.mean())
    assert row.ci_low <= row["mean"] <= row.ci_high
    series = pd.read_csv(out / "series.csv")
    assert list(series.columns) == SERIES_COLUMNS

    manifest = json.loads((out / "manifest.json").read_text())
    assert MANIFEST_KEYS <= set(manifest)
    assert manifest["revsim_version"] == revsim.__version__
    assert manifest["engine"] == ("compiled" if revsim.engine.COMPILED else "interpreted")
    assert manifest["seed"] == 5 and manifest["replications"] == 3
    assert manifest["scenario_hash"] == revsim.load(small).hash
    assert manifest["wall_time_s"] >= 0
    assert (out / "scenario.toml").read_text() == small.read_text()


def test_run_prints_a_table_with_mean_ci_and_n(runner: CliRunner, small: Path) -> None:
    result = runner.invoke(main, ["run", str(small), "-n", "3"])
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "3 replications" in text and "seed 1" in text
    assert "95% confidence interval" in text
    line = next(ln for ln in text.splitlines() if ln.strip().startswith("leads in"))
    assert "[" in line and "]" in line and line.rstrip().endswith("n=3")


def test_run_with_overrides_saves_the_scenario_as_run(runner: CliRunner, small: Path,
                                                      tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(main, ["run", str(small), "-n", "2", "-q", "-o", str(out),
                                  "--set", "pools.staff.headcount=3",
                                  "--set", "stages.work.patience=moderate"])
    assert result.exit_code == 0, result.output
    saved = revsim.load(out / "scenario.toml")
    assert saved.model.pools[0].headcount == 3
    assert saved.model.stages[0].patience_mode == "decay"
    assert "pools.staff.headcount=3" in (out / "scenario.toml").read_text().splitlines()[0]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["scenario_hash"] == saved.hash
    kpis = pd.read_csv(out / "kpis.csv", keep_default_na=False)
    head = kpis[(kpis.metric == "headcount_end") & (kpis.name == "staff")].iloc[0]
    assert head["mean"] == 3


def test_run_with_records_writes_visits(runner: CliRunner, small: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(main, ["run", str(small), "-n", "1", "-q", "--records",
                                  "-o", str(out)])
    assert result.exit_code == 0, result.output
    visits = pd.read_csv(out / "visits.csv")
    assert {"replication", "lead", "stage", "arrival_h", "start_h", "end_h", "outcome",
            "value"} <= set(visits.columns)
    assert (visits.start_h >= visits.arrival_h).all() and (visits.end_h >= visits.start_h).all()


def test_output_files_are_readable_like_any_other_file(runner: CliRunner, small: Path,
                                                       tmp_path: Path) -> None:
    """Results are written via temporary files; they must still get the usual permissions
    (0666 minus the umask), not mkstemp's private 0600."""
    out = tmp_path / "out"
    old = os.umask(0o022)
    try:
        result = runner.invoke(main, ["run", str(small), "-n", "1", "-q", "-o", str(out)])
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    for name in ("summary.csv", "kpis.csv", "manifest.json"):
        assert (out / name).stat().st_mode & 0o777 == 0o644, name


def test_overload_warning_goes_to_stderr(runner: CliRunner, tmp_path: Path) -> None:
    path = write_toml(tmp_path / "over.toml",
                      scenario_dict({"sources": {"web": {"rate": "300/w"}},
                                     "scenario": {"horizon": "1 w"}}))
    result = runner.invoke(main, ["run", str(path), "-n", "1", "-q"])
    assert result.exit_code == 0, result.output
    assert "warning:" in result.stderr and "'staff'" in result.stderr
    assert str(path) in result.stderr


# -- bad input: exit 2, no traceback --------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["run", "{small}", "--bogus"],
        ["run", "{small}", "-n", "0"],
        ["run", "{small}", "-n", "two"],
        ["run", "{small}", "--seed", "-1"],
        ["run"],
        ["frobnicate"],
        ["validate"],
    ],
)
def test_bad_flags_are_usage_errors(runner: CliRunner, small: Path, args: list[str]) -> None:
    result = runner.invoke(main, [a.format(small=small) for a in args])
    assert_clean_failure(result)
    assert "Usage:" in result.output


@pytest.mark.parametrize(("args", "option"), [
    (["optimize", "{small}", "--objective", "won", "--scope", "totl", "-o", "{out}"], "--scope"),
    (["sweep", "{small}", "--param", "pools.staff.headcount=1:2", "--design", "grd", "-o",
      "{out}"], "--design"),
    (["fit", "log.csv", "--format", "salesforce2", "-o", "{out}/f.toml"], "--format"),
    (["backtest", "{small}", "log.csv", "--format", "xes"], "--format"),
])
def test_a_flag_with_fixed_choices_lists_them(runner: CliRunner, small: Path, tmp_path: Path,
                                              args: list[str], option: str) -> None:
    out = tmp_path / "out"
    result = runner.invoke(main, [a.format(small=small, out=out) for a in args])
    assert_clean_failure(result)
    assert f"Invalid value for '{option}'" in result.stderr and "is not one of" in result.stderr
    assert not out.exists()  # refused before anything ran


def test_bad_override_path_exits_2_with_a_clean_message(runner: CliRunner, small: Path,
                                                        tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(main, ["run", str(small), "-o", str(out),
                                  "--set", "pools.staf.headcount=3"])
    assert_clean_failure(result)
    assert "pools.staf.headcount" in result.stderr and "did you mean 'staff'" in result.stderr
    assert result.stdout == ""
    assert not out.exists()  # nothing was run


def test_override_without_value_exits_2(runner: CliRunner, small: Path) -> None:
    result = runner.invoke(main, ["run", str(small), "--set", "pools.staff.headcount"])
    assert_clean_failure(result)
    assert "PATH=VALUE" in result.stderr


def test_override_with_bad_value_exits_2(runner: CliRunner, small: Path) -> None:
    result = runner.invoke(main, ["run", str(small), "--set", "pools.staff.headcount=lots"])
    assert_clean_failure(result)
    assert "pools.staff.headcount" in result.stderr and "'lots'" in result.stderr


def test_missing_file_exits_2(runner: CliRunner, tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    result = runner.invoke(main, ["run", str(missing)])
    assert_clean_failure(result)
    assert str(missing) in result.stderr and "not found" in result.stderr


def test_invalid_scenario_exits_2_listing_every_problem(runner: CliRunner,
                                                        broken: Path) -> None:
    result = runner.invoke(main, ["run", str(broken), "-n", "1"])
    assert_clean_failure(result)
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 3
    assert all(str(broken) in ln for ln in errors)
    assert "3 problems found" in result.stderr


def test_bad_horizon_flag_exits_2(runner: CliRunner, small: Path) -> None:
    result = runner.invoke(main, ["run", str(small), "--horizon", "3 wks x"])
    assert_clean_failure(result)
    assert "3 wks x" in result.stderr


def test_warmup_longer_than_horizon_flag_exits_2(runner: CliRunner, small: Path) -> None:
    result = runner.invoke(main, ["run", str(small), "-n", "1", "--horizon", "2 w",
                                  "--warmup", "3 w"])
    assert_clean_failure(result)
    assert "warm" in result.stderr


CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@pytest.mark.parametrize(("text", "shown"), [
    ("plain\ttext\nkept", "plain\ttext\nkept"),
    ("red\x1b[31;1mbold\x1b[0m", "red\\x1b[31;1mbold\\x1b[0m"),
    ("\x1b[2J\x1b[Hcleared", "\\x1b[2J\\x1b[Hcleared"),
    ("title\x1b]0;pwned\x07!", "title\\x1b]0;pwned\\x07!"),
    ("over\rwrite\x00\x08\x7f", "over\\x0dwrite\\x00\\x08\\x7f"),
    ("c1\x9b31m csi", "c1\\x9b31m csi"),
])
def test_printable_writes_control_characters_out(text: str, shown: str) -> None:
    """Written out, not dropped: the user sees where the odd character is, and none acts."""
    assert printable(text) == shown
    assert not CONTROL.search(printable(text))


def test_names_from_a_file_reach_the_terminal_without_control_characters(
        runner: CliRunner, tmp_path: Path) -> None:
    """A scenario someone else wrote, with escape sequences in its names and file name."""
    data = {"scenario": {**minimal()["scenario"], "name": "demo\x1b[2J\rmine"},
            "sources": {"web\x1b[31m": {"rate": "60/w", "to": "work\x07"}},
            "pools": {"staff\x1b[1A": {"headcount": 1}},
            "stages": {"work\x07": {"pool": "staff\x1b[1A", "work": "1 h",
                                      "routes": {"won": 1.0}}}}
    path = write_toml(tmp_path / "demo\x1b[31m.toml", data)
    outputs = []
    for args in (["validate", str(path)], ["run", str(path), "-n", "2", "-j", "1"],
                 ["validate", str(path), "--set", "pools.nobody.headcount=1"]):
        result = runner.invoke(main, args)
        outputs.append(result.stdout + result.stderr)
    # names may not hold control characters: refused, naming the file (printed without its
    # escape sequence written out) and each field
    for text in outputs:
        assert "demo\\x1b[31m.toml" in text and "control character" in text, text
        assert "pools.staff" in text and "stages.work" in text, text
    for text in outputs:
        assert not CONTROL.search(text), repr(text)


WINDOW_COMMANDS = [["run"], ["compare", "--set", "pools.staff.headcount=2"], ["bottlenecks"],
                   ["sweep", "--param", "pools.staff.headcount=1:2", "-o", "{out}"],
                   ["optimize", "--objective", "won", "--param", "pools.staff.headcount=1:2",
                    "-o", "{out}"]]


@pytest.mark.parametrize("command", WINDOW_COMMANDS, ids=lambda c: c[0])
@pytest.mark.parametrize(("window", "flag"), [
    (["--horizon", "0 h", "--warmup", "auto"], "--horizon"),
    (["--horizon", "0 h"], "--horizon"),
    (["--horizon", "-2 w"], "--horizon"),
    (["--horizon", "2 w", "--warmup", "2 w"], "--warmup"),
    (["--horizon", "2 w", "--warmup", "3 w"], "--warmup"),
], ids=["zero-auto", "zero", "negative", "warmup-equal", "warmup-longer"])
def test_a_window_that_cannot_run_is_a_clean_error(runner: CliRunner, small: Path,
                                                   tmp_path: Path, command: list[str],
                                                   window: list[str], flag: str) -> None:
    if command[0] in ("sweep", "optimize") and "auto" in window:
        window = window[:2]  # a sweep has no automatic warm-up (refused as any bad duration)
    out = tmp_path / "out"
    args = [command[0], str(small), *command[1:], *window, "-n", "2", "-j", "1"]
    result = runner.invoke(main, [a.format(out=out) for a in args])
    assert_clean_failure(result)
    assert flag in result.stderr, result.stderr
    assert 'e.g. "' in result.stderr or "shorten the warm-up" in result.stderr  # the fix
    assert result.stdout == "" and not out.exists()  # nothing ran


@pytest.mark.parametrize("method", ["run", "bottlenecks", "compare"])
def test_the_api_refuses_a_window_that_cannot_run_before_any_work(
        small: Path, monkeypatch: pytest.MonkeyPatch, method: str) -> None:
    def no_executor(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("an executor was opened for a window that cannot run")

    monkeypatch.setattr(revsim.api, "open_executor", no_executor)
    sc = revsim.load(small)
    call = getattr(sc, method)
    args = ({"pools.staff.headcount": 2},) if method == "compare" else ()
    with pytest.raises(revsim.ScenarioError, match="horizon: must be positive"):
        call(*args, horizon="0 h", warmup="auto", progress=False)
    with pytest.raises(revsim.ScenarioError, match="warmup: 2 w is not shorter"):
        call(*args, horizon="2 w", warmup="2 w", progress=False)


# -- validate -------------------------------------------------------------------------------------


def test_validate_ok(runner: CliRunner, small: Path) -> None:
    result = runner.invoke(main, ["validate", str(small)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"{small}: ok (1 sources, 1 pools, 1 stages)"


def test_validate_failure_one_line_per_problem(runner: CliRunner, broken: Path) -> None:
    result = runner.invoke(main, ["validate", str(broken)])
    assert_clean_failure(result)
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 3, result.stderr
    assert {ln.split(": ")[2] for ln in errors} == {
        "pools.staff.headcount", "stages.work.pool", "stages.work.routes"}
    assert all(ln.startswith(f"error: {broken}: ") for ln in errors)
    assert result.stdout == ""


def test_validate_several_files(runner: CliRunner, small: Path, broken: Path) -> None:
    result = runner.invoke(main, ["validate", str(small), str(broken)])
    assert_clean_failure(result)
    assert f"{small}: ok" in result.stdout
    assert "1 of 2 files invalid" in result.stderr


def test_validate_invalid_toml(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "syntax.toml"
    path.write_text("[scenario\nstart = 2027-01-04\n", encoding="utf-8")
    result = runner.invoke(main, ["validate", str(path)])
    assert_clean_failure(result)
    assert f"error: {path}: invalid TOML" in result.stderr


def test_validate_with_override(runner: CliRunner, small: Path) -> None:
    result = runner.invoke(main, ["validate", str(small), "--set",
                                  "stages.work.routes={ won = 0.5 }"])
    assert_clean_failure(result)
    assert "stages.work.routes" in result.stderr
    result = runner.invoke(main, ["validate", str(small), "--set", "pools.staff.headcount=2"])
    assert result.exit_code == 0, result.output


# -- schema ---------------------------------------------------------------------------------------


def test_schema_is_json_with_the_scenario_sections(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["schema"])
    assert result.exit_code == 0, result.output
    schema = json.loads(result.stdout)
    props = schema["properties"]
    for section in ("scenario", "calendars", "segments", "sources", "pools", "stages",
                    "nurture"):
        assert section in props
    assert {"scenario", "sources", "stages"} <= set(schema["required"])
    assert schema["additionalProperties"] is False
    target = tmp_path / "schema.json"
    result = runner.invoke(main, ["schema", "-o", str(target)])
    assert result.exit_code == 0
    assert json.loads(target.read_text()) == schema


def test_version(runner: CliRunner) -> None:
    result = runner.invoke(main, ["--version"])
    assert result.exit_code == 0 and revsim.__version__ in result.output
    engine = "compiled" if revsim.engine.COMPILED else "interpreted"
    assert f"({engine} engine)" in result.output


# -- the installed console script -----------------------------------------------------------------


def _console_script() -> str:
    candidate = Path(sys.executable).parent / "revsim"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("revsim")
    if found is None:
        pytest.skip("the revsim console script is not installed")
    return found


def test_console_script_run(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = subprocess.run(
        [_console_script(), "run", str(SAAS.relative_to(REPO)), "-n", "2", "--horizon", "30 w",
         "--warmup", "4 w", "-q", "-o", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    for name in ("summary.csv", "kpis.csv", "series.csv", "manifest.json", "scenario.toml"):
        assert (out / name).is_file(), name
    assert list(pd.read_csv(out / "summary.csv").columns) == SUMMARY_COLUMNS
    kpis = pd.read_csv(out / "kpis.csv", keep_default_na=False)
    assert list(kpis.columns) == KPI_COLUMNS
    assert set(kpis.n) == {2}
    manifest = json.loads((out / "manifest.json").read_text())
    assert MANIFEST_KEYS <= set(manifest)
    assert manifest["replications"] == 2 and manifest["seed"] == 1
    assert manifest["horizon_hours"] == 30 * 168 and manifest["warmup_hours"] == 4 * 168
    assert manifest["scenario_hash"] == revsim.load(SAAS).hash
    assert (out / "scenario.toml").read_text() == SAAS.read_text()


def test_console_script_bad_input(tmp_path: Path) -> None:
    proc = subprocess.run([_console_script(), "validate", str(tmp_path / "missing.toml")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "not found" in proc.stderr


@pytest.mark.parametrize("option", ["-o", "--plots", "--event-log"])
def test_an_output_under_a_file_fails_before_the_run(runner: CliRunner, small: Path,
                                                     tmp_path: Path, option: str) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    target = blocker / "sub" / ("log.csv" if option == "--event-log" else "out")
    result = runner.invoke(main, ["run", str(small), "-n", "1", "-q", option, str(target)])
    assert_clean_failure(result)
    assert option in result.stderr and "is a file" in result.stderr
    assert "replication" not in result.stderr  # nothing ran
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file", small.name]


OUTPUT_OPTIONS = {"out", "output", "event_log", "plots", "report_dir"}


def test_every_output_option_is_checked_before_the_run() -> None:
    """Every option a command writes to is an OutputPath (one check for all of them)."""
    found = []
    for name, lazy in COMMANDS.items():
        command = import_command(name, lazy)
        for param in command.params:
            if isinstance(param, click.Option) and param.name in OUTPUT_OPTIONS:
                assert isinstance(param.type, OutputPath), (name, param.name)
                found.append((name, param.name))
    assert {("run", "event_log"), ("schema", "output"), ("fit", "report_dir"),
            ("sweep", "out"), ("report", "output"), ("backtest", "out")} <= set(found)


def test_outputs_in_missing_folders_are_created(runner: CliRunner, small: Path,
                                                 tmp_path: Path) -> None:
    log, out = tmp_path / "new" / "logs" / "events.csv", tmp_path / "new" / "runs" / "base"
    result = runner.invoke(main, ["run", str(small), "-n", "1", "-q", "--event-log", str(log),
                                  "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert log.is_file() and (out / "kpis.csv").is_file()
    schema = tmp_path / "a" / "b" / "schema.json"
    result = runner.invoke(main, ["schema", "-o", str(schema)])
    assert result.exit_code == 0, result.output
    assert json.loads(schema.read_text())


@pytest.mark.parametrize("args", [
    ["run", "s.toml", "-o", "{dest}"],
    ["run", "s.toml", "--event-log", "{dest}/log.csv"],
    ["run", "s.toml", "--plots", "{dest}"],
    ["compare", "s.toml", "--set", "pools.staff.headcount=2", "-o", "{dest}"],
    ["bottlenecks", "s.toml", "-o", "{dest}"],
    ["sweep", "s.toml", "--param", "pools.staff.headcount=1:2", "-o", "{dest}"],
    ["optimize", "s.toml", "--objective", "won", "-o", "{dest}"],
    ["fit", "log.csv", "-o", "{dest}/fitted.toml"],
    ["fit", "log.csv", "-o", "fitted.toml", "--report", "{dest}"],
    ["backtest", "s.toml", "log.csv", "-o", "{dest}/table.csv"],
    ["schema", "-o", "{dest}/schema.json"],
    ["report", "results", "-o", "{dest}/report.html"],
    ["report", "{dest}"],  # the default output, RESULTS_DIR/report.html
])
def test_an_unwritable_output_fails_before_anything_runs(runner: CliRunner, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         args: list[str]) -> None:
    """A place that cannot be written (a read-only folder: the probe file is refused) ends
    the command at once with exit 2, naming the option's folder; nothing is read or run
    (the scenario and log named here do not even exist).

    Root may write anywhere, so a read-only folder is simulated: the probe is refused there."""
    dest = tmp_path / "read-only"
    dest.mkdir()

    def refuse_in_dest(*args: Any, dir: Path, **kwargs: Any) -> Any:
        if Path(dir) == dest:
            raise PermissionError(13, "Permission denied")
        return tempfile.mkstemp(*args, dir=dir, **kwargs)

    monkeypatch.setattr(output, "tempfile", SimpleNamespace(mkstemp=refuse_in_dest))
    result = runner.invoke(main, [a.format(dest=dest) for a in args])
    assert_clean_failure(result)
    assert f"cannot write in '{dest}' (Permission denied)" in result.stderr
    assert "not found" not in result.stderr  # failed before the inputs were read


def test_an_output_folder_is_not_created_when_the_scenario_is_bad(runner: CliRunner,
                                                                   broken: Path,
                                                                   tmp_path: Path) -> None:
    out = tmp_path / "new" / "out"
    result = runner.invoke(main, ["run", str(broken), "-o", str(out)])
    assert_clean_failure(result)
    assert not (tmp_path / "new").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".revsim-probe")]


def test_a_failed_write_after_the_run_is_a_clean_error(runner: CliRunner, small: Path,
                                                       tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    def disk_full(self, out, **kwargs):  # what to_dir meets when the disk fills up
        raise OSError(28, "No space left on device", str(Path(out) / "summary.csv"))

    monkeypatch.setattr(revsim.RunResult, "to_dir", disk_full)
    result = runner.invoke(main, ["run", str(small), "-n", "1", "-q", "-o",
                                  str(tmp_path / "out")])
    assert_clean_failure(result, code=1)
    assert "No space left on device" in result.stderr and "summary.csv" in result.stderr


def test_every_command_writes_with_dash_o_and_out() -> None:
    """-o is --out in every command (--output is accepted too where it was the name)."""
    ctx = click.Context(main)
    seen = []
    for name in main.list_commands(ctx):
        command = main.get_command(ctx, name)
        assert command is not None
        for param in command.params:
            if "-o" in getattr(param, "opts", []):
                seen.append(name)
                assert "--out" in param.opts, f"revsim {name}: -o is {param.opts}"
    assert {"run", "fit", "state", "forecast", "report"} <= set(seen)
