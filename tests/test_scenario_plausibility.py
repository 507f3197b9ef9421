"""Every shipped scenario produces plausible numbers, and its cash ledger balances exactly.

Each scenario in ``scenarios/`` is mapped to a business *kind* (``KIND_OF``); each kind has
documented plausible ranges for four KPIs (``RANGES``), taken from the revenue-cycle benchmarks
in ``docs/domain.md`` (section numbers below). A scenario passes when the 95%
confidence interval of each KPI, over a few replications of the scenario's own horizon and
warm-up, overlaps the range. That is deliberately loose: a benchmark range is a statement about
many companies, a scenario is one company; the test catches a scenario (or an engine change)
that has drifted far outside anything the sources describe.

A new scenario must be added to ``KIND_OF``; the test fails and says so until it is.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import NamedTuple

import pytest
from conftest import SCENARIOS, SHIPPED_REPLICATIONS, shipped_run

import revsim
from revsim.analysis.ci import t_interval
from revsim.results import RunResult

SHIPPED = sorted(SCENARIOS.glob("*.toml"))


class Range(NamedTuple):
    low: float
    high: float
    source: str


# Plausible ranges per kind. Shares are fractions, times are days. Sources are in
# docs/domain.md (the revenue-cycle benchmarks); "(derived)" marks a range computed from them.
RANGES: dict[str, dict[str, Range]] = {
    "sales-led SaaS": {
        # 1.1: lead->won p50 0.91% sales-led, 0.55% enterprise, 1.63% SMB inbound (lotoftools);
        # inbound median 1.5%, top quartile 2.5% (growthengineer.ai).
        "conversion": Range(0.005, 0.025, "domain.md 1.1 (lotoftools p50s; inbound 1.5%/2.5%)"),
        # 1.2: 21% of all opps / ~29% of qualified (HubSpot); 15-25% from qualified opp
        # (therevopsreport); 1.1: opp->won p50 22% sales-led (lotoftools).
        "win_rate": Range(0.15, 0.30, "domain.md 1.2 (HubSpot 21-29%, therevopsreport 15-25%)"),
        # 1.3: Bridge Group medians 60 d ($25k ACV) and 72 d ($35k ASP); mid-market 30-90 d
        # (thecroreport); Optifai median B2B SaaS 84 d.
        "cycle_time_median": Range(30, 90, "domain.md 1.3 (Bridge Group 60/72 d, mid-market 30-90 d)"),
        # 1.7: DSO 40.1 d (Hackett, US top 1,000); 38.6-51.3 d (Growfin 2025 by size); 48 d
        # (Atradius Americas 2014); manufacturing 45-60 d (creditpulse).
        "dso": Range(35, 60, "domain.md 1.7 (Hackett 40.1 d, Growfin 38.6-51.3 d, Atradius 48 d)"),
    },
    "product-led SaaS": {
        # 1.1: lead->won p50 PLG 2.05% (lotoftools); inbound median 1.5%, top quartile 2.5%.
        "conversion": Range(0.015, 0.025, "domain.md 1.1 (PLG p50 2.05%; inbound 1.5%/2.5%)"),
        # 1.1: opp->won p50 PLG 24% (lotoftools); 1.2: SMB win rate 25-40% (knowlee).
        "win_rate": Range(0.20, 0.40, "domain.md 1.1/1.2 (PLG opp->won 24%, SMB 25-40%)"),
        # 1.3: SMB ($5-25k) 14-30 d (thecroreport); SMB < $5k ~40 d (Optifai, secondary).
        "cycle_time_median": Range(14, 45, "domain.md 1.3 (SMB 14-30 d, < $5k ~40 d)"),
        # (derived) No DSO benchmark for card billing in domain.md. 3.1: a Stripe invoice with
        # charge_automatically is due when finalised; 1.7: failed charges are retried within
        # ~2 weeks (Smart Retries, 8 tries). So receivables should turn over in days, not months.
        "dso": Range(0, 15, "domain.md 3.1/1.7 (derived: card due at issue, retries < 2 w)"),
    },
    "enterprise": {
        # 1.1: lead->won p50 enterprise 0.55%, sales-led 0.91% (lotoftools). Lower end
        # (derived): MQL->SQL 8-18% for $100k+ ACV (getspike) in the enterprise funnel gives
        # 0.24 x 0.08 x 0.40 x 0.18 = 0.14%.
        "conversion": Range(0.0015, 0.009, "domain.md 1.1 (enterprise p50 0.55%; $100k+ MQL->SQL 8-18%)"),
        # 1.1: opp->won p50 enterprise 18% (lotoftools); 1.2: > $100k ACV median ~15%
        # (HubSpot), 10-20% (knowlee), 15-25% (firstsales).
        "win_rate": Range(0.10, 0.25, "domain.md 1.1/1.2 (enterprise 18%, 10-20%, 15-25%)"),
        # 1.3: enterprise ($100k+) 90-180 d, complex > 9 months (thecroreport); 6-12 months
        # (Optifai, secondary).
        "cycle_time_median": Range(90, 365, "domain.md 1.3 (90-180 d, 6-12 months)"),
        # 1.7: Growfin 2025 43.8-51.3 d for larger companies; Euler Hermes 2018 global average
        # 66 d; 2 (BPIC 2019 own analysis): invoice->clear median 64.7 d with modes at 30/60/90 d
        # terms. Net 60/90 terms put enterprise sellers at the upper end.
        "dso": Range(40, 90, "domain.md 1.7/2 (Growfin 43.8-51.3 d, Euler Hermes 66 d, BPIC 2019 64.7 d)"),
    },
    "services": {
        # 1.1: First Page Sage stage ranges (lead->MQL 15-30%, MQL->SQL 30-50%, SQL->opp
        # 50-75%, opp->close 15-30%) multiply to 0.34%-3.4% (derived). No agency-specific
        # funnel benchmark in domain.md.
        "conversion": Range(0.0034, 0.034, "domain.md 1.1 (First Page Sage ranges, product)"),
        # 1.2: overall B2B 15-40%, typically 25% (firstsales).
        "win_rate": Range(0.15, 0.40, "domain.md 1.2 (B2B 15-40%)"),
        # 1.3: mid-market ($25-100k) 30-90 d (thecroreport).
        "cycle_time_median": Range(30, 90, "domain.md 1.3 (mid-market 30-90 d)"),
        # 1.7: Growfin 38.6 d (smaller companies); Atradius Americas 2014 48 d; manufacturing
        # 45-60 d (creditpulse, vendor); Euler Hermes 2018 global 66 d. Slow, manufacturing-like
        # clients (Xero AU: 40 d to pay, ~60% late) sit in the middle of this.
        "dso": Range(40, 70, "domain.md 1.7 (Growfin 38.6 d ... Euler Hermes 66 d)"),
    },
}

# Shipped scenario file -> kind. Add every new scenario here.
KIND_OF: dict[str, str] = {
    "saas_sales_led.toml": "sales-led SaaS",
    "saas_product_led.toml": "product-led SaaS",
    "enterprise.toml": "enterprise",
    "agency_services.toml": "services",
}

OPPORTUNITY_EVENT = "opportunity_created"


def _kind(path: Path) -> str:
    kind = KIND_OF.get(path.name)
    if kind is None:
        pytest.fail(
            f"shipped scenario {path.name} has no kind in KIND_OF "
            f"({Path(__file__).name}); add it as one of {sorted(RANGES)} "
            "(or add a kind with documented ranges)"
        )
    assert kind in RANGES, f"KIND_OF[{path.name!r}] = {kind!r} has no RANGES entry"
    return kind


def _opportunity_stages(sc: revsim.Scenario) -> list[str]:
    stages = sc.raw.get("stages", {})
    return [name for name, spec in stages.items() if (spec or {}).get("event") == OPPORTUNITY_EVENT]


def _interval(sc: revsim.Scenario, res: RunResult, metric: str) -> tuple[float, float, float]:
    """(mean, ci_low, ci_high) of a KPI; win_rate is won / arrivals at the opportunity stage(s),
    per replication, with a Student-t interval over the replications."""
    if metric == "win_rate":
        opp_stages = _opportunity_stages(sc)
        assert opp_stages, (
            f"{sc.source}: its kind has a win-rate range but no stage has "
            f"event = \"{OPPORTUNITY_EVENT}\""
        )
        opps = sum(res.values("arrivals", "stage", s) for s in opp_stages)
        ratio = res.values("won") / opps
        mean, lo, hi, _ = t_interval(ratio)
        return mean, lo, hi
    row = res.kpi(metric, "cash") if metric == "dso" else res.kpi(metric)
    return float(row["mean"]), float(row["ci_low"]), float(row["ci_high"])


def _fmt(metric: str, x: float) -> str:
    return f"{100 * x:.2f}%" if metric in ("conversion", "win_rate") else f"{x:.1f} d"


def test_every_shipped_scenario_has_a_kind() -> None:
    missing = [p.name for p in SHIPPED if p.name not in KIND_OF]
    assert not missing, (
        f"shipped scenarios missing from KIND_OF in {Path(__file__).name}: {missing}; "
        f"add each with one of the kinds {sorted(RANGES)}"
    )
    stale = sorted(set(KIND_OF) - {p.name for p in SHIPPED})
    assert not stale, f"KIND_OF lists scenarios that are not shipped: {stale}"


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_kpis_overlap_plausible_ranges(path: Path) -> None:
    kind = _kind(path)
    sc, res = shipped_run(path)
    problems = []
    for metric, rng in RANGES[kind].items():
        mean, lo, hi = _interval(sc, res, metric)
        if not math.isfinite(mean):
            problems.append(f"{metric}: no value (mean {mean})")
            continue
        if not (math.isfinite(lo) and math.isfinite(hi)):
            lo = hi = mean
        if hi < rng.low or lo > rng.high:
            problems.append(
                f"{metric}: mean {_fmt(metric, mean)}, 95% CI [{_fmt(metric, lo)}, "
                f"{_fmt(metric, hi)}] does not overlap the plausible range "
                f"[{_fmt(metric, rng.low)}, {_fmt(metric, rng.high)}] for {kind} ({rng.source})"
            )
    assert not problems, f"{path.name} ({kind}):\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_cash_identities_hold_on_every_replication(path: Path) -> None:
    sc, res = shipped_run(path)
    if sc.model.cash is None:
        pytest.skip(f"{path.name} has no cash side")
    assert len(res.replications) == SHIPPED_REPLICATIONS
    for rep in res.replications:
        ledger = rep.extra["ledger"]
        assert all(isinstance(v, int) for v in ledger.values()), ledger
        assert ledger["booked"] > 0, f"{path.name} rep {rep.replication}: nothing booked"
        assert ledger["booked"] == ledger["invoiced"] + ledger["unbilled"] + ledger["cancelled"], (
            f"{path.name} rep {rep.replication}: booked != invoiced + unbilled + cancelled: {ledger}"
        )
        assert ledger["invoiced"] == (
            ledger["collected"] + ledger["written_off"] + ledger["outstanding"]
        ), (
            f"{path.name} rep {rep.replication}: invoiced != collected + written_off + "
            f"outstanding: {ledger}"
        )
