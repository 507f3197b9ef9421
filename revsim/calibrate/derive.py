"""Derive a runnable scenario from an event log: arrivals, routes, stage durations, payments.

Every fitted number keeps its evidence (n, censored n, CIs, fit statistics) in ``comments``,
keyed by the dotted path of the scenario field it annotates.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from revsim.calibrate.competing import CompetingOutcomes, competing_outcomes
from revsim.calibrate.fitting import DurationFit, fit_duration, fit_proportion, fit_rate
from revsim.calibrate.journeys import Journeys, build_journeys, invoice_journeys
from revsim.calibrate.log import EventLog, LogError
from revsim.errors import Problem
from revsim.scenario.schema import TERMINALS

MIN_FIT = 5  # fewer uncensored observations than this: a fixed median instead of a fit
ONWARD_OUTCOMES = {"won", "live"}
HOURS_PER_WEEK = 168.0


@dataclass
class FittedScenario:
    """A scenario derived from a log, with the evidence behind every number."""

    raw: dict[str, Any]
    comments: dict[str, str]
    fits: dict[str, DurationFit]
    transitions: pd.DataFrame
    arrivals: pd.DataFrame
    notes: list[str]
    log: EventLog
    journeys: Journeys
    header: list[str] = field(default_factory=list)

    def to_toml(self) -> str:
        """The scenario as TOML, every fitted number annotated."""
        from revsim.calibrate.write import scenario_toml

        return scenario_toml(self)

    def scenario(self) -> Any:
        """The fitted scenario, validated, as a :class:`revsim.Scenario`."""
        import revsim

        return revsim.loads(self.to_toml(), source=f"fitted from {self.log.source}")

    def write(self, path: str | Path) -> Path:
        """Write the annotated scenario TOML (atomically)."""
        from revsim.io import write_text

        return write_text(Path(path), self.to_toml())

    def write_report(self, folder: str | Path, *, plots: bool = True) -> list[Path]:
        """Fit table, routes, arrivals, KM/QQ plots and a summary.md in ``folder``."""
        from revsim.calibrate.write import write_report

        return write_report(self, folder, plots=plots)


def _key(name: str) -> str:
    """A safe stage name: lower case, words joined by underscores, never an outcome name."""
    key = re.sub(r"[^0-9a-zA-Z_]+", "_", str(name)).strip("_").lower() or "stage"
    return f"{key}_stage" if key in TERMINALS or key == "nurture" else key


def _hours_text(hours: float) -> str:
    if hours >= 48:
        return f"{hours / 24:.3g} d"
    if hours >= 1:
        return f"{hours:.3g} h"
    return f"{max(hours * 60, 0.01):.3g} min"


def _profile(times: pd.Series, kind: str) -> list[float] | None:
    """Relative weights by hour (24), weekday (7) or month (12), normalised to mean 1."""
    if times.empty:
        return None
    size = {"hour": 24, "weekday": 7, "month": 12}[kind]
    values = {"hour": times.dt.hour, "weekday": times.dt.weekday,
              "month": times.dt.month - 1}[kind]
    counts = np.bincount(values.to_numpy(), minlength=size).astype(float)
    if kind == "month":
        # exposure: how many days of each month the log covers
        days = pd.date_range(times.min().floor("D"), times.max().floor("D"), freq="D")
        exposure = np.bincount(days.month - 1, minlength=12).astype(float)
        counts = np.divide(counts, exposure, out=np.zeros(12), where=exposure > 0)
    if counts.sum() <= 0:
        return None
    weights = counts / counts.mean()
    return [round(float(w), 3) for w in weights]


def _quiet(step: str) -> None:
    pass


def fit_log(log: EventLog, *, name: str | None = None, warmup_share: float = 0.2,
            step: Callable[[str], None] = _quiet) -> FittedScenario:
    """Fit a scenario to ``log``; open cases are right-censored at the log's as-of time.

    ``step(label)`` is called as each part of the fit starts (for a progress display).
    """
    step("journeys")
    j = build_journeys(log.events, log.as_of)
    # Warm-up: the simulation starts empty, so it must run at least as long as a typical
    # journey takes (p99 of the completed ones) before its statistics match the log's.
    cycle_h = ((j.journeys["outcome_time"] - j.journeys["created"]).dt.total_seconds()
               / 3600).dropna()
    typical_h = float(cycle_h.quantile(0.99)) if len(cycle_h) else 0.0
    comments: dict[str, str] = {}
    notes: list[str] = []
    fits: dict[str, DurationFit] = {}
    start = log.start.floor("D")
    period_h = (log.as_of - start).total_seconds() / 3600.0
    comments["scenario.warmup"] = (
        f"the longer of {warmup_share:.0%} of the period and the p99 of completed journeys "
        f"({_hours_text(typical_h)}), at most half the period: the simulation starts empty")
    raw: dict[str, Any] = {
        "scenario": {
            "name": name or f"Fitted from {log.source}",
            "description": f"Calibrated by revsim fit from {log.source} (as of {log.as_of}).",
            "start": start.date(),
            "horizon": _hours_text(period_h),
            "warmup": _hours_text(min(max(period_h * warmup_share, typical_h),
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
    stage_keys = {s: _key(s) for s in j.visits["stage"].unique()}
    segments, seg_comments = _segments(j)
    if segments:
        raw["segments"] = segments
        comments.update(seg_comments)
    step("arrivals")
    raw["sources"], src_table = _sources(j, stage_keys, period_h, start, comments,
                                         bool(segments), notes)
    raw["stages"], transitions = _stages(j, stage_keys, comments, fits, notes, step)
    nurture = _nurture(j, stage_keys, comments, fits, notes)
    if nurture:
        raw["nurture"] = nurture
    step("payments")
    cash = _cash(log, j, stage_keys, comments, fits, notes, invoice_only)
    raw.update(cash)
    _staffing(log, j, comments, notes)
    return FittedScenario(raw, comments, fits, transitions, src_table, notes, log, j)


def _segment_keys(journeys: pd.DataFrame) -> pd.Series:
    """Each journey's segment key ("all" when the log has no segments or this one is blank)."""
    seg = journeys["segment"]
    return seg.fillna("all").map(lambda v: _key(str(v))) if seg.notna().any() else \
        pd.Series("all", index=journeys.index)


