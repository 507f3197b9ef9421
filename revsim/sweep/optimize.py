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

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from revsim.analysis.ci import t_test
from revsim.kpi_registry import PLAIN_UNITS, direction, display_label, format_value
from revsim.sweep.budget import Budget, _feasible, parse_budget
from revsim.sweep.kpi_tables import (
    SweepTables,
    _fail,
    _missing,
    currency_of,
    kpi_table,
    param_columns,
    point_labels,
    resolve_kpi,
)
from revsim.units import format_money

RESAMPLES = 2000
BOOTSTRAP_SEED = 20240517


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
        kpi = display_label(self.objective)
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
        kpi = display_label(self.objective)
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


def _compare(x_best: np.ndarray, x_other: np.ndarray, sign: float, alpha_each: float
             ) -> tuple[float, float, float, float, int]:
    """Paired (other - best): mean, simultaneous CI (two-sided at 1 - 2 alpha_each), and the
    one-sided p of "other is not worse" (worse is lower when maximising, higher when not)."""
    ok = np.isfinite(x_best) & np.isfinite(x_other)
    test = t_test(x_other[ok] - x_best[ok], 1 - 2 * alpha_each,
                  alternative="less" if sign > 0 else "greater")
    return test.mean, test.low, test.high, test.p_value, test.n


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


def optimize(result: SweepTables, objective: str, *, scope: str | None = None,
             budget: str | Budget | None = None, minimize: bool | None = None,
             confidence: float = 0.95, resamples: int = RESAMPLES,
             seed: int = BOOTSTRAP_SEED) -> Selection:
    """The feasible point of ``result`` with the best mean ``objective``, compared with every
    other feasible point by paired differences over replications (see :class:`Selection`).

    ``objective`` is a KPI name (``scope:metric`` or ``scope:name:metric`` for a stage or pool
    KPI); ``budget`` a constraint such as ``"staff_cost <= 2.4M"`` (exact, staff cost per
    year) or ``"dso <= 45 d"`` (a KPI is held to its mean over replications). ``minimize``
    defaults to the KPI's registered direction (lower is better for ``dso``).
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
    if minimize is None:
        minimize = direction(metric) == "lower"
    sign = -1.0 if minimize else 1.0
    notes: list[str] = []
    if not minimize and direction(metric) == "lower":
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
