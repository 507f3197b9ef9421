"""Reading one KPI out of a sweep's tables: parameter columns, point labels, KPI names
("scope:name:metric"), the Pareto front; and the error of an objective or budget that does not
fit the sweep. Shared by the optimizer and the sweep plots."""

from __future__ import annotations

import difflib
import math
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import pandas as pd

from revsim.errors import Problem, RevsimError
from revsim.kpi_registry import PLAIN_UNITS, ids
from revsim.sweep.design import point_label


class SweepTables(Protocol):
    """What the optimizer and the sweep plots read from a sweep: a
    :class:`~revsim.sweep.sweep_result.SweepResult`, or any object holding its tables."""

    summary: pd.DataFrame
    results: pd.DataFrame
    params: list[str]


# Columns of the sweep tables that are not swept parameters.
META_COLUMNS = frozenset({"point", "label", "replication", "metric", "scope", "name", "unit",
                          "value", "mean", "ci_low", "ci_high", "half_width", "n",
                          "staff_cost"})
KNOWN_METRICS = frozenset(ids())
COST = "staff_cost"


class OptimizeError(RevsimError, ValueError):
    """An objective, scope or budget that does not fit the sweep, or no feasible point."""

    def __init__(self, problems: Sequence[Problem], source: str = "optimize") -> None:
        self.problems = list(problems)
        self.source = source
        super().__init__("\n".join(p.render(source) for p in self.problems))

    def lines(self) -> list[str]:
        return [p.render(self.source) for p in self.problems]


def _fail(where: str, message: str) -> OptimizeError:
    return OptimizeError([Problem(where, message)])


def param_columns(frame: pd.DataFrame) -> list[str]:
    """The swept-parameter columns of a sweep summary or results table."""
    return [str(c) for c in frame.columns if c not in META_COLUMNS]


def param_label(path: str) -> str:
    """Short name of a swept path: pools.sdr.headcount -> sdr, stages.demo.work -> demo.work."""
    parts = path.split(".")
    if len(parts) == 3 and parts[0] == "pools" and parts[2] == "headcount":
        return parts[1]
    return path.split(".", 1)[-1] if path.count(".") > 1 else path


def _value_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def point_labels(frame: pd.DataFrame, params: Sequence[str] | None = None) -> dict[str, str]:
    """A short label per point: "sdr=8, ae=9" from its parameter values; a named variant keeps
    its name."""
    params = list(params) if params is not None else param_columns(frame)
    firsts = frame.drop_duplicates("point")
    labels: dict[str, str] = {}
    for _, row in firsts.iterrows():
        values = {p: row[p] for p in params if p in row.index and not _missing(row[p])}
        short = {p: f"{param_label(p)}={_value_text(v)}" for p, v in values.items()}
        if "label" not in row.index:
            labels[str(row["point"])] = ", ".join(short.values())
            continue
        label = str(row["label"])
        # A generated label ("sdr.headcount=8, ae.headcount=9", in the design's order) becomes
        # "sdr=8, ae=9"; a named variant keeps its name.
        generated = {point_label({p: _value_text(v)}): p for p, v in values.items()}
        items = label.split(", ")
        if values and sorted(items) == sorted(generated):
            label = ", ".join(short[generated[item]] for item in items)
        labels[str(row["point"])] = label
    return labels


def currency_of(frame: pd.DataFrame) -> str:
    """The currency of a sweep's money KPIs (USD when it has none)."""
    units = [u for u in pd.unique(frame["unit"].astype(str)) if u not in PLAIN_UNITS]
    return units[0] if units else "USD"


def split_kpi(text: str) -> tuple[str | None, str | None, str]:
    """``metric``, ``scope:metric`` or ``scope:name:metric`` -> (scope, name, metric)."""
    parts = [p.strip() for p in text.strip().split(":")]
    if len(parts) == 1:
        return None, None, parts[0]
    if len(parts) == 2:
        return parts[0], None, parts[1]
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    raise _fail(text, "expected METRIC, SCOPE:METRIC or SCOPE:NAME:METRIC")


