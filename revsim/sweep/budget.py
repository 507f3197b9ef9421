"""Budgets of an optimisation: ``staff_cost <= 2.4M``, ``dso <= 45 d``, ``conversion >= 1%``,
read into a constraint and applied to each point of a sweep."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from revsim.kpi_registry import PLAIN_UNITS, format_value
from revsim.sweep.kpi_tables import (
    COST,
    KNOWN_METRICS,
    _fail,
    _suggest,
    kpi_table,
    resolve_kpi,
    split_kpi,
)
from revsim.units import UnitError, format_money, parse_duration, parse_money

_BUDGET = re.compile(r"\s*([A-Za-z_][\w.:]*)\s*(<=|>=|<|>|≤|≥)\s*(\S.*?)\s*")
_OPS = {"≤": "<=", "≥": ">="}


@dataclass(frozen=True)
class Budget:
    """A constraint ``LEFT OP VALUE``: LEFT is staff_cost or a KPI (held to its mean)."""

    left: str
    op: str
    right: str
    text: str

    @property
    def is_cost(self) -> bool:
        return self.left == COST

    def value(self, unit: str, currency: str = "USD") -> float:
        """The right-hand side in ``unit`` (the KPI's or staff cost's)."""
        return _read_amount(self.right, unit, currency, self.text)

    def holds(self, x: float, bound: float) -> bool:
        if not math.isfinite(x):
            return False
        tol = 1e-9 * max(1.0, abs(bound))
        if self.op == "<=":
            return x <= bound + tol
        if self.op == ">=":
            return x >= bound - tol
        if self.op == "<":
            return x < bound - tol
        return x > bound + tol


BUDGET_EXAMPLE = 'write e.g. "staff_cost <= 2.4M", "dso <= 45 d" or "conversion >= 1%"'


def parse_budget(text: str) -> Budget:
    """Read ``"staff_cost <= 2.4M"`` (also >=, <, >; the left side may be any KPI, e.g.
    ``"dso <= 45 d"``, ``"conversion >= 1%"``, ``"pool:sdr:utilisation < 85%"``)."""
    match = _BUDGET.fullmatch(text or "")
    if match is None:
        raise _fail("--budget", f"cannot read {text!r}; {BUDGET_EXAMPLE}")
    left, op, right = match.group(1), _OPS.get(match.group(2), match.group(2)), match.group(3)
    if re.search(r"[<>=]", right):
        raise _fail("--budget", f"cannot read {text!r}: one comparison only; {BUDGET_EXAMPLE}")
    if left != COST:
        metric = split_kpi(left)[2]
        if metric not in KNOWN_METRICS:
            raise _fail("--budget", f"the left side of {text.strip()!r} must be staff_cost or a "
                        f"KPI; unknown {metric!r}{_suggest(metric, KNOWN_METRICS | {COST})}")
    _read_amount(right, None, "USD", text)  # a syntax check, whatever the unit
    return Budget(left, op, right, f"{left} {op} {right}")


def _read_amount(text: str, unit: str | None, currency: str, whole: str) -> float:
    """A budget's right-hand side as a number in ``unit`` (None: just check it is readable)."""
    body = text.strip()
    problem = f"cannot read the amount {body!r} in {whole!r}; {BUDGET_EXAMPLE}"
    if body.endswith("%"):
        try:
            share = float(body[:-1]) / 100
        except ValueError:
            raise _fail("--budget", problem) from None
        if unit is not None and unit != "share":
            raise _fail("--budget", f"{body} is a percentage but {whole.split()[0]} is in "
                        f"{unit or 'plain numbers'}")
        return share
    money: float | None = None
    hours: float | None = None
    try:
        money = parse_money(body)
    except UnitError:
        pass
    try:
        hours = parse_duration(body)
    except UnitError:
        pass
    if money is None and hours is None:
        raise _fail("--budget", problem)
    if unit is None:
        return money if money is not None else float(hours or 0.0)
    if unit in ("h", "d"):
        if hours is not None:
            return hours if unit == "h" else hours / 24.0
        if money is not None and re.fullmatch(r"[-+]?[\d.,]+", body):
            return money  # a bare number, in the KPI's own unit
        raise _fail("--budget", f"{body!r} is not a duration; {whole.split()[0]} is a time, "
                    "e.g. 45 d or 36 h")
    if money is None:
        raise _fail("--budget", f"{body!r} is a duration but {whole.split()[0]} is in "
                    f"{unit if unit not in PLAIN_UNITS else 'plain numbers'}")
    if unit == "share" and not 0 <= money <= 1:
        raise _fail("--budget", f"{whole.split()[0]} is a share; write {body}% or a number "
                    "between 0 and 1")
    return money


def _feasible(summary: pd.DataFrame, objective: pd.DataFrame, budget: Budget | None,
              currency: str, labels: dict[str, str], notes: list[str]) -> pd.Series:
    """Boolean per row of ``objective``: does the point meet the budget?"""
    points = objective["point"].astype(str)
    if budget is None:
        return pd.Series(True, index=objective.index)
    if budget.is_cost:
        if "staff_cost" not in objective.columns:
            raise _fail("--budget", "the sweep table has no staff_cost column")
        values = objective["staff_cost"].to_numpy(float)
        bound = budget.value("USD", currency)
        what = "costs"
        shown = [format_money(v, currency) + "/year" for v in values]
    else:
        metric, scope, name, unit = resolve_kpi(summary, budget.left, where="--budget")
        rows = kpi_table(summary, metric, scope, name).set_index("point")
        values = rows["mean"].reindex(points).to_numpy(float)
        bound = budget.value(unit, currency)
        what = "has"
        shown = [format_value(v, unit, unit if unit not in PLAIN_UNITS else currency)
                 for v in values]
        notes.append(f"the budget on {metric} holds each point's mean over replications, not "
                     "every replication")
    ok = np.array([budget.holds(v, bound) for v in values])
    if not ok.any():
        finite = np.isfinite(values)
        if not finite.any():
            raise _fail("--budget", f"no point meets {budget.text}: no point has a value")
        lowest = budget.op in ("<=", "<")
        i = int(np.nanargmin(values) if lowest else np.nanargmax(values))
        extreme = ("the cheapest point" if budget.is_cost else
                   f"the point with the {'lowest' if lowest else 'highest'} {budget.left}")
        raise _fail("--budget", f"no point meets {budget.text}: {extreme} "
                    f"({labels[points.iloc[i]]}) {what} {shown[i]}")
    return pd.Series(ok, index=objective.index)
