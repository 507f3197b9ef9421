"""The Python API: load a scenario, change it, run it. The CLI is a thin layer over this."""

from __future__ import annotations

import datetime as dt
import platform
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

from revsim.analysis.paired import check_comparable
from revsim.analysis.precision import check_precision, first_round, next_round
from revsim.analysis.warmup import detect_warmup
from revsim.engine import COMPILED
from revsim.errors import Problem, ScenarioError
from revsim.experiment import (
    DEFAULT_SEED,
    ReplicationSummary,
    RunOptions,
    Runs,
    check_seed,
    check_window,
    draw_index,
    hours,
    open_executor,
    run_points,
)
from revsim.progress import progress_bar
from revsim.results import BottleneckReport, Comparison, RunResult
from revsim.results.bottleneck_report import build_report, marginal_variants
from revsim.scenario.compile import compile_scenario
from revsim.scenario.load import apply_overrides, parse_toml, scenario_hash
from revsim.scenario.model import Model
from revsim.scenario.parameters import ParameterDraws, draws_reference, read_draws
from revsim.sweep import Param, SweepResult, run_sweep
from revsim.table import uncertainty_line
from revsim.text_files import read_text_file
from revsim.version import __version__

BASE = "base"  # the key of the scenario itself among an experiment's points
PILOT_MAX = 10  # replications of the warm-up pilot (at least 2, at most this)


