"""Derive a runnable scenario from an event log: arrivals, routes, stage durations, payments.

``fit_log`` builds the journeys, sets the period and warm-up, and has each part fitted by its
module (derive_arrivals, derive_stages, derive_cash). Every fitted number keeps its evidence
(n, censored n, CIs, fit statistics) in ``comments``, keyed by the dotted path of the scenario
field it annotates.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import pandas as pd

from revsim.calibrate.derive_arrivals import fit_segments, fit_sources
from revsim.calibrate.derive_cash import fit_cash, staffing_notes
from revsim.calibrate.derive_stages import fit_nurture, fit_stages
from revsim.calibrate.evidence import hours_text, scenario_keys
from revsim.calibrate.fitted import FittedScenario
from revsim.calibrate.fitting import DurationFit
from revsim.calibrate.journeys import Journeys, build_journeys, invoice_journeys
from revsim.calibrate.log import EventLog
from revsim.calibrate.text_input import InputWarning, LogError, one_line, shown
from revsim.errors import Problem


def _quiet(step: str) -> None:
    pass


def fit_log(log: EventLog, *, name: str | None = None, warmup_share: float = 0.2,
            step: Callable[[str], None] = _quiet,
            stale_after: pd.Timedelta | None = None) -> FittedScenario:
    """Fit a scenario to ``log``; open cases are right-censored at the log's as-of time.

    ``step(label)`` is called as each part of the fit starts (for a progress display).
    ``stale_after``: open journeys untouched for longer are closed as lost (the inactivity
    rule of revsim.calibrate.journeys).
    """
    step("journeys")
    _check_spread(log)
    j = build_journeys(log.events, log.as_of, stale_after)
    # Warm-up: the simulation starts empty, so it must run at least as long as a typical
    # journey takes (p99 of the completed ones) before its statistics match the log's.
    cycle_h = ((j.journeys["outcome_time"] - j.journeys["created"]).dt.total_seconds()
               / 3600).dropna()
    typical_h = float(cycle_h.quantile(0.99)) if len(cycle_h) else 0.0
    comments: dict[str, str] = {}
    notes: list[str] = []
    excluded: dict[str, int] = {}
    fits: dict[str, DurationFit] = {}
    start = log.start.floor("D")
    period_h = (log.as_of - start).total_seconds() / 3600.0
    comments["scenario.warmup"] = (
        f"the longer of {warmup_share:.0%} of the period and the p99 of completed journeys "
        f"({hours_text(typical_h)}), at most half the period: the simulation starts empty")
    raw: dict[str, Any] = {
        "scenario": {
            "name": name or f"Fitted from {log.file_name}",
            "description": f"Calibrated by revsim fit from {log.file_name} (as of {log.as_of}).",
            "start": start.date(),
            "horizon": hours_text(period_h),
            "warmup": hours_text(min(max(period_h * warmup_share, typical_h),
                                     period_h / 2)),
        }
    }
    invoice_only = j.visits.empty
    if invoice_only:
        stand_in = invoice_journeys(log.events, log.as_of)
        if stand_in is None:
            raise LogError([Problem("activity", "the log has no stage events (mql, sql, "
                                    "opportunity_created, stage:...) and no issued invoices: "
                                    "nothing to fit")], str(log.source))
        j = stand_in
        notes.append("the log has invoices only: each invoice stands for one deal won when it "
                     "was issued (stage 'invoiced', source 'invoices'), so the scenario models "
                     "the cash side at the observed invoicing rate")
    if j.superseded:
        excluded["events with a lifecycle other than complete (e.g. start) whose activity "
                 "also completes in the case (the completion is used)"] = j.superseded
    if j.merged:
        excluded["repeated events of the same stage, merged into their visit"] = j.merged
    if j.after_outcome:
        excluded["stage events after the journey was won, lost or disqualified (no visit "
                 "opened)"] = j.after_outcome
    _warn_if_narrow(log)
    if not invoice_only:
        _warn_if_one_sided(log, j)
        if j.stale is not None:
            notes.append(stale_note(j.stale, stale_after))
    stage_keys = scenario_keys(j.visits["stage"].unique())
    segments, seg_comments = fit_segments(j, excluded)
    if segments:
        raw["segments"] = segments
        comments.update(seg_comments)
    step("arrivals")
    raw["sources"], src_table = fit_sources(j, stage_keys, period_h, start, comments,
                                            bool(segments), notes, excluded)
    raw["stages"], transitions = fit_stages(j, stage_keys, comments, fits, notes, step,
                                            log.stage_order)
    nurture = fit_nurture(j, stage_keys, comments, fits, notes)
    if nurture:
        raw["nurture"] = nurture
    step("payments")
    cash = fit_cash(log, j, stage_keys, comments, fits, notes, invoice_only, excluded)
    raw.update(cash)
    if "onboarding" in stage_keys.values() and "deals" not in raw:
        # won deals enter onboarding through [deals], which the cash side writes only when the
        # log has invoices: without it the onboarding stage would be unreachable
        raw["deals"] = {"onboarding": "onboarding"}
    staffing_notes(log, j, comments, notes)
    return FittedScenario(raw, comments, fits, transitions, src_table, notes, log, j,
                          excluded=excluded)


def _check_spread(log: EventLog) -> None:
    """A log whose events all share one instant has no duration and no rate to fit."""
    times = log.events["timestamp"]
    if len(times) and times.nunique() == 1:
        raise LogError([Problem("timestamp", (
            f"every event ({len(times):,}) is at the same time, {times.iloc[0]:%Y-%m-%d %H:%M} "
            "UTC: no duration and no arrival rate can be fitted; export the events' own times "
            "(with the time of day), over a period of weeks"))], str(log.source))


def stale_note(stale: dict[str, int], after: pd.Timedelta | None) -> str:
    """What the inactivity rule did, for the report's notes (said even when it closed none)."""
    days = hours_text(after.total_seconds() / 3600) if after is not None else "?"
    n = sum(stale.values())
    return (f"{n:,} open journey{'' if n == 1 else 's'} untouched for more than {days} "
            f"treated as lost (--stale-after; {stale['lost']:,} closed_lost, "
            f"{stale['disqualified']:,} disqualified as never an opportunity), each at its "
            f"last event + {days}")


