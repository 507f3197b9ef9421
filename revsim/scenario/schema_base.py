"""Shared field types of the scenario schema: durations, rates, amounts, distributions."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from revsim.distributions import SPEC_JSON_SCHEMA
from revsim.errors import quoted
from revsim.limits import HOURS_PER_YEAR, MAX_AMOUNT, MAX_DURATION_YEARS
from revsim.units import format_duration, format_money, parse_duration, parse_money, parse_rate

MAX_DURATION_HOURS = MAX_DURATION_YEARS * HOURS_PER_YEAR


def _duration(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("expected a duration such as \"3 d\"")
    hours = parse_duration(value)
    if hours > MAX_DURATION_HOURS:
        raise ValueError(f"{format_duration(hours)} is longer than the "
                         f"{MAX_DURATION_YEARS:,} years any duration may be; check the unit")
    return hours


def _rate(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("expected a rate such as \"40/w\"")
    return parse_rate(value)


def _money(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("expected an amount such as 12000 or \"12k\"")
    amount = parse_money(value)
    if amount < 0:
        raise ValueError(f"amounts must be >= 0, got {quoted(value)}")
    if amount > MAX_AMOUNT:
        raise ValueError(f"{format_money(amount)} is more than the largest amount revsim "
                         f"handles ({format_money(MAX_AMOUNT)}); check the amount's suffix")
    return amount


def _dist_shape(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (dict, str, int, float)):
        raise ValueError(
            "expected a distribution: a table such as { dist = \"lognormal\", median = \"2 d\","
            " p90 = \"9 d\" }, a fixed duration string, or a number"
        )
    return value


def _iso_date(value: Any) -> Any:
    """A TOML date, or from Python an ISO ``YYYY-MM-DD`` string; never a number (pydantic
    would read 1700000000 as a timestamp)."""
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"{quoted(value)} is not a date of the calendar") from None
    return value


def _iso_moment(value: Any) -> Any:
    """A date or a date and time: TOML's, or an ISO string from Python."""
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return _iso_date(text)
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?", text):
            try:
                return dt.datetime.fromisoformat(text)
            except ValueError:
                raise ValueError(f"{quoted(value)} is not a time of the calendar") from None
    return value


Date = Annotated[dt.date, BeforeValidator(_iso_date)]
Moment = Annotated[dt.datetime | dt.date, BeforeValidator(_iso_moment)]
Duration = Annotated[
    float,
    BeforeValidator(_duration),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\s*[0-9.]+\s*[a-zA-Z]+\s*$",
            "description": "A duration with a unit: min, h, d, w, mo (30.44 d) or y (365.25 d).",
            "examples": ["20 min", "4 h", "3 d", "2 w"],
        }
    ),
]
Rate = Annotated[
    float,
    BeforeValidator(_rate),
    WithJsonSchema(
        {
            "type": "string",
            "description": "A rate: a count per unit of time.",
            "examples": ["40/w", "12 per day", "0.8/y"],
        }
    ),
]
Money = Annotated[
    float,
    BeforeValidator(_money),
    WithJsonSchema(
        {
            "anyOf": [{"type": "number", "minimum": 0}, {"type": "string"}],
            "description": "An amount in the scenario currency.",
            "examples": [12000, "12k", "$1.2M"],
        }
    ),
]
DistSpec = Annotated[Any, BeforeValidator(_dist_shape), WithJsonSchema(SPEC_JSON_SCHEMA)]
Probability = Annotated[float, Field(ge=0, le=1)]


class Section(BaseModel):
    # strict: true is not 1, "3" is not 3, and a date is a TOML date, not a string or a
    # timestamp; inf and NaN are never a valid number of anything
    model_config = ConfigDict(extra="forbid", populate_by_name=True, strict=True,
                              allow_inf_nan=False)
