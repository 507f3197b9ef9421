"""One function runs every experiment: every (point, replication) task on one executor.

``run`` is one point, ``compare`` the base plus its variants, ``bottlenecks`` the base plus one
"+1 head" point per pool, a sweep a design of points, ``optimize`` stages of points, and
precision mode adds replications to the same points (``first=``). Replication r is seeded the
same way at every point (common random numbers by design), and with parameter draws runs the
same draw at every point; results are keyed and sorted by (point order, replication), never by
completion order, so the same seed gives the same bytes on any executor.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from revsim.experiment.executors import SerialExecutor, open_executor
from revsim.experiment.replication import (
    PackedModel,
    ReplicationSummary,
    RunOptions,
    draw_index,
    pack,
    run_batch_means,
    run_one,
)
from revsim.experiment.store import ExperimentStore
from revsim.progress import progress_bar
from revsim.scenario.model import Model
from revsim.scenario.parameters import ParameterDraws

TABLE_COLUMNS = ["point", "replication", "metric", "scope", "name", "unit", "value"]
# Tasks pending at once: enough to keep any cluster busy, few enough that finished tasks are
# saved (and their memory freed) while the rest run, even on the serial executor.
IN_FLIGHT = 256
DEFAULT_OPTIONS = RunOptions()


@dataclass
class Runs:
    """What :func:`run_points` returns: per point (in the order given), its replications
    sorted by index, each a :class:`ReplicationSummary` (KPI rows plus, when kept, level series,
    visit records and extra data). ``failed`` lists tasks that raised (only when failures are
    recorded rather than raised); ``ran``/``skipped`` count tasks run now and found done in the
    store."""

    points: dict[str, list[ReplicationSummary]]
    failed: list[dict[str, Any]] = field(default_factory=list)
    ran: int = 0
    skipped: int = 0

    def replications(self, point: str) -> list[ReplicationSummary]:
        """One point's replications, sorted by index."""
        return self.points[point]

    def tidy(self, point: str) -> Any:
        """One point's KPIs, tidy: replication, metric, scope, name, unit, value."""
        import pandas as pd  # lazy: pandas is slow to import

        frames = [pd.DataFrame(r.rows).assign(replication=r.replication)
                  for r in self.points[point]]
        if not frames:
            return pd.DataFrame(columns=TABLE_COLUMNS[1:])
        tidy = pd.concat(frames, ignore_index=True)
        return tidy[TABLE_COLUMNS[1:]]

    def periods(self, point: str) -> Any:
        """One point's per-period figures, tidy (as :meth:`tidy`; scope "period", name = the
        period's label); empty unless the runs recorded periods."""
        import pandas as pd  # lazy: pandas is slow to import

        frames = [pd.DataFrame(r.periods).assign(replication=r.replication)
                  for r in self.points[point] if r.periods]
        if not frames:
            return pd.DataFrame(columns=TABLE_COLUMNS[1:])
        return pd.concat(frames, ignore_index=True)[TABLE_COLUMNS[1:]]

    @property
    def table(self) -> Any:
        """Every point's KPIs in one tidy long table: point, replication, metric, scope,
        name, unit, value; sorted by (point order, replication), rows in KPI order."""
        import pandas as pd  # lazy: pandas is slow to import

        frames = [self.tidy(p).assign(point=p) for p in self.points if self.points[p]]
        if not frames:
            return pd.DataFrame(columns=TABLE_COLUMNS)
        return pd.concat(frames, ignore_index=True)[TABLE_COLUMNS]


def _options_for(options: RunOptions | Mapping[str, RunOptions], point: str) -> RunOptions:
    return options if isinstance(options, RunOptions) else options[point]


def _error_text(error: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(error), error)).strip()


@contextmanager
def _executor_or(executor: Executor | None, tasks: int) -> Iterator[Executor]:
    if executor is not None:
        yield executor
    else:
        with open_executor(tasks=tasks) as opened:
            yield opened


@contextmanager
def _bar_or(bar: Any, total: int, label: str, progress: bool | None) -> Iterator[Any]:
    if bar is not None:
        yield bar
    else:
        with progress_bar(total, label, progress) as opened:
            yield opened


