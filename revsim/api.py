"""The Python API: load a scenario, change it, run it. The CLI is a thin layer over this."""

from __future__ import annotations

import dataclasses
import datetime as dt
import platform
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from revsim.analysis.forecast_stats import Target, parse_target
from revsim.analysis.paired import check_comparable
from revsim.analysis.precision import check_precision
from revsim.engine import COMPILED
from revsim.errors import Problem, ScenarioError
from revsim.experiment import (
    DEFAULT_SEED,
    Period,
    RunOptions,
    calendar_periods,
    check_seed,
    check_window,
    hours,
    open_executor,
    run_points,
)
from revsim.results import BottleneckReport, Comparison, Forecast, RunResult
from revsim.results.bottleneck_report import build_report, marginal_variants
from revsim.scenario.compile import compile_scenario
from revsim.scenario.load import apply_overrides, parse_toml, scenario_hash
from revsim.scenario.model import Model
from revsim.scenario.parameters import ParameterDraws, draws_reference, read_draws
from revsim.scenario_runs import (
    BASE,
    check_windows,
    draws_note,
    run_scenarios,
    run_to_precision,
    run_with_and_without,
    warmups,
    window_text,
)
from revsim.state.snapshot import Snapshot
from revsim.state.start import (
    StartFrom,
    compile_start,
    midnight,
    rebase,
    state_horizon,
    window_start,
)
from revsim.state_api import read_state
from revsim.sweep import Param, SweepResult, run_sweep
from revsim.table import uncertainty_line
from revsim.text_files import read_text_file
from revsim.version import __version__


