"""Parsing and formatting of durations, rates and money amounts.

Simulation time is measured in hours; every parser here returns hours (or events per
hour, or a plain float amount of money). Error messages are written for the analyst who
typed the scenario file: they quote the offending text and suggest a fix.
"""

from __future__ import annotations

import difflib
import math
import numbers
import re
from datetime import timedelta

from revsim.limits import clip

__all__ = [
    "HOURS",
    "UnitError",
    "format_duration",
    "format_money",
    "parse_duration",
    "parse_money",
    "parse_rate",
]

HOURS: dict[str, float] = {
    "min": 1 / 60,
    "h": 1.0,
    "d": 24.0,
    "w": 168.0,
    "mo": 730.5,
    "y": 8766.0,
}

# Seconds are accepted on input but are not part of the public HOURS table.
_UNIT_HOURS: dict[str, float] = {"s": 1 / 3600, **HOURS}

_LONG_NAME = {
    "s": "seconds",
    "min": "minutes",
    "h": "hours",
    "d": "days",
    "w": "weeks",
    "mo": "months",
    "y": "years",
}

_ALIASES: dict[str, str] = {}
for _canon, _names in {
    "s": ("s", "sec", "secs", "second", "seconds"),
    "min": ("min", "mins", "minute", "minutes"),
    "h": ("h", "hr", "hrs", "hour", "hours"),
    "d": ("d", "day", "days"),
    "w": ("w", "wk", "wks", "week", "weeks"),
    "mo": ("mo", "mos", "month", "months"),
    "y": ("y", "yr", "yrs", "year", "years"),
}.items():
    for _name in _names:
        _ALIASES[_name] = _canon

_UNIT_LIST = "s, min, h, d, w, mo, y"
_NUM = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_TERM = re.compile(rf"\s*({_NUM})\s*([^\d\s+\-.]*)")
# each term is atomic: "1111-" must fail in linear time, not try every split of the digits
_DURATION = re.compile(rf"(?>\s*{_NUM}\s*[^\d\s+\-.]*)+\s*")
_RATE = re.compile(rf"\s*({_NUM})\s*(?:/|per\b)\s*(.*?)\s*", re.IGNORECASE)


class UnitError(ValueError):
    """A value could not be read as a duration, rate or money amount."""


def _fail(field: str, message: str) -> UnitError:
    return UnitError(f"{field}: {message}" if field else message)


def _unit_hours(unit: str, text: str, field: str) -> float:
    """Hours in one `unit` (any accepted spelling); `text` is quoted in errors."""
    key = unit.lower()
    if key in _ALIASES:
        return _UNIT_HOURS[_ALIASES[key]]
    if key == "m":
        raise _fail(
            field,
            f'ambiguous unit {clip(repr(unit), 60)} in "{text}": write "min" for minutes or "mo" for months',
        )
    close = difflib.get_close_matches(key, list(_ALIASES), n=1, cutoff=0.5)
    if close:
        canon = _ALIASES[close[0]]
        hint = f'did you mean "{canon}" ({_LONG_NAME[canon]})?'
    else:
        hint = f"use one of: {_UNIT_LIST}"
    raise _fail(field, f'unknown unit {clip(repr(unit), 60)} in "{text}"; {hint}')


def _duration_text(text: str, whole: str, field: str, default_unit: str | None) -> float:
    """Hours in a duration string such as "3 d" or "1 h 30 min"."""
    whole = clip(whole)
    if not text.strip():
        raise _fail(field, f'empty duration in "{whole}"; write e.g. "4 h" or "3 d"')
    if not _DURATION.fullmatch(text):
        raise _fail(
            field,
            f'could not read duration "{whole}"; write a number and a unit, '
            f'e.g. "20 min", "4 h", "3 d" (units: {_UNIT_LIST})',
        )
    terms = _TERM.findall(text)
    total = 0.0
    for number, unit in terms:
        value = float(number)
        if value < 0:
            raise _fail(field, f'negative duration "{whole}" is not allowed; give 0 or more, '
                        'e.g. "4 h"')
        if not unit:
            if len(terms) > 1:
                raise _fail(
                    field,
                    f'"{whole}" has no unit after {number}; give every number a unit, '
                    f'e.g. "1 h 30 min"',
                )
            if default_unit is None:
                raise _fail(
                    field,
                    f'"{whole}" has no unit; write e.g. "{number} h" or "{number} d" '
                    f"(units: {_UNIT_LIST})",
                )
            unit = default_unit
        total += value * _unit_hours(unit, whole, field)
    if not math.isfinite(total):
        raise _fail(field, f'duration "{whole}" is not a finite number')
    return total


