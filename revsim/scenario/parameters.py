"""Parameter draws: bootstrap draws of a fitted scenario's parameters, kept beside the scenario,
and the model variant one of them makes (parameter uncertainty, second-order Monte Carlo).

``revsim fit`` writes the draws (revsim.calibrate.draws) to a JSON file beside the fitted
scenario, which names it in its ``[parameter_draws]`` table with the file's SHA-256::

    {"format": "revsim-parameter-draws/1", "method": "...", "seed": 0,
     "parameters": ["sources.leads.rate", "stages.demo.routes", ...],
     "fitted": [<the scenario's own value of each parameter>],
     "draws": [[<one value per parameter>], ...]}

Every value is a scenario value, written as the scenario file writes it (a rate such as
``"12.5/w"``, a routes table, a distribution spec), so a draw is a set of dotted-path overrides
and the model it makes is compiled by the one scenario compiler. :func:`read_draws` checks the
file against its reference and the scenario (all problems at once, naming the file);
:func:`with_parameters` applies a draw.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from revsim.errors import Problem, ScenarioError
from revsim.scenario.compile import compile_scenario
from revsim.scenario.load import apply_overrides
from revsim.scenario.model import Model

FORMAT = "revsim-parameter-draws/1"
SECTION = "parameter_draws"
_MISSING = object()
REFIT = "refit the scenario with `revsim fit --bootstrap N` to write its draws"


@dataclass(frozen=True)
class ParameterDraws:
    """Draws of a scenario's fitted parameters, checked against the scenario that names them.

    ``parameters`` are dotted scenario paths; ``fitted`` holds the scenario's own value of
    each, and ``draws`` one value per parameter in each draw. ``file`` is the file as the
    scenario names it (for messages), ``path`` where it was read.
    """

    file: str
    path: Path
    sha256: str
    parameters: tuple[str, ...]
    fitted: tuple[Any, ...]
    draws: tuple[tuple[Any, ...], ...]
    method: str = ""

    def __len__(self) -> int:
        return len(self.draws)

    def draw(self, index: int) -> dict[str, Any]:
        """Draw ``index`` as dotted-path overrides."""
        return dict(zip(self.parameters, self.draws[index], strict=True))

    def model(self, model: Model, index: int) -> Model:
        """``model`` with draw ``index`` applied (see :func:`with_parameters`)."""
        try:
            return with_parameters(model, self.draw(index),
                                   fitted=dict(zip(self.parameters, self.fitted, strict=True)))
        except ScenarioError as err:
            raise ScenarioError([Problem(f"draws[{index}].{p.path}", p.message)
                                 for p in err.problems], str(self.path)) from None

    def describe(self) -> str:
        """E.g. "200 draws from fitted.draws.json"."""
        return f"{len(self)} draws from {self.file}"

    def manifest(self) -> dict[str, Any]:
        """What a run records about the draws it used."""
        return {"draws": len(self), "file": self.file, "sha256": self.sha256,
                "parameters": list(self.parameters)}


def with_parameters(model: Model, draw: Mapping[str, Any], *,
                    fitted: Mapping[str, Any] | None = None) -> Model:
    """The model ``model`` with the parameter values of ``draw`` (dotted path -> scenario
    value), compiled from its scenario like any other: a pure function of its arguments.

    With ``fitted`` (each parameter's value when it was fitted), a parameter whose value in
    ``model``'s scenario differs from it was set on purpose since (a compared variant, a
    ``--set``) and keeps that value: the draws describe what the data leave uncertain, not
    what the user decides.
    """
    changes = {path: value for path, value in draw.items()
               if fitted is None or value_at(model.raw, path) == fitted.get(path, _MISSING)}
    if not changes:
        return model
    variant, _warnings = compile_scenario(apply_overrides(model.raw, changes), None)
    # A run from a state starts the variant from the same state: a draw changes rates,
    # durations and routes, not the stages, segments and contracts the start was placed in.
    return dataclasses.replace(variant, start_state=model.start_state)


def value_at(raw: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path of a scenario mapping (a sentinel when there is none)."""
    node: Any = raw
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return _MISSING
        node = node[part]
    return node


