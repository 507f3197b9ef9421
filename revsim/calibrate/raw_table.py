"""Raw tables as text, and problems that name their rows: shared by the log reader and the adapters.

``read_csv_text`` reads a CSV export as strings (its delimiter sniffed from the header);
``parse_times`` and ``to_utc`` read ISO 8601 times to UTC; ``row_problem`` words a problem about
some rows of one column (spreadsheet numbering: the header is row 1) and ``LogError`` carries
every problem of one file at once.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from revsim.errors import Problem, ProblemsError
from revsim.io import unguard_formulas

SHOW_ROWS = 5


SHOW_VALUES = 3


ISO_HINT = "write ISO 8601 such as 2017-03-01T09:30:00+00:00 (a date alone means midnight)"


class LogError(ProblemsError, ValueError):
    """An event log (or a raw export) failed validation: each problem names the file, the
    column, the rows and the fix."""


def rows_text(rows: Sequence[int] | np.ndarray) -> str:
    """``row 7`` or ``rows 2, 5, 9, 12, 40 (+17 more)`` (sorted, first five shown)."""
    ordered = np.sort(np.asarray(rows, dtype=np.int64))
    shown = ", ".join(str(int(r)) for r in ordered[:SHOW_ROWS])
    more = f" (+{len(ordered) - SHOW_ROWS} more)" if len(ordered) > SHOW_ROWS else ""
    return f"row{'s' if len(ordered) > 1 else ''} {shown}{more}"


def values_text(values: Iterable[Any]) -> str:
    """The distinct values, in order, quoted: ``"x"``, ``"x" (and "y", "z", +4 other values)``."""
    distinct = list(dict.fromkeys(str(v) for v in values))
    first = f'"{distinct[0]}"' if distinct else '""'
    rest = [f'"{v}"' for v in distinct[1:SHOW_VALUES]]
    extra = len(distinct) - SHOW_VALUES
    if extra > 0:
        rest.append(f"+{extra} other value{'s' if extra > 1 else ''}")
    return f"{first} (and {', '.join(rest)})" if rest else first


def row_problem(column: str, rows: np.ndarray, what: str, fix: str,
                values: Iterable[Any] | None = None) -> Problem:
    """A problem about some rows of one column: where, what (with the values) and the fix."""
    shown = f" {values_text(values)}" if values is not None else ""
    return Problem(column, f"{rows_text(rows)}: {what}{shown}; {fix}")


def parse_times(values: pd.Series, rows: np.ndarray, column: str,
                problems: list[Problem]) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Parse ISO 8601 times to UTC; returns (times, naive mask, offset-aware mask).

    Values with an offset are converted to UTC; values without one are taken as UTC (the caller
    rejects a mix of the two); a date alone is midnight UTC and counts as neither. Blank values
    give NaT; unparseable ones give NaT and a problem.
    """
    index = values.index
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        stamps = values.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")
        aware = values.notna()
        return stamps, pd.Series(False, index=index), aware
    if pd.api.types.is_datetime64_dtype(values.dtype):
        stamps = values.dt.tz_localize("UTC").astype("datetime64[ns, UTC]")
        return stamps, values.notna(), pd.Series(False, index=index)
    text = values.astype(object)
    present = text.notna().to_numpy()
    stamps = pd.Series(pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce"),
                       index=index).astype("datetime64[ns, UTC]")
    failed = present & stamps.isna().to_numpy()
    if failed.any():  # surrounding spaces, or text that is not a time at all
        text = text.copy()
        text[failed] = clean_text(text[failed])
        present = text.notna().to_numpy()
        stamps[failed] = pd.to_datetime(text[failed], format="ISO8601", utc=True, errors="coerce")
    bad = present & stamps.isna().to_numpy()
    if bad.any():
        problems.append(row_problem(column, rows[bad], "unparseable time", ISO_HINT,
                                    text[bad].head(50)))
    ok = present & ~bad
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


def to_utc(value: str | dt.date | dt.datetime | pd.Timestamp) -> pd.Timestamp:
    """One time as a UTC Timestamp (naive -> UTC); raises ValueError when unparseable."""
    stamp = pd.Timestamp(value)
    if pd.isna(stamp):
        raise ValueError(f"not a time: {value!r}")
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


DELIMITERS = (",", ";", "\t", "|")


def _delimiter(path: str | Path) -> str:
    """The separator the header line uses most (spreadsheet exports in many locales write
    ``;``, some tools tabs); a comma when in doubt."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            header = next((line for line in fh if line.strip()), "")
    except (OSError, UnicodeDecodeError):
        return ","  # read_csv reports the problem in its own words
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])  # ties keep the earlier (the comma)
    return best if counts[best] > 0 else ","


def read_csv_text(path: str | Path, label: str, *, skip_blank_lines: bool = True) -> pd.DataFrame:
    """A CSV file as strings (blank cells NaN; text revsim quoted against spreadsheet formulas,
    as in its own event logs, as it was); unreadable files raise ``LogError``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            table = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""],
                                skip_blank_lines=skip_blank_lines, encoding="utf-8-sig",
                                index_col=False, sep=_delimiter(path))
        return table.apply(unguard_formulas)
    except FileNotFoundError:
        raise LogError([Problem("", "file not found; check the path")], label) from None
    except pd.errors.EmptyDataError:
        raise LogError([Problem("", "the file is empty; export it again with its header row")],
                       label) from None
    except UnicodeDecodeError:
        raise LogError([Problem("", "not UTF-8 text; save the file as CSV UTF-8")], label) from None
    except (pd.errors.ParserError, pd.errors.ParserWarning) as err:
        detail = ("every row has more values than the header" if isinstance(err, Warning)
                  else str(err).removeprefix("Error tokenizing data. C error: ").strip())
        raise LogError([Problem("", f"not a readable CSV ({detail}); rows must have as many values "
                                    "as the header: quote values that contain commas or line "
                                    "breaks")], label) from None
    except OSError as err:
        raise LogError([Problem("", f"cannot read: {err}")], label) from None


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
