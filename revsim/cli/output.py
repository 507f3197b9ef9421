"""Where a command writes: output paths checked before any work starts, and the writing of a
result's files and plots."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import click

from revsim.cli.exits import echo_err


def unwritable(path: Path, *, folder: bool) -> str | None:
    """Why revsim could not write ``path`` (a folder it fills, or a file), or None when it can.

    Checked before any work starts, so an unwritable place fails at once, not after the run,
    and without side effects: a probe file is created and removed in the nearest existing
    folder. Missing folders on the way are fine: the writers create them (revsim.io)."""
    if not folder and path.is_dir():
        return f"{str(path)!r} is a folder; give a file name"
    if folder and path.exists() and not path.is_dir():
        return f"{str(path)!r} is a file; give a folder"
    start = path if folder else path.parent
    existing = next(p for p in (start, *start.parents) if p.exists())
    if not existing.is_dir():
        return f"cannot create {str(path)!r}: {str(existing)!r} is a file"
    try:
        fd, probe = tempfile.mkstemp(dir=existing, prefix=".revsim-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        return (f"cannot write in {str(existing)!r} ({err.strerror or err}); choose a "
                "writable location")
    return None


class OutputPath(click.Path):
    """A path revsim will write to, checked by :func:`unwritable` when the command line is
    read (click then exits 2 naming the option)."""

    def __init__(self, *, folder: bool, folder_with: str | None = None) -> None:
        """``folder_with`` names an eager flag of the command that makes the path a folder
        instead of a file (``backtest --forecast -o DIR``)."""
        either = folder_with is not None
        super().__init__(file_okay=not folder or either, dir_okay=folder or either)
        self.folder = folder
        self.folder_with = folder_with

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None
                ) -> Any:
        value = super().convert(value, param, ctx)
        folder = self.folder
        if self.folder_with is not None and ctx is not None:
            folder = bool(ctx.params.get(self.folder_with))
        problem = unwritable(Path(value), folder=folder)
        if problem:
            self.fail(problem, param, ctx)
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
