"""What-if comparisons: the Comparison API, Holm's correction, comparability checks, the named
interventions (revsim.interventions) and the ``revsim compare`` command.

The engine uses common random numbers: every scenario run with the same root seed sees the same
arrivals, and per-lead decisions (routing, payment behaviour) are keyed by lead, so differences
between paired replications isolate the effect of the change. Several checks below rely on it
(a change that cannot touch a KPI leaves it exactly unchanged in every replication).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import merge, write_toml
from validation.stats import assert_consistent

import revsim
from revsim import interventions as iv
from revsim import kpi_registry
from revsim.analysis.paired import check_comparable, holm
from revsim.cli import main
from revsim.errors import OverrideError, ScenarioError
from revsim.results import Comparison

TABLE_COLUMNS = ["variant", "metric", "scope", "name", "unit", "base_mean", "variant_mean",
                 "diff", "ci_low", "ci_high", "half_width", "n", "p_value", "p_adjusted",
                 "significant"]
JOBS = 2
REPS = 5


def shop() -> dict[str, Any]:
    """A small sales cycle with cash: 24/7 SDRs qualify, AEs run demo and close (a shared pool,
    close served first), one-off deals billed at signature, 30% of invoices paid late."""
    return {
        "scenario": {"name": "shop", "start": dt.date(2027, 1, 4), "horizon": "8 w",
                     "warmup": "2 w"},
        "segments": {"smb": {"value": 1000}, "ent": {"value": 5000}},
        "sources": {"web": {"rate": "20/d", "to": "qualify",
                            "segments": {"smb": 0.7, "ent": 0.3}}},
        "pools": {"sdr": {"headcount": 2, "cost_per_head": "60k"}, "ae": {"headcount": 2}},
        "stages": {
            "qualify": {"pool": "sdr", "work": {"dist": "exponential", "mean": "1 h"},
                        "routes": {"demo": 0.5, "lost": 0.3, "disqualified": 0.2}},
            "demo": {"pool": "ae", "work": {"dist": "exponential", "mean": "2 h"},
                     "routes": {"close": 0.6, "lost": 0.4}},
            "close": {"pool": "ae", "work": {"dist": "exponential", "mean": "1 h"},
                      "pool_priority": 1, "routes": {"won": 0.7, "lost": 0.3}},
        },
        "deals": {"contract": {"type": "one_off", "billing": "upfront", "terms": "net 30"}},
        "payment": {"on_time": 0.7, "late": 0.3,
                    "lateness": {"dist": "exponential", "mean": "10 d"}},
    }


@pytest.fixture(scope="module")
def base() -> revsim.Scenario:
    return revsim.Scenario(shop())


def rows(table: pd.DataFrame, variant: str, metric: str, scope: str = "total",
         name: str = "") -> pd.Series:
    hit = table[(table.variant == variant) & (table.metric == metric) & (table.scope == scope)
                & (table.name == name)]
    assert len(hit) == 1, (variant, metric, scope, name)
    return hit.iloc[0]


# ------------------------------------------------------------------------- the Comparison API


@pytest.fixture(scope="module")
def comparison(base: revsim.Scenario) -> Comparison:
    renamed = base.with_changes({"scenario.name": "shop, 3 SDRs", "pools.sdr.headcount": 3})
    same_name = base.with_changes({"stages.demo.work_scale": 0.5})
    return base.compare(
        {"pools.ae.headcount": 3},                    # a dict of changes
        renamed,                                      # a Scenario with its own name
        same_name,                                    # a Scenario named like the base
        ("faster close", {"stages.close.work_scale": 0.5}),  # (label, changes)
        ("faster close", base),                       # duplicate label, base itself
        replications=REPS, seed=3, jobs=JOBS, progress=False,
    )


def test_comparison_labels_and_columns(comparison: Comparison) -> None:
    t = comparison.table
    assert list(t.columns) == TABLE_COLUMNS
    assert list(t.variant.unique()) == ["pools.ae.headcount=3", "shop, 3 SDRs", "variant 3",
                                        "faster close", "faster close (5)"]
    assert list(comparison.variants) == list(t.variant.unique())
    # one row per variant x KPI, the same KPIs for every variant
    per_variant = t.groupby("variant").size()
    assert per_variant.nunique() == 1
    assert (t["n"][t["base_mean"].notna()] == REPS).all()
    assert comparison.base.manifest["replications"] == REPS


def test_comparison_means_are_the_runs_means(comparison: Comparison) -> None:
    t = comparison.table
    for label, result in comparison.variants.items():
        for metric, scope, name in [("won", "total", ""), ("wait_mean", "stage", "demo"),
                                    ("dso", "cash", ""), ("utilisation", "pool", "ae")]:
            r = rows(t, label, metric, scope, name)
            assert r["base_mean"] == pytest.approx(comparison.base.kpi(metric, scope, name)["mean"])
            assert r["variant_mean"] == pytest.approx(result.kpi(metric, scope, name)["mean"])
            assert r["diff"] == pytest.approx(r["variant_mean"] - r["base_mean"], abs=1e-9)
            assert r["ci_low"] <= r["diff"] <= r["ci_high"]
            assert r["half_width"] == pytest.approx((r["ci_high"] - r["ci_low"]) / 2)


def test_comparison_with_the_base_itself_is_exactly_zero(comparison: Comparison) -> None:
    t = comparison.table
    same = t[(t.variant == "faster close (5)") & (t.n > 1)]
    assert len(same) > 20
    assert (same["diff"] == 0).all()
    assert (same["half_width"] == 0).all()
    assert not same["significant"].any()


def test_changes_reach_only_what_they_touch(comparison: Comparison) -> None:
    """CRN: more AEs cannot change anything upstream of the AEs (the SDR stage) in any
    replication, and do shorten the AEs' queue."""
    t = comparison.table
    up = rows(t, "pools.ae.headcount=3", "wait_mean", "stage", "qualify")
    assert (up["diff"], up["half_width"]) == (0.0, 0.0)
    assert rows(t, "pools.ae.headcount=3", "headcount_end", "pool", "ae")["diff"] == 1.0
    demo = rows(t, "pools.ae.headcount=3", "wait_mean", "stage", "demo")
    assert demo["ci_high"] < 0


