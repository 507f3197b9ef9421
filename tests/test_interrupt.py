"""Ctrl-C during a run: exit 130, one clean line, no traceback, no half-written files."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


def default_sigint() -> None:
    """Ctrl-C at a terminal reaches a process whose SIGINT is at its default. A child inherits
    an ignored signal, and the test runner's process may have it ignored, after which Python
    installs no handler and the child would never see the interrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_ctrl_c_leaves_no_partial_files(tmp_path, jobs):
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "revsim.cli", "run", str(ROOT / "scenarios/saas_sales_led.toml"),
         "-n", "2000", "-j", jobs, "-o", str(out), "-q"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
        preexec_fn=default_sigint,
    )
    try:
        time.sleep(3.0)  # well into the replications (2000 of them take minutes)
        assert proc.poll() is None, "the run finished before it could be interrupted"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:  # a failed test leaves no run behind
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130
    assert "Traceback" not in err
    assert "interrupted" in err
    leftovers = list(out.glob("*")) if out.exists() else []
    assert not [p for p in leftovers if p.suffix == ".part" or p.name.startswith(".")]
    assert leftovers == [], "an interrupted run writes no result files at all"


def test_a_stop_request_ends_a_replication_at_the_next_event():
    """What Ctrl-C sets while the engine runs in-process: the run stops between two events."""
    import revsim
    from revsim.engine.environment import StopRequest
    from revsim.engine.simulation import simulate

    model = revsim.load(ROOT / "scenarios/saas_sales_led.toml").model
    stop = StopRequest()
    assert simulate(model, 1, 0, horizon=24.0 * 7, warmup=0.0, stop=stop) is not None
    stop.requested = True
    with pytest.raises(KeyboardInterrupt):
        simulate(model, 1, 0, horizon=24.0 * 7, warmup=0.0, stop=stop)
