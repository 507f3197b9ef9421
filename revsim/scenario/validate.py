"""Check a raw scenario mapping section by section against the pydantic spec, collecting every
problem (with its dotted path and a "did you mean" hint) instead of stopping at the first."""

from __future__ import annotations

import math
import types
import typing
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from revsim.distributions import Distribution, SpecError, from_spec
from revsim.errors import Problem, clip, quoted, suggest
from revsim.limits import MAX_AMOUNT
from revsim.scenario import schema as S
from revsim.scenario.schema_base import MAX_DURATION_HOURS
from revsim.text_files import nesting_problem, value_problems

_MISMATCH = {"string_type", "literal_error", "dict_type", "model_type", "list_type",
             "int_type", "float_type", "bool_type", "date_type", "datetime_type"}
"""Error kinds that say the input is not of one member's type: inside a union, another
member's more precise error (deeper in the input) is the one worth showing."""


def pydantic_problems(error: ValidationError, prefix: str, model: type[BaseModel]) -> list[Problem]:
    found: list[tuple[str, str, str]] = []
    for err in error.errors():
        loc = field_path(model, err["loc"])
        path = ".".join([prefix, *loc]) if prefix else ".".join(loc)
        kind = err["type"]
        if kind == "extra_forbidden":
            valid = _field_names(model, err["loc"][:-1])
            message = f"unknown field '{clip(loc[-1], 60)}'; {suggest(loc[-1], valid)}"
        elif kind == "missing":
            message = "required field is missing"
        elif kind == "value_error":
            message = clip(str(err["ctx"]["error"]) if "ctx" in err else err["msg"], 600)
        elif kind == "literal_error":
            message = f"got {quoted(err['input'])}; {err['msg'][0].lower()}{err['msg'][1:]}"
        else:
            message = _type_message(kind, err["input"], err["msg"])
        found.append((path, message, kind))
    problems: list[Problem] = []
    seen: set[str] = set()
    for path, message, kind in found:
        if kind in _MISMATCH and any(other.startswith(path + ".") or (other == path and k not in
                                                                       _MISMATCH)
                                     for other, _, k in found):
            continue  # a union member the input was not meant for
        key = path if kind in _MISMATCH else f"{path}\0{message}"
        if key not in seen:
            seen.add(key)
            problems.append(Problem(path, message))
    return problems


def _type_message(kind: str, given: Any, msg: str) -> str:
    """Pydantic's message for a wrong type or value, with the fix for the common slips."""
    text = f"{msg[0].lower()}{msg[1:]} (got {quoted(given)})"
    if isinstance(given, bool) and kind in ("int_type", "float_type"):
        word = "true" if given else "false"
        return f"expected a number, got {word}: true and false are not numbers"
    if kind == "int_type" and isinstance(given, float) and given.is_integer():
        return f"expected a whole number, got {given!r}; write {int(given)}"
    if kind in ("date_type", "datetime_type") and isinstance(given, str):
        return (f"expected a TOML date, got the text {quoted(given)}; write the date without "
                "quotes, e.g. 2027-01-04")
    if kind == "finite_number":
        return f"expected a finite number, got {quoted(given)}"
    return text


def field_path(model: Any, loc: tuple[Any, ...]) -> list[str]:
    """The dotted-path parts of a pydantic error location: the schema is walked along it, so
    the member names pydantic adds inside unions ("str", "PatienceSpec", "dict[...]") are
    dropped while a field that happens to be named like one (``hires.0.date``) is kept."""
    parts: list[str] = []
    annotation: Any = model
    for part in loc:
        annotation = _unwrap(annotation)
        members = _union_members(annotation)
        if members is not None and isinstance(part, str):
            match = next((m for m in members if _member_tag(m) == part.split("[")[0]), None)
            if match is not None or _is_union_tag(part):
                annotation = match
                continue
        parts.append(str(part))
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            info = annotation.model_fields.get(str(part))
            annotation = info.annotation if info is not None else None
        elif typing.get_origin(annotation) in (list, tuple):
            annotation = (typing.get_args(annotation) or (None,))[0]
        elif typing.get_origin(annotation) is dict:
            annotation = (typing.get_args(annotation) or (None, None))[1]
        elif annotation is not None:
            annotation = None
        elif _is_union_tag(part):  # off the schema (an Any): the old rule
            parts.pop()
    return parts


def _unwrap(annotation: Any) -> Any:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _union_members(annotation: Any) -> tuple[Any, ...] | None:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return tuple(_unwrap(a) for a in typing.get_args(annotation))
    return None


def _member_tag(member: Any) -> str:
    origin = typing.get_origin(member)
    if origin is typing.Literal:
        return "literal"
    if origin is not None:
        return getattr(origin, "__name__", str(origin))
    if member is type(None):
        return "none"
    return getattr(member, "__name__", str(member))


