"""What a worker runs: one replication (or one long run cut into batches) reduced to KPI rows.

Replication r is seeded by ``SeedSequence(root, spawn_key=(r,))`` whatever the scenario, so
replication r of every point of an experiment shares its random streams (common random
numbers), and with parameter uncertainty its parameter draw (:func:`draw_index`). Ctrl-C in
the process that runs the engine stops it at the next event.
"""

from __future__ import annotations

import gc
import hashlib
import pickle
import signal
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from revsim.engine.environment import StopRequest
from revsim.engine.simulation import ReplicationOutput, simulate, simulate_batches
from revsim.engine.streams import Streams
from revsim.kpis import Row, period_rows, replication_rows
from revsim.scenario.model import Model


@dataclass
class ReplicationSummary:
    """The picklable result of one replication: KPI rows, level series, optional visits."""

    replication: int
    rows: list[Row]
    series: dict[str, np.ndarray]
    visits: dict[str, np.ndarray] | None
    extra: dict[str, Any] = field(default_factory=dict)
    #: per-period figures (scope "period", name = the period's label), when periods were asked
    periods: list[Row] = field(default_factory=list)


@dataclass(frozen=True)
class RunOptions:
    """How to run each replication: window overrides (hours) and what to record.

    ``artefacts=False`` keeps only the KPI rows (no level series, visits or extra data), which
    is all a sweep needs and keeps what workers send back small. ``periods`` are the ends of
    the periods whose figures to record (hours; the last is the horizon), ``period_labels``
    their names.
    """

    horizon: float | None = None
    warmup: float | None = None
    records: bool = False
    active_periods: bool = False
    artefacts: bool = True
    periods: tuple[float, ...] = ()
    period_labels: tuple[str, ...] = ()


def _summary(out: ReplicationOutput, model: Model, replication: int,
             options: RunOptions) -> ReplicationSummary:
    rows = replication_rows(out, model)
    periods = period_rows(out.period_readings, model, options.period_labels)
    if not options.artefacts:
        return ReplicationSummary(replication, rows, {}, None, periods=periods)
    return ReplicationSummary(replication, rows, out.series, out.visits, out.extra, periods)


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


#: Allocations between young-generation collections while the engine runs (CPython's default
#: is 700): a replication allocates millions of short-lived objects.
ENGINE_GC_THRESHOLD = 50_000


@contextmanager
def _replication_gc() -> Iterator[None]:
    """The cyclic garbage collector, tuned for one replication.

    A few engine objects refer to each other (a lead and its deal, a simulation and its
    stages), so collection stays on. But at CPython's defaults its passes went over every
    live object again and again, the model and a warm start's thousands of items among them,
    and took a quarter to a third of a forecast replication. Everything alive before the
    replication is frozen (out of the collector's sight) while it runs, young collections are
    rarer, and one collection at the end, still frozen, frees the replication's own cycles so
    that a worker's memory stays flat over many replications.
    """
    # the collector is the process's: replications running in threads side by side (a Dask
    # worker's) share one setting, made by the first to start and undone by the last to end
    with _gc_lock:
        _gc_users[0] += 1
        if _gc_users[0] == 1:
            _gc_before[:] = gc.get_threshold()
            gc.freeze()
            gc.set_threshold(max(_gc_before[0], ENGINE_GC_THRESHOLD), *_gc_before[1:])
    try:
        yield
    finally:
        with _gc_lock:
            _gc_users[0] -= 1
            if _gc_users[0] == 0:
                gc.set_threshold(*_gc_before)
                gc.collect()
                gc.unfreeze()


_gc_lock = threading.Lock()
_gc_users = [0]
_gc_before: list[int] = []


DRAW_STREAM = "parameter draw"


def draw_index(root_seed: int, replication: int, draws: int) -> int:
    """Which of ``draws`` parameter draws replication ``replication`` runs: drawn from its own
    named stream (a child of the replication's SeedSequence, apart from every stream the
    engine uses), so it depends on the seed and the replication only: the same at every point
    of an experiment and on any executor."""
    return int(Streams(root_seed, replication).generator(DRAW_STREAM).integers(draws))


@dataclass(frozen=True)
class PackedModel:
    """A model pickled once by the process that sends it to workers.

    A process pool pickles a task's arguments for every task; a model that carries a warm
    start of thousands of open items takes 0.1-0.2 s to pickle and half that to unpickle, as
    long as a 13-week replication itself. Sent packed, it is pickled once per experiment and
    unpickled once per worker (:func:`unpack` keeps the last few by digest); the bytes sent
    per task are copied, not pickled again.
    """

    digest: str
    blob: bytes

    def __repr__(self) -> str:
        return f"PackedModel({self.digest}, {len(self.blob):,} bytes)"


def pack(model: Model) -> PackedModel:
    blob = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
    return PackedModel(hashlib.blake2b(blob, digest_size=16).hexdigest(), blob)


#: Models a worker keeps unpacked: a sweep submits its points in order, so a few cover every
#: point in flight without holding all of a large sweep in a worker's memory.
UNPACKED_KEPT = 4
_unpacked: OrderedDict[str, Model] = OrderedDict()
_unpacked_lock = threading.Lock()


def unpack(model: Model | PackedModel) -> Model:
    """The model itself (unpickled once per process for each digest)."""
    if not isinstance(model, PackedModel):
        return model
    with _unpacked_lock:  # a Dask worker runs tasks in threads side by side
        found = _unpacked.get(model.digest)
        if found is not None:
            _unpacked.move_to_end(model.digest)
            return found
    found = pickle.loads(model.blob)
    with _unpacked_lock:
        _unpacked[model.digest] = found
        while len(_unpacked) > UNPACKED_KEPT:
            _unpacked.popitem(last=False)
    return found


def run_one(model: Model | PackedModel, seed: int, replication: int,
            options: RunOptions = RunOptions()) -> ReplicationSummary:
    """Simulate one replication and reduce it to KPI rows (runs inside worker processes)."""
    model = unpack(model)
    with _ctrl_c_between_events() as stop, _replication_gc():
        out = simulate(model, seed, replication, horizon=options.horizon,
                       warmup=options.warmup, records=options.records,
                       active_periods=options.active_periods, stop=stop,
                       periods=options.periods)
    return _summary(out, model, replication, options)


def run_batch_means(model: Model | PackedModel, seed: int, batches: int,
                    options: RunOptions = RunOptions()) -> list[ReplicationSummary]:
    """One long run (replication 0) cut into ``batches`` after the warm-up; each batch is
    summarised like a replication, numbered 0..batches-1."""
    model = unpack(model)
    with _ctrl_c_between_events() as stop, _replication_gc():
        outs = simulate_batches(model, seed, 0, batches, horizon=options.horizon,
                                warmup=options.warmup, stop=stop)
    return [_summary(out, model, i, options) for i, out in enumerate(outs)]