class Scenario:
    """A validated scenario. Build with :func:`load`, :func:`loads` or ``Scenario(dict)``."""

    def __init__(self, raw: Mapping[str, Any], *, source: str | None = None,
                 text: str | None = None) -> None:
        self.raw: dict[str, Any] = dict(raw)
        self.source = source
        self.text = text
        self.model: Model
        self.model, self.warnings = compile_scenario(self.raw, source)
        self._draws: ParameterDraws | None = None

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def hash(self) -> str:
        """Fingerprint of the scenario content (formatting and comments ignored)."""
        return scenario_hash(self.raw)

    def with_changes(self, changes: Mapping[str, Any]) -> Scenario:
        """A new scenario with dotted-path overrides, e.g. ``{"pools.sdr.headcount": 6}``."""
        return Scenario(apply_overrides(self.raw, changes), source=self.source)

    @property
    def parameter_draws(self) -> ParameterDraws | None:
        """The bootstrap draws of the fitted parameters that the scenario names in
        ``[parameter_draws]`` (None if it names none), read and checked on first use: a
        missing file, a SHA-256 that does not match or a file of another shape raise
        ScenarioError naming the file."""
        if self._draws is None:
            self._draws = read_draws(self.raw, self.source)
        return self._draws

    def draws_for(self, parameter_uncertainty: bool | None, *, default: bool = False
                  ) -> ParameterDraws | None:
        """The draws a run with ``parameter_uncertainty`` uses: None when off; True needs
        draws (ScenarioError if the scenario names none); None means ``default``, on only if
        the scenario names draws (run and compare: off; a forecast: on)."""
        on = (default and draws_reference(self.raw) is not None
              if parameter_uncertainty is None else bool(parameter_uncertainty))
        if not on:
            return None
        draws = self.parameter_draws
        if draws is None:
            raise ScenarioError([Problem(
                "parameter_draws", "parameter uncertainty is on, but the scenario names no "
                "parameter draws; refit it with `revsim fit --bootstrap N`, which writes them "
                "beside the fitted scenario (or turn parameter uncertainty off)")], self.source)
        return draws

    def run(self, replications: int = 10, seed: int | None = DEFAULT_SEED, *,
            horizon: str | float | None = None, warmup: str | float | None = None,
            jobs: int | None = None, scheduler: str | None = None,
            dask_local: int | None = None, records: bool = False,
            progress: bool | None = None, precision: float | None = None,
            max_replications: int = 200, batch_means: int | None = None,
            active_periods: bool = False, dask_dashboard: bool = False,
            parameter_uncertainty: bool | None = None) -> RunResult:
        """Run independent replications and summarise KPIs with 95% CIs.

        ``horizon`` and ``warmup`` override the scenario's (a duration such as "26 w", or
        hours); ``warmup="auto"`` picks it with MSER-5 from a pilot run and reports it.
        ``jobs`` is the number of worker processes (None or <= 0: one per CPU; 1: in this
        process), ``scheduler`` a Dask scheduler's address and ``dask_local`` the workers of a
        local Dask cluster (``dask_dashboard``: with its dashboard, off otherwise); results do
        not depend on any of them. ``records`` keeps per-visit
        records (memory grows with the horizon). ``precision=0.05`` adds replications until
        every headline KPI's 95% CI half-width is within 5% of its mean, up to
        ``max_replications``. ``batch_means=k`` makes one long run cut into k batches instead
        of independent replications. ``progress`` shows a progress bar (None: only when
        stderr is a terminal). ``parameter_uncertainty=True`` runs each replication with one
        of the scenario's bootstrap draws of its fitted parameters (see :meth:`draws_for`;
        default off), so the intervals include the fit's estimation error; the same seed
        with it off gives the intervals without.
        """
        seed = check_seed(seed)
        h = hours(horizon, "horizon")
        if batch_means is not None and batch_means < 2:
            raise ScenarioError([Problem("batch_means", "needs at least 2 batches")], "run")
        draws = self.draws_for(parameter_uncertainty)
        if draws is not None and batch_means is not None:
            raise ScenarioError([Problem("batch_means", "batch means make one long run, but "
                                         "parameter uncertainty needs independent "
                                         "replications (one draw each); turn one off")], "run")
        if precision is not None:
            check_precision(precision)
        tasks = 1 if batch_means is not None else (
            max_replications if precision is not None else replications)
        _check_windows([self.model], h, warmup, replications)
        with open_executor(jobs, scheduler=scheduler, dask_local=dask_local,
                           dask_dashboard=dask_dashboard, tasks=tasks) as executor:
            [(w, notes)] = _warmups({BASE: self.model}, replications, seed, h, warmup,
                                    executor, progress).values()
            check_window(self.model, h, w, replications)
            options = RunOptions(horizon=h, warmup=w, records=records,
                                 active_periods=active_periods)
            started = time.perf_counter()
            if batch_means is not None:
                runs = run_points({BASE: self.model}, 1, seed, options=options,
                                  batches=batch_means, executor=executor, progress=progress,
                                  label="batch-means runs")
                reps = runs.replications(BASE)
                notes["method"] = f"batch means: one run cut into {batch_means} batches"
            elif precision is not None:
                reps, notes["precision"] = _run_to_precision(
                    self.model, seed, options, precision, replications, max_replications,
                    executor, progress, draws)
            else:
                reps = run_points({BASE: self.model}, replications, seed, options=options,
                                  executor=executor, progress=progress,
                                  label="replications", parameters=draws).replications(BASE)
        if draws is not None:
            notes["parameter_uncertainty"] = _draws_note(draws, seed, reps)
        manifest = self._manifest(seed, len(reps), h, w, records, notes, started,
                                  batch_means or 1)
        return RunResult(self.model, reps, manifest)

    def _manifest(self, seed: int, replications: int, horizon: float | None,
                  warmup: float | None, records: bool, notes: dict[str, Any], started: float,
                  batches: int = 1) -> dict[str, Any]:
        """What a run records about itself (manifest.json)."""
        horizon_h = horizon if horizon is not None else self.model.horizon
        warmup_h = warmup if warmup is not None else self.model.warmup
        return {
            "revsim_version": __version__,
            "engine": "compiled" if COMPILED else "interpreted",
            "scenario_name": self.model.name,
            "scenario_file": self.source,
            "scenario_hash": self.hash,
            "seed": seed,
            "replications": replications,
            "horizon_hours": horizon_h,
            "warmup_hours": warmup_h,
            "window": _window(self.model.start, warmup_h, horizon_h),
            "window_hours": (horizon_h - warmup_h) / batches,
            "confidence": 0.95,
            "records": records,
            **notes,
            "python": platform.python_version(),
            "wall_time_s": round(time.perf_counter() - started, 3),
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }

    def compare(self, *variants: Scenario | Mapping[str, Any] | tuple[str, Any],
                replications: int = 10, seed: int | None = DEFAULT_SEED,
                horizon: str | float | None = None, warmup: str | float | None = None,
                jobs: int | None = None, scheduler: str | None = None,
                dask_local: int | None = None, progress: bool | None = None,
                dask_dashboard: bool = False,
                parameter_uncertainty: bool | None = None) -> Comparison:
        """Compare variants with this scenario using common random numbers.

        A variant is a Scenario, a mapping of dotted-path changes (``{"pools.sdr.headcount":
        6}``) or a ``(label, scenario-or-changes)`` pair. The base and every variant run as
        one experiment (all their replications on one executor; ``jobs``, ``scheduler``,
        ``dask_local`` and ``dask_dashboard`` as in :meth:`run`). Returns paired KPI
        differences with 95% CIs, Holm-adjusted across the variants. ``parameter_uncertainty=True``
        runs replication r of the base and of every variant with the same draw of this
        scenario's fitted parameters (a parameter a variant changes keeps the variant's value).
        """
        if not variants:
            raise ScenarioError([Problem("variants", "give at least one variant to compare")],
                                "compare")
        seed = check_seed(seed)
        h = hours(horizon, "horizon")
        draws = self.draws_for(parameter_uncertainty)
        named: dict[str, Scenario] = {}
        notes: list[str] = []
        for i, variant in enumerate(variants, start=1):
            label, body = variant if isinstance(variant, tuple) else (None, variant)
            sc = body if isinstance(body, Scenario) else self.with_changes(body)
            if label is None:
                label = (sc.name if isinstance(body, Scenario) and sc.name != self.name
                         else _describe_changes(body) if isinstance(body, Mapping)
                         else f"variant {i}")
            while label in named:
                label = f"{label} ({i})"
            notes += check_comparable(self.model, sc.model, label, horizon=h,
                                      warmup=None if warmup == "auto" else
                                      hours(warmup, "warmup"))
            named[label] = sc
        scenarios = {BASE: self, **{f"variant {i}": sc for i, sc in
                                    enumerate(named.values(), start=1)}}
        _check_windows([sc.model for sc in scenarios.values()], h, warmup, replications)
        with open_executor(jobs, scheduler=scheduler, dask_local=dask_local,
                           dask_dashboard=dask_dashboard,
                           tasks=replications * len(scenarios)) as executor:
            windows = _warmups({p: sc.model for p, sc in scenarios.items()}, replications,
                               seed, h, warmup, executor, progress)
            results = _run_scenarios(scenarios, replications, seed, h, windows, executor,
                                     progress, parameters=draws)
        if draws is not None:
            notes.append(f"{uncertainty_line(draws.manifest())}; replication r of every "
                         "scenario runs the same draw")
        base = results.pop(BASE)
        return Comparison.build(base, dict(zip(named, results.values(), strict=True)), notes)

    def bottlenecks(self, replications: int = 10, seed: int | None = DEFAULT_SEED, *,
                    horizon: str | float | None = None, warmup: str | float | None = None,
                    jobs: int | None = None, scheduler: str | None = None,
                    dask_local: int | None = None, progress: bool | None = None,
                    marginal: bool = True, ramped: bool = False,
                    dask_dashboard: bool = False) -> BottleneckReport:
        """Where the cycle is constrained, and what one more head in each pool is worth:
        at full productivity from the start, or with ``ramped`` a hire on the first day of the
        window who ramps up as the pool's hires do. The base and one variant per pool run as
        one experiment (``jobs``, ``scheduler``, ``dask_local`` and ``dask_dashboard`` as in
        :meth:`run`)."""
        seed = check_seed(seed)
        h = hours(horizon, "horizon")
        tasks = replications * (1 + len(self.model.pools) if marginal else 1)
        _check_windows([self.model], h, warmup, replications)
        with open_executor(jobs, scheduler=scheduler, dask_local=dask_local,
                           dask_dashboard=dask_dashboard, tasks=tasks) as executor:
            # the base fixes the window (an automatic warm-up included): variants use the same
            [(w, notes)] = _warmups({BASE: self.model}, replications, seed, h, warmup,
                                    executor, progress).values()
            check_window(self.model, h, w, replications)
            window_w = w if w is not None else self.model.warmup
            changes = (marginal_variants(self.raw, self.model, window_w, ramped)
                       if marginal and self.model.pools else {})
            scenarios = {BASE: self, **{pool: self.with_changes(c)
                                        for pool, (_label, c) in changes.items()}}
            windows = {BASE: (w, notes), **{pool: (window_w, {}) for pool in changes}}
            results = _run_scenarios(scenarios, replications, seed, h, windows, executor,
                                     progress, base_options={"active_periods": True})
        base = results.pop(BASE)
        return build_report(base, {pool: (changes[pool][0], result)
                                   for pool, result in results.items()}, ramped=ramped)

    def sweep(self, out: str | Path, params: Sequence[str | Param] = (), *, design: str = "grid",
              points: int = 10, variants: Sequence[Mapping[str, Any]] = (),
              replications: int = 10, seed: int = DEFAULT_SEED,
              horizon: str | float | None = None, warmup: str | float | None = None,
              jobs: int | None = None, scheduler: str | None = None,
              dask_local: int | None = None, resume: bool = False,
              progress: bool | None = None, variants_source: str = "sweep",
              dask_dashboard: bool = False) -> SweepResult:
        """Run this scenario at every point of a design, into the folder ``out``.

        ``params`` like ``"pools.sdr.headcount=2:8"`` or ``"pools.ae.headcount=4,6,8"``;
        ``design`` is "grid", "lhs" (``points`` Latin-hypercube points) or "variants"
        (``variants``: ``[{"name": ..., "set": {path: value}}]``). Every point uses the same
        replication seeds; finished tasks are saved, ``resume=True`` runs only the rest.
        ``scheduler`` (a Dask address) or ``dask_local`` (workers; ``dask_dashboard``: with the
        dashboard) run it on Dask. ``variants_source`` names where the variants came from (a
        sweep file) in messages; :func:`revsim.sweep.read_sweep_file` reads a sweep file's
        params and variants.
        """
        return run_sweep(self.raw, out, params=params, design=design, points=points,
                         named=variants, named_source=variants_source,
                         replications=replications, seed=seed,
                         horizon=hours(horizon, "horizon"), warmup=hours(warmup, "warmup"),
                         jobs=jobs, scheduler=scheduler, dask_local=dask_local, resume=resume,
                         progress=progress, dask_dashboard=dask_dashboard)


