"""Raw tables as text, and problems that name their rows: shared by the log reader and the adapters.

``read_csv_text`` reads a CSV export as strings (decoded by revsim.calibrate.text_input, its
delimiter sniffed from the header; NUL characters and repeated column names are problems);
``parse_times`` and ``to_utc`` read ISO 8601 times to UTC, and every time must fall in the
years 1970-2100 (``time_range``); ``row_problem`` words a problem about some rows of one column
(spreadsheet numbering: the header is row 1) and ``LogError`` carries every problem of one file
at once.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import warnings
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from revsim.calibrate.date_formats import ISO, order_hint, order_unknown, parse_formatted
from revsim.calibrate.text_input import LogError, nul_lines, read_text, shown
from revsim.errors import Problem
from revsim.io import unguard_formulas

SHOW_ROWS = 5


SHOW_VALUES = 3


ISO_HINT = "write ISO 8601 such as 2017-03-01T09:30:00+00:00 (a date alone means midnight)"


EARLIEST = pd.Timestamp("1970-01-01", tz="UTC")
LATEST = pd.Timestamp("2101-01-01", tz="UTC")
RANGE_WHAT = "time outside the years 1970-2100:"
RANGE_HINT = ("correct the value, or leave the cell blank where it stands for no date (a "
              "placeholder such as 1900-01-01 or 9999-12-31)")
"""Every time read must fall in [EARLIEST, LATEST): a CRM or billing log from before 1970 or
after 2100 is a typo or a placeholder, and would stretch the fitted period over centuries."""


def rows_text(rows: Sequence[int] | np.ndarray) -> str:
    """``row 7`` or ``rows 2, 5, 9, 12, 40 (+17 more)`` (sorted, first five shown)."""
    ordered = np.sort(np.asarray(rows, dtype=np.int64))
    shown = ", ".join(str(int(r)) for r in ordered[:SHOW_ROWS])
    more = f" (+{len(ordered) - SHOW_ROWS} more)" if len(ordered) > SHOW_ROWS else ""
    return f"row{'s' if len(ordered) > 1 else ''} {shown}{more}"


def values_text(values: Iterable[Any]) -> str:
    """The distinct values, in order, quoted: ``"x"``, ``"x" (and "y", "z", +4 other values)``."""
    distinct = list(dict.fromkeys(shown(v) for v in values))
    first = f'"{distinct[0]}"' if distinct else '""'
    rest = [f'"{v}"' for v in distinct[1:SHOW_VALUES]]
    extra = len(distinct) - SHOW_VALUES
    if extra > 0:
        rest.append(f"+{extra} other value{'s' if extra > 1 else ''}")
    return f"{first} (and {', '.join(rest)})" if rest else first


def columns_text(columns: Sequence[object], budget: int = 200) -> str:
    """The header's column names for a message: as many as fit in ``budget`` characters (each
    shortened to 40), then how many more there are."""
    names = [shown(c, 40) for c in columns]
    shown_names: list[str] = []
    for name in names:
        if shown_names and sum(len(n) + 2 for n in shown_names) + len(name) > budget:
            break
        shown_names.append(name)
    more = f" (+{len(names) - len(shown_names)} more)" if len(names) > len(shown_names) else ""
    return (", ".join(shown_names) + more) or "none"


def row_problem(column: str, rows: np.ndarray, what: str, fix: str,
                values: Iterable[Any] | None = None) -> Problem:
    """A problem about some rows of one column: where, what (with the values) and the fix."""
    shown = f" {values_text(values)}" if values is not None else ""
    return Problem(column, f"{rows_text(rows)}: {what}{shown}; {fix}")


def parse_times(values: pd.Series, rows: np.ndarray, column: str,
                problems: list[Problem], date_format: str | None = None,
                settable: bool = False) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Parse ISO 8601 times (or ``date_format``'s: see revsim.calibrate.date_formats) to UTC;
    returns (times, naive mask, offset-aware mask).

    Values with an offset are converted to UTC; values without one are taken as UTC (the caller
    rejects a mix of the two); a date alone is midnight UTC and counts as neither. Blank values
    give NaT; unparseable ones, and times outside the years 1970-2100, give NaT and a problem.
    ``settable``: the reader takes a date format (an event log), so a problem with numeric
    dates says how to give one; elsewhere it asks for ISO 8601.
    """
    index = values.index
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        stamps = values.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")
        stamps = time_range(stamps, None, rows, column, problems)
        return stamps, pd.Series(False, index=index), stamps.notna()
    if pd.api.types.is_datetime64_dtype(values.dtype):
        stamps = values.dt.tz_localize("UTC").astype("datetime64[ns, UTC]")
        stamps = time_range(stamps, None, rows, column, problems)
        return stamps, stamps.notna(), pd.Series(False, index=index)
    text = values.astype(object)
    present = text.notna().to_numpy()
    formatted = date_format not in (None, ISO)
    if formatted:
        text = text.where(clean_text(text).notna())
        present = text.notna().to_numpy()
        stamps = parse_formatted(text, str(date_format))
    else:
        stamps = pd.Series(pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce"),
                           index=index).astype("datetime64[ns, UTC]")
    failed = present & stamps.isna().to_numpy()
    if failed.any() and not formatted:  # surrounding spaces, or text that is not a time at all
        text = text.copy()
        text[failed] = clean_text(text[failed])
        present = text.notna().to_numpy()
        stamps[failed] = pd.to_datetime(text[failed], format="ISO8601", utc=True, errors="coerce")
    bad = present & stamps.isna().to_numpy()
    far = np.zeros(len(text), dtype=bool)
    if bad.any() and formatted:
        first = text[present].iloc[0]
        problems.append(row_problem(
            column, rows[bad], f"not written like the column's first value ({shown(first)}) "
            f"in the date format {shown(date_format)}:", "write every date of the column the "
            "same way, or give the format that fits them all (--date-format)",
            text[bad].head(50)))
    elif bad.any():
        far[bad] = calendar_times(text[bad])
        bad &= ~far
        numeric = np.zeros(len(text), dtype=bool)
        numeric[bad] = order_unknown(text[bad])
        if numeric.any():
            problems.append(row_problem(column, rows[numeric], "a date that is not ISO 8601:",
                                        order_hint(text[numeric], settable),
                                        text[numeric].head(50)))
        bad &= ~numeric
        if bad.any():
            problems.append(row_problem(column, rows[bad], "unparseable time", ISO_HINT,
                                        text[bad].head(50)))
    stamps = time_range(stamps, text, rows, column, problems, also=far)
    ok = present & stamps.notna().to_numpy()
    if not ok.any():
        return stamps, pd.Series(False, index=index), pd.Series(False, index=index)
    known = text[ok].astype(str)
    offset = np.zeros(len(text), dtype=bool)
    offset[ok] = known.str.contains(_OFFSET, regex=True).to_numpy(dtype=bool)
    clock = np.zeros(len(text), dtype=bool)  # longer than YYYY-MM-DD: has a time of day
    clock[ok] = known.str.len().to_numpy() > 10
    naive = ok & clock & ~offset
    return stamps, pd.Series(naive, index=index), pd.Series(offset, index=index)


