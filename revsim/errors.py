"""Error types that carry every problem found, each tied to a file and a dotted field path."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One problem in an input: where it is (dotted path) and what to do about it."""

    path: str
    message: str

    def render(self, source: str | None = None) -> str:
        where = f"{source}: " if source else ""
        field = f"{self.path}: " if self.path else ""
        return f"{where}{field}{self.message}"


class RevsimError(Exception):
    """Base class of every error revsim raises on purpose (bad input, not bugs)."""


class ProblemsError(RevsimError):
    """An input failed checks; ``problems`` lists all of them, not just the first, and
    ``source`` names the file (or option) they are in."""

    def __init__(self, problems: Iterable[Problem], source: str | None = None) -> None:
        self.problems = list(problems)
        self.source = source
        super().__init__("\n".join(p.render(source) for p in self.problems))

    def lines(self) -> list[str]:
        """One line per problem, each naming the file and the field (or rows)."""
        return [p.render(self.source) for p in self.problems]


class ScenarioError(ProblemsError, ValueError):
    """A scenario failed validation."""


class OverrideError(ScenarioError):
    """A ``--set path=value`` override names a path that does not exist or has a bad value."""


class StateError(ProblemsError, ValueError):
    """A state snapshot (a folder, a hand-written CSV or a Snapshot built in Python) failed its
    checks, or does not fit the scenario it is meant to start; nothing was written."""


class ExperimentError(ProblemsError):
    """An experiment cannot start or resume: no Dask scheduler at the address, a store folder
    that holds another experiment, a design without points."""

    def __init__(self, problems: Iterable[Problem], source: str | None = "experiment") -> None:
        super().__init__(problems, source)


def suggest(name: str, valid: list[str] | tuple[str, ...]) -> str:
    """A "did you mean" hint plus the valid names, for messages about unknown names."""
    close = difflib.get_close_matches(name, list(valid), n=1, cutoff=0.6)
    hint = f"did you mean '{close[0]}'? " if close else ""
    listed = ", ".join(sorted(valid)) if valid else "none defined"
    return f"{hint}valid: {listed}"
