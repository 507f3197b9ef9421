"""Bootstrap draws of a fitted scenario's parameters: how uncertain the fit is, for simulations
whose replications each run one draw (revsim.scenario.parameters; docs/parameter-uncertainty.md).

Each draw refits the parameters on a resample of the log, with the functions that fitted them:

- **routes** (Aalen-Johansen shares of each stage's outcomes), **stage durations** (censored
  maximum likelihood, or the fallback the fit chose) and **route-specific durations**, the
  **nurture** delay and the **deal values** per segment, on a resample of the journeys (cases)
  with replacement: a journey drawn twice brings all its visits twice, open (censored) visits
  stay open, so censoring is kept and the estimates of one journey's stages stay correlated;
- **arrival rates**, on a resample of the weeks the rate is fitted on (the same weeks for every
  source): weekly counts that vary more than Poisson give wider draws, as the fit's interval is
  widened (quasi-Poisson).

A duration keeps the form the fit chose (its family, or its mixture or empirical fallback;
``fit_duration(like=...)``): the draws are conditional on that choice. A resample that leaves a
parameter without data (no completed visit of a stage) keeps the fitted value in that draw.
Draw b depends only on (seed, b), so the first 100 of 200 draws are the 100 draws.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from revsim.calibrate.competing import CompetingOutcomes, competing_outcomes
from revsim.calibrate.derive_arrivals import arrival_groups, fit_segments, rate_text, weekly_counts
from revsim.calibrate.derive_stages import outcome_durations, route_spec, visit_targets
from revsim.calibrate.evidence import scenario_key
from revsim.calibrate.fitting import DurationFit, fit_duration
from revsim.calibrate.journeys import Journeys
from revsim.calibrate.rates import fit_rate
from revsim.io import write_bytes
from revsim.progress import progress_bar
from revsim.scenario.load import parse_toml
from revsim.scenario.parameters import draws_bytes, sha256_of, value_at

if TYPE_CHECKING:
    from revsim.calibrate.fitted import FittedScenario

DEFAULT_DRAWS = 200
"""Draws ``revsim fit`` writes unless told otherwise (``--bootstrap N``)."""
MIN_SHARE = 1e-6  # the smallest route share the scenario file writes (6 decimals)
SEED = 0  # fixed, so that the same log always gives the same draws
METHOD = ("bootstrap: journeys resampled with replacement (routes, durations, deal values; "
          "open visits stay censored), weeks resampled for arrival rates; each duration keeps "
          "the form the fit chose")

Value = Any


@dataclass
class Draws:
    """The draws of a fit: ``parameters`` (dotted paths), one row of values per draw."""

    parameters: list[str]
    rows: list[list[Value]]
    failed: dict[str, int]  # refits that failed per parameter (the fitted value was kept)


class _Resample:
    """One bootstrap resample: how often each journey is drawn, and which weeks."""

    def __init__(self, j: Journeys, index: dict[str, np.ndarray], n_weeks: int,
                 rng: np.random.Generator) -> None:
        n = len(j.journeys)
        self.weights = np.bincount(rng.integers(0, n, n), minlength=n)
        self.weeks = rng.integers(0, n_weeks, n_weeks)
        self.j, self.index = j, index  # index: each table's journey index per row
        self.cache: dict[Any, Any] = {}

    def rows(self, journey_index: np.ndarray) -> np.ndarray:
        """The rows of a table (one journey index per row) in the resample: a journey drawn
        k times brings its rows k times."""
        return np.repeat(np.arange(len(journey_index)), self.weights[journey_index])

    def journeys(self) -> Journeys:
        """The resampled journeys as a Journeys (built once per resample)."""
        if "journeys" not in self.cache:
            def repeat(table: str) -> pd.DataFrame:
                frame = getattr(self.j, table)
                return frame.iloc[self.rows(self.index[table])].reset_index(drop=True)

            self.cache["journeys"] = Journeys(repeat("visits"), repeat("journeys"),
                                              repeat("nurture"), self.j.as_of)
        return self.cache["journeys"]


@dataclass(frozen=True)
class _Stage:
    """One stage's visits as arrays: journey index, hours, outcome (route target), censored."""

    journey: np.ndarray
    hours: np.ndarray
    target: np.ndarray
    censored: np.ndarray

    def outcomes(self, sample: _Resample) -> CompetingOutcomes | None:
        """The resample's competing outcomes (None without a completed visit)."""
        key = ("outcomes", id(self))
        if key not in sample.cache:
            rows = sample.rows(self.journey)
            cens = self.censored[rows]
            sample.cache[key] = (competing_outcomes(self.hours[rows], self.target[rows], cens,
                                                    resamples=0)
                                 if (~cens).any() else None)
        return sample.cache[key]


