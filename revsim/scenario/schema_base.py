"""Shared field types of the scenario schema: durations, rates, amounts, distributions."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from revsim.distributions import SPEC_JSON_SCHEMA
from revsim.units import parse_duration, parse_money, parse_rate


def _duration(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("expected a duration such as \"3 d\"")
    return parse_duration(value)


def _rate(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("expected a rate such as \"40/w\"")
    return parse_rate(value)


def _money(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("expected an amount such as 12000 or \"12k\"")
    return parse_money(value)


def _dist_shape(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (dict, str, int, float)):
        raise ValueError(
            "expected a distribution: a table such as { dist = \"lognormal\", median = \"2 d\","
            " p90 = \"9 d\" }, a fixed duration string, or a number"
        )
    return value


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
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
