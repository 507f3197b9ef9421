"""Progress bars for long work: shown on a terminal, silent otherwise."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tqdm import tqdm  # the plain bar: it is off when output is not a terminal anyway


@contextmanager
def progress_bar(total: int | None, unit: str, enabled: bool | None = None) -> Iterator[Any]:
    """A tqdm bar on stderr; ``enabled=None`` shows it only when stderr is a terminal."""
    disable = (not sys.stderr.isatty()) if enabled is None else not enabled
    # without a total (a sequence of named steps) show the current step and the time so far
    fmt = None if total is not None else "{desc} [{elapsed}]"
    bar = tqdm(total=total, unit=unit.rstrip("s"), desc=unit, disable=disable, file=sys.stderr,
               leave=False, dynamic_ncols=True, bar_format=fmt)
    try:
        yield bar
    finally:
        bar.close()