def _warn_if_one_sided(log: EventLog, j: Journeys) -> None:
    """A log of finished wins only fits a 100% win rate, and one with no open case fits
    durations of finished cases only: valid input, misleading scenario, so say which."""
    # the file name, not its path: the warning is written into the scenario's header
    where = one_line(log.file_name)
    outcome = j.journeys["outcome"]
    if not outcome.notna().any():
        return  # no sales outcome at all: neither warning says anything about such a log
    if not outcome.isin(["lost", "disqualified"]).any():
        warnings.warn(InputWarning(
            f"{where}: wins only: none of the {int(outcome.notna().sum()):,} "
            "journeys with a sales outcome was lost or disqualified, so the fitted win rate "
            "would be 100%; export lost deals too, or use --stale-after"), stacklevel=3)
    still_open = bool(j.visits["censored"].any() or j.nurture["censored"].any())
    if not still_open and not (j.stale and sum(j.stale.values())):
        warnings.warn(InputWarning(
            f"{where}: no journey is open at the as-of time ({log.as_of:%Y-%m-%d}"
            "): a cohort of finished cases only leaves out the slow deals still in progress, "
            "so the fitted durations come out too short and the outcome shares lean to the "
            "quick ones; export the open cases too"), stacklevel=3)


def _warn_if_narrow(log: EventLog) -> None:
    """A fit that rests on one case, or on one kind of event, is valid but says little: say so."""
    ev = log.events
    if log.n_cases == 1:
        warnings.warn(InputWarning(
            f"{one_line(log.file_name)}: the log has one case ({shown(ev['case_id'].iloc[0])}), so "
            "every rate, duration and route fitted rests on it alone; fit a log of many cases "
            "before trusting the scenario"), stacklevel=3)
    activities = ev["activity"].unique()
    if len(activities) == 1:
        warnings.warn(InputWarning(
            f"{one_line(log.file_name)}: every event is {shown(activities[0])}, so no case moves "
            "on from it: the routes and durations after it are placeholders"), stacklevel=3)


