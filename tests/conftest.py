"""Shared fixtures: a minimal valid scenario and helpers to vary it, write it and load it.

Scenarios are built as plain dicts (the raw TOML mapping), deep-merged with changes, and either
passed to ``revsim.Scenario`` directly or written to a ``.toml`` file with ``tomli_w`` so that
error messages name a real file.

Simulated time is hours since midnight of ``scenario.start``; the default start, 2027-01-04,
is a Monday, so t = 9 is Monday 09:00 and t = 33 is Tuesday 09:00.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import tomli_w

import revsim
import revsim.engine

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "scenarios"
SAAS = SCENARIOS / "saas_sales_led.toml"
SHIPPED = sorted(SCENARIOS.glob("*.toml"))

# The suite runs on pytest-xdist workers (pyproject: `-n auto --dist loadgroup`). Tests go to
# workers one by one, except in these modules: their module-scoped fixtures (or cached runs)
# are expensive (a simulation, a report, a Dask cluster, a browser), so all of a module's tests
# share one worker and each fixture is built once. A module missing here is still correct, only
# its fixtures may be built once per worker. The two modules that read `shipped_run` share one
# group, so each shipped scenario is simulated once.
SHARED_FIXTURE_GROUPS: dict[str, str] = {
    "test_bottlenecks.py": "bottlenecks",
    "test_calibrate_log.py": "calibrate_log",
    "test_compare.py": "compare",
    "test_engine_invariants.py": "engine_invariants",
    "test_eventlog.py": "eventlog",
    "test_fit_cli.py": "fit_cli",
    "test_forecast_roundtrip.py": "forecast_roundtrip",
    "test_forecast.py": "forecast",
    "test_maven.py": "maven",
    "test_open_invoices.py": "open_invoices",
    "test_overrides.py": "overrides",
    "test_parameter_uncertainty.py": "parameter_uncertainty",
    "test_plotting.py": "plotting",
    "test_report.py": "report",
    "test_report_browser.py": "report_browser",
    "test_reproducibility.py": "reproducibility",
    "test_scenario_plausibility.py": "shipped_run",
    "test_shipped_scenarios.py": "shipped_run",
    "test_sweep_dask.py": "sweep_dask",
    "test_sweep_resume.py": "sweep_resume",
    "test_calibration_roundtrip.py": "calibration_roundtrip",
}


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist loadgroup`, plus the module groups above.

    The groups are applied here, in the controller, rather than as xdist_group marks: xdist
    applies marks by rewriting node ids, which pytest 9.2 no longer honours (pytest-xdist issue
    #1386), so marks would be silently ignored. Marked groups still win where they work.
    """
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling  # only under xdist

    class SharedFixtureScheduling(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            scope = super()._split_scope(nodeid)
            if scope != nodeid:  # an xdist_group mark that took effect
                return scope
            module = nodeid.split("::", 1)[0].rsplit("/", 1)[-1]
            return SHARED_FIXTURE_GROUPS.get(module, nodeid)

    return SharedFixtureScheduling(config, log)


def pytest_report_header(config: pytest.Config) -> str:
    """Say which engine is under test.

    A stale compiled engine (its sources edited since the build) is not refused: revsim.engine
    then runs the interpreted engine from the edited sources, so the suite tests exactly the code
    on disk, and an engine edit can be tested without a rebuild. The header (and the warning
    revsim.engine gives on import) say so, because test_compiled_engine then compares the
    interpreted engine with itself until the engine is rebuilt.
    """
    if revsim.engine.STALE_BUILD is not None:
        return (f"revsim engine: interpreted; the compiled engine is stale "
                f"({revsim.engine.STALE_BUILD}): rebuild it with `pip install -e .`")
    return f"revsim engine: {'compiled' if revsim.engine.COMPILED else 'interpreted'}"


SHIPPED_REPLICATIONS = 5
SHIPPED_SEED = 20270104


@cache
def shipped_run(path: Path) -> tuple[revsim.Scenario, Any]:
    """A shipped scenario and its run over its own horizon and warm-up (5 replications, jobs=2),
    made once per worker and shared by the tests of shipped scenarios."""
    sc = revsim.load(path)
    return sc, sc.run(replications=SHIPPED_REPLICATIONS, seed=SHIPPED_SEED, jobs=2)

START = dt.date(2027, 1, 4)  # a Monday
QUIET_RATE = "0.0001/y"
"""A Poisson rate so small that no random arrival happens in a few weeks: deterministic tests
feed leads only through bursts, at exact instants."""

def sweep_scenario(name: str, *, horizon: str = "3 w", rate: str = "60/w",
                   headcount: int = 2) -> str:
    """TOML of the two-pool funnel the sweep tests vary (SDRs qualify, AEs demo; both pools
    have a cost per head, so staff cost differs between points)."""
    return f"""\
[scenario]
name = "{name}"
start = 2027-01-04
horizon = "{horizon}"

[sources.web]
rate = "{rate}"
to = "qualify"

[pools.sdr]
headcount = {headcount}
cost_per_head = "90k"

[pools.ae]
headcount = {headcount}
cost_per_head = "150k"

[stages.qualify]
pool = "sdr"
work = {{ dist = "exponential", mean = "1 h" }}
routes = {{ demo = 0.5, lost = 0.5 }}

[stages.demo]
pool = "ae"
work = {{ dist = "exponential", mean = "2 h" }}
routes = {{ won = 0.6, lost = 0.4 }}
"""


DELETE = object()
"""Use as a value in ``merge``/``scenario_dict`` changes to remove a key."""


def merge(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of ``base`` with ``changes`` deep-merged in (``DELETE`` removes a key)."""
    out = copy.deepcopy(dict(base))
    for key, value in changes.items():
        if value is DELETE:
            out.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def minimal() -> dict[str, Any]:
    """The smallest valid scenario: one source, one pool of one, one staffed stage -> won."""
    return {
        "scenario": {"name": "minimal", "start": START, "horizon": "2 w"},
        "sources": {"web": {"rate": "20/w", "to": "work"}},
        "pools": {"staff": {"headcount": 1}},
        "stages": {"work": {"pool": "staff", "work": "1 h", "routes": {"won": 1.0}}},
    }


def scenario_dict(changes: Mapping[str, Any] | None = None, **sections: Any) -> dict[str, Any]:
    """``minimal()`` with ``changes`` (and/or keyword sections) deep-merged in."""
    return merge(merge(minimal(), changes or {}), sections)


def burst(at: dt.datetime | dt.date | float, count: int = 1, over: str | None = None) -> dict:
    """A burst table; ``at`` may be hours since the start (converted to a datetime)."""
    if isinstance(at, (int, float)):
        at = dt.datetime.combine(START, dt.time()) + dt.timedelta(hours=at)
    b: dict[str, Any] = {"at": at, "count": count}
    if over is not None:
        b["over"] = over
    return b


def burst_source(to: str, times: list[float], **extra: Any) -> dict[str, Any]:
    """A source whose leads arrive only at the given instants (hours), one lead each."""
    return {"rate": QUIET_RATE, "to": to, "bursts": [burst(t) for t in times], **extra}


def write_toml(path: Path, data: Mapping[str, Any] | str) -> Path:
    """Write a scenario (dict or TOML text) to ``path``."""
    text = data if isinstance(data, str) else tomli_w.dumps(dict(data))
    path.write_text(text, encoding="utf-8")
    return path


def run_trace(data: Mapping[str, Any], **kw: Any) -> Any:
    """Run one replication with visit records and return the visits, sorted by lead and time."""
    kw.setdefault("replications", 1)
    kw.setdefault("seed", 1)
    result = revsim.Scenario(data).run(records=True, **kw)
    visits = result.visits.sort_values(["lead", "arrival_h", "end_h"], kind="stable")
    return visits.reset_index(drop=True), result


@pytest.fixture
def scenario_file(tmp_path: Path) -> Callable[..., Path]:
    """``scenario_file(data_or_text, name="s.toml")`` writes a scenario into tmp_path."""

    def make(data: Mapping[str, Any] | str, name: str = "scenario.toml") -> Path:
        return write_toml(tmp_path / name, data)

    return make
