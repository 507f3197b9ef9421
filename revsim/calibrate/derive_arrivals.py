"""Arrival sources and segments fitted from a log's journeys: weekly Poisson rates with their
dispersion, hour/weekday/month profiles, segment shares and deal values.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd

from revsim.calibrate.evidence import scenario_key, scenario_keys
from revsim.calibrate.journeys import Journeys
from revsim.calibrate.rates import RateFit, fit_rate

HOURS_PER_WEEK = 168.0


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


def rate_text(rate: RateFit) -> str:
    """A fitted rate as the scenario writes it (per week)."""
    return f"{rate.rate_per_hour * HOURS_PER_WEEK:.6g}/w"


def _segment_keys(journeys: pd.DataFrame) -> pd.Series:
    """Each journey's segment key ("all" when the log has no segments or this one is blank)."""
    seg = journeys["segment"]
    return seg.fillna("all").map(lambda v: scenario_key(str(v))) if seg.notna().any() else \
        pd.Series("all", index=journeys.index)


def fit_segments(j: Journeys, excluded: dict[str, int] | None = None
                 ) -> tuple[dict[str, Any], dict[str, str]]:
    """A value distribution for every segment the sources will send leads from: its own won
    deals' amounts, or all won deals' when it has fewer than two (e.g. no deal won yet).

    Won deals whose amount is 0 or negative (a credit, a placeholder), or missing while others
    have one, are left out of the values and counted in ``excluded``."""
    won = j.journeys["outcome"] == "won"
    amount = j.journeys["amount"]
    has_amount = won & amount.notna() & (amount > 0)
    if excluded is not None:
        not_positive = int((won & amount.notna() & (amount <= 0)).sum())
        if not_positive:
            excluded["won deals with an amount of 0 or less (left out of the deal values)"] = \
                not_positive
        missing = int((won & amount.isna()).sum())
        if missing and has_amount.any():
            excluded["won deals without an amount (left out of the deal values)"] = missing
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


class ArrivalGroup(NamedTuple):
    """The journeys of one source that enter at one stage (one scenario source)."""

    key: str  # the scenario's source key
    source: str  # the source in the log
    entry: str  # the stage entered
    journeys: pd.DataFrame
    entries: int  # entry stages of this source in the log
    source_total: int  # journeys of this source in the log, over all its entry stages


def arrival_groups(j: Journeys, stage_keys: dict[str, str],
                   excluded: dict[str, int] | None = None) -> Iterator[ArrivalGroup]:
    """Each source's journeys by the stage they enter: a journey arrives when it enters its
    first stage; journeys that never enter one (a lead created, then disqualified) are not
    arrivals, and are counted in ``excluded``.

    A source whose journeys start at different stages (leads at mql, opportunities created
    directly) becomes one source per entry stage, so that every entry stays reachable.
    """
    first = j.visits.sort_values("entered").groupby("journey", sort=False).first()
    jj = j.journeys.set_index("journey")
    jj["entry"] = first["stage"]
    stageless = int(jj["entry"].isna().sum())
    if stageless and excluded is not None:
        excluded["journeys without a stage event, e.g. a lead created then disqualified before "
                 "mql (not in the arrivals or routes)"] = stageless
    jj = jj[jj["entry"].notna()]
    source_col = jj["source"].fillna("leads") if jj["source"].notna().any() \
        else pd.Series("leads", index=jj.index)
    entries_of = {str(k): int(v) for k, v in jj.groupby(source_col)["entry"].nunique().items()}
    totals = {str(k): int(v) for k, v in source_col.value_counts().items()}
    source_keys = scenario_keys(entries_of)
    for (source, entry_stage), g in jj.groupby([source_col, jj["entry"]]):
        src = str(source)
        key = source_keys[src]
        if entries_of[src] > 1:
            key = f"{key}_to_{stage_keys[str(entry_stage)]}"
        yield ArrivalGroup(key, src, str(entry_stage), g, entries_of[src], totals[src])


def weekly_counts(created: pd.Series, start: pd.Timestamp, period_h: float
                  ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Arrivals per week from ``start`` over ``period_h`` hours, and each week's length (the
    last week is usually partial: each period keeps its own length, its exposure)."""
    weeks = ((created - start).dt.total_seconds() // (HOURS_PER_WEEK * 3600)).astype(int)
    n_weeks = max(int(math.ceil(period_h / HOURS_PER_WEEK)), 1)
    counts = np.bincount(weeks.clip(0, n_weeks - 1), minlength=n_weeks)
    lengths = np.full(n_weeks, HOURS_PER_WEEK)
    lengths[-1] = period_h - HOURS_PER_WEEK * (n_weeks - 1)
    return counts, lengths


def fit_sources(j: Journeys, stage_keys: dict[str, str], period_h: float, start: pd.Timestamp,
                comments: dict[str, str], with_segments: bool, notes: list[str],
                excluded: dict[str, int] | None = None) -> tuple[dict[str, Any], pd.DataFrame]:
    """One arrival source per source (and entry stage); see :func:`arrival_groups`."""
    out: dict[str, Any] = {}
    rows = []
    for group in arrival_groups(j, stage_keys, excluded):
        key, g = group.key, group.journeys
        created = g["created"]
        rate = fit_rate(*weekly_counts(created, start, period_h))
        per_week = rate.rate_per_hour * HOURS_PER_WEEK
        spec: dict[str, Any] = {"rate": rate_text(rate), "to": stage_keys[group.entry]}
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
        if group.entries > 1:
            comments[f"sources.{key}.to"] = (
                f"the journeys of source {group.source!r} that start at this stage ({len(g)} "
                f"of {group.source_total})")
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
