"""The fuzz corpus (tests/fuzz/, see its README): every bad scenario, sweep file, flag and log
there must end in exit code 2 with a short message that names the file or the flag, and no
traceback, never a crash and never silent acceptance.

All cases run in one child process (``tests/fuzz_cases.py``), which shields the suite from a
case that kills the interpreter; the cases marked ``subprocess = true`` also run as real
``python -m revsim`` processes, as a user runs them.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path

import pytest
from fuzz_cases import FUZZ, Case, concrete_args, discover

CASES = discover()
MEMORY_CAP = 6 * 2**30  # a case that tries to allocate the machine fails instead
LONGEST_LINE = 600  # a message quotes at most ~200 characters of input, plus its own words


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parent),
                                         env.get("PYTHONPATH", "")])
    env.pop("COLUMNS", None)
    return env


@cache
def batch() -> dict[str, dict[str, object]]:
    """Every case's outcome, from one child process; a case that killed it is recorded with
    the child's exit status."""
    proc = subprocess.run([sys.executable, str(Path(__file__).parent / "fuzz_cases.py")],
                          capture_output=True, text=True, preexec_fn=_cap_memory, env=_env(),
                          timeout=3000)
    results: dict[str, dict[str, object]] = {}
    started = None
    for line in proc.stdout.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue  # something a command printed outside CliRunner's capture
        if "started" in record:
            started = record["started"]
        else:
            results[record["case"]] = record
            started = None
    if started is not None:
        results[started] = {"case": started, "exit": proc.returncode, "stdout": "",
                            "stderr": proc.stderr[-2000:], "exception":
                            f"the interpreter died (status {proc.returncode})"}
    return results


def check(case: Case, exit_code: int, stderr: str, stdout: str, exception: object) -> None:
    assert exception is None, f"{case.id}: an exception escaped: {exception}"
    assert "Traceback" not in stderr + stdout, f"{case.id}: a traceback:\n{stderr}"
    assert exit_code == case.exit, (f"{case.id}: exit {exit_code}, expected {case.exit}\n"
                                    f"stdout: {stdout[-800:]}\nstderr: {stderr[-800:]}")
    assert case.names in stderr, f"{case.id}: the message does not name {case.names!r}:\n{stderr}"
    for text in case.contains:
        assert text in stderr, f"{case.id}: {text!r} missing from:\n{stderr}"
    longest = max((len(line) for line in stderr.splitlines()), default=0)
    assert longest <= LONGEST_LINE, f"{case.id}: a {longest}-character line:\n{stderr[:1500]}"


def test_the_corpus_is_there() -> None:
    kinds = {c.id.split("/")[0] for c in CASES}
    assert {"scenario", "sweep", "flags"} <= kinds
    assert len([c for c in CASES if c.id.split("/")[0] != "logs"]) >= 200
    assert any(c.subprocess for c in CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_input_exits_2_with_a_clean_message(case: Case) -> None:
    outcome = batch().get(case.id)
    assert outcome is not None, f"{case.id} did not run; the batch ended before it"
    check(case, int(outcome["exit"]), str(outcome["stderr"]), str(outcome["stdout"]),
          outcome["exception"])


@pytest.mark.parametrize("case", [c for c in CASES if c.subprocess], ids=lambda c: c.id)
def test_bad_input_as_a_real_process(case: Case) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run([sys.executable, "-m", "revsim",
                               *concrete_args(case, Path(tmp) / "out")],
                              cwd=case.folder, capture_output=True, text=True, env=_env(),
                              preexec_fn=_cap_memory, timeout=600)
    assert proc.returncode >= 0, f"{case.id}: killed by signal {-proc.returncode}"
    check(case, proc.returncode, proc.stderr, proc.stdout, None)


def test_the_convention_finds_cases_anywhere_under_fuzz(tmp_path: Path) -> None:
    # another kind (tests/fuzz/logs/...) is picked up by the same rule, at any depth
    deep = tmp_path / "logs" / "csv"
    deep.mkdir(parents=True)
    (deep / "empty.case.toml").write_text('args = ["fit", "x.csv"]\nnames = "x.csv"\n')
    (deep / "x.csv").write_text("")
    [case] = discover(tmp_path)
    assert case.args == ("fit", "x.csv") and case.exit == 2 and case.folder == deep
    assert FUZZ.name == "fuzz"
