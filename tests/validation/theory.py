"""Analytic queueing results used as ground truth by the engine validation suite.

Conventions
-----------
* Rates are **per hour** (``lam`` arrivals/h, ``mu`` services/h per server,
  ``theta`` abandonments/h per waiting customer).
* Times are **hours**; ``wq`` is the mean time in queue, ``w`` the mean time in
  system (queue + service); ``lq`` / ``l`` are the corresponding time-average
  counts. All results are long-run (steady-state) means.
* ``c`` is the number of servers and ``a = lam / mu`` the offered load in Erlangs.

Every function is pure (no state, no randomness) and numerically stable for
``c`` up to several hundred: Erlang B is evaluated by its recursion (no
factorials or powers), and birth–death chains are normalised in log space.
Invalid or unstable parameters raise ``ValueError`` rather than returning
nonsense.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.special import logsumexp

__all__ = [
    "erlang_b",
    "erlang_c",
    "erlang_c_wait_tail",
    "mmc",
    "mmck",
    "mg1_pk",
    "erlang_a",
    "mginf",
    "jackson",
]


# --------------------------------------------------------------------------- helpers
def _check_servers(c: int, *, allow_zero: bool = False) -> int:
    if isinstance(c, bool) or int(c) != c:
        raise ValueError(f"number of servers must be an integer, got {c!r}")
    c = int(c)
    if c < 0 or (c == 0 and not allow_zero):
        raise ValueError(f"number of servers must be {'>= 0' if allow_zero else '>= 1'}, got {c}")
    return c


def _check_positive(name: str, x: float) -> float:
    x = float(x)
    if not (x > 0 and math.isfinite(x)):
        raise ValueError(f"{name} must be a positive finite number, got {x!r}")
    return x


def _check_nonneg(name: str, x: float) -> float:
    x = float(x)
    if not (x >= 0 and math.isfinite(x)):
        raise ValueError(f"{name} must be a non-negative finite number, got {x!r}")
    return x


# --------------------------------------------------------------------------- Erlang B / C
def erlang_b(c: int, a: float) -> float:
    """Erlang B blocking probability of an M/M/c/c loss system (= M/G/c/c, insensitive).

    ``c`` servers, offered load ``a = lam / mu`` Erlangs. Uses the stable recursion
    ``B(0) = 1``, ``B(k) = a B(k-1) / (k + a B(k-1))`` (O(c), no overflow).
    ``c = 0`` gives 1 (everyone is blocked).
    """
    c = _check_servers(c, allow_zero=True)
    a = _check_nonneg("offered load a", a)
    b = 1.0
    for k in range(1, c + 1):
        ab = a * b
        b = ab / (k + ab)
    return b


def erlang_c(c: int, a: float) -> float:
    """Erlang C: probability that an arrival must wait, P(Wq > 0), in an M/M/c queue.

    ``a = lam / mu`` is the offered load (Erlangs). Computed from Erlang B as
    ``C = c B / (c - a (1 - B))``. For ``a >= c`` the queue is unstable and every
    arrival eventually waits, so 1.0 is returned (the limit); use :func:`mmc` if you
    want instability to raise.
    """
    c = _check_servers(c)
    a = _check_nonneg("offered load a", a)
    if a >= c:
        return 1.0
    b = erlang_b(c, a)
    return c * b / (c - a * (1.0 - b))


def erlang_c_wait_tail(lam: float, mu: float, c: int, t: float) -> float:
    """P(Wq > t) of an M/M/c FCFS queue: an arrival waits w.p. C (Erlang C), and then its wait
    is Exp(c mu - lam), so P(Wq > t) = C exp(-(c mu - lam) t) for t >= 0."""
    lam = _check_nonneg("lam", lam)
    mu = _check_positive("mu", mu)
    c = _check_servers(c)
    t = _check_nonneg("t", t)
    if lam >= c * mu:
        raise ValueError(f"M/M/{c} unstable: lam = {lam} >= c mu = {c * mu}")
    return erlang_c(c, lam / mu) * math.exp(-(c * mu - lam) * t)


def mmc(lam: float, mu: float, c: int) -> dict[str, float]:
    """Steady state of the M/M/c queue (FCFS, infinite waiting room).

    Returns ``rho`` (per-server utilisation ``lam / (c mu)``), ``p_wait`` (Erlang C),
    ``wq = C / (c mu - lam)``, ``w = wq + 1/mu``, ``lq = lam wq``, ``l = lam w``.
    ``lam = 0`` is allowed (empty system). Raises ``ValueError`` if ``rho >= 1``.
    """
    lam = _check_nonneg("lam", lam)
    mu = _check_positive("mu", mu)
    c = _check_servers(c)
    rho = lam / (c * mu)
    if rho >= 1.0:
        raise ValueError(f"M/M/{c} unstable: rho = lam/(c mu) = {rho:.6g} >= 1")
    p_wait = erlang_c(c, lam / mu)
    wq = p_wait / (c * mu - lam)
    w = wq + 1.0 / mu
    return {"rho": rho, "p_wait": p_wait, "wq": wq, "w": w, "lq": lam * wq, "l": lam * w}


# --------------------------------------------------------------------------- M/M/c/K
def mmck(lam: float, mu: float, c: int, K: int) -> dict[str, float]:
    """Steady state of the M/M/c/K queue (``K`` = max customers in system, incl. in service).

    Arrivals finding ``K`` present are lost. Returns ``p_block`` (= P(N = K), by
    PASTA), ``throughput = lam (1 - p_block)``, ``l``, ``lq`` (time averages) and
    ``w = l / throughput``, ``wq = lq / throughput`` (means over *admitted*
    customers, by Little). Any ``lam >= 0`` is valid (no stability condition).
    """
    lam = _check_nonneg("lam", lam)
    mu = _check_positive("mu", mu)
    c = _check_servers(c)
    K = _check_servers(K)
    if K < c:
        raise ValueError(f"K (capacity incl. in service) must be >= c; got K={K}, c={c}")
    n = np.arange(K + 1)
    if lam == 0.0:
        p = np.zeros(K + 1)
        p[0] = 1.0
    else:
        # log of unnormalised p_n: sum_{k=1}^n log(lam / (min(k, c) mu))
        death = np.minimum(n[1:], c) * mu
        logp = np.concatenate(([0.0], np.cumsum(np.log(lam) - np.log(death))))
        p = np.exp(logp - logsumexp(logp))
    p_block = float(p[K])
    throughput = lam * (1.0 - p_block)
    l_ = float(np.dot(n, p))
    lq = float(np.dot(np.maximum(n - c, 0), p))
    if throughput > 0:
        w, wq = l_ / throughput, lq / throughput
    else:  # empty system: an (imaginary) admitted customer just gets served
        w, wq = 1.0 / mu, 0.0
    return {"p_block": p_block, "throughput": throughput, "l": l_, "lq": lq, "w": w, "wq": wq}


# --------------------------------------------------------------------------- M/G/1
def mg1_pk(lam: float, mean_s: float, var_s: float) -> dict[str, float]:
    """Pollaczek–Khinchine mean values for the M/G/1 FCFS queue.

    ``mean_s`` / ``var_s`` are the mean (h) and variance (h^2) of the service time.
    ``wq = lam E[S^2] / (2 (1 - rho))`` with ``E[S^2] = var_s + mean_s^2`` and
    ``rho = lam mean_s``; ``w = wq + mean_s``; ``lq``, ``l`` by Little. An infinite
    variance gives infinite waits. Raises ``ValueError`` if ``rho >= 1``.
    """
    lam = _check_nonneg("lam", lam)
    mean_s = _check_positive("mean_s", mean_s)
    var_s = float(var_s)
    if not var_s >= 0:
        raise ValueError(f"var_s must be >= 0, got {var_s!r}")
    rho = lam * mean_s
    if rho >= 1.0:
        raise ValueError(f"M/G/1 unstable: rho = lam * mean_s = {rho:.6g} >= 1")
    es2 = var_s + mean_s**2
    wq = lam * es2 / (2.0 * (1.0 - rho)) if lam > 0 else 0.0
    w = wq + mean_s
    return {"wq": wq, "w": w, "lq": lam * wq, "l": lam * w, "rho": rho}


# --------------------------------------------------------------------------- Erlang A
_TAIL_TOL = 1e-14
_MAX_STATES = 20_000_000


def _erlang_a_chain(lam: float, mu: float, theta: float, c: int) -> np.ndarray:
    """Stationary distribution of the M/M/c+M birth–death chain, truncated.

    Birth rate ``lam``; death rate ``n mu`` for ``n <= c`` and ``c mu + (n-c) theta``
    beyond. States are appended in geometrically growing blocks (vectorised) until
    the neglected tail mass is provably < ``_TAIL_TOL`` of the mass kept: once the
    ratio ``r = lam / death(N+1) < 1``, ratios are non-increasing in ``n`` so the tail
    beyond ``N`` is at most ``p_N r / (1 - r)``.
    """
    # states 0..c
    k = np.arange(1, c + 1)
    logp = np.concatenate(([0.0], np.cumsum(math.log(lam) - np.log(k * mu))))
    block = max(64, c)
    while True:
        n_last = len(logp) - 1  # highest state kept so far (>= c)
        log_norm = logsumexp(logp)
        r = lam / (c * mu + (n_last + 1 - c) * theta)
        if r < 1.0:
            log_tail_bound = logp[-1] + math.log(r) - math.log1p(-r)
            if log_tail_bound - log_norm < math.log(_TAIL_TOL):
                break
        if len(logp) > _MAX_STATES:
            raise ValueError(
                f"Erlang A chain needs more than {_MAX_STATES} states "
                f"(lam={lam}, mu={mu}, theta={theta}, c={c}); patience rate too small "
                "for this overload"
            )
        j = np.arange(n_last + 1, n_last + 1 + block) - c  # queue lengths of new states
        steps = math.log(lam) - np.log(c * mu + j * theta)
        logp = np.concatenate((logp, logp[-1] + np.cumsum(steps)))
        block *= 2
    return np.exp(logp - logsumexp(logp))


def erlang_a(lam: float, mu: float, theta: float, c: int) -> dict[str, float]:
    """Exact steady state of the Erlang A (M/M/c+M) queue: FCFS, exponential patience.

    Each waiting customer abandons at rate ``theta`` (mean patience ``1/theta`` h);
    a customer who reaches a server is served (no abandonment during service).
    Solved from the birth–death chain (death rate ``min(n, c) mu + max(n - c, 0)
    theta``), truncated where the tail mass is < 1e-14; normalised in log space.

    Returns

    * ``p_wait``: P(an arrival waits > 0) = P(N >= c) (PASTA).
    * ``p_abandon``: ``theta E[Lq] / lam`` (abandonment flow balance).
    * ``wq``: mean wait of **all** arrivals (abandoners count their time until
      abandoning) = ``E[Lq] / lam`` (Little).
    * ``wq_served``: mean wait of the customers that are eventually served. An
      arrival finding ``n >= c`` present joins at queue position ``m = n - c + 1``;
      at position ``i`` it leaves that position at rate ``c mu + i theta`` and moves
      up (not abandoning) w.p. ``(c mu + (i-1) theta)/(c mu + i theta)``, so
      P(served | m) = ``c mu / (c mu + m theta)`` and
      E[wait | served, m] = ``sum_{i=1..m} 1 / (c mu + i theta)``.
    * ``throughput``: served customers per hour = ``lam (1 - p_abandon)``.
    * ``lq``, ``l``: time-average number waiting / in system.

    ``theta = 0`` is allowed when ``lam < c mu`` (reduces to M/M/c). ``theta == mu``
    makes the occupancy Poisson(lam/mu) (as in M/M/inf). The system is stable for any
    load when ``theta > 0``.
    """
    lam = _check_positive("lam", lam)
    mu = _check_positive("mu", mu)
    theta = _check_nonneg("theta", theta)
    c = _check_servers(c)
    if theta == 0.0 and lam >= c * mu:
        raise ValueError(
            f"Erlang A with theta=0 is M/M/{c}, unstable for lam={lam} >= c mu={c * mu}"
        )
    p = _erlang_a_chain(lam, mu, theta, c)
    n = np.arange(len(p))
    q = np.maximum(n - c, 0)
    lq = float(np.dot(q, p))
    l_ = float(np.dot(n, p))
    pq = p[c:]  # arrivals that must wait, by queue length ahead + 1 = position m
    m = np.arange(1, len(pq) + 1)
    p_wait = float(pq.sum())
    p_abandon = theta * lq / lam
    p_served_given_m = (c * mu) / (c * mu + m * theta)
    mean_wait_served_given_m = np.cumsum(1.0 / (c * mu + m * theta))
    p_served = 1.0 - p_abandon
    wq_served = float(np.dot(pq, p_served_given_m * mean_wait_served_given_m)) / p_served
    return {
        "p_abandon": p_abandon,
        "wq": lq / lam,
        "wq_served": wq_served,
        "p_wait": p_wait,
        "throughput": lam * p_served,
        "lq": lq,
        "l": l_,
    }


# --------------------------------------------------------------------------- M/G/inf
def mginf(lam: float, mean_s: float) -> dict[str, float]:
    """M/G/inf (infinite servers, any service distribution): occupancy ~ Poisson(lam E[S]).

    Returns ``l`` (mean = variance of the number in system) and ``p0 = exp(-l)``
    (probability the system is empty). Holds in steady state for any service
    distribution with finite mean. (Transient, started empty: N(t) is Poisson with
    mean ``lam * integral_0^t P(S > u) du`` = ``lam * E[min(S, t)]``.)
    """
    lam = _check_nonneg("lam", lam)
    mean_s = _check_nonneg("mean_s", mean_s)
    l_ = lam * mean_s
    return {"l": l_, "p0": math.exp(-l_)}


# --------------------------------------------------------------------------- Jackson
def jackson(
    external: Sequence[float] | np.ndarray,
    routing: Sequence[Sequence[float]] | np.ndarray,
    mu: Sequence[float] | np.ndarray,
    servers: Sequence[float] | np.ndarray,
) -> dict[str, np.ndarray | float]:
    """Open Jackson network of M/M/c nodes with Markov routing.

    ``external[i]``: Poisson arrival rate from outside into node ``i`` (/h).
    ``routing[i, j]``: probability a customer finishing at node ``i`` goes to node
    ``j``; ``1 - sum_j routing[i, j]`` is the probability of leaving the network.
    ``mu[i]``: service rate per server; ``servers[i]``: number of servers (``np.inf``
    allowed for a pure-delay M/M/inf node).

    Node throughputs solve the traffic equations ``lam = external + routing^T lam``.
    Each node then behaves as an independent M/M/c queue (product form), so

    * ``lam``, ``rho`` (``lam / (c mu)``, 0 for infinite-server nodes),
      ``l`` (mean number at node), ``w`` (mean sojourn per visit) — arrays;
    * ``visits`` = ``lam / sum(external)`` (mean visits per network customer);
    * ``total_l`` = sum of ``l``; ``mean_sojourn`` = ``total_l / sum(external)``
      (mean time in the network, by Little).

    Raises ``ValueError`` for bad shapes / probabilities, a network with no exit
    (singular traffic equations), or an unstable node (``rho >= 1``).
    """
    ext = np.asarray(external, dtype=float)
    P = np.asarray(routing, dtype=float)
    mu_ = np.asarray(mu, dtype=float)
    srv = np.asarray(servers, dtype=float)
    n = ext.shape[0] if ext.ndim == 1 else -1
    if n < 1 or P.shape != (n, n) or mu_.shape != (n,) or srv.shape != (n,):
        raise ValueError(
            f"shape mismatch: external {ext.shape}, routing {P.shape}, mu {mu_.shape}, "
            f"servers {srv.shape}; expected (n,), (n, n), (n,), (n,)"
        )
    if np.any(ext < 0) or not np.all(np.isfinite(ext)) or ext.sum() <= 0:
        raise ValueError("external rates must be finite, >= 0 and not all zero")
    if np.any(P < 0) or np.any(P.sum(axis=1) > 1 + 1e-12):
        raise ValueError("routing must be non-negative with row sums <= 1")
    if np.any(~(mu_ > 0)) or not np.all(np.isfinite(mu_)):
        raise ValueError("mu must be positive and finite")
    finite = np.isfinite(srv)
    if np.any(srv < 1) or np.any(srv[finite] != np.round(srv[finite])):
        raise ValueError("servers must be integers >= 1 (or inf)")
    A = np.eye(n) - P.T
    try:
        lam = np.linalg.solve(A, ext)
        if np.linalg.cond(A) > 1e12:
            raise np.linalg.LinAlgError
    except np.linalg.LinAlgError:
        raise ValueError(
            "traffic equations are singular: some customers can never leave the network"
        ) from None
    lam = np.maximum(lam, 0.0)  # clip -1e-17 style round-off
    rho = np.zeros(n)
    l_ = np.zeros(n)
    w = np.zeros(n)
    for i in range(n):
        if not finite[i]:
            l_[i] = lam[i] / mu_[i]
            w[i] = 1.0 / mu_[i]
            continue
        rho[i] = lam[i] / (srv[i] * mu_[i])
        if rho[i] >= 1.0:
            raise ValueError(
                f"node {i} unstable: lam={lam[i]:.6g}, c={int(srv[i])}, mu={mu_[i]:.6g}, "
                f"rho={rho[i]:.6g} >= 1"
            )
        r = mmc(lam[i], mu_[i], int(srv[i]))
        l_[i] = r["l"]
        w[i] = r["w"]
    total_ext = float(ext.sum())
    total_l = float(l_.sum())
    return {
        "lam": lam,
        "rho": rho,
        "l": l_,
        "w": w,
        "visits": lam / total_ext,
        "total_l": total_l,
        "mean_sojourn": total_l / total_ext,
    }
