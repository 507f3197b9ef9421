"""Executors for sweeps behind the concurrent.futures interface: serial, a local process pool,
or a Dask cluster (optional extra: ``pip install revsim[dask]``)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from typing import Any

from revsim.errors import Problem
from revsim.experiment import make_executor, stop_executor
from revsim.sweep.runner import SweepError


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise SweepError([Problem("--scheduler", "Dask is not installed; install the extra "
                                  "with: pip install 'revsim[dask]'")]) from None
    return distributed


@contextmanager
def sweep_executor(jobs: int | None = None, scheduler: str | None = None,
                   dask_local: int | None = None, timeout: float = 10.0) -> Iterator[Executor]:
    """An Executor for the sweep's tasks; cleaned up (and stopped on Ctrl-C) on exit.

    ``scheduler`` is the address of a running Dask scheduler (``tcp://host:8786``); it must
    answer within ``timeout`` seconds. ``dask_local=N`` starts a LocalCluster of N single-thread
    worker processes on loopback. Otherwise ``jobs`` local processes (1 = serial).
    """
    if scheduler is not None or dask_local is not None:
        distributed = _distributed()
        cluster = None
        try:
            if scheduler is not None:
                client = distributed.Client(scheduler, timeout=timeout)
            else:
                cluster = distributed.LocalCluster(
                    n_workers=dask_local, threads_per_worker=1, processes=True,
                    host="127.0.0.1", dashboard_address=None,
                )
                client = distributed.Client(cluster)
        except (OSError, TimeoutError) as err:
            where = scheduler or "a local cluster"
            raise SweepError([Problem("--scheduler", f"cannot reach the Dask scheduler at "
                                      f"{where} within {timeout:g} s ({err}); check the "
                                      "address and that the scheduler is running")]) from None
        try:
            yield client.get_executor()
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
        return
    executor = make_executor(jobs)
    try:
        yield executor
    except BaseException:
        stop_executor(executor)
        raise
    executor.shutdown(wait=True)