def _is_auto(warmup: Any) -> bool:
    return isinstance(warmup, str) and warmup.strip().lower() == "auto"


def _check_windows(models: Sequence[Model], horizon: float | None,
                   warmup: str | float | None, replications: int) -> None:
    """Refuse a run window that cannot be run before any work starts, an executor included
    (an automatic warm-up is checked as none: its pilot runs from an empty start)."""
    w = 0.0 if _is_auto(warmup) else hours(warmup, "warmup")
    for model in models:
        check_window(model, horizon, w, replications)


def _warmups(points: Mapping[str, Model], replications: int, seed: int, horizon: float | None,
             warmup: str | float | None, executor: Any, progress: bool | None
             ) -> dict[str, tuple[float | None, dict[str, Any]]]:
    """Each point's warm-up (hours; None: the scenario's) and what to note about it. With
    ``warmup="auto"``: pilot replications of every point from an empty start, in one
    experiment, then MSER-5 on each point's level series."""
    if not _is_auto(warmup):
        w = hours(warmup, "warmup")
        return {p: (w, {}) for p in points}
    pilot_n = min(max(replications, 2), PILOT_MAX)
    pilot = run_points(points, pilot_n, seed, options=RunOptions(horizon=horizon, warmup=0.0),
                       executor=executor, progress=progress, label="warm-up pilot")
    out: dict[str, tuple[float | None, dict[str, Any]]] = {}
    for p, model in points.items():
        choice = detect_warmup(RunResult(model, pilot.replications(p), {}).series)
        limit = (horizon if horizon is not None else model.horizon) / 2
        out[p] = (min(choice.hours, limit), {"warmup_auto": choice.describe()})
    return out


