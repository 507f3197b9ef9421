"""Checks of the analytic formulas (theory.py) and statistical helpers (stats.py).

Every formula is compared with an *independent* computation: textbook values,
exact rational arithmetic, or a brute-force CTMC stationary solve written here
with different code than theory.py.
"""

from __future__ import annotations

import heapq
import math
from fractions import Fraction

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy import stats as st

from . import stats as vstats
from . import theory as th


# ----------------------------------------------------------------------------- brute force
def ctmc_stationary(Q: np.ndarray) -> np.ndarray:
    """Stationary pi of a dense generator: pi Q = 0, sum pi = 1 (least squares)."""
    n = Q.shape[0]
    A = np.vstack([Q.T, np.ones(n)])
    b = np.zeros(n + 1)
    b[-1] = 1.0
    pi, *_ = np.linalg.lstsq(A, b, rcond=None)
    return pi


def birth_death_generator(birth, death) -> np.ndarray:
    """Dense generator for states 0..N with birth[n] (n -> n+1), death[n] (n -> n-1)."""
    N = len(birth) - 1
    Q = np.zeros((N + 1, N + 1))
    for n in range(N + 1):
        if n < N:
            Q[n, n + 1] = birth[n]
        if n > 0:
            Q[n, n - 1] = death[n]
        Q[n, n] = -Q[n].sum()
    return Q


def brute_mmc_pwait(c: int, a: float, N: int = 400) -> float:
    """P(N >= c) for M/M/c (mu = 1, lam = a) from a truncated dense CTMC solve."""
    birth = [a] * N + [0.0]
    death = [min(n, c) * 1.0 for n in range(N + 1)]
    pi = ctmc_stationary(birth_death_generator(birth, death))
    return float(pi[c:].sum())


def erlang_b_direct(c: int, a: int | Fraction) -> Fraction:
    """Erlang B from the defining formula in exact rational arithmetic."""
    a = Fraction(a)
    terms = [a**k / math.factorial(k) for k in range(c + 1)]
    return terms[-1] / sum(terms)


def erlang_c_direct(c: int, a: int | Fraction) -> Fraction:
    """Erlang C from the textbook closed form, exact rational arithmetic."""
    a = Fraction(a)
    top = a**c / math.factorial(c) * Fraction(c) / (c - a)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


# ----------------------------------------------------------------------------- Erlang B / C
@pytest.mark.parametrize(
    ("c", "a", "expected"),
    [
        (1, 0.5, 0.5),  # M/M/1: C = rho
        (2, 1.0, 1 / 3),  # textbook
        (3, 2.0, 4 / 9),
        (2, 1.5, 0.6428571428571429),  # 9/14
    ],
)
def test_erlang_c_textbook(c, a, expected):
    assert th.erlang_c(c, a) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(("c", "a"), [(5, 3.0), (10, 8.0), (20, 17.5), (50, 45.0)])
def test_erlang_c_vs_brute_force_chain(c, a):
    assert th.erlang_c(c, a) == pytest.approx(brute_mmc_pwait(c, a), rel=1e-8)


@pytest.mark.parametrize(("c", "a"), [(1, 1), (5, 2), (10, 5), (30, 25), (200, 180), (200, 250)])
def test_erlang_b_recursion_vs_direct(c, a):
    assert th.erlang_b(c, a) == pytest.approx(float(erlang_b_direct(c, a)), rel=1e-12)


def test_erlang_b_table_values():
    # standard Erlang B table entries
    assert th.erlang_b(5, 2.0) == pytest.approx(0.03670, abs=5e-6)
    assert th.erlang_b(10, 5.0) == pytest.approx(0.01838, abs=5e-6)
    assert th.erlang_b(0, 3.0) == 1.0
    assert th.erlang_b(4, 0.0) == 0.0


@pytest.mark.parametrize(("c", "a"), [(10, 9), (100, 95), (200, 190), (200, 199)])
def test_erlang_c_large_c_exact(c, a):
    got = th.erlang_c(c, a)
    assert math.isfinite(got)
    assert got == pytest.approx(float(erlang_c_direct(c, a)), rel=1e-11)


