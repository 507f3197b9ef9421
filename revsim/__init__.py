"""revsim: discrete-event simulation of a company's revenue cycle, from lead to cash.

>>> import revsim
>>> result = revsim.load("scenarios/saas_sales_led.toml").run(replications=10, seed=1)
>>> result.kpis  # one row per KPI with mean, 95% CI and n

``import revsim`` is fast: the API (and numpy, scipy, pandas under it) is imported the first
time one of its names is used (PEP 562), so the command line's ``--help`` and any module that
only needs revsim's errors or version start quickly. Type checkers see the names as usual.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from revsim.errors import OverrideError, Problem, RevsimError, ScenarioError
from revsim.version import __version__

if TYPE_CHECKING:
    from revsim.api import Scenario, load, loads
    from revsim.io import raw_csv
    from revsim.results import RunResult
    from revsim.rolling_origin import backtest_forecast
    from revsim.state_api import build_state, read_state

_LAZY_NAMES = {
    "Scenario": "revsim.api",
    "load": "revsim.api",
    "loads": "revsim.api",
    "backtest_forecast": "revsim.rolling_origin",
    "build_state": "revsim.state_api",
    "read_state": "revsim.state_api",
    "RunResult": "revsim.results",
    "raw_csv": "revsim.io",
}
"""The public names imported on first use, and the module each comes from."""


def __getattr__(name: str) -> Any:
    module = _LAZY_NAMES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY_NAMES})


def fit(log: Any, *, mapping: Any = None, as_of: Any = None, format: str = "canonical",
        name: str | None = None, progress: bool | None = None,
        encoding: str | None = None, date_format: str | None = None,
        stale_after: Any = None) -> Any:
    """Fit a scenario to an event log (a path, a DataFrame or an EventLog).

    ``format`` picks an adapter for a raw export (canonical, salesforce, hubspot, stripe, ar,
    maven); ``mapping`` maps raw activity labels to canonical ones; ``as_of`` is the extract
    time at which open cases are right-censored; ``encoding`` is the file's text encoding
    (default UTF-8); ``date_format`` how its dates are written when not ISO 8601 ("day-first",
    "month-first" or a strftime pattern); ``progress=None`` shows the fit's steps on a
    terminal only; ``stale_after`` ("90 d") treats open journeys untouched for longer as lost.
    Returns a
    FittedScenario (see :func:`revsim.calibrate.fit_log.fit`).
    """
    # lazy: calibrate loads scipy, pandas and lifelines; `import revsim` must not
    from revsim.calibrate.fit_log import fit as fit_log

    return fit_log(log, mapping=mapping, as_of=as_of, format=format, name=name,
                   progress=progress, encoding=encoding, date_format=date_format,
                   stale_after=stale_after)


__all__ = [
    "OverrideError",
    "Problem",
    "RevsimError",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "__version__",
    "backtest_forecast",
    "build_state",
    "fit",
    "load",
    "loads",
    "raw_csv",
    "read_state",
]