_OFFSET = r"^\s*.{10}[Tt ].*(?:[Zz]|[+-]\d\d(?::?\d\d)?)\s*$"


def calendar_times(text: pd.Series, formats: Sequence[str] | None = None) -> np.ndarray:
    """Which of these unparsed values are real times all the same (ISO 8601, or one of the
    strftime ``formats``): dates the calendar has but pandas' nanosecond clock cannot hold,
    such as 2999-01-01 or 1700-01-01. Called on the few values that failed to parse."""
    def is_time(value: object) -> bool:
        value = str(value).strip()
        if formats is None:
            try:
                dt.datetime.fromisoformat(value)
                return True
            except ValueError:
                return False
        for fmt in formats:
            try:
                dt.datetime.strptime(value, fmt)
                return True
            except ValueError:
                continue
        return False

    return np.fromiter((is_time(v) for v in text), dtype=bool, count=len(text))


def time_range(stamps: pd.Series, text: pd.Series | None, rows: np.ndarray, column: str,
               problems: list[Problem], also: np.ndarray | None = None) -> pd.Series:
    """``stamps`` with the times outside the years 1970-2100 (and the rows ``also`` flags:
    times too far out to parse) as NaT, all of them reported in one problem naming the values
    as written (``text``; the times themselves when None)."""
    far = (stamps.notna() & ((stamps < EARLIEST) | (stamps >= LATEST))).to_numpy()
    if also is not None:
        far = far | also
    if not far.any():
        return stamps
    written = text if text is not None else stamps.astype(str)
    problems.append(row_problem(column, rows[far], RANGE_WHAT, RANGE_HINT,
                                written[far].head(50)))
    return stamps.where(~far)


