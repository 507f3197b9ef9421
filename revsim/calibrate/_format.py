"""Output helpers for ``fit_duration`` and ``fit_rate``: scenario specs and plain-words text.

``_spec`` / ``spec_with_zero_mass`` turn a fitted distribution (hours) into a scenario spec with
readable durations ("3.2 d", 4 significant digits); ``with_zero_mass`` adds a point mass at 0;
the remaining helpers format numbers and words for notes and error messages.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from revsim.distributions import (
    Deterministic,
    Distribution,
    Exponential,
    Gamma,
    Lognormal,
    Mixture,
    ScipyDist,
    Weibull,
)
from revsim.units import format_duration

BoolArray = npt.NDArray[np.bool_]


# -- specs ------------------------------------------------------------------------------------


def with_zero_mass(dist: Distribution, p_zero: float) -> Distribution:
    if p_zero <= 0:
        return dist
    if isinstance(dist, Mixture):
        w = [p_zero, *((1 - p_zero) * dist.weights)]
        return Mixture([Deterministic(0.0), *dist.components], w)
    return Mixture([Deterministic(0.0), dist], [p_zero, 1 - p_zero])


def spec_with_zero_mass(dist: Distribution, p_zero: float) -> dict[str, Any]:
    if isinstance(dist, Mixture):
        comps = [_spec(c) for c in dist.components]
        weights = [float(w) for w in dist.weights]
    else:
        comps, weights = [_spec(dist)], [1.0]
    if p_zero > 0:
        comps = [{"dist": "fixed", "value": "0 h"}, *comps]
        weights = [p_zero, *((1 - p_zero) * np.asarray(weights)).tolist()]
    if len(comps) == 1:
        return comps[0]
    return {"dist": "mixture", "weights": _round_weights(weights), "components": comps}


def _round_weights(weights: Sequence[float]) -> list[float]:
    w = [round(float(x), 6) for x in weights]
    i = int(np.argmax(w))
    w[i] = round(w[i] + 1 - sum(w), 6)
    return w


def _spec(d: Distribution) -> dict[str, Any]:
    """A duration spec with values like "3.2 d" (4 significant digits)."""
    unit = _unit_for(float(d.ppf(0.5)))

    def dur(hours: float) -> str:
        return _dur(hours, unit)

    if isinstance(d, Lognormal):
        median, p90 = dur(d.median), dur(float(d.ppf(0.9)))
        if float(p90.split()[0]) <= float(median.split()[0]):  # too narrow for 4 digits
            return {"dist": "lognormal", "median": median, "sigma": sig(d.sigma)}
        return {"dist": "lognormal", "median": median, "p90": p90}
    if isinstance(d, Gamma):
        return {"dist": "gamma", "shape": sig(d.shape), "scale": dur(d.scale)}
    if isinstance(d, Weibull):
        return {"dist": "weibull", "shape": sig(d.shape), "scale": dur(d.scale)}
    if isinstance(d, Exponential):
        return {"dist": "exponential", "mean": dur(d.mean)}
    if isinstance(d, ScipyDist):
        shapes = {k: sig(v) for k, v in d.params.items() if k not in ("loc", "scale")}
        return {"dist": "scipy", "name": d.name, **shapes, "scale": dur(d.params["scale"])}
    raise TypeError(f"no spec form for {type(d).__name__}")


_UNITS = (("min", 1 / 60), ("h", 1.0), ("d", 24.0))


def _unit_for(hours: float) -> tuple[str, float]:
    if not math.isfinite(hours) or hours >= 48:
        return _UNITS[2]
    if hours >= 1:
        return _UNITS[1]
    return _UNITS[0]


def _dur(hours: float, unit: tuple[str, float]) -> str:
    label, size = unit
    text = np.format_float_positional(sig(hours / size), trim="-")
    return f"{text} {label}"


def sig(x: float, digits: int = 4) -> float:
    return float(f"{float(x):.{digits}g}")


# -- text -------------------------------------------------------------------------------------


def fmt_h(hours: float) -> str:
    return format_duration(hours) if math.isfinite(hours) else "not reached"


def fmt_p(p: float) -> str:
    if not math.isfinite(p):
        return "p n/a"
    return "p < 0.001" if p < 0.001 else f"p = {p:.2g}"


def count(k: int, noun: str) -> str:
    return f"{k} {noun}" + ("" if k == 1 else "s")


def was(k: int) -> str:
    return "was" if k == 1 else "were"


def is_are(k: int | Sequence[Any]) -> str:
    n = k if isinstance(k, int) else len(k)
    return "is" if n == 1 else "are"


def join_words(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def positions(mask: BoolArray, limit: int = 5) -> str:
    idx = np.flatnonzero(mask)
    text = ", ".join(str(int(i)) for i in idx[:limit])
    return text + (f" (+{len(idx) - limit} more)" if len(idx) > limit else "")
