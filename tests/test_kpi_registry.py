"""The KPI registry is the one definition of every KPI: a real run reports exactly its KPIs, in
their units, and every consumer (formatting, CI bounds, views) reads it."""

from __future__ import annotations

import math
from functools import cache

import pandas as pd
import pytest
from conftest import SHIPPED

import revsim
from revsim import kpi_registry as R
from revsim.analysis.ci import summarise
from revsim.table import format_table


@cache
def short_run(path: str) -> tuple[pd.DataFrame, str]:
    """One short replication of a shipped scenario: its KPI table and currency."""
    result = revsim.load(path).run(replications=1, seed=3, horizon="30 w", warmup="4 w",
                                   jobs=1, progress=False)
    return result.kpis, result.model.currency


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_reported_kpi_is_registered_with_its_unit_and_scope(path) -> None:
    kpis, currency = short_run(str(path))
    for metric, scope, unit in set(zip(kpis.metric, kpis.scope, kpis.unit, strict=True)):
        found = R.kpi(metric)
        assert found is not None, f"{metric} is reported but not in revsim/kpi_registry.py"
        assert scope in found.scopes, (metric, scope)
        assert unit == R.unit_in(metric, currency), (metric, unit)


@cache
def forecast_figures() -> set[tuple[str, str]]:
    """(metric, scope) of a short forecast's per-period figures (the example state)."""
    saas = next(p for p in SHIPPED if p.stem == "saas_sales_led")
    result = revsim.load(saas).forecast(saas.parent / "state_example", "2027-01-31", "week",
                                        replications=2, seed=3, jobs=1, progress=False)
    rows = result.replications
    assert set(rows.unit) <= {"count", result.model.currency}
    for metric, unit in set(zip(rows.metric, rows.unit, strict=True)):
        assert unit == R.unit_in(metric, result.model.currency), metric
    return set(zip(rows.metric, rows.scope, strict=True))


def test_every_registered_kpi_is_reported_by_a_shipped_scenario_or_marked_conditional() -> None:
    seen = set(forecast_figures())
    for path in SHIPPED:
        kpis, _ = short_run(str(path))
        seen |= set(zip(kpis.metric, kpis.scope, strict=True))
    never = [(k.id, scope) for k in R.KPIS for scope in k.scopes
             if (k.id, scope) not in seen and not k.only_when.startswith(f"{scope}:")]
    assert never == [], "registered KPIs that no shipped scenario reports (mark only_when?)"


def test_ids_are_unique_and_views_name_registered_kpis_in_their_scopes() -> None:
    assert len(R.BY_ID) == len(R.KPIS)
    assert set(R.SECTIONS) == set(R.SCOPES)
    for k in R.KPIS:
        assert set(k.scopes) <= set(R.SCOPES), k.id
        assert k.direction in ("higher", "lower", "neutral"), k.id
    for name, pairs in R.VIEWS.items():
        for metric, scope in pairs:
            assert scope in R.BY_ID[metric].scopes, (name, metric, scope)
    for scope in R.MATRIX_SCOPES:
        assert [m for m, _ in R.columns(scope)] == [m for m, _ in R.view(f"{scope}_matrix")]


@pytest.mark.parametrize(("value", "unit", "text"), [
    (0.2345, "share", "23.4%"), (41.04, "d", "41.0 d"), (12.54, "per week", "12.5/w"),
    (1234.4, "staff-h", "1,234 h"), (1_234_567.0, "USD", "$1.2M"), (1_234_567.0, "$", "$1.2M"),
    (1234.0, "count", "1,234"), (2.5, "count", "2.50"), (math.nan, "count", "-"),
    (None, "h", "-"),
])
def test_format_value(value, unit, text) -> None:
    assert R.format_value(value, unit, "USD") == text


def test_format_signed() -> None:
    assert R.format_signed(0.005, "share") == "+0.5%"
    assert R.format_signed(-3.44, "d") == "-3.4 d"
    assert R.format_signed(math.nan, "d") == R.format_signed(math.inf, "d") == "-"


def test_unit_bounds_cut_confidence_intervals() -> None:
    assert R.unit_bounds("share") == (0.0, 1.0)
    assert R.unit_bounds("h") == R.unit_bounds("EUR", frozenset({"EUR"})) == (0.0, math.inf)
    assert R.unit_bounds("EUR") == (-math.inf, math.inf)  # not known to be a currency
    tidy = pd.DataFrame({"replication": [0, 1, 0, 1], "metric": ["p_wait"] * 2 + ["wait_mean"] * 2,
                         "scope": "stage", "name": "demo", "unit": ["share"] * 2 + ["h"] * 2,
                         "value": [0.0, 1.0, 0.0, 9.0]})
    k = summarise(tidy).set_index("metric")
    assert k.loc["p_wait", "ci_low"] == 0.0 and k.loc["p_wait", "ci_high"] == 1.0
    assert k.loc["wait_mean", "ci_low"] == 0.0
    assert k.loc["wait_mean", "half_width"] > k.loc["wait_mean", "mean"]  # not cut


def test_direction_and_labels() -> None:
    assert R.direction("dso") == "lower" and R.direction("won") == "higher"
    assert R.direction("wip_mean") == R.direction("staff_cost") == "neutral"
    assert R.display_label("cycle_time_median") == "cycle time created→won, median"
    assert R.label("staff_cost") == "staff cost"


def test_terminal_table_sections_and_labels_come_from_the_registry() -> None:
    kpis, currency = short_run(str(SHIPPED[0]))
    text = format_table(kpis, currency, {"replications": 1})
    lines = text.splitlines()
    for scope in set(kpis.scope):
        title = R.SECTIONS[scope]
        assert any(line == title or line.startswith(f"{title} (mean") for line in lines), scope
    for metric in set(kpis.loc[kpis.scope == "total", "metric"]) - R.hidden_if_zero():
        assert f"  {R.label(metric):<40} " in text, metric


def test_verdict_reads_the_direction() -> None:
    assert R.verdict("dso", -3.0, True) == "better"
    assert R.verdict("dso", 3.0, True) == "worse"
    assert R.verdict("won", 3.0, True) == "better"
    assert R.verdict("wip_mean", 3.0, True) == "changed"
    assert R.verdict("won", 3.0, False) == R.verdict("won", math.nan, True) \
        == "no significant change"
