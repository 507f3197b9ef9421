"""Experiment designs: a full grid, a Latin hypercube, or a list of named variants.

A design is a list of points; a point is a name and a mapping of dotted scenario paths to
values. Point names are derived from the values, so they do not depend on the order in which
points are generated or run.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import qmc

from revsim.errors import Problem, ScenarioError, clip
from revsim.limits import MAX_POINTS
from revsim.scenario.load import parse_value


@dataclass(frozen=True)
class Point:
    """One scenario variant of a sweep: a stable id, a label and its overrides."""

    id: str
    label: str
    changes: dict[str, Any]


@dataclass(frozen=True)
class Param:
    """A swept parameter: a dotted path and either explicit levels or a numeric range."""

    path: str
    levels: tuple[Any, ...] | None = None  # explicit values (grid)
    low: float | None = None  # range (LHS, or a grid with a step)
    high: float | None = None
    step: float | None = None
    integer: bool = False
    source: str = "--param"  # where it was given: the flag, or a sweep file (for messages)
    field: str | None = None  # its dotted path in that file


def point_id(changes: Mapping[str, Any]) -> str:
    text = json.dumps(dict(sorted(changes.items())), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def _number(text: str) -> int | float:
    value = float(text)
    return int(value) if value.is_integer() and "." not in text and "e" not in text.lower() \
        else value


def parse_param(spec: str, source: str = "--param", field: str | None = None) -> Param:
    """``path=2:8`` (integers 2..8), ``path=0.1:0.5:0.1`` (a stepped range), ``path=4,6,8``
    (levels) or ``path=net 15`` (one level). Problems name ``source`` (the flag, or the sweep
    file) and ``field`` (default: the parameter's path)."""
    path, sep, values = spec.partition("=")
    path, values = path.strip(), values.strip()
    where = field or clip(path, 100)
    if not sep or not path or not values:
        raise ScenarioError([Problem(field or clip(spec, 100),
                                     "expected PATH=LOW:HIGH[:STEP] or PATH=A,B,C")], source)
    if re.fullmatch(r"[-+0-9.eE]+:[-+0-9.eE]+(:[-+0-9.eE]+)?", values):
        parts = values.split(":")
        try:
            low, high = _number(parts[0]), _number(parts[1])
            step = _number(parts[2]) if len(parts) == 3 else None
        except ValueError:
            raise ScenarioError([Problem(where, f"cannot read the range {clip(repr(values))}")],
                                source) from None
        if not all(math.isfinite(v) for v in (low, high, step if step is not None else 0)):
            raise ScenarioError([Problem(where, f"the range {clip(values)} is not finite")],
                                source)
        if high < low:
            raise ScenarioError([Problem(where, f"empty range {clip(values)}: the high end "
                                         f"({high}) is below the low end ({low})")], source)
        if step is not None and step <= 0:
            raise ScenarioError([Problem(where, f"the step must be positive, got {step}")],
                                source)
        integer = all(isinstance(v, int) for v in (low, high)) and \
            (step is None or isinstance(step, int))
        param = Param(path, None, float(low), float(high), float(step) if step else None, integer,
                      source, field)
        if param.step is not None or integer:
            count = level_count(param)
            if count > MAX_POINTS:
                raise ScenarioError([Problem(where, f"the range {clip(values)} has {count:,.0f} "
                                             f"levels, more than the {MAX_POINTS:,} points a "
                                             "sweep may have; take a larger step")], source)
        return param
    levels = tuple(parse_value(v.strip(), source) for v in values.split(",") if v.strip())
    if not levels:
        raise ScenarioError([Problem(where, "no values given")], source)
    return Param(path, levels, source=source, field=field)


def level_count(p: Param) -> float:
    """How many levels ``p`` takes in a grid (computed, not built: it may be huge)."""
    if p.levels is not None:
        return float(len(p.levels))
    assert p.low is not None and p.high is not None
    step = p.step if p.step is not None else 1.0
    return math.floor((p.high - p.low) / step + 1e-9) + 1.0


def grid_levels(p: Param, source: str = "--param") -> list[Any]:
    """The levels a parameter takes in a full grid."""
    if p.levels is not None:
        return list(p.levels)
    assert p.low is not None and p.high is not None
    step = p.step if p.step is not None else (1.0 if p.integer else None)
    if step is None:
        raise ScenarioError([Problem(p.path, "a non-integer range needs a step for a grid "
                                     "(LOW:HIGH:STEP), or use the Latin hypercube design")],
                            source)
    n = int(level_count(p))
    values = [p.low + i * step for i in range(n)]
    return [int(round(v)) for v in values] if p.integer else [round(v, 12) for v in values]


def point_label(changes: Mapping[str, Any]) -> str:
    return ", ".join(f"{k.split('.', 1)[-1] if k.count('.') > 1 else k}={v}"
                     for k, v in changes.items())


def grid(params: Sequence[Param]) -> list[Point]:
    """Every combination of every parameter's levels."""
    if not params:
        raise ScenarioError([Problem("--param", "a grid needs at least one parameter")], "sweep")
    size = math.prod(level_count(p) for p in params if p.levels is not None or
                     p.step is not None or p.integer)
    if size > MAX_POINTS:
        raise ScenarioError([Problem("--param", f"the grid has {size:,.0f} points (the product "
                                     f"of every parameter's levels), more than the "
                                     f"{MAX_POINTS:,} a sweep may have; use fewer levels or "
                                     "the Latin hypercube design (--design lhs --points N)")],
                            "sweep")
    axes = [grid_levels(p) for p in params]
    points = []
    for combo in itertools.product(*axes):
        changes = {p.path: v for p, v in zip(params, combo, strict=True)}
        points.append(Point(point_id(changes), point_label(changes), changes))
    return points


def latin_hypercube(params: Sequence[Param], n: int, seed: int) -> list[Point]:
    """``n`` points spread over the parameter ranges (integers rounded), reproducible by seed."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ScenarioError([Problem("--points", "a Latin hypercube needs at least 1 point "
                                     f"(a whole number), got {clip(repr(n))}")], "sweep")
    if n > MAX_POINTS:
        raise ScenarioError([Problem("--points", f"{n:,} points are more than the "
                                     f"{MAX_POINTS:,} a sweep may have")], "sweep")
    if not params:
        raise ScenarioError([Problem("--param", "a Latin hypercube needs at least one "
                                     "parameter")], "sweep")
    ranged = [p for p in params if p.low is not None]
    if len(ranged) != len(params):
        bad = [p.path for p in params if p.low is None]
        raise ScenarioError([Problem(path, "a Latin hypercube needs a range LOW:HIGH")
                             for path in bad], "sweep")
    sampler = qmc.LatinHypercube(d=len(params), seed=np.random.default_rng(seed))
    unit = sampler.random(n)
    points = []
    seen = set()
    for row in unit:
        changes = {}
        for p, u in zip(params, row, strict=True):
            assert p.low is not None and p.high is not None
            value = p.low + u * (p.high - p.low)
            changes[p.path] = int(round(value)) if p.integer else round(float(value), 6)
        pid = point_id(changes)
        if pid in seen:
            continue  # rounding integers can repeat a point
        seen.add(pid)
        points.append(Point(pid, point_label(changes), changes))
    return points


def variants(items: Sequence[Mapping[str, Any]], source: str = "sweep") -> list[Point]:
    """Named variants: each item has ``name`` and ``set`` (a mapping of path -> value)."""
    points = []
    problems = []
    if len(items) > MAX_POINTS:
        raise ScenarioError([Problem("variants", f"{len(items):,} variants are more than the "
                                     f"{MAX_POINTS:,} points a sweep may have")], source)
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            problems.append(Problem(f"variants.{i}", "each variant is a table with name and set"))
            continue
        name, changes = item.get("name"), item.get("set")
        if not isinstance(name, str) or not isinstance(changes, Mapping):
            problems.append(Problem(f"variants.{i}", "each variant needs name = \"...\" and "
                                    "set = { \"path\" = value, ... }"))
            continue
        points.append(Point(point_id({"__name__": name, **changes}), name, dict(changes)))
    if problems:
        raise ScenarioError(problems, source)
    return points


@dataclass
class SweepSpec:
    """What a sweep runs: a base scenario, its points, replications, root seed and window."""

    base: dict[str, Any]
    points: list[Point]
    replications: int
    seed: int
    horizon: float | None = None
    warmup: float | None = None
    design: str = "grid"

    def hash(self) -> str:
        """Fingerprint of everything that determines the results."""
        body = json.dumps({
            "base": self.base, "points": [(p.id, p.changes) for p in self.points],
            "replications": self.replications, "seed": self.seed, "horizon": self.horizon,
            "warmup": self.warmup,
        }, sort_keys=True, default=str)
        return hashlib.sha256(body.encode()).hexdigest()[:16]
