"""A resumable experiment store: a folder with manifest.json, one part per finished
(point, replication) task (parts/<point>/<replication>.json, its KPI rows) and failed/*.json.

Every file is written atomically (revsim.io), so a killed run leaves whole parts or none; a
resumed run skips the tasks whose part exists and checks out. Each part carries its task's key
and the SHA-256 of its rows, and the manifest lists the SHA-256 of every part file (brought up
to date every few seconds and when the run ends), so a part that is truncated, empty, altered or
of the wrong shape is named on stderr and its task run again, never used. The manifest
fingerprints the experiment (``spec_hash``): a folder that holds another experiment, or one
written by another revsim version or store format, is refused rather than mixed. One sweep
writes to a store at a time (:class:`revsim.experiment.lock.StoreLock`).
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from revsim.errors import ExperimentError, Problem
from revsim.experiment.lock import LOCK_NAME, StoreLock
from revsim.io import make_folder, write_bytes, write_text
from revsim.kpis import Row
from revsim.version import __version__

Task = tuple[str, int]
# 2: parts are {"point", "replication", "rows", "sha256"} and the manifest lists their SHA-256
STORE_FORMAT = 2
FLUSH_EVERY_S = 2.0
PART_NAME = re.compile(r"\d{6}\.json")


class DamagedPart(ValueError):
    """A part file that cannot be used; the message says why."""


def _digest(point: str, replication: int, rows: list[list[Any]]) -> str:
    key = json.dumps([point, replication, rows], separators=(",", ":"))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def encode_part(point: str, replication: int, rows: list[Row]) -> bytes:
    """A part file's bytes: the task's key, its KPI rows, and their SHA-256."""
    body = [list(r) for r in rows]
    return json.dumps({"point": point, "replication": replication, "rows": body,
                       "sha256": _digest(point, replication, body)}).encode("utf-8")


def _is_row(row: Any) -> bool:
    return (isinstance(row, list) and len(row) == len(Row._fields)
            and all(isinstance(v, str) for v in row[:4])
            and isinstance(row[4], int | float) and not isinstance(row[4], bool))


def decode_part(data: bytes, point: str, replication: int,
                recorded: str | None = None) -> list[Row]:
    """The KPI rows of the part of task (point, replication), or :class:`DamagedPart` saying
    what is wrong with it; ``recorded`` is the SHA-256 the manifest lists for its file."""
    if not data.strip():
        raise DamagedPart("the part is empty")
    if recorded is not None and hashlib.sha256(data).hexdigest() != recorded:
        raise DamagedPart("the part does not match its checksum in manifest.json (truncated "
                          "or altered)")
    try:
        part = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise DamagedPart("the part is not valid JSON (truncated or altered)") from None
    if not isinstance(part, dict) or not isinstance(part.get("rows"), list) \
            or not all(_is_row(r) for r in part["rows"]) or not part["rows"]:
        raise DamagedPart("the part does not hold a task's KPI rows (wrong shape)")
    if part.get("point") != point or part.get("replication") != replication:
        raise DamagedPart(f"the part holds task {part.get('point')!r} replication "
                          f"{part.get('replication')!r}, not the one its name says")
    if part.get("sha256") != _digest(point, replication, part["rows"]):
        raise DamagedPart("the part's rows do not match their checksum (altered)")
    return [Row(*r) for r in part["rows"]]


def _warn(message: str) -> None:
    sys.stderr.write(message + "\n")


class ExperimentStore:
    """The experiment's output folder; see the module docstring for its layout.

    ``notify`` receives one line per damaged or foreign file found and per stale lock taken
    over (default: printed on stderr).
    """

    def __init__(self, folder: str | Path, notify: Callable[[str], None] | None = None) -> None:
        self.folder = Path(folder)
        self.parts = self.folder / "parts"
        self.failed = self.folder / "failed"
        self.manifest_path = self.folder / "manifest.json"
        self.notify = notify or _warn
        self.lock = StoreLock(self.folder)
        self._rows: dict[Task, list[Row]] | None = None
        self._sums: dict[str, str] = {}
        self._body: dict[str, Any] | None = None
        self._flushed = 0.0
        self._dirty = True

    def _refuse(self, message: str) -> ExperimentError:
        return ExperimentError([Problem("", message)], str(self.folder))

    def _old_manifest(self) -> dict[str, Any] | None:
        if not self.manifest_path.exists():
            return None
        try:
            old = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except (ValueError, OSError):
            old = None
        if not isinstance(old, dict) or "spec_hash" not in old:
            raise self._refuse(f"{self.manifest_path} is not a revsim sweep manifest; "
                               "choose another folder")
        return old

    def _check(self, old: dict[str, Any], spec_hash: str) -> None:
        problems = []
        if old.get("spec_hash") != spec_hash:
            problems.append(Problem("", f"{self.folder} holds a different sweep (spec "
                                    f"{old.get('spec_hash')} vs {spec_hash}); use another "
                                    "folder, or delete this one to start over"))
        if old.get("revsim_version") != __version__:
            problems.append(Problem("", f"{self.folder} was written by revsim "
                                    f"{old.get('revsim_version')}, this is {__version__}; "
                                    "results would mix versions, so start a new folder"))
        elif old.get("store_format") != STORE_FORMAT:
            problems.append(Problem("", f"{self.folder} was written in store format "
                                    f"{old.get('store_format', 1)}, this revsim writes "
                                    f"{STORE_FORMAT}; start a new folder"))
        if problems:
            raise ExperimentError(problems, str(self.folder))

    def open(self, manifest: dict[str, Any], resume: bool) -> set[Task]:
        """Lock the folder, check it against ``manifest`` (which names its ``spec_hash``),
        write the manifest, and return the (point, replication) tasks already done (each
        part read and checked; damaged ones are named and left to run again)."""
        # hidden names aside: a lock, or a temporary file, left by a sweep killed at its start
        if not self.manifest_path.exists() and self.folder.exists() and any(
                not p.name.startswith(".") for p in self.folder.iterdir()):
            raise self._refuse(f"{self.folder} is not empty and is not a sweep folder; choose "
                               "another folder")
        make_folder(self.folder)
        self.lock.acquire(self.notify)
        try:
            return self._open_locked(manifest, resume)
        except BaseException:
            self.lock.release()
            raise

    def _open_locked(self, manifest: dict[str, Any], resume: bool) -> set[Task]:
        spec_hash = manifest["spec_hash"]
        for stale in self.folder.glob(".*.part"):  # a write a kill interrupted
            if not stale.name.startswith(LOCK_NAME):  # another sweep's bid for the lock
                stale.unlink(missing_ok=True)
        old = self._old_manifest()
        if old is not None:
            self._check(old, spec_hash)
            sums = old.get("parts")
            self._sums = {str(k): str(v) for k, v in sums.items()} \
                if isinstance(sums, dict) else {}
            done = self._load()
            if not resume and done:
                raise self._refuse(f"{self.folder} already has {len(done)} finished tasks "
                                   "of this sweep; add --resume to run only what is missing")
        else:
            self._sums, self._rows = {}, {}
        self._body = {"spec_hash": spec_hash, "revsim_version": __version__,
                      "store_format": STORE_FORMAT,
                      **{k: v for k, v in manifest.items() if k != "spec_hash"}}
        if old is not None and isinstance(old.get("tables"), dict):
            self._body["tables"] = old["tables"]
        self._dirty = True
        self.flush()
        make_folder(self.parts)  # after the manifest: a folder without one holds nothing of ours
        return set(self._rows or {})

    def close(self) -> None:
        """Bring the manifest's checksums up to date and release the lock."""
        try:
            if self.lock.held:
                self.flush()
        finally:
            self.lock.release()

    def __enter__(self) -> ExperimentStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def flush(self) -> None:
        """Write the manifest with the SHA-256 of every part saved so far (if any was saved
        since it was last written)."""
        if self._body is None or not self._dirty:
            return
        body = {**self._body, "parts": dict(sorted(self._sums.items()))}
        write_text(self.manifest_path, json.dumps(body, indent=2, default=str) + "\n")
        self._flushed, self._dirty = time.monotonic(), False

    def _load(self) -> set[Task]:
        """Read and check every part; drop (and name) the ones that cannot be used."""
        self._rows = {}
        if not self.parts.is_dir():
            self._sums = {}
            return set()
        # a killed run can leave a temporary file behind (never a half-written result)
        for stale in self.parts.glob("*/.*.part"):
            stale.unlink(missing_ok=True)
        listed, self._sums = self._sums, {}
        for path in sorted(self.parts.glob("*/*")):
            rel = f"{path.parent.name}/{path.name}"
            if not path.is_file() or not PART_NAME.fullmatch(path.name) \
                    or path.parent.name.startswith("."):
                if not path.name.startswith("."):
                    self.notify(f"notice: {path} is not a part revsim wrote; ignored")
                continue
            task = (path.parent.name, int(path.stem))
            try:
                data = path.read_bytes()
                self._rows[task] = decode_part(data, *task, listed.get(rel))
            except DamagedPart as err:
                self.notify(f"warning: {path}: {err}; its task will run again")
                path.unlink(missing_ok=True)
                continue
            except OSError as err:
                self.notify(f"warning: {path}: cannot read it ({err.strerror or err}); its "
                            "task will run again")
                continue
            # a part saved after the manifest was last written is vouched for by its own sum
            self._sums[rel] = listed.get(rel) or hashlib.sha256(data).hexdigest()
        return set(self._rows)

    def done(self) -> set[Task]:
        """The (point, replication) tasks with a saved part that checks out."""
        return set(self._rows) if self._rows is not None else self._load()

    def save(self, point: str, replication: int, rows: list[Row]) -> None:
        """Keep one finished task's KPI rows (and forget an earlier failure of it)."""
        target = self.parts / point / f"{replication:06d}.json"
        make_folder(target.parent)
        data = encode_part(point, replication, rows)
        write_bytes(target, data)
        if self._rows is None:
            self._load()
        assert self._rows is not None
        self._rows[(point, replication)] = list(rows)
        self._sums[f"{point}/{replication:06d}.json"] = hashlib.sha256(data).hexdigest()
        self._dirty = True
        (self.failed / f"{point}-{replication:06d}.json").unlink(missing_ok=True)
        if time.monotonic() - self._flushed >= FLUSH_EVERY_S:
            self.flush()

    def rows(self, point: str, replication: int) -> list[Row]:
        """The saved KPI rows of one task."""
        if self._rows is None:
            self._load()
        assert self._rows is not None
        return self._rows[(point, replication)]

    def save_failure(self, point: str, replication: int, error: str) -> None:
        """Record a task that raised; a resumed run tries it again."""
        make_folder(self.failed)
        write_text(self.failed / f"{point}-{replication:06d}.json",
                   json.dumps({"point": point, "replication": replication, "error": error}))

    def failures(self) -> list[dict[str, Any]]:
        """Every recorded failure, in file order (damaged records are named and skipped:
        their task has no part, so a resumed run tries it again anyway)."""
        if not self.failed.exists():
            return []
        found = []
        for path in sorted(self.failed.glob("*.json")):
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                record = None
            if isinstance(record, dict) and {"point", "replication", "error"} <= set(record):
                found.append(record)
            else:
                self.notify(f"warning: {path} is not a failure record revsim wrote; ignored")
        return found

    def record_tables(self, files: dict[str, str]) -> None:
        """Note the SHA-256 of the tables written from the store (results.parquet, ...) in
        its manifest, so that a reader can check them; takes the lock meanwhile."""
        self.lock.acquire(self.notify)
        try:
            old = self._old_manifest()
            if old is None:
                return
            tables = old.get("tables")
            tables = tables if isinstance(tables, dict) else {}
            body = {**old, "tables": dict(sorted({**tables, **files}.items()))}
            write_text(self.manifest_path, json.dumps(body, indent=2, default=str) + "\n")
        finally:
            self.lock.release()

