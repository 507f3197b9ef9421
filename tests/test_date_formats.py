"""Dates that are not ISO 8601: the day/month order is given (--date-format, or the mapping's
[dates] format), never guessed; a column written two ways is an error naming its rows."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from revsim.calibrate import LogError, load_mapping
from revsim.calibrate.fit_log import FitInputError, read_log
from revsim.cli import main

LOG = ("case_id,activity,timestamp\n"
       "O1,opportunity_created,{a}\n"
       "O1,closed_won,{b}\n"
       "O2,opportunity_created,{c}\n")


def write(tmp_path: Path, a: str, b: str, c: str) -> Path:
    path = tmp_path / "log.csv"
    path.write_text(LOG.format(a=a, b=b, c=c), encoding="utf-8")
    return path


def times(path: Path, **kwargs: object) -> list[str]:
    log = read_log(path, **kwargs)  # type: ignore[arg-type]
    return [f"{t:%Y-%m-%d %H:%M}" for t in log.events.sort_values("timestamp")["timestamp"]]


def lines(path: Path, **kwargs: object) -> list[str]:
    with pytest.raises((LogError, FitInputError)) as info:
        read_log(path, **kwargs)  # type: ignore[arg-type]
    return info.value.lines()


def test_day_first_and_month_first_read_the_same_text_two_ways(tmp_path: Path) -> None:
    path = write(tmp_path, "1/2/2013", "3/4/2013", "2/2/2013")
    assert times(path, date_format="day-first") == [
        "2013-02-01 00:00", "2013-02-02 00:00", "2013-04-03 00:00"]
    assert times(path, date_format="month-first") == [
        "2013-01-02 00:00", "2013-02-02 00:00", "2013-03-04 00:00"]


def test_a_strftime_pattern(tmp_path: Path) -> None:
    path = write(tmp_path, "01.02.2013 09:30", "15.03.2013 17:05", "02.02.2013 08:00")
    assert times(path, date_format="%d.%m.%Y %H:%M") == [
        "2013-02-01 09:30", "2013-02-02 08:00", "2013-03-15 17:05"]


def test_without_a_format_numeric_dates_are_an_error_that_says_what_to_give(
        tmp_path: Path) -> None:
    (line,) = lines(write(tmp_path, "1/2/2013", "3/4/2013", "2/2/2013"))
    assert 'timestamp: rows 2, 3, 4: a date that is not ISO 8601: "1/2/2013"' in line
    assert "pass --date-format day-first or month-first" in line
    assert '[dates] format = "day-first"' in line
    (line,) = lines(write(tmp_path, "13/2/2013", "20/4/2013", "2/2/2013"))
    assert "with a first number over 12, are day first" in line
    (line,) = lines(write(tmp_path, "2/13/2013", "4/20/2013", "2/2/2013"))
    assert "with a second number over 12, are month first" in line
    (line,) = lines(write(tmp_path, "13/2/2013", "4/20/2013", "2/2/2013"))
    assert "mixes day-first and month-first dates" in line


def test_a_column_written_two_ways_names_the_rows_that_differ(tmp_path: Path) -> None:
    path = write(tmp_path, "1/2/2013", "2013-03-04", "2/2/2013 10:00")
    (line,) = lines(path, date_format="day-first")
    assert line.endswith('timestamp: rows 3, 4: not written like the column\'s first value '
                         '(1/2/2013) in the date format day-first: "2013-03-04" (and "2/2/2013 '
                         '10:00"); write every date of the column the same way, or give the '
                         'format that fits them all (--date-format)')


@pytest.mark.parametrize("bad", ["dd/mm/yyyy", "", "day first"])
def test_a_bad_format_is_named(tmp_path: Path, bad: str) -> None:
    path = write(tmp_path, "1/2/2013", "3/4/2013", "2/2/2013")
    (line,) = lines(path, date_format=bad)
    assert "--date-format" in line and "give day-first, month-first, iso" in line


def test_the_mapping_gives_the_format_and_the_flag_overrides_it(tmp_path: Path) -> None:
    path = write(tmp_path, "1/2/2013", "3/4/2013", "2/2/2013")
    mapping = tmp_path / "map.toml"
    mapping.write_text('[dates]\nformat = "month-first"\n', encoding="utf-8")
    assert load_mapping(mapping).date_format == "month-first"
    assert times(path, mapping=mapping)[0] == "2013-01-02 00:00"
    assert times(path, mapping=mapping, date_format="day-first")[0] == "2013-02-01 00:00"
    mapping.write_text('[dates]\nformat = "yy"\nfirst = 1\n', encoding="utf-8")
    with pytest.raises(LogError) as info:
        load_mapping(mapping)
    text = "\n".join(info.value.lines())
    assert 'dates.format: "yy" is not a date format' in text
    assert "dates.first: unknown key" in text


def test_due_dates_follow_the_same_format(tmp_path: Path) -> None:
    path = tmp_path / "inv.csv"
    path.write_text("case_id,activity,timestamp,object_type,amount,due_date\n"
                    "I1,invoice_issued,1/2/2013,invoice,100,3/3/2013\n"
                    "I1,invoice_paid,20/2/2013,invoice,100,\n", encoding="utf-8")
    log = read_log(path, date_format="day-first")
    due = log.events["due_date"].dropna()
    assert list(due) == [pd.Timestamp("2013-03-03", tz="UTC")]


def test_the_commands_take_the_flag(tmp_path: Path) -> None:
    path = write(tmp_path, "1/2/2013", "3/4/2013", "2/2/2013")
    out = tmp_path / "fitted.toml"
    runner = CliRunner()
    result = runner.invoke(main, ["fit", str(path), "--date-format", "day-first", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "2013-02-01" in result.stderr
    result = runner.invoke(main, ["state", str(path), "--date-format", "day-first", "--as-of",
                                  "2013-04-03", "--scenario", str(out), "-o",
                                  str(tmp_path / "state")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["fit", str(path), "-o", str(tmp_path / "x.toml")])
    assert result.exit_code == 2
    assert "pass --date-format day-first or month-first" in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "x.toml").exists()
