"""`revsim.fit`: from a CRM/billing export to a calibrated scenario, in one call."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pandas as pd

from revsim.calibrate.billing_adapters import generic_ar, stripe_invoices
from revsim.calibrate.crm_adapters import (
    hubspot_deals,
    maven_pipeline,
    salesforce_opportunity_history,
)
from revsim.calibrate.date_formats import check_date_format
from revsim.calibrate.derive import fit_log
from revsim.calibrate.fitted import FittedScenario
from revsim.calibrate.input_warnings import collected_warnings
from revsim.calibrate.log import EventLog, read_event_log
from revsim.calibrate.mapping import Mapping, load_mapping
from revsim.calibrate.raw_table import read_csv_text
from revsim.calibrate.text_input import check_encoding, shown, unexpected
from revsim.errors import Problem, ProblemsError, RevsimError, suggest
from revsim.progress import progress_bar
from revsim.units import UnitError, parse_duration

FORMATS = {
    "canonical": None,
    "salesforce": salesforce_opportunity_history,
    "hubspot": hubspot_deals,
    "stripe": stripe_invoices,
    "ar": generic_ar,
    "maven": maven_pipeline,
}


BROKEN_FIT = (ValueError, TypeError, KeyError, IndexError, ArithmeticError)
"""What a fit raises when a log that passed every check still breaks it (a bug to report):
a message naming the file, never a traceback. revsim's own errors (LogError is a ValueError)
pass through as they are."""


class FitInputError(ProblemsError):
    """Bad arguments to fit/backtest (unknown format, unreadable mapping)."""


def read_log(log: str | Path | pd.DataFrame | EventLog, *, mapping: str | Path | Any = None,
             as_of: Any = None, format: str = "canonical", encoding: str | None = None,
             date_format: str | None = None) -> EventLog:
    """Read an export in one of FORMATS into a validated canonical EventLog.

    ``encoding`` is the file's text encoding (default UTF-8); ``date_format`` how its dates
    are written when not ISO 8601 ("day-first", "month-first" or a strftime pattern; it
    overrides the mapping's ``[dates] format``). Warnings raised while reading (pandas', or
    revsim's own ``InputWarning``) are collected in the log's ``warnings``.
    """
    if isinstance(log, EventLog):
        return log
    problems: list[Problem] = []
    if format not in FORMATS:
        problems.append(Problem("--format", f"unknown format {shown(repr(format))}; "
                                f"{suggest(str(format), list(FORMATS))}"))
    if encoding is not None:
        problems += check_encoding(encoding)
    if date_format is not None:
        problems += check_date_format(date_format, "--date-format")
    name = str(log) if isinstance(log, str | Path) else None
    if problems:
        raise FitInputError(problems, name)
    with collected_warnings(f"reading {shown(name or 'the log', 80)}") as lines:
        mapped = load_mapping(mapping) if isinstance(mapping, str | Path) else mapping
        if date_format is not None:
            mapped = (dataclasses.replace(mapped, date_format=date_format.strip())
                      if mapped is not None else Mapping({}, date_format=date_format.strip()))
        adapter = FORMATS[format]
        source: Any = log
        if adapter is not None:
            if isinstance(log, str | Path):  # read here, so that every format has --encoding
                source = read_csv_text(log, str(log), encoding=encoding)
                source.index = pd.RangeIndex(2, len(source) + 2, name="row")
                source.attrs["source"] = str(log)
            source = adapter(source)
        event_log = read_event_log(source, mapping=mapped, as_of=as_of, name=name,
                                   encoding=encoding)
    event_log.warnings = lines
    return event_log


def fit(log: str | Path | pd.DataFrame | EventLog, *, mapping: str | Path | Any = None,
        as_of: Any = None, format: str = "canonical", name: str | None = None,
        progress: bool | None = None, encoding: str | None = None,
        date_format: str | None = None, stale_after: Any = None) -> FittedScenario:
    """Fit a scenario to an event log (open cases right-censored at ``as_of``).

    ``format`` picks an adapter for a raw export (salesforce, hubspot, stripe, ar, maven);
    ``mapping`` maps raw activity labels to canonical ones; ``encoding`` is the file's text
    encoding (default UTF-8); ``date_format`` how its dates are written when not ISO 8601
    ("day-first", "month-first" or a strftime pattern such as "%d/%m/%Y"). The result's
    ``to_toml()`` is a runnable, annotated scenario;
    ``model()`` compiles it; see revsim.calibrate.fitted for the report folder; its
    ``warnings`` say what was odd about the input. ``progress=None`` shows the steps on a
    terminal only. ``stale_after`` (a duration, "90 d" or a timedelta) closes open journeys
    untouched for longer as lost (see revsim.calibrate.journeys); the report's notes count them.
    """
    after = stale_duration(stale_after)
    with progress_bar(None, "fitting", progress) as bar:
        def step(label: str) -> None:
            bar.set_description_str(f"fitting: {label}")  # a few coarse steps: draw each
            bar.update(1)

        step("reading the log")
        events = read_log(log, mapping=mapping, as_of=as_of, format=format, encoding=encoding,
                          date_format=date_format)
        with collected_warnings(f"fitting {shown(events.source, 80)}") as lines:
            try:
                fitted = fit_log(events, name=name, step=step, stale_after=after)
            except RevsimError:
                raise
            except BROKEN_FIT as err:
                raise unexpected(err, events.source, "fitting") from err
        fitted.warnings = [*events.warnings, *lines]
        return fitted


def stale_duration(value: Any) -> pd.Timedelta | None:
    """``stale_after`` as a Timedelta (None stays None); a bad or non-positive one is a
    FitInputError naming it."""
    if value is None:
        return None
    try:
        hours = parse_duration(value)
    except UnitError as err:
        raise FitInputError([Problem("stale_after", f"{err}; give e.g. \"90 d\"")]) from None
    if hours <= 0:
        raise FitInputError([Problem("stale_after", f"must be longer than 0, got "
                                     f"{shown(repr(value))}; give e.g. \"90 d\"")])
    return pd.Timedelta(hours=hours)