def check_metric_name(text: str, where: str = "--objective") -> None:
    """Raise if ``text`` names no revsim KPI at all (before running anything)."""
    _scope, _name, metric = split_kpi(text)
    if metric not in KNOWN_METRICS:
        raise _fail(where, f"unknown KPI {metric!r}{_suggest(metric, KNOWN_METRICS)}")


def _suggest(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(word, sorted(choices), n=3, cutoff=0.6)
    return f"; did you mean {' or '.join(close)}?" if close else ""


def resolve_kpi(summary: pd.DataFrame, kpi: str, scope: str | None = None,
                name: str | None = None, where: str = "objective") -> tuple[str, str, str, str]:
    """(metric, scope, name, unit) of one KPI of the summary. ``kpi`` may be ``metric``,
    ``scope:metric`` or ``scope:name:metric``; without a scope, ``total`` wins over ``cash``
    when the KPI has a whole-run value in both."""
    in_scope, in_name, metric = split_kpi(kpi)
    scope = scope if scope is not None else in_scope
    name = name if name is not None else in_name
    rows = summary[summary["metric"] == metric]
    if rows.empty:
        known = sorted(set(summary["metric"].astype(str)))
        hint = _suggest(metric, known) or ("; KPIs include " + ", ".join(
            m for m in ("won", "bookings", "cash_collected", "conversion", "cycle_time_median")
            if m in known) + " (see the summary's metric column)")
        raise _fail(where, f"the sweep has no KPI {metric!r}{hint}")
    if scope is not None:
        scopes = sorted(set(rows["scope"].astype(str)))
        rows = rows[rows["scope"] == scope]
        if rows.empty:
            raise _fail(where, f"{metric} has no scope {scope!r}; its scopes: {', '.join(scopes)}")
    names = rows["name"].fillna("").astype(str)
    chosen = rows[names == (name or "")]
    if chosen.empty:
        scopes = sorted(set(rows["scope"].astype(str)))
        options = sorted(set(names))
        if name:
            raise _fail(where, f"{metric} has no name {name!r}; names: {', '.join(options)}")
        raise _fail(where, f"{metric} is a per-{'/'.join(scopes)} KPI; name one, e.g. "
                    f"{scopes[0]}:{options[0]}:{metric} (names: {', '.join(options)})")
    scopes = list(dict.fromkeys(chosen["scope"].astype(str)))
    if len(scopes) > 1:
        if "total" not in scopes:
            raise _fail(where, f"{metric} exists in scopes {', '.join(scopes)}; pick one, e.g. "
                        f"{scopes[0]}:{metric}")
        scopes = ["total"]
    unit = str(chosen.loc[chosen["scope"] == scopes[0], "unit"].iloc[0])
    return metric, scopes[0], name or "", unit


def kpi_table(summary: pd.DataFrame, metric: str, scope: str, name: str) -> pd.DataFrame:
    """The summary rows of one KPI, one per point, in design order."""
    names = summary["name"].fillna("").astype(str)
    part = summary[(summary["metric"] == metric) & (summary["scope"] == scope) & (names == name)]
    return part.drop_duplicates("point").reset_index(drop=True)


def pareto_front(cost: Sequence[float] | np.ndarray, objective: Sequence[float] | np.ndarray,
                 minimize: bool = False) -> np.ndarray:
    """Boolean mask of the points no other point beats on both: no cheaper-or-equal point has a
    better-or-equal objective (with one of them strictly better). NaNs are never on the front."""
    c = np.asarray(cost, dtype=float)
    o = np.asarray(objective, dtype=float) * (-1.0 if minimize else 1.0)
    ok = np.isfinite(c) & np.isfinite(o)
    mask = np.zeros(len(c), dtype=bool)
    order = sorted(np.flatnonzero(ok), key=lambda i: (c[i], -o[i]))
    best = -math.inf
    for i in order:
        if o[i] > best:
            mask[i] = True
            best = o[i]
    return mask
