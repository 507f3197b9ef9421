"""Run a sweep: every (point, replication) as one task of the experiment core, each finished
task persisted in the experiment store so that an interrupted sweep resumes where it stopped.

Results never depend on the executor or on completion order: tasks are keyed by
(point, replication), replication r uses the same random streams at every point (common random
numbers), and tables are sorted by key before they are written.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import pandas as pd

from revsim.analysis.ci import summarise
from revsim.errors import ExperimentError, Problem, ScenarioError, clip, quoted
from revsim.experiment import (
    ExperimentStore,
    RunOptions,
    check_seed,
    check_window,
    open_executor,
    run_points,
)
from revsim.limits import MAX_REPLICATIONS, MAX_TASKS
from revsim.scenario.compile import compile_scenario
from revsim.scenario.load import apply_overrides, scenario_hash
from revsim.scenario.model import Model
from revsim.sweep.design import (
    Param,
    Point,
    SweepSpec,
    grid,
    latin_hypercube,
    parse_param,
    variants,
)
from revsim.sweep.sweep_result import SweepResult

ROW_COLUMNS = ["metric", "scope", "name", "unit", "value"]


def sweep_manifest(spec: SweepSpec) -> dict[str, Any]:
    """What the sweep folder's manifest.json records (the store adds its fingerprint)."""
    meta = spec.base.get("scenario", {}) if isinstance(spec.base, dict) else {}
    return {
        "spec_hash": spec.hash(), "seed": spec.seed,
        "base_scenario_name": meta.get("name"), "base_scenario_hash": scenario_hash(spec.base),
        "replications": spec.replications, "design": spec.design,
        "horizon_hours": spec.horizon, "warmup_hours": spec.warmup,
        "points": [{"id": p.id, "label": p.label, "changes": p.changes}
                   for p in spec.points],
        "replication_seeds": "SeedSequence(root seed, spawn_key=(replication,)) per "
                             "replication; the same at every point",
    }


def compile_points(base: Mapping[str, Any], points: list[Point], horizon: float | None = None,
                   warmup: float | None = None, origins: Mapping[str, tuple[str, str]] | None = None,
                   start: Callable[[Model], Model] | None = None
                   ) -> tuple[dict[str, Model], dict[str, float]]:
    """Every point's engine model, its scenario and run window checked before anything runs,
    and each point's staff cost per year: the planned average headcount over the window
    (hires and departures included) times the cost per head. ``start`` gives each model its
    warm start (a snapshot's).

    ``origins`` maps a swept path to where it was given (a sweep file and its field), so that
    a bad level is reported there, once, rather than once per point."""
    problems: list[Problem] = []
    sources: set[str] = set()
    said: set[tuple[str, str]] = set()
    models: dict[str, Model] = {}
    cost: dict[str, float] = {}
    for p in points:
        try:
            model, _warnings = compile_scenario(apply_overrides(dict(base), p.changes), None)
            if start is not None:
                model = start(model)
            horizon_h, warmup_h = check_window(model, horizon, warmup, 1)
        except ScenarioError as err:
            for q in err.problems:
                origin = _origin(q.path, p, origins or {})
                if origin is None:
                    sources.add("sweep")
                    problems.append(Problem(f"point {clip(p.label, 100)}: {q.path}", q.message))
                else:
                    source, field, level = origin
                    sources.add(source)
                    if (field, q.message) in said:
                        continue  # the same whatever the value (a path that does not exist)
                    said.add((field, q.message))
                    problems.append(Problem(field, f"with {q.path} = {quoted(level, 60)}: "
                                            f"{q.message}"))
            continue
        models[p.id] = model
        cost[p.id] = float(sum(pool.planned_headcount(warmup_h, horizon_h)
                               * (pool.cost_per_head or 0.0) for pool in model.pools))
    problems = list(dict.fromkeys(problems))  # a bad level fails every point it is in
    if problems:
        source = sources.pop() if len(sources) == 1 else "sweep"
        raise ScenarioError(problems, source)
    return models, cost


def _origin(path: str, point: Point, origins: Mapping[str, tuple[str, str]]
            ) -> tuple[str, str, Any] | None:
    """Where the swept value behind a problem at ``path`` was given, and the value."""
    for swept, (source, field) in origins.items():
        if swept in point.changes and (path == swept or path.startswith(swept + ".")):
            return source, field, point.changes[swept]
    return None