def test_holm_adjustment_across_variants(comparison: Comparison) -> None:
    t = comparison.table
    checked = 0
    for _, g in t.groupby(["metric", "scope", "name", "unit"], sort=False):
        assert len(g) == len(comparison.variants)
        np.testing.assert_allclose(g["p_adjusted"].to_numpy(), holm(g["p_value"].to_numpy()))
        ok = g["p_value"].notna()
        assert (g.loc[ok, "p_adjusted"] >= g.loc[ok, "p_value"] - 1e-15).all()
        assert (g["significant"] == (g["p_adjusted"] < 0.05)).all()
        checked += 1
    assert checked > 20
    # Holm never adds significance
    assert not (t.significant & ~(t.p_value < 0.05)).any()


def test_comparison_format_and_headline(comparison: Comparison, tmp_path: Path) -> None:
    text = comparison.format()
    for label in comparison.variants:
        assert f"\n{label}\n" in text
    assert text.count("[") >= len(comparison.variants)  # CIs printed
    head = comparison.headline()
    assert set(head.metric) <= {"won", "bookings", "conversion", "cycle_time_median",
                                "time_to_first_touch_median", "cash_collected", "dso"}
    written = comparison.to_dir(tmp_path / "out")
    names = {p.name for p in written}
    assert {"comparison.csv", "kpis_base.csv"} <= names
    assert sum(n.startswith("kpis_variant") for n in names) == len(comparison.variants)
    csv = pd.read_csv(tmp_path / "out" / "comparison.csv")
    assert list(csv.columns) == TABLE_COLUMNS


def test_verdicts_follow_the_registered_direction(comparison: Comparison) -> None:
    v = comparison.verdicts()
    assert len(v) == len(comparison.headline())
    for _, r in v.iterrows():
        if not r["significant"]:
            assert r["verdict"] == "no significant change"
        else:
            better = (r["diff"] > 0) == (kpi_registry.direction(r["metric"]) == "higher")
            assert r["verdict"] == ("better" if better else "worse"), r["metric"]


def test_compare_needs_a_variant(base: revsim.Scenario) -> None:
    with pytest.raises(ScenarioError, match="at least one variant"):
        base.compare()


# --------------------------------------------------------------------------- comparability