def _segments(j: Journeys) -> tuple[dict[str, Any], dict[str, str]]:
    """A value distribution for every segment the sources will send leads from: its own won
    deals' amounts, or all won deals' when it has fewer than two (e.g. no deal won yet)."""
    won = j.journeys["outcome"] == "won"
    amount = j.journeys["amount"]
    has_amount = won & amount.notna() & (amount > 0)
    if not has_amount.any():
        return {}, {}
    keys = _segment_keys(j.journeys)
    pooled = amount[has_amount].to_numpy(float)
    out: dict[str, Any] = {}
    comments: dict[str, str] = {}
    for key in sorted(keys.unique()):
        vals = amount[has_amount & (keys == key)].to_numpy(float)
        evidence = f"won deal amounts: n={len(vals)}"
        if len(vals) < 2:
            evidence = (f"only {len(vals)} won deal(s) with an amount in this segment, so the "
                        f"amounts of all won deals: n={len(pooled)}")
            vals = pooled
        median, p90 = float(np.median(vals)), float(np.quantile(vals, 0.9))
        if p90 <= median * 1.0001:
            out[key] = {"value": round(median, 2)}
        else:
            out[key] = {"value": {"dist": "lognormal", "median": round(median, 2),
                                  "p90": round(p90, 2)}}
        comments[f"segments.{key}.value"] = f"{evidence}, median {median:,.0f}, p90 {p90:,.0f}"
    return out, comments


