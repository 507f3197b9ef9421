"""Working calendars: when work can happen, measured in simulation hours.

t = 0 is midnight at the start date. The calendar is a weekly pattern of shifts minus
holidays (whole clock days). The pattern is treated as periodic in both directions, so an
overnight shift that began the evening before the start date is already running at t = 0.

Open time is stored as maximal "runs" [start, end) in Python lists, together with the
working hours accumulated before each run, so scalar queries are one bisect. The lists are
built lazily in blocks of 52 weeks. Beyond the last holiday the calendar repeats weekly, so
queries far in the future are folded back onto a reference week instead of growing the
lists without bound (a heavy-tailed task duration must not exhaust memory).
"""

from __future__ import annotations

import difflib
import math
import operator
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

__all__ = ["WorkingCalendar"]

_EPS = 1e-9  # hours (3.6 microseconds)
_WEEK = 168.0
_BLOCK_WEEKS = 52
_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_ALIASES: dict[str, tuple[int, ...]] = {
    **{name: (i,) for i, name in enumerate(_DAY_NAMES)},
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
_HHMM = re.compile(r"\s*(\d{1,2})(?::(\d{2}))?\s*(?:-|–|to)\s*(\d{1,2})(?::(\d{2}))?\s*")


def _hhmm(hour: float) -> str:
    minutes = round(hour * 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _shift_label(a: float, b: float) -> str:
    return f"{_hhmm(a)}-{_hhmm(b)}"


def _weekly_runs(
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
            if hi > _WEEK:
                pieces.append((lo, _WEEK, k, day))
                pieces.append((0.0, hi - _WEEK, k, day))
            else:
                pieces.append((lo, hi, k, day))
    pieces.sort()
    runs: list[list[float]] = []
    prev: tuple[float, float, int, int] | None = None
    for lo, hi, k, day in pieces:
        if prev is not None and lo < prev[1]:
            where = "on the same day" if prev[3] == day else "across midnight"
            raise ValueError(
                f"working hours {_shift_label(*shifts[prev[2]])} and "
                f"{_shift_label(*shifts[k])} overlap {where}; "
                "make the shifts disjoint (touching, like 12:00-13:00 and 13:00-17:00, is fine)"
            )
        if prev is None or hi > prev[1]:
            prev = (lo, hi, k, day)
        if runs and lo <= runs[-1][1]:
            runs[-1][1] = max(runs[-1][1], hi)
        else:
            runs.append([lo, hi])
    if len(runs) > 1 and runs[0][0] == 0.0 and runs[-1][1] == _WEEK:
        # Cyclic merge: Sunday-night work continuing into Monday morning is one run.
        first = runs.pop(0)
        runs[-1][1] = _WEEK + first[1]
    return [(lo, hi) for lo, hi in runs]


def _holiday_spans(start: date, holidays: Iterable[Any]) -> list[tuple[float, float]]:
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


class WorkingCalendar:
    """Weekly working hours minus holidays, queried in simulation hours since start."""

    __slots__ = (
        "always_open",
        "start",
        "_days",
        "_shifts",
        "_template",
        "_week_hours",
        "_hol_lo",
        "_hol_hi",
        "_s",
        "_e",
        "_c",
        "_weeks_built",
        "_complete",
        "_clipped0",
        "_ref",
        "_tail_need",
        "_args",
    )

    def __init__(
        self,
        start: date,
        days: Iterable[Any],
        hours: Iterable[Any],
        holidays: Iterable[Any] = (),
    ) -> None:
        """Calendar open on `days` (0=Mon) during `hours` of day (end <= start: overnight).

        The arguments are typed loosely on purpose: this checks them itself, with messages
        that say what is wrong, and the compiled engine would otherwise reject a bad element
        with a bare TypeError before that.
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
        self.start = start
        self._args = (start, tuple(sorted(day_set)), tuple(shifts), holidays)
        self._days = frozenset(day_set)
        self._shifts = tuple(shifts)
        self._template = _weekly_runs(start.weekday(), day_set, shifts)
        self._week_hours = sum(hi - lo for lo, hi in self._template)
        spans = _holiday_spans(start, holidays)
        self._hol_lo = [lo for lo, _ in spans]
        self._hol_hi = [hi for _, hi in spans]
        full_week = self._week_hours >= _WEEK
        self.always_open = full_week and not spans

        self._s: list[float] = []
        self._e: list[float] = []
        self._c: list[float] = []
        self._weeks_built = 0
        self._clipped0 = False
        # From `periodic_from` on no holiday interferes and the pattern repeats weekly;
        # `_ref` is the reference week that far-future queries are folded onto.
        periodic_from = math.ceil(self._hol_hi[-1] / _WEEK) * _WEEK if spans else 0.0
        self._ref = periodic_from + _WEEK
        # Margin so a folded time t' in [ref, ref + 168) always has a known run after it.
        self._tail_need = self._ref + 3 * _WEEK
        self._complete = full_week
        if self.always_open:
            self._s, self._e, self._c = [0.0], [math.inf], [0.0]
        elif full_week:
            self._build_full()
        else:
            # Holidays are finite, so some block eventually contains working time.
            while not self._s:
                self._extend()

    @classmethod
    def always(cls, start: date | None = None) -> WorkingCalendar:
        """A 24/7 calendar: every query is identity arithmetic."""
        return cls(start or date(2000, 1, 3), range(7), [(0.0, 24.0)])

    @classmethod
    def from_spec(
        cls,
        start: date,
        days: Sequence[str],
        hours: Sequence[str],
        holidays: Iterable[date | str] = (),
    ) -> WorkingCalendar:
        """Calendar from text: days like ["mon-fri", "sat"], hours like ["09:00-17:00"].

        Overnight shifts ("22:00-06:00") belong to the day they start on. Holidays may be
        dates or ISO strings. Raises ValueError with a suggestion for bad names.
        """
        if isinstance(days, str) or isinstance(hours, str):
            raise ValueError('days and hours must be lists, e.g. days=["mon-fri"]')
        day_set: set[int] = set()
        for item in days:
            day_set.update(_parse_days(item))
        shifts = [_parse_shift(item) for item in hours]
        dates: list[date] = []
        for h in holidays:
            if isinstance(h, str):
                try:
                    h = date.fromisoformat(h.strip())
                except ValueError:
                    raise ValueError(
                        f"holiday {h!r} is not a date; write it as YYYY-MM-DD, e.g. 2025-12-25"
                    ) from None
            dates.append(h)
        return cls(start, sorted(day_set), shifts, dates)

    # ------------------------------------------------------------------ construction
    def _build_full(self) -> None:
        """24/7 with holidays: the gaps are exactly the holidays, so build everything now."""
        s, e, c = self._s, self._e, self._c
        t, total = 0.0, 0.0
        for lo, hi in zip(self._hol_lo, self._hol_hi, strict=True):
            if lo > t:
                s.append(t)
                e.append(lo)
                c.append(total)
                total += lo - t
            t = hi
        s.append(t)
        e.append(math.inf)
        c.append(total)
        # Open around the clock before the start too, so t = 0 is not an opening.
        self._clipped0 = s[0] == 0.0

    def _extend(self) -> None:
        """Append the runs of the next 52-week block (all runs starting inside it)."""
        s, e, c = self._s, self._e, self._c
        hol_lo, hol_hi = self._hol_lo, self._hol_hi
        k0 = self._weeks_built
        candidates: list[tuple[float, float]] = []
        last_hi = self._template[-1][1]
        wrap = k0 == 0 and last_hi > _WEEK
        if wrap:
            # Previous week's wrapping shift is still running at t = 0; it did not open
            # at t = 0, which openings() must not report.
            candidates.append((0.0, last_hi - _WEEK))
        for k in range(k0, k0 + _BLOCK_WEEKS):
            base = k * _WEEK
            candidates.extend((lo + base, hi + base) for lo, hi in self._template)
        total = c[-1] + (e[-1] - s[-1]) if s else 0.0
        for lo, hi in candidates:
            j = bisect_right(hol_hi, lo)
            # Cut the holidays out of the run; the pieces left are separate runs.
            while j < len(hol_lo) and hol_lo[j] < hi:
                if hol_lo[j] > lo:
                    if not s and lo == 0.0 and wrap:
                        self._clipped0 = True
                    s.append(lo)
                    e.append(hol_lo[j])
                    c.append(total)
                    total += hol_lo[j] - lo
                lo = max(lo, hol_hi[j])
                j += 1
            if hi > lo:
                if not s and lo == 0.0 and wrap:
                    self._clipped0 = True
                s.append(lo)
                e.append(hi)
                c.append(total)
                total += hi - lo
        self._weeks_built = k0 + _BLOCK_WEEKS

    def _covered(self) -> float:
        return self._weeks_built * _WEEK

    def _reduce(self, t: float) -> tuple[float, int]:
        """(t', k) with t = t' + 168 k and the lists able to answer queries at t'."""
        while self._s[-1] <= t and self._covered() < self._tail_need:
            self._extend()
        if self._s[-1] > t:
            return t, 0
        # t lies in the periodic tail: fold it back onto the reference week.
        k = int((t - self._ref) // _WEEK)
        return t - k * _WEEK, k

    # ------------------------------------------------------------------ list primitives
    def _cum(self, t: float) -> float:
        s = self._s
        i = bisect_right(s, t) - 1
        if i < 0:
            return 0.0
        end = self._e[i]
        return self._c[i] + (t if t < end else end) - s[i]

    def _time_at(self, target: float) -> float:
        """Earliest time at which cumulative working time reaches `target` (> 0)."""
        c = self._c
        k = 0
        if target > c[-1] and not self._complete:
            while c[-1] < target and self._covered() < self._tail_need:
                self._extend()
            if target > c[-1]:
                # Periodic tail: fold the target back onto the reference week.
                k = int((target - self._cum(self._ref)) // self._week_hours)
                target -= k * self._week_hours
        # A target a rounding error past the end of a run belongs to that run, not to the
        # next opening (which may be a week later).
        i = max(bisect_left(c, target - _EPS) - 1, 0)
        return self._s[i] + (target - c[i]) + k * _WEEK

    # ------------------------------------------------------------------ queries
    def is_open(self, t: float) -> bool:
        """True if t (hours) is inside working time; runs are half-open [open, close)."""
        if self.always_open:
            return True
        if not (t < self._s[-1] or self._complete):
            t, _ = self._reduce(t)
        i = bisect_right(self._s, t) - 1
        return i >= 0 and t < self._e[i]

    def next_open(self, t: float) -> float:
        """Earliest working instant >= t (hours); t itself if open."""
        if self.always_open:
            return t
        k = 0
        if not (t < self._s[-1] or self._complete):
            t, k = self._reduce(t)
        s = self._s
        i = bisect_right(s, t) - 1
        if i >= 0 and t < self._e[i]:
            return t + k * _WEEK
        return s[i + 1] + k * _WEEK

    def next_close(self, t: float) -> float:
        """End (hours) of the working run containing t, or of the next one; inf if 24/7."""
        if self.always_open:
            return math.inf
        k = 0
        if not (t < self._s[-1] or self._complete):
            t, k = self._reduce(t)
        e = self._e
        i = bisect_right(self._s, t) - 1
        if i >= 0 and t < e[i]:
            return e[i] + k * _WEEK
        return e[i + 1] + k * _WEEK

    def cumulative(self, t: float) -> float:
        """Working hours in [0, t]."""
        if self.always_open:
            return t if t > 0.0 else 0.0
        if t < self._s[-1] or self._complete:
            return self._cum(t)
        t, k = self._reduce(t)
        return self._cum(t) + k * self._week_hours

    def working_hours(self, t0: float, t1: float) -> float:
        """Working hours inside [t0, t1] (0 if t1 <= t0)."""
        if t1 <= t0:
            return 0.0
        if self.always_open:
            return t1 - max(t0, 0.0) if t1 > 0.0 else 0.0
        return self.cumulative(t1) - self.cumulative(t0)

    def add_working_time(self, t: float, w: float) -> float:
        """Time (hours) at which w working hours have elapsed, starting work at next_open(t).

        w = 0 returns next_open(t); the result is the end of work, so a job filling a shift
        exactly finishes at the closing time rather than at the next opening.
        """
        if not w >= 0.0:
            raise ValueError(f"working time must be >= 0 hours, got {w!r}")
        if self.always_open:
            return t + w
        k = 0
        if not (t < self._s[-1] or self._complete):
            t, k = self._reduce(t)
        s, c = self._s, self._c
        i = bisect_right(s, t) - 1
        if i >= 0 and t < self._e[i]:
            t0, c0 = t, c[i] + (t - s[i])
            end = self._e[i]
        else:
            i += 1
            t0, c0 = s[i], c[i]
            end = self._e[i]
        if w == 0.0:
            return t0 + k * _WEEK
        if t0 + w <= end:
            # Common case: the job finishes within the current run.
            return t0 + w + k * _WEEK
        if w == math.inf:
            return math.inf
        return self._time_at(c0 + w) + k * _WEEK

    def open_fraction(self) -> float:
        """Long-run share of hours that are working hours (holidays ignored), in [0, 1]."""
        return min(self._week_hours / _WEEK, 1.0)

    def openings(self, t0: float, t1: float) -> list[float]:
        """Instants in [t0, t1) (hours) at which the calendar goes from closed to open."""
        if self.always_open or t1 <= t0:
            return []
        if not math.isfinite(t1):
            raise ValueError("openings() needs a finite end time t1")
        if not self._complete:
            while self._s[-1] < t1 and self._covered() < self._tail_need:
                self._extend()
        s = self._s
        lo = max(bisect_left(s, t0), 1 if self._clipped0 else 0)
        out = s[lo : bisect_left(s, t1)]
        if self._complete or t1 <= self._covered():
            return out
        # Beyond the built lists every run is an exact copy of the weekly template.
        starts = [lo for lo, _ in self._template]
        week = int(self._covered() // _WEEK)
        while week * _WEEK < t1:
            base = week * _WEEK
            out.extend(base + a for a in starts if t0 <= base + a < t1)
            week += 1
        return out

    def __reduce__(self) -> tuple[type[WorkingCalendar], tuple[Any, ...]]:
        """Pickled as its constructor's arguments (scenario models travel to worker processes):
        the weeks built so far are only a cache, and a compiled class has no __dict__ to copy."""
        return (WorkingCalendar, self._args)

    def __repr__(self) -> str:
        if self.always_open:
            return "WorkingCalendar.always()"
        days = ",".join(_DAY_NAMES[d] for d in sorted(self._days))
        hours = ",".join(_shift_label(a, b) for a, b in self._shifts)
        n_hol = len(self._hol_lo)
        return f"WorkingCalendar({self.start}, {days}, {hours}, {n_hol} holiday span(s))"


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
    """Hours of day (start, end) of "HH:MM-HH:MM"; end 24:00 allowed, end <= start = overnight."""
    bad = f'working hours {item!r} should look like "09:00-17:00" (24-hour clock, HH:MM-HH:MM)'
    if not isinstance(item, str):
        raise ValueError(bad)
    match = _HHMM.fullmatch(item)
    if match is None:
        raise ValueError(bad)
    h1, m1, h2, m2 = (int(g) if g else 0 for g in match.groups())
    if m1 > 59 or m2 > 59 or h1 > 23 or h2 > 24 or (h2 == 24 and m2 > 0):
        raise ValueError(f"working hours {item!r} contain an impossible time of day")
    return h1 + m1 / 60.0, h2 + m2 / 60.0