Refit = Callable[[_Resample], Value | None]


def bootstrap_draws(fitted: FittedScenario, count: int = DEFAULT_DRAWS, *, seed: int = SEED,
                    step: Callable[[], None] | None = None) -> Draws:
    """``count`` bootstrap draws of ``fitted``'s parameters (see the module's docstring);
    parameters that no draw moves are left out. ``step()`` is called after each draw."""
    if count < 1:
        raise ValueError("count must be at least 1")
    j = fitted.journeys
    journey_of = {jid: i for i, jid in enumerate(j.journeys["journey"])}
    index = {t: getattr(j, t)["journey"].map(journey_of).to_numpy(int)
             for t in ("visits", "journeys", "nurture")}
    refits = dict(_refits(fitted, index["visits"]))
    fitted_values = {p: _plain(_get(fitted.raw, p)) for p in refits}
    rows: list[list[Value]] = []
    failed = dict.fromkeys(refits, 0)
    n_weeks = _n_weeks(fitted)
    for b in range(count):
        sample = _Resample(j, index, n_weeks,
                           np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(b,))))
        row = []
        for path, refit in refits.items():
            value = refit(sample)
            if value is None:
                failed[path] += 1
                value = fitted_values[path]
            row.append(_plain(value))
        rows.append(row)
        if step is not None:
            step()
    moving = [i for i, p in enumerate(refits) if any(r[i] != fitted_values[p] for r in rows)]
    names = list(refits)
    return Draws([names[i] for i in moving], [[r[i] for i in moving] for r in rows],
                 {names[i]: failed[names[i]] for i in moving if failed[names[i]]})


def _period(fitted: FittedScenario) -> tuple[pd.Timestamp, float]:
    start = fitted.log.start.floor("D")
    return start, (fitted.log.as_of - start).total_seconds() / 3600.0


def _n_weeks(fitted: FittedScenario) -> int:
    start, period_h = _period(fitted)
    return len(weekly_counts(pd.Series([start]), start, period_h)[0])


def _refits(fitted: FittedScenario, visit_journeys: np.ndarray
            ) -> Iterator[tuple[str, Refit]]:
    """Each drawn parameter's path and how to refit it on a resample."""
    raw, fits, j = fitted.raw, fitted.fits, fitted.journeys
    stage_keys = {s: scenario_key(s) for s in j.visits["stage"].unique()}
    start, period_h = _period(fitted)
    for group in arrival_groups(j, stage_keys):
        if group.key in raw.get("sources", {}):
            counts, lengths = weekly_counts(group.journeys["created"], start, period_h)
            yield f"sources.{group.key}.rate", _rate_refit(counts, lengths)
    for key in raw.get("segments", {}):
        yield f"segments.{key}.value", _segment_refit(key)
    for stage, key in stage_keys.items():
        spec = raw.get("stages", {}).get(key, {})
        here = (j.visits["stage"] == stage).to_numpy()
        g = j.visits[here]
        data = _Stage(visit_journeys[here], g["hours"].to_numpy(float),
                      visit_targets(g, stage_keys).to_numpy(), g["censored"].to_numpy(bool))
        if (~data.censored).any() and "routes" in spec:
            yield f"stages.{key}.routes", _routes_refit(data, spec["routes"])
        path = f"stages.{key}.delay"
        if path in fits:
            yield path, _delay_refit(data, fits[path])
        for target in spec.get("delay_by_route", {}):
            path = f"stages.{key}.delay_by_route.{target}"
            if path in fits:
                yield path, _route_delay_refit(data, target, fits[path])
    if "nurture.after" in fits:
        yield "nurture.after", _nurture_refit(fits["nurture.after"])


def _rate_refit(counts: np.ndarray, lengths: np.ndarray) -> Refit:
    def refit(sample: _Resample) -> Value | None:
        weeks = sample.weeks
        if counts[weeks].sum() == 0:
            return None
        return rate_text(fit_rate(counts[weeks], lengths[weeks]))
    return refit


