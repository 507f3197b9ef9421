"""Replications: seeds and parallel execution. Results are keyed and sorted by replication index."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from revsim.engine.environment import StopRequest
from revsim.engine.simulation import ReplicationOutput, simulate, simulate_batches
from revsim.kpis import Row, replication_rows
from revsim.scenario.model import Model


@dataclass
class ReplicationSummary:
    """The picklable result of one replication: KPI rows, level series, optional visits."""

    replication: int
    rows: list[Row]
    series: dict[str, np.ndarray]
    visits: dict[str, np.ndarray] | None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunOptions:
    """How to run each replication: window overrides and what to record (hours)."""

    horizon: float | None = None
    warmup: float | None = None
    records: bool = False
    active_periods: bool = False


def _summary(out: ReplicationOutput, model: Model, replication: int) -> ReplicationSummary:
    return ReplicationSummary(
        replication, replication_rows(out, model), out.series, out.visits, out.extra
    )


@contextmanager
def _ctrl_c_between_events() -> Iterator[StopRequest | None]:
    """While the engine runs in this thread, Ctrl-C stops it at the next event (see
    StopRequest). Left alone: other threads (no signals there) and workers that ignore it."""
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) in (signal.SIG_IGN, None)):
        yield None
        return
    stop = StopRequest()

    def request_stop(signum: int, frame: Any) -> None:
        stop.requested = True

    previous = signal.signal(signal.SIGINT, request_stop)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)
    if stop.requested:  # arrived after the last event
        raise KeyboardInterrupt


def run_one(model: Model, seed: int, replication: int,
            options: RunOptions = RunOptions()) -> ReplicationSummary:
    """Simulate one replication and reduce it to KPI rows (runs inside worker processes)."""
    with _ctrl_c_between_events() as stop:
        out = simulate(model, seed, replication, horizon=options.horizon,
                       warmup=options.warmup, records=options.records,
                       active_periods=options.active_periods, stop=stop)
    return _summary(out, model, replication)


def run_batch_means(model: Model, seed: int, batches: int,
                    options: RunOptions = RunOptions()) -> list[ReplicationSummary]:
    """One long run (replication 0) cut into ``batches`` after the warm-up; each batch is
    summarised like a replication, numbered 0..batches-1."""
    with _ctrl_c_between_events() as stop:
        outs = simulate_batches(model, seed, 0, batches, horizon=options.horizon,
                                warmup=options.warmup, stop=stop)
    return [_summary(out, model, i) for i, out in enumerate(outs)]


class SerialExecutor(Executor):
    """Runs each task at submit time in this process (``jobs=1``), behind the Executor API."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as err:  # noqa: BLE001 - handed to the caller via the future
            if isinstance(err, KeyboardInterrupt):
                raise
            future.set_exception(err)
        return future


def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


def _ignore_sigint() -> None:
    # Ctrl-C is the parent's to handle: it stops the pool and exits cleanly. Workers that also
    # received it would each print a KeyboardInterrupt traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def make_executor(jobs: int | None) -> Executor:
    """Serial for ``jobs=1``, a process pool otherwise (``None`` = one worker per CPU)."""
    jobs = default_jobs() if jobs is None or jobs <= 0 else jobs
    if jobs == 1:
        return SerialExecutor()
    return ProcessPoolExecutor(max_workers=jobs, initializer=_ignore_sigint)


def stop_executor(executor: Executor) -> None:
    """Stop now: cancel queued work and end worker processes (used on Ctrl-C and errors)."""
    processes = list((getattr(executor, "_processes", None) or {}).values())
    executor.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()


def run_replications(model: Model, *, replications: int, seed: int, jobs: int | None = 1,
                     options: RunOptions = RunOptions(), first: int = 0,
                     on_done: Callable[[int], None] | None = None) -> list[ReplicationSummary]:
    """Run replications ``first .. first+replications-1``; sorted by index, not completion."""
    if replications < 1:
        raise ValueError("replications must be at least 1")
    executor = make_executor(jobs)
    results: list[ReplicationSummary] = []
    try:
        futures = [
            executor.submit(run_one, model, seed, rep, options)
            for rep in range(first, first + replications)
        ]
        pending = set(futures)
        from concurrent.futures import FIRST_COMPLETED, wait

        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                results.append(fut.result())
                if on_done is not None:
                    on_done(1)
    except BaseException:
        stop_executor(executor)
        raise
    executor.shutdown(wait=True)
    return sorted(results, key=lambda r: r.replication)
