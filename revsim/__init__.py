"""revsim: discrete-event simulation of a company's revenue cycle, from lead to cash.

>>> import revsim
>>> result = revsim.load("scenarios/saas_sales_led.toml").run(replications=10, seed=1)
>>> result.kpis  # one row per KPI with mean, 95% CI and n
"""

__version__ = "0.1.0"

from revsim.api import Scenario, load, loads  # noqa: E402
from revsim.errors import OverrideError, Problem, RevsimError, ScenarioError  # noqa: E402
from revsim.results import RunResult  # noqa: E402


def fit(log, **kwargs):  # type: ignore[no-untyped-def]
    """Fit a scenario to an event log; see :func:`revsim.calibrate.api.fit`."""
    from revsim.calibrate.api import fit as _fit

    return _fit(log, **kwargs)

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
