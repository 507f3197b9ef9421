"""What the stage and cash KPIs count, checked against the visit records of small runs, and that
every KPI revsim reports is defined in the registry."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import revsim
from revsim import kpi_registry
from revsim.analysis.level_series import series_time_averages, time_average
from revsim.engine.cash import Invoice
from revsim.engine.entities import Item, Lead
from revsim.errors import ScenarioError
from revsim.scenario.model import BALKED, RENEGED

SCENARIOS = Path(__file__).parent.parent / "scenarios"

HEAD = '[scenario]\nname = "kpi"\nstart = 2027-01-04\nhorizon = "500 h"\n'


def station(stage: str, *, rate: str = "3/h", heads: int = 2, limit: int | None = None) -> str:
    """One staffed stage; ``limit``: that many leads only, so the stage can empty by the end."""
    cap = f"limit = {limit}\n" if limit is not None else ""
    return (HEAD + f'[sources.in]\nrate = "{rate}"\nto = "s"\n{cap}'
            f"[pools.staff]\nheadcount = {heads}\n"
            '[stages.s]\npool = "staff"\nwork = { dist = "exponential", mean = "1 h" }\n'
            + stage + "\nroutes = { done = 1.0 }\n")


def run(toml: str, drained: bool = False) -> tuple[revsim.RunResult, dict[str, np.ndarray]]:
    """One replication with its visit records (``drained``: check no lead is left in the stage
    at the horizon, so every arrival's visit is recorded)."""
    res = revsim.loads(toml).run(replications=1, seed=3, records=True, progress=False)
    if drained:
        assert res.replications[0].series["wip:s"][-1] == 0
    return res, res.replications[0].visits


def stage_kpi(res: revsim.RunResult, metric: str) -> float:
    values = res.values(metric, "stage", "s")
    assert len(values) == 1, metric
    return float(values[0])


def test_refused_leads_are_blocked_not_throughput_nor_time_in_stage() -> None:
    res, v = run(station("queue_limit = 1"))
    refused = v["outcome"] == BALKED
    assert refused.sum() > 100
    assert stage_kpi(res, "blocked") == refused.sum()
    assert stage_kpi(res, "blocked_share") == pytest.approx(
        refused.sum() / stage_kpi(res, "arrivals"))
    served = ~refused
    assert stage_kpi(res, "throughput") == pytest.approx(served.sum() / (500 / 168))
    assert stage_kpi(res, "time_in_stage_mean") == pytest.approx(
        float(np.mean(v["end"][served] - v["arrival"][served])))


def test_reneged_leads_are_abandoned_and_count_their_wait_over_all_arrivals() -> None:
    patience = '\npatience = { on_expiry = "renege", after = "30 min" }'
    res, v = run(station(patience, rate="2.5/h", limit=900), drained=True)
    reneged = v["outcome"] == RENEGED
    assert reneged.sum() > 50
    assert stage_kpi(res, "abandoned") == reneged.sum()
    assert stage_kpi(res, "abandoned_share") == pytest.approx(
        reneged.sum() / stage_kpi(res, "arrivals"))
    assert stage_kpi(res, "throughput") == pytest.approx((~reneged).sum() / (500 / 168))
    wait = v["start"] - v["arrival"]  # a reneging lead "starts" when it gives up
    assert stage_kpi(res, "wait_mean_all") == pytest.approx(float(wait.mean()))
    assert stage_kpi(res, "p_wait_all") == pytest.approx(float(np.mean(wait > 0)))
    assert stage_kpi(res, "wait_mean") == pytest.approx(float(wait[~reneged].mean()))
    assert stage_kpi(res, "p_wait") == pytest.approx(float(np.mean(wait[~reneged] > 0)))


def test_leads_gone_cold_are_abandoned_and_still_served() -> None:
    decay = '\npatience = { on_expiry = "decay", after = "20 min" }\ndecay_outcome = "lost"'
    res, v = run(station(decay, rate="1.8/h", limit=600), drained=True)
    cold = (v["start"] - v["arrival"]) > 1.0 / 3.0
    assert cold.sum() > 50
    assert stage_kpi(res, "abandoned") == cold.sum()
    assert stage_kpi(res, "throughput") == pytest.approx(len(v["end"]) / (500 / 168))
    assert stage_kpi(res, "p_wait_all") == stage_kpi(res, "p_wait")  # nobody leaves the queue


def test_service_level_share_over_target() -> None:
    res, v = run(station('service_level = "45 min"', rate="1.8/h", limit=600), drained=True)
    wait = v["start"] - v["arrival"]
    assert stage_kpi(res, "p_wait_over_target") == pytest.approx(float(np.mean(wait > 0.75)))
    assert stage_kpi(res, "p_wait_over_target_all") == stage_kpi(res, "p_wait_over_target")


def test_service_level_needs_a_staffed_stage() -> None:
    toml = (HEAD + '[sources.in]\nrate = "1/h"\nto = "s"\n'
            '[stages.s]\ndelay = "1 h"\nservice_level = "1 h"\nroutes = { done = 1.0 }\n')
    with pytest.raises(ScenarioError, match="service_level"):
        revsim.loads(toml)


@pytest.mark.parametrize(("stage", "warns"), [
    ("queue_limit = 0", False),  # Erlang B: a pure loss system sheds its overload
    ("wip_limit = 2", False),  # the same loss system (K = c = 2), by its WIP limit
    ("queue_limit = 3", False),  # M/M/c/K: a finite room and losses beyond it, stable at any load
    ('queue_limit = 0\nwhen_full = "block"', True),  # blocked leads wait upstream
    ('wip_limit = 2\nwhen_full = "block"', True),
    ("", True),  # M/M/c: an unlimited queue grows without bound
])
def test_capacity_warning_spares_loss_systems(stage: str, warns: bool) -> None:
    """Offered load 5 h of work per hour against 2 heads (rho = 2.5)."""
    warnings = revsim.loads(station(stage, rate="5/h")).warnings
    assert any("overloaded" in w for w in warnings) == warns


def test_level_series_end_at_the_horizon() -> None:
    res, _ = run(station(""))  # sampled every 24 h: the last regular sample is at 480 h
    t = res.replications[0].series["t"]
    assert t[-2] == 480.0 and t[-1] == 500.0


BURST = (HEAD.replace('"500 h"', '"50 h"')
         + '[sources.in]\nrate = "1/w"\nto = "s"\n'
         + "weekday_profile = [0, 0, 0, 0, 0, 0, 1]\n"  # Sundays only: none in the horizon
         + "bursts = [{ at = 2027-01-04T01:00:00, count = 10 }]\n"
         + '[stages.s]\ndelay = "48.5 h"\nroutes = { done = 1.0 }\n')
"""Ten leads land at 1 h and spend 48.5 h in the stage: the WIP is 10 on [1 h, 49.5 h) and 0
otherwise, sampled every 24 h of a 50 h horizon (the last interval, [48 h, 50 h], is short)."""


def test_time_averages_count_the_interval_before_the_horizon() -> None:
    sc = revsim.loads(BURST)
    res = sc.run(replications=1, seed=1, progress=False)
    rep = res.replications[0]
    np.testing.assert_array_equal(rep.series["t"], [0.0, 24.0, 48.0, 50.0])
    np.testing.assert_array_equal(rep.series["wip:s"], [0.0, 10.0, 10.0, 0.0])
    # the KPI integrates the level exactly: 10 leads x 48.5 h over 50 h
    assert stage_kpi(res, "wip_mean") == pytest.approx(10 * 48.5 / 50)
    # the series' own time average holds each sample until the next one, the 48 h sample for
    # the last 2 h: (0 x 24 + 10 x 24 + 10 x 2) / 50, not the plain mean of the samples (5.0)
    averages = series_time_averages(res.series)
    assert averages["wip:s"] == pytest.approx((10 * 24 + 10 * 2) / 50)
    assert averages["system"] == averages["wip:s"]
    # a batch's series ends where the batch does (the cut at 25 h, between two samples)
    first, second = sc.run(batch_means=2, seed=1, progress=False).replications
    np.testing.assert_array_equal(first.series["t"], [0.0, 24.0, 25.0])
    np.testing.assert_array_equal(first.series["wip:s"], [0.0, 10.0, 10.0])
    np.testing.assert_array_equal(second.series["t"], rep.series["t"])


def test_time_average_of_a_sampled_level() -> None:
    t = np.array([0.0, 24.0, 48.0, 50.0])
    assert time_average(t, np.array([1.0, 2.0, 3.0, 99.0])) == pytest.approx(
        (1 * 24 + 2 * 24 + 3 * 2) / 50)  # the horizon's own sample holds for no time
    assert time_average(np.array([5.0]), np.array([7.0])) == 7.0
    assert np.isnan(time_average(np.array([]), np.array([])))


def test_an_invoice_is_a_work_item_not_a_lead() -> None:
    assert issubclass(Invoice, Item) and issubclass(Lead, Item)
    assert not issubclass(Invoice, Lead)


def test_every_reported_kpi_is_in_the_registry() -> None:
    tomls = [
        (SCENARIOS / "saas_sales_led.toml").read_text(encoding="utf-8"),
        station('queue_limit = 1\nservice_level = "1 h"'),
        station('patience = { on_expiry = "renege", after = "30 min" }'),
    ]
    for toml in tomls:
        res = revsim.loads(toml).run(replications=1, seed=1, horizon="6 w", warmup=0,
                                     progress=False)
        for metric, scope in set(zip(res.summary.metric, res.summary.scope, strict=True)):
            found = kpi_registry.kpi(metric)
            assert found is not None, f"KPI {metric!r} is not in the registry"
            assert scope in found.scopes, f"KPI {metric!r} is reported in scope {scope!r}"
