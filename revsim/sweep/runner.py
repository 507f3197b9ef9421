"""Run a sweep: every (point, replication) as one task on any concurrent.futures Executor,
each finished task persisted atomically so that an interrupted sweep resumes where it stopped.

Results never depend on the executor or on completion order: tasks are keyed by
(point, replication), replication r uses the same random streams at every point (common random
numbers), and tables are sorted by key before they are written.
"""

from __future__ import annotations

import hashlib
import json
import math
import traceback
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from revsim import __version__
from revsim.analysis.ci import summarise
from revsim.errors import Problem, ProblemsError, ScenarioError
from revsim.io import write_text
from revsim.sweep.design import Point

ROW_COLUMNS = ["metric", "scope", "name", "unit", "value"]


class SweepError(ProblemsError):
    """A sweep cannot start or resume (a different sweep in the folder, a bad point)."""

    def __init__(self, problems: list[Problem], source: str = "sweep") -> None:
        super().__init__(problems, source)


@dataclass
class SweepSpec:
    """What a sweep runs: a base scenario, its points, replications, root seed and window."""

    base: dict[str, Any]
    points: list[Point]
    replications: int
    seed: int
    horizon: float | None = None
    warmup: float | None = None
    design: str = "grid"

    def hash(self) -> str:
        """Fingerprint of everything that determines the results."""
        body = json.dumps({
            "base": self.base, "points": [(p.id, p.changes) for p in self.points],
            "replications": self.replications, "seed": self.seed, "horizon": self.horizon,
            "warmup": self.warmup,
        }, sort_keys=True, default=str)
        return hashlib.sha256(body.encode()).hexdigest()[:16]


def run_task(base: dict[str, Any], changes: dict[str, Any], seed: int, replication: int,
             horizon: float | None, warmup: float | None) -> list[tuple[Any, ...]]:
    """One replication of one point, reduced to KPI rows (runs in workers; pure)."""
    from revsim.api import Scenario
    from revsim.experiment import RunOptions, run_one
    from revsim.scenario.load import apply_overrides

    scenario = Scenario(apply_overrides(base, changes))
    summary = run_one(scenario.model, seed, replication,
                      RunOptions(horizon=horizon, warmup=warmup))
    return [tuple(r) for r in summary.rows]


class SweepStore:
    """The sweep's output folder: manifest.json, parts/<point>/<rep>.json, failed/*.json."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.parts = self.folder / "parts"
        self.failed = self.folder / "failed"

    def open(self, spec: SweepSpec, resume: bool) -> set[tuple[str, int]]:
        """Prepare the folder; return the (point, replication) tasks already done."""
        manifest_path = self.folder / "manifest.json"
        if manifest_path.exists():
            try:
                old = json.loads(manifest_path.read_text())
            except (ValueError, OSError):
                old = None
            if not isinstance(old, dict) or "spec_hash" not in old:
                raise SweepError([Problem("", f"{manifest_path} is not a revsim sweep manifest; "
                                          "choose another folder")], str(self.folder))
            problems = []
            if old.get("spec_hash") != spec.hash():
                problems.append(Problem("", f"{self.folder} holds a different sweep (spec "
                                        f"{old.get('spec_hash')} vs {spec.hash()}); use another "
                                        "folder, or delete this one to start over"))
            if old.get("revsim_version") != __version__:
                problems.append(Problem("", f"{self.folder} was written by revsim "
                                        f"{old.get('revsim_version')}, this is {__version__}; "
                                        "results would mix versions, so start a new folder"))
            if problems:
                raise SweepError(problems, str(self.folder))
            if not resume:
                done = self._done()
                if done:
                    raise SweepError([Problem("", f"{self.folder} already has {len(done)} "
                                              "finished tasks of this sweep; add --resume to "
                                              "run only what is missing")], str(self.folder))
        elif self.folder.exists() and any(self.folder.iterdir()):
            raise SweepError([Problem("", f"{self.folder} is not empty and is not a sweep "
                                      "folder; choose another folder")], str(self.folder))
        self.parts.mkdir(parents=True, exist_ok=True)
        from revsim.scenario.load import scenario_hash

        meta = spec.base.get("scenario", {}) if isinstance(spec.base, dict) else {}
        manifest = {
            "spec_hash": spec.hash(), "revsim_version": __version__, "seed": spec.seed,
            "base_scenario_name": meta.get("name"), "base_scenario_hash": scenario_hash(spec.base),
            "replications": spec.replications, "design": spec.design,
            "horizon_hours": spec.horizon, "warmup_hours": spec.warmup,
            "points": [{"id": p.id, "label": p.label, "changes": p.changes}
                       for p in spec.points],
            "replication_seeds": "SeedSequence(root seed, spawn_key=(replication,)) per "
                                 "replication; the same at every point",
        }
        write_text(manifest_path, json.dumps(manifest, indent=2, default=str) + "\n")
        return self._done()

    def _done(self) -> set[tuple[str, int]]:
        # a killed run can leave a temporary file behind (never a half-written result)
        if self.parts.exists():
            for stale in self.parts.glob("*/.*.part"):
                stale.unlink(missing_ok=True)
        done = set()
        if self.parts.exists():
            for f in self.parts.glob("*/*.json"):
                done.add((f.parent.name, int(f.stem)))
        return done

    def save(self, point: str, replication: int, rows: list[tuple[Any, ...]]) -> None:
        target = self.parts / point / f"{replication:06d}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        write_text(target, json.dumps(rows))
        stale = self.failed / f"{point}-{replication:06d}.json"
        stale.unlink(missing_ok=True)

    def save_failure(self, point: str, replication: int, error: str) -> None:
        self.failed.mkdir(parents=True, exist_ok=True)
        write_text(self.failed / f"{point}-{replication:06d}.json",
                      json.dumps({"point": point, "replication": replication, "error": error}))

    def failures(self) -> list[dict[str, Any]]:
        if not self.failed.exists():
            return []
        return [json.loads(f.read_text()) for f in sorted(self.failed.glob("*.json"))]

    def load(self, spec: SweepSpec) -> pd.DataFrame:
        """Every finished task's rows as one tidy table, sorted by key (not completion)."""
        frames = []
        order = {p.id: i for i, p in enumerate(spec.points)}
        for p in spec.points:
            folder = self.parts / p.id
            if not folder.exists():
                continue
            for f in sorted(folder.glob("*.json")):
                rows = json.loads(f.read_text())
                df = pd.DataFrame(rows, columns=ROW_COLUMNS)
                df.insert(0, "replication", int(f.stem))
                df.insert(0, "point", p.id)
                df["_order"] = order[p.id]
                df["_row"] = range(len(df))
                frames.append(df)
        if not frames:
            return pd.DataFrame(columns=["point", "replication", *ROW_COLUMNS])
        out = pd.concat(frames, ignore_index=True)
        out = out.sort_values(["_order", "replication", "_row"], kind="stable")
        return out.drop(columns=["_order", "_row"]).reset_index(drop=True)