class Scenario:
    """A validated scenario. Build with :func:`load`, :func:`loads` or ``Scenario(dict)``."""

    def __init__(self, raw: Mapping[str, Any], *, source: str | None = None,
                 text: str | None = None, state: Snapshot | None = None) -> None:
        self.raw: dict[str, Any] = dict(raw)
        self.source = source
        self.text = text
        self.model: Model
        self.model, self.warnings = compile_scenario(self.raw, source)
        self._draws: ParameterDraws | None = None
        #: the snapshot this scenario starts from (see :meth:`from_state`), or None
        self.state = state
        #: what starting from the state decided (see :meth:`from_state`): in manifests
        self.start_notes: list[str] = []
        if state is not None:
            start = compile_start(state, self.model)
            self.model = dataclasses.replace(self.model, start_state=start)
            self.start_notes = list(start.notes)

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def hash(self) -> str:
        """Fingerprint of the scenario content (formatting and comments ignored)."""
        return scenario_hash(self.raw)

    def with_changes(self, changes: Mapping[str, Any]) -> Scenario:
        """A new scenario with dotted-path overrides, e.g. ``{"pools.sdr.headcount": 6}``
        (started from the same state, if this one is)."""
        return Scenario(apply_overrides(self.raw, changes), source=self.source, state=self.state)

    def from_state(self, state: str | Path | Snapshot, *, until: Any = None,
                   horizon: str | float | None = None) -> Scenario:
        """This scenario started from a snapshot of the business (a state folder or a
        :class:`~revsim.state.snapshot.Snapshot`): the as-of date becomes its start, every
        open deal, invoice and contract is placed with the time it has already spent, and
        there is no warm-up. It runs to the end of the day ``until``, or ``horizon`` past the
        as-of date (default: the scenario's observation window, horizon minus warm-up). What
        the scenario plans before the as-of date has happened (see revsim.state.start)."""
        if self.state is not None:
            raise ScenarioError([Problem("state", "this scenario starts from a state already")],
                                self.source)
        snap = load_state(state)
        raw, notes = rebase(self.raw, snap.as_of, state_horizon(self.model, snap.as_of, until,
                                                                 horizon))
        started = Scenario(raw, source=self.source, text=self.text, state=snap)
        started.start_notes = [*notes, *started.start_notes]
        return started

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
            parameter_uncertainty: bool | None = None, state: str | Path | Snapshot | None = None,
            until: Any = None, by: str | None = None, force_warmup: bool = False
            ) -> RunResult:
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
        with it off gives the intervals without. ``state`` starts the run from a snapshot (see
        :meth:`from_state`, which ``until`` and ``horizon`` then go to): no warm-up unless
        ``force_warmup``; ``by`` ("week", "month" or "quarter") also records the figures of
        each calendar period (``RunResult.periods``).
        """
        if state is not None:
            started = self.from_state(state, until=until, horizon=horizon)
            return started.run(replications, seed, warmup=window_start(started, warmup,
                                                                          force_warmup),
                               jobs=jobs, scheduler=scheduler, dask_local=dask_local,
                               records=records, progress=progress, precision=precision,
                               max_replications=max_replications, batch_means=batch_means,
                               active_periods=active_periods, by=by,
                               dask_dashboard=dask_dashboard,
                               parameter_uncertainty=parameter_uncertainty)
        seed = check_seed(seed)
        h = hours(horizon, "horizon")
        if batch_means is not None and self.state is not None:
            raise ScenarioError([Problem("batch_means", "a run from a state is a forecast from "
                                         "one date: use independent replications")], "run")
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
        check_windows([self.model], h, warmup, replications)
        with open_executor(jobs, scheduler=scheduler, dask_local=dask_local,
                           dask_dashboard=dask_dashboard, tasks=tasks) as executor:
            [(w, notes)] = warmups({BASE: self.model}, replications, seed, h, warmup,
                                    executor, progress).values()
            check_window(self.model, h, w, replications)
            options = RunOptions(horizon=h, warmup=w, records=records,
                                 active_periods=active_periods, **self._period_options(by, h))
            started = time.perf_counter()
            if batch_means is not None:
                runs = run_points({BASE: self.model}, 1, seed, options=options,
                                  batches=batch_means, executor=executor, progress=progress,
                                  label="batch-means runs")
                reps = runs.replications(BASE)
                notes["method"] = f"batch means: one run cut into {batch_means} batches"
            elif precision is not None:
                reps, notes["precision"] = run_to_precision(
                    self.model, seed, options, precision, replications, max_replications,
                    executor, progress, draws)
            else:
                reps = run_points({BASE: self.model}, replications, seed, options=options,
                                  executor=executor, progress=progress,
                                  label="replications", parameters=draws).replications(BASE)
        if draws is not None:
            notes["parameter_uncertainty"] = draws_note(draws, seed, reps)
        manifest = self._manifest(seed, len(reps), h, w, records, notes, started,
                                  batch_means or 1)
        return RunResult(self.model, reps, manifest)

    def periods(self, by: str, horizon: float | None = None) -> list[Period]:
        """The calendar periods ("week", "month" or "quarter") from the state's as-of date to
        the end of the run (``horizon`` hours from the start, default the scenario's)."""
        if self.state is None:
            raise ScenarioError([Problem("by", "figures per period need a state to start from "
                                         "(--state)")], self.source)
        origin = midnight(self.model.start)
        end = origin + dt.timedelta(hours=horizon if horizon is not None else self.model.horizon)
        return calendar_periods(self.state.as_of, end, by, origin)

    def _period_options(self, by: str | None, horizon: float | None = None) -> dict[str, Any]:
        """The RunOptions fields that record each period's figures (none without ``by``)."""
        if by is None:
            return {}
        chosen = self.periods(by, horizon)
        return {"periods": tuple(p.end_h for p in chosen),
                "period_labels": tuple(p.label for p in chosen)}

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
            "window": window_text(self.model.start, warmup_h, horizon_h),
            "window_hours": (horizon_h - warmup_h) / batches,
            "confidence": 0.95,
            "records": records,
            **self._state_manifest(),
            **notes,
            "python": platform.python_version(),
            "wall_time_s": round(time.perf_counter() - started, 3),
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }

    def _state_manifest(self) -> dict[str, Any]:
        if self.state is None or self.model.start_state is None:
            return {}
        return {"state": self.model.start_state.label, "as_of": self.state.as_of.isoformat(),
                "state_left_out_as_dead": dict(self.state.dead),
                "state_notes": list(self.start_notes)}

    def compare(self, *variants: Scenario | Mapping[str, Any] | tuple[str, Any],
                replications: int = 10, seed: int | None = DEFAULT_SEED,
                horizon: str | float | None = None, warmup: str | float | None = None,
                jobs: int | None = None, scheduler: str | None = None,
                dask_local: int | None = None, progress: bool | None = None,
                dask_dashboard: bool = False, parameter_uncertainty: bool | None = None,
                state: str | Path | Snapshot | None = None, until: Any = None,
                by: str | None = None, force_warmup: bool = False) -> Comparison:
        """Compare variants with this scenario using common random numbers.

        A variant is a Scenario, a mapping of dotted-path changes (``{"pools.sdr.headcount":
        6}``) or a ``(label, scenario-or-changes)`` pair. The base and every variant run as
        one experiment (all their replications on one executor; ``jobs``, ``scheduler``,
        ``dask_local`` and ``dask_dashboard`` as in :meth:`run`). Returns paired KPI
        differences with 95% CIs, Holm-adjusted across the variants. ``parameter_uncertainty=True``
        runs replication r of the base and of every variant with the same draw of this
        scenario's fitted parameters (a parameter a variant changes keeps the variant's value).
        With ``state`` every side starts from the same snapshot (changes apply first, then the
        start moves to the as-of date; see :meth:`from_state` for ``until``), and ``by`` adds
        paired differences per period (``Comparison.periods``).
        """
        if not variants:
            raise ScenarioError([Problem("variants", "give at least one variant to compare")],
                                "compare")
        seed = check_seed(seed)
        snap = load_state(state) if state is not None else None
        base = self.from_state(snap, until=until, horizon=horizon) if snap is not None else self
        if snap is not None:
            warmup = window_start(base, warmup, force_warmup)
            horizon = None
        h = hours(horizon, "horizon")
        draws = self.draws_for(parameter_uncertainty)
        named: dict[str, Scenario] = {}
        notes: list[str] = []
        for i, variant in enumerate(variants, start=1):
            label, body = variant if isinstance(variant, tuple) else (None, variant)
            sc = body if isinstance(body, Scenario) else self.with_changes(body)
            if snap is not None:
                assert base.model.start_state is not None
                # the base's horizon: paired replications cover the same window
                sc = sc.from_state(snap, horizon=base.model.horizon - base.model.start_state.at)
            if label is None:
                label = (sc.name if isinstance(body, Scenario) and sc.name != self.name
                         else _describe_changes(body) if isinstance(body, Mapping)
                         else f"variant {i}")
            while label in named:
                label = f"{label} ({i})"
            notes += check_comparable(base.model, sc.model, label, horizon=h,
                                      warmup=None if warmup == "auto" else
                                      hours(warmup, "warmup"))
            named[label] = sc
        scenarios = {BASE: base, **{f"variant {i}": sc for i, sc in
                                    enumerate(named.values(), start=1)}}
        periods = base._period_options(by, h)
        check_windows([sc.model for sc in scenarios.values()], h, warmup, replications)
        with open_executor(jobs, scheduler=scheduler, dask_local=dask_local,
                           dask_dashboard=dask_dashboard,
                           tasks=replications * len(scenarios)) as executor:
            windows = warmups({p: sc.model for p, sc in scenarios.items()}, replications,
                               seed, h, warmup, executor, progress)
            results = run_scenarios(scenarios, replications, seed, h, windows, executor,
                                     progress, all_options=periods, parameters=draws)
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
                    dask_dashboard: bool = False,
                    state: str | Path | Snapshot | None = None, until: Any = None,
                    force_warmup: bool = False) -> BottleneckReport:
        """Where the cycle is constrained, and what one more head in each pool is worth:
        at full productivity from the start, or with ``ramped`` a hire on the first day of the
        window who ramps up as the pool's hires do. The base and one variant per pool run as
        one experiment (``jobs``, ``scheduler``, ``dask_local`` and ``dask_dashboard`` as in
        :meth:`run`); with ``state``, from that snapshot (see :meth:`from_state`)."""
        if state is not None:
            started = self.from_state(state, until=until, horizon=horizon)
            return started.bottlenecks(
                replications, seed, warmup=window_start(started, warmup, force_warmup),
                jobs=jobs, scheduler=scheduler, dask_local=dask_local, progress=progress,
                marginal=marginal, ramped=ramped, dask_dashboard=dask_dashboard)
        seed = check_seed(seed)
        h = hours(horizon, "horizon")
        tasks = replications * (1 + len(self.model.pools) if marginal else 1)
        check_windows([self.model], h, warmup, replications)
        with open_executor(jobs, scheduler=scheduler, dask_local=dask_local,
                           dask_dashboard=dask_dashboard, tasks=tasks) as executor:
            # the base fixes the window (an automatic warm-up included): variants use the same
            [(w, notes)] = warmups({BASE: self.model}, replications, seed, h, warmup,
                                    executor, progress).values()
            check_window(self.model, h, w, replications)
            window_w = w if w is not None else self.model.warmup
            changes = (marginal_variants(self.raw, self.model, window_w, ramped)
                       if marginal and self.model.pools else {})
            scenarios = {BASE: self, **{pool: self.with_changes(c)
                                        for pool, (_label, c) in changes.items()}}
            windows = {BASE: (w, notes), **{pool: (window_w, {}) for pool in changes}}
            results = run_scenarios(scenarios, replications, seed, h, windows, executor,
                                     progress, base_options={"active_periods": True})
        base = results.pop(BASE)
        return build_report(base, {pool: (changes[pool][0], result)
                                   for pool, result in results.items()}, ramped=ramped)

    def forecast(self, state: str | Path | Snapshot, until: Any, by: str = "month", *,
                 targets: Sequence[str | Target] = (), replications: int = 100,
                 seed: int | None = DEFAULT_SEED, jobs: int | None = None,
                 scheduler: str | None = None, dask_local: int | None = None,
                 dask_dashboard: bool = False, progress: bool | None = None,
                 parameter_uncertainty: bool | str | None = None) -> Forecast:
        """What will be booked and collected in each period ("week", "month" or "quarter",
        calendar-aligned) from the snapshot ``state`` to the end of the day ``until``.

        Each replication starts from the state (see :meth:`from_state`); new leads arrive as
        the scenario says from the as-of date on. Every figure of every period gets the mean
        with the 95% CI of the mean and the P10..P90 of the outcome (a prediction interval),
        bookings and cash split by where they come from; ``targets`` such as
        ``"total_bookings=2.5M"`` (cumulative) or ``"won=40/period"`` get P(met) with a Wilson
        CI. ``jobs``, ``scheduler``, ``dask_local`` and ``dask_dashboard`` as in :meth:`run`.
        ``parameter_uncertainty=True`` runs each replication with one bootstrap draw of the
        fitted parameters, so that the P10..P90 include the fit's estimation error; False runs
        the parameters as fitted; ``"both"`` (the default when the scenario names draws) runs
        the same replications both ways, from the same seed, and the result's
        ``without_uncertainty`` is the forecast without draws.
        """
        seed = check_seed(seed)
        if isinstance(parameter_uncertainty, str) and parameter_uncertainty != "both":
            raise ValueError(f"parameter_uncertainty={parameter_uncertainty!r}: give True, "
                             "False, None or 'both'")
        both = (parameter_uncertainty == "both"
                or (parameter_uncertainty is None and draws_reference(self.raw) is not None))
        draws = self.draws_for(True if both else parameter_uncertainty, default=True)
        started = self.from_state(state, until=until)
        chosen = started.periods(by)
        wanted = [t if isinstance(t, Target) else parse_target(t, self.model.currency)
                  for t in targets]
        check_window(started.model, None, None, replications)
        options = RunOptions(artefacts=False, **started._period_options(by))
        began = time.perf_counter()
        with open_executor(jobs, scheduler=scheduler, dask_local=dask_local,
                           dask_dashboard=dask_dashboard, tasks=replications) as executor:
            runs, plain = run_with_and_without(started.model, replications, seed, options,
                                               executor, progress, draws, both)
        assert started.state is not None
        end = chosen[-1].end - dt.timedelta(days=1)
        notes = {"by": by, "until": f"{end:%Y-%m-%d}",
                 "window": f"{started.state.as_of:%Y-%m-%d} to {end:%Y-%m-%d}"}
        if draws is not None:
            notes["parameter_uncertainty"] = draws_note(draws, seed, runs.replications(BASE))
        manifest = started._manifest(seed, replications, None, None, False, notes, began)
        without = None
        if plain is not None:
            manifest["parameter_uncertainty"]["compared_without"] = True
            bare = {k: v for k, v in manifest.items() if k != "parameter_uncertainty"}
            without = Forecast(started.model, chosen, plain.periods(BASE), bare, wanted)
        return Forecast(started.model, chosen, runs.periods(BASE), manifest, wanted,
                        without_uncertainty=without)

    def sweep(self, out: str | Path, params: Sequence[str | Param] = (), *, design: str = "grid",
              points: int = 10, variants: Sequence[Mapping[str, Any]] = (),
              replications: int = 10, seed: int = DEFAULT_SEED,
              horizon: str | float | None = None, warmup: str | float | None = None,
              jobs: int | None = None, scheduler: str | None = None,
              dask_local: int | None = None, resume: bool = False,
              progress: bool | None = None, variants_source: str = "sweep",
              dask_dashboard: bool = False, state: str | Path | Snapshot | None = None,
              until: Any = None) -> SweepResult:
        """Run this scenario at every point of a design, into the folder ``out``.

        ``params`` like ``"pools.sdr.headcount=2:8"`` or ``"pools.ae.headcount=4,6,8"``;
        ``design`` is "grid", "lhs" (``points`` Latin-hypercube points) or "variants"
        (``variants``: ``[{"name": ..., "set": {path: value}}]``). Every point uses the same
        replication seeds; finished tasks are saved, ``resume=True`` runs only the rest.
        ``scheduler`` (a Dask address) or ``dask_local`` (workers; ``dask_dashboard``: with the
        dashboard) run it on Dask. ``variants_source`` names where the variants came from (a
        sweep file) in messages; :func:`revsim.sweep.read_sweep_file` reads a sweep file's
        params and variants. With ``state`` every point starts from that snapshot (see
        :meth:`from_state`; the parameters apply to the scenario moved to the as-of date).
        """
        if state is not None:
            started = self.from_state(state, until=until, horizon=horizon)
            window_start(started, warmup, False)
            assert started.state is not None
            return run_sweep(started.raw, out, params=params, design=design, points=points,
                             named=variants, named_source=variants_source,
                             replications=replications, seed=seed, jobs=jobs,
                             scheduler=scheduler, dask_local=dask_local, resume=resume,
                             progress=progress, dask_dashboard=dask_dashboard,
                             start=StartFrom(started.state))
        return run_sweep(self.raw, out, params=params, design=design, points=points,
                         named=variants, named_source=variants_source,
                         replications=replications, seed=seed,
                         horizon=hours(horizon, "horizon"), warmup=hours(warmup, "warmup"),
                         jobs=jobs, scheduler=scheduler, dask_local=dask_local, resume=resume,
                         progress=progress, dask_dashboard=dask_dashboard)


def load_state(state: str | Path | Snapshot) -> Snapshot:
    """A snapshot of the business: given, or read from a state folder (see :func:`read_state`)."""
    if isinstance(state, Snapshot):
        return state
    return read_state(state)


def _describe_changes(changes: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in changes.items()) or "no change"


def load(path: str | Path) -> Scenario:
    """Load and validate a scenario TOML file (raises ScenarioError listing every problem)."""
    text = read_text_file(path, error=ScenarioError)
    return Scenario(parse_toml(text, str(path)), source=str(path), text=text)


def loads(text: str, source: str = "<string>") -> Scenario:
    """Load and validate a scenario from TOML text."""
    return Scenario(parse_toml(text, source), source=source, text=text)