def to_utc(value: str | dt.date | dt.datetime | pd.Timestamp) -> pd.Timestamp:
    """One time as a UTC Timestamp (naive -> UTC); raises ValueError when unparseable or outside
    the years 1970-2100 (the message says which)."""
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError):
        if calendar_times(pd.Series([value], dtype=object))[0]:
            raise ValueError(f"{RANGE_WHAT} {shown(value)}") from None
        raise ValueError(f"not a time: {shown(value)}") from None
    if pd.isna(stamp):
        raise ValueError(f"not a time: {shown(value)}")
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    if not EARLIEST <= stamp < LATEST:
        raise ValueError(f"{RANGE_WHAT} {shown(value)}")
    return stamp


DELIMITERS = (",", ";", "\t", "|")
_SEPARATOR_NAMES = {",": "commas", ";": "semicolons", "\t": "tabs", "|": "pipes (|)"}


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n|$)")


def _delimiter(text: str) -> str:
    """The separator the header line uses most (spreadsheet exports in many locales write
    ``;``, some tools tabs); a comma when in doubt."""
    header = ""
    for match in _LINE.finditer(text):
        if match.group().strip():
            header = match.group()
            break
        if match.end() >= len(text):
            break
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])  # ties keep the earlier (the comma)
    return best if counts[best] > 0 else ","


def read_csv_text(path: str | Path, label: str, *, skip_blank_lines: bool = True,
                  encoding: str | None = None) -> pd.DataFrame:
    """A CSV file as strings (blank cells NaN), decoded as UTF-8 unless ``encoding`` says
    otherwise; raises ``LogError`` for a file that cannot be read, decoded or parsed, holds NUL
    characters or repeats a column name (every such problem of the file at once).

    A repeated column name is kept as it is (pandas would rename the second ``x`` to ``x.1``),
    so that whoever uses the column sees two of them.
    """
    text = read_text(path, label, encoding=encoding)
    if not text.strip():
        raise LogError([Problem("", "the file is empty; export it again with its header row")],
                       label)
    sep = _delimiter(text)
    try:
        header = next(_records(text.lstrip("\r\n"), sep), [])
    except csv.Error:  # a header cell over the csv module's size limit: no check of the names
        header = []
    problems = _nul_problems(text, sep, header) if "\x00" in text else []
    if problems:
        raise LogError(problems, label)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False,
                                na_values=[""], skip_blank_lines=skip_blank_lines,
                                index_col=False, sep=sep)
    except pd.errors.EmptyDataError:
        raise LogError([Problem("", "the file is empty; export it again with its header row")],
                       label) from None
    except (ValueError, pd.errors.ParserWarning) as err:  # pandas' ParserError is a ValueError
        raise LogError([_ragged(text, sep, header, err)], label) from None
    names = [name.strip() for name in header]
    if len(names) == frame.shape[1] and len(set(n for n in names if n)) < len([n for n in names
                                                                            if n]):
        frame.columns = [n or str(c) for n, c in zip(names, frame.columns, strict=True)]
    # text revsim quoted against spreadsheet formulas (its own event logs) reads as it was
    return frame.apply(unguard_formulas)


