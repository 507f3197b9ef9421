"""How the API's commands run their replications around :func:`revsim.experiment.run_points`:
the window checks, an automatic warm-up's pilot, runs to a precision, several scenarios as one
experiment, and what a manifest says of the window and the parameter draws."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any

from revsim.analysis.precision import first_round, next_round
from revsim.analysis.warmup import detect_warmup
from revsim.experiment import (
    ReplicationSummary,
    RunOptions,
    Runs,
    check_window,
    draw_index,
    hours,
    run_points,
)
from revsim.progress import progress_bar
from revsim.results import RunResult
from revsim.scenario.model import Model
from revsim.scenario.parameters import ParameterDraws

if TYPE_CHECKING:
    from revsim.api import Scenario

BASE = "base"  # the key of the scenario itself among an experiment's points
PILOT_MAX = 10  # replications of the warm-up pilot (at least 2, at most this)


def is_auto(warmup: Any) -> bool:
    return isinstance(warmup, str) and warmup.strip().lower() == "auto"


def check_windows(models: Sequence[Model], horizon: float | None,
                   warmup: str | float | None, replications: int) -> None:
    """Refuse a run window that cannot be run before any work starts, an executor included
    (an automatic warm-up is checked as none: its pilot runs from an empty start)."""
    w = 0.0 if is_auto(warmup) else hours(warmup, "warmup")
    for model in models:
        check_window(model, horizon, w, replications)


def warmups(points: Mapping[str, Model], replications: int, seed: int, horizon: float | None,
             warmup: str | float | None, executor: Any, progress: bool | None
             ) -> dict[str, tuple[float | None, dict[str, Any]]]:
    """Each point's warm-up (hours; None: the scenario's) and what to note about it. With
    ``warmup="auto"``: pilot replications of every point from an empty start, in one
    experiment, then MSER-5 on each point's level series."""
    if not is_auto(warmup):
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


def run_to_precision(model: Model, seed: int, options: RunOptions, precision: float,
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


def run_with_and_without(model: Model, replications: int, seed: int, options: RunOptions,
                         executor: Executor, progress: bool | None,
                         draws: ParameterDraws | None, both: bool) -> tuple[Runs, Runs | None]:
    """The replications with ``draws`` (None: the parameters as fitted), and with ``both``
    the same replications again without them: same seed, one executor, one bar."""
    with progress_bar(replications * (2 if both else 1), "replications", progress) as bar:
        runs = run_points({BASE: model}, replications, seed, options=options,
                          executor=executor, bar=bar, parameters=draws)
        plain = (run_points({BASE: model}, replications, seed, options=options,
                            executor=executor, bar=bar) if both else None)
    return runs, plain


def draws_note(draws: ParameterDraws, seed: int, reps: Sequence[ReplicationSummary]
                ) -> dict[str, Any]:
    """What the manifest records about the draws a run used, the draw of each replication
    included (so that any replication can be rerun alone)."""
    return {**draws.manifest(),
            "draw_of_replication": [draw_index(seed, r.replication, len(draws)) for r in reps]}


def run_scenarios(scenarios: Mapping[str, Scenario], replications: int, seed: int,
                   horizon: float | None,
                   windows: Mapping[str, tuple[float | None, dict[str, Any]]],
                   executor: Executor, progress: bool | None, *,
                   base_options: Mapping[str, Any] | None = None,
                   all_options: Mapping[str, Any] | None = None,
                   parameters: ParameterDraws | None = None) -> dict[str, RunResult]:
    """Every scenario as one point of one experiment (each with its warm-up and notes from
    ``windows``); a RunResult per scenario. ``base_options`` are RunOptions fields for the
    base point only, ``all_options`` for every point; ``parameters``: the draws every point
    runs (see run_points)."""
    options = {}
    for p, sc in scenarios.items():
        check_window(sc.model, horizon, windows[p][0], replications)
        extra = {**(all_options or {}), **(base_options if p == BASE and base_options else {})}
        options[p] = RunOptions(horizon=horizon, warmup=windows[p][0], **extra)
    started = time.perf_counter()
    runs = run_points({p: sc.model for p, sc in scenarios.items()}, replications, seed,
                      options=options, executor=executor, progress=progress,
                      label="replications", parameters=parameters)
    results = {}
    for p, sc in scenarios.items():
        notes = dict(windows[p][1])
        if parameters is not None:
            notes["parameter_uncertainty"] = draws_note(parameters, seed, runs.replications(p))
        results[p] = RunResult(sc.model, runs.replications(p),
                               sc._manifest(seed, replications, horizon, windows[p][0], False,
                                            notes, started))
    return results


def window_text(start: dt.date, warmup_h: float, horizon_h: float) -> str:
    """The observation window in dates, e.g. "2027-07-05 to 2028-07-03 (52.0 w)"."""
    t0 = dt.datetime.combine(start, dt.time()) + dt.timedelta(hours=warmup_h)
    t1 = dt.datetime.combine(start, dt.time()) + dt.timedelta(hours=horizon_h)
    fmt = "%Y-%m-%d" if warmup_h % 24 == 0 and horizon_h % 24 == 0 else "%Y-%m-%d %H:%M"
    return f"{t0:{fmt}} to {t1:{fmt}} ({(horizon_h - warmup_h) / 168:.1f} w)"
