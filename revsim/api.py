"""The Python API: load a scenario, change it, run it. The CLI is a thin layer over this."""

from __future__ import annotations

import datetime as dt
import numbers
import platform
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from revsim import __version__
from revsim.analysis.precision import run_to_precision
from revsim.engine import COMPILED
from revsim.errors import Problem, ScenarioError
from revsim.experiment import RunOptions, run_batch_means, run_replications
from revsim.progress import progress_bar
from revsim.run_result import RunResult
from revsim.scenario.compile import compile_scenario, lead_volume_problems
from revsim.scenario.load import apply_overrides, parse_toml, read_toml, scenario_hash
from revsim.scenario.model import Model
from revsim.units import format_duration, parse_duration

if TYPE_CHECKING:
    from revsim.bottlenecks import BottleneckReport
    from revsim.comparison import Comparison
    from revsim.sweep import SweepResult

DEFAULT_SEED = 1


class Scenario:
    """A validated scenario. Build with :func:`load`, :func:`loads` or ``Scenario(dict)``."""

    def __init__(self, raw: Mapping[str, Any], *, source: str | None = None,
                 text: str | None = None) -> None:
        self.raw: dict[str, Any] = dict(raw)
        self.source = source
        self.text = text
        self.model: Model
        self.model, self.warnings = compile_scenario(self.raw, source)

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

    def run(self, replications: int = 10, seed: int | None = DEFAULT_SEED, *,
            horizon: str | float | None = None, warmup: str | float | None = None,
            jobs: int | None = 1, records: bool = False, progress: bool | None = None,
            precision: float | None = None, max_replications: int = 200,
            batch_means: int | None = None, active_periods: bool = False) -> RunResult:
        """Run independent replications and summarise KPIs with 95% CIs.

        ``horizon`` and ``warmup`` override the scenario's (a duration such as "26 w", or
        hours); ``warmup="auto"`` picks it with MSER-5 from a pilot run and reports it.
        ``jobs`` is the number of worker processes (None or <= 0: one per CPU); results do not
        depend on it. ``records`` keeps per-visit records (memory grows with the horizon).
        ``precision=0.05`` adds replications until every headline KPI's 95% CI half-width is
        within 5% of its mean, up to ``max_replications``. ``batch_means=k`` makes one long
        run cut into k batches instead of independent replications.
        ``progress`` shows a progress bar (None: only when stderr is a terminal).
        """
        seed = check_seed(seed)
        h = _hours(horizon, "horizon")
        notes: dict[str, Any] = {}
        w: float | None
        if isinstance(warmup, str) and warmup.strip().lower() == "auto":
            w, notes["warmup_auto"] = self._auto_warmup(replications, seed, h, jobs, progress)
        else:
            w = _hours(warmup, "warmup")
        check_window(self.model, h, w, replications)
        options = RunOptions(horizon=h, warmup=w, records=records,
                             active_periods=active_periods)
        started = time.perf_counter()
        if batch_means is not None:
            if batch_means < 2:
                raise ScenarioError([Problem("batch_means", "needs at least 2 batches")], "run")
            reps = run_batch_means(self.model, seed, batch_means, options)
            notes["method"] = f"batch means: one run cut into {batch_means} batches"
        elif precision is not None:
            reps, notes["precision"] = run_to_precision(
                self.model, seed, jobs, options, precision, replications, max_replications,
                progress,
            )
        else:
            with progress_bar(replications, "replications", progress) as bar:
                reps = run_replications(self.model, replications=replications, seed=seed,
                                        jobs=jobs, options=options, on_done=bar.update)
        wall = time.perf_counter() - started
        horizon_h = h if h is not None else self.model.horizon
        warmup_h = w if w is not None else self.model.warmup
        window_h = (horizon_h - warmup_h) / (batch_means or 1)
        manifest = {
            "revsim_version": __version__,
            "engine": "compiled" if COMPILED else "interpreted",
            "scenario_name": self.model.name,
            "scenario_file": self.source,
            "scenario_hash": self.hash,
            "seed": seed,
            "replications": len(reps),
            "horizon_hours": horizon_h,
            "warmup_hours": warmup_h,
            "window": _window(self.model.start, warmup_h, horizon_h),
            "window_hours": window_h,
            "confidence": 0.95,
            "records": records,
            **notes,
            "python": platform.python_version(),
            "wall_time_s": round(wall, 3),
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        return RunResult(self.model, reps, manifest)

    def _auto_warmup(self, replications: int, seed: int, horizon: float | None,
                     jobs: int | None, progress: bool | None) -> tuple[float, str]:
        """Pilot replications from an empty start, then MSER-5 on their level series."""
        from revsim.analysis.warmup import detect_warmup

        pilot_n = min(max(replications, 2), 10)
        with progress_bar(pilot_n, "warm-up pilot", progress) as bar:
            pilot = run_replications(self.model, replications=pilot_n, seed=seed, jobs=jobs,
                                     options=RunOptions(horizon=horizon, warmup=0.0),
                                     on_done=bar.update)
        result = RunResult(self.model, pilot, {})
        choice = detect_warmup(result.series)
        limit = (horizon if horizon is not None else self.model.horizon) / 2
        return min(choice.hours, limit), choice.describe()

    def compare(self, *variants: Scenario | Mapping[str, Any] | tuple[str, Any],
                replications: int = 10, seed: int | None = DEFAULT_SEED,
                horizon: str | float | None = None, warmup: str | float | None = None,
                jobs: int | None = 1, progress: bool | None = None) -> Comparison:
        """Compare variants with this scenario using common random numbers.

        A variant is a Scenario, a mapping of dotted-path changes (``{"pools.sdr.headcount":
        6}``) or a ``(label, scenario-or-changes)`` pair. Returns paired KPI differences with
        95% CIs, Holm-adjusted across the variants.
        """
        from revsim.comparison import Comparison, check_comparable

        if not variants:
            raise ScenarioError([Problem("variants", "give at least one variant to compare")],
                                "compare")
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
            notes += check_comparable(self.model, sc.model, label,
                                      horizon=_hours(horizon, "horizon"),
                                      warmup=None if warmup == "auto" else
                                      _hours(warmup, "warmup"))
            named[label] = sc
        kwargs = dict(replications=replications, seed=seed, horizon=horizon, warmup=warmup,
                      jobs=jobs, progress=progress)
        base = self.run(**kwargs)  # type: ignore[arg-type]
        runs = {label: sc.run(**kwargs) for label, sc in named.items()}  # type: ignore[arg-type]
        return Comparison.build(base, runs, notes)

    def bottlenecks(self, replications: int = 10, seed: int | None = DEFAULT_SEED, *,
                    horizon: str | float | None = None, warmup: str | float | None = None,
                    jobs: int | None = 1, progress: bool | None = None,
                    marginal: bool = True, ramped: bool = False) -> BottleneckReport:
        """Where the cycle is constrained, and what one more head in each pool is worth:
        at full productivity from the start, or with ``ramped`` a hire on the first day of the
        window who ramps up as the pool's hires do."""
        from revsim.bottlenecks import build_report

        return build_report(self, replications=replications, seed=seed, horizon=horizon,
                            warmup=warmup, jobs=jobs, progress=progress, marginal=marginal,
                            ramped=ramped)


    def sweep(self, out: str | Path, params: Sequence[str] = (), *, design: str = "grid",
              points: int = 10, variants: Sequence[Mapping[str, Any]] = (),
              replications: int = 10, seed: int = DEFAULT_SEED,
              horizon: str | float | None = None, warmup: str | float | None = None,
              jobs: int | None = None, scheduler: str | None = None,
              dask_local: int | None = None, resume: bool = False,
              progress: bool | None = None) -> SweepResult:
        """Run this scenario at every point of a design, into the folder ``out``.

        ``params`` like ``"pools.sdr.headcount=2:8"`` or ``"pools.ae.headcount=4,6,8"``;
        ``design`` is "grid", "lhs" (``points`` Latin-hypercube points) or "variants"
        (``variants``: ``[{"name": ..., "set": {path: value}}]``). Every point uses the same
        replication seeds; finished tasks are saved, ``resume=True`` runs only the rest.
        ``scheduler`` (a Dask address) or ``dask_local`` (workers) run it on Dask.
        """
        from revsim.sweep import run_sweep

        return run_sweep(self, out, params=params, design=design, points=points,
                         named=variants, replications=replications, seed=seed,
                         horizon=_hours(horizon, "horizon"), warmup=_hours(warmup, "warmup"),
                         jobs=jobs, scheduler=scheduler, dask_local=dask_local, resume=resume,
                         progress=progress)


def _describe_changes(changes: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in changes.items()) or "no change"


def check_seed(seed: Any) -> int:
    """The root seed as an int (DEFAULT_SEED for None); anything else is refused clearly."""
    if seed is None:
        return DEFAULT_SEED
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ScenarioError([Problem("seed", f"must be a whole number >= 0, got {seed!r}")],
                            "run")
    return int(seed)


def check_window(model: Model, horizon: float | None, warmup: float | None,
                 replications: int) -> tuple[float, float]:
    """The run window (horizon, warm-up) in hours, overrides applied; a window that cannot be
    run (warm-up not shorter than the horizon, ...) is refused."""
    problems = []
    h = model.horizon if horizon is None else horizon
    w = model.warmup if warmup is None else warmup
    if h <= 0:
        problems.append(Problem("horizon", "must be positive"))
    if w < 0:
        problems.append(Problem("warmup", "must be >= 0"))
    elif w >= h:
        problems.append(Problem(
            "warmup", f"{format_duration(w)} is not shorter than the horizon "
            f"({format_duration(h)}); shorten the warm-up (--warmup) or lengthen the horizon"))
    if 0 < h != model.horizon:  # the scenario's own horizon was checked when it was compiled
        problems += lead_volume_problems(model, h)
    if replications < 1:
        problems.append(Problem("replications", "must be at least 1"))
    if problems:
        raise ScenarioError(problems, "run")
    return h, w


def _hours(value: str | float | None, field: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    return parse_duration(value, field=field)


def _window(start: dt.date, warmup_h: float, horizon_h: float) -> str:
    """The observation window in dates, e.g. "2027-07-05 to 2028-07-03 (52.0 w)"."""
    t0 = dt.datetime.combine(start, dt.time()) + dt.timedelta(hours=warmup_h)
    t1 = dt.datetime.combine(start, dt.time()) + dt.timedelta(hours=horizon_h)
    fmt = "%Y-%m-%d" if warmup_h % 24 == 0 and horizon_h % 24 == 0 else "%Y-%m-%d %H:%M"
    return f"{t0:{fmt}} to {t1:{fmt}} ({(horizon_h - warmup_h) / 168:.1f} w)"


def load(path: str | Path) -> Scenario:
    """Load and validate a scenario TOML file (raises ScenarioError listing every problem)."""
    text = Path(path).read_text(encoding="utf-8") if Path(path).is_file() else None
    return Scenario(read_toml(path), source=str(path), text=text)


def loads(text: str, source: str = "<string>") -> Scenario:
    """Load and validate a scenario from TOML text."""
    return Scenario(parse_toml(text, source), source=source, text=text)
