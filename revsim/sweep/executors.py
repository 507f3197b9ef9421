"""Executors for sweeps behind the concurrent.futures interface: serial, a local process pool,
or a Dask cluster (optional extra: ``pip install revsim[dask]``)."""

from __future__ import annotations

import threading
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


def _connect(distributed: Any, address: str, timeout: float) -> Any:
    """A Client for ``address``, or TimeoutError after ``timeout`` (+ a grace period).

    Client's own timeout covers the TCP connection but not the handshake: a port that accepts
    connections and never answers (a wrong service) would hang forever, so the wait is bounded
    here, in a daemon thread.
    """
    box: dict[str, Any] = {}

    def connect() -> None:
        try:
            box["client"] = distributed.Client(address, timeout=timeout)
        except BaseException as err:  # noqa: BLE001 - handed back to the caller
            box["error"] = err

    thread = threading.Thread(target=connect, name="revsim-dask-connect", daemon=True)
    thread.start()
    thread.join(timeout + 5.0)
    if thread.is_alive():
        raise TimeoutError(f"no Dask handshake from {address} after {timeout + 5.0:g} s")
    if "error" in box:
        raise box["error"]
    return box["client"]


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
                client = _connect(distributed, scheduler, timeout)
            else:
                cluster = distributed.LocalCluster(
                    n_workers=dask_local, threads_per_worker=1, processes=True,
                    host="127.0.0.1", dashboard_address=None,
                )
                client = distributed.Client(cluster)
        except (OSError, TimeoutError) as err:
            where = scheduler or "a local cluster"
            raise SweepError([Problem("--scheduler", f"cannot reach the Dask scheduler at "
                                      f"{where} within {timeout + 5:g} s ({err}); check the "
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