def _sources(j: Journeys, stage_keys: dict[str, str], period_h: float, start: pd.Timestamp,
             comments: dict[str, str], with_segments: bool, notes: list[str]
             ) -> tuple[dict[str, Any], pd.DataFrame]:
    first = j.visits.sort_values("entered").groupby("journey", sort=False).first()
    jj = j.journeys.set_index("journey")
    jj["entry"] = first["stage"]
    jj = jj[jj["entry"].notna()]
    source_col = jj["source"].fillna("leads") if jj["source"].notna().any() \
        else pd.Series("leads", index=jj.index)
    out: dict[str, Any] = {}
    rows = []
    # A source whose journeys start at different stages (leads at mql, opportunities created
    # directly) becomes one source per entry stage, so that every entry stays reachable.
    entries_of = {str(k): int(v) for k, v in jj.groupby(source_col)["entry"].nunique().items()}
    for (source, entry_stage), g in jj.groupby([source_col, jj["entry"]]):
        src = str(source)
        key = _key(src)
        if entries_of[src] > 1:
            key = f"{key}_to_{stage_keys[str(entry_stage)]}"
        created = g["created"]
        weeks = ((created - start).dt.total_seconds() // (HOURS_PER_WEEK * 3600)).astype(int)
        n_weeks = max(int(math.ceil(period_h / HOURS_PER_WEEK)), 1)
        counts = np.bincount(weeks.clip(0, n_weeks - 1), minlength=n_weeks)
        # the last week is usually partial: give each period its own length (exposure)
        lengths = np.full(n_weeks, HOURS_PER_WEEK)
        lengths[-1] = period_h - HOURS_PER_WEEK * (n_weeks - 1)
        rate = fit_rate(counts, lengths)
        per_week = rate.rate_per_hour * HOURS_PER_WEEK
        spec: dict[str, Any] = {"rate": f"{per_week:.6g}/w", "to": stage_keys[str(entry_stage)]}
        date_only = bool((created.dt.hour == 0).all() and (created.dt.minute == 0).all())
        if date_only:
            notes.append(f"source {key}: the log has dates without times, so no hour-of-day "
                         "profile is fitted (arrivals spread over the whole day)")
        for kind in (("weekday",) if date_only else ("hour", "weekday")):
            prof = _profile(created, kind)
            if prof is not None:
                spec[f"{kind}_profile"] = prof
                comments[f"sources.{key}.{kind}_profile"] = (
                    f"n={len(created)} arrivals by {kind} (relative weights, mean 1)")
        if period_h >= 330 * 24:
            prof = _profile(created, "month")
            if prof is not None:
                spec["month_profile"] = prof
                comments[f"sources.{key}.month_profile"] = (
                    f"n={len(created)} arrivals by month, per day of the month covered "
                    "(relative weights, mean 1)")
        if with_segments:
            shares = _segment_keys(g).value_counts(normalize=True)
            spec["segments"] = {k: round(float(v), 6) for k, v in shares.items()}
            total = sum(spec["segments"].values())
            biggest = max(spec["segments"], key=spec["segments"].get)
            spec["segments"][biggest] = round(spec["segments"][biggest] + 1 - total, 6)
            comments[f"sources.{key}.segments"] = f"n={len(g)} journeys by segment"
        if entries_of[src] > 1:
            comments[f"sources.{key}.to"] = (
                f"the journeys of source {src!r} that start at this stage ({len(g)} of "
                f"{int((source_col == src).sum())})")
        lo, hi = rate.ci
        verdict = ("overdispersed: counts vary more than Poisson; consider bursts or a "
                   "seasonal profile" if rate.overdispersion_p < 0.01 else "consistent with Poisson")
        comments[f"sources.{key}.rate"] = (
            f"n={len(g)} journeys over {period_h / HOURS_PER_WEEK:.1f} w; 95% CI "
            f"{lo * HOURS_PER_WEEK:.4g}-{hi * HOURS_PER_WEEK:.4g}/w; weekly dispersion index "
            f"{rate.dispersion_index:.2f} (p={rate.overdispersion_p:.3g}: {verdict})")
        out[key] = spec
        rows.append((key, len(g), per_week, lo * HOURS_PER_WEEK, hi * HOURS_PER_WEEK,
                     rate.dispersion_index, rate.overdispersion_p))
    table = pd.DataFrame(rows, columns=["source", "n", "rate_per_week", "ci_low", "ci_high",
                                        "dispersion_index", "overdispersion_p"])
    return out, table


def _target(exit_value: str, stage_keys: dict[str, str]) -> str:
    return stage_keys.get(exit_value, exit_value)


def _stages(j: Journeys, stage_keys: dict[str, str], comments: dict[str, str],
            fits: dict[str, DurationFit], notes: list[str], step: Callable[[str], None] = _quiet
            ) -> tuple[dict[str, Any], pd.DataFrame]:
    out: dict[str, Any] = {}
    rows = []
    order = (j.visits.groupby("stage")["entered"].median().sort_values().index.tolist())
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
        fit = (_try_fit(g["hours"].to_numpy(float), (~g["censored"]).to_numpy(), key, notes)
               if len(done) >= MIN_FIT and not instant else None)
        if instant:
            spec["delay"] = "0 h"
            comments[f"stages.{key}.delay"] = (f"all {len(g)} visits left this stage the moment "
                                               "they entered it")
        elif fit is not None:
            fits[f"stages.{key}.delay"] = fit
            spec["delay"] = fit.spec
            comments[f"stages.{key}.delay"] = _fit_comment(fit)
        else:
            median = float(g["hours"].median()) if len(g) else 24.0
            spec["delay"] = _hours_text(max(median, 1e-3))
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
        targets = g["exit"].map(lambda e: _target(str(e), stage_keys) if pd.notna(e) else "")
        co = competing_outcomes(g["hours"].to_numpy(float), targets.to_numpy(),
                                g["censored"].to_numpy())
        by_route = _durations_by_outcome(done, co, stage_keys, key, comments, fits)
        if by_route:
            spec["delay_by_route"] = by_route
        probs = dict(zip(co.outcomes, co.shares.tolist(), strict=True))
        rounded = {t: round(p, 6) for t, p in probs.items()}
        biggest = max(rounded, key=rounded.get)  # type: ignore[arg-type]
        rounded[biggest] = round(rounded[biggest] + 1 - sum(rounded.values()), 6)
        spec["routes"] = rounded
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
    from scipy.stats import ks_2samp

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
        values = np.maximum(co.conditional_quantiles(target, len(groups[target])), 0.0)
        medians[target] = float(np.median(values))
        fit = _try_fit(values, np.ones(len(values), bool), f"{key}->{target}", [])
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
                                          f"{_hours_text(medians[t])}" for t in names))
    return out