def run_points(points: Mapping[str, Model], replications: int, seed: int, *,
               options: RunOptions | Mapping[str, RunOptions] = DEFAULT_OPTIONS,
               first: int = 0, batches: int | None = None, executor: Executor | None = None,
               store: ExperimentStore | None = None, progress: bool | None = None,
               bar: Any = None, record_failures: bool = False, label: str = "tasks",
               parameters: ParameterDraws | None = None) -> Runs:
    """Run replications ``first .. first+replications-1`` of every point, all on one executor.

    ``options`` is one RunOptions for every point or one per point. ``batches=k`` runs one
    long replication per point cut into k batch means instead (replications is then ignored).
    ``executor`` defaults to a local process pool (see :func:`open_executor`), shut down at the
    end; a given executor stays open for the caller. With a ``store`` (already opened), each
    finished task is saved as it finishes and tasks already saved are read back instead of
    run. A task that raises stops the experiment and re-raises, unless ``record_failures``
    (the store keeps the failure; the rest completes). ``progress`` shows a bar of tasks over
    all points (None: only on a terminal); a caller that runs several rounds into one bar
    passes it as ``bar`` (a tqdm bar from :func:`revsim.progress.progress_bar`) instead.
    With ``parameters`` (parameter uncertainty), replication r of every point runs that
    point's model with draw :func:`draw_index` (seed, r) applied (ParameterDraws.model; built
    here, once per point and draw, so workers receive plain models).
    """
    if replications < 1 and batches is None:
        raise ValueError("replications must be at least 1")
    if batches is not None and store is not None:
        raise ValueError("batch means keep no store: the whole run is one task")
    if batches is not None and parameters is not None:
        raise ValueError("batch means run one replication: parameter draws need several")
    names = list(points)
    reps = [0] if batches is not None else list(range(first, first + replications))
    done = store.done() if store is not None else set()
    todo = [(p, r) for p in names for r in reps if (p, r) not in done]
    results: dict[tuple[str, int], list[ReplicationSummary]] = {}
    for p, r in sorted(done):
        if p in points and r in reps:
            results[(p, r)] = [ReplicationSummary(r, store.rows(p, r), {}, None)]  # type: ignore[union-attr]
    failed: list[dict[str, Any]] = []
    pending: dict[Future[Any], tuple[str, int]] = {}

    def harvest(finished: set[Future[Any]], bar: Any) -> None:
        for fut in finished:
            p, r = pending.pop(fut)
            error = fut.exception()
            if error is not None:
                if not record_failures:
                    raise error
                text = _error_text(error)
                if store is not None:
                    store.save_failure(p, r, text)
                failed.append({"point": p, "replication": r, "error": text})
            else:
                got = fut.result()
                summaries = got if isinstance(got, list) else [got]
                results[(p, r)] = summaries
                if store is not None:
                    store.save(p, r, summaries[0].rows)
            bar.update(1)

    with _bar_or(bar, len(names) * len(reps), label, progress) as bar, \
            _executor_or(executor, len(todo)) as pool:
        bar.update(len(results))
        variants: dict[tuple[str, int], Model] = {}
        in_process = isinstance(pool, SerialExecutor)
        packed: dict[int, PackedModel] = {}  # by id(): the models are alive until the end

        def shipped(model: Model) -> Model | PackedModel:
            if in_process:
                return model
            if id(model) not in packed:
                packed[id(model)] = pack(model)
            return packed[id(model)]

        for p, r in todo:
            model, opts = points[p], _options_for(options, p)
            if parameters is not None:
                j = draw_index(seed, r, len(parameters))
                if (p, j) not in variants:
                    variants[(p, j)] = parameters.model(model, j)
                model = variants[(p, j)]
            fut = (pool.submit(run_batch_means, shipped(model), seed, batches, opts)
                   if batches is not None else
                   pool.submit(run_one, shipped(model), seed, r, opts))
            pending[fut] = (p, r)
            harvest({f for f in pending if f.done()}, bar)
            if len(pending) >= IN_FLIGHT:
                finished, _ = wait(set(pending), return_when=FIRST_COMPLETED)
                harvest(finished, bar)
        while pending:
            finished, _ = wait(set(pending), return_when=FIRST_COMPLETED)
            harvest(finished, bar)
    if store is not None:
        store.flush()
    by_point = {p: [s for r in reps if (p, r) in results for s in results[(p, r)]]
                for p in names}
    return Runs(by_point, failed, ran=len(todo), skipped=len(reps) * len(names) - len(todo))
