"""Read scenario files (TOML) and apply dotted-path overrides such as ``pools.sdr.headcount=6``."""

from __future__ import annotations

import copy
import hashlib
import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from revsim.errors import OverrideError, Problem, ScenarioError, clip, suggest
from revsim.limits import MAX_NESTING
from revsim.scenario import schema as S
from revsim.scenario import schema_money as M
from revsim.scenario.validate import model_in
from revsim.text_files import nesting_problem, read_text_file


def read_toml(path: str | Path) -> dict[str, Any]:
    """Parse a TOML file; a file that is not UTF-8 text, a syntax error or a nesting bomb
    becomes a ScenarioError naming the file (and the line, or the byte offset)."""
    return parse_toml(read_text_file(path, error=ScenarioError), str(path))


def parse_toml(text: str, source: str = "<string>") -> dict[str, Any]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError([Problem("", f"invalid TOML: {clip(str(err))}")], source) from None
    except RecursionError:
        raise ScenarioError([Problem("", f"invalid TOML: tables and arrays are nested more "
                                     f"than {MAX_NESTING} levels deep")], source) from None
    except ValueError as err:  # e.g. an integer of more than 4,300 digits
        raise ScenarioError([Problem("", f"invalid TOML: {clip(str(err))}")], source) from None
    deep = nesting_problem(data)
    if deep is not None:
        raise ScenarioError([deep], source)
    return data


def scenario_hash(raw: Mapping[str, Any]) -> str:
    """A stable fingerprint of a scenario's content (not of its formatting)."""
    text = json.dumps(raw, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def parse_value(text: str, source: str = "--set") -> Any:
    """Parse an override value as TOML (``6``, ``0.3``, ``true``, ``"3 d"``, ``{...}``).

    Anything TOML cannot read is taken as a plain string, so ``none`` and ``3 d`` need no quotes.
    """
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text.strip()
    except (RecursionError, ValueError):  # a nesting bomb, a 5,000-digit number
        raise ScenarioError([Problem(clip(text.strip(), 60), "cannot read this value: nested "
                                     "too deep or a number too long")], source) from None
    deep = nesting_problem(value)
    if deep is not None:
        raise ScenarioError([Problem(clip(text.strip(), 60), deep.message)], source)
    return value


def _model_for(path: list[str]) -> type[BaseModel] | None:
    """The schema model that owns the table at ``path`` (for listing valid keys)."""
    if not path:
        return S.ScenarioFile
    head = path[0]
    if head in S.SECTION_MODELS:
        if len(path) == 1:
            return None  # a table of user-named entries
        model: Any = S.SECTION_MODELS[head]
        rest = path[2:]
    elif head in S.ScenarioFile.model_fields:
        # a single table: [scenario], [nurture], [deals], [billing], [payment], [dunning]
        model, rest = model_in(S.ScenarioFile.model_fields[head].annotation), path[1:]
        if head in ("deals", "payment") and rest[:1] == ["by_segment"]:
            # by_segment.SEGMENT.FIELD: a user-named segment, then contract/payment fields
            if len(rest) == 1:
                return None
            return M.ContractSpec if head == "deals" else M.PaymentSpec
    else:
        return None
    for part in rest:
        info = getattr(model, "model_fields", {}).get(part)
        if info is None:
            return None
        model = model_in(info.annotation)
        if model is None:
            return None
    return model


def apply_overrides(raw: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``raw`` with each dotted path set to its value; bad paths raise OverrideError.

    A path may name a field the file leaves at its default (``stages.qualify.patience``), but
    not a stage, pool or field that does not exist.
    """
    data = copy.deepcopy(dict(raw))
    problems: list[Problem] = []
    for dotted, value in changes.items():
        parts = [p for p in dotted.split(".") if p]
        if not parts:
            problems.append(Problem(dotted, "empty path"))
            continue
        node: Any = data
        ok = True
        for depth, part in enumerate(parts[:-1]):
            if isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
                continue
            if not isinstance(node, dict) or part not in node:
                here = ".".join(parts[:depth]) or "(top level)"
                valid = list(node) if isinstance(node, dict) else []
                model = _model_for(parts[:depth])
                if isinstance(node, dict) and model is not None and part in model.model_fields:
                    node[part] = {}
                    node = node[part]
                    continue
                segments = data.get("segments") or {}
                if (isinstance(node, dict) and depth >= 2 and parts[depth - 1] == "by_segment"
                        and part in segments):
                    node[part] = {}  # a per-segment override table for a defined segment
                    node = node[part]
                    continue
                problems.append(
                    Problem(dotted, f"'{part}' does not exist under {here}; {suggest(part, valid)}")
                )
                ok = False
                break
            node = node[part]
        if not ok:
            continue
        last = parts[-1]
        if isinstance(node, dict) and last not in node:
            model = _model_for(parts[:-1])
            valid = list(model.model_fields) if model is not None else list(node)
            if model is None or last not in model.model_fields:
                where = ".".join(parts[:-1]) or "(top level)"
                problems.append(
                    Problem(dotted, f"'{last}' is not a field of {where}; {suggest(last, valid)}")
                )
                continue
        if isinstance(node, list):
            if not last.isdigit() or int(last) >= len(node):
                problems.append(Problem(dotted, f"index '{last}' out of range (0..{len(node) - 1})"))
                continue
            node[int(last)] = value
        elif isinstance(node, dict):
            node[last] = value
        else:
            problems.append(Problem(dotted, "is not inside a table"))
    if problems:
        raise OverrideError(problems, "--set")
    return data