def _activity_for(stage: str) -> str:
    for activity, name in {"mql": "mql", "sql": "sql", "opportunity_created": "opportunity",
                           "onboarding_started": "onboarding"}.items():
        if stage == name:
            return activity
    return f"stage:{stage}"


def _fit_comment(fit: DurationFit) -> str:
    table = fit.table
    n = int(table["n"].iloc[0]) if "n" in table else 0
    n_cens = int(table["n_censored"].iloc[0]) if "n_censored" in table else 0
    best = table.sort_values("aic").iloc[0]
    text = (f"n={n} ({n_cens} censored at as-of); {fit.best} by censored ML, best of "
            f"{len(table)} by AIC ({best['aic']:.1f}); KS {best['ks_stat']:.3f} "
            f"(p={best['ks_p']:.2g}) on the uncensored part")
    if fit.note:
        text += f"; {fit.note}"
    return text


def _try_fit(durations: Any, observed: Any, name: str, notes: list[str]) -> DurationFit | None:
    """``fit_duration``, or None (with a note) when the data cannot be fitted: e.g. every
    duration is 0 because the log has dates only and both events fell on the same day."""
    try:
        return fit_duration(durations, observed, name=name)
    except ValueError as err:
        notes.append(f"{name}: {err}; a fixed median is used instead")
        return None


def _nurture(j: Journeys, stage_keys: dict[str, str], comments: dict[str, str],
             fits: dict[str, DurationFit], notes: list[str]) -> dict[str, Any] | None:
    rec = j.nurture
    if rec.empty:
        return None
    back = rec.loc[~rec["censored"], "back_to"].dropna()
    to = stage_keys[back.mode().iloc[0]] if not back.empty else next(iter(stage_keys.values()))
    spec: dict[str, Any] = {"to": to}
    done = rec[~rec["censored"]]
    fit = (_try_fit(rec["hours"].to_numpy(float), (~rec["censored"]).to_numpy(), "nurture",
                    notes) if len(done) >= MIN_FIT else None)
    if fit is not None:
        fits["nurture.after"] = fit
        spec["after"] = fit.spec
        comments["nurture.after"] = _fit_comment(fit)
    else:
        spec["after"] = _hours_text(float(rec["hours"].median()))
    cycles = rec.groupby("journey").size()
    spec["max_cycles"] = int(cycles.max())
    comments["nurture.max_cycles"] = (f"{len(cycles)} journeys recycled; most cycles seen: "
                                      f"{int(cycles.max())}")
    return spec


