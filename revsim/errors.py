"""Error types that carry every problem found, each tied to a file and a dotted field path."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from revsim.limits import MAX_ECHO, clip

MAX_MESSAGE = 480  # a message with a long quote in it still fits a few terminal lines

__all__ = ["clip", "quoted", "Problem", "ProblemsError", "InputError", "ScenarioError",
           "OverrideError", "ExperimentError", "RevsimError", "suggest", "clip_path"]


def quoted(value: Any, limit: int = MAX_ECHO) -> str:
    """``repr(value)`` for a message, clipped (a 10 MB string or a deep table stays short)."""
    try:
        text = repr(value)
    except (RecursionError, ValueError):  # a nesting bomb, or an int too long to print
        text = f"<{type(value).__name__}>"
    return clip(text, limit)


@dataclass(frozen=True)
class Problem:
    """One problem in an input: where it is (dotted path) and what to do about it."""

    path: str
    message: str

    def render(self, source: str | None = None) -> str:
        # the file and field names are the user's too: clipped like any quoted input
        where = f"{clip(source)}: " if source else ""
        field = f"{clip_path(self.path)}: " if self.path else ""
        return f"{where}{field}{clip(self.message, MAX_MESSAGE)}"


def clip_path(path: str) -> str:
    """A dotted path with each (user-named) part clipped, so a 10,000-character stage name
    stays readable in a message."""
    return clip(".".join(clip(part, 60) for part in path.split(".")), MAX_ECHO)


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


class InputError(ProblemsError, ValueError):
    """An input file or flag cannot be read at all (not UTF-8, too large, nested too deep)."""


class ScenarioError(InputError):
    """A scenario failed validation."""


class OverrideError(ScenarioError):
    """A ``--set path=value`` override names a path that does not exist or has a bad value."""


class StateError(ProblemsError, ValueError):
    """A state snapshot (a folder, a hand-written CSV or a Snapshot built in Python) cannot be
    read, failed its checks, or does not fit the scenario it is meant to start: each problem
    names the table, the row and the fix; nothing was written."""


class ExperimentError(ProblemsError):
    """An experiment cannot start or resume: no Dask scheduler at the address, a store folder
    that holds another experiment, a design without points."""

    def __init__(self, problems: Iterable[Problem], source: str | None = "experiment") -> None:
        super().__init__(problems, source)


def suggest(name: str, valid: list[str] | tuple[str, ...]) -> str:
    """A "did you mean" hint plus the valid names, for messages about unknown names."""
    close = difflib.get_close_matches(name, list(valid), n=1, cutoff=0.6) \
        if len(name) <= MAX_ECHO else []
    hint = f"did you mean '{clip(close[0], 60)}'? " if close else ""
    listed = ", ".join(clip(str(v), 60) for v in sorted(valid)) if valid else "none defined"
    return f"{hint}valid: {clip(listed)}"
