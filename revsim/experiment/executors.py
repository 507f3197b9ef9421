"""Where tasks run, behind the concurrent.futures Executor interface: in this process (serial),
in a local process pool (the default), or on a Dask cluster (optional extra:
``pip install revsim[dask]``). :func:`open_executor` is the one way to get one; it always cleans
up, and on Ctrl-C or an error it stops the workers at once. A local pool's workers also end by
themselves when their parent ends in any way (SIGTERM, SIGKILL), so none outlives it.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any

from revsim.errors import ExperimentError, Problem
from revsim.io import pid_alive

DASK_TIMEOUT_S = 10.0


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
    """One worker per CPU this process may run on."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


def worker_count(jobs: int | None, tasks: int | None = None) -> int:
    """Workers for ``jobs`` (None or <= 0: one per CPU), never more than there are tasks."""
    n = default_jobs() if jobs is None or jobs <= 0 else jobs
    return max(1, min(n, tasks)) if tasks is not None else n


PARENT_POLL_S = 0.5
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _end_with_parent(creator: int) -> None:
    """Make this worker die when its parent does, however the parent ends (SIGKILL too).

    On Linux the kernel sends SIGKILL when the parent exits (prctl PR_SET_PDEATHSIG); where
    that is unavailable, and for a parent that is not the one that started the pool (a fork
    server), a daemon thread notices within PARENT_POLL_S seconds that the parent or the
    pool's ``creator`` is gone.
    """
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        try:
            import ctypes  # lazy: workers only

            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent or not pid_alive(creator):  # gone before prctl took effect
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent and pid_alive(creator):
            time.sleep(PARENT_POLL_S)
        os._exit(1)

    threading.Thread(target=watch, name="revsim-parent-watch", daemon=True).start()


def _init_worker(creator: int) -> None:
    # Ctrl-C is the parent's to handle: it stops the pool and exits cleanly. Workers that also
    # received it would each print a KeyboardInterrupt traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _end_with_parent(creator)


def stop_executor(executor: Executor) -> None:
    """Stop now: cancel queued work and end worker processes (used on Ctrl-C and errors)."""
    processes = list((getattr(executor, "_processes", None) or {}).values())
    executor.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()


def _distributed() -> Any:
    try:
        import distributed  # lazy: Dask is optional and slow to import
    except ImportError:
        raise ExperimentError([Problem("--scheduler", "Dask is not installed; install the "
                                       "extra with: pip install 'revsim[dask]'")]) from None
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


def _local_cluster(distributed: Any, workers: int, dashboard: bool) -> Any:
    """A LocalCluster of single-thread worker processes on 127.0.0.1.

    Without ``dashboard`` nothing on it answers HTTP: the dashboard is off, and so are the
    routes the scheduler and the workers serve even then (cluster and worker pages, JSON,
    metrics, a proxy to the workers), which any local user could otherwise read. Dask still
    starts its HTTP servers; they listen on free loopback ports and serve nothing. With
    ``dashboard``: the dashboard at 127.0.0.1:8787 (the next free port if that one is busy).
    """
    import dask  # lazy: Dask is optional and slow to import

    if dashboard:
        try:
            import bokeh  # noqa: F401  # lazy: only the dashboard needs it
        except ImportError:
            raise ExperimentError([Problem("--dask-dashboard", "the Dask dashboard needs "
                                           "bokeh; install it with: pip install bokeh")]
                                  ) from None
        return distributed.LocalCluster(n_workers=workers, threads_per_worker=1,
                                        processes=True, host="127.0.0.1",
                                        dashboard_address="127.0.0.1:8787")
    silent = {"distributed.scheduler.http.routes": [], "distributed.worker.http.routes": []}
    with dask.config.set(silent):  # read as the workers start, inside the constructor
        return distributed.LocalCluster(n_workers=workers, threads_per_worker=1,
                                        processes=True, host="127.0.0.1",
                                        dashboard_address="127.0.0.1:0",
                                        scheduler_kwargs={"dashboard": False})


@contextmanager
def _dask_executor(scheduler: str | None, dask_local: int | None, timeout: float,
                   dashboard: bool = False) -> Iterator[Executor]:
    distributed = _distributed()
    cluster = None
    try:
        if scheduler is not None:
            client = _connect(distributed, scheduler, timeout)
        else:
            assert dask_local is not None
            cluster = _local_cluster(distributed, dask_local, dashboard)
            client = distributed.Client(cluster)
            if dashboard:
                sys.stderr.write(f"Dask dashboard: {client.dashboard_link}\n")
    except (OSError, TimeoutError) as err:
        where = scheduler or "a local cluster"
        raise ExperimentError([Problem("--scheduler", f"cannot reach the Dask scheduler at "
                                       f"{where} within {timeout + 5:g} s ({err}); check the "
                                       "address and that the scheduler is running")]) from None
    try:
        yield client.get_executor()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


@contextmanager
def open_executor(jobs: int | None = None, *, scheduler: str | None = None,
                  dask_local: int | None = None, tasks: int | None = None,
                  timeout: float = DASK_TIMEOUT_S,
                  dask_dashboard: bool = False) -> Iterator[Executor]:
    """An Executor for an experiment's tasks, shut down on exit (stopped at once on Ctrl-C).

    ``scheduler`` is the address of a running Dask scheduler (``tcp://host:8786``), which must
    answer within ``timeout`` seconds; ``dask_local=N`` starts a LocalCluster of N
    single-thread worker processes on 127.0.0.1, serving nothing over HTTP unless
    ``dask_dashboard`` asks for its dashboard (its address is printed on stderr). Otherwise
    ``jobs`` local processes (None or <= 0: one per CPU; 1, or a single task: serial, in this
    process).
    """
    if scheduler is not None and dask_local is not None:
        raise ExperimentError([Problem("--scheduler", "give either a scheduler address or "
                                       "--dask-local, not both")])
    if dask_dashboard and dask_local is None:
        raise ExperimentError([Problem("--dask-dashboard", "is the dashboard of the cluster "
                                       "--dask-local N starts; give --dask-local too (a "
                                       "--scheduler's cluster has its own dashboard)")])
    if scheduler is not None or dask_local is not None:
        with _dask_executor(scheduler, dask_local, timeout, dask_dashboard) as client_executor:
            yield client_executor
        return
    workers = worker_count(jobs, tasks)
    executor: Executor = (SerialExecutor() if workers == 1 else
                          ProcessPoolExecutor(max_workers=workers, initializer=_init_worker,
                                              initargs=(os.getpid(),)))
    try:
        yield executor
    except BaseException:
        stop_executor(executor)
        raise
    executor.shutdown(wait=True)
