"""Is the forecast any good? A rolling-origin backtest over an event log.

At each origin the log is cut there: a scenario is fitted to the events before it only (no
later event can leak in), the state of the business is built at it, and the next periods
are forecast. What the log shows actually happened is then compared, horizon by horizon,
with four forecasts: the simulation from the state, the same simulation from an empty start
(what revsim did before it had states), the weighted pipeline (each open deal's amount times
its stage's win rate in the log so far) and the run rate (the last period before the origin,
repeated). Horizon k is everything from the origin to the end of the k-th period, the figure
a month or quarter is judged on.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from revsim.analysis.forecast_scores import scores
from revsim.api import DEFAULT_SEED, Scenario, load, loads
from revsim.calibrate.actuals import figures_in_log, period_actuals, stage_win_rates
from revsim.calibrate.fit_log import fit, read_log
from revsim.calibrate.log import EventLog
from revsim.errors import InputError, Problem, ProblemsError
from revsim.experiment import Period, RunOptions, check_seed, open_executor, run_points
from revsim.progress import progress_bar
from revsim.results.forecast_backtest import METHODS, ForecastBacktest
from revsim.state.build import build_state
from revsim.state.snapshot import Snapshot
from revsim.version import __version__

_HORIZON = re.compile(r"^\s*(\d+)\s*(w|wk|weeks?|m|mo|months?|q|quarters?)\s*$", re.I)
_BY = {"w": "week", "m": "month", "q": "quarter"}
_EVERY = {"weekly": "week", "monthly": "month", "quarterly": "quarter"}
MAX_ORIGINS = 60
WARM_UP = "warm-up"  # the empty start's first period, left out of every figure
BOOTSTRAP_DRAWS = 100  # per origin, with parameter uncertainty


class BacktestError(InputError):
    """A backtest that cannot run as asked (origins, horizon, history)."""


def parse_horizon(text: str) -> tuple[int, str]:
    """``"3m"`` -> (3, "month"); weeks (``13w``), months and quarters (``2q``)."""
    match = _HORIZON.match(str(text))
    if not match or int(match[1]) < 1:
        raise BacktestError([Problem("--horizon", f"{text!r} is not a horizon; write a number "
                                     "of weeks, months or quarters, e.g. 13w, 3m or 1q")],
                            "backtest")
    return int(match[1]), _BY[match[2][0].lower()]


def _step(when: dt.datetime, by: str, n: int = 1) -> dt.datetime:
    if by == "week":
        return when + dt.timedelta(weeks=n)
    months = when.month - 1 + n * (3 if by == "quarter" else 1)
    return when.replace(year=when.year + months // 12, month=months % 12 + 1)


def _first_start(after: dt.datetime, by: str) -> dt.datetime:
    """The first start of a calendar ``by`` period (Monday, the 1st, a quarter's 1st) at or
    after ``after``."""
    day = dt.datetime(after.year, after.month, after.day)
    if day < after:
        day += dt.timedelta(days=1)
    if by == "week":
        return day + dt.timedelta(days=(7 - day.weekday()) % 7)
    month = dt.datetime(day.year, day.month, 1)
    if month < day:
        month = _step(month, "month")
    while by == "quarter" and (month.month - 1) % 3:
        month = _step(month, "month")
    return month


def origin_dates(origins: str, start: dt.datetime, as_of: dt.datetime, horizon: int, by: str,
                 min_history: dt.timedelta) -> list[dt.datetime]:
    """The origins: every calendar week, month or quarter start (``origins`` weekly, monthly
    or quarterly) with ``min_history`` of log before it and the whole horizon after it, or
    the dates given (comma-separated ISO dates)."""
    where = "--origins"
    if origins.lower() in _EVERY:
        every = _EVERY[origins.lower()]
        out = []
        t = _first_start(start + min_history, every)
        while _step(t, by, horizon) <= as_of and len(out) <= MAX_ORIGINS:
            out.append(t)
            t = _step(t, every)
    else:
        out = []
        for part in origins.split(","):
            try:
                out.append(dt.datetime.fromisoformat(part.strip()).replace(tzinfo=None))
            except ValueError:
                raise BacktestError([Problem(where, f"{part.strip()!r} is neither weekly, "
                                             "monthly, quarterly nor an ISO date; e.g. "
                                             "monthly or 2027-03-01,2027-04-01")],
                                    "backtest") from None
        late = [t for t in out if _step(t, by, horizon) > as_of or t < start + min_history]
        if late:
            raise BacktestError([Problem(where, f"{t:%Y-%m-%d} leaves less than the history "
                                         f"({min_history.days} days) before it or the horizon "
                                         f"after it in the log ({start:%Y-%m-%d} to "
                                         f"{as_of:%Y-%m-%d}); pick an origin inside") for t in late],
                                "backtest")
    if not out:
        raise BacktestError([Problem(where, f"no origin fits: the log ({start:%Y-%m-%d} to "
                                     f"{as_of:%Y-%m-%d}) is shorter than the history "
                                     f"({min_history.days} days) plus the horizon ({horizon} "
                                     f"{by}s); shorten --horizon or --min-history")], "backtest")
    if len(out) > MAX_ORIGINS:
        raise BacktestError([Problem(where, f"more than {MAX_ORIGINS} origins; use a coarser "
                                     "--origins or list the dates")], "backtest")
    return sorted(set(out))


def _before(log: EventLog, origin: pd.Timestamp) -> EventLog:
    """The log as it stood at ``origin``: nothing after it can reach the fit."""
    events = log.events[log.events["timestamp"] <= origin]
    return EventLog(events=events, as_of=origin, skipped={}, source=log.source)


def _cumulative(replications: pd.DataFrame, figure: str, labels: list[str]) -> np.ndarray:
    """replications x periods: the figure summed from the origin to each period's end."""
    sel = replications[replications["metric"] == figure]
    table = sel.pivot(index="replication", columns="name", values="value").reindex(
        columns=labels).fillna(0.0)
    return np.cumsum(table.to_numpy(float), axis=1)


def _weighted_pipeline(snapshot: Snapshot, sc: Scenario, rates: dict[str, float],
                       mean_amount: float) -> dict[str, float]:
    """Expected deals won and bookings from the open items of the sales stages: each one's
    stage win rate (in the log before the origin), times its amount (else the mean won deal's)."""
    sales = {sc.model.stages[i].name for i in sc.model.sales_stages}
    won = bookings = 0.0
    for item in snapshot.items:
        if item.stage not in sales:
            continue  # onboarding and later: already booked
        p = rates.get(item.stage, 0.0)
        amount = item.amount if item.amount is not None and not math.isnan(item.amount) \
            else mean_amount
        won += p
        bookings += p * (amount if not math.isnan(amount) else 0.0)
    return {"won": won, "bookings": bookings}


def _empty_start(sc: Scenario, origin: dt.datetime, until: dt.datetime,
                 periods: Sequence[Period], replications: int, seed: int, jobs: int | None,
                 draws: Any) -> pd.DataFrame:
    """The forecast revsim gave before it had states: the scenario started empty one warm-up
    (the fitted one, in whole days) before the origin, so that it is in its steady state
    there, and read over the same periods. Tidy per-replication period figures."""
    days = max(1, math.ceil(sc.model.warmup / 24))
    start = origin - dt.timedelta(days=days)
    started = sc.from_state(Snapshot(as_of=start), until=until)
    warm = days * 24.0
    options = RunOptions(artefacts=False, periods=(warm, *(warm + p.end_h for p in periods)),
                         period_labels=(WARM_UP, *(p.label for p in periods)))
    with open_executor(jobs, tasks=replications) as executor:
        runs = run_points({"empty": started.model}, replications, seed, options=options,
                          executor=executor, progress=False, parameters=draws)
    tidy = runs.periods("empty")
    return tidy[tidy["name"] != WARM_UP]


def _one_origin(log: EventLog, origin: dt.datetime, horizon: int, by: str,
                figures: list[str], replications: int, seed: int, jobs: int | None,
                parameter_uncertainty: bool) -> tuple[list[tuple[Any, ...]], list[str], str]:
    stamp = pd.Timestamp(origin, tz="UTC")
    train = _before(log, stamp)
    fitted = fit(train, progress=False)
    if parameter_uncertainty:  # the draws are a file beside the scenario, as fit writes them
        with tempfile.TemporaryDirectory(prefix="revsim-backtest-") as folder:
            sc = load(fitted.write(Path(folder) / "fitted.toml", draws=BOOTSTRAP_DRAWS))
            assert sc.parameter_draws is not None  # read now: the folder goes with the block
    else:
        sc = loads(fitted.to_toml())
    snapshot = build_state(log, scenario=sc.model, as_of=stamp)
    until = _step(origin, by, horizon) - dt.timedelta(days=1)
    common: dict[str, Any] = {"replications": replications, "seed": seed, "jobs": jobs,
                              "progress": False}
    if parameter_uncertainty:
        common["parameter_uncertainty"] = True
    with_state = sc.forecast(snapshot, until, by, **common)
    periods: list[Period] = with_state.periods
    empty = _empty_start(sc, origin, until, periods, replications, seed, jobs,
                         sc.draws_for(True) if parameter_uncertainty else None)
    labels = [p.label for p in periods]
    actual = period_actuals(log.events, [(p.label, p.start, p.end) for p in periods], figures)
    back = _step(origin, by, -1)
    before = period_actuals(log.events, [("before", back, origin)], figures)
    last = dict(zip(before["figure"], before["value"], strict=True))
    rates, mean_amount = stage_win_rates(train.events, stamp)
    weighted = _weighted_pipeline(snapshot, sc, rates, mean_amount)
    days_before = (origin - back).total_seconds() / 86400
    rows = []
    for figure in figures:
        truth = actual[actual["figure"] == figure].set_index("period")["value"].reindex(labels)
        truth_cum = np.cumsum(truth.to_numpy(float))
        sims = {"simulation": _cumulative(with_state.replications, figure, labels),
                "empty_start": _cumulative(empty, figure, labels)}
        for k in range(1, len(labels) + 1):
            a = float(truth_cum[k - 1])
            for method, values in sims.items():
                col = values[:, k - 1]
                q10, q50, q90 = np.quantile(col, [0.1, 0.5, 0.9])
                rows.append((origin, figure, k, labels[k - 1], method, a, float(q50),
                             float(col.mean()), float(q10), float(q90), len(col)))
            days = (periods[k - 1].end - origin).total_seconds() / 86400
            rows.append((origin, figure, k, labels[k - 1], "run_rate", a,
                         last[figure] / days_before * days, math.nan, math.nan, math.nan, 0))
            if figure in weighted:
                rows.append((origin, figure, k, labels[k - 1], "weighted_pipeline", a,
                             weighted[figure], math.nan, math.nan, math.nan, 0))
    notes = [f"{origin:%Y-%m-%d}: {note}" for note in snapshot.notes]
    return rows, notes, sc.model.currency


DETAIL_COLUMNS = ["origin", "figure", "horizon", "period", "method", "actual", "forecast",
                  "mean", "p10", "p90", "n"]


def backtest_forecast(log: Any, *, origins: str = "monthly", horizon: str = "3m",
                      min_history: str | float = 90, replications: int = 40,
                      seed: int = DEFAULT_SEED, jobs: int | None = None,
                      format: str = "canonical", mapping: Any = None, as_of: Any = None,
                      encoding: str | None = None, parameter_uncertainty: bool = False,
                      progress: bool | None = None, date_format: str | None = None
                      ) -> ForecastBacktest:
    """Rolling-origin backtest of revsim's forecast on ``log`` (read as :func:`revsim.fit`
    reads it). ``origins``: "weekly", "monthly", "quarterly" or comma-separated ISO dates;
    ``horizon``: weeks, months or quarters ahead ("13w", "3m", "1q"), which also sets the
    periods; ``min_history``: days of log an origin needs before it. Each origin fits on the
    log before it only. ``parameter_uncertainty`` fits bootstrap draws at each origin and runs
    one per replication (slower). Returns a :class:`ForecastBacktest` (scores and detail).
    """
    seed = check_seed(seed)
    n, by = parse_horizon(horizon)
    try:
        history = dt.timedelta(days=float(min_history))
    except (TypeError, ValueError):
        raise BacktestError([Problem("--min-history", f"{min_history!r} is not a number of "
                                     "days; e.g. 90")], "backtest") from None
    if history.days < 7:
        raise BacktestError([Problem("--min-history", "give at least 7 days of history to fit "
                                     "on")], "backtest")
    if replications < 10:
        raise BacktestError([Problem("--replications", f"{replications} replications cannot "
                                     "give a P10 and a P90; use 10 or more")], "backtest")
    event_log = log if isinstance(log, EventLog) else read_log(
        log, mapping=mapping, as_of=as_of, format=format, encoding=encoding,
        date_format=date_format)
    first = event_log.start.tz_convert(None).to_pydatetime()
    last = event_log.as_of.tz_convert(None).to_pydatetime()
    chosen = origin_dates(origins, first, last, n, by, history)
    figures = figures_in_log(event_log.events)
    if not figures:
        raise BacktestError([Problem("", "the log has no won deals, opportunities, invoices or "
                                     "payments to judge a forecast on")], event_log.source)
    rows: list[tuple[Any, ...]] = []
    notes: list[str] = []
    currency = "USD"
    began = time.perf_counter()
    with progress_bar(len(chosen), "origins", progress) as bar:
        for origin in chosen:
            try:
                got, said, currency = _one_origin(event_log, origin, n, by, figures, replications, seed,
                                        jobs, parameter_uncertainty)
            except ProblemsError as err:  # too little history at this origin: say so, go on
                notes.append(f"{origin:%Y-%m-%d}: left out: {err.lines()[0]}")
            else:
                rows += got
                notes += said
            bar.update(1)
    if not rows:
        raise BacktestError([Problem("--origins", "no origin could be fitted and forecast: "
                                     + "; ".join(notes))], event_log.source)
    detail = pd.DataFrame(rows, columns=DETAIL_COLUMNS)
    manifest = {"log": event_log.source, "origins": [f"{t:%Y-%m-%d}" for t in chosen],
                "horizon": horizon, "by": by, "replications": replications, "seed": seed,
                "min_history_days": history.days, "parameter_uncertainty":
                parameter_uncertainty, "figures": figures, "methods": list(METHODS),
                "currency": currency, "revsim": __version__, "seconds": round(time.perf_counter() - began, 1)}
    return ForecastBacktest(scores(detail), detail, manifest, notes)


__all__ = ["BacktestError", "backtest_forecast", "origin_dates", "parse_horizon"]

