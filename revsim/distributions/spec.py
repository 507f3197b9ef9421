"""Parse distribution specs from scenario files (TOML tables) and write them back."""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import numpy as np

from ..errors import Problem, RevsimError
from ..units import UnitError, format_duration, format_money, parse_duration, parse_money
from .base import SCALE_PARAMS, Distribution, Formatter, Issue, ParamError, fmt_number
from .composite import DiscreteChoice, Empirical, Mixture
from .families import Deterministic, Exponential, Gamma, Lognormal, Triangular, Uniform, Weibull
from .scipy_dist import ScipyDist, check_scipy_names

Kind = Literal["duration", "number", "money"]
KINDS: tuple[str, ...] = ("duration", "number", "money")

# Accepted parameter sets per family; a spec must match one exactly.
FAMILY_PARAMS: dict[str, tuple[tuple[str, ...], ...]] = {
    "exponential": (("mean",), ("rate",)),
    "lognormal": (("mean", "sd"), ("median", "p90"), ("median", "sigma"), ("mu", "sigma")),
    "gamma": (("shape", "scale"), ("mean", "sd")),
    "weibull": (("shape", "scale"),),
    "triangular": (("low", "mode", "high"),),
    "uniform": (("low", "high"),),
    "deterministic": (("value",),),
    "empirical": (("values",),),
    "choice": (("values", "p"),),
    "mixture": (("components", "weights"),),
    "scipy": (("name",),),
}
ALIASES: dict[str, str] = {"fixed": "deterministic"}
DIST_NAMES: tuple[str, ...] = (*FAMILY_PARAMS, *ALIASES)
COMMON_KEYS = ("dist", "unit")
_LIST_KEYS = frozenset({"values", "p", "weights"})
_SCIPY_SCALE_KEYS = frozenset({"loc", "scale"})
# Constructor argument names that differ from spec keys.
_SPEC_KEY = {"probabilities": "p"}
_UNIT_HINT = 'give a unit, e.g. "30 min", or add unit = "h"'


