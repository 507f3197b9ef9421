"""Simulation engine: calendars, arrivals and the event loop."""

from importlib.machinery import EXTENSION_SUFFIXES
from importlib.util import find_spec


def _compiled() -> bool:
    # The hot modules are compiled together (see setup.py), so one tells for all.
    spec = find_spec(f"{__name__}.stage")
    return bool(spec and spec.origin and spec.origin.endswith(tuple(EXTENSION_SUFFIXES)))


#: Whether the installed engine is the mypyc-compiled one (same results, faster) or pure Python.
COMPILED: bool = _compiled()
