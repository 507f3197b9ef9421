"""Stages fitted from a log's visits: durations (one per outcome when outcomes leave at clearly
different speeds), routes as Aalen-Johansen shares of competing outcomes, and nurture.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp

from revsim.calibrate.competing import CompetingOutcomes, competing_outcomes
from revsim.calibrate.evidence import MIN_FIT, fit_comment, hours_text, try_fit
from revsim.calibrate.fitting import DurationFit
from revsim.calibrate.journeys import Journeys


def _target(exit_value: str, stage_keys: dict[str, str]) -> str:
    return stage_keys.get(exit_value, exit_value)


def fit_stages(j: Journeys, stage_keys: dict[str, str], comments: dict[str, str],
               fits: dict[str, DurationFit], notes: list[str], step: Callable[[str], None],
               listed: tuple[str, ...] = ()) -> tuple[dict[str, Any], pd.DataFrame]:
    """The stages, those ``listed`` (the mapping's [order]) first in that order, the others by
    their median entry time."""
    out: dict[str, Any] = {}
    rows = []
    by_time = j.visits.groupby("stage")["entered"].median().sort_values().index.tolist()
    first = [s for s in listed if s in by_time]
    order = first + [s for s in by_time if s not in first]
    for stage in order:
        g = j.visits[j.visits["stage"] == stage]
        key = stage_keys[stage]
        step(f"stage {key}")
        done = g[~g["censored"]]
        spec: dict[str, Any] = {}
        activity = _activity_for(stage)
        if activity != f"stage:{key}":
            spec["event"] = activity
        instant = len(done) == len(g) > 0 and bool((g["hours"] == 0).all())
        fit = (try_fit(g["hours"].to_numpy(float), (~g["censored"]).to_numpy(), key, notes)
               if len(done) >= MIN_FIT and not instant else None)
        if instant:
            spec["delay"] = "0 h"
            comments[f"stages.{key}.delay"] = (f"all {len(g)} visits left this stage the moment "
                                               "they entered it")
        elif fit is not None:
            fits[f"stages.{key}.delay"] = fit
            spec["delay"] = fit.spec
            comments[f"stages.{key}.delay"] = fit_comment(fit)
        else:
            median = float(g["hours"].median()) if len(g) else 24.0
            spec["delay"] = hours_text(max(median, 1e-3))
            why = (f"only {len(done)} completed visits" if len(done) < MIN_FIT
                   else "the durations cannot be fitted (see the notes)")
            comments[f"stages.{key}.delay"] = f"{why}: a fixed median, not a fitted distribution"
            if len(done) < MIN_FIT:
                notes.append(f"stage {key}: too few completed visits to fit a duration")
        if done.empty:
            spec["routes"] = {"lost": 1.0}
            comments[f"stages.{key}.routes"] = "no visit has left this stage yet: assumed lost"
            notes.append(f"stage {key}: every visit is still open; its routes are a placeholder")
            out[key] = spec
            continue
        co = stage_outcomes(g, stage_keys)
        by_route = _durations_by_outcome(done, co, stage_keys, key, comments, fits)
        if by_route:
            spec["delay_by_route"] = by_route
        spec["routes"] = route_spec(co)
        n = int(co.completed.sum())
        parts = []
        for i, t in enumerate(co.outcomes):
            p, lo, hi = float(co.shares[i]), float(co.ci_low[i]), float(co.ci_high[i])
            parts.append(f"{t} {p:.1%} [{lo:.1%}, {hi:.1%}]")
            rows.append((key, t, int(co.completed[i]), n, p, lo, hi, float(co.se[i])))
        open_note = ""
        if co.unresolved > 0.01:
            open_note = (f"; {co.unresolved:.0%} of visits would still be open after the "
                         "longest completed one: assumed to end like the others")
        comments[f"stages.{key}.routes"] = (
            f"n={n} exits ({len(g) - len(done)} still open, counted while observed: "
            f"Aalen-Johansen){open_note}; 95% bootstrap CIs: " + ", ".join(parts))
        out[key] = spec
    table = pd.DataFrame(rows, columns=["stage", "to", "count", "n", "p", "ci_low", "ci_high",
                                        "se"])
    return out, table


def visit_targets(visits: pd.DataFrame, stage_keys: dict[str, str]) -> pd.Series:
    """Where each visit went, as a route target ("" while it is open)."""
    return visits["exit"].map(lambda e: _target(str(e), stage_keys) if pd.notna(e) else "")


def stage_outcomes(visits: pd.DataFrame, stage_keys: dict[str, str]) -> CompetingOutcomes:
    """The competing outcomes of one stage's visits."""
    return competing_outcomes(visits["hours"].to_numpy(float),
                              visit_targets(visits, stage_keys).to_numpy(),
                              visits["censored"].to_numpy())


def route_spec(co: CompetingOutcomes) -> dict[str, float]:
    """The shares as the scenario's routes: rounded to 6 decimals, the biggest absorbing the
    rounding so that they sum to 1."""
    rounded = {t: round(p, 6) for t, p in zip(co.outcomes, co.shares.tolist(), strict=True)}
    biggest = max(rounded, key=rounded.get)  # type: ignore[arg-type]
    rounded[biggest] = round(rounded[biggest] + 1 - sum(rounded.values()), 6)
    return rounded


def outcome_durations(co: CompetingOutcomes, target: str, completed: int) -> np.ndarray:
    """The durations a route's own delay is fitted to: ``completed`` quantiles of its
    censoring-corrected (Aalen-Johansen) distribution."""
    return np.maximum(co.conditional_quantiles(target, completed), 0.0)


MIN_BY_OUTCOME = 30  # completed visits per outcome before it gets its own duration


def _durations_by_outcome(done: pd.DataFrame, co: CompetingOutcomes, stage_keys: dict[str, str],
                          key: str, comments: dict[str, str], fits: dict[str, DurationFit]
                          ) -> dict[str, Any]:
    """Outcome-specific durations when outcomes are competing with clearly different timing.

    Won and lost deals leave a stage at different speeds; one pooled duration with an
    independent route would mix them. When at least two outcomes have MIN_BY_OUTCOME completed
    visits and a two-sample KS test separates their durations (p < 0.01), each such outcome
    gets its own fitted distribution: the duration given the outcome (the route is drawn first
    in the simulation). It is fitted to the Aalen-Johansen conditional distribution, not to the
    completed visits alone, which would miss the slow ones still open at as-of.
    """
    groups = {_target(str(e), stage_keys): g["hours"].to_numpy(float)
              for e, g in done.groupby("exit") if len(g) >= MIN_BY_OUTCOME}
    if len(groups) < 2:
        return {}
    names = sorted(groups, key=lambda t: -len(groups[t]))
    distinct = any(ks_2samp(groups[a], groups[b]).pvalue < 0.01
                   for i, a in enumerate(names) for b in names[i + 1:])
    if not distinct:
        return {}
    out: dict[str, Any] = {}
    medians = {}
    by_route: dict[str, DurationFit] = {}
    for target in names:
        values = outcome_durations(co, target, len(groups[target]))
        medians[target] = float(np.median(values))
        fit = try_fit(values, np.ones(len(values), bool), f"{key}->{target}", [])
        if fit is None:
            return {}  # one pooled duration, as for outcomes that leave alike
        by_route[target] = fit
    for target, fit in by_route.items():
        fits[f"stages.{key}.delay_by_route.{target}"] = fit
        out[target] = fit.spec
    comments[f"stages.{key}.delay_by_route"] = (
        "outcomes leave at different speeds (two-sample KS p < 0.01), so each common outcome "
        "has its own duration, fitted to its censoring-corrected distribution "
        "(Aalen-Johansen): " + "; ".join(f"{t}: n={len(groups[t])} completed, median "
                                          f"{hours_text(medians[t])}" for t in names))
    return out


def _activity_for(stage: str) -> str:
    for activity, name in {"mql": "mql", "sql": "sql", "opportunity_created": "opportunity",
                           "onboarding_started": "onboarding"}.items():
        if stage == name:
            return activity
    return f"stage:{stage}"


def fit_nurture(j: Journeys, stage_keys: dict[str, str], comments: dict[str, str],
                fits: dict[str, DurationFit], notes: list[str]) -> dict[str, Any] | None:
    rec = j.nurture
    if rec.empty:
        return None
    back = rec.loc[~rec["censored"], "back_to"].dropna()
    to = stage_keys[back.mode().iloc[0]] if not back.empty else next(iter(stage_keys.values()))
    spec: dict[str, Any] = {"to": to}
    done = rec[~rec["censored"]]
    fit = (try_fit(rec["hours"].to_numpy(float), (~rec["censored"]).to_numpy(), "nurture",
                   notes) if len(done) >= MIN_FIT else None)
    if fit is not None:
        fits["nurture.after"] = fit
        spec["after"] = fit.spec
        comments["nurture.after"] = fit_comment(fit)
    else:
        spec["after"] = hours_text(float(rec["hours"].median()))
    cycles = rec.groupby("journey").size()
    spec["max_cycles"] = int(cycles.max())
    comments["nurture.max_cycles"] = (f"{len(cycles)} journeys recycled; most cycles seen: "
                                      f"{int(cycles.max())}")
    return spec
