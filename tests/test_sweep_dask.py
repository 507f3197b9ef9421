"""Sweeps on Dask for real: a LocalCluster on loopback started by revsim (``dask_local``) or by
the test (``scheduler=``/``--scheduler``) gives results identical to the serial run, and a
scheduler that does not answer is a clean error within a bounded wait."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import distributed  # noqa: E402 - a dev dependency; never skip the Dask path
import pytest
from click.testing import CliRunner
from conftest import sweep_scenario

import revsim
from revsim.cli import main
from revsim.errors import ExperimentError
from revsim.experiment import open_executor
from revsim.sweep import run_sweep

SCENARIO = sweep_scenario("sweep dask test")

PARAMS = ["pools.sdr.headcount=1:2", "pools.ae.headcount=2,3"]
SWEEP = dict(params=PARAMS, replications=3, seed=4, progress=False)
BOUND_S = 30.0  # an unreachable scheduler must be reported within this many seconds
TABLES = ("results.parquet", "summary.parquet", "results.csv", "summary.csv")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sweep_dask")


@pytest.fixture(scope="module")
def base(folder: Path) -> Path:
    path = folder / "base.toml"
    path.write_text(SCENARIO, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def scenario(base: Path) -> revsim.Scenario:
    return revsim.load(base)


@pytest.fixture(scope="module")
def serial(scenario: revsim.Scenario, folder: Path):
    result = run_sweep(scenario, folder / "serial", jobs=1, **SWEEP)
    result.write(csv=True)
    return result


@pytest.fixture(scope="module")
def cluster() -> Iterator[object]:
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as c:
        yield c


def free_port() -> int:
    """A loopback port with nothing listening on it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def assert_same_files(a: Path, b: Path) -> None:
    for name in TABLES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


