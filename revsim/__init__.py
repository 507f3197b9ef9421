"""revsim: discrete-event simulation of a company's revenue cycle, from lead to cash.

>>> import revsim
>>> result = revsim.load("scenarios/saas_sales_led.toml").run(replications=10, seed=1)
>>> result.kpis  # one row per KPI with mean, 95% CI and n
"""

from typing import Any

from revsim.api import Scenario, load, loads
from revsim.errors import OverrideError, Problem, RevsimError, ScenarioError
from revsim.results import RunResult
from revsim.version import __version__


def fit(log: Any, *, mapping: Any = None, as_of: Any = None, format: str = "canonical",
        name: str | None = None, progress: bool | None = None) -> Any:
    """Fit a scenario to an event log (a path, a DataFrame or an EventLog).

    ``format`` picks an adapter for a raw export (canonical, salesforce, hubspot, stripe, ar,
    maven); ``mapping`` maps raw activity labels to canonical ones; ``as_of`` is the extract
    time at which open cases are right-censored; ``progress=None`` shows the fit's steps on a
    terminal only. Returns a FittedScenario (see :func:`revsim.calibrate.fit_log.fit`).
    """
    from revsim.calibrate.fit_log import fit as _fit

    return _fit(log, mapping=mapping, as_of=as_of, format=format, name=name, progress=progress)


__all__ = [
    "OverrideError",
    "Problem",
    "RevsimError",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "__version__",
    "fit",
    "load",
    "loads",
]
