"""The terminal KPI table: labels, sections, matrix columns and number formats come from
:mod:`revsim.kpi_registry`."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from revsim.kpi_registry import (
    MATRIX_SCOPES,
    SCOPES,
    SECTIONS,
    columns,
    format_value,
    hidden_if_zero,
    label,
)


def cell_text(r: pd.Series | None, currency: str) -> str:
    """A matrix cell: ``mean ±half-width`` of one summary row ("" without a row)."""
    if r is None:
        return ""
    mean = format_value(r["mean"], r["unit"], currency)
    half = r["half_width"]
    if r["n"] > 1 and not math.isnan(half):
        return f"{mean} ±{format_value(half, r['unit'], currency)}"
    return mean


def replications_text(n: Any, kind: str = "") -> str:
    """``"1 replication"`` / ``"10 replications"`` (``kind="paired"``: "10 paired ...")."""
    return f"{n} {kind + ' ' if kind else ''}replication{'' if n == 1 else 's'}"


def too_few_replications(n: Any) -> list[str]:
    """A warning line when there are too few replications for any confidence interval."""
    if isinstance(n, int) and n < 2:
        return ["One replication gives no confidence intervals ([-]): they need at least 2; "
                "use -n 10 or more."]
    return []


def format_table(kpis: pd.DataFrame, currency: str, manifest: dict[str, Any]) -> str:
    """The KPI table: flat rows with [95% CI] for totals and cash, matrices for stages/pools."""
    n_reps = manifest.get("replications")
    lines = [
        f"{manifest.get('scenario_name', '')}: {replications_text(n_reps)}, seed "
        f"{manifest.get('seed')}, window {manifest.get('window', '')}",
        "Each KPI: mean over replications [95% confidence interval] (n = replications with a "
        "value).",
        *too_few_replications(n_reps),
    ]
    width = 40

    def row(text: str, r: pd.Series) -> str:
        mean = format_value(r["mean"], r["unit"], currency)
        if r["n"] > 1 and not math.isnan(r["ci_low"]):
            ci = (f"[{format_value(r['ci_low'], r['unit'], currency)}, "
                  f"{format_value(r['ci_high'], r['unit'], currency)}]")
        else:
            ci = "[-]"
        return f"  {text:<{width}} {mean:>11}  {ci:<24} n={r['n']}"

    hidden = hidden_if_zero()
    for scope in SCOPES:
        part = kpis[kpis.scope == scope]
        if part.empty or scope in MATRIX_SCOPES:
            continue
        lines += ["", SECTIONS[scope]]
        for _, r in part.iterrows():
            if r.metric in hidden and r["mean"] == 0 and r["ci_high"] == 0:
                continue
            lines.append(row(r["name"] if scope == "source" else label(r.metric), r))
    for scope in MATRIX_SCOPES:
        part = kpis[kpis.scope == scope]
        if part.empty:
            continue
        lines += ["", f"{SECTIONS[scope]} (mean ±95% CI half-width, n = "
                  f"{replications_text(n_reps)})"]
        lines += _matrix(part, columns(scope), currency)
    if manifest.get("parameter_uncertainty"):
        lines += ["", uncertainty_line(manifest["parameter_uncertainty"])]
    return "\n".join(lines)


def uncertainty_line(draws: dict[str, Any]) -> str:
    """Under a KPI table whose replications each ran a parameter draw (the manifest's
    ``parameter_uncertainty``): "parameter uncertainty: on (200 draws from fitted.draws.json)"."""
    return f"parameter uncertainty: on ({draws['draws']} draws from {draws['file']})"


def _matrix(part: pd.DataFrame, cols: list[tuple[str, str]], currency: str) -> list[str]:
    names = list(dict.fromkeys(part["name"]))
    index = {(r["name"], r["metric"]): r for _, r in part.iterrows()}
    # a loss column (blocked, abandoned) shows only when some stage has such losses
    hidden = hidden_if_zero()
    cols = [(metric, head) for metric, head in cols if metric not in hidden
            or any(k[1] == metric and r["mean"] > 0 for k, r in index.items())]
    cells = [[cell_text(index.get((name, metric)), currency) for metric, _ in cols]
             for name in names]
    heads = [head for _, head in cols]
    widths = [max(len(heads[j]), *(len(row[j]) for row in cells)) for j in range(len(heads))]
    first = max(len(n) for n in names) + 2
    out = ["  " + " " * first + "  ".join(h.rjust(w) for h, w in zip(heads, widths, strict=True))]
    for name, row in zip(names, cells, strict=True):
        # rstrip: a blank last cell (e.g. "abandoned" on a stage without patience) would
        # otherwise leave trailing spaces in the terminal text
        out.append(("  " + name.ljust(first)
                    + "  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True))).rstrip())
    return out


def plus_minus(mean: float | None, half_width: float, unit: str, currency: str = "USD") -> str:
    """``mean ±half-width`` in ``unit`` ("-" without a mean, no ± without a half-width)."""
    if mean is None or math.isnan(mean):
        return "-"
    text = format_value(mean, unit, currency)
    return text if math.isnan(half_width) else f"{text} ±{format_value(half_width, unit, currency)}"
