"""Atomic file writes: every file revsim writes goes through here.

A file is written to a temporary name in its own folder, flushed to disk and renamed over the
target, so a reader (or a resumed run) sees either the old file or the whole new one, never a
half-written one. The folder is fsynced too, so the rename itself survives a power cut.

A write that fails (a full disk, a read-only or missing folder) removes its temporary file and
raises :class:`OutputError`, which names the path and is reported like bad input (exit 2).

A command's set of files in a folder (a run's kpis.csv, series.csv, ... and its manifest) is
replaced as a whole by :func:`output_set`: see there.
"""

from __future__ import annotations

import errno
import fnmatch
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from revsim.errors import Problem, ProblemsError

STAGING_PREFIX = ".revsim-staging-"
PENDING_SUFFIX = ".pending"
_REASONS = {
    errno.ENOSPC: "no space left on the disk; free some space or write elsewhere",
    errno.EDQUOT: "the disk quota is used up; free some space or write elsewhere",
    errno.EROFS: "the file system is read-only; choose a writable folder",
    errno.EACCES: "permission denied; choose a writable folder",
    errno.EPERM: "permission denied; choose a writable folder",
    errno.ENOTDIR: "a part of the path is a file, not a folder; choose another path",
    errno.EISDIR: "it is a folder; give a file name",
}


class OutputError(ProblemsError, OSError):
    """A file or folder could not be written; names the path and why. Nothing half-written is
    left behind (the temporary file is removed)."""

    def __str__(self) -> str:  # OSError's own form would hide the reason given here
        return "\n".join(self.lines())


def output_error(path: str | Path, err: OSError) -> OutputError:
    """The :class:`OutputError` for a failed write of ``path``."""
    reason = _REASONS.get(err.errno or 0, err.strerror or str(err))
    failed = OutputError([Problem("", f"cannot write it: {reason}")], str(path))
    failed.errno, failed.strerror, failed.filename = err.errno, err.strerror, str(path)
    return failed


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


def make_folder(path: str | Path) -> Path:
    """``mkdir -p`` that fails with an :class:`OutputError` naming the folder."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError as err:  # a file where a folder of the path should be
        err.errno = errno.ENOTDIR
        raise output_error(path, err) from None
    except OSError as err:
        raise output_error(path, err) from None
    return path


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; renamed over ``path`` when the block
    ends without an error, removed otherwise. An OSError while writing (ENOSPC, EROFS, ...)
    becomes an :class:`OutputError` naming ``path``."""
    path = Path(path)
    make_folder(path.parent)  # missing folders on the way are created
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
        os.close(fd)
    except OSError as err:
        raise output_error(path, err) from None
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it 0600; give the usual file mode
        yield Path(tmp)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(err, OutputError):
            raise
        raise output_error(path, err) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def _write_all(tmp: Path, data: bytes) -> None:
    fd = os.open(tmp, os.O_WRONLY | os.O_TRUNC)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns the path."""
    path = Path(path)
    with atomic_path(path) as tmp:
        _write_all(tmp, data)
    return path


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns the path."""
    return write_bytes(path, text.encode("utf-8"))


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


def sha256_file(path: str | Path) -> str:
    """The hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this machine (a zombie counts as ended)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rpartition(")")[2].split()[0] != "Z"
    except (OSError, IndexError):  # no /proc (not Linux): the signal test is the answer
        return True


def _read_json(path: Path) -> Any:
    """A JSON file's content; None when there is no file, {} when it cannot be read."""
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _listed(folder: Path, manifest: Any, known: Iterable[str]) -> set[str]:
    """The file names a manifest (or a pending note) says are its command's; a manifest
    without a file list (revsim before 0.x kept none) owns the command's ``known`` names."""
    if isinstance(manifest, dict) and isinstance(manifest.get("files"), dict | list):
        return {str(n) for n in manifest["files"] if "/" not in str(n) and str(n) != ".."}
    if manifest is None:
        return set()
    if not isinstance(manifest, dict) or not known:
        return set()
    names = [p.name for p in folder.iterdir() if p.is_file()]
    return {n for n in names for pattern in known if fnmatch.fnmatchcase(n, pattern)}


