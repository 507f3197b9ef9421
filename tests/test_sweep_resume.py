"""Resuming a sweep that was killed (SIGKILL, no chance to clean up): the resumed tables are
identical to an uninterrupted run's, with no duplicate or missing rows and no half-written files;
a folder refuses to resume a changed sweep or one written by another revsim version."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import sweep_scenario

import revsim
from revsim.cli import main
from revsim.sweep import run_sweep

# ~0.25 s per task on one core: 3 points x 8 replications take several seconds serially.
SCENARIO = sweep_scenario("sweep resume test", horizon="52 w", rate="400/w",
                          headcount=12)

PARAM = "pools.sdr.headcount=10:12"
REPS = 8
TOTAL = 3 * REPS
KEY = ["point", "replication", "metric", "scope", "name"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sweep_resume")


@pytest.fixture(scope="module")
def base(folder: Path) -> Path:
    path = folder / "base.toml"
    path.write_text(SCENARIO, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def reference(base: Path, folder: Path) -> Path:
    """An uninterrupted run of the same sweep (worker count does not change results)."""
    out = folder / "reference"
    result = run_sweep(revsim.load(base), out, params=[PARAM], replications=REPS, seed=1,
                       jobs=2, progress=False)
    assert result.failed == [] and result.ran == TOTAL
    result.write()
    return out


def cli_args(base: Path, out: Path, jobs: int, *extra: str) -> list[str]:
    return ["sweep", str(base), "--param", PARAM, "-n", str(REPS), "--seed", "1",
            "-j", str(jobs), "--no-progress", "-o", str(out), *extra]


def parts(out: Path) -> list[Path]:
    return sorted(out.glob("parts/*/*.json"))


def leftovers(out: Path) -> list[Path]:
    """Temporary or hidden files anywhere under parts/ (half-written by an interrupted run)."""
    return sorted(p for p in (out / "parts").rglob("*")
                  if p.name.startswith(".") or p.name.endswith(".part"))


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the sweep and its workers (its own process group), unless it already ended."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait(timeout=30)


def kill_mid_sweep(base: Path, out: Path, jobs: int) -> dict[str, float | int | bool]:
    """Start the sweep in a subprocess, wait for its first finished tasks, then SIGKILL it
    (and its worker processes: it runs in a process group of its own)."""
    proc = subprocess.Popen([sys.executable, "-m", "revsim.cli", *cli_args(base, out, jobs)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    started = time.perf_counter()
    try:
        first = None
        while time.perf_counter() - started < 90:
            if proc.poll() is not None:
                break
            if parts(out):
                first = time.perf_counter() - started
                break
            time.sleep(0.01)
        assert first is not None, f"no finished task before exit {proc.returncode}: " \
            f"{proc.stderr.read().decode() if proc.stderr else ''}"
        seen_first = len(parts(out))
        time.sleep(0.5)  # about two tasks' time: incremental persistence adds one or two
        alive = proc.poll() is None
        _kill_group(proc)
    finally:
        _kill_group(proc)
        if proc.stderr:
            proc.stderr.close()
    return {"first_s": first, "seen_first": seen_first, "alive": alive,
            "at_kill": len(parts(out))}


@pytest.mark.parametrize("jobs", [1, 2])
def test_killed_sweep_resumes_to_identical_tables(base: Path, folder: Path, reference: Path,
                                                  jobs: int) -> None:
    out = folder / f"killed-j{jobs}"
    state = kill_mid_sweep(base, out, jobs)
    assert (out / "manifest.json").exists()

    done = CliRunner().invoke(main, cli_args(base, out, 2, "--resume"))
    assert done.exit_code == 0, done.output
    assert f"{TOTAL - state['at_kill']} tasks, {state['at_kill']} already done" in done.output
    assert "0 failed" in done.output

    assert (out / "results.parquet").read_bytes() == (reference / "results.parquet").read_bytes()
    assert (out / "summary.parquet").read_bytes() == (reference / "summary.parquet").read_bytes()
    got = pd.read_parquet(out / "results.parquet")
    want = pd.read_parquet(reference / "results.parquet")
    assert got.equals(want)
    assert not got.duplicated(KEY).any()
    assert set(map(tuple, got[KEY].itertuples(index=False))) == \
        set(map(tuple, want[KEY].itertuples(index=False)))
    assert got.groupby(["point", "replication"]).ngroups == TOTAL
    assert len(parts(out)) == TOTAL
    assert leftovers(out) == []
    assert not (out / "failed").exists() or not any((out / "failed").iterdir())

    # Finished tasks must be saved as they finish, not all at the end: half a second after the
    # first one appeared, the sweep was still running with most of its tasks still to do.
    assert state["alive"] and state["at_kill"] < TOTAL, \
        f"-j {jobs}: first task saved after {state['first_s']:.1f} s; {state['at_kill']} of " \
        f"{TOTAL} saved 0.5 s later (process still running: {state['alive']})"


def test_resume_removes_half_written_files(base: Path, folder: Path, reference: Path) -> None:
    """A kill between writing a task's temporary file and renaming it leaves
    parts/<point>/.<rep>.json.<random>.part; resuming reruns that task and cleans up."""
    out = folder / "half-written"
    (out / "parts").mkdir(parents=True)
    (out / "manifest.json").write_bytes((reference / "manifest.json").read_bytes())
    for f in parts(reference):
        target = out / "parts" / f.parent.name / f.name
        target.parent.mkdir(exist_ok=True)
        target.write_bytes(f.read_bytes())
    victim = parts(out)[5]
    text = victim.read_text()
    victim.unlink()
    stale = victim.parent / f".{victim.name}.k3j9x_q1.part"
    stale.write_text(text[: len(text) // 2])

    done = CliRunner().invoke(main, cli_args(base, out, 1, "--resume"))
    assert done.exit_code == 0, done.output
    assert f"ran 1 tasks, {TOTAL - 1} already done" in done.output
    assert (out / "results.parquet").read_bytes() == (reference / "results.parquet").read_bytes()
    assert leftovers(out) == [], "half-written files left in parts/"


# -- refusals --------------------------------------------------------------------------------------


@pytest.fixture
def small_sweep(base: Path, tmp_path: Path) -> tuple[list[str], Path]:
    """A finished small sweep (short horizon) and the arguments that made it."""
    out = tmp_path / "small"
    args = ["sweep", str(base), "--param", "pools.sdr.headcount=10:11", "-n", "2",
            "--seed", "1", "--horizon", "2 w", "-j", "1", "--no-progress", "-o", str(out)]
    done = CliRunner().invoke(main, args)
    assert done.exit_code == 0, done.output
    return args, out


def snapshot(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def assert_refused(args: list[str], *needles: str) -> str:
    done = CliRunner().invoke(main, args)
    assert done.exit_code == 2, (done.exit_code, done.output)
    assert "Traceback" not in done.output
    assert done.output.startswith("error: "), done.output
    for needle in needles:
        assert needle in done.output, done.output
    return done.output


@pytest.mark.parametrize("change", [
    ["--param", "pools.sdr.headcount=10:12"],
    ["--param", "pools.ae.headcount=10:11"],
    ["-n", "3"],
    ["--seed", "2"],
    ["--horizon", "3 w"],
], ids=["more levels", "another parameter", "replications", "seed", "horizon"])
def test_resume_with_a_changed_spec_refuses(small_sweep, change: list[str]) -> None:
    args, out = small_sweep
    before = snapshot(out)
    changed = list(args)
    for i in range(0, len(change), 2):
        flag, value = change[i], change[i + 1]
        changed[changed.index(flag) + 1] = value
    assert_refused([*changed, "--resume"], "different sweep", str(out))
    assert snapshot(out) == before


def test_resume_with_another_revsim_version_refuses(small_sweep) -> None:
    args, out = small_sweep
    manifest_path = out / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    assert manifest["revsim_version"] == revsim.__version__
    manifest["revsim_version"] = "0.0.1"
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    before = snapshot(out)
    assert_refused([*args, "--resume"], "0.0.1", revsim.__version__)
    assert snapshot(out) == before


def test_resume_of_the_same_spec_is_accepted(small_sweep) -> None:
    args, out = small_sweep
    done = CliRunner().invoke(main, [*args, "--resume"])
    assert done.exit_code == 0, done.output
    assert "ran 0 tasks, 4 already done" in done.output
