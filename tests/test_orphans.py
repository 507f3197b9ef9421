"""No worker outlives its parent: a real `revsim run -j 2` or `revsim sweep -j 2` is ended with
SIGTERM, SIGINT or SIGKILL while its process pool works, and none of its workers survives."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from conftest import SAAS, sweep_scenario

WORKERS = 2
# the parent is gone at once; a worker's end follows from the kernel (Linux) or its watch
# thread; this bounds the wait, not the expectation
GRACE_S = 10.0


def start(args: list[str], cwd: Path) -> tuple[subprocess.Popen, list[psutil.Process]]:
    """Start revsim and wait until its process pool has its workers."""
    # stderr to a file, not a pipe: orphaned workers would hold a pipe open
    log = (cwd / "stderr.txt").open("wb")
    # SIGINT at its default, as at a terminal: a child inherits the test runner's ignored one
    proc = subprocess.Popen([sys.executable, "-m", "revsim.cli", *args], cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=log,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    log.close()
    parent = psutil.Process(proc.pid)
    deadline = time.monotonic() + 60
    workers: list[psutil.Process] = []
    while time.monotonic() < deadline and proc.poll() is None:
        workers = parent.children(recursive=True)
        if len(workers) >= WORKERS:
            break
        time.sleep(0.05)
    if len(workers) < WORKERS:
        proc.kill()
        proc.wait(timeout=30)
        pytest.fail(f"no pool of {WORKERS} workers appeared (exit {proc.returncode}): "
                    f"{(cwd / 'stderr.txt').read_text()}")
    time.sleep(0.3)  # let the workers start their first tasks
    return proc, workers


def survivors(workers: list[psutil.Process]) -> list[psutil.Process]:
    _gone, alive = psutil.wait_procs(workers, timeout=GRACE_S)
    for p in alive:  # leave nothing behind for the next test
        p.kill()
    return alive


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL],
                         ids=["SIGTERM", "SIGINT", "SIGKILL"])
@pytest.mark.parametrize("command", ["run", "sweep"])
def test_workers_end_with_their_parent(tmp_path: Path, sig: signal.Signals,
                                       command: str) -> None:
    if command == "run":
        args = ["run", str(SAAS), "-n", "2000", "-j", str(WORKERS), "-q", "-o", "out"]
    else:
        base = tmp_path / "base.toml"
        base.write_text(sweep_scenario("orphans", horizon="52 w", rate="400/w", headcount=12))
        args = ["sweep", str(base), "--param", "pools.sdr.headcount=10:19", "-n", "50",
                "-j", str(WORKERS), "--no-progress", "-o", "out"]
    proc, workers = start(args, tmp_path)
    pids = sorted(w.pid for w in workers)
    proc.send_signal(sig)
    proc.wait(timeout=60)
    assert proc.returncode != 0
    alive = survivors(workers)
    assert alive == [], f"workers {[p.pid for p in alive]} of {pids} outlived their parent " \
        f"after {sig.name}"
