"""Backtest: simulate a (fitted) scenario over a log's period and compare KPIs with the log.

An observed KPI is one realisation, so it is judged against the spread of single replications
(a 95% prediction interval: the 2.5-97.5% quantiles of the replication values), not only
against the confidence interval of the simulated mean, which shrinks as replications grow and
would flag a perfect model. Both are reported.
"""

from __future__ import annotations

import math
from typing import Any, Protocol, cast

import numpy as np
import pandas as pd

from revsim.analysis.ci import cut_to_bounds, t_interval
from revsim.calibrate.evidence import scenario_key
from revsim.calibrate.fit_log import BROKEN_FIT, FitInputError, read_log
from revsim.calibrate.journeys import build_journeys, invoice_outcomes, stage_name
from revsim.calibrate.log import EventLog
from revsim.calibrate.text_input import unexpected
from revsim.errors import Problem
from revsim.experiment import (
    RunOptions,
    Runs,
    check_seed,
    check_window,
    open_executor,
    run_points,
)
from revsim.kpi_registry import format_value
from revsim.scenario.model import Model


class HasModel(Protocol):
    """Anything that carries a compiled engine model (a revsim Scenario does)."""

    model: Model

COLUMNS = ["kpi", "unit", "observed", "sim_mean", "ci_low", "ci_high", "pi_low", "pi_high", "n",
           "inside", "note"]


def observed_kpis(log: EventLog, window_start: pd.Timestamp) -> dict[str, tuple[float, str]]:
    """KPIs of the log over [window_start, as-of], defined as the simulation defines them."""
    j = build_journeys(log.events, log.as_of)
    v = j.visits
    out: dict[str, tuple[float, str]] = {}
    left = v[~v["censored"]].copy()
    left["left_at"] = left["entered"] + pd.to_timedelta(left["hours"], unit="h")
    in_window = left[left["left_at"] >= window_start]
    for stage, g in in_window.groupby("stage"):
        onward = g["exit"].isin(["won", "live"]) | g["exit"].isin(v["stage"].unique())
        out[f"conversion:{stage}"] = (float(onward.mean()), "share")
    jj = j.journeys
    closed = jj[(jj["outcome_time"] >= window_start) & jj["outcome"].isin(["won", "lost"])]
    if len(closed):
        out["win_rate"] = (float((closed["outcome"] == "won").mean()), "share")
    won = jj[jj["won_time"] >= window_start]
    if len(won):
        days = (won["won_time"] - won["created"]).dt.total_seconds() / 86400
        out["cycle_time_median"] = (float(days.median()), "d")
        out["cycle_time_p90"] = (float(days.quantile(0.9)), "d")
    out.update(_cash_observed(log, window_start))
    return out


def _cash_observed(log: EventLog, window_start: pd.Timestamp) -> dict[str, tuple[float, str]]:
    ev = log.events
    issued = invoice_outcomes(ev)
    if issued.empty:
        return {}
    as_of = log.as_of
    in_window = issued[issued["issued"] >= window_start]
    out: dict[str, tuple[float, str]] = {}
    invoiced = float(in_window["amount"].sum())
    open_at_end = issued[(issued["issued"] <= as_of) & ~(issued["paid"] <= as_of)
                         & ~(issued["written_off"] <= as_of)]
    ar = float(open_at_end["amount"].sum())
    days = (as_of - window_start).total_seconds() / 86400
    if invoiced > 0:
        out["dso"] = (ar / invoiced * days, "d")
    won = ev[ev["activity"] == "closed_won"].groupby("case_id")["timestamp"].first()
    first_paid = issued.dropna(subset=["paid"]).sort_values("issued").groupby("parent")["paid"].first()
    ttc = (first_paid - won.reindex(first_paid.index)).dropna()
    ttc = ttc[first_paid.loc[ttc.index] >= window_start]
    if len(ttc):
        out["time_to_cash_median"] = (float(ttc.dt.total_seconds().median() / 86400), "d")
    return out


def simulated_values(tidy: pd.DataFrame, stages: list[str]) -> dict[str, np.ndarray]:
    """Per-replication values of the same KPIs from a run's tidy table (replication, metric,
    scope, name, unit, value)."""
    names = tidy["name"].fillna("").astype(str)

    def values(metric: str, scope: str = "total", name: str = "") -> np.ndarray:
        sel = tidy[(tidy.metric == metric) & (tidy.scope == scope) & (names == name)]
        return sel.sort_values("replication")["value"].to_numpy()

    vals: dict[str, np.ndarray] = {}
    for stage in stages:
        vals[f"conversion:{stage}"] = values("conversion", "stage", stage)
    won, lost = values("won"), values("lost")
    with np.errstate(invalid="ignore", divide="ignore"):
        vals["win_rate"] = np.where(won + lost > 0, won / (won + lost), np.nan)
    vals["cycle_time_median"] = values("cycle_time_median")
    vals["cycle_time_p90"] = values("cycle_time_p90")
    if (tidy.scope == "cash").any():
        vals["dso"] = values("dso", "cash")
        vals["time_to_cash_median"] = values("time_to_cash_median", "cash")
    return vals