def draws_bytes(parameters: Sequence[str], fitted: Sequence[Any],
                draws: Sequence[Sequence[Any]], *, method: str, seed: int) -> bytes:
    """The draws file's content: compact JSON, one draw a line, keys in a fixed order."""
    head = json.dumps({"format": FORMAT, "method": method, "seed": seed,
                       "parameters": list(parameters)}, separators=(",", ":"))
    lines = [head[:-1] + ',"fitted":' + _compact(list(fitted)) + ',"draws":[']
    lines += [_compact(list(d)) + ("," if i < len(draws) - 1 else "")
              for i, d in enumerate(draws)]
    lines.append("]}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def draws_reference(raw: Mapping[str, Any]) -> tuple[str, str | None] | None:
    """The ``[parameter_draws]`` table's (file, sha256), or None when the scenario has none."""
    table = raw.get(SECTION) if isinstance(raw, Mapping) else None
    if not isinstance(table, Mapping) or not isinstance(table.get("file"), str):
        return None
    sha = table.get("sha256")
    return table["file"], sha if isinstance(sha, str) else None


def read_draws(raw: Mapping[str, Any], source: str | None) -> ParameterDraws | None:
    """The draws a scenario names in ``[parameter_draws]`` (None if it names none), read and
    checked: the file exists, its SHA-256 is the one the scenario states, it is a draws file,
    every draw has one value per parameter and every parameter is a path of the scenario.
    A relative file is relative to the scenario file's folder (``source``). Raises
    ScenarioError with every problem, naming the draws file.
    """
    ref = draws_reference(raw)
    if ref is None:
        return None
    file, expected = ref
    folder = Path(source).parent if source and Path(source).is_file() else Path.cwd()
    path = Path(file) if Path(file).is_absolute() else folder / file
    where = str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ScenarioError([Problem(f"{SECTION}.file", f"the scenario's parameter draws "
                                     f"file {file!r} does not exist (looked for {path}); "
                                     f"{REFIT}, or remove [{SECTION}]")], source) from None
    except OSError as err:
        raise ScenarioError([Problem(f"{SECTION}.file", f"cannot read: {err}")], where) from None
    digest = sha256_of(data)
    if expected is not None and digest != expected:
        raise ScenarioError([Problem("", f"the file's SHA-256 is {digest}, but the scenario's "
                                     f"[{SECTION}] sha256 says {expected}: the draws were "
                                     f"changed or belong to another fit; {REFIT}")], where)
    try:
        body = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ScenarioError([Problem("", f"not a parameter draws file (invalid JSON: {err}); "
                                     f"{REFIT}")], where) from None
    problems = _shape_problems(body, raw)
    if problems:
        raise ScenarioError(problems, where)
    return ParameterDraws(file, path, digest, tuple(body["parameters"]), tuple(body["fitted"]),
                          tuple(tuple(d) for d in body["draws"]), str(body.get("method", "")))


def _shape_problems(body: Any, raw: Mapping[str, Any]) -> list[Problem]:
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        got = body.get("format") if isinstance(body, dict) else type(body).__name__
        return [Problem("format", f"expected {FORMAT!r}, got {got!r}: not a parameter draws "
                        f"file of this revsim; {REFIT}")]
    problems = []
    params, fitted, draws = body.get("parameters"), body.get("fitted"), body.get("draws")
    if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
        return [Problem("parameters", "must be a list of dotted scenario paths")]
    for i, p in enumerate(params):
        if value_at(raw, p) is _MISSING:
            problems.append(Problem(f"parameters[{i}]", f"{p!r} is not a value of the scenario: "
                                    f"the draws belong to another scenario; {REFIT}"))
    if not isinstance(fitted, list) or len(fitted) != len(params):
        problems.append(Problem("fitted", f"must hold one value per parameter ({len(params)})"))
    if not isinstance(draws, list) or not draws:
        problems.append(Problem("draws", "must be a non-empty list of draws"))
        return problems
    bad = [i for i, d in enumerate(draws) if not isinstance(d, list) or len(d) != len(params)]
    if bad:
        shown = ", ".join(str(i) for i in bad[:5]) + (f" (+{len(bad) - 5} more)"
                                                     if len(bad) > 5 else "")
        problems.append(Problem("draws", f"draws {shown} do not hold one value per parameter "
                                f"({len(params)})"))
    return problems
