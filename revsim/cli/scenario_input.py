"""The scenario a command runs: its file, the --set overrides on it, and its warnings."""

from __future__ import annotations

from typing import Any

from revsim.api import Scenario, load
from revsim.cli.exits import echo_err
from revsim.errors import Problem, ScenarioError
from revsim.scenario.load import parse_value


def parse_overrides(items: tuple[str, ...]) -> dict[str, Any]:
    """``PATH=VALUE`` items as {dotted path: value}; every malformed item is reported at once."""
    changes: dict[str, Any] = {}
    problems = []
    for item in items:
        path, sep, value = item.partition("=")
        if not sep or not path.strip():
            problems.append(Problem(item, "expected PATH=VALUE, e.g. pools.sdr.headcount=6"))
            continue
        changes[path.strip()] = parse_value(value)
    if problems:
        raise ScenarioError(problems, "--set")
    return changes


def load_scenario(path: str, overrides: tuple[str, ...] = ()) -> Scenario:
    scenario = load(path)
    if overrides:
        scenario = scenario.with_changes(parse_overrides(overrides))
    return scenario


def warn(scenario: Scenario) -> None:
    """Print the scenario's plausibility warnings on stderr."""
    for message in scenario.warnings:
        echo_err(f"warning: {scenario.source}: {message}")
