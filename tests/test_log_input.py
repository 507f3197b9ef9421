"""Bad input in event logs, mapping files and exports, checked at the level of exact messages and
counts (tests/test_fuzz_logs.py runs the broad corpus).

What ``revsim fit`` writes into TOML cannot inject tables; every row a fit leaves out is counted
by reason, exactly, in the terminal, the summary and the scenario file; undecodable files say
which byte and line and what to do; far-off dates name the column, row and value; library
warnings are one line.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import revsim
from revsim.calibrate import LogError, read_event_log
from revsim.calibrate.fit_log import FitInputError, fit, read_log
from revsim.calibrate.input_warnings import collected_warnings
from revsim.calibrate.text_input import InputWarning, shown
from revsim.cli import main

EVIL = "\n[pools.evil]\nheadcount = 99"


def opportunities(n: int = 6, *, stage: str = "stage:demo", extra: str = "") -> str:
    """A small valid log of n opportunities (demo, then won or lost), as CSV text."""
    rows = [f"case_id,activity,timestamp{',' + extra.split('=')[0] if extra else ''}"]
    value = f",{extra.split('=', 1)[1]}" if extra else ""
    for i in range(n):
        day = 2 + 3 * i
        outcome = "closed_won" if i % 2 else "closed_lost"
        rows += [f"O{i},opportunity_created,2024-01-{day:02d}T09:00:00Z{value}",
                 f'O{i},"{stage}",2024-01-{day + 1:02d}T10:00:00Z{value}',
                 f"O{i},{outcome},2024-02-{day:02d}T15:00:00Z{value}"]
    return "\n".join(rows) + "\n"


def invoke(*args: str) -> object:
    return CliRunner().invoke(main, list(args))


# -- what fit writes into TOML --------------------------------------------------------------------

def test_a_label_holding_a_table_header_stays_data(tmp_path: Path) -> None:
    log = tmp_path / "log.csv"
    log.write_text(opportunities(stage=f"stage:demo{EVIL}", extra=f'source="web{EVIL}"'),
                   encoding="utf-8")
    out = tmp_path / "fitted.toml"
    result = invoke("fit", str(log), "-o", str(out), "--name", f"Pipeline{EVIL}")
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "[pools.evil]" not in text.splitlines()
    scenario = revsim.loads(text)
    assert "evil" not in scenario.raw.get("pools", {})
    assert scenario.raw["scenario"]["name"] == f"Pipeline{EVIL}"
    events = [spec.get("event") for spec in scenario.raw["stages"].values()]
    assert f"stage:demo{EVIL}" in events  # the label, kept whole as the stage's event name


def test_a_file_name_holding_a_table_header_stays_data(tmp_path: Path) -> None:
    log = tmp_path / f"log{EVIL}.csv"
    log.write_text(opportunities(), encoding="utf-8")
    out = tmp_path / "fitted.toml"
    result = invoke("fit", str(log), "-o", str(out))
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    scenario = revsim.loads(text)
    assert "evil" not in scenario.raw.get("pools", {})
    # the file name alone: a path would tie the scenario to the machine that fitted it
    assert log.name in scenario.raw["scenario"]["description"]
    assert str(tmp_path) not in text
    assert [line for line in text.splitlines() if line.startswith("# log: ")] == [
        "# log: log\\n[pools.evil]\\nheadcount = 99.csv; as of "
        "2024-02-17 15:00:00+00:00; 6 cases, 18 events."]


def test_control_characters_and_undecodable_names_are_escaped(tmp_path: Path) -> None:
    log = tmp_path / "log.csv"
    log.write_text(opportunities(stage="stage:a\x7fb\x01c"), encoding="utf-8")
    fitted = fit(log, name="x\x7fy\udcffz", progress=False)
    scenario = revsim.loads(fitted.to_toml())
    # a lone surrogate has no TOML form, and a scenario holds no control characters: both are
    # replaced, so the written scenario loads
    assert scenario.raw["scenario"]["name"] == "x\ufffdy\ufffdz"
    assert "stage:a\ufffdb\ufffdc" in [s.get("event") for s in scenario.raw["stages"].values()]
    comments = [line for line in fitted.to_toml().splitlines() if line.startswith("#")]
    assert not any(ch in line for line in comments for ch in "\x7f\x01\udcff")


# -- rows left out, counted exactly ---------------------------------------------------------------

CRAFTED = """\
case_id,activity,timestamp,amount,due_date,lifecycle
O1,opportunity_created,2024-01-02T09:00:00Z,1000,,
O1,stage:demo,2024-01-03T09:00:00Z,1000,,start
O1,stage:demo,2024-01-03T11:00:00Z,1000,,complete
O1,closed_won,2024-01-20T09:00:00Z,-500,,
O2,opportunity_created,2024-01-04T09:00:00Z,0,,
O2,stage:demo,2024-01-05T09:00:00Z,0,,start
O2,stage:demo,2024-01-05T12:00:00Z,0,,
O2,closed_won,2024-01-25T09:00:00Z,0,,

