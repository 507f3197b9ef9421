"""Working calendars: when work can happen, measured in simulation hours.

t = 0 is midnight at the start date. The calendar is a weekly pattern of shifts minus
holidays (whole clock days), checked and merged into weekly open runs by
:mod:`revsim.scenario.compile_calendar`. The pattern is treated as periodic in both directions,
so an overnight shift that began the evening before the start date is already running at t = 0.

Open time is stored as maximal "runs" [start, end) in Python lists, together with the
working hours accumulated before each run, so scalar queries are one bisect. The lists are
built lazily in blocks of 52 weeks. Beyond the last holiday the calendar repeats weekly, so
queries far in the future are folded back onto a reference week instead of growing the
lists without bound (a heavy-tailed task duration must not exhaust memory).
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from datetime import date
from typing import Any

from revsim.scenario.compile_calendar import DAY_NAMES, calendar_model, shift_label
from revsim.scenario.model import CalendarModel

__all__ = ["WorkingCalendar"]

_EPS = 1e-9  # hours (3.6 microseconds)
_WEEK = 168.0
_BLOCK_WEEKS = 52


class WorkingCalendar:
    """Weekly working hours minus holidays, queried in simulation hours since start."""

    __slots__ = (
        "always_open",
        "start",
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
        "model",
    )

    def __init__(
        self,
        start: date,
        days: Iterable[Any],
        hours: Iterable[Any],
        holidays: Iterable[Any] = (),
    ) -> None:
        """Calendar open on `days` (0=Mon) during `hours` of day (end <= start: overnight);
        the arguments are checked by :func:`~revsim.scenario.compile_calendar.calendar_model`."""
        model = calendar_model(start, days, hours, holidays)
        self.model = model
        self.start = model.start
        self._template = list(model.runs)
        self._week_hours = model.week_hours()
        spans = model.holiday_spans
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
    def of(cls, model: CalendarModel) -> WorkingCalendar:
        """The calendar that answers time queries on a scenario's calendar."""
        return cls(model.start, model.days, model.shifts, model.holidays)

    @classmethod
    def always(cls, start: date | None = None) -> WorkingCalendar:
        """A 24/7 calendar: every query is identity arithmetic."""
        return cls(start or date(2000, 1, 3), range(7), [(0.0, 24.0)])

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
        m = self.model
        return (WorkingCalendar, (m.start, m.days, m.shifts, m.holidays))

    def __repr__(self) -> str:
        if self.always_open:
            return "WorkingCalendar.always()"
        days = ",".join(DAY_NAMES[d] for d in self.model.days)
        hours = ",".join(shift_label(a, b) for a, b in self.model.shifts)
        n_hol = len(self._hol_lo)
        return f"WorkingCalendar({self.start}, {days}, {hours}, {n_hol} holiday span(s))"
