"""Working calendars from the scenario: weekdays, daily shifts and holidays, checked and turned
into the weekly pattern of open hours (a :class:`~revsim.scenario.model.CalendarModel`).

This is the calendar as the user states it ("mon-fri", "09:00-17:00", "2025-12-25") and its
checks (overlapping shifts, impossible times); the engine's
:class:`~revsim.engine.calendar.WorkingCalendar` answers the time queries on the result.
"""

from __future__ import annotations

import difflib
import operator
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from revsim.limits import clip
from revsim.scenario.model import CalendarModel

WEEK = 168.0
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_ALIASES: dict[str, tuple[int, ...]] = {
    **{name: (i,) for i, name in enumerate(DAY_NAMES)},
    **{
        full: (i,)
        for i, full in enumerate(
            ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        )
    },
    "tues": (1,),
    "thur": (3,),
    "thurs": (3,),
    "weekdays": (0, 1, 2, 3, 4),
    "weekends": (5, 6),
    "weekend": (5, 6),
    "daily": (0, 1, 2, 3, 4, 5, 6),
    "all": (0, 1, 2, 3, 4, 5, 6),
}
# 24-hour HH:MM-HH:MM only: "9-5" could mean 09:00-17:00 or 09:00-05:00 the next day, so it is
# refused; a shift that ends the next day says so with "+1"
_HHMM = re.compile(r"\s*(\d{1,2}):(\d{2})\s*[-–]\s*(\d{1,2}):(\d{2})\s*(\+\s*1)?\s*")


