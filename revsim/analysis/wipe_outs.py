"""Warnings for results that are silently empty: a stage that loses most of its arrivals to
patience or decay, a run that books nothing or collects nothing. Each names the cause and the
setting to look at; a scenario can be right to do this, so these are warnings, not errors."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from revsim.kpi_registry import format_value

#: A stage whose mean abandoned share of arrivals reaches this gets a warning.
ABANDONED_WARN = 0.5


def _mean(kpis: pd.DataFrame, metric: str, scope: str, name: str = "") -> float | None:
    hit = kpis[(kpis["metric"] == metric) & (kpis["scope"] == scope)
               & (kpis["name"].fillna("") == name)]
    return None if hit.empty else float(hit["mean"].iloc[0])


def wipe_out_warnings(kpis: pd.DataFrame, pools: Mapping[str, str | None],
                      currency: str = "USD") -> list[str]:
    """The warnings for a KPI table (``RunResult.kpis``); ``pools`` names each stage's pool
    (None: unstaffed)."""
    out = []
    shares = kpis[(kpis["metric"] == "abandoned_share") & (kpis["scope"] == "stage")]
    for _, r in shares.iterrows():
        if r["mean"] >= ABANDONED_WARN:
            pool = pools.get(r["name"])
            staff = f" or more staff in pool {pool} (pools.{pool}.headcount)" if pool else ""
            out.append(f"stage {r['name']}: {r['mean']:.0%} of its arrivals gave up waiting or "
                       f"went cold (abandoned share, 95% CI [{r['ci_low']:.0%}, "
                       f"{r['ci_high']:.0%}], n={int(r['n'])}); look at "
                       f"stages.{r['name']}.patience{staff}")
    leads = _mean(kpis, "leads_in", "total")
    booked = _mean(kpis, "bookings", "total")
    won = _mean(kpis, "won", "total")
    if leads and won == 0:
        out.append(f"no deal was won in any replication ({leads:,.0f} leads in on average); "
                   "look at the patience of the first stages, the routes to won and the "
                   "horizon")
    elif won and booked == 0:
        out.append(f"{won:,.1f} deals won on average, but nothing booked: no deal has a value; "
                   "give the sources a value (sources.NAME.value) or add [segments] with one")
    invoiced = _mean(kpis, "invoiced", "cash")
    collected = _mean(kpis, "cash_collected", "cash")
    if invoiced and collected == 0:
        out.append(f"no cash was collected in any replication ("
                   f"{format_value(invoiced, currency, currency)} invoiced on average); look at "
                   "[payment] (on_time, late, lateness) and the horizon")
    return out


__all__ = ["ABANDONED_WARN", "wipe_out_warnings"]
