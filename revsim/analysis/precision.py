"""Sequential replications: keep adding until the headline KPIs are precise enough."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from revsim.analysis.ci import summarise
from revsim.experiment import ReplicationSummary, RunOptions, run_replications
from revsim.kpis import HEADLINE
from revsim.progress import progress_bar
from revsim.scenario.model import Model

HEADLINE_CASH = ("cash_collected", "dso")


def relative_half_widths(reps: list[ReplicationSummary]) -> pd.DataFrame:
    """Headline KPIs with their 95% CI half-width relative to |mean| (NaN where mean is 0)."""
    tidy = pd.concat([pd.DataFrame(r.rows).assign(replication=r.replication) for r in reps])
    k = summarise(tidy)
    head = k[((k.scope == "total") & k.metric.isin(HEADLINE))
             | ((k.scope == "cash") & k.metric.isin(HEADLINE_CASH))].copy()
    head["relative"] = head["half_width"] / head["mean"].abs()
    return head[["metric", "scope", "mean", "half_width", "n", "relative"]]


def run_to_precision(model: Model, seed: int, jobs: int | None, options: RunOptions,
                     precision: float, initial: int, cap: int,
                     progress: bool | None) -> tuple[list[ReplicationSummary], dict[str, Any]]:
    """Replications until every headline KPI's relative half-width is <= precision, or cap.

    Starts with ``max(initial, 5)`` replications, then adds as many as the current spread says
    are needed (n * (relative / precision)^2, at least 2 more), so the stopping rule looks at
    the CIs only a few times. Replication indices continue, so the first n are identical to a
    fixed run of n.
    """
    if not 0 < precision < 1:
        raise ValueError(f"precision must be between 0 and 1 (e.g. 0.05), got {precision}")
    n = min(max(initial, 5), cap)
    with progress_bar(cap, "replications", progress) as bar:
        reps = run_replications(model, replications=n, seed=seed, jobs=jobs, options=options,
                                on_done=bar.update)
        while True:
            widths = relative_half_widths(reps)
            usable = widths[widths["relative"].notna() & (widths["mean"] != 0)]
            worst = float(usable["relative"].max()) if len(usable) else 0.0
            if worst <= precision or len(reps) >= cap:
                break
            wanted = math.ceil(len(reps) * (worst / precision) ** 2)
            more = min(max(wanted - len(reps), 2), cap - len(reps))
            reps += run_replications(model, replications=more, seed=seed, jobs=jobs,
                                     options=options, first=len(reps), on_done=bar.update)
    met = worst <= precision
    info = {
        "target": precision,
        "met": met,
        "replications": len(reps),
        "cap": cap,
        "worst_relative_half_width": round(worst, 4),
        "kpis": {f"{scope}.{metric}": round(float(rel), 4)
                 for scope, metric, rel in zip(usable["scope"], usable["metric"],
                                               usable["relative"], strict=True)},
    }
    return reps, info