def backtest(scenario: Model | HasModel, log: EventLog | str | Any, *, replications: int = 20,
             seed: int = 1, jobs: int | None = None, scheduler: str | None = None,
             dask_local: int | None = None, progress: bool | None = None,
             format: str = "canonical", mapping: Any = None, as_of: Any = None,
             dask_dashboard: bool = False, encoding: str | None = None,
             date_format: str | None = None) -> pd.DataFrame:
    """Simulate over the log's period and compare each KPI with the log (tidy table).

    ``scenario`` is an engine Model (``FittedScenario.model()``) or anything with its
    ``model`` (a revsim Scenario); ``log`` an EventLog, or a path/DataFrame read with
    ``format``/``mapping``/``as_of``/``encoding``/``date_format``. ``jobs``, ``scheduler``, ``dask_local``
    and ``dask_dashboard`` choose where the replications run (see
    :func:`revsim.experiment.open_executor`).
    """
    if not isinstance(log, EventLog):
        log = read_log(log, mapping=mapping, as_of=as_of, format=format, encoding=encoding,
                       date_format=date_format)
    model = scenario if isinstance(scenario, Model) else scenario.model
    start = pd.Timestamp(model.start, tz="UTC")
    horizon_h = (log.as_of - start).total_seconds() / 3600
    if horizon_h <= 0:
        raise FitInputError([Problem(
            "scenario.start", f"the scenario starts ({model.start}) after the log's "
            f"as-of time ({log.as_of:%Y-%m-%d %H:%M %Z}), so there is nothing to compare; "
            "backtest a scenario fitted to this log (revsim fit) or set its start earlier")],
            log.source)
    warmup_h = min(model.warmup, horizon_h / 2)
    seed = check_seed(seed)
    check_window(model, horizon_h, warmup_h, replications)
    window_start = start + pd.Timedelta(hours=warmup_h)
    try:  # before the replications: a log that breaks it costs no simulation
        observed = observed_kpis(log, window_start)
    except BROKEN_FIT as err:
        raise unexpected(err, log.source, "reading the observed KPIs") from err
    with open_executor(jobs, scheduler=scheduler, dask_local=dask_local,
                       dask_dashboard=dask_dashboard, tasks=replications) as executor:
        runs = run_points({"scenario": model}, replications, seed,
                          options=RunOptions(horizon=horizon_h, warmup=warmup_h,
                                             artefacts=False),
                          executor=executor, progress=progress, label="replications")
    sim = simulated_values(_tidy(runs), [s.name for s in model.stages])
    # a stage's visits are named in the log by the event that opens them (`mql` opens the
    # scenario's `qualify`): the observed conversion of `mql` is the simulated one of `qualify`
    by_event = {stage_name(event): st.name
                for st, event in zip(model.stages, model.stage_events, strict=False)
                if stage_name(event) is not None}
    rows = []
    for kpi, (obs, unit) in observed.items():
        stage_key = kpi.split(":", 1)[1] if kpi.startswith("conversion:") else None
        values = sim.get(kpi)
        if values is None and stage_key is not None:
            values = sim.get(f"conversion:{by_event.get(stage_key, scenario_key(stage_key))}")
        if values is None:
            rows.append((kpi, unit, obs, *([math.nan] * 5), 0, None, "not simulated"))
            continue
        x = np.asarray(values, dtype=float)
        x = x[~np.isnan(x)]
        mean, lo, hi, n = t_interval(x)
        if n > 1:
            lo, hi = cut_to_bounds(lo, hi, unit)
        pi_lo, pi_hi = (float(np.quantile(x, 0.025)), float(np.quantile(x, 0.975))) if n else \
            (math.nan, math.nan)
        inside = bool(pi_lo <= obs <= pi_hi) if n else None
        note = "" if inside else "outside the range the model produces"
        rows.append((kpi, unit, obs, mean, lo, hi, pi_lo, pi_hi, n, inside, note))
    return pd.DataFrame(rows, columns=COLUMNS)


def _tidy(runs: Runs) -> pd.DataFrame:
    return cast(pd.DataFrame, runs.tidy("scenario"))


ROUGH_BELOW = 20  # replications: below this the 2.5-97.5% range of single runs is rough


def format_backtest(table: pd.DataFrame) -> str:
    lines = ["Backtest: observed (log) vs simulated (mean [95% CI of the mean], 95% range of "
             "single replications)", ""]
    for r in cast(Any, table).itertuples():
        unit = str(r.unit)
        flag = "" if r.inside else "   <-- outside"
        lines.append(
            f"  {r.kpi:<34} observed {format_value(r.observed, unit):>10}   simulated "
            f"{format_value(r.sim_mean, unit):>10} [{format_value(r.ci_low, unit)}, "
            f"{format_value(r.ci_high, unit)}]  range [{format_value(r.pi_low, unit)}, "
            f"{format_value(r.pi_high, unit)}] n={r.n}{flag}"
        )
    outside = int((table["inside"] == False).sum())  # noqa: E712 - None means not simulated
    lines += ["", f"{outside} of {int(table['inside'].notna().sum())} KPIs outside the range."]
    n = int(table["n"].max()) if len(table) else 0
    if 0 < n < ROUGH_BELOW:
        lines.append(f"With {n} replications the 95% range of single replications is little "
                     f"more than their min-max; use -n {ROUGH_BELOW} or more before reading much "
                     "into a KPI outside it.")
    return "\n".join(lines)
