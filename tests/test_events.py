"""The engine's wake-up event follows SimPy's event protocol, so SimPy itself can process it."""

import simpy

from revsim.engine.entities import NORMAL, Wake
from revsim.engine.environment import Environment


def test_simpy_processes_a_wake_like_its_own_events() -> None:
    env = simpy.Environment()
    fired: list[float] = []
    ev = Wake(env, lambda e: fired.append(env.now))
    env.schedule(ev, NORMAL, 2.5)  # type: ignore[arg-type]
    env.run()
    assert fired == [2.5] and ev.callbacks is None  # processed, as SimPy marks its events


def test_the_engine_loop_runs_wakes_and_simpy_events_in_time_order() -> None:
    env = Environment()
    order: list[tuple[str, float]] = []
    env.wake(Wake(env, lambda e: order.append(("wake", env.now))), 3.0)
    env.timeout(1.0).callbacks.append(lambda e: order.append(("timeout", env.now)))
    env.wake(Wake(env, lambda e: order.append(("wake", env.now))), 1.0)  # same time: after
    env.run(until=10.0)
    assert order == [("timeout", 1.0), ("wake", 1.0), ("wake", 3.0)]
    assert env.now == 10.0