@pytest.fixture(scope="module")
def unreachable(base: Path, folder: Path) -> Iterator[dict[str, tuple]]:
    """``revsim sweep --scheduler`` against (a) a port with nothing listening and (b) a port
    that accepts TCP connections but never speaks (a firewall, a wrong service), started at once
    in subprocesses so that their waits overlap with the in-process test."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    addresses = {"refused": f"tcp://127.0.0.1:{free_port()}",
                 "silent": f"tcp://127.0.0.1:{silent.getsockname()[1]}"}
    procs = {}
    for kind, address in addresses.items():
        args = [sys.executable, "-m", "revsim.cli", "sweep", str(base), "--no-progress",
                "-n", "1", "-o", str(folder / f"unreachable-{kind}"), "--scheduler", address]
        for p in PARAMS:
            args += ["--param", p]
        procs[kind] = (subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True), time.perf_counter(), address)
    yield procs
    for proc, _, _ in procs.values():
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    silent.close()


def finish(entry: tuple, budget: float) -> tuple[int | None, str, float]:
    """Wait for a subprocess until ``budget`` seconds after it started; kill it if it is still
    running. Return its exit code (None if killed), stderr and elapsed seconds."""
    proc, started, _ = entry
    try:
        _, err = proc.communicate(timeout=max(0.1, started + budget - time.perf_counter()))
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        return None, err, time.perf_counter() - started
    return proc.returncode, err, time.perf_counter() - started


# -- unreachable scheduler (first, so that the subprocesses' waits overlap the tests below) -----


def test_unreachable_scheduler_is_a_clean_error(scenario: revsim.Scenario, folder: Path,
                                                unreachable: dict) -> None:
    out = folder / "unreachable-api"
    started = time.perf_counter()
    with pytest.raises(ExperimentError, match="cannot reach the Dask scheduler") as err:
        run_sweep(scenario, out, scheduler=unreachable["refused"][2], **SWEEP)
    elapsed = time.perf_counter() - started
    assert elapsed < BOUND_S, elapsed
    assert unreachable["refused"][2] in str(err.value)
    assert not list(out.glob("parts/*/*.json"))


def test_unreachable_scheduler_cli_exits_2(unreachable: dict) -> None:
    code, err, elapsed = finish(unreachable["refused"], BOUND_S + 5)
    assert code == 2, (code, elapsed, err)
    assert elapsed < BOUND_S, elapsed
    assert "Traceback" not in err, err
    assert "error:" in err and "cannot reach the Dask scheduler" in err, err


# -- identical results ------------------------------------------------------------------------------


def test_dask_local_matches_serial(scenario: revsim.Scenario, folder: Path, serial) -> None:
    result = run_sweep(scenario, folder / "dask_local", dask_local=2, **SWEEP)
    assert result.failed == []
    assert result.ran == len(serial.spec.points) * 3
    assert result.results.equals(serial.results)
    assert result.summary.equals(serial.summary)
    result.write(csv=True)
    assert_same_files(folder / "serial", folder / "dask_local")


def test_existing_cluster_matches_serial(scenario: revsim.Scenario, folder: Path, serial,
                                         cluster) -> None:
    address = cluster.scheduler_address
    assert address.startswith("tcp://127.0.0.1:")
    result = run_sweep(scenario, folder / "scheduler", scheduler=address, **SWEEP)
    assert result.failed == []
    assert result.results.equals(serial.results)
    assert result.summary.equals(serial.summary)
    result.write(csv=True)
    assert_same_files(folder / "serial", folder / "scheduler")
    # revsim closed its client but left the user's cluster running.
    with distributed.Client(address, timeout=10) as client:
        assert len(client.scheduler_info()["workers"]) == 2


def test_cli_scheduler_option_matches_serial(base: Path, folder: Path, serial,
                                             cluster) -> None:
    out = folder / "cli_scheduler"
    args = ["sweep", str(base), "--no-progress", "-n", "3", "--seed", "4", "--csv", "-o",
            str(out), "--scheduler", cluster.scheduler_address]
    for p in PARAMS:
        args += ["--param", p]
    done = CliRunner().invoke(main, args)
    assert done.exit_code == 0, done.output
    assert "0 failed" in done.output
    assert_same_files(folder / "serial", out)


def test_resume_on_dask_after_a_serial_start(scenario: revsim.Scenario, folder: Path, serial,
                                             cluster) -> None:
    """Half a sweep done serially (its parts copied), the rest resumed on the cluster: the same
    tables; a changed spec is refused on Dask too."""
    out = folder / "mixed"
    shutil.copytree(folder / "serial" / "parts", out / "parts")
    shutil.copy(folder / "serial" / "manifest.json", out / "manifest.json")
    for point in serial.spec.points[2:]:
        shutil.rmtree(out / "parts" / point.id)
    with pytest.raises(ExperimentError, match="different sweep"):
        run_sweep(scenario, out, scheduler=cluster.scheduler_address, resume=True,
                  **{**SWEEP, "seed": 5})
    resumed = run_sweep(scenario, out, scheduler=cluster.scheduler_address, resume=True,
                        **SWEEP)
    assert (resumed.ran, resumed.skipped) == (6, 6)
    assert resumed.results.equals(serial.results)
    assert resumed.summary.equals(serial.summary)


# -- last, so that its bounded wait overlaps everything above ------------------------------------


def test_silent_scheduler_cli_exits_2_in_bounded_time(unreachable: dict) -> None:
    """A port that accepts the TCP connection but never answers the Dask handshake."""
    code, err, elapsed = finish(unreachable["silent"], BOUND_S)
    assert code is not None, f"revsim sweep --scheduler still waiting after {elapsed:.0f} s"
    assert code == 2, (code, err)
    assert "Traceback" not in err, err
    assert "cannot reach the Dask scheduler" in err, err


def http_status(port: int, path: str) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as err:
        return err.code


def test_the_local_cluster_answers_no_http_request_by_default() -> None:
    """Dask always starts HTTP servers (on free loopback ports); revsim's local cluster serves
    nothing on them, neither the dashboard nor the pages, JSON and metrics about the cluster
    that any local user could read."""
    with open_executor(dask_local=1):
        info = distributed.default_client().scheduler_info()
        ports = [info["services"]["dashboard"]] + [
            w["services"]["dashboard"] for w in info["workers"].values()]
        assert len(ports) == 2
        for port in ports:
            for path in ("/health", "/status", "/info/main/workers.html", "/metrics",
                         "/json/identity.json"):
                assert http_status(port, path) == 404, (port, path)


def test_the_dashboard_is_asked_for_with_dask_local(monkeypatch: pytest.MonkeyPatch,
                                                    base: Path) -> None:
    with pytest.raises(ExperimentError, match="give --dask-local too"):
        with open_executor(jobs=1, dask_dashboard=True):
            pass
    monkeypatch.setitem(sys.modules, "bokeh", None)  # not installed: said so, and how to fix
    with pytest.raises(ExperimentError, match="pip install bokeh"):
        with open_executor(dask_local=1, dask_dashboard=True):
            pass
    result = CliRunner().invoke(main, ["run", str(base), "-n", "1", "--dask-dashboard"])
    assert result.exit_code == 2 and "--dask-dashboard" in result.stderr