def _hhmm(hour: float) -> str:
    minutes = round(hour * 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def shift_label(a: float, b: float) -> str:
    return f"{_hhmm(a)}-{_hhmm(b)}"


def weekly_runs(
    start_weekday: int, days: set[int], shifts: list[tuple[float, float]]
) -> list[tuple[float, float]]:
    """Merged open runs of one week in sim-week coordinates (hour 0 = start weekday 00:00).

    Runs are sorted; the last may end after 168 (it wraps into the next week).
    Raises ValueError if two shifts overlap.
    """
    pieces: list[tuple[float, float, int, int]] = []  # (lo, hi, shift index, day)
    for day in days:
        base = 24.0 * ((day - start_weekday) % 7)
        for k, (a, b) in enumerate(shifts):
            lo, hi = base + a, base + (b if b > a else b + 24.0)
            if hi > WEEK:
                pieces.append((lo, WEEK, k, day))
                pieces.append((0.0, hi - WEEK, k, day))
            else:
                pieces.append((lo, hi, k, day))
    pieces.sort()
    runs: list[list[float]] = []
    prev: tuple[float, float, int, int] | None = None
    for lo, hi, k, day in pieces:
        if prev is not None and lo < prev[1]:
            where = "on the same day" if prev[3] == day else "across midnight"
            raise ValueError(
                f"working hours {shift_label(*shifts[prev[2]])} and "
                f"{shift_label(*shifts[k])} overlap {where}; "
                "make the shifts disjoint (touching, like 12:00-13:00 and 13:00-17:00, is fine)"
            )
        if prev is None or hi > prev[1]:
            prev = (lo, hi, k, day)
        if runs and lo <= runs[-1][1]:
            runs[-1][1] = max(runs[-1][1], hi)
        else:
            runs.append([lo, hi])
    if len(runs) > 1 and runs[0][0] == 0.0 and runs[-1][1] == WEEK:
        # Cyclic merge: Sunday-night work continuing into Monday morning is one run.
        first = runs.pop(0)
        runs[-1][1] = WEEK + first[1]
    return [(lo, hi) for lo, hi in runs]


def holiday_spans(start: date, holidays: Iterable[Any]) -> list[tuple[float, float]]:
    """Merged [lo, hi) clock-day spans (hours) of holidays on or after the start date."""
    offsets = set()
    for h in holidays:
        if isinstance(h, datetime):
            h = h.date()
        if not isinstance(h, date):
            raise ValueError(f"holiday {h!r} is not a date; use a date such as 2025-12-25")
        offset = (h - start).days
        if offset >= 0:
            offsets.add(offset)
    spans: list[list[float]] = []
    for offset in sorted(offsets):
        lo = 24.0 * offset
        if spans and spans[-1][1] == lo:
            spans[-1][1] = lo + 24.0
        else:
            spans.append([lo, lo + 24.0])
    return [(lo, hi) for lo, hi in spans]


def calendar_model(
    start: date,
    days: Iterable[Any],
    hours: Iterable[Any],
    holidays: Iterable[Any] = (),
) -> CalendarModel:
    """Calendar open on `days` (0=Mon) during `hours` of day (end <= start: overnight).

    The arguments are typed loosely on purpose: this checks them itself, with messages that
    say what is wrong, and the compiled engine would otherwise reject a bad element with a
    bare TypeError before that.
    """
    if isinstance(start, datetime):
        start = start.date()
    if not isinstance(start, date):
        raise ValueError(f"start must be a date, got {start!r}")
    holidays = tuple(holidays)
    day_set = set()
    for d in days:
        try:
            index = operator.index(d)
        except TypeError:
            raise ValueError(f"working day {d!r} is not an integer 0..6 (0=Mon)") from None
        if isinstance(d, bool) or not 0 <= index <= 6:
            raise ValueError(f"working day {d!r} is not an integer 0..6 (0=Mon)")
        day_set.add(index)
    shifts: list[tuple[float, float]] = []
    for pair in hours:
        try:
            a, b = (float(x) for x in pair)
        except (TypeError, ValueError):
            raise ValueError(
                f"working hours {pair!r} must be a (start, end) pair of hours of the day"
            ) from None
        if not (0.0 <= a < 24.0 and 0.0 <= b <= 24.0):
            raise ValueError(
                f"working hours {pair!r} must be hours of the day: "
                "start in [0, 24), end in [0, 24]"
            )
        shifts.append((a, b))
    if not day_set or not shifts:
        raise ValueError("calendar has no working time: give at least one day and one shift")
    return CalendarModel(
        start=start,
        days=tuple(sorted(day_set)),
        shifts=tuple(shifts),
        holidays=holidays,
        runs=tuple(weekly_runs(start.weekday(), day_set, shifts)),
        holiday_spans=tuple(holiday_spans(start, holidays)),
    )


class CalendarError(ValueError):
    """A calendar entry that cannot be read; ``field`` is where, inside the calendar table
    (``hours.0``, ``days``), so the message can name the exact field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@contextmanager
def _at(field: str) -> Iterator[None]:
    try:
        yield
    except CalendarError:
        raise
    except ValueError as err:
        raise CalendarError(field, str(err)) from None


def calendar_from_text(
    start: date,
    days: Sequence[str],
    hours: Sequence[str],
    holidays: Iterable[date | str] = (),
) -> CalendarModel:
    """Calendar from text: days like ["mon-fri", "sat"], hours like ["09:00-17:00"].

    Overnight shifts ("22:00-06:00") belong to the day they start on. Holidays may be
    dates or ISO strings. Raises ValueError with a suggestion for bad names.
    """
    if isinstance(days, str) or isinstance(hours, str):
        raise ValueError('days and hours must be lists, e.g. days=["mon-fri"]')
    day_set: set[int] = set()
    for i, item in enumerate(days):
        with _at(f"days.{i}"):
            day_set.update(_parse_days(item))
    shifts = []
    for i, item in enumerate(hours):
        with _at(f"hours.{i}"):
            shifts.append(_parse_shift(item))
    dates: list[date] = []
    for i, h in enumerate(holidays):
        if isinstance(h, str):
            try:
                h = date.fromisoformat(h.strip())
            except ValueError:
                raise CalendarError(
                    f"holidays.{i}", f"holiday {clip(repr(h), 60)} is not a date; write it as "
                    "YYYY-MM-DD, e.g. 2025-12-25") from None
        dates.append(h)
    if not day_set or not shifts:
        raise CalendarError("days" if not day_set else "hours", "calendar has no working "
                            "time: give at least one day and one shift")
    with _at("hours"):  # shifts that overlap
        return calendar_model(start, sorted(day_set), shifts, dates)


#: The built-in 24/7 calendar ("always"); its start date does not matter.
ALWAYS_OPEN = calendar_model(date(2000, 1, 3), range(7), [(0.0, 24.0)])


def _parse_day_name(name: str, item: str) -> tuple[int, ...]:
    key = name.strip().lower()
    if key in _DAY_ALIASES:
        return _DAY_ALIASES[key]
    close = difflib.get_close_matches(key, list(_DAY_ALIASES), n=1, cutoff=0.5)
    hint = f'did you mean "{close[0]}"?' if close else 'use "mon".."sun" or a range like "mon-fri"'
    raise ValueError(f"unknown day {name.strip()!r} in days entry {item!r}; {hint}")


def _parse_days(item: str) -> tuple[int, ...]:
    """Weekday indices of "mon", "monday", "weekdays" or a range "mon-fri" / "fri-mon"."""
    if not isinstance(item, str):
        raise ValueError(f'days entry {item!r} must be text such as "mon" or "mon-fri"')
    if "-" in item:
        first, _, last = item.partition("-")
        a, b = _parse_day_name(first, item), _parse_day_name(last, item)
        if len(a) != 1 or len(b) != 1:
            raise ValueError(f'days range {item!r} must join two single days, like "mon-fri"')
        # Ranges may wrap around the weekend: "fri-mon" is fri, sat, sun, mon.
        return tuple((a[0] + i) % 7 for i in range((b[0] - a[0]) % 7 + 1))
    return _parse_day_name(item, item)


def _parse_shift(item: str) -> tuple[float, float]:
    """Hours of day (start, end) of "HH:MM-HH:MM" (end after start; 24:00 allowed), or of
    "HH:MM-HH:MM+1" (a shift that ends the next day, at or before its start time)."""
    shown = clip(repr(item), 60)
    bad = f'working hours {shown} should look like "09:00-17:00" (24-hour clock, HH:MM-HH:MM)'
    if not isinstance(item, str):
        raise ValueError(bad)
    match = _HHMM.fullmatch(item)
    if match is None:
        raise ValueError(bad)
    h1, m1, h2, m2 = (int(g) for g in match.groups()[:4])
    overnight = match.group(5) is not None
    if m1 > 59 or m2 > 59 or h1 > 23 or h2 > 24 or (h2 == 24 and m2 > 0):
        raise ValueError(f"working hours {shown} contain an impossible time of day")
    a, b = h1 + m1 / 60.0, h2 + m2 / 60.0
    if overnight and b > a:
        raise ValueError(f"working hours {shown} would last more than 24 hours; +1 marks a "
                         "shift that ends the next day, at or before its start time")
    if not overnight and b == a:
        raise ValueError(f"working hours {shown} are zero-length; give the end of the shift, "
                         'e.g. "09:00-17:00"')
    if not overnight and b < a:
        raise ValueError(f"working hours {shown} end before they start; write 24-hour times "
                         f'("09:00-17:00"), or mark a shift that ends the next day with +1 '
                         f'("{_hhmm(a)}-{_hhmm(b)}+1")')
    return a, b