def _nul_problems(text: str, sep: str, header: list[str]) -> list[Problem]:
    """Where the NUL characters are: by column, with their rows (the header is row 1)."""
    hits: dict[str, list[int]] = {}
    values: dict[str, list[str]] = {}
    fix = "the file is damaged or partly binary: export it again, or delete the NUL characters"
    try:
        for row, record in enumerate(_records(text, sep), start=1):
            for i, value in enumerate(record):
                if "\x00" in value:
                    name = "header" if row == 1 else (
                        header[i].strip() if i < len(header) and header[i].strip() else
                        f"column {i + 1}")
                    hits.setdefault(name, []).append(row)
                    values.setdefault(name, []).append(value)
    except csv.Error:  # a field over the csv module's size limit: say the lines instead
        lines = nul_lines(text)
        return [Problem("", f"NUL character (\\x00) in the text on line"
                            f"{'s' if len(lines) > 1 else ''} {', '.join(map(str, lines[:5]))}"
                            f"{f' (+{len(lines) - 5} more)' if len(lines) > 5 else ''}; {fix}")]
    return [row_problem(name, np.asarray(rows), "NUL character (\\x00) in the text:", fix,
                        values[name])
            for name, rows in hits.items()]


def _records(text: str, sep: str) -> Iterator[list[str]]:
    """The CSV records of ``text`` as Python's csv module reads them (a carriage return alone
    ends a line too); a field over the module's size limit raises ``csv.Error``."""
    return csv.reader(io.StringIO(text, newline=""), delimiter=sep)


def _unclosed_quote(text: str, sep: str) -> int | None:
    """The line where a quoted value starts that runs to the end of the file, if one does."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, strict=True)
    start = 1
    try:
        for _ in reader:
            start = reader.line_num + 1
    except csv.Error as err:
        return start if "end of data" in str(err) or "EOF" in str(err) else None
    return None


def _ragged(text: str, sep: str, header: list[str], err: Exception) -> Problem:
    """Which rows do not have as many values as the header (pandas says only that some do)."""
    fix = ("rows must have as many values as the header: quote values that contain "
           f"{_SEPARATOR_NAMES[sep]} or line breaks")
    opened = _unclosed_quote(text, sep)
    if opened is not None:
        return Problem("", f"a quoted value opened on line {opened} is never closed; add the "
                           'closing quote, and write a quote inside a quoted value as two ("")')
    wide: list[int] = []
    try:
        for row, record in enumerate(_records(text, sep), start=1):
            if row > 1 and len(record) > len(header):
                wide.append(row)
    except csv.Error:
        wide = []
    if wide:
        return row_problem("", np.asarray(wide), f"more values than the {len(header)} columns "
                           "of the header", fix)
    detail = str(err).removeprefix("Error tokenizing data. C error: ").strip()
    return Problem("", f"not a readable CSV ({shown(detail, 120)}); {fix}")


def clean_text(values: pd.Series, *, lower: bool = False) -> pd.Series:
    """Stripped strings with missing and blank values as NaN (object dtype).

    Strips each distinct value once, so low-cardinality columns cost one factorize.
    """
    codes, uniques = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=True)
    clean = np.empty(len(uniques) + 1, dtype=object)
    clean[:-1] = [str(u).strip().lower() if lower else str(u).strip() for u in uniques]
    clean[-1] = ""
    clean[clean == ""] = np.nan
    return pd.Series(clean[codes], index=values.index, dtype=object)
