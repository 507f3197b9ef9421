"""`revsim.fit`: from a CRM/billing export to a calibrated scenario, in one call."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from revsim.calibrate.billing_adapters import generic_ar, stripe_invoices
from revsim.calibrate.crm_adapters import (
    hubspot_deals,
    maven_pipeline,
    salesforce_opportunity_history,
)
from revsim.calibrate.derive import fit_log
from revsim.calibrate.fitted import FittedScenario
from revsim.calibrate.log import EventLog, read_event_log
from revsim.calibrate.mapping import load_mapping
from revsim.errors import Problem, ProblemsError, suggest
from revsim.progress import progress_bar

FORMATS = {
    "canonical": None,
    "salesforce": salesforce_opportunity_history,
    "hubspot": hubspot_deals,
    "stripe": stripe_invoices,
    "ar": generic_ar,
    "maven": maven_pipeline,
}


class FitInputError(ProblemsError):
    """Bad arguments to fit/backtest (unknown format, unreadable mapping)."""


def read_log(log: str | Path | pd.DataFrame | EventLog, *, mapping: str | Path | Any = None,
             as_of: Any = None, format: str = "canonical") -> EventLog:
    """Read an export in one of FORMATS into a validated canonical EventLog."""
    if isinstance(log, EventLog):
        return log
    if format not in FORMATS:
        raise FitInputError([Problem("--format", f"unknown format {format!r}; "
                                     f"{suggest(format, list(FORMATS))}")])
    mapped = load_mapping(mapping) if isinstance(mapping, str | Path) else mapping
    adapter = FORMATS[format]
    name = str(log) if isinstance(log, str | Path) else None
    source: Any = log if adapter is None else adapter(log)
    return read_event_log(source, mapping=mapped, as_of=as_of, name=name)


def fit(log: str | Path | pd.DataFrame | EventLog, *, mapping: str | Path | Any = None,
        as_of: Any = None, format: str = "canonical", name: str | None = None,
        progress: bool | None = None) -> FittedScenario:
    """Fit a scenario to an event log (open cases right-censored at ``as_of``).

    ``format`` picks an adapter for a raw export (salesforce, hubspot, stripe, ar, maven);
    ``mapping`` maps raw activity labels to canonical ones. The result's ``to_toml()`` is a
    runnable, annotated scenario; ``model()`` compiles it; see revsim.calibrate.fitted for the
    report folder. ``progress=None`` shows the steps on a terminal only.
    """
    with progress_bar(None, "fitting", progress) as bar:
        def step(label: str) -> None:
            bar.set_description_str(f"fitting: {label}")  # a few coarse steps: draw each
            bar.update(1)

        step("reading the log")
        events = read_log(log, mapping=mapping, as_of=as_of, format=format)
        return fit_log(events, name=name, step=step)
