"""CSV exports against spreadsheet formula injection: text a spreadsheet would run as a formula
(= + - @, tab, CR first) is written with a leading quote, numbers never; ``--raw-csv`` (or
``revsim.raw_csv()``) writes the cells as they are; revsim reads its own files back exactly."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import minimal, write_toml

import revsim
from revsim.calibrate.fit_log import read_log
from revsim.cli import main
from revsim.io import guard_formulas, unguard_formulas, write_csv

RISKY = re.compile(r"^[=+\-@\t\r]")
NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")


def test_text_that_would_run_is_quoted_and_numbers_are_not() -> None:
    frame = pd.DataFrame({
        "text": ["=1+1", "+1 sdr", "-2+3", "@SUM(A1)", "\tx", "\r=x", "-5", "1e-3", "plain",
                 None],
        "number": [-1.5, -2.0, 0.0, 1.0, -3.25, 4.0, 5.0, -6.0, 7.0, 8.0],
        "label": pd.Categorical(["-work", "ok"] * 5),
    })
    guarded = guard_formulas(frame)
    assert guarded["text"].tolist() == ["'=1+1", "'+1 sdr", "'-2+3", "'@SUM(A1)", "'\tx",
                                        "'\r=x", "-5", "1e-3", "plain", None]
    assert guarded["number"].equals(frame["number"])
    assert guarded["label"].tolist() == ["'-work", "ok"] * 5
    assert frame["text"].iloc[0] == "=1+1"  # the caller's frame is left alone


@pytest.mark.parametrize("cell", ["=x", "'=x", "''@x", "'plain", "-", "'", "x=1", "-5"])
def test_reading_back_restores_every_cell(cell: str) -> None:
    guarded = guard_formulas(pd.DataFrame({"c": [cell]}))["c"]
    assert not RISKY.match(guarded[0]) or NUMBER.match(guarded[0])
    assert unguard_formulas(guarded).tolist() == [cell]


def test_write_csv_guards_unless_raw(tmp_path: Path) -> None:
    frame = pd.DataFrame({"name": ["=cmd|' /C calc'!A0"], "value": [-1.0]})
    guarded = pd.read_csv(write_csv(frame, tmp_path / "g.csv"), dtype=str)
    assert guarded["name"][0] == "'=cmd|' /C calc'!A0" and guarded["value"][0] == "-1"
    with revsim.raw_csv():
        raw = pd.read_csv(write_csv(frame, tmp_path / "r.csv"), dtype=str)
    assert raw["name"][0] == "=cmd|' /C calc'!A0"
    again = pd.read_csv(write_csv(frame, tmp_path / "g2.csv"), dtype=str)  # only in the block
    assert again["name"][0].startswith("'")


def risky_names(tmp_path: Path) -> Path:
    """A scenario whose names a spreadsheet would run: a source, a pool and a stage."""
    data = minimal()
    data["sources"] = {"+lead": {"rate": "60/w", "to": "-work"}}
    data["pools"] = {"@staff": {"headcount": 1}}
    data["stages"] = {"-work": {"pool": "@staff", "work": {"dist": "exponential", "mean": "1 h"},
                                "routes": {"won": 0.5, "lost": 0.5}}}
    return write_toml(tmp_path / "risky.toml", data)


def text_cells(folder: Path) -> dict[str, list[str]]:
    """Every cell of every CSV in ``folder`` that is not a number, by file."""
    cells = {}
    for path in sorted(folder.glob("*.csv")):
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
        values = table.to_numpy().ravel().tolist()
        cells[path.name] = [v for v in values if v and not NUMBER.match(v)]
    return cells


def test_every_csv_revsim_writes_is_safe_to_open(tmp_path: Path) -> None:
    scenario, out = risky_names(tmp_path), tmp_path / "out"
    runner = CliRunner()
    for args in (["run", str(scenario), "--records", "--event-log", str(out / "events.csv")],
                 ["bottlenecks", str(scenario)],
                 ["compare", str(scenario), "--hire", "@staff=1"]):
        result = runner.invoke(main, [*args, "-n", "2", "-j", "1", "-q" if args[0] == "run"
                                      else "--no-progress", "-o", str(out)])
        assert result.exit_code == 0, result.output
    cells = text_cells(out)
    assert {"kpis.csv", "events.csv", "visits.csv", "marginal_values.csv",
            "comparison.csv"} <= set(cells)
    for name, values in cells.items():
        assert not [v for v in values if RISKY.match(v)], name
    assert "'-work" in cells["kpis.csv"] and "'@staff" in cells["kpis.csv"]
    assert "'+1 @staff" in cells["marginal_values.csv"]
    # numbers stay numbers, negative ones included
    marginal = pd.read_csv(out / "marginal_values.csv")
    assert pd.api.types.is_float_dtype(marginal["diff"]) and (marginal["ci_low"] < 0).any()
    # revsim reads its own files as they were: the report names the pool, unquoted
    result = runner.invoke(main, ["report", str(out)])
    assert result.exit_code == 0, result.output
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "@staff" in html and "&#x27;@staff" not in html and "'@staff" not in html


def test_raw_csv_writes_the_cells_as_they_are(tmp_path: Path) -> None:
    scenario, out = risky_names(tmp_path), tmp_path / "raw"
    result = CliRunner().invoke(main, ["run", str(scenario), "-n", "1", "-q", "--raw-csv",
                                       "-o", str(out)])
    assert result.exit_code == 0, result.output
    kpis = pd.read_csv(out / "kpis.csv", dtype=str, keep_default_na=False)
    assert {"-work", "@staff", "+lead"} <= set(kpis["name"])


def test_a_sweep_csv_is_guarded_too(tmp_path: Path) -> None:
    scenario, out = risky_names(tmp_path), tmp_path / "sweep"
    result = CliRunner().invoke(main, ["sweep", str(scenario), "--param",
                                       "pools.@staff.headcount=1:2", "-n", "2", "-j", "1",
                                       "--csv", "--no-progress", "-o", str(out)])
    assert result.exit_code == 0, result.output
    summary = pd.read_csv(out / "summary.csv", dtype=str, keep_default_na=False)
    assert "'@staff" in set(summary["name"]) and "@staff" not in set(summary["name"])
    assert np.isfinite(pd.to_numeric(summary["mean"], errors="coerce")).any()


def test_a_simulated_event_log_reads_back_as_it_was(tmp_path: Path) -> None:
    result = revsim.load(risky_names(tmp_path)).run(replications=1, records=True,
                                                     progress=False)
    path = result.write_event_log(tmp_path / "events.csv")
    assert "'+lead" in path.read_text(encoding="utf-8")
    events = read_log(path).events
    assert set(events["source"]) == {"+lead"}
    assert "stage:-work" in set(events["activity"])
    assert {r.split("-")[0] for r in events["resource"].dropna()} == {"@staff"}