def _cash(log: EventLog, j: Journeys, stage_keys: dict[str, str], comments: dict[str, str],
          fits: dict[str, DurationFit], notes: list[str], invoice_only: bool = False
          ) -> dict[str, Any]:
    ev = log.events
    inv = ev[ev["object_type"].isin(["invoice", "payment"])]
    issued = inv[inv["activity"] == "invoice_issued"].groupby("case_id").agg(
        issued=("timestamp", "first"), due=("due_date", "first"), amount=("amount", "first"))
    if issued.empty:
        return {}
    paid = inv[inv["activity"] == "invoice_paid"].groupby("case_id")["timestamp"].first()
    written = inv[inv["activity"] == "invoice_written_off"].groupby("case_id")["timestamp"].first()
    issued["paid"] = paid
    issued["written_off"] = written
    issued = issued[issued["due"].notna()]
    terms_days = ((issued["due"] - issued["issued"]).dt.total_seconds() / 86400).round()
    terms = int(terms_days.median()) if len(terms_days) else 30
    out: dict[str, Any] = {}
    parents = inv.groupby("case_id")["parent_id"].first()
    issued["deal"] = parents.reindex(issued.index)
    jmap = _journey_of_case(log)
    # without a funnel every invoice is its own deal (see invoice_journeys)
    issued["journey"] = (pd.Series(issued.index, index=issued.index) if invoice_only
                         else issued["deal"].map(jmap).fillna(issued["deal"]))
    facts = j.journeys.set_index("journey")
    live = log.events[log.events["activity"] == "go_live"].assign(
        journey=lambda d: d["case_id"].map(jmap).fillna(d["case_id"])
    ).groupby("journey")["timestamp"].first()
    contract, evidence = _billing(issued, facts["won_time"], live, terms)
    deals: dict[str, Any] = {"contract": contract}
    comments["deals.contract.terms"] = (f"median of {len(terms_days)} invoices' due - issue "
                                        f"dates (range {terms_days.min():.0f}-"
                                        f"{terms_days.max():.0f} d)")
    comments["deals.contract.billing"] = evidence
    if facts["segment"].notna().any():
        by_segment = {}
        issued["segment"] = issued["journey"].map(facts["segment"])
        for seg, g in issued.groupby("segment"):
            seg_contract, seg_evidence = _billing(g, facts["won_time"], live,
                                                  int(((g["due"] - g["issued"]).dt.total_seconds()
                                                       / 86400).round().median()))
            diff = {k: v for k, v in seg_contract.items() if contract.get(k) != v}
            if diff:
                by_segment[_key(str(seg))] = diff
                comments[f"deals.by_segment.{_key(str(seg))}"] = seg_evidence
        if by_segment:
            deals["by_segment"] = by_segment
    if "onboarding" in stage_keys.values():
        deals["onboarding"] = "onboarding"
    out["deals"] = deals
    as_of = log.as_of
    due_passed = issued[issued["due"] <= as_of]
    on_time = due_passed["paid"].notna() & (due_passed["paid"] <= due_passed["due"])
    n_due = len(due_passed)
    if n_due == 0:
        notes.append("no invoice is past its due date yet: payment behaviour not fitted")
        return out
    p_on, lo_on, hi_on = fit_proportion(int(on_time.sum()), n_due)
    not_on = due_passed[~on_time]
    # Overdue invoices end paid late or written off (competing outcomes, timed from the due
    # date); those still open at as-of count for as long as they were observed.
    paid_late = not_on["paid"].notna()
    written_off = not_on["written_off"].notna() & ~paid_late
    ended = not_on["paid"].where(paid_late, not_on["written_off"])
    overdue_h = ((ended.fillna(as_of) - not_on["due"]).dt.total_seconds() / 3600).clip(lower=0.0)
    fate = np.where(paid_late, "late", np.where(written_off, "never", ""))
    overdue = (competing_outcomes(overdue_h.to_numpy(float), fate, (fate == "").astype(bool))
               if (fate != "").any() else None)
    never_share = 0.0
    if overdue is not None and "never" in overdue.outcomes:
        never_share = float(overdue.shares[overdue.outcomes.index("never")])
    late_share = (1 - p_on) * (1 - never_share)
    never = (1 - p_on) * never_share
    payment: dict[str, Any] = {"on_time": round(p_on, 6), "late": round(late_share, 6),
                               "never": round(1 - round(p_on, 6) - round(late_share, 6), 6)}
    comments["payment.on_time"] = (f"{int(on_time.sum())} of {n_due} invoices due by as-of "
                                   f"were paid by the due date; 95% CI [{lo_on:.1%}, {hi_on:.1%}]")
    comments["payment.never"] = (
        f"share written off among {len(not_on)} overdue invoices ({never_share:.1%}; "
        f"{int(paid_late.sum())} paid late, {int(written_off.sum())} written off, "
        f"{int((fate == '').sum())} still open and counted while observed: Aalen-Johansen)")
    paid_on = due_passed[on_time]
    if len(paid_on) >= MIN_FIT:
        delay_h = (paid_on["paid"] - paid_on["issued"]).dt.total_seconds().to_numpy() / 3600
        fit = _try_fit(np.maximum(delay_h, 0.0), np.ones(len(delay_h), bool), "on_time_delay",
                       notes)
        if fit is not None:
            fits["payment.on_time_delay"] = fit
            payment["on_time_delay"] = fit.spec
            comments["payment.on_time_delay"] = _fit_comment(fit)
    if late_share > 0 and len(not_on):
        n_late = int(paid_late.sum())
        # lateness given that the invoice is paid late (the model draws the fate first)
        fit = (_try_fit(np.maximum(overdue.conditional_quantiles("late", n_late), 0.0),
                        np.ones(n_late, bool), "lateness", notes)
               if overdue is not None and n_late >= MIN_FIT else None)
        if fit is not None:
            fits["payment.lateness"] = fit
            payment["lateness"] = fit.spec
            comments["payment.lateness"] = _fit_comment(fit) + \
                " (of the censoring-corrected distribution: open overdue invoices count)"
        else:
            payment["lateness"] = "30 d"
            comments["payment.lateness"] = "too few late payments to fit: placeholder 30 d"
            notes.append("payment lateness is a placeholder (too few late payments)")
    if never > 0 and issued["written_off"].notna().any():
        ages = (issued["written_off"] - issued["issued"]).dropna().dt.total_seconds() / 3600
        payment["write_off_after"] = _hours_text(float(ages.median()))
        comments["payment.write_off_after"] = f"median age at write-off of {len(ages)} invoices"
    else:
        payment["write_off_after"] = _hours_text(max(terms * 24 * 4, 180 * 24))
    out["payment"] = payment
    return out


