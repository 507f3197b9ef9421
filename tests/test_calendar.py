"""Tests of revsim.engine.calendar.WorkingCalendar (and the calendar text it is built from).

Most checks compare against `Oracle`, a deliberately naive re-implementation that lists
every shift day by day, cuts holidays out and scans linearly.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from revsim.engine.calendar import WorkingCalendar
from revsim.scenario.compile_calendar import calendar_from_text

MON = date(2025, 1, 6)  # a Monday
TOL = 1e-9


class Oracle:
    """Open intervals listed explicitly for the first `n_days` days (plus the night before)."""

    def __init__(self, start, days, shifts, holidays, n_days):
        raw = []
        self.clipped0 = False
        for d in range(-1, n_days):
            if (start.weekday() + d) % 7 in days:
                for a, b in shifts:
                    raw.append((24 * d + a, 24 * d + (b if b > a else b + 24)))
        # Work running (or just ending) at t = 0 began before the start: not an opening.
        self.clipped0 = any(lo < 0.0 <= hi for lo, hi in raw)
        cut = sorted(24 * (h - start).days for h in set(holidays) if h >= start)
        pieces = []
        for lo, hi in raw:
            segs = [(max(lo, 0.0), hi)]
            for h in cut:
                segs = [p for s0, s1 in segs for p in ((s0, min(s1, h)), (max(s0, h + 24), s1))]
            pieces += [(s0, s1) for s0, s1 in segs if s1 > s0]
        pieces.sort()
        merged: list[list[float]] = []
        for lo, hi in pieces:
            if merged and lo <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], hi)
            else:
                merged.append([lo, hi])
        self.runs = merged
        self.limit = 24.0 * n_days

    def is_open(self, t):
        return any(lo <= t < hi for lo, hi in self.runs)

    def cumulative(self, t):
        return sum(max(0.0, min(hi, t) - lo) for lo, hi in self.runs)

    def next_open(self, t):
        return t if self.is_open(t) else min(lo for lo, _ in self.runs if lo > t)

    def next_close(self, t):
        return min(hi for lo, hi in self.runs if hi > t)

    def add_working_time(self, t, w):
        t = self.next_open(t)
        for lo, hi in self.runs:
            if hi <= t:
                continue
            lo = max(lo, t)
            if lo + w <= hi:
                return lo + w
            w -= hi - lo
        raise AssertionError("oracle horizon too short")

    def openings(self, t0, t1):
        return [lo for lo, _ in self.runs if t0 <= lo < t1 and not (lo == 0.0 and self.clipped0)]


@st.composite
def calendar_specs(draw, max_holiday_day=60):
    """Random start, working days, disjoint shifts (some overnight) and holidays."""
    start = draw(st.dates(date(2020, 1, 1), date(2030, 12, 31)))
    days = draw(st.sets(st.integers(0, 6), min_size=1))
    n = draw(st.integers(1, 3))
    quarters = sorted(
        draw(st.lists(st.integers(0, 95), min_size=2 * n, max_size=2 * n, unique=True))
    )
    # Rotating disjoint arcs of the 24 h clock yields overnight shifts too.
    rot = draw(st.integers(0, 95))
    shifts = [
        (((quarters[2 * i] + rot) % 96) / 4, ((quarters[2 * i + 1] + rot) % 96) / 4)
        for i in range(n)
    ]
    offsets = draw(st.lists(st.integers(-3, max_holiday_day), max_size=6))
    holidays = [start + timedelta(days=k) for k in offsets]
    return start, days, shifts, holidays


def build(spec):
    start, days, shifts, holidays = spec
    return WorkingCalendar(start, days, shifts, holidays)


# ----------------------------------------------------------------------------- basics
def test_weekday_nine_to_five_examples() -> None:
    cal = WorkingCalendar(MON, range(5), [(9, 17)])
    assert not cal.always_open
    assert cal.is_open(9.0) and not cal.is_open(17.0) and not cal.is_open(8.99)
    assert cal.next_open(0.0) == 9.0
    assert cal.next_open(10.0) == 10.0
    assert cal.next_close(10.0) == 17.0
    assert cal.next_close(18.0) == 24 + 17.0
    # Friday 16:00 + 2 working hours -> Monday 10:00.
    assert cal.add_working_time(4 * 24 + 16, 2.0) == 7 * 24 + 10
    # Filling the shift exactly ends at closing time, not at the next opening.
    assert cal.add_working_time(9.0, 8.0) == 17.0
    # w = 0 is next_open.
    assert cal.add_working_time(20.0, 0.0) == 24 + 9.0
    assert cal.cumulative(7 * 24) == 40.0
    assert cal.working_hours(12.0, 24 + 12) == 8.0
    assert cal.working_hours(30.0, 20.0) == 0.0
    assert cal.open_fraction() == pytest.approx(40 / 168)
    assert cal.openings(0, 7 * 24) == [9.0, 33.0, 57.0, 81.0, 105.0]


def test_negative_or_nan_working_time_rejected() -> None:
    cal = WorkingCalendar(MON, range(5), [(9, 17)])
    with pytest.raises(ValueError):
        cal.add_working_time(0.0, -1.0)
    with pytest.raises(ValueError):
        cal.add_working_time(0.0, math.nan)
    assert cal.add_working_time(0.0, math.inf) == math.inf


def test_always_open_is_identity() -> None:
    cal = WorkingCalendar.always()
    assert cal.always_open
    assert cal.is_open(123.4)
    assert cal.next_open(5.5) == 5.5
    assert cal.next_close(5.5) == math.inf
    assert cal.cumulative(77.0) == 77.0
    assert cal.add_working_time(3.25, 10.5) == 13.75
    assert cal.working_hours(2.0, 9.0) == 7.0
    assert cal.open_fraction() == 1.0
    assert cal.openings(0.0, 1000.0) == []
    # Seven full days of shifts is the same thing.
    assert WorkingCalendar(MON, range(7), [(0, 24)]).always_open


def test_holiday_removes_whole_day() -> None:
    christmas = date(2025, 12, 25)  # a Thursday
    start = date(2025, 12, 22)  # Monday of that week
    cal = WorkingCalendar(start, range(5), [(9, 17)], holidays=[christmas, date(2020, 1, 1)])
    assert cal.cumulative(7 * 24) == 32.0
    assert not cal.is_open(3 * 24 + 10)
    assert cal.next_open(3 * 24 + 10) == 4 * 24 + 9
    # Wednesday 16:00 + 2 h skips Christmas: Friday 10:00.
    assert cal.add_working_time(2 * 24 + 16, 2.0) == 4 * 24 + 10
    assert cal.openings(0, 7 * 24) == [9.0, 33.0, 57.0, 105.0]


def test_holidays_on_every_working_day_for_a_year() -> None:
    holidays = [MON + timedelta(days=k) for k in range(400)]
    cal = WorkingCalendar(MON, range(5), [(9, 17)], holidays)
    assert (MON + timedelta(days=400)).weekday() == 1  # first day back is a Tuesday
    assert cal.next_open(0.0) == 400 * 24 + 9
    assert cal.cumulative(400 * 24.0) == 0.0
    assert cal.add_working_time(0.0, 8.0) == 400 * 24 + 17


def test_full_week_with_holiday_is_not_always_open() -> None:
    cal = WorkingCalendar(MON, range(7), [(0, 24)], holidays=[MON + timedelta(days=2)])
    assert not cal.always_open
    assert cal.is_open(47.9) and not cal.is_open(48.0) and cal.is_open(72.0)
    assert cal.next_close(10.0) == 48.0
    assert cal.next_close(100.0) == math.inf
    assert cal.add_working_time(40.0, 10.0) == 74.0
    assert cal.cumulative(1e6) == pytest.approx(1e6 - 24)
    assert cal.add_working_time(1e6, 5.0) == 1e6 + 5
    assert cal.openings(0.0, 1e5) == [72.0]
    assert cal.open_fraction() == 1.0


# ----------------------------------------------------------------------------- overnight
def test_overnight_shift_is_split_across_midnight() -> None:
    cal = WorkingCalendar(MON, range(5), [(22, 6)])  # Mon..Fri nights
    assert not cal.is_open(3.0)  # Sunday night is off, so Monday 03:00 is closed
    assert cal.is_open(22.0) and cal.is_open(24 + 3.0)
    assert cal.next_close(22.5) == 30.0
    assert cal.is_open(5 * 24 + 5.5)  # Friday's shift runs into Saturday morning
    assert not cal.is_open(5 * 24 + 22.5)  # but Saturday night is off
    assert cal.cumulative(7 * 24) == 40.0
    # Touching shifts across midnight form one run.
    nights = WorkingCalendar(MON, range(5), [(22, 0), (0, 6)])
    assert nights.next_close(22.0) == 30.0
    assert nights.openings(0.0, 48.0) == [0.0, 22.0, 46.0]


def test_overnight_shift_running_at_start() -> None:
    tuesday = date(2025, 1, 7)
    cal = WorkingCalendar(tuesday, range(5), [(22, 6)])
    # Monday's night shift is still running at t = 0 ...
    assert cal.is_open(0.0) and cal.next_close(0.0) == 6.0
    # ... but it did not *open* at t = 0.
    assert cal.openings(0.0, 30.0) == [22.0]
    assert cal.cumulative(24.0) == 8.0


def test_holiday_cuts_overnight_shift_at_midnight() -> None:
    # Holiday on Tuesday: Monday's shift stops at midnight, Tuesday's shift does not run
    # its 22:00-24:00 part but its Wednesday 00:00-06:00 part does.
    cal = WorkingCalendar(MON, range(5), [(22, 6)], holidays=[MON + timedelta(days=1)])
    assert cal.next_close(22.5) == 24.0
    assert not cal.is_open(24 + 3.0) and not cal.is_open(24 + 23.0)
    assert cal.is_open(48 + 1.0)
    assert cal.openings(0.0, 72.0) == [22.0, 48.0, 70.0]


def test_full_day_shift_touching_next_day_is_one_run() -> None:
    cal = WorkingCalendar(MON, [0, 1], [(0, 24)])
    assert cal.next_close(1.0) == 48.0
    assert cal.openings(0.0, 168.0) == [0.0]


# ----------------------------------------------------------------------------- far future
def nine_to_five_cumulative(t: float) -> float:
    weeks, rest = divmod(t, 168.0)
    days, hour = divmod(rest, 24.0)
    partial = 8.0 * min(days, 5) + (min(max(hour - 9.0, 0.0), 8.0) if days < 5 else 0.0)
    return 40.0 * weeks + partial


@pytest.mark.parametrize("t", [1e4, 123_456.7, 1e6 + 0.5, 5e7 + 10.0])
def test_far_future_matches_closed_form(t: float) -> None:
    cal = WorkingCalendar(MON, range(5), [(9, 17)])
    assert cal.cumulative(t) == pytest.approx(nine_to_five_cumulative(t), abs=1e-6)
    end = cal.add_working_time(t, 1000.0)
    assert cal.cumulative(end) - cal.cumulative(cal.next_open(t)) == pytest.approx(1000.0, abs=1e-6)
    assert nine_to_five_cumulative(end) - nine_to_five_cumulative(t) == pytest.approx(
        1000.0, abs=1e-6
    )


def test_lazy_extension_beyond_late_holidays_matches_oracle() -> None:
    start = date(2024, 3, 1)
    shifts = [(8.5, 12), (13, 17.25), (22, 2)]
    days = {0, 1, 2, 4, 6}
    holidays = [start + timedelta(days=k) for k in (0, 5, 400, 1100, 1101, 2000)]
    cal = WorkingCalendar(start, days, shifts, holidays)
    oracle = Oracle(start, days, shifts, holidays, n_days=365 * 8)
    days_out = (0.0, 0.4, 399.5, 1100.1, 1999.9, 2000.5, 2100.01, 2500.7, 365 * 7.5)
    for t in (24 * d for d in days_out):
        assert cal.is_open(t) == oracle.is_open(t), t
        assert cal.cumulative(t) == pytest.approx(oracle.cumulative(t), abs=1e-6), t
        assert cal.next_open(t) == pytest.approx(oracle.next_open(t), abs=1e-6), t
        assert cal.next_close(t) == pytest.approx(oracle.next_close(t), abs=1e-6), t
        for w in (0.5, 37.0, 900.0):
            assert cal.add_working_time(t, w) == pytest.approx(
                oracle.add_working_time(t, w), abs=1e-6
            ), (t, w)
    t0, t1 = 24 * 1995.0, 24 * 2200.0
    assert cal.openings(t0, t1) == pytest.approx(oracle.openings(t0, t1))


# ----------------------------------------------------------------------------- properties
@settings(max_examples=150, deadline=None)
@given(spec=calendar_specs(), data=st.data())
def test_agrees_with_oracle(spec, data) -> None:
    cal = build(spec)
    oracle = Oracle(*spec, n_days=120)
    for _ in range(5):
        t = data.draw(st.floats(0, 24 * 75))
        assert cal.is_open(t) == oracle.is_open(t)
        assert cal.cumulative(t) == pytest.approx(oracle.cumulative(t), abs=TOL)
        assert cal.next_open(t) == pytest.approx(oracle.next_open(t), abs=TOL)
        assert cal.next_close(t) == pytest.approx(oracle.next_close(t), abs=TOL)
        # Up to ~5 weeks of work, so the answer stays inside the oracle's horizon.
        w = data.draw(st.floats(0, 5)) * 168 * cal.open_fraction()
        assert cal.add_working_time(t, w) == pytest.approx(oracle.add_working_time(t, w), abs=1e-8)
    t0 = data.draw(st.floats(0, 24 * 60))
    t1 = t0 + data.draw(st.floats(0, 24 * 20))
    assert cal.openings(t0, t1) == oracle.openings(t0, t1)
    _, days, shifts, _ = spec
    per_day = sum((b - a) if b > a else (b + 24 - a) for a, b in shifts)
    assert cal.open_fraction() == pytest.approx(len(days) * per_day / 168)


@settings(max_examples=150, deadline=None)
@given(
    spec=calendar_specs(max_holiday_day=800),
    t=st.floats(0, 2e5),
    w=st.floats(0, 5000),
)
def test_add_working_time_adds_exactly_w(spec, t, w) -> None:
    cal = build(spec)
    end = cal.add_working_time(t, w)
    assert end >= cal.next_open(t) >= t
    assert cal.cumulative(end) - cal.cumulative(cal.next_open(t)) == pytest.approx(w, abs=TOL)


@settings(max_examples=100, deadline=None)
@given(
    spec=calendar_specs(max_holiday_day=800),
    ts=st.lists(st.floats(0, 1e5), min_size=3, max_size=3),
)
def test_working_hours_additive(spec, ts) -> None:
    cal = build(spec)
    a, b, c = sorted(ts)
    total = cal.working_hours(a, c)
    assert cal.working_hours(a, b) + cal.working_hours(b, c) == pytest.approx(total, abs=TOL)
    assert 0.0 <= total <= c - a + TOL


@settings(max_examples=100, deadline=None)
@given(
    spec=calendar_specs(max_holiday_day=800),
    t=st.floats(0, 1e5),
    dt=st.floats(0, 500),
    w=st.floats(0, 3000),
    dw=st.floats(0, 300),
)
def test_add_working_time_monotone(spec, t, dt, w, dw) -> None:
    cal = build(spec)
    assert cal.add_working_time(t + dt, w) >= cal.add_working_time(t, w)
    assert cal.add_working_time(t, w + dw) >= cal.add_working_time(t, w)


# ----------------------------------------------------------------------------- from text
def test_from_text_ranges_and_names() -> None:
    cal = WorkingCalendar.of(calendar_from_text(
        MON, ["mon-wed", "Friday"], ["09:00-12:00", "13:00-17:00"], holidays=["2025-01-08"]
    ))
    assert cal.cumulative(168.0) == 7 * 3
    wrap = WorkingCalendar.of(calendar_from_text(MON, ["fri-mon"], ["9:00-17:00"], []))
    assert [d for d in range(7) if wrap.is_open(24 * d + 10)] == [0, 4, 5, 6]
    late = WorkingCalendar.of(calendar_from_text(MON, ["weekdays"], ["18:30-24:00"], []))
    assert late.cumulative(24.0) == 5.5
    night = WorkingCalendar.of(calendar_from_text(MON, ["mon"], ["22:00-06:00+1"], []))
    assert night.cumulative(168.0) == 8.0 and night.is_open(24 + 5.9)
    full = WorkingCalendar.of(calendar_from_text(MON, ["mon"], ["09:00-09:00+1"], []))
    assert full.cumulative(168.0) == 24.0


@pytest.mark.parametrize(
    ("days", "hours", "pattern"),
    [
        (["mnday"], ["09:00-17:00"], r"unknown day 'mnday'.*did you mean \"mon"),
        (["mon-frid"], ["09:00-17:00"], r"unknown day 'frid'.*did you mean \"fri"),
        (["mon"], ["9am-5pm"], r"'9am-5pm'.*HH:MM-HH:MM"),
        (["mon"], ["09:00-25:00"], r"impossible time"),
        (["mon"], ["09:75-12:00"], r"impossible time"),
        (["mon"], ["09:00-12:00", "11:00-13:00"], r"09:00-12:00 and 11:00-13:00 overlap"),
        (["mon", "tue"], ["22:00-06:00+1", "05:00-10:00"], r"overlap across midnight"),
        (["mon"], ["9-5"], r"'9-5'.*HH:MM-HH:MM"),
        (["mon"], ["9-17"], r"'9-17'.*HH:MM-HH:MM"),
        (["mon"], ["09:00 to 17:00"], r"HH:MM-HH:MM"),
        (["mon"], ["22:00-06:00"], r"end before they start.*\+1.*22:00-06:00\+1"),
        (["mon"], ["09:00-09:00"], r"zero-length"),
        (["mon"], ["09:00-17:00+1"], r"more than 24 hours"),
        ([], ["09:00-17:00"], r"no working time"),
        (["mon"], [], r"no working time"),
    ],
)
def test_from_text_errors(days, hours, pattern) -> None:
    with pytest.raises(ValueError, match=pattern):
        calendar_from_text(MON, days, hours, [])


def test_from_text_bad_holiday() -> None:
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        calendar_from_text(MON, ["mon"], ["09:00-17:00"], ["Christmas"])


@pytest.mark.parametrize(
    ("days", "hours"),
    [([7], [(9, 17)]), ([-1], [(9, 17)]), ([0], [(9, 25)]), ([0], [(24, 3)]), ([0], [(9,)])],
)
def test_constructor_rejects_bad_input(days, hours) -> None:
    with pytest.raises(ValueError):
        WorkingCalendar(MON, days, hours)


def test_add_working_time_over_many_starts() -> None:
    # Its speed is measured in benchmarks/calendar_speed.py; here, that every result is right.
    cal = WorkingCalendar(MON, range(5), [(9, 17)], holidays=[date(2025, 12, 25)])
    for t in ((k * 7.31) % 20_000 for k in range(20_000)):
        end = cal.add_working_time(t, 13.7)
        assert end >= t + 13.7
        assert cal.working_hours(t, end) == pytest.approx(13.7, abs=1e-9)
        assert cal.working_hours(t, end - 1e-6) < 13.7  # and not later than needed