def test_erlang_c_unstable_is_one():
    assert th.erlang_c(3, 3.0) == 1.0
    assert th.erlang_c(3, 5.0) == 1.0


def test_bad_inputs_raise():
    with pytest.raises(ValueError):
        th.erlang_b(2.5, 1.0)
    with pytest.raises(ValueError):
        th.erlang_c(0, 1.0)
    with pytest.raises(ValueError):
        th.mmc(2.0, 1.0, 2)  # rho = 1
    with pytest.raises(ValueError):
        th.mg1_pk(1.0, 1.0, 0.0)
    with pytest.raises(ValueError):
        th.mmck(1.0, 1.0, 3, 2)  # K < c
    with pytest.raises(ValueError):
        th.erlang_a(3.0, 1.0, 0.0, 2)  # theta = 0 and overloaded


# ----------------------------------------------------------------------------- M/M/1, M/M/c
@pytest.mark.parametrize(("lam", "mu"), [(0.5, 1.0), (3.0, 4.0), (9.9, 10.0)])
def test_mm1_closed_forms(lam, mu):
    rho = lam / mu
    r = th.mmc(lam, mu, 1)
    assert r["rho"] == pytest.approx(rho)
    assert r["p_wait"] == pytest.approx(rho)
    assert r["wq"] == pytest.approx(rho / (mu - lam))
    assert r["w"] == pytest.approx(1 / (mu - lam))
    assert r["l"] == pytest.approx(rho / (1 - rho))
    assert r["lq"] == pytest.approx(rho**2 / (1 - rho))


def test_mmc_little_and_brute_force():
    lam, mu, c = 7.0, 1.0, 9
    r = th.mmc(lam, mu, c)
    N = 300
    birth = [lam] * N + [0.0]
    death = [min(n, c) * mu for n in range(N + 1)]
    pi = ctmc_stationary(birth_death_generator(birth, death))
    n = np.arange(N + 1)
    assert r["l"] == pytest.approx(float(n @ pi), rel=1e-8)
    assert r["lq"] == pytest.approx(float(np.maximum(n - c, 0) @ pi), rel=1e-8)
    assert r["l"] == pytest.approx(lam * r["w"])
    assert th.mmc(0.0, 2.0, 3)["l"] == 0.0


# ----------------------------------------------------------------------------- M/M/c/K
@pytest.mark.parametrize(
    ("lam", "mu", "c", "K"),
    [(0.8, 1.0, 1, 5), (1.0, 1.0, 1, 4), (5.0, 1.0, 3, 10), (30.0, 2.0, 10, 12), (2.0, 1.0, 4, 4)],
)
def test_mmck_vs_ctmc(lam, mu, c, K):
    birth = [lam] * K + [0.0]
    death = [min(n, c) * mu for n in range(K + 1)]
    pi = ctmc_stationary(birth_death_generator(birth, death))
    n = np.arange(K + 1)
    r = th.mmck(lam, mu, c, K)
    L = float(n @ pi)
    Lq = float(np.maximum(n - c, 0) @ pi)
    thr = lam * (1 - pi[K])
    assert r["p_block"] == pytest.approx(pi[K], rel=1e-9, abs=1e-15)
    assert r["throughput"] == pytest.approx(thr, rel=1e-9)
    assert r["l"] == pytest.approx(L, rel=1e-9)
    assert r["lq"] == pytest.approx(Lq, rel=1e-9, abs=1e-15)
    assert r["w"] == pytest.approx(L / thr, rel=1e-9)
    assert r["wq"] == pytest.approx(Lq / thr, rel=1e-9, abs=1e-15)
    # throughput also equals mean busy servers * mu
    assert r["throughput"] == pytest.approx(float(np.minimum(n, c) @ pi) * mu, rel=1e-9)


def test_mmck_limits():
    # K = c is Erlang B; large K approaches M/M/c
    assert th.mmck(8.0, 1.0, 10, 10)["p_block"] == pytest.approx(th.erlang_b(10, 8.0), rel=1e-12)
    big = th.mmck(8.0, 1.0, 10, 2000)
    ref = th.mmc(8.0, 1.0, 10)
    assert big["wq"] == pytest.approx(ref["wq"], rel=1e-9)
    assert big["l"] == pytest.approx(ref["l"], rel=1e-9)
    # huge K with c up to 200 stays finite
    r = th.mmck(250.0, 1.0, 200, 5000)
    assert all(math.isfinite(v) for v in r.values())


