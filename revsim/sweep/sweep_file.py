"""A sweep file: its ``[sweep]`` table read and checked field by field, every problem at once,
each naming the file and the field (``sweep.params.pools.sdr.headcount``), never the flags."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError

from revsim.errors import Problem, ScenarioError, quoted
from revsim.limits import HOURS_PER_YEAR, MAX_HORIZON_YEARS, MAX_POINTS, MAX_REPLICATIONS
from revsim.scenario.load import read_toml
from revsim.scenario.schema_base import Duration, Section
from revsim.scenario.validate import pydantic_problems
from revsim.sweep.design import Param, parse_param
from revsim.text_files import value_problems

Level = str | int | float | dict[str, Any] | list[Any]


class VariantSpec(Section):
    """One named variant: a name and the overrides that make it."""

    name: str = Field(min_length=1, max_length=200, description="Shown in the tables.")
    changes: dict[str, Any] = Field(alias="set", description="Dotted path -> value.")


class SweepTable(Section):
    """The ``[sweep]`` table; a flag given on the command line wins over its field."""

    design: Literal["grid", "lhs", "variants"] | None = None
    points: int | None = Field(None, ge=1, le=MAX_POINTS)
    replications: int | None = Field(None, ge=1, le=MAX_REPLICATIONS)
    seed: int | None = Field(None, ge=0)
    horizon: Duration | None = Field(None, gt=0, le=MAX_HORIZON_YEARS * HOURS_PER_YEAR)
    warmup: Duration | None = None
    params: dict[str, str | int | float | list[Level]] = Field(default_factory=dict)
    variants: list[VariantSpec] = Field(default_factory=list)


@dataclass
class SweepFile:
    """What a sweep file asks for (None: not given, the flag or the default decides)."""

    path: str
    design: str | None = None
    points: int | None = None
    replications: int | None = None
    seed: int | None = None
    horizon: float | None = None
    warmup: float | None = None
    params: list[Param] = field(default_factory=list)
    variants: list[dict[str, Any]] = field(default_factory=list)


def read_sweep_file(path: str | Path) -> SweepFile:
    """Read and check the sweep file ``path``; raises ScenarioError naming it and each field."""
    source = str(path)
    data = read_toml(path)
    problems = value_problems(data)
    for key in data:
        if key != "sweep":
            problems.append(Problem(key, "unknown table; a sweep file holds one [sweep] table"))
    body = data.get("sweep")
    if not isinstance(body, Mapping):
        problems.append(Problem("sweep", "a sweep file needs a [sweep] table"))
        raise ScenarioError(problems, source)
    try:
        table = SweepTable.model_validate(body)
    except ValidationError as err:
        problems += pydantic_problems(err, "sweep", SweepTable)
        raise ScenarioError(problems, source) from None
    params = []
    for name, value in table.params.items():
        where = f"sweep.params.{name}"
        try:
            params.append(_param(name, value, source, where))
        except ScenarioError as err:
            problems += err.problems
    if problems:
        raise ScenarioError(problems, source)
    return SweepFile(source, table.design, table.points, table.replications, table.seed,
                     table.horizon, table.warmup, params,
                     [{"name": v.name, "set": v.changes} for v in table.variants])


def _param(name: str, value: Any, source: str, where: str) -> Param:
    if isinstance(value, list):
        if not value:
            raise ScenarioError([Problem(where, "no levels given; e.g. [2, 4, 6]")], source)
        if any(isinstance(v, bool) for v in value):
            raise ScenarioError([Problem(where, f"true and false are not levels "
                                         f"(got {quoted(value)})")], source)
        if not name.strip():
            raise ScenarioError([Problem(where, "the parameter needs a dotted path")], source)
        return Param(name.strip(), tuple(value), source=source, field=where)
    if isinstance(value, int | float):
        return Param(name.strip(), (value,), source=source, field=where)
    return parse_param(f"{name}={value}", source, where)