def _run_to_precision(model: Model, seed: int, options: RunOptions, precision: float,
                      initial: int, cap: int, executor: Any, progress: bool | None,
                      draws: ParameterDraws | None = None
                      ) -> tuple[list[ReplicationSummary], dict[str, Any]]:
    """Replications until every headline KPI's relative half-width is <= precision, or cap.
    Each round adds replications to the same point, so the first n are identical to a fixed
    run of n."""
    with progress_bar(cap, "replications", progress) as bar:
        reps = run_points({BASE: model}, first_round(initial, cap), seed, options=options,
                          executor=executor, bar=bar, parameters=draws).replications(BASE)
        while True:
            more, info = next_round(Runs({BASE: reps}).tidy(BASE), precision, cap)
            if not more:
                return reps, info
            reps = reps + run_points({BASE: model}, more, seed, options=options,
                                     first=len(reps), executor=executor, bar=bar,
                                     parameters=draws).replications(BASE)


def _draws_note(draws: ParameterDraws, seed: int, reps: Sequence[ReplicationSummary]
                ) -> dict[str, Any]:
    """What the manifest records about the draws a run used, the draw of each replication
    included (so that any replication can be rerun alone)."""
    return {**draws.manifest(),
            "draw_of_replication": [draw_index(seed, r.replication, len(draws)) for r in reps]}


