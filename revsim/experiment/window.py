"""Checks before anything runs: the root seed, and the run window (horizon, warm-up)."""

from __future__ import annotations

import math
import numbers
from typing import Any

from revsim.errors import Problem, ScenarioError, quoted
from revsim.limits import HOURS_PER_YEAR, MAX_HORIZON_YEARS, MAX_REPLICATIONS
from revsim.scenario.model import Model
from revsim.scenario.model_checks import window_problems
from revsim.units import format_duration, parse_duration

DEFAULT_SEED = 1


def check_seed(seed: Any) -> int:
    """The root seed as an int (DEFAULT_SEED for None); anything else is refused clearly."""
    if seed is None:
        return DEFAULT_SEED
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ScenarioError([Problem("seed", f"must be a whole number >= 0, got {seed!r}")],
                            "run")
    return int(seed)


def check_window(model: Model, horizon: float | None, warmup: float | None,
                 replications: int) -> tuple[float, float]:
    """The run window (horizon, warm-up) in hours, overrides applied; a window that cannot be
    run (warm-up not shorter than the horizon, ...) is refused."""
    problems = []
    h = model.horizon if horizon is None else horizon
    w = model.warmup if warmup is None else warmup
    if h <= 0:
        problems.append(Problem("horizon", f"must be positive, got {format_duration(h)}; give "
                                "a longer one (--horizon), e.g. \"26 w\""))
    if w < 0:
        problems.append(Problem("warmup", f"must be >= 0, got {format_duration(w)}; give 0 or "
                                "a positive duration (--warmup), e.g. \"4 w\""))
    elif w >= h > 0:
        problems.append(Problem(
            "warmup", f"{format_duration(w)} is not shorter than the horizon "
            f"({format_duration(h)}); shorten the warm-up (--warmup) or lengthen the horizon"))
    if h > MAX_HORIZON_YEARS * HOURS_PER_YEAR:
        problems.append(Problem("horizon", f"{format_duration(h)} is longer than the "
                                f"{MAX_HORIZON_YEARS} years revsim simulates"))
    elif 0 < h != model.horizon:  # the scenario's own horizon was checked when it was compiled
        problems += window_problems(model, h)
    if replications < 1:
        problems.append(Problem("replications", "must be at least 1"))
    elif replications > MAX_REPLICATIONS:
        problems.append(Problem("replications", f"{replications:,} is more than the "
                                f"{MAX_REPLICATIONS:,} revsim runs of one point"))
    if problems:
        raise ScenarioError(problems, "run")
    return h, w


def hours(value: str | float | None, field: str) -> float | None:
    """A duration ("26 w") or a number of hours as hours; None stays None."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ScenarioError([Problem(field, f"expected a duration such as \"26 w\", got {value!r}")],
                            "run")
    if isinstance(value, (int, float)):
        if not math.isfinite(value) or value < 0:
            raise ScenarioError([Problem(field, f"must be a finite number of hours >= 0, got "
                                         f"{value!r}")], "run")
        return float(value)
    if not isinstance(value, str):
        raise ScenarioError([Problem(field, f"expected a duration such as \"26 w\", got "
                                     f"{quoted(value)}")], "run")
    return parse_duration(value, field=field)