def test_check_comparable_rejects_a_different_horizon(base: revsim.Scenario) -> None:
    longer = base.with_changes({"scenario.horizon": "10 w"})
    with pytest.raises(ScenarioError) as info:
        check_comparable(base.model, longer.model, "longer")
    err = info.value
    assert [p.path for p in err.problems] == ["horizon"]
    assert "longer" in str(err) and "horizon" in str(err)
    # and compare() refuses before running anything
    with pytest.raises(ScenarioError, match="horizon"):
        base.compare(longer, replications=2)
    other = base.with_changes({"scenario.warmup": "1 w", "scenario.start": dt.date(2027, 2, 1)})
    with pytest.raises(ScenarioError) as info:
        check_comparable(base.model, other.model, "other")
    assert {p.path for p in info.value.problems} == {"warmup", "start"}


def test_overriding_the_window_makes_different_horizons_comparable(base: revsim.Scenario
                                                                   ) -> None:
    """The error above says to override both windows with --horizon/--warmup; doing so runs
    base and variant on the same window, so the comparison must go ahead."""
    longer = base.with_changes({"scenario.horizon": "10 w"})
    cmp = base.compare(longer, replications=2, horizon="6 w", warmup="1 w", jobs=1,
                       progress=False)
    assert cmp.base.manifest["horizon_hours"] == 6 * 168
    assert cmp.variants["variant 1"].manifest["horizon_hours"] == 6 * 168
    assert (cmp.table["diff"][cmp.table.n > 1] == 0).all()  # the same scenario on that window


def test_check_comparable_notes_what_differs_harmlessly(base: revsim.Scenario) -> None:
    raw = shop()
    raw["stages"]["qualify"]["routes"] = {"demo": 0.4, "recheck": 0.1, "lost": 0.3,
                                          "disqualified": 0.2}
    raw["stages"]["recheck"] = {"pool": "ops", "work": "30 min", "routes": {"demo": 1.0}}
    raw["pools"]["ops"] = {"headcount": 1}
    variant = revsim.Scenario(raw)
    notes = check_comparable(base.model, variant.model, "v")
    assert any("stages only in the variant" in n and "recheck" in n for n in notes)
    assert any("pools only in the variant" in n and "ops" in n for n in notes)
    no_cash = {k: v for k, v in shop().items() if k not in ("deals", "payment")}
    notes = check_comparable(base.model, revsim.Scenario(no_cash).model, "nc")
    assert any("cash" in n for n in notes)
    assert check_comparable(base.model, base.model, "same") == []


# ---------------------------------------------------------------------------- interventions


def test_hire_from_the_start_and_on_a_date(base: revsim.Scenario) -> None:
    label, changes = iv.hire(base.raw, "ae", 2)
    assert changes == {"pools.ae.headcount": 4}
    assert "ae" in label
    assert base.with_changes(changes).model.pools[1].headcount == 4

    label, changes = iv.hire(base.raw, "ae", 2, "2027-02-01", ramp="4 w")
    assert "2027-02-01" in label
    sc = base.with_changes(changes)
    pool = next(p for p in sc.model.pools if p.name == "ae")
    assert pool.headcount == 2
    assert len(pool.hires) == 1
    hire = pool.hires[0]
    assert hire.count == 2
    assert hire.at == pytest.approx((dt.date(2027, 2, 1) - dt.date(2027, 1, 4)).days * 24.0)
    assert hire.ramp is not None
    # a dated hire keeps the pool's existing hires
    with_hire = base.with_changes({"pools.ae.hires": [{"date": dt.date(2027, 1, 18)}]})
    _, changes = iv.hire(with_hire.raw, "ae", 1, dt.date(2027, 2, 1))
    assert len(changes["pools.ae.hires"]) == 2


def test_respond_first_sets_the_top_pool_priority(base: revsim.Scenario) -> None:
    _, changes = iv.respond_first(base.raw, "demo")
    # close already has pool_priority 1 in the shared AE pool
    assert changes == {"stages.demo.pool_priority": 2}
    model = base.with_changes(changes).model
    prio = {s.name: s.pool_priority for s in model.stages if s.pool == 1}
    assert prio["demo"] > max(v for k, v in prio.items() if k != "demo")


def test_route_by_value(base: revsim.Scenario) -> None:
    _, changes = iv.route_by_value(base.raw, "demo")
    stage = next(s for s in base.with_changes(changes).model.stages if s.name == "demo")
    assert (stage.discipline, stage.priority) == ("priority", "value")