def parse_duration(
    value: str | float | int | timedelta, *, field: str = "", default_unit: str | None = None
) -> float:
    """Read a duration ("20 min", "4 h", "3 d", "1 h 30 min", timedelta) and return hours.

    A bare number is only accepted when `default_unit` (e.g. "h") says what it means.
    Raises UnitError naming the offending text.
    """
    if default_unit is not None and default_unit.lower() not in _ALIASES:
        raise UnitError(f"default_unit {default_unit!r} is not a unit; use one of: {_UNIT_LIST}")
    if isinstance(value, timedelta):
        hours = value.total_seconds() / 3600.0
        if hours < 0:
            raise _fail(field, f"negative duration {value} is not allowed")
        return hours
    if isinstance(value, bool):
        raise _fail(field, f'expected a duration such as "4 h", got {value!r}')
    if isinstance(value, numbers.Real):
        if default_unit is None:
            raise _fail(
                field,
                f'bare number {value!r} has no unit; write e.g. "{value} h" or "{value} d" '
                f"(units: {_UNIT_LIST})",
            )
        hours = float(value) * _unit_hours(default_unit, str(value), field)
        if not math.isfinite(hours):
            raise _fail(field, f"duration {value!r} is not a finite number")
        if hours < 0:
            raise _fail(field, f"negative duration {value!r} is not allowed")
        return hours
    if isinstance(value, str):
        return _duration_text(value, value.strip(), field, default_unit)
    raise _fail(field, f'expected a duration such as "4 h", got {type(value).__name__} '
                f'{clip(repr(value))}')


def parse_rate(
    value: str | float | int, *, field: str = "", default_unit: str | None = None
) -> float:
    """Read a rate ("40/w", "40 per week", "3/d", "5 / 2 w") and return events per hour.

    A bare number is only accepted when `default_unit` gives the period (e.g. "w" = per week).
    """
    if default_unit is not None and default_unit.lower() not in _ALIASES:
        raise UnitError(f"default_unit {default_unit!r} is not a unit; use one of: {_UNIT_LIST}")
    if isinstance(value, bool) or not isinstance(value, numbers.Real | str):
        raise _fail(field, f'expected a rate such as "40/w", got {clip(repr(value))}')
    if isinstance(value, numbers.Real):
        if default_unit is None:
            raise _fail(
                field,
                f'bare number {value!r} has no period; write e.g. "{value}/w" or "{value} per day"',
            )
        count, period = float(value), _unit_hours(default_unit, str(value), field)
        whole = str(value)
    else:
        whole = clip(value.strip())
        match = _RATE.fullmatch(value)
        if match is None:
            raise _fail(
                field,
                f'could not read rate "{whole}"; write "<count>/<period>", '
                f'e.g. "40/w", "3 per day" or "0.85/y"',
            )
        count = float(match.group(1))
        denominator = match.group(2)
        if not denominator:
            raise _fail(field, f'rate "{whole}" has no period; write e.g. "40/w" or "3 per day"')
        if denominator[:1].isdigit() or denominator[:1] == ".":
            period = _duration_text(denominator, whole, field, None)
        else:
            # "40/w" means 40 per one week.
            period = _duration_text("1 " + denominator, whole, field, None)
    if not math.isfinite(count):
        raise _fail(field, f'rate "{whole}" is not a finite number')
    if count < 0:
        raise _fail(field, f'negative rate "{whole}" is not allowed')
    if period <= 0:
        raise _fail(field, f'rate "{whole}" has a zero-length period')
    return count / period


_CURRENCY_SYMBOL = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}
_CURRENCY_CODES = {
    "USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "NZD", "SEK", "NOK", "DKK",
    "PLN", "CZK", "INR", "CNY", "SGD", "HKD", "BRL", "MXN", "ZAR",
}  # fmt: skip
_MONEY_SCALE = {
    "": 1.0,
    "k": 1e3,
    "thousand": 1e3,
    "m": 1e6,  # in money "m" is always million, never milli
    "mm": 1e6,
    "mn": 1e6,
    "million": 1e6,
    "b": 1e9,
    "bn": 1e9,
    "billion": 1e9,
    "t": 1e12,
    "tn": 1e12,
    "trillion": 1e12,
}
_MONEY = re.compile(
    r"\s*(?P<s1>-?)\s*(?P<sym>[$€£¥]?)\s*(?P<s2>-?)\s*"
    r"(?P<num>(?:\d[\d,]*)?(?:\.\d+)?)\s*(?P<suf>[A-Za-z]*)\s*"
)
_GROUPED = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?")


