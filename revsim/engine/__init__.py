"""Simulation engine: calendars, arrivals and the event loop.

The hot modules may be installed compiled by mypyc (see setup.py): same code, same results,
faster. An extension module shadows its ``.py`` source, so in an editable install an edit to the
source would not run until the engine is rebuilt. The build therefore records a hash of every
source it compiled (``compiled_sources.json``, next to the compiled modules), and this package
checks it on import: if the compiled modules no longer match the sources beside them, the whole
engine runs interpreted from those sources (never a mix of the two), with one warning that says
how to rebuild. Hashing the ten sources takes about a millisecond.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import warnings
from importlib.machinery import EXTENSION_SUFFIXES, ModuleSpec
from importlib.util import spec_from_file_location

#: The file the build writes beside the compiled modules: ``{"sha256": {module: hex digest}}``.
SOURCES_RECORD = "compiled_sources.json"


class StaleEngineWarning(RuntimeWarning):
    """The compiled engine does not match its sources, so the interpreted engine runs instead."""


def compiled_engine_state(directory: str) -> tuple[frozenset[str], str | None]:
    """The engine modules compiled in ``directory`` and why they may not be used (None: usable).

    An install that ships no sources trusts its build (there is nothing to fall back to); an
    editable install or a wheel (which ships both) is checked module by module.
    """
    compiled = frozenset(
        name.partition(".")[0] for name in os.listdir(directory)
        if name.endswith(tuple(EXTENSION_SUFFIXES))
    )
    if not compiled or not all(os.path.exists(os.path.join(directory, f"{m}.py")) for m in compiled):
        return compiled, None
    try:
        with open(os.path.join(directory, SOURCES_RECORD), encoding="utf-8") as fh:
            recorded = dict(json.load(fh)["sha256"])
    except (OSError, ValueError, KeyError, TypeError):
        return compiled, f"it has no readable {SOURCES_RECORD} to check its sources against"
    if set(recorded) != compiled:
        return compiled, "its compiled modules are not the set it was built with"
    changed = []
    for module, digest in sorted(recorded.items()):
        with open(os.path.join(directory, f"{module}.py"), "rb") as fh:
            source = fh.read()
        if hashlib.sha256(source).hexdigest() != digest:
            changed.append(f"{module}.py")
    if changed:
        return compiled, f"{', '.join(changed)} changed since it was built"
    return compiled, None


class _SourceFinder:
    """Finds the given engine modules as their ``.py`` sources, ahead of the compiled ones."""

    def __init__(self, package: str, directory: str, modules: frozenset[str]) -> None:
        self._paths = {f"{package}.{m}": os.path.join(directory, f"{m}.py") for m in modules}

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> ModuleSpec | None:
        source = self._paths.get(fullname)
        return None if source is None else spec_from_file_location(fullname, source)


def _in_worker_process() -> bool:
    # A worker of a process pool or Dask cluster repeats its parent's import: it falls back the
    # same way but need not repeat the warning. multiprocessing is loaded there already.
    mp = sys.modules.get("multiprocessing")
    return mp is not None and mp.parent_process() is not None


def _use_sources_if_stale() -> tuple[bool, str | None]:
    directory = os.path.dirname(os.path.abspath(__file__))
    compiled, stale = compiled_engine_state(directory)
    if stale is None:
        return bool(compiled), None
    sys.meta_path.insert(0, _SourceFinder(__name__, directory, compiled))
    if not _in_worker_process():
        project = os.path.dirname(os.path.dirname(directory))
        warnings.warn(
            f"revsim's compiled engine in {directory} is stale ({stale}); running the "
            f"interpreted engine from its sources instead (same results, slower). Rebuild it with "
            f"`pip install -e {project}` (or `REVSIM_PURE_PYTHON=1 pip install -e {project}` "
            "to install the interpreted engine only).",
            StaleEngineWarning, stacklevel=2,
        )
    return False, stale


#: Whether the engine that runs is the mypyc-compiled one (same results, faster) or pure Python.
COMPILED: bool
#: Why compiled modules present in the install are not used (they no longer match their
#: sources), or None.
STALE_BUILD: str | None
COMPILED, STALE_BUILD = _use_sources_if_stale()