def test_raise_conversion_renormalises_routes(base: revsim.Scenario) -> None:
    _, changes = iv.raise_conversion(base.raw, "qualify", "demo", "+10%")
    routes = changes["stages.qualify.routes"]
    assert routes["demo"] == pytest.approx(0.55)
    assert sum(routes.values()) == pytest.approx(1.0)
    # the other routes shrink in proportion: lost:disqualified stays 3:2
    assert routes["lost"] / routes["disqualified"] == pytest.approx(1.5)
    _, changes = iv.raise_conversion(base.raw, "qualify", "demo", "+5pp")
    assert changes["stages.qualify.routes"]["demo"] == pytest.approx(0.55)
    _, changes = iv.raise_conversion(base.raw, "qualify", "demo", "-20pp")
    assert changes["stages.qualify.routes"]["demo"] == pytest.approx(0.30)
    assert sum(changes["stages.qualify.routes"].values()) == pytest.approx(1.0)
    base.with_changes(changes)  # still a valid scenario
    for bad in ("+150%", "+60pp", "-60pp"):
        with pytest.raises(OverrideError, match="--conversion.*outside 0..1"):
            iv.raise_conversion(base.raw, "qualify", "demo", bad)


def test_automate_scales_work(base: revsim.Scenario) -> None:
    _, changes = iv.automate(base.raw, "qualify", 30)
    assert changes == {"stages.qualify.work_scale": pytest.approx(0.7)}
    twice = base.with_changes(changes)
    _, again = iv.automate(twice.raw, "qualify", 50)
    assert again == {"stages.qualify.work_scale": pytest.approx(0.35)}


def test_automate_cuts_staff_hours_by_that_share_exactly_when_all_work_is_in_the_window(
) -> None:
    """CRN: a scaled work distribution sees the same draws, each multiplied by the scale.
    With a fixed number of leads that all finish inside the window, the staff hours of the
    stage are the sum of the same draws, so they drop by exactly the automated share."""
    raw = merge(shop(), {"scenario": {"horizon": "6 w", "warmup": "0 h"},
                         "sources": {"web": {"limit": 300}}})
    sc = revsim.Scenario(raw)
    _, changes = iv.automate(sc.raw, "qualify", 30)
    b = sc.run(replications=3, seed=5, jobs=1, progress=False)
    v = sc.with_changes(changes).run(replications=3, seed=5, jobs=1, progress=False)
    np.testing.assert_allclose(b.values("arrivals", "stage", "qualify"), 300)
    np.testing.assert_allclose(v.values("staff_hours", "stage", "qualify"),
                               0.7 * b.values("staff_hours", "stage", "qualify"), rtol=1e-9)
    # the other stages' staff time is untouched
    np.testing.assert_allclose(v.values("staff_hours", "stage", "demo"),
                               b.values("staff_hours", "stage", "demo"), rtol=1e-9)


@pytest.fixture(scope="module")
def named() -> Comparison:
    """Named changes on the shop, paired. (The harmless by_segment entry is there because a
    per-segment terms change on a file without one fails; see
    test_payment_terms_for_one_segment_without_a_by_segment_table.)"""
    sc = revsim.Scenario(merge(shop(), {"deals": {"by_segment": {"smb": {"billing": "upfront"}}}}))
    raw = sc.raw
    return sc.compare(
        iv.automate(raw, "qualify", 30),
        iv.payment_terms(raw, "net 15"),
        iv.payment_terms(raw, "net 15", "ent"),
        iv.dunning(raw, ["1 d", "7 d"], 3.0),
        iv.raise_conversion(raw, "qualify", "demo", "+10%"),
        replications=REPS, seed=11, jobs=JOBS, progress=False,
    )


def test_automate_cuts_staff_hours_in_steady_state(named: Comparison) -> None:
    """In a stable queue the expected staff hours in the window are (work per item) x (items
    started), and automation does not change the expected number of starts: E[variant] =
    0.7 E[base]. Per replication the paired residual variant - 0.7 base has mean 0."""
    b = named.base.values("staff_hours", "stage", "qualify")
    v = named.variants["automate 30% of qualify"].values("staff_hours", "stage", "qualify")
    assert_consistent(v - 0.7 * b, 0.0, name="staff hours after automating 30%")
    r = rows(named.table, "automate 30% of qualify", "staff_hours", "stage", "qualify")
    assert r["significant"] and r["diff"] < 0