# ----------------------------------------------------------------------------- M/G/1
@pytest.mark.parametrize(("lam", "mu"), [(0.3, 1.0), (4.0, 5.0), (0.99, 1.0)])
def test_pk_exponential_equals_mm1(lam, mu):
    pk = th.mg1_pk(lam, 1 / mu, 1 / mu**2)
    mm1 = th.mmc(lam, mu, 1)
    for k in ("wq", "w", "lq", "l", "rho"):
        assert pk[k] == pytest.approx(mm1[k], rel=1e-12)


def test_pk_deterministic_md1():
    lam, d = 0.5, 1.2
    rho = lam * d
    r = th.mg1_pk(lam, d, 0.0)
    assert r["wq"] == pytest.approx(rho * d / (2 * (1 - rho)))  # M/D/1: half of M/M/1
    assert r["wq"] == pytest.approx(th.mmc(lam, 1 / d, 1)["wq"] / 2)
    assert th.mg1_pk(0.5, 1.0, math.inf)["wq"] == math.inf


# ----------------------------------------------------------------------------- Erlang A
def brute_erlang_a(lam, mu, theta, c, N):
    birth = [lam] * N + [0.0]
    death = [min(n, c) * mu + max(n - c, 0) * theta for n in range(N + 1)]
    pi = ctmc_stationary(birth_death_generator(birth, death))
    n = np.arange(N + 1)
    Lq = float(np.maximum(n - c, 0) @ pi)
    return {"p_wait": float(pi[c:].sum()), "lq": Lq, "l": float(n @ pi), "pi": pi}


@pytest.mark.parametrize(
    ("lam", "mu", "theta", "c"),
    [(12.0, 1.0, 0.5, 10), (8.0, 1.0, 2.0, 10), (3.0, 2.0, 0.3, 1), (60.0, 0.5, 0.05, 100)],
)
def test_erlang_a_vs_brute_force(lam, mu, theta, c):
    N = c + 600
    b = brute_erlang_a(lam, mu, theta, c, N)
    r = th.erlang_a(lam, mu, theta, c)
    assert r["p_wait"] == pytest.approx(b["p_wait"], rel=1e-8)
    assert r["lq"] == pytest.approx(b["lq"], rel=1e-8, abs=1e-14)
    assert r["l"] == pytest.approx(b["l"], rel=1e-8)
    assert r["wq"] == pytest.approx(b["lq"] / lam, rel=1e-8, abs=1e-14)
    assert r["p_abandon"] == pytest.approx(theta * b["lq"] / lam, rel=1e-8, abs=1e-14)
    # served flow = busy servers * mu (independent of the abandonment formula)
    n = np.arange(N + 1)
    busy = float(np.minimum(n, c) @ b["pi"])
    assert r["throughput"] == pytest.approx(busy * mu, rel=1e-8)
    # P(abandon) via the arrival-position argument equals theta * Lq / lam
    pq = b["pi"][c:]
    m = np.arange(1, len(pq) + 1)
    p_ab_positions = float(pq @ (m * theta / (c * mu + m * theta)))
    assert r["p_abandon"] == pytest.approx(p_ab_positions, rel=1e-8)


@pytest.mark.parametrize(("lam", "mu", "c"), [(5.0, 1.0, 3), (20.0, 2.0, 12), (150.0, 1.0, 200)])
def test_erlang_a_theta_equals_mu_is_poisson(lam, mu, c):
    a = lam / mu
    r = th.erlang_a(lam, mu, mu, c)
    k = np.arange(0, int(a + 60 * math.sqrt(a) + 100))
    pmf = st.poisson.pmf(k, a)
    lq = float(np.maximum(k - c, 0) @ pmf)
    assert r["l"] == pytest.approx(a, rel=1e-10)
    assert r["p_wait"] == pytest.approx(float(st.poisson.sf(c - 1, a)), rel=1e-9, abs=1e-15)
    assert r["lq"] == pytest.approx(lq, rel=1e-8, abs=1e-15)
    assert r["p_abandon"] == pytest.approx(lq / a, rel=1e-8, abs=1e-15)