class SpecError(RevsimError, ValueError):
    """A distribution spec is invalid; ``problems`` lists (field path, message) for each issue."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        self.problems = list(problems)
        super().__init__(self.problems)

    def __str__(self) -> str:
        return "\n".join(f"{path}: {msg}" if path else msg for path, msg in self.problems)

    def to_problems(self) -> list[Problem]:
        """The problems as ``revsim.errors.Problem`` objects."""
        return [Problem(path, msg) for path, msg in self.problems]


class _BadUnit:
    """Marks a spec whose ``unit`` was invalid, so its bare numbers are not reported twice."""


_BAD_UNIT = _BadUnit()
Unit = str | _BadUnit | None


def formatter_for(kind: Kind) -> Formatter:
    """How scale values of this kind are shown to humans."""
    if kind == "duration":
        return format_duration
    if kind == "money":
        return format_money
    return fmt_number


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _or_list(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"


def _suggest(word: str, options: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


class _Parser:
    def __init__(self, kind: Kind) -> None:
        self.kind = kind
        self.fmt = formatter_for(kind)
        self.problems: list[tuple[str, str]] = []

    def problem(self, path: str, msg: str) -> None:
        self.problems.append((path, msg))

    # -- values -----------------------------------------------------------------------------

    def plain(self, v: Any, path: str, name: str) -> float | None:
        if not _is_number(v):
            self.problem(path, f"{name} must be a plain number, got {v!r}")
            return None
        if not math.isfinite(float(v)):
            self.problem(path, f"{name} must be finite, got {v!r}")
            return None
        return float(v)

    def scaled(self, v: Any, path: str, name: str, unit: Unit) -> float | None:
        """Convert a scale-like value to the field's unit (hours for durations)."""
        if self.kind == "duration":
            return self._duration(v, path, name, unit)
        name = name or "value"
        if self.kind == "money":
            if not (_is_number(v) or isinstance(v, str)):
                self.problem(path, f'{name} must be an amount like 1200 or "$1.2k", got {v!r}')
                return None
            try:
                return self._finite(parse_money(v), path, name)
            except (UnitError, ValueError) as e:
                self.problem(path, str(e))
                return None
        if isinstance(v, str):
            self.problem(path, f"{name} must be a number, got {v!r}")
            return None
        return self.plain(v, path, name)

    def _duration(self, v: Any, path: str, name: str, unit: Unit) -> float | None:
        if _is_number(v) and not isinstance(unit, str):
            if unit is None:
                what = f"{name} = {v!r}" if name else repr(v)
                self.problem(path, f"{what} has no unit; {_UNIT_HINT}")
            return None  # a bad unit has been reported already
        name = name or "value"
        if not (_is_number(v) or isinstance(v, str)):
            self.problem(path, f'{name} must be a duration like "30 min", got {v!r}')
            return None
        default = unit if isinstance(unit, str) else None
        try:
            hours = parse_duration(v, default_unit=default)
        except (UnitError, ValueError) as e:
            self.problem(path, str(e))
            return None
        if hours < 0:
            self.problem(path, f"{name} must not be negative, got {v!r}")
            return None
        return self._finite(hours, path, name)

    def _finite(self, x: float, path: str, name: str) -> float | None:
        if not math.isfinite(x):
            self.problem(path, f"{name} must be finite, got {x}")
            return None
        return float(x)

    def value(self, key: str, v: Any, path: str, unit: Unit, scale: bool) -> Any:
        """Convert one parameter (scalar or list); None if it had problems."""
        if key in _LIST_KEYS:
            if isinstance(v, (str, bytes, Mapping)) or not isinstance(v, Sequence):
                self.problem(path, f"{key} must be a list, got {v!r}")
                return None
            out = [
                self.scaled(x, f"{path}[{i}]", f"{key}[{i}]", unit)
                if scale
                else self.plain(x, f"{path}[{i}]", f"{key}[{i}]")
                for i, x in enumerate(v)
            ]
            return None if any(x is None for x in out) else out
        return self.scaled(v, path, key, unit) if scale else self.plain(v, path, key)

    # -- specs ------------------------------------------------------------------------------

    def parse(self, spec: Any, path: str, unit: Unit = None) -> Distribution | None:
        if isinstance(spec, (str, int, float)) and not isinstance(spec, bool):
            v = self.scaled(spec, path, "", unit)
            return None if v is None else Deterministic(v)
        if not isinstance(spec, Mapping):
            self.problem(
                path, f"expected a value or a table with dist = ..., got {type(spec).__name__}"
            )
            return None
        if "dist" not in spec:
            self.problem(path, f"missing dist; one of {', '.join(DIST_NAMES)}")
            return None
        raw = spec["dist"]
        if not isinstance(raw, str):
            self.problem(_join(path, "dist"), f"dist must be a name, got {raw!r}")
            return None
        name = ALIASES.get(raw, raw)
        if name not in FAMILY_PARAMS:
            self.problem(
                _join(path, "dist"),
                f"unknown distribution {raw!r}{_suggest(raw, DIST_NAMES)} "
                f"(valid: {', '.join(DIST_NAMES)})",
            )
            return None
        unit = self._unit(spec, path, unit)
        params = {k: v for k, v in spec.items() if k not in COMMON_KEYS}
        if name == "scipy":
            return self._scipy(params, path, unit)
        keys = self._match(name, params, path)
        if keys is None:
            return None
        if name == "mixture":
            return self._mixture(params, path, unit)
        vals = {
            k: self.value(k, params[k], _join(path, k), unit, scale=k in SCALE_PARAMS) for k in keys
        }
        if name == "exponential" and "rate" in vals and vals["rate"] is not None:
            if vals["rate"] <= 0:
                self.problem(_join(path, "rate"), f"rate must be > 0, got {vals['rate']:g}")
                return None
            vals = {"mean": 1.0 / vals["rate"]}
        if None in vals.values():
            return None
        return self._build(lambda: _BUILDERS[name](vals), path)

    def _unit(self, spec: Mapping[str, Any], path: str, inherited: Unit) -> Unit:
        if "unit" not in spec:
            return inherited
        u, upath = spec["unit"], _join(path, "unit")
        if self.kind != "duration":
            what = "money amounts" if self.kind == "money" else "plain numbers"
            self.problem(upath, f"unit only applies to durations, not to {what}")
            return None
        if not isinstance(u, str):
            self.problem(upath, f'unit must be a string like "h" or "min", got {u!r}')
            return _BAD_UNIT
        try:
            parse_duration(f"1 {u}")
        except (UnitError, ValueError) as e:
            # The parser quotes the text it was given, which here is our own "1 <unit>".
            self.problem(upath, str(e).replace(f' in "1 {u}"', ""))
            return _BAD_UNIT
        return u

    def _match(self, name: str, params: Mapping[str, Any], path: str) -> tuple[str, ...] | None:
        alts = FAMILY_PARAMS[name]
        if name == "exponential" and self.kind != "number":
            alts = (("mean",),)
        given = set(params)
        for alt in alts:
            if set(alt) == given:
                return alt
        known = sorted({k for alt in FAMILY_PARAMS[name] for k in alt})
        hints = [
            f"{k!r} is not a {name} parameter{_suggest(k, known)}" for k in params if k not in known
        ]
        if name == "exponential" and "rate" in given and self.kind != "number":
            hints.append(f"rate is only accepted for plain numbers; give the mean {self.kind}")
        got = ", ".join(params) or "nothing"
        extra = f" ({'; '.join(hints)})" if hints else ""
        takes = _or_list(["+".join(a) for a in alts])
        self.problem(path, f"{name} takes {takes}; got {got}{extra}")
        return None

    def _report(self, issues: Sequence[Issue], path: str) -> None:
        for issue in issues:
            key = _SPEC_KEY.get(issue.param, issue.param)
            msg = issue.render(self.fmt)
            if key != issue.param and msg.startswith(issue.param):
                msg = key + msg[len(issue.param) :]
            self.problem(_join(path, key) if key else path, msg)

    def _build(self, make: Callable[[], Distribution], path: str) -> Distribution | None:
        try:
            dist = make()
        except ParamError as e:
            self._report(e.issues, path)
            return None
        if self.kind == "duration":
            lo = float(dist.ppf(0.0))
            if not lo >= 0:
                self.problem(
                    path,
                    f"durations can't be negative, but {dist.describe(self.fmt)} "
                    f"starts at {self.fmt(lo)}",
                )
                return None
        return dist

    def _mixture(self, params: Mapping[str, Any], path: str, unit: Unit) -> Distribution | None:
        comps_raw, cpath = params["components"], _join(path, "components")
        parsed: list[Distribution | None] | None = None
        if isinstance(comps_raw, (str, bytes, Mapping)) or not isinstance(comps_raw, Sequence):
            self.problem(cpath, f"components must be a list of distributions, got {comps_raw!r}")
        elif not comps_raw:
            self.problem(cpath, "components must not be empty")
        else:
            parsed = [self.parse(c, f"{cpath}[{i}]", unit) for i, c in enumerate(comps_raw)]
        weights = self.value("weights", params["weights"], _join(path, "weights"), unit, False)
        if weights is None or parsed is None:
            return None
        comps = [c for c in parsed if c is not None]
        if len(comps) < len(parsed):
            # Still check the weights (count, sum) when a component failed.
            self._build(lambda: Mixture([Deterministic(0.0)] * len(parsed), weights), path)
            return None
        return self._build(lambda: Mixture(comps, weights), path)

    def _scipy(self, params: dict[str, Any], path: str, unit: Unit) -> Distribution | None:
        if "name" not in params:
            self.problem(path, 'scipy needs name = "<scipy.stats distribution>", e.g. "gamma"')
            return None
        name = params.pop("name")
        name_issues = check_scipy_names(name, params)
        self._report(name_issues, path)
        vals = {
            k: self.value(k, v, _join(path, k), unit, scale=k in _SCIPY_SCALE_KEYS)
            for k, v in params.items()
        }
        if self.kind == "duration" and "scale" not in vals:
            if unit is None:
                self.problem(path, f"scipy durations need scale with a unit; {_UNIT_HINT}")
                return None
            if isinstance(unit, str):
                # scipy's default scale of 1 means one of the spec's units.
                vals["scale"] = parse_duration(1, default_unit=unit)
        if name_issues or None in vals.values():
            return None
        return self._build(lambda: ScipyDist(name, **vals), path)


