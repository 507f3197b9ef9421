"""Tests of revsim.units: parsing and formatting of durations, rates and money."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from revsim.units import (
    HOURS,
    UnitError,
    format_duration,
    format_money,
    parse_duration,
    parse_money,
    parse_rate,
)

# Hours per unit, written out independently of the module's tables.
SPELLINGS = {
    1 / 3600: ["s", "sec", "secs", "second", "seconds"],
    1 / 60: ["min", "mins", "minute", "minutes"],
    1.0: ["h", "hr", "hrs", "hour", "hours"],
    24.0: ["d", "day", "days"],
    168.0: ["w", "wk", "wks", "week", "weeks"],
    30.4375 * 24: ["mo", "mos", "month", "months"],
    365.25 * 24: ["y", "yr", "yrs", "year", "years"],
}
ALL_SPELLINGS = [(name, hours) for hours, names in SPELLINGS.items() for name in names]


def test_hours_table_matches_contract() -> None:
    assert HOURS == pytest.approx(
        {"min": 1 / 60, "h": 1, "d": 24, "w": 168, "mo": 730.5, "y": 8766}, rel=1e-15
    )


@pytest.mark.parametrize(
    ("text", "hours"),
    [
        ("20 min", 20 / 60),
        ("4 h", 4.0),
        ("3 d", 72.0),
        ("2 w", 336.0),
        ("1.5h", 1.5),
        ("90 s", 0.025),
        ("6 mo", 6 * 30.4375 * 24),
        ("1 y", 365.25 * 24),
        ("3 Days", 72.0),
        ("  2 HRS ", 2.0),
        (".5 d", 12.0),
        ("1e2 min", 100 / 60),
        ("1 h 30 min", 1.5),
        ("0 h", 0.0),
    ],
)
def test_parse_duration_examples(text: str, hours: float) -> None:
    assert parse_duration(text) == pytest.approx(hours, rel=1e-12)


@pytest.mark.parametrize(("unit", "hours"), ALL_SPELLINGS)
def test_every_spelling_is_accepted(unit: str, hours: float) -> None:
    assert parse_duration(f"2 {unit}") == pytest.approx(2 * hours, rel=1e-12)
    assert parse_duration(f"2{unit.upper()}") == pytest.approx(2 * hours, rel=1e-12)


def test_timedelta_is_accepted() -> None:
    assert parse_duration(timedelta(days=1, hours=6)) == pytest.approx(30.0)
    with pytest.raises(UnitError, match="negative"):
        parse_duration(timedelta(hours=-1))


def test_unknown_unit_names_text_and_suggests_closest() -> None:
    with pytest.raises(UnitError) as err:
        parse_duration("3 dys")
    assert str(err.value) == 'unknown unit \'dys\' in "3 dys"; did you mean "d" (days)?'
    with pytest.raises(UnitError, match=r'did you mean "mo" \(months\)'):
        parse_duration("6 mon")
    with pytest.raises(UnitError, match=r'did you mean "w" \(weeks\)'):
        parse_duration("2 weks")


def test_unknown_unit_without_close_match_lists_units() -> None:
    with pytest.raises(UnitError, match="use one of: s, min, h, d, w, mo, y"):
        parse_duration("3 xyzzy")


def test_bare_m_is_ambiguous() -> None:
    with pytest.raises(UnitError) as err:
        parse_duration("5 m")
    message = str(err.value)
    assert '"5 m"' in message and '"min"' in message and '"mo"' in message


def test_bare_numbers_need_default_unit() -> None:
    for value in (3, 3.0, "3"):
        with pytest.raises(UnitError, match="no unit"):
            parse_duration(value)
    assert parse_duration(3, default_unit="h") == 3.0
    assert parse_duration("2", default_unit="d") == 48.0
    assert parse_duration("2 w", default_unit="d") == 336.0  # explicit unit wins
    with pytest.raises(UnitError, match="not a unit"):
        parse_duration(3, default_unit="fortnight")


@pytest.mark.parametrize(
    "bad", ["-3 h", "-0.5 d", "three days", "", "   ", "3,5 h", "1 h 30", "h", "nan h"]
)
def test_bad_durations_are_rejected(bad: str) -> None:
    with pytest.raises(UnitError):
        parse_duration(bad)


def test_negative_and_non_numbers_rejected() -> None:
    with pytest.raises(UnitError, match="negative"):
        parse_duration(-2, default_unit="h")
    with pytest.raises(UnitError):
        parse_duration(True, default_unit="h")  # type: ignore[arg-type]
    with pytest.raises(UnitError):
        parse_duration(None)  # type: ignore[arg-type]
    with pytest.raises(UnitError, match="finite"):
        parse_duration(math.inf, default_unit="h")


def test_field_is_prefixed_to_messages() -> None:
    with pytest.raises(UnitError, match=r"^stages\.demo\.duration: .*'dys'"):
        parse_duration("3 dys", field="stages.demo.duration")


def test_unit_error_is_a_value_error() -> None:
    assert issubclass(UnitError, ValueError)


@given(
    value=st.floats(min_value=0, max_value=1e9, allow_nan=False, allow_infinity=False),
    spelling=st.sampled_from(ALL_SPELLINGS),
    space=st.sampled_from(["", " ", "  "]),
)
def test_duration_round_trip_property(
    value: float, spelling: tuple[str, float], space: str
) -> None:
    unit, hours = spelling
    assert parse_duration(f"{value!r}{space}{unit}") == pytest.approx(value * hours, rel=1e-12)


@given(st.floats(min_value=0, max_value=1e7, allow_nan=False))
def test_timedelta_round_trip_property(hours: float) -> None:
    # timedelta stores microseconds, so compare at that resolution.
    assert parse_duration(timedelta(hours=hours)) == pytest.approx(hours, abs=1e-9 + 1e-12 * hours)


@given(st.floats(min_value=1e-3, max_value=1e6))
def test_format_duration_parses_back(hours: float) -> None:
    text = format_duration(hours)
    # Two or three significant figures: at most 5 % off.
    assert parse_duration(text) == pytest.approx(hours, rel=0.051)


@pytest.mark.parametrize(
    ("hours", "text"),
    [
        (0.75, "45 min"),
        (3.2, "3.2 h"),
        (98.4, "4.1 d"),
        (59.7 / 60, "1 h"),  # rounds up into the next unit, not "60 min"
        (0.0, "0 h"),
        (-5.0, "-5 h"),
        (730.5 * 3, "3 mo"),
        (8766 * 3, "3 y"),
    ],
)
def test_format_duration_examples(hours: float, text: str) -> None:
    assert format_duration(hours) == text


@pytest.mark.parametrize(
    ("text", "per_hour"),
    [
        ("40/w", 40 / 168),
        ("40 / week", 40 / 168),
        ("40 per week", 40 / 168),
        ("40 PER weeks", 40 / 168),
        ("3/d", 3 / 24),
        ("0.85/y", 0.85 / 8766),
        ("5/2 w", 5 / 336),
        ("10 per 30 min", 20.0),
        ("0/d", 0.0),
    ],
)
def test_parse_rate_examples(text: str, per_hour: float) -> None:
    assert parse_rate(text) == pytest.approx(per_hour, rel=1e-12)


def test_parse_rate_errors() -> None:
    with pytest.raises(UnitError, match=r'"40 w".*"40/w"'):
        parse_rate("40 w")
    with pytest.raises(UnitError, match=r"'wek' in \"40/wek\"; did you mean \"w\""):
        parse_rate("40/wek")
    with pytest.raises(UnitError, match="negative"):
        parse_rate("-3/d")
    with pytest.raises(UnitError, match="zero-length"):
        parse_rate("4/0 h")
    with pytest.raises(UnitError, match="no period"):
        parse_rate(40)
    with pytest.raises(UnitError, match="no period"):
        parse_rate("40/")
    assert parse_rate(40, default_unit="w") == pytest.approx(40 / 168)


@given(
    count=st.floats(min_value=0, max_value=1e6, allow_nan=False),
    spelling=st.sampled_from(ALL_SPELLINGS),
    sep=st.sampled_from(["/", " / ", " per "]),
)
def test_rate_round_trip_property(count: float, spelling: tuple[str, float], sep: str) -> None:
    unit, hours = spelling
    assert parse_rate(f"{count!r}{sep}{unit}") * hours == pytest.approx(count, rel=1e-12)


@pytest.mark.parametrize(
    ("value", "amount"),
    [
        (12000, 12000.0),
        ("12000", 12000.0),
        ("12k", 12000.0),
        ("$1.2M", 1.2e6),
        ("1,200", 1200.0),
        ("€3.5k", 3500.0),
        ("£250", 250.0),
        ("12k USD", 12000.0),
        ("EUR 3.5k", 3500.0),
        ("$1.5 bn", 1.5e9),
        ("2.5mm", 2.5e6),
        ("1,200,000.50", 1200000.5),
        ("-$500", -500.0),
        (7.25, 7.25),
    ],
)
def test_parse_money_examples(value: str | float, amount: float) -> None:
    assert parse_money(value) == pytest.approx(amount, rel=1e-12)


def test_parse_money_errors() -> None:
    with pytest.raises(UnitError, match=r'"1,20".*thousands'):
        parse_money("1,20")
    with pytest.raises(UnitError, match=r"'kk' in \"12kk\"; did you mean \"k\""):
        parse_money("12kk")
    for bad in ["abc", "$", "", "12 xyz", "--5"]:
        with pytest.raises(UnitError):
            parse_money(bad)
    with pytest.raises(UnitError):
        parse_money(math.nan)
    with pytest.raises(UnitError):
        parse_money(True)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("x", "currency", "text"),
    [
        (1.2e6, "USD", "$1.2M"),
        (950, "USD", "$950"),
        (12.5, "USD", "$12.50"),
        (12_345, "USD", "$12.3k"),
        (999_960, "USD", "$1M"),
        (3.5e9, "EUR", "€3.5B"),
        (-1500, "USD", "-$1.5k"),
        (250_000, "CHF", "CHF 250k"),
    ],
)
def test_format_money_examples(x: float, currency: str, text: str) -> None:
    assert format_money(x, currency) == text


@given(st.floats(min_value=1, max_value=1e13))
def test_format_money_parses_back(x: float) -> None:
    assert parse_money(format_money(x)) == pytest.approx(x, rel=0.051)