def test_erlang_a_small_theta_approaches_erlang_c():
    lam, mu, c = 8.0, 1.0, 10
    ref = th.mmc(lam, mu, c)
    r = th.erlang_a(lam, mu, 1e-7, c)
    assert r["p_wait"] == pytest.approx(ref["p_wait"], rel=1e-5)
    assert r["wq"] == pytest.approx(ref["wq"], rel=1e-5)
    assert r["wq_served"] == pytest.approx(ref["wq"], rel=1e-5)
    assert r["p_abandon"] < 1e-6
    # theta = 0 exactly is M/M/c
    r0 = th.erlang_a(lam, mu, 0.0, c)
    assert r0["wq"] == pytest.approx(ref["wq"], rel=1e-10)
    assert r0["wq_served"] == pytest.approx(ref["wq"], rel=1e-10)
    assert r0["p_abandon"] == 0.0


def test_erlang_a_large_theta_is_erlang_b():
    lam, mu, c = 8.0, 1.0, 10
    r = th.erlang_a(lam, mu, 1e8, c)
    assert r["p_abandon"] == pytest.approx(th.erlang_b(c, lam / mu), rel=1e-6)
    assert r["wq_served"] < 1e-8


def test_erlang_a_overloaded_and_large_c_finite():
    r = th.erlang_a(300.0, 1.0, 0.2, 200)  # 150% load, stable thanks to abandonment
    assert all(math.isfinite(v) for v in r.values())
    assert 0.3 < r["p_abandon"] < 0.4  # fluid limit: 1 - c mu / lam = 1/3
    assert r["throughput"] == pytest.approx(300.0 * (1 - r["p_abandon"]))


def simulate_mmc_m(rng, lam, mu, theta, c, n_cust):
    """Independent FCFS M/M/c+M simulation via server free times.

    Under FCFS an arrival starts service at the earliest time a server is free of all
    earlier *served* customers; it is served iff that wait <= its patience
    (abandoners never take a server). Returns (waits, served_mask).
    """
    arr = np.cumsum(rng.exponential(1 / lam, n_cust))
    svc = rng.exponential(1 / mu, n_cust)
    pat = rng.exponential(1 / theta, n_cust)
    free = [0.0] * c
    waits = np.empty(n_cust)
    served = np.empty(n_cust, dtype=bool)
    for i in range(n_cust):
        t = arr[i]
        wait = free[0] - t
        if wait < 0.0:
            wait = 0.0
        if wait <= pat[i]:
            heapq.heapreplace(free, t + wait + svc[i])
            waits[i] = wait
            served[i] = True
        else:
            waits[i] = pat[i]
            served[i] = False
    return waits, served


@pytest.mark.parametrize(
    ("lam", "mu", "theta", "c"), [(1.5, 1.0, 2.0, 1), (5.0, 1.0, 2.0, 4), (11.0, 1.0, 0.5, 10)]
)
def test_erlang_a_vs_independent_simulation(lam, mu, theta, c):
    """Checks wq_served (and the rest) against an independent FCFS simulation."""
    r = th.erlang_a(lam, mu, theta, c)
    reps = []
    for child in np.random.SeedSequence(20240611).spawn(40):
        waits, served = simulate_mmc_m(np.random.default_rng(child), lam, mu, theta, c, 5000)
        waits, served = waits[300:], served[300:]  # warm-up (relaxation time << 300 arrivals)
        reps.append((waits[served].mean(), waits.mean(), 1 - served.mean(), (waits > 0).mean()))
    reps = np.array(reps)
    vstats.assert_consistent(reps[:, 0], r["wq_served"], name="wq_served")
    vstats.assert_consistent(reps[:, 1], r["wq"], name="wq (all arrivals)")
    vstats.assert_consistent(reps[:, 2], r["p_abandon"], name="p_abandon")
    vstats.assert_consistent(reps[:, 3], r["p_wait"], name="p_wait")
    if c == 1:
        # the simulation is sharp enough to tell served-only waits from all waits
        with pytest.raises(AssertionError):
            vstats.assert_consistent(reps[:, 0], r["wq"], name="wq_served vs wq(all)")


