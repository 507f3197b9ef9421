"""Pick the best point of a sweep, under a budget, with the statistics to trust the pick.

Every point of a sweep runs replication r with the same random streams (common random numbers),
so points are compared by *paired* differences over replications, which cancel most of the noise
they share. The chosen point is the feasible one with the best mean objective; it is compared
one-sided with every other feasible point (Bonferroni over the comparisons). The points it does
not beat significantly, together with it, form a subset that contains the truly best point with
probability at least ``confidence`` (multiple comparisons with the best, in the spirit of Gupta's
subset selection). A paired bootstrap over replications estimates how often the chosen point
would still come out best.

>>> sel = optimize(result, "cash_collected", budget="staff_cost <= 2.4M")
>>> print(sel.format())
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from revsim.errors import Problem, RevsimError
from revsim.table import _LABELS, format_value
from revsim.units import UnitError, format_money, parse_duration, parse_money

if TYPE_CHECKING:
    from revsim.sweep.sweep_result import SweepResult

# Columns of the sweep tables that are not swept parameters.
META_COLUMNS = frozenset({"point", "label", "replication", "metric", "scope", "name", "unit",
                          "value", "mean", "ci_low", "ci_high", "half_width", "n",
                          "staff_cost"})
PLAIN_UNITS = frozenset({"count", "h", "d", "share", "per week", "staff-h", ""})
KNOWN_METRICS = frozenset(_LABELS)
COST = "staff_cost"
RESAMPLES = 2000
BOOTSTRAP_SEED = 20240517
# KPIs where less is better; maximising one of them earns a hint to use minimize.
_LOWER_IS_BETTER = re.compile(r"(time|wait|cycle|dso|ar_|overdue|written_off|bad_debt|lost|"
                              r"disqualified|reneged|balked|not_renewed|churned|queue|wip)")


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


# -- table helpers (shared with the plots) ---------------------------------------------------------
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
    from revsim.sweep.design import _label

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
        generated = {_label({p: _value_text(v)}): p for p, v in values.items()}
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


# -- budgets ---------------------------------------------------------------------------------------
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


# -- the selection ---------------------------------------------------------------------------------
@dataclass
class Selection:
    """The chosen point of a sweep and how sure we are of it.

    ``table``: every feasible point ranked by mean objective, with columns rank, point, label,
    one per swept parameter, mean, ci_low, ci_high, half_width, n, staff_cost, diff (point -
    best, mean of paired differences), diff_low/diff_high (its simultaneous CI: two-sided at
    1 - 2(1 - confidence)/k, so it excludes 0 on the worse side exactly when the one-sided
    Bonferroni test says "worse"), n_pairs, p_value (one-sided, unadjusted), p_adjusted
    (Bonferroni), worse (significantly worse than the best), in_subset, p_best (share of
    bootstrap resamples in which the point is best).
    """

    objective: str
    scope: str
    name: str
    unit: str
    minimize: bool
    confidence: float
    budget: str | None
    point: str
    label: str
    params: dict[str, Any]
    mean: float
    ci_low: float
    ci_high: float
    half_width: float
    n: int
    staff_cost: float
    table: pd.DataFrame
    p_best: float
    resamples: int
    feasible: int
    total: int
    currency: str = "USD"
    notes: list[str] = field(default_factory=list)

    @property
    def worse(self) -> list[str]:
        """Labels of the feasible points significantly worse than the chosen one."""
        return [str(x) for x in self.table.loc[self.table["worse"], "label"]]

    @property
    def tied(self) -> list[str]:
        """Labels of the other points that cannot be told apart from the chosen one."""
        t = self.table
        return [str(x) for x in t.loc[t["in_subset"] & (t["point"] != self.point), "label"]]

    @property
    def subset(self) -> list[str]:
        """The chosen point and every point it cannot be told apart from."""
        return [self.label, *self.tied]

    def _decimals(self) -> int:
        """Decimals of plain numbers: three significant digits of a typical half-width."""
        halves = self.table["half_width"].to_numpy(float) if len(self.table) else np.array([])
        halves = halves[np.isfinite(halves) & (halves > 0)]
        if not halves.size:
            return 1
        return int(min(3, max(0, 2 - math.floor(math.log10(float(np.median(halves)))))))

    def _fmt(self, value: float, signed: bool = False) -> str:
        if not math.isfinite(value):
            return "-"
        if signed and self.unit == "share":
            return f"{100 * value:+.1f} pp"
        if self.unit in ("count", "per week", "staff-h", ""):
            suffix = {"per week": "/w", "staff-h": " h"}.get(self.unit, "")
            return f"{value:{'+' if signed else ''},.{self._decimals()}f}{suffix}"
        text = format_value(abs(value) if signed else value, self.unit,
                            self.unit if self.unit not in PLAIN_UNITS else self.currency)
        if signed:
            text = ("-" if value < 0 else "+") + text
        return text

    def _mean_text(self, mean: float, half: float, n: int) -> str:
        text = self._fmt(mean)
        return text + (f" ± {self._fmt(half)}" if n > 1 and math.isfinite(half) else "")

    def format(self) -> str:
        """A plain answer, then the ranked table of feasible points."""
        kpi = _LABELS.get(self.objective, self.objective.replace("_", " ")).replace("->", "→")
        if self.name:
            kpi = f"{kpi} ({self.scope} {self.name})"
        level = f"{self.confidence:.0%}"
        cost = (f", staff cost {format_money(self.staff_cost, self.currency)}/year"
                if math.isfinite(self.staff_cost) else "")
        goal = f" (lowest {kpi})" if self.minimize else ""
        where = f" under {self.budget}" if self.budget else ""
        lines = [f"Best{goal}{where}: {self.label} — {kpi} "
                 f"{self._mean_text(self.mean, self.half_width, self.n)} ({level} CI, "
                 f"n = {self.n}){cost}."]
        others = self.feasible - 1
        p_text = (f"P(best) = {self.p_best:.2f}, paired bootstrap over replications"
                  if math.isfinite(self.p_best) else "P(best) unknown: fewer than 2 paired "
                  "replications")
        if others == 0:
            lines.append("It is the only feasible point; there is nothing to compare it with.")
        else:
            tied = self.tied
            sentence = (f"It beats {len(self.worse)} of the {others} other feasible point"
                        f"{'s' if others != 1 else ''} at {level} (paired over common random "
                        f"numbers, one-sided, Bonferroni over {others})")
            if tied:
                wrap = len(tied) > 1 and any(", " in t for t in tied)
                names = [f"({t})" if wrap else t for t in tied[:4]]
                shown = ", ".join(names) + (f" and {len(tied) - 4} more" if len(tied) > 4
                                            else "")
                sentence += f"; {shown} cannot be told apart from it"
            lines.append(f"{sentence} ({p_text}).")
            if tied:
                lines.append("Add replications to separate them.")
        lines.append(f"Feasible: {self.feasible} of {self.total} points.")
        lines += [f"note: {n}" for n in self.notes]
        lines += ["", *self._table_lines()]
        return "\n".join(lines)

    def _table_lines(self, limit: int = 25) -> list[str]:
        kpi = _LABELS.get(self.objective, self.objective.replace("_", " ")).replace("->", "→")
        head = ["rank", "point", f"{kpi} ± {self.confidence:.0%} CI",
                "vs best [simultaneous CI]", "staff cost/yr", "P(best)", "verdict"]
        rows = []
        for _, r in self.table.head(limit).iterrows():
            if r["point"] == self.point:
                vs, verdict = "", "chosen"
            else:
                ci = (f" [{self._fmt(r['diff_low'], True)}, {self._fmt(r['diff_high'], True)}]"
                      if math.isfinite(r["diff_low"]) else "")
                vs = self._fmt(r["diff"], True) + ci
                verdict = "worse" if r["worse"] else "cannot be told apart"
            rows.append([str(r["rank"]), str(r["label"]),
                         self._mean_text(r["mean"], r["half_width"], int(r["n"])), vs,
                         format_money(r["staff_cost"], self.currency)
                         if math.isfinite(r["staff_cost"]) else "-",
                         f"{r['p_best']:.2f}" if math.isfinite(r["p_best"]) else "-", verdict])
        widths = [max(len(x) for x in col) for col in zip(head, *rows, strict=True)]
        out = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)).rstrip()]
        out += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
                for row in rows]
        if len(self.table) > limit:
            out.append(f"... {len(self.table) - limit} more feasible points in Selection.table")
        return out


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


def _compare(x_best: np.ndarray, x_other: np.ndarray, sign: float, alpha_each: float
             ) -> tuple[float, float, float, float, int]:
    """Paired (other - best): mean, simultaneous CI, one-sided p of "other is not worse"."""
    ok = np.isfinite(x_best) & np.isfinite(x_other)
    d = x_other[ok] - x_best[ok]
    n = int(ok.sum())
    if n == 0:
        return math.nan, math.nan, math.nan, math.nan, 0
    mean = float(d.mean())
    if n == 1:
        return mean, math.nan, math.nan, math.nan, 1
    sd = float(d.std(ddof=1))
    gain = -sign * mean  # how much better the best is, in the objective's direction
    if sd == 0.0:
        return mean, mean, mean, (0.0 if gain > 0 else 1.0), n
    se = sd / math.sqrt(n)
    half = float(stats.t.ppf(1 - alpha_each, n - 1)) * se
    p = float(stats.t.sf(gain / se, n - 1))
    return mean, mean - half, mean + half, p, n


def _bootstrap(values: pd.DataFrame, sign: float, resamples: int, seed: int
               ) -> tuple[np.ndarray, int]:
    """Share of paired bootstrap resamples in which each column has the best mean (ties
    shared), over the replications complete at every column; and how many those were."""
    complete = values.dropna(axis=0, how="any")
    n, m = complete.shape
    if n < 2:
        return np.full(m, math.nan), n
    x = complete.to_numpy(float) * sign
    rng = np.random.default_rng(seed)
    weights = rng.multinomial(n, np.full(n, 1.0 / n), size=resamples)  # same indices for all
    means = weights @ x / n
    top = means.max(axis=1, keepdims=True)
    tol = 1e-12 * np.maximum(1.0, np.abs(top))
    best = means >= top - tol
    share = (best / best.sum(axis=1, keepdims=True)).mean(axis=0)
    return share, n


def optimize(result: SweepResult, objective: str, *, scope: str | None = None,
             budget: str | Budget | None = None, minimize: bool = False,
             confidence: float = 0.95, resamples: int = RESAMPLES,
             seed: int = BOOTSTRAP_SEED) -> Selection:
    """The feasible point of ``result`` with the best mean ``objective``, compared with every
    other feasible point by paired differences over replications (see :class:`Selection`).

    ``objective`` is a KPI name (``scope:metric`` or ``scope:name:metric`` for a stage or pool
    KPI); ``budget`` a constraint such as ``"staff_cost <= 2.4M"`` (exact, staff cost per
    year) or ``"dso <= 45 d"`` (a KPI is held to its mean over replications).
    """
    if not 0 < confidence < 1:
        raise _fail("--confidence", f"must be between 0 and 1, got {confidence}")
    if resamples < 1:
        raise _fail("resamples", "must be at least 1")
    summary, results = result.summary, result.results
    if summary is None or summary.empty:
        raise _fail("sweep", "the sweep has no results (did every task fail?)")
    params = list(getattr(result, "params", None) or param_columns(summary))
    currency = currency_of(summary)
    labels = point_labels(summary, params)
    metric, scope, name, unit = resolve_kpi(summary, objective, scope)
    sign = -1.0 if minimize else 1.0
    notes: list[str] = []
    if not minimize and _LOWER_IS_BETTER.search(metric):
        notes.append(f"the highest {metric} was chosen; if lower is better, use minimize "
                     "(--minimize)")
    table = kpi_table(summary, metric, scope, name)
    total = len(table)
    empty = table["mean"].isna()
    if empty.any():
        notes.append(f"{int(empty.sum())} point(s) have no value of {metric} and are left out")
        table = table[~empty].reset_index(drop=True)
        if table.empty:
            raise _fail("objective", f"no point has a value of {metric}")
    spec = parse_budget(budget) if isinstance(budget, str) else budget
    ok = _feasible(summary, table, spec, currency, labels, notes)
    feasible = table[ok.to_numpy()].reset_index(drop=True)
    if "staff_cost" not in feasible.columns:
        feasible["staff_cost"] = math.nan
    feasible["label"] = feasible["point"].astype(str).map(labels)
    # Best mean; ties go to the cheaper point, then to the earlier one in the design.
    order = sorted(range(len(feasible)), key=lambda i: (
        -sign * float(feasible["mean"].iloc[i]),
        float(feasible["staff_cost"].iloc[i]) if math.isfinite(feasible["staff_cost"].iloc[i])
        else math.inf, i))
    feasible = feasible.iloc[order].reset_index(drop=True)
    best = feasible.iloc[0]
    best_id = str(best["point"])

    rows = results
    names = rows["name"].fillna("").astype(str)
    rows = rows[(rows["metric"] == metric) & (rows["scope"] == scope) & (names == name)
                & rows["point"].isin(feasible["point"])]
    wide = rows.pivot_table(index="replication", columns="point", values="value",
                            aggfunc="mean", dropna=False).reindex(columns=feasible["point"])
    k = len(feasible) - 1
    alpha_each = (1 - confidence) / max(k, 1)
    x_best = wide[best_id].to_numpy(float)
    stats_rows = []
    for pid in feasible["point"]:
        if pid == best_id:
            stats_rows.append((0.0, 0.0, 0.0, math.nan, int(np.isfinite(x_best).sum())))
        else:
            stats_rows.append(_compare(x_best, wide[pid].to_numpy(float), sign, alpha_each))
    diff, lo, hi, p, n_pairs = (list(c) for c in zip(*stats_rows, strict=True))
    feasible["diff"], feasible["diff_low"], feasible["diff_high"] = diff, lo, hi
    feasible["n_pairs"] = n_pairs
    feasible["p_value"] = p
    feasible["p_adjusted"] = np.minimum(np.asarray(p, float) * max(k, 1), 1.0)
    feasible["worse"] = (feasible["p_value"] < alpha_each).fillna(False).astype(bool)
    feasible.loc[feasible["point"] == best_id, "worse"] = False
    feasible["in_subset"] = ~feasible["worse"]
    shares, n_boot = _bootstrap(wide, sign, resamples, seed)
    feasible["p_best"] = shares
    if 2 <= n_boot < len(wide):
        notes.append(f"the bootstrap uses the {n_boot} replications with a value at every "
                     "feasible point")
    untested = feasible[(feasible["point"] != best_id) & (feasible["n_pairs"] < 2)]
    if len(untested):
        notes.append(f"{len(untested)} point(s) have fewer than 2 paired replications and "
                     "cannot be compared")
    feasible.insert(0, "rank", range(1, len(feasible) + 1))
    keep = ["rank", "point", "label", *[p for p in params if p in feasible.columns], "mean",
            "ci_low", "ci_high", "half_width", "n", "staff_cost", "diff", "diff_low",
            "diff_high", "n_pairs", "p_value", "p_adjusted", "worse", "in_subset", "p_best"]
    feasible = feasible[keep]
    return Selection(
        objective=metric, scope=scope, name=name, unit=unit, minimize=minimize,
        confidence=confidence, budget=spec.text if spec is not None else None, point=best_id,
        label=labels[best_id],
        params={p: best[p] for p in params if p in best.index and not _missing(best[p])},
        mean=float(best["mean"]), ci_low=float(best["ci_low"]), ci_high=float(best["ci_high"]),
        half_width=float(best["half_width"]), n=int(best["n"]),
        staff_cost=float(best["staff_cost"]), table=feasible,
        p_best=float(shares[0]), resamples=resamples, feasible=len(feasible), total=total,
        currency=currency, notes=notes,
    )
