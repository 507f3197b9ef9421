"""Where a command writes: output paths checked before any work starts, and the writing of a
result's files and plots."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import click

from revsim.cli.exits import echo_err


class OutputPath(click.Path):
    """A path revsim will write to, checked before any work starts (so an unwritable place
    fails at once, not after the run) and without side effects: a probe file is created and
    removed in the nearest existing folder; the output folders themselves come later."""

    def __init__(self, *, folder: bool) -> None:
        super().__init__(file_okay=not folder, dir_okay=folder)
        self.folder = folder

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None
                ) -> Any:
        value = super().convert(value, param, ctx)
        path = Path(value)
        if not self.folder and path.is_dir():
            self.fail(f"{value!r} is a folder; give a file name", param, ctx)
        start = path if self.folder else path.parent
        existing = next(p for p in (start, *start.parents) if p.exists())
        if not existing.is_dir():
            self.fail(f"cannot create {value!r}: {str(existing)!r} is a file", param, ctx)
        try:
            fd, probe = tempfile.mkstemp(dir=existing, prefix=".revsim-probe-")
            os.close(fd)
            os.unlink(probe)
        except OSError as err:
            self.fail(f"cannot write in {str(existing)!r} ({err.strerror or err}); choose a "
                      "writable location", param, ctx)
        return value


OUT_DIR = OutputPath(folder=True)
OUT_FILE = OutputPath(folder=False)


def write_outputs(result: Any, out: str | None, plots: str | None) -> None:
    """Write a result's files (``to_dir``) and plots (``write_plots``) when asked."""
    if out:
        written = result.to_dir(out)
        echo_err(f"wrote {len(written)} files to {out}")
    if plots:
        paths = result.write_plots(plots)
        echo_err(f"wrote {len(paths)} plot files to {plots}")