def test_payment_terms_shorten_dso(named: Comparison) -> None:
    base_dso = named.base.values("dso", "cash")
    all_dso = named.variants["terms net 15"].values("dso", "cash")
    ent_dso = named.variants["terms net 15 for ent"].values("dso", "cash")
    for label in ("terms net 15", "terms net 15 for ent"):
        r = rows(named.table, label, "dso", "cash")
        assert r["ci_high"] < 0 and r["significant"], label
        # terms touch cash only: the funnel is exactly the same
        assert rows(named.table, label, "won")["diff"] == 0
    # Payment behaviour is keyed per invoice: shorter terms make every on-time invoice due (and
    # paid) no later, so the ordering holds replication by replication.
    assert (all_dso < ent_dso).all()
    assert (ent_dso < base_dso).all()


def test_terminal_table_says_a_shorter_dso_is_better(named: Comparison) -> None:
    # dso is lower-is-better in the registry: its significant drop under net 15 reads "better"
    block = named.format().split("\nterms net 15\n", 1)[1].split("\n\n", 1)[0]
    dso_line = next(line for line in block.splitlines() if line.split()[0] == "dso")
    assert "*" in dso_line and dso_line.endswith("  better"), dso_line
    unchanged = next(line for line in block.splitlines() if line.split()[0] == "won")
    assert not unchanged.endswith(("better", "worse")), unchanged


def test_payment_terms_changes(base: revsim.Scenario) -> None:
    _, changes = iv.payment_terms(base.raw, "net 15")
    assert changes == {"deals.contract.terms": "net 15"}
    raw = merge(shop(), {"deals": {"by_segment": {"smb": {"terms": "net 45"}}}})
    _, changes = iv.payment_terms(raw, "net 10", "ent")
    assert changes == {"deals.by_segment": {"smb": {"terms": "net 45"},
                                            "ent": {"terms": "net 10"}}}
    model = revsim.Scenario(raw).with_changes(changes).model
    seg = {name: i for i, name in enumerate(model.segments)}
    assert model.cash is not None
    assert model.cash.contracts[seg["ent"]].terms == pytest.approx(10 * 24)
    assert model.cash.contracts[seg["smb"]].terms == pytest.approx(45 * 24)


def test_payment_terms_for_one_segment_without_a_by_segment_table(base: revsim.Scenario
                                                                  ) -> None:
    """The shop has no [deals.by_segment] table: the change must still apply."""
    _, changes = iv.payment_terms(base.raw, "net 15", "ent")
    model = base.with_changes(changes).model
    seg = {name: i for i, name in enumerate(model.segments)}
    assert model.cash is not None
    assert model.cash.contract(seg["ent"]).terms == pytest.approx(15 * 24)
    assert model.cash.contract(seg["smb"]).terms == pytest.approx(30 * 24)  # the default


def test_payment_terms_for_all_deals_reach_segments_with_their_own_terms() -> None:
    """"Terms for all deals" must not silently skip a segment that has its own terms (the
    shipped scenarios give enterprise deals net 60 / net 90)."""
    raw = merge(shop(), {"deals": {"by_segment": {"ent": {"terms": "net 60"}}}})
    _, changes = iv.payment_terms(raw, "net 15")
    model = revsim.Scenario(raw).with_changes(changes).model
    assert model.cash is not None
    assert {c.terms for c in model.cash.contracts.values()} == {15 * 24.0}, \
        "payment_terms(raw, 'net 15') left a segment on its own terms"


def test_dunning_sets_reminders(named: Comparison, base: revsim.Scenario) -> None:
    _, changes = iv.dunning(base.raw, ["1 d", "7 d"], 3.0)
    assert changes == {"dunning": {"reminders": ["1 d", "7 d"], "factor": 3.0}}
    cash = base.with_changes(changes).model.cash
    assert cash is not None
    assert cash.reminders == (24.0, 168.0)
    assert cash.dunning_factor == 3.0
    # existing dunning settings are kept, the reminders replaced
    raw = merge(shop(), {"dunning": {"reminders": ["30 d"], "window": "3 d"}})
    _, changes = iv.dunning(raw, ["2 d"])
    assert changes == {"dunning": {"reminders": ["2 d"], "window": "3 d"}}
    touches = named.variants["dunning at 1 d, 7 d"].values("dunning_touches", "cash")
    assert (named.base.values("dunning_touches", "cash") == 0).all()
    assert (touches > 0).all()
    r = rows(named.table, "dunning at 1 d, 7 d", "dso", "cash")
    assert r["ci_high"] < 0