def _run_scenarios(scenarios: Mapping[str, Scenario], replications: int, seed: int,
                   horizon: float | None,
                   windows: Mapping[str, tuple[float | None, dict[str, Any]]],
                   executor: Executor, progress: bool | None, *,
                   base_options: Mapping[str, Any] | None = None,
                   parameters: ParameterDraws | None = None) -> dict[str, RunResult]:
    """Every scenario as one point of one experiment (each with its warm-up and notes from
    ``windows``); a RunResult per scenario. ``base_options`` are RunOptions fields for the
    base point only; ``parameters``: the draws every point runs (see run_points)."""
    options = {}
    for p, sc in scenarios.items():
        check_window(sc.model, horizon, windows[p][0], replications)
        extra = base_options if p == BASE and base_options else {}
        options[p] = RunOptions(horizon=horizon, warmup=windows[p][0], **extra)
    started = time.perf_counter()
    runs = run_points({p: sc.model for p, sc in scenarios.items()}, replications, seed,
                      options=options, executor=executor, progress=progress,
                      label="replications", parameters=parameters)
    results = {}
    for p, sc in scenarios.items():
        notes = dict(windows[p][1])
        if parameters is not None:
            notes["parameter_uncertainty"] = _draws_note(parameters, seed, runs.replications(p))
        results[p] = RunResult(sc.model, runs.replications(p),
                               sc._manifest(seed, replications, horizon, windows[p][0], False,
                                            notes, started))
    return results


def _describe_changes(changes: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in changes.items()) or "no change"


def _window(start: dt.date, warmup_h: float, horizon_h: float) -> str:
    """The observation window in dates, e.g. "2027-07-05 to 2028-07-03 (52.0 w)"."""
    t0 = dt.datetime.combine(start, dt.time()) + dt.timedelta(hours=warmup_h)
    t1 = dt.datetime.combine(start, dt.time()) + dt.timedelta(hours=horizon_h)
    fmt = "%Y-%m-%d" if warmup_h % 24 == 0 and horizon_h % 24 == 0 else "%Y-%m-%d %H:%M"
    return f"{t0:{fmt}} to {t1:{fmt}} ({(horizon_h - warmup_h) / 168:.1f} w)"


def load(path: str | Path) -> Scenario:
    """Load and validate a scenario TOML file (raises ScenarioError listing every problem)."""
    text = read_text_file(path, error=ScenarioError)
    return Scenario(parse_toml(text, str(path)), source=str(path), text=text)


def loads(text: str, source: str = "<string>") -> Scenario:
    """Load and validate a scenario from TOML text."""
    return Scenario(parse_toml(text, source), source=source, text=text)


def _model_of(scenario: Scenario | Model | str | Path) -> Model:
    if isinstance(scenario, Model):
        return scenario
    if isinstance(scenario, Scenario):
        return scenario.model
    return load(scenario).model


def build_state(log: Any, *, scenario: Scenario | Model | str | Path, as_of: Any,
                mapping: Any = None, format: str = "canonical",
                out: str | Path | None = None) -> Any:
    """The state of the business at ``as_of`` from an event log: open leads and deals in the
    scenario's stages, open invoices, customers with live contracts, staff load; items the
    scenario or the log say are over are counted by reason (``Snapshot.dead``).

    ``log``, ``mapping`` and ``format`` are read as :func:`revsim.fit` reads them; ``scenario``
    is a Scenario, a compiled Model or a TOML path. ``out`` also writes the snapshot folder
    (atomically; see docs/state-format.md). Bad input raises StateError with every problem.
    Returns a :class:`revsim.state.snapshot.Snapshot`.
    """
    # lazy: the builder reads logs with calibrate (pandas, scipy); `revsim.load` must not
    from revsim.state.build import build_state as build
    from revsim.state.files import write_snapshot

    snapshot = build(log, scenario=_model_of(scenario), as_of=as_of, mapping=mapping,
                     format=format)
    if out is not None:
        write_snapshot(snapshot, out)
    return snapshot


def read_state(path: str | Path, *, as_of: Any = None,
               scenario: Scenario | Model | str | Path | None = None) -> Any:
    """Read a snapshot folder, or one hand-written CSV of open items (then give ``as_of``),
    checking checksums and every row; with ``scenario``, also that it fits that scenario
    (stages, pools, sources, segments). Every problem is raised at once as StateError."""
    # lazy: as in build_state
    from revsim.state.checks import validate_against
    from revsim.state.files import read_snapshot

    snapshot = read_snapshot(path, as_of=as_of)
    if scenario is not None:
        validate_against(snapshot, _model_of(scenario), source=str(path))
    return snapshot
