"""M/M/10 in idiomatic SimPy: the baseline a typical user would write.

One generator process per customer, a ``simpy.Resource`` for the servers and variates drawn one
at a time from a NumPy generator. Every customer's wait and time in system are recorded.
"""

import numpy as np
import simpy

ARRIVAL_RATE = 9.0  # per hour
SERVICE_RATE = 1.0  # per hour, per server
SERVERS = 10


def customer(env, servers, rng, waits, sojourns):
    arrived = env.now
    with servers.request() as req:
        yield req
        waits.append(env.now - arrived)
        yield env.timeout(rng.exponential(1 / SERVICE_RATE))
    sojourns.append(env.now - arrived)


def source(env, n_arrivals, servers, rng, waits, sojourns):
    for _ in range(n_arrivals):
        yield env.timeout(rng.exponential(1 / ARRIVAL_RATE))
        env.process(customer(env, servers, rng, waits, sojourns))


def run(n_arrivals: int = 200_000, seed: int = 1) -> dict:
    rng = np.random.default_rng(seed)
    env = simpy.Environment()
    servers = simpy.Resource(env, capacity=SERVERS)
    waits: list[float] = []
    sojourns: list[float] = []
    env.process(source(env, n_arrivals, servers, rng, waits, sojourns))
    env.run()  # until every customer has left
    return {
        "mean_wait_h": float(np.mean(waits)),
        "mean_system_h": float(np.mean(sojourns)),
        "n": len(waits),
    }


if __name__ == "__main__":
    print(run())