def clean_staging(folder: Path) -> None:
    """Remove staging folders that writers killed in this folder left behind."""
    if not folder.is_dir():
        return
    for stale in folder.glob(f"{STAGING_PREFIX}*"):
        pid = stale.name[len(STAGING_PREFIX):].partition("-")[0]
        if stale.is_dir() and pid.isdigit() and not pid_alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)


class OutputSet:
    """One command's files for one folder, written to a hidden staging folder inside it and
    swapped in by :meth:`commit` (see :func:`output_set`)."""

    def __init__(self, folder: Path, manifest_name: str, known: Iterable[str]) -> None:
        self.folder = folder
        self.manifest_name = manifest_name
        self.known = tuple(known)
        self.staging = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-",
                                             dir=folder))
        self.names: list[str] = []

    def path(self, name: str) -> Path:
        """Where to write the file ``name`` (a staged path; it moves in on commit)."""
        if name not in self.names:
            self.names.append(name)
        return self.staging / name

    def commit(self, manifest: dict[str, Any]) -> list[Path]:
        """Replace the command's files in the folder by the staged ones and write the manifest
        (``manifest`` plus ``files``: the SHA-256 of each) last.

        The old files are removed before any new one moves in, and a pending note lists both
        sets meanwhile, so a kill at any moment leaves the old run whole, or one run's files
        without a manifest (which readers refuse and the next write clears), never two runs'
        files mixed under one manifest.
        """
        folder, target = self.folder, self.folder / self.manifest_name
        pending = folder / f".{self.manifest_name}{PENDING_SUFFIX}"
        try:
            files = {n: sha256_file(self.staging / n) for n in sorted(self.names)}
            old = (_listed(folder, _read_json(target), self.known)
                   | _listed(folder, _read_json(pending), self.known))
            old.discard(self.manifest_name)
            write_text(pending, json.dumps({"files": sorted(old | set(files))}) + "\n")
            target.unlink(missing_ok=True)
            for name in sorted(old):
                (folder / name).unlink(missing_ok=True)
            _fsync_folder(folder)
            for name in files:
                os.replace(self.staging / name, folder / name)
            _fsync_folder(folder)
            write_text(target, json.dumps({**manifest, "files": files}, indent=2,
                                          default=str) + "\n")
            pending.unlink(missing_ok=True)
        except OSError as err:
            if isinstance(err, OutputError):
                raise
            raise output_error(getattr(err, "filename", None) or folder, err) from None
        return [folder / n for n in files] + [target]


@contextmanager
def output_set(folder: str | Path, manifest_name: str,
               known: Iterable[str] = ()) -> Iterator[OutputSet]:
    """Write one command's files into ``folder`` as a whole: write each to
    ``staged.path(name)``, then call ``staged.commit(manifest)``.

    ``manifest_name`` names the command's manifest (a folder may hold several commands'
    files, each with its own manifest); the files its old manifest lists (``known`` names or
    patterns, for a manifest without a list) are replaced, every other file is left alone.
    The staging folder is removed in any case; one left by a killed writer is removed by the
    next write.
    """
    path = make_folder(folder)
    current = _read_json(path / manifest_name)
    if isinstance(current, dict) and "spec_hash" in current:
        raise OutputError([Problem("", "holds a sweep (its manifest.json has a spec_hash); "
                                   "write to another folder")], str(path))
    clean_staging(path)
    for stale in (*path.glob(f".{manifest_name}.*.part"),  # a kill while writing the manifest
                  *path.glob(f"..{manifest_name}{PENDING_SUFFIX}.*.part")):
        stale.unlink(missing_ok=True)
    try:
        staged = OutputSet(path, manifest_name, known)
    except OSError as err:
        raise output_error(path, err) from None
    try:
        yield staged
    finally:
        shutil.rmtree(staged.staging, ignore_errors=True)


__all__ = ["OutputError", "OutputSet", "atomic_folder", "atomic_path", "guard_formulas",
           "make_folder", "output_error", "output_set", "pid_alive", "raw_csv", "sha256_file",
           "unguard_formulas", "write_bytes", "write_csv", "write_text"]