def _segment_refit(key: str) -> Refit:
    def refit(sample: _Resample) -> Value | None:
        if "segments" not in sample.cache:
            sample.cache["segments"] = fit_segments(sample.journeys())[0]
        return sample.cache["segments"].get(key, {}).get("value")
    return refit


def _routes_refit(stage: _Stage, fitted_routes: dict[str, float]) -> Refit:
    def refit(sample: _Resample) -> Value | None:
        co = stage.outcomes(sample)
        if co is None:
            return None
        routes = route_spec(co)
        # An outcome this resample happens not to see stays a route, at the smallest share the
        # file writes: dropping it could leave a stage unreachable, a different model.
        unseen = sorted(set(fitted_routes) - set(routes))
        if unseen:
            biggest = max(routes, key=routes.get)  # type: ignore[arg-type]
            routes[biggest] = round(routes[biggest] - MIN_SHARE * len(unseen), 6)
            routes.update(dict.fromkeys(unseen, MIN_SHARE))
        return {t: routes[t] for t in sorted(routes)}
    return refit


def _delay_refit(stage: _Stage, like: DurationFit) -> Refit:
    def refit(sample: _Resample) -> Value | None:
        rows = sample.rows(stage.journey)
        return _refit_duration(stage.hours[rows], ~stage.censored[rows], like)
    return refit


def _route_delay_refit(stage: _Stage, target: str, like: DurationFit) -> Refit:
    def refit(sample: _Resample) -> Value | None:
        co = stage.outcomes(sample)
        if co is None or target not in co.outcomes:
            return None
        completed = int(co.completed[co.outcomes.index(target)])
        values = outcome_durations(co, target, completed)
        return _refit_duration(values, np.ones(len(values), bool), like)
    return refit


def _nurture_refit(like: DurationFit) -> Refit:
    def refit(sample: _Resample) -> Value | None:
        rec = sample.journeys().nurture
        return _refit_duration(rec["hours"].to_numpy(float), (~rec["censored"]).to_numpy(), like)
    return refit


def _refit_duration(hours: np.ndarray, observed: np.ndarray, like: DurationFit) -> Value | None:
    if len(hours) == 0 or not observed.any():
        return None
    try:
        return fit_duration(hours, observed, name=like.name, like=like).spec
    except ValueError:  # e.g. every completed duration of this resample is 0
        return None


@dataclass(frozen=True)
class DrawsFile:
    """A draws file written beside a fitted scenario, as the scenario names it."""

    path: Path
    sha256: str
    count: int
    parameters: tuple[str, ...]
    failed: dict[str, int]

    def describe(self) -> str:
        """E.g. "200 bootstrap draws of 4 parameters"."""
        return (f"{self.count} bootstrap draws of {len(self.parameters)} parameter"
                f"{'' if len(self.parameters) == 1 else 's'}")


def draws_path(scenario: str | Path) -> Path:
    """Where the draws of the scenario file ``scenario`` go: ``fitted.toml`` ->
    ``fitted.draws.json``, beside it."""
    path = Path(scenario)
    return path.with_name(f"{path.stem}.draws.json")


def write_draws(fitted: FittedScenario, scenario: str | Path, count: int = DEFAULT_DRAWS, *,
                progress: bool | None = None) -> DrawsFile:
    """Draw ``count`` bootstrap draws of ``fitted`` and write them (atomically) beside the
    scenario file ``scenario`` (see :func:`draws_path`); the scenario's own value of each
    parameter is recorded as its TOML gives it, so that a run can tell it from a value set
    since."""
    with progress_bar(count, "bootstrap draws", progress) as bar:
        draws = bootstrap_draws(fitted, count, step=lambda: bar.update(1))
    written = parse_toml(fitted.to_toml(), "the fitted scenario")
    data = draws_bytes(draws.parameters, [value_at(written, p) for p in draws.parameters],
                       draws.rows, method=METHOD, seed=SEED)
    path = write_bytes(draws_path(scenario), data)
    return DrawsFile(path, sha256_of(data), count, tuple(draws.parameters), draws.failed)


def _get(raw: dict[str, Any], path: str) -> Any:
    node: Any = raw
    for part in path.split("."):
        node = node[part]
    return node


def _plain(value: Any) -> Any:
    """A value as the scenario file writes it: plain Python, floats to 10 decimals."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float) and not isinstance(value, bool):
        return round(value, 10)
    return value