def _is_union_tag(part: Any) -> bool:
    # pydantic adds the union member's type name to the location ("str", "PatienceSpec", ...)
    return isinstance(part, str) and (
        part in {"str", "float", "int", "dict", "list", "bool", "none", "date", "datetime"}
        or part[:1].isupper()
        or "[" in part
    )


def _field_names(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    current: Any = model
    for part in loc:
        if isinstance(part, int) or not isinstance(current, type):
            continue
        info = getattr(current, "model_fields", {}).get(part)
        if info is None:
            break
        inner = model_in(info.annotation)
        if inner is None:
            break
        current = inner
    return list(getattr(current, "model_fields", {}).keys())


def model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model a field's annotation holds (``X``, ``X | None``, ``dict[str, X]``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = model_in(arg)
        if found is not None:
            return found
    return None


class ScenarioValidator:
    """The raw mapping, the problems and warnings found so far, and the section checks that
    the compilers of the model's parts (:mod:`revsim.scenario.compile`,
    :mod:`revsim.scenario.compile_cash`) share."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw
        self.problems: list[Problem] = []
        self.warnings: list[str] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    # -- structure -------------------------------------------------------------------------
    def validate_sections(self) -> dict[str, Any]:
        parsed: dict[str, Any] = {}
        if not isinstance(self.raw, Mapping):
            self.fail("", "a scenario must be a TOML table")
            return parsed
        deep = nesting_problem(self.raw)
        if deep is not None:  # before anything recurses into it
            self.problems.append(deep)
            self.raw = {}
            return {name: {} for name in S.SECTION_MODELS}
        self.problems.extend(value_problems(self.raw))
        known = set(S.ScenarioFile.model_fields)
        for key in self.raw:
            if key not in known:
                self.fail(key, f"unknown section; {suggest(key, sorted(known))}")
        for key in ("scenario", "sources", "stages"):
            if key not in self.raw:
                self.fail(key, f"required section [{key}] is missing")
        if "scenario" in self.raw:
            parsed["scenario"] = self.validate(S.Meta, self.raw["scenario"], "scenario")
        for section, model in S.SECTION_MODELS.items():
            table = self.raw.get(section, {})
            if not isinstance(table, Mapping):
                self.fail(section, f"expected a table of named {section}")
                table = {}
            parsed[section] = {
                name: self.validate(model, body, f"{section}.{name}") for name, body in table.items()
            }
        if self.raw.get("nurture") is not None:
            parsed["nurture"] = self.validate(S.NurtureSpec, self.raw["nurture"], "nurture")
        if self.raw.get("parameter_draws") is not None:
            parsed["parameter_draws"] = self.validate(S.ParameterDrawsSpec,
                                                      self.raw["parameter_draws"],
                                                      "parameter_draws")
        return parsed

    def validate(self, model: type[BaseModel], body: Any, path: str) -> Any:
        try:
            return model.model_validate(body)
        except ValidationError as err:
            self.problems.extend(pydantic_problems(err, path, model))
            return self.lenient(model, body, err)

    def lenient(self, model: type[BaseModel], body: Any, err: ValidationError) -> Any:
        """Validate again without the offending fields, so that the cross-reference checks
        still see the rest of the entry and report its other problems. The scenario is already
        invalid, so what this returns is only ever checked, never run."""
        if not isinstance(body, Mapping):
            return None
        bad = {e["loc"][0] for e in err.errors() if e["loc"]}
        rest = {k: v for k, v in body.items() if k not in bad}
        try:
            return model.model_validate(rest)
        except ValidationError:
            return None

    def dist(self, spec: Any, kind: str, path: str) -> Distribution | None:
        if spec is None:
            return None
        try:
            dist = from_spec(spec, kind=kind, field=path)  # type: ignore[arg-type]
        except SpecError as err:
            self.problems.extend(Problem(p, m) for p, m in err.problems)
            return None
        except ValueError as err:
            self.fail(path, str(err))
            return None
        if kind == "money" and float(dist.ppf(0.0)) < 0:
            self.fail(path, "amounts must be >= 0, but this distribution can draw negative values")
            return None
        mean = float(dist.mean)
        largest = {"money": MAX_AMOUNT, "duration": MAX_DURATION_HOURS}.get(kind, math.inf)
        if not math.isfinite(mean) or abs(mean) > largest:
            unit = {"duration": " h", "money": ""}.get(kind, "")
            limit = f" (at most {largest:.3g}{unit})" if math.isfinite(largest) else ""
            self.fail(path, f"this distribution's mean, {mean:.3g}{unit}, is not finite or "
                      f"larger than revsim handles{limit}; check the unit and the parameters")
            return None
        return dist
