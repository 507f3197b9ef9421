"""One writer per experiment store: a lock file naming its owner (pid, host, start time).

The lock is created whole or not at all (written to a temporary file, then hard-linked to its
name, which fails if the name exists), so two sweeps starting at once cannot both get it. A
lock whose owner is a process of this host that no longer runs (a sweep killed by SIGKILL) is
stale: the next sweep takes it over and says so.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from revsim.errors import ExperimentError, Problem
from revsim.io import output_error, pid_alive

LOCK_NAME = ".revsim.lock"


def _owner_text(owner: dict[str, Any]) -> str:
    return (f"process {owner.get('pid')} on host {owner.get('host')} "
            f"(since {owner.get('started', '?')})")


class StoreLock:
    """The lock of the store in ``folder``; :meth:`acquire` then :meth:`release`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / LOCK_NAME
        self.held = False
        self.me = {"pid": os.getpid(), "host": socket.gethostname()}

    def _busy(self, owner: dict[str, Any] | None, why: str) -> ExperimentError:
        who = _owner_text(owner) if owner else "another process"
        return ExperimentError([Problem("", f"{self.folder} is in use by {who}: {why}")],
                               str(self.folder))

    def _read(self) -> dict[str, Any] | None:
        try:
            owner = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            owner = {}
        return owner if isinstance(owner, dict) else {}

    def _create(self) -> bool:
        body = {**self.me, "started": datetime.now(UTC).isoformat(timespec="seconds")}
        try:
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=f"{LOCK_NAME}.", suffix=".part")
        except OSError as err:
            raise output_error(self.path, err) from None
        try:
            try:
                os.write(fd, (json.dumps(body) + "\n").encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)
            os.link(tmp, self.path)
            return True
        except FileExistsError:
            return False
        except OSError as err:
            raise output_error(self.path, err) from None
        finally:
            os.unlink(tmp)

    def acquire(self, notify: Callable[[str], None]) -> None:
        """Take the lock, or raise :class:`ExperimentError` naming its live owner."""
        for _attempt in range(3):
            if self._create():
                self.held = True
                return
            owner = self._read()
            if owner is None:  # released meanwhile
                continue
            if not owner or not isinstance(owner.get("pid"), int):
                raise self._busy(None, f"its lock file {self.path} cannot be read; if no "
                                 "sweep is writing there, delete the lock file")
            if owner.get("host") != self.me["host"]:
                raise self._busy(owner, "another sweep may be writing there; wait for it, or "
                                 f"if it is no longer running, delete {self.path}")
            if owner["pid"] == self.me["pid"] or pid_alive(owner["pid"]):
                raise self._busy(owner, "another sweep is writing there; wait for it to "
                                 "finish, or stop it first")
            if self._take_over(owner):
                notify(f"notice: {self.path}: took over the lock of {_owner_text(owner)}, "
                       "which is no longer running")
        raise self._busy(self._read(), "the lock changed hands while this sweep started; "
                         "try again")

    def _take_over(self, stale: dict[str, Any]) -> bool:
        """Move the stale lock aside, checking that it is still the one judged stale (two
        sweeps may both find it stale; only one moves it)."""
        aside = self.path.with_name(f"{LOCK_NAME}.stale-{os.getpid()}")
        try:
            os.rename(self.path, aside)
        except FileNotFoundError:
            return False
        try:
            moved = json.loads(aside.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            moved = None
        if moved != stale:  # another sweep took over first: hand its lock back
            try:
                os.link(aside, self.path)
            except OSError:
                pass
        aside.unlink(missing_ok=True)
        return moved == stale

    def release(self) -> None:
        """Give the lock up (only if this process holds it)."""
        if self.held:
            owner = self._read() or {}
            if (owner.get("pid"), owner.get("host")) == (self.me["pid"], self.me["host"]):
                self.path.unlink(missing_ok=True)
            self.held = False


__all__ = ["LOCK_NAME", "StoreLock"]
