"""Warnings raised while a log is read or fitted, collected instead of dumped on the terminal.

revsim's own ``InputWarning`` (a UTF-16 file, a log with one case) is one line each, as written;
everything else (pandas' DtypeWarning or date-parsing UserWarning, numpy's RuntimeWarning on a
degenerate sample) is counted by kind and summarised in one line, with the first message as an
example, so that a thousand identical warnings never bury the result.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from revsim.calibrate.text_input import InputWarning, shown


@contextmanager
def collected_warnings(during: str) -> Iterator[list[str]]:
    """Collect the warnings raised inside; the list yielded is filled, as message lines, when
    the block ends. ``during`` says what was being done ("reading log.csv")."""
    lines: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # a library's notice of its own API changing says nothing about the input
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        yield lines
    lines.extend(warning_lines(caught, during))


def warning_lines(caught: list[warnings.WarningMessage], during: str) -> list[str]:
    own = list(dict.fromkeys(str(w.message) for w in caught
                             if issubclass(w.category, InputWarning)))
    others = [w for w in caught if not issubclass(w.category, InputWarning)]
    if not others:
        return own
    kinds = Counter(_kind(w) for w in others)
    listed = ", ".join(f"{kind} x{n}" for kind, n in kinds.most_common())
    first = shown(str(others[0].message).splitlines()[0] if str(others[0].message) else "", 120)
    n = len(others)
    return [*own, f"{n} warning{'s' if n != 1 else ''} from the libraries while {during} "
                  f'({listed}); the first: "{first}"']


def _kind(w: warnings.WarningMessage) -> str:
    module = w.category.__module__.split(".")[0]
    name = w.category.__name__
    return name if module == "builtins" else f"{module} {name}"
