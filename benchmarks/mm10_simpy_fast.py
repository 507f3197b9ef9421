"""M/M/10 in hand-optimised SimPy: a special-purpose script, the floor of SimPy's event loop.

Not a model a user would maintain, but the reference the issue quotes ("variates pre-drawn in
numpy batches, callbacks instead of a generator per customer"): every variate is drawn up front,
each arrival and each service completion is one bare ``Timeout`` with a callback, the queue is
a deque of arrival times and nothing but waits and times in system is recorded.
"""

from collections import deque

import numpy as np
import simpy

ARRIVAL_RATE = 9.0  # per hour
SERVICE_RATE = 1.0  # per hour, per server
SERVERS = 10


def run(n_arrivals: int = 200_000, seed: int = 1) -> dict:
    rng = np.random.default_rng(seed)
    gaps = rng.exponential(1 / ARRIVAL_RATE, n_arrivals).tolist()
    services = iter(rng.exponential(1 / SERVICE_RATE, n_arrivals).tolist())
    env = simpy.Environment()
    timeout = env.timeout
    waiting: deque[float] = deque()  # arrival times of customers in the queue
    waits: list[float] = []
    sojourns: list[float] = []
    free = SERVERS
    arrived = 0

    def start(arrival: float) -> None:
        now = env.now
        waits.append(now - arrival)
        done = timeout(next(services), arrival)
        done.callbacks.append(finish)

    def finish(event: simpy.Event) -> None:
        nonlocal free
        sojourns.append(env.now - event.value)
        if waiting:
            start(waiting.popleft())
        else:
            free += 1

    def arrive(event: simpy.Event) -> None:
        nonlocal free, arrived
        now = env.now
        if free:
            free -= 1
            start(now)
        else:
            waiting.append(now)
        arrived += 1
        if arrived < n_arrivals:
            timeout(gaps[arrived]).callbacks.append(arrive)

    timeout(gaps[0]).callbacks.append(arrive)
    env.run()
    return {
        "mean_wait_h": float(np.mean(waits)),
        "mean_system_h": float(np.mean(sojourns)),
        "n": len(waits),
    }


if __name__ == "__main__":
    print(run())
