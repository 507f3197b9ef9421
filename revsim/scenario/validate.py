"""Check a raw scenario mapping section by section against the pydantic spec, collecting every
problem (with its dotted path and a "did you mean" hint) instead of stopping at the first."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from revsim.distributions import Distribution, SpecError, from_spec
from revsim.errors import Problem, suggest
from revsim.scenario import schema as S


def pydantic_problems(error: ValidationError, prefix: str, model: type[BaseModel]) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    for err in error.errors():
        loc = [str(p) for p in err["loc"] if not _is_union_tag(p)]
        path = ".".join([prefix, *loc]) if prefix else ".".join(loc)
        kind = err["type"]
        if kind == "extra_forbidden":
            valid = _field_names(model, err["loc"][:-1])
            message = f"unknown field '{loc[-1]}'; {suggest(loc[-1], valid)}"
        elif kind == "missing":
            message = "required field is missing"
        elif kind == "value_error":
            message = str(err["ctx"]["error"]) if "ctx" in err else err["msg"]
        elif kind == "literal_error":
            message = f"got {err['input']!r}; {err['msg'][0].lower()}{err['msg'][1:]}"
        else:
            message = f"{err['msg'][0].lower()}{err['msg'][1:]} (got {err['input']!r})"
        if (path, message) not in seen:
            seen.add((path, message))
            problems.append(Problem(path, message))
    return problems


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
        return dist