def tables(spec: SweepSpec, tidy: pd.DataFrame, staff_cost: dict[str, float]
           ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The tidy results (point x replication x KPI, with parameter columns) and the per-point
    summary with 95% CIs and n."""
    results = tidy.reset_index(drop=True)
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


def build_points(design: str, params: Sequence[str | Param] = (), *, points: int = 10,
                 seed: int = 1, named: Sequence[Mapping[str, Any]] = (),
                 named_source: str = "sweep") -> list[Point]:
    """The points of a ``grid``, ``lhs`` or ``variants`` design."""
    parsed = [p if isinstance(p, Param) else parse_param(p) for p in params]
    if design == "grid":
        return grid(parsed)
    if design == "lhs":
        return latin_hypercube(parsed, points, seed)
    if design == "variants":
        return variants(named, named_source)
    raise ExperimentError([Problem("--design", f"unknown design {quoted(design)}; use grid, "
                                   "lhs or variants")], "sweep")


def run_sweep(base: Mapping[str, Any] | Any, out: str | Path, *, params: Sequence[str | Param] = (),
              design: str = "grid", points: int = 10, named: Sequence[Mapping[str, Any]] = (),
              named_source: str = "sweep",
              replications: int = 10, seed: int = 1, horizon: float | None = None,
              warmup: float | None = None, jobs: int | None = None,
              scheduler: str | None = None, dask_local: int | None = None,
              resume: bool = False, progress: bool | None = None,
              executor: Executor | None = None, dask_dashboard: bool = False,
              start: Callable[[Model], Model] | None = None) -> SweepResult:
    """Run a sweep of the scenario ``base`` (a Scenario, or its raw mapping) into ``out``.

    Replication r of every point uses the same random streams (common random numbers). Each
    finished (point, replication) is saved at once; ``resume=True`` runs only what is missing.
    ``jobs``/``scheduler``/``dask_local``/``dask_dashboard`` choose the executor (see
    :func:`revsim.experiment.open_executor`) unless one is given. ``start`` gives every
    point's model its warm start (``base`` is then the scenario moved to the as-of date).
    """
    base = base if isinstance(base, Mapping) else base.raw
    seed = check_seed(seed)
    if isinstance(replications, bool) or not isinstance(replications, int) \
            or not 1 <= replications <= MAX_REPLICATIONS:
        raise ExperimentError([Problem("--replications", f"must be a whole number from 1 to "
                                       f"{MAX_REPLICATIONS:,}, got {quoted(replications)}")],
                              "sweep")
    parsed = [p if isinstance(p, Param) else parse_param(p) for p in params]
    chosen = build_points(design, parsed, points=points, seed=seed, named=named,
                          named_source=named_source)
    if not chosen:
        raise ExperimentError([Problem("--param", "the design has no points")], "sweep")
    if len(chosen) * replications > MAX_TASKS:
        raise ExperimentError([Problem("--replications", f"{len(chosen):,} points x "
                                       f"{replications:,} replications is "
                                       f"{len(chosen) * replications:,} tasks, more than the "
                                       f"{MAX_TASKS:,} a sweep may have")], "sweep")
    origins = {p.path: (p.source, p.field or p.path) for p in parsed}
    if design == "variants":
        origins = {path: (named_source, f"variants.{i}.set.{path}")
                   for i, item in enumerate(named) for path in item.get("set", {})}
    models, staff_cost = compile_points(base, chosen, horizon, warmup, origins, start)
    spec = SweepSpec(dict(base), chosen, replications, seed, horizon, warmup, design)
    store = ExperimentStore(out)
    started = time.perf_counter()
    manifest = sweep_manifest(spec)
    state = next(iter(models.values())).start_state if start is not None else None
    if state is not None:
        # a resumed sweep must start from the same state, not only the same as-of date
        manifest["state"] = state.label
        manifest["spec_hash"] = hashlib.sha256(
            f"{manifest['spec_hash']}|{state!r}".encode()).hexdigest()[:16]
    store.open(manifest, resume)
    options = RunOptions(horizon=horizon, warmup=warmup, artefacts=False)
    kwargs: dict[str, Any] = dict(options=options, store=store, progress=progress,
                                  record_failures=True)
    try:
        if executor is not None:
            runs = run_points(models, replications, seed, executor=executor, **kwargs)
        else:
            with open_executor(jobs, scheduler=scheduler, dask_local=dask_local,
                               dask_dashboard=dask_dashboard,
                               tasks=len(chosen) * replications) as opened:
                runs = run_points(models, replications, seed, executor=opened, **kwargs)
        failed = store.failures()
    finally:
        store.close()
    results, summary = tables(spec, runs.table, staff_cost)
    swept = sorted({k for p in chosen for k in p.changes})
    return SweepResult(spec, Path(out), results, summary, swept, failed, runs.ran,
                       runs.skipped, round(time.perf_counter() - started, 3))