@dataclass
class SweepRun:
    """What running (or resuming) a sweep did."""

    ran: int
    skipped: int
    failed: list[dict[str, Any]] = field(default_factory=list)


def execute(spec: SweepSpec, store: SweepStore, executor: Executor, *, resume: bool = False,
            on_done: Callable[[int], None] | None = None, in_flight: int = 64) -> SweepRun:
    """Run every task not yet done; persist each as soon as it finishes.

    Tasks are submitted a window at a time (at most ``in_flight`` pending), so finished ones
    are saved while the rest run whatever the executor - including the serial one, which runs
    a task at submission.
    """
    done = store.open(spec, resume)
    tasks = [(p, r) for p in spec.points for r in range(spec.replications)
             if (p.id, r) not in done]
    if on_done is not None and done:
        on_done(len(done))
    futures: dict[Future[Any], tuple[Point, int]] = {}
    failed: list[dict[str, Any]] = []

    def harvest(finished: set[Future[Any]]) -> None:
        for fut in finished:
            p, r = futures.pop(fut)
            error = fut.exception()
            if error is None:
                store.save(p.id, r, fut.result())
            else:
                text = "".join(traceback.format_exception_only(type(error), error)).strip()
                store.save_failure(p.id, r, text)
                failed.append({"point": p.id, "label": p.label, "replication": r,
                               "error": text})
            if on_done is not None:
                on_done(1)

    for p, r in tasks:
        fut = executor.submit(run_task, spec.base, p.changes, spec.seed, r, spec.horizon,
                              spec.warmup)
        futures[fut] = (p, r)
        harvest({f for f in futures if f.done()})
        if len(futures) >= in_flight:
            finished, _ = wait(set(futures), return_when=FIRST_COMPLETED)
            harvest(finished)
    while futures:
        finished, _ = wait(set(futures), return_when=FIRST_COMPLETED)
        harvest(finished)
    return SweepRun(len(tasks), len(done), failed)


def tables(spec: SweepSpec, store: SweepStore, staff_cost: dict[str, float]
           ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The tidy results (point x replication x KPI, with parameter columns) and the per-point
    summary with 95% CIs and n."""
    results = store.load(spec)
    params = sorted({k for p in spec.points for k in p.changes})
    labels = {p.id: p.label for p in spec.points}
    values = {p.id: p.changes for p in spec.points}
    results.insert(1, "label", results["point"].map(labels))
    for i, path in enumerate(params):
        results.insert(2 + i, path, results["point"].map(
            lambda pid, path=path: _cell(values[pid].get(path))))
    results["staff_cost"] = results["point"].map(staff_cost)
    frames = []
    for key, g in results.groupby("point", sort=False):
        pid = str(key)
        s = summarise(g[["replication", *ROW_COLUMNS]],
                      currency_units=frozenset([str(spec.base.get("scenario", {})
                                                    .get("currency", "USD"))]))
        s.insert(0, "point", pid)
        s.insert(1, "label", labels[pid])
        for i, path in enumerate(params):
            s.insert(2 + i, path, _cell(values[pid].get(path)))
        s["staff_cost"] = staff_cost.get(pid, math.nan)
        frames.append(s)
    summary = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return results, summary


def _cell(value: Any) -> Any:
    """Parameter values as table cells (tables and nested values as JSON text)."""
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, default=str)
    return value


def check_points(base: dict[str, Any], points: list[Point], horizon: float | None = None,
                 warmup: float | None = None) -> dict[str, float]:
    """Validate every point's scenario and run window before running anything; return each
    point's staff cost per year: the planned average headcount over the window (hires and
    departures included) times the cost per head."""
    from revsim.api import Scenario, check_window

    problems: list[Problem] = []
    cost: dict[str, float] = {}
    for p in points:
        try:
            sc = Scenario(base).with_changes(p.changes)
            horizon_h, warmup_h = check_window(sc.model, horizon, warmup, 1)
        except ScenarioError as err:
            problems += [Problem(f"point {p.label}: {q.path}", q.message) for q in err.problems]
            continue
        cost[p.id] = float(sum(pool.planned_headcount(warmup_h, horizon_h)
                               * (pool.cost_per_head or 0.0) for pool in sc.model.pools))
    if problems:
        raise ScenarioError(problems, "sweep")
    return cost
