"""Atomic file writes: every file revsim writes goes through here.

A file is written to a temporary name in its own folder, flushed to disk and renamed over the
target, so a reader (or a resumed run) sees either the old file or the whole new one, never a
half-written one. The folder is fsynced too, so the rename itself survives a power cut.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # some file systems do not open folders; the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; renamed over ``path`` when the block
    ends without an error, removed otherwise. Missing folders on the way are created."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it 0600; give the usual file mode
    try:
        yield Path(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns the path."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns the path."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return path


# -- CSV and spreadsheets -------------------------------------------------------------------------
# A spreadsheet opening a CSV runs a cell that starts with = + - @ (or a tab or CR before one) as a
# formula, and names in revsim's tables come from files anyone may have written (a stage called
# '=HYPERLINK(...)'). Such text cells are written with a leading quote, which spreadsheets show as
# text and do not run; a cell already starting with quotes before one of them gets one more, so
# reading back (unguard_formulas) restores every cell exactly. Numbers are never touched.
_FORMULA = r"^'*[=+\-@\t\r]"
_NUMBER = r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$"
_UNGUARD = r"^'+[=+\-@\t\r]"
_RAW_CSV: ContextVar[bool] = ContextVar("revsim_raw_csv", default=False)


@contextmanager
def raw_csv(enabled: bool = True) -> Iterator[None]:
    """Within this block CSV files are written exactly as the tables hold them, formulas
    included (``revsim ... --raw-csv``); by default text that a spreadsheet would run as a
    formula is quoted (see :func:`guard_formulas`)."""
    token = _RAW_CSV.set(enabled)
    try:
        yield
    finally:
        _RAW_CSV.reset(token)


def guard_formulas(frame: Any) -> Any:
    """A copy of ``frame`` whose text cells that a spreadsheet would run as a formula start
    with a quote ``'``; numbers, and text that reads as a number ("-5"), are left alone."""
    out = frame
    for column in frame.columns:
        values = frame[column]
        if str(values.dtype) == "category":  # the few distinct labels, not every row
            guarded = _guard_text(values.cat.categories.to_series())
            if guarded is not None:
                values = values.cat.rename_categories(guarded.to_numpy())
        elif values.dtype.kind == "O" or str(values.dtype) == "string":
            values = _guard_text(values)
        else:
            continue
        if values is not None:
            if out is frame:
                out = frame.copy(deep=False)
            out[column] = values
    return out


def _guard_text(values: Any) -> Any:
    """``values`` (text, or a mix of text and other things) with :func:`guard_formulas`
    applied, or None when no cell needs it."""
    text = values.astype(object)
    try:
        risky = text.str.match(_FORMULA, na=False).to_numpy(dtype=bool)
    except AttributeError:  # no text in the column at all
        return None
    if risky.any():
        risky[risky] = ~text[risky].str.match(_NUMBER, na=False).to_numpy(dtype=bool)
    if not risky.any():
        return None
    text = text.copy()
    text[risky] = "'" + text[risky]
    return text


def unguard_formulas(values: Any) -> Any:
    """A column of text read from a CSV revsim wrote, its cells as they were before
    :func:`guard_formulas` (a column without text comes back as it is)."""
    try:
        return values.str.replace(_UNGUARD, lambda m: m.group(0)[1:], regex=True)
    except AttributeError:  # not text (an empty or all-blank column)
        return values


def write_csv(frame: Any, path: str | Path, *, raw: bool | None = None) -> Path:
    """Write a DataFrame as CSV atomically (no index; floats to 10 significant digits), text
    that would run as a spreadsheet formula quoted unless ``raw`` (None: as :func:`raw_csv`
    says)."""
    path = Path(path)
    if not (_RAW_CSV.get() if raw is None else raw):
        frame = guard_formulas(frame)
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, float_format="%.10g")
    return path


@contextmanager
def atomic_folder(path: str | Path, *, replaceable: Any = None) -> Iterator[Path]:
    """A temporary folder beside ``path`` to fill; it becomes ``path`` when the block ends
    without an error and is removed otherwise, so a reader sees the old folder or the whole new
    one. An existing ``path`` is replaced only when ``replaceable(path)`` says it may be (e.g.
    it holds an earlier output of the same kind); otherwise FileExistsError."""
    path = Path(path)
    if path.exists() and not (path.is_dir() and replaceable is not None and replaceable(path)):
        raise FileExistsError(errno.EEXIST, "exists and is not replaceable", str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part"))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it 0700; give the usual folder mode
    old: Path | None = None
    try:
        yield tmp
        for child in tmp.iterdir():
            with open(child, "rb") as fh:
                os.fsync(fh.fileno())
        _fsync_folder(tmp)
        if path.exists():
            # a folder cannot be renamed over a non-empty one: move the old one aside first
            old = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".old"))
            os.replace(path, old / path.name)
        os.replace(tmp, path)
    except BaseException:
        if old is not None and not path.exists():
            os.replace(old / path.name, path)
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    _fsync_folder(path.parent)
