"""How a log writes its dates when they are not ISO 8601: day first, month first, or a strftime
pattern. ISO 8601 needs no setting; ``1/2/2013`` does, because it is 1 February to one reader
and 2 January to another, and revsim never guesses which.

A setting comes from ``--date-format`` (``revsim fit``, ``state``, ``backtest``) or from the
mapping file's ``[dates] format = "..."``; the flag wins.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd

from revsim.errors import Problem

ISO = "iso"
DAY_FIRST = "day-first"
MONTH_FIRST = "month-first"
NAMED = (ISO, DAY_FIRST, MONTH_FIRST)
FORMAT_HINT = (f"give {DAY_FIRST}, {MONTH_FIRST}, {ISO} (the default) or a strftime pattern "
               "such as %d/%m/%Y %H:%M")

#: A date written with numbers for day and month in some order (1/2/2013, 01.02.13, 1-2-2013).
_NUMERIC_DATE = re.compile(r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})\b")


def check_date_format(value: object, where: str) -> list[Problem]:
    """Problems with a date format setting (none when it is usable)."""
    if not isinstance(value, str) or not value.strip():
        return [Problem(where, f"must be a text; {FORMAT_HINT}")]
    text = value.strip()
    if text in NAMED:
        return []
    if "%" not in text:
        return [Problem(where, f'"{text}" is not a date format; {FORMAT_HINT}')]
    try:
        pd.Timestamp.now().strftime(text)
    except ValueError as err:
        return [Problem(where, f'"{text}" is not a valid strftime pattern ({err}); {FORMAT_HINT}')]
    return []


def parse_formatted(text: pd.Series, date_format: str) -> pd.Series:
    """``text`` parsed by ``date_format`` (not ISO) to UTC; values it does not fit give NaT.

    ``day-first``/``month-first`` take the pattern of the column's first value (e.g.
    ``%d/%m/%Y %H:%M``) and hold every other value to it, so that a column that mixes two ways
    of writing dates is caught, not read half one way and half the other.
    """
    if date_format in (DAY_FIRST, MONTH_FIRST):
        first = text.dropna()
        if first.empty:
            return pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns, UTC]")
        guessed = pd.tseries.api.guess_datetime_format(str(first.iloc[0]).strip(),
                                                       dayfirst=date_format == DAY_FIRST)
        if guessed is None:
            return pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns, UTC]")
        date_format = guessed
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas' parsing advice: the problems say what to do
        parsed = pd.to_datetime(text.astype(str).str.strip().where(text.notna()),
                                format=date_format, utc=True, errors="coerce")
    return pd.Series(parsed, index=text.index).astype("datetime64[ns, UTC]")


def order_unknown(text: pd.Series) -> np.ndarray:
    """Which of these values (that ISO 8601 did not read) are numeric dates whose day/month
    order a setting must give."""
    return text.astype(str).str.match(_NUMERIC_DATE).to_numpy(dtype=bool)


def order_hint(text: pd.Series, settable: bool = True) -> str:
    """What to do about numeric dates, with what the values themselves show: a first number
    over 12 can only be a day, a second over 12 only a day. ``settable``: the reader takes a
    date format (else the fix is to write ISO 8601)."""
    parts = text.astype(str).str.extract(_NUMERIC_DATE)
    first, second = pd.to_numeric(parts[0]), pd.to_numeric(parts[1])
    seen = ""
    if (first > 12).any() and not (second > 12).any():
        seen = " (values such as these, with a first number over 12, are day first)"
    elif (second > 12).any() and not (first > 12).any():
        seen = " (values such as these, with a second number over 12, are month first)"
    elif (first > 12).any() and (second > 12).any():
        seen = " (the column mixes day-first and month-first dates: export it one way)"
    if not settable:
        return (f"the day/month order of such dates is not known{seen}; write ISO 8601 such "
                "as 2017-03-01 or 2017-03-01T09:30:00+00:00")
    return (f"the day/month order of such dates is not known{seen}; pass --date-format "
            f"{DAY_FIRST} or {MONTH_FIRST} (in a mapping file: [dates] format = "
            f'"{DAY_FIRST}"), or a strftime pattern such as %d/%m/%Y')


__all__ = ["DAY_FIRST", "FORMAT_HINT", "ISO", "MONTH_FIRST", "check_date_format",
           "order_hint", "order_unknown", "parse_formatted"]
