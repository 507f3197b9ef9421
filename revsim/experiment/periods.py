"""Calendar periods of a forecast: weeks (Monday to Sunday), months or quarters, aligned to the
calendar from the as-of date on; the first and the last may be partial."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from revsim.errors import ExperimentError, Problem

BY = ("week", "month", "quarter")


@dataclass(frozen=True)
class Period:
    """One period [start, end): its label ("2027-W03", "2027-01", "2027-Q1") and its hours
    since the model start."""

    label: str
    start: dt.datetime
    end: dt.datetime
    start_h: float
    end_h: float


def _next_boundary(t: dt.datetime, by: str) -> dt.datetime:
    day = t.date()
    if by == "week":
        nxt = day + dt.timedelta(days=7 - day.weekday())
    elif by == "month":
        nxt = dt.date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    else:
        q_month = 3 * ((day.month - 1) // 3) + 1
        month = q_month + 3
        nxt = dt.date(day.year + (month > 12), (month - 1) % 12 + 1, 1)
    return dt.datetime.combine(nxt, dt.time())


def _label(t: dt.datetime, by: str) -> str:
    if by == "week":
        year, week, _ = t.isocalendar()
        return f"{year}-W{week:02d}"
    if by == "month":
        return f"{t:%Y-%m}"
    return f"{t.year}-Q{(t.month - 1) // 3 + 1}"


def calendar_periods(start: dt.datetime, end: dt.datetime, by: str,
                     origin: dt.datetime) -> list[Period]:
    """The periods from ``start`` to ``end`` by ``by``; hours are counted from ``origin``
    (the model start: midnight of the as-of date)."""
    if by not in BY:
        raise ExperimentError([Problem("--by", f"unknown period {by!r}; use week, month or "
                                       "quarter")], "forecast")
    if end <= start:
        raise ExperimentError([Problem("--until", f"{end:%Y-%m-%d} is not after the as-of "
                                       f"date {start:%Y-%m-%d}")], "forecast")
    hour = dt.timedelta(hours=1)
    out = []
    t = start
    while t < end:
        nxt = min(_next_boundary(t, by), end)
        out.append(Period(_label(t, by), t, nxt, (t - origin) / hour, (nxt - origin) / hour))
        t = nxt
    return out
