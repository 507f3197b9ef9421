"""The experiment core under every command: one executor per experiment, results sorted by
(point, replication) whatever the completion order, the same bytes on any executor, precision
mode that adds replications instead of rerunning them, and a store that resumes."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import SAAS

import revsim
import revsim.api
from revsim.cli import main
from revsim.experiment import (
    ExperimentStore,
    RunOptions,
    SerialExecutor,
    run_points,
)
from revsim.experiment.replication import UNPACKED_KEPT, PackedModel, pack, unpack

SHORT = ["--horizon", "4 w", "--warmup", "1 w", "--seed", "3", "--no-progress"]
WINDOW = RunOptions(horizon=4 * 168.0, warmup=168.0)


class RecordingExecutor(SerialExecutor):
    """Runs tasks in this process and records each submission: (function, model, args)."""

    def __init__(self) -> None:
        self.submitted: list[tuple[str, Any, tuple[Any, ...]]] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.submitted.append((fn.__name__, args[0], args[1:]))
        return super().submit(fn, *args, **kwargs)


class ReversedExecutor(Executor):
    """Holds tasks until ``expected`` were submitted, then runs them in another thread
    last-submitted-first: tasks complete in the opposite order of their submission."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.held: list[tuple[Future[Any], Callable[..., Any], tuple[Any, ...]]] = []
        self.completed: list[int] = []  # replication of each task, in completion order

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        self.held.append((future, fn, args))
        if len(self.held) == self.expected:
            threading.Thread(target=self._run_backwards, daemon=True).start()
        return future

    def _run_backwards(self) -> None:
        for future, fn, args in reversed(self.held):
            future.set_result(fn(*args))
            self.completed.append(args[2])


@pytest.fixture
def executors(monkeypatch: pytest.MonkeyPatch) -> list[RecordingExecutor]:
    """Every executor the API opens, each a RecordingExecutor."""
    opened: list[RecordingExecutor] = []

    @contextmanager
    def recording(*args: Any, **kwargs: Any) -> Iterator[Executor]:
        opened.append(RecordingExecutor())
        yield opened[-1]

    monkeypatch.setattr(revsim.api, "open_executor", recording)
    return opened


@pytest.fixture(scope="module")
def saas() -> revsim.Scenario:
    return revsim.load(SAAS)


def test_compare_submits_the_base_and_every_variant_to_one_executor(
        saas: revsim.Scenario, executors: list[RecordingExecutor]) -> None:
    cmp = saas.compare({"pools.sdr.headcount": 7}, ("ae+1", {"pools.ae.headcount": 11}),
                       replications=2, seed=3, horizon="4 w", warmup="1 w", progress=False)
    assert len(executors) == 1
    tasks = executors[0].submitted
    models = list(dict.fromkeys(id(model) for _fn, model, _args in tasks))
    assert len(models) == 3 and len(tasks) == 3 * 2
    # point by point, replications 0 and 1 of each: common random numbers by construction
    assert [(fn, args[0], args[1]) for fn, _m, args in tasks] == [("run_one", 3, r)
                                                                   for _ in models for r in (0, 1)]
    assert list(cmp.variants) == ["pools.sdr.headcount=7", "ae+1"]


def test_bottlenecks_submits_the_base_and_one_point_per_pool_to_one_executor(
        saas: revsim.Scenario, executors: list[RecordingExecutor]) -> None:
    report = saas.bottlenecks(replications=2, seed=3, horizon="4 w", warmup="1 w",
                              progress=False)
    assert len(executors) == 1
    tasks = executors[0].submitted
    points = list(dict.fromkeys(id(model) for _fn, model, _args in tasks))
    assert len(points) == 1 + len(saas.model.pools)
    assert len(tasks) == len(points) * 2
    # only the base records active periods; every +1 head point runs the same window
    options = [args[2] for _fn, _m, args in tasks]
    assert [o.active_periods for o in options] == [True, True] + [False] * (len(tasks) - 2)
    assert {(o.horizon, o.warmup) for o in options} == {(4 * 168.0, 168.0)}
    assert set(report.marginal["pool"]) == {p.name for p in saas.model.pools}


def test_auto_warmup_pilot_and_main_run_share_one_executor(
        saas: revsim.Scenario, executors: list[RecordingExecutor]) -> None:
    result = saas.run(replications=2, seed=3, horizon="8 w", warmup="auto", progress=False)
    assert len(executors) == 1
    warmups = [args[2].warmup for _fn, _m, args in executors[0].submitted]
    assert warmups[:2] == [0.0, 0.0]  # the pilot, from an empty start
    assert warmups[2:] == [result.manifest["warmup_hours"]] * 2