def _journey_of_case(log: EventLog) -> pd.Series:
    """Map opportunity cases to their lead (the journey id used by build_journeys)."""
    ev = log.events
    leads = set(ev.loc[ev["object_type"] == "lead", "case_id"])
    opp = ev[(ev["object_type"] == "opportunity") & ev["parent_id"].isin(leads)]
    return opp.groupby("case_id")["parent_id"].first()


_PERIODS = (("monthly", 30.4), ("quarterly", 91.3), ("annual", 365.25))


def _billing(issued: pd.DataFrame, won: pd.Series, live: pd.Series, terms: int
             ) -> tuple[dict[str, Any], str]:
    """Contract and billing schedule that best explain when the invoices were issued."""
    first = issued.sort_values("issued").groupby("journey")["issued"].first()
    lag_won = (first - won.reindex(first.index)).dt.total_seconds() / 3600
    lag_live = (first - live.reindex(first.index)).dt.total_seconds() / 3600
    at_won = float((lag_won.abs() <= 1).mean()) if lag_won.notna().any() else 0.0
    at_live = float((lag_live.abs() <= 1).mean()) if lag_live.notna().any() else 0.0
    counts = issued.groupby("journey").size()
    gaps = issued.sort_values("issued").groupby("journey")["issued"].diff().dropna()
    gap_days = float(gaps.dt.total_seconds().median() / 86400) if len(gaps) else math.nan
    contract: dict[str, Any] = {"terms": terms}
    start = "go_live" if at_live > at_won else "signature"
    where = f"{max(at_live, at_won):.0%} of first invoices issued at {start.replace('_', '-')}"
    period = next((name for name, days in _PERIODS
                   if not math.isnan(gap_days) and abs(gap_days - days) <= 0.15 * days), None)
    if period is not None and counts.max() > 1:
        contract.update(type="subscription", billing=f"{period}_advance", service_start=start,
                        term="12 mo")
        return contract, (f"{where}; invoices repeat every {gap_days:.0f} d (median gap of "
                          f"{len(gaps)}): a subscription billed {period} in advance; term 12 "
                          "months and renewals are assumptions (not visible in the log)")
    billing = "on_go_live" if start == "go_live" else "upfront"
    contract.update(type="one_off", billing=billing)
    return contract, (f"{where}; {int((counts == 1).sum())} of {len(counts)} deals have one "
                      f"invoice: one-off, billed {billing.replace('_', ' ')}")


def _staffing(log: EventLog, j: Journeys, comments: dict[str, str], notes: list[str]) -> None:
    ev = log.events
    if "resource" not in ev.columns or ev["resource"].isna().all():
        notes.append("no resource column: staff pools and staff time are not fitted; the "
                     "stages are modelled as delays (placeholders to edit)")
        return
    busy = ev[ev["resource"].notna()]
    recent = busy[busy["timestamp"] >= log.as_of - pd.Timedelta(days=90)]
    n_res = recent["resource"].nunique()
    notes.append(f"{busy['resource'].nunique()} distinct resources in the log "
                 f"({n_res} active in the last 90 days); staff time per item needs start/"
                 "complete events, so stages stay delays — add pool and work to model queues")

