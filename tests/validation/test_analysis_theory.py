"""Output analysis against known answers: bottlenecks, warm-up, CRN comparisons, batch means and
precision-driven replications.

Every tolerance comes from a confidence interval over independent replications (or batches):
:func:`stats.assert_consistent` at 99.9%, or the 95% intervals the features themselves report
where the assertion is about what they report (a "significant" flag, a precision target).
Seeds follow :mod:`conftest`: ``seed(k)`` with a k no other test uses (80-89 here).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from scipy import stats as st

import revsim
from revsim.analysis.active_periods import momentary_bottleneck
from revsim.analysis.paired import independent_differences, paired_differences
from revsim.cli import main
from revsim.results.bottleneck_report import WEEKS_PER_YEAR

from . import test_cash_theory as receivables
from .conftest import JOBS, START, exponential, hours, per_hour, seed, station_toml
from .stats import assert_consistent, mean_ci

VALUE = 1000.0


def tandem_toml(*, lam: float, means: tuple[float, ...], horizon_h: float,
                warmup_h: float, cost_per_head: str | None = None) -> str:
    """Poisson leads at ``lam``/h through stations one -> two -> three -> won (as many as
    ``means``), each worked by its own 24/7 pool of one (p1, p2, p3) with exponential work of
    the given means. Every lead is worth ``VALUE`` (one segment with a fixed value), so
    bookings = VALUE x won."""
    parts = [
        f'[scenario]\nname = "tandem"\nstart = {START}\nhorizon = "{hours(horizon_h)}"\n'
        f'warmup = "{hours(warmup_h)}"\n',
        f"[segments.std]\nvalue = {VALUE}\n",
        f'[sources.leads]\nrate = "{per_hour(lam)}"\nto = "one"\nsegments = "std"\n',
    ]
    names = ["one", "two", "three"][:len(means)]
    for i, (stage, mean) in enumerate(zip(names, means, strict=True)):
        pool = f"p{i + 1}"
        parts.append(f"[pools.{pool}]\nheadcount = 1\n"
                     + (f'cost_per_head = "{cost_per_head}"\n' if cost_per_head else ""))
        nxt = names[i + 1] if i < len(names) - 1 else "won"
        parts.append(f'[stages.{stage}]\npool = "{pool}"\nwork = {exponential(mean)}\n'
                     f"routes = {{ {nxt} = 1.0 }}\n")
    return "\n".join(parts)


def widen(half_width_95: float, n: int, confidence: float = 0.999) -> float:
    """A reported 95% t half-width rescaled to ``confidence``."""
    return half_width_95 * st.t.ppf(0.5 + confidence / 2, n - 1) / st.t.ppf(0.975, n - 1)


# ------------------------------------------------------------------------ known bottleneck


def test_undersized_middle_pool_is_named_and_worth_a_head() -> None:
    """Leads at 1/h; stations one and three need 0.3 h of work (utilisation 0.3), the middle
    one 1.1 h: offered load 1.1 > 1, so p2 is busy all the time and limits throughput to its
    service rate mu2 = 1/1.1 per hour.

    Theory: after the warm-up p2's queue is long and never empties, so its departures are a
    Poisson process of rate mu2 and station three is a stationary M/M/1 fed by it: won per hour
    in the window = mu2 (in expectation). With a second head at p2 (an M/M/2 at rho 0.55) every
    lead gets through: won per hour = lambda. So +1 at p2 adds (lambda - mu2) x window wins, and
    +1 at p1 or p3 adds nothing in expectation (p1: p2's busy period never breaks; p3: the
    window's start and end work-in-process at a stationary station cancel on average)."""
    lam, means = 1.0, (0.3, 1.1, 0.3)
    mu2 = 1 / means[1]
    horizon, warmup = 1000.0, 200.0
    sc = revsim.loads(tandem_toml(lam=lam, means=means, horizon_h=horizon, warmup_h=warmup))
    report = sc.bottlenecks(replications=20, seed=seed(80), jobs=JOBS, progress=False)
    window = horizon - warmup

    # named: top of the pool table, by a margin larger than the CIs, and in the sentence
    pools = report.pools.set_index("pool")
    assert report.pools.iloc[0]["pool"] == "p2"
    top = pools.loc["p2"]
    for other in ("p1", "p3"):
        row = pools.loc[other]
        assert top.bottleneck_share - top.bottleneck_share_hw > (
            row.bottleneck_share + row.bottleneck_share_hw), other
        assert top.utilisation - top.utilisation_hw > row.utilisation + row.utilisation_hw
    assert report.sentence.startswith("The p2 pool is the bottleneck")
    assert report.sentence.index("+1 p2") < min(report.sentence.index("+1 p1"),
                                                 report.sentence.index("+1 p3"))

    # the base throughput is p2's service rate
    assert_consistent(report.base.values("won") / window, mu2,
                      name="won per hour behind a saturated station = its service rate")
    stages = report.stages.set_index("stage")
    two = stages.loc["two"]
    for other in ("one", "three"):  # the waiting happens at station two
        row = stages.loc[other]
        assert two.wait_share - two.wait_share_hw > row.wait_share + row.wait_share_hw
    assert stages.loc["two", "queue_trend"] - stages.loc["two", "queue_trend_hw"] > 0

    # marginal value of +1 head: significant at p2 only, and of the size theory says
    m = report.marginal.set_index(["pool", "metric"])
    per_year = WEEKS_PER_YEAR / (window / 168.0)
    for metric, unit_value in (("won", 1.0), ("bookings", VALUE)):
        r = m.loc[("p2", metric)]
        assert r["significant"], metric
        expected = (lam - mu2) * window * per_year * unit_value
        assert abs(r["diff"] - expected) <= widen(r["half_width"], int(r["n"])), (
            f"+1 p2 {metric}: {r['diff']:.6g} ± {r['half_width']:.3g} (95%) per year vs "
            f"theory {expected:.6g}")
        for other in ("p1", "p3"):
            assert not m.loc[(other, metric), "significant"], (other, metric)
    assert report.marginal.iloc[0]["pool"] == "p2"
    assert (report.marginal.loc[report.marginal.pool == "p2", "rank"] == 1).all()


def test_busiest_stable_pool_is_the_bottleneck() -> None:
    """The same line with the middle station at utilisation 0.95 (stable, 0.5 elsewhere): the
    active-period method still names p2, with the CIs of the shares apart."""
    sc = revsim.loads(tandem_toml(lam=1.0, means=(0.5, 0.95, 0.5), horizon_h=1500,
                                  warmup_h=300))
    report = sc.bottlenecks(replications=10, seed=seed(81), jobs=JOBS, progress=False,
                            marginal=False)
    assert report.marginal.empty
    pools = report.pools.set_index("pool")
    assert report.pools.iloc[0]["pool"] == "p2"
    top = pools.loc["p2"]
    for other in ("p1", "p3"):
        row = pools.loc[other]
        assert top.bottleneck_share - top.bottleneck_share_hw > (
            row.bottleneck_share + row.bottleneck_share_hw)
    assert_consistent(report.base.values("utilisation", "pool", "p2"), 0.95,
                      name="utilisation of the middle pool")
    assert report.sentence.startswith("The p2 pool is the bottleneck")

def active_periods(res: revsim.RunResult, pool: str) -> list[np.ndarray]:
    """Each replication's saturation spells of ``pool`` in the window, as (from, to) rows."""
    return [rep.extra["active_periods"][pool] for rep in res.replications]


def test_active_periods_are_the_busy_periods_of_each_pool() -> None:
    """A saturation spell lasts as long as the pool stays saturated: a server that finishes
    and takes the next waiting item at once does not end it.

    Theory: in a tandem of M/M/1 stations (Poisson departures by Burke's theorem) the pool of
    station k is saturated exactly while its station is busy, so its active periods are M/M/1
    busy periods: mean 1 / (mu_k - lambda), starting at rate lambda (1 - rho_k) (arrivals that
    find it empty, PASTA). In an M/M/c pool, a spell is a busy period of the birth-death
    chain above c - 1 in system, where every state has arrival rate lambda and departure rate
    c mu: mean 1 / (c mu - lambda)."""
    lam, means = 1.0, (0.5, 0.8)
    horizon, warmup = 2000.0, 200.0
    res = revsim.loads(tandem_toml(lam=lam, means=means, horizon_h=horizon, warmup_h=warmup)
                       ).run(replications=20, seed=seed(85), jobs=JOBS, progress=False,
                             active_periods=True)
    for k, mean in enumerate(means, start=1):
        mu, rho = 1 / mean, lam * mean
        spells = active_periods(res, f"p{k}")
        assert_consistent([float(np.mean(p[:, 1] - p[:, 0])) for p in spells], 1 / (mu - lam),
                          name=f"mean active period of p{k} (M/M/1 busy period)")
        assert_consistent([len(p) / (horizon - warmup) for p in spells], lam * (1 - rho),
                          name=f"active periods of p{k} per hour")

    lam, mu, c = 1.6, 1.0, 2
    res = revsim.loads(station_toml(name="mm2", lam=lam, servers=c, work=exponential(1 / mu),
                                    horizon_h=horizon, warmup_h=warmup)
                       ).run(replications=20, seed=seed(86), jobs=JOBS, progress=False,
                             active_periods=True)
    assert_consistent([float(np.mean(p[:, 1] - p[:, 0])) for p in active_periods(res, "servers")],
                      1 / (c * mu - lam), name="mean active period of an M/M/2 pool")


def test_the_constraint_of_a_two_pool_line_is_the_bottleneck_nearly_all_its_active_time(
        tmp_path: Path) -> None:
    """Two M/M/1 stations in series, rho1 = 0.5 and rho2 = 0.95: p2 is the constraint.

    Theory: p2 can be the momentary bottleneck only while saturated, and then loses only while
    p1 is saturated too (probability rho1, independently of p2 at an instant: product form)
    with a longer current active period. The period covering an instant is length-biased: at
    p1 its mean is E[B1^2] / E[B1] = 2 / (mu1 (1 - rho1)^2) = 4 h. And P(the length-biased
    period at p2 is <= y) = E[B2; B2 <= y] / E[B2] <= y / E[B2], with E[B2] = 1 / (mu2 -
    lambda) = 19 h. So p2 is the bottleneck for a share of its saturated time of at least
    1 - rho1 E[B1*] / E[B2] = 1 - 0.5 x 4 / 19 = 0.89, whereas spells cut at every hand-over
    (each one job long) give about 0.87."""
    lam, means = 1.0, (0.5, 0.95)
    mu1, mu2, rho1 = 1 / means[0], 1 / means[1], lam * means[0]
    bound = 1 - rho1 * (2 / (mu1 * (1 - rho1) ** 2)) * (mu2 - lam)
    horizon, warmup = 3000.0, 500.0
    toml = tandem_toml(lam=lam, means=means, horizon_h=horizon, warmup_h=warmup)
    report = revsim.loads(toml).bottlenecks(replications=20, seed=seed(87), jobs=JOBS,
                                            progress=False, marginal=False)
    assert report.pools.iloc[0]["pool"] == "p2"
    assert report.sentence.startswith("The p2 pool is the bottleneck")
    share = []
    for rep in report.base.replications:
        shares, _ = momentary_bottleneck(rep.extra["active_periods"], warmup, horizon)
        spells = rep.extra["active_periods"]["p2"]
        share.append(shares["p2"] / (float(np.sum(spells[:, 1] - spells[:, 0]))
                                     / (horizon - warmup)))
    _, lo, _, _, _ = mean_ci(share)
    assert lo > bound, (f"p2 is the bottleneck {np.mean(share):.3f} of its saturated time "
                        f"(lower 99.9% bound {lo:.3f}); theory: at least {bound:.3f}")

    path = tmp_path / "line.toml"
    path.write_text(toml, encoding="utf-8")
    result = CliRunner().invoke(main, ["bottlenecks", str(path), "-n", "5", "--seed", "1",
                                       "--no-marginal", "-j", str(JOBS), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1].startswith("The p2 pool is the bottleneck")


# ------------------------------------------------------------------------------------ warm-up


DAY = receivables.DAY
AR_TERMS = 60 * DAY
AR_HORIZON = 60 * DAY
AR_PAYMENT = f"on_time = 1.0\nlate = 0.0\non_time_delay = {receivables.ON_TIME_DELAY}"
AR_STEADY = receivables.LAM * receivables.VALUE * receivables.mean_min_lognormal(
    receivables.ON_TIME_MEAN, receivables.ON_TIME_SD, AR_TERMS)


def test_auto_warmup_removes_the_empty_start_bias() -> None:
    """Receivables as an M/G/infinity system (see test_cash_theory): in steady state the mean
    AR outstanding is lambda x V x E[D]. The run starts with no invoices, and over a 60-day
    horizon the first weeks (E[D] ~ 10 d, D up to ~40 d) pull the average well below it.
    With warmup="auto" the MSER-5 warm-up cuts the fill-up away."""
    toml = receivables.scenario(terms_days=60, payment=AR_PAYMENT, warmup_h=0.0,
                                horizon_h=AR_HORIZON)
    sc = revsim.loads(toml)
    auto = sc.run(replications=30, seed=seed(82), warmup="auto", jobs=JOBS, progress=False)
    w = auto.manifest["warmup_hours"]
    assert 0 < w <= AR_HORIZON / 2
    assert "MSER-5" in auto.manifest["warmup_auto"]
    assert auto.manifest["window_hours"] == pytest.approx(AR_HORIZON - w)
    assert_consistent(receivables.ar_time_average(auto, w), AR_STEADY,
                      name="mean AR outstanding after the automatic warm-up (lambda V E[D])")

    empty = sc.run(replications=30, seed=seed(82), warmup=0, jobs=JOBS, progress=False)
    assert empty.manifest["warmup_hours"] == 0
    _, _, hi, _, _ = mean_ci(receivables.ar_time_average(empty, 0.0))
    assert hi < AR_STEADY, "without a warm-up the empty start should bias mean AR low"


def test_auto_warmup_on_a_long_run_reports_a_settled_series() -> None:
    """Over a year the receivables settle within weeks: the report must not claim that some
    series never settled."""
    toml = receivables.scenario(terms_days=60, payment=AR_PAYMENT, warmup_h=0.0,
                                horizon_h=365 * DAY)
    res = revsim.loads(toml).run(replications=10, seed=seed(83), warmup="auto", jobs=JOBS,
                                 progress=False)
    assert 0 < res.manifest["warmup_hours"] <= 90 * DAY
    assert "never settled" not in res.manifest["warmup_auto"], res.manifest["warmup_auto"]


# --------------------------------------------------------------------- paired comparisons


def test_comparing_a_scenario_with_itself_is_exactly_zero() -> None:
    """Common random numbers: the same scenario run twice with the same seed gives the same
    replications, so every paired difference is 0 with a zero-width interval."""
    toml = tandem_toml(lam=1.0, means=(0.5, 0.9, 0.5), horizon_h=600, warmup_h=100)
    toml += ('\n[deals.contract]\ntype = "one_off"\nbilling = "upfront"\nterms = "net 30"\n'
             "[payment]\non_time = 0.7\nlate = 0.3\n"
             'lateness = { dist = "exponential", mean = "10 d" }\n')
    sc = revsim.loads(toml)
    cmp = sc.compare(sc, {}, replications=6, seed=seed(84), jobs=JOBS, progress=False)
    t = cmp.table
    assert set(t.variant) == {"variant 1", "no change"}
    rows = t[t.n > 1]
    assert len(rows) > 40
    assert {"cash", "pool", "stage", "total"} <= set(rows.scope)
    assert (rows["diff"] == 0).all()
    assert (rows["half_width"] == 0).all()
    assert ((rows["ci_low"] <= 0) & (rows["ci_high"] >= 0)).all()
    assert not rows["significant"].any()
    assert (rows["p_value"] == 1).all()


CRN_KPIS = [("time_in_stage_mean", "stage", "station"), ("wait_mean", "stage", "station"),
            ("wip_mean", "stage", "station"), ("throughput", "stage", "station"),
            ("won", "total", "")]


@pytest.mark.parametrize("k", [85, 87])
def test_common_random_numbers_narrow_the_interval(k: int) -> None:
    """An M/M/1 at rho = 0.8 whose work gets 10% faster. Paired with common random numbers,
    the difference's CI is narrower than the Welch CI from independent seeds (the variant run
    again with seed + 1000), for queue times and for counts alike."""
    toml = station_toml(name="crn", lam=0.8, servers=1, work=exponential(1.0),
                        horizon_h=1000, warmup_h=100)
    toml = toml.replace("routes = { done = 1.0 }", "routes = { won = 0.5, lost = 0.5 }")
    base = revsim.loads(toml)
    faster = base.with_changes({"stages.station.work_scale": 0.9})
    s = seed(k)
    b = base.run(replications=10, seed=s, jobs=JOBS, progress=False)
    paired_run = faster.run(replications=10, seed=s, jobs=JOBS, progress=False)
    independent_run = faster.run(replications=10, seed=s + 1000, jobs=JOBS, progress=False)
    paired = paired_differences(b.summary, paired_run.summary).set_index(
        ["metric", "scope", "name"])
    welch = independent_differences(b.summary, independent_run.summary).set_index(
        ["metric", "scope", "name"])
    for key in CRN_KPIS:
        p, w = paired.loc[key], welch.loc[key]
        assert p["half_width"] < w["half_width"], (key, p["half_width"], w["half_width"])
    # the change is real: waits fall, significantly, in the paired comparison
    assert paired.loc[("wait_mean", "stage", "station"), "ci_high"] < 0


# -------------------------------------------------------------------------------- batch means


def test_batch_means_on_an_mm1_contain_the_theoretical_wait() -> None:
    """One long M/M/1 run (lambda 0.6/h, mu 1/h) after a 200 h warm-up, cut into 20 batches of
    1000 h (~600 customers, many relaxation times each): Wq = rho / (mu - lambda) = 1.5 h."""
    lam = 0.6
    toml = station_toml(name="M/M/1 batch means", lam=lam, servers=1, work=exponential(1.0),
                        horizon_h=20_200, warmup_h=200)
    res = revsim.loads(toml).run(batch_means=20, seed=seed(88), progress=False)
    wq = lam / (1.0 - lam)
    waits = res.values("wait_mean", "stage", "station")
    assert len(waits) == 20
    assert res.kpi("wait_mean", "stage", "station")["n"] == 20
    assert res.manifest["replications"] == 20
    assert res.manifest["window_hours"] == pytest.approx(1000.0)
    assert "batch means" in res.manifest["method"]
    assert_consistent(waits, wq, name="M/M/1 Wq from 20 batch means")
    assert_consistent(res.values("utilisation", "pool", "servers"), lam,
                      name="M/M/1 utilisation from batch means")


# ---------------------------------------------------------------------------------- precision


PRECISION_TOML = f"""
[scenario]
name = "precision"
start = {START}
horizon = "300 h"
warmup = "100 h"

[segments.std]
value = {VALUE}

[sources.leads]
rate = "1.4/h"
to = "intake"
segments = "std"

[stages.intake]
delay = {{ dist = "lognormal", mean = "4 h", sd = "1 h" }}
routes = {{ station = 1.0 }}

[pools.servers]
headcount = 2

[stages.station]
pool = "servers"
work = {exponential(1.0)}
routes = {{ won = 0.5, lost = 0.5 }}
"""


def test_precision_target_is_met_for_every_headline_kpi() -> None:
    sc = revsim.loads(PRECISION_TOML)
    res = sc.run(precision=0.05, replications=5, max_replications=60, seed=seed(89),
                 jobs=JOBS, progress=False)
    info = res.manifest["precision"]
    assert info["met"] is True
    n = info["replications"]
    assert 5 < n <= 60  # five were not enough here, so the rule added some
    assert res.manifest["replications"] == n == len(res.replications)
    assert set(info["kpis"]) == {f"total.{m}" for m in (
        "leads_in", "won", "bookings", "conversion", "time_to_first_touch_median",
        "cycle_time_median")}
    for key in info["kpis"]:
        scope, metric = key.split(".", 1)
        k = res.kpi(metric, scope)
        assert k["n"] == n
        assert k["half_width"] / abs(k["mean"]) <= 0.05, (key, k["half_width"], k["mean"])
    assert info["worst_relative_half_width"] <= 0.05

    # the first n replications are those of a fixed run of n
    fixed = sc.run(replications=5, seed=seed(89), jobs=JOBS, progress=False)
    np.testing.assert_array_equal(fixed.values("won"), res.values("won")[:5])

    # a cap of 5 stops where the sequential run did not stop: target not met
    capped = sc.run(precision=0.05, replications=5, max_replications=5, seed=seed(89),
                    jobs=JOBS, progress=False)
    c = capped.manifest["precision"]
    assert c["met"] is False
    assert c["replications"] == c["cap"] == 5
    assert c["worst_relative_half_width"] > 0.05
    assert not math.isnan(c["worst_relative_half_width"])
