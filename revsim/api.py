"""The Python API: load a scenario, change it, run it. The CLI is a thin layer over this."""

from __future__ import annotations

import datetime as dt
import platform
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from revsim import __version__
from revsim.errors import Problem, ScenarioError
from revsim.experiment import RunOptions, run_replications
from revsim.progress import progress_bar
from revsim.results import RunResult
from revsim.scenario.compile import compile_scenario
from revsim.scenario.load import apply_overrides, parse_toml, read_toml, scenario_hash
from revsim.scenario.model import Model
from revsim.units import format_duration, parse_duration

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
            jobs: int | None = 1, records: bool = False,
            progress: bool | None = None) -> RunResult:
        """Run independent replications and summarise KPIs with 95% CIs.

        ``horizon`` and ``warmup`` override the scenario's (a duration such as "26 w", or hours).
        ``jobs`` is the number of worker processes (None: one per CPU); results do not depend
        on it. ``records`` keeps per-visit records (memory grows with the horizon).
        ``progress`` shows a progress bar (None: only when stderr is a terminal).
        """
        seed = DEFAULT_SEED if seed is None else int(seed)
        h = _hours(horizon, "horizon")
        w = _hours(warmup, "warmup")
        _check_window(self.model, h, w, replications)
        started = time.perf_counter()
        with progress_bar(replications, "replications", progress) as bar:
            reps = run_replications(
                self.model, replications=replications, seed=seed, jobs=jobs,
                options=RunOptions(horizon=h, warmup=w, records=records), on_done=bar.update,
            )
        wall = time.perf_counter() - started
        horizon_h = h if h is not None else self.model.horizon
        warmup_h = w if w is not None else self.model.warmup
        manifest = {
            "revsim_version": __version__,
            "scenario_name": self.model.name,
            "scenario_file": self.source,
            "scenario_hash": self.hash,
            "seed": seed,
            "replications": replications,
            "horizon_hours": horizon_h,
            "warmup_hours": warmup_h,
            "window": _window(self.model.start, warmup_h, horizon_h),
            "confidence": 0.95,
            "records": records,
            "python": platform.python_version(),
            "wall_time_s": round(wall, 3),
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        return RunResult(self.model, reps, manifest)


def _check_window(model: Model, horizon: float | None, warmup: float | None,
                  replications: int) -> None:
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
    if replications < 1:
        problems.append(Problem("replications", "must be at least 1"))
    if problems:
        raise ScenarioError(problems, "run")


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