def parse_money(value: str | float | int, *, field: str = "") -> float:
    """Read a money amount (12000, "12k", "$1.2M", "1,200", "€3.5k", "12k USD"); returns a float.

    Negative amounts ("-$500") are allowed: money is signed (refunds, credits).
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real | str):
        raise _fail(field, f'expected a money amount such as "12k", got {clip(repr(value))}')
    if isinstance(value, numbers.Real):
        if not math.isfinite(value):
            raise _fail(field, f"money amount {value!r} is not a finite number")
        return float(value)
    text = value.strip()
    whole = clip(text)
    code = re.fullmatch(r"([A-Za-z]{3})\s+(.*)|(.*?)\s+([A-Za-z]{3})", text)
    if code is not None:
        iso = (code.group(1) or code.group(4)).upper()
        if iso in _CURRENCY_CODES:
            text = code.group(2) if code.group(1) else code.group(3)
    example = 'write e.g. 12000, "12k", "$1.2M" or "1,200"'
    match = _MONEY.fullmatch(text)
    if match is None or not match.group("num"):
        raise _fail(field, f'could not read money amount "{whole}"; {example}')
    number = match.group("num")
    if "," in number and not _GROUPED.fullmatch(number):
        raise _fail(
            field,
            f'"{whole}" has misplaced thousands separators; use groups of three digits '
            f'("1,200,000") and a point for decimals ("1.5k")',
        )
    suffix = match.group("suf").lower()
    if suffix not in _MONEY_SCALE:
        close = difflib.get_close_matches(suffix, [s for s in _MONEY_SCALE if s], n=1, cutoff=0.5)
        hint = f'did you mean "{close[0]}"?' if close else 'use "k", "M", "B" or "T"'
        raise _fail(field, f'unknown suffix {clip(repr(match.group("suf")), 60)} in "{whole}"; {hint}')
    if match.group("s1") and match.group("s2"):
        raise _fail(field, f'could not read money amount "{whole}"; {example}')
    amount = float(number.replace(",", "")) * _MONEY_SCALE[suffix]
    return -amount if (match.group("s1") or match.group("s2")) else amount


def _short(x: float) -> str:
    """Two or three significant figures: 3.2, 45, 120."""
    if x < 9.95:
        text = f"{x:.1f}"
        return text[:-2] if text.endswith(".0") else text
    return f"{x:.0f}"


# (unit label, hours per unit, first displayed value that moves to the next unit)
_DISPLAY_UNITS = (
    ("s", 1 / 3600, 60.0),
    ("min", 1 / 60, 60.0),
    ("h", 1.0, 48.0),
    ("d", 24.0, 14.0),
    ("w", 168.0, 9.0),
    ("mo", 730.5, 24.0),
    ("y", 8766.0, math.inf),
)


def format_duration(hours: float) -> str:
    """Human-readable duration from hours: "45 min", "3.2 h", "4.1 d", "3 mo"."""
    if math.isnan(hours):
        return "nan"
    if math.isinf(hours):
        return "inf" if hours > 0 else "-inf"
    if hours == 0:
        return "0 h"
    sign = "-" if hours < 0 else ""
    size = abs(hours)
    for label, unit, limit in _DISPLAY_UNITS:
        text = _short(size / unit)
        # Choose the unit by the *rounded* display so 59.7 min shows as "1 h", not "60 min".
        if float(text) < limit:
            return f"{sign}{text} {label}"
    raise AssertionError("unreachable: the last display unit has no limit")


def format_money(x: float, currency: str = "USD") -> str:
    """Compact money string: 1_200_000 -> "$1.2M", 950 -> "$950", 12.5 -> "$12.50"."""
    if not math.isfinite(x):
        return str(x)
    code = currency.upper()
    prefix = _CURRENCY_SYMBOL.get(code, currency if not currency.isalpha() else f"{code} ")
    sign = "-" if x < 0 else ""
    size = abs(x)
    if round(size, 2) < 1000:
        body = f"{size:.0f}" if round(size, 2) == round(size) else f"{size:.2f}"
        return f"{sign}{prefix}{body}"
    for suffix, scale in (("k", 1e3), ("M", 1e6), ("B", 1e9), ("T", 1e12)):
        scaled = size / scale
        text = f"{scaled:.1f}" if scaled < 99.95 else f"{scaled:.0f}"
        if text.endswith(".0"):
            text = text[:-2]
        # Promote 999.96k to "$1M" rather than printing "$1000k".
        if float(text) < 1000 or suffix == "T":
            return f"{sign}{prefix}{text}{suffix}"
    raise AssertionError("unreachable: the last money suffix has no limit")