# ----------------------------------------------------------------------------- M/G/inf
def test_mginf():
    r = th.mginf(3.0, 2.5)
    assert r["l"] == 7.5
    assert r["p0"] == pytest.approx(math.exp(-7.5))
    # M/M/inf occupancy = Erlang A chain with theta == mu (any c): Poisson mean lam/mu
    assert th.erlang_a(3.0, 0.4, 0.4, 2)["l"] == pytest.approx(r["l"], rel=1e-10)


# ----------------------------------------------------------------------------- Jackson
def test_jackson_tandem_is_product_of_mm1():
    lam, mu1, mu2 = 2.0, 3.0, 5.0
    r = th.jackson([lam, 0.0], [[0.0, 1.0], [0.0, 0.0]], [mu1, mu2], [1, 1])
    np.testing.assert_allclose(r["lam"], [lam, lam])
    l1, l2 = lam / (mu1 - lam), lam / (mu2 - lam)
    np.testing.assert_allclose(r["l"], [l1, l2])
    np.testing.assert_allclose(r["w"], [1 / (mu1 - lam), 1 / (mu2 - lam)])
    assert r["total_l"] == pytest.approx(l1 + l2)
    assert r["mean_sojourn"] == pytest.approx(1 / (mu1 - lam) + 1 / (mu2 - lam))


def test_jackson_feedback_vs_joint_ctmc():
    """Two nodes with feedback (node 0: 2 servers); joint CTMC on a truncated grid."""
    ext = np.array([1.0, 0.5])
    P = np.array([[0.0, 0.7], [0.25, 0.1]])
    mu = np.array([1.2, 2.5])
    c = np.array([2, 1])
    r = th.jackson(ext, P, mu, c)

    # traffic equations by fixed-point iteration (different method from linalg.solve)
    lam = ext.copy()
    for _ in range(2000):
        lam = ext + P.T @ lam
    np.testing.assert_allclose(r["lam"], lam, rtol=1e-12)

    M = 70  # truncation per node; tail ~ rho^M is negligible
    idx = lambda i, j: i * (M + 1) + j  # noqa: E731
    rows, cols, vals = [], [], []

    def add(s, t, rate):
        if rate > 0:
            rows.append(s)
            cols.append(t)
            vals.append(rate)

    exit_p = 1 - P.sum(axis=1)
    for i in range(M + 1):
        for j in range(M + 1):
            s = idx(i, j)
            if i < M:
                add(s, idx(i + 1, j), ext[0])
            if j < M:
                add(s, idx(i, j + 1), ext[1])
            d0 = min(i, c[0]) * mu[0]
            d1 = min(j, c[1]) * mu[1]
            if i > 0:
                add(s, idx(i - 1, j), d0 * exit_p[0])
                if j < M:
                    add(s, idx(i - 1, j + 1), d0 * P[0, 1])
            if j > 0:
                add(s, idx(i, j - 1), d1 * exit_p[1])
                if i < M:
                    add(s, idx(i + 1, j - 1), d1 * P[1, 0])
            # self-loop routing (P[1,1]) does not change the state
    S = (M + 1) ** 2
    Q = sp.csr_matrix((vals, (rows, cols)), shape=(S, S))
    Q = Q - sp.diags(np.asarray(Q.sum(axis=1)).ravel())
    # replace one balance equation by normalisation
    A = Q.T.tolil()
    A[0, :] = np.ones(S)
    b = np.zeros(S)
    b[0] = 1.0
    pi = spla.spsolve(A.tocsr(), b).reshape(M + 1, M + 1)
    n = np.arange(M + 1)
    L0 = float(n @ pi.sum(axis=1))
    L1 = float(n @ pi.sum(axis=0))
    np.testing.assert_allclose(r["l"], [L0, L1], rtol=1e-8)
    # product form: joint = product of marginals
    np.testing.assert_allclose(pi, np.outer(pi.sum(axis=1), pi.sum(axis=0)), atol=1e-10)
    assert r["mean_sojourn"] == pytest.approx((L0 + L1) / ext.sum(), rel=1e-8)


