"""A resumable experiment store: a folder with manifest.json, one part per finished
(point, replication) task (parts/<point>/<replication>.json, its KPI rows) and failed/*.json.

Every file is written atomically (revsim.io), so a killed run leaves whole parts or none; a
resumed run skips the tasks whose part exists. The manifest fingerprints the experiment
(``spec_hash``): a folder that holds another experiment, or one written by another revsim
version, is refused rather than mixed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from revsim.errors import ExperimentError, Problem
from revsim.io import write_text
from revsim.kpis import Row
from revsim.version import __version__

Task = tuple[str, int]


class ExperimentStore:
    """The experiment's output folder; see the module docstring for its layout."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.parts = self.folder / "parts"
        self.failed = self.folder / "failed"
        self.manifest_path = self.folder / "manifest.json"

    def _refuse(self, message: str) -> ExperimentError:
        return ExperimentError([Problem("", message)], str(self.folder))

    def open(self, manifest: dict[str, Any], resume: bool) -> set[Task]:
        """Check the folder against ``manifest`` (which names its ``spec_hash``), write the
        manifest, and return the (point, replication) tasks already done."""
        spec_hash = manifest["spec_hash"]
        if self.manifest_path.exists():
            try:
                old = json.loads(self.manifest_path.read_text())
            except (ValueError, OSError):
                old = None
            if not isinstance(old, dict) or "spec_hash" not in old:
                raise self._refuse(f"{self.manifest_path} is not a revsim sweep manifest; "
                                   "choose another folder")
            problems = []
            if old.get("spec_hash") != spec_hash:
                problems.append(Problem("", f"{self.folder} holds a different sweep (spec "
                                        f"{old.get('spec_hash')} vs {spec_hash}); use another "
                                        "folder, or delete this one to start over"))
            if old.get("revsim_version") != __version__:
                problems.append(Problem("", f"{self.folder} was written by revsim "
                                        f"{old.get('revsim_version')}, this is {__version__}; "
                                        "results would mix versions, so start a new folder"))
            if problems:
                raise ExperimentError(problems, str(self.folder))
            if not resume:
                done = self.done()
                if done:
                    raise self._refuse(f"{self.folder} already has {len(done)} finished tasks "
                                       "of this sweep; add --resume to run only what is "
                                       "missing")
        elif self.folder.exists() and any(self.folder.iterdir()):
            raise self._refuse(f"{self.folder} is not empty and is not a sweep folder; choose "
                               "another folder")
        self.parts.mkdir(parents=True, exist_ok=True)
        body = {"spec_hash": spec_hash, "revsim_version": __version__,
                **{k: v for k, v in manifest.items() if k != "spec_hash"}}
        write_text(self.manifest_path, json.dumps(body, indent=2, default=str) + "\n")
        return self.done()

    def done(self) -> set[Task]:
        """The (point, replication) tasks with a saved part."""
        if not self.parts.exists():
            return set()
        # a killed run can leave a temporary file behind (never a half-written result)
        for stale in self.parts.glob("*/.*.part"):
            stale.unlink(missing_ok=True)
        return {(f.parent.name, int(f.stem)) for f in self.parts.glob("*/*.json")}

    def save(self, point: str, replication: int, rows: list[Row]) -> None:
        """Keep one finished task's KPI rows (and forget an earlier failure of it)."""
        target = self.parts / point / f"{replication:06d}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        write_text(target, json.dumps([tuple(r) for r in rows]))
        (self.failed / f"{point}-{replication:06d}.json").unlink(missing_ok=True)

    def rows(self, point: str, replication: int) -> list[Row]:
        """The saved KPI rows of one task."""
        text = (self.parts / point / f"{replication:06d}.json").read_text()
        return [Row(*r) for r in json.loads(text)]

    def save_failure(self, point: str, replication: int, error: str) -> None:
        """Record a task that raised; a resumed run tries it again."""
        self.failed.mkdir(parents=True, exist_ok=True)
        write_text(self.failed / f"{point}-{replication:06d}.json",
                   json.dumps({"point": point, "replication": replication, "error": error}))

    def failures(self) -> list[dict[str, Any]]:
        """Every recorded failure, in file order."""
        if not self.failed.exists():
            return []
        return [json.loads(f.read_text()) for f in sorted(self.failed.glob("*.json"))]