def test_raise_conversion_raises_wins(named: Comparison) -> None:
    """Routing draws are keyed per lead: raising P(qualify -> demo) sends a superset of the
    leads to demo, so wins rise."""
    r = rows(named.table, "qualify->demo +10%", "won")
    assert r["ci_low"] > 0 and r["significant"]


@pytest.mark.parametrize(("call", "option"), [
    (lambda raw: iv.hire(raw, "aes", 1), "--hire"),
    (lambda raw: iv.hire(raw, "ae", 0), "--hire"),
    (lambda raw: iv.respond_first(raw, "nope"), "--respond-first"),
    (lambda raw: iv.route_by_value(raw, "qualifyy"), "--route-by-value"),
    (lambda raw: iv.automate(raw, "qualify", 0), "--automate"),
    (lambda raw: iv.automate(raw, "qualify", 100), "--automate"),
    (lambda raw: iv.automate(raw, "demoo", 10), "--automate"),
    (lambda raw: iv.payment_terms(raw, "net 15", "mid"), "--terms"),
    (lambda raw: iv.raise_conversion(raw, "qualify", "won", "+10%"), "--conversion"),
    (lambda raw: iv.raise_conversion(raw, "qualify", "demo", "ten percent"), "--conversion"),
    (lambda raw: iv.raise_conversion(raw, "qualifi", "demo", "+10%"), "--conversion"),
])
def test_bad_intervention_arguments_name_the_option(call: Any, option: str) -> None:
    with pytest.raises(OverrideError) as info:
        call(shop())
    assert [p.path for p in info.value.problems] == [option]


def test_bad_intervention_arguments_list_the_valid_choices() -> None:
    with pytest.raises(OverrideError, match="did you mean 'ae'.*valid: ae, sdr"):
        iv.hire(shop(), "aes", 1)
    with pytest.raises(OverrideError, match="valid: close, demo, qualify"):
        iv.respond_first(shop(), "nope")
    with pytest.raises(OverrideError, match="valid: ent, smb"):
        iv.payment_terms(shop(), "net 15", "mid")
    with pytest.raises(OverrideError, match="valid: demo, disqualified, lost"):
        iv.raise_conversion(shop(), "qualify", "won", "+10%")


def test_interventions_on_stages_without_staff_or_deals() -> None:
    raw = shop()
    raw["stages"]["qualify"]["routes"] = {"wait": 0.5, "lost": 0.3, "disqualified": 0.2}
    raw["stages"]["wait"] = {"delay": "1 d", "routes": {"demo": 1.0}}
    no_cash = {k: v for k, v in raw.items() if k not in ("deals", "payment")}
    for call, option in [
        (lambda: iv.respond_first(raw, "wait"), "--respond-first"),
        (lambda: iv.route_by_value(raw, "wait"), "--route-by-value"),
        (lambda: iv.automate(raw, "wait", 10), "--automate"),
        (lambda: iv.payment_terms(no_cash, "net 15"), "--terms"),
        (lambda: iv.dunning(no_cash, ["1 d"]), "--dunning"),
    ]:
        with pytest.raises(OverrideError) as info:
            call()
        assert [p.path for p in info.value.problems] == [option]


@pytest.mark.parametrize(("call", "option"), [
    (lambda raw: iv.dunning(raw, ["1 d", "7 dys"]), "--dunning"),
    (lambda raw: iv.hire(raw, "ae", 1, "2027-13-01"), "--hire"),
])
def test_unreadable_intervention_values_raise_override_error(call: Any, option: str) -> None:
    """A bad duration or date is a bad argument like any other: OverrideError naming the
    option (the CLI turns OverrideError into a clean exit 2; a bare ValueError is a
    traceback)."""
    with pytest.raises(OverrideError) as info:
        call(shop())
    assert info.value.problems[0].path == option