O3,opportunity_created,2024-01-06T09:00:00Z,2000,,
O3,stage:demo,2024-01-07T09:00:00Z,2000,,
O3,closed_won,2024-01-28T09:00:00Z,2000,,
O4,opportunity_created,2024-01-08T09:00:00Z,,,
O4,stage:demo,2024-01-09T09:00:00Z,,,
O4,closed_won,2024-01-30T09:00:00Z,,,
O5,opportunity_created,2024-01-10T09:00:00Z,-100,,
O5,closed_lost,2024-01-31T09:00:00Z,-100,,
L1,lead_created,2024-01-03T09:00:00Z,,,
L1,disqualified,2024-01-04T09:00:00Z,,,
L2,lead_created,2024-01-05T09:00:00Z,,,

I1,invoice_issued,2024-01-21T00:00:00Z,500,2024-02-20T00:00:00Z,
I1,invoice_paid,2024-02-10T00:00:00Z,500,,
I2,invoice_issued,2024-01-26T00:00:00Z,300,,
I3,invoice_issued,2024-01-29T00:00:00Z,200,,
I3,invoice_issued,2024-02-05T00:00:00Z,200,,
L9,lead_created,2024-03-05T09:00:00Z,,,
"""

EXCLUDED = {
    "events with a lifecycle other than complete (e.g. start) whose activity also completes in "
    "the case (the completion is used)": 2,
    "won deals with an amount of 0 or less (left out of the deal values)": 2,
    "won deals without an amount (left out of the deal values)": 1,
    "journeys without a stage event, e.g. a lead created then disqualified before mql (not in "
    "the arrivals or routes)": 2,
    "repeated invoice_issued events of one invoice (the first time it was issued is used)": 1,
    "issued invoices without a due date (left out of the terms and payment behaviour)": 2,
}


def test_every_row_left_out_is_counted_by_reason(tmp_path: Path) -> None:
    log = tmp_path / "crafted.csv"
    log.write_text(CRAFTED, encoding="utf-8")
    out, report = tmp_path / "fitted.toml", tmp_path / "report"
    result = invoke("fit", str(log), "--as-of", "2024-03-01T00:00:00Z", "-o", str(out),
                    "--report", str(report))
    assert result.exit_code == 0, result.output
    fitted = fit(log, as_of="2024-03-01T00:00:00Z", progress=False)
    assert fitted.log.skipped == {"blank line": 2, "after as-of": 1}
    assert fitted.excluded == EXCLUDED
    line = "excluded from the fit: " + "; ".join(f"{why}: {n}" for why, n in EXCLUDED.items())
    assert f"  {line}\n" in result.stderr
    assert "skipped rows: 2 blank line, 1 after as-of" in result.stderr
    # summary.md lists the reasons one to an item, wrapped like the rest of its prose
    summary = (report / "summary.md").read_text(encoding="utf-8")
    assert "\n- excluded from the fit:\n  - " in summary
    assert all(f"- {why}: {n}" in " ".join(summary.split()) for why, n in EXCLUDED.items())
    assert f"# {line}\n" in out.read_text(encoding="utf-8")


def test_a_clean_log_says_nothing_was_left_out(tmp_path: Path) -> None:
    log = tmp_path / "log.csv"
    log.write_text(opportunities(), encoding="utf-8")
    result = invoke("fit", str(log), "-o", str(tmp_path / "fitted.toml"))
    assert "  excluded from the fit: none\n" in result.stderr
    assert "excluded from the fit" not in (tmp_path / "fitted.toml").read_text(encoding="utf-8")


# -- encodings ------------------------------------------------------------------------------------

def test_a_latin1_file_names_the_byte_the_line_and_the_fix(tmp_path: Path) -> None:
    data = opportunities(stage="stage:démo").encode("latin-1")
    path = tmp_path / "latin.csv"
    path.write_bytes(data)
    offset = data.index(b"\xe9")
    line_start = data.rindex(b"\n", 0, offset) + 1
    with pytest.raises(LogError) as caught:
        read_log(path)
    (line,) = caught.value.lines()
    assert line == (f"{path}: not UTF-8 text: byte {offset} (line 3, column "
                    f"{offset - line_start + 1}) is 0xe9; it looks like Windows-1252 (what Excel "
                    'writes as plain "CSV"); save the file as CSV UTF-8 or give its encoding '
                    "(--encoding cp1252)")
    log = read_log(path, encoding="cp1252")
    assert "stage:démo" in set(log.events["activity"])


def test_a_utf16_file_with_its_mark_is_read_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "utf16.csv"
    path.write_bytes(opportunities().encode("utf-16"))
    log = read_log(path)
    assert log.n_cases == 6
    assert log.warnings == [f"{path}: read as UTF-16 (the file starts with its byte-order mark); "
                            "revsim expects UTF-8: save it as CSV UTF-8"]


def test_an_unknown_encoding_names_the_option_and_the_file(tmp_path: Path) -> None:
    with pytest.raises(FitInputError) as caught:
        read_log(tmp_path / "log.csv", encoding="klingon")
    assert caught.value.lines() == [f'{tmp_path / "log.csv"}: --encoding: unknown text encoding '
                                    '"klingon"; use one such as utf-8, cp1252, latin-1 or utf-16']


def test_a_mapping_file_that_is_not_utf8(tmp_path: Path) -> None:
    mapping = tmp_path / "map.toml"
    mapping.write_bytes(b'[activities]\n"Gew\xfcnscht" = "closed_won"\n')
    with pytest.raises(LogError) as caught:
        read_log(tmp_path / "log.csv", mapping=mapping)
    (line,) = caught.value.lines()
    assert line.startswith(f"{mapping}: not UTF-8 text: byte 17 (line 2, column 5) is 0xfc")
    assert line.endswith("save the file as UTF-8 TOML")


# -- values ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("stamp", ["2999-01-01T00:00:00Z", "9999-12-31", "1700-06-01T12:00:00Z",
                                   "1969-12-31T23:59:59Z", "2150-01-01T00:00:00+02:00"])
def test_a_far_date_names_column_row_and_value(tmp_path: Path, stamp: str) -> None:
    text = opportunities().replace("2024-01-05T09:00:00Z", stamp)  # row 5: O1 created
    path = tmp_path / "log.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(LogError) as caught:
        read_event_log(path)
    assert caught.value.lines() == [
        f'{path}: timestamp: row 5: time outside the years 1970-2100: "{stamp}"; correct the '
        "value, or leave the cell blank where it stands for no date (a placeholder such as "
        "1900-01-01 or 9999-12-31)"]


def test_nul_characters_and_repeated_columns_name_the_column(tmp_path: Path) -> None:
    nul = tmp_path / "nul.csv"
    nul.write_text(opportunities().replace("O2,\"stage", "O\x002,\"stage"), encoding="utf-8")
    with pytest.raises(LogError) as caught:
        read_event_log(nul)
    assert caught.value.lines() == [
        f'{nul}: case_id: row 9: NUL character (\\x00) in the text: "O\\x002"; the file is '
        "damaged or partly binary: export it again, or delete the NUL characters"]
    twice = tmp_path / "twice.csv"
    twice.write_text("case_id,activity,timestamp,case_id\nO1,mql,2024-01-01,O1\n",
                     encoding="utf-8")
    with pytest.raises(LogError) as caught:
        read_event_log(twice)
    assert caught.value.lines() == [f"{twice}: case_id: column name appears 2 times in the "
                                    "header (columns 1, 4); rename or delete all but one"]


def test_messages_echo_little_of_a_long_value(tmp_path: Path) -> None:
    label = "Q" * 10_000
    path = tmp_path / "long.csv"
    path.write_text(f"case_id,activity,timestamp,{'c' * 5000}\nO1,{label},2024-01-01,x\n",
                    encoding="utf-8")
    with pytest.raises(LogError) as caught:
        read_event_log(path)
    (line,) = caught.value.lines()
    assert f'"{"Q" * 50}...(+9950 characters)"' in line
    assert "Q" * 51 not in line
    assert shown("a\nb\x1b[0m\u202e") == "a\\nb\\x1b[0m\\u202e"


def test_identical_times_are_an_error_one_case_a_warning(tmp_path: Path) -> None:
    same = tmp_path / "same.csv"
    same.write_text("case_id,activity,timestamp\n" + "".join(
        f"O{i},{a},2024-01-01T10:00:00Z\n" for i in range(3)
        for a in ("opportunity_created", "closed_won")), encoding="utf-8")
    with pytest.raises(LogError) as caught:
        fit(same, progress=False)
    assert "every event (6) is at the same time, 2024-01-01 10:00 UTC" in str(caught.value)
    one = tmp_path / "one.csv"
    one.write_text(opportunities(1), encoding="utf-8")
    fitted = fit(one, progress=False)
    assert [w for w in fitted.warnings if "one case" in w] == [
        f"{one.name}: the log has one case (O0), so every rate, duration and route fitted "
        "rests on it alone; fit a log of many cases before trusting the scenario"]
    assert f"# WARNING: {fitted.warnings[0]}" in fitted.to_toml()
    assert str(tmp_path) not in fitted.to_toml()  # the file's name, not where it lies


# -- warnings -------------------------------------------------------------------------------------

def test_library_warnings_are_summarised_in_one_line() -> None:
    with collected_warnings("reading x.csv") as lines:
        for _ in range(30):
            warnings.warn("Columns (3) have mixed types", pd.errors.DtypeWarning, stacklevel=1)
        warnings.warn("Could not infer format", UserWarning, stacklevel=1)
        warnings.warn(InputWarning("x.csv: read as UTF-16"), stacklevel=1)
        warnings.warn("old API", DeprecationWarning, stacklevel=1)
    assert lines == ["x.csv: read as UTF-16",
                     '31 warnings from the libraries while reading x.csv (pandas DtypeWarning x30, '
                     'UserWarning x1); the first: "Columns (3) have mixed types"']


def test_the_cli_prints_no_warning_dump(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import revsim.calibrate.log as log_module

    typed = log_module.typed_columns

    def noisy(*args: object, **kwargs: object) -> object:
        for _ in range(50):
            warnings.warn("Columns (2) have mixed types", pd.errors.DtypeWarning, stacklevel=2)
        return typed(*args, **kwargs)

    monkeypatch.setattr(log_module, "typed_columns", noisy)
    path = tmp_path / "log.csv"
    path.write_text(opportunities(), encoding="utf-8")
    result = invoke("fit", str(path), "-o", str(tmp_path / "fitted.toml"))
    assert result.exit_code == 0, result.output
    noted = [line for line in result.stderr.splitlines() if "DtypeWarning" in line]
    assert noted == [f"warning: 50 warnings from the libraries while reading {path} (pandas "
                     'DtypeWarning x50); the first: "Columns (2) have mixed types"']