def test_jackson_errors_and_infinite_server_node():
    with pytest.raises(ValueError, match="unstable"):
        th.jackson([1.0], [[0.5]], [1.5], [1])  # lam = 2 > mu
    with pytest.raises(ValueError, match="singular"):
        th.jackson([1.0, 0.0], [[0.0, 1.0], [1.0, 0.0]], [5.0, 5.0], [1, 1])
    with pytest.raises(ValueError):
        th.jackson([1.0, 0.0], [[0.0, 0.8], [0.5, 0.0]], [5.0, 5.0], [1])
    r = th.jackson([2.0], [[0.0]], [0.5], [np.inf])
    assert r["l"][0] == pytest.approx(4.0)
    assert r["rho"][0] == 0.0


# ----------------------------------------------------------------------------- stats.py
def test_mean_ci_matches_scipy_and_drops_nan():
    rng = np.random.default_rng(1)
    x = rng.normal(3.0, 2.0, 25)
    mean, lo, hi, half, n = vstats.mean_ci(np.append(x, [np.nan, np.nan]), 0.95)
    slo, shi = st.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=st.sem(x))
    assert n == 25
    assert mean == pytest.approx(x.mean())
    assert (lo, hi) == pytest.approx((slo, shi))
    assert half == pytest.approx((hi - lo) / 2)
    with pytest.raises(ValueError):
        vstats.mean_ci([1.0, np.nan])


def test_mean_ci_coverage():
    rng = np.random.default_rng(7)
    hits = 0
    trials = 2000
    for _ in range(trials):
        _, lo, hi, _, _ = vstats.mean_ci(rng.normal(0.0, 1.0, 10), 0.9)
        hits += lo <= 0.0 <= hi
    # 0.9 coverage; binomial sd ~ 0.0067
    assert abs(hits / trials - 0.9) < 0.03


def test_assert_consistent_passes_on_unbiased_samples():
    expected = 5.0
    for seed in range(20):
        rng = np.random.default_rng(seed)
        vstats.assert_consistent(rng.normal(expected, 1.0, 30), expected, name="unbiased")


def test_assert_consistent_fails_when_off_by_many_se():
    expected = 5.0
    rng = np.random.default_rng(123)
    se = 1.0 / math.sqrt(30)
    samples = rng.normal(expected + 10 * se, 1.0, 30)
    with pytest.raises(AssertionError, match=r"mean wait.*expected 5.*n=30"):
        vstats.assert_consistent(samples, expected, name="mean wait")
    # a relative floor for known bias widens the band enough
    vstats.assert_consistent(samples, expected, name="mean wait", rel_floor=0.5)
    with pytest.raises(ValueError):
        vstats.assert_consistent(samples, expected, name="x", rel_floor=-0.1)


def test_assert_consistent_zero_variance():
    vstats.assert_consistent([0.1 + 0.2] * 5, 0.3, name="deterministic")  # round-off only
    with pytest.raises(AssertionError):
        vstats.assert_consistent([1.0] * 5, 1.001, name="deterministic")


def test_assert_proportion_consistent():
    p = 0.3
    for seed in range(10):
        rng = np.random.default_rng(seed)
        k = rng.binomial(1000, p, size=20)
        vstats.assert_proportion_consistent(k, [1000] * 20, p, name="routing share")
    rng = np.random.default_rng(99)
    k = int(rng.binomial(20000, 0.33))  # ~9 SE away from 0.3
    with pytest.raises(AssertionError, match=r"routing share.*Wilson"):
        vstats.assert_proportion_consistent(k, 20000, p, name="routing share")
    # edge cases: all / none successes
    vstats.assert_proportion_consistent(0, 50, 0.0, name="never")
    vstats.assert_proportion_consistent(50, 50, 1.0, name="always")
    lo, hi = vstats.wilson_ci(0, 50, 0.999)
    assert lo == 0.0 and 0.0 < hi < 0.25