_BUILDERS: dict[str, Callable[[dict[str, Any]], Distribution]] = {
    "exponential": lambda v: Exponential(v["mean"]),
    "lognormal": lambda v: (
        Lognormal.from_mean_sd(v["mean"], v["sd"])
        if "sd" in v
        else Lognormal.from_median_p90(v["median"], v["p90"])
        if "p90" in v
        else Lognormal.from_median_sigma(v["median"], v["sigma"])
        if "median" in v
        else Lognormal(v["mu"], v["sigma"])
    ),
    "gamma": lambda v: (
        Gamma.from_mean_sd(v["mean"], v["sd"]) if "sd" in v else Gamma(v["shape"], v["scale"])
    ),
    "weibull": lambda v: Weibull(v["shape"], v["scale"]),
    "triangular": lambda v: Triangular(v["low"], v["mode"], v["high"]),
    "uniform": lambda v: Uniform(v["low"], v["high"]),
    "deterministic": lambda v: Deterministic(v["value"]),
    "empirical": lambda v: Empirical(v["values"]),
    "choice": lambda v: DiscreteChoice(v["values"], v["p"]),
}


def from_spec(spec: Any, *, kind: Kind, field: str) -> Distribution:
    """Build a distribution from a scenario spec; raises SpecError listing every problem."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    parser = _Parser(kind)
    dist = parser.parse(spec, field)
    if parser.problems or dist is None:
        raise SpecError(parser.problems or [(field, "invalid distribution")])
    return dist


def to_spec(dist: Distribution, *, kind: Kind = "number") -> dict[str, Any]:
    """A spec that from_spec turns back into an equivalent distribution (durations in hours)."""
    spec = _to_spec(dist)
    if kind == "duration":
        spec["unit"] = "h"
    return spec


def _to_spec(d: Distribution) -> dict[str, Any]:
    if isinstance(d, Exponential):
        return {"dist": "exponential", "mean": d.mean}
    if isinstance(d, (Lognormal, Gamma)):
        family = "lognormal" if isinstance(d, Lognormal) else "gamma"
        return {"dist": family, **{k: float(v) for k, v in d.given}}
    if isinstance(d, Weibull):
        return {"dist": "weibull", "shape": d.shape, "scale": d.scale}
    if isinstance(d, Triangular):
        return {"dist": "triangular", "low": d.low, "mode": d.mode, "high": d.high}
    if isinstance(d, Uniform):
        return {"dist": "uniform", "low": d.low, "high": d.high}
    if isinstance(d, Deterministic):
        return {"dist": "deterministic", "value": d.value}
    if isinstance(d, Empirical):
        return {"dist": "empirical", "values": d.values.tolist()}
    if isinstance(d, DiscreteChoice):
        return {"dist": "choice", "values": d.values.tolist(), "p": d.probabilities.tolist()}
    if isinstance(d, Mixture):
        return {
            "dist": "mixture",
            "components": [_to_spec(c) for c in d.components],
            "weights": d.weights.tolist(),
        }
    if isinstance(d, ScipyDist):
        return {"dist": "scipy", "name": d.name, **d.params}
    raise TypeError(f"no spec form for {type(d).__name__}")
