"""Sequential replications: how many more until the headline KPIs are precise enough.

The stopping rule only reads the tidy table of the replications so far; the caller runs them
(on the experiment core, adding replications to the same point with ``first=``).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from revsim.analysis.ci import summarise
from revsim.kpi_registry import view

MIN_FIRST_ROUND = 5


def relative_half_widths(tidy: pd.DataFrame) -> pd.DataFrame:
    """Headline KPIs with their 95% CI half-width relative to |mean| (NaN where mean is 0),
    from a tidy table (replication, metric, scope, name, unit, value)."""
    k = summarise(tidy)
    wanted = set(view("precision"))
    head = k[[(m, s) in wanted for m, s in zip(k.metric, k.scope, strict=True)]].copy()
    head["relative"] = head["half_width"] / head["mean"].abs()
    return head[["metric", "scope", "mean", "half_width", "n", "relative"]]


def check_precision(precision: float) -> None:
    """Refuse a target that is not a share strictly between 0 and 1."""
    if not 0 < precision < 1:
        raise ValueError(f"precision must be between 0 and 1 (e.g. 0.05), got {precision}")


def first_round(initial: int, cap: int) -> int:
    """Replications of the first round: ``max(initial, 5)``, at most ``cap``."""
    return min(max(initial, MIN_FIRST_ROUND), cap)


def next_round(tidy: pd.DataFrame, precision: float, cap: int) -> tuple[int, dict[str, Any]]:
    """How many replications to add (0: stop), and the precision report so far.

    Adds as many as the current spread says are needed (n * (relative / precision)^2, at least
    2 more, up to ``cap``), so the stopping rule looks at the CIs only a few times.
    """
    n = int(tidy["replication"].nunique())
    widths = relative_half_widths(tidy)
    usable = widths[widths["relative"].notna() & (widths["mean"] != 0)]
    worst = float(usable["relative"].max()) if len(usable) else 0.0
    info = {
        "target": precision,
        "met": worst <= precision,
        "replications": n,
        "cap": cap,
        "worst_relative_half_width": round(worst, 4),
        "kpis": {f"{scope}.{metric}": round(float(rel), 4)
                 for scope, metric, rel in zip(usable["scope"], usable["metric"],
                                               usable["relative"], strict=True)},
    }
    if worst <= precision or n >= cap:
        return 0, info
    wanted = math.ceil(n * (worst / precision) ** 2)
    return min(max(wanted - n, 2), cap - n), info