# ------------------------------------------------------------------------------------- CLI


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def shop_file(tmp_path: Path) -> Path:
    return write_toml(tmp_path / "shop.toml", shop())


def assert_clean_failure(result: Any, code: int = 2) -> None:
    assert result.exit_code == code, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


FAST = ["-n", "3", "--horizon", "4 w", "--warmup", "1 w", "--seed", "2"]


def test_cli_compare_prints_one_block_per_variant(runner: CliRunner, shop_file: Path,
                                                  tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    result = runner.invoke(main, [
        "compare", str(shop_file), "--set", "pools.sdr.headcount=3",
        "--set", "stages.demo.work_scale=0.8;stages.close.work_scale=0.8",
        "--hire", "ae=1", "--terms", "net 15", *FAST, "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert text.startswith("Compared with shop: 3 paired replications")
    labels = ["pools.sdr.headcount=3", "stages.demo.work_scale=0.8;stages.close.work_scale=0.8",
              "+1 ae", "terms net 15"]
    lines = text.splitlines()
    for label in labels:
        assert label in lines, label
    # every block lists the headline KPIs with a CI
    blocks = text.split("\n\n")[1:]
    assert len(blocks) == len(labels)
    for block in blocks:
        assert "won" in block and "dso" in block
        assert "[" in block and "]" in block
    table = pd.read_csv(out / "comparison.csv")
    assert list(table.columns) == TABLE_COLUMNS
    # as written: a label a spreadsheet would run as a formula is quoted (revsim.io)
    assert list(table.variant.unique()) == [f"'{x}" if x.startswith("+") else x for x in labels]
    assert (out / "kpis_base.csv").exists() and (out / "kpis_variant4.csv").exists()


def test_cli_compare_bad_set_path_lists_valid_keys(runner: CliRunner, shop_file: Path) -> None:
    result = runner.invoke(main, ["compare", str(shop_file), "--set", "pools.sdrr.headcount=3",
                                  *FAST])
    assert_clean_failure(result)
    assert "sdrr" in result.output
    assert "valid: ae, sdr" in result.output


def test_cli_compare_without_variants(runner: CliRunner, shop_file: Path) -> None:
    result = runner.invoke(main, ["compare", str(shop_file), *FAST])
    assert_clean_failure(result)
    assert "nothing to compare" in result.output


def test_cli_compare_files_with_different_horizons(runner: CliRunner, shop_file: Path,
                                                   tmp_path: Path) -> None:
    other = write_toml(tmp_path / "longer.toml",
                       merge(shop(), {"scenario": {"horizon": "10 w"}}))
    result = runner.invoke(main, ["compare", str(shop_file), str(other), "-n", "2"])
    assert_clean_failure(result)
    assert "horizon" in result.output
    assert "longer" in result.output
    assert "Compared with" not in result.output  # nothing was run


def test_cli_compare_different_horizons_with_the_window_overridden(
        runner: CliRunner, shop_file: Path, tmp_path: Path) -> None:
    """The fix the error message suggests (--horizon and --warmup) works."""
    other = write_toml(tmp_path / "longer.toml",
                       merge(shop(), {"scenario": {"horizon": "10 w"}}))
    result = runner.invoke(main, ["compare", str(shop_file), str(other), *FAST])
    assert result.exit_code == 0, result.output


def test_cli_compare_variant_file(runner: CliRunner, shop_file: Path, tmp_path: Path) -> None:
    other = write_toml(tmp_path / "more_aes.toml",
                       merge(shop(), {"pools": {"ae": {"headcount": 3}}}))
    result = runner.invoke(main, ["compare", str(shop_file), str(other), *FAST])
    assert result.exit_code == 0, result.output
    assert "\nmore_aes\n" in result.stdout


@pytest.mark.parametrize("args", [
    ["--hire", "aes=1"], ["--hire", "ae=one"], ["--automate", "qualify"],
    ["--conversion", "qualify=+10%"], ["--dunning", "1 d,7 dys"], ["--hire", "ae=1@2027-13-01"],
], ids=lambda a: " ".join(a))
def test_cli_compare_bad_intervention_is_a_clean_error(runner: CliRunner, shop_file: Path,
                                                       args: list[str]) -> None:
    result = runner.invoke(main, ["compare", str(shop_file), *args, *FAST])
    assert_clean_failure(result)
    assert result.output.startswith("error:"), result.output