def test_precision_mode_adds_replications_to_the_same_point(
        saas: revsim.Scenario, executors: list[RecordingExecutor]) -> None:
    result = saas.run(replications=5, seed=3, horizon="4 w", warmup="1 w", precision=0.01,
                      max_replications=9, progress=False)
    reps = [args[1] for _fn, _m, args in executors[0].submitted]
    assert len(executors) == 1
    assert reps == list(range(len(reps))), "every replication runs once, in order"
    assert len(reps) == result.manifest["replications"] > 5
    fixed = saas.run(replications=5, seed=3, horizon="4 w", warmup="1 w", progress=False)
    first = result.summary[result.summary.replication < 5].reset_index(drop=True)
    assert first.equals(fixed.summary)


def test_results_are_sorted_by_point_and_replication_not_completion(
        saas: revsim.Scenario) -> None:
    other = saas.with_changes({"pools.sdr.headcount": 7}).model
    points = {"base": saas.model, "more sdr": other}
    serial = run_points(points, 3, 5, options=WINDOW, executor=SerialExecutor())

    backwards_executor = ReversedExecutor(expected=6)
    backwards = run_points(points, 3, 5, options=WINDOW, executor=backwards_executor)
    assert backwards_executor.completed == [2, 1, 0, 2, 1, 0]
    assert backwards.table.equals(serial.table)
    assert list(backwards.table.drop_duplicates(["point", "replication"])
                [["point", "replication"]].itertuples(index=False, name=None)) == [
        (p, r) for p in points for r in range(3)]


def test_workers_get_each_model_pickled_once(saas: revsim.Scenario) -> None:
    """Out of process, a model travels packed (pickled once per experiment, unpickled once per
    worker): every task of a point carries the same PackedModel, and the results are those of
    the plain model run in process."""
    other = saas.with_changes({"pools.sdr.headcount": 9}).model
    points = {"base": saas.model, "more sdr": other}
    backwards_executor = ReversedExecutor(expected=6)
    packed = run_points(points, 3, 5, options=WINDOW, executor=backwards_executor)
    shipped = [args[0] for _future, _fn, args in backwards_executor.held]
    assert all(isinstance(m, PackedModel) for m in shipped)
    assert [id(m) for m in shipped] == [id(shipped[0])] * 3 + [id(shipped[3])] * 3
    assert shipped[0].digest != shipped[3].digest
    assert packed.table.equals(run_points(points, 3, 5, options=WINDOW,
                                          executor=SerialExecutor()).table)


def test_a_worker_keeps_a_few_unpacked_models(saas: revsim.Scenario) -> None:
    packs = [pack(saas.with_changes({"pools.sdr.headcount": h}).model)
             for h in range(3, 4 + UNPACKED_KEPT)]
    first = unpack(packs[0])
    assert first.pools == saas.with_changes({"pools.sdr.headcount": 3}).model.pools
    assert unpack(packs[0]) is first  # unpickled once
    for p in packs[1:]:
        unpack(p)
    assert unpack(packs[0]) is not first  # the oldest was let go: memory stays bounded
    assert unpack(saas.model) is saas.model  # a plain model is used as it is


def test_a_store_resumes_only_the_missing_tasks(saas: revsim.Scenario, tmp_path: Path) -> None:
    points = {"a": saas.model, "b": saas.with_changes({"pools.sdr.headcount": 7}).model}
    whole = run_points(points, 2, 9, options=WINDOW, executor=SerialExecutor())
    store = ExperimentStore(tmp_path / "store")
    store.open({"spec_hash": "test"}, resume=False)
    run_points({"a": points["a"]}, 2, 9, options=WINDOW, executor=SerialExecutor(), store=store)
    recorder = RecordingExecutor()
    resumed = run_points(points, 2, 9, options=WINDOW, executor=recorder, store=store)
    assert (resumed.ran, resumed.skipped) == (2, 2)
    assert {id(model) for _fn, model, _args in recorder.submitted} == {id(points["b"])}
    assert resumed.table.equals(whole.table)


def _cli(*args: str) -> str:
    done = CliRunner().invoke(main, list(args))
    assert done.exit_code == 0, done.output
    return done.stdout


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())
            if not p.name.endswith("manifest.json")}


@pytest.mark.parametrize("command", [
    ["run", str(SAAS), "-n", "2", "-q"],
    ["compare", str(SAAS), "--hire", "ae=1", "--terms", "net 15", "-n", "2"],
    ["bottlenecks", str(SAAS), "-n", "2"],
], ids=["run", "compare", "bottlenecks"])
def test_same_bytes_serial_process_pool_and_dask(command: list[str], tmp_path: Path) -> None:
    outputs = {}
    for name, executor in (("serial", ["-j", "1"]), ("pool", ["-j", "2"]),
                           ("dask", ["--dask-local", "2"])):
        out = tmp_path / name
        printed = _cli(*command, *SHORT, *executor, "-o", str(out))
        outputs[name] = (printed, _files(out))
    assert outputs["pool"] == outputs["serial"]
    assert outputs["dask"] == outputs["serial"]
    assert any(name.endswith(".csv") for name in outputs["serial"][1])
